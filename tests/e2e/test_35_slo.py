"""SPID Single Logout end to end (spec §4, SLO-01..SLO-24), against the real
daemon and the real dev IdP over loopback HTTP.

SP-initiated: GET /logout closes the local session first, then sends a signed
LogoutRequest (HTTP-Redirect or HTTP-POST) whose fields are checked on the
wire; the IdP's LogoutResponse is checked at /spid/slo, and forged ones
(signed with another key, unsigned, wrong InResponseTo, replayed, ...) are
refused with a 4xx page. IdP-initiated: the dev IdP's /sessions page starts a
logout by either binding; the session really ends and the SP's signed
LogoutResponse is checked by the dev IdP and by these tests; forged requests
end nothing and get no answer. Every message is in the transaction register
(`spid-sp register export`) and every logout in the audit trail."""

import base64
import json
import os
import re
import subprocess
import urllib.parse

import lxml.html
import pytest
import requests

import spidlib
from conftest import binary_path, sanitizer_env
from spidlib import NS, ET

TIMEOUT = 30


# ------------------------------------------------------------------ helpers


def sp_cert(env):
    return os.path.join(env.dir, "sp-data", "sp-cert.pem")


def me(s, env):
    return s.get(env.sp.url("/api/me"), timeout=TIMEOUT)


def text(r):
    if not r.content.strip():
        return "(HTTP %d, empty body, Location %s)" % (r.status_code, r.headers.get("Location"))
    return " ".join(lxml.html.fromstring(r.content).text_content().split())


def cli(env, *args):
    p = subprocess.run([binary_path()] + list(args) + ["--config", env.config],
                       capture_output=True, text=True, env=sanitizer_env(), timeout=120)
    assert p.returncode == 0, p.stderr
    return p


def register(env):
    p = cli(env, "register", "export")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def audit(env):
    p = cli(env, "audit", "export")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def login(env, binding=None):
    """Log in; returns (browser session, NameID, NameQualifier, SessionIndex) as asserted."""
    s, acs, xml, relay = spidlib.get_genuine_response(env.sp, env.idp, binding=binding)
    root = ET.fromstring(xml)
    nid = root.find("saml:Assertion/saml:Subject/saml:NameID", NS)
    st = root.find("saml:Assertion/saml:AuthnStatement", NS)
    r = spidlib.post_response(s, acs, xml, relay)
    assert r.status_code == 302, r.text
    assert me(s, env).status_code == 200
    return s, nid.text, nid.get("NameQualifier"), st.get("SessionIndex")


def start_sp_logout(env, s):
    """GET /logout for a SPID session: (LogoutRequest element, RelayState, raw answer)."""
    out = s.get(env.sp.url("/logout"), allow_redirects=False, timeout=TIMEOUT)
    if out.status_code == 302:
        name, root, params = spidlib.redirect_message(out.headers["Location"])
        assert name == "SAMLRequest"
        return root, params.get("RelayState"), out
    assert out.status_code == 200, out.text
    action, method, fields = spidlib.parse_form(out.text)
    return ET.fromstring(base64.b64decode(fields["SAMLRequest"])), fields.get("RelayState"), out


def slo_get(env, query, s=None):
    return (s or requests).get(env.sp.url("/spid/slo") + "?" + query, allow_redirects=False,
                               timeout=TIMEOUT)


def slo_post(env, fields, s=None):
    return (s or requests).post(env.sp.url("/spid/slo"), data=fields, allow_redirects=False,
                                timeout=TIMEOUT)


def idp_response(env, lr, **kw):
    """A LogoutResponse from the dev IdP to our LogoutRequest lr (fields overridable)."""
    args = dict(issuer=env.idp.entity_id, destination=env.sp.url("/spid/slo"),
                in_response_to=lr.get("ID"))
    args.update(kw)
    return spidlib.logout_response(**args)


def send_response_redirect(env, xml, relay, key=None, **kw):
    return slo_get(env, spidlib.redirect_query("SAMLResponse", xml, key or env.idp.key,
                                               relay=relay, **kw))


def idp_request(env, name_id, name_qualifier=None, **kw):
    args = dict(issuer=env.idp.entity_id, destination=env.sp.url("/spid/slo"), name_id=name_id,
                name_qualifier=name_qualifier or env.idp.entity_id)
    args.update(kw)
    return spidlib.logout_request(**args)


