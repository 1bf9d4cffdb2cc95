/*
 * test_saml_logout: the Single Logout messages of saml_logout.c. Building:
 * every SLO-11 / SLO-22 field, the HTTP-Redirect query (order, signature over
 * the exact octets, checked independently with OpenSSL) and the HTTP-POST
 * enveloped signature. Receiving: binding decoding, strict parsing, one case
 * per field check, and the signature refusals (unsigned, SHA-1, wrong key,
 * tampered, signature outside the root, reference to another element).
 * Endpoint choice: preferred binding, fallback, ResponseLocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "sp/b64.h"
#include "sp/clock.h"
#include "sp/redirect_sign.h"
#include "sp/saml_logout.h"
#include "sp/str.h"
#include "sp/xmlsig.h"
#include "sp_test_env.h"

#define SP_SLO "https://sp.test.example/spid/slo"
#define IDP_SLO TEST_IDP_ENTITY "/slo"
#define REQ_ID "_0123456789abcdef0123456789abcdef"
#define RESP_ID "_fedcba9876543210fedcba9876543210"
#define NAME_ID "_nameid0123 "
#define SESSION_INDEX "_sidx42"
#define T_MS INT64_C(1763800000123) /* IssueInstant of the test messages */
#define SKEW 60u

static struct test_env env;
static struct sp_logout_signer *sp_signer, *idp_signer;
static struct sp_xmlsig_keys *sp_keys;
static const struct sp_xmlsig_keys *idp_keys;

static int setup(void **state)
{
    struct sp_buf b64;
    (void)state;
    test_env_init(&env, NULL);
    sp_signer = sp_saml_logout_signer(env.idps);
    idp_signer = sp_logout_signer_new(sp_buf_str(&env.idp_key), sp_buf_str(&env.idp_cert));
    sp_buf_init(&b64, 65536);
    if (sp_cert_der_base64(sp_buf_str(&env.cert), &b64) != SP_OK)
        return -1;
    sp_keys = sp_xmlsig_keys_from_cert_b64(sp_buf_str(&b64));
    sp_buf_cleanup(&b64);
    idp_keys = sp_idp_set_keys(env.idps, TEST_IDP_ENTITY);
    return sp_signer && idp_signer && sp_keys && idp_keys ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sp_logout_signer_free(&sp_signer);
    sp_logout_signer_free(&idp_signer);
    sp_xmlsig_keys_free(&sp_keys);
    test_env_cleanup(&env);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

static struct sp_logout_build request_from_sp(void)
{
    struct sp_logout_build b;
    memset(&b, 0, sizeof(b));
    b.kind = SP_LOGOUT_KIND_REQUEST;
    b.id = REQ_ID;
    b.issue_instant_ms = T_MS;
    b.destination = IDP_SLO;
    b.issuer = "https://sp.test.example";
    b.name_id = NAME_ID;
    b.name_qualifier = TEST_IDP_ENTITY;
    b.session_index = SESSION_INDEX;
    return b;
}

static struct sp_logout_build response_from_idp(void)
{
    struct sp_logout_build b;
    memset(&b, 0, sizeof(b));
    b.kind = SP_LOGOUT_KIND_RESPONSE;
    b.id = RESP_ID;
    b.issue_instant_ms = T_MS + 500;
    b.destination = SP_SLO;
    b.issuer = TEST_IDP_ENTITY;
    b.in_response_to = REQ_ID;
    return b;
}

static struct sp_logout_build request_from_idp(void)
{
    struct sp_logout_build b = request_from_sp();
    b.destination = SP_SLO;
    b.issuer = TEST_IDP_ENTITY;
    return b;
}

/* What the SP expects of the IdP's messages. */
static struct sp_logout_expect expect_from_idp(enum sp_logout_kind kind)
{
    struct sp_logout_expect e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.issuer = TEST_IDP_ENTITY;
    e.destination = SP_SLO;
    e.in_response_to = REQ_ID;
    e.request_issue_ms = T_MS;
    e.now_ms = T_MS + 2000;
    e.skew_sec = SKEW;
    e.max_age_sec = 900;
    return e;
}

static char *xml_of(const struct sp_logout_build *b)
{
    struct sp_buf x;
    sp_buf_init(&x, 1 << 20);
    assert_int_equal(sp_logout_xml(b, &x), SP_OK);
    return sp_buf_detach(&x);
}

/* xml with the first occurrence of from replaced by to (both must be found). */
static char *replace(const char *xml, const char *from, const char *to)
{
    const char *at = strstr(xml, from);
    size_t n;
    char *out;

    if (at == NULL)
        fail_msg("\"%s\" not in %s", from, xml);
    n = strlen(xml) - strlen(from) + strlen(to) + 1;
    out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - xml), xml, to, at + strlen(from));
    return out;
}

static enum sp_logout_check parse_check(const char *xml, const struct sp_logout_expect *e)
{
    struct sp_logout_result r;
    struct sp_logout_msg *m = sp_logout_parse(xml, strlen(xml), &r);
    enum sp_logout_check c;

    if (m == NULL)
        return r.code;
    c = sp_logout_check(m, e, &r);
    sp_logout_msg_free(&m);
    return c;
}

/* The query part of a URL (after '?'). */
static const char *query_of(const char *url)
{
    const char *q = strchr(url, '?');
    assert_non_null(q);
    return q + 1;
}

/* Verify an RSA-SHA256 signature with the public key of a PEM certificate (OpenSSL only). */
static bool openssl_verify(const char *cert_pem, const void *data, size_t len, const void *sig,
                           size_t sig_len)
{
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    EVP_PKEY *pk = x ? X509_get_pubkey(x) : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    X509_free(x);
    BIO_free(bio);
    return ok;
}

