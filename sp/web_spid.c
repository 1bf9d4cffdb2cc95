/*
 * web_spid: the HTTP side of SPID login: GET /spid/login (validate the
 * parameters, store the pending request bound to this browser, answer with a
 * Redirect or an auto-submitting POST form) and POST /spid/acs (hand the
 * Response to saml_acs.c, then open the session or show the reason).
 * Both keep their message in the transaction register before going
 * on: the AuthnRequest before the pending request is stored and sent, the
 * Response (through the saml_acs record callback) before its outcome is
 * acted on. When the register cannot keep it: 500, and nothing else.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sp/app.h"
#include "sp/audit.h"
#include "sp/authn_state.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/digest.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/metrics.h"
#include "sp/rand.h"
#include "sp/redirect.h"
#include "sp/register.h"
#include "sp/saml.h"
#include "sp/saml_acs.h"
#include "sp/saml_login.h"
#include "sp/spid_checks.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/web.h"

#define SP_BINDING_COOKIE_MAX_AGE 3600

static void login_bad(struct sp_resp *resp, int status, const char *message, const char *why)
{
    sp_info("login request refused: %s", why);
    sp_tmpl_error_page(resp, status, "Richiesta di accesso non valida", message);
}

/* A binding token for this browser: reuse a well-formed one, else a new one. */
static void login_binding_token(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                                char token[SP_RAND_TOKEN_LEN + 1])
{
    const char *have = sp_req_cookie(req, SP_BINDING_COOKIE);
    size_t n = have ? strlen(have) : 0;
    bool ok = n == SP_RAND_TOKEN_LEN;

    for (size_t i = 0; ok && i < n; i++)
        ok = (have[i] >= '0' && have[i] <= '9') || (have[i] >= 'a' && have[i] <= 'f');
    if (ok) {
        memcpy(token, have, SP_RAND_TOKEN_LEN + 1);
        return;
    }
    sp_rand_token(token);
    sp_resp_cookie(resp, SP_BINDING_COOKIE, token, SP_BINDING_COOKIE_MAX_AGE,
                   app->binding_cookie_flags);
}

static void login_post_form(struct sp_resp *resp, const struct sp_authn_request *ar,
                            const char *relay)
{
    struct sp_tmpl_var vars[] = {
        {"action", ar->url},
        {"field", "SAMLRequest"},
        {"value", ar->saml_request},
        {"relay_state", relay},
    };
    sp_tmpl_page(resp, 200, "Accesso con SPID", "autopost.html", vars, 4);
}

void sp_web_spid_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s)
{
    const struct sp_config *cfg = app->cfg;
    const char *idp = sp_req_query(req, "idp");
    const char *level_s = sp_req_query(req, "level");
    const char *next = sp_req_query(req, "next");
    const char *purpose = sp_req_query(req, "purpose");
    const char *why = NULL;
    char relay[SP_RAND_TOKEN_LEN + 1], binding[SP_RAND_TOKEN_LEN + 1];
    char hash[SP_SHA256_HEX_LEN + 1];
    struct sp_authn_params p;
    struct sp_authn_request ar;
    struct sp_authn_pending pend;
    uint64_t level = cfg->default_level;
    struct sp_idp_set *idps = NULL;
    enum sp_err rc;
    (void)s;

    memset(&ar, 0, sizeof(ar));
    if (sp_req_query_bad(req)) {
        login_bad(resp, 400, "I parametri della richiesta non sono validi.",
                  "malformed or repeated query parameters");
        return;
    }
    if (idp == NULL || idp[0] == '\0') {
        login_bad(resp, 400, "Scegliere un gestore di identità SPID.", "no idp parameter");
        return;
    }
    idps = sp_app_idps(app);
    if (!sp_idp_set_has(idps, idp)) {
        login_bad(resp, 400, "Il gestore di identità indicato non è tra quelli ammessi.",
                  "unknown IdP");
        goto out;
    }
    if (level_s != NULL && sp_parse_uint(level_s, 1, 3, &level) != SP_OK) {
        login_bad(resp, 400, "Il livello SPID richiesto deve essere 1, 2 o 3.", "bad level");
        goto out;
    }
    if (next == NULL)
        next = "/";
    if (sp_redirect_check(next, &why) != SP_OK) {
        login_bad(resp, 400, "L'indirizzo di ritorno non è una pagina di questo sito.",
                  why ? why : "next is not a local path");
        goto out;
    }
    if (purpose != NULL && !sp_saml_purpose_ok(purpose)) {
        login_bad(resp, 400, "Il tipo di identità richiesto non è valido.", "bad purpose");
        goto out;
    }

    sp_rand_token(relay);
    login_binding_token(app, req, resp, binding);
    memset(&p, 0, sizeof(p));
    p.idp = idp;
    p.level = (unsigned)level;
    p.purpose = purpose;
    p.attr_index = cfg->attr_service_index;
    p.relay_state = relay;
    p.binding = cfg->binding;
    rc = sp_saml_login_build(idps, cfg, &p, &ar);
    if (rc != SP_OK) {
        sp_tmpl_error_page(resp, rc == SP_ERR_UNKNOWN_IDP ? 400 : 500, "Accesso non disponibile",
                           "Non è stato possibile preparare la richiesta di accesso per il "
                           "gestore di identità scelto. Riprovare più tardi.");
        goto out;
    }

    /* recorded exactly as signed and sent, before anything of it is stored or sent */
    {
        const struct sp_register_record rec = {
            .time_ms = ar.issue_instant_ms,
            .kind = SP_REGISTER_AUTHN_REQUEST,
            .direction = SP_REGISTER_OUT,
            .id = ar.id,
            .idp = idp,
            .msg = ar.xml,
            .msg_len = ar.xml_len,
        };
        if (sp_app_record(app, &rec) != SP_OK) {
            sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
            goto out;
        }
    }

    sp_sha256_hex(binding, strlen(binding), hash);
    memset(&pend, 0, sizeof(pend));
    pend.id = ar.id;
    pend.relay_state = relay;
    pend.binding_hash = hash;
    pend.idp = (char *)idp;
    pend.level = (unsigned)level;
    pend.comparison = "minimum";
    pend.purpose = (char *)purpose;
    pend.acs_url = app->acs_url;
    pend.attr_index = p.attr_index;
    pend.issue_instant_ms = ar.issue_instant_ms;
    pend.next = (char *)next;
    pend.expires_at = ar.issue_instant_ms / 1000 + cfg->request_ttl_sec;
    if (sp_authn_state_put(app->db, &pend, sp_clock_now()) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        goto out;
    }
    sp_info("AuthnRequest %s to %s, level %u, %s binding", ar.id, idp, p.level,
            ar.post ? "POST" : "Redirect");
    if (ar.post)
        login_post_form(resp, &ar, relay);
    else
        sp_resp_redirect(resp, 302, ar.url);
out:
    sp_authn_request_cleanup(&ar);
    sp_idp_set_free(&idps);
}

