/*
 * cns: validation of a CNS authentication certificate presented as a TLS
 * client certificate (domain.md §3), with OpenSSL 3 and libcurl.
 *
 * Invariants: every OpenSSL object is freed at the single exit of the
 * function that made it; the trust store is read-only once sp_cns_new()
 * returns, so any number of threads may verify at once; the CRL cache is the
 * only shared mutable state and sits behind one mutex (entries are handed
 * out with a reference taken under the lock). The OpenSSL error queue is
 * cleared before sp_cns_verify() returns.
 *
 * One deviation from the literal order of include/sp/cns.h: a certificate
 * with nonRepudiation is reported as SIGNATURE_CERT before the policy check,
 * because a qualified signature certificate carries its CA's qualified
 * policy, not the CNS one, and "you chose the signature certificate" is the
 * message the person needs.
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/cns.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/str.h"

#define CNS_DEFAULT_POLICIES "1.3.76.16.2.1 1.3.159.6.1.3.2.10 1.3.76.12.1.1.10.2.2.10"
#define CNS_DEFAULT_CRL_MAX_AGE_SEC (24u * 3600u)
#define CNS_DEFAULT_TIMEOUT_SEC 5u
#define CNS_CLOCK_SKEW_SEC 300 /* thisUpdate / nextUpdate tolerance */
#define CNS_MAX_POLICIES 16
#define CNS_MAX_CHAIN_CERTS 10 /* intermediates accepted from the client */
#define CNS_MAX_DEPTH 5        /* domain.md §3.4: chains up to 5 */
#define CNS_CRL_MAX_BYTES (32u << 20)
#define CNS_OCSP_MAX_BYTES (256u << 10)
#define CNS_CRL_CACHE_MAX 64
#define CNS_MAX_URL 2048
#define CNS_HASH_B64_LEN 28 /* base64 of 20 bytes, with one '=' */
#define CNS_HASH_LEN 20
#define CNS_MAX_CN 256

enum cns_rev { CNS_REV_GOOD, CNS_REV_REVOKED, CNS_REV_UNKNOWN };

struct cns_crl_entry {
    char *url;
    X509_CRL *crl;
    EVP_PKEY *key; /* the issuer key the CRL was verified with */
    int64_t expires;
};

struct sp_cns {
    X509_STORE *store;
    ASN1_OBJECT *policies[CNS_MAX_POLICIES];
    size_t npolicies;
    bool soft_fail;
    unsigned crl_max_age_sec;
    unsigned timeout_sec;
    pthread_mutex_t lock; /* guards crl[] and ncrl */
    struct cns_crl_entry crl[CNS_CRL_CACHE_MAX];
    size_t ncrl;
};

/* ------------------------------------------------------------------------ */
/* Reasons                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const cns_reason_ids[] = {
#define CNS_REASON_ID(name, id, text) id,
    SP_CNS_REASONS(CNS_REASON_ID)
#undef CNS_REASON_ID
};

static const char *const cns_reason_texts[] = {
#define CNS_REASON_TEXT(name, id, text) text,
    SP_CNS_REASONS(CNS_REASON_TEXT)
#undef CNS_REASON_TEXT
};

const char *sp_cns_reason_id(enum sp_cns_reason r)
{
    return (unsigned)r < SP_CNS__COUNT ? cns_reason_ids[r] : "unknown";
}

const char *sp_cns_reason_text(enum sp_cns_reason r)
{
    return (unsigned)r < SP_CNS__COUNT ? cns_reason_texts[r] : "";
}

/* ------------------------------------------------------------------------ */
/* Common Name (pure)                                                       */
/* ------------------------------------------------------------------------ */