/* ------------------------------------------------------------------ building */

static void test_request_redirect(void **state)
{
    struct sp_logout_build b = request_from_sp();
    struct sp_logout_out out;
    struct sp_logout_in in;
    struct sp_logout_result r;
    struct sp_logout_msg *m;
    const struct sp_logout_fields *f;
    struct sp_logout_expect e;
    const char *q, *sigp;
    struct sp_buf signed_part, sig64, sig;
    int64_t t;
    (void)state;

    assert_int_equal(sp_logout_encode(sp_signer, &b, false, IDP_SLO, "relay0", &out), SP_OK);
    assert_false(out.post);
    assert_null(out.form_value);
    assert_true(sp_str_has_prefix(out.url, IDP_SLO "?SAMLRequest="));
    q = query_of(out.url);
    /* AR-42/AR-43: this order, Signature last, SigAlg RSA-SHA256 (quote_plus encoded) */
    assert_non_null(strstr(q, "&RelayState=relay0&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2F"
                              "xmldsig-more%23rsa-sha256&Signature="));
    /* the signature over the exact octets, checked with OpenSSL and the SP certificate */
    sigp = strstr(q, "&Signature=");
    sp_buf_init(&signed_part, 1 << 20);
    sp_buf_init(&sig64, 1 << 20);
    sp_buf_init(&sig, 1 << 20);
    sp_buf_add(&signed_part, q, (size_t)(sigp - q));
    assert_int_equal(sp_url_decode(&sig64, sigp + 11, strlen(sigp + 11)), SP_OK);
    assert_int_equal(sp_b64_decode(&sig, sig64.data, sig64.len), SP_OK);
    assert_true(openssl_verify(sp_buf_str(&env.cert), signed_part.data, signed_part.len, sig.data,
                               sig.len));
    /* the message itself, through our own decoder */
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_redirect(q, &in, &r), SP_LOGOUT_OK);
    assert_int_equal(in.kind, SP_LOGOUT_KIND_REQUEST);
    assert_string_equal(in.relay_state, "relay0");
    assert_int_equal(in.signed_part.len, signed_part.len);
    assert_memory_equal(in.signed_part.data, signed_part.data, signed_part.len);
    assert_int_equal(in.xml.len, out.xml_len);
    assert_memory_equal(in.xml.data, out.xml, out.xml_len);
    assert_null(strstr(out.xml, "Signature")); /* AR-41: no XML signature */
    m = sp_logout_parse(in.xml.data, in.xml.len, &r);
    assert_non_null(m);
    f = sp_logout_msg_fields(m);
    assert_int_equal(f->kind, SP_LOGOUT_KIND_REQUEST);
    assert_string_equal(f->id, REQ_ID);
    assert_string_equal(f->version, "2.0");
    assert_string_equal(f->issue_instant, "2025-11-22T08:26:40.123Z");
    assert_int_equal(sp_time_parse(f->issue_instant, &t), SP_OK);
    assert_int_equal(t, T_MS);
    assert_string_equal(f->destination, IDP_SLO);
    assert_string_equal(f->issuer, "https://sp.test.example");
    assert_string_equal(f->issuer_format, "urn:oasis:names:tc:SAML:2.0:nameid-format:entity");
    assert_non_null(strstr(out.xml, "NameQualifier=\"https://sp.test.example\""));
    assert_string_equal(f->name_id, NAME_ID); /* exactly as received, spaces included */
    assert_string_equal(f->name_id_format, "urn:oasis:names:tc:SAML:2.0:nameid-format:transient");
    assert_string_equal(f->name_qualifier, TEST_IDP_ENTITY);
    assert_int_equal(f->n_session_index, 1);
    assert_string_equal(f->session_index[0], SESSION_INDEX);
    assert_null(f->not_on_or_after);
    /* the IdP's view: every check passes, the SP key verifies, the IdP key does not */
    memset(&e, 0, sizeof(e));
    e.kind = SP_LOGOUT_KIND_REQUEST;
    e.issuer = "https://sp.test.example";
    e.destination = IDP_SLO;
    e.now_ms = T_MS;
    e.skew_sec = SKEW;
    e.max_age_sec = 900;
    assert_int_equal(sp_logout_check(m, &e, &r), SP_LOGOUT_OK);
    assert_int_equal(sp_logout_verify(m, &in, sp_keys, &r), SP_LOGOUT_OK);
    assert_int_equal(sp_logout_verify(m, &in, idp_keys, &r), SP_LOGOUT_SIGNATURE_INVALID);
    assert_int_equal(sp_logout_verify(m, &in, NULL, &r), SP_LOGOUT_SIGNATURE_INVALID);
    sp_logout_msg_free(&m);
    sp_logout_in_cleanup(&in);
    sp_logout_out_cleanup(&out);
    sp_buf_cleanup(&signed_part);
    sp_buf_cleanup(&sig64);
    sp_buf_cleanup(&sig);
}

