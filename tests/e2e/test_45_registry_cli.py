"""`spid-sp registry fetch|show` end to end (spid-sp-rules.md §9.2, BT-20..BT-24).

A loopback server (registry_server.py) plays registry.spid.gov.it: it serves
aggregates signed at test time by tests/fixtures/registry/make_registry.py
with an ETag and a Last-Modified, answers 304 to a matching conditional GET
and records every request. Each test gets its own data directory and its own
URL path, so the tests do not depend on one another's order.
"""

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess

import pytest

from conftest import SANITIZER_PATTERNS, TempDir, binary_path, sanitizer_env, write_config
from registry_server import RegistryServer

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_REGISTRY = os.path.join(HERE, "..", "fixtures", "registry", "make_registry.py")
DEVIDP_MD = os.path.join(HERE, "..", "fixtures", "mdcheck", "devidp.xml")
NAME = "https://registry.test.example"
DEVIDP = "http://127.0.0.1:35557"
A, B, C = "https://idp-a.example", "https://idp-b.example", "https://idp-c.example"


class Fixtures:
    def __init__(self):
        self.tmp = TempDir("spid-registry-e2e-")
        self.dir = os.path.join(self.tmp.path, "fx")
        p = subprocess.run(["/usr/bin/python3", MAKE_REGISTRY, self.dir, "--include", DEVIDP_MD],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        with open(self.path("manifest.json")) as f:
            self.manifest = json.load(f)
        self.serve = os.path.join(self.tmp.path, "serve")
        os.makedirs(self.serve)
        self.srv = RegistryServer(self.serve)
        self.counter = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def bytes(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def sha256(self, name):
        return hashlib.sha256(self.bytes(name)).hexdigest()

    def cert(self, key):
        return self.manifest["certs"][key]

    def close(self):
        self.srv.close()
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def fx():
    if not os.access(binary_path(), os.X_OK):
        pytest.skip("spid-sp binary not found at %s (set SPID_SP_BINARY)" % binary_path())
    f = Fixtures()
    yield f
    f.close()


class Env:
    """One data directory and one URL path on the shared server."""

    def __init__(self, fx, registry=None):
        fx.counter += 1
        self.fx = fx
        self.tmp = TempDir("spid-registry-env-")
        self.dir = self.tmp.path
        self.served = "agg-%d.xml" % fx.counter
        self.url = fx.srv.url(self.served)
        self.data = os.path.join(self.dir, "data")
        local = os.path.join(self.dir, "idp-metadata")
        os.makedirs(local)
        shutil.copy(fx.path("idp-c.xml"), os.path.join(local, "local-idp.xml"))
        self.local_file = os.path.join(local, "local-idp.xml")
        reg = {"url": self.url, "cert_file": fx.path("registry-cert.pem"), "name": NAME,
               "timeout": "5", "cert_warn_days": "30"}
        reg.update(registry or {})
        self.config = os.path.join(self.dir, "sp.ini")
        write_config(self.config, {"sp": {"data_dir": self.data, "idp_metadata": local,
                                          "log_level": "warn"},
                                   "registry": {k: v for k, v in reg.items() if v is not None}})
        self.log = os.path.join(self.dir, "cli.log")

    def serve(self, name):
        shutil.copy(self.fx.path(name), os.path.join(self.fx.serve, self.served))

    def cli(self, *args):
        p = subprocess.run([binary_path(), "registry"] + list(args) + ["--config", self.config],
                           capture_output=True, text=True, env=sanitizer_env(), timeout=120)
        with open(self.log, "a") as f:
            f.write("$ registry %s\n%s%s" % (" ".join(args), p.stdout, p.stderr))
        for pat in SANITIZER_PATTERNS:
            assert pat not in p.stdout + p.stderr, p.stdout + p.stderr
        return p

    def fetch(self):
        return self.cli("fetch")

    def show(self):
        p = self.cli("show", "--json")
        return p.returncode, json.loads(p.stdout)

    def requests(self):
        return [r for r in self.fx.srv.requests if r.path == "/" + self.served]

    def cache(self, name="aggregate.xml"):
        with open(os.path.join(self.data, "registry", name), "rb") as f:
            return f.read()

    def idp(self, doc, entity_id, source="registry"):
        found = [i for i in doc["idps"] if i["entity_id"] == entity_id and i["source"] == source]
        assert len(found) == 1, (entity_id, source, doc["idps"])
        return found[0]


@pytest.fixture
def env(fx):
    e = Env(fx)
    yield e
    e.tmp.cleanup()


def assert_good_cached(env, name="good.xml"):
    """The cache is `name`, byte for byte, and `show` presents it."""
    assert env.cache() == env.fx.bytes(name)
    rc, doc = env.show()
    assert rc == 0, doc
    assert doc["registry"]["valid"] is True
    assert doc["registry"]["sha256"] == env.fx.sha256(name)
    return doc


def test_show_without_cache(env):
    rc, doc = env.show()
    assert rc == 1
    assert doc["registry"]["valid"] is False
    assert doc["registry"]["reason"] == "no_cache"
    # the local IdP metadata is listed anyway
    local = env.idp(doc, C, source=env.local_file)
    assert [c["sha256"] for c in local["certs"]] == [env.fx.cert("c1")["sha256"],
                                                     env.fx.cert("c2")["sha256"]]
    p = env.cli("show")
    assert p.returncode == 1
    assert "no valid cached copy (no_cache)" in p.stdout


def test_fetch_good_then_show(env):
    env.serve("good.xml")
    p = env.fetch()
    assert p.returncode == 0, p.stderr
    assert "registry: updated: 4 IdP(s)" in p.stdout
    assert env.fx.sha256("good.xml") in p.stdout
    assert "2 signing certificate(s) expired or expiring within 30 days" in p.stdout
    reqs = env.requests()
    assert [(r.status, r.if_none_match) for r in reqs] == [(200, None)]

    doc = assert_good_cached(env)
    reg = doc["registry"]
    assert reg["url"] == env.url and reg["source_url"] == env.url
    assert reg["name"] == NAME
    assert reg["idps"] == 4
    assert 0 <= reg["age_sec"] < 120
    assert reg["valid_until"].endswith("Z")
    # the SP in the aggregate is not an IdP
    assert "https://sp-x.example" not in [i["entity_id"] for i in doc["idps"]]
    a = env.idp(doc, A)
    assert a["display_name"] == "Identità A"
    assert [(c["sha256"], c["state"]) for c in a["certs"]] == \
        [(env.fx.cert("a1")["sha256"], "valid")]
    assert a["certs"][0]["not_after_ms"] == env.fx.cert("a1")["not_after_ms"]
    assert "CN=IdP A signing 2025" in a["certs"][0]["subject"]
    b = env.idp(doc, B)
    assert b["certs"][0]["state"] == "expiring" and b["certs"][0]["days_left"] in (9, 10)
    c = env.idp(doc, C)
    assert [x["state"] for x in c["certs"]] == ["expired", "valid"]
    assert c["certs"][0]["days_left"] < 0
    env.idp(doc, DEVIDP)  # the included dev-idp metadata
    env.idp(doc, C, source=env.local_file)
    assert doc["local_errors"] == []

    # the text form: marks and sources
    p = env.cli("show")
    assert p.returncode == 0
    out = p.stdout
    assert "IdP https://idp-b.example (IdP B only English)" in out
    assert "EXPIRING" in out and "EXPIRED" in out
    assert "source: registry" in out and "source: " + env.local_file in out
    assert "downloaded from: " + env.url in out
    assert "Name: " + NAME in out


def test_cache_files_are_private(env):
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    d = os.path.join(env.data, "registry")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for name in ("aggregate.xml", "aggregate.json"):
        assert stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode) == 0o600
    meta = json.loads(env.cache("aggregate.json"))
    assert meta["url"] == env.url
    assert meta["sha256"] == env.fx.sha256("good.xml")
    assert meta["etag"].startswith('"') and meta["last_modified"].endswith("GMT")


def test_not_modified(env):
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    p = env.fetch()
    assert p.returncode == 0, p.stderr
    assert "not modified" in p.stdout
    reqs = env.requests()
    assert [r.status for r in reqs] == [200, 304]
    assert reqs[1].if_none_match is not None and reqs[1].if_modified_since is not None
    rc, doc = env.show()
    assert rc == 0
    assert doc["registry"]["checked_at"] >= doc["registry"]["fetched_at"]
    assert_good_cached(env)


@pytest.mark.parametrize("name,reason", [
    ("tampered.xml", "bad_signature"),
    ("unsigned.xml", "unsigned"),
    ("expired.xml", "expired"),
    ("other-key.xml", "bad_signature"),
    ("pinned-cert-in-keyinfo.xml", "bad_signature"),
    ("wrap-outer.xml", "bad_reference"),
    ("wrap-child.xml", "bad_reference"),
    ("no-idps.xml", "no_idps"),
    ("xxe.xml", "malformed"),
])
def test_refused_download_keeps_previous_copy(env, name, reason):
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    env.serve(name)
    p = env.fetch()
    assert p.returncode == 1, p.stdout + p.stderr
    assert "refused (%s)" % reason in p.stderr
    assert "the cached copy was not changed" in p.stderr
    # the download was a conditional GET that got the new document
    assert [r.status for r in env.requests()] == [200, 200]
    assert env.requests()[1].if_none_match is not None
    assert_good_cached(env)


def test_refused_first_download_leaves_no_cache(env):
    env.serve("tampered.xml")
    p = env.fetch()
    assert p.returncode == 1
    assert "refused (bad_signature)" in p.stderr
    assert not os.path.exists(os.path.join(env.data, "registry", "aggregate.xml"))
    rc, doc = env.show()
    assert rc == 1 and doc["registry"]["reason"] == "no_cache"


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_keeps_previous_copy(env):
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    cfg = open(env.config).read().replace(env.url, "http://127.0.0.1:%d/agg.xml" % closed_port())
    with open(env.config, "w") as f:
        f.write(cfg)
    p = env.fetch()
    assert p.returncode == 1
    assert "refused (unreachable)" in p.stderr
    # a restart without network: the cache is still shown (and would be loaded)
    assert_good_cached(env)


def test_http_error_keeps_previous_copy(env):
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    cfg = open(env.config).read().replace(env.url, env.fx.srv.url("status/503/x.xml"))
    with open(env.config, "w") as f:
        f.write(cfg)
    p = env.fetch()
    assert p.returncode == 1
    assert "refused (http_status)" in p.stderr and "503" in p.stderr
    assert_good_cached(env)


def test_rollover(env):
    """BT-23: IdP A moves from a1 to a1new through a version listing both."""
    steps = [("rollover-v1.xml", ["a1"]), ("rollover-v2.xml", ["a1", "a1new"]),
             ("rollover-v3.xml", ["a1new"])]
    for name, keys in steps:
        env.serve(name)
        p = env.fetch()
        assert p.returncode == 0, p.stderr
        assert "updated" in p.stdout
        doc = assert_good_cached(env, name)
        assert [c["sha256"] for c in env.idp(doc, A)["certs"]] == \
            [env.fx.cert(k)["sha256"] for k in keys]
    # and then unchanged: 304
    p = env.fetch()
    assert p.returncode == 0 and "not modified" in p.stdout
    assert [r.status for r in env.requests()] == [200, 200, 200, 304]
    # a refused download after the rollover keeps v3, not an older copy
    env.serve("tampered.xml")
    assert env.fetch().returncode == 1
    assert_good_cached(env, "rollover-v3.xml")


def test_second_version_replaces_first(env):
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    env.serve("good2.xml")
    p = env.fetch()
    assert p.returncode == 0 and "updated: 3 IdP(s)" in p.stdout
    doc = assert_good_cached(env, "good2.xml")
    assert C not in [i["entity_id"] for i in doc["idps"] if i["source"] == "registry"]


def test_show_expired_cache(fx, env):
    """A cached copy past its validUntil is no longer valid: show says so (exit 1)."""
    env.serve("good.xml")
    assert env.fetch().returncode == 0
    # an expired but genuine aggregate in place of the cache: show verifies it again
    shutil.copy(fx.path("expired.xml"), os.path.join(env.data, "registry", "aggregate.xml"))
    rc, doc = env.show()
    assert rc == 1
    assert doc["registry"]["valid"] is False and doc["registry"]["reason"] == "expired"
    p = env.cli("show")
    assert p.returncode == 1 and "no valid cached copy (expired)" in p.stdout
    # a tampered cache is refused the same way
    shutil.copy(fx.path("tampered.xml"), os.path.join(env.data, "registry", "aggregate.xml"))
    rc, doc = env.show()
    assert rc == 1 and doc["registry"]["reason"] == "bad_signature"


def test_name_mismatch(fx):
    e = Env(fx, {"name": "https://registry.spid.gov.it"})
    try:
        e.serve("good.xml")
        p = e.fetch()
        assert p.returncode == 1
        assert "refused (name_mismatch)" in p.stderr
    finally:
        e.tmp.cleanup()


def test_pin_variants(fx):
    for pin, ok in (("registry-pub.pem", True), ("registry-cert-expired.pem", True),
                    ("pins-rotation.pem", True), ("other-cert.pem", False)):
        e = Env(fx, {"cert_file": fx.path(pin)})
        try:
            e.serve("good.xml")
            p = e.fetch()
            assert (p.returncode == 0) == ok, (pin, p.stdout, p.stderr)
            if not ok:
                assert "refused (bad_signature)" in p.stderr
        finally:
            e.tmp.cleanup()


def test_missing_pin_is_a_config_error(fx):
    e = Env(fx, {"cert_file": os.path.join(fx.dir, "no-such.pem")})
    try:
        e.serve("good.xml")
        p = e.fetch()
        assert p.returncode == 2
        assert "refused (config)" in p.stderr and "no-such.pem" in p.stderr
        assert e.requests() == []
        assert e.cli("show").returncode == 2
    finally:
        e.tmp.cleanup()


@pytest.mark.parametrize("url", ["http://registry.spid.gov.it/x.xml", "ftp://127.0.0.1/x",
                                 "http://127.0.0.1.evil.example/x", "https//x"])
def test_bad_url_is_a_config_error_with_line(fx, url):
    e = Env(fx, {"url": url})
    try:
        p = e.fetch()
        assert p.returncode == 2
        lines = open(e.config).read().splitlines()
        line = [i + 1 for i, text in enumerate(lines) if text.startswith("url =")][0]
        assert "%s:%d: registry.url" % (e.config, line) in p.stderr, p.stderr
    finally:
        e.tmp.cleanup()


def test_url_without_pin_is_a_config_error(fx):
    e = Env(fx, {"cert_file": None})
    try:
        p = e.fetch()
        assert p.returncode == 2
        assert "registry.url needs registry.cert_file" in p.stderr
        assert e.config + ":" in p.stderr
    finally:
        e.tmp.cleanup()


def test_registry_disabled(fx):
    e = Env(fx, {"url": None, "cert_file": None, "name": None})
    try:
        p = e.fetch()
        assert p.returncode == 2
        assert "the registry is disabled" in p.stderr
        rc, doc = e.show()
        assert rc == 0
        assert doc["registry"]["enabled"] is False
        assert [i["source"] for i in doc["idps"]] == [e.local_file]
        p = e.cli("show")
        assert p.returncode == 0 and "registry: disabled" in p.stdout
    finally:
        e.tmp.cleanup()


def test_bad_arguments(env):
    for args in (["fetch", "--json"], ["fetch", "extra"], ["show", "--bogus"], ["bogus"]):
        p = env.cli(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "usage: spid-sp registry" in p.stderr
    p = subprocess.run([binary_path(), "registry"], capture_output=True, text=True,
                       env=sanitizer_env(), timeout=60)
    assert p.returncode == 2
    p = subprocess.run([binary_path(), "registry", "--help"], capture_output=True, text=True,
                       env=sanitizer_env(), timeout=60)
    assert p.returncode == 0 and "registry fetch" in p.stdout
    p = subprocess.run([binary_path(), "--help"], capture_output=True, text=True,
                       env=sanitizer_env(), timeout=60)
    assert "registry" in p.stdout
    assert env.requests() == []
