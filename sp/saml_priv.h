/*
 * saml_priv: what the saml layer's own files (saml*.c, devidp.c) share about
 * lasso objects. Not a public header: nothing outside the saml layer includes
 * it, so lasso types stay behind the fence.
 */
#ifndef SP_SAML_PRIV_H
#define SP_SAML_PRIV_H

#include <lasso/lasso.h>

#include "sp/saml.h"
#include "sp/redirect_sign.h"
#include "sp/xmlsig.h"

#define SP_SAML_PURPOSE_KEY "spid-sp-purpose" /* g_object data on an AuthnRequest */
#define SP_SPID_NS "https://spid.gov.it/saml-extensions"
#define SP_NAMEID_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define SP_NAMEID_TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define SP_SPID_LEVEL_PREFIX "https://www.spid.gov.it/SpidL"

struct sp_idp_info {
    char *entity_id;
    char *display_name;
    char *logo;         /* mdui:Logo https URL, or NULL */
    char *origin;       /* the file it came from, or the registry URL */
    char *sso_redirect; /* SingleSignOnService Location per binding, or NULL */
    char *sso_post;
    char *slo_redirect;
    char *slo_post;
    struct sp_xmlsig_keys *keys; /* signing keys from its metadata */
};

struct sp_idp_set {
    int refs;                 /* __atomic; the set is freed when it drops to 0 */
    LassoServer *server;      /* one reference, shared read-only by request threads */
    struct sp_signer *signer; /* our key, for HTTP-Redirect signatures */
    struct sp_idp_info *idps;
    unsigned n_idps;
};

/* The IdP with that entity ID, or NULL. */
const struct sp_idp_info *sp_idp_set_find(const struct sp_idp_set *set, const char *entity_id);

/* Replace a char * field of a lasso node with a copy of value (lasso frees with g_free). */
void sp_saml_assign(char **field, const char *value);

#endif /* SP_SAML_PRIV_H */
