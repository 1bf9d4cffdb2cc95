/*
 * saml_login: SPID AuthnRequest through lasso. lasso fills ID, Version,
 * IssueInstant and Destination and signs; we override the ID with a CSPRNG
 * value and the IssueInstant with millisecond precision (stored with the
 * pending request for RS-13), and set the SPID fields of spec §2 (the
 * IsPassive/AllowCreate/Purpose fix-ups happen in the class patch, saml.c).
 */
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_requested_authn_context.h>
#include <string.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/saml_login.h"
#include "saml_priv.h"

#define SP_MAX_REDIRECT_URL (64u * 1024u)
#define SP_MAX_AUTHN_XML (64u * 1024u) /* a signed AuthnRequest is about 5 KB */

bool sp_saml_purpose_ok(const char *purpose)
{
    static const char *const ok[] = {"P", "LP", "PG", "PF", "PX"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (purpose != NULL && strcmp(purpose, ok[i]) == 0)
            return true;
    return false;
}

static void login_set_spid_fields(LassoSamlp2AuthnRequest *req, const struct sp_config *cfg,
                                  const struct sp_authn_params *p, const char *id,
                                  const char *instant)
{
    LassoSamlp2RequestAbstract *ra = LASSO_SAMLP2_REQUEST_ABSTRACT(req);
    LassoSamlp2RequestedAuthnContext *rac =
        LASSO_SAMLP2_REQUESTED_AUTHN_CONTEXT(lasso_samlp2_requested_authn_context_new());
    char level[64];

    sp_saml_assign(&ra->ID, id);
    sp_saml_assign(&ra->IssueInstant, instant);
    sp_saml_assign(&ra->Issuer->Format, SP_NAMEID_ENTITY);
    sp_saml_assign(&ra->Issuer->NameQualifier, cfg->entity_id);
    req->ForceAuthn = p->level >= 2; /* AR-05; omitted at L1 by the class patch */
    req->IsPassive = FALSE;          /* AR-06: removed by the class patch */
    req->AssertionConsumerServiceIndex = 0;
    req->AttributeConsumingServiceIndex = (int)p->attr_index;
    sp_saml_assign(&req->AssertionConsumerServiceURL, NULL);
    sp_saml_assign(&req->ProtocolBinding, NULL);
    if (req->NameIDPolicy == NULL)
        req->NameIDPolicy = LASSO_SAMLP2_NAME_ID_POLICY(lasso_samlp2_name_id_policy_new());
    sp_saml_assign(&req->NameIDPolicy->Format, SP_NAMEID_TRANSIENT);
    snprintf(level, sizeof(level), "%s%u", SP_SPID_LEVEL_PREFIX, p->level);
    rac->AuthnContextClassRef = g_list_append(rac->AuthnContextClassRef, g_strdup(level));
    sp_saml_assign(&rac->Comparison, "minimum");
    if (req->RequestedAuthnContext != NULL)
        g_object_unref(req->RequestedAuthnContext);
    req->RequestedAuthnContext = rac;
    if (p->purpose != NULL)
        g_object_set_data_full(G_OBJECT(req), SP_SAML_PURPOSE_KEY, g_strdup(p->purpose), g_free);
}

enum sp_err sp_saml_login_build(const struct sp_idp_set *set, const struct sp_config *cfg,
                                const struct sp_authn_params *p, struct sp_authn_request *out)
{
    const struct sp_idp_info *idp = sp_idp_set_find(set, p->idp);
    LassoLogin *login = NULL;
    LassoHttpMethod method;
    char instant[SP_TIME_ISO_LEN];
    enum sp_err rc = SP_OK;
    int lrc;

    memset(out, 0, sizeof(*out));
    if (idp == NULL)
        return SP_ERR_UNKNOWN_IDP;
    if (p->level < 1 || p->level > 3 || (p->purpose != NULL && !sp_saml_purpose_ok(p->purpose)))
        return SP_ERR_INVALID;
    switch (p->binding) {
    case SP_BINDING_REDIRECT:
        out->post = false;
        break;
    case SP_BINDING_POST:
        out->post = true;
        break;
    default:
        out->post = idp->sso_redirect == NULL; /* AR-45: what the IdP offers */
        break;
    }
    if ((out->post ? idp->sso_post : idp->sso_redirect) == NULL) {
        sp_info("IdP %s has no SSO endpoint for the %s binding", p->idp,
                out->post ? "HTTP-POST" : "HTTP-Redirect");
        return SP_ERR_UNKNOWN_IDP;
    }
    method = out->post ? LASSO_HTTP_METHOD_POST : LASSO_HTTP_METHOD_REDIRECT;

    sp_rand_id(out->id);
    out->issue_instant_ms = sp_clock_now_ms();
    sp_time_format(out->issue_instant_ms, 1, instant);

    login = lasso_login_new(set->server);
    if (login == NULL) {
        rc = SP_ERR_SAML;
        goto out;
    }
    /* POST: lasso adds the enveloped signature; Redirect: the query is signed
     * (redirect_sign.c) and the XML must carry no signature (AR-11) */
    lasso_profile_set_signature_hint(LASSO_PROFILE(login),
                                     out->post ? LASSO_PROFILE_SIGNATURE_HINT_FORCE
                                               : LASSO_PROFILE_SIGNATURE_HINT_FORBID);
    lrc = lasso_login_init_authn_request(login, p->idp, method);
    if (lrc != 0) {
        sp_errorx("lasso_login_init_authn_request(%s): %s", p->idp, lasso_strerror(lrc));
        rc = SP_ERR_SAML;
        goto out;
    }
    login_set_spid_fields(LASSO_SAMLP2_AUTHN_REQUEST(LASSO_PROFILE(login)->request), cfg, p,
                          out->id, instant);
    if (!out->post) {
        /* HTTP-Redirect: we deflate, encode and sign ourselves (redirect_sign.c)
         * with a key decoded once; lasso only serialises the request */
        struct sp_buf url;
        LassoNode *req = LASSO_NODE(LASSO_PROFILE(login)->request);
        char *xml;

        sp_saml_assign(&LASSO_SAMLP2_REQUEST_ABSTRACT(req)->Destination, idp->sso_redirect);
        xml = lasso_node_export_to_xml(req);
        if (xml == NULL) {
            rc = SP_ERR_SAML;
            goto out;
        }
        sp_buf_init(&url, SP_MAX_REDIRECT_URL);
        out->xml_len = strlen(xml);
        rc = sp_redirect_sign(set->signer, idp->sso_redirect, "SAMLRequest", xml, out->xml_len,
                              p->relay_state, &url);
        if (rc == SP_OK) {
            out->url = sp_buf_detach(&url);
            out->xml = sp_xstrdup(xml); /* what was deflated into the URL */
        }
        g_free(xml);
        sp_buf_cleanup(&url);
        goto out;
    }
    sp_saml_assign(&LASSO_PROFILE(login)->msg_relayState, p->relay_state); /* signed too */
    lrc = lasso_login_build_authn_request_msg(login);
    if (lrc != 0 || LASSO_PROFILE(login)->msg_url == NULL ||
        LASSO_PROFILE(login)->msg_body == NULL) {
        sp_errorx("lasso_login_build_authn_request_msg: %s", lasso_strerror(lrc));
        rc = SP_ERR_SAML;
        goto out;
    }
    out->url = sp_xstrdup(LASSO_PROFILE(login)->msg_url);
    out->saml_request = sp_xstrdup(LASSO_PROFILE(login)->msg_body);
    {
        /* the signed document as the IdP gets it: the form field, decoded */
        struct sp_buf xml;
        sp_buf_init(&xml, SP_MAX_AUTHN_XML);
        rc = sp_b64_decode(&xml, out->saml_request, strlen(out->saml_request));
        if (rc == SP_OK && xml.len > 0) {
            out->xml_len = xml.len;
            out->xml = sp_buf_detach(&xml);
        } else {
            sp_errorx("AuthnRequest: the POST form field does not decode");
            rc = SP_ERR_SAML;
        }
        sp_buf_cleanup(&xml);
    }
out:
    if (login != NULL)
        g_object_unref(login);
    if (rc != SP_OK)
        sp_authn_request_cleanup(out);
    return rc;
}

void sp_authn_request_cleanup(struct sp_authn_request *r)
{
    free(r->url);
    free(r->saml_request);
    free(r->xml);
    r->url = NULL;
    r->saml_request = NULL;
    r->xml = NULL;
    r->xml_len = 0;
}
