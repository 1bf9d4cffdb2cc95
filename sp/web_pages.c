/*
 * web_pages: the login page, our metadata, the person as JSON, health, static
 * assets, and the test-only clock hook (logout is in web_slo.c).
 */
#include <ctype.h>
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

#define SP_LOGO_URL_MAX 2048
#define SP_LOGO_SOURCES_MAX 4096 /* img-src origins added to the login page's CSP */
#define SP_IDP_PLACEHOLDER "/static/spid-idp-placeholder.svg"

/*
 * The CSP source ("https://host[:port]") of an IdP logo URL in origin (n
 * bytes), or false when the URL is not a plain https URL whose host a policy
 * can name: letters, digits, '.', '-', an optional numeric port, no user
 * info, no spaces or control characters anywhere. Such logos are replaced by
 * the placeholder rather than widening the policy to any https: image.
 */
static bool index_logo_origin(const char *url, char *origin, size_t n)
{
    const char *host, *p, *colon = NULL;

    if (url == NULL || strlen(url) > SP_LOGO_URL_MAX || !sp_str_has_prefix(url, "https://"))
        return false;
    host = url + strlen("https://");
    for (p = host; *p != '\0' && *p != '/'; p++) {
        if (*p == ':' && colon == NULL)
            colon = p;
        else if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
            return false;
        else if (colon != NULL && !isdigit((unsigned char)*p))
            return false;
    }
    if (p == host || colon == host || (colon != NULL && colon + 1 == p) ||
        (colon != NULL && p - colon > 6) || (size_t)(p - url) >= n)
        return false;
    for (const char *q = p; *q != '\0'; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return false;
    memcpy(origin, url, (size_t)(p - url));
    origin[p - url] = '\0';
    return true;
}

/*
 * Whether the logo at url may be shown: its origin is (now) among the
 * space-separated sources in srcs, which is kept below SP_LOGO_SOURCES_MAX.
 */
static bool index_logo_allow(struct sp_buf *srcs, const char *url)
{
    char origin[SP_LOGO_URL_MAX + 1];
    size_t olen;

    if (!index_logo_origin(url, origin, sizeof(origin)))
        return false;
    olen = strlen(origin);
    for (const char *s = strstr(sp_buf_str(srcs), origin); s != NULL; s = strstr(s + 1, origin))
        if ((s == sp_buf_str(srcs) || s[-1] == ' ') && (s[olen] == ' ' || s[olen] == '\0'))
            return true;
    if (srcs->len + 1 + olen > SP_LOGO_SOURCES_MAX)
        return false;
    if (srcs->len > 0)
        sp_buf_addc(srcs, ' ');
    sp_buf_add(srcs, origin, olen);
    return true;
}

/*
 * Every IdP, in a new random order on each render (BT-03), as the entries of
 * AgID's button menu (BT-02, BT-07): the logo, or a neutral placeholder with
 * the name beside it; alt and a screen-reader label carry the organisation
 * name. The origins of the logos shown are appended to img_srcs.
 */
static void index_idp_list(struct sp_app *app, const char *next, struct sp_buf *out,
                           struct sp_buf *img_srcs)
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
        const char *name = sp_idp_set_display_name(idps, order[k]);
        const char *logo = sp_idp_set_logo(idps, order[k]);
        sp_buf_reset(&href);
        sp_buf_adds(&href, "/spid/login?idp=");
        sp_url_encode(&href, eid, strlen(eid));
        sp_buf_addf(&href, "&level=%u&next=", app->cfg->default_level);
        sp_url_encode(&href, next, strlen(next));
        sp_buf_adds(out, "<li class=\"spid-idp-button-link\"><a href=\"");
        sp_html_escape(out, sp_buf_str(&href));
        sp_buf_adds(out, "\" data-idp=\"");
        sp_html_escape(out, eid);
        sp_buf_adds(out, "\"><span class=\"spid-sr-only\">");
        sp_html_escape(out, name);
        sp_buf_adds(out, "</span>");
        if (index_logo_allow(img_srcs, logo)) {
            sp_buf_adds(out, "<img class=\"spid-idp-button-logo\" src=\"");
            sp_html_escape(out, logo);
            sp_buf_adds(out, "\" alt=\"");
            sp_html_escape(out, name);
            sp_buf_adds(out, "\">");
        } else {
            sp_buf_adds(out, "<img class=\"spid-idp-button-logo spid-idp-logo-placeholder\" "
                             "src=\"" SP_IDP_PLACEHOLDER "\" width=\"28\" height=\"28\" alt=\"");
            sp_html_escape(out, name);
            sp_buf_adds(out, "\"><span class=\"spid-idp-name\" aria-hidden=\"true\">");
            sp_html_escape(out, name);
            sp_buf_adds(out, "</span>");
        }
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
        sp_buf_adds(out,
                    "<section class=\"login-method login-pin\" aria-labelledby=\"pin-title\">\n"
                    "<h2 id=\"pin-title\">PIN</h2>\n"
                    "<p>Il codice personale rilasciato dall'Istituto.</p>\n"
                    "<p class=\"login-actions\"><a class=\"button button-secondary\" href=\"");
        sp_html_escape(out, sp_buf_str(&href));
        sp_buf_adds(out, "\">Accedi con PIN</a> <a href=\"/pin/request\">Richiedi il PIN</a></p>\n"
                         "</section>\n");
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
        sp_buf_adds(out,
                    "<section class=\"login-method login-cns\" aria-labelledby=\"cns-title\">\n"
                    "<h2 id=\"cns-title\">CNS</h2>\n"
                    "<p>La Carta Nazionale dei Servizi (anche la Tessera Sanitaria-CNS), "
                    "con il lettore di smart card collegato al computer.</p>\n"
                    "<p class=\"login-actions\"><a class=\"button button-secondary\" href=\"");
        sp_html_escape(out, sp_buf_str(&href));
        sp_buf_adds(out, "\">Accedi con CNS</a></p>\n</section>\n");
    }
    sp_buf_cleanup(&href);
}

void sp_web_index(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                  const struct sp_session *s)
{
    struct sp_buf list, other, img_srcs;
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
    sp_buf_init(&img_srcs, SP_LOGO_SOURCES_MAX + 1);
    index_idp_list(app, next, &list, &img_srcs);
    index_other_credentials(app, next, &other);
    {
        /* raw in login.html: HTML built above, every value in it escaped */
        struct sp_tmpl_var vars[] = {{"idp_list", sp_buf_str(&list)},
                                     {"other", sp_buf_str(&other)}};
        sp_tmpl_page(resp, 200, "Accedi ai servizi", "login.html", vars, 2);
    }
    if (img_srcs.len > 0)
        sp_resp_csp_img_sources(resp, sp_buf_str(&img_srcs));
    sp_buf_cleanup(&list);
    sp_buf_cleanup(&other);
    sp_buf_cleanup(&img_srcs);
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