/* The transaction register's side of the ACS (sp_acs_record_fn): a Response in. */
static enum sp_err acs_record(void *ctx, const struct sp_acs_message *m)
{
    const struct sp_register_record rec = {
        .time_ms = m->received_ms,
        .kind = SP_REGISTER_RESPONSE,
        .direction = SP_REGISTER_IN,
        .id = m->id,
        .in_response_to = m->in_response_to,
        .idp = m->issuer,
        .cf = m->cf,
        .msg = m->xml,
        .msg_len = m->len,
    };
    return sp_app_record(ctx, &rec);
}

/* A rejected Response: who it claimed to be is unknown (nothing in it is
 * trusted), so the entry names the check, the IdP and the anomaly code. */
static void acs_audit_failure(struct sp_app *app, const struct sp_req *req,
                              const struct sp_acs_result *res)
{
    struct sp_audit_event ev;
    json_t *o =
        json_pack("{s:s, s:s?, s:i}", "method", "spid", "idp", res->idp, "anomaly", res->anomaly);
    char *details = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

    json_decref(o);
    memset(&ev, 0, sizeof(ev));
    ev.event = SP_AUDIT_LOGIN_FAILED;
    ev.source_ip = req->client_ip;
    ev.outcome = res->unrecorded ? "error" : "denied";
    ev.reason = res->unrecorded ? "REGISTER_UNAVAILABLE" : sp_check_name(res->check);
    ev.details = details;
    if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
        sp_warn("could not write the audit entry of a rejected login");
    free(details);
}

void sp_web_spid_acs(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s)
{
    struct sp_acs_result res;
    struct sp_saml_env env = app->saml;
    struct sp_idp_set *idps;
    (void)s;

    if (sp_req_form_bad(req)) {
        sp_info("ACS: malformed form");
        sp_tmpl_error_page(resp, 400, "Accesso non riuscito",
                           "La risposta ricevuta non è un modulo valido.");
        return;
    }
    env.idps = idps = sp_app_idps(app);
    env.record = acs_record;
    env.record_ctx = app;
    sp_saml_acs_process(&env, sp_req_form(req, "SAMLResponse"), sp_req_form(req, "RelayState"),
                        sp_req_cookie(req, SP_BINDING_COOKIE), req->client_ip, &res);
    if (res.unrecorded) {
        /* counted in spid_sp_register_errors_total; not a rejection by any check */
        acs_audit_failure(app, req, &res);
        sp_tmpl_error_page(resp, res.http_status, res.title, res.message);
    } else if (res.check == SP_CHECK_OK && res.http_status == 302) {
        sp_metrics_inc("spid_sp_spid_logins_total", "idp", res.idp, "outcome", "ok");
        if (res.skew_known)
            sp_metrics_set("spid_sp_idp_clock_skew_seconds", "idp", res.idp, NULL, NULL,
                           (double)res.skew_ms / 1000.0);
        sp_resp_cookie(resp, SP_SESSION_COOKIE, res.session_token, -1, app->session_cookie_flags);
        sp_resp_redirect(resp, 302, res.next);
    } else {
        char code[16];
        sp_metrics_inc("spid_sp_spid_logins_total", "idp", res.idp ? res.idp : "unknown", "outcome",
                       "rejected");
        sp_metrics_inc("spid_sp_spid_rejections_total", "check", sp_check_name(res.check), NULL,
                       NULL);
        if (res.anomaly > 0) {
            snprintf(code, sizeof(code), "nr%d", res.anomaly);
            sp_metrics_inc("spid_sp_spid_anomalies_total", "code", code, NULL, NULL);
        }
        acs_audit_failure(app, req, &res);
        sp_tmpl_error_page(resp, res.http_status, res.title, res.message);
    }
    sp_acs_result_cleanup(&res);
    sp_idp_set_free(&idps);
}