def other_key(tmp_path):
    return spidlib.make_keypair(str(tmp_path), "forger", cn="forger")


def assert_refused(r, status=None, needle=None):
    assert 400 <= r.status_code < 500, (r.status_code, text(r))
    if status is not None:
        assert r.status_code == status, (r.status_code, text(r))
    assert "Location" not in r.headers  # nothing is sent to the IdP
    assert "Torna alla pagina di accesso" in text(r)
    if needle is not None:
        assert needle in text(r), text(r)


def check_sp_logout_response(env, root, in_response_to):
    """SLO-22: the SP's LogoutResponse fields."""
    assert root.tag == "{%s}LogoutResponse" % NS["samlp"]
    assert re.fullmatch(r"_[0-9a-f]{32}", root.get("ID"))
    assert root.get("Version") == "2.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", root.get("IssueInstant"))
    assert root.get("InResponseTo") == in_response_to
    assert root.get("Destination") == env.idp.url("/slo")
    iss = root.find("saml:Issuer", NS)
    assert iss.text == env.sp.entity_id
    assert iss.get("Format") == spidlib.ENTITY and iss.get("NameQualifier") == env.sp.entity_id
    code = root.find("samlp:Status/samlp:StatusCode", NS)
    assert code.get("Value") == spidlib.STATUS_SUCCESS


def check_sp_logout_request(env, root, name_id, name_qualifier, session_index, destination):
    """SLO-11: the SP's LogoutRequest fields."""
    assert root.tag == "{%s}LogoutRequest" % NS["samlp"]
    assert re.fullmatch(r"_[0-9a-f]{32}", root.get("ID"))
    assert root.get("Version") == "2.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", root.get("IssueInstant"))
    assert root.get("Destination") == destination
    iss = root.find("saml:Issuer", NS)
    assert iss.text == env.sp.entity_id
    assert iss.get("Format") == spidlib.ENTITY and iss.get("NameQualifier") == env.sp.entity_id
    nid = root.find("saml:NameID", NS)
    assert nid.text == name_id  # exactly as received
    assert nid.get("Format") == spidlib.TRANSIENT
    assert nid.get("NameQualifier") == name_qualifier
    assert root.find("samlp:SessionIndex", NS).text == session_index


def idp_session_handle(env, name_id):
    page = requests.get(env.idp.url("/sessions"), timeout=TIMEOUT)
    assert page.status_code == 200
    doc = lxml.html.fromstring(page.text)
    rows = [tr for tr in doc.iter("tr") if tr.get("data-name-id") == name_id]
    assert rows, "the dev IdP does not list the session"
    return rows[0].get("data-handle")


# ------------------------------------------------------------------ SP-initiated


