"""The SPID transaction register (X-02) fed by the real daemon: every
AuthnRequest (both bindings) and every Response that is a samlp:Response,
accepted or rejected, is kept before the exchange goes on; `spid-sp register
verify` passes and `register export` gives back exactly what went over the
wire, with the IDs, InResponseTo, IdP and fiscal number. When the register
cannot be written, /spid/login and /spid/acs answer 500 and do nothing else
(no pending request, no session), and all is well again once it can.

The register is made unwritable by putting a directory where today's segment
file is (the daemon always appends to the file at that path). chmod would do
for an unprivileged daemon, but not for one running as root, as in CI
containers."""

import base64
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import urllib.parse

import requests

import spidlib
from conftest import sanitizer_env
from spidlib import NS, ET

TIMEOUT = 30
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def sp_db(env):
    return sqlite3.connect(os.path.join(env.dir, "sp-data", "spid-sp.db"))


def count(env, sql, *args):
    with sp_db(env) as db:
        return db.execute(sql, args).fetchone()[0]


def register_cli(env, *args):
    p = subprocess.run([env.sp.args[0], "register"] + list(args) + ["--config", env.config],
                       capture_output=True, env=sanitizer_env(), timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def export(env):
    rc, out, err = register_cli(env, "export")
    assert rc == 0, out + err
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["seq"] for r in recs] == list(range(recs[0]["seq"], recs[0]["seq"] + len(recs)))
    return recs


def verify_ok(env):
    rc, out, err = register_cli(env, "verify")
    assert rc == 0 and "intact" in out, out + err
    return out


def message(rec):
    if "message" in rec:
        return rec["message"].encode("utf-8")
    return base64.b64decode(rec["message_base64"])


def start(env, binding):
    """GET /spid/login; returns (session, IdP page, the AuthnRequest XML as sent to the IdP)."""
    s = requests.Session()
    r = s.get(env.sp.url("/spid/login"), params={"idp": env.idp.entity_id, "level": "2"},
              allow_redirects=False, timeout=TIMEOUT)
    if binding == "redirect":
        assert r.status_code == 302, r.text
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)
        sent = spidlib.inflate_b64(q["SAMLRequest"][0])
        page = s.get(r.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    else:
        assert r.status_code == 200, r.text
        action, method, fields = spidlib.parse_form(r.text)
        sent = base64.b64decode(fields["SAMLRequest"])
        page = s.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)
    return s, page, sent


def login(env, binding, identity="citizen"):
    """A whole login; returns (AuthnRequest XML sent, Response XML posted, ACS answer)."""
    s, page, sent = start(env, binding)
    acs, b64, relay = spidlib.parse_autosubmit(
        spidlib.choose(s, env.idp, page, identity=identity))
    xml = base64.b64decode(b64)
    return sent, xml, spidlib.post_response(s, acs, xml, relay)


def fiscal_number(xml):
    root = ET.fromstring(xml)
    for a in root.iter("{%s}Attribute" % NS["saml"]):
        if a.get("Name") == "fiscalNumber":
            return "".join(a.itertext()).strip()
    raise AssertionError("no fiscalNumber in the Response")


