"""The legacy PIN end to end: request over HTTP, halves delivered by a real
SMTP server (aiosmtpd), an HTTP SMS gateway and the postal spool, first login
and forced change, strength in access decisions, lockout under a concurrent
brute force, recovery, revocation, office issuance and conversion (CLI)."""

import concurrent.futures
import glob
import json
import os
import re
import stat
import subprocess
import time

import lxml.html
import pytest
import requests

import http_sink
import smtp_sink
from conftest import SpidEnv, binary_path, sanitizer_env

TIMEOUT = 30
PERSON = {  # Mario Rossi: the codice fiscale matches name, surname, birth date and sex
    "cf": "RSSMRA80A01H501U", "name": "Mario", "surname": "Rossi", "sex": "M",
    "birth_date": "1980-01-01", "birth_place": "Roma", "street": "Via Roma 1", "cap": "00100",
    "city": "Roma", "province": "RM", "email": "mario.rossi@example.it",
    "mobile": "+39 333 1234567", "pec": "mario.rossi@pec.example.it",
}
GIULIA = dict(PERSON, cf="BNCGLI92C65F205C", name="Giulia", surname="Bianchi", sex="F",
              birth_date="1992-03-25", birth_place="Milano", email="giulia@example.it",
              mobile="+39 333 7654321", pec="")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    d = tmp_path_factory.mktemp("pin-sinks")
    smtp = smtp_sink.start(str(d / "smtp"))
    sms = http_sink.start(str(d / "sms"), "--fail-first", "1")
    env = SpidEnv({
        "notify": {"smtp_url": "smtp://127.0.0.1:%d" % smtp.port,
                   "sms_url": "http://127.0.0.1:%d/sms" % sms.port, "sms_token": "t0k3n",
                   "poll_ms": "100", "retry_base": "1", "retry_max": "2"},
        "pin": {"scrypt_log2_n": "12", "upload_max_bytes": "65536"},
    })
    env.smtp, env.sms = smtp, sms
    yield env
    smtp.stop()
    sms.stop()
    problems = env.close()
    assert not problems, problems


def cli(env, *args):
    return subprocess.run([binary_path()] + list(args) + ["--config", env.config],
                          capture_output=True, text=True, env=sanitizer_env(), timeout=120)


def form(session, env, path):
    r = session.get(env.sp.url(path), timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:300]
    return lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]


def post(session, env, path, data, csrf=None, **kw):
    data = dict(data)
    data["csrf"] = csrf if csrf is not None else form(session, env, path if path != "/pin/change"
                                                      else "/pin/login")
    return session.post(env.sp.url(path), data=data, allow_redirects=False, timeout=TIMEOUT,
                        **kw)


def text(r):
    if not r.content.strip():
        return "(HTTP %d, empty body, Location %s)" % (r.status_code, r.headers.get("Location"))
    return " ".join(lxml.html.fromstring(r.content).text_content().split())


def wait_for(what, fn, timeout=15):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s" % what)


def mail_to(env, addr, subject_part):
    return wait_for("mail to %s" % addr, lambda: [
        m for m in env.smtp.records() if addr in m["rcpt_tos"] and subject_part in m["subject"]])


def sms_to(env, number):
    return wait_for("SMS to %s" % number, lambda: [
        r for r in env.sms.records() if r["status"] == 200 and r["json"]
        and r["json"]["to"] == number])


def letter_for(env, name):
    spool = os.path.join(env.dir, "sp-data", "postal-spool")
    return wait_for("letter for %s" % name, lambda: [
        p for p in glob.glob(os.path.join(spool, "*.txt")) if name in open(p).read()])


def half(pattern, s):
    m = re.search(pattern + r"\s*([0-9A-F]{8})", s)
    assert m, s
    return m.group(1)


def request_pin(env, person, channel):
    s = requests.Session()
    data = dict(person, channel=channel)
    r = post(s, env, "/pin/request", data)
    assert r.status_code == 200, text(r)
    assert "Se i dati sono corretti" in text(r)
    return s


def first_login(env, cf, pin16, new="Q7W2E9R4"):
    s = requests.Session()
    r = post(s, env, "/pin/login", {"cf": cf, "pin": pin16})
    assert r.status_code == 200 and "Scegli il tuo PIN" in text(r), text(r)
    csrf = lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]
    r = post(s, env, "/pin/change", {"cf": cf, "current": pin16, "new": new, "confirm": new},
             csrf=csrf)
    assert r.status_code == 303 and r.headers["Location"] == "/services", text(r)
    return s


