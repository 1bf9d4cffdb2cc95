"""SPID login through the real daemon and the dev IdP: both bindings, every
level, the return path, sessions (idle timeout, absolute lifetime, logout),
the tolerated Response variants of spec §3.4 and the login-start refusals."""

import base64
import datetime
import os
import sqlite3

import pytest
import requests

import spidlib
from spidlib import NS, ET

TIMEOUT = 30


def sp_db(env):
    return sqlite3.connect(os.path.join(env.dir, "sp-data", "spid-sp.db"))


def session_count(env):
    with sp_db(env) as db:
        return db.execute("SELECT count(*) FROM sessions").fetchone()[0]


def request_instant(env, request_id):
    with sp_db(env) as db:
        row = db.execute("SELECT issue_instant_ms FROM authn_requests WHERE id = ?",
                         (request_id,)).fetchone()
    return row[0]


def iso(ms, digits=3):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    frac = "%06d" % t.microsecond
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac[:digits] if digits else "") + "Z"


def me(session, env):
    return session.get(env.sp.url("/api/me"), timeout=TIMEOUT)


# ------------------------------------------------------------ happy paths


@pytest.mark.parametrize("level", [1, 2, 3])
def test_login_redirect_binding_each_level(spid_env, level):
    r = spidlib.login(spid_env.sp, spid_env.idp, identity="citizen", level=level,
                      request_level=level, binding="redirect", next="/api/me")
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/api/me"
    cookie = r.headers.get("Set-Cookie", "")
    assert "spid_sp_session=" in cookie and "HttpOnly" in cookie and "SameSite=" in cookie
    assert "Secure" not in cookie  # base URL is http here
    m = me(r.spid_session, spid_env)
    assert m.status_code == 200
    j = m.json()
    assert j["fiscal_number"] == "RSSMRA80A01H501U"
    assert j["name"] == "Mario" and j["family_name"] == "Rossi"
    assert j["session"]["method"] == "spid"
    assert j["session"]["spid_level"] == level
    assert j["session"]["idp"] == spid_env.idp.entity_id