bool sp_cns_luhn_ok(const char *digits)
{
    size_t n, i;
    unsigned sum = 0;

    if (digits == NULL || (n = strlen(digits)) == 0)
        return false;
    for (i = 0; i < n; i++) {
        char ch = digits[n - 1 - i];
        unsigned d;

        if (ch < '0' || ch > '9')
            return false;
        d = (unsigned)(ch - '0');
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static bool cns_is_b64_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

/* The hash: exactly 28 base64 characters, the last one '=', decoding to 20 bytes. */
static bool cns_parse_hash(const char *s, size_t n, unsigned char out[CNS_HASH_LEN])
{
    struct sp_buf b;
    bool ok = false;
    size_t i;

    if (n != CNS_HASH_B64_LEN || s[n - 1] != '=')
        return false;
    for (i = 0; i < n - 1; i++)
        if (!cns_is_b64_char(s[i]))
            return false;
    sp_buf_init(&b, CNS_HASH_LEN);
    if (sp_b64_decode(&b, s, n) == SP_OK && b.len == CNS_HASH_LEN) {
        memcpy(out, b.data, CNS_HASH_LEN);
        ok = true;
    }
    sp_buf_cleanup(&b);
    return ok;
}

enum sp_cns_reason sp_cns_parse_cn(const char *cn, struct sp_cns_cn *out)
{
    const char *slash, *dot, *card, *hash;
    char cf[SP_CF_MAX + 1];
    enum sp_cf_kind kind;
    size_t cf_len, card_len, i;

    memset(out, 0, sizeof(*out));
    if (cn == NULL || (slash = strchr(cn, '/')) == NULL)
        return SP_CNS_BAD_CN;
    card = slash + 1;
    if ((dot = strchr(card, '.')) == NULL)
        return SP_CNS_BAD_CN;
    hash = dot + 1;
    cf_len = (size_t)(slash - cn);
    card_len = (size_t)(dot - card);
    if (cf_len == 0 || card_len == 0 || *hash == '\0')
        return SP_CNS_BAD_CN;
    if (!cns_parse_hash(hash, strlen(hash), out->hash))
        goto bad_cn;

    if (card_len != SP_CNS_CARD_ID_LEN)
        goto bad_card;
    memcpy(out->card_id, card, card_len);
    out->card_id[card_len] = '\0';
    if (!sp_cns_luhn_ok(out->card_id))
        goto bad_card;

    /* CF: upper-case letters and digits only (§3.3), then §2.4 */
    if (cf_len != SP_CF_PERSON_LEN && cf_len != SP_CF_SHORT_LEN)
        goto bad_cf;
    for (i = 0; i < cf_len; i++)
        if (!((cn[i] >= 'A' && cn[i] <= 'Z') || (cn[i] >= '0' && cn[i] <= '9')))
            goto bad_cf;
    memcpy(cf, cn, cf_len);
    cf[cf_len] = '\0';
    if (sp_cf_normalize(cf, out->cf, &kind, NULL) != SP_OK)
        goto bad_cf;
    return SP_CNS_OK;

bad_cn:
    memset(out, 0, sizeof(*out));
    return SP_CNS_BAD_CN;
bad_card:
    memset(out, 0, sizeof(*out));
    return SP_CNS_BAD_CARD_ID;
bad_cf:
    memset(out, 0, sizeof(*out));
    return SP_CNS_BAD_CF;
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                   */
/* ------------------------------------------------------------------------ */

static bool cns_is_ca_file(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.' || n < 5)
        return false;
    return strcasecmp(name + n - 4, ".pem") == 0 || strcasecmp(name + n - 4, ".crt") == 0 ||
           strcasecmp(name + n - 4, ".cer") == 0;
}

/* Add every certificate of one PEM file; *count grows by their number. */
static enum sp_err cns_load_file(X509_STORE *store, const char *path, size_t *count,
                                 struct sp_buf *err)
{
    STACK_OF(X509_INFO) *infos = NULL;
    BIO *bio = NULL;
    enum sp_err rc = SP_ERR_CONFIG;
    size_t here = 0;
    int i;

    if ((bio = BIO_new_file(path, "r")) == NULL) {
        sp_buf_addf(err, "%s: cannot open", path);
        goto out;
    }
    if ((infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
        sp_buf_addf(err, "%s: not a PEM file", path);
        goto out;
    }
    for (i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);

        if (xi->x509 == NULL)
            continue;
        if (X509_STORE_add_cert(store, xi->x509) != 1) {
            sp_buf_addf(err, "%s: cannot add certificate %d", path, i + 1);
            goto out;
        }
        here++;
    }
    if (here == 0) {
        sp_buf_addf(err, "%s: no certificate", path);
        goto out;
    }
    *count += here;
    rc = SP_OK;
out:
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

static enum sp_err cns_load_dir(X509_STORE *store, const char *dir, struct sp_buf *err)
{
    DIR *d;
    struct dirent *de;
    struct sp_buf path;
    size_t count = 0;
    enum sp_err rc = SP_OK;

    if ((d = opendir(dir)) == NULL) {
        sp_buf_addf(err, "%s: cannot open the CNS CA directory", dir);
        return SP_ERR_CONFIG;
    }
    sp_buf_init(&path, 4096);
    while (rc == SP_OK && (de = readdir(d)) != NULL) {
        struct stat st;

        if (!cns_is_ca_file(de->d_name))
            continue;
        sp_buf_reset(&path);
        if (sp_buf_addf(&path, "%s/%s", dir, de->d_name) != SP_OK)
            continue;
        if (stat(path.data, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = cns_load_file(store, path.data, &count, err);
    }
    closedir(d);
    sp_buf_cleanup(&path);
    if (rc == SP_OK && count == 0) {
        sp_buf_addf(err, "%s: no CA certificate (*.pem, *.crt, *.cer)", dir);
        rc = SP_ERR_CONFIG;
    }
    return rc;
}

static enum sp_err cns_parse_policies(struct sp_cns *c, const char *list, struct sp_buf *err)
{
    const char *p = (list != NULL && *list != '\0') ? list : CNS_DEFAULT_POLICIES;
    char oid[128];

    while (*p != '\0') {
        size_t n = 0;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        while (p[n] != '\0' && p[n] != ' ' && p[n] != '\t' && p[n] != ',')
            n++;
        if (n == 0)
            break;
        if (n >= sizeof(oid) || c->npolicies == CNS_MAX_POLICIES) {
            sp_buf_addf(err, "CNS policies: too many or too long");
            return SP_ERR_CONFIG;
        }
        memcpy(oid, p, n);
        oid[n] = '\0';
        if ((c->policies[c->npolicies] = OBJ_txt2obj(oid, 1)) == NULL) {
            ERR_clear_error();
            sp_buf_addf(err, "CNS policies: \"%s\" is not an OID", oid);
            return SP_ERR_CONFIG;
        }
        c->npolicies++;
        p += n;
    }
    if (c->npolicies == 0) {
        sp_buf_addf(err, "CNS policies: none given");
        return SP_ERR_CONFIG;
    }
    return SP_OK;
}

struct sp_cns *sp_cns_new(const struct sp_cns_settings *s, struct sp_buf *err)
{
    struct sp_cns *c = sp_xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    c->soft_fail = s->soft_fail;
    c->crl_max_age_sec = s->crl_max_age_sec ? s->crl_max_age_sec : CNS_DEFAULT_CRL_MAX_AGE_SEC;
    c->timeout_sec = s->timeout_sec ? s->timeout_sec : CNS_DEFAULT_TIMEOUT_SEC;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sp_buf_adds(err, "libcurl initialisation failed");
        free(c);
        return NULL;
    }
    if ((c->store = X509_STORE_new()) == NULL) {
        sp_buf_adds(err, "X509_STORE_new failed");
        goto fail;
    }
    if (s->ca_dir == NULL || *s->ca_dir == '\0') {
        sp_buf_adds(err, "CNS: no CA directory configured");
        goto fail;
    }
    if (cns_load_dir(c->store, s->ca_dir, err) != SP_OK)
        goto fail;
    if (cns_parse_policies(c, s->policies, err) != SP_OK)
        goto fail;
    return c;
fail:
    sp_cns_free(&c);
    return NULL;
}

void sp_cns_free(struct sp_cns **pc)
{
    struct sp_cns *c = pc ? *pc : NULL;
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->ncrl; i++) {
        free(c->crl[i].url);
        X509_CRL_free(c->crl[i].crl);
        EVP_PKEY_free(c->crl[i].key);
    }
    for (i = 0; i < c->npolicies; i++)
        ASN1_OBJECT_free(c->policies[i]);
    X509_STORE_free(c->store);
    pthread_mutex_destroy(&c->lock);
    free(c);
    curl_global_cleanup();
    *pc = NULL;
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static void cns_detail(struct sp_cns_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cns_detail(struct sp_cns_result *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

/* UTF-8 value of entry idx of name; false when unreadable, too long or holding a NUL. */
static bool cns_entry_utf8(const X509_NAME *name, int idx, char *out, size_t n)
{
    unsigned char *utf8 = NULL;
    int len;

    if (idx < 0)
        return false;
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
    if (len < 0) {
        ERR_clear_error();
        return false;
    }
    if ((size_t)len >= n || strlen((char *)utf8) != (size_t)len) {
        OPENSSL_free(utf8);
        return false;
    }
    memcpy(out, utf8, (size_t)len + 1);
    OPENSSL_free(utf8);
    return true;
}

static X509 *cns_parse_cert(const void *p, size_t len)
{
    const unsigned char *der = p, *q = p;
    X509 *x = NULL;
    size_t i = 0;
    BIO *bio;

    if (p == NULL || len == 0 || len > INT_MAX)
        return NULL;
    while (i < len && isspace(der[i]))
        i++;
    if (i < len && der[i] == '-') {
        if ((bio = BIO_new_mem_buf(p, (int)len)) != NULL) {
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }
        return x;
    }
    x = d2i_X509(NULL, &q, (long)len);
    if (x != NULL && q != der + len) { /* trailing bytes */
        X509_free(x);
        x = NULL;
    }
    return x;
}

static STACK_OF(X509) * cns_parse_chain(const char *pem)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *bio;
    X509 *x;

    if (sk == NULL || pem == NULL || *pem == '\0')
        return sk;
    if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
        return sk;
    while (sk_X509_num(sk) < CNS_MAX_CHAIN_CERTS &&
           (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x))
            X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    return sk;
}

static void cns_describe(X509 *x, struct sp_cns_result *r)
{
    const X509_NAME *subj = X509_get_subject_name(x);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    BIO *bio;

    if ((bio = BIO_new(BIO_s_mem())) != NULL) {
        char *data;
        long n;

        X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
        n = BIO_get_mem_data(bio, &data);
        if (n > 0) {
            size_t k = (size_t)n < sizeof(r->issuer) - 1 ? (size_t)n : sizeof(r->issuer) - 1;
            memcpy(r->issuer, data, k);
            r->issuer[k] = '\0';
        }
        BIO_free(bio);
    }
    if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
        (hex = BN_bn2hex(bn)) != NULL)
        sp_strlcpy(r->serial, hex, sizeof(r->serial));
    OPENSSL_free(hex);
    BN_free(bn);
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32)
        sp_hex(r->fingerprint, md, mdlen);
    cns_entry_utf8(subj, X509_NAME_get_index_by_NID(subj, NID_givenName, -1), r->given_name,
                   sizeof(r->given_name));
    cns_entry_utf8(subj, X509_NAME_get_index_by_NID(subj, NID_surname, -1), r->surname,
                   sizeof(r->surname));
    ERR_clear_error();
}

/* ------------------------------------------------------------------------ */
/* Checks 2-3: chain and dates                                              */
/* ------------------------------------------------------------------------ */

static enum sp_cns_reason cns_verify_error(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return SP_CNS_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return SP_CNS_NOT_YET_VALID;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        return SP_CNS_UNREADABLE;
    default: /* issuer not found, self-signed, bad signature, path length... */
        return SP_CNS_UNKNOWN_ISSUER;
    }
}

/* On success *chain is the verified chain (leaf first); free with sk_X509_pop_free. */
static enum sp_cns_reason cns_check_chain(struct sp_cns *c, X509 *leaf, STACK_OF(X509) * untrusted,
                                          int64_t now, STACK_OF(X509) * *chain,
                                          struct sp_cns_result *r)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    enum sp_cns_reason reason = SP_CNS_UNKNOWN_ISSUER;
    X509_VERIFY_PARAM *param;
    int err, depth;

    *chain = NULL;
    if (ctx == NULL || X509_STORE_CTX_init(ctx, c->store, leaf, untrusted) != 1) {
        cns_detail(r, "cannot set up the verification");
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    X509_VERIFY_PARAM_set_depth(param, CNS_MAX_DEPTH);
    /* a configured intermediate is a trust anchor as well */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(ctx) == 1) {
        *chain = X509_STORE_CTX_get1_chain(ctx);
        reason = SP_CNS_OK;
        goto out;
    }
    err = X509_STORE_CTX_get_error(ctx);
    depth = X509_STORE_CTX_get_error_depth(ctx);
    reason = cns_verify_error(err);
    cns_detail(r, "chain: %s (depth %d)", X509_verify_cert_error_string(err), depth);
out:
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return reason;
}

/* ------------------------------------------------------------------------ */
/* Checks 4-8: profile                                                      */
/* ------------------------------------------------------------------------ */

static enum sp_cns_reason cns_check_policy(struct sp_cns *c, X509 *x, struct sp_cns_result *r)
{
    CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
    enum sp_cns_reason reason = SP_CNS_NOT_CNS;
    int i;
    size_t k;

    if (pols == NULL) {
        cns_detail(r, "no certificatePolicies extension");
        goto out;
    }
    for (i = 0; i < sk_POLICYINFO_num(pols) && reason != SP_CNS_OK; i++) {
        const POLICYINFO *pi = sk_POLICYINFO_value(pols, i);

        for (k = 0; k < c->npolicies; k++) {
            if (OBJ_cmp(pi->policyid, c->policies[k]) == 0) {
                OBJ_obj2txt(r->policy, sizeof(r->policy), pi->policyid, 1);
                reason = SP_CNS_OK;
                break;
            }
        }
    }
    if (reason != SP_CNS_OK)
        cns_detail(r, "no accepted CNS policy among the %d certificate policies",
                   sk_POLICYINFO_num(pols));
out:
    CERTIFICATEPOLICIES_free(pols);
    ERR_clear_error();
    return reason;
}

static bool cns_has_nonrepudiation(X509 *x)
{
    return (X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
           (X509_get_key_usage(x) & KU_NON_REPUDIATION);
}

static enum sp_cns_reason cns_check_usage(X509 *x, struct sp_cns_result *r)
{
    uint32_t flags = X509_get_extension_flags(x);

    if (!(flags & EXFLAG_KUSAGE)) {
        cns_detail(r, "no keyUsage extension");
        return SP_CNS_KEY_USAGE;
    }
    if (X509_get_key_usage(x) & KU_NON_REPUDIATION) {
        cns_detail(r, "keyUsage has nonRepudiation: a signature certificate");
        return SP_CNS_SIGNATURE_CERT;
    }
    if (!(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE)) {
        cns_detail(r, "keyUsage lacks digitalSignature");
        return SP_CNS_KEY_USAGE;
    }
    if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT)) {
        cns_detail(r, "extendedKeyUsage lacks clientAuth");
        return SP_CNS_NO_CLIENT_AUTH;
    }
    return SP_CNS_OK;
}

/* Subject serialNumber "IT:<CF>" or "TINIT-<CF>" must name the CN's CF. */
static enum sp_cns_reason cns_check_serial_cf(X509 *x, struct sp_cns_result *r)
{
    const X509_NAME *subj = X509_get_subject_name(x);
    char value[128], cf[SP_CF_MAX + 1];
    enum sp_cf_kind kind;
    const char *code;
    int at;

    for (at = X509_NAME_get_index_by_NID(subj, NID_serialNumber, -1); at >= 0;
         at = X509_NAME_get_index_by_NID(subj, NID_serialNumber, at)) {
        if (!cns_entry_utf8(subj, at, value, sizeof(value))) {
            cns_detail(r, "subject serialNumber unreadable");
            return SP_CNS_BAD_CF;
        }
        if (sp_str_has_prefix(value, "IT:"))
            code = value + 3;
        else if (sp_str_has_prefix(value, SP_CF_SPID_PREFIX))
            code = value + strlen(SP_CF_SPID_PREFIX);
        else
            continue; /* another kind of serial number */
        if (sp_cf_normalize(code, cf, &kind, NULL) != SP_OK) {
            cns_detail(r, "subject serialNumber holds an invalid fiscal code");
            return SP_CNS_BAD_CF;
        }
        if (strcmp(cf, r->cn.cf) != 0) {
            cns_detail(r, "subject serialNumber names another fiscal code than the CN");
            return SP_CNS_BAD_CF;
        }
    }
    return SP_CNS_OK;
}

static enum sp_cns_reason cns_check_cn(X509 *x, struct sp_cns_result *r)
{
    const X509_NAME *subj = X509_get_subject_name(x);
    int at = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    enum sp_cns_reason reason;
    char cn[CNS_MAX_CN];

    if (!cns_entry_utf8(subj, at, cn, sizeof(cn))) {
        cns_detail(r, "subject has no readable commonName");
        return SP_CNS_BAD_CN;
    }
    if (X509_NAME_get_index_by_NID(subj, NID_commonName, at) >= 0) {
        cns_detail(r, "subject has more than one commonName");
        return SP_CNS_BAD_CN;
    }
    reason = sp_cns_parse_cn(cn, &r->cn);
    if (reason != SP_CNS_OK) {
        cns_detail(r, "commonName \"%.80s\" is not CF/cardid.hash (%s)", cn,
                   sp_cns_reason_id(reason));
        return reason;
    }
    return cns_check_serial_cf(x, r);
}

/* ------------------------------------------------------------------------ */
/* HTTP (libcurl)                                                           */
/* ------------------------------------------------------------------------ */

static size_t cns_curl_write(char *p, size_t size, size_t n, void *ud)
{
    struct sp_buf *b = ud;

    if (sp_buf_add(b, p, size * n) != SP_OK)
        return 0; /* CURLE_WRITE_ERROR */
    return size * n;
}

/* GET (body == NULL) or POST an OCSP request; the answer goes to out (bounded). */
static bool cns_http(struct sp_cns *c, const char *url, const void *body, size_t body_len,
                     struct sp_buf *out, char *why, size_t why_len)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode rc;

    if (h == NULL) {
        snprintf(why, why_len, "libcurl initialisation failed");
        return false;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_sec);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->timeout_sec);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)out->max);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "spid-sp cns");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cns_curl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (body != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/ocsp-request");
        hdr = curl_slist_append(hdr, "Accept: application/ocsp-response");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return false;
    }
    if (status != 200) {
        snprintf(why, why_len, "%s: HTTP status %ld", url, status);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Check 9: revocation (OCSP)                                               */
/* ------------------------------------------------------------------------ */

static bool cns_fresh(const ASN1_GENERALIZEDTIME *this_upd, const ASN1_GENERALIZEDTIME *next_upd,
                      int64_t now)
{
    int64_t t;

    if (!sp_asn1_time_epoch(this_upd, &t) || t > now + CNS_CLOCK_SKEW_SEC)
        return false;
    if (next_upd != NULL && (!sp_asn1_time_epoch(next_upd, &t) || t < now - CNS_CLOCK_SKEW_SEC))
        return false;
    return true;
}

static enum cns_rev cns_ocsp_one(struct sp_cns *c, X509 *leaf, X509 *issuer, STACK_OF(X509) * chain,
                                 const char *url, int64_t now, char *why, size_t why_len)
{
    OCSP_CERTID *id = NULL, *req_id = NULL;
    OCSP_REQUEST *req = NULL;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    ASN1_GENERALIZEDTIME *revtime = NULL, *this_upd = NULL, *next_upd = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    enum cns_rev rev = CNS_REV_UNKNOWN;
    struct sp_buf body;
    int der_len, status = -1, reason = -1;

    sp_buf_init(&body, CNS_OCSP_MAX_BYTES);
    if ((id = OCSP_cert_to_id(NULL, leaf, issuer)) == NULL ||
        (req_id = OCSP_CERTID_dup(id)) == NULL || (req = OCSP_REQUEST_new()) == NULL ||
        OCSP_request_add0_id(req, req_id) == NULL) {
        OCSP_CERTID_free(req_id);
        snprintf(why, why_len, "cannot build the OCSP request");
        goto out;
    }
    if (!OCSP_request_add1_nonce(req, NULL, -1) || (der_len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
        snprintf(why, why_len, "cannot encode the OCSP request");
        goto out;
    }
    if (!cns_http(c, url, der, (size_t)der_len, &body, why, why_len))
        goto out;
    p = (const unsigned char *)body.data;
    if (body.len == 0 || (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)body.len)) == NULL) {
        snprintf(why, why_len, "%s: unreadable OCSP response", url);
        goto out;
    }
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        snprintf(why, why_len, "%s: OCSP response status %s", url,
                 OCSP_response_status_str(OCSP_response_status(resp)));
        goto out;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        snprintf(why, why_len, "%s: no basic OCSP response", url);
        goto out;
    }
    if (OCSP_check_nonce(req, bs) == 0) {
        snprintf(why, why_len, "%s: OCSP nonce mismatch", url);
        goto out;
    }
    /* signed by the issuer or a responder it delegated (id-kp-OCSPSigning) */
    if (OCSP_basic_verify(bs, chain, c->store, 0) != 1) {
        snprintf(why, why_len, "%s: OCSP response signature not trusted", url);
        goto out;
    }
    if (OCSP_resp_find_status(bs, id, &status, &reason, &revtime, &this_upd, &next_upd) != 1) {
        snprintf(why, why_len, "%s: OCSP response does not cover the certificate", url);
        goto out;
    }
    if (!cns_fresh(this_upd, next_upd, now)) {
        snprintf(why, why_len, "%s: OCSP response outside thisUpdate/nextUpdate", url);
        goto out;
    }
    if (status == V_OCSP_CERTSTATUS_GOOD)
        rev = CNS_REV_GOOD;
    else if (status == V_OCSP_CERTSTATUS_REVOKED)
        rev = CNS_REV_REVOKED;
    else
        snprintf(why, why_len, "%s: OCSP status unknown", url);