static void test_request_post(void **state)
{
    struct sp_logout_build b = request_from_sp();
    struct sp_logout_out out;
    struct sp_logout_in in;
    struct sp_logout_result r;
    struct sp_logout_msg *m;
    const char *iss_end, *sig_at, *nid_at;
    char *tampered;
    (void)state;

    assert_int_equal(sp_logout_encode(sp_signer, &b, true, IDP_SLO, "relay0", &out), SP_OK);
    assert_true(out.post);
    assert_string_equal(out.url, IDP_SLO);
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_post(out.form_value, NULL, "relay0", &in, &r), SP_LOGOUT_OK);
    assert_int_equal(in.xml.len, out.xml_len);
    assert_memory_equal(in.xml.data, out.xml, out.xml_len);
    /* SLO-12: the enveloped signature sits right after the Issuer */
    iss_end = strstr(out.xml, "</saml:Issuer>");
    sig_at = strstr(out.xml, "<ds:Signature");
    nid_at = strstr(out.xml, "<saml:NameID");
    assert_true(iss_end && sig_at && nid_at);
    assert_ptr_equal(sig_at, iss_end + strlen("</saml:Issuer>"));
    assert_true(sig_at < nid_at);
    assert_non_null(strstr(out.xml, "URI=\"#" REQ_ID "\""));
    assert_non_null(strstr(out.xml, "xmldsig-more#rsa-sha256"));
    assert_non_null(strstr(out.xml, "xmlenc#sha256"));
    assert_non_null(strstr(out.xml, "<ds:X509Certificate>"));
    m = sp_logout_parse(in.xml.data, in.xml.len, &r);
    assert_non_null(m);
    assert_int_equal(sp_logout_verify(m, &in, sp_keys, &r), SP_LOGOUT_OK);
    assert_int_equal(sp_logout_verify(m, &in, idp_keys, &r), SP_LOGOUT_SIGNATURE_INVALID);
    sp_logout_msg_free(&m);
    /* the signed data changed: refused */
    tampered = replace(out.xml, NAME_ID, "_someone_else");
    m = sp_logout_parse(tampered, strlen(tampered), &r);
    assert_non_null(m);
    assert_int_equal(sp_logout_verify(m, &in, sp_keys, &r), SP_LOGOUT_SIGNATURE_INVALID);
    sp_logout_msg_free(&m);
    free(tampered);
    sp_logout_in_cleanup(&in);
    sp_logout_out_cleanup(&out);
}

static void test_request_optional_fields(void **state)
{
    struct sp_logout_build b = request_from_sp();
    char *xml;
    (void)state;

    b.session_index = NULL; /* SLO-13: a login without SessionIndex */
    b.name_qualifier = NULL;
    xml = xml_of(&b);
    assert_null(strstr(xml, "SessionIndex"));
    assert_non_null(strstr(xml, "<saml:NameID Format="));
    assert_null(strstr(xml, "NameID NameQualifier"));
    free(xml);
    /* text that needs escaping stays intact */
    b.name_id = "a<b&c\"";
    xml = xml_of(&b);
    assert_non_null(strstr(xml, "a&lt;b&amp;c\""));
    free(xml);
}

static void test_response_build(void **state)
{
    struct sp_logout_build b = response_from_idp();
    struct sp_logout_result r;
    struct sp_logout_msg *m;
    const struct sp_logout_fields *f;
    char *xml;
    (void)state;

    xml = xml_of(&b);
    m = sp_logout_parse(xml, strlen(xml), &r);
    assert_non_null(m);
    f = sp_logout_msg_fields(m);
    assert_int_equal(f->kind, SP_LOGOUT_KIND_RESPONSE);
    assert_string_equal(f->in_response_to, REQ_ID);
    assert_string_equal(f->status, SP_LOGOUT_STATUS_SUCCESS);
    assert_null(f->sub_status);
    assert_int_equal(sp_logout_outcome_of(m), SP_LOGOUT_OUTCOME_SUCCESS);
    sp_logout_msg_free(&m);
    free(xml);

    b.status = SP_LOGOUT_STATUS_REQUESTER;
    b.sub_status = SP_LOGOUT_STATUS_PARTIAL;
    xml = xml_of(&b);
    m = sp_logout_parse(xml, strlen(xml), &r);
    assert_string_equal(sp_logout_msg_fields(m)->sub_status, SP_LOGOUT_STATUS_PARTIAL);
    assert_int_equal(sp_logout_outcome_of(m), SP_LOGOUT_OUTCOME_PARTIAL);
    sp_logout_msg_free(&m);
    free(xml);

    b.status = SP_LOGOUT_STATUS_RESPONDER;
    b.sub_status = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
    xml = xml_of(&b);
    m = sp_logout_parse(xml, strlen(xml), &r);
    assert_int_equal(sp_logout_outcome_of(m), SP_LOGOUT_OUTCOME_FAILED);
    sp_logout_msg_free(&m);
    free(xml);
    assert_int_equal(sp_logout_outcome_of(NULL), SP_LOGOUT_OUTCOME_FAILED);
}

static void test_build_refusals(void **state)
{
    struct sp_logout_build b = request_from_sp();
    struct sp_logout_out out;
    struct sp_buf x;
    (void)state;

    sp_buf_init(&x, 1 << 20);
    b.id = "1-not-an-ncname";
    assert_int_equal(sp_logout_xml(&b, &x), SP_ERR_INVALID);
    b = request_from_sp();
    b.name_id = "";
    assert_int_equal(sp_logout_xml(&b, &x), SP_ERR_INVALID);
    b = response_from_idp();
    b.in_response_to = NULL;
    assert_int_equal(sp_logout_xml(&b, &x), SP_ERR_INVALID);
    b = response_from_idp();
    b.destination = NULL;
    assert_int_equal(sp_logout_xml(&b, &x), SP_ERR_INVALID);
    b = response_from_idp();
    b.kind = SP_LOGOUT_KIND_NONE;
    assert_int_equal(sp_logout_xml(&b, &x), SP_ERR_INVALID);
    assert_int_equal(x.len, 0);
    b = response_from_idp();
    assert_int_not_equal(sp_logout_encode(NULL, &b, false, SP_SLO, NULL, &out), SP_OK);
    assert_null(out.url);
    sp_buf_cleanup(&x);
}

