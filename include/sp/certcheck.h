/*
 * certcheck: `spid-sp check-cert`, an independent check of any SP
 * certificate against the SPID profile of Avviso n.29 v3 (spec §8,
 * CE-01..CE-08). The counterpart of sp_cert_generate(): what the generator
 * writes passes; every deviation becomes a finding in a struct sp_report.
 */
#ifndef SP_CERTCHECK_H
#define SP_CERTCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_report;

/* Which sector profile to hold the certificate to (CE-04, CE-07). */
enum sp_cert_profile {
    SP_CERT_PROFILE_AUTO,   /* from the sector policy OID, else the organizationIdentifier */
    SP_CERT_PROFILE_PUBLIC, /* PA:IT-..., 1.3.76.16.4.2.1 */
    SP_CERT_PROFILE_PRIVATE /* VATIT-... or CF:IT-..., 1.3.76.16.4.3.1 */
};

#define SP_CERTCHECK_MAX_INPUT 65536     /* largest PEM or DER input examined */
#define SP_CERTCHECK_EXPIRY_WARN_DAYS 30 /* CE-08-expired: warning this close to notAfter */
#define SP_CERTCHECK_MAX_CN 64           /* RFC 5280 ub-common-name */
#define SP_CERTCHECK_MAX_O 64            /* RFC 5280 ub-organization-name */

/*
 * Check the first certificate in data (PEM text, or DER when there is no
 * "-----BEGIN" line) as of now (seconds since the epoch, normally
 * sp_clock_now()) and append every finding to out, which the caller has
 * initialised with sp_report_init() and still owns. Never stops at the first
 * problem. Ids are the CE- rules, suffixed when a rule has several checks
 * (CE-02-uri, CE-07-ku-critical, ...); see certcheck.c for the list.
 * Returns SP_OK once the checks ran (findings or not); SP_ERR_INVALID when no
 * certificate could be parsed, in which case out holds one "CERT-parse"
 * error and nothing else was checked.
 */
enum sp_err sp_certcheck_run(const char *data, size_t len, enum sp_cert_profile profile,
                             int64_t now, struct sp_report *out);

/* "public", "private" or "auto" to the enum; SP_ERR_INVALID otherwise. */
enum sp_err sp_certcheck_profile_parse(const char *s, enum sp_cert_profile *out);

#endif /* SP_CERTCHECK_H */
