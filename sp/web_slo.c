/*
 * web_slo: SPID Single Logout over HTTP (spec §4).
 *
 * GET /logout ends the local session first (SLO-10); for a SPID session it
 * then sends a signed LogoutRequest to the IdP (HTTP-Redirect or HTTP-POST,
 * as its metadata offers and [sp] binding prefers) and remembers it
 * (logout_state.c). GET|POST /spid/slo takes either the IdP's LogoutResponse
 * to that request (SLO-14) or an IdP-initiated LogoutRequest (SLO-20..23),
 * which ends every matching session and is answered with a signed
 * LogoutResponse in the binding it came with.
 *
 * Invariants: every logout message sent or received, refused ones included,
 * is in the transaction register before anything is sent or done about it
 * (no record: 500, nothing sent, nothing ended); a refused message gets a 4xx
 * page and changes nothing; the local session never survives /logout,
 * whatever the IdP answers. Every logout is audited and counted in
 * spid_sp_spid_logouts_total{direction, outcome}.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sp/app.h"
#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/logout_state.h"
#include "sp/metrics.h"
#include "sp/rand.h"
#include "sp/register.h"
#include "sp/replay.h"
#include "sp/saml.h"
#include "sp/saml_logout.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/web.h"

#define SLO_METRIC "spid_sp_spid_logouts_total"
#define SLO_MAX_LOGGED_ID 128u /* longest message ID copied into the register header */

/* Outcome labels of SLO_METRIC (direction "sp": /logout; "idp": IdP-initiated). */
#define SLO_OUT_LOCAL "local"
#define SLO_OUT_SENT "sent"
#define SLO_OUT_OK "ok"
#define SLO_OUT_PARTIAL "partial"
#define SLO_OUT_FAILED "failed"
#define SLO_OUT_REJECTED "rejected"

static const char slo_heading_done[] = "Sei uscito";
static const char slo_msg_local[] = "La sessione su questo sito è stata chiusa.";

/* ------------------------------------------------------------------------ */
/* Pages, audit, register                                                   */
/* ------------------------------------------------------------------------ */

static void slo_page(struct sp_resp *resp, int status, const char *heading, const char *message)
{
    struct sp_tmpl_var vars[] = {{"heading", heading}, {"message", message}};
    sp_tmpl_page(resp, status, heading, "logout.html", vars, 2);
}

/* One audit entry of event logout; details (a JSON object, may be NULL) is consumed. */
static void slo_audit(struct sp_app *app, const struct sp_req *req, const char *actor,
                      const char *acting_for, const char *session, const char *outcome,
                      const char *reason, json_t *details)
{
    struct sp_audit_event ev;
    char *text = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(details);
    memset(&ev, 0, sizeof(ev));
    ev.event = SP_AUDIT_LOGOUT;
    ev.actor = actor;
    ev.acting_for = acting_for;
    ev.session = session;
    ev.source_ip = req->client_ip;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = text;
    if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
        sp_warn("could not write the audit entry of a logout");
    free(text);
}

/* A message ID fit for the register header: short printable ASCII, else a placeholder. */
static const char *slo_register_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n == 0)
        return "(none)";
    if (n > SLO_MAX_LOGGED_ID)
        return "(invalid)";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
            return "(invalid)";
    return id;
}

static enum sp_err slo_record(struct sp_app *app, const char *kind, const char *direction,
                              const char *id, const char *irt, const char *idp, const char *cf,
                              const void *msg, size_t len)
{
    struct sp_register_record rec;

    memset(&rec, 0, sizeof(rec));
    rec.time_ms = sp_clock_now_ms();
    rec.kind = kind;
    rec.direction = direction;
    rec.id = slo_register_id(id);
    rec.in_response_to = irt != NULL ? slo_register_id(irt) : NULL;
    rec.idp = idp;
    rec.cf = cf;
    rec.msg = msg;
    rec.msg_len = len;
    return sp_app_record(app, &rec);
}

static void slo_internal_error(struct sp_resp *resp, const char *message)
{
    sp_tmpl_error_page(resp, 500, "Errore interno", message);
}

