"""The daemon and the SPID registry (issue 6, BT-20..BT-23): the IdP set comes
from a signed aggregate served over loopback HTTP; the background refresh
swaps in new copies, keeps the set in force when a download is tampered,
unsigned, expired or unreachable, follows a signing-key rollover, survives a
restart without network from its cache, and does not disturb a running load.
"""
import datetime
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests
from lxml import etree as ET

import spidlib
from conftest import (Daemon, TempDir, binary_path, free_port, run_cli, start_devidp,
                      write_config)

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
TIMEOUT = 10


# --------------------------------------------------------------- aggregates


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def aggregate(entities, key, cert, valid_days=7, name="https://registry.e2e.example",
              serial=0, sign=True):
    """A signed md:EntitiesDescriptor holding the given EntityDescriptor
    elements (bytes or lxml elements), like the registry's aggregate."""
    now = datetime.datetime.now(datetime.timezone.utc)
    agg_id = "_agg%032x" % (serial + 1)
    root = ET.Element("{%s}EntitiesDescriptor" % MD, nsmap={"md": MD, "ds": DS})
    root.set("ID", agg_id)
    root.set("Name", name)
    root.set("validUntil", iso(now + datetime.timedelta(days=valid_days)))
    for e in entities:
        el = ET.fromstring(e) if isinstance(e, bytes) else e
        for sig in el.findall("{%s}Signature" % DS):
            el.remove(sig)
        root.append(el)
    if not sign:
        return ET.tostring(root, xml_declaration=True, encoding="UTF-8")
    root.insert(0, spidlib.signature_template(agg_id))
    return spidlib.xmlsec_sign(ET.tostring(root, xml_declaration=True, encoding="UTF-8"),
                               key, cert, ["%s:EntitiesDescriptor" % MD])


def with_signing_certs(entity_xml, cert_paths):
    """The IdP EntityDescriptor with its signing KeyDescriptors replaced by
    one per certificate (a key rollover publishes the old and the new)."""
    el = ET.fromstring(entity_xml)
    idp = el.find("{%s}IDPSSODescriptor" % MD)
    kds = [kd for kd in idp.findall("{%s}KeyDescriptor" % MD) if kd.get("use") in (None, "signing")]
    pos = list(idp).index(kds[0])
    for kd in kds:
        idp.remove(kd)
    for i, path in enumerate(cert_paths):
        kd = ET.Element("{%s}KeyDescriptor" % MD, use="signing")
        ki = ET.SubElement(kd, "{%s}KeyInfo" % DS)
        xd = ET.SubElement(ki, "{%s}X509Data" % DS)
        ET.SubElement(xd, "{%s}X509Certificate" % DS).text = spidlib.cert_b64(path)
        idp.insert(pos + i, kd)
    return ET.tostring(el)


class RegistryServer:
    """A loopback HTTP server for the aggregate; `body` is what it serves
    now (None: 404); `down()` closes the port."""

    def __init__(self):
        import http.server

        outer = self
        self.body = None
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                body = outer.body
                if body is None:
                    self.send_error(404)
                    return
                etag = '"%x"' % (hash(body) & 0xFFFFFFFF)
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/samlmetadata+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/spid-entities-idps.xml" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def down(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class RegistryEnv:
    """A dev IdP whose metadata reaches the SP only through the registry."""

    def __init__(self, refresh=1):
        self.tmp = TempDir("spid-registry-")
        self.dir = self.tmp.path
        self.sp = self.idp = None
        self.server = RegistryServer()
        binary = binary_path()
        if not os.access(binary, os.X_OK):
            pytest.skip("spid-sp binary not found at %s" % binary)
        self.reg_key, self.reg_cert = spidlib.make_keypair(self.dir, "registry",
                                                           cn="registry.e2e.example")
        self.sp_port = free_port()
        base = "http://127.0.0.1:%d" % self.sp_port
        self.cfg = {
            "sp": {"entity_id": base + "/metadata", "base_url": base, "listen": "127.0.0.1",
                   "port": str(self.sp_port), "data_dir": os.path.join(self.dir, "sp-data"),
                   "idp_metadata": os.path.join(self.dir, "no-local-idps"),
                   "test_hooks": "true", "log_level": "info", "threads": "8"},
            "organization": {"url": base + "/"},
            "registry": {"url": self.server.url, "cert_file": self.reg_cert,
                         "refresh": str(refresh), "timeout": "5"},
        }
        self.config = os.path.join(self.dir, "sp.ini")
        write_config(self.config, self.cfg)
        log = os.path.join(self.dir, "cli.log")
        self.sp_metadata = os.path.join(self.dir, "sp-metadata.xml")
        for args in ([binary, "keygen", "--config", self.config],
                     [binary, "metadata", "--config", self.config, "--out", self.sp_metadata]):
            p = run_cli(args, log)
            assert p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace")
        # the dev IdP writes its metadata outside the SP's idp_metadata path
        self.idp = start_devidp(self.dir, [self.sp_metadata])
        with open(self.idp.metadata_path, "rb") as f:
            self.idp_entity = f.read()
        self.good = aggregate([self.idp_entity], self.reg_key, self.reg_cert)
        self.server.body = self.good

    def start_sp(self):
        self.sp = Daemon("sp", [binary_path(), "serve", "--config", self.config],
                         os.path.join(self.dir, "sp.log"), base_url="http://127.0.0.1:%d"
                         % self.sp_port)
        self.sp.entity_id = self.cfg["sp"]["entity_id"]
        self.sp.wait_http()
        return self.sp

    def stop_sp(self):
        problems = self.sp.stop() if self.sp is not None else []
        self.sp = None
        return problems

    def close(self):
        problems = self.stop_sp()
        if self.idp is not None:
            problems += self.idp.stop()
        self.server.down()
        self.tmp.cleanup()
        return problems


