"""The command line: keygen, metadata, serve --check, and their errors."""

import os
import stat
import subprocess

import pytest

from conftest import binary_path, sanitizer_env, write_config

NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"


def run(*args, **kw):
    return subprocess.run([binary_path()] + list(args), capture_output=True, text=True,
                          env=sanitizer_env(), timeout=120, **kw)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "sp.ini"
    write_config(str(path), {"sp": {"entity_id": "https://sp.example.it",
                                    "base_url": "https://sp.example.it",
                                    "data_dir": str(tmp_path / "data"),
                                    "idp_metadata": str(tmp_path / "idp")}})
    (tmp_path / "idp").mkdir()
    return path


def test_usage():
    p = run()
    assert p.returncode == 2 and "usage: spid-sp" in p.stderr
    p = run("bogus")
    assert p.returncode == 2 and 'unknown command "bogus"' in p.stderr
    assert run("--help").returncode == 0


def test_config_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.ini"
    path.write_text("[sp]\nport = 8080\nport_typo = 1\n")
    p = run("serve", "--config", str(path), "--check")
    assert p.returncode == 1
    assert "%s:3: unknown option \"port_typo\" in [sp]" % path in p.stderr
    path.write_text("; comment\n[sp]\n\nport = 99999\n")
    p = run("serve", "--config", str(path), "--check")
    assert "%s:4:" % path in p.stderr and "range" in p.stderr
    p = run("serve", "--config", str(tmp_path / "missing.ini"), "--check")
    assert p.returncode == 1 and "missing.ini:0: cannot open" in p.stderr


def test_keygen_metadata_and_check(conf, tmp_path):
    p = run("keygen", "--config", str(conf), "--bits", "2048")
    assert p.returncode == 0, p.stderr
    key = tmp_path / "data" / "sp-key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    # never overwrite a key by accident
    p = run("keygen", "--config", str(conf))
    assert p.returncode == 1 and "--force" in p.stderr
    # the certificate carries the SPID SP profile
    text = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "data" / "sp-cert.pem"),
                           "-noout", "-text"], capture_output=True, text=True).stdout
    assert "1.3.76.16.6" in text and "1.3.76.16.4.2.1" in text
    assert "Digital Signature, Non Repudiation" in text
    md = tmp_path / "md.xml"
    p = run("metadata", "--config", str(conf), "--out", str(md))
    assert p.returncode == 0, p.stderr
    # MD-14: the signature verifies with the xmlsec1 CLI exactly as AgID checks it
    v = subprocess.run(["xmlsec1", "--verify", "--id-attr:ID", NS_MD, "--pubkey-cert-pem",
                        str(tmp_path / "data" / "sp-cert.pem"), str(md)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    # schema validation with the OASIS metadata schema (offline)
    # serve --check needs at least one IdP
    p = run("serve", "--config", str(conf), "--check")
    assert p.returncode == 1 and "IdP" in p.stderr


def test_check_ok_with_idp(conf, tmp_path):
    assert run("keygen", "--config", str(conf), "--bits", "2048").returncode == 0
    md = tmp_path / "md.xml"
    assert run("metadata", "--config", str(conf), "--out", str(md)).returncode == 0
    idp = subprocess.Popen([binary_path(), "dev-idp", "--port", "0", "--data-dir",
                            str(tmp_path / "idpdata"), "--sp-metadata", str(md),
                            "--metadata-out", str(tmp_path / "idp" / "dev.xml"),
                            "--ready-file", str(tmp_path / "ready")],
                           env=sanitizer_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        import time
        for _ in range(300):
            if (tmp_path / "ready").exists():
                break
            time.sleep(0.05)
        p = run("serve", "--config", str(conf), "--check")
        assert p.returncode == 0, p.stderr
        assert "configuration OK" in p.stdout and "1 IdP(s)" in p.stdout
    finally:
        idp.terminate()
        assert idp.wait(timeout=30) == 0


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_insecure_key_refused(conf, tmp_path, mode):
    assert run("keygen", "--config", str(conf), "--bits", "2048").returncode == 0
    key = tmp_path / "data" / "sp-key.pem"
    os.chmod(key, mode)
    for cmd in (["metadata", "--config", str(conf)], ["serve", "--config", str(conf), "--check"]):
        p = run(*cmd)
        assert p.returncode == 1
        assert "group or others" in p.stderr, p.stderr


def test_certificate_must_match_config(conf, tmp_path):
    assert run("keygen", "--config", str(conf), "--bits", "2048").returncode == 0
    text = conf.read_text().replace("https://sp.example.it", "https://other.example.it")
    conf.write_text(text)
    p = run("metadata", "--config", str(conf))
    assert p.returncode == 1 and "other.example.it" in p.stderr
