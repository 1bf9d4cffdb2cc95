/*
 * cert: the SP signing key and its self-signed certificate in the SPID profile
 * of Avviso n.29 v3 (spec §8, CE-01..CE-08): generation, loading with the
 * secrecy and key/certificate checks, and small read-outs for metadata and
 * metrics. OpenSSL stays inside cert.c; callers see PEM text only.
 */
#ifndef SP_CERT_H
#define SP_CERT_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_buf;
struct sp_config;
struct asn1_string_st;

#define SP_CERT_DEFAULT_BITS 3072   /* CE-05: the AgID generator's default */
#define SP_CERT_MIN_BITS 2048       /* CE-05, MD-14: smallest RSA key we load */
#define SP_CERT_DEFAULT_DAYS 730    /* CE-08: AgID generator default validity */
#define SP_CERT_MAX_DAYS 3650       /* longest validity we generate */
#define SP_CERT_EXPIRY_WARN_DAYS 30 /* load_pair warns this close to notAfter */
#define SP_CERT_MAX_PEM_BYTES 65536 /* largest key or certificate file we read */

/* ---- Generation ---- */

/*
 * Create an RSA key (bits: 0 = SP_CERT_DEFAULT_BITS, else exactly 2048, 3072
 * or 4096) and a self-signed X.509 v3 certificate valid for days (0 =
 * SP_CERT_DEFAULT_DAYS, at most SP_CERT_MAX_DAYS) from now, in the SPID SP
 * profile taken from cfg: subject CN = org_display_name, O = org_name,
 * uri = entity_id, organizationIdentifier, L, C; critical keyUsage
 * digitalSignature+nonRepudiation; basicConstraints CA:FALSE; the AgID and
 * sector certificate policies; subjectKeyIdentifier; SHA-256 signature.
 * The key is written as PKCS#8 PEM with mode 0600, the certificate as PEM
 * with mode 0644, each atomically; existing files are replaced (callers that
 * must not overwrite check first). On failure err (may be NULL) says why and
 * no file has been replaced unless the error came from writing the
 * certificate after the key.
 */
enum sp_err sp_cert_generate(const struct sp_config *cfg, unsigned bits, unsigned days,
                             const char *key_path, const char *cert_path, struct sp_buf *err);

/*
 * The organizationIdentifier for cfg (CE-04): "PA:IT-<ipa_code>" for a public
 * SP, "VATIT-<11 digits>" (vat_number without its "IT" prefix) or else
 * "CF:IT-<fiscal_code>" for a private one. Appended to out; SP_ERR_CONFIG
 * with a reason in err (may be NULL) when the codes do not fit the format.
 */
enum sp_err sp_cert_org_identifier(const struct sp_config *cfg, struct sp_buf *out,
                                   struct sp_buf *err);

/* ---- Loading ---- */

/*
 * Read our key and certificate. Refuses (SP_ERR_PERM) a key file that group
 * or others can access, a key that is not RSA of at least SP_CERT_MIN_BITS
 * (SP_ERR_CRYPTO) and a certificate that does not belong to the key
 * (SP_ERR_CRYPTO). An expired certificate, or one that expires within
 * SP_CERT_EXPIRY_WARN_DAYS, is logged as a warning but accepted. On success
 * key_pem and cert_pem (caller-initialised; their previous contents are
 * dropped) hold the PEM texts; release key_pem with sp_buf_cleanup_secret().
 * On failure both are emptied (the key wiped) and err (may be NULL) says why.
 */
enum sp_err sp_cert_load_pair(const char *key_path, const char *cert_path, struct sp_buf *key_pem,
                              struct sp_buf *cert_pem, struct sp_buf *err);

/* ---- Read-outs ---- */

/*
 * Whole days from now (sp_clock_now()) to the certificate's notAfter,
 * rounded down; negative once it has expired. SP_ERR_CRYPTO if cert_pem does
 * not hold a certificate.
 */
enum sp_err sp_cert_days_left(const char *cert_pem, long *days);

/*
 * Append the base64 of the certificate's DER encoding (no armour, no line
 * breaks), as ds:X509Certificate wants it. SP_ERR_CRYPTO if cert_pem does not
 * hold a certificate.
 */
enum sp_err sp_cert_der_base64(const char *cert_pem, struct sp_buf *out);

/*
 * MD-02 and MD-73: the certificate subject must repeat the configuration:
 * uri (2.5.4.83) = sp.entity_id, O = organization.name, CN =
 * organization.display_name. SP_ERR_CONFIG with every mismatch described in
 * err (may be NULL); SP_ERR_CRYPTO if cert_pem holds no certificate.
 */
enum sp_err sp_cert_check_config(const char *cert_pem, const struct sp_config *cfg,
                                 struct sp_buf *err);

/* Seconds since the epoch of an OpenSSL ASN1_TIME (UTC); false when unreadable. */
bool sp_asn1_time_epoch(const struct asn1_string_st *t, int64_t *out);

#endif /* SP_CERT_H */