def test_login_post_binding(start_spid_env):
    env = start_spid_env({"sp": {"binding": "post"}})
    s = requests.Session()
    r = s.get(env.sp.url("/spid/login"), params={"idp": env.idp.entity_id, "level": "2"},
              allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200
    assert 'name="SAMLRequest"' in r.text and 'name="RelayState"' in r.text
    assert 'method="post"' in r.text
    r = spidlib.login(env.sp, env.idp, identity="pensioner", level=2, binding="post",
                      next="/")
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/"
    assert me(r.spid_session, env).json()["fiscal_number"] == "FOXDRA26C24L219Y"


def test_higher_level_than_requested_is_accepted(spid_env):
    r = spidlib.login(spid_env.sp, spid_env.idp, level=3, request_level=2)
    assert r.status_code == 302, r.text
    assert me(r.spid_session, spid_env).json()["session"]["spid_level"] == 3


def test_all_identities_update_one_record(spid_env):
    for ident, cf in (("citizen", "RSSMRA80A01H501U"), ("professional", "BNCGLI92C65F205C"),
                      ("company", "SPSGFR75S30F839F")):
        r = spidlib.login(spid_env.sp, spid_env.idp, identity=ident)
        assert r.status_code == 302, r.text
        assert me(r.spid_session, spid_env).json()["fiscal_number"] == cf
    r = spidlib.login(spid_env.sp, spid_env.idp, identity="citizen")
    with sp_db(spid_env) as db:
        n = db.execute("SELECT count(*) FROM users WHERE cf = 'RSSMRA80A01H501U'").fetchone()[0]
        ids = db.execute("SELECT count(*) FROM identities WHERE user_cf = 'RSSMRA80A01H501U'"
                         " AND method = 'spid'").fetchone()[0]
    assert n == 1 and ids == 1


def test_new_session_id_on_every_login(spid_env):
    a = spidlib.login(spid_env.sp, spid_env.idp)
    b = spidlib.login(spid_env.sp, spid_env.idp, session=a.spid_session)
    assert a.spid_session.cookies.get("spid_sp_session") is not None
    ta = a.headers["Set-Cookie"].split("spid_sp_session=")[1].split(";")[0]
    tb = b.headers["Set-Cookie"].split("spid_sp_session=")[1].split(";")[0]
    assert ta != tb and len(ta) == 32


def test_session_tokens_not_stored_in_clear(spid_env):
    r = spidlib.login(spid_env.sp, spid_env.idp)
    token = r.spid_session.cookies.get("spid_sp_session")
    with sp_db(spid_env) as db:
        rows = [x[0] for x in db.execute("SELECT id_hash FROM sessions")]
    assert token not in rows and all(len(x) == 64 for x in rows)


# ------------------------------------------------------------ tolerated variants (spec §3.4)


def genuine(env, **kw):
    return spidlib.get_genuine_response(env.sp, env.idp, **kw)


def test_unsigned_response_signed_assertion_accepted(spid_env):
    s, acs, xml, relay = genuine(spid_env)
    xml = spidlib.resign(xml, spid_env.idp.key, spid_env.idp.cert, what=("assertion",))
    r = spidlib.post_response(s, acs, xml, relay)
    assert r.status_code == 302, r.text


def test_response_issuer_without_format_accepted(spid_env):
    """Case 31: Response Issuer Format omitted."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    root.find("saml:Issuer", NS).attrib.pop("Format", None)
    r = spidlib.post_response(s, acs, spidlib.resign(root, spid_env.idp.key,
                                                     spid_env.idp.cert), relay)
    assert r.status_code == 302, r.text


def test_xml_declaration_accepted(spid_env):
    """Case 109: an XML declaration before the Response."""
    s, acs, xml, relay = genuine(spid_env)
    if not xml.lstrip().startswith(b"<?xml"):
        xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + xml
    r = spidlib.post_response(s, acs, xml, relay)
    assert r.status_code == 302, r.text


def test_microsecond_instants_accepted(spid_env):
    """Case 110: IssueInstant with six fractional digits."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    root.set("IssueInstant", now)
    root.find("saml:Assertion", NS).set("IssueInstant", now)
    r = spidlib.post_response(s, acs, spidlib.resign(root, spid_env.idp.key,
                                                     spid_env.idp.cert), relay)
    assert r.status_code == 302, r.text


def test_issue_instant_equal_to_request_accepted(spid_env):
    """RS-13: the spid-sp-test IdP copies the request IssueInstant."""
    s, acs, xml, relay = genuine(spid_env)
    root = ET.fromstring(xml)
    inst = iso(request_instant(spid_env, root.get("InResponseTo")))
    root.set("IssueInstant", inst)
    root.find("saml:Assertion", NS).set("IssueInstant", inst)
    r = spidlib.post_response(s, acs, spidlib.resign(root, spid_env.idp.key,
                                                     spid_env.idp.cert), relay)
    assert r.status_code == 302, r.text


# ------------------------------------------------------------ sessions


def test_logout_ends_session(spid_env):
    r = spidlib.login(spid_env.sp, spid_env.idp)
    s = r.spid_session
    assert me(s, spid_env).status_code == 200
    out = s.get(spid_env.sp.url("/logout"), timeout=TIMEOUT)
    assert out.status_code == 200
    assert "Max-Age=0" in out.headers.get("Set-Cookie", "")
    # the old token is dead even if a client kept it
    r2 = requests.get(spid_env.sp.url("/api/me"), timeout=TIMEOUT,
                      cookies={"spid_sp_session": r.headers["Set-Cookie"].split("=")[1]
                               .split(";")[0]})
    assert r2.status_code == 401


def test_no_session_is_401(spid_env):
    assert requests.get(spid_env.sp.url("/api/me"), timeout=TIMEOUT).status_code == 401
    r = requests.get(spid_env.sp.url("/api/me"), timeout=TIMEOUT,
                     cookies={"spid_sp_session": "0" * 32})
    assert r.status_code == 401


def move_clock(env, seconds):
    r = requests.post(env.sp.url("/test/clock"), params={"offset_ms": str(seconds * 1000)},
                      timeout=TIMEOUT)
    assert r.status_code == 200


def test_idle_timeout(start_spid_env):
    env = start_spid_env({"sp": {"session_idle": "120", "session_lifetime": "3600"}})
    r = spidlib.login(env.sp, env.idp)
    s = r.spid_session
    move_clock(env, 100)
    assert me(s, env).status_code == 200  # activity refreshes the idle timer
    move_clock(env, 200)
    assert me(s, env).status_code == 200
    move_clock(env, 200 + 121)
    assert me(s, env).status_code == 401
    assert env.sp.loggrep("session expired")


def test_absolute_lifetime(start_spid_env):
    env = start_spid_env({"sp": {"session_idle": "600", "session_lifetime": "900"}})
    s = spidlib.login(env.sp, env.idp).spid_session
    for t in (500, 850):
        move_clock(env, t)
        assert me(s, env).status_code == 200
    move_clock(env, 901)
    assert me(s, env).status_code == 401


def test_pending_request_expires(start_spid_env):
    env = start_spid_env({"sp": {"request_ttl": "120"}})
    s, acs, xml, relay = genuine(env)
    move_clock(env, 121)
    before = session_count(env)
    r = spidlib.post_response(s, acs, xml, relay)
    assert r.status_code == 403, r.text
    assert "scaduta" in r.text
    assert session_count(env) == before


# ------------------------------------------------------------ login start refusals


@pytest.mark.parametrize("params,needle", [
    ({}, "gestore"),
    ({"idp": "https://unknown.example"}, "non è tra quelli ammessi"),
    ({"level": "4"}, "livello"),
    ({"level": "x"}, "livello"),
    ({"purpose": "ZZ"}, "tipo di identità"),
    ({"next": "https://evil.example/"}, "ritorno"),
    ({"next": "//evil.example/"}, "ritorno"),
    ({"next": "///evil.example/"}, "ritorno"),
    ({"next": "/\\evil.example/"}, "ritorno"),
    ({"next": "\\\\evil.example/"}, "ritorno"),
    ({"next": "/%2F%2Fevil.example"}, "ritorno"),
    ({"next": "/%5Cevil.example"}, "ritorno"),
    ({"next": "javascript:alert(1)"}, "ritorno"),
    ({"next": "/ok\r\nSet-Cookie: x=1"}, "ritorno"),
])
def test_login_start_refusals(spid_env, params, needle):
    q = {"idp": spid_env.idp.entity_id, "level": "2"}
    q.update(params)
    if "idp" in params or params == {}:
        q.pop("idp") if params == {} else None
    r = requests.get(spid_env.sp.url("/spid/login"), params=q, allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 400, r.text
    assert needle in r.text
    assert "Location" not in r.headers


def test_repeated_parameter_refused(spid_env):
    url = spid_env.sp.url("/spid/login") + "?idp=%s&idp=%s&level=2" % (
        spidlib.quote(spid_env.idp.entity_id), spidlib.quote(spid_env.idp.entity_id))
    r = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400


def test_login_page_lists_idps(spid_env):
    r = requests.get(spid_env.sp.url("/"), timeout=TIMEOUT)
    assert r.status_code == 200
    assert "Entra con SPID" in r.text
    assert "SPID Test IdP" in r.text
    assert 'aria-haspopup="true"' in r.text


def test_metadata_served(spid_env):
    r = requests.get(spid_env.sp.url("/metadata"), timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/samlmetadata+xml")
    root = ET.fromstring(r.content)
    assert root.get("entityID") == spid_env.sp.entity_id
    with open(spid_env.sp_metadata, "rb") as f:
        disk = ET.fromstring(f.read())
    assert disk.get("entityID") == root.get("entityID")


def test_unknown_route_and_method(spid_env):
    assert requests.get(spid_env.sp.url("/nope"), timeout=TIMEOUT).status_code == 404
    assert requests.get(spid_env.sp.url("/spid/acs"), timeout=TIMEOUT).status_code == 405
    assert requests.post(spid_env.sp.url("/test/clock-nope"), timeout=TIMEOUT).status_code == 404


def test_security_headers(spid_env):
    r = requests.get(spid_env.sp.url("/"), timeout=TIMEOUT)
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_https_base_url_sets_secure_cookies(start_spid_env, spid_env):
    """Behind TLS the binding cookie must survive the IdP's cross-site POST
    (SameSite=None; Secure); over plain http (development) cookies stay Lax."""
    port = spid_env.sp.base_url.rsplit(":", 1)[1]
    env = start_spid_env({"sp": {"base_url": "https://127.0.0.1:%s" % port}})
    r = requests.get(env.sp.url("/spid/login"), params={"idp": env.idp.entity_id, "level": "2"},
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (200, 302), r.text
    c = r.headers["Set-Cookie"]
    assert "spid_sp_login=" in c and "SameSite=None" in c and "Secure" in c and "HttpOnly" in c
    r = requests.get(spid_env.sp.url("/spid/login"),
                     params={"idp": spid_env.idp.entity_id, "level": "2"},
                     allow_redirects=False, timeout=TIMEOUT)
    c = r.headers["Set-Cookie"]
    assert "SameSite=Lax" in c and "Secure" not in c