out:
    OPENSSL_free(der);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
    sp_buf_cleanup(&body);
    ERR_clear_error();
    return rev;
}

static enum cns_rev cns_ocsp(struct sp_cns *c, X509 *leaf, X509 *issuer, STACK_OF(X509) * chain,
                             int64_t now, bool *tried, char *why, size_t why_len)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
    enum cns_rev rev = CNS_REV_UNKNOWN;
    int i;

    for (i = 0; i < sk_OPENSSL_STRING_num(urls) && rev == CNS_REV_UNKNOWN; i++) {
        const char *url = sk_OPENSSL_STRING_value(urls, i);

        if (strncasecmp(url, "http://", 7) != 0 || strlen(url) > CNS_MAX_URL)
            continue;
        *tried = true;
        rev = cns_ocsp_one(c, leaf, issuer, chain, url, now, why, why_len);
    }
    X509_email_free(urls);
    return rev;
}

/* ------------------------------------------------------------------------ */
/* Check 9: revocation (CRL, cached)                                        */
/* ------------------------------------------------------------------------ */

/* A cached CRL for url verified with key, still fresh at now; a reference is taken. */
static X509_CRL *cns_cache_get(struct sp_cns *c, const char *url, EVP_PKEY *key, int64_t now)
{
    X509_CRL *crl = NULL;
    size_t i;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->ncrl; i++) {
        struct cns_crl_entry *e = &c->crl[i];

        if (strcmp(e->url, url) != 0)
            continue;
        if (now < e->expires && EVP_PKEY_eq(e->key, key) == 1 && X509_CRL_up_ref(e->crl))
            crl = e->crl;
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return crl;
}

