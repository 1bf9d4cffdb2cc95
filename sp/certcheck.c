/*
 * certcheck: the SPID SP certificate profile (spec §8) checked with the
 * OpenSSL 3 X509 and EVP APIs, one small function per rule.
 *
 * Check ids (stable; tests and CI systems match on them):
 *   CERT-parse            nothing parseable as PEM or DER
 *   CE-01                 X.509 v3
 *   CE-02-CN/-O/-uri/-orgid/-C/-L
 *                         required subject attribute present once, not empty
 *                         (C: two letters)
 *   CE-02-cn-length, CE-02-o-length
 *                         RFC 5280 upper bounds (64 characters)
 *   CE-03-name/-surname/-givenName/-initials/-pseudonym/-email
 *                         personal attributes absent from the subject
 *   CE-04                 organizationIdentifier format for the profile
 *   CE-05                 RSA key of 2048, 3072 or 4096 bits
 *   CE-06                 signature hash SHA-256 or SHA-512 (SHA-384: warning)
 *   CE-07-bc              basicConstraints present once, CA:FALSE, not critical
 *   CE-07-ku-critical     keyUsage critical
 *   CE-07-ku-bits         keyUsage present once with exactly the allowed bits
 *   CE-07-policies        certificatePolicies at most once, and decodable
 *   CE-07-policies-critical certificatePolicies not critical
 *   CE-07-agidcert        policy 1.3.76.16.6 (explicitText agIDcert: warning)
 *   CE-07-sector          the sector policy of the profile, and only that one
 *   CE-08-notbefore       already valid
 *   CE-08-expired         not expired (warning within 30 days)
 *
 * Invariants: every check calls sp_report_ran() exactly once, whatever it
 * finds; quoted certificate values are UTF-8, bounded, and free of control
 * characters, so every finding stays one line; the OpenSSL error queue is
 * cleared before returning.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sp/buf.h"
#include "sp/certcheck.h"
#include "sp/report.h"

#define CC_OID_URI "2.5.4.83"
#define CC_OID_ORGID "2.5.4.97"
#define CC_OID_AGID "1.3.76.16.6"
#define CC_OID_SP_PUBLIC "1.3.76.16.4.2.1"
#define CC_OID_SP_PRIVATE "1.3.76.16.4.3.1"
#define CC_TEXT_AGID "agIDcert"
#define CC_TEXT_SP_PUBLIC "cert_SP_Pub"
#define CC_TEXT_SP_PRIVATE "cert_SP_Priv"
#define CC_MAX_IPA_CODE 16    /* CE-04: ^PA:IT-\S{1,16}$ */
#define CC_FISCAL_CODE_LEN 16 /* CE-04: CF:IT-[a-zA-Z0-9]{16} */
#define CC_VAT_DIGITS 11      /* CE-04: VATIT-\d{11} */
#define CC_MAX_QUOTE 80       /* bytes of a certificate value quoted in a message */
#define CC_OID_TEXT 80        /* room for a dotted OID */
#define CC_DAY_SECONDS 86400

/* RFC 5280 keyUsage bit positions */
#define CC_KU_DIGITAL_SIGNATURE 0
#define CC_KU_NON_REPUDIATION 1
#define CC_KU_KEY_ENCIPHERMENT 2
#define CC_KU_DATA_ENCIPHERMENT 3
#define CC_KU_KEY_AGREEMENT 4
#define CC_KU_KEY_CERT_SIGN 5
#define CC_KU_CRL_SIGN 6