def test_logout_without_session(spid_env):
    r = requests.get(spid_env.sp.url("/logout"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200
    assert "Sei uscito" in text(r) and "Max-Age=0" in r.headers.get("Set-Cookie", "")


def test_sp_initiated_redirect(spid_env):
    env = spid_env
    s, name_id, nq, index = login(env)
    token = s.cookies.get("spid_sp_session")
    before = len(register(env))
    root, relay, out = start_sp_logout(env, s)
    assert out.status_code == 302
    loc = out.headers["Location"]
    assert loc.startswith(env.idp.url("/slo") + "?")
    # SLO-10: the local session is closed before the IdP answers
    r = requests.get(env.sp.url("/api/me"), cookies={"spid_sp_session": token}, timeout=TIMEOUT)
    assert r.status_code == 401
    assert "Max-Age=0" in out.headers.get("Set-Cookie", "")
    check_sp_logout_request(env, root, name_id, nq, index, env.idp.url("/slo"))
    assert root.find("ds:Signature", NS) is None  # AR-41: the query is signed, not the XML
    names = [n for n, _ in spidlib.query_params(loc)]
    assert names == ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    _, _, params = spidlib.redirect_message(loc)
    assert params["SigAlg"] == spidlib.RSA_SHA256
    assert re.fullmatch(r"[0-9a-f]{32}", relay)
    assert spidlib.verify_redirect_signature(loc, sp_cert(env))
    # the dev IdP verifies it and answers by HTTP-Redirect
    r = s.get(loc, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].startswith(env.sp.url("/spid/slo?SAMLResponse="))
    done = s.get(r.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert done.status_code == 200, text(done)
    assert "Sei uscito" in text(done) and "gestore" in text(done)
    assert "Torna alla pagina di accesso" in text(done)
    # both messages are in the register, before/after in order
    recs = register(env)[before:]
    kinds = [(x["kind"], x["direction"]) for x in recs]
    assert ("logout_request", "out") in kinds and ("logout_response", "in") in kinds
    req = [x for x in recs if x["kind"] == "logout_request"][0]
    resp = [x for x in recs if x["kind"] == "logout_response"][0]
    assert req["id"] == root.get("ID") and req["idp"] == env.idp.entity_id
    assert resp["in_response_to"] == root.get("ID")
    assert "<samlp:LogoutRequest" in req["message"]
    assert req["seq"] < resp["seq"]
    # the audit trail: the logout when sent, and the IdP's outcome
    entries = [e for e in audit(env) if e["event"] == "logout" and e["details"]
               and e["details"].get("request") == root.get("ID")]
    assert [e["outcome"] for e in entries] == ["ok", "ok"]
    assert entries[1]["reason"] == "SP-initiated logout completed at the IdP"
    assert entries[0]["session"] and entries[0]["actor"]


def test_sp_initiated_post(start_spid_env):
    env = start_spid_env({"sp": {"binding": "post"}})
    s, name_id, nq, index = login(env, binding="post")
    out = s.get(env.sp.url("/logout"), allow_redirects=False, timeout=TIMEOUT)
    assert out.status_code == 200, out.text
    assert me(s, env).status_code == 401
    action, method, fields = spidlib.parse_form(out.text)
    assert method == "post" and action == env.idp.url("/slo")
    assert set(fields) == {"SAMLRequest", "RelayState"}
    xml = base64.b64decode(fields["SAMLRequest"])
    root = ET.fromstring(xml)
    check_sp_logout_request(env, root, name_id, nq, index, env.idp.url("/slo"))
    # SLO-12: enveloped signature right after the Issuer, over the request's ID
    assert root[1].tag == "{%s}Signature" % NS["ds"]
    ref = root.find("ds:Signature/ds:SignedInfo/ds:Reference", NS)
    assert ref.get("URI") == "#" + root.get("ID")
    assert root.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS).get(
        "Algorithm") == spidlib.RSA_SHA256
    assert spidlib.xmlsec_verify(xml, sp_cert(env))
    # the dev IdP answers by HTTP-POST to the SP's SLO URL
    r = s.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)
    acs, b64, relay = spidlib.parse_autosubmit(r)
    assert acs == env.sp.url("/spid/slo") and relay == fields["RelayState"]
    done = slo_post(env, {"SAMLResponse": b64, "RelayState": relay}, s)
    assert done.status_code == 200, text(done)
    assert "Sei uscito" in text(done)
    kinds = [(x["kind"], x["direction"], x.get("in_response_to")) for x in register(env)]
    assert ("logout_response", "in", root.get("ID")) in kinds


def test_l1_and_reuse_cookie_after_logout(spid_env):
    """The old session cookie is dead right after /logout, whatever the IdP does."""
    env = spid_env
    s, *_ = login(env)
    token = s.cookies.get("spid_sp_session")
    start_sp_logout(env, s)
    r = requests.get(env.sp.url("/api/me"), cookies={"spid_sp_session": token}, timeout=TIMEOUT)
    assert r.status_code == 401


def test_partial_logout_page(spid_env):
    env = spid_env
    s, *_ = login(env)
    lr, relay, _ = start_sp_logout(env, s)
    resp = idp_response(env, lr, status=spidlib.STATUS_REQUESTER,
                        sub_status=spidlib.STATUS_PARTIAL)
    r = send_response_redirect(env, resp, relay)
    assert r.status_code == 200, text(r)
    assert "Uscita parziale" in text(r) and "parziale" in text(r)
    assert me(s, env).status_code == 401
    e = [e for e in audit(env) if e["details"] and e["details"].get("request") == lr.get("ID")]
    assert e[-1]["outcome"] == "error" and e[-1]["details"]["sub_status"] == spidlib.STATUS_PARTIAL


def test_idp_refused_logout_page(spid_env):
    env = spid_env
    s, *_ = login(env)
    lr, relay, _ = start_sp_logout(env, s)
    resp = idp_response(env, lr, status=spidlib.STATUS_RESPONDER, sub_status=spidlib.STATUS_DENIED)
    r = send_response_redirect(env, resp, relay)
    assert r.status_code == 200, text(r)
    assert "non ha potuto chiudere" in text(r)
    assert me(s, env).status_code == 401


def test_logout_response_post_accepted(spid_env):
    env = spid_env
    s, *_ = login(env)
    lr, relay, _ = start_sp_logout(env, s)
    b64 = spidlib.post_message(idp_response(env, lr), env.idp.key, env.idp.cert)
    r = slo_post(env, {"SAMLResponse": b64, "RelayState": relay})
    assert r.status_code == 200 and "Sei uscito" in text(r), text(r)


def forged_key(tmp_path_factory):
    return spidlib.make_keypair(str(tmp_path_factory.mktemp("forger")), "forger", cn="forger")


@pytest.fixture(scope="module")
def forger(tmp_path_factory):
    return forged_key(tmp_path_factory)


RESPONSE_CASES = [
    # (id, how to build the answer, expected status, words on the page)
    ("wrong-inresponseto", lambda env, lr, f: ("redirect", idp_response(
        env, lr, in_response_to="_0123456789abcdef0123456789abcdef"), {}), 400, "in corso"),
    ("unsolicited", lambda env, lr, f: ("redirect", idp_response(env, lr, in_response_to=None),
                                        {}), 400, "in corso"),
    ("wrong-destination", lambda env, lr, f: ("redirect", idp_response(
        env, lr, destination="https://evil.example/slo"), {}), 400, "altro indirizzo"),
    ("wrong-issuer", lambda env, lr, f: ("redirect", idp_response(
        env, lr, issuer="https://other-idp.example"), {}), 403, "gestore"),
    ("issueinstant-before-request", lambda env, lr, f: ("redirect", idp_response(
        env, lr, issue_instant="2000-01-01T00:00:00Z"), {}), 400, "data"),
    ("issueinstant-future", lambda env, lr, f: ("redirect", idp_response(
        env, lr, issue_instant="2099-01-01T00:00:00Z"), {}), 400, "data"),
    ("other-key", lambda env, lr, f: ("redirect", idp_response(env, lr), {"key": f[0]}), 403,
     "firma"),
    ("unsigned-redirect", lambda env, lr, f: ("redirect", idp_response(env, lr),
                                              {"sign": False}), 403, "non è firmato"),
    ("sha1-sigalg", lambda env, lr, f: ("redirect", idp_response(env, lr),
                                        {"sig_alg": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                                         "digest": "sha1"}), 403, "algoritmo"),
    ("unsigned-post", lambda env, lr, f: ("post", idp_response(env, lr), {"sign": False}), 403,
     "non è firmato"),
    ("other-key-post", lambda env, lr, f: ("post", idp_response(env, lr),
                                           {"key": f[0], "cert": f[1]}), 403, "firma"),
    ("relaystate-changed-post", lambda env, lr, f: ("post", idp_response(env, lr),
                                                    {"relay": "0" * 32}), 400, "inviata"),
]


@pytest.mark.parametrize("case,build,status,needle", RESPONSE_CASES,
                         ids=[c[0] for c in RESPONSE_CASES])
def test_logout_response_refused(spid_env, forger, case, build, status, needle):
    env = spid_env
    s, *_ = login(env)
    lr, relay, _ = start_sp_logout(env, s)
    before = len(register(env))
    binding, xml, opts = build(env, lr, forger)
    if binding == "redirect":
        key = opts.pop("key", None)
        r = send_response_redirect(env, xml, relay, key=key, **opts)
    else:
        key, cert = opts.pop("key", env.idp.key), opts.pop("cert", env.idp.cert)
        sent_relay = opts.pop("relay", relay)
        r = slo_post(env, {"SAMLResponse": spidlib.post_message(xml, key, cert, **opts),
                           "RelayState": sent_relay})
    assert_refused(r, status, needle)
    # the refused message is in the register all the same
    recs = register(env)[before:]
    assert [(x["kind"], x["direction"]) for x in recs] == [("logout_response", "in")]
    # a refusal does not use the request up: the genuine answer still works
    ok = send_response_redirect(env, idp_response(env, lr), relay)
    assert ok.status_code == 200 and "Sei uscito" in text(ok), text(ok)


def test_logout_response_replay(spid_env):
    env = spid_env
    s, *_ = login(env)
    lr, relay, out = start_sp_logout(env, s)
    answer = s.get(out.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    first = s.get(answer.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert first.status_code == 200
    again = requests.get(answer.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert_refused(again, 403, "già stato usato")
    denied = [e for e in audit(env) if e["event"] == "logout" and e["outcome"] == "denied"]
    assert denied[-1]["reason"] == "REPLAY" and denied[-1]["details"]["direction"] == "sp"


def test_logout_response_expired_request(start_spid_env):
    env = start_spid_env({"sp": {"request_ttl": "120"}})
    s, *_ = login(env)
    lr, relay, _ = start_sp_logout(env, s)
    r = requests.post(env.sp.url("/test/clock"), params={"offset_ms": str(121 * 1000)},
                      timeout=TIMEOUT)
    assert r.status_code == 200
    resp = idp_response(env, lr, issue_instant=spidlib.utc_instant(121))
    r = send_response_redirect(env, resp, relay)
    assert_refused(r, 403, "scaduto")


def test_garbage_at_slo(spid_env):
    env = spid_env
    for q in ("", "foo=bar", "SAMLResponse=", "SAMLResponse=%%%", "SAMLRequest=AAAA",
              "SAMLRequest=x&SAMLRequest=y", "SAMLRequest=x&SAMLResponse=y"):
        r = slo_get(env, q)
        assert 400 <= r.status_code < 500, (q, r.status_code)
    for data in ({}, {"SAMLResponse": "not base64!"}, {"SAMLRequest": base64.b64encode(
            b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>").decode()}):
        r = slo_post(env, data)
        assert 400 <= r.status_code < 500, (data, r.status_code)
    assert requests.get(env.sp.url("/healthz"), timeout=TIMEOUT).status_code == 200


# ------------------------------------------------------------------ IdP-initiated


def test_idp_initiated_redirect(spid_env):
    env = spid_env
    s, name_id, nq, index = login(env)
    token = s.cookies.get("spid_sp_session")
    other, *_ = login(env)  # another person's session stays open
    handle = idp_session_handle(env, name_id)
    before = len(register(env))
    start = requests.post(env.idp.url("/sessions/logout"),
                          data={"handle": handle, "binding": "redirect"},
                          allow_redirects=False, timeout=TIMEOUT)
    assert start.status_code == 302, start.text
    loc = start.headers["Location"]
    assert loc.startswith(env.sp.url("/spid/slo?SAMLRequest="))
    _, lr, _ = spidlib.redirect_message(loc)
    assert lr.find("saml:NameID", NS).text == name_id
    assert lr.find("samlp:SessionIndex", NS).text == index
    # the browser carries it to the SP, which ends the session and answers
    r = s.get(loc, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, text(r)
    assert "Max-Age=0" in r.headers.get("Set-Cookie", "")
    back = r.headers["Location"]
    assert back.startswith(env.idp.url("/slo") + "?SAMLResponse=")
    name, resp, params = spidlib.redirect_message(back)
    check_sp_logout_response(env, resp, lr.get("ID"))
    assert params["SigAlg"] == spidlib.RSA_SHA256
    assert spidlib.verify_redirect_signature(back, sp_cert(env))
    assert params.get("RelayState") is not None
    r = requests.get(env.sp.url("/api/me"), cookies={"spid_sp_session": token}, timeout=TIMEOUT)
    assert r.status_code == 401
    assert me(other, env).status_code == 200
    # the dev IdP checks the SP's answer (signature with the SP metadata key)
    rep = requests.get(back, timeout=TIMEOUT)
    assert rep.status_code == 200, rep.text
    assert 'data-result="ok"' in rep.text and "valida" in rep.text
    recs = register(env)[before:]
    assert [(x["kind"], x["direction"]) for x in recs] == [("logout_request", "in"),
                                                            ("logout_response", "out")]
    assert recs[0]["id"] == lr.get("ID") and recs[1]["in_response_to"] == lr.get("ID")
    assert recs[0]["idp"] == env.idp.entity_id
    ended = [e for e in audit(env) if e["event"] == "logout"
             and e["reason"] == "IdP-initiated logout"
             and e["details"].get("request") == lr.get("ID")]
    assert len(ended) == 1 and ended[0]["outcome"] == "ok" and ended[0]["session"]


def test_idp_initiated_post(spid_env):
    env = spid_env
    s, name_id, nq, index = login(env)
    token = s.cookies.get("spid_sp_session")
    handle = idp_session_handle(env, name_id)
    start = requests.post(env.idp.url("/sessions/logout"),
                          data={"handle": handle, "binding": "post"},
                          allow_redirects=False, timeout=TIMEOUT)
    assert start.status_code == 200, start.text
    action, method, fields = spidlib.parse_form(start.text)
    assert action == env.sp.url("/spid/slo") and "SAMLRequest" in fields
    lr_xml = base64.b64decode(fields["SAMLRequest"])
    lr = ET.fromstring(lr_xml)
    assert spidlib.xmlsec_verify(lr_xml, env.idp.cert)
    r = s.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, text(r)
    back, bfields = spidlib.parse_form(r.text)[0], spidlib.parse_form(r.text)[2]
    assert back == env.idp.url("/slo") and bfields["RelayState"] == fields["RelayState"]
    resp_xml = base64.b64decode(bfields["SAMLResponse"])
    resp = ET.fromstring(resp_xml)
    check_sp_logout_response(env, resp, lr.get("ID"))
    assert resp[1].tag == "{%s}Signature" % NS["ds"]
    assert spidlib.xmlsec_verify(resp_xml, sp_cert(env))
    assert "Max-Age=0" in r.headers.get("Set-Cookie", "")
    r = requests.get(env.sp.url("/api/me"), cookies={"spid_sp_session": token}, timeout=TIMEOUT)
    assert r.status_code == 401
    rep = requests.post(back, data=bfields, timeout=TIMEOUT)
    assert rep.status_code == 200 and 'data-result="ok"' in rep.text, rep.text
    # the dev IdP forgot the session
    assert name_id not in requests.get(env.idp.url("/sessions"), timeout=TIMEOUT).text


def test_idp_request_without_matching_session_is_success(spid_env):
    """SLO-02: always answer, Success even when nothing matched."""
    env = spid_env
    s, name_id, nq, index = login(env)
    cases = [idp_request(env, "_unknown0123456789"),
             idp_request(env, name_id, name_qualifier="https://other-qualifier.example"),
             idp_request(env, name_id, session_index="_not_that_session")]
    for lr in cases:
        r = slo_get(env, spidlib.redirect_query("SAMLRequest", lr, env.idp.key, relay="abc"))
        assert r.status_code == 302, text(r)
        _, resp, params = spidlib.redirect_message(r.headers["Location"])
        check_sp_logout_response(env, resp, lr.get("ID"))
        assert params["RelayState"] == "abc"
        assert me(s, env).status_code == 200  # not this person's session
    lr = idp_request(env, "  %s\n" % name_id, session_index=index)  # whitespace tolerated
    r = slo_get(env, spidlib.redirect_query("SAMLRequest", lr, env.idp.key))
    assert r.status_code == 302
    assert me(s, env).status_code == 401
    entries = [e for e in audit(env) if e["reason"] == "IdP-initiated logout: no matching session"]
    assert len(entries) >= 3


REQUEST_CASES = [
    # (id, edit of the request kwargs, how to send, expected status, words on the page)
    ("other-key", {}, {"key": "forger"}, 403, "firma"),
    ("unsigned-redirect", {}, {"sign": False}, 403, "non è firmato"),
    ("unsigned-post", {}, {"post": True, "sign": False}, 403, "non è firmato"),
    ("other-key-post", {}, {"post": True, "key": "forger"}, 403, "firma"),
    ("tampered-redirect", {}, {"tamper": True}, 403, "firma"),
    ("tampered-post", {}, {"post": True, "tamper": True}, 403, "firma"),
    ("sha1-sigalg", {}, {"sig_alg": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                         "digest": "sha1"}, 403, "algoritmo"),
    ("wrong-destination", {"destination": "https://evil.example/spid/slo"}, {}, 400,
     "altro indirizzo"),
    ("wrong-issuer", {"issuer": "https://unknown-idp.example"}, {}, 403, "gestore"),
    ("expired-issueinstant", {"issue_instant": "2000-01-01T00:00:00Z"}, {}, 403, "scaduto"),
    ("future-issueinstant", {"issue_instant": "2099-01-01T00:00:00Z"}, {}, 400, "data"),
    ("notonorafter-passed", {"not_on_or_after": "2001-01-01T00:00:00Z"}, {}, 403, "scaduto"),
    ("no-nameid", {"name_id": ""}, {}, 400, "utente"),
]


@pytest.mark.parametrize("case,edit,how,status,needle", REQUEST_CASES,
                         ids=[c[0] for c in REQUEST_CASES])
def test_idp_request_refused(spid_env, forger, case, edit, how, status, needle):
    env = spid_env
    s, name_id, nq, index = login(env)
    kwargs = dict(name_id=name_id, session_index=index)
    kwargs.update(edit)
    lr = idp_request(env, **kwargs)
    key, cert = (forger if how.get("key") == "forger" else (env.idp.key, env.idp.cert))
    before = len(register(env))
    if how.get("post"):
        b64 = spidlib.post_message(lr, key, cert, sign=how.get("sign", True))
        if how.get("tamper"):
            xml = base64.b64decode(b64).replace(name_id.encode(), b"_0000000000")
            b64 = base64.b64encode(xml).decode()
        r = slo_post(env, {"SAMLRequest": b64, "RelayState": "r1"}, s)
    else:
        q = spidlib.redirect_query("SAMLRequest", lr, key, relay="r1", sign=how.get("sign", True),
                                   sig_alg=how.get("sig_alg", spidlib.RSA_SHA256),
                                   digest=how.get("digest", "sha256"))
        if how.get("tamper"):
            other = idp_request(env, name_id="_0000000000", req_id=lr.get("ID"))
            signed = dict(spidlib.query_params(q))
            q = "SAMLRequest=%s&RelayState=r1&SigAlg=%s&Signature=%s" % (
                spidlib.quote(spidlib.deflate_b64(spidlib.xml_of(other))), signed["SigAlg"],
                signed["Signature"])
        r = slo_get(env, q, s)
    assert_refused(r, status, needle)
    assert "Max-Age=0" not in r.headers.get("Set-Cookie", "")
    assert me(s, env).status_code == 200  # nothing ended
    recs = register(env)[before:]
    assert [(x["kind"], x["direction"]) for x in recs] == [("logout_request", "in")]
    denied = [e for e in audit(env) if e["event"] == "logout" and e["outcome"] == "denied"]
    assert denied[-1]["details"]["direction"] == "idp"


def test_idp_request_replay(spid_env):
    env = spid_env
    s, name_id, nq, index = login(env)
    lr = idp_request(env, "_someone_else_0123")
    q = spidlib.redirect_query("SAMLRequest", lr, env.idp.key, relay="r")
    assert slo_get(env, q).status_code == 302
    again = slo_get(env, q)
    assert_refused(again, 403, "già stato usato")
    # the same ID in a freshly signed request of the real person is refused too
    lr2 = idp_request(env, name_id, req_id=lr.get("ID"))
    r = slo_get(env, spidlib.redirect_query("SAMLRequest", lr2, env.idp.key), s)
    assert_refused(r, 403)
    assert me(s, env).status_code == 200


def test_idp_logout_ends_every_matching_session(spid_env):
    """SLO-21 without SessionIndex: every session of that NameID at that IdP ends."""
    env = spid_env
    s, name_id, nq, index = login(env)
    lr = idp_request(env, name_id)
    r = slo_post(env, {"SAMLRequest": spidlib.post_message(lr, env.idp.key, env.idp.cert)})
    assert r.status_code == 200, text(r)
    action, method, fields = spidlib.parse_form(r.text)
    assert action == env.idp.url("/slo") and "RelayState" not in fields
    resp_xml = base64.b64decode(fields["SAMLResponse"])
    check_sp_logout_response(env, ET.fromstring(resp_xml), lr.get("ID"))
    assert spidlib.xmlsec_verify(resp_xml, sp_cert(env))
    assert me(s, env).status_code == 401


def test_dev_idp_refuses_forged_sp_response(spid_env, forger):
    """The dev IdP checks the SP's LogoutResponse signature with the SP metadata key."""
    env = spid_env
    s, name_id, nq, index = login(env)
    handle = idp_session_handle(env, name_id)
    start = requests.post(env.idp.url("/sessions/logout"),
                          data={"handle": handle, "binding": "redirect"},
                          allow_redirects=False, timeout=TIMEOUT)
    _, lr, params = spidlib.redirect_message(start.headers["Location"])
    forged = spidlib.logout_response(env.sp.entity_id, env.idp.url("/slo"), lr.get("ID"))
    q = spidlib.redirect_query("SAMLResponse", forged, forger[0], relay=params["RelayState"])
    rep = requests.get(env.idp.url("/slo") + "?" + q, timeout=TIMEOUT)
    assert rep.status_code == 403 and 'data-result="refused"' in rep.text, rep.text
    wrong = spidlib.logout_response(env.sp.entity_id, env.idp.url("/slo"), "_nope")
    q = spidlib.redirect_query("SAMLResponse", wrong, forger[0])
    assert requests.get(env.idp.url("/slo") + "?" + q, timeout=TIMEOUT).status_code == 400
    # the genuine round trip still completes
    r = s.get(start.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    rep = requests.get(r.headers["Location"], timeout=TIMEOUT)
    assert rep.status_code == 200 and 'data-result="ok"' in rep.text


def test_metrics(spid_env):
    env = spid_env
    s, name_id, *_ = login(env)
    lr, relay, out = start_sp_logout(env, s)
    s.get(out.headers["Location"], timeout=TIMEOUT)  # the whole round trip
    r = slo_get(env, spidlib.redirect_query("SAMLRequest", idp_request(env, "_x"), env.idp.key))
    assert r.status_code == 302
    r = slo_get(env, spidlib.redirect_query("SAMLRequest", idp_request(env, "_x"), env.idp.key,
                                            sign=False))
    assert r.status_code == 403
    body = requests.get(spid_env.sp.url("/metrics"), timeout=TIMEOUT).text
    for labels in ('direction="sp",outcome="sent"', 'direction="sp",outcome="ok"',
                   'direction="idp",outcome="ok"', 'direction="idp",outcome="rejected"'):
        assert "spid_sp_spid_logouts_total{%s}" % labels in body, labels


def test_no_saml_in_log(spid_env):
    assert not spid_env.sp.loggrep(r"PHNhbWxw|<samlp:")


# ------------------------------------------------------------------ PIN sessions


def test_pin_session_logout_is_local(start_spid_env):
    env = start_spid_env({"pin": {"scrypt_log2_n": "12"}})
    p = cli(env, "pin", "issue", "FOXDRA26C24L219Y", "--name", "Dario", "--surname", "Fo",
            "--sex", "M", "--birth-date", "1926-03-24")
    m = re.search(r"PIN iniziale:\s+([0-9A-F]{8}) ([0-9A-F]{8})", p.stdout)
    pin16 = m.group(1) + m.group(2)
    s = requests.Session()

    def csrf(path):
        r = s.get(env.sp.url(path), timeout=TIMEOUT)
        return lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]

    r = s.post(env.sp.url("/pin/login"), data={"cf": "FOXDRA26C24L219Y", "pin": pin16,
                                               "csrf": csrf("/pin/login")},
               allow_redirects=False, timeout=TIMEOUT)
    token = lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]
    r = s.post(env.sp.url("/pin/change"), data={"cf": "FOXDRA26C24L219Y", "current": pin16,
                                                "new": "Q7W2E9R4", "confirm": "Q7W2E9R4",
                                                "csrf": token},
               allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 303, text(r)
    assert me(s, env).json()["session"]["method"] == "pin"
    before = len(register(env))
    out = s.get(env.sp.url("/logout"), allow_redirects=False, timeout=TIMEOUT)
    assert out.status_code == 200 and "Sei uscito" in text(out)
    assert "Location" not in out.headers
    assert me(s, env).status_code == 401
    assert len(register(env)) == before  # no LogoutRequest
    last = [e for e in audit(env) if e["event"] == "logout"][-1]
    assert last["reason"] == "local logout" and last["details"] == {"method": "pin"}
