/*
 * web_pages: the login page, our metadata, the person as JSON, local logout,
 * health, static assets, and the test-only clock hook.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sp/app.h"
#include "sp/assets.h"
#include "sp/audit.h"
#include "sp/authz.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/file.h"
#include "sp/metrics.h"
#include "sp/outbox.h"
#include "sp/clock.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/rand.h"
#include "sp/redirect.h"
#include "sp/saml.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/users.h"
#include "sp/web.h"

#define SP_PAGE_FRAGMENT_MAX (256u * 1024u)

/* Every IdP, in a new random order on each render (BT-03). */
static void index_idp_list(struct sp_app *app, const char *next, struct sp_buf *out)
{
    struct sp_idp_set *idps = sp_app_idps(app);
    unsigned n = sp_idp_set_count(idps);
    unsigned *order = sp_xcalloc(n ? n : 1, sizeof(*order));
    struct sp_buf href;

    for (unsigned i = 0; i < n; i++)
        order[i] = i;
    for (unsigned i = n; i > 1; i--) {
        uint32_t r;
        sp_rand_bytes(&r, sizeof(r));
        unsigned j = r % i, t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    sp_buf_init(&href, 8192);
    for (unsigned k = 0; k < n; k++) {
        const char *eid = sp_idp_set_entity(idps, order[k]);
        sp_buf_reset(&href);
        sp_buf_adds(&href, "/spid/login?idp=");
        sp_url_encode(&href, eid, strlen(eid));
        sp_buf_addf(&href, "&level=%u&next=", app->cfg->default_level);
        sp_url_encode(&href, next, strlen(next));
        sp_buf_adds(out, "<li class=\"spid-idp-button-link\"><a href=\"");
        sp_html_escape(out, sp_buf_str(&href));
        sp_buf_adds(out, "\" data-idp=\"");
        sp_html_escape(out, eid);
        sp_buf_adds(out, "\">");
        sp_html_escape(out, sp_idp_set_display_name(idps, order[k]));
        sp_buf_adds(out, "</a></li>\n");
    }
    sp_buf_cleanup(&href);
    free(order);
    sp_idp_set_free(&idps);
}

/* The PIN and CNS entries of the login page (only what is enabled). */
static void index_other_credentials(struct sp_app *app, const char *next, struct sp_buf *out)
{
    struct sp_buf href;
    sp_buf_init(&href, 8192);
    if (app->cfg->pin_enabled) {
        sp_buf_adds(&href, "/pin/login?next=");
        sp_url_encode(&href, next, strlen(next));
        sp_buf_adds(out, "<a href=\"");
        sp_html_escape(out, sp_buf_str(&href));
        sp_buf_adds(out, "\">Accedi con PIN</a> · <a href=\"/pin/request\">Richiedi il PIN</a>");
    }
    if (app->cns != NULL) {
        sp_buf_reset(&href);
        if (app->cfg->cns_tls_port != 0) {
            /* the dedicated TLS listener: same host as the site, its own port */
            const char *host = strstr(app->cfg->base_url, "://");
            size_t hn;
            host = host ? host + 3 : app->cfg->base_url;
            hn = strcspn(host, ":/");
            sp_buf_addf(&href, "https://%.*s:%u", (int)hn, host, app->cfg->cns_tls_port);
        }
        sp_buf_adds(&href, "/cns/login?next=");
        sp_url_encode(&href, next, strlen(next));
        sp_buf_adds(out, out->len ? " · <a href=\"" : "<a href=\"");
        sp_html_escape(out, sp_buf_str(&href));
        sp_buf_adds(out, "\">Accedi con CNS (Carta Nazionale dei Servizi)</a>");
    }
    sp_buf_cleanup(&href);
}

void sp_web_index(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                  const struct sp_session *s)
{
    struct sp_buf list, other;
    const char *next = sp_req_query(req, "next");

    if (next == NULL || !sp_redirect_is_local(next))
        next = "/";
    if (s != NULL) {
        struct sp_tmpl_var vars[] = {{"cf", s->user_cf}, {"method", s->method}};
        sp_tmpl_page(resp, 200, "Sei connesso", "home.html", vars, 2);
        return;
    }
    sp_buf_init(&list, SP_PAGE_FRAGMENT_MAX);
    sp_buf_init(&other, SP_PAGE_FRAGMENT_MAX);
    index_idp_list(app, next, &list);
    index_other_credentials(app, next, &other);
    {
        struct sp_tmpl_var vars[] = {{"idp_list", sp_buf_str(&list)},
                                     {"other", sp_buf_str(&other)}};
        sp_tmpl_page(resp, 200, "Accedi ai servizi", "login.html", vars, 2);
    }
    sp_buf_cleanup(&list);
    sp_buf_cleanup(&other);
}

static unsigned idps_loaded(struct sp_app *app)
{
    struct sp_idp_set *idps = sp_app_idps(app);
    unsigned n = sp_idp_set_count(idps);
    sp_idp_set_free(&idps);
    return n;
}

void sp_web_metadata(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s)
{
    (void)req;
    (void)s;
    resp->status = 200;
    resp->content_type = "application/samlmetadata+xml";
    if (sp_buf_add(&resp->body, app->metadata_xml, app->metadata_len) != SP_OK)
        resp->status = 500;
}

static void json_set_str(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static void json_set_time(json_t *o, const char *key, int64_t sec)
{
    char t[SP_TIME_ISO_LEN];
    sp_time_format(sec * 1000, 0, t);
    json_object_set_new(o, key, json_string(t));
}

void sp_web_me(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
               const struct sp_session *s)
{
    struct sp_user u;
    json_t *o, *sess;
    char *text;
    (void)req;

    if (sp_users_get(app->db, s->user_cf, &u) != SP_OK) {
        sp_resp_text(resp, 500, "application/json", "{\"error\":\"internal\"}\n");
        return;
    }
    o = json_object();
    json_set_str(o, "fiscal_number", u.cf);
    json_set_str(o, "name", u.name);
    json_set_str(o, "family_name", u.family_name);
    json_set_str(o, "date_of_birth", u.date_of_birth);
    json_set_str(o, "gender", u.gender);
    json_set_str(o, "email", u.email);
    sess = json_object();
    json_set_str(sess, "method", s->method);
    if (s->level > 0)
        json_object_set_new(sess, "spid_level", json_integer(s->level));
    json_set_str(sess, "idp", s->idp);
    json_set_str(sess, "strength", sp_assurance_name((enum sp_assurance)s->assurance));
    json_set_str(sess, "acting_for", s->acting_for);
    json_set_time(sess, "created_at", s->created_at);
    json_set_time(sess, "last_seen_at", s->last_seen_at);
    json_set_time(sess, "idle_expires_at", s->last_seen_at + app->cfg->session_idle_sec);
    json_set_time(sess, "expires_at", s->expires_at);
    json_object_set_new(o, "session", sess);
    text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    sp_resp_text(resp, 200, "application/json", text ? text : "{}");
    sp_buf_addc(&resp->body, '\n');
    free(text);
    json_decref(o);
    sp_user_cleanup(&u);
}

void sp_web_logout(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                   const struct sp_session *s)
{
    const char *token = sp_req_cookie(req, SP_SESSION_COOKIE);
    if (s != NULL) {
        struct sp_audit_event ev;
        sp_session_end(app->db, token, sp_clock_now());
        sp_info("local logout");
        memset(&ev, 0, sizeof(ev));
        ev.event = SP_AUDIT_LOGOUT;
        ev.actor = s->user_cf;
        ev.acting_for = s->acting_for;
        ev.session = s->id;
        ev.source_ip = req->client_ip;
        ev.outcome = "ok";
        ev.reason = "local logout";
        if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
            sp_warn("could not write the audit entry of a logout");
    }
    sp_resp_cookie(resp, SP_SESSION_COOKIE, "", 0, app->session_cookie_flags);
    sp_tmpl_page(resp, 200, "Sei uscito", "logout.html", NULL, 0);
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
    sp_buf_addf(&resp->body, "# TYPE spid_sp_idps_loaded gauge\nspid_sp_idps_loaded %u\n",
                idps_loaded(app));
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

void sp_web_healthz(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                    const struct sp_session *s)
{
    (void)app;
    (void)req;
    (void)s;
    sp_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
}

static const char *static_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return NULL;
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (strcmp(dot, ".png") == 0)
        return "image/png";
    return NULL; /* templates are not static files */
}

void sp_web_static(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                   const struct sp_session *s)
{
    const char *name = req->path + strlen("/static/");
    const struct sp_asset *a = strchr(name, '/') ? NULL : sp_asset_find(name);
    const char *type = a ? static_type(name) : NULL;
    (void)app;
    (void)s;

    if (a == NULL || type == NULL) {
        sp_tmpl_error_page(resp, 404, "Pagina non trovata", "L'indirizzo richiesto non esiste.");
        return;
    }
    resp->status = 200;
    resp->content_type = type;
    sp_buf_add(&resp->body, a->data, a->len);
    sp_resp_header(resp, "Cache-Control", "public, max-age=3600");
}

void sp_web_test_clock(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s)
{
    const char *v = sp_req_query(req, "offset_ms");
    int64_t ms;
    (void)app;
    (void)s;
    if (v == NULL ||
        sp_parse_int(v, -(int64_t)86400000 * 3650, (int64_t)86400000 * 3650, &ms) != SP_OK) {
        sp_resp_text(resp, 400, "text/plain", "offset_ms required\n");
        return;
    }
    sp_clock_set_offset_ms(ms);
    sp_warnx("test hook: clock offset set to %lld ms", (long long)ms);
    sp_resp_text(resp, 200, "text/plain", "ok\n");
}
