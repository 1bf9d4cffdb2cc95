/*
 * devidp_http: the dev IdP's routes and pages. GET/POST /sso verify the
 * AuthnRequest and show the choice page (identity, level, anomaly); POST
 * /sso/respond verifies the same request again (no server-side state) and
 * answers with the auto-submitting form that carries the SAMLResponse to the
 * SP. GET|POST /slo answers an SP's LogoutRequest, or checks the SP's
 * LogoutResponse to one of ours; GET /sessions lists the assertions issued,
 * each with buttons that start an IdP-initiated logout (POST
 * /sessions/logout). Every value on a page is HTML-escaped; SAML messages are
 * logged only at debug level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/assets.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "devidp_priv.h"

#define DEVIDP_PAGE_MAX (1u << 20)
#define DEVIDP_FRAGMENT_MAX (256u * 1024u)

/* Anomalies offered on the choice page, with the table's cause (spec §7.1). */
static const struct {
    const char *code;
    const char *label;
} anomaly_choices[] = {
    {"nr19", "nr19 - credenziali errate ripetutamente"},
    {"nr20", "nr20 - nessuna credenziale del livello richiesto"},
    {"nr21", "nr21 - tempo scaduto durante l'autenticazione"},
    {"nr22", "nr22 - consenso all'invio dei dati negato"},
    {"nr23", "nr23 - identità sospesa, revocata o bloccata"},
    {"nr25", "nr25 - autenticazione annullata dall'utente"},
    {"nr30", "nr30 - tipo di identità diverso da quello richiesto"},
};

/* ------------------------------------------------------------------------ */
/* Pages                                                                    */
/* ------------------------------------------------------------------------ */

/* Render the template name inside devidp_base.html. */
static void page(struct sp_resp *resp, int status, const char *title, const char *name,
                 const struct sp_tmpl_var *vars, size_t nvars)
{
    struct sp_buf content;
    enum sp_err rc;

    sp_buf_init(&content, DEVIDP_PAGE_MAX);
    rc = sp_tmpl_render(name, vars, nvars, &content);
    sp_buf_reset(&resp->body);
    if (rc == SP_OK) {
        struct sp_tmpl_var outer[] = {{"title", title}, {"content", sp_buf_str(&content)}};
        rc = sp_tmpl_render("devidp_base.html", outer, 2, &resp->body);
    }
    sp_buf_cleanup(&content);
    if (rc != SP_OK) {
        sp_resp_text(resp, 500, "text/plain; charset=utf-8", "Errore interno.\n");
        return;
    }
    resp->status = status;
    resp->content_type = "text/html; charset=utf-8";
    sp_resp_header(resp, "Cache-Control", "no-store");
}

static void error_page(struct sp_resp *resp, const struct devidp_problem *why)
{
    char code[64] = "";
    struct sp_tmpl_var vars[3];

    if (why->errcode != NULL)
        snprintf(code, sizeof(code), "ErrorCode %s", why->errcode);
    vars[0] = (struct sp_tmpl_var){"title", "Richiesta rifiutata"};
    vars[1] = (struct sp_tmpl_var){"errcode", code};
    vars[2] = (struct sp_tmpl_var){"message", why->message};
    page(resp, why->status ? why->status : 400, "Richiesta rifiutata - SPID Test IdP",
         "devidp_error.html", vars, 3);
}

static void simple_error(struct sp_resp *resp, int status, const char *message)
{
    struct devidp_problem why;
    memset(&why, 0, sizeof(why));
    why.status = status;
    snprintf(why.message, sizeof(why.message), "%s", message);
    error_page(resp, &why);
}

/* Append <input type="hidden" name=... value=...> with the value escaped. */
static void hidden(struct sp_buf *b, const char *name, const char *value)
{
    sp_buf_addf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    sp_html_escape(b, value);
    sp_buf_adds(b, "\">\n");
}

static void identity_choices(struct sp_buf *b)
{
    for (unsigned i = 0; i < devidp_identity_count(); i++) {
        const struct devidp_identity *who = devidp_identity_at(i);
        sp_buf_addf(b,
                    "<div class=\"choice\"><input type=\"radio\" name=\"identity\" "
                    "id=\"id-%s\" value=\"%s\"%s> <label for=\"id-%s\"><strong>",
                    who->key, who->key, i == 0 ? " checked" : "", who->key);
        sp_html_escape(b, who->label);
        sp_buf_adds(b, "</strong><br><span class=\"hint\">");
        sp_html_escape(b, who->description);
        sp_buf_adds(b, "</span></label></div>\n");
    }
}