/* ------------------------------------------------------------------------ */
/* SP-initiated: GET /logout                                                */
/* ------------------------------------------------------------------------ */

static bool slo_is_spid(const struct sp_session *s)
{
    return s->method != NULL && strcmp(s->method, "spid") == 0 && s->idp != NULL &&
           s->name_id != NULL && s->name_id[0] != '\0';
}

static void slo_hidden(struct sp_buf *b, const char *name, const char *value)
{
    sp_buf_addf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    sp_html_escape(b, value);
    sp_buf_adds(b, "\">\n");
}

/* HTTP-POST binding: the auto-submitting form; RelayState only when there is one. */
static void slo_post_form(struct sp_resp *resp, const char *action, const char *field,
                          const char *value, const char *relay)
{
    struct sp_buf fields;

    sp_buf_init(&fields, 2 * SP_LOGOUT_MAX_PARAM);
    slo_hidden(&fields, field, value);
    if (relay != NULL)
        slo_hidden(&fields, "RelayState", relay);
    {
        struct sp_tmpl_var vars[] = {{"action", action}, {"fields", sp_buf_str(&fields)}};
        sp_tmpl_page(resp, 200, "Uscita da SPID", "logout_autopost.html", vars, 2);
    }
    sp_buf_cleanup(&fields);
}

static json_t *slo_details(const char *direction, const char *idp, const char *binding,
                           const char *request)
{
    return json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "method", "spid", "direction", direction,
                     "idp", idp, "binding", binding, "request", request);
}

/*
 * The local session is closed already: sign and send the LogoutRequest
 * (SLO-11, SLO-12), remembering it for the LogoutResponse.
 */
static void slo_send_request(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s)
{
    const struct sp_config *cfg = app->cfg;
    struct sp_idp_set *idps = sp_app_idps(app);
    struct sp_logout_signer *signer = NULL;
    struct sp_logout_build b;
    struct sp_logout_out out;
    struct sp_logout_pending pend;
    char id[SP_RAND_ID_LEN + 1], relay[SP_RAND_TOKEN_LEN + 1];
    char *url = NULL;
    int64_t now_ms = sp_clock_now_ms();
    const char *binding;
    bool post = false;

    memset(&out, 0, sizeof(out));
    if (sp_saml_logout_endpoint(idps, s->idp, cfg->binding, false, &post, &url) != SP_OK) {
        sp_info("logout: IdP %s is not loaded or offers no SingleLogoutService: local only",
                s->idp);
        slo_audit(app, req, s->user_cf, s->acting_for, s->id, "ok",
                  "local logout: the IdP offers no SingleLogoutService",
                  slo_details("sp", s->idp, NULL, NULL));
        sp_metrics_inc(SLO_METRIC, "direction", "sp", "outcome", SLO_OUT_LOCAL);
        slo_page(resp, 200, slo_heading_done, slo_msg_local);
        goto out;
    }
    binding = post ? "post" : "redirect";
    signer = sp_saml_logout_signer(idps);
    sp_rand_id(id);
    sp_rand_token(relay);
    memset(&b, 0, sizeof(b));
    b.kind = SP_LOGOUT_KIND_REQUEST;
    b.id = id;
    b.issue_instant_ms = now_ms;
    b.destination = url;
    b.issuer = cfg->entity_id;
    b.name_id = s->name_id;               /* exactly as received */
    b.name_qualifier = s->name_qualifier; /* the IdP's qualifier, as received */
    b.session_index = s->session_index;   /* omitted when the login had none (SLO-13) */
    if (signer == NULL || sp_logout_encode(signer, &b, post, url, relay, &out) != SP_OK) {
        slo_internal_error(resp, "La sessione su questo sito è stata chiusa, ma non è stato "
                                 "possibile preparare la richiesta di uscita per il gestore "
                                 "dell'identità. Chiudere il browser per completare l'uscita.");
        goto out;
    }
    memset(&pend, 0, sizeof(pend));
    pend.id = id;
    pend.idp = s->idp;
    pend.relay_state = relay;
    pend.user_cf = s->user_cf;
    pend.session = (char *)s->id;
    pend.binding = (char *)binding;
    pend.issue_instant_ms = now_ms;
    pend.expires_at = now_ms / 1000 + cfg->request_ttl_sec;
    if (sp_logout_state_put(app->db, &pend, now_ms / 1000) != SP_OK ||
        slo_record(app, SP_REGISTER_LOGOUT_REQUEST, SP_REGISTER_OUT, id, NULL, s->idp, s->user_cf,
                   out.xml, out.xml_len) != SP_OK) {
        slo_internal_error(resp, "La sessione su questo sito è stata chiusa, ma la richiesta di "
                                 "uscita non è stata inviata al gestore dell'identità. Chiudere "
                                 "il browser per completare l'uscita.");
        goto out;
    }
    slo_audit(app, req, s->user_cf, s->acting_for, s->id, "ok",
              "SP-initiated logout: LogoutRequest sent to the IdP",
              slo_details("sp", s->idp, binding, id));
    sp_metrics_inc(SLO_METRIC, "direction", "sp", "outcome", SLO_OUT_SENT);
    sp_info("LogoutRequest %s to %s, %s binding", id, s->idp, post ? "POST" : "Redirect");
    if (post)
        slo_post_form(resp, out.url, "SAMLRequest", out.form_value, relay);
    else
        sp_resp_redirect(resp, 302, out.url);
out:
    sp_logout_out_cleanup(&out);
    sp_logout_signer_free(&signer);
    free(url);
    sp_idp_set_free(&idps);
}

