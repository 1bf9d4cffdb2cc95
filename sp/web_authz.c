/*
 * web_authz: what a logged-in person may open. GET /services (the page, with
 * the choice of whom to act for), POST /services/act (that choice), GET
 * /api/services (the same as JSON), and the nginx auth_request endpoints:
 * GET /auth/check (200 + identity headers, 401, 403 + reason), GET
 * /auth/login (back to the login page, then to the original URI) and GET
 * /auth/denied (the page shown for a 403). Every decision is the pure
 * sp_authz_decide over facts loaded (and cached) by roles_store.c.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sp/app.h"
#include "sp/audit.h"
#include "sp/authz.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/digest.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/metrics.h"
#include "sp/mem.h"
#include "sp/redirect.h"
#include "sp/roles.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/users.h"
#include "sp/web.h"

#define SP_URI_MAX 8192
#define SP_CSRF_LEN 32

/* The facts of the person and of the person acted for. */
struct authz_view {
    struct sp_authz_facts me, target;
    struct sp_authz_subject subj;
    struct sp_authz_target tgt;
};

static enum sp_err view_load(struct sp_app *app, const struct sp_session *s, struct authz_view *v)
{
    enum sp_err rc;

    memset(v, 0, sizeof(*v));
    rc = sp_roles_facts(app->db, s->user_cf, &v->me);
    if (rc != SP_OK)
        return rc;
    v->subj.cf = s->user_cf;
    v->subj.assurance = (enum sp_assurance)s->assurance;
    v->subj.roles = v->me.roles.v;
    v->subj.n_roles = v->me.roles.n;
    v->subj.delegations = v->me.delegations.v;
    v->subj.n_delegations = v->me.delegations.n;
    v->tgt.party = s->acting_for;
    if (s->acting_for != NULL && strlen(s->acting_for) == 16 &&
        strcmp(s->acting_for, s->user_cf) != 0) {
        rc = sp_roles_facts(app->db, s->acting_for, &v->target);
        if (rc != SP_OK) {
            sp_authz_facts_cleanup(&v->me);
            return rc;
        }
        v->tgt.roles = v->target.roles.v;
        v->tgt.n_roles = v->target.roles.n;
    }
    return SP_OK;
}

static void view_cleanup(struct authz_view *v)
{
    sp_authz_facts_cleanup(&v->me);
    sp_authz_facts_cleanup(&v->target);
}

static void audit_event(struct sp_app *app, const struct sp_req *req, const struct sp_session *s,
                        const char *event, const char *outcome, const char *reason, json_t *o)
{
    struct sp_audit_event ev;
    char *details = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(o);
    memset(&ev, 0, sizeof(ev));
    ev.event = event;
    ev.actor = s->user_cf;
    ev.acting_for = s->acting_for;
    ev.session = s->id;
    ev.source_ip = req->client_ip;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = details;
    if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
        sp_warn("could not write the audit entry for %s", event);
    free(details);
}

/* The request path nginx asks about, normalised as a backend would see it. */
static enum sp_err original_path(const struct sp_req *req, struct sp_buf *path)
{
    const char *uri = sp_req_header(req, "X-Original-URI");
    if (uri == NULL)
        uri = sp_req_query(req, "uri");
    if (uri == NULL || strlen(uri) > SP_URI_MAX)
        return SP_ERR_INVALID;
    return sp_uri_path_normalize(path, uri);
}

/* Header value: printable ASCII as is, anything else %-encoded (UTF-8). */
static void header_encoded(struct sp_resp *resp, const char *name, const char *value)
{
    struct sp_buf b;
    if (value == NULL || value[0] == '\0')
        return;
    sp_buf_init(&b, 4096);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '%')
            sp_buf_addc(&b, (char)*p);
        else
            sp_buf_addf(&b, "%%%02X", *p);
    }
    sp_resp_header(resp, name, sp_buf_str(&b));
    sp_buf_cleanup(&b);
}

static void roles_text(const struct authz_view *v, int64_t now, struct sp_buf *out)
{
    for (unsigned i = 0; i < v->me.roles.n; i++) {
        const struct sp_role *r = &v->me.roles.v[i];
        if (!sp_role_active(r, now))
            continue;
        if (out->len > 0)
            sp_buf_addc(out, ' ');
        sp_buf_adds(out, sp_role_name(r->kind));
        if (r->scheme != SP_SCHEME_NONE)
            sp_buf_addf(out, ":%s", sp_scheme_name(r->scheme));
        if (r->org[0] != '\0')
            sp_buf_addf(out, "@%s", r->org);
    }
}

