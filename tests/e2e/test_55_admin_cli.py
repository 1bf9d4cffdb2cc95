"""The operator's commands (org, role, delegation, user show) against the
database of a running SP, and what SPID logins leave in the record: the
identity, the attributes per source, role suggestions from company logins,
the company pre-selected for a legal representative, the audit trail."""

import json
import subprocess

import pytest
import requests

from conftest import SpidEnv, binary_path, sanitizer_env
import spidlib

COMPANY = "00159560366"  # companyFiscalNumber of the test IdP's "company" identity
REP = "SPSGFR75S30F839F"
CITIZEN = "RSSMRA80A01H501U"
PRO = "BNCGLI92C65F205C"
PENSIONER = "FOXDRA26C24L219Y"
PATRONATO = "00743110157"

ATTRS = ("spidCode fiscalNumber name familyName dateOfBirth gender placeOfBirth email "
         "mobilePhone companyName companyFiscalNumber ivaCode")


@pytest.fixture(scope="module")
def env():
    e = SpidEnv({"attributes.0": {"attributes": ATTRS}})
    yield e
    problems = e.close()
    assert not problems, problems


def cli(env, *args):
    return subprocess.run([binary_path()] + list(args) + ["--config", env.config],
                          capture_output=True, text=True, env=sanitizer_env(), timeout=120)


def audit_entries(env):
    p = cli(env, "audit", "export")
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def test_org_add_and_errors(env):
    p = cli(env, "org", "add", PATRONATO, "--kind", "patronato", "--name", "Patronato Esempio")
    assert p.returncode == 0, p.stderr
    p = cli(env, "org", "add", PATRONATO, "--kind", "patronato", "--name", "Again")
    assert p.returncode == 1 and "already exists" in p.stderr
    p = cli(env, "org", "add", "00743110158", "--kind", "caf", "--name", "Bad check digit")
    assert p.returncode == 1 and "not a valid 11-digit fiscal code" in p.stderr
    p = cli(env, "org", "add", "12345678903", "--kind", "bank", "--name", "X")
    assert p.returncode == 2 and "KIND" in p.stderr
    p = cli(env, "org", "list")
    assert p.returncode == 0 and PATRONATO in p.stdout and "Patronato Esempio" in p.stdout


def test_role_grant_list_revoke(env):
    p = cli(env, "role", "grant", PENSIONER, "pensioner", "--reason", "archivio pensioni")
    assert p.returncode == 1 and "needs a scheme" in p.stderr
    p = cli(env, "role", "grant", PENSIONER, "pensioner", "--scheme", "private")
    assert p.returncode == 1 and "needs a reason" in p.stderr
    p = cli(env, "role", "grant", PENSIONER, "pensioner", "--scheme", "private",
            "--reason", "archivio pensioni", "--evidence", "prot. 123")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("role #") and "pensioner:private" in p.stdout
    role_id = p.stdout.split()[1].lstrip("#")
    p = cli(env, "role", "grant", PENSIONER, "pensioner", "--scheme", "private",
            "--reason", "again")
    assert p.returncode == 1 and "already holds this role" in p.stderr
    p = cli(env, "role", "grant", PRO, "patronato_operator", "--reason", "x")
    assert p.returncode == 1 and "needs the organisation" in p.stderr
    p = cli(env, "role", "grant", PRO, "caf_operator", "--org", PATRONATO, "--reason", "x")
    assert p.returncode == 1 and "is a patronato, not a caf" in p.stderr
    p = cli(env, "role", "grant", PRO, "ceo", "--reason", "x")
    assert p.returncode == 2 and "unknown role" in p.stderr
    p = cli(env, "role", "grant", "RSSMRA80A01H501X", "pensioner", "--scheme", "public",
            "--reason", "x")
    assert p.returncode == 1 and "not a valid codice fiscale" in p.stderr
    p = cli(env, "role", "grant", PRO, "patronato_operator", "--org", PATRONATO,
            "--scope", "nonexistent", "--reason", "x")
    assert p.returncode == 2 and "neither a service id nor a service family" in p.stderr
    p = cli(env, "role", "grant", PRO, "patronato_operator", "--org", PATRONATO,
            "--reason", "abilitazione sede di Roma", "--from", "2026-01-01", "--to", "2099-12-31")
    assert p.returncode == 0, p.stderr
    p = cli(env, "role", "list", PENSIONER)
    assert p.returncode == 0 and "pensioner:private" in p.stdout and "active" in p.stdout
    assert "prot. 123" in p.stdout and "operator:" in p.stdout
    p = cli(env, "role", "revoke", role_id)
    assert p.returncode == 1 and "needs a reason" in p.stderr
    p = cli(env, "role", "revoke", role_id, "--reason", "errore di attribuzione")
    assert p.returncode == 0, p.stderr
    p = cli(env, "role", "revoke", role_id, "--reason", "again")
    assert p.returncode == 1 and "already revoked" in p.stderr
    p = cli(env, "role", "list", PENSIONER)
    assert "no role" in p.stdout
    p = cli(env, "role", "list", PENSIONER, "--all")
    assert "revoked" in p.stdout
    p = cli(env, "role", "revoke", "x12")
    assert p.returncode == 2 and "is not an id" in p.stderr