struct cc {
    X509 *x;
    struct sp_report *r;
    enum sp_cert_profile profile; /* resolved; AUTO when nothing tells */
    int64_t now;
    /* what the policy scan found, for CE-07-agidcert and CE-07-sector */
    bool have_policies, agid, sp_public, sp_private;
    char agid_text[CC_MAX_QUOTE + 1], sector_text[CC_MAX_QUOTE + 1];
    bool agid_text_ok, sector_text_ok;
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Copy s (n bytes of UTF-8) for quoting: controls become '?', long text is cut. */
static void cc_quote(char out[CC_MAX_QUOTE + 1], const unsigned char *s, size_t n)
{
    size_t i, k = 0;

    for (i = 0; i < n && k < CC_MAX_QUOTE; i++) {
        unsigned char c = s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    /* never end inside a UTF-8 sequence */
    if (i < n)
        while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
            k--;
    if (i < n && k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0xc0)
        k--;
    out[k] = '\0';
}

/* Characters (code points) in a UTF-8 text. */
static size_t cc_utf8_chars(const unsigned char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += (s[i] & 0xc0) != 0x80;
    return chars;
}

static const char *cc_profile_name(enum sp_cert_profile p)
{
    return p == SP_CERT_PROFILE_PUBLIC ? "public" : p == SP_CERT_PROFILE_PRIVATE ? "private" : "";
}

enum sp_err sp_certcheck_profile_parse(const char *s, enum sp_cert_profile *out)
{
    if (strcmp(s, "public") == 0)
        *out = SP_CERT_PROFILE_PUBLIC;
    else if (strcmp(s, "private") == 0)
        *out = SP_CERT_PROFILE_PRIVATE;
    else if (strcmp(s, "auto") == 0)
        *out = SP_CERT_PROFILE_AUTO;
    else
        return SP_ERR_INVALID;
    return SP_OK;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

static bool cc_has_pem_armour(const char *data, size_t len)
{
    static const char begin[] = "-----BEGIN";
    size_t n = sizeof(begin) - 1;

    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, begin, n) == 0)
            return true;
    return false;
}

/* The first certificate in data (PEM or DER); NULL if there is none. */
static X509 *cc_parse(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    BIO *bio;
    X509 *x = NULL;

    if (cc_has_pem_armour(data, len)) {
        bio = BIO_new_mem_buf(data, (int)len);
        if (bio != NULL)
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        return x;
    }
    return d2i_X509(NULL, &p, (long)len);
}

/* ------------------------------------------------------------------------ */
/* CE-01, CE-05, CE-06: version, key, signature                             */
/* ------------------------------------------------------------------------ */

static void cc_version(struct cc *c)
{
    long v = X509_get_version(c->x);

    sp_report_ran(c->r);
    if (v != X509_VERSION_3)
        sp_report_add(c->r, "CE-01", SP_SEV_ERROR, "version",
                      "certificate is X.509 v%ld; SPID wants v3", v + 1);
}

static void cc_key(struct cc *c)
{
    EVP_PKEY *pk = X509_get0_pubkey(c->x);
    int bits;

    sp_report_ran(c->r);
    if (pk == NULL) {
        sp_report_add(c->r, "CE-05", SP_SEV_ERROR, "subjectPublicKeyInfo",
                      "the public key cannot be decoded");
        return;
    }
    bits = EVP_PKEY_get_bits(pk);
    if (!EVP_PKEY_is_a(pk, "RSA"))
        sp_report_add(c->r, "CE-05", SP_SEV_ERROR, "subjectPublicKeyInfo",
                      "key type %s; SPID wants RSA of 2048, 3072 or 4096 bits",
                      EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "unknown");
    else if (bits != 2048 && bits != 3072 && bits != 4096)
        sp_report_add(c->r, "CE-05", SP_SEV_ERROR, "subjectPublicKeyInfo",
                      "RSA key of %d bits; SPID wants 2048, 3072 or 4096", bits);
}

static void cc_signature(struct cc *c)
{
    int sig = X509_get_signature_nid(c->x), md = NID_undef, pk = NID_undef;
    const char *name = sig != NID_undef ? OBJ_nid2ln(sig) : NULL;

    sp_report_ran(c->r);
    if (name == NULL)
        name = "an unknown algorithm";
    /* only the hash: a non-RSA key (and so signature) is CE-05's finding */
    if (!OBJ_find_sigid_algs(sig, &md, &pk) || md == NID_undef) {
        sp_report_add(c->r, "CE-06", SP_SEV_ERROR, "signatureAlgorithm",
                      "signed with %s; SPID wants sha256WithRSAEncryption or "
                      "sha512WithRSAEncryption",
                      name);
        return;
    }
    if (md == NID_sha256 || md == NID_sha512)
        return;
    if (md == NID_sha384)
        sp_report_add(c->r, "CE-06", SP_SEV_WARNING, "signatureAlgorithm",
                      "signed with SHA-384: strong, but SPID names SHA-256 or SHA-512 only");
    else
        sp_report_add(c->r, "CE-06", SP_SEV_ERROR, "signatureAlgorithm",
                      "signed with %s; SPID wants SHA-256 or SHA-512", name);
}

/* ------------------------------------------------------------------------ */
/* CE-02, CE-03, CE-04: subject                                             */
/* ------------------------------------------------------------------------ */

/*
 * The only value of the attribute oid in the subject, as UTF-8 in *utf8
 * (OPENSSL_free it). Returns the number of occurrences; *len is -1 when the
 * first one cannot be converted.
 */
static int cc_subject_value(X509 *x, const char *oid, unsigned char **utf8, int *len)
{
    X509_NAME *name = X509_get_subject_name(x);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int count = 0, first = -1;

    *utf8 = NULL;
    *len = -1;
    if (obj == NULL || name == NULL) {
        ASN1_OBJECT_free(obj);
        return 0;
    }
    for (int i = X509_NAME_get_index_by_OBJ(name, obj, -1); i >= 0;
         i = X509_NAME_get_index_by_OBJ(name, obj, i)) {
        if (count++ == 0)
            first = i;
    }
    if (first >= 0)
        *len =
            ASN1_STRING_to_UTF8(utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, first)));
    ASN1_OBJECT_free(obj);
    return count;
}