def check_logins(env, binding):
    """Two logins and a rejected Response, then garbage that is no Response."""
    done = []
    for ident in ("citizen", "pensioner"):
        sent, xml, r = login(env, binding, ident)
        assert r.status_code == 302, r.text
        done.append((sent, xml, True))
    # a rejected Response: the Audience is wrong, re-signed (RS-63)
    s, acs, xml, relay = spidlib.get_genuine_response(env.sp, env.idp, binding=binding)
    root = ET.fromstring(xml)
    root.find("saml:Assertion/saml:Conditions/saml:AudienceRestriction/saml:Audience",
              NS).text = "https://elsewhere.example"
    bad = spidlib.xml_of(spidlib.resign(root, env.idp.key, env.idp.cert))
    r = spidlib.post_response(s, acs, bad, relay)
    assert 400 <= r.status_code < 500, r.text
    assert "spid_sp_session" not in r.headers.get("Set-Cookie", "")
    req_id = ET.fromstring(bad).get("InResponseTo")
    done.append((None, bad, False))
    # not recorded, still rejected: not base64 XML, and XML that is no Response
    for junk in (base64.b64encode(b"not xml at all").decode(),
                 base64.b64encode(b"<foo ID='_x'/>").decode()):
        r = requests.post(acs, data={"SAMLResponse": junk, "RelayState": relay},
                          timeout=TIMEOUT, allow_redirects=False)
        assert 400 <= r.status_code < 500

    verify_ok(env)
    recs = export(env)
    reqs = [x for x in recs if x["kind"] == "authn_request"]
    resps = [x for x in recs if x["kind"] == "response"]
    assert len(resps) == 3  # the two logins and the rejected one: no junk
    assert len(reqs) == 3
    by_id = {x["id"]: x for x in recs}
    for sent, xml, ok in done:
        resp_root = ET.fromstring(xml)
        rr = by_id[resp_root.get("ID")]
        assert rr["direction"] == "in"
        assert rr["in_response_to"] == resp_root.get("InResponseTo")
        assert rr["idp"] == env.idp.entity_id
        assert message(rr) == xml  # the decoded bytes exactly as received
        assert rr["cf"] == (fiscal_number(xml) if ok else None)
        # the AuthnRequest it answers, recorded before it
        q = by_id[rr["in_response_to"]]
        assert q["kind"] == "authn_request" and q["direction"] == "out"
        assert q["idp"] == env.idp.entity_id and q["seq"] < rr["seq"]
        if sent is not None:
            assert message(q) == sent  # exactly what the IdP received
    assert by_id[req_id]["kind"] == "authn_request"
    return reqs


def test_register_redirect_binding(spid_env):
    reqs = check_logins(spid_env, "redirect")
    for q in reqs:
        root = ET.fromstring(message(q))
        assert root.tag == "{%s}AuthnRequest" % NS["samlp"]
        assert root.get("ID") == q["id"]
        assert root.find(DS + "Signature") is None  # Redirect: signed in the query string
    m = requests.get(spid_env.sp.url("/metrics"), timeout=TIMEOUT).text
    assert re.search(r'^spid_sp_register_records_total\{kind="authn_request"\} [1-9]', m, re.M)
    assert re.search(r'^spid_sp_register_records_total\{kind="response"\} [1-9]', m, re.M)


def test_register_post_binding(start_spid_env):
    env = start_spid_env({"sp": {"binding": "post"}})
    reqs = check_logins(env, "post")
    for q in reqs:
        root = ET.fromstring(message(q))
        sig = root.find(DS + "Signature")
        assert sig is not None, "the POST AuthnRequest is recorded signed"
        ref = sig.find(DS + "SignedInfo/" + DS + "Reference")
        assert ref.get("URI") == "#" + q["id"]
        assert sig.find(DS + "KeyInfo/" + DS + "X509Data/" + DS + "X509Certificate") is not None
        assert xmlsec_verify(message(q), os.path.join(env.dir, "sp-data", "sp-cert.pem"))
        # and a changed byte does not verify: the check can fail
        tampered = message(q).replace(b"https://www.spid.gov.it/SpidL2",
                                      b"https://www.spid.gov.it/SpidL1")
        assert tampered != message(q)
        assert not xmlsec_verify(tampered, os.path.join(env.dir, "sp-data", "sp-cert.pem"))