/* ------------------------------------------------------------------ parsing and checks */

static void test_parse_refusals(void **state)
{
    static const struct {
        const char *xml;
        enum sp_logout_check want;
    } cases[] = {
        {"", SP_LOGOUT_MALFORMED},
        {"not xml", SP_LOGOUT_MALFORMED},
        {"<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
         SP_LOGOUT_MALFORMED},
        {"<!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>", SP_LOGOUT_DTD},
        {"<?xml version=\"1.0\"?>\n<!DOCTYPE x SYSTEM \"http://evil.example/x.dtd\"><x/>",
         SP_LOGOUT_DTD},
        {"<!-- c --><samlp:LogoutRequest "
         "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>",
         SP_LOGOUT_MALFORMED},
        {"<?pi x?><a/>", SP_LOGOUT_MALFORMED},
        {"<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>", SP_LOGOUT_ROOT},
        {"<LogoutRequest/>", SP_LOGOUT_ROOT},
        {"<samlp:LogoutRequest xmlns:samlp=\"urn:example:other\"/>", SP_LOGOUT_ROOT},
    };
    struct sp_logout_result r;
    char *big;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_logout_msg *m = sp_logout_parse(cases[i].xml, strlen(cases[i].xml), &r);
        if (m != NULL || r.code != cases[i].want)
            fail_msg("case %zu: got %s, want %s", i, sp_logout_check_name(r.code),
                     sp_logout_check_name(cases[i].want));
    }
    big = calloc(1, SP_LOGOUT_MAX_XML + 2);
    memset(big, ' ', SP_LOGOUT_MAX_XML + 1);
    assert_null(sp_logout_parse(big, SP_LOGOUT_MAX_XML + 1, &r));
    assert_int_equal(r.code, SP_LOGOUT_TOO_LARGE);
    free(big);
    assert_null(sp_logout_msg_fields(NULL));
}

struct edit_case {
    const char *name;
    const char *from, *to; /* NULL from: unchanged */
    enum sp_logout_check want;
};

static void run_edits(const char *base, const struct sp_logout_expect *e,
                      const struct edit_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *xml = cases[i].from ? replace(base, cases[i].from, cases[i].to) : strdup(base);
        enum sp_logout_check got = parse_check(xml, e);
        if (got != cases[i].want)
            fail_msg("%s: got %s, want %s\n%s", cases[i].name, sp_logout_check_name(got),
                     sp_logout_check_name(cases[i].want), xml);
        free(xml);
    }
}