static void level_choices(struct sp_buf *b, unsigned requested)
{
    for (unsigned l = 1; l <= 3; l++)
        sp_buf_addf(b,
                    "<div class=\"choice\"><input type=\"radio\" name=\"level\" id=\"level-%u\" "
                    "value=\"%u\"%s> <label for=\"level-%u\">SpidL%u%s</label></div>\n",
                    l, l, l == requested ? " checked" : "", l, l,
                    l == requested ? " (richiesto)" : "");
}

static void anomaly_options(struct sp_buf *b)
{
    sp_buf_adds(b, "<option value=\"none\" selected>Nessuna: autenticazione riuscita</option>\n");
    for (size_t i = 0; i < sizeof(anomaly_choices) / sizeof(anomaly_choices[0]); i++) {
        sp_buf_addf(b, "<option value=\"%s\">", anomaly_choices[i].code);
        sp_html_escape(b, anomaly_choices[i].label);
        sp_buf_adds(b, "</option>\n");
    }
}

/* The choice page; the original request travels in hidden fields. */
static void choice_page(struct sp_req *req, struct sp_resp *resp, const struct devidp_request *r)
{
    struct sp_buf hid, ids, levels, anomalies;
    char level[16], index[16];

    sp_buf_init(&hid, DEVIDP_FRAGMENT_MAX);
    sp_buf_init(&ids, DEVIDP_FRAGMENT_MAX);
    sp_buf_init(&levels, DEVIDP_FRAGMENT_MAX);
    sp_buf_init(&anomalies, DEVIDP_FRAGMENT_MAX);
    if (r->binding == DEVIDP_REDIRECT) {
        hidden(&hid, "binding", "redirect");
        hidden(&hid, "query", req->raw_query);
    } else {
        hidden(&hid, "binding", "post");
        hidden(&hid, "SAMLRequest", sp_req_form(req, "SAMLRequest"));
        if (r->relay_state != NULL)
            hidden(&hid, "RelayState", r->relay_state);
    }
    identity_choices(&ids);
    level_choices(&levels, r->level);
    anomaly_options(&anomalies);
    snprintf(level, sizeof(level), "SpidL%u", r->level);
    snprintf(index, sizeof(index), "%d", r->attr_index);
    {
        const struct sp_tmpl_var vars[] = {
            {"sp", r->sp != NULL ? r->sp->entity_id : "?"},
            {"level", level},
            {"comparison", r->comparison},
            {"purpose", r->purpose ? r->purpose : "nessuno"},
            {"attr_index", index},
            {"binding", r->binding == DEVIDP_REDIRECT ? "HTTP-Redirect" : "HTTP-POST"},
            {"hidden", sp_buf_str(&hid)},
            {"identities", sp_buf_str(&ids)},
            {"levels", sp_buf_str(&levels)},
            {"anomalies", sp_buf_str(&anomalies)},
        };
        page(resp, 200, "Accesso - SPID Test IdP", "devidp_login.html", vars,
             sizeof(vars) / sizeof(vars[0]));
    }
    sp_buf_cleanup(&hid);
    sp_buf_cleanup(&ids);
    sp_buf_cleanup(&levels);
    sp_buf_cleanup(&anomalies);
}

/* The 200 auto-submitting form to the SP's ACS (or SLO) URL. */
static void autosubmit_page(struct sp_resp *resp, const char *url, const char *field,
                            const char *message, const char *relay_state)
{
    struct sp_buf fields;

    sp_buf_init(&fields, 2 * SP_MAX_BODY_BYTES);
    hidden(&fields, field, message);
    if (relay_state != NULL)
        hidden(&fields, "RelayState", relay_state);
    {
        const struct sp_tmpl_var vars[] = {{"action", url}, {"fields", sp_buf_str(&fields)}};
        page(resp, 200, "Invio della risposta - SPID Test IdP", "devidp_autosubmit.html", vars, 2);
    }
    sp_buf_cleanup(&fields);
}

/* ------------------------------------------------------------------------ */
/* Routes                                                                   */
/* ------------------------------------------------------------------------ */

