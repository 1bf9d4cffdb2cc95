"""spid-sp behind a real nginx, configured with contrib/nginx/spid-sp.conf as an
integrator pastes it: auth_request on /app/ against GET /auth/check, the
login round trip through the SP's login page, the identity headers a backend
receives (and never forged ones), pensioner and intermediary decisions, the
credential strength, path tricks, the internal /auth/check, and the audit
trail of logins and denials.

One nginx + spid-sp + dev IdP + echo backend serve the whole module; nginx
listens on the SP's public origin (base_url), so the IdP posts its Response
through nginx and the session cookie is same-origin with /app/. Skipped only
when /usr/sbin/nginx is missing (Debian package nginx, see scripts/deps.sh).
"""

import hashlib
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse

import lxml.html
import pytest
import requests

import spidlib
from conftest import REPO, SpidEnv, binary_path, free_port, run_cli

NGINX = "/usr/sbin/nginx"
# SPID_SP_NGINX_CONF: test another server block written like the contrib one
CONTRIB = os.environ.get("SPID_SP_NGINX_CONF",
                         os.path.join(REPO, "contrib", "nginx", "spid-sp.conf"))
ECHO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend_echo.py")
TIMEOUT = 30

CITIZEN = "RSSMRA80A01H501U"
PENSIONER = "FOXDRA26C24L219Y"
PROFESSIONAL = "BNCGLI92C65F205C"
PATRONATO = "00743110157"

# nginx log lines that mean the configuration is wrong, whatever the tests say
NGINX_BAD_LOG = re.compile(r"\[(emerg|alert|crit)\]|too big header|auth request unexpected status"
                           r"|upstream prematurely closed")


def piva_check_digit(ten):
    """Check digit of an Italian 11-digit fiscal code / partita IVA (domain.md §2.6)."""
    total = 0
    for i, ch in enumerate(ten):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


# ------------------------------------------------------------------ the stack


class Proc:
    def __init__(self, name, args, log):
        self.name = name
        self.log = log
        self._f = open(log, "wb")
        self.proc = subprocess.Popen(args, stdout=self._f, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM):
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("%s did not stop on signal %d" % (self.name, sig))
        self._f.close()
        return problems


def wait_file(path, proc, what):
    deadline = time.time() + TIMEOUT
    while not os.path.exists(path):
        if proc.proc.poll() is not None:
            raise RuntimeError("%s exited with %d:\n%s" % (what, proc.proc.returncode,
                                                            open(proc.log).read()))
        if time.time() > deadline:
            raise RuntimeError("%s not ready in %ds" % (what, TIMEOUT))
        time.sleep(0.05)


