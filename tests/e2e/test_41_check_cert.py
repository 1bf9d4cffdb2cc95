"""`spid-sp check-cert`: a keygen certificate passes, a plain OpenSSL one
fails with every problem listed, JSON output, usage and unreadable files."""

import json
import subprocess

import pytest

from conftest import binary_path, sanitizer_env, write_config


def run(*args):
    p = subprocess.run([binary_path()] + list(args), capture_output=True, text=True,
                       env=sanitizer_env(), timeout=120)
    assert "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    return p


@pytest.fixture
def keygen_cert(tmp_path):
    conf = tmp_path / "sp.ini"
    write_config(str(conf), {"sp": {"entity_id": "https://sp.example.it",
                                    "base_url": "https://sp.example.it",
                                    "data_dir": str(tmp_path / "data"),
                                    "idp_metadata": str(tmp_path / "idp")}})
    (tmp_path / "idp").mkdir()
    p = run("keygen", "--config", str(conf), "--bits", "2048")
    assert p.returncode == 0, p.stderr
    return tmp_path / "data" / "sp-cert.pem"


@pytest.fixture
def plain_cert(tmp_path):
    """What an integrator gets from a generic `openssl req -x509`."""
    cert = tmp_path / "plain.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(tmp_path / "plain-key.pem"), "-out", str(cert),
                    "-subj", "/CN=sp.example.it/O=Example/emailAddress=admin@example.it",
                    "-days", "10", "-sha256"], check=True, capture_output=True)
    return cert


def test_keygen_certificate_passes(keygen_cert):
    p = run("check-cert", str(keygen_cert))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 errors, 0 warnings" in p.stdout
    assert str(keygen_cert) in p.stdout
    # the default configuration is a public SP
    assert run("check-cert", str(keygen_cert), "--profile", "public").returncode == 0


def test_keygen_certificate_wrong_profile(keygen_cert):
    p = run("check-cert", "--profile", "private", str(keygen_cert))
    assert p.returncode == 1
    assert "CE-04" in p.stdout and "CE-07-sector" in p.stdout


def test_der_accepted(keygen_cert, tmp_path):
    der = tmp_path / "sp-cert.der"
    subprocess.run(["openssl", "x509", "-in", str(keygen_cert), "-outform", "DER",
                    "-out", str(der)], check=True)
    assert run("check-cert", str(der)).returncode == 0


def test_plain_openssl_certificate_fails(plain_cert):
    p = run("check-cert", str(plain_cert))
    assert p.returncode == 1, p.stdout + p.stderr
    for cid in ("CE-02-uri", "CE-02-orgid", "CE-02-C", "CE-02-L", "CE-03-email",
                "CE-07-ku-bits", "CE-07-agidcert", "CE-07-sector", "CE-08-expired"):
        assert cid in p.stdout, cid
    # one line per finding, then the summary
    lines = p.stdout.strip().splitlines()
    assert lines[-1].startswith("certificate %s:" % plain_cert)
    assert all(line.startswith(("error", "warning", "info")) for line in lines[:-1])


def test_json(plain_cert, keygen_cert):
    p = run("check-cert", "--json", str(plain_cert))
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["kind"] == "certificate" and doc["subject"] == str(plain_cert)
    ids = {f["id"] for f in doc["findings"]}
    assert {"CE-02-uri", "CE-03-email", "CE-07-agidcert"} <= ids
    assert doc["errors"] == sum(1 for f in doc["findings"] if f["severity"] == "error")
    assert all(f["where"] and f["message"] for f in doc["findings"])
    p = run("check-cert", str(keygen_cert), "--json")
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    assert doc["errors"] == 0 and doc["findings"] == [] and doc["checks"] > 20


def test_garbage_is_a_parse_error(tmp_path):
    path = tmp_path / "garbage.pem"
    path.write_bytes(b"this is not a certificate\n")
    p = run("check-cert", str(path))
    assert p.returncode == 1
    assert "CERT-parse" in p.stdout


def test_usage_and_unreadable(tmp_path):
    missing = tmp_path / "missing.pem"
    p = run("check-cert", str(missing))
    assert p.returncode == 2
    assert str(missing) in p.stderr
    assert run("check-cert").returncode == 2
    p = run("check-cert", "--profile", "ag", str(missing))
    assert p.returncode == 2 and "--profile" in p.stderr
    assert run("check-cert", "a.pem", "b.pem").returncode == 2
    p = run("check-cert", "--help")
    assert p.returncode == 0 and "usage: spid-sp check-cert" in p.stdout