/* GET /sso (HTTP-Redirect) and POST /sso (HTTP-POST). */
static void route_sso(const struct devidp *idp, struct sp_req *req, struct sp_resp *resp)
{
    struct devidp_request r;
    struct devidp_problem why;
    enum sp_err rc;

    if (strcmp(req->method, "GET") == 0) {
        rc = devidp_request_load(idp, DEVIDP_REDIRECT, req->raw_query, NULL, NULL, &r, &why);
    } else {
        if (sp_req_form_bad(req)) {
            simple_error(resp, 400, "Modulo malformato o con campi ripetuti.");
            return;
        }
        rc = devidp_request_load(idp, DEVIDP_POST, NULL, sp_req_form(req, "SAMLRequest"),
                                 sp_req_form(req, "RelayState"), &r, &why);
    }
    if (rc != SP_OK) {
        error_page(resp, &why);
        return;
    }
    choice_page(req, resp, &r);
    devidp_request_cleanup(&r);
}

/* POST /sso/respond: verify the carried request again, then answer it. */
static void route_respond(const struct devidp *idp, struct sp_req *req, struct sp_resp *resp)
{
    const char *binding = sp_req_form(req, "binding");
    const char *action = sp_req_form(req, "action");
    const char *anomaly = sp_req_form(req, "anomaly");
    const char *level_s = sp_req_form(req, "level");
    const struct devidp_identity *who = devidp_identity_find(sp_req_form(req, "identity"));
    struct devidp_request r;
    struct devidp_problem why;
    char *acs = NULL, *saml = NULL;
    uint64_t level = 0;
    enum sp_err rc;

    if (sp_req_form_bad(req) || binding == NULL) {
        simple_error(resp, 400, "Modulo malformato o incompleto.");
        return;
    }
    if (strcmp(binding, "redirect") == 0)
        rc = devidp_request_load(idp, DEVIDP_REDIRECT, sp_req_form(req, "query"), NULL, NULL, &r,
                                 &why);
    else if (strcmp(binding, "post") == 0)
        rc = devidp_request_load(idp, DEVIDP_POST, NULL, sp_req_form(req, "SAMLRequest"),
                                 sp_req_form(req, "RelayState"), &r, &why);
    else {
        simple_error(resp, 400, "Binding sconosciuto.");
        return;
    }
    if (rc != SP_OK) {
        error_page(resp, &why);
        return;
    }
    if (action != NULL && strcmp(action, "cancel") == 0) {
        anomaly = "nr25";
        if (who == NULL)
            who = devidp_identity_at(0);
    } else if (action != NULL && strcmp(action, "login") != 0) {
        simple_error(resp, 400, "Azione sconosciuta.");
        goto out;
    } else if (anomaly == NULL || anomaly[0] == '\0' || strcmp(anomaly, "none") == 0) {
        anomaly = NULL;
    } else if (!devidp_anomaly_valid(anomaly)) {
        simple_error(resp, 400, "Codice di anomalia sconosciuto.");
        goto out;
    }
    if (who == NULL) {
        simple_error(resp, 400, "Identità di test sconosciuta.");
        goto out;
    }
    if (level_s == NULL)
        level = r.level;
    else if (sp_parse_uint(level_s, 1, 3, &level) != SP_OK) {
        simple_error(resp, 400, "Il livello deve essere 1, 2 o 3.");
        goto out;
    }
    if (devidp_respond(idp, &r, who, (unsigned)level, anomaly, &acs, &saml, &why) != SP_OK) {
        error_page(resp, &why);
        goto out;
    }
    devidp_remember(idp, &r, who, (unsigned)level); /* for IdP-initiated logout */
    autosubmit_page(resp, acs, "SAMLResponse", saml, r.relay_state);
out:
    free(acs);
    free(saml);
    devidp_request_cleanup(&r);
}

/* The report page on the SP's LogoutResponse to our LogoutRequest. */
static void logout_report_page(struct sp_resp *resp, const struct devidp_logout_report *rep)
{
    const struct sp_tmpl_var vars[] = {
        {"outcome", rep->success ? "Logout completato" : "LogoutResponse non accettata"},
        {"result", rep->success ? "ok" : "refused"},
        {"sp", rep->sp},
        {"binding", rep->binding},
        {"request", rep->request},
        {"response", rep->response},
        {"status", rep->status_code},
        {"sub_status", rep->sub_status},
        {"signature",
         rep->signature_ok ? "valida (chiave dei metadata dell'SP)" : "non verificata"},
        {"problem", rep->problem[0] ? rep->problem : "nessuno"},
    };
    page(resp, rep->status ? rep->status : 400, "Esito del logout - SPID Test IdP",
         "devidp_logout_result.html", vars, sizeof(vars) / sizeof(vars[0]));
}

