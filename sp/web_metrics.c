/*
 * web_metrics: GET /metrics (Prometheus text format 0.0.4) and GET /healthz.
 * Counters come from metrics.c; gauges that describe the state of the
 * service (sessions, IdPs and their certificates, the registry, the outbox,
 * our certificate) are read when scraped.
 */
#include <stdint.h>
#include <string.h>

#include "sp/app.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/http.h"
#include "sp/metrics.h"
#include "sp/outbox.h"
#include "sp/saml.h"
#include "sp/session.h"
#include "sp/web.h"
#include "sp/xmlsig.h"

#define DAY_SEC 86400

static void label_value(struct sp_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sp_buf_addc(out, '\\');
        if (*s == '\n')
            sp_buf_adds(out, "\\n");
        else
            sp_buf_addc(out, *s);
    }
}

/* Number of IdPs loaded and days to expiry of each of their signing certificates. */
static void metrics_idps(struct sp_app *app, int64_t now, struct sp_buf *out)
{
    struct sp_idp_set *idps = sp_app_idps(app);
    unsigned n = sp_idp_set_count(idps);

    sp_buf_addf(out, "# TYPE spid_sp_idps_loaded gauge\nspid_sp_idps_loaded %u\n", n);
    sp_buf_adds(out, "# TYPE spid_sp_idp_certificate_days_to_expiry gauge\n");
    for (unsigned i = 0; i < n; i++) {
        const char *eid = sp_idp_set_entity(idps, i);
        const struct sp_xmlsig_keys *keys = sp_idp_set_keys(idps, eid);
        for (unsigned k = 0; k < sp_xmlsig_keys_count(keys); k++) {
            const struct sp_xmlsig_cert_info *c = sp_xmlsig_keys_info(keys, k);
            if (c == NULL || c->not_after == 0)
                continue;
            sp_buf_adds(out, "spid_sp_idp_certificate_days_to_expiry{idp=\"");
            label_value(out, eid);
            /* whole days, rounded down; negative once expired */
            int64_t left = c->not_after - now;
            int64_t days = left >= 0 ? left / DAY_SEC : -((-left + DAY_SEC - 1) / DAY_SEC);
            sp_buf_addf(out, "\",certificate=\"%s\"} %lld\n", c->fingerprint, (long long)days);
        }
    }
    sp_idp_set_free(&idps);
}

void sp_web_metrics(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                    const struct sp_session *s)
{
    struct sp_outbox_counts oc;
    struct sp_buf cert;
    long days;
    int64_t now = sp_clock_now();

    (void)req;
    (void)s;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    sp_metrics_render(&resp->body);
    sp_buf_addf(&resp->body, "# TYPE spid_sp_sessions_active gauge\nspid_sp_sessions_active %lld\n",
                (long long)sp_session_count_active(app->db, now, app->cfg->session_idle_sec));
    metrics_idps(app, now, &resp->body);
    sp_app_registry_metrics(app, now, &resp->body);
    if (sp_outbox_counts(app->db, &oc) == SP_OK)
        sp_buf_addf(&resp->body,
                    "# TYPE spid_sp_outbox_messages gauge\n"
                    "spid_sp_outbox_messages{state=\"queued\"} %lld\n"
                    "spid_sp_outbox_messages{state=\"sent\"} %lld\n"
                    "spid_sp_outbox_messages{state=\"failed\"} %lld\n",
                    (long long)oc.queued, (long long)oc.sent, (long long)oc.failed);
    sp_buf_init(&cert, 1u << 20);
    if (sp_file_read(app->cfg->cert_file, &cert) == SP_OK &&
        sp_cert_days_left(sp_buf_str(&cert), &days) == SP_OK)
        sp_buf_addf(&resp->body,
                    "# TYPE spid_sp_certificate_days_to_expiry gauge\n"
                    "spid_sp_certificate_days_to_expiry{certificate=\"sp\"} %ld\n",
                    days);
    sp_buf_cleanup(&cert);
}

/* 200 "ok" when the database answers and at least one IdP is loaded; 503 saying what is wrong
 * otherwise. */
void sp_web_healthz(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                    const struct sp_session *s)
{
    struct sp_idp_set *idps = sp_app_idps(app);
    unsigned n = sp_idp_set_count(idps);
    (void)req;
    (void)s;

    sp_idp_set_free(&idps);
    if (sp_db_ping(app->db) != SP_OK)
        sp_resp_text(resp, 503, "text/plain; charset=utf-8", "database unavailable\n");
    else if (n == 0)
        sp_resp_text(resp, 503, "text/plain; charset=utf-8", "no IdP loaded\n");
    else
        sp_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
}