struct cc_required {
    const char *id, *oid, *where, *label;
    size_t max_chars; /* 0: no bound of its own */
    const char *length_id;
};

static const struct cc_required cc_required_attrs[] = {
    {"CE-02-CN", "2.5.4.3", "subject/commonName", "commonName (the OrganizationDisplayName)",
     SP_CERTCHECK_MAX_CN, "CE-02-cn-length"},
    {"CE-02-O", "2.5.4.10", "subject/organizationName", "organizationName (the OrganizationName)",
     SP_CERTCHECK_MAX_O, "CE-02-o-length"},
    {"CE-02-uri", CC_OID_URI, "subject/uri", "uri (2.5.4.83, the entityID)", 0, NULL},
    {"CE-02-orgid", CC_OID_ORGID, "subject/organizationIdentifier",
     "organizationIdentifier (2.5.4.97)", 0, NULL},
    {"CE-02-C", "2.5.4.6", "subject/countryName", "countryName (ISO 3166 code, e.g. IT)", 0, NULL},
    {"CE-02-L", "2.5.4.7", "subject/localityName", "localityName (city of the registered office)",
     0, NULL},
};

static void cc_required_one(struct cc *c, const struct cc_required *a)
{
    unsigned char *v = NULL;
    int len = -1, count = cc_subject_value(c->x, a->oid, &v, &len);
    char q[CC_MAX_QUOTE + 1];

    sp_report_ran(c->r);
    if (a->length_id != NULL)
        sp_report_ran(c->r);
    if (count == 0) {
        sp_report_add(c->r, a->id, SP_SEV_ERROR, a->where, "the subject has no %s", a->label);
    } else if (len < 0) {
        sp_report_add(c->r, a->id, SP_SEV_ERROR, a->where, "the value cannot be read as text");
    } else if (count > 1) {
        sp_report_add(c->r, a->id, SP_SEV_ERROR, a->where, "appears %d times; once expected",
                      count);
    } else if (len == 0) {
        sp_report_add(c->r, a->id, SP_SEV_ERROR, a->where, "is empty");
    } else if (strcmp(a->oid, "2.5.4.6") == 0 && (len != 2 || !isupper(v[0]) || !isupper(v[1]))) {
        cc_quote(q, v, (size_t)len);
        sp_report_add(c->r, a->id, SP_SEV_ERROR, a->where,
                      "\"%s\" is not a two-letter ISO 3166 code such as IT", q);
    }
    if (len > 0 && a->length_id != NULL && cc_utf8_chars(v, (size_t)len) > a->max_chars)
        sp_report_add(c->r, a->length_id, SP_SEV_ERROR, a->where,
                      "%zu characters, more than the %zu RFC 5280 allows",
                      cc_utf8_chars(v, (size_t)len), a->max_chars);
    OPENSSL_free(v);
}