void sp_web_logout(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                   const struct sp_session *s)
{
    const char *token = sp_req_cookie(req, SP_SESSION_COOKIE);

    sp_resp_cookie(resp, SP_SESSION_COOKIE, "", 0, app->session_cookie_flags);
    if (s == NULL) {
        slo_page(resp, 200, slo_heading_done, slo_msg_local);
        return;
    }
    /* SLO-10: the local session ends first, whatever happens next */
    sp_session_end(app->db, token, sp_clock_now());
    if (slo_is_spid(s)) {
        slo_send_request(app, req, resp, s);
        return;
    }
    sp_info("local logout (%s)", s->method ? s->method : "?");
    slo_audit(app, req, s->user_cf, s->acting_for, s->id, "ok", "local logout",
              json_pack("{s:s?}", "method", s->method));
    sp_metrics_inc(SLO_METRIC, "direction", "sp", "outcome", SLO_OUT_LOCAL);
    slo_page(resp, 200, slo_heading_done, slo_msg_local);
}

/* ------------------------------------------------------------------------ */
/* GET|POST /spid/slo                                                       */
/* ------------------------------------------------------------------------ */

/* What one /spid/slo request works with. */
struct slo_ctx {
    struct sp_app *app;
    struct sp_req *req;
    struct sp_resp *resp;
    const struct sp_session *browser; /* this browser's session, if any */
    struct sp_idp_set *idps;
    struct sp_logout_in in;
    struct sp_logout_msg *msg;
    const char *binding; /* "redirect" or "post" */
    bool clear_cookie;   /* this browser's session was among those ended */
};

/* A refused message: log, audit, count, 4xx page. Nothing else changes. */
static void slo_refuse(struct slo_ctx *c, enum sp_logout_kind kind, const char *idp,
                       const char *actor, const struct sp_logout_result *r)
{
    bool req = kind == SP_LOGOUT_KIND_REQUEST;
    const char *direction = req ? "idp" : "sp";

    sp_info("logout %s refused: %s (%s): %s", req ? "LogoutRequest" : "LogoutResponse",
            sp_logout_check_name(r->code), sp_logout_check_rule(r->code), r->detail);
    slo_audit(c->app, c->req, actor, NULL, NULL, "denied", sp_logout_check_name(r->code),
              json_pack("{s:s, s:s, s:s, s:s?, s:s}", "method", "spid", "direction", direction,
                        "binding", c->binding, "idp", idp, "rule", sp_logout_check_rule(r->code)));
    sp_metrics_inc(SLO_METRIC, "direction", direction, "outcome", SLO_OUT_REJECTED);
    sp_tmpl_error_page(c->resp, sp_logout_check_status(r->code),
                       req ? "Richiesta di uscita rifiutata" : "Risposta di uscita rifiutata",
                       sp_logout_check_message(r->code));
}

