/*
 * mdcheck: the SPID metadata checker behind `spid-sp check-metadata`. It
 * takes any SP or IdP metadata document (not only ours) and lists every
 * problem against spec §1 (MD- rules), the OASIS and SPID schemas, the
 * signature rules and the IdP-side facts of §9.2/§10. Pure: no network, no
 * files (the schemas are embedded or read from the Debian schema packages).
 */
#ifndef SP_MDCHECK_H
#define SP_MDCHECK_H

#include <stddef.h>

#include "sp/err.h"

struct sp_report;

#define SP_MDCHECK_MAX_BYTES (2u * 1024u * 1024u) /* largest document we check */
#define SP_MDCHECK_EXPIRY_WARN_DAYS 30            /* certificates: warn this close */

enum sp_md_role { SP_MD_ROLE_AUTO, SP_MD_ROLE_SP, SP_MD_ROLE_IDP };
enum sp_md_profile {
    SP_MD_PROFILE_AUTO,
    SP_MD_PROFILE_PUBLIC,
    SP_MD_PROFILE_PRIVATE,
    SP_MD_PROFILE_AG
};

/* ---- Running the checks ---- */

/*
 * Check the metadata document xml (len bytes, not necessarily NUL-terminated)
 * and append one finding per problem to out (initialised by the caller with
 * sp_report_init). Every check runs, whatever failed before, except when the
 * document cannot be parsed at all (too large, not well-formed, a DTD): then
 * that one finding is all. role AUTO picks IdP when the root holds an
 * IDPSSODescriptor and no SPSSODescriptor; profile AUTO follows spid:Public /
 * spid:Private / the aggregator elements of the "other" ContactPerson.
 * sp_saml_global_init() must have run. Returns SP_OK when the checks ran
 * (the findings say whether the document is good), SP_ERR_INTERNAL when a
 * library failed (also added as a finding).
 *
 * Not thread-safe: the compiled schemas are cached in process-wide statics
 * on first use and the libxml2 external entity loader is swapped while the
 * OASIS schema is compiled. The CLI is single-threaded.
 */
enum sp_err sp_mdcheck_run(const char *xml, size_t len, enum sp_md_role role,
                           enum sp_md_profile profile, struct sp_report *out);

/* Release the cached schemas (tests and LeakSanitizer; optional). */
void sp_mdcheck_cleanup(void);

/* ---- Names ---- */

/* Parse "sp"/"idp" and "public"/"private"/"ag"; SP_ERR_INVALID otherwise. */
enum sp_err sp_mdcheck_parse_role(const char *s, enum sp_md_role *role);
enum sp_err sp_mdcheck_parse_profile(const char *s, enum sp_md_profile *profile);

#endif /* SP_MDCHECK_H */