struct cc_forbidden {
    const char *id, *oid, *where, *label;
};

static const struct cc_forbidden cc_forbidden_attrs[] = {
    {"CE-03-name", "2.5.4.41", "subject/name", "name"},
    {"CE-03-surname", "2.5.4.4", "subject/surname", "surname"},
    {"CE-03-givenName", "2.5.4.42", "subject/givenName", "givenName"},
    {"CE-03-initials", "2.5.4.43", "subject/initials", "initials"},
    {"CE-03-pseudonym", "2.5.4.65", "subject/pseudonym", "pseudonym"},
    {"CE-03-email", "1.2.840.113549.1.9.1", "subject/emailAddress", "emailAddress"},
};

static void cc_forbidden_one(struct cc *c, const struct cc_forbidden *a)
{
    unsigned char *v = NULL;
    int len = -1;

    sp_report_ran(c->r);
    if (cc_subject_value(c->x, a->oid, &v, &len) > 0)
        sp_report_add(c->r, a->id, SP_SEV_ERROR, a->where,
                      "%s is personal data and must not be in an SP certificate subject", a->label);
    OPENSSL_free(v);
}

/* \S{1,16}: 1-16 characters, none of them white space or control. */
static bool cc_ipa_code_ok(const unsigned char *s, size_t n)
{
    size_t chars = cc_utf8_chars(s, n);

    if (chars < 1 || chars > CC_MAX_IPA_CODE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] == 0x7f)
            return false;
    return true;
}

static bool cc_all(const unsigned char *s, size_t n, size_t want, int (*cls)(int))
{
    if (n != want)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80 || !cls(s[i]))
            return false;
    return true;
}