static void slo_refuse_code(struct slo_ctx *c, enum sp_logout_kind kind, const char *idp,
                            const char *actor, enum sp_logout_check code, const char *why)
{
    struct sp_logout_result r;

    memset(&r, 0, sizeof(r));
    r.code = code;
    snprintf(r.detail, sizeof(r.detail), "%s", why);
    slo_refuse(c, kind, idp, actor, &r);
}

struct slo_ended {
    struct slo_ctx *c;
    const char *idp;
    const char *request;
};

/* One session ended by an IdP-initiated logout: audit it. */
static void slo_session_ended(void *ctxv, const char *user_cf, const char *short_id)
{
    struct slo_ended *e = ctxv;

    if (e->c->browser != NULL && strcmp(e->c->browser->id, short_id) == 0)
        e->c->clear_cookie = true;
    slo_audit(e->c->app, e->c->req, user_cf, NULL, short_id, "ok", "IdP-initiated logout",
              slo_details("idp", e->idp, e->c->binding, e->request));
}

static void slo_send_message(struct slo_ctx *c, const struct sp_logout_out *out, const char *field,
                             const char *relay)
{
    if (out->post)
        slo_post_form(c->resp, out->url, field, out->form_value, relay);
    else
        sp_resp_redirect(c->resp, 302, out->url);
}

/*
 * SLO-20..SLO-23: an IdP-initiated LogoutRequest. Verified completely before
 * anything changes; the answer (Success even when nothing matched, SLO-02)
 * is recorded before the sessions end and before it is sent.
 */
