/*
 * test_saml_login: the AuthnRequest against every AR- rule of spec §2, for
 * both bindings: exact Redirect encoding and signed octets, POST enveloped
 * signature placement and verification, and the SPID fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <zlib.h>

#include "sp/b64.h"
#include "sp/clock.h"
#include "sp/saml_login.h"
#include "sp/str.h"
#include "sp_test_env.h"

#define RELAY "0123456789abcdef0123456789abcdef"

static struct test_env env;

struct qparam {
    char name[32];
    char raw[8192];
    struct sp_buf value;
};

static int setup(void **state)
{
    (void)state;
    test_env_init(&env, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_cleanup(&env);
    return 0;
}

static struct sp_authn_request build(enum sp_binding binding, unsigned level, const char *purpose)
{
    struct sp_authn_params p;
    struct sp_authn_request ar;
    memset(&p, 0, sizeof(p));
    p.idp = TEST_IDP_ENTITY;
    p.level = level;
    p.purpose = purpose;
    p.attr_index = 0;
    p.relay_state = RELAY;
    p.binding = binding;
    assert_int_equal(sp_saml_login_build(env.idps, env.cfg, &p, &ar), SP_OK);
    return ar;
}

/* Split the query into ordered parameters (raw and decoded). */
static unsigned split_query(const char *q, struct qparam *out, unsigned max)
{
    unsigned n = 0;
    while (*q && n < max) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        assert_non_null(eq);
        snprintf(out[n].name, sizeof(out[n].name), "%.*s", (int)(eq - q), q);
        snprintf(out[n].raw, sizeof(out[n].raw), "%.*s", (int)(end - eq - 1), eq + 1);
        sp_buf_init(&out[n].value, 1 << 20);
        assert_int_equal(sp_url_decode(&out[n].value, out[n].raw, strlen(out[n].raw)), SP_OK);
        n++;
        q = amp ? amp + 1 : end;
    }
    return n;
}

static xmlDoc *inflate_request(const char *b64)
{
    struct sp_buf raw, xml;
    z_stream z;
    unsigned char chunk[4096];
    int r;
    xmlDoc *doc;

    sp_buf_init(&raw, 1 << 20);
    sp_buf_init(&xml, 1 << 20);
    assert_int_equal(sp_b64_decode(&raw, b64, strlen(b64)), SP_OK);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, -15), Z_OK); /* raw DEFLATE, no zlib header (AR-41) */
    z.next_in = (unsigned char *)raw.data;
    z.avail_in = (unsigned)raw.len;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        r = inflate(&z, Z_NO_FLUSH);
        assert_true(r == Z_OK || r == Z_STREAM_END);
        sp_buf_add(&xml, chunk, sizeof(chunk) - z.avail_out);
    } while (r != Z_STREAM_END);
    inflateEnd(&z);
    doc = xmlReadMemory(xml.data, (int)xml.len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    sp_buf_cleanup(&raw);
    sp_buf_cleanup(&xml);
    return doc;
}

static xmlXPathContext *xpath(xmlDoc *doc)
{
    xmlXPathContext *x = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(x, BAD_CAST "samlp", BAD_CAST "urn:oasis:names:tc:SAML:2.0:protocol");
    xmlXPathRegisterNs(x, BAD_CAST "saml", BAD_CAST "urn:oasis:names:tc:SAML:2.0:assertion");
    xmlXPathRegisterNs(x, BAD_CAST "ds", BAD_CAST "http://www.w3.org/2000/09/xmldsig#");
    xmlXPathRegisterNs(x, BAD_CAST "spid", BAD_CAST "https://spid.gov.it/saml-extensions");
    return x;
}

/* String value of an XPath expression ("" when nothing matches). */
static char *xstr(xmlXPathContext *x, const char *expr)
{
    char q[512];
    xmlXPathObject *o;
    char *r;
    snprintf(q, sizeof(q), "string(%s)", expr);
    o = xmlXPathEvalExpression(BAD_CAST q, x);
    assert_non_null(o);
    r = strdup(o->stringval ? (const char *)o->stringval : "");
    xmlXPathFreeObject(o);
    return r;
}

static double xnum(xmlXPathContext *x, const char *expr)
{
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, x);
    double v;
    assert_non_null(o);
    v = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return v;
}

static void assert_xstr(xmlXPathContext *x, const char *expr, const char *want)
{
    char *got = xstr(x, expr);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", expr, got, want);
    free(got);
}