static bool cc_has_prefix(const unsigned char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

/* CE-04 for one profile. *warn: it fits only as an 11-digit CF (tolerated). */
static bool cc_orgid_fits(enum sp_cert_profile p, const unsigned char *v, size_t n, bool *warn)
{
    static const size_t pa = sizeof("PA:IT-") - 1, vat = sizeof("VATIT-") - 1,
                        cf = sizeof("CF:IT-") - 1;

    *warn = false;
    if (p == SP_CERT_PROFILE_PUBLIC)
        return cc_has_prefix(v, n, "PA:IT-") && cc_ipa_code_ok(v + pa, n - pa);
    if (cc_has_prefix(v, n, "VATIT-"))
        return cc_all(v + vat, n - vat, CC_VAT_DIGITS, isdigit);
    if (cc_has_prefix(v, n, "CF:IT-")) {
        if (cc_all(v + cf, n - cf, CC_FISCAL_CODE_LEN, isalnum))
            return true;
        /* sp_cert_generate accepts a company's 11-digit codice fiscale */
        *warn = cc_all(v + cf, n - cf, CC_VAT_DIGITS, isdigit);
        return *warn;
    }
    return false;
}

static void cc_orgid(struct cc *c)
{
    unsigned char *v = NULL;
    int len = -1;
    char q[CC_MAX_QUOTE + 1];
    bool warn = false;
    static const char *const want_public = "PA:IT-<IPA code of 1-16 characters>";
    static const char *const want_private = "VATIT-<11 digits> or CF:IT-<16 letters or digits>";
    const char *where = "subject/organizationIdentifier";

    sp_report_ran(c->r);
    if (cc_subject_value(c->x, CC_OID_ORGID, &v, &len) == 0 || len < 0)
        goto out; /* CE-02-orgid says so */
    cc_quote(q, v, (size_t)len);
    if (c->profile == SP_CERT_PROFILE_AUTO) {
        bool w1 = false, w2 = false;
        if (!cc_orgid_fits(SP_CERT_PROFILE_PUBLIC, v, (size_t)len, &w1) &&
            !cc_orgid_fits(SP_CERT_PROFILE_PRIVATE, v, (size_t)len, &w2))
            sp_report_add(c->r, "CE-04", SP_SEV_ERROR, where,
                          "\"%s\" fits neither %s (public SP) nor %s (private SP)", q, want_public,
                          want_private);
        warn = w2;
    } else if (!cc_orgid_fits(c->profile, v, (size_t)len, &warn)) {
        sp_report_add(c->r, "CE-04", SP_SEV_ERROR, where, "\"%s\" is not %s, as a %s SP needs", q,
                      c->profile == SP_CERT_PROFILE_PUBLIC ? want_public : want_private,
                      cc_profile_name(c->profile));
    }
    if (warn)
        sp_report_add(c->r, "CE-04", SP_SEV_WARNING, where,
                      "\"%s\": an 11-digit fiscal code is accepted by spid-sp keygen but not by "
                      "the AgID rule (CF:IT- needs 16 characters); prefer VATIT-<VAT number>",
                      q);
out:
    OPENSSL_free(v);
}

/* ------------------------------------------------------------------------ */
/* CE-07: extensions                                                        */
/* ------------------------------------------------------------------------ */

/*
 * The first extension nid, decoded (free with its type's _free), NULL when
 * absent or undecodable; *count says how often it appears, *crit whether
 * the first one is critical.
 */
static void *cc_ext(X509 *x, int nid, int *count, int *crit)
{
    int first = X509_get_ext_by_NID(x, nid, -1);
    X509_EXTENSION *ext;

    *count = 0;
    *crit = 0;
    for (int i = first; i >= 0; i = X509_get_ext_by_NID(x, nid, i))
        (*count)++;
    if (first < 0 || (ext = X509_get_ext(x, first)) == NULL)
        return NULL;
    *crit = X509_EXTENSION_get_critical(ext) > 0;
    return X509V3_EXT_d2i(ext);
}

static void cc_basic_constraints(struct cc *c)
{
    int count, crit;
    BASIC_CONSTRAINTS *bc = cc_ext(c->x, NID_basic_constraints, &count, &crit);
    const char *where = "extensions/basicConstraints";

    sp_report_ran(c->r);
    if (count == 0)
        sp_report_add(c->r, "CE-07-bc", SP_SEV_ERROR, where, "missing; SPID wants CA:FALSE");
    else if (bc == NULL)
        sp_report_add(c->r, "CE-07-bc", SP_SEV_ERROR, where, "cannot be decoded");
    else if (bc->ca)
        sp_report_add(c->r, "CE-07-bc", SP_SEV_ERROR, where,
                      "CA:TRUE; an SP certificate must say CA:FALSE");
    if (count > 1)
        sp_report_add(c->r, "CE-07-bc", SP_SEV_ERROR, where, "appears %d times", count);
    if (crit)
        sp_report_add(c->r, "CE-07-bc", SP_SEV_ERROR, where,
                      "marked critical; the SPID profile wants it not critical");
    BASIC_CONSTRAINTS_free(bc);
}

static void cc_key_usage(struct cc *c)
{
    static const struct {
        int bit;
        const char *name;
        bool want;
    } bits[] = {
        {CC_KU_DIGITAL_SIGNATURE, "digitalSignature", true},
        {CC_KU_NON_REPUDIATION, "nonRepudiation", true},
        {CC_KU_KEY_ENCIPHERMENT, "keyEncipherment", false},
        {CC_KU_DATA_ENCIPHERMENT, "dataEncipherment", false},
        {CC_KU_KEY_AGREEMENT, "keyAgreement", false},
        {CC_KU_KEY_CERT_SIGN, "keyCertSign", false},
        {CC_KU_CRL_SIGN, "cRLSign", false},
    };
    int count, crit;
    ASN1_BIT_STRING *ku = cc_ext(c->x, NID_key_usage, &count, &crit);
    const char *where = "extensions/keyUsage";
    struct sp_buf missing, extra;

    sp_report_ran(c->r);
    sp_report_ran(c->r);
    sp_buf_init(&missing, 256);
    sp_buf_init(&extra, 256);
    if (count == 0) {
        sp_report_add(c->r, "CE-07-ku-bits", SP_SEV_ERROR, where,
                      "missing; SPID wants a critical keyUsage with digitalSignature and "
                      "nonRepudiation");
        goto out;
    }
    if (!crit)
        sp_report_add(c->r, "CE-07-ku-critical", SP_SEV_ERROR, where,
                      "not marked critical; the SPID profile wants it critical");
    if (count > 1)
        sp_report_add(c->r, "CE-07-ku-bits", SP_SEV_ERROR, where, "appears %d times", count);
    if (ku == NULL) {
        sp_report_add(c->r, "CE-07-ku-bits", SP_SEV_ERROR, where, "cannot be decoded");
        goto out;
    }
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        bool set = ASN1_BIT_STRING_get_bit(ku, bits[i].bit) != 0;
        struct sp_buf *list = bits[i].want ? &missing : &extra;
        if (set != bits[i].want)
            sp_buf_addf(list, "%s%s", list->len ? ", " : "", bits[i].name);
    }
    if (missing.len > 0)
        sp_report_add(c->r, "CE-07-ku-bits", SP_SEV_ERROR, where, "%s not set",
                      sp_buf_str(&missing));
    if (extra.len > 0)
        sp_report_add(c->r, "CE-07-ku-bits", SP_SEV_ERROR, where,
                      "%s set; only digitalSignature and nonRepudiation are allowed",
                      sp_buf_str(&extra));
out:
    ASN1_BIT_STRING_free(ku);
    sp_buf_cleanup(&missing);
    sp_buf_cleanup(&extra);
}

