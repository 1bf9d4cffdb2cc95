"""CNS smart-card login end to end, both ways in: spid-sp's own TLS listener
asking for the client certificate, and a real nginx (ssl_verify_client
optional_no_ca) passing it in a header from a trusted address. The test PKI
(tests/fixtures/cns/make_pki.sh) has a valid card and one certificate for
every way a card can be wrong; the CRL is served over loopback HTTP and an
`openssl ocsp` responder answers for the OCSP variants."""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import warnings

import lxml.html
import pytest
import requests

from conftest import SpidEnv, binary_path, free_port, sanitizer_env

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_PKI = os.path.join(HERE, "..", "fixtures", "cns", "make_pki.sh")
NGINX = "/usr/sbin/nginx"
CONTRIB_CNS = os.path.join(HERE, "..", "..", "contrib", "nginx", "spid-sp-cns.conf")
CF = "RSSMRA80A01H501U"
TIMEOUT = 30

warnings.filterwarnings("ignore", message="Unverified HTTPS request")

# certificate -> (HTTP status, words of the page)
REFUSED = {
    "expired": (403, "scaduto"),
    "not_yet_valid": (403, "non è ancora valido"),
    "revoked": (403, "revocato"),
    "revoked_ocsp": (403, "revocato"),
    "wrong_policy": (403, "manca la policy CNS"),
    "signature": (403, "certificato di firma"),
    "bad_key_usage": (403, "keyUsage"),
    "no_client_auth": (403, "clientAuth"),
    "other_issuer": (403, "autorità riconosciuta"),
    "bad_cn": (400, "forma prevista"),
    "bad_card_id": (400, "numero della carta"),
    "bad_cf": (400, "codice fiscale"),
    "serial_mismatch": (400, "codice fiscale"),
    "no_revocation": (403, "revocato"),
}


def listening(port):
    """Is something listening on port? Read from /proc: connecting to probe
    would hang `openssl ocsp`, which serves one connection at a time."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":
                return True
    return False


def wait_port(port, proc, what):
    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError("%s exited (%d)" % (what, proc.returncode))
        if listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError("%s did not start" % what)


class Pki:
    def __init__(self, directory):
        self.dir = directory
        self.crl_port, self.ocsp_port = free_port(), free_port()
        env = dict(os.environ, CNS_PKI_KEY="ec")
        p = subprocess.run(["bash", MAKE_PKI, directory, str(self.crl_port), str(self.ocsp_port)],
                           capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        self.procs = []
        crl = subprocess.Popen(["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1",
                                str(self.crl_port), "--directory", os.path.join(directory, "crl")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(crl)
        wait_port(self.crl_port, crl, "CRL server")
        ocsp = subprocess.Popen(["openssl", "ocsp", "-index",
                                 os.path.join(directory, "ocsp", "index.txt"), "-port",
                                 str(self.ocsp_port), "-rsigner", self.path("ocsp.pem"),
                                 "-rkey", self.path("ocsp.key"), "-CA", self.path("ca.pem"),
                                 "-ndays", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(ocsp)
        wait_port(self.ocsp_port, ocsp, "OCSP responder")

    def path(self, name):
        return os.path.join(self.dir, name)

    def card(self, name):
        return (self.path(name + ".fullchain.pem"), self.path(name + ".key"))

    def escaped(self, name):
        """The certificate as nginx's $ssl_client_escaped_cert gives it."""
        return urllib.parse.quote(open(self.path(name + ".pem")).read(), safe="")

    def close(self):
        for p in self.procs:
            p.terminate()
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(str(tmp_path_factory.mktemp("cns-pki")))
    yield p
    p.close()


@pytest.fixture(scope="module")
def env(pki):
    tls_port = free_port()
    e = SpidEnv({"cns": {"ca_dir": pki.path("trust"), "tls_port": str(tls_port)},
                 "sp": {"trusted_proxies": "127.0.0.1"}})
    e.tls = "https://127.0.0.1:%d" % tls_port
    yield e
    problems = e.close()
    assert not problems, problems