def contrib_config(sp_port, backend_port, nginx_port):
    """The contrib file with the documented placeholders replaced."""
    with open(CONTRIB) as f:
        text = f.read()
    for old, new in (("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % sp_port),
                     ("server 127.0.0.1:9000;", "server 127.0.0.1:%d;" % backend_port),
                     ("listen 80;", "listen 127.0.0.1:%d;" % nginx_port)):
        assert text.count(old) == 1, "placeholder %r not found once in %s" % (old, CONTRIB)
        text = text.replace(old, new)
    return text


def start_nginx(directory, sp_port, backend_port, nginx_port):
    d = os.path.join(directory, "nginx")
    os.makedirs(d)
    site = os.path.join(d, "spid-sp.conf")
    with open(site, "w") as f:
        f.write(contrib_config(sp_port, backend_port, nginx_port))
    main = os.path.join(d, "nginx.conf")
    temp = "".join("    %s_temp_path %s;\n" % (k, os.path.join(d, k))
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(main, "w") as f:
        f.write("daemon off;\nmaster_process on;\nworker_processes 1;\n")
        if os.geteuid() == 0:
            f.write("user root;\n")
        f.write("pid %s;\nerror_log %s info;\n" % (os.path.join(d, "nginx.pid"),
                                                   os.path.join(d, "error.log")))
        f.write("events { worker_connections 256; }\n")
        f.write("http {\n    access_log %s;\n%s    include %s;\n}\n"
                % (os.path.join(d, "access.log"), temp, site))
    # a document root with a page, like Debian's /usr/share/nginx/html: the
    # server block must not serve it
    os.makedirs(os.path.join(d, "html"))
    with open(os.path.join(d, "html", "index.html"), "w") as f:
        f.write("<p>Welcome to nginx!</p>\n")
    base = [NGINX, "-p", d + "/", "-e", os.path.join(d, "error.log"), "-c", main]
    t = subprocess.run(base + ["-t"], capture_output=True, timeout=30)
    if t.returncode != 0:
        raise RuntimeError("nginx -t refused the configuration:\n%s"
                           % (t.stdout + t.stderr).decode(errors="replace"))
    proc = Proc("nginx", base, os.path.join(d, "nginx.out"))
    proc.error_log = os.path.join(d, "error.log")
    return proc


class Stack:
    """nginx on the SP's public origin, spid-sp and the dev IdP, the echo backend."""

    def __init__(self):
        self.nginx = self.backend = self.env = None

    def start(self):
        nginx_port = free_port()
        self.base = "http://127.0.0.1:%d" % nginx_port
        self.port = nginx_port
        self.env = SpidEnv(public_base=self.base)
        d = self.env.dir
        self.backend_log = os.path.join(d, "backend.jsonl")
        ready = os.path.join(d, "backend-ready")
        self.backend = Proc("backend", [sys.executable, ECHO, "--port", "0", "--ready-file",
                                        ready, "--log", self.backend_log],
                            os.path.join(d, "backend.out"))
        wait_file(ready, self.backend, "echo backend")
        with open(ready) as f:
            backend_port = int(f.read())
        self.nginx = start_nginx(d, self.env.sp_port, backend_port, nginx_port)
        deadline = time.time() + TIMEOUT
        while True:
            if self.nginx.proc.poll() is not None:
                raise RuntimeError("nginx exited:\n%s" % open(self.nginx.error_log).read())
            try:
                if requests.get(self.url("/metadata"), timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                raise RuntimeError("nginx did not proxy /metadata in %ds" % TIMEOUT)
            time.sleep(0.05)
        # spidlib.login() drives "sp.url(...)": make it go through nginx
        self.front = type("Front", (), {"url": staticmethod(self.url),
                                        "entity_id": self.env.sp.entity_id})()

    @property
    def idp(self):
        return self.env.idp

    def url(self, path="/"):
        return self.base + path

    def cli(self, *args):
        p = run_cli([binary_path()] + list(args) + ["--config", self.env.config],
                    os.path.join(self.env.dir, "cli.log"))
        out = (p.stdout + p.stderr).decode(errors="replace")
        assert p.returncode == 0, "spid-sp %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                   out)
        return out

    def audit(self):
        out = self.cli("audit", "export")
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def backend_requests(self):
        if not os.path.exists(self.backend_log):
            return []
        with open(self.backend_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def error_log(self):
        with open(self.nginx.error_log, errors="replace") as f:
            return f.read()

    def close(self):
        problems = []
        if self.nginx is not None:
            problems += self.nginx.stop(signal.SIGQUIT)
            bad = [l for l in self.error_log().splitlines() if NGINX_BAD_LOG.search(l)]
            if bad:
                problems.append("nginx error log:\n" + "\n".join(bad[-30:]))
        if self.backend is not None:
            problems += self.backend.stop()
        if self.env is not None:
            problems += self.env.close()
        return problems


@pytest.fixture(scope="module")
def stack():
    if not os.access(NGINX, os.X_OK):
        pytest.skip("nginx is not installed (%s missing): apt-get install nginx, "
                    "or run scripts/deps.sh" % NGINX)
    if not os.access(binary_path(), os.X_OK):
        pytest.skip("spid-sp binary not found at %s (set SPID_SP_BINARY)" % binary_path())
    st = Stack()
    try:
        st.start()
    except BaseException:
        st.close()
        raise
    yield st
    problems = st.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# ------------------------------------------------------------------ helpers


def echo_headers(resp):
    """Headers the backend received, from its JSON echo: {lowercase name: [values]}."""
    assert resp.status_code == 200, (resp.status_code, resp.text[:500])
    assert resp.headers.get("X-Backend") == "echo", "answer did not come from the backend"
    out = {}
    for k, v in resp.json()["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out


def one(h, name):
    v = h.get(name.lower())
    assert v is not None and len(v) == 1, "%s: %r" % (name, v)
    return v[0]


def login(stack, identity, level=2, next="/services"):
    """A browser session logged in through nginx (not following the ACS 302)."""
    r = spidlib.login(stack.front, stack.idp, identity=identity, level=level, next=next)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert r.url.startswith(stack.base + "/spid/acs"), r.url
    return r.spid_session


def token_of(session):
    t = session.cookies.get("spid_sp_session")
    assert t, "no session cookie"
    return t


def set_assurance(stack, session, value):
    """Edit the session row directly (A1 = 1: an ordinary PIN's strength)."""
    h = hashlib.sha256(token_of(session).encode()).hexdigest()
    db = sqlite3.connect(os.path.join(stack.env.dir, "sp-data", "spid-sp.db"), timeout=10)
    try:
        with db:
            n = db.execute("UPDATE sessions SET assurance = ? WHERE id_hash = ?",
                           (value, h)).rowcount
    finally:
        db.close()
    assert n == 1


def raw(stack, method, target, headers=(), cookie=None, body=None):
    """One request with the target sent byte for byte (requests/urllib3 would
    normalise dot segments). headers is a list of pairs (repeats allowed)."""
    c = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=TIMEOUT)
    try:
        c.putrequest(method, target, skip_accept_encoding=True)
        for k, v in headers:
            c.putheader(k, v)
        if cookie is not None:
            c.putheader("Cookie", "spid_sp_session=" + cookie)
        if body is not None:
            c.putheader("Content-Type", "application/x-www-form-urlencoded")
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body.encode() if body is not None else None)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def page_text(resp_or_bytes):
    data = resp_or_bytes if isinstance(resp_or_bytes, bytes) else resp_or_bytes.content
    return " ".join(lxml.html.fromstring(data).text_content().split())


def reached_backend(stack, since, path_predicate):
    return [r for r in stack.backend_requests()[since:] if path_predicate(r["path"])]


def services_form(session, stack):
    r = session.get(stack.url("/services"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    action, method, fields = spidlib.parse_form(r.text, "/services/act")
    assert method == "post" and fields.get("csrf")
    options = [o.get("value") for o in lxml.html.fromstring(r.text).iter("option")]
    return r, fields["csrf"], options


def act_for(session, stack, party, csrf):
    return session.post(stack.url("/services/act"), data={"for": party, "csrf": csrf},
                        allow_redirects=False, timeout=TIMEOUT)


def denied_by(stack, cf, reason, service):
    return [e for e in stack.audit()
            if e.get("event") == "access.denied" and e.get("actor") == cf
            and e.get("reason") == reason and service in json.dumps(e.get("details"))]


# ------------------------------------------------------------------ a. login round trip


def test_login_round_trip_through_nginx(stack):
    s = requests.Session()
    r = s.get(stack.url("/app/estratto-conto?anno=2024&tipo=pdf"), allow_redirects=False,
              timeout=TIMEOUT)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    loc = urllib.parse.urlsplit(r.headers["Location"])
    assert loc.path == "/" and loc.netloc in ("", "127.0.0.1:%d" % stack.port), loc
    assert urllib.parse.parse_qs(loc.query)["next"] == [
        "/app/estratto-conto?anno=2024&tipo=pdf"]
    # a POST without a session is sent to the login page too (the check is a GET)
    p = s.post(stack.url("/app/iban"), data={"iban": "IT60X0542811101000000123456"},
               allow_redirects=False, timeout=TIMEOUT)
    assert p.status_code == 302 and "next=%2Fapp%2Fiban" in p.headers["Location"]

    page = s.get(urllib.parse.urljoin(r.url, r.headers["Location"]), timeout=TIMEOUT)
    acs = spidlib.login_from_page(s, page, stack.idp, identity="citizen", level=2)
    assert acs.url == stack.url("/spid/acs"), "the IdP must post to nginx's /spid/acs"
    assert acs.status_code == 302, acs.text[:500]
    assert acs.headers["Location"] == "/app/estratto-conto?anno=2024&tipo=pdf"

    back = s.get(urllib.parse.urljoin(acs.url, acs.headers["Location"]),
                 allow_redirects=False, timeout=TIMEOUT)
    h = echo_headers(back)
    assert back.json()["path"] == "/app/estratto-conto?anno=2024&tipo=pdf"
    assert back.json()["method"] == "GET"
    assert one(h, "X-Auth-Fiscal-Number") == CITIZEN
    assert one(h, "X-Auth-Name") == "Mario" and one(h, "X-Auth-Family-Name") == "Rossi"
    assert one(h, "X-Auth-Method") == "spid"
    assert one(h, "X-Auth-Level") == "2"
    assert one(h, "X-Auth-Strength") == "A2"
    assert one(h, "X-Auth-Service") == "estratto-conto"
    assert one(h, "X-Auth-Via") == "self"
    assert re.fullmatch(r"[0-9a-f]{16,64}", one(h, "X-Auth-Session"))
    for absent in ("X-Auth-Acting-For", "X-Auth-Deferred", "X-Auth-Delegation",
                   "X-Auth-Reason", "X-Original-URI"):
        assert absent.lower() not in h, absent
    assert one(h, "X-Forwarded-For") == "127.0.0.1"
    # the session cookie is nginx's origin's: the SP pages work through it too
    me = s.get(stack.url("/api/me"), timeout=TIMEOUT)
    assert me.status_code == 200 and me.json()["fiscal_number"] == CITIZEN
    # a POST reaches the backend with its method and body
    p = s.post(stack.url("/app/estratto-conto"), data={"x": "1"}, allow_redirects=False,
               timeout=TIMEOUT)
    assert echo_headers(p) and p.json()["method"] == "POST" and p.json()["body"] == "x=1"
    assert any(e.get("event") == "login" and e.get("actor") == CITIZEN for e in stack.audit())


@pytest.mark.parametrize("target", [
    "//evil.example/%2e%2e/app/cu",
    "//evil.example/../app/cu",
    "/%2fevil.example/%2e%2e/app/cu",
    "/app/cu/..//evil.example",
    "/app/%2f%2fevil.example",
    "/app/%5c%5cevil.example",
])
def test_login_redirect_stays_local(stack, target):
    """Whatever nginx lets into /app/, the way back after the login is a path
    on this site, never another origin."""
    status, hdrs, _ = raw(stack, "GET", target)
    if status != 302:
        assert status in (400, 404), (target, status)
        return
    loc = urllib.parse.urlsplit(hdrs["location"])
    assert loc.path == "/" and loc.netloc in ("", "127.0.0.1:%d" % stack.port), hdrs
    nxt = urllib.parse.parse_qs(loc.query).get("next", ["/"])[0]
    assert nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt, nxt
    assert urllib.parse.urlsplit(nxt).netloc == "", nxt


# ------------------------------------------------------------------ b. pensioner


def test_pensioner_opens_cedolino_not_naspi(stack):
    stack.cli("role", "grant", PENSIONER, "pensioner", "--scheme", "private",
              "--reason", "e2e: pensione di vecchiaia")
    s = login(stack, "pensioner")
    r = s.get(stack.url("/app/pensione/cedolino"), allow_redirects=False, timeout=TIMEOUT)
    h = echo_headers(r)
    assert one(h, "X-Auth-Fiscal-Number") == PENSIONER
    assert one(h, "X-Auth-Service") == "cedolino"
    assert "pensioner" in one(h, "X-Auth-Roles")

    before = len(stack.backend_requests())
    r = s.get(stack.url("/app/naspi"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert r.headers.get("X-Backend") is None
    assert "text/html" in r.headers.get("Content-Type", "")
    text = page_text(r)
    assert "riservato a un'altra categoria" in text, text
    assert "Domanda NASpI" in text
    assert not reached_backend(stack, before, lambda p: "naspi" in p)
    assert denied_by(stack, PENSIONER, "profile", "naspi")


# ------------------------------------------------------------------ c. intermediary


def test_intermediary_acting_for_a_citizen(stack):
    assert piva_check_digit(PATRONATO[:10]) == PATRONATO[10]
    stack.cli("org", "add", PATRONATO, "--kind", "patronato", "--name", "Patronato E2E")
    stack.cli("role", "grant", PROFESSIONAL, "patronato_operator", "--org", PATRONATO,
              "--reason", "e2e: operatore di patronato")
    out = stack.cli("delegation", "add", "--type", "patronato_mandate", "--delegator", CITIZEN,
                    "--delegate", PATRONATO, "--scope", "position",
                    "--evidence", "mandato-e2e-0001")
    deleg_id = re.search(r"delegation #(\d+) recorded", out).group(1)

    s = login(stack, "professional")
    page, csrf, options = services_form(s, stack)
    assert CITIZEN in options, options

    # neither a forged token nor a party without a delegation changes anything
    assert act_for(s, stack, CITIZEN, "0" * 32).status_code == 403
    assert act_for(s, stack, CITIZEN, "").status_code == 403
    assert act_for(s, stack, PENSIONER, csrf).status_code == 403
    assert act_for(s, stack, PATRONATO, csrf).status_code == 403
    assert s.get(stack.url("/api/services"), timeout=TIMEOUT).json()["acting_for"] is None

    r = act_for(s, stack, CITIZEN, csrf)
    assert r.status_code == 303 and r.headers["Location"] == "/services"
    assert s.get(stack.url("/api/services"), timeout=TIMEOUT).json()["acting_for"] == CITIZEN
    assert "per conto di" in page_text(s.get(stack.url("/services"), timeout=TIMEOUT))

    r = s.get(stack.url("/app/estratto-conto"), allow_redirects=False, timeout=TIMEOUT)
    h = echo_headers(r)
    assert one(h, "X-Auth-Fiscal-Number") == PROFESSIONAL
    assert one(h, "X-Auth-Acting-For") == CITIZEN
    assert one(h, "X-Auth-Via") == "delegation"
    assert one(h, "X-Auth-Delegation") == deleg_id
    assert "patronato_operator" in one(h, "X-Auth-Roles")

    before = len(stack.backend_requests())
    for path, words in (("/app/cu", "non comprende questo servizio"),
                        ("/app/pensione/cedolino", "non comprende questo servizio")):
        r = s.get(stack.url(path), allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 403, (path, r.status_code)
        assert words in page_text(r), (path, page_text(r))
    # (cedolino: the pension family is outside the mandate's "position" scope)
    assert not reached_backend(stack, before, lambda p: p.startswith(("/app/cu",
                                                                       "/app/pensione")))
    assert denied_by(stack, PROFESSIONAL, "delegation_scope", "cu")

    # the mandate is revoked at the office: access ends within the cache TTL
    stack.cli("delegation", "revoke", deleg_id, "--reason", "e2e: mandato revocato")
    t0 = time.time()
    while True:
        r = s.get(stack.url("/app/estratto-conto"), allow_redirects=False, timeout=TIMEOUT)
        if r.status_code == 403:
            break
        assert r.status_code == 200, r.status_code
        assert time.time() - t0 < 7, "still allowed %.1fs after the revocation" % (
            time.time() - t0)
        time.sleep(0.25)
    assert "delega" in page_text(r)

    # the services page notices the ended mandate and goes back to self
    page, csrf, options = services_form(s, stack)
    assert CITIZEN not in options
    assert "Stai operando per conto di" not in page_text(page)
    me = s.get(stack.url("/api/services"), timeout=TIMEOUT).json()
    assert me["acting_for"] is None
    # back to acting for oneself: no X-Auth-Acting-For
    assert act_for(s, stack, "", csrf).status_code == 303
    h = echo_headers(s.get(stack.url("/app/estratto-conto"), allow_redirects=False,
                           timeout=TIMEOUT))
    assert one(h, "X-Auth-Fiscal-Number") == PROFESSIONAL
    assert "x-auth-acting-for" not in h and one(h, "X-Auth-Via") == "self"


# ------------------------------------------------------------------ d. strength


@pytest.fixture(scope="module")
def a1_session(stack):
    """A citizen whose session has the strength of an ordinary PIN (A1),
    edited in the database before its first use (so no cache holds A2)."""
    s = login(stack, "citizen")
    set_assurance(stack, s, 1)
    return s


def test_dispositive_needs_a2_deferrable_admits_a1(stack, a1_session):
    s2 = login(stack, "citizen")
    h = echo_headers(s2.get(stack.url("/app/iban"), allow_redirects=False, timeout=TIMEOUT))
    assert one(h, "X-Auth-Service") == "iban" and one(h, "X-Auth-Strength") == "A2"
    assert "x-auth-deferred" not in h

    s1 = a1_session
    assert s1.get(stack.url("/api/services"), timeout=TIMEOUT).json()["strength"] == "A1"
    before = len(stack.backend_requests())
    r = s1.get(stack.url("/app/iban"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403, r.status_code
    assert "non è abbastanza forte" in page_text(r)
    r = s1.post(stack.url("/app/iban"), data={"iban": "IT60X0542811101000000123456"},
                allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403 and "non è abbastanza forte" in page_text(r)
    assert not reached_backend(stack, before, lambda p: "iban" in p)
    assert denied_by(stack, CITIZEN, "assurance", "iban")

    h = echo_headers(s1.get(stack.url("/app/pensione/domanda"), allow_redirects=False,
                            timeout=TIMEOUT))
    assert one(h, "X-Auth-Service") == "domanda-pensione"
    assert one(h, "X-Auth-Strength") == "A1"
    assert one(h, "X-Auth-Deferred") == "pending-conversion"
    h = echo_headers(s1.get(stack.url("/app/cu"), allow_redirects=False, timeout=TIMEOUT))
    assert one(h, "X-Auth-Service") == "cu" and "x-auth-deferred" not in h


# ------------------------------------------------------------------ e. header spoofing

FORGED = [
    ("X-Auth-Fiscal-Number", "ZZZZZZ99Z99Z999Z"),
    ("X-Auth-Acting-For", PENSIONER),
    ("X-Auth-Roles", "pa_operator@80078750587 employer_rep@00743110157"),
    ("X-Auth-Deferred", "forged-deferred"),
    ("X-Auth-Strength", "A3-forged"),
    ("X-Auth-Via", "forged-via"),
    ("X-Auth-Delegation", "424242"),
    ("X-Auth-Service", "forged-service"),
    ("X-Auth-Level", "9"),
    ("X-Auth-Name", "Forged"),
    ("X-Auth-Reason", "forged-reason"),
    ("x-auth-fiscal-number", "YYYYYY99Y99Y999Y"),   # case variant, and a second copy
    ("X-Auth-Fiscal-Number", "XXXXXX99X99X999X"),
    ("X_Auth_Fiscal_Number", "WWWWWW99W99W999W"),   # underscore variant
    ("X-Forwarded-For", "203.0.113.66"),
]
FORGED_VALUES = ("ZZZZZZ99Z99Z999Z", "YYYYYY99Y99Y999Y", "XXXXXX99X99X999X", "WWWWWW99W99W999W",
                 "80078750587", "forged", "A3-forged", "424242", "Forged", "203.0.113.66")


def assert_nothing_forged(h):
    for name, values in h.items():
        for v in values:
            for f in FORGED_VALUES:
                assert f not in v, "backend received %s: %s" % (name, v)
            if "_" in name and "auth" in name:
                raise AssertionError("underscore header reached the backend: %s" % name)


def test_forged_identity_headers_never_reach_backend(stack, a1_session):
    s = login(stack, "citizen")
    tok = token_of(s)
    for method in ("GET", "POST"):
        status, hdrs, body = raw(stack, method, "/app/estratto-conto", FORGED, cookie=tok,
                                 body="a=1" if method == "POST" else None)
        assert status == 200, (status, body[:300])
        echo = json.loads(body)
        h = {}
        for k, v in echo["headers"]:
            h.setdefault(k.lower(), []).append(v)
        assert_nothing_forged(h)
        assert h["x-auth-fiscal-number"] == [CITIZEN]
        assert h["x-auth-strength"] == ["A2"] and h["x-auth-via"] == ["self"]
        assert h["x-auth-service"] == ["estratto-conto"]
        for absent in ("x-auth-acting-for", "x-auth-deferred", "x-auth-delegation",
                       "x-auth-reason", "x-auth-roles"):
            assert absent not in h, (absent, h.get(absent))
        assert h["x-forwarded-for"] == ["127.0.0.1"]

    # the check itself cannot be steered by the client's X-Original-URI
    before = len(stack.backend_requests())
    status, _, _ = raw(stack, "GET", "/app/iban", [("X-Original-URI", "/app/cu")],
                       cookie=token_of(a1_session))
    assert status == 403
    # without a session (none, or a made-up one): the login page, never the backend
    for cookie in (None, "0123456789abcdef0123456789abcdef"):
        for method in ("GET", "POST", "PUT"):
            status, hdrs, _ = raw(stack, method, "/app/estratto-conto", FORGED, cookie=cookie,
                                  body=None if method == "GET" else "a=1")
            assert status == 302, (method, cookie, status)
            assert hdrs["location"].split("?")[0].endswith("/")
    assert stack.backend_requests()[before:] == []
    # /auth/login and /auth/denied from outside ignore a client's X-Original-URI
    for uri in ("/app/forged-next", "//evil.example/app/cu"):
        status, hdrs, _ = raw(stack, "GET", "/auth/login", [("X-Original-URI", uri)])
        assert status == 302 and hdrs["location"] == "/?next=%2F", hdrs.get("location")
    status, _, body = raw(stack, "GET", "/auth/denied", [("X-Original-URI", "/app/iban")],
                          cookie=token_of(a1_session))
    assert status == 403 and "abbastanza forte" not in page_text(body)


# ------------------------------------------------------------------ f. path tricks

IBAN_TRICKS = [
    "/app/cu/../iban",
    "/app/cu/%2e%2e/iban",
    "/app/cu/%2E%2E/iban",
    "/app/cu/.%2e/iban",
    "/app//iban",
    "/app/./iban",
    "/app/cu%2f..%2fiban",
    "/app/cu/..%2fiban",
    "/app/cu/..;/iban",
    "/app/%69ban",
    "/app/iban/",
    "/app/iban?x=/app/cu",
    "/app/cu/../iban?next=/app/cu",
]


@pytest.mark.parametrize("target", IBAN_TRICKS)
def test_path_tricks_never_reach_iban(stack, a1_session, target):
    tok = token_of(a1_session)
    # the same session may open cu, through the same kind of detours
    status, _, body = raw(stack, "GET", "/app//cu/./x/../", cookie=tok)
    assert status == 200 and json.loads(body)["path"] == "/app//cu/./x/../"
    before = len(stack.backend_requests())
    status, hdrs, body = raw(stack, "GET", target, cookie=tok)
    assert status in (400, 403, 404), (target, status, body[:300])
    assert hdrs.get("x-backend") is None
    assert stack.backend_requests()[before:] == [], (target, stack.backend_requests()[before:])


def test_double_encoding_is_not_iban(stack, a1_session):
    """%252e%252e is a literal "%2e%2e" segment after one decoding: the check
    and the backend agree it is under /app/cu, not iban."""
    status, _, body = raw(stack, "GET", "/app/cu/%252e%252e/iban", cookie=token_of(a1_session))
    if status == 200:
        echo = json.loads(body)
        h = {k.lower(): v for k, v in echo["headers"]}
        assert h["x-auth-service"] == "cu"
        assert echo["path"] == "/app/cu/%252e%252e/iban"
    else:
        assert status in (400, 403, 404)


# ------------------------------------------------------------------ g. internal check


def test_auth_check_is_internal(stack, a1_session):
    tok = token_of(a1_session)
    for target, cookie in (("/auth/check", None), ("/auth/check", tok),
                           ("/auth/check?uri=/app/cu", tok), ("/auth/check/", tok),
                           ("/auth//check", tok), ("/auth/%63heck", tok)):
        for method in ("GET", "HEAD"):
            status, hdrs, _ = raw(stack, method, target,
                                  [("X-Original-URI", "/app/cu")], cookie=cookie)
            assert status == 404, (method, target, status)
            assert not any(k.startswith("x-auth-") for k in hdrs), (target, hdrs)
    # and nginx serves nothing of its own outside the documented paths
    for target in ("/index.html", "/nginx-welcome/", "/appx"):
        status, _, _ = raw(stack, "GET", target)
        assert status == 404, target


# ------------------------------------------------------------------ PIN sessions


def test_pin_session_through_nginx(stack):
    """A PIN issued at an office (dispositivo) logs in through nginx's /pin/ and
    opens a dispositive service with X-Auth-Method pin; the same PIN before a
    conversion (A1, an ordinary PIN) would be deferred, which test d covers."""
    out = stack.cli("pin", "issue", PENSIONER, "--name", "Dario", "--surname", "Fo", "--sex",
                    "M", "--birth-date", "1926-03-24")
    m = re.search(r"PIN iniziale:\s+([0-9A-F]{8}) ([0-9A-F]{8})", out)
    assert m, out
    s = requests.Session()
    r = s.get(stack.url("/pin/login"), timeout=TIMEOUT)
    assert r.status_code == 200
    csrf = lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]
    initial = m.group(1) + m.group(2)
    r = s.post(stack.url("/pin/login"), data={"csrf": csrf, "cf": PENSIONER, "pin": initial},
               allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200 and "Scegli il tuo PIN" in page_text(r)
    r = s.post(stack.url("/pin/change"),
               data={"csrf": csrf, "cf": PENSIONER, "current": initial, "new": "T5R8E2W9",
                     "confirm": "T5R8E2W9", "next": "/app/iban"},
               allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 303 and r.headers["Location"] == "/app/iban"
    h = echo_headers(s.get(stack.url("/app/iban"), allow_redirects=False, timeout=TIMEOUT))
    assert one(h, "X-Auth-Fiscal-Number") == PENSIONER
    assert one(h, "X-Auth-Method") == "pin" and one(h, "X-Auth-Strength") == "A2"
    assert "x-auth-level" not in h and "x-auth-deferred" not in h
