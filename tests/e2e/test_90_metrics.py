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
        assert line.startswith("# TYPE ") or re.match(r"^[a-z_]+(\{.*\})? -?\d+(\.\d+)?$", line), line
    del s


def test_clock_skew_of_verified_responses(start_spid_env):
    """The IdP clock as seen in a verified Response: with our clock 5 s ahead,
    the gauge reads about -5 s for that IdP; a forged Response moves nothing."""
    env = start_spid_env()
    sp, idp = env.sp, env.idp
    r = requests.post(sp.url("/test/clock"), params={"offset_ms": "5000"}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert spidlib.login(sp, idp).status_code == 302
    t = requests.get(sp.url("/metrics"), timeout=TIMEOUT).text
    m = re.search(r'^spid_sp_idp_clock_skew_seconds\{idp="%s"\} (\S+)$' % re.escape(idp.entity_id),
                  t, re.M)
    assert m, t
    skew = float(m.group(1))
    assert -7 < skew < -4, skew
    assert "# TYPE spid_sp_idp_clock_skew_seconds gauge" in t
    # a Response signed by someone else is rejected and does not move the gauge
    k, c = spidlib.make_keypair(env.dir, "forger")
    s, acs, xml, relay = spidlib.get_genuine_response(sp, idp)
    requests.post(sp.url("/test/clock"), params={"offset_ms": "-20000"}, timeout=TIMEOUT)
    assert spidlib.post_response(s, acs, spidlib.resign(xml, k, c), relay).status_code >= 400
    t = requests.get(sp.url("/metrics"), timeout=TIMEOUT).text
    assert float(re.search(r'^spid_sp_idp_clock_skew_seconds\{idp="[^"]*"\} (\S+)$', t,
                           re.M).group(1)) == skew