static const char *via_name(enum sp_authz_via via)
{
    switch (via) {
    case SP_AUTHZ_VIA_SELF:
        return "self";
    case SP_AUTHZ_VIA_ROLE:
        return "role";
    case SP_AUTHZ_VIA_DELEGATION:
        return "delegation";
    case SP_AUTHZ_VIA_NONE:
        break;
    }
    return "none";
}

static void check_allowed(struct sp_app *app, struct sp_resp *resp, const struct sp_session *s,
                          const struct authz_view *v, const struct sp_service *svc,
                          const struct sp_authz_decision *d, int64_t now)
{
    struct sp_user u;
    struct sp_buf b;
    char num[32];

    resp->status = 200;
    sp_resp_header(resp, "X-Auth-Fiscal-Number", s->user_cf);
    if (sp_users_get(app->db, s->user_cf, &u) == SP_OK) {
        header_encoded(resp, "X-Auth-Name", u.name);
        header_encoded(resp, "X-Auth-Family-Name", u.family_name);
        sp_user_cleanup(&u);
    }
    sp_resp_header(resp, "X-Auth-Method", s->method);
    if (s->level > 0) {
        snprintf(num, sizeof(num), "%u", s->level);
        sp_resp_header(resp, "X-Auth-Level", num);
    }
    sp_resp_header(resp, "X-Auth-Strength", sp_assurance_name((enum sp_assurance)s->assurance));
    sp_resp_header(resp, "X-Auth-Service", svc->id);
    sp_resp_header(resp, "X-Auth-Session", s->id);
    if (d->via != SP_AUTHZ_VIA_SELF && v->tgt.party != NULL)
        sp_resp_header(resp, "X-Auth-Acting-For", v->tgt.party);
    sp_resp_header(resp, "X-Auth-Via", via_name(d->via));
    if (d->delegation_id != 0) {
        snprintf(num, sizeof(num), "%lld", (long long)d->delegation_id);
        sp_resp_header(resp, "X-Auth-Delegation", num);
    }
    if (d->outcome == SP_AUTHZ_ALLOW_DEFERRED)
        sp_resp_header(resp, "X-Auth-Deferred", "pending-conversion");
    sp_buf_init(&b, 16384);
    roles_text(v, now, &b);
    if (b.len > 0)
        sp_resp_header(resp, "X-Auth-Roles", sp_buf_str(&b));
    sp_buf_cleanup(&b);
}

/* The decision for the request nginx asks about; 0 when it could not be
 * made (the response is then set). */
static int decide_original(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                           const struct sp_session *s, struct authz_view *v,
                           const struct sp_service **svc, struct sp_authz_decision *d,
                           struct sp_buf *path)
{
    if (original_path(req, path) != SP_OK) {
        sp_info("auth check: missing or ambiguous original URI");
        sp_resp_header(resp, "X-Auth-Reason", "bad_uri");
        sp_tmpl_error_page(resp, 403, "Accesso negato", "L'indirizzo richiesto non è valido.");
        return 0;
    }
    if (view_load(app, s, v) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return 0;
    }
    *svc = sp_authz_find_service(app->cfg, sp_buf_str(path));
    sp_authz_decide(&v->subj, &v->tgt, *svc, sp_clock_now(), d);
    return 1;
}

void sp_web_auth_check(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s)
{
    struct authz_view v;
    const struct sp_service *svc = NULL;
    struct sp_authz_decision d;
    struct sp_buf path;

    if (s == NULL) {
        sp_resp_text(resp, 401, "text/plain; charset=utf-8", "no session\n");
        return;
    }
    sp_buf_init(&path, SP_URI_MAX + 2);
    memset(&v, 0, sizeof(v));
    if (!decide_original(app, req, resp, s, &v, &svc, &d, &path))
        goto out;
    if (d.outcome == SP_AUTHZ_DENY) {
        sp_info("access denied to %s: %s", sp_buf_str(&path), sp_authz_reason_id(d.reason));
        sp_metrics_inc("spid_sp_access_denied_total", "reason", sp_authz_reason_id(d.reason), NULL,
                       NULL);
        audit_event(
            app, req, s, SP_AUDIT_ACCESS_DENIED, "denied", sp_authz_reason_id(d.reason),
            json_pack("{s:s?, s:s}", "service", svc ? svc->id : NULL, "path", sp_buf_str(&path)));
        sp_resp_header(resp, "X-Auth-Reason", sp_authz_reason_id(d.reason));
        sp_resp_text(resp, 403, "text/plain; charset=utf-8", sp_authz_reason_id(d.reason));
        goto out;
    }
    check_allowed(app, resp, s, &v, svc, &d, sp_clock_now());
out:
    view_cleanup(&v);
    sp_buf_cleanup(&path);
}

