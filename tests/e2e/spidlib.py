"""spidlib: a browser-like SPID client for the end-to-end tests.

It drives the SP (`spid-sp serve`) and the dev IdP (`spid-sp dev-idp`) the way
a browser does: cookies, the 302 or auto-POST form to the IdP, the IdP's
choice form, and the auto-POST of the SAMLResponse to the SP's ACS. Helpers
to edit and re-sign a genuine Response (xmlsec1 CLI) serve the negative
tests, one per RS- check. A small `FakeSP` plays an SP without the daemon so
the dev IdP can be tested on its own.
"""

import base64
import os
import subprocess
import tempfile
import urllib.parse
import zlib

import lxml.etree as ET
import lxml.html
import requests

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "spid": "https://spid.gov.it/saml-extensions",
}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
TIMEOUT = 30


class FlowError(AssertionError):
    """A step of the browser flow did not answer as a browser expects."""


# --------------------------------------------------------------- encodings


def deflate_b64(xml):
    """SAMLRequest for HTTP-Redirect: raw DEFLATE, then base64."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(xml) + c.flush()).decode("ascii")


def inflate_b64(value):
    return zlib.decompress(base64.b64decode(value), -15)


def quote(value):
    """Python quote_plus, the encoding the SP emits and signs (AR-44)."""
    return urllib.parse.quote_plus(value, safe="")


def xml_of(elem_or_bytes):
    if isinstance(elem_or_bytes, bytes):
        return elem_or_bytes
    return ET.tostring(elem_or_bytes)


# --------------------------------------------------------------- HTML forms


def parse_form(html, action_contains=None):
    """(action, method, {name: value}) of the first matching <form>."""
    doc = lxml.html.fromstring(html)
    for form in doc.forms:
        action = form.get("action") or ""
        if action_contains is not None and action_contains not in action:
            continue
        fields = {}
        for inp in form.inputs:
            name = inp.get("name")
            if name is None or inp.get("type") in ("submit", "button"):
                continue
            if inp.tag == "button":
                continue
            if inp.get("type") == "radio":
                if inp.get("checked") is not None:
                    fields[name] = inp.get("value")
                continue
            if inp.tag == "select":
                sel = [o.get("value") for o in inp.findall(".//option")
                       if o.get("selected") is not None]
                if sel:
                    fields[name] = sel[0]
                continue
            fields[name] = inp.get("value") or ""
        return action, (form.get("method") or "get").lower(), fields
    raise FlowError("no <form> (action containing %r) in page" % action_contains)


# --------------------------------------------------------------- the flow


def start_login(sp, idp, level=2, binding=None, next="/api/me", purpose=None,
                session=None):
    """GET /spid/login on the SP. Returns (session, idp_page_response).

    Follows a 302 to the IdP (HTTP-Redirect) or posts the 200 auto-submit
    form (HTTP-POST). binding ("redirect"/"post") asserts which one the SP
    used; None accepts either.
    """
    s = session or requests.Session()
    params = {"idp": idp.entity_id, "level": str(level)}
    if next is not None:
        params["next"] = next
    if purpose is not None:
        params["purpose"] = purpose
    r = s.get(sp.url("/spid/login"), params=params, allow_redirects=False,
              timeout=TIMEOUT)
    if r.status_code in (302, 303):
        if binding not in (None, "redirect"):
            raise FlowError("SP used HTTP-Redirect, expected %s" % binding)
        r2 = s.get(r.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    elif r.status_code == 200:
        if binding not in (None, "post"):
            raise FlowError("SP used HTTP-POST, expected %s" % binding)
        action, method, fields = parse_form(r.text)
        if method != "post" or "SAMLRequest" not in fields:
            raise FlowError("SP login page is not a SAMLRequest auto-POST form")
        r2 = s.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)
    else:
        raise FlowError("GET /spid/login answered %d: %s" % (r.status_code, r.text[:300]))
    return s, r2


def choose(session, idp, page, identity="citizen", level=2, anomaly=None, cancel=False):
    """Submit the IdP's choice page; returns the IdP's answer (auto-POST page)."""
    if page.status_code != 200:
        raise FlowError("IdP answered %d: %s" % (page.status_code, page.text[:500]))
    action, method, fields = parse_form(page.text, "/sso/respond")
    fields["identity"] = identity
    fields["level"] = str(level)
    fields["anomaly"] = anomaly or "none"
    fields["action"] = "cancel" if cancel else "login"
    return session.post(urllib.parse.urljoin(page.url, action), data=fields,
                        allow_redirects=False, timeout=TIMEOUT)


def parse_autosubmit(page):
    """(acs_url, SAMLResponse base64, RelayState or None) of an auto-POST page."""
    if page.status_code != 200:
        raise FlowError("IdP answered %d: %s" % (page.status_code, page.text[:500]))
    action, method, fields = parse_form(page.text)
    if method != "post" or "SAMLResponse" not in fields:
        raise FlowError("IdP page is not a SAMLResponse auto-POST form")
    return action, fields["SAMLResponse"], fields.get("RelayState")


def post_response(session, acs_url, xml, relay):
    """POST a Response (XML bytes, an lxml element, or base64 text) to the ACS."""
    if isinstance(xml, str):
        b64 = xml
    else:
        b64 = base64.b64encode(xml_of(xml)).decode("ascii")
    data = {"SAMLResponse": b64}
    if relay is not None:
        data["RelayState"] = relay
    return session.post(acs_url, data=data, allow_redirects=False, timeout=TIMEOUT)


def get_genuine_response(sp, idp, identity="citizen", level=2, binding=None,
                         next="/api/me", anomaly=None, purpose=None, request_level=None,
                         cancel=False, session=None):
    """Run the flow up to the ACS POST, without sending it.

    Returns (sp_session, acs_url, SAMLResponse XML bytes, RelayState).
    level is what the IdP asserts; request_level (default: level) is what
    the SP asks for.
    """
    s, page = start_login(sp, idp, level=request_level or level, binding=binding,
                          next=next, purpose=purpose, session=session)
    answer = choose(s, idp, page, identity=identity, level=level, anomaly=anomaly,
                    cancel=cancel)
    acs, b64, relay = parse_autosubmit(answer)
    return s, acs, base64.b64decode(b64), relay


def login(sp, idp, identity="citizen", level=2, binding=None, next="/api/me",
          anomaly=None, purpose=None, request_level=None, cancel=False, session=None):
    """The whole browser login; returns the ACS's requests.Response (302 not followed).

    The session that holds the SP cookies is in the returned response's
    `.spid_session` attribute.
    """
    s, acs, xml, relay = get_genuine_response(
        sp, idp, identity=identity, level=level, binding=binding, next=next,
        anomaly=anomaly, purpose=purpose, request_level=request_level, cancel=cancel,
        session=session)
    r = post_response(s, acs, xml, relay)
    r.spid_session = s
    return r


def login_from_page(session, page, idp, identity="citizen", level=2, anomaly=None):
    """Log in from the SP's login page the way a person does: click the IdP's
    link in the SPID button (it carries level and next), pick the identity at
    the dev IdP, let the auto-POST reach the ACS.

    page is the requests.Response of the login page (its .url resolves the
    relative links, so this works through a front proxy). Returns the ACS's
    requests.Response (302 not followed), with .spid_session = session.
    """
    if page.status_code != 200:
        raise FlowError("login page answered %d: %s" % (page.status_code, page.text[:300]))
    doc = lxml.html.fromstring(page.text)
    links = [a.get("href") for a in doc.iter("a") if a.get("data-idp") == idp.entity_id]
    if not links:
        raise FlowError("no link for IdP %s on the login page" % idp.entity_id)
    r = session.get(urllib.parse.urljoin(page.url, links[0]), allow_redirects=False,
                    timeout=TIMEOUT)
    if r.status_code in (302, 303):
        idp_page = session.get(urllib.parse.urljoin(r.url, r.headers["Location"]),
                               allow_redirects=False, timeout=TIMEOUT)
    elif r.status_code == 200:
        action, method, fields = parse_form(r.text)
        if method != "post" or "SAMLRequest" not in fields:
            raise FlowError("SP login answer is not a SAMLRequest auto-POST form")
        idp_page = session.post(urllib.parse.urljoin(r.url, action), data=fields,
                                allow_redirects=False, timeout=TIMEOUT)
    else:
        raise FlowError("IdP link answered %d: %s" % (r.status_code, r.text[:300]))
    answer = choose(session, idp, idp_page, identity=identity, level=level, anomaly=anomaly)
    acs, b64, relay = parse_autosubmit(answer)
    out = post_response(session, acs, b64, relay)
    out.spid_session = session
    return out


# --------------------------------------------------------------- XML signing


def signature_template(ref_id, sig_alg=RSA_SHA256, digest_alg=SHA256):
    ds = "{%s}" % NS["ds"]
    sig = ET.Element(ds + "Signature", nsmap={"ds": NS["ds"]})
    si = ET.SubElement(sig, ds + "SignedInfo")
    ET.SubElement(si, ds + "CanonicalizationMethod", Algorithm=EXC_C14N)
    ET.SubElement(si, ds + "SignatureMethod", Algorithm=sig_alg)
    ref = ET.SubElement(si, ds + "Reference", URI="#" + ref_id)
    tr = ET.SubElement(ref, ds + "Transforms")
    ET.SubElement(tr, ds + "Transform", Algorithm=ENVELOPED)
    ET.SubElement(tr, ds + "Transform", Algorithm=EXC_C14N)
    ET.SubElement(ref, ds + "DigestMethod", Algorithm=digest_alg)
    ET.SubElement(ref, ds + "DigestValue")
    ET.SubElement(sig, ds + "SignatureValue")
    ki = ET.SubElement(sig, ds + "KeyInfo")
    ET.SubElement(ki, ds + "X509Data")
    return sig


def _strip_signatures(elem):
    for old in elem.findall("ds:Signature", NS):
        elem.remove(old)


def _insert_template(elem, sig_alg, digest_alg):
    """Put a signature template right after the element's Issuer (or first)."""
    tmpl = signature_template(elem.get("ID"), sig_alg, digest_alg)
    issuer = elem.find("saml:Issuer", NS)
    pos = list(elem).index(issuer) + 1 if issuer is not None else 0
    elem.insert(pos, tmpl)


