/*
 * cert: SP key and certificate in the SPID profile (spec §8) with the
 * OpenSSL 3 EVP and X509 APIs.
 *
 * Invariants: every OpenSSL object is freed at the single exit of the
 * function that made it; key material only ever sits in OpenSSL's secure
 * memory BIOs or in buffers that are wiped before release; the OpenSSL error
 * queue is drained into the caller's err text, so nothing stale is left for
 * the next caller on this thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/rand.h"
#include "sp/str.h"

#define CERT_SERIAL_BYTES 16 /* 127 random bits: positive, below RFC 5280's 20 octets */
#define CERT_OID_URI "2.5.4.83"
#define CERT_OID_AGID "1.3.76.16.6"
#define CERT_OID_SP_PUBLIC "1.3.76.16.4.2.1"
#define CERT_OID_SP_PRIVATE "1.3.76.16.4.3.1"
#define CERT_MAX_IPA_CODE 16 /* CE-04: ^PA:IT-\S{1,16}$ */
#define CERT_VAT_DIGITS 11   /* CE-04: VATIT-\d{11} */
#define CERT_MIN_FISCAL_CODE 11
#define CERT_MAX_FISCAL_CODE 16 /* CE-04: CF:IT-[a-zA-Z0-9]{16} */

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* Append a message and whatever OpenSSL queued, then clear the queue. */
static void cert_fail(struct sp_buf *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cert_fail(struct sp_buf *err, const char *fmt, ...)
{
    va_list ap;
    unsigned long e;
    char text[256];

    if (err != NULL) {
        if (err->len > 0)
            sp_buf_adds(err, "; ");
        va_start(ap, fmt);
        sp_buf_vaddf(err, fmt, ap);
        va_end(ap);
    }
    while ((e = ERR_get_error()) != 0) {
        if (err == NULL)
            continue;
        ERR_error_string_n(e, text, sizeof(text));
        sp_buf_addf(err, " (%s)", text);
    }
}

/* ------------------------------------------------------------------------ */
/* Subject                                                                  */
/* ------------------------------------------------------------------------ */

static bool cert_nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static bool cert_all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool cert_alnum_len(const char *s, size_t lo, size_t hi)
{
    size_t n = strlen(s);
    if (n < lo || n > hi)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

static bool cert_no_space_len(const char *s, size_t lo, size_t hi)
{
    size_t n = strlen(s);
    if (n < lo || n > hi)
        return false;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x20)
            return false;
    return true;
}

enum sp_err sp_cert_org_identifier(const struct sp_config *cfg, struct sp_buf *out,
                                   struct sp_buf *err)
{
    const char *vat = cfg->vat_number;

    if (cfg->org_kind == SP_ORG_PUBLIC) {
        if (!cert_nonempty(cfg->ipa_code) ||
            !cert_no_space_len(cfg->ipa_code, 1, CERT_MAX_IPA_CODE)) {
            cert_fail(err, "contact.ipa_code must be 1-%d characters without spaces",
                      CERT_MAX_IPA_CODE);
            return SP_ERR_CONFIG;
        }
        return sp_buf_addf(out, "PA:IT-%s", cfg->ipa_code);
    }
    if (cert_nonempty(vat)) {
        if (sp_str_has_prefix(vat, "IT"))
            vat += 2;
        if (!cert_all_digits(vat, CERT_VAT_DIGITS)) {
            cert_fail(err, "contact.vat_number must be %d digits, optionally after \"IT\"",
                      CERT_VAT_DIGITS);
            return SP_ERR_CONFIG;
        }
        return sp_buf_addf(out, "VATIT-%s", vat);
    }
    if (cert_nonempty(cfg->fiscal_code)) {
        /* CE-04 wants 16 characters; an entity's 11-digit code is accepted as
         * the only deviation (check-cert reports it as a warning) */
        size_t cflen = strlen(cfg->fiscal_code);
        if ((cflen != CERT_MIN_FISCAL_CODE && cflen != CERT_MAX_FISCAL_CODE) ||
            !cert_alnum_len(cfg->fiscal_code, CERT_MIN_FISCAL_CODE, CERT_MAX_FISCAL_CODE)) {
            cert_fail(err,
                      "contact.fiscal_code must be %d letters or digits (or an %d-digit "
                      "code of an entity)",
                      CERT_MAX_FISCAL_CODE, CERT_MIN_FISCAL_CODE);
            return SP_ERR_CONFIG;
        }
        return sp_buf_addf(out, "CF:IT-%s", cfg->fiscal_code);
    }
    cert_fail(err, "a private SP needs contact.vat_number or contact.fiscal_code");
    return SP_ERR_CONFIG;
}

/* Add one UTF-8 attribute to the subject; OpenSSL picks the string type per OID. */
static enum sp_err cert_name_add(X509_NAME *name, const char *oid, const char *label,
                                 const char *value, struct sp_buf *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    enum sp_err rc = SP_OK;

    if (obj == NULL || !X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8,
                                                   (const unsigned char *)value, -1, -1, 0)) {
        cert_fail(err, "cannot put %s \"%s\" in the certificate subject", label, value);
        rc = SP_ERR_CONFIG;
    }
    ASN1_OBJECT_free(obj);
    return rc;
}