void sp_web_auth_denied(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s)
{
    struct authz_view v;
    const struct sp_service *svc = NULL;
    struct sp_authz_decision d;
    struct sp_buf path;

    if (s == NULL) {
        sp_tmpl_error_page(resp, 401, "Accesso richiesto", "Accedere per usare questo servizio.");
        return;
    }
    sp_buf_init(&path, SP_URI_MAX + 2);
    memset(&v, 0, sizeof(v));
    if (decide_original(app, req, resp, s, &v, &svc, &d, &path)) {
        struct sp_tmpl_var vars[] = {
            {"service", svc ? svc->name : sp_buf_str(&path)},
            {"message", d.outcome == SP_AUTHZ_DENY ? sp_authz_reason_text(d.reason)
                                                   : "Il servizio è ora disponibile."},
        };
        sp_tmpl_page(resp, d.outcome == SP_AUTHZ_DENY ? 403 : 200, "Accesso negato", "denied.html",
                     vars, 2);
    }
    view_cleanup(&v);
    sp_buf_cleanup(&path);
}

void sp_web_auth_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s)
{
    const char *uri = sp_req_header(req, "X-Original-URI");
    struct sp_buf loc;

    (void)app;
    (void)s;
    if (uri == NULL || strlen(uri) > SP_URI_MAX || !sp_redirect_is_local(uri))
        uri = "/";
    sp_buf_init(&loc, 3 * SP_URI_MAX + 64);
    sp_buf_adds(&loc, "/?next=");
    sp_url_encode(&loc, uri, strlen(uri));
    sp_resp_redirect(resp, 302, sp_buf_str(&loc));
    sp_buf_cleanup(&loc);
}

/* --- /services ------------------------------------------------------------ */

static void csrf_token(const char *session_token, char out[SP_CSRF_LEN + 1])
{
    struct sp_buf b;
    char hex[SP_SHA256_HEX_LEN + 1];

    sp_buf_init(&b, 256);
    sp_buf_addf(&b, "csrf\n%s", session_token ? session_token : "");
    sp_sha256_hex(sp_buf_str(&b), b.len, hex);
    memcpy(out, hex, SP_CSRF_LEN);
    out[SP_CSRF_LEN] = '\0';
    sp_wipe(b.data, b.len);
    sp_buf_cleanup(&b);
}

/* Display name of a party: organisation name or person's name. */
static char *party_label(struct sp_app *app, const char *party)
{
    struct sp_buf b;
    sp_buf_init(&b, 1024);
    if (strlen(party) == 11) {
        struct sp_org o;
        if (sp_roles_org_get(app->db, party, &o) == SP_OK) {
            sp_buf_addf(&b, "%s (%s)", o.name, party);
            sp_org_cleanup(&o);
        }
    } else {
        struct sp_user u;
        if (sp_users_get(app->db, party, &u) == SP_OK) {
            if (u.name != NULL && u.family_name != NULL)
                sp_buf_addf(&b, "%s %s (%s)", u.name, u.family_name, party);
            sp_user_cleanup(&u);
        }
    }
    if (b.len == 0)
        sp_buf_adds(&b, party);
    return sp_buf_detach(&b);
}

struct party_collect {
    char parties[64][SP_PARTY_MAX + 1];
    enum sp_authz_via via[64];
    unsigned n;
};

static void party_add(void *ctx, const char *party, enum sp_authz_via via)
{
    struct party_collect *pc = ctx;
    if (pc->n < 64) {
        sp_strlcpy(pc->parties[pc->n], party, sizeof(pc->parties[0]));
        pc->via[pc->n++] = via;
    }
}

static bool party_listed(const struct party_collect *pc, const char *party)
{
    for (unsigned i = 0; i < pc->n; i++)
        if (strcmp(pc->parties[i], party) == 0)
            return true;
    return false;
}

static const char *outcome_name(enum sp_authz_outcome o)
{
    return o == SP_AUTHZ_ALLOW ? "allow" : o == SP_AUTHZ_ALLOW_DEFERRED ? "deferred" : "deny";
}