@pytest.fixture
def reg_env():
    env = RegistryEnv()
    yield env
    problems = env.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def metrics(sp):
    r = requests.get(sp.url("/metrics"), timeout=TIMEOUT)
    assert r.status_code == 200
    return r.text


def metric(text, name, labels=None):
    """The value of one sample (labels: dict that must be a subset), or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            return float(m.group(3))
    return None


def refreshes(sp, outcome, reason=None):
    labels = {"outcome": outcome}
    if reason:
        labels["reason"] = reason
    return metric(metrics(sp), "spid_sp_registry_refreshes_total", labels) or 0


def wait_for(pred, what, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def can_log_in(env):
    r = spidlib.login(env.sp, env.idp)
    return r.status_code == 302


# --------------------------------------------------------------- tests


def test_idps_come_from_the_verified_registry(reg_env):
    sp = reg_env.start_sp()
    text = metrics(sp)
    assert metric(text, "spid_sp_idps_loaded") == 1
    assert metric(text, "spid_sp_registry_loaded") == 1
    assert metric(text, "spid_sp_registry_age_seconds") is not None
    assert metric(text, "spid_sp_registry_valid_until_seconds") > time.time()
    # the dev IdP is offered and a login through it works
    page = requests.get(sp.url("/"), timeout=TIMEOUT).text
    assert reg_env.idp.entity_id in page
    assert can_log_in(reg_env)
    # each signing certificate's days to expiry is exposed
    days = metric(text, "spid_sp_idp_certificate_days_to_expiry", {"idp": reg_env.idp.entity_id})
    assert days is not None and days > 0
    # the verified copy is cached byte for byte
    cache = os.path.join(reg_env.cfg["sp"]["data_dir"], "registry")
    assert any(open(os.path.join(cache, f), "rb").read() == reg_env.good
               for f in os.listdir(cache) if os.path.isfile(os.path.join(cache, f)))


@pytest.mark.parametrize("kind,reason", [
    ("tampered", "bad_signature"),
    ("unsigned", "unsigned"),
    ("expired", "expired"),
    ("other_key", "bad_signature"),
    ("unreachable", "unreachable"),
])
def test_a_bad_download_keeps_the_set_in_force(reg_env, kind, reason):
    sp = reg_env.start_sp()
    assert can_log_in(reg_env)
    before = refreshes(sp, "failed", reason)
    if kind == "tampered":
        # an SSO Location moved elsewhere after signing
        reg_env.server.body = reg_env.good.replace(b"127.0.0.1:%d" % int(
            reg_env.idp.base_url.rsplit(":", 1)[1]), b"127.0.0.2:%d" % int(
            reg_env.idp.base_url.rsplit(":", 1)[1]), 1)
        assert reg_env.server.body != reg_env.good
    elif kind == "unsigned":
        reg_env.server.body = aggregate([reg_env.idp_entity], None, None, sign=False, serial=1)
    elif kind == "expired":
        reg_env.server.body = aggregate([reg_env.idp_entity], reg_env.reg_key, reg_env.reg_cert,
                                        valid_days=-1, serial=2)
    elif kind == "other_key":
        k, c = spidlib.make_keypair(reg_env.dir, "intruder", cn="registry.e2e.example")
        reg_env.server.body = aggregate([reg_env.idp_entity], k, c, serial=3)
    else:
        reg_env.server.down()
    wait_for(lambda: refreshes(sp, "failed", reason) >= before + 2,
             "two refused refreshes (%s)" % reason)
    text = metrics(sp)
    assert metric(text, "spid_sp_idps_loaded") == 1
    assert metric(text, "spid_sp_registry_consecutive_failures") >= 2
    assert sp.loggrep("registry: refresh refused \\(%s\\)" % reason)
    assert can_log_in(reg_env)


def test_key_rollover(reg_env):
    """v1: the IdP's current key; v2: current + new (both accepted); v3: only
    the new one (a Response signed with the old key is refused)."""
    sp = reg_env.start_sp()
    new_key, new_cert = spidlib.make_keypair(reg_env.dir, "idp-next", cn="dev idp next")
    old = reg_env.idp.cert

    def signed_with(key, cert):
        s, acs, xml, relay = spidlib.get_genuine_response(sp, reg_env.idp)
        return spidlib.post_response(s, acs, spidlib.resign(xml, key, cert), relay).status_code

    assert signed_with(new_key, new_cert) >= 400  # not yet in the metadata
    updated = refreshes(sp, "updated")
    reg_env.server.body = aggregate([with_signing_certs(reg_env.idp_entity, [old, new_cert])],
                                    reg_env.reg_key, reg_env.reg_cert, serial=10)
    wait_for(lambda: refreshes(sp, "updated") > updated, "the v2 aggregate")
    assert signed_with(new_key, new_cert) == 302
    assert signed_with(reg_env.idp.key, old) == 302
    updated = refreshes(sp, "updated")
    reg_env.server.body = aggregate([with_signing_certs(reg_env.idp_entity, [new_cert])],
                                    reg_env.reg_key, reg_env.reg_cert, serial=11)
    wait_for(lambda: refreshes(sp, "updated") > updated, "the v3 aggregate")
    assert signed_with(new_key, new_cert) == 302
    assert signed_with(reg_env.idp.key, old) >= 400


def test_not_modified_is_not_a_rebuild(reg_env):
    sp = reg_env.start_sp()
    wait_for(lambda: refreshes(sp, "not_modified") >= 2, "conditional GETs answered 304")
    assert refreshes(sp, "failed") == 0
    assert sp.loggrep("registry: .* unchanged")
    # the download details (ETag; this server sends no Last-Modified) are kept
    assert not sp.loggrep("does not describe")


def test_restart_without_network_uses_the_cache(reg_env):
    reg_env.start_sp()
    problems = reg_env.stop_sp()
    assert not problems, problems
    reg_env.server.down()
    sp = reg_env.start_sp()
    assert metric(metrics(sp), "spid_sp_idps_loaded") == 1
    assert can_log_in(reg_env)


def test_first_start_refuses_a_tampered_registry(reg_env):
    """No cache and a bad download: the SP does not trust it (and, with no
    local IdP metadata, refuses to start, naming the reason)."""
    reg_env.server.body = aggregate([reg_env.idp_entity], None, None, sign=False)
    p = subprocess.run([binary_path(), "serve", "--config", reg_env.config, "--check"],
                       capture_output=True, timeout=60)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert "unsigned" in out


def test_refresh_under_load_drops_nothing(reg_env):
    """A bounded wrk run on pages that use the IdP set while the aggregate
    changes every half second: every request answered, no errors."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk not installed (scripts/deps.sh installs it)")
    sp = reg_env.start_sp()
    versions = [aggregate([reg_env.idp_entity], reg_env.reg_key, reg_env.reg_cert, serial=20 + i)
                for i in range(2)]
    stop = threading.Event()

    def flip():
        i = 0
        while not stop.is_set():
            reg_env.server.body = versions[i % 2]
            i += 1
            stop.wait(0.5)

    logins = {"ok": 0, "bad": []}

    def login_loop():
        q = urllib.parse.urlencode({"idp": reg_env.idp.entity_id, "next": "/"})
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(sp.url("/spid/login?" + q), allow_redirects=False, timeout=TIMEOUT)
                if r.status_code in (200, 302):
                    logins["ok"] += 1
                else:
                    logins["bad"].append(r.status_code)

    updated = refreshes(sp, "updated")
    threads = [threading.Thread(target=flip), threading.Thread(target=login_loop)]
    for t in threads:
        t.start()
    runs, swaps = [], 0
    deadline = time.time() + 150  # a set rebuild takes seconds under ASan
    try:
        # bounded wrk runs back to back until the set was swapped 3 times
        while swaps < 3 and time.time() < deadline:
            p = subprocess.run(["wrk", "-t2", "-c16", "-d3s", sp.url("/")],
                               capture_output=True, timeout=60)
            out = p.stdout.decode()
            runs.append(out)
            assert p.returncode == 0, out + p.stderr.decode()
            assert "Non-2xx or 3xx responses" not in out, out
            assert "Socket errors" not in out, out
            assert int(re.search(r"(\d+) requests in", out).group(1)) > 100, out
            swaps = refreshes(sp, "updated") - updated
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert swaps >= 3, "only %d swaps during %d wrk runs" % (swaps, len(runs))
    assert logins["bad"] == [] and logins["ok"] > 10, logins
    assert can_log_in(reg_env)
