"""The dev IdP on its own: metadata, request checks, the choice page, Responses.

A FakeSP (spidlib) plays the SP, so these tests need only `spid-sp dev-idp`.
The last tests go through the real SP and skip until `serve` exists.
"""

import base64
import datetime
import os
import stat
import subprocess
import tempfile
import urllib.parse

import lxml.etree as ET
import pytest
import requests

import spidlib
from spidlib import NS

IDENTITIES = ("citizen", "pensioner", "professional", "company")


def sso(env):
    return env.idp.url("/sso")


def fresh_id():
    return "_" + os.urandom(16).hex()


def get_redirect(env, request, **kw):
    q = env.fake_sp.redirect_query(request, **kw)
    return requests.get(sso(env) + "?" + q, allow_redirects=False, timeout=30)


def post_sso(env, request, **kw):
    return requests.post(sso(env), data=env.fake_sp.post_fields(request, **kw),
                         allow_redirects=False, timeout=30)


def xmlsec_verify(xml, cert, node):
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(xml)
        f.flush()
        p = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", cert,
                            "--id-attr:ID", node, f.name], capture_output=True, timeout=60)
    return p.returncode == 0


def verify_response(xml, cert):
    """Both signatures verify with the IdP certificate (assertion checked alone)."""
    root = ET.fromstring(xml)
    assert xmlsec_verify(xml, cert, "urn:oasis:names:tc:SAML:2.0:protocol:Response")
    a = root.find("saml:Assertion", NS)
    assert a is not None
    assert xmlsec_verify(ET.tostring(a), cert, "urn:oasis:names:tc:SAML:2.0:assertion:Assertion")


def answer(env, request, identity="citizen", level=2, anomaly=None, cancel=False,
           binding="redirect", relay="e2e0relay0state"):
    """Run request through the IdP; returns (acs, Response root, xml, relay)."""
    if binding == "redirect":
        page = get_redirect(env, request, relay=relay)
    else:
        page = post_sso(env, request, relay=relay)
    s = requests.Session()
    r = spidlib.choose(s, env.idp, page, identity=identity, level=level, anomaly=anomaly,
                       cancel=cancel)
    acs, b64, relay_back = spidlib.parse_autosubmit(r)
    xml = base64.b64decode(b64)
    return acs, ET.fromstring(xml), xml, relay_back


# --------------------------------------------------------------- basics


def test_healthz(devidp_alone):
    r = requests.get(devidp_alone.idp.url("/healthz"), timeout=10)
    assert r.status_code == 200
    assert r.text.strip() == "ok"


def test_metadata(devidp_alone):
    idp = devidp_alone.idp
    r = requests.get(idp.url("/metadata"), timeout=10)
    assert r.status_code == 200
    assert "xml" in r.headers["Content-Type"]
    root = ET.fromstring(r.content)
    assert root.tag == "{%s}EntityDescriptor" % NS["md"]
    assert root.get("entityID") == idp.entity_id
    d = root.find("md:IDPSSODescriptor", NS)
    assert d.get("protocolSupportEnumeration") == NS["samlp"]
    assert d.get("WantAuthnRequestsSigned") == "true"
    x5 = d.findall("md:KeyDescriptor[@use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
                   NS)
    assert len(x5) == 1
    assert x5[0].text.strip() == spidlib.cert_b64(idp.cert)
    for kind, path in (("SingleSignOnService", "/sso"), ("SingleLogoutService", "/slo")):
        got = {e.get("Binding"): e.get("Location") for e in d.findall("md:" + kind, NS)}
        assert got == {spidlib.HTTP_REDIRECT: idp.url(path), spidlib.HTTP_POST: idp.url(path)}
    assert [e.text for e in d.findall("md:NameIDFormat", NS)] == [spidlib.TRANSIENT]
    assert root.find("md:Organization/md:OrganizationDisplayName", NS).text == \
        "SPID Test IdP (spid-sp)"
    with open(idp.metadata_path, "rb") as f:
        assert f.read() == r.content


def test_key_files(devidp_alone):
    st = os.stat(devidp_alone.idp.key)
    assert stat.S_IMODE(st.st_mode) == 0o600
    p = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", devidp_alone.idp.cert],
                       capture_output=True, text=True, check=True)
    assert "2048 bit" in p.stdout