static void test_request_checks(void **state)
{
    struct sp_logout_build b = request_from_idp();
    struct sp_logout_expect e = expect_from_idp(SP_LOGOUT_KIND_REQUEST);
    const struct edit_case cases[] = {
        {"ok", NULL, NULL, SP_LOGOUT_OK},
        {"version", "Version=\"2.0\"", "Version=\"1.0\"", SP_LOGOUT_VERSION},
        {"id-missing", "ID=\"" REQ_ID "\"", "", SP_LOGOUT_ID},
        {"id-not-ncname", "ID=\"" REQ_ID "\"", "ID=\"1abc\"", SP_LOGOUT_ID},
        {"instant-missing", "IssueInstant=\"2025-11-22T08:26:40.123Z\"", "",
         SP_LOGOUT_ISSUE_INSTANT},
        {"instant-offset", "08:26:40.123Z", "08:26:40.123+01:00", SP_LOGOUT_ISSUE_INSTANT},
        {"instant-future", "2025-11-22T08:26:40.123Z", "2025-11-22T08:28:43.124Z",
         SP_LOGOUT_ISSUE_INSTANT},
        {"instant-within-skew", "2025-11-22T08:26:40.123Z", "2025-11-22T08:27:42.123Z",
         SP_LOGOUT_OK},
        {"instant-too-old", "2025-11-22T08:26:40.123Z", "2025-11-22T08:10:00Z", SP_LOGOUT_EXPIRED},
        {"instant-old-within-ttl", "2025-11-22T08:26:40.123Z", "2025-11-22T08:12:00Z",
         SP_LOGOUT_OK},
        {"destination-wrong", "Destination=\"" SP_SLO "\"",
         "Destination=\"https://evil.example/slo\"", SP_LOGOUT_DESTINATION},
        {"destination-missing", "Destination=\"" SP_SLO "\"", "", SP_LOGOUT_DESTINATION},
        {"issuer-wrong", ">" TEST_IDP_ENTITY "</saml:Issuer>", ">https://x.example</saml:Issuer>",
         SP_LOGOUT_ISSUER},
        {"issuer-missing", "<saml:Issuer", "<saml:NotIssuer", SP_LOGOUT_MALFORMED},
        {"issuer-format", "nameid-format:entity", "nameid-format:transient",
         SP_LOGOUT_ISSUER_FORMAT},
        {"issuer-no-format", "Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\"", "",
         SP_LOGOUT_OK},
        {"issuer-twice", "</saml:Issuer>",
         "</saml:Issuer><saml:Issuer>" TEST_IDP_ENTITY "</saml:Issuer>", SP_LOGOUT_ISSUER},
        {"notonorafter-passed", "Version=\"2.0\"",
         "Version=\"2.0\" NotOnOrAfter=\"2025-11-22T08:20:00Z\"", SP_LOGOUT_EXPIRED},
        {"notonorafter-bad", "Version=\"2.0\"", "Version=\"2.0\" NotOnOrAfter=\"soon\"",
         SP_LOGOUT_ISSUE_INSTANT},
        {"notonorafter-future", "Version=\"2.0\"",
         "Version=\"2.0\" NotOnOrAfter=\"2025-11-22T08:40:00Z\"", SP_LOGOUT_OK},
        {"nameid-empty", ">" NAME_ID "<", "> \n<", SP_LOGOUT_NAMEID},
        {"nameid-missing", "<saml:NameID", "<saml:Other", SP_LOGOUT_MALFORMED},
        {"nameid-encrypted", "<samlp:SessionIndex>", "<saml:EncryptedID/><samlp:SessionIndex>",
         SP_LOGOUT_NAMEID},
        {"nameid-twice", "<samlp:SessionIndex>", "<saml:NameID>x</saml:NameID><samlp:SessionIndex>",
         SP_LOGOUT_NAMEID},
        {"sessionindex-empty", ">" SESSION_INDEX "<", "><", SP_LOGOUT_SESSION_INDEX},
        {"sessionindex-many", "</samlp:LogoutRequest>",
         "<samlp:SessionIndex>a</samlp:SessionIndex><samlp:SessionIndex>b</samlp:SessionIndex>"
         "<samlp:SessionIndex>c</samlp:SessionIndex><samlp:SessionIndex>d</samlp:SessionIndex>"
         "<samlp:SessionIndex>e</samlp:SessionIndex><samlp:SessionIndex>f</samlp:SessionIndex>"
         "<samlp:SessionIndex>g</samlp:SessionIndex><samlp:SessionIndex>h</samlp:SessionIndex>"
         "</samlp:LogoutRequest>",
         SP_LOGOUT_SESSION_INDEX},
        {"comment", ">" NAME_ID "<", ">" NAME_ID "<!-- x --><", SP_LOGOUT_COMMENT},
        {"duplicate-id", "<samlp:SessionIndex>",
         "<samlp:Extensions><x ID=\"" REQ_ID "\"/></samlp:Extensions><samlp:SessionIndex>",
         SP_LOGOUT_DUPLICATE_ID},
    };
    char *base = xml_of(&b);
    (void)state;

    /* renaming only the start tag leaves the XML unbalanced: refused as malformed */
    run_edits(base, &e, cases, sizeof(cases) / sizeof(cases[0]));
    /* a well-formed message without Issuer or NameID */
    {
        char *a = replace(base, "<saml:Issuer", "<saml:X");
        char *b2 = replace(a, "</saml:Issuer>", "</saml:X>");
        char *c = replace(base, "</saml:NameID>", "</saml:Y>");
        char *d = replace(c, "<saml:NameID", "<saml:Y");
        assert_int_equal(parse_check(b2, &e), SP_LOGOUT_ISSUER);
        assert_int_equal(parse_check(d, &e), SP_LOGOUT_NAMEID);
        free(a);
        free(b2);
        free(c);
        free(d);
    }
    /* the other kind */
    e.kind = SP_LOGOUT_KIND_RESPONSE;
    assert_int_equal(parse_check(base, &e), SP_LOGOUT_ROOT);
    free(base);
}

static void test_response_checks(void **state)
{
    struct sp_logout_build b = response_from_idp();
    struct sp_logout_expect e = expect_from_idp(SP_LOGOUT_KIND_RESPONSE);
    const struct edit_case cases[] = {
        {"ok", NULL, NULL, SP_LOGOUT_OK},
        {"irt-wrong", "InResponseTo=\"" REQ_ID "\"", "InResponseTo=\"_other\"",
         SP_LOGOUT_IN_RESPONSE_TO},
        {"irt-missing", "InResponseTo=\"" REQ_ID "\"", "", SP_LOGOUT_IN_RESPONSE_TO},
        {"irt-empty", "InResponseTo=\"" REQ_ID "\"", "InResponseTo=\"\"", SP_LOGOUT_IN_RESPONSE_TO},
        {"status-missing", "<samlp:Status>", "<samlp:X>", SP_LOGOUT_MALFORMED},
        {"statuscode-empty", "Value=\"" SP_LOGOUT_STATUS_SUCCESS "\"", "Value=\"\"",
         SP_LOGOUT_STATUS},
        {"before-request", "2025-11-22T08:26:40.623Z", "2025-11-22T08:25:40.122Z",
         SP_LOGOUT_ISSUE_INSTANT},
        {"at-request-minus-skew", "2025-11-22T08:26:40.623Z", "2025-11-22T08:25:40.123Z",
         SP_LOGOUT_OK},
        {"destination-wrong", "Destination=\"" SP_SLO "\"", "Destination=\"" IDP_SLO "\"",
         SP_LOGOUT_DESTINATION},
        {"issuer-sp", ">" TEST_IDP_ENTITY "<", ">https://sp.test.example<", SP_LOGOUT_ISSUER},
    };
    char *base = xml_of(&b), *nostatus;
    (void)state;

    run_edits(base, &e, cases, sizeof(cases) / sizeof(cases[0]));
    nostatus = replace(base, "<samlp:Status>", "<samlp:X>");
    {
        char *x = replace(nostatus, "</samlp:Status>", "</samlp:X>");
        assert_int_equal(parse_check(x, &e), SP_LOGOUT_STATUS);
        free(x);
    }
    free(nostatus);
    e.in_response_to = NULL; /* nothing pending matches */
    assert_int_equal(parse_check(base, &e), SP_LOGOUT_IN_RESPONSE_TO);
    free(base);
}

