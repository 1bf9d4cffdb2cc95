/*
 * devidp_slo: the dev IdP's side of SP-initiated single logout. The IdP keeps
 * no sessions, so a correctly signed LogoutRequest from a trusted SP always
 * gets a signed Success LogoutResponse in the binding it came with (SLO-02:
 * answering is mandatory even when there is nothing to close).
 */
#define _DEFAULT_SOURCE
#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>
#include <stdlib.h>
#include <string.h>

#include "sp/forms.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "devidp_priv.h"
#include "saml_priv.h"

/* Redirect: SAMLRequest, SigAlg and Signature present, SigAlg allowed. */
static enum sp_err slo_redirect_params(const char *raw_query, struct devidp_problem *why)
{
    struct sp_params q;
    enum sp_err rc = SP_ERR_INVALID;
    const char *alg;

    memset(&q, 0, sizeof(q));
    if (strlen(raw_query) > DEVIDP_MAX_MESSAGE) {
        devidp_problem(why, 400, NULL, "richiesta di logout troppo grande");
        return rc;
    }
    sp_params_parse(&q, raw_query, strlen(raw_query));
    alg = sp_params_get(&q, "SigAlg");
    if (q.bad || sp_params_get(&q, "SAMLRequest") == NULL)
        devidp_problem(why, 400, NULL, "parametro SAMLRequest mancante o query malformata");
    else if (alg == NULL || sp_params_get(&q, "Signature") == NULL)
        devidp_problem(why, 403, NULL, "LogoutRequest non firmata (SLO-12)");
    else if (!devidp_sig_alg_ok(alg))
        devidp_problem(why, 403, NULL, "SigAlg \"%s\" non ammesso (SLO-12)", alg);
    else
        rc = SP_OK;
    sp_params_cleanup(&q);
    return rc;
}

/* Whatever lasso concluded about our (absent) session: the answer is Success. */
static void slo_force_success(LassoSamlp2StatusResponse *resp, const char *entity_id)
{
    LassoSamlp2Status *st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
    LassoSamlp2StatusCode *code = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());

    sp_saml_assign(&code->Value, LASSO_SAML2_STATUS_CODE_SUCCESS);
    st->StatusCode = code;
    if (resp->Status != NULL)
        g_object_unref(resp->Status);
    resp->Status = st;
    if (resp->Issuer != NULL) {
        sp_saml_assign(&resp->Issuer->Format, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_ENTITY);
        sp_saml_assign(&resp->Issuer->NameQualifier, entity_id);
    }
}

enum sp_err devidp_logout(const struct devidp *idp, const char *raw_query, const char *saml_request,
                          const char *relay_state, struct devidp_logout *out,
                          struct devidp_problem *why)
{
    LassoLogout *lo = NULL;
    LassoProfile *profile;
    enum sp_err rc = SP_ERR_INVALID;
    bool redirect = raw_query != NULL;
    int lrc;

    memset(out, 0, sizeof(*out));
    memset(why, 0, sizeof(*why));
    if (redirect && slo_redirect_params(raw_query, why) != SP_OK)
        goto out;
    if (!redirect && (saml_request == NULL || saml_request[0] == '\0' ||
                      strlen(saml_request) > DEVIDP_MAX_MESSAGE)) {
        devidp_problem(why, 400, NULL, "campo SAMLRequest mancante o troppo grande");
        goto out;
    }
    lo = lasso_logout_new(idp->server);
    profile = LASSO_PROFILE(lo);
    lasso_profile_set_signature_verify_hint(profile, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
    lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
    lrc = lasso_logout_process_request_msg(lo, (char *)(redirect ? raw_query : saml_request));
    if (lrc == 0 && profile->signature_status != 0)
        lrc = profile->signature_status;
    if (lrc != 0) {
        devidp_problem(why, devidp_lasso_sig_error(lrc) ? 403 : 400, NULL,
                       "LogoutRequest rifiutata (lasso %d: %s)", lrc, lasso_strerror(lrc));
        goto out;
    }
    /* no session here: lasso reports it, and we answer Success anyway (SLO-02) */
    lrc = lasso_logout_validate_request(lo);
    sp_debug("dev-idp: logout validate_request: %d", lrc);
    if (!LASSO_IS_SAMLP2_STATUS_RESPONSE(profile->response)) {
        devidp_problem(why, 500, NULL, "lasso non ha preparato la LogoutResponse (%d)", lrc);
        rc = SP_ERR_SAML;
        goto out;
    }
    slo_force_success(LASSO_SAMLP2_STATUS_RESPONSE(profile->response), idp->entity_id);
    lrc = lasso_logout_build_response_msg(lo);
    if (lrc != 0 || profile->msg_url == NULL) {
        devidp_problem(why, 500, NULL, "lasso non ha costruito la LogoutResponse (%d: %s)", lrc,
                       lasso_strerror(lrc));
        rc = SP_ERR_SAML;
        goto out;
    }
    out->redirect = profile->msg_body == NULL;
    out->url = sp_xstrdup(profile->msg_url);
    out->body = profile->msg_body ? sp_xstrdup(profile->msg_body) : NULL;
    out->relay_state = !out->redirect && relay_state ? sp_xstrdup(relay_state) : NULL;
    sp_info("dev-idp: LogoutResponse to %s (%s)",
            profile->remote_providerID ? profile->remote_providerID : "?",
            out->redirect ? "HTTP-Redirect" : "HTTP-POST");
    rc = SP_OK;
out:
    if (lo != NULL)
        g_object_unref(lo);
    return rc;
}

void devidp_logout_cleanup(struct devidp_logout *out)
{
    free(out->url);
    free(out->body);
    free(out->relay_state);
    memset(out, 0, sizeof(*out));
}
