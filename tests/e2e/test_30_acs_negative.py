"""One negative end-to-end test per SPID Response check (spec §3, RS- rules):
a genuine Response from the dev IdP is edited with lxml and re-signed with
xmlsec1 (or deliberately not), posted to the real ACS, and each case asserts
a 4xx answer, a page that says what is wrong, and that no session was
created. The numbers in the ids are the AgID spid-sp-test response cases."""

import base64
import datetime
import os
import sqlite3

import pytest
import requests

import spidlib
from spidlib import NS, ET

TIMEOUT = 30
SAML = "{%s}" % NS["saml"]
SAMLP = "{%s}" % NS["samlp"]


def q(root, path):
    found = root.find(path, NS)
    assert found is not None, path
    return found


def A(root):
    return q(root, "saml:Assertion")


def set_attr(path, name, value):
    """An edit that sets (value str), empties (""), or removes (None) an attribute."""
    def edit(root):
        el = root if path == "." else q(root, path)
        if value is None:
            el.attrib.pop(name, None)
        else:
            el.set(name, value)
    return edit


def set_text(path, value):
    def edit(root):
        q(root, path).text = value
    return edit


def remove(path):
    def edit(root):
        el = q(root, path)
        el.getparent().remove(el)
    return edit


PAST = "2000-01-01T00:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"
BAD_TIME = "not-a-date"
A_ = "saml:Assertion"
SCD = A_ + "/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
COND = A_ + "/saml:Conditions"

