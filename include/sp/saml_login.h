/*
 * saml_login: building the signed SPID AuthnRequest (spec §2, every AR- rule)
 * for the HTTP-Redirect or HTTP-POST binding, through lasso.
 */
#ifndef SP_SAML_LOGIN_H
#define SP_SAML_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/config.h"
#include "sp/err.h"
#include "sp/rand.h"

struct sp_idp_set;

struct sp_authn_params {
    const char *idp;         /* entity ID; must be in the IdP set */
    unsigned level;          /* 1..3 */
    const char *purpose;     /* NULL or one of P LP PG PF PX */
    unsigned attr_index;     /* AttributeConsumingServiceIndex */
    const char *relay_state; /* opaque token (AR-18) */
    enum sp_binding binding; /* AUTO: Redirect when the IdP offers it */
};

struct sp_authn_request {
    char id[SP_RAND_ID_LEN + 1];
    int64_t issue_instant_ms;
    bool post;          /* HTTP-POST binding: render a form */
    char *url;          /* Redirect: the whole URL; POST: the form action */
    char *saml_request; /* POST only: base64 of the signed XML */
    char *xml;          /* the AuthnRequest exactly as sent, for the transaction register:
                           POST the signed document saml_request carries; Redirect the XML
                           before deflate (its signature is in the query string) */
    size_t xml_len;
};

/* True when purpose is one of the five values of spec PU-02. */
bool sp_saml_purpose_ok(const char *purpose);

/*
 * Build and sign the request. SP_ERR_UNKNOWN_IDP when the IdP is not loaded
 * or offers no SSO endpoint for the binding. out (url, saml_request, xml) is
 * freed with sp_authn_request_cleanup.
 */
enum sp_err sp_saml_login_build(const struct sp_idp_set *set, const struct sp_config *cfg,
                                const struct sp_authn_params *p, struct sp_authn_request *out);
void sp_authn_request_cleanup(struct sp_authn_request *r);

#endif /* SP_SAML_LOGIN_H */