/* CE-02, CE-03, CE-04: only the six attributes of the profile, nothing personal. */
static enum sp_err cert_subject(X509 *x, const struct sp_config *cfg, struct sp_buf *err)
{
    X509_NAME *name = X509_NAME_new();
    struct sp_buf orgid;
    enum sp_err rc = SP_OK;

    sp_buf_init(&orgid, 128);
    if (name == NULL) {
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    if (!cert_nonempty(cfg->org_display_name) || !cert_nonempty(cfg->org_name) ||
        !cert_nonempty(cfg->entity_id) || !cert_nonempty(cfg->org_locality)) {
        cert_fail(err, "organization.display_name, organization.name, organization.locality "
                       "and sp.entity_id must be set");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    if (!cert_nonempty(cfg->org_country) || strlen(cfg->org_country) != 2 ||
        !isupper((unsigned char)cfg->org_country[0]) ||
        !isupper((unsigned char)cfg->org_country[1])) {
        cert_fail(err, "organization.country must be two upper-case letters (ISO 3166)");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = sp_cert_org_identifier(cfg, &orgid, err);
    if (rc == SP_OK)
        rc = cert_name_add(name, "2.5.4.6", "countryName", cfg->org_country, err);
    if (rc == SP_OK)
        rc = cert_name_add(name, "2.5.4.7", "localityName", cfg->org_locality, err);
    if (rc == SP_OK)
        rc = cert_name_add(name, "2.5.4.10", "organizationName", cfg->org_name, err);
    if (rc == SP_OK)
        rc = cert_name_add(name, "2.5.4.97", "organizationIdentifier", sp_buf_str(&orgid), err);
    if (rc == SP_OK)
        rc = cert_name_add(name, CERT_OID_URI, "uri", cfg->entity_id, err);
    if (rc == SP_OK)
        rc = cert_name_add(name, "2.5.4.3", "commonName", cfg->org_display_name, err);
    if (rc != SP_OK)
        goto out;
    /* self-signed: the issuer is the subject */
    if (!X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name)) {
        cert_fail(err, "cannot set the certificate subject");
        rc = SP_ERR_CRYPTO;
    }
out:
    X509_NAME_free(name);
    sp_buf_cleanup(&orgid);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Extensions                                                               */
/* ------------------------------------------------------------------------ */

/* One policy with a userNotice whose explicitText is a UTF8String. */
static POLICYINFO *cert_policy(const char *oid, const char *text)
{
    POLICYINFO *pi = POLICYINFO_new();
    POLICYQUALINFO *q = NULL;

    if (pi == NULL)
        return NULL;
    /* the fresh policyid is OpenSSL's static undef object: assigning is what v3_cpols.c does */
    pi->policyid = OBJ_txt2obj(oid, 1);
    pi->qualifiers = sk_POLICYQUALINFO_new_null();
    q = POLICYQUALINFO_new();
    if (pi->policyid == NULL || pi->qualifiers == NULL || q == NULL)
        goto fail;
    q->pqualid = OBJ_nid2obj(NID_id_qt_unotice);
    q->d.usernotice = USERNOTICE_new();
    if (q->d.usernotice == NULL)
        goto fail;
    q->d.usernotice->exptext = ASN1_UTF8STRING_new();
    if (q->d.usernotice->exptext == NULL ||
        !ASN1_STRING_set(q->d.usernotice->exptext, text, (int)strlen(text)))
        goto fail;
    if (!sk_POLICYQUALINFO_push(pi->qualifiers, q))
        goto fail;
    return pi;
fail:
    POLICYQUALINFO_free(q);
    POLICYINFO_free(pi);
    return NULL;
}

/* CE-07: certificatePolicies, not critical: agIDcert plus the sector policy. */
static enum sp_err cert_add_policies(X509 *x, enum sp_org_kind kind, struct sp_buf *err)
{
    CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
    POLICYINFO *pi = NULL;
    enum sp_err rc = SP_ERR_CRYPTO;

    if (pols == NULL)
        goto out;
    pi = cert_policy(CERT_OID_AGID, "agIDcert");
    if (pi == NULL || !sk_POLICYINFO_push(pols, pi))
        goto out;
    pi = kind == SP_ORG_PUBLIC ? cert_policy(CERT_OID_SP_PUBLIC, "cert_SP_Pub")
                               : cert_policy(CERT_OID_SP_PRIVATE, "cert_SP_Priv");
    if (pi == NULL || !sk_POLICYINFO_push(pols, pi))
        goto out;
    pi = NULL;
    if (X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, X509V3_ADD_DEFAULT) != 1)
        goto out;
    rc = SP_OK;
out:
    POLICYINFO_free(pi);
    CERTIFICATEPOLICIES_free(pols);
    if (rc != SP_OK)
        cert_fail(err, "cannot add the certificate policies");
    return rc;
}

/* One extension from OpenSSL's config syntax (fixed strings only). */
static enum sp_err cert_add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
                                     struct sp_buf *err)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    enum sp_err rc = SP_OK;