def test_request_is_validated(stack):
    s = requests.Session()
    bad = dict(PERSON, email="")
    r = post(s, stack, "/pin/request", bad)
    assert r.status_code == 400 and "e-mail valido è obbligatorio" in text(r)
    r = post(s, stack, "/pin/request", dict(PERSON, mobile="", phone=""))
    assert r.status_code == 400 and "telefono è obbligatorio" in text(r)
    r = post(s, stack, "/pin/request", dict(PERSON, birth_date="1980-01-02"))
    assert r.status_code == 400 and "non corrisponde" in text(r)
    r = post(s, stack, "/pin/request", dict(PERSON, cf="RSSMRA80A01H501X"))
    assert r.status_code == 400 and "codice fiscale non è valido" in text(r)
    r = post(s, stack, "/pin/request", dict(PERSON, channel="pec", pec=""))
    assert r.status_code == 400
    r = post(s, stack, "/pin/request", PERSON, csrf="0" * 32)
    assert r.status_code == 403
    r = requests.post(stack.sp.url("/pin/request"), data=PERSON, timeout=TIMEOUT)
    assert r.status_code == 403  # no form token at all


def test_request_first_login_and_strength(stack):
    request_pin(stack, PERSON, "email")
    mail = mail_to(stack, PERSON["email"], "Prima parte del PIN")[0]
    h1 = half("Prima parte del PIN:", mail["body"])
    assert mail["content_type"] == "text/plain" and "charset=UTF-8" in mail["data"]
    letter = letter_for(stack, "Mario Rossi")[0]
    assert stat.S_IMODE(os.stat(letter).st_mode) == 0o600
    body = open(letter).read()
    assert "Via Roma 1" in body and "00100 Roma (RM)" in body
    h2 = half("seconda parte del suo PIN è:", body)
    # the halves never stay in the outbox once sent
    db = os.path.join(stack.dir, "sp-data", "spid-sp.db")
    import sqlite3
    con = sqlite3.connect(db)
    rows = con.execute("SELECT state, body FROM outbox WHERE user_cf = ?",
                       (PERSON["cf"],)).fetchall()
    con.close()
    assert rows and all(st == "sent" and b is None for st, b in rows), rows

    s = requests.Session()
    # the chosen PIN must follow the rules
    r = post(s, stack, "/pin/login", {"cf": PERSON["cf"], "pin": h1 + h2})
    assert r.status_code == 200 and "Primo accesso" in text(r)
    csrf = lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]
    for bad, msg in (("RSSMRA80", "codice fiscale"), ("12345678", "sequenza"),
                     ("ROSSI123", "nome o il cognome"), ("ABC", "8 caratteri")):
        r = post(s, stack, "/pin/change", {"cf": PERSON["cf"], "current": h1 + h2, "new": bad,
                                            "confirm": bad}, csrf=csrf)
        assert r.status_code == 400 and msg in text(r), (bad, text(r))
    r = post(s, stack, "/pin/change", {"cf": PERSON["cf"], "current": h1 + h2,
                                        "new": "Q7W2E9R4", "confirm": "Q7W2E9R5"}, csrf=csrf)
    assert r.status_code == 400 and "non coincidono" in text(r)
    r = post(s, stack, "/pin/change", {"cf": PERSON["cf"], "current": h1 + h2,
                                        "new": "q7w2e9r4", "confirm": "q7w2e9r4"}, csrf=csrf)
    assert r.status_code == 303
    me = s.get(stack.sp.url("/api/me"), timeout=TIMEOUT).json()
    assert me["fiscal_number"] == PERSON["cf"]
    assert me["session"]["method"] == "pin" and me["session"]["strength"] == "A1"
    svc = {x["id"]: x for x in s.get(stack.sp.url("/api/services"), timeout=TIMEOUT)
           .json()["services"]}
    assert svc["estratto-conto"]["outcome"] == "allow"
    assert svc["iban"]["outcome"] == "deny" and svc["iban"]["reason"] == "assurance"
    assert svc["domanda-pensione"]["outcome"] == "deferred"
    assert svc["uniemens"]["outcome"] == "deny"
    # later logins: codice fiscale + the 8-character PIN (any case); the 16 no longer work
    s2 = requests.Session()
    r = post(s2, stack, "/pin/login", {"cf": PERSON["cf"].lower(), "pin": "Q7W2E9R4"})
    assert r.status_code == 303, text(r)
    r = post(requests.Session(), stack, "/pin/login", {"cf": PERSON["cf"], "pin": h1 + h2})
    assert r.status_code == 401
    events = [json.loads(l) for l in cli(stack, "audit", "export").stdout.splitlines()]
    logins = [e for e in events if e["event"] == "login" and e["actor"] == PERSON["cf"]]
    assert logins and logins[-1]["details"]["method"] == "pin"
    assert any(e["event"] == "pin.request" and e["outcome"] == "ok" for e in events)
    assert not any("Q7W2E9R4" in json.dumps(e) or h1 in json.dumps(e) for e in events)


