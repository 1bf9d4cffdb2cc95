/*
 * mdcheck_cert: the certificates carried in metadata (MD-15 for SPs, the
 * signing certificates of IdPs): decoding from ds:X509Certificate, key type
 * and size, signature hash, validity against sp_clock_now(), subject fields
 * for MD-02/MD-73. OpenSSL stays in this file of the checker.
 */
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>
#include <time.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/clock.h"
#include "sp/mem.h"
#include "mdcheck_priv.h"

#define MDC_MAX_CERT_BYTES (64u * 1024u)

static X509 *mdc_x509(const char *b64, struct sp_buf *der)
{
    const unsigned char *p;
    X509 *x;

    sp_buf_init(der, MDC_MAX_CERT_BYTES);
    if (b64 == NULL || sp_b64_decode(der, b64, strlen(b64)) != SP_OK || der->len == 0)
        return NULL;
    p = (const unsigned char *)der->data;
    x = d2i_X509(NULL, &p, (long)der->len);
    if (x != NULL && p != (const unsigned char *)der->data + der->len) {
        X509_free(x); /* trailing bytes */
        x = NULL;
    }
    return x;
}

bool mdc_cert_equal(const char *b64a, const char *b64b)
{
    struct sp_buf a, b;
    bool eq;

    sp_buf_init(&a, MDC_MAX_CERT_BYTES);
    sp_buf_init(&b, MDC_MAX_CERT_BYTES);
    eq = b64a != NULL && b64b != NULL && sp_b64_decode(&a, b64a, strlen(b64a)) == SP_OK &&
         sp_b64_decode(&b, b64b, strlen(b64b)) == SP_OK && a.len > 0 && a.len == b.len &&
         memcmp(a.data, b.data, a.len) == 0;
    sp_buf_cleanup(&a);
    sp_buf_cleanup(&b);
    return eq;
}

char *mdc_cert_subject(const char *b64, const char *oid)
{
    struct sp_buf der;
    X509 *x = mdc_x509(b64, &der);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    char *r = NULL;

    if (x != NULL && obj != NULL) {
        X509_NAME *name = X509_get_subject_name(x);
        int i = X509_NAME_get_index_by_OBJ(name, obj, -1);
        if (i >= 0) {
            unsigned char *utf8 = NULL;
            int n =
                ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
            if (n >= 0)
                r = sp_xstrndup((const char *)utf8, (size_t)n);
            OPENSSL_free(utf8);
        }
    }
    ASN1_OBJECT_free(obj);
    X509_free(x);
    sp_buf_cleanup(&der);
    return r;
}

/*
 * Whole days from sp_clock_now() to notAfter, and whether that moment has
 * passed (ASN1_TIME_diff gives days and seconds of the same sign); false if
 * the time cannot be read.
 */
static bool mdc_days_left(X509 *x, long *days, bool *expired)
{
    ASN1_TIME *now = ASN1_TIME_set(NULL, sp_clock_now());
    int d = 0, s = 0;
    bool ok = now != NULL && ASN1_TIME_diff(&d, &s, now, X509_get0_notAfter(x)) == 1;

    ASN1_TIME_free(now);
    if (ok) {
        *days = d;
        *expired = d < 0 || s < 0;
    }
    return ok;
}

bool mdc_cert_check(struct mdc *m, const xmlNode *where, const char *b64, bool idp)
{
    const char *id_parse = idp ? "IDP-cert" : "MD-15-parse";
    const char *id_key = idp ? "IDP-cert" : "MD-15-key";
    const char *id_sha1 = idp ? "IDP-cert" : "MD-15-sha1";
    const char *id_exp = idp ? "IDP-cert" : "MD-15-expired";
    const char *id_soon = idp ? "IDP-cert-expiring" : "MD-15-expiring";
    struct sp_buf der;
    X509 *x;
    EVP_PKEY *pub;
    int md_nid = NID_undef, pk_nid = NID_undef;
    long days = 0;
    bool usable = true, expired = false;

    mdc_ran(m);
    x = mdc_x509(b64, &der);
    if (x == NULL) {
        mdc_fail(m, id_parse, SP_SEV_ERROR, where,
                 "the certificate is not base64 DER X.509 (no PEM armour)");
        sp_buf_cleanup(&der);
        return false;
    }
    mdc_ran(m);
    pub = X509_get0_pubkey(x);
    if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
        mdc_fail(m, id_key, SP_SEV_ERROR, where, "the certificate key is not RSA");
        usable = false;
    } else if (EVP_PKEY_get_bits(pub) < SP_CERT_MIN_BITS) {
        mdc_fail(m, id_key, SP_SEV_ERROR, where, "the RSA key has %d bits, fewer than %d",
                 EVP_PKEY_get_bits(pub), SP_CERT_MIN_BITS);
        usable = false;
    }
    mdc_ran(m);
    if (!OBJ_find_sigid_algs(X509_get_signature_nid(x), &md_nid, &pk_nid) || md_nid == NID_sha1 ||
        md_nid == NID_md5 || md_nid == NID_undef)
        mdc_fail(m, id_sha1, SP_SEV_ERROR, where,
                 "the certificate is signed with %s; SHA-256 or stronger is required",
                 md_nid == NID_undef ? "an unknown hash" : OBJ_nid2sn(md_nid));
    mdc_ran(m);
    if (!mdc_days_left(x, &days, &expired)) {
        mdc_fail(m, id_exp, SP_SEV_ERROR, where, "the certificate validity cannot be read");
    } else if (expired) {
        mdc_fail(m, id_exp, SP_SEV_ERROR, where, "the certificate expired %ld days ago", -days);
    } else if (days < SP_MDCHECK_EXPIRY_WARN_DAYS) {
        mdc_fail(m, id_soon, SP_SEV_WARNING, where, "the certificate expires in %ld days", days);
    }
    X509_free(x);
    sp_buf_cleanup(&der);
    return usable;
}