def cli(env, *args):
    return subprocess.run([binary_path()] + list(args) + ["--config", env.config],
                          capture_output=True, text=True, env=sanitizer_env(), timeout=120)


def text(r):
    return " ".join(lxml.html.fromstring(r.content).text_content().split())


def tls_login(env, pki, card, next="/api/me"):
    s = requests.Session()
    r = s.get(env.tls + "/cns/login", params={"next": next},
              cert=pki.card(card) if card else None, verify=False, allow_redirects=False,
              timeout=TIMEOUT)
    return s, r


def test_login_page_offers_cns(env):
    r = requests.get(env.sp.url("/"), timeout=TIMEOUT)
    links = lxml.html.fromstring(r.text).xpath("//a/@href")
    assert any(l.startswith(env.tls + "/cns/login") for l in links), links


def test_valid_card_on_the_tls_listener(env, pki):
    s, r = tls_login(env, pki, "valid")
    assert r.status_code == 302, text(r)
    loc = r.headers["Location"]
    assert loc.startswith(env.sp.url("/cns/complete?ticket="))
    # the ticket opens the session on the main site, once
    r = s.get(loc, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302 and r.headers["Location"] == "/api/me"
    me = s.get(env.sp.url("/api/me"), timeout=TIMEOUT).json()
    assert me["fiscal_number"] == CF
    assert me["session"]["method"] == "cns" and me["session"]["strength"] == "A2"
    r = requests.get(loc, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400
    # the card is an identity of the person; the audit trail has the login
    doc = json.loads(cli(env, "user", "show", CF, "--json").stdout)
    cns = [i for i in doc["identities"] if i["method"] == "cns"]
    assert cns and "Test CA per Autenticazione CNS" in cns[0]["issuer"]
    events = [json.loads(l) for l in cli(env, "audit", "export").stdout.splitlines()]
    login = [e for e in events if e["event"] == "login" and e["details"]["method"] == "cns"]
    assert login and login[-1]["details"]["card_id"] == "6120000000123457"
    assert login[-1]["details"]["revocation"] == "crl"
    assert len(login[-1]["details"]["fingerprint"]) == 64
    # OCSP for a card that names a responder
    s, r = tls_login(env, pki, "valid_ocsp")
    assert r.status_code == 302, text(r)


# A key that may not sign (keyUsage without digitalSignature: a signature
# certificate, or keyEncipherment only) cannot prove possession in the TLS
# handshake: GnuTLS ends the handshake there, before any page can be sent.
# Behind nginx (OpenSSL) the same certificates reach spid-sp and get its page.
NO_TLS_SIGNATURE = ("bad_key_usage", "signature")


@pytest.mark.parametrize("card", NO_TLS_SIGNATURE)
def test_keys_that_cannot_sign_end_the_handshake(env, pki, card):
    with pytest.raises(requests.exceptions.ConnectionError):
        tls_login(env, pki, card)
    # the service stays up for the next card
    assert requests.get(env.sp.url("/healthz"), timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("card", sorted(set(REFUSED) - set(NO_TLS_SIGNATURE)))
def test_refused_cards_on_the_tls_listener(env, pki, card):
    status, words = REFUSED[card]
    s, r = tls_login(env, pki, card)
    assert r.status_code == status, (card, r.status_code, text(r))
    assert words in text(r), (card, text(r))
    assert "spid_sp_session" not in r.headers.get("Set-Cookie", "")


def test_no_card(env, pki):
    s, r = tls_login(env, pki, None)
    assert r.status_code == 400 and "Carta non presentata" in text(r)


def test_refusals_are_audited(env, pki):
    tls_login(env, pki, "expired")
    events = [json.loads(l) for l in cli(env, "audit", "export").stdout.splitlines()]
    failed = [e for e in events if e["event"] == "login.failed" and e["details"]
              and e["details"].get("method") == "cns"]
    assert {e["reason"] for e in failed} >= {"expired"}


def test_header_ignored_from_untrusted_peers(pki):
    e = SpidEnv({"cns": {"ca_dir": pki.path("trust")}, "sp": {"trusted_proxies": "10.9.8.7"}})
    try:
        r = requests.get(e.sp.url("/cns/login"), headers={"X-SSL-Client-Cert": pki.escaped("valid")},
                         allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 400 and "Carta non presentata" in text(r)
        assert e.sp.loggrep("not a trusted proxy")
    finally:
        assert not e.close()


def test_soft_fail_accepts_unknown_revocation(pki):
    e = SpidEnv({"cns": {"ca_dir": pki.path("trust"), "soft_fail": "true"},
                 "sp": {"trusted_proxies": "127.0.0.1"}})
    try:
        r = requests.get(e.sp.url("/cns/login"),
                         headers={"X-SSL-Client-Cert": pki.escaped("no_revocation")},
                         allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 302, text(r)
    finally:
        assert not e.close()


# ------------------------------------------------------------------ through nginx


@pytest.fixture(scope="module")
def nginx(env, pki, tmp_path_factory):
    if not os.access(NGINX, os.X_OK):
        pytest.skip("%s missing: scripts/deps.sh installs it" % NGINX)
    d = str(tmp_path_factory.mktemp("nginx-cns"))
    port = free_port()
    site = open(CONTRIB_CNS).read()
    data = os.path.join(env.dir, "sp-data")
    for old, new in (("listen 8443 ssl;", "listen 127.0.0.1:%d ssl;" % port),
                     ("/etc/ssl/portal.example.it.crt", os.path.join(data, "sp-cert.pem")),
                     ("/etc/ssl/portal.example.it.key", os.path.join(data, "sp-key.pem"))):
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    with open(os.path.join(d, "site.conf"), "w") as f:
        f.write(site)
    temp = "".join("    %s_temp_path %s;\n" % (k, os.path.join(d, k))
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = os.path.join(d, "nginx.conf")
    with open(main, "w") as f:
        f.write("daemon off;\nworker_processes 1;\n")
        if os.geteuid() == 0:
            f.write("user root;\n")
        f.write("pid %s/nginx.pid;\nerror_log %s/error.log info;\nevents {}\n" % (d, d))
        f.write("http {\n    access_log off;\n%s    upstream spid_sp { server 127.0.0.1:%d; }\n"
                "    include %s/site.conf;\n}\n" % (temp, env.sp_port, d))
    base = [NGINX, "-p", d + "/", "-e", os.path.join(d, "error.log"), "-c", main]
    t = subprocess.run(base + ["-t"], capture_output=True, text=True, timeout=30)
    assert t.returncode == 0, t.stderr
    proc = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "nginx")
    yield "https://127.0.0.1:%d" % port
    proc.terminate()
    proc.wait(timeout=30)


def test_valid_card_through_nginx(env, pki, nginx):
    s = requests.Session()
    r = s.get(nginx + "/cns/login", params={"next": "/services"}, cert=pki.card("valid"),
              verify=False, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302 and r.headers["Location"] == "/services", text(r)
    token = s.cookies.get("spid_sp_session")
    me = requests.get(env.sp.url("/api/me"), cookies={"spid_sp_session": token},
                      timeout=TIMEOUT).json()
    assert me["fiscal_number"] == CF and me["session"]["method"] == "cns"


@pytest.mark.parametrize("card", sorted(REFUSED))
def test_refused_cards_through_nginx(env, pki, nginx, card):
    status, words = REFUSED[card]
    r = requests.get(nginx + "/cns/login", cert=pki.card(card), verify=False,
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == status and words in text(r), (card, r.status_code, text(r))


def test_no_card_through_nginx(nginx):
    r = requests.get(nginx + "/cns/login", verify=False, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400 and "Carta non presentata" in text(r)
    r = requests.get(nginx + "/services", verify=False, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 404
