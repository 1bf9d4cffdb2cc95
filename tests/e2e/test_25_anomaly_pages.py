"""Every SPID user anomaly (ErrorCode nr19-nr23, nr25, nr30) that the test IdP
can send ends on the SP's own page: a 4xx status, the message of the official
table in Italian, a way back to the login page, no session, and the code in
the audit trail and the metrics."""

import json
import subprocess

import lxml.html
import pytest
import requests

import spidlib
from conftest import binary_path, sanitizer_env

TIMEOUT = 30
PAGES = {
    "nr19": "credenziali errate",
    "nr20": "livello di sicurezza",
    "nr21": "tempo previsto",
    "nr22": "consenso",
    "nr23": "sospesa o revocata",
    "nr25": "annullato",
    "nr30": "tipo di identità",
}


@pytest.mark.parametrize("code", sorted(PAGES))
def test_anomaly_page(spid_env, code):
    sp, idp = spid_env.sp, spid_env.idp
    r = spidlib.login(sp, idp, identity="citizen", anomaly=code)
    assert 400 <= r.status_code < 500, (code, r.status_code)
    page = lxml.html.fromstring(r.content)
    text = " ".join(page.text_content().split()).lower()
    assert PAGES[code] in text, (code, text[:400])
    assert "/" in page.xpath("//a/@href"), "no way back to the login page"
    assert "spid_sp_session" not in r.headers.get("Set-Cookie", "")
    assert r.spid_session.get(sp.url("/api/me"), timeout=TIMEOUT).status_code == 401
    events = subprocess.run([binary_path(), "audit", "export", "--config", spid_env.config],
                            capture_output=True, text=True, env=sanitizer_env(), timeout=60)
    failed = [json.loads(l) for l in events.stdout.splitlines()]
    failed = [e for e in failed if e["event"] == "login.failed"]
    assert failed and failed[-1]["details"]["anomaly"] == int(code[2:])
    metrics = requests.get(sp.url("/metrics"), timeout=TIMEOUT).text
    assert 'spid_sp_spid_anomalies_total{code="%s"}' % code in metrics