def xmlsec_sign(xml, key, cert, id_nodes):
    """Sign the first ds:Signature template in document order with xmlsec1."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.xml")
        dst = os.path.join(d, "out.xml")
        with open(src, "wb") as f:
            f.write(xml)
        cmd = ["xmlsec1", "--sign", "--privkey-pem", "%s,%s" % (key, cert)]
        for node in id_nodes:
            cmd += ["--id-attr:ID", node]
        cmd += ["--output", dst, src]
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("xmlsec1 --sign failed: %s" % p.stderr.decode(errors="replace"))
        with open(dst, "rb") as f:
            return f.read()


_ID_NODES = ["urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
             "urn:oasis:names:tc:SAML:2.0:protocol:Response"]


def resign(xml, key, cert, what=("assertion", "response"), sig_alg=RSA_SHA256,
           digest_alg=SHA256):
    """Re-sign an edited Response with the IdP key; returns XML bytes.

    Every old ds:Signature of the Response and its direct Assertion children
    is removed; the elements named in `what` get a fresh enveloped
    exc-c14n/rsa-sha256/sha256 signature after their Issuer (the Assertion
    first, so the Response signature covers the signed Assertion). Elements
    not in `what` stay unsigned.
    """
    root = ET.fromstring(xml_of(xml))
    assertions = root.findall("saml:Assertion", NS)
    _strip_signatures(root)
    for a in assertions:
        _strip_signatures(a)
    if "assertion" in what:
        for i in range(len(assertions)):
            # one template at a time: xmlsec1 signs the first one it finds
            root = ET.fromstring(xml_of(root))
            a = root.findall("saml:Assertion", NS)[i]
            _insert_template(a, sig_alg, digest_alg)
            root = ET.fromstring(xmlsec_sign(xml_of(root), key, cert, _ID_NODES))
    if "response" in what:
        _insert_template(root, sig_alg, digest_alg)
        root = ET.fromstring(xmlsec_sign(xml_of(root), key, cert, _ID_NODES))
    return xml_of(root)


# --------------------------------------------------------------- a fake SP


def make_keypair(directory, name, cn="spid-sp e2e"):
    """A throwaway RSA-2048 key and self-signed certificate (openssl CLI)."""
    key = os.path.join(directory, name + "-key.pem")
    cert = os.path.join(directory, name + "-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=" + cn],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return key, cert


def cert_b64(cert_path):
    with open(cert_path) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("-----")]
    return "".join(lines)


def openssl_sign(data, key, digest="sha256"):
    p = subprocess.run(["openssl", "dgst", "-" + digest, "-sign", key], input=data,
                       capture_output=True, check=True, timeout=60)
    return p.stdout


class FakeSP:
    """An SP played by the test itself: metadata, AuthnRequests, signatures."""

    def __init__(self, directory, entity_id="https://sp.e2e.example/metadata",
                 acs_url="https://sp.e2e.example/spid/acs", services=None):
        self.dir = directory
        self.entity_id = entity_id
        self.acs_url = acs_url
        self.key, self.cert = make_keypair(directory, "fakesp")
        self.services = services or {0: ["spidCode", "name", "familyName", "fiscalNumber",
                                         "email", "dateOfBirth"],
                                     1: ["name", "familyName", "fiscalNumber", "companyName",
                                         "companyFiscalNumber", "ivaCode",
                                         "registeredOffice", "digitalAddress"]}
        self.metadata_path = os.path.join(directory, "fakesp-metadata.xml")
        with open(self.metadata_path, "wb") as f:
            f.write(self.metadata())

    def metadata(self):
        md = "{%s}" % NS["md"]
        ds = "{%s}" % NS["ds"]
        root = ET.Element(md + "EntityDescriptor", nsmap={"md": NS["md"], "ds": NS["ds"]},
                          entityID=self.entity_id)
        sp = ET.SubElement(root, md + "SPSSODescriptor",
                           protocolSupportEnumeration=NS["samlp"],
                           AuthnRequestsSigned="true", WantAssertionsSigned="true")
        kd = ET.SubElement(sp, md + "KeyDescriptor", use="signing")
        ki = ET.SubElement(kd, ds + "KeyInfo")
        x5 = ET.SubElement(ET.SubElement(ki, ds + "X509Data"), ds + "X509Certificate")
        x5.text = cert_b64(self.cert)
        ET.SubElement(sp, md + "SingleLogoutService", Binding=HTTP_REDIRECT,
                      Location=self.acs_url.replace("/acs", "/slo"))
        ET.SubElement(sp, md + "NameIDFormat").text = TRANSIENT
        ET.SubElement(sp, md + "AssertionConsumerService", Binding=HTTP_POST,
                      Location=self.acs_url, index="0", isDefault="true")
        for idx, names in sorted(self.services.items()):
            acs = ET.SubElement(sp, md + "AttributeConsumingService", index=str(idx))
            sn = ET.SubElement(acs, md + "ServiceName")
            sn.set("{http://www.w3.org/XML/1998/namespace}lang", "it")
            sn.text = "Servizio %d" % idx
            for n in names:
                ET.SubElement(acs, md + "RequestedAttribute", Name=n)
        return ET.tostring(root, xml_declaration=True, encoding="UTF-8")

    def authn_request(self, destination, level=2, req_id="_e2e0123456789abcdef0123456789abcd",
                      issue_instant=None, force_authn=True, is_passive=None,
                      allow_create=None, attr_index=0, acs_index=0, purpose=None,
                      comparison="minimum", class_ref=None, with_authn_context=True):
        """An AuthnRequest element; pass None to leave an attribute out."""
        import datetime
        samlp = "{%s}" % NS["samlp"]
        saml = "{%s}" % NS["saml"]
        if issue_instant is None:
            issue_instant = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        root = ET.Element(samlp + "AuthnRequest",
                          nsmap={"samlp": NS["samlp"], "saml": NS["saml"]},
                          ID=req_id, Version="2.0", IssueInstant=issue_instant,
                          Destination=destination)
        if force_authn is not None:
            root.set("ForceAuthn", "true" if force_authn else "false")
        if is_passive is not None:
            root.set("IsPassive", is_passive)
        if acs_index is not None:
            root.set("AssertionConsumerServiceIndex", str(acs_index))
        if attr_index is not None:
            root.set("AttributeConsumingServiceIndex", str(attr_index))
        iss = ET.SubElement(root, saml + "Issuer", Format=ENTITY, NameQualifier=self.entity_id)
        iss.text = self.entity_id
        if purpose is not None:
            ext = ET.SubElement(root, samlp + "Extensions", nsmap={"spid": NS["spid"]})
            ET.SubElement(ext, "{%s}Purpose" % NS["spid"]).text = purpose
        pol = ET.SubElement(root, samlp + "NameIDPolicy", Format=TRANSIENT)
        if allow_create is not None:
            pol.set("AllowCreate", allow_create)
        if with_authn_context:
            rac = ET.SubElement(root, samlp + "RequestedAuthnContext", Comparison=comparison)
            ET.SubElement(rac, saml + "AuthnContextClassRef").text = (
                class_ref or "https://www.spid.gov.it/SpidL%d" % level)
        return root

    def redirect_query(self, request, relay="e2e0relay0state", sign=True, key=None,
                       sig_alg=RSA_SHA256, digest="sha256"):
        """The signed HTTP-Redirect query string (AR-41..AR-44)."""
        parts = ["SAMLRequest=" + quote(deflate_b64(xml_of(request)))]
        if relay is not None:
            parts.append("RelayState=" + quote(relay))
        if not sign:
            return "&".join(parts)
        parts.append("SigAlg=" + quote(sig_alg))
        signed = "&".join(parts).encode("ascii")
        sig = openssl_sign(signed, key or self.key, digest)
        return "&".join(parts) + "&Signature=" + quote(base64.b64encode(sig).decode())

    def post_fields(self, request, relay="e2e0relay0state", sign=True, key=None, cert=None):
        """SAMLRequest (+ RelayState) form fields for HTTP-POST, XML-signed."""
        xml = xml_of(request)
        if sign:
            root = ET.fromstring(xml)
            _insert_template(root, RSA_SHA256, SHA256)
            xml = xmlsec_sign(xml_of(root), key or self.key, cert or self.cert,
                              ["urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest"])
        fields = {"SAMLRequest": base64.b64encode(xml).decode("ascii")}
        if relay is not None:
            fields["RelayState"] = relay
        return fields


# --------------------------------------------------------------- single logout

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_PARTIAL = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
STATUS_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
LOGOUT_ID_NODES = ["urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
                   "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse"]


def utc_instant(offset_seconds=0, ms=True):
    import datetime
    t = datetime.datetime.utcnow() + datetime.timedelta(seconds=offset_seconds)
    if ms:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def fresh_id():
    return "_" + os.urandom(16).hex()


def query_params(url_or_query):
    """[(name, raw value)] of a query string (or URL), in order, not decoded."""
    q = urllib.parse.urlsplit(url_or_query).query if "?" in url_or_query else url_or_query
    out = []
    for part in q.split("&"):
        if part:
            name, _, raw = part.partition("=")
            out.append((name, raw))
    return out


def redirect_message(url):
    """(parameter name, XML root, {name: decoded value}) of a SAML HTTP-Redirect URL."""
    params = dict(query_params(url))
    name = "SAMLRequest" if "SAMLRequest" in params else "SAMLResponse"
    decoded = {k: urllib.parse.unquote_plus(v) for k, v in params.items()}
    return name, ET.fromstring(inflate_b64(decoded[name])), decoded


def verify_redirect_signature(url, cert_path):
    """True when the query signature verifies with the certificate (SAML bindings order)."""
    params = dict(query_params(url))
    name = "SAMLRequest" if "SAMLRequest" in params else "SAMLResponse"
    parts = [name + "=" + params[name]]
    if "RelayState" in params:
        parts.append("RelayState=" + params["RelayState"])
    parts.append("SigAlg=" + params["SigAlg"])
    signed = "&".join(parts).encode("ascii")
    sig = base64.b64decode(urllib.parse.unquote_plus(params["Signature"]))
    with tempfile.TemporaryDirectory() as d:
        pub, sigf = os.path.join(d, "pub.pem"), os.path.join(d, "sig")
        with open(pub, "wb") as f:
            f.write(subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"],
                                   capture_output=True, check=True, timeout=60).stdout)
        with open(sigf, "wb") as f:
            f.write(sig)
        p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sigf],
                           input=signed, capture_output=True, timeout=60)
        return p.returncode == 0


def xmlsec_verify(xml, cert_path, id_nodes=LOGOUT_ID_NODES):
    """True when xmlsec1 verifies the first signature of xml with the certificate."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.xml")
        with open(src, "wb") as f:
            f.write(xml_of(xml))
        cmd = ["xmlsec1", "--verify", "--pubkey-cert-pem", cert_path]
        for node in id_nodes:
            cmd += ["--id-attr:ID", node]
        p = subprocess.run(cmd + [src], capture_output=True, timeout=60)
        return p.returncode == 0