/* Send a logout message: 302 (Redirect) or the auto-submitting form (POST). */
static void logout_send(struct sp_resp *resp, const struct devidp_logout *out)
{
    if (out->redirect)
        sp_resp_redirect(resp, 302, out->url);
    else
        autosubmit_page(resp, out->url, out->request ? "SAMLRequest" : "SAMLResponse", out->body,
                        out->relay_state);
}

/*
 * GET|POST /slo: an SP's LogoutRequest gets a Success; an SP's
 * LogoutResponse (to an IdP-initiated logout of ours) gets a report page.
 */
static void route_slo(const struct devidp *idp, struct sp_req *req, struct sp_resp *resp)
{
    struct devidp_problem why;
    struct devidp_logout out;
    struct devidp_logout_report rep;
    bool redirect = strcmp(req->method, "GET") == 0;

    if (!redirect && sp_req_form_bad(req)) {
        simple_error(resp, 400, "Modulo malformato o con campi ripetuti.");
        return;
    }
    if (redirect ? sp_req_query(req, "SAMLResponse") != NULL
                 : sp_req_form(req, "SAMLResponse") != NULL) {
        devidp_logout_response(idp, redirect ? req->raw_query : NULL,
                               redirect ? NULL : sp_req_form(req, "SAMLResponse"),
                               redirect ? NULL : sp_req_form(req, "RelayState"), &rep);
        logout_report_page(resp, &rep);
        return;
    }
    if (devidp_logout(idp, redirect ? req->raw_query : NULL,
                      redirect ? NULL : sp_req_form(req, "SAMLRequest"),
                      redirect ? NULL : sp_req_form(req, "RelayState"), &out, &why) != SP_OK) {
        error_page(resp, &why);
        return;
    }
    logout_send(resp, &out);
    devidp_logout_cleanup(&out);
}

/* One row of /sessions: what was asserted, and the two logout buttons. */
static void session_row(void *ctx, const struct devidp_session *s)
{
    struct sp_buf *b = ctx;
    char when[SP_TIME_ISO_LEN];

    sp_time_format(s->issued_ms, 0, when);
    sp_buf_addf(b, "<tr data-handle=\"%u\" data-name-id=\"", s->handle);
    sp_html_escape(b, s->name_id);
    sp_buf_adds(b, "\"><td>");
    sp_html_escape(b, s->sp);
    sp_buf_adds(b, "</td><td><code>");
    sp_html_escape(b, s->name_id);
    sp_buf_adds(b, "</code><br><span class=\"hint\">");
    sp_html_escape(b, s->name_qualifier ? s->name_qualifier : "");
    sp_buf_adds(b, "</span></td><td><code>");
    sp_html_escape(b, s->session_index ? s->session_index : "(nessuno)");
    sp_buf_adds(b, "</code></td><td>");
    sp_html_escape(b, s->identity);
    sp_buf_addf(b, ", SpidL%u, ", s->level);
    sp_html_escape(b, s->binding);
    sp_buf_addf(b, "<br><span class=\"hint\">%s</span></td><td>", when);
    sp_buf_addf(b,
                "<form method=\"post\" action=\"/sessions/logout\">"
                "<input type=\"hidden\" name=\"handle\" value=\"%u\">"
                "<button type=\"submit\" name=\"binding\" value=\"redirect\">"
                "Logout (HTTP-Redirect)</button> "
                "<button type=\"submit\" name=\"binding\" value=\"post\">"
                "Logout (HTTP-POST)</button></form></td></tr>\n",
                s->handle);
}

/* GET /sessions: the assertions we issued, each with IdP-initiated logout buttons. */
static void route_sessions(const struct devidp *idp, struct sp_resp *resp)
{
    struct sp_buf rows;

    sp_buf_init(&rows, DEVIDP_PAGE_MAX);
    devidp_sessions_each(idp, session_row, &rows);
    if (rows.len == 0)
        sp_buf_adds(&rows, "<tr><td colspan=\"5\">Nessuna sessione aperta.</td></tr>\n");
    {
        const struct sp_tmpl_var vars[] = {{"rows", sp_buf_str(&rows)}};
        page(resp, 200, "Sessioni - SPID Test IdP", "devidp_sessions.html", vars, 1);
    }
    sp_buf_cleanup(&rows);
}