/* explicitText of the first userNotice of a policy; false if none. */
static bool cc_policy_text(const POLICYINFO *pi, char out[CC_MAX_QUOTE + 1])
{
    out[0] = '\0';
    for (int i = 0; i < sk_POLICYQUALINFO_num(pi->qualifiers); i++) {
        const POLICYQUALINFO *q = sk_POLICYQUALINFO_value(pi->qualifiers, i);
        unsigned char *utf8 = NULL;
        int n;

        if (OBJ_obj2nid(q->pqualid) != NID_id_qt_unotice || q->d.usernotice == NULL ||
            q->d.usernotice->exptext == NULL)
            continue;
        n = ASN1_STRING_to_UTF8(&utf8, q->d.usernotice->exptext);
        if (n >= 0)
            cc_quote(out, utf8, (size_t)n);
        OPENSSL_free(utf8);
        return n >= 0;
    }
    return false;
}

/* Scan certificatePolicies (CE-07-policies, -policies-critical) and note what is there. */
static void cc_policies(struct cc *c)
{
    int count, crit;
    CERTIFICATEPOLICIES *pols = cc_ext(c->x, NID_certificate_policies, &count, &crit);
    const char *where = "extensions/certificatePolicies";
    char oid[CC_OID_TEXT];

    sp_report_ran(c->r);
    sp_report_ran(c->r);
    if (count > 1)
        sp_report_add(c->r, "CE-07-policies", SP_SEV_ERROR, where, "appears %d times", count);
    if (count > 0 && pols == NULL)
        sp_report_add(c->r, "CE-07-policies", SP_SEV_ERROR, where, "cannot be decoded");
    if (crit)
        sp_report_add(c->r, "CE-07-policies-critical", SP_SEV_ERROR, where,
                      "marked critical; the SPID profile wants it not critical");
    c->have_policies = pols != NULL;
    for (int i = 0; pols != NULL && i < sk_POLICYINFO_num(pols); i++) {
        const POLICYINFO *pi = sk_POLICYINFO_value(pols, i);
        char text[CC_MAX_QUOTE + 1];
        bool has_text;

        if (OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1) <= 0)
            continue;
        has_text = cc_policy_text(pi, text);
        if (strcmp(oid, CC_OID_AGID) == 0) {
            c->agid = true;
            c->agid_text_ok = has_text && strcmp(text, CC_TEXT_AGID) == 0;
            memcpy(c->agid_text, text, sizeof(text));
        } else if (strcmp(oid, CC_OID_SP_PUBLIC) == 0) {
            c->sp_public = true;
            c->sector_text_ok = has_text && strcmp(text, CC_TEXT_SP_PUBLIC) == 0;
            memcpy(c->sector_text, text, sizeof(text));
        } else if (strcmp(oid, CC_OID_SP_PRIVATE) == 0) {
            c->sp_private = true;
            c->sector_text_ok = has_text && strcmp(text, CC_TEXT_SP_PRIVATE) == 0;
            memcpy(c->sector_text, text, sizeof(text));
        }
    }
    CERTIFICATEPOLICIES_free(pols);
}