def test_sms_half_survives_a_gateway_error(stack):
    request_pin(stack, GIULIA, "sms")
    got = sms_to(stack, "+393337654321")[0]
    assert "Prima parte del PIN" in got["json"]["text"]
    assert got["headers"].get("authorization") == "Bearer t0k3n"
    failed = [r for r in stack.sms.records() if r["status"] == 500]
    assert failed, "the gateway's first answer was 500: the message must have been retried"
    assert letter_for(stack, "Giulia Bianchi")


def test_same_answers_whatever_the_cf(stack):
    # a request for a person who already has a live PIN: same page, nothing new sent
    before = len(stack.smtp.records())
    s = request_pin(stack, PERSON, "email")
    time.sleep(1)
    assert len([m for m in stack.smtp.records()[before:]
                if PERSON["email"] in m["rcpt_tos"]]) == 0
    # login: unknown CF and wrong PIN look the same
    a = post(requests.Session(), stack, "/pin/login", {"cf": "MRTMTT25D09F205Z",
                                                        "pin": "AAAA1111"})
    b = post(requests.Session(), stack, "/pin/login", {"cf": PERSON["cf"], "pin": "AAAA1111"})
    assert a.status_code == b.status_code == 401
    assert text(a) == text(b)
    del s


def test_concurrent_brute_force_is_locked(stack):
    cf = PERSON["cf"]
    base = int(re.search(r"failures (\d+)", cli(stack, "pin", "status", cf).stdout).group(1))
    events = [json.loads(l) for l in cli(stack, "audit", "export").stdout.splitlines()]
    seq0 = events[-1]["seq"]
    sessions = [requests.Session() for _ in range(8)]
    tokens = [form(s, stack, "/pin/login") for s in sessions]

    def attempt(i):
        s, tok = sessions[i % 8], tokens[i % 8]
        return post(s, stack, "/pin/login", {"cf": cf, "pin": "W%07d" % i}, csrf=tok).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(40)))
    assert codes == [401] * 40
    # locked: even the right PIN is not checked now
    r = post(requests.Session(), stack, "/pin/login", {"cf": cf, "pin": "Q7W2E9R4"})
    assert r.status_code == 401
    st = cli(stack, "pin", "status", cf)
    assert "failures %d" % (base + 41) in st.stdout and "locked until" in st.stdout, st.stdout
    events = [json.loads(l) for l in cli(stack, "audit", "export").stdout.splitlines()]
    failed = [e for e in events if e["event"] == "login.failed" and e["actor"] == cf
              and e["seq"] > seq0]
    checked = [e for e in failed if e["reason"] == "wrong PIN"]
    # base earlier failures already counted: the lock came after 10 - base more checks
    assert len(checked) == 10 - base, "only the threshold of PINs may be checked: %d" % len(
        checked)
    assert len(failed) == 41
    # an hour later (lock capped at 60 minutes) the right PIN works again
    assert requests.post(stack.sp.url("/test/clock"), params={"offset_ms": 3601000},
                         timeout=TIMEOUT).status_code == 200
    try:
        r = post(requests.Session(), stack, "/pin/login", {"cf": cf, "pin": "Q7W2E9R4"})
        assert r.status_code == 303, text(r)
        assert "failures 0" in cli(stack, "pin", "status", cf).stdout
    finally:
        requests.post(stack.sp.url("/test/clock"), params={"offset_ms": 0}, timeout=TIMEOUT)


