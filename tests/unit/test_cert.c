/*
 * test_cert: the SPID SP certificate profile (spec §8, CE-01..CE-08) checked
 * with OpenSSL on certificates that sp_cert_generate() writes into a temporary
 * directory, plus the refusals of sp_cert_load_pair().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp_test_configs.h"

/* The PKCS#8 PEM label, split so that no line of this file looks like key material. */
#define PEM_KEY_LABEL                                                                              \
    "PRIVATE"                                                                                      \
    " KEY"

#define DAY_MS (86400LL * 1000)

struct fixture {
    char dir[64];
    struct sp_config *pub, *priv, *priv_cf;
    char pub_key[128], pub_crt[128], priv_key[128], priv_crt[128];
    X509 *pub_x, *priv_x;
    EVP_PKEY *pub_k, *priv_k;
};

/* ---- helpers ---- */

static void path_in(char *out, size_t n, const struct fixture *f, const char *name)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static struct sp_config *load_ini(const struct fixture *f, const char *name, const char *text)
{
    char path[128];
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    path_in(path, sizeof(path), f, name);
    assert_int_equal(sp_file_write_atomic(path, text, strlen(text), 0600), SP_OK);
    sp_buf_init(&err, 4096);
    if (sp_config_load(path, &cfg, &err) != SP_OK)
        fail_msg("config %s: %s", name, sp_buf_str(&err));
    sp_buf_cleanup(&err);
    return cfg;
}

static X509 *read_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    X509 *x;
    assert_non_null(fp);
    x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *fp = fopen(path, "r");
    EVP_PKEY *k;
    assert_non_null(fp);
    k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    return k;
}

static void generate(const struct sp_config *cfg, unsigned bits, const char *key, const char *crt)
{
    struct sp_buf err;
    enum sp_err rc;

    sp_buf_init(&err, 4096);
    rc = sp_cert_generate(cfg, bits, 0, key, crt, &err);
    if (rc != SP_OK)
        fail_msg("sp_cert_generate: %s: %s", sp_errname(rc), sp_buf_str(&err));
    sp_buf_cleanup(&err);
}

/* Text of the only subject entry with that OID; NULL if absent; fails if repeated. */
static const char *subject_text(X509 *x, const char *oid, int *type)
{
    X509_NAME *name = X509_get_subject_name(x);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i = X509_NAME_get_index_by_OBJ(name, obj, -1);
    const ASN1_STRING *s;

    if (i >= 0)
        assert_int_equal(X509_NAME_get_index_by_OBJ(name, obj, i), -1);
    ASN1_OBJECT_free(obj);
    if (i < 0)
        return NULL;
    s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    if (type != NULL)
        *type = ASN1_STRING_type(s);
    return (const char *)ASN1_STRING_get0_data(s);
}