    if (ext == NULL || !X509_add_ext(x, ext, -1)) {
        cert_fail(err, "cannot add extension %s = %s", OBJ_nid2sn(nid), value);
        rc = SP_ERR_CRYPTO;
    }
    X509_EXTENSION_free(ext);
    return rc;
}

/* CE-07: basicConstraints (not critical), keyUsage (critical), SKI, policies. */
static enum sp_err cert_extensions(X509 *x, enum sp_org_kind kind, struct sp_buf *err)
{
    X509V3_CTX ctx;
    enum sp_err rc;

    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    rc = cert_add_conf_ext(x, &ctx, NID_basic_constraints, "CA:FALSE", err);
    if (rc == SP_OK)
        rc = cert_add_conf_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation",
                               err);
    if (rc == SP_OK)
        rc = cert_add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash", err);
    if (rc == SP_OK)
        rc = cert_add_policies(x, kind, err);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Generation                                                               */
/* ------------------------------------------------------------------------ */

static EVP_PKEY *cert_rsa_keygen(unsigned bits, struct sp_buf *err)
{
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;

    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(kctx, (int)bits) <= 0 ||
        EVP_PKEY_generate(kctx, &pkey) <= 0) {
        cert_fail(err, "RSA key generation failed");
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(kctx);
    return pkey;
}