/* ------------------------------------------------------------------ signatures */

static void test_verify_redirect_refusals(void **state)
{
    struct sp_logout_build b = response_from_idp();
    struct sp_logout_out out, post;
    struct sp_logout_in in;
    struct sp_logout_result r;
    struct sp_logout_msg *m;
    struct sp_buf url;
    char *q;
    (void)state;

    assert_int_equal(sp_logout_encode(idp_signer, &b, false, SP_SLO, "rs", &out), SP_OK);

#define VERIFY_QUERY(query, want)                                                                  \
    do {                                                                                           \
        sp_logout_in_init(&in);                                                                    \
        assert_int_equal(sp_logout_decode_redirect((query), &in, &r), SP_LOGOUT_OK);               \
        m = sp_logout_parse(in.xml.data, in.xml.len, &r);                                          \
        assert_non_null(m);                                                                        \
        if (sp_logout_verify(m, &in, idp_keys, &r) != (want))                                      \
            fail_msg("%s: got %s, want %s (%s)", (query), sp_logout_check_name(r.code),            \
                     sp_logout_check_name(want), r.detail);                                        \
        sp_logout_msg_free(&m);                                                                    \
        sp_logout_in_cleanup(&in);                                                                 \
    } while (0)

    VERIFY_QUERY(query_of(out.url), SP_LOGOUT_OK);
    /* signature parameter gone */
    q = replace(query_of(out.url), "&Signature=", "&Nothing=");
    VERIFY_QUERY(q, SP_LOGOUT_UNSIGNED);
    free(q);
    /* SigAlg gone */
    q = replace(query_of(out.url), "&SigAlg=", "&Other=");
    VERIFY_QUERY(q, SP_LOGOUT_UNSIGNED);
    free(q);
    /* SHA-1 (the Debian lasso accepts it; we do not) */
    q = replace(query_of(out.url), "xmldsig-more%23rsa-sha256", "xmldsig%23rsa-sha1");
    VERIFY_QUERY(q, SP_LOGOUT_SIGNATURE_ALGORITHM);
    free(q);
    /* the RelayState is signed too */
    q = replace(query_of(out.url), "RelayState=rs", "RelayState=rt");
    VERIFY_QUERY(q, SP_LOGOUT_SIGNATURE_INVALID);
    free(q);
    /* parameters in another order: the SAML bindings order is rebuilt, still valid */
    {
        const char *base = query_of(out.url);
        const char *relay = strstr(base, "&RelayState=");
        const char *sigalg = strstr(base, "&SigAlg=");
        size_t n = strlen(base) + 2;
        q = malloc(n);
        snprintf(q, n, "%.*s&%.*s&%s", (int)(sigalg - relay - 1), relay + 1, (int)(relay - base),
                 base, sigalg + 1);
        VERIFY_QUERY(q, SP_LOGOUT_OK);
        free(q);
    }
    /* signed with the SP key instead of the IdP's */
    sp_logout_out_cleanup(&out);
    assert_int_equal(sp_logout_encode(sp_signer, &b, false, SP_SLO, "rs", &out), SP_OK);
    VERIFY_QUERY(query_of(out.url), SP_LOGOUT_SIGNATURE_INVALID);
    /* an XML signature inside an HTTP-Redirect message */
    assert_int_equal(sp_logout_encode(idp_signer, &b, true, SP_SLO, NULL, &post), SP_OK);
    {
        struct sp_signer *qs = sp_signer_new(sp_buf_str(&env.idp_key));
        sp_buf_init(&url, 1 << 20);
        assert_int_equal(
            sp_redirect_sign(qs, SP_SLO, "SAMLResponse", post.xml, post.xml_len, NULL, &url),
            SP_OK);
        VERIFY_QUERY(query_of(sp_buf_str(&url)), SP_LOGOUT_SIGNATURE_STRUCTURE);
        sp_signer_free(&qs);
        sp_buf_cleanup(&url);
    }
#undef VERIFY_QUERY
    sp_logout_out_cleanup(&post);
    sp_logout_out_cleanup(&out);
}