static void assert_subject(X509 *x, const char *oid, const char *want)
{
    const char *got = subject_text(x, oid, NULL);
    if (got == NULL)
        fail_msg("subject %s missing, want \"%s\"", oid, want);
    assert_string_equal(got, want);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s/sp-cert-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->pub = load_ini(f, "public.ini", public_ini);
    f->priv = load_ini(f, "private.ini", private_ini);
    f->priv_cf = load_ini(f, "private-cf.ini", private_cf_ini);
    path_in(f->pub_key, sizeof(f->pub_key), f, "pub-key.pem");
    path_in(f->pub_crt, sizeof(f->pub_crt), f, "pub-cert.pem");
    path_in(f->priv_key, sizeof(f->priv_key), f, "priv-key.pem");
    path_in(f->priv_crt, sizeof(f->priv_crt), f, "priv-cert.pem");
    generate(f->pub, 0, f->pub_key, f->pub_crt); /* default size */
    generate(f->priv, 2048, f->priv_key, f->priv_crt);
    f->pub_x = read_cert(f->pub_crt);
    f->priv_x = read_cert(f->priv_crt);
    f->pub_k = read_key(f->pub_key);
    f->priv_k = read_key(f->priv_key);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sp_clock_set_offset_ms(0);
    X509_free(f->pub_x);
    X509_free(f->priv_x);
    EVP_PKEY_free(f->pub_k);
    EVP_PKEY_free(f->priv_k);
    sp_config_free(&f->pub);
    sp_config_free(&f->priv);
    sp_config_free(&f->priv_cf);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* ---- CE-01: X.509 v3, self-signed, positive random serial ---- */

static void test_ce01_v3_self_signed(void **state)
{
    struct fixture *f = *state;
    X509 *xs[] = {f->pub_x, f->priv_x};

    for (size_t i = 0; i < 2; i++) {
        const ASN1_INTEGER *serial = X509_get0_serialNumber(xs[i]);
        BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
        assert_int_equal(X509_get_version(xs[i]), X509_VERSION_3);
        assert_int_equal(X509_NAME_cmp(X509_get_subject_name(xs[i]), X509_get_issuer_name(xs[i])),
                         0);
        assert_int_equal(X509_verify(xs[i], X509_get0_pubkey(xs[i])), 1);
        assert_false(BN_is_negative(bn));
        assert_true(BN_num_bits(bn) > 64); /* random, not a counter */
        assert_true(BN_num_bytes(bn) <= 20);
        BN_free(bn);
    }
    /* two certificates, two serials */
    assert_int_not_equal(
        ASN1_INTEGER_cmp(X509_get0_serialNumber(f->pub_x), X509_get0_serialNumber(f->priv_x)), 0);
}

/* ---- CE-02: the six subject attributes, UTF-8 with accents ---- */

static void test_ce02_subject_public(void **state)
{
    struct fixture *f = *state;
    int type = 0;

    assert_subject(f->pub_x, "2.5.4.3", "Città di Castello");
    assert_subject(f->pub_x, "2.5.4.10", "Comune di Città di Castello");
    assert_subject(f->pub_x, "2.5.4.83", "https://sp.comune.example.it/metadata");
    assert_subject(f->pub_x, "2.5.4.97", "PA:IT-c_c745");
    assert_subject(f->pub_x, "2.5.4.6", "IT");
    assert_subject(f->pub_x, "2.5.4.7", "Città di Castello");
    subject_text(f->pub_x, "2.5.4.10", &type);
    assert_int_equal(type, V_ASN1_UTF8STRING);
    subject_text(f->pub_x, "2.5.4.6", &type);
    assert_int_equal(type, V_ASN1_PRINTABLESTRING);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(f->pub_x)), 6);
}

static void test_ce02_subject_private(void **state)
{
    struct fixture *f = *state;

    assert_subject(f->priv_x, "2.5.4.3", "Esempio S.p.A.");
    assert_subject(f->priv_x, "2.5.4.10", "Esempio Società per Azioni");
    assert_subject(f->priv_x, "2.5.4.83", "https://sp.example.com/spid");
    assert_subject(f->priv_x, "2.5.4.6", "IT");
    assert_subject(f->priv_x, "2.5.4.7", "Forlì");
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(f->priv_x)), 6);
}

/* ---- CE-03: nothing personal in the subject ---- */

static void test_ce03_no_personal_fields(void **state)
{
    struct fixture *f = *state;
    static const char *const banned[] = {"2.5.4.41", "2.5.4.4",  "2.5.4.42",
                                         "2.5.4.43", "2.5.4.65", "1.2.840.113549.1.9.1"};
    X509 *xs[] = {f->pub_x, f->priv_x};

    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < sizeof(banned) / sizeof(banned[0]); j++)
            if (subject_text(xs[i], banned[j], NULL) != NULL)
                fail_msg("subject carries %s", banned[j]);
}

/* ---- CE-04: organizationIdentifier ---- */