void sp_web_api_services(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                         const struct sp_session *s)
{
    struct authz_view v;
    struct party_collect pc;
    struct sp_buf roles;
    int64_t now = sp_clock_now();
    json_t *o, *arr;
    char *text;

    (void)req;
    if (view_load(app, s, &v) != SP_OK) {
        sp_resp_text(resp, 500, "application/json", "{\"error\":\"internal\"}\n");
        return;
    }
    memset(&pc, 0, sizeof(pc));
    sp_authz_parties(&v.subj, now, party_add, &pc);
    o = json_object();
    json_object_set_new(o, "fiscal_number", json_string(s->user_cf));
    json_object_set_new(o, "strength",
                        json_string(sp_assurance_name((enum sp_assurance)s->assurance)));
    json_object_set_new(o, "acting_for", s->acting_for ? json_string(s->acting_for) : json_null());
    sp_buf_init(&roles, 16384);
    roles_text(&v, now, &roles);
    json_object_set_new(o, "roles", json_string(sp_buf_str(&roles)));
    sp_buf_cleanup(&roles);
    arr = json_array();
    for (unsigned i = 0; i < pc.n; i++) {
        char *label = party_label(app, pc.parties[i]);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "party", pc.parties[i], "label",
                                             label, "via", via_name(pc.via[i])));
        free(label);
    }
    json_object_set_new(o, "parties", arr);
    arr = json_array();
    for (unsigned i = 0; i < app->cfg->n_services; i++) {
        const struct sp_service *svc = &app->cfg->services[i];
        struct sp_authz_decision d;
        sp_authz_decide(&v.subj, &v.tgt, svc, now, &d);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", svc->id, "name", svc->name,
                           "path", svc->path, "audience", sp_audience_name(svc->audience),
                           "strength", sp_strength_name(svc->strength), "outcome",
                           outcome_name(d.outcome), "reason", sp_authz_reason_id(d.reason)));
    }
    json_object_set_new(o, "services", arr);
    text = json_dumps(o, JSON_COMPACT);
    sp_resp_text(resp, 200, "application/json", text ? text : "{}");
    sp_buf_addc(&resp->body, '\n');
    free(text);
    json_decref(o);
    view_cleanup(&v);
}

static void services_list_html(struct sp_app *app, const struct authz_view *v, int64_t now,
                               struct sp_buf *out)
{
    unsigned shown = 0;

    for (unsigned i = 0; i < app->cfg->n_services; i++) {
        const struct sp_service *svc = &app->cfg->services[i];
        struct sp_authz_decision d;
        if (sp_authz_decide(&v->subj, &v->tgt, svc, now, &d) == SP_AUTHZ_DENY)
            continue;
        sp_buf_adds(out, "<li><a href=\"");
        sp_html_escape(out, svc->path);
        sp_buf_adds(out, "\">");
        sp_html_escape(out, svc->name);
        sp_buf_adds(out, "</a>");
        if (d.outcome == SP_AUTHZ_ALLOW_DEFERRED)
            sp_buf_adds(out, " <small>(la domanda sarà lavorata dopo la conversione del PIN in "
                             "dispositivo)</small>");
        sp_buf_adds(out, "</li>\n");
        shown++;
    }
    if (shown == 0)
        sp_buf_adds(out, "<li>Nessun servizio disponibile per questo profilo.</li>\n");
}

static void parties_options_html(struct sp_app *app, const struct sp_session *s,
                                 const struct party_collect *pc, struct sp_buf *out)
{
    char *label = party_label(app, s->user_cf);
    bool self = s->acting_for == NULL;

    sp_buf_addf(out, "<option value=\"\"%s>Per me: ", self ? " selected" : "");
    sp_html_escape(out, label);
    sp_buf_adds(out, "</option>\n");
    free(label);
    for (unsigned i = 0; i < pc->n; i++) {
        bool sel = s->acting_for != NULL && strcmp(s->acting_for, pc->parties[i]) == 0;
        label = party_label(app, pc->parties[i]);
        sp_buf_adds(out, "<option value=\"");
        sp_html_escape(out, pc->parties[i]);
        sp_buf_addf(out, "\"%s>Per conto di: ", sel ? " selected" : "");
        sp_html_escape(out, label);
        sp_buf_adds(out, "</option>\n");
        free(label);
    }
}