def xmlsec_verify(xml, cert):
    """True when xmlsec1 verifies the AuthnRequest's enveloped signature with our certificate."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "req.xml")
        with open(src, "wb") as f:
            f.write(xml)
        p = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", cert, "--id-attr:ID",
                            "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest", src],
                           capture_output=True, timeout=60)
        return p.returncode == 0


def segment_path(env):
    """Today's segment: the newest file under <data_dir>/register."""
    reg = os.path.join(env.dir, "sp-data", "register")
    files = []
    for dirpath, _, names in os.walk(reg):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".spr")]
    assert files
    return max(files, key=lambda p: os.path.relpath(p, reg))


def test_register_unwritable_fails_closed(start_spid_env):
    env = start_spid_env()
    sent, xml, r = login(env, "redirect")
    assert r.status_code == 302
    # a Response for a request recorded while the register worked
    s, acs, xml, relay = spidlib.get_genuine_response(env.sp, env.idp)
    req_id = ET.fromstring(xml).get("InResponseTo")
    pending = count(env, "SELECT count(*) FROM authn_requests")
    sessions = count(env, "SELECT count(*) FROM sessions")
    before = export(env)

    seg = segment_path(env)
    os.rename(seg, seg + ".away")
    os.mkdir(seg)
    try:
        r = requests.get(env.sp.url("/spid/login"), params={"idp": env.idp.entity_id},
                         allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 500, r.text
        assert count(env, "SELECT count(*) FROM authn_requests") == pending

        r = spidlib.post_response(s, acs, xml, relay)
        assert r.status_code == 500, r.text
        assert "spid_sp_session" not in r.headers.get("Set-Cookie", "")
        assert count(env, "SELECT count(*) FROM sessions") == sessions
        assert count(env, "SELECT count(*) FROM authn_requests WHERE id = ? AND"
                          " consumed_at IS NOT NULL AND consumed_at != 0", req_id) == 0
        m = requests.get(env.sp.url("/metrics"), timeout=TIMEOUT).text
        assert re.search(r"^spid_sp_register_errors_total [2-9]", m, re.M), m
        assert env.sp.loggrep("transaction register: cannot record authn_request")
        assert env.sp.loggrep("transaction register: cannot record response")
    finally:
        os.rmdir(seg)
        os.rename(seg + ".away", seg)

    # writable again: nothing was acted on, so the same Response now logs in
    r = spidlib.post_response(s, acs, xml, relay)
    assert r.status_code == 302, r.text
    assert count(env, "SELECT count(*) FROM sessions") == sessions + 1
    r = requests.get(env.sp.url("/spid/login"), params={"idp": env.idp.entity_id},
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302
    verify_ok(env)
    after = export(env)
    assert after[:len(before)] == before
    new = after[len(before):]
    assert [x["kind"] for x in new] == ["response", "authn_request"]
    assert new[0]["in_response_to"] == req_id and message(new[0]) == xml


def test_verify_cli_tells_tail_from_loss(start_spid_env):
    """`register verify`: bytes past the newest row (what a crash in the middle
    of a batch leaves) are a notice and exit 0; a segment shorter than its row
    is a problem and exit 1. The next append cuts the tail."""
    env = start_spid_env()
    assert login(env, "redirect")[2].status_code == 302
    seg = segment_path(env)
    with open(seg, "rb") as f:
        good = f.read()
    try:
        with open(seg, "ab") as f:
            f.write(b"SPR1\0\0\0\x40half a frame")
        rc, out, err = register_cli(env, "verify")
        assert rc == 0, out + err
        assert "notice: " in out and "unacknowledged tail" in out and "intact" in out, out
        with open(seg, "wb") as f:
            f.write(good[:-1])
        rc, out, err = register_cli(env, "verify")
        assert rc == 1, out + err
        assert "truncated" in out and "notice" not in out, out
    finally:
        with open(seg, "wb") as f:
            f.write(good)
    with open(seg, "ab") as f:
        f.write(b"SPR1 interrupted")
    assert login(env, "redirect")[2].status_code == 302  # cuts the tail, then appends
    out = verify_ok(env)
    assert "notice" not in out
    assert len(export(env)) == 4