def test_delegations(env):
    base = ["delegation", "add", "--type", "citizen_identity", "--delegator", CITIZEN,
            "--delegate", PRO, "--scope", "position tax", "--evidence", "modulo AA08 n. 7"]
    p = cli(env, *base)
    assert p.returncode == 0, p.stderr
    deleg_id = p.stdout.split()[1].lstrip("#")
    # a person designates one delegate
    p = cli(env, *base[:7], PENSIONER, *base[8:])
    assert p.returncode == 1 and "one delegate" in p.stderr
    p = cli(env, "delegation", "add", "--type", "citizen_identity", "--delegator", CITIZEN,
            "--delegate", CITIZEN, "--scope", "*", "--evidence", "x")
    assert p.returncode == 1
    p = cli(env, "delegation", "add", "--type", "patronato_mandate", "--delegator", PENSIONER,
            "--delegate", PATRONATO, "--scope", "*", "--evidence", "mandato 1")
    assert p.returncode == 1 and "not \"*\"" in p.stderr
    p = cli(env, "delegation", "add", "--type", "patronato_mandate", "--delegator", PENSIONER,
            "--delegate", PATRONATO, "--scope", "pension", "--evidence", "mandato 1")
    assert p.returncode == 0, p.stderr
    p = cli(env, "delegation", "add", "--type", "caf_mandate", "--delegator", PENSIONER,
            "--delegate", PATRONATO, "--scope", "isee", "--evidence", "m")
    assert p.returncode == 1 and "cannot take this delegation" in p.stderr
    p = cli(env, "delegation", "add", "--type", "citizen_identity", "--delegator", PENSIONER,
            "--delegate", PRO, "--scope", "position")
    assert p.returncode == 1 and "evidence" in p.stderr
    p = cli(env, "delegation", "list", CITIZEN)
    assert p.returncode == 0 and "citizen_identity" in p.stdout and PRO in p.stdout
    p = cli(env, "delegation", "revoke", deleg_id, "--reason", "richiesta del delegante")
    assert p.returncode == 0, p.stderr
    p = cli(env, "delegation", "list", CITIZEN)
    assert "no delegation" in p.stdout
    p = cli(env, "delegation", "list", CITIZEN, "--all")
    assert "revoked" in p.stdout and "richiesta del delegante" in p.stdout


def test_company_login_suggests_and_preselects(env):
    r = spidlib.login(env.sp, env.idp, identity="company", purpose="PG")
    assert r.status_code == 302, r.text[:500]
    me = r.spid_session.get(env.sp.url("/api/me")).json()
    assert me["fiscal_number"] == REP
    assert me["session"]["acting_for"] is None  # no role yet: a company login proves no powers
    p = cli(env, "role", "list", REP, "--suggested")
    assert p.returncode == 0 and "suggested: %s for company %s" % (REP, COMPANY) in p.stdout
    assert "Esposito Costruzioni" in p.stdout and "purpose PG" in p.stdout

    assert cli(env, "org", "add", COMPANY, "--kind", "company",
               "--name", "Esposito Costruzioni S.r.l.").returncode == 0
    p = cli(env, "role", "grant", REP, "employer_rep", "--org", COMPANY,
            "--reason", "visura camerale", "--evidence", "CCIAA NA-123456")
    assert p.returncode == 0, p.stderr
    r = spidlib.login(env.sp, env.idp, identity="company", purpose="PG")
    assert r.status_code == 302
    s = r.spid_session
    me = s.get(env.sp.url("/api/me")).json()
    assert me["session"]["acting_for"] == COMPANY
    svc = s.get(env.sp.url("/api/services")).json()
    assert svc["acting_for"] == COMPANY
    assert any(p["party"] == COMPANY and p["via"] == "role" for p in svc["parties"])
    outcome = {x["id"]: x["outcome"] for x in svc["services"]}
    assert outcome["uniemens"] == "allow" and outcome["cassetto"] == "allow"
    assert outcome["passweb"] == "deny" and outcome["estratto-conto"] == "deny"