/* A random positive serial number (RFC 5280 §4.1.2.2). */
static enum sp_err cert_serial(X509 *x)
{
    unsigned char raw[CERT_SERIAL_BYTES];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    enum sp_err rc = SP_ERR_CRYPTO;

    sp_rand_bytes(raw, sizeof(raw));
    raw[0] &= 0x7f;
    raw[0] |= 0x40; /* never zero, always the full length */
    bn = BN_bin2bn(raw, (int)sizeof(raw), NULL);
    if (bn == NULL)
        goto out;
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    if (serial == NULL || !X509_set_serialNumber(x, serial))
        goto out;
    rc = SP_OK;
out:
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return rc;
}

static enum sp_err cert_validity(X509 *x, unsigned days)
{
    time_t now = sp_clock_now();

    if (X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) == NULL)
        return SP_ERR_CRYPTO;
    return SP_OK;
}

/* Key as PKCS#8 PEM, mode 0600. */
static enum sp_err cert_write_key(EVP_PKEY *pkey, const char *path, struct sp_buf *err)
{
    /* secure-heap BIO: the PEM is cleared when the BIO is freed */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long len;
    enum sp_err rc = SP_ERR_CRYPTO;

    if (bio == NULL || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        cert_fail(err, "cannot encode the private key");
        goto out;
    }
    len = BIO_get_mem_data(bio, &data);
    rc = sp_file_write_atomic(path, data, (size_t)len, 0600);
    if (rc != SP_OK)
        cert_fail(err, "%s: cannot write the key: %s", path, sp_strerror(rc));
out:
    BIO_free(bio);
    return rc;
}

/* Certificate PEM, mode 0644. */
static enum sp_err cert_write_cert(X509 *x, const char *path, struct sp_buf *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    enum sp_err rc = SP_ERR_CRYPTO;

    if (bio == NULL || !PEM_write_bio_X509(bio, x)) {
        cert_fail(err, "cannot encode the certificate");
        goto out;
    }
    len = BIO_get_mem_data(bio, &data);
    rc = sp_file_write_atomic(path, data, (size_t)len, 0644);
    if (rc != SP_OK)
        cert_fail(err, "%s: cannot write the certificate: %s", path, sp_strerror(rc));
out:
    BIO_free(bio);
    return rc;
}