/* The SPID fields shared by both bindings (AR-01..AR-17). */
static void check_request_fields(xmlXPathContext *x, const struct sp_authn_request *ar,
                                 unsigned level)
{
    char lv[64], *instant;
    int64_t ms;

    assert_xstr(x, "/samlp:AuthnRequest/@ID", ar->id); /* AR-01 */
    assert_true(ar->id[0] == '_' && strlen(ar->id) == SP_RAND_ID_LEN);
    assert_xstr(x, "/samlp:AuthnRequest/@Version", "2.0");  /* AR-02 */
    instant = xstr(x, "/samlp:AuthnRequest/@IssueInstant"); /* AR-03 */
    assert_int_equal(sp_time_parse(instant, &ms), SP_OK);
    assert_true(instant[strlen(instant) - 1] == 'Z');
    assert_int_equal(ms, ar->issue_instant_ms);
    free(instant);
    assert_xstr(x, "/samlp:AuthnRequest/@Destination", TEST_IDP_SSO); /* AR-04 */
    if (level >= 2)                                                   /* AR-05 */
        assert_xstr(x, "/samlp:AuthnRequest/@ForceAuthn", "true");
    else
        assert_true(xnum(x, "count(/samlp:AuthnRequest[@ForceAuthn='false'])") == 0);
    assert_true(xnum(x, "count(/samlp:AuthnRequest/@IsPassive)") == 0);        /* AR-06 */
    assert_xstr(x, "/samlp:AuthnRequest/@AssertionConsumerServiceIndex", "0"); /* AR-07 */
    assert_true(xnum(x, "count(/samlp:AuthnRequest/@AssertionConsumerServiceURL)") == 0);
    assert_true(xnum(x, "count(/samlp:AuthnRequest/@ProtocolBinding)") == 0);   /* AR-08 */
    assert_xstr(x, "/samlp:AuthnRequest/@AttributeConsumingServiceIndex", "0"); /* AR-09 */
    assert_xstr(x, "/samlp:AuthnRequest/saml:Issuer", env.cfg->entity_id);      /* AR-10 */
    assert_xstr(x, "/samlp:AuthnRequest/saml:Issuer/@Format",
                "urn:oasis:names:tc:SAML:2.0:nameid-format:entity");
    assert_xstr(x, "/samlp:AuthnRequest/saml:Issuer/@NameQualifier", env.cfg->entity_id);
    assert_true(xnum(x, "count(/samlp:AuthnRequest/saml:Subject)") == 0); /* AR-13 */
    assert_xstr(x, "/samlp:AuthnRequest/samlp:NameIDPolicy/@Format",      /* AR-14 */
                "urn:oasis:names:tc:SAML:2.0:nameid-format:transient");
    assert_true(xnum(x, "count(//samlp:NameIDPolicy/@AllowCreate)") == 0);
    assert_true(xnum(x, "count(/samlp:AuthnRequest/samlp:RequestedAuthnContext)") == 1);
    assert_xstr(x, "/samlp:AuthnRequest/samlp:RequestedAuthnContext/@Comparison", "minimum");
    assert_true(xnum(x, "count(//samlp:RequestedAuthnContext/saml:AuthnContextClassRef)") == 1);
    snprintf(lv, sizeof(lv), "https://www.spid.gov.it/SpidL%u", level); /* AR-16 */
    assert_xstr(x, "//samlp:RequestedAuthnContext/saml:AuthnContextClassRef", lv);
    assert_true(xnum(x, "count(//samlp:Scoping)") == 0); /* AR-17 */
}

static void verify_query_signature(const char *octets, size_t n, const unsigned char *sig,
                                   size_t siglen)
{
    BIO *bio = BIO_new_mem_buf(sp_buf_str(&env.cert), -1);
    X509 *x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    EVP_PKEY *pub = X509_get_pubkey(x509);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, siglen, (const unsigned char *)octets, n), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    X509_free(x509);
    BIO_free(bio);
}