static void slo_idp_request(struct slo_ctx *c)
{
    const struct sp_config *cfg = c->app->cfg;
    const struct sp_logout_fields *f = sp_logout_msg_fields(c->msg);
    const struct sp_xmlsig_keys *keys = NULL;
    struct sp_logout_signer *signer = NULL;
    struct sp_logout_expect exp;
    struct sp_logout_result r;
    struct sp_logout_build b;
    struct sp_logout_out out;
    struct slo_ended ended_ctx;
    char id[SP_RAND_ID_LEN + 1];
    char *url = NULL;
    int64_t now_ms = sp_clock_now_ms(), until;
    unsigned ended = 0, n_index;
    bool post = false;
    enum sp_err rc;

    memset(&out, 0, sizeof(out));
    if (f->n_issuer == 1 && f->issuer != NULL)
        keys = sp_idp_set_keys(c->idps, f->issuer);
    if (keys == NULL) {
        slo_refuse_code(c, SP_LOGOUT_KIND_REQUEST, NULL, NULL, SP_LOGOUT_ISSUER,
                        "Issuer is not a trusted IdP");
        goto out;
    }
    memset(&exp, 0, sizeof(exp));
    exp.kind = SP_LOGOUT_KIND_REQUEST;
    exp.issuer = f->issuer;
    exp.destination = c->app->slo_url;
    exp.now_ms = now_ms;
    exp.skew_sec = cfg->clock_skew_sec;
    exp.max_age_sec = cfg->request_ttl_sec;
    if (sp_logout_check(c->msg, &exp, &r) != SP_LOGOUT_OK ||
        sp_logout_verify(c->msg, &c->in, keys, &r) != SP_LOGOUT_OK) {
        slo_refuse(c, SP_LOGOUT_KIND_REQUEST, f->issuer, NULL, &r);
        goto out;
    }
    /* remembered for as long as the IssueInstant window could accept it again */
    until = now_ms / 1000 + cfg->request_ttl_sec + 2 * (int64_t)cfg->clock_skew_sec + 1;
    rc = sp_replay_remember(c->app->db, f->id, "logout_request", until);
    if (rc == SP_ERR_REPLAY) {
        slo_refuse_code(c, SP_LOGOUT_KIND_REQUEST, f->issuer, NULL, SP_LOGOUT_REPLAY,
                        "LogoutRequest ID seen before");
        goto out;
    }
    if (rc != SP_OK) {
        slo_internal_error(c->resp, "Riprovare più tardi.");
        goto out;
    }
    if (sp_saml_logout_endpoint(c->idps, f->issuer,
                                c->in.post ? SP_BINDING_POST : SP_BINDING_REDIRECT, true, &post,
                                &url) != SP_OK) {
        sp_warnx("logout: IdP %s sent a LogoutRequest but has no SingleLogoutService", f->issuer);
        slo_internal_error(c->resp, "Il gestore dell'identità non indica dove ricevere la "
                                    "risposta di uscita.");
        goto out;
    }
    sp_rand_id(id);
    memset(&b, 0, sizeof(b));
    b.kind = SP_LOGOUT_KIND_RESPONSE;
    b.id = id;
    b.issue_instant_ms = now_ms;
    b.destination = url;
    b.issuer = cfg->entity_id;
    b.in_response_to = f->id;
    b.status = SP_LOGOUT_STATUS_SUCCESS;
    signer = sp_saml_logout_signer(c->idps);
    if (signer == NULL ||
        sp_logout_encode(signer, &b, post, url, c->in.relay_state, &out) != SP_OK ||
        slo_record(c->app, SP_REGISTER_LOGOUT_RESPONSE, SP_REGISTER_OUT, id, f->id, f->issuer, NULL,
                   out.xml, out.xml_len) != SP_OK) {
        slo_internal_error(c->resp, "Non è stato possibile rispondere alla richiesta di uscita. "
                                    "Riprovare più tardi.");
        goto out;
    }
    n_index = f->n_session_index < SP_LOGOUT_MAX_SESSION_INDEX ? f->n_session_index
                                                               : SP_LOGOUT_MAX_SESSION_INDEX;
    ended_ctx.c = c;
    ended_ctx.idp = f->issuer;
    ended_ctx.request = f->id;
    if (sp_session_end_spid(c->app->db, f->issuer, f->name_id, f->name_qualifier, f->session_index,
                            n_index, now_ms / 1000, slo_session_ended, &ended_ctx,
                            &ended) != SP_OK) {
        slo_internal_error(c->resp, "Riprovare più tardi.");
        goto out;
    }
    if (ended == 0)
        slo_audit(c->app, c->req, NULL, NULL, NULL, "ok",
                  "IdP-initiated logout: no matching session",
                  slo_details("idp", f->issuer, c->binding, f->id));
    sp_metrics_inc(SLO_METRIC, "direction", "idp", "outcome", SLO_OUT_OK);
    sp_info("IdP-initiated logout from %s: %u session(s) ended; LogoutResponse %s (%s)", f->issuer,
            ended, id, post ? "POST" : "Redirect");
    if (c->clear_cookie)
        sp_resp_cookie(c->resp, SP_SESSION_COOKIE, "", 0, c->app->session_cookie_flags);
    slo_send_message(c, &out, "SAMLResponse", c->in.relay_state);
out:
    sp_logout_out_cleanup(&out);
    sp_logout_signer_free(&signer);
    free(url);
}

static const char *slo_outcome_label(enum sp_logout_outcome o)
{
    return o == SP_LOGOUT_OUTCOME_SUCCESS   ? SLO_OUT_OK
           : o == SP_LOGOUT_OUTCOME_PARTIAL ? SLO_OUT_PARTIAL
                                            : SLO_OUT_FAILED;
}