def test_recovery_with_two_contacts(stack):
    cf = PERSON["cf"]
    s = requests.Session()
    r = post(s, stack, "/pin/recover", {"cf": cf, "email": PERSON["email"]})
    assert r.status_code == 200  # one contact is not enough: same answer, nothing sent
    before_sms = len(stack.sms.records())
    r = post(s, stack, "/pin/recover", {"cf": cf, "email": PERSON["email"].upper(),
                                         "mobile": "3331234567"})
    assert r.status_code == 200 and "Se i dati corrispondono" in text(r)
    sms = wait_for("recovery SMS", lambda: [
        x for x in stack.sms.records()[before_sms:] if x["status"] == 200
        and "Ripristino" in x["json"]["text"]])[0]
    h1 = half("prima parte:", sms["json"]["text"])
    mail = mail_to(stack, PERSON["email"], "Ripristino del PIN (2/2)")[-1]
    h2 = half("seconda parte:", mail["body"])
    # the old personal PIN is gone; the new initial PIN leads to a new choice
    r = post(requests.Session(), stack, "/pin/login", {"cf": cf, "pin": "Q7W2E9R4"})
    assert r.status_code == 401
    first_login(stack, cf, h1 + h2, new="Z8X3C6V1")


def test_revocation_ends_pin_sessions(stack):
    cf = PERSON["cf"]
    s = requests.Session()
    r = post(s, stack, "/pin/login", {"cf": cf, "pin": "Z8X3C6V1"})
    assert r.status_code == 303
    other = requests.Session()
    assert post(other, stack, "/pin/login", {"cf": cf, "pin": "Z8X3C6V1"}).status_code == 303
    csrf = form(s, stack, "/pin/login")
    r = s.post(stack.sp.url("/pin/revoke"), data={"csrf": csrf}, allow_redirects=False,
               timeout=TIMEOUT)
    assert r.status_code == 200 and "revocato" in text(r)
    assert other.get(stack.sp.url("/api/me"), timeout=TIMEOUT).status_code == 401
    assert "no live PIN" in cli(stack, "pin", "status", cf).stdout
    r = post(requests.Session(), stack, "/pin/login", {"cf": cf, "pin": "Z8X3C6V1"})
    assert r.status_code == 401


def test_office_issue_and_conversion(stack):
    p = cli(stack, "pin", "issue", "FOXDRA26C24L219Y", "--name", "Dario", "--surname", "Fo",
            "--sex", "M", "--birth-date", "1926-03-24", "--email", "dario@example.it")
    assert p.returncode == 0, p.stderr
    m = re.search(r"PIN iniziale:\s+([0-9A-F]{8}) ([0-9A-F]{8})", p.stdout)
    assert m and "DISPOSITIVO" in p.stdout
    s = first_login(stack, "FOXDRA26C24L219Y", m.group(1) + m.group(2))
    me = s.get(stack.sp.url("/api/me"), timeout=TIMEOUT).json()
    assert me["session"]["strength"] == "A2"
    p = cli(stack, "pin", "issue", "FOXDRA26C24L219Y", "--name", "Mario", "--surname", "Fo",
            "--sex", "M", "--birth-date", "1926-03-24")
    assert p.returncode == 1 and "does not match" in p.stderr
    # conversion of Giulia's ordinary PIN after the office checked her documents
    p = cli(stack, "pin", "approve", GIULIA["cf"])
    assert p.returncode == 2 and "--evidence" in p.stderr
    p = cli(stack, "pin", "approve", GIULIA["cf"], "--evidence", "fax 2026/118 + CI AX123")
    assert p.returncode == 0, p.stderr
    assert "dispositivo" in cli(stack, "pin", "status", GIULIA["cf"]).stdout
    assert mail_to(stack, GIULIA["email"], "PIN convertito")


ESPOSITO = dict(PERSON, cf="SPSGFR75S30F839F", name="Gianfranco", surname="Esposito",
                birth_date="1975-11-30", birth_place="Napoli", email="gianfranco@example.it",
                mobile="+39 339 5550001", pec="")
PDF = b"%PDF-1.4\n% signed request form\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def convert(session, env, csrf, files=None, **fields):
    data = {"csrf": csrf, "doc_type": "carta_identita", "doc_number": "CA12345AB",
            "doc_issuer": "Comune di Napoli", "doc_expiry": "2031-05-01"}
    data.update(fields)
    files = files or {"modulo": ("modulo.pdf", PDF, "application/pdf"),
                      "doc_front": ("fronte.png", PNG, "image/png"),
                      "doc_back": ("retro.jpg", JPEG, "image/jpeg")}
    return session.post(env.sp.url("/pin/convert"), data=data, files=files,
                        allow_redirects=False, timeout=TIMEOUT)