def test_user_show(env):
    spidlib.login(env.sp, env.idp, identity="citizen")
    p = cli(env, "user", "show", CITIZEN, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["person"]["fiscal_number"] == CITIZEN
    assert doc["person"]["family_name"] == "Rossi"
    assert [i["method"] for i in doc["identities"]] == ["spid"]
    assert doc["identities"][0]["issuer"] == env.idp.entity_id
    assert any(a["source"] == "spid" and a["attributes"].get("name") == "Mario"
               for a in doc["attributes"])
    assert any(d["type"] == "citizen_identity" and d["status"] == "revoked"
               for d in doc["delegations"])
    assert any(e["event"] == "login" and e["outcome"] == "ok" for e in doc["recent"])
    assert doc["conflicts"] == []
    p = cli(env, "user", "show", REP)
    assert p.returncode == 0
    for section in ("identities (1)", "roles (1)", "role_suggestions (1)", "recent ("):
        assert section in p.stdout
    assert "employer_rep" in p.stdout and COMPANY in p.stdout
    p = cli(env, "user", "show", "MRTMTT25D09F205Z")
    assert p.returncode == 1 and "no person" in p.stderr
    p = cli(env, "user", "show", "nonsense")
    assert p.returncode == 2 and "not a valid codice fiscale" in p.stderr


def test_audit_records_everything(env):
    entries = audit_entries(env)
    events = [e["event"] for e in entries]
    for ev in ("org.add", "role.grant", "role.revoke", "delegation.add", "delegation.revoke",
               "login", "admin"):
        assert ev in events, ev
    grant = next(e for e in entries if e["event"] == "role.grant")
    assert grant["actor"].startswith("operator:") and grant["outcome"] == "ok"
    assert grant["details"]["role"] in ("pensioner", "patronato_operator", "employer_rep")
    login = next(e for e in entries if e["event"] == "login")
    assert login["actor"] in (REP, CITIZEN) and login["source_ip"] == "127.0.0.1"
    assert login["details"]["assurance"] == "A2" and len(login["session"]) == 16
    shows = [e for e in entries if e["event"] == "admin" and e["reason"] == "user show"]
    assert shows and shows[0]["acting_for"] == CITIZEN
    # refused commands change nothing and are not recorded as changes
    assert sum(1 for e in entries if e["event"] == "org.add") == 2
    p = cli(env, "audit", "verify")
    assert p.returncode == 0 and "intact" in p.stdout, p.stdout + p.stderr


def test_forwarded_for_only_from_trusted_proxies(env, start_spid_env):
    """X-Forwarded-For names the browser only when the peer is a trusted proxy."""
    s = requests.Session()
    s.headers["X-Forwarded-For"] = "198.51.100.23"
    assert spidlib.login(env.sp, env.idp, identity="pensioner", session=s).status_code == 302
    logins = [e for e in audit_entries(env) if e["event"] == "login"
              and e["actor"] == PENSIONER]
    assert logins and logins[-1]["source_ip"] == "127.0.0.1"

    trusted = start_spid_env({"sp": {"trusted_proxies": "::1 127.0.0.1"}})
    s = requests.Session()
    s.headers["X-Forwarded-For"] = "203.0.113.9, 198.51.100.23"
    assert spidlib.login(trusted.sp, trusted.idp, identity="pensioner",
                         session=s).status_code == 302
    logins = [e for e in audit_entries(trusted) if e["event"] == "login"]
    assert logins[-1]["source_ip"] == "198.51.100.23"  # the entry our proxy wrote
    # a value that is not an address is ignored
    s = requests.Session()
    s.headers["X-Forwarded-For"] = "<script>"
    assert spidlib.login(trusted.sp, trusted.idp, identity="pensioner",
                         session=s).status_code == 302
    logins = [e for e in audit_entries(trusted) if e["event"] == "login"]
    assert logins[-1]["source_ip"] == "127.0.0.1"


def test_trusted_proxies_must_be_addresses(tmp_path):
    path = tmp_path / "sp.ini"
    path.write_text("[sp]\ntrusted_proxies = 127.0.0.1 nginx.local\n")
    p = subprocess.run([binary_path(), "serve", "--config", str(path), "--check"],
                       capture_output=True, text=True, env=sanitizer_env(), timeout=60)
    assert p.returncode == 1 and '"nginx.local" is not an IP address' in p.stderr