/* SLO-14: the IdP's answer to our LogoutRequest. */
static void slo_sp_response(struct slo_ctx *c)
{
    const struct sp_config *cfg = c->app->cfg;
    const struct sp_logout_fields *f = sp_logout_msg_fields(c->msg);
    const struct sp_xmlsig_keys *keys;
    struct sp_logout_pending pend;
    struct sp_logout_expect exp;
    struct sp_logout_result r;
    enum sp_logout_outcome outcome;
    int64_t now_ms = sp_clock_now_ms();
    json_t *details;
    enum sp_err rc;

    memset(&pend, 0, sizeof(pend));
    if (f->in_response_to == NULL || f->in_response_to[0] == '\0') {
        slo_refuse_code(c, SP_LOGOUT_KIND_RESPONSE, NULL, NULL, SP_LOGOUT_IN_RESPONSE_TO,
                        "LogoutResponse without InResponseTo (unsolicited)");
        goto out;
    }
    rc = sp_logout_state_get(c->app->db, f->in_response_to, &pend);
    if (rc == SP_ERR_NOT_FOUND) {
        slo_refuse_code(c, SP_LOGOUT_KIND_RESPONSE, NULL, NULL, SP_LOGOUT_IN_RESPONSE_TO,
                        "InResponseTo names no LogoutRequest of ours");
        goto out;
    }
    if (rc != SP_OK) {
        slo_internal_error(c->resp, "Riprovare più tardi.");
        goto out;
    }
    keys = sp_idp_set_keys(c->idps, pend.idp);
    memset(&exp, 0, sizeof(exp));
    exp.kind = SP_LOGOUT_KIND_RESPONSE;
    exp.issuer = pend.idp;
    exp.destination = c->app->slo_url;
    exp.in_response_to = pend.id;
    exp.request_issue_ms = pend.issue_instant_ms;
    exp.now_ms = now_ms;
    exp.skew_sec = cfg->clock_skew_sec;
    if (sp_logout_check(c->msg, &exp, &r) != SP_LOGOUT_OK ||
        sp_logout_verify(c->msg, &c->in, keys, &r) != SP_LOGOUT_OK) {
        slo_refuse(c, SP_LOGOUT_KIND_RESPONSE, pend.idp, pend.user_cf, &r);
        goto out;
    }
    if (c->in.relay_state != NULL && !sp_str_eq_ct(c->in.relay_state, pend.relay_state)) {
        slo_refuse_code(c, SP_LOGOUT_KIND_RESPONSE, pend.idp, pend.user_cf, SP_LOGOUT_RELAY_STATE,
                        "RelayState is not the one sent with the LogoutRequest");
        goto out;
    }
    rc = sp_logout_state_consume(c->app->db, pend.id, now_ms / 1000);
    if (rc == SP_ERR_REPLAY || rc == SP_ERR_EXPIRED || rc == SP_ERR_NOT_FOUND) {
        slo_refuse_code(c, SP_LOGOUT_KIND_RESPONSE, pend.idp, pend.user_cf,
                        rc == SP_ERR_EXPIRED ? SP_LOGOUT_EXPIRED : SP_LOGOUT_REPLAY,
                        rc == SP_ERR_EXPIRED ? "our LogoutRequest has expired"
                                             : "LogoutRequest already answered (replay)");
        goto out;
    }
    if (rc != SP_OK) {
        slo_internal_error(c->resp, "Riprovare più tardi.");
        goto out;
    }
    outcome = sp_logout_outcome_of(c->msg);
    details = slo_details("sp", pend.idp, c->binding, pend.id);
    json_object_set_new(details, "status", json_string(f->status));
    if (f->sub_status != NULL)
        json_object_set_new(details, "sub_status", json_string(f->sub_status));
    slo_audit(c->app, c->req, pend.user_cf, NULL, pend.session,
              outcome == SP_LOGOUT_OUTCOME_SUCCESS ? "ok" : "error",
              outcome == SP_LOGOUT_OUTCOME_SUCCESS   ? "SP-initiated logout completed at the IdP"
              : outcome == SP_LOGOUT_OUTCOME_PARTIAL ? "SP-initiated logout: partial at the IdP"
                                                     : "SP-initiated logout: refused by the IdP",
              details);
    sp_metrics_inc(SLO_METRIC, "direction", "sp", "outcome", slo_outcome_label(outcome));
    sp_info("LogoutResponse to %s from %s: %s", pend.id, pend.idp, slo_outcome_label(outcome));
    sp_resp_cookie(c->resp, SP_SESSION_COOKIE, "", 0, c->app->session_cookie_flags);
    if (outcome == SP_LOGOUT_OUTCOME_SUCCESS)
        slo_page(c->resp, 200, slo_heading_done,
                 "La sessione su questo sito e quella presso il gestore dell'identità SPID "
                 "sono state chiuse.");
    else if (outcome == SP_LOGOUT_OUTCOME_PARTIAL)
        slo_page(c->resp, 200, "Uscita parziale",
                 "La sessione su questo sito è stata chiusa, ma il gestore dell'identità SPID "
                 "ha chiuso le sessioni solo in parte (logout parziale). Per sicurezza chiudere "
                 "il browser.");
    else
        slo_page(c->resp, 200, "Uscita non completata",
                 "La sessione su questo sito è stata chiusa, ma il gestore dell'identità SPID "
                 "non ha potuto chiudere la propria sessione. Per sicurezza chiudere il "
                 "browser.");
out:
    sp_logout_pending_cleanup(&pend);
}