static void cns_cache_put(struct sp_cns *c, const char *url, X509_CRL *crl, EVP_PKEY *key,
                          int64_t expires)
{
    struct cns_crl_entry *e = NULL;
    size_t i;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->ncrl && e == NULL; i++)
        if (strcmp(c->crl[i].url, url) == 0)
            e = &c->crl[i];
    if (e == NULL && c->ncrl < CNS_CRL_CACHE_MAX) {
        e = &c->crl[c->ncrl++];
    } else if (e == NULL) { /* full: replace the entry that expires first */
        e = &c->crl[0];
        for (i = 1; i < c->ncrl; i++)
            if (c->crl[i].expires < e->expires)
                e = &c->crl[i];
    }
    free(e->url);
    X509_CRL_free(e->crl);
    EVP_PKEY_free(e->key);
    e->url = sp_xstrdup(url);
    X509_CRL_up_ref(crl);
    e->crl = crl;
    EVP_PKEY_up_ref(key);
    e->key = key;
    e->expires = expires;
    pthread_mutex_unlock(&c->lock);
}

static X509_CRL *cns_crl_parse(const struct sp_buf *b)
{
    const unsigned char *p = (const unsigned char *)b->data;
    X509_CRL *crl = NULL;
    BIO *bio;

    if (b->len == 0 || b->len > INT_MAX)
        return NULL;
    if (b->data[0] == '-') {
        if ((bio = BIO_new_mem_buf(b->data, (int)b->len)) != NULL) {
            crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }
        return crl;
    }
    crl = d2i_X509_CRL(NULL, &p, (long)b->len);
    if (crl != NULL && p != (const unsigned char *)b->data + b->len) {
        X509_CRL_free(crl);
        crl = NULL;
    }
    return crl;
}

