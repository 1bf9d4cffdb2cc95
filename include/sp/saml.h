/*
 * saml: the fence around lasso, libxml2 and xmlsec. Process-wide initialisation
 * (once, main thread, before any worker), the shared read-only lasso server
 * holding our SP identity and every trusted IdP, and the IdP lookups the rest
 * of the code needs. No other module includes lasso headers except the
 * saml_*.c, metadata.c and devidp.c files.
 */
#ifndef SP_SAML_H
#define SP_SAML_H

#include <stdbool.h>
#include <stddef.h>

#include "sp/config.h"
#include "sp/err.h"

struct sp_buf;
struct sp_idp_set;

/*
 * Initialise lasso (which initialises libxml2 and xmlsec), force signature
 * verification on whatever LASSO_FLAG says, select RSA-SHA256, install the
 * AuthnRequest serialisation patch (no IsPassive / AllowCreate) and route
 * lasso's logging to ours. Call once, before threads; never call it again
 * after sp_saml_global_cleanup().
 */
enum sp_err sp_saml_global_init(void);
void sp_saml_global_cleanup(void);

/* One IdP metadata document given in memory (e.g. from the verified registry). */
struct sp_idp_source {
    const char *xml; /* a standalone EntityDescriptor */
    size_t len;
    const char *origin; /* where it came from, for logs and views */
};

/*
 * Build the set of trusted IdPs and our SP identity: our metadata (built from
 * cfg and signed with key/cert), every IdP metadata file in cfg->idp_metadata
 * (files, or directories of *.xml; a missing path is tolerated when extra
 * sources are given), then the n_extra documents of extra, whose trust the
 * caller has established. An entity ID seen twice keeps its first source.
 * Shared read-only by the request threads. Returns NULL with a logged reason
 * on failure.
 */
struct sp_idp_set *sp_idp_set_new(const struct sp_config *cfg, const char *sp_metadata_xml,
                                  const char *key_pem, const char *cert_pem,
                                  const struct sp_idp_source *extra, unsigned n_extra);

/*
 * A set is reference counted so that a refreshed set can replace it while
 * requests still use the old one: sp_idp_set_ref adds a reference (atomic,
 * any thread) and returns set; sp_idp_set_free drops the caller's reference
 * (the set is freed with the last one) and sets *set to NULL.
 */
struct sp_idp_set *sp_idp_set_ref(struct sp_idp_set *set);
void sp_idp_set_free(struct sp_idp_set **set);

/* Number of IdPs and their entity IDs (borrowed, valid while the set lives). */
unsigned sp_idp_set_count(const struct sp_idp_set *set);
const char *sp_idp_set_entity(const struct sp_idp_set *set, unsigned i);
/* Display name of IdP i (OrganizationDisplayName, else entity ID); borrowed. */
const char *sp_idp_set_display_name(const struct sp_idp_set *set, unsigned i);
/* Where IdP i was loaded from (a file path or the registry URL); borrowed. */
const char *sp_idp_set_origin(const struct sp_idp_set *set, unsigned i);
/* Logo of IdP i (an https URL from mdui:Logo in its metadata), or NULL; borrowed. */
const char *sp_idp_set_logo(const struct sp_idp_set *set, unsigned i);
bool sp_idp_set_has(const struct sp_idp_set *set, const char *entity_id);

struct sp_xmlsig_keys;

/* The signing keys of an IdP's metadata (borrowed), or NULL for an unknown IdP. */
const struct sp_xmlsig_keys *sp_idp_set_keys(const struct sp_idp_set *set, const char *entity_id);

#endif /* SP_SAML_H */