# (id, edit, expected status, rule) -- every edit is re-signed (Response + Assertion)
RESIGNED_CASES = [
    ("08-response-id-missing", set_attr(".", "ID", None), "RS-10"),
    ("09-response-id-empty", set_attr(".", "ID", ""), "RS-10"),
    ("10-response-version", set_attr(".", "Version", "1.0"), "RS-11"),
    ("11-issueinstant-missing", set_attr(".", "IssueInstant", None), "RS-12"),
    ("12-issueinstant-empty", set_attr(".", "IssueInstant", ""), "RS-12"),
    ("13-issueinstant-invalid", set_attr(".", "IssueInstant", BAD_TIME), "RS-12"),
    ("14-issueinstant-before-request", set_attr(".", "IssueInstant", PAST), "RS-13"),
    ("15-issueinstant-future", set_attr(".", "IssueInstant", FUTURE), "RS-13"),
    ("16-inresponseto-missing", set_attr(".", "InResponseTo", None), "RS-14"),
    ("17-inresponseto-empty", set_attr(".", "InResponseTo", ""), "RS-14"),
    ("18-inresponseto-wrong", set_attr(".", "InResponseTo", "_0123456789abcdef"), "RS-14"),
    ("19-destination-missing", set_attr(".", "Destination", None), "RS-15"),
    ("20-destination-empty", set_attr(".", "Destination", ""), "RS-15"),
    ("21-destination-wrong", set_attr(".", "Destination", "https://evil.example/acs"),
     "RS-15"),
    ("22-statuscode-empty", set_attr("samlp:Status/samlp:StatusCode", "Value", ""), "RS-16"),
    ("23-status-missing", remove("samlp:Status"), "RS-16"),
    ("24-statuscode-missing", remove("samlp:Status/samlp:StatusCode"), "RS-16"),
    ("26-status-unknown", set_attr("samlp:Status/samlp:StatusCode", "Value",
                                   "urn:oasis:names:tc:SAML:2.0:status:Bogus"), "RS-16"),
    ("27-issuer-missing", remove("saml:Issuer"), "RS-18"),
    ("28-issuer-empty", set_text("saml:Issuer", ""), "RS-18"),
    ("29-issuer-wrong", set_text("saml:Issuer", "https://other-idp.example"), "RS-18"),
    ("30-issuer-format-wrong", set_attr("saml:Issuer", "Format",
                                        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"),
     "RS-19"),
    ("33-assertion-id-missing", set_attr(A_, "ID", None), "RS-20"),
    ("34-assertion-id-empty", set_attr(A_, "ID", ""), "RS-20"),
    ("35-assertion-version", set_attr(A_, "Version", "1.0"), "RS-30"),
    ("36-assertion-issueinstant-missing", set_attr(A_, "IssueInstant", None), "RS-31"),
    ("37-assertion-issueinstant-empty", set_attr(A_, "IssueInstant", ""), "RS-31"),
    ("38-assertion-issueinstant-invalid", set_attr(A_, "IssueInstant", BAD_TIME), "RS-31"),
    ("39-assertion-issueinstant-early", set_attr(A_, "IssueInstant", PAST), "RS-31"),
    ("40-assertion-issueinstant-future", set_attr(A_, "IssueInstant", FUTURE), "RS-31"),
    ("41-subject-missing", remove(A_ + "/saml:Subject"), "RS-40"),
    ("43-nameid-missing", remove(A_ + "/saml:Subject/saml:NameID"), "RS-41"),
    ("44-nameid-empty", set_text(A_ + "/saml:Subject/saml:NameID", ""), "RS-41"),
    ("45-nameid-format-missing", set_attr(A_ + "/saml:Subject/saml:NameID", "Format", None),
     "RS-42"),
    ("46-nameid-format-empty", set_attr(A_ + "/saml:Subject/saml:NameID", "Format", ""),
     "RS-42"),
    ("47-nameid-format-wrong", set_attr(A_ + "/saml:Subject/saml:NameID", "Format",
                                        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
     "RS-42"),
    ("48-namequalifier-missing", set_attr(A_ + "/saml:Subject/saml:NameID", "NameQualifier",
                                          None), "RS-43"),
    ("49-namequalifier-empty", set_attr(A_ + "/saml:Subject/saml:NameID", "NameQualifier",
                                        ""), "RS-43"),
    ("51-subjectconfirmation-missing", remove(A_ + "/saml:Subject/saml:SubjectConfirmation"),
     "RS-50"),
    ("53-method-missing", set_attr(A_ + "/saml:Subject/saml:SubjectConfirmation", "Method",
                                   None), "RS-50"),
    ("54-method-empty", set_attr(A_ + "/saml:Subject/saml:SubjectConfirmation", "Method", ""),
     "RS-50"),
    ("55-method-wrong", set_attr(A_ + "/saml:Subject/saml:SubjectConfirmation", "Method",
                                 "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"), "RS-50"),
    ("56-scd-missing", remove(SCD), "RS-51"),
    ("57-recipient-missing", set_attr(SCD, "Recipient", None), "RS-52"),
    ("58-recipient-empty", set_attr(SCD, "Recipient", ""), "RS-52"),
    ("59-recipient-wrong", set_attr(SCD, "Recipient", "https://evil.example/acs"), "RS-52"),
    ("60-scd-inresponseto-missing", set_attr(SCD, "InResponseTo", None), "RS-53"),
    ("61-scd-inresponseto-empty", set_attr(SCD, "InResponseTo", ""), "RS-53"),
    ("62-scd-inresponseto-wrong", set_attr(SCD, "InResponseTo", "_0123456789abcdef"), "RS-53"),
    ("63-scd-notonorafter-missing", set_attr(SCD, "NotOnOrAfter", None), "RS-54"),
    ("64-scd-notonorafter-empty", set_attr(SCD, "NotOnOrAfter", ""), "RS-54"),
    ("65-scd-notonorafter-invalid", set_attr(SCD, "NotOnOrAfter", BAD_TIME), "RS-54"),
    ("66-scd-expired", set_attr(SCD, "NotOnOrAfter", PAST), "RS-54"),
    ("68-assertion-issuer-missing", remove(A_ + "/saml:Issuer"), "RS-32"),
    ("69-assertion-issuer-wrong", set_text(A_ + "/saml:Issuer", "https://other-idp.example"),
     "RS-32"),
    ("70-assertion-issuer-format-empty", set_attr(A_ + "/saml:Issuer", "Format", ""), "RS-32"),
    ("71-assertion-issuer-format-missing", set_attr(A_ + "/saml:Issuer", "Format", None),
     "RS-32"),
    ("72-assertion-issuer-format-wrong",
     set_attr(A_ + "/saml:Issuer", "Format",
              "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"), "RS-32"),
    ("74-conditions-missing", remove(COND), "RS-60"),
    ("75-notbefore-missing", set_attr(COND, "NotBefore", None), "RS-61"),
    ("76-notbefore-empty", set_attr(COND, "NotBefore", ""), "RS-61"),
    ("77-notbefore-invalid", set_attr(COND, "NotBefore", BAD_TIME), "RS-61"),
    ("78-notbefore-future", set_attr(COND, "NotBefore", FUTURE), "RS-61"),
    ("79-notonorafter-missing", set_attr(COND, "NotOnOrAfter", None), "RS-62"),
    ("80-notonorafter-empty", set_attr(COND, "NotOnOrAfter", ""), "RS-62"),
    ("81-notonorafter-invalid", set_attr(COND, "NotOnOrAfter", BAD_TIME), "RS-62"),
    ("82-expired", set_attr(COND, "NotOnOrAfter", PAST), "RS-62"),
    ("83-audiencerestriction-missing", remove(COND + "/saml:AudienceRestriction"), "RS-63"),
    ("85-audience-missing", remove(COND + "/saml:AudienceRestriction/saml:Audience"), "RS-63"),
    ("86-audience-empty", set_text(COND + "/saml:AudienceRestriction/saml:Audience", ""),
     "RS-63"),
    ("87-audience-wrong", set_text(COND + "/saml:AudienceRestriction/saml:Audience",
                                   "https://other-sp.example"), "RS-63"),
    ("88-authnstatement-missing", remove(A_ + "/saml:AuthnStatement"), "RS-70"),
    ("90-authncontext-missing", remove(A_ + "/saml:AuthnStatement/saml:AuthnContext"),
     "RS-70"),
    ("92-classref-missing", remove(A_ + "/saml:AuthnStatement/saml:AuthnContext/"
                                        "saml:AuthnContextClassRef"), "RS-70"),
    ("93-classref-empty", set_text(A_ + "/saml:AuthnStatement/saml:AuthnContext/"
                                        "saml:AuthnContextClassRef", ""), "RS-70"),
    ("97-classref-legacy", set_text(A_ + "/saml:AuthnStatement/saml:AuthnContext/"
                                         "saml:AuthnContextClassRef",
                                    "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL2"), "RS-71"),
    ("xx-classref-unknown", set_text(A_ + "/saml:AuthnStatement/saml:AuthnContext/"
                                          "saml:AuthnContextClassRef",
                                     "https://www.spid.gov.it/SpidL9"), "RS-71"),
]


def _empty_attribute_statement(root):
    st = q(root, A_ + "/saml:AttributeStatement")
    for c in list(st):
        st.remove(c)


def _empty_attribute_value(root):
    v = root.find(A_ + "/saml:AttributeStatement/saml:Attribute/saml:AttributeValue", NS)
    v.text = ""


def _fiscal_value(root):
    for a in root.findall(A_ + "/saml:AttributeStatement/saml:Attribute", NS):
        if a.get("Name") == "fiscalNumber":
            return q(a, "saml:AttributeValue")
    raise AssertionError("no fiscalNumber")


def _bad_fiscal_number(root):
    _fiscal_value(root).text = "TINIT-RSSMRA80A01H501X"  # wrong check character


def _fiscal_without_prefix(root):
    _fiscal_value(root).text = "RSSMRA80A01H501U"


def _remove_fiscal(root):
    v = _fiscal_value(root)
    a = v.getparent()
    a.getparent().remove(a)


RESIGNED_CASES += [
    ("98-attributestatement-empty", _empty_attribute_statement, "RS-80"),
    ("99-attributevalue-empty", _empty_attribute_value, "RS-80"),
    ("xx-fiscalnumber-bad-check-char", _bad_fiscal_number, "RS-80"),
    ("xx-fiscalnumber-without-tinit", _fiscal_without_prefix, "RS-80"),
    ("xx-fiscalnumber-missing", _remove_fiscal, "RS-82"),
]


def sessions(env):
    with sqlite3.connect(os.path.join(env.dir, "sp-data", "spid-sp.db")) as db:
        return db.execute("SELECT count(*) FROM sessions").fetchone()[0]


def assert_rejected(env, s, r, before, statuses=(400, 401, 403)):
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    assert "Location" not in r.headers          # never a redirect to an error page
    assert "spid_sp_session=" not in r.headers.get("Set-Cookie", "")
    assert "Torna alla pagina di accesso" in r.text   # a way back (AN-02)
    assert sessions(env) == before
    assert s.get(env.sp.url("/api/me"), timeout=TIMEOUT).status_code == 401


def genuine(env, **kw):
    return spidlib.get_genuine_response(env.sp, env.idp, **kw)


def post_edited(env, edit, what=("assertion", "response"), **kw):
    s, acs, xml, relay = genuine(env, **kw)
    root = ET.fromstring(xml)
    edit(root)
    if what:
        xml = spidlib.resign(root, env.idp.key, env.idp.cert, what=what)
    else:
        xml = spidlib.xml_of(root)
    before = sessions(env)
    return s, spidlib.post_response(s, acs, xml, relay), before


# An element without an ID cannot be signed: sign only the other one. An
# Assertion without ID therefore arrives unsigned and is refused as such (RS-20);
# RS-30 itself is covered row by row in tests/unit/test_spid_checks.c.
SIGN_ONLY = {
    "08-response-id-missing": ("assertion",),
    "09-response-id-empty": ("assertion",),
    "33-assertion-id-missing": ("response",),
    "34-assertion-id-empty": ("response",),
}


@pytest.mark.parametrize("case,edit,rule", RESIGNED_CASES, ids=[c[0] for c in RESIGNED_CASES])
def test_resigned_edit_rejected(spid_env, case, edit, rule):
    s, r, before = post_edited(spid_env, edit, what=SIGN_ONLY.get(case, ("assertion", "response")))
    assert_rejected(spid_env, s, r, before)
    last = [l for l in spid_env.sp.log_text().splitlines() if "rejected" in l][-1]
    assert "(%s)" % rule in last, last


# ------------------------------------------------------------ signatures (RS-20..RS-24)


def test_02_nothing_signed(spid_env):
    s, r, before = post_edited(spid_env, lambda root: None, what=())
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    for a in [root] + root.findall("saml:Assertion", NS):
        for sig in a.findall("ds:Signature", NS):
            a.remove(sig)
    before = sessions(spid_env)
    r = spidlib.post_response(s, acs, root, relay)
    assert_rejected(spid_env, s, r, before)


def test_03_response_signed_assertion_unsigned(spid_env):
    s, r, before = post_edited(spid_env, lambda root: None, what=("response",))
    assert_rejected(spid_env, s, r, before)
    assert spid_env.sp.loggrep("ASSERTION_UNSIGNED")


def test_04_tampered_after_signing(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    _fiscal_value(root).text = "TINIT-BNCGLI92C65F205C"   # another person, signature kept
    before = sessions(spid_env)
    r = spidlib.post_response(s, acs, root, relay)
    assert_rejected(spid_env, s, r, before)
    last = [l for l in spid_env.sp.log_text().splitlines() if "rejected" in l][-1]
    assert "SIGNATURE_INVALID" in last, last


def test_05_100_signed_by_another_key(spid_env, tmp_path):
    """Cases 5 and 100: a foreign key, its certificate embedded in KeyInfo."""
    key, cert = spidlib.make_keypair(str(tmp_path), "evil")
    s, r, before = post_edited(spid_env, lambda root: None)
    s, acs, xml, relay = genuine(spid_env)
    xml = spidlib.resign(xml, key, cert)
    before = sessions(spid_env)
    r = spidlib.post_response(s, acs, xml, relay)
    assert_rejected(spid_env, s, r, before)
    last = [l for l in spid_env.sp.log_text().splitlines() if "rejected" in l][-1]
    assert "SIGNATURE_INVALID" in last, last


def test_sha1_signatures_refused(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    xml = spidlib.resign(xml, spid_env.idp.key, spid_env.idp.cert, sig_alg=spidlib.RSA_SHA1,
                         digest_alg=spidlib.SHA1)
    before = sessions(spid_env)
    r = spidlib.post_response(s, acs, xml, relay)
    assert_rejected(spid_env, s, r, before)
    assert spid_env.sp.loggrep("SIGNATURE_ALGORITHM")


def test_sha1_assertion_only(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    xml = spidlib.resign(xml, spid_env.idp.key, spid_env.idp.cert, what=("assertion",),
                         sig_alg=spidlib.RSA_SHA1, digest_alg=spidlib.SHA1)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, relay), before)


def _clone_assertion(root, new_id, cf):
    import copy
    a = copy.deepcopy(A(root))
    a.set("ID", new_id)
    for sig in a.findall("ds:Signature", NS):
        a.remove(sig)
    for attr in a.findall("saml:AttributeStatement/saml:Attribute", NS):
        if attr.get("Name") == "fiscalNumber":
            q(attr, "saml:AttributeValue").text = "TINIT-" + cf
    return a


def test_wrap_two_signed_assertions(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    root.append(_clone_assertion(root, "_evil0000000000000000000000000001",
                                 "BNCGLI92C65F205C"))
    xml = spidlib.resign(root, spid_env.idp.key, spid_env.idp.cert)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, relay), before)


def test_wrap_evil_assertion_before_signed_one(spid_env):
    """XSW: an unsigned evil Assertion first, the genuine signed one after."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    evil = _clone_assertion(root, "_evil0000000000000000000000000002", "BNCGLI92C65F205C")
    root.insert(list(root).index(A(root)), evil)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


def test_wrap_signed_assertion_hidden_in_extensions(spid_env):
    """XSW: the signed Assertion moved into samlp:Extensions, an evil one in its place."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    good = A(root)
    evil = _clone_assertion(root, good.get("ID"), "BNCGLI92C65F205C")
    idx = list(root).index(good)
    root.remove(good)
    ext = ET.Element(SAMLP + "Extensions")
    ext.append(good)
    root.insert(1, ext)
    root.insert(idx + 1, evil)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


def test_wrap_evil_inside_signature_object(spid_env):
    """XSW: evil Assertion whose ds:Signature carries the original in ds:Object."""
    import copy
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    good = A(root)
    evil = _clone_assertion(root, good.get("ID"), "BNCGLI92C65F205C")
    sig = copy.deepcopy(q(good, "ds:Signature"))
    obj = ET.SubElement(sig, "{%s}Object" % NS["ds"])
    obj.append(copy.deepcopy(good))
    evil.insert(1, sig)
    root.replace(good, evil)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


def test_duplicate_ids(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    xml = spidlib.resign(xml, spid_env.idp.key, spid_env.idp.cert, what=("assertion",))
    root = ET.fromstring(xml)
    root.set("ID", A(root).get("ID"))  # the (unsigned) Response reuses the Assertion's ID
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


def test_xslt_transform_refused(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    tr = root.find("saml:Assertion/ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms",
                   NS)
    t = ET.SubElement(tr, "{%s}Transform" % NS["ds"],
                      Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116")
    t.text = "x"
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


def test_signed_entity_descriptor_before_unsigned_assertion(spid_env):
    """Validator cases 112/113: the first signature in the document is not the Assertion's."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    with open(spid_env.idp.metadata_path, "rb") as f:
        md = ET.fromstring(f.read())
    for sig in A(root).findall("ds:Signature", NS):
        A(root).remove(sig)
    root.insert(list(root).index(A(root)), md)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


# ------------------------------------------------------------ comments, DTD, size, garbage


def test_comment_inside_nameid(spid_env):
    """C14N drops comments, so the signature still verifies: the SP must refuse anyway."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    nid = q(root, A_ + "/saml:Subject/saml:NameID")
    text = nid.text.strip()
    nid.text = text[:4]
    c = ET.Comment("x")
    c.tail = text[4:]
    nid.append(c)
    before = sessions(spid_env)
    r = spidlib.post_response(s, acs, root, relay)
    assert_rejected(spid_env, s, r, before)
    assert spid_env.sp.loggrep("COMMENT")


def test_comment_inside_fiscal_number(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    v = _fiscal_value(root)
    v.text = "TINIT-BNC"
    c = ET.Comment("")
    c.tail = "GLI92C65F205C"
    v.append(c)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, root, relay), before)


def test_doctype_refused(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    xml = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x "y">]>\n' + body.lstrip()
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, relay), before)


def test_billion_laughs_refused(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    dtd = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i else b"&lol;") * 10)
                      for i in range(9)) + b"]>")
    xml = dtd + xml.split(b"?>", 1)[-1].lstrip()
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, relay), before)


