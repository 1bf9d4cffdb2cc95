"""GET /metrics in the Prometheus text format: counters of SPID logins by IdP
and outcome, rejections by check, anomaly codes, denials; gauges of active
sessions, loaded IdPs, the outbox and our certificate's days to expiry."""

import re

import requests

import spidlib

TIMEOUT = 30


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else 0


def test_metrics_follow_logins_and_denials(spid_env):
    sp, idp = spid_env.sp, spid_env.idp
    before = requests.get(sp.url("/metrics"), timeout=TIMEOUT).text
    ok_labels = '{idp="%s",outcome="ok"}' % idp.entity_id
    r = spidlib.login(sp, idp, identity="citizen")
    assert r.status_code == 302
    r = spidlib.login(sp, idp, identity="citizen", anomaly="nr22")
    assert r.status_code >= 400
    s = r.spid_session
    requests.get(sp.url("/auth/check"), headers={"X-Original-URI": "/nowhere"},
                 cookies=spidlib.login(sp, idp).spid_session.cookies, timeout=TIMEOUT)
    r = requests.get(sp.url("/metrics"), timeout=TIMEOUT)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    t = r.text
    assert metric(t, "spid_sp_spid_logins_total", ok_labels) >= metric(
        before, "spid_sp_spid_logins_total", ok_labels) + 2
    assert metric(t, "spid_sp_spid_anomalies_total", '{code="nr22"}') >= 1
    assert "spid_sp_spid_rejections_total{check=" in t
    assert metric(t, "spid_sp_access_denied_total", '{reason="unknown_service"}') >= 1
    assert metric(t, "spid_sp_sessions_active") >= 2
    assert metric(t, "spid_sp_idps_loaded") == 1
    days = re.search(r'^spid_sp_certificate_days_to_expiry\{certificate="sp"\} (-?\d+)$', t, re.M)
    assert days and int(days.group(1)) > 300
    assert 'spid_sp_outbox_messages{state="queued"}' in t
    # every sample line is "name{labels} value" or "name value"
    for line in t.splitlines():
        assert line.startswith("# TYPE ") or re.match(r"^[a-z_]+(\{.*\})? -?\d+$", line), line
    del s