static void test_ce04_org_identifier(void **state)
{
    struct fixture *f = *state;
    struct sp_buf b, err;
    struct sp_config c;

    sp_buf_init(&b, 256);
    sp_buf_init(&err, 1024);
    assert_subject(f->pub_x, "2.5.4.97", "PA:IT-c_c745");
    assert_subject(f->priv_x, "2.5.4.97", "VATIT-12345678901");

    assert_int_equal(sp_cert_org_identifier(f->priv_cf, &b, &err), SP_OK);
    assert_string_equal(sp_buf_str(&b), "CF:IT-RSSMRA80A01H501U");

    /* a VAT number without the IT prefix is accepted as is */
    c = *f->priv;
    c.vat_number = "12345678901";
    sp_buf_reset(&b);
    assert_int_equal(sp_cert_org_identifier(&c, &b, &err), SP_OK);
    assert_string_equal(sp_buf_str(&b), "VATIT-12345678901");

    /* refusals: short VAT, IPA code with a space or too long, bad fiscal code */
    c.vat_number = "IT1234";
    assert_int_equal(sp_cert_org_identifier(&c, &b, &err), SP_ERR_CONFIG);
    c = *f->pub;
    c.ipa_code = "c h501";
    assert_int_equal(sp_cert_org_identifier(&c, &b, &err), SP_ERR_CONFIG);
    c.ipa_code = "abcdefghijklmnopq";
    assert_int_equal(sp_cert_org_identifier(&c, &b, &err), SP_ERR_CONFIG);
    c = *f->priv_cf;
    c.fiscal_code = "RSS-MRA80A01H501";
    assert_int_equal(sp_cert_org_identifier(&c, &b, &err), SP_ERR_CONFIG);
    c.fiscal_code = NULL;
    assert_int_equal(sp_cert_org_identifier(&c, &b, &err), SP_ERR_CONFIG);
    assert_true(err.len > 0);
    sp_buf_cleanup(&b);
    sp_buf_cleanup(&err);
}

/* ---- CE-05: RSA sizes ---- */

static void test_ce05_default_3072(void **state)
{
    struct fixture *f = *state;

    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(f->pub_x), "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(f->pub_x)), 3072);
    assert_int_equal(SP_CERT_DEFAULT_BITS, 3072);
}

static void test_ce05_2048_accepted(void **state)
{
    struct fixture *f = *state;

    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(f->priv_x), "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(f->priv_x)), 2048);
}

static void test_ce05_other_sizes_refused(void **state)
{
    struct fixture *f = *state;
    static const unsigned bad[] = {1024, 1000, 2047, 2049, 8192};
    char key[128], crt[128];
    struct sp_buf err;

    path_in(key, sizeof(key), f, "bad-key.pem");
    path_in(crt, sizeof(crt), f, "bad-cert.pem");
    sp_buf_init(&err, 4096);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_buf_reset(&err);
        assert_int_equal(sp_cert_generate(f->pub, bad[i], 0, key, crt, &err), SP_ERR_CONFIG);
        assert_non_null(strstr(sp_buf_str(&err), "2048, 3072 or 4096"));
        assert_int_equal(sp_file_exists(key), SP_ERR_NOT_FOUND);
        assert_int_equal(sp_file_exists(crt), SP_ERR_NOT_FOUND);
    }
    /* validity longer than the bound, and a subject that does not fit, are refused too */
    assert_int_equal(sp_cert_generate(f->pub, 2048, SP_CERT_MAX_DAYS + 1, key, crt, &err),
                     SP_ERR_CONFIG);
    {
        struct sp_config c = *f->pub;
        c.org_country = "Italia";
        assert_int_equal(sp_cert_generate(&c, 2048, 0, key, crt, &err), SP_ERR_CONFIG);
    }
    assert_int_equal(sp_file_exists(key), SP_ERR_NOT_FOUND);
    sp_buf_cleanup(&err);
}

/* ---- CE-06: SHA-256 ---- */

static void test_ce06_sha256_rsa(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(X509_get_signature_nid(f->pub_x), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_get_signature_nid(f->priv_x), NID_sha256WithRSAEncryption);
}

/* ---- CE-07: extensions ---- */

static void assert_ext_critical(X509 *x, int nid, int critical)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    if (i < 0)
        fail_msg("extension %s missing", OBJ_nid2sn(nid));
    assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, i)), critical);
    assert_int_equal(X509_get_ext_by_NID(x, nid, i), -1); /* only once */
}

static void test_ce07_basic_constraints(void **state)
{
    struct fixture *f = *state;
    X509 *xs[] = {f->pub_x, f->priv_x};

    for (size_t i = 0; i < 2; i++) {
        int crit = -1;
        BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(xs[i], NID_basic_constraints, &crit, NULL);
        assert_non_null(bc);
        assert_int_equal(crit, 0);
        assert_false(bc->ca);
        assert_null(bc->pathlen);
        BASIC_CONSTRAINTS_free(bc);
        assert_ext_critical(xs[i], NID_basic_constraints, 0);
        assert_int_equal(X509_check_ca(xs[i]), 0);
    }
}

