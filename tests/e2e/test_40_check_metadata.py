"""check-metadata on the real binary: our own metadata passes (exit 0), a
broken document lists its problems (exit 1), --json, an http:// URL served on
127.0.0.1 (exit 0), an unreachable URL (exit 2, FETCH), the dev IdP metadata
with --as idp."""

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading

import pytest

from conftest import binary_path, free_port, sanitizer_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVIDP = os.path.join(REPO, "tests", "fixtures", "mdcheck", "devidp.xml")


def run(args, cwd=None):
    p = subprocess.run([binary_path()] + args, capture_output=True, text=True,
                       env=sanitizer_env(), timeout=120, cwd=cwd)
    if "unknown command" in p.stderr:
        pytest.skip("spid-sp check-metadata is not wired into the CLI yet")
    for pat in ("ERROR: AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert pat not in p.stderr, p.stderr
    return p


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="spid-mdcheck-")
    yield d
    if not os.environ.get("KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def own_metadata(workdir):
    subprocess.run([binary_path(), "keygen"], cwd=workdir, check=True,
                   capture_output=True, env=sanitizer_env(), timeout=120)
    out = os.path.join(workdir, "sp.xml")
    subprocess.run([binary_path(), "metadata", "--out", out], cwd=workdir, check=True,
                   capture_output=True, env=sanitizer_env(), timeout=120)
    return out


def test_own_metadata_passes(own_metadata):
    p = run(["check-metadata", own_metadata])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 errors" in p.stdout


def test_broken_lists_ids(own_metadata, workdir):
    with open(own_metadata) as f:
        text = f.read()
    text = text.replace('AuthnRequestsSigned="true"', 'AuthnRequestsSigned="false"')
    text = text.replace('WantAssertionsSigned="true"', 'WantAssertionsSigned="false"')
    bad = os.path.join(workdir, "bad.xml")
    with open(bad, "w") as f:
        f.write(text)
    p = run(["check-metadata", bad])
    assert p.returncode == 1
    for i in ("MD-22", "MD-23", "MD-14"):
        assert i in p.stdout
    p = run(["check-metadata", bad, "--json"])
    assert p.returncode == 1
    rep = json.loads(p.stdout)
    ids = {f["id"] for f in rep["findings"]}
    assert {"MD-22", "MD-23", "MD-14"} <= ids
    assert rep["errors"] >= 3


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def test_url(own_metadata, workdir):
    port = free_port()
    handler = lambda *a, **kw: _Quiet(*a, directory=workdir, **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        p = run(["check-metadata", "http://127.0.0.1:%d/sp.xml" % port, "--json"])
        assert p.returncode == 0, p.stdout + p.stderr
        assert json.loads(p.stdout)["errors"] == 0
        p = run(["check-metadata", "http://127.0.0.1:%d/missing.xml" % port])
        assert p.returncode == 2 and "FETCH" in p.stdout
    finally:
        srv.shutdown()
        srv.server_close()


def test_unreachable_url():
    p = run(["check-metadata", "http://127.0.0.1:%d/metadata" % free_port()])
    assert p.returncode == 2
    assert "FETCH" in p.stdout


def test_devidp_as_idp():
    p = run(["check-metadata", DEVIDP, "--as", "idp"])
    assert p.returncode == 0, p.stdout + p.stderr
    p = run(["check-metadata", DEVIDP, "--as", "sp"])
    assert p.returncode == 1


def test_usage():
    assert run(["check-metadata"]).returncode == 2
    assert run(["check-metadata", DEVIDP, "--as", "nobody"]).returncode == 2
    assert run(["check-metadata", "/nonexistent.xml"]).returncode == 2
