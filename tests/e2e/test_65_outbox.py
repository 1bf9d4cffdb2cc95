"""The delivery sinks of the outbox tests, proven on their own: smtp_sink.py
receives real SMTP (Python's smtplib as the client) and http_sink.py records
POSTs and fails the first N on request. The C senders are exercised against
the same sinks by tests/unit/test_notify.c; the daemon flows that enqueue
PIN letters come with the PIN requests.
"""

import email.message
import json
import smtplib
import urllib.error
import urllib.request

import pytest

import http_sink
import smtp_sink


@pytest.fixture
def sink_dir(tmp_path):
    return str(tmp_path / "sink")


def _mail(subject, body):
    m = email.message.EmailMessage()
    m["From"] = "noreply@sp.example.it"
    m["To"] = "mario.rossi@example.it"
    m["Subject"] = subject
    m.set_content(body)
    return m


def test_smtp_sink_receives_and_decodes(sink_dir):
    sink = smtp_sink.start(sink_dir)
    try:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
            s.send_message(_mail("Il tuo PIN – prima metà", "Gentile utente,\nPIN: ABCD1234\n.\n"))
        recs = sink.records()
    finally:
        sink.stop()
    assert len(recs) == 1
    r = recs[0]
    assert r["status"] == 250
    assert r["mail_from"] == "noreply@sp.example.it"
    assert r["rcpt_tos"] == ["mario.rossi@example.it"]
    assert r["subject"] == "Il tuo PIN – prima metà"
    assert r["body"] == "Gentile utente,\nPIN: ABCD1234\n.\n"
    assert "\r\n" in r["data"]  # raw DATA kept as received
    with open(sink_dir + "/msg-1.eml", "rb") as f:
        assert b"ABCD1234" in f.read()


def test_smtp_sink_fail_first(sink_dir):
    sink = smtp_sink.start(sink_dir, "--fail-first", "1")
    try:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.send_message(_mail("one", "first\n"))
            assert e.value.smtp_code == 451
            s.send_message(_mail("two", "second\n"))
        recs = sink.records()
    finally:
        sink.stop()
    assert [r["status"] for r in recs] == [451, 250]
    assert recs[1]["subject"] == "two"


def _post(port, payload, token=None):
    req = urllib.request.Request("http://127.0.0.1:%d/sms" % port,
                                 data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_http_sink_records_and_fails_first(sink_dir):
    sink = http_sink.start(sink_dir, "--fail-first", "2")
    try:
        payload = {"to": "+393331234567", "text": "PIN: 1234 è", "id": "7"}
        statuses = [_post(sink.port, payload, token="t0k") for _ in range(3)]
        recs = sink.records()
    finally:
        sink.stop()
    assert statuses == [500, 500, 200]
    assert [r["status"] for r in recs] == [500, 500, 200]
    r = recs[-1]
    assert r["method"] == "POST" and r["path"] == "/sms"
    assert r["json"] == payload
    assert r["headers"]["authorization"] == "Bearer t0k"
    assert r["headers"]["content-type"] == "application/json"


def test_http_sink_status_option(sink_dir):
    sink = http_sink.start(sink_dir, "--status", "204")
    try:
        assert _post(sink.port, {"x": 1}) == 204
    finally:
        sink.stop()
    assert sink.records()[0]["json"] == {"x": 1}