def logout_request(issuer, destination, name_id, name_qualifier=None, session_index=None,
                   req_id=None, issue_instant=None, not_on_or_after=None):
    """A samlp:LogoutRequest element (SLO-11 shape) sent by issuer."""
    samlp, saml = "{%s}" % NS["samlp"], "{%s}" % NS["saml"]
    root = ET.Element(samlp + "LogoutRequest", nsmap={"samlp": NS["samlp"], "saml": NS["saml"]},
                      ID=req_id or fresh_id(), Version="2.0",
                      IssueInstant=issue_instant or utc_instant(), Destination=destination)
    if not_on_or_after is not None:
        root.set("NotOnOrAfter", not_on_or_after)
    iss = ET.SubElement(root, saml + "Issuer", Format=ENTITY, NameQualifier=issuer)
    iss.text = issuer
    nid = ET.SubElement(root, saml + "NameID", Format=TRANSIENT)
    if name_qualifier is not None:
        nid.set("NameQualifier", name_qualifier)
    nid.text = name_id
    if session_index is not None:
        ET.SubElement(root, samlp + "SessionIndex").text = session_index
    return root


def logout_response(issuer, destination, in_response_to, status=STATUS_SUCCESS,
                    sub_status=None, resp_id=None, issue_instant=None):
    """A samlp:LogoutResponse element (SLO-22 shape) sent by issuer."""
    samlp, saml = "{%s}" % NS["samlp"], "{%s}" % NS["saml"]
    root = ET.Element(samlp + "LogoutResponse", nsmap={"samlp": NS["samlp"], "saml": NS["saml"]},
                      ID=resp_id or fresh_id(), Version="2.0",
                      IssueInstant=issue_instant or utc_instant(), Destination=destination)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    iss = ET.SubElement(root, saml + "Issuer", Format=ENTITY, NameQualifier=issuer)
    iss.text = issuer
    st = ET.SubElement(ET.SubElement(root, samlp + "Status"), samlp + "StatusCode", Value=status)
    if sub_status is not None:
        ET.SubElement(st, samlp + "StatusCode", Value=sub_status)
    return root


def redirect_query(param, xml, key, relay=None, sign=True, sig_alg=RSA_SHA256,
                   digest="sha256"):
    """A signed HTTP-Redirect query for SAMLRequest / SAMLResponse (AR-41..AR-44)."""
    parts = [param + "=" + quote(deflate_b64(xml_of(xml)))]
    if relay is not None:
        parts.append("RelayState=" + quote(relay))
    if not sign:
        return "&".join(parts)
    parts.append("SigAlg=" + quote(sig_alg))
    sig = openssl_sign("&".join(parts).encode("ascii"), key, digest)
    return "&".join(parts) + "&Signature=" + quote(base64.b64encode(sig).decode())


def post_message(xml, key, cert, sign=True, sig_alg=RSA_SHA256, digest_alg=SHA256):
    """base64 of a logout message for HTTP-POST, enveloped-signed after its Issuer."""
    data = xml_of(xml)
    if sign:
        root = ET.fromstring(data)
        _strip_signatures(root)
        _insert_template(root, sig_alg, digest_alg)
        data = xmlsec_sign(xml_of(root), key, cert, LOGOUT_ID_NODES)
    return base64.b64encode(data).decode("ascii")