def test_oversized_body(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    before = sessions(spid_env)
    big = base64.b64encode(xml + b" " * (700 * 1024)).decode()
    r = s.post(acs, data={"SAMLResponse": big, "RelayState": relay}, timeout=TIMEOUT)
    assert r.status_code == 413
    assert sessions(spid_env) == before
    # the pending request is still usable after a refused oversize body
    assert spidlib.post_response(s, acs, xml, relay).status_code == 302


@pytest.mark.parametrize("value", ["", "!!!", "PHNhbWxwOlJlc3BvbnNl", base64.b64encode(b"<a>").decode(),
                                   base64.b64encode(b"\x00\xff garbage").decode()])
def test_garbage_samlresponse(spid_env, value):
    s = requests.Session()
    before = sessions(spid_env)
    r = s.post(spid_env.sp.url("/spid/acs"), data={"SAMLResponse": value, "RelayState": "x"},
               timeout=TIMEOUT, allow_redirects=False)
    assert_rejected(spid_env, s, r, before)


# ------------------------------------------------------------ binding to the request (RS-90..92)


def test_replayed_response(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    first = spidlib.post_response(s, acs, xml, relay)
    assert first.status_code == 302
    before = sessions(spid_env)
    s2 = requests.Session()
    s2.cookies.update(s.cookies)
    s2.cookies.clear(domain="127.0.0.1", path="/", name="spid_sp_session") \
        if "spid_sp_session" in s2.cookies else None
    r = spidlib.post_response(s2, acs, xml, relay)
    assert_rejected(spid_env, s2, r, before)


def test_replayed_assertion_in_new_request(spid_env):
    """An assertion ID seen once is refused even inside an answer to a new request."""
    s1, acs, xml1, relay1 = genuine(spid_env)
    assert spidlib.post_response(s1, acs, xml1, relay1).status_code == 302
    s2, acs, xml2, relay2 = genuine(spid_env)
    root2 = ET.fromstring(xml2)
    A(root2).set("ID", A(ET.fromstring(xml1)).get("ID"))
    xml = spidlib.resign(root2, spid_env.idp.key, spid_env.idp.cert)
    before = sessions(spid_env)
    assert_rejected(spid_env, s2, spidlib.post_response(s2, acs, xml, relay2), before)


def test_other_browser_cannot_use_response(spid_env):
    """The pending request is bound to the browser that started it."""
    s, acs, xml, relay = genuine(spid_env)
    thief = requests.Session()
    before = sessions(spid_env)
    r = spidlib.post_response(thief, acs, xml, relay)
    assert_rejected(spid_env, thief, r, before)
    thief.cookies.set("spid_sp_login", "0" * 32)
    assert_rejected(spid_env, thief, spidlib.post_response(thief, acs, xml, relay), before)
    # the rightful browser still completes its login
    assert spidlib.post_response(s, acs, xml, relay).status_code == 302


def test_relay_state_mismatch(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, "f" * 32), before)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, None), before)