/* The issuer of a message when it is one of our IdPs (for the register), else NULL. */
static const char *slo_known_issuer(const struct slo_ctx *c)
{
    const struct sp_logout_fields *f = sp_logout_msg_fields(c->msg);

    if (f == NULL || f->n_issuer != 1 || !sp_idp_set_has(c->idps, f->issuer))
        return NULL;
    return f->issuer;
}

void sp_web_spid_slo(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s)
{
    struct slo_ctx c;
    struct sp_logout_result dr, pr;
    const struct sp_logout_fields *f;
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

    memset(&c, 0, sizeof(c));
    c.app = app;
    c.req = req;
    c.resp = resp;
    c.browser = s;
    c.binding = get ? "redirect" : "post";
    sp_logout_in_init(&c.in);
    if (!get && sp_req_form_bad(req)) {
        sp_info("SLO: malformed form");
        sp_tmpl_error_page(resp, 400, "Richiesta di uscita non valida",
                           "Il modulo ricevuto non è valido.");
        goto out;
    }
    if (get)
        sp_logout_decode_redirect(req->raw_query, &c.in, &dr);
    else
        sp_logout_decode_post(sp_req_form(req, "SAMLRequest"), sp_req_form(req, "SAMLResponse"),
                              sp_req_form(req, "RelayState"), &c.in, &dr);
    if (c.in.kind == SP_LOGOUT_KIND_NONE || c.in.param.len == 0) {
        sp_info("SLO: %s (%s)", sp_logout_check_name(dr.code), dr.detail);
        sp_tmpl_error_page(resp, sp_logout_check_status(dr.code), "Richiesta di uscita non valida",
                           sp_logout_check_message(dr.code));
        goto out;
    }
    if (dr.code == SP_LOGOUT_OK)
        c.msg = sp_logout_parse(c.in.xml.data, c.in.xml.len, &pr);
    c.idps = sp_app_idps(app);
    f = sp_logout_msg_fields(c.msg);
    /* what arrived is kept, decodable or not, before anything is done about it */
    if (slo_record(app,
                   c.in.kind == SP_LOGOUT_KIND_REQUEST ? SP_REGISTER_LOGOUT_REQUEST
                                                       : SP_REGISTER_LOGOUT_RESPONSE,
                   SP_REGISTER_IN, f ? f->id : NULL, f ? f->in_response_to : NULL,
                   slo_known_issuer(&c), NULL,
                   dr.code == SP_LOGOUT_OK ? c.in.xml.data : c.in.param.data,
                   dr.code == SP_LOGOUT_OK ? c.in.xml.len : c.in.param.len) != SP_OK) {
        slo_internal_error(resp, "Riprovare più tardi.");
        goto out;
    }
    if (dr.code != SP_LOGOUT_OK)
        slo_refuse(&c, c.in.kind, NULL, NULL, &dr);
    else if (c.msg == NULL)
        slo_refuse(&c, c.in.kind, NULL, NULL, &pr);
    else if (f->kind != c.in.kind)
        slo_refuse_code(&c, c.in.kind, NULL, NULL, SP_LOGOUT_ROOT,
                        "the parameter name does not match the message");
    else if (f->kind == SP_LOGOUT_KIND_REQUEST)
        slo_idp_request(&c);
    else
        slo_sp_response(&c);
out:
    sp_logout_msg_free(&c.msg);
    sp_logout_in_cleanup(&c.in);
    sp_idp_set_free(&c.idps);
}