def test_index_and_static(devidp_alone):
    idp = devidp_alone.idp
    r = requests.get(idp.url("/"), timeout=10)
    assert r.status_code == 200 and "Mario Rossi" in r.text
    assert requests.get(idp.url("/static/autosubmit.js"), timeout=10).status_code == 200
    assert requests.get(idp.url("/static/devidp.css"), timeout=10).status_code == 200
    assert requests.get(idp.url("/static/nope.js"), timeout=10).status_code == 404
    assert requests.get(idp.url("/nope"), timeout=10).status_code == 404
    assert requests.post(idp.url("/metadata"), timeout=10).status_code == 405


# --------------------------------------------------------------- refused requests


def test_unsigned_redirect_refused(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    r = get_redirect(devidp_alone, req, sign=False)
    assert r.status_code == 403
    assert "nr05" in r.text


def test_unsigned_post_refused(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    r = post_sso(devidp_alone, req, sign=False)
    assert r.status_code == 403
    assert "nr07" in r.text


def test_unknown_key_refused(devidp_alone, tmp_path):
    key, cert = spidlib.make_keypair(str(tmp_path), "intruder")
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    r = get_redirect(devidp_alone, req, key=key)
    assert r.status_code == 403
    r = post_sso(devidp_alone, req, key=key, cert=cert)
    assert r.status_code == 403


def test_sha1_sigalg_refused(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    r = get_redirect(devidp_alone, req, sig_alg=spidlib.RSA_SHA1, digest="sha1")
    assert r.status_code == 403
    assert "SigAlg" in r.text


def test_tampered_relay_state_refused(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    q = devidp_alone.fake_sp.redirect_query(req, relay="abc")
    r = requests.get(sso(devidp_alone) + "?" + q.replace("RelayState=abc", "RelayState=abd"),
                     timeout=30)
    assert r.status_code == 403


@pytest.mark.parametrize("kw, code", [
    ({"is_passive": "false"}, "nr15"),
    ({"allow_create": "true"}, "nr17"),
    ({"with_authn_context": False}, "nr12"),
    ({"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL2"}, "nr12"),
    ({"comparison": "sometimes"}, "nr12"),
    ({"attr_index": None}, "nr18"),
    ({"attr_index": 7}, "nr18"),
    ({"force_authn": None}, "nr08"),
    ({"force_authn": False}, "nr08"),
    ({"purpose": "XX"}, "nr08"),
    ({"acs_index": None}, "nr16"),
    ({"issue_instant": "2001-01-01T00:00:00Z"}, "nr13"),
])
def test_non_spid_request_refused(devidp_alone, kw, code):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone), req_id=fresh_id(), **kw)
    r = get_redirect(devidp_alone, req)
    assert r.status_code == 400, r.text
    assert "ErrorCode " + code in r.text


def test_wrong_destination_refused(devidp_alone):
    req = devidp_alone.fake_sp.authn_request("https://idp.example/sso")
    r = post_sso(devidp_alone, req)
    assert r.status_code == 400
    assert "nr14" in r.text


def test_relay_state_with_url_refused(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    r = get_redirect(devidp_alone, req, relay="https://evil.example/")
    assert r.status_code == 400


def test_level1_without_force_authn_accepted(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone), level=1, force_authn=None)
    assert get_redirect(devidp_alone, req).status_code == 200


GARBAGE_QUERIES = [
    "",
    "SAMLRequest=",
    "SAMLRequest=%%%",
    "SAMLRequest=not-base64!!&SigAlg=x&Signature=y",
    "SAMLRequest=" + spidlib.quote(base64.b64encode(b"<x/>").decode()) +
    "&SigAlg=" + spidlib.quote(spidlib.RSA_SHA256) + "&Signature=AAAA",
    "SAMLRequest=" + spidlib.quote(spidlib.deflate_b64(b"<<<<")) +
    "&SigAlg=" + spidlib.quote(spidlib.RSA_SHA256) + "&Signature=AAAA",
    "SAMLRequest=a&SAMLRequest=b",
    "SAMLRequest=" + "A" * 70000,
    "SAMLRequest=" + spidlib.quote(spidlib.deflate_b64(
        b'<!DOCTYPE x [<!ENTITY a "b">]><samlp:AuthnRequest '
        b'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&a;</samlp:AuthnRequest>')) +
    "&SigAlg=" + spidlib.quote(spidlib.RSA_SHA256) + "&Signature=AAAA",
]


@pytest.mark.parametrize("query", GARBAGE_QUERIES)
def test_garbage_redirect(devidp_alone, query):
    r = requests.get(sso(devidp_alone) + "?" + query, timeout=30)
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("path, data", [
    ("/sso", {"SAMLRequest": "garbage"}),
    ("/sso", {"SAMLRequest": base64.b64encode(b"<samlp:AuthnRequest/>").decode()}),
    ("/sso", {"SAMLRequest": base64.b64encode(b"\x00\x01\x02" * 100).decode()}),
    ("/sso", {}),
    ("/sso", "SAMLRequest=%zz"),
    ("/sso/respond", {}),
    ("/sso/respond", {"binding": "redirect", "query": "SAMLRequest=x"}),
    ("/sso/respond", {"binding": "post", "SAMLRequest": "x"}),
    ("/sso/respond", {"binding": "carrier-pigeon"}),
    ("/slo", {"SAMLRequest": "garbage"}),
    ("/slo", {}),
])
def test_garbage_post(devidp_alone, path, data):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    r = requests.post(devidp_alone.idp.url(path), data=data, headers=headers, timeout=30)
    assert 400 <= r.status_code < 500


def test_garbage_slo_redirect(devidp_alone):
    for q in ("", "SAMLRequest=x", "SAMLRequest=x&SigAlg=y&Signature=z"):
        r = requests.get(devidp_alone.idp.url("/slo") + "?" + q, timeout=30)
        assert 400 <= r.status_code < 500
    assert requests.get(devidp_alone.idp.url("/healthz"), timeout=10).status_code == 200


# --------------------------------------------------------------- the choice page


def test_choice_page(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone), level=3)
    relay = '"><b>x</b>&amp;'
    r = post_sso(devidp_alone, req, relay=relay)
    assert r.status_code == 200
    action, method, fields = spidlib.parse_form(r.text, "/sso/respond")
    assert method == "post"
    assert fields["RelayState"] == relay          # carried back exactly
    assert "<b>x</b>" not in r.text               # and escaped
    assert fields["level"] == "3"                 # preselected to the requested level
    for key in IDENTITIES:
        assert 'value="%s"' % key in r.text
    for code in ("nr19", "nr20", "nr21", "nr22", "nr23", "nr25", "nr30"):
        assert 'value="%s"' % code in r.text
    assert 'value="cancel"' in r.text and "Annulla" in r.text
    assert "<script" not in r.text
    assert lang_it(r.text)


def lang_it(html):
    return '<html lang="it">' in html


# --------------------------------------------------------------- responses


def test_response_shape(devidp_alone):
    env = devidp_alone
    req_id = fresh_id()
    req = env.fake_sp.authn_request(sso(env), req_id=req_id, level=2)
    acs, root, xml, relay = answer(env, req, identity="citizen", level=2)
    assert acs == env.fake_sp.acs_url
    assert relay == "e2e0relay0state"
    verify_response(xml, env.idp.cert)
    assert root.get("InResponseTo") == req_id
    assert root.get("Destination") == env.fake_sp.acs_url
    assert root.find("saml:Issuer", NS).text == env.idp.entity_id
    assert root.find("saml:Issuer", NS).get("Format") == spidlib.ENTITY
    assert root.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith(":Success")
    sigs = root.findall("ds:Signature", NS)
    assert len(sigs) == 1
    assert sigs[0].find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == \
        spidlib.RSA_SHA256
    a = root.findall("saml:Assertion", NS)
    assert len(a) == 1
    a = a[0]
    assert a.find("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod", NS).get(
        "Algorithm") == spidlib.SHA256
    iss = a.find("saml:Issuer", NS)
    assert iss.text == env.idp.entity_id and iss.get("Format") == spidlib.ENTITY
    assert iss.get("NameQualifier") == env.idp.entity_id
    nid = a.find("saml:Subject/saml:NameID", NS)
    assert nid.get("Format") == spidlib.TRANSIENT
    assert nid.get("NameQualifier") == env.idp.entity_id
    assert nid.text and nid.text.strip() == nid.text
    sc = a.findall("saml:Subject/saml:SubjectConfirmation", NS)
    assert len(sc) == 1 and sc[0].get("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    scd = sc[0].find("saml:SubjectConfirmationData", NS)
    assert scd.get("Recipient") == env.fake_sp.acs_url
    assert scd.get("InResponseTo") == req_id
    now = datetime.datetime.utcnow()
    noa = datetime.datetime.strptime(scd.get("NotOnOrAfter")[:19], "%Y-%m-%dT%H:%M:%S")
    assert now < noa <= now + datetime.timedelta(minutes=6)
    cond = a.find("saml:Conditions", NS)
    nb = datetime.datetime.strptime(cond.get("NotBefore")[:19], "%Y-%m-%dT%H:%M:%S")
    assert nb <= now + datetime.timedelta(seconds=2)
    assert cond.get("NotOnOrAfter")
    assert [e.text for e in cond.findall("saml:AudienceRestriction/saml:Audience", NS)] == \
        [env.fake_sp.entity_id]
    st = a.find("saml:AuthnStatement", NS)
    assert st.get("SessionIndex")
    assert st.find("saml:AuthnContext/saml:AuthnContextClassRef", NS).text == \
        "https://www.spid.gov.it/SpidL2"
    attrs = {e.get("Name"): e.find("saml:AttributeValue", NS).text
             for e in a.findall("saml:AttributeStatement/saml:Attribute", NS)}
    # only what AttributeConsumingService 0 asks for
    assert set(attrs) == set(env.fake_sp.services[0])
    assert attrs["fiscalNumber"] == "TINIT-RSSMRA80A01H501U"
    assert attrs["dateOfBirth"] == "1980-01-01"
    assert attrs["spidCode"][:4].isalpha() and len(attrs["spidCode"]) == 14


def test_response_post_binding_and_level(devidp_alone):
    env = devidp_alone
    req = env.fake_sp.authn_request(sso(env), level=2)
    acs, root, xml, relay = answer(env, req, identity="pensioner", level=3, binding="post")
    verify_response(xml, env.idp.cert)
    ref = root.find("saml:Assertion/saml:AuthnStatement/saml:AuthnContext/"
                    "saml:AuthnContextClassRef", NS)
    assert ref.text == "https://www.spid.gov.it/SpidL3"


@pytest.mark.parametrize("code", ["nr19", "nr20", "nr21", "nr22", "nr23", "nr25", "nr30"])
def test_anomaly(devidp_alone, code):
    env = devidp_alone
    req_id = fresh_id()
    req = env.fake_sp.authn_request(sso(env), req_id=req_id)
    acs, root, xml, relay = answer(env, req, anomaly=code)
    check_anomaly(root, code)
    assert root.get("InResponseTo") == req_id
    assert relay == "e2e0relay0state"


def check_anomaly(root, code):
    top = root.find("samlp:Status/samlp:StatusCode", NS)
    assert top.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Responder"
    assert top.find("samlp:StatusCode", NS).get("Value") == \
        "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
    assert root.find("samlp:Status/samlp:StatusMessage", NS).text == "ErrorCode " + code
    assert root.find("saml:Assertion", NS) is None


def test_cancel_answers_nr25(devidp_alone):
    req = devidp_alone.fake_sp.authn_request(sso(devidp_alone))
    acs, root, xml, relay = answer(devidp_alone, req, cancel=True)
    check_anomaly(root, "nr25")


def test_purpose(devidp_alone):
    env = devidp_alone
    req = env.fake_sp.authn_request(sso(env), purpose="PG", attr_index=1)
    acs, root, xml, relay = answer(env, req, identity="citizen")
    check_anomaly(root, "nr30")
    acs, root, xml, relay = answer(env, req, identity="company")
    verify_response(xml, env.idp.cert)
    attrs = {e.get("Name"): e.find("saml:AttributeValue", NS).text
             for e in root.findall("saml:Assertion/saml:AttributeStatement/saml:Attribute", NS)}
    assert attrs["companyName"] == "Esposito Costruzioni S.r.l."
    assert attrs["ivaCode"] == "VATIT-00159560366"
    assert attrs["companyFiscalNumber"] == "TINIT-00159560366"
    assert attrs["registeredOffice"] == "Via Toledo 156 80134 Napoli NA"
    assert "spidCode" not in attrs


def test_respond_rejects_bad_choices(devidp_alone):
    env = devidp_alone
    req = env.fake_sp.authn_request(sso(env))
    page = get_redirect(env, req)
    action, method, fields = spidlib.parse_form(page.text, "/sso/respond")
    for bad in ({"identity": "nobody"}, {"level": "4"}, {"anomaly": "nr99"},
                {"action": "explode"}, {"query": fields["query"] + "x"}):
        data = dict(fields, identity="citizen", level="2", anomaly="none", action="login")
        data.update(bad)
        r = requests.post(env.idp.url("/sso/respond"), data=data, timeout=30)
        assert 400 <= r.status_code < 500, bad


def test_resign_roundtrip(devidp_alone):
    """spidlib.resign produces signatures the IdP's certificate verifies."""
    env = devidp_alone
    req = env.fake_sp.authn_request(sso(env))
    acs, root, xml, relay = answer(env, req)
    a = root.find("saml:Assertion", NS)
    a.find("saml:Subject/saml:NameID", NS).text = "_edited"
    out = spidlib.resign(ET.tostring(root), env.idp.key, env.idp.cert)
    verify_response(out, env.idp.cert)
    only_a = spidlib.resign(ET.tostring(root), env.idp.key, env.idp.cert, what=("assertion",))
    r2 = ET.fromstring(only_a)
    assert r2.find("ds:Signature", NS) is None
    assert r2.find("saml:Assertion/ds:Signature", NS) is not None


def test_slo_redirect(devidp_alone):
    env = devidp_alone
    samlp, saml = "{%s}" % NS["samlp"], "{%s}" % NS["saml"]
    lr = ET.Element(samlp + "LogoutRequest", nsmap={"samlp": NS["samlp"], "saml": NS["saml"]},
                    ID=fresh_id(), Version="2.0",
                    IssueInstant=datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                    Destination=env.idp.url("/slo"))
    iss = ET.SubElement(lr, saml + "Issuer", Format=spidlib.ENTITY,
                        NameQualifier=env.fake_sp.entity_id)
    iss.text = env.fake_sp.entity_id
    nid = ET.SubElement(lr, saml + "NameID", Format=spidlib.TRANSIENT,
                        NameQualifier=env.idp.entity_id)
    nid.text = "_0123"
    ET.SubElement(lr, samlp + "SessionIndex").text = "_abc"
    q = env.fake_sp.redirect_query(lr, relay="slo0relay")
    r = requests.get(env.idp.url("/slo") + "?" + q, allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    loc = urllib.parse.urlsplit(r.headers["Location"])
    params = urllib.parse.parse_qs(loc.query)
    assert "Signature" in params and params["SigAlg"] == [spidlib.RSA_SHA256]
    resp = ET.fromstring(spidlib.inflate_b64(params["SAMLResponse"][0]))
    assert resp.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith(":Success")
    r = requests.get(env.idp.url("/slo") + "?" + env.fake_sp.redirect_query(lr, sign=False),
                     allow_redirects=False, timeout=30)
    assert r.status_code == 403


def test_no_saml_in_log(devidp_alone):
    """At the default level, SAML messages never reach the log."""
    assert not devidp_alone.idp.loggrep(r"SAMLResponse|PHNhbWxw|<samlp:")


# --------------------------------------------------------------- through the real SP


def _sp_login_available(env):
    r = requests.get(env.sp.url("/spid/login"), params={"idp": env.idp.entity_id},
                     allow_redirects=False, timeout=30)
    if r.status_code == 404:
        pytest.skip("the SP does not serve /spid/login yet")


def test_sp_request_accepted(spid_env):
    """The SP's own AuthnRequest passes every check of the dev IdP."""
    _sp_login_available(spid_env)
    s, page = spidlib.start_login(spid_env.sp, spid_env.idp, level=2)
    assert page.status_code == 200, page.text
    for key in IDENTITIES:
        assert 'value="%s"' % key in page.text


def test_sp_login_roundtrip(spid_env):
    _sp_login_available(spid_env)
    r = spidlib.login(spid_env.sp, spid_env.idp, identity="citizen", level=2)
    assert r.status_code in (302, 303), r.text
    assert r.headers["Location"].endswith("/api/me")


def test_sp_post_binding(start_spid_env):
    env = start_spid_env({"sp": {"binding": "post"}})
    _sp_login_available(env)
    r = spidlib.login(env.sp, env.idp, identity="professional", level=2, binding="post")
    assert r.status_code in (302, 303), r.text


def test_sp_shows_anomaly(spid_env):
    _sp_login_available(spid_env)
    r = spidlib.login(spid_env.sp, spid_env.idp, anomaly="nr22")
    assert 400 <= r.status_code < 500