static void cc_agidcert(struct cc *c)
{
    const char *where = "extensions/certificatePolicies";

    sp_report_ran(c->r);
    if (!c->agid)
        sp_report_add(
            c->r, "CE-07-agidcert", SP_SEV_ERROR, where, "%s; SPID wants policy %s (agIDcert)",
            c->have_policies ? "no agIDcert policy" : "no certificatePolicies", CC_OID_AGID);
    else if (!c->agid_text_ok)
        sp_report_add(c->r, "CE-07-agidcert", SP_SEV_WARNING, where,
                      "policy %s has explicitText \"%s\", expected \"%s\"", CC_OID_AGID,
                      c->agid_text, CC_TEXT_AGID);
}

static void cc_sector(struct cc *c)
{
    const char *where = "extensions/certificatePolicies";
    bool pub = c->profile == SP_CERT_PROFILE_PUBLIC;
    const char *want = pub ? CC_OID_SP_PUBLIC : CC_OID_SP_PRIVATE;
    const char *want_text = pub ? CC_TEXT_SP_PUBLIC : CC_TEXT_SP_PRIVATE;
    bool have = pub ? c->sp_public : c->sp_private, other = pub ? c->sp_private : c->sp_public;

    sp_report_ran(c->r);
    if (c->sp_public && c->sp_private) {
        sp_report_add(c->r, "CE-07-sector", SP_SEV_ERROR, where,
                      "carries both sector policies %s and %s; exactly one is allowed",
                      CC_OID_SP_PUBLIC, CC_OID_SP_PRIVATE);
    } else if (c->profile == SP_CERT_PROFILE_AUTO) {
        if (!c->sp_public && !c->sp_private)
            sp_report_add(c->r, "CE-07-sector", SP_SEV_ERROR, where,
                          "no sector policy: SPID wants %s (public SP) or %s (private SP)",
                          CC_OID_SP_PUBLIC, CC_OID_SP_PRIVATE);
    } else if (!have) {
        sp_report_add(c->r, "CE-07-sector", SP_SEV_ERROR, where, "%s; a %s SP needs policy %s (%s)",
                      other ? "carries the other sector's policy" : "no sector policy",
                      cc_profile_name(c->profile), want, want_text);
    } else if (!c->sector_text_ok) {
        sp_report_add(c->r, "CE-07-sector", SP_SEV_WARNING, where,
                      "policy %s has explicitText \"%s\", expected \"%s\"", want, c->sector_text,
                      want_text);
    }
}

/* ------------------------------------------------------------------------ */
/* CE-08: validity                                                          */
/* ------------------------------------------------------------------------ */