static void test_verify_post_refusals(void **state)
{
    struct sp_logout_build b = response_from_idp();
    struct sp_logout_out out;
    struct sp_logout_in in;
    struct sp_logout_result r;
    char *unsigned_xml = xml_of(&b), *signed_xml, *sig_copy;
    const char *s0, *s1;
    (void)state;

    assert_int_equal(sp_logout_encode(idp_signer, &b, true, SP_SLO, NULL, &out), SP_OK);
    signed_xml = out.xml;
    sp_logout_in_init(&in);
    in.post = true;

#define VERIFY_XML(xml, want)                                                                      \
    do {                                                                                           \
        struct sp_logout_msg *m_ = sp_logout_parse((xml), strlen(xml), &r);                        \
        assert_non_null(m_);                                                                       \
        if (sp_logout_verify(m_, &in, idp_keys, &r) != (want))                                     \
            fail_msg("got %s, want %s (%s)", sp_logout_check_name(r.code),                         \
                     sp_logout_check_name(want), r.detail);                                        \
        sp_logout_msg_free(&m_);                                                                   \
    } while (0)

    VERIFY_XML(signed_xml, SP_LOGOUT_OK);
    VERIFY_XML(unsigned_xml, SP_LOGOUT_UNSIGNED);
    {
        char *x = replace(signed_xml, "xmldsig-more#rsa-sha256", "xmldsig#rsa-sha1");
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_ALGORITHM);
        free(x);
        x = replace(signed_xml, "xmlenc#sha256", "xmldsig#sha1");
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_ALGORITHM);
        free(x);
        x = replace(signed_xml, "URI=\"#" RESP_ID "\"", "URI=\"#_elsewhere\"");
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_STRUCTURE);
        free(x);
        x = replace(signed_xml, "URI=\"#" RESP_ID "\"", "URI=\"\"");
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_STRUCTURE);
        free(x);
        x = replace(signed_xml, "enveloped-signature", "xpath");
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_ALGORITHM);
        free(x);
        x = replace(signed_xml, "status:Success", "status:Requester");
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_INVALID);
        free(x);
    }
    /* a second signature, or one nested elsewhere */
    s0 = strstr(signed_xml, "<ds:Signature");
    s1 = strstr(signed_xml, "</ds:Signature>") + strlen("</ds:Signature>");
    sig_copy = strndup(s0, (size_t)(s1 - s0));
    {
        size_t n = strlen(signed_xml) + strlen(sig_copy) + 1;
        char *x = malloc(n), *y;
        snprintf(x, n, "%.*s%s%s", (int)(s1 - signed_xml), signed_xml, sig_copy, s1);
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_STRUCTURE);
        free(x);
        n = strlen("<samlp:Status>") + strlen(sig_copy) + 1;
        y = malloc(n);
        snprintf(y, n, "<samlp:Status>%s", sig_copy);
        x = replace(signed_xml, "<samlp:Status>", y); /* a signature nested in Status */
        VERIFY_XML(x, SP_LOGOUT_SIGNATURE_STRUCTURE);
        free(x);
        free(y);
    }
    VERIFY_XML(signed_xml, SP_LOGOUT_OK);
    {
        struct sp_logout_msg *m = sp_logout_parse(signed_xml, strlen(signed_xml), &r);
        assert_int_equal(sp_logout_verify(m, &in, sp_keys, &r), SP_LOGOUT_SIGNATURE_INVALID);
        assert_int_equal(sp_logout_verify(m, &in, NULL, &r), SP_LOGOUT_SIGNATURE_INVALID);
        sp_logout_msg_free(&m);
    }
#undef VERIFY_XML
    free(sig_copy);
    free(unsigned_xml);
    sp_logout_in_cleanup(&in);
    sp_logout_out_cleanup(&out);
}

/* ------------------------------------------------------------------ binding decoding */

static void test_decode_refusals(void **state)
{
    static const struct {
        const char *query;
        enum sp_logout_check want;
    } cases[] = {
        {"", SP_LOGOUT_NO_MESSAGE},
        {"foo=bar", SP_LOGOUT_NO_MESSAGE},
        {"SAMLRequest=", SP_LOGOUT_NO_MESSAGE},
        {"SAMLRequest=a&SAMLRequest=b", SP_LOGOUT_ENCODING},
        {"SAMLRequest=a&SAMLResponse=b", SP_LOGOUT_ENCODING},
        {"SAMLRequest=%ZZ", SP_LOGOUT_ENCODING},
        {"SAMLRequest=%00", SP_LOGOUT_ENCODING},
        {"SAMLRequest=!!!!", SP_LOGOUT_ENCODING},
        {"SAMLRequest=AAAA", SP_LOGOUT_ENCODING},
        {"SAMLRequest=eJw%3D", SP_LOGOUT_ENCODING},
        {"SAMLResponse=8wQA&Signature=%%%", SP_LOGOUT_ENCODING},
        {"SAMLResponse=8wQA&RelayState=a&RelayState=b", SP_LOGOUT_ENCODING},
    };
    struct sp_logout_in in;
    struct sp_logout_result r;
    struct sp_buf raw, b64, q;
    z_stream z;
    unsigned char *zeros, *deflated;
    size_t big = 4u * SP_LOGOUT_MAX_XML;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sp_logout_in_init(&in);
        if (sp_logout_decode_redirect(cases[i].query, &in, &r) != cases[i].want)
            fail_msg("\"%s\": got %s, want %s", cases[i].query, sp_logout_check_name(r.code),
                     sp_logout_check_name(cases[i].want));
        sp_logout_in_cleanup(&in);
    }
    /* a deflate bomb stops at the limit */
    zeros = calloc(1, big);
    deflated = malloc(big);
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = zeros;
    z.avail_in = (unsigned)big;
    z.next_out = deflated;
    z.avail_out = (unsigned)big;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    sp_buf_init(&raw, big);
    sp_buf_init(&b64, 2 * big);
    sp_buf_init(&q, 4 * big);
    sp_b64_encode(&b64, deflated, big - z.avail_out);
    deflateEnd(&z);
    sp_buf_adds(&q, "SAMLRequest=");
    sp_url_encode(&q, b64.data, b64.len);
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_redirect(sp_buf_str(&q), &in, &r), SP_LOGOUT_TOO_LARGE);
    assert_int_equal(in.kind, SP_LOGOUT_KIND_REQUEST); /* known, for the register */
    assert_true(in.param.len > 0);
    sp_logout_in_cleanup(&in);
    free(zeros);
    free(deflated);
    sp_buf_cleanup(&raw);
    sp_buf_cleanup(&b64);
    sp_buf_cleanup(&q);
    /* HTTP-POST */
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_post("PGE+", "PGE+", NULL, &in, &r), SP_LOGOUT_ENCODING);
    sp_logout_in_cleanup(&in);
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_post(NULL, NULL, "x", &in, &r), SP_LOGOUT_NO_MESSAGE);
    sp_logout_in_cleanup(&in);
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_post("not base64!", NULL, NULL, &in, &r), SP_LOGOUT_ENCODING);
    sp_logout_in_cleanup(&in);
    sp_logout_in_init(&in);
    assert_int_equal(sp_logout_decode_post(NULL, "PGE+", NULL, &in, &r), SP_LOGOUT_OK);
    assert_int_equal(in.kind, SP_LOGOUT_KIND_RESPONSE);
    assert_true(in.post);
    assert_int_equal(in.xml.len, 3);
    assert_memory_equal(in.xml.data, "<a>", 3);
    sp_logout_in_cleanup(&in);
    {
        char relay[SP_LOGOUT_MAX_RELAY_STATE + 2];
        memset(relay, 'r', sizeof(relay) - 1);
        relay[sizeof(relay) - 1] = '\0';
        sp_logout_in_init(&in);
        assert_int_equal(sp_logout_decode_post("PGE+", NULL, relay, &in, &r), SP_LOGOUT_ENCODING);
        sp_logout_in_cleanup(&in);
    }
}