def test_conversion_upload_and_decision(stack):
    request_pin(stack, ESPOSITO, "email")
    h1 = half("Prima parte del PIN:", mail_to(stack, ESPOSITO["email"],
                                              "Prima parte del PIN")[0]["body"])
    h2 = half("seconda parte del suo PIN è:", open(letter_for(stack, "Gianfranco")[0]).read())
    s = first_login(stack, ESPOSITO["cf"], h1 + h2, new="K4J8H2G6")
    r = s.get(stack.sp.url("/pin/convert"), timeout=TIMEOUT)
    assert r.status_code == 200 and "modulo di richiesta" in text(r)
    csrf = lxml.html.fromstring(r.text).xpath("//input[@name='csrf']/@value")[0]
    modulo = s.get(stack.sp.url("/pin/convert/modulo"), timeout=TIMEOUT)
    assert modulo.status_code == 200 and "Gianfranco Esposito" in text(modulo)
    assert ESPOSITO["cf"] in text(modulo)

    # refusals: wrong token, a file that is not a document, a file too large, bad fields
    assert convert(s, stack, "0" * 32).status_code == 403
    bad = {"modulo": ("modulo.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"),
           "doc_front": ("f.png", PNG, "image/png"), "doc_back": ("b.jpg", JPEG, "image/jpeg")}
    r = convert(s, stack, csrf, files=bad)
    assert r.status_code == 400 and "Formati accettati" in text(r)
    big = dict(bad, modulo=("modulo.pdf", PDF + b"0" * 70000, "application/pdf"))
    r = convert(s, stack, csrf, files=big)
    assert r.status_code == 400 and "dimensione massima" in text(r)
    huge = dict(bad, modulo=("modulo.pdf", PDF + b"0" * 700000, "application/pdf"))
    assert convert(s, stack, csrf, files=huge).status_code == 413
    r = convert(s, stack, csrf, doc_expiry="2020-01-01")
    assert r.status_code == 400 and "scaduto" in text(r)
    r = convert(s, stack, csrf, doc_type="tessera_club")
    assert r.status_code == 400
    r = s.post(stack.sp.url("/pin/convert"), data={"csrf": csrf}, timeout=TIMEOUT)
    assert r.status_code == 400  # not multipart

    r = convert(s, stack, csrf)
    assert r.status_code == 200 and "Richiesta di conversione inviata" in text(r)
    assert convert(s, stack, csrf).status_code == 409  # one pending request at a time
    assert mail_to(stack, ESPOSITO["email"], "PIN dispositivo ricevuta")
    up = glob.glob(os.path.join(stack.dir, "sp-data", "pin-uploads", ESPOSITO["cf"], "*", "*"))
    assert sorted(os.path.basename(p) for p in up) == ["doc_back.jpg", "doc_front.png",
                                                       "modulo.pdf"]
    for p in up:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert open([p for p in up if p.endswith(".pdf")][0], "rb").read() == PDF
    # the documents are not served by anyone
    assert s.get(stack.sp.url("/static/modulo.pdf"), timeout=TIMEOUT).status_code == 404

    listing = cli(stack, "pin", "conversions")
    assert listing.returncode == 0 and ESPOSITO["cf"] in listing.stdout
    assert "pending" in listing.stdout and "CA12345AB" in listing.stdout
    p = cli(stack, "pin", "reject", ESPOSITO["cf"], "--reason", "firma mancante sul modulo")
    assert p.returncode == 0, p.stderr
    assert "firma mancante" in mail_to(stack, ESPOSITO["email"], "respinta")[0]["body"]
    assert cli(stack, "pin", "reject", ESPOSITO["cf"], "--reason", "x").returncode == 1

    # a new request, approved: the next login has the strength of a dispositive credential
    assert convert(s, stack, csrf).status_code == 200
    p = cli(stack, "pin", "approve", ESPOSITO["cf"], "--evidence", "verificato dalla sede")
    assert p.returncode == 0, p.stderr
    assert "approved" in cli(stack, "pin", "conversions", "--all").stdout
    s2 = requests.Session()
    assert post(s2, stack, "/pin/login", {"cf": ESPOSITO["cf"], "pin": "K4J8H2G6"}
                ).status_code == 303
    me = s2.get(stack.sp.url("/api/me"), timeout=TIMEOUT).json()
    assert me["session"]["strength"] == "A2"
    svc = {x["id"]: x for x in s2.get(stack.sp.url("/api/services"), timeout=TIMEOUT)
           .json()["services"]}
    assert svc["iban"]["outcome"] == "allow" and svc["domanda-pensione"]["outcome"] == "allow"
    r = s2.get(stack.sp.url("/pin/convert"), timeout=TIMEOUT)
    assert r.status_code == 409 and "già dispositivo" in text(r)