/* Fetch, parse and check one CRL; on success it is cached and returned (a reference). */
static X509_CRL *cns_crl_fetch(struct sp_cns *c, const char *url, X509 *leaf, X509 *issuer,
                               int64_t now, char *why, size_t why_len)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    const ASN1_TIME *next_upd;
    X509_CRL *crl = NULL;
    struct sp_buf body;
    int64_t expires = now + (int64_t)c->crl_max_age_sec, t;

    sp_buf_init(&body, CNS_CRL_MAX_BYTES);
    if (key == NULL) {
        snprintf(why, why_len, "issuer key unreadable");
        goto out;
    }
    if (!cns_http(c, url, NULL, 0, &body, why, why_len))
        goto out;
    if ((crl = cns_crl_parse(&body)) == NULL) {
        snprintf(why, why_len, "%s: not a CRL (DER or PEM)", url);
        goto out;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(leaf)) != 0 ||
        X509_CRL_verify(crl, key) != 1) {
        snprintf(why, why_len, "%s: CRL not signed by the certificate's issuer", url);
        goto fail;
    }
    next_upd = X509_CRL_get0_nextUpdate(crl);
    if (!cns_fresh(X509_CRL_get0_lastUpdate(crl), next_upd, now)) {
        snprintf(why, why_len, "%s: CRL outside thisUpdate/nextUpdate", url);
        goto fail;
    }
    if (next_upd != NULL && sp_asn1_time_epoch(next_upd, &t) && t < expires)
        expires = t;
    cns_cache_put(c, url, crl, key, expires);
    goto out;