enum sp_err sp_cert_generate(const struct sp_config *cfg, unsigned bits, unsigned days,
                             const char *key_path, const char *cert_path, struct sp_buf *err)
{
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    enum sp_err rc = SP_ERR_CONFIG;

    if (bits == 0)
        bits = SP_CERT_DEFAULT_BITS;
    if (days == 0)
        days = SP_CERT_DEFAULT_DAYS;
    if (bits != 2048 && bits != 3072 && bits != 4096) {
        cert_fail(err, "RSA key size %u not allowed: use 2048, 3072 or 4096", bits);
        goto out;
    }
    if (days > SP_CERT_MAX_DAYS) {
        cert_fail(err, "validity of %u days is longer than %d", days, SP_CERT_MAX_DAYS);
        goto out;
    }
    x = X509_new();
    if (x == NULL || !X509_set_version(x, X509_VERSION_3)) {
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    /* check the profile before spending time on the key */
    rc = cert_subject(x, cfg, err);
    if (rc != SP_OK)
        goto out;
    rc = SP_ERR_CRYPTO;
    pkey = cert_rsa_keygen(bits, err);
    if (pkey == NULL)
        goto out;
    if (cert_serial(x) != SP_OK || cert_validity(x, days) != SP_OK || !X509_set_pubkey(x, pkey)) {
        cert_fail(err, "cannot fill in the certificate");
        goto out;
    }
    rc = cert_extensions(x, cfg->org_kind, err);
    if (rc != SP_OK)
        goto out;
    if (X509_sign(x, pkey, EVP_sha256()) <= 0) {
        cert_fail(err, "cannot sign the certificate");
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    rc = cert_write_key(pkey, key_path, err);
    if (rc == SP_OK)
        rc = cert_write_cert(x, cert_path, err);
out:
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Loading and read-outs                                                    */
/* ------------------------------------------------------------------------ */

/* Parse the first certificate in a PEM text; NULL if there is none. */
static X509 *cert_parse(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = NULL;

    if (bio != NULL && len <= SP_CERT_MAX_PEM_BYTES)
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}

static EVP_PKEY *cert_parse_key(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = NULL;

    /* an empty passphrase callback result: encrypted keys fail instead of prompting */
    if (bio != NULL && len <= SP_CERT_MAX_PEM_BYTES)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    return pkey;
}

/* Whole days from now to notAfter, negative when expired. */
static enum sp_err cert_days_until(const X509 *x, long *days)
{
    ASN1_TIME *now = ASN1_TIME_set(NULL, sp_clock_now());
    int d = 0, s = 0;
    enum sp_err rc = SP_ERR_CRYPTO;

    if (now != NULL && ASN1_TIME_diff(&d, &s, now, X509_get0_notAfter(x))) {
        /* days and seconds carry the same sign: round towards minus infinity */
        *days = s < 0 ? (long)d - 1 : (long)d;
        rc = SP_OK;
    }
    ASN1_TIME_free(now);
    return rc;
}

enum sp_err sp_cert_days_left(const char *cert_pem, long *days)
{
    X509 *x = cert_parse(cert_pem, strlen(cert_pem));
    enum sp_err rc = SP_ERR_CRYPTO;

    if (x != NULL)
        rc = cert_days_until(x, days);
    ERR_clear_error();
    X509_free(x);
    return rc;
}

/* Compare one subject attribute with the configured value. */
static enum sp_err cert_subject_is(X509 *x, const char *oid, const char *label, const char *want,
                                   struct sp_buf *err)
{
    X509_NAME *name = X509_get_subject_name(x);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i = obj ? X509_NAME_get_index_by_OBJ(name, obj, -1) : -1;
    unsigned char *utf8 = NULL;
    int n = -1;
    enum sp_err rc = SP_ERR_CONFIG;

    if (i >= 0)
        n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n >= 0 && want != NULL && strlen(want) == (size_t)n && memcmp(utf8, want, (size_t)n) == 0)
        rc = SP_OK;
    else if (n < 0)
        cert_fail(err, "the certificate subject has no %s", label);
    else
        cert_fail(err, "certificate %s \"%.*s\" differs from the configured \"%s\"", label, n,
                  (const char *)utf8, want ? want : "");
    OPENSSL_free(utf8);
    ASN1_OBJECT_free(obj);
    return rc;
}

enum sp_err sp_cert_check_config(const char *cert_pem, const struct sp_config *cfg,
                                 struct sp_buf *err)
{
    X509 *x = cert_parse(cert_pem, strlen(cert_pem));
    enum sp_err rc = SP_ERR_CRYPTO, r;

    if (x == NULL) {
        cert_fail(err, "not a PEM certificate");
        goto out;
    }
    /* check all three so the operator sees every mismatch at once */
    rc = cert_subject_is(x, CERT_OID_URI, "uri (2.5.4.83)", cfg->entity_id, err);
    r = cert_subject_is(x, "2.5.4.10", "organizationName", cfg->org_name, err);
    rc = rc != SP_OK ? rc : r;
    r = cert_subject_is(x, "2.5.4.3", "commonName", cfg->org_display_name, err);
    rc = rc != SP_OK ? rc : r;
out:
    ERR_clear_error();
    X509_free(x);
    return rc;
}

enum sp_err sp_cert_der_base64(const char *cert_pem, struct sp_buf *out)
{
    X509 *x = cert_parse(cert_pem, strlen(cert_pem));
    unsigned char *der = NULL;
    int n;
    enum sp_err rc = SP_ERR_CRYPTO;

    if (x == NULL)
        goto out;
    n = i2d_X509(x, &der);
    if (n <= 0)
        goto out;
    rc = sp_b64_encode(out, der, (size_t)n);
out:
    ERR_clear_error();
    OPENSSL_free(der);
    X509_free(x);
    return rc;
}

/* Read a PEM file into buf, bounded. */
static enum sp_err cert_read(const char *path, const char *what, struct sp_buf *buf,
                             struct sp_buf *err)
{
    enum sp_err rc;
    size_t saved = buf->max;

    buf->max = SP_CERT_MAX_PEM_BYTES < saved ? SP_CERT_MAX_PEM_BYTES : saved;
    rc = sp_file_read(path, buf);
    buf->max = saved;
    if (rc != SP_OK)
        cert_fail(err, "%s: cannot read the %s: %s", path, what, sp_strerror(rc));
    return rc;
}

enum sp_err sp_cert_load_pair(const char *key_path, const char *cert_path, struct sp_buf *key_pem,
                              struct sp_buf *cert_pem, struct sp_buf *err)
{
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    long days = 0;
    int bits;
    enum sp_err rc;

    sp_wipe(key_pem->data, key_pem->len);
    sp_buf_reset(key_pem);
    sp_buf_reset(cert_pem);
    ERR_clear_error();
    rc = sp_file_check_secrecy(key_path, err);
    if (rc != SP_OK)
        goto out;
    rc = cert_read(key_path, "private key", key_pem, err);
    if (rc == SP_OK)
        rc = cert_read(cert_path, "certificate", cert_pem, err);
    if (rc != SP_OK)
        goto out;
    rc = SP_ERR_CRYPTO;
    pkey = cert_parse_key(key_pem->data, key_pem->len);
    if (pkey == NULL) {
        cert_fail(err, "%s: no unencrypted private key in PEM format", key_path);
        goto out;
    }
    bits = EVP_PKEY_get_bits(pkey);
    if (!EVP_PKEY_is_a(pkey, "RSA") || bits < SP_CERT_MIN_BITS) {
        cert_fail(err, "%s: the key must be RSA of at least %d bits", key_path, SP_CERT_MIN_BITS);
        goto out;
    }
    x = cert_parse(cert_pem->data, cert_pem->len);
    if (x == NULL) {
        cert_fail(err, "%s: no certificate in PEM format", cert_path);
        goto out;
    }
    if (X509_check_private_key(x, pkey) != 1) {
        cert_fail(err, "%s does not belong to the key in %s", cert_path, key_path);
        goto out;
    }
    if (cert_days_until(x, &days) != SP_OK) {
        cert_fail(err, "%s: unreadable notAfter", cert_path);
        goto out;
    }
    if (X509_get_signature_nid(x) == NID_sha1WithRSAEncryption ||
        X509_get_signature_nid(x) == NID_md5WithRSAEncryption)
        sp_warnx("%s: the SP certificate is signed with a weak hash; SPID wants SHA-256 (MD-15)",
                 cert_path);
    if (days < 0)
        sp_warnx("%s: the SP certificate has EXPIRED (%ld days ago); IdPs will refuse it",
                 cert_path, -days);
    else if (days < SP_CERT_EXPIRY_WARN_DAYS)
        sp_warnx("%s: the SP certificate expires in %ld days", cert_path, days);
    rc = SP_OK;
out:
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(pkey);
    if (rc != SP_OK) {
        sp_wipe(key_pem->data, key_pem->len);
        sp_buf_reset(key_pem);
        sp_buf_reset(cert_pem);
    }
    return rc;
}

/* Seconds since the epoch of an ASN1_TIME (UTC). */
bool sp_asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    int64_t y, m, d, era, yoe, doy, doe;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    y = (int64_t)tm.tm_year + 1900;
    m = tm.tm_mon + 1;
    d = tm.tm_mday;
    /* days from civil (H. Hinnant) */
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = ((era * 146097 + doe - 719468) * 86400) + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return true;
}