def test_unsolicited_response(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    root.attrib.pop("InResponseTo")
    q(root, SCD).attrib.pop("InResponseTo")
    xml = spidlib.resign(root, spid_env.idp.key, spid_env.idp.cert)
    before = sessions(spid_env)
    assert_rejected(spid_env, s, spidlib.post_response(s, acs, xml, relay), before)


def test_94_level_lower_than_requested(spid_env):
    s, acs, xml, relay = genuine(spid_env, level=1, request_level=2)
    before = sessions(spid_env)
    r = spidlib.post_response(s, acs, xml, relay)
    assert_rejected(spid_env, s, r, before)
    assert "livello" in r.text.lower()


def test_response_for_another_idp_request(start_spid_env):
    """RS-92: the IdP that answers must be the one the request was sent to: a
    second trusted IdP signing an answer to a request sent to the first."""
    env = start_spid_env()
    from conftest import start_devidp
    # a second dev IdP, trusted by nobody: its answer is refused at the Issuer
    other = start_devidp(env.dir + "/other", [env.sp_metadata], name="other-idp")
    try:
        s, acs, xml, relay = spidlib.get_genuine_response(env.sp, env.idp)
        root = ET.fromstring(xml)
        for el in (q(root, "saml:Issuer"), q(root, A_ + "/saml:Issuer")):
            el.text = other.entity_id
        xml = spidlib.resign(root, other.key, other.cert)
        before = sessions(env)
        assert_rejected(env, s, spidlib.post_response(s, acs, xml, relay), before)
    finally:
        problems = other.stop()
        assert not problems, problems