fail:
    X509_CRL_free(crl);
    crl = NULL;
out:
    sp_buf_cleanup(&body);
    ERR_clear_error();
    return crl;
}

static enum cns_rev cns_crl(struct sp_cns *c, X509 *leaf, X509 *issuer, int64_t now, bool *tried,
                            char *why, size_t why_len)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
    enum cns_rev rev = CNS_REV_UNKNOWN;
    int i, j;

    for (i = 0; i < sk_DIST_POINT_num(dps) && rev == CNS_REV_UNKNOWN; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            char url[CNS_MAX_URL + 1];
            X509_REVOKED *entry = NULL;
            X509_CRL *crl;
            int len;

            if (gn->type != GEN_URI)
                continue;
            len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
            if (len <= 7 || len > CNS_MAX_URL)
                continue;
            memcpy(url, ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier), (size_t)len);
            url[len] = '\0';
            if (strlen(url) != (size_t)len || strncasecmp(url, "http://", 7) != 0)
                continue; /* ldap:// and friends are not fetched */
            *tried = true;
            crl = cns_cache_get(c, url, X509_get0_pubkey(issuer), now);
            if (crl == NULL)
                crl = cns_crl_fetch(c, url, leaf, issuer, now, why, why_len);
            if (crl == NULL)
                continue;
            rev = X509_CRL_get0_by_cert(crl, &entry, leaf) == 1 ? CNS_REV_REVOKED : CNS_REV_GOOD;
            X509_CRL_free(crl);
            break;
        }
    }
    CRL_DIST_POINTS_free(dps);
    ERR_clear_error();
    return rev;
}