void sp_web_services(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s)
{
    struct authz_view v;
    struct party_collect pc;
    struct sp_session self_again;
    struct sp_buf list, options, banner;
    char csrf[SP_CSRF_LEN + 1];
    int64_t now = sp_clock_now();

    if (s == NULL) {
        sp_resp_redirect(resp, 302, "/?next=%2Fservices");
        return;
    }
    if (view_load(app, s, &v) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    memset(&pc, 0, sizeof(pc));
    sp_authz_parties(&v.subj, now, party_add, &pc);
    if (s->acting_for != NULL && !party_listed(&pc, s->acting_for)) {
        /* the delegation or role behind the choice has ended: back to self */
        struct sp_session *cur = &self_again;
        *cur = *s;
        cur->acting_for = NULL;
        if (sp_session_set_acting_for(app->db, sp_req_cookie(req, SP_SESSION_COOKIE), NULL) ==
            SP_OK)
            audit_event(app, req, cur, SP_AUDIT_ACTING_FOR, "ok", "no longer authorised",
                        json_pack("{s:s, s:n}", "from", s->acting_for, "to"));
        view_cleanup(&v);
        s = cur;
        if (view_load(app, s, &v) != SP_OK) {
            sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
            return;
        }
    }
    sp_buf_init(&list, 1u << 20);
    sp_buf_init(&options, 1u << 20);
    sp_buf_init(&banner, 4096);
    services_list_html(app, &v, now, &list);
    parties_options_html(app, s, &pc, &options);
    if (s->acting_for != NULL) {
        char *label = party_label(app, s->acting_for);
        sp_buf_adds(&banner, "<p class=\"acting-for\" role=\"status\">Stai operando per conto di "
                             "<strong>");
        sp_html_escape(&banner, label);
        sp_buf_adds(&banner, "</strong>.</p>");
        free(label);
    }
    csrf_token(sp_req_cookie(req, SP_SESSION_COOKIE), csrf);
    {
        struct sp_tmpl_var vars[] = {
            {"cf", s->user_cf},
            {"strength", sp_assurance_name((enum sp_assurance)s->assurance)},
            {"banner", sp_buf_str(&banner)},
            {"options", sp_buf_str(&options)},
            {"services", sp_buf_str(&list)},
            {"csrf", csrf},
        };
        sp_tmpl_page(resp, 200, "I tuoi servizi", "services.html", vars, 6);
    }
    sp_buf_cleanup(&list);
    sp_buf_cleanup(&options);
    sp_buf_cleanup(&banner);
    view_cleanup(&v);
}

void sp_web_services_act(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                         const struct sp_session *s)
{
    const char *token = sp_req_cookie(req, SP_SESSION_COOKIE);
    const char *sent = sp_req_form(req, "csrf");
    const char *party = sp_req_form(req, "for");
    char csrf[SP_CSRF_LEN + 1];
    struct authz_view v;
    struct party_collect pc;
    bool ok = false;

    csrf_token(token, csrf);
    if (sp_req_form_bad(req) || sent == NULL || !sp_str_eq_ct(sent, csrf)) {
        sp_info("profile switch refused: bad or missing CSRF token");
        sp_tmpl_error_page(resp, 403, "Richiesta non valida",
                           "Il modulo è scaduto o non proviene da questo sito: riprovare dalla "
                           "pagina dei servizi.");
        return;
    }
    if (party == NULL || party[0] == '\0' || strcmp(party, s->user_cf) == 0) {
        party = NULL;
        ok = true;
    } else if (view_load(app, s, &v) == SP_OK) {
        memset(&pc, 0, sizeof(pc));
        sp_authz_parties(&v.subj, sp_clock_now(), party_add, &pc);
        ok = party_listed(&pc, party);
        view_cleanup(&v);
    }
    if (!ok) {
        audit_event(app, req, s, SP_AUDIT_ACTING_FOR, "denied", "no_delegation",
                    json_pack("{s:s}", "requested", party));
        sp_tmpl_error_page(resp, 403, "Profilo non disponibile",
                           sp_authz_reason_text(SP_AUTHZ_R_NO_DELEGATION));
        return;
    }
    if (sp_session_set_acting_for(app->db, token, party) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    {
        struct sp_session after = *s;
        after.acting_for = (char *)party;
        audit_event(app, req, &after, SP_AUDIT_ACTING_FOR, "ok", NULL,
                    json_pack("{s:s?, s:s?}", "from", s->acting_for, "to", party));
    }
    sp_resp_redirect(resp, 303, "/services");
}