static void test_ce07_key_usage(void **state)
{
    struct fixture *f = *state;
    X509 *xs[] = {f->pub_x, f->priv_x};

    for (size_t i = 0; i < 2; i++) {
        assert_ext_critical(xs[i], NID_key_usage, 1);
        /* exactly these two bits: no encipherment, agreement, certSign or cRLSign */
        assert_int_equal(X509_get_key_usage(xs[i]), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
        assert_int_equal(X509_get_extension_flags(xs[i]) & EXFLAG_XKUSAGE, 0);
    }
}

static void assert_policies(X509 *x, const char *sector_oid, const char *sector_text)
{
    const char *oids[] = {"1.3.76.16.6", sector_oid};
    const char *texts[] = {"agIDcert", sector_text};
    int crit = -1;
    CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
    char buf[64];

    assert_non_null(pols);
    assert_int_equal(crit, 0);
    assert_int_equal(sk_POLICYINFO_num(pols), 2);
    for (int i = 0; i < 2; i++) {
        POLICYINFO *pi = sk_POLICYINFO_value(pols, i);
        POLICYQUALINFO *q;
        OBJ_obj2txt(buf, sizeof(buf), pi->policyid, 1);
        assert_string_equal(buf, oids[i]);
        assert_int_equal(sk_POLICYQUALINFO_num(pi->qualifiers), 1);
        q = sk_POLICYQUALINFO_value(pi->qualifiers, 0);
        assert_int_equal(OBJ_obj2nid(q->pqualid), NID_id_qt_unotice);
        assert_non_null(q->d.usernotice->exptext);
        assert_int_equal(ASN1_STRING_type(q->d.usernotice->exptext), V_ASN1_UTF8STRING);
        assert_string_equal((const char *)ASN1_STRING_get0_data(q->d.usernotice->exptext),
                            texts[i]);
    }
    CERTIFICATEPOLICIES_free(pols);
}

static void test_ce07_policies_public(void **state)
{
    struct fixture *f = *state;
    assert_policies(f->pub_x, "1.3.76.16.4.2.1", "cert_SP_Pub");
}

static void test_ce07_policies_private(void **state)
{
    struct fixture *f = *state;
    assert_policies(f->priv_x, "1.3.76.16.4.3.1", "cert_SP_Priv");
}

static void test_ce07_subject_key_identifier(void **state)
{
    struct fixture *f = *state;

    assert_ext_critical(f->pub_x, NID_subject_key_identifier, 0);
    assert_non_null(X509_get0_subject_key_id(f->pub_x));
    /* nothing beyond the profile */
    assert_int_equal(X509_get_ext_count(f->pub_x), 4);
}

/* ---- CE-08: validity ---- */

static void test_ce08_validity_and_days_left(void **state)
{
    struct fixture *f = *state;
    struct sp_buf pem;
    int days = 0, secs = 0;
    long left = 0;

    assert_int_equal(
        ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(f->pub_x), X509_get0_notAfter(f->pub_x)),
        1);
    assert_int_equal(days, SP_CERT_DEFAULT_DAYS);
    assert_int_equal(secs, 0);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(f->pub_x)) <= 0);

    sp_buf_init(&pem, SP_CERT_MAX_PEM_BYTES);
    assert_int_equal(sp_file_read(f->pub_crt, &pem), SP_OK);
    assert_int_equal(sp_cert_days_left(sp_buf_str(&pem), &left), SP_OK);
    assert_true(left == SP_CERT_DEFAULT_DAYS || left == SP_CERT_DEFAULT_DAYS - 1);
    sp_clock_set_offset_ms((SP_CERT_DEFAULT_DAYS + 2) * DAY_MS);
    assert_int_equal(sp_cert_days_left(sp_buf_str(&pem), &left), SP_OK);
    assert_true(left == -2 || left == -3);
    sp_clock_set_offset_ms(0);
    assert_int_equal(sp_cert_days_left("not a certificate", &left), SP_ERR_CRYPTO);
    sp_buf_cleanup(&pem);
}

