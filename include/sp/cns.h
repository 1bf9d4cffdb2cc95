/*
 * cns: login with the Carta Nazionale dei Servizi (domain.md §3): the
 * validation of a TLS client certificate, all of it done here with OpenSSL
 * whatever terminated the TLS connection.
 *
 * Checks, in this order (the first failure decides, with its reason):
 *   1. the certificate parses (PEM or DER)                        UNREADABLE
 *   2. the chain ends at one of the configured CNS certification
 *      authorities (a directory of PEM files: roots and
 *      intermediates), every signature valid                      UNKNOWN_ISSUER
 *   3. validity dates of the certificate (and of the chain) at now  EXPIRED / NOT_YET_VALID
 *   4. certificatePolicies holds one of the accepted CNS policy
 *      OIDs (default 1.3.76.16.2.1, 1.3.159.6.1.3.2.10,
 *      1.3.76.12.1.1.10.2.2.10)                                    NOT_CNS
 *   5. keyUsage has digitalSignature and not nonRepudiation (a
 *      signature certificate is refused with its own reason)       SIGNATURE_CERT / KEY_USAGE
 *   6. extendedKeyUsage holds clientAuth                          NO_CLIENT_AUTH
 *   7. the subject CN is "<CF>/<card id>.<hash>" (§3.3: split at
 *      the first "/", then the first "."): 16-digit card id with a
 *      Luhn check digit, hash = base64 of 20 bytes                BAD_CN / BAD_CARD_ID
 *   8. the codice fiscale's check character; a subject
 *      serialNumber carrying a CF ("IT:<CF>", "TINIT-<CF>") must
 *      be the same CF                                             BAD_CF
 *   9. revocation (below)                                         REVOKED / REVOCATION_UNKNOWN
 *
 * Revocation: OCSP when the certificate names a responder (AIA), else the
 * CRLs of its distribution points (http:// only), fetched with libcurl and
 * cached in memory until their nextUpdate (at most crl_max_age_sec); every
 * OCSP answer and CRL must be signed by the issuer (or an OCSP responder
 * certificate it issued). When neither gives an answer the outcome is
 * REVOCATION_UNKNOWN, which refuses the login unless soft_fail is set.
 */
#ifndef SP_CNS_H
#define SP_CNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp/cf.h"
#include "sp/err.h"

#define SP_CNS_CARD_ID_LEN 16

#define SP_CNS_REASONS(X)                                                                          \
    X(OK, "ok", "")                                                                                \
    X(UNREADABLE, "unreadable", "Il certificato della carta non è leggibile.")                     \
    X(UNKNOWN_ISSUER, "unknown_issuer",                                                            \
      "Il certificato non è stato emesso da un'autorità riconosciuta per la CNS.")                 \
    X(EXPIRED, "expired", "Il certificato della carta è scaduto.")                                 \
    X(NOT_YET_VALID, "not_yet_valid", "Il certificato della carta non è ancora valido.")           \
    X(NOT_CNS, "not_cns",                                                                          \
      "Il certificato non è un certificato di autenticazione CNS (manca la policy CNS).")          \
    X(SIGNATURE_CERT, "signature_cert",                                                            \
      "È stato scelto il certificato di firma: scegliere quello di autenticazione della carta.")   \
    X(KEY_USAGE, "key_usage", "Il certificato non è abilitato all'autenticazione (keyUsage).")     \
    X(NO_CLIENT_AUTH, "no_client_auth",                                                            \
      "Il certificato non è abilitato all'autenticazione del cliente (clientAuth).")               \
    X(BAD_CN, "bad_cn",                                                                            \
      "Il nome del titolare nel certificato non ha la forma prevista per la CNS.")                 \
    X(BAD_CARD_ID, "bad_card_id", "Il numero della carta nel certificato non è valido.")           \
    X(BAD_CF, "bad_cf", "Il codice fiscale nel certificato non è valido.")                         \
    X(REVOKED, "revoked", "Il certificato della carta è stato revocato o sospeso.")                \
    X(REVOCATION_UNKNOWN, "revocation_unknown",                                                    \
      "Non è stato possibile verificare se il certificato è stato revocato: riprovare più tardi.")

enum sp_cns_reason {
#define SP_CNS_REASON_ENUM(name, id, text) SP_CNS_##name,
    SP_CNS_REASONS(SP_CNS_REASON_ENUM)
#undef SP_CNS_REASON_ENUM
        SP_CNS__COUNT
};

const char *sp_cns_reason_id(enum sp_cns_reason r);   /* "expired" */
const char *sp_cns_reason_text(enum sp_cns_reason r); /* Italian, for the page */

/* The parts of a CNS Common Name (pure; a parser of untrusted input). */
struct sp_cns_cn {
    char cf[SP_CF_MAX + 1]; /* validated, upper case */
    char card_id[SP_CNS_CARD_ID_LEN + 1];
    unsigned char hash[20];
};
enum sp_cns_reason sp_cns_parse_cn(const char *cn, struct sp_cns_cn *out);

/* Luhn check of a string of digits. */
bool sp_cns_luhn_ok(const char *digits);

struct sp_cns_settings {
    const char *ca_dir;       /* PEM files of the accepted CNS CAs (roots and intermediates) */
    const char *policies;     /* space-separated accepted policy OIDs */
    bool soft_fail;           /* accept when revocation cannot be determined */
    unsigned crl_max_age_sec; /* cache bound for a CRL, default 24 h */
    unsigned timeout_sec;     /* per OCSP / CRL fetch, default 5 */
};

/* The loaded trust (CA directory) and the CRL cache; shared by threads. */
struct sp_cns;
struct sp_cns *sp_cns_new(const struct sp_cns_settings *s, struct sp_buf *err);
void sp_cns_free(struct sp_cns **c);

/* What a valid card says, for the person record and the audit trail. */
struct sp_cns_result {
    enum sp_cns_reason reason;
    char detail[256];                   /* English, for logs: what exactly failed */
    struct sp_cns_cn cn;                /* when the CN parsed */
    char issuer[256];                   /* issuer DN (RFC 2253) */
    char serial[80];                    /* hex */
    char fingerprint[65];               /* SHA-256 hex of the DER */
    char policy[64];                    /* the accepted policy found */
    char given_name[128], surname[128]; /* informative only */
    const char *revocation;             /* "ocsp", "crl", "none (soft-fail)" */
};

/*
 * Validate a client certificate (PEM or DER, len bytes) with optional
 * intermediates sent by the client (PEM concatenation or NULL) at now.
 * Returns SP_OK when the validation ran (result->reason says the outcome),
 * an error only for internal failures.
 */
enum sp_err sp_cns_verify(struct sp_cns *c, const void *cert, size_t len, const char *chain_pem,
                          int64_t now, struct sp_cns_result *result);

#endif /* SP_CNS_H */