static void check_redirect(unsigned level)
{
    struct sp_authn_request ar = build(SP_BINDING_REDIRECT, level, NULL);
    struct qparam q[8];
    const char *qs;
    unsigned n;
    struct sp_buf octets, reenc, sig;
    xmlDoc *doc;
    xmlXPathContext *x;

    assert_false(ar.post);
    assert_true(sp_str_has_prefix(ar.url, TEST_IDP_SSO "?")); /* AR-40 */
    qs = ar.url + strlen(TEST_IDP_SSO "?");
    n = split_query(qs, q, 8);
    /* AR-42/43: exactly these parameters in this order, Signature last */
    assert_int_equal(n, 4);
    assert_string_equal(q[0].name, "SAMLRequest");
    assert_string_equal(q[1].name, "RelayState");
    assert_string_equal(q[2].name, "SigAlg");
    assert_string_equal(q[3].name, "Signature");
    /* AR-18: opaque RelayState, no URL, within 80 bytes */
    assert_string_equal(sp_buf_str(&q[1].value), RELAY);
    assert_null(strstr(sp_buf_str(&q[1].value), "http"));
    assert_true(q[1].value.len <= 80);
    assert_string_equal(sp_buf_str(&q[2].value),
                        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    /* AR-44: every value encoded exactly as Python quote_plus would */
    for (unsigned i = 0; i < n; i++) {
        sp_buf_init(&reenc, 1 << 20);
        sp_url_encode(&reenc, q[i].value.data, q[i].value.len);
        if (strcmp(sp_buf_str(&reenc), q[i].raw) != 0)
            fail_msg("%s not encoded as quote_plus: %s vs %s", q[i].name, q[i].raw,
                     sp_buf_str(&reenc));
        sp_buf_cleanup(&reenc);
    }
    /* AR-42, AR-20, AR-21: RSA-SHA256 over the exact octets, with the metadata key */
    sp_buf_init(&octets, 1 << 20);
    sp_buf_addf(&octets, "SAMLRequest=%s&RelayState=%s&SigAlg=%s", q[0].raw, q[1].raw, q[2].raw);
    sp_buf_init(&sig, 4096);
    assert_int_equal(sp_b64_decode(&sig, q[3].value.data, q[3].value.len), SP_OK);
    verify_query_signature(octets.data, octets.len, (unsigned char *)sig.data, sig.len);
    /* AR-41: raw DEFLATE of the unsigned XML: no ds:Signature inside (AR-11) */
    doc = inflate_request(sp_buf_str(&q[0].value));
    x = xpath(doc);
    assert_true(xnum(x, "count(//ds:Signature)") == 0);
    check_request_fields(x, &ar, level);
    xmlXPathFreeContext(x);
    xmlFreeDoc(doc);
    sp_buf_cleanup(&octets);
    sp_buf_cleanup(&sig);
    for (unsigned i = 0; i < n; i++)
        sp_buf_cleanup(&q[i].value);
    sp_authn_request_cleanup(&ar);
}

static void test_redirect_level2(void **state)
{
    (void)state;
    check_redirect(2);
}

static void test_redirect_level1(void **state)
{
    (void)state;
    check_redirect(1);
}

static void test_redirect_level3(void **state)
{
    (void)state;
    check_redirect(3);
}

/* AR-31: enveloped signature right after Issuer, verified with the metadata certificate. */
static void test_post_binding(void **state)
{
    struct sp_authn_request ar = build(SP_BINDING_POST, 2, NULL);
    struct sp_buf raw, certb64;
    xmlDoc *doc;
    xmlXPathContext *x;
    xmlNode *root, *sig;
    xmlSecDSigCtx *ctx;
    xmlAttr *idattr;
    (void)state;

    assert_true(ar.post);
    assert_string_equal(ar.url, TEST_IDP_SSO);
    assert_non_null(ar.saml_request);
    assert_null(strchr(ar.saml_request, '\n')); /* safe in a hidden input */
    sp_buf_init(&raw, 1 << 20);
    assert_int_equal(sp_b64_decode(&raw, ar.saml_request, strlen(ar.saml_request)), SP_OK);
    doc = xmlReadMemory(raw.data, (int)raw.len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    x = xpath(doc);
    check_request_fields(x, &ar, 2);
    assert_true(xnum(x, "count(/samlp:AuthnRequest/ds:Signature)") == 1);
    assert_true(
        xnum(
            x,
            "count(/samlp:AuthnRequest/saml:Issuer/following-sibling::*[1][self::ds:Signature])") ==
        1);
    assert_xstr(x, "//ds:Signature/ds:SignedInfo/ds:SignatureMethod/@Algorithm",
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    assert_xstr(x, "//ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod/@Algorithm",
                "http://www.w3.org/2001/04/xmlenc#sha256");
    assert_xstr(x, "//ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm",
                "http://www.w3.org/2001/10/xml-exc-c14n#");
    {
        char want[64];
        snprintf(want, sizeof(want), "#%s", ar.id);
        assert_xstr(x, "//ds:Signature/ds:SignedInfo/ds:Reference/@URI", want);
    }
    assert_xstr(x, "//ds:Reference/ds:Transforms/ds:Transform[1]/@Algorithm",
                "http://www.w3.org/2000/09/xmldsig#enveloped-signature");
    assert_xstr(x, "//ds:Reference/ds:Transforms/ds:Transform[2]/@Algorithm",
                "http://www.w3.org/2001/10/xml-exc-c14n#");
    sp_buf_init(&certb64, 65536);
    sp_cert_der_base64(sp_buf_str(&env.cert), &certb64);
    {
        char *c = xstr(x, "//ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate");
        size_t k = 0;
        for (size_t i = 0; c[i]; i++) /* base64 may be wrapped: compare without whitespace */
            if (c[i] != '\n' && c[i] != '\r' && c[i] != ' ' && c[i] != '\t')
                c[k++] = c[i];
        c[k] = '\0';
        assert_string_equal(c, sp_buf_str(&certb64));
        free(c);
    }
    /* cryptographic check with the certificate only */
    root = xmlDocGetRootElement(doc);
    idattr = xmlHasProp(root, BAD_CAST "ID");
    xmlAddID(NULL, doc, idattr->children->content, idattr);
    sig = xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs);
    assert_non_null(sig);
    ctx = xmlSecDSigCtxCreate(NULL);
    ctx->signKey =
        xmlSecCryptoAppKeyLoadMemory((const unsigned char *)sp_buf_str(&env.cert), env.cert.len,
                                     xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
    assert_non_null(ctx->signKey);
    assert_int_equal(xmlSecDSigCtxVerify(ctx, sig), 0);
    assert_int_equal(ctx->status, xmlSecDSigStatusSucceeded);
    xmlSecDSigCtxDestroy(ctx);
    xmlXPathFreeContext(x);
    xmlFreeDoc(doc);
    sp_buf_cleanup(&raw);
    sp_buf_cleanup(&certb64);
    sp_authn_request_cleanup(&ar);
}

/* PU-01: Purpose in samlp:Extensions, after Issuer (and after the POST signature). */
static void test_purpose(void **state)
{
    struct sp_authn_request ar = build(SP_BINDING_POST, 2, "PG");
    struct sp_buf raw;
    xmlDoc *doc;
    xmlXPathContext *x;
    (void)state;

    sp_buf_init(&raw, 1 << 20);
    assert_int_equal(sp_b64_decode(&raw, ar.saml_request, strlen(ar.saml_request)), SP_OK);
    doc = xmlReadMemory(raw.data, (int)raw.len, NULL, NULL, XML_PARSE_NONET);
    x = xpath(doc);
    if (getenv("SP_TEST_DUMP"))
        fwrite(raw.data, 1, raw.len, stderr);
    assert_xstr(x, "/samlp:AuthnRequest/samlp:Extensions/spid:Purpose", "PG");
    assert_true(xnum(x, "count(/samlp:AuthnRequest/ds:Signature/"
                        "following-sibling::*[1][self::samlp:Extensions])") == 1);
    xmlXPathFreeContext(x);
    xmlFreeDoc(doc);
    sp_buf_cleanup(&raw);
    sp_authn_request_cleanup(&ar);
}

/* AR-01: IDs are fresh for every request. */
static void test_ids_unique(void **state)
{
    struct sp_authn_request a = build(SP_BINDING_REDIRECT, 2, NULL);
    struct sp_authn_request b = build(SP_BINDING_REDIRECT, 2, NULL);
    (void)state;
    assert_string_not_equal(a.id, b.id);
    sp_authn_request_cleanup(&a);
    sp_authn_request_cleanup(&b);
}

static void test_refusals(void **state)
{
    struct sp_authn_params p;
    struct sp_authn_request ar;
    (void)state;
    memset(&p, 0, sizeof(p));
    p.idp = "https://unknown.example";
    p.level = 2;
    p.relay_state = RELAY;
    assert_int_equal(sp_saml_login_build(env.idps, env.cfg, &p, &ar), SP_ERR_UNKNOWN_IDP);
    p.idp = TEST_IDP_ENTITY;
    p.level = 4;
    assert_int_equal(sp_saml_login_build(env.idps, env.cfg, &p, &ar), SP_ERR_INVALID);
    p.level = 0;
    assert_int_equal(sp_saml_login_build(env.idps, env.cfg, &p, &ar), SP_ERR_INVALID);
    p.level = 2;
    p.purpose = "XX";
    assert_int_equal(sp_saml_login_build(env.idps, env.cfg, &p, &ar), SP_ERR_INVALID);
    assert_true(sp_saml_purpose_ok("PX"));
    assert_false(sp_saml_purpose_ok("px"));
    assert_false(sp_saml_purpose_ok(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_level2), cmocka_unit_test(test_redirect_level1),
        cmocka_unit_test(test_redirect_level3), cmocka_unit_test(test_post_binding),
        cmocka_unit_test(test_purpose),         cmocka_unit_test(test_ids_unique),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