/* ---- files ---- */

static void test_key_file_mode_and_format(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    struct sp_buf pem;

    assert_int_equal(stat(f->pub_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(f->priv_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(f->pub_crt, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    sp_buf_init(&pem, SP_CERT_MAX_PEM_BYTES);
    assert_int_equal(sp_file_read(f->pub_key, &pem), SP_OK);
    /* PKCS#8, not the traditional RSA-specific label */
    assert_true(strncmp(sp_buf_str(&pem), "-----BEGIN " PEM_KEY_LABEL "-----\n", 28) == 0);
    sp_buf_cleanup_secret(&pem);
    assert_int_equal(X509_check_private_key(f->pub_x, f->pub_k), 1);
}

static void test_der_base64(void **state)
{
    struct fixture *f = *state;
    struct sp_buf pem, b64, der;
    unsigned char *want = NULL;
    int n = i2d_X509(f->pub_x, &want);

    sp_buf_init(&pem, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&b64, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&der, SP_CERT_MAX_PEM_BYTES);
    assert_int_equal(sp_file_read(f->pub_crt, &pem), SP_OK);
    assert_int_equal(sp_cert_der_base64(sp_buf_str(&pem), &b64), SP_OK);
    assert_null(strchr(sp_buf_str(&b64), '\n'));
    assert_null(strchr(sp_buf_str(&b64), '-'));
    assert_int_equal(sp_b64_decode(&der, b64.data, b64.len), SP_OK);
    assert_int_equal(der.len, (size_t)n);
    assert_memory_equal(der.data, want, (size_t)n);
    assert_int_equal(sp_cert_der_base64("garbage", &b64), SP_ERR_CRYPTO);
    OPENSSL_free(want);
    sp_buf_cleanup(&pem);
    sp_buf_cleanup(&b64);
    sp_buf_cleanup(&der);
}

/* ---- MD-02 / MD-73: certificate subject against the configuration ---- */

static void test_check_config(void **state)
{
    struct fixture *f = *state;
    struct sp_buf pem, err;
    struct sp_config c;

    sp_buf_init(&pem, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_file_read(f->pub_crt, &pem), SP_OK);
    assert_int_equal(sp_cert_check_config(sp_buf_str(&pem), f->pub, &err), SP_OK);
    assert_int_equal(err.len, 0);
    /* every mismatch is reported */
    assert_int_equal(sp_cert_check_config(sp_buf_str(&pem), f->priv, &err), SP_ERR_CONFIG);
    assert_non_null(strstr(sp_buf_str(&err), "uri"));
    assert_non_null(strstr(sp_buf_str(&err), "organizationName"));
    assert_non_null(strstr(sp_buf_str(&err), "commonName"));
    sp_buf_reset(&err);
    c = *f->pub;
    c.org_display_name = "Citta di Castello"; /* accents matter */
    assert_int_equal(sp_cert_check_config(sp_buf_str(&pem), &c, &err), SP_ERR_CONFIG);
    assert_non_null(strstr(sp_buf_str(&err), "commonName"));
    assert_null(strstr(sp_buf_str(&err), "uri"));
    assert_int_equal(sp_cert_check_config("junk", f->pub, &err), SP_ERR_CRYPTO);
    sp_buf_cleanup(&pem);
    sp_buf_cleanup(&err);
}

/* ---- sp_cert_load_pair ---- */

static void test_load_pair_ok(void **state)
{
    struct fixture *f = *state;
    struct sp_buf key, crt, err;

    sp_buf_init(&key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&crt, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_cert_load_pair(f->pub_key, f->pub_crt, &key, &crt, &err), SP_OK);
    assert_non_null(strstr(sp_buf_str(&key), "BEGIN " PEM_KEY_LABEL));
    assert_non_null(strstr(sp_buf_str(&crt), "BEGIN CERTIFICATE"));
    /* an expired certificate is only a warning */
    sp_clock_set_offset_ms((SP_CERT_DEFAULT_DAYS + 10) * DAY_MS);
    assert_int_equal(sp_cert_load_pair(f->pub_key, f->pub_crt, &key, &crt, &err), SP_OK);
    sp_clock_set_offset_ms(0);
    assert_int_equal(err.len, 0);
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&crt);
    sp_buf_cleanup(&err);
}

static void test_load_pair_refuses_group_readable_key(void **state)
{
    struct fixture *f = *state;
    struct sp_buf key, crt, err;
    char path[128];

    path_in(path, sizeof(path), f, "loose-key.pem");
    sp_buf_init(&key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&crt, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_file_read(f->pub_key, &key), SP_OK);
    assert_int_equal(sp_file_write_atomic(path, key.data, key.len, 0640), SP_OK);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(sp_cert_load_pair(path, f->pub_crt, &key, &crt, &err), SP_ERR_PERM);
    assert_true(err.len > 0);
    assert_int_equal(key.len, 0); /* nothing handed back */
    assert_int_equal(crt.len, 0);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(sp_cert_load_pair(path, f->pub_crt, &key, &crt, &err), SP_ERR_PERM);
    unlink(path);
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&crt);
    sp_buf_cleanup(&err);
}

static void test_load_pair_refuses_mismatch(void **state)
{
    struct fixture *f = *state;
    struct sp_buf key, crt, err;

    sp_buf_init(&key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&crt, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_cert_load_pair(f->pub_key, f->priv_crt, &key, &crt, &err), SP_ERR_CRYPTO);
    assert_non_null(strstr(sp_buf_str(&err), "does not belong"));
    assert_int_equal(key.len, 0);
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&crt);
    sp_buf_cleanup(&err);
}

static void test_load_pair_refuses_small_or_missing(void **state)
{
    struct fixture *f = *state;
    struct sp_buf key, crt, err;
    EVP_PKEY *small = EVP_RSA_gen(1024);
    BIO *bio = BIO_new(BIO_s_mem());
    char path[128], *data = NULL;
    long n;

    path_in(path, sizeof(path), f, "small-key.pem");
    assert_non_null(small);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &data);
    assert_int_equal(sp_file_write_atomic(path, data, (size_t)n, 0600), SP_OK);
    sp_buf_init(&key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&crt, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_cert_load_pair(path, f->pub_crt, &key, &crt, &err), SP_ERR_CRYPTO);
    assert_non_null(strstr(sp_buf_str(&err), "at least 2048"));
    sp_buf_reset(&err);
    /* missing files and a certificate that is not PEM */
    assert_int_not_equal(sp_cert_load_pair("/nonexistent/key.pem", f->pub_crt, &key, &crt, &err),
                         SP_OK);
    assert_int_not_equal(sp_cert_load_pair(f->pub_key, "/nonexistent/c.pem", &key, &crt, &err),
                         SP_OK);
    assert_int_equal(sp_cert_load_pair(f->pub_key, f->pub_key, &key, &crt, &err), SP_ERR_CRYPTO);
    unlink(path);
    BIO_free(bio);
    EVP_PKEY_free(small);
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&crt);
    sp_buf_cleanup(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ce01_v3_self_signed),
        cmocka_unit_test(test_ce02_subject_public),
        cmocka_unit_test(test_ce02_subject_private),
        cmocka_unit_test(test_ce03_no_personal_fields),
        cmocka_unit_test(test_ce04_org_identifier),
        cmocka_unit_test(test_ce05_default_3072),
        cmocka_unit_test(test_ce05_2048_accepted),
        cmocka_unit_test(test_ce05_other_sizes_refused),
        cmocka_unit_test(test_ce06_sha256_rsa),
        cmocka_unit_test(test_ce07_basic_constraints),
        cmocka_unit_test(test_ce07_key_usage),
        cmocka_unit_test(test_ce07_policies_public),
        cmocka_unit_test(test_ce07_policies_private),
        cmocka_unit_test(test_ce07_subject_key_identifier),
        cmocka_unit_test(test_ce08_validity_and_days_left),
        cmocka_unit_test(test_key_file_mode_and_format),
        cmocka_unit_test(test_der_base64),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_load_pair_ok),
        cmocka_unit_test(test_load_pair_refuses_group_readable_key),
        cmocka_unit_test(test_load_pair_refuses_mismatch),
        cmocka_unit_test(test_load_pair_refuses_small_or_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