/* ------------------------------------------------------------------ endpoints */

static void test_endpoints(void **state)
{
    char path[512], *saved, *url = NULL;
    struct sp_buf md, b64;
    struct sp_idp_set *set;
    bool post = true;
    FILE *fp;
    (void)state;

    /* the test IdP offers HTTP-Redirect only: a POST preference falls back */
    assert_int_equal(
        sp_saml_logout_endpoint(env.idps, TEST_IDP_ENTITY, SP_BINDING_POST, false, &post, &url),
        SP_OK);
    assert_false(post);
    assert_string_equal(url, TEST_IDP_ENTITY "/slo");
    free(url);
    assert_int_equal(sp_saml_logout_endpoint(env.idps, "https://nope.example", SP_BINDING_AUTO,
                                             false, &post, &url),
                     SP_ERR_UNKNOWN_IDP);
    assert_null(url);

    /* another IdP: both bindings, a ResponseLocation for Redirect only */
    test_env_path(&env, "idp2", path, sizeof(path));
    sp_file_mkdirs(path, 0700);
    sp_buf_init(&b64, 65536);
    sp_buf_init(&md, 1 << 16);
    sp_cert_der_base64(sp_buf_str(&env.idp_cert), &b64);
    sp_buf_addf(
        &md,
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"https://idp2.example\">"
        "<md:IDPSSODescriptor "
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
        "%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        "<md:SingleLogoutService "
        "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"https://idp2.example/slo-r\" "
        "ResponseLocation=\"https://idp2.example/slo-r-resp\"/>"
        "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
        "Location=\"https://idp2.example/slo-p\"/>"
        "<md:SingleSignOnService "
        "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"https://idp2.example/sso\"/>"
        "</md:IDPSSODescriptor></md:EntityDescriptor>",
        sp_buf_str(&b64));
    test_env_path(&env, "idp2/idp2.xml", path, sizeof(path));
    fp = fopen(path, "w");
    fputs(sp_buf_str(&md), fp);
    fclose(fp);
    saved = env.cfg->idp_metadata;
    env.cfg->idp_metadata = path;
    set = sp_idp_set_new(env.cfg, sp_buf_str(&env.md), sp_buf_str(&env.key), sp_buf_str(&env.cert),
                         NULL, 0);
    env.cfg->idp_metadata = saved;
    assert_non_null(set);
    {
        static const struct {
            enum sp_binding pref;
            bool response;
            bool post;
            const char *url;
        } cases[] = {
            {SP_BINDING_AUTO, false, false, "https://idp2.example/slo-r"},
            {SP_BINDING_REDIRECT, false, false, "https://idp2.example/slo-r"},
            {SP_BINDING_POST, false, true, "https://idp2.example/slo-p"},
            {SP_BINDING_REDIRECT, true, false, "https://idp2.example/slo-r-resp"},
            {SP_BINDING_POST, true, true, "https://idp2.example/slo-p"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            assert_int_equal(sp_saml_logout_endpoint(set, "https://idp2.example", cases[i].pref,
                                                     cases[i].response, &post, &url),
                             SP_OK);
            if (post != cases[i].post || strcmp(url, cases[i].url) != 0)
                fail_msg("case %zu: got %s %s", i, post ? "POST" : "Redirect", url);
            free(url);
        }
    }
    sp_idp_set_free(&set);
    sp_buf_cleanup(&md);
    sp_buf_cleanup(&b64);
}

static void test_code_table(void **state)
{
    (void)state;
    for (int c = 0; c < SP_LOGOUT__COUNT; c++) {
        assert_non_null(sp_logout_check_name(c));
        assert_true(sp_str_has_prefix(sp_logout_check_rule(c), "SLO-"));
        assert_non_null(sp_logout_check_message(c));
        if (c == SP_LOGOUT_OK)
            assert_int_equal(sp_logout_check_status(c), 200);
        else
            assert_in_range(sp_logout_check_status(c), 400, 499);
    }
    assert_string_equal(sp_logout_check_name(SP_LOGOUT__COUNT), "UNKNOWN");
    assert_string_equal(sp_logout_check_name(SP_LOGOUT_REPLAY), "REPLAY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_redirect),
        cmocka_unit_test(test_request_post),
        cmocka_unit_test(test_request_optional_fields),
        cmocka_unit_test(test_response_build),
        cmocka_unit_test(test_build_refusals),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_request_checks),
        cmocka_unit_test(test_response_checks),
        cmocka_unit_test(test_verify_redirect_refusals),
        cmocka_unit_test(test_verify_post_refusals),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_code_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