static void cc_validity(struct cc *c)
{
    time_t now = (time_t)c->now;
    ASN1_TIME *t = ASN1_TIME_set(NULL, now);
    const ASN1_TIME *nb = X509_get0_notBefore(c->x), *na = X509_get0_notAfter(c->x);
    int days = 0, secs = 0;

    sp_report_ran(c->r);
    sp_report_ran(c->r);
    if (t == NULL)
        goto out;
    if (nb == NULL || !ASN1_TIME_diff(&days, &secs, t, nb))
        sp_report_add(c->r, "CE-08-notbefore", SP_SEV_ERROR, "validity/notBefore",
                      "cannot be read");
    else if (days > 0 || secs > 0)
        sp_report_add(c->r, "CE-08-notbefore", SP_SEV_ERROR, "validity/notBefore",
                      "not valid yet: starts in %d days", days + (secs > 0));
    if (na == NULL || !ASN1_TIME_diff(&days, &secs, t, na))
        sp_report_add(c->r, "CE-08-expired", SP_SEV_ERROR, "validity/notAfter", "cannot be read");
    else if (days < 0 || secs < 0)
        sp_report_add(c->r, "CE-08-expired", SP_SEV_ERROR, "validity/notAfter",
                      "expired %d days ago", -days);
    else if (days < SP_CERTCHECK_EXPIRY_WARN_DAYS)
        sp_report_add(c->r, "CE-08-expired", SP_SEV_WARNING, "validity/notAfter",
                      "expires in %d days", days);
out:
    ASN1_TIME_free(t);
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                   */
/* ------------------------------------------------------------------------ */

/* AUTO: the sector policy decides, else the organizationIdentifier prefix. */
static enum sp_cert_profile cc_resolve_profile(struct cc *c)
{
    unsigned char *v = NULL;
    int len = -1;
    enum sp_cert_profile p = SP_CERT_PROFILE_AUTO;

    if (c->sp_public != c->sp_private)
        return c->sp_public ? SP_CERT_PROFILE_PUBLIC : SP_CERT_PROFILE_PRIVATE;
    if (cc_subject_value(c->x, CC_OID_ORGID, &v, &len) > 0 && len > 0) {
        if (cc_has_prefix(v, (size_t)len, "PA:IT-"))
            p = SP_CERT_PROFILE_PUBLIC;
        else if (cc_has_prefix(v, (size_t)len, "VATIT-") || cc_has_prefix(v, (size_t)len, "CF:IT-"))
            p = SP_CERT_PROFILE_PRIVATE;
    }
    OPENSSL_free(v);
    return p;
}

enum sp_err sp_certcheck_run(const char *data, size_t len, enum sp_cert_profile profile,
                             int64_t now, struct sp_report *out)
{
    struct cc c;
    enum sp_err rc = SP_ERR_INVALID;

    memset(&c, 0, sizeof(c));
    c.r = out;
    c.now = now;
    ERR_clear_error();
    if (len > SP_CERTCHECK_MAX_INPUT) {
        sp_report_ran(out);
        sp_report_add(out, "CERT-parse", SP_SEV_ERROR, "",
                      "%zu bytes: larger than any certificate (%d bytes at most)", len,
                      SP_CERTCHECK_MAX_INPUT);
        goto out;
    }
    c.x = cc_parse(data, len);
    sp_report_ran(out);
    if (c.x == NULL) {
        sp_report_add(out, "CERT-parse", SP_SEV_ERROR, "",
                      "no X.509 certificate in PEM or DER form");
        goto out;
    }
    cc_version(&c);
    cc_policies(&c); /* first: AUTO reads the sector from it */
    c.profile = profile != SP_CERT_PROFILE_AUTO ? profile : cc_resolve_profile(&c);
    for (size_t i = 0; i < sizeof(cc_required_attrs) / sizeof(cc_required_attrs[0]); i++)
        cc_required_one(&c, &cc_required_attrs[i]);
    for (size_t i = 0; i < sizeof(cc_forbidden_attrs) / sizeof(cc_forbidden_attrs[0]); i++)
        cc_forbidden_one(&c, &cc_forbidden_attrs[i]);
    cc_orgid(&c);
    cc_key(&c);
    cc_signature(&c);
    cc_basic_constraints(&c);
    cc_key_usage(&c);
    cc_agidcert(&c);
    cc_sector(&c);
    cc_validity(&c);
    rc = SP_OK;
out:
    X509_free(c.x);
    ERR_clear_error();
    return rc;
}