/* POST /sessions/logout: handle + binding; send our LogoutRequest to the SP. */
static void route_sessions_logout(const struct devidp *idp, struct sp_req *req,
                                  struct sp_resp *resp)
{
    const char *handle_s = sp_req_form(req, "handle");
    const char *binding = sp_req_form(req, "binding");
    struct devidp_problem why;
    struct devidp_logout out;
    uint64_t handle;

    if (sp_req_form_bad(req) || handle_s == NULL || binding == NULL ||
        sp_parse_uint(handle_s, 1, UINT32_MAX, &handle) != SP_OK ||
        (strcmp(binding, "redirect") != 0 && strcmp(binding, "post") != 0)) {
        simple_error(resp, 400, "Indicare la sessione (handle) e il binding (redirect o post).");
        return;
    }
    if (devidp_logout_start(idp, (unsigned)handle, strcmp(binding, "post") == 0, &out, &why) !=
        SP_OK) {
        error_page(resp, &why);
        return;
    }
    logout_send(resp, &out);
    devidp_logout_cleanup(&out);
}

static void route_static(struct sp_req *req, struct sp_resp *resp)
{
    const struct sp_asset *a = NULL;
    const char *type = NULL;

    if (strcmp(req->path, "/static/autosubmit.js") == 0) {
        a = sp_asset_find("devidp_autosubmit.js");
        type = "text/javascript; charset=utf-8";
    } else if (strcmp(req->path, "/static/devidp.css") == 0) {
        a = sp_asset_find("devidp.css");
        type = "text/css; charset=utf-8";
    }
    if (a == NULL) {
        sp_resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n");
        return;
    }
    sp_resp_text(resp, 200, type, (const char *)a->data);
}

static void route_index(const struct devidp *idp, struct sp_resp *resp)
{
    struct sp_buf ids;
    sp_buf_init(&ids, DEVIDP_FRAGMENT_MAX);
    for (unsigned i = 0; i < devidp_identity_count(); i++) {
        const struct devidp_identity *who = devidp_identity_at(i);
        sp_buf_adds(&ids, "<li><strong>");
        sp_html_escape(&ids, who->label);
        sp_buf_adds(&ids, "</strong>: ");
        sp_html_escape(&ids, who->description);
        sp_buf_adds(&ids, "</li>\n");
    }
    {
        const struct sp_tmpl_var vars[] = {{"entity_id", idp->entity_id},
                                           {"identities", sp_buf_str(&ids)}};
        page(resp, 200, "SPID Test IdP", "devidp_index.html", vars, 2);
    }
    sp_buf_cleanup(&ids);
}

static bool method_is(const struct sp_req *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

void devidp_http_handler(void *appv, struct sp_req *req, struct sp_resp *resp)
{
    struct devidp_app *app = appv;
    const struct devidp *idp = app->idp;
    const char *p = req->path;
    bool get = method_is(req, "GET") || method_is(req, "HEAD");
    bool post = method_is(req, "POST");

    if (!atomic_load(&app->ready)) {
        sp_resp_text(resp, 503, "text/plain; charset=utf-8", "starting\n");
        return;
    }
    if (strcmp(p, "/healthz") == 0 && get) {
        sp_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
    } else if (strcmp(p, "/metadata") == 0 && get) {
        sp_resp_text(resp, 200, "application/samlmetadata+xml", idp->metadata);
    } else if (strcmp(p, "/sso") == 0 && (get || post)) {
        route_sso(idp, req, resp);
    } else if (strcmp(p, "/sso/respond") == 0 && post) {
        route_respond(idp, req, resp);
    } else if (strcmp(p, "/slo") == 0 && (get || post)) {
        route_slo(idp, req, resp);
    } else if (strcmp(p, "/sessions") == 0 && get) {
        route_sessions(idp, resp);
    } else if (strcmp(p, "/sessions/logout") == 0 && post) {
        route_sessions_logout(idp, req, resp);
    } else if (sp_str_has_prefix(p, "/static/") && get) {
        route_static(req, resp);
    } else if (strcmp(p, "/") == 0 && get) {
        route_index(idp, resp);
    } else if (strcmp(p, "/healthz") == 0 || strcmp(p, "/metadata") == 0 ||
               strcmp(p, "/sso") == 0 || strcmp(p, "/sso/respond") == 0 || strcmp(p, "/slo") == 0 ||
               strcmp(p, "/sessions") == 0 || strcmp(p, "/sessions/logout") == 0) {
        sp_resp_text(resp, 405, "text/plain; charset=utf-8", "method not allowed\n");
    } else {
        sp_resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n");
    }
}