static enum sp_cns_reason cns_check_revocation(struct sp_cns *c, X509 *leaf, STACK_OF(X509) * chain,
                                               int64_t now, struct sp_cns_result *r)
{
    char why[200] = "";
    bool tried_ocsp = false, tried_crl = false;
    enum cns_rev rev = CNS_REV_UNKNOWN;
    X509 *issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;

    if (issuer == NULL) {
        snprintf(why, sizeof(why), "no issuer certificate in the chain");
    } else {
        rev = cns_ocsp(c, leaf, issuer, chain, now, &tried_ocsp, why, sizeof(why));
        if (rev != CNS_REV_UNKNOWN) {
            r->revocation = "ocsp";
        } else {
            if (tried_ocsp)
                sp_warnx("cns: no OCSP answer, trying the CRL: %s", why);
            rev = cns_crl(c, leaf, issuer, now, &tried_crl, why, sizeof(why));
            if (rev != CNS_REV_UNKNOWN)
                r->revocation = "crl";
        }
    }
    if (rev == CNS_REV_REVOKED) {
        cns_detail(r, "revoked or suspended (%s)", r->revocation);
        return SP_CNS_REVOKED;
    }
    if (rev == CNS_REV_GOOD)
        return SP_CNS_OK;
    if (!tried_ocsp && !tried_crl && why[0] == '\0')
        snprintf(why, sizeof(why), "no OCSP responder and no http CRL distribution point");
    if (c->soft_fail) {
        r->revocation = "none (soft-fail)";
        sp_warnx("cns: revocation unknown, accepted by soft-fail: %s", why);
        return SP_CNS_OK;
    }
    cns_detail(r, "revocation unknown: %s", why);
    return SP_CNS_REVOCATION_UNKNOWN;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

enum sp_err sp_cns_verify(struct sp_cns *c, const void *cert, size_t len, const char *chain_pem,
                          int64_t now, struct sp_cns_result *result)
{
    STACK_OF(X509) *untrusted = NULL, *chain = NULL;
    enum sp_cns_reason reason;
    enum sp_err rc = SP_OK;
    X509 *leaf = NULL;

    memset(result, 0, sizeof(*result));
    result->revocation = "";
    if (c == NULL)
        return SP_ERR_INTERNAL;
    if ((leaf = cns_parse_cert(cert, len)) == NULL) {
        reason = SP_CNS_UNREADABLE;
        cns_detail(result, "the certificate is neither PEM nor DER");
        goto out;
    }
    cns_describe(leaf, result);
    if ((untrusted = cns_parse_chain(chain_pem)) == NULL) {
        rc = SP_ERR_INTERNAL;
        reason = SP_CNS_UNREADABLE;
        cns_detail(result, "out of memory");
        goto out;
    }
    if ((reason = cns_check_chain(c, leaf, untrusted, now, &chain, result)) != SP_CNS_OK)
        goto out;
    if (cns_has_nonrepudiation(leaf)) {
        reason = SP_CNS_SIGNATURE_CERT;
        cns_detail(result, "keyUsage has nonRepudiation: a signature certificate");
        goto out;
    }
    if ((reason = cns_check_policy(c, leaf, result)) != SP_CNS_OK)
        goto out;
    if ((reason = cns_check_usage(leaf, result)) != SP_CNS_OK)
        goto out;
    if ((reason = cns_check_cn(leaf, result)) != SP_CNS_OK)
        goto out;
    reason = cns_check_revocation(c, leaf, chain, now, result);
out:
    result->reason = reason;
    if (reason == SP_CNS_OK)
        result->detail[0] = '\0';
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    return rc;
}
