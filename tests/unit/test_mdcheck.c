/*
 * test_mdcheck: the metadata checker. Our own signed metadata (public and
 * private) passes with no error; then, table-driven, one mutation per check
 * id that makes that check fail (the id must be absent on the good
 * document); a document broken in many ways lists every problem; IdP
 * metadata (the dev IdP's) passes and its breakages are caught; the JSON
 * report carries the same ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp/mdcheck.h"
#include "sp/metadata.h"
#include "sp/report.h"
#include "sp/saml.h"
#include "sp_test_configs.h"

enum which { PUB, PRIV, IDP };

struct fixture {
    char dir[64];
    struct sp_buf xml[3]; /* public, private, dev IdP */
};

static struct fixture *fx;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void build(struct sp_buf *out, const char *name, const char *ini)
{
    char ini_path[128], key[128], cert[128];
    struct sp_config *cfg = NULL;
    struct sp_buf err, k, c;

    snprintf(ini_path, sizeof(ini_path), "%s/%s.ini", fx->dir, name);
    snprintf(key, sizeof(key), "%s/%s-key.pem", fx->dir, name);
    snprintf(cert, sizeof(cert), "%s/%s-cert.pem", fx->dir, name);
    assert_int_equal(sp_file_write_atomic(ini_path, ini, strlen(ini), 0600), SP_OK);
    sp_buf_init(&err, 4096);
    sp_buf_init(&k, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&c, SP_CERT_MAX_PEM_BYTES);
    if (sp_config_load(ini_path, &cfg, &err) != SP_OK)
        fail_msg("config: %s", sp_buf_str(&err));
    if (sp_cert_generate(cfg, 2048, 0, key, cert, &err) != SP_OK ||
        sp_cert_load_pair(key, cert, &k, &c, &err) != SP_OK ||
        sp_metadata_build(cfg, k.data, c.data, out, &err) != SP_OK)
        fail_msg("%s: %s", name, sp_buf_str(&err));
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
    sp_buf_cleanup_secret(&k);
    sp_buf_cleanup(&c);
}

static void run(const char *xml, size_t len, enum sp_md_role role, enum sp_md_profile profile,
                struct sp_report *r)
{
    sp_report_init(r, "metadata", "test");
    assert_int_equal(sp_mdcheck_run(xml, len, role, profile, r), SP_OK);
}

static void dump(const struct sp_report *r)
{
    sp_report_print_text(r, stderr);
}

/* Replace the first (or every) occurrence of from; or, with until, cut from..until. */
static char *mutate(const char *src, const char *from, const char *until, const char *to, bool all)
{
    struct sp_buf b;
    const char *p = src, *hit;
    bool done = false;

    sp_buf_init(&b, SP_MDCHECK_MAX_BYTES * 2);
    while ((hit = strstr(p, from)) != NULL && (!done || all)) {
        const char *end = hit + strlen(from);
        if (until != NULL) {
            const char *u = strstr(hit, until);
            if (u == NULL)
                break;
            end = u + strlen(until);
        }
        sp_buf_add(&b, p, (size_t)(hit - p));
        sp_buf_adds(&b, to);
        p = end;
        done = true;
    }
    if (!done)
        fail_msg("mutation anchor \"%s\" not found", from);
    sp_buf_adds(&b, p);
    return sp_buf_detach(&b);
}

/* ------------------------------------------------------------------------ */
/* Good documents                                                           */
/* ------------------------------------------------------------------------ */

static void expect_clean(enum which w, enum sp_md_role role, enum sp_md_profile profile)
{
    struct sp_report r;

    run(fx->xml[w].data, fx->xml[w].len, role, profile, &r);
    if (sp_report_count(&r, SP_SEV_ERROR) != 0 || sp_report_count(&r, SP_SEV_WARNING) != 0) {
        dump(&r);
        fail_msg("the good document has findings");
    }
    assert_true(r.checks_run > 20);
    sp_report_cleanup(&r);
}

static void test_good_public(void **state)
{
    (void)state;
    expect_clean(PUB, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO);
    expect_clean(PUB, SP_MD_ROLE_SP, SP_MD_PROFILE_PUBLIC);
}

static void test_good_private(void **state)
{
    (void)state;
    expect_clean(PRIV, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO);
    expect_clean(PRIV, SP_MD_ROLE_SP, SP_MD_PROFILE_PRIVATE);
}

static void test_good_idp(void **state)
{
    struct sp_report r;

    (void)state;
    run(fx->xml[IDP].data, fx->xml[IDP].len, SP_MD_ROLE_IDP, SP_MD_PROFILE_AUTO, &r);
    if (sp_report_count(&r, SP_SEV_ERROR) != 0) {
        dump(&r);
        fail_msg("the dev IdP metadata has errors");
    }
    /* unsigned: only a warning for an IdP */
    assert_true(sp_report_has(&r, "SIG-present"));
    sp_report_cleanup(&r);
    /* AUTO picks the IdP role */
    run(fx->xml[IDP].data, fx->xml[IDP].len, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    assert_int_equal(sp_report_count(&r, SP_SEV_ERROR), 0);
    sp_report_cleanup(&r);
}

/* ------------------------------------------------------------------------ */
/* One mutation per check id                                                */
/* ------------------------------------------------------------------------ */

#define SLO_REDIRECT                                                                               \
    "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\""
#define PUB_SLO "Location=\"https://sp.comune.example.it/spid/slo\""
#define PUB_ACS "Location=\"https://sp.comune.example.it/spid/acs\""
#define POST_B "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define REDIR_B "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

struct mutation {
    const char *id;
    enum which doc;
    enum sp_md_role role;
    enum sp_md_profile profile;
    const char *from, *until, *to;
    bool all;
};

static const struct mutation mutations[] = {
    {"MD-02", PUB, 0, 0, "entityID=\"", NULL, "entityID=\"\" x=\"", false},
    {"MD-02-https", PUB, 0, 0, "entityID=\"https://", NULL, "entityID=\"http://", false},
    {"MD-02-cert", PUB, 0, 0, "/metadata\" ID=", NULL, "/other\" ID=", false},
    {"MD-03", PUB, 0, 0, " ID=\"_", NULL, " ID=\"1_", false},
    {"MD-04", PUB, 0, 0, "<md:SPSSODescriptor", NULL, "<md:Organization/><md:SPSSODescriptor",
     false},
    {"MD-05", PUB, 0, 0, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", NULL, " \n", false},
    {"SIG-present", PUB, 0, 0, "<ds:Signature>", "</ds:Signature>", "", false},
    {"MD-10", PUB, 0, 0, "<ds:Signature>", NULL, "<md:Extensions/><ds:Signature>", false},
    {"MD-11", PUB, 0, 0, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", NULL,
     "http://www.w3.org/2000/09/xmldsig#rsa-sha1", false},
    {"MD-12", PUB, 0, 0, "http://www.w3.org/2001/04/xmlenc#sha256", NULL,
     "http://www.w3.org/2000/09/xmldsig#sha1", false},
    {"MD-13-ref", PUB, 0, 0, "<ds:Reference URI=\"#", NULL, "<ds:Reference URI=\"#x", false},
    {"MD-13-transforms", PUB, 0, 0,
     "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>", NULL,
     "", false},
    {"MD-13-cert", PUB, 0, 0, "<ds:KeyInfo>", "</ds:KeyInfo>", "", false},
    {"MD-14", PUB, 0, 0, "/spid/acs\"", NULL, "/spid/acx\"", false},
    {"MD-15-parse", PUB, 0, 0, "<ds:X509Certificate>MII", NULL, "<ds:X509Certificate>AAA", false},
    {"SIG-cert-match", PUB, 0, 0, "<md:KeyDescriptor use=\"signing\">", NULL,
     "<md:KeyDescriptor use=\"encryption\">", false},
    {"MD-20", PUB, 0, 0, "</md:SPSSODescriptor>", NULL,
     "</md:SPSSODescriptor><md:SPSSODescriptor "
     "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
     "<md:AssertionConsumerService index=\"5\" Binding=\"" POST_B
     "\" Location=\"https://x.example/a\"/></md:SPSSODescriptor>",
     false},
    {"MD-21", PUB, 0, 0, "SAML:2.0:protocol\" AuthnRequestsSigned", NULL,
     "SAML:1.1:protocol\" AuthnRequestsSigned", false},
    {"MD-22", PUB, 0, 0, "AuthnRequestsSigned=\"true\"", NULL, "AuthnRequestsSigned=\"false\"",
     false},
    {"MD-23", PUB, 0, 0, "WantAssertionsSigned=\"true\"", NULL, "WantAssertionsSigned=\"false\"",
     false},
    {"MD-24", PUB, 0, 0, "<md:AttributeConsumingService index=\"0\">", NULL,
     "<md:SingleLogoutService Binding=\"" POST_B "\" Location=\"https://x.example/slo\"/>"
     "<md:AttributeConsumingService index=\"0\">",
     false},
    {"MD-30", PUB, 0, 0, "<md:KeyDescriptor use=\"signing\">", NULL,
     "<md:KeyDescriptor use=\"encryption\">", false},
    {"MD-31", PUB, 0, 0, "<md:SingleLogoutService", NULL,
     "<md:KeyDescriptor use=\"encryption\"></md:KeyDescriptor><md:SingleLogoutService", false},
    {"MD-40", PUB, 0, 0, "<md:SingleLogoutService ", NULL, "<md:ManageNameIDService ", true},
    {"MD-41-binding", PUB, 0, 0, SLO_REDIRECT, NULL,
     "<md:SingleLogoutService Binding=\"urn:example:binding\"", false},
    {"MD-41-location", PUB, 0, 0, PUB_SLO, NULL, "Location=\"ftp://x/slo\"", false},
    {"MD-41-https", PUB, 0, 0, PUB_SLO, NULL,
     "Location=\"https://sp.comune.example.it:8443/spid/slo\"", false},
    {"MD-42", PUB, 0, 0, SLO_REDIRECT, NULL, "<md:SingleLogoutService Binding=\"" POST_B "\"",
     false},
    {"MD-45", PUB, 0, 0, "nameid-format:transient</md:NameIDFormat>", NULL,
     "nameid-format:persistent</md:NameIDFormat>", false},
    {"MD-50", PUB, 0, 0, "index=\"0\" isDefault=\"true\"", NULL, "isDefault=\"true\"", false},
    {"MD-50-index", PUB, 0, 0, "<md:AssertionConsumerService index=\"0\"", NULL,
     "<md:AssertionConsumerService index=\"-1\"", false},
    {"MD-51", PUB, 0, 0, "Binding=\"" POST_B "\" " PUB_ACS, NULL,
     "Binding=\"" REDIR_B "\" " PUB_ACS, false},
    {"MD-52", PUB, 0, 0, "isDefault=\"true\"", NULL, "isDefault=\"false\"", false},
    {"MD-52-index0", PUB, 0, 0, "index=\"0\" isDefault=\"true\"", NULL,
     "index=\"3\" isDefault=\"true\"", false},
    {"MD-53", PUB, 0, 0, PUB_ACS, NULL, "Location=\"http://sp.comune.example.it/spid/acs\"", false},
    {"MD-60", PUB, 0, 0, "<md:AttributeConsumingService index=\"0\">", NULL,
     "<md:AttributeConsumingService index=\"70000\">", false},
    {"MD-61", PUB, 0, 0, "<md:ServiceName xml:lang=\"it\">", "</md:ServiceName>",
     "<md:ServiceName xml:lang=\"it\"> </md:ServiceName>", false},
    {"MD-62", PUB, 0, 0, "<md:RequestedAttribute Name=\"spidCode\"", NULL,
     "<md:RequestedAttribute FriendlyName=\"spidCode\"", false},
    {"MD-62-name", PUB, 0, 0, "Name=\"spidCode\"", NULL, "Name=\"codiceSpid\"", false},
    {"MD-62-dup", PUB, 0, 0, "Name=\"name\"", NULL, "Name=\"spidCode\"", false},
    {"MD-63", PUB, 0, 0, "attrname-format:basic", NULL, "attrname-format:unspecified", false},
    {"MD-65", PUB, 0, 0, "<md:AttributeConsumingService index=\"1\">", NULL,
     "<md:AttributeConsumingService index=\"99\">", false},
    {"MD-70", PUB, 0, 0, "</md:Organization>", NULL,
     "</md:Organization><md:Organization><md:OrganizationName "
     "xml:lang=\"it\">x</md:OrganizationName><md:OrganizationDisplayName "
     "xml:lang=\"it\">x</md:OrganizationDisplayName><md:OrganizationURL "
     "xml:lang=\"it\">https://x.example/</md:OrganizationURL></md:Organization>",
     false},
    {"MD-71-missing", PUB, 0, 0, "md:OrganizationURL", NULL, "md:OrganizationXURL", true},
    {"MD-71-lang", PUB, 0, 0, "<md:OrganizationName xml:lang=\"it\">", NULL,
     "<md:OrganizationName>", false},
    {"MD-71-empty", PUB, 0, 0, "<md:OrganizationDisplayName xml:lang=\"it\">",
     "</md:OrganizationDisplayName>",
     "<md:OrganizationDisplayName xml:lang=\"it\"></md:OrganizationDisplayName>", false},
    {"MD-72-it", PUB, 0, 0, "xml:lang=\"it\"", NULL, "xml:lang=\"en\"", true},
    {"MD-72-count", PUB, 0, 0, "<md:OrganizationURL xml:lang=\"it\">", NULL,
     "<md:OrganizationURL xml:lang=\"en\">", false},
    {"MD-73-url", PUB, 0, 0, "<md:OrganizationURL xml:lang=\"it\">", "</md:OrganizationURL>",
     "<md:OrganizationURL xml:lang=\"it\">www.example</md:OrganizationURL>", false},
    {"MD-73-o", PUB, 0, 0, ">Comune di Città di Castello</md:OrganizationName>", NULL,
     ">Comune di Citta di Castello</md:OrganizationName>", false},
    {"MD-73-cn", PUB, 0, 0, ">Città di Castello</md:OrganizationDisplayName>", NULL,
     ">Castello</md:OrganizationDisplayName>", false},
    {"MD-80", PUB, 0, 0, "contactType=\"other\"", NULL, "contactType=\"billing\"", false},
    {"MD-80-type", PUB, 0, 0, "contactType=\"other\"", NULL, "contactType=\"technical\"", false},
    {"MD-81", PUB, 0, 0, "<spid:Public/>", NULL, "", false},
    {"CP-order", PUB, 0, 0, "<md:EmailAddress>", NULL,
     "<md:GivenName>Mario</md:GivenName><md:EmailAddress>", false},
    {"MD-82", PRIV, 0, 0, "<md:Company>Esempio", NULL, "<md:Company>Altro", false},
    {"MD-83", PUB, 0, 0, "protocollo@comune", NULL, "protocollo.comune", false},
    {"MD-84-spaces", PUB, 0, 0, "+390751234567", NULL, "+39 0751234567", false},
    {"MD-84-39", PUB, 0, 0, "+390751234567", NULL, "0751234567", false},
    {"MD-85", PUB, 0, 0, "<spid:IPACode>c_c745</spid:IPACode>", NULL, "", false},
    {"MD-86", PUB, 0, 0, "<spid:Public/>", NULL, "<spid:Public/><spid:Private/>", false},
    {"MD-87", PRIV, 0, 0, "<spid:VATNumber>", NULL,
     "<spid:IPACode>x</spid:IPACode><spid:VATNumber>", false},
    {"MD-88-vat", PRIV, 0, 0, "<spid:VATNumber>IT", NULL, "<spid:VATNumber>", false},
    {"MD-88-cf", PRIV, 0, 0, "<spid:VATNumber>", "</spid:FiscalCode>", "", false},
    {"MD-88-dup", PRIV, 0, 0, "<spid:VATNumber>", NULL,
     "<spid:VATNumber>IT1</spid:VATNumber><spid:VATNumber>", false},
    {"MD-89", PRIV, 0, 0, "contactType=\"billing\"", NULL, "contactType=\"other\"", false},
    {"MD-89-fpa", PRIV, 0, 0, "fpa:CessionarioCommittente", NULL, "fpa:CessionarioCommittentX",
     true},
    {"MD-90-entityid", PUB, SP_MD_ROLE_SP, SP_MD_PROFILE_AG, "entityID=\"", NULL, "entityID=\"",
     false},
    {"MD-90-profile", PUB, SP_MD_ROLE_SP, SP_MD_PROFILE_AG, "entityID=\"", NULL, "entityID=\"",
     false},
    {"MD-90-query", PUB, SP_MD_ROLE_SP, SP_MD_PROFILE_AG, "/metadata\" ID=", NULL,
     "/pub-ag-full?x=1\" ID=", false},
    {"XSD-saml", PUB, 0, 0, "AuthnRequestsSigned=\"true\"", NULL, "AuthnRequestsSigned=\"yes\"",
     false},
    {"XSD-spid", PUB, 0, 0, "<spid:Public/>", NULL, "<spid:Public>text</spid:Public>", false},
    {"XSD-spid", PRIV, 0, 0, "<fpa:CAP>", "</fpa:CAP>", "<fpa:CAP>4712</fpa:CAP>", false},
    /* IdP */
    {"IDP-entityid", IDP, SP_MD_ROLE_IDP, 0, "entityID=\"", NULL, "entityID=\"\" x=\"", false},
    {"IDP-root", IDP, SP_MD_ROLE_IDP, 0, "md:EntityDescriptor", NULL, "md:EntitiesDescriptor",
     true},
    {"IDP-descriptor", IDP, SP_MD_ROLE_IDP, 0, "md:IDPSSODescriptor", NULL,
     "md:AuthnAuthorityDescriptor", true},
    {"IDP-protocol", IDP, SP_MD_ROLE_IDP, 0, "urn:oasis:names:tc:SAML:2.0:protocol", NULL,
     "urn:oasis:names:tc:SAML:1.1:protocol", false},
    {"IDP-sso", IDP, SP_MD_ROLE_IDP, 0, "md:SingleSignOnService", NULL, "md:NameIDMappingService",
     true},
    {"IDP-slo", IDP, SP_MD_ROLE_IDP, 0, "md:SingleLogoutService", NULL, "md:ManageNameIDService",
     true},
    {"IDP-cert", IDP, SP_MD_ROLE_IDP, 0, "use=\"signing\"", NULL, "use=\"encryption\"", false},
    {"IDP-cert", IDP, SP_MD_ROLE_IDP, 0, "<ds:X509Certificate>MII", NULL, "<ds:X509Certificate>AAA",
     false},
    {"IDP-validuntil", IDP, SP_MD_ROLE_IDP, 0, "entityID=", NULL,
     "validUntil=\"2001-01-01T00:00:00Z\" entityID=", false},
};

#define N_MUT (sizeof(mutations) / sizeof(mutations[0]))

static void run_mutation(void **state)
{
    const struct mutation *mu = *state;
    const struct sp_buf *good = &fx->xml[mu->doc];
    char *bad = mutate(good->data, mu->from, mu->until, mu->to, mu->all);
    struct sp_report r;

    /* absent on the good document */
    run(good->data, good->len, mu->role, mu->profile, &r);
    if (sp_report_has(&r, mu->id) && strncmp(mu->id, "MD-90", 5) != 0 &&
        strcmp(mu->id, "SIG-present") != 0) {
        dump(&r);
        fail_msg("%s reported on the good document", mu->id);
    }
    sp_report_cleanup(&r);
    /* present on the mutated one */
    run(bad, strlen(bad), mu->role, mu->profile, &r);
    if (!sp_report_has(&r, mu->id)) {
        dump(&r);
        fail_msg("%s not reported after the mutation", mu->id);
    }
    sp_report_cleanup(&r);
    free(bad);
}

/* ------------------------------------------------------------------------ */
/* Documents that do not parse, and reports with many findings              */
/* ------------------------------------------------------------------------ */

static void expect_only(const char *xml, size_t len, const char *id)
{
    struct sp_report r;

    run(xml, len, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    if (!sp_report_has(&r, id) || r.n != 1) {
        dump(&r);
        fail_msg("want exactly %s", id);
    }
    sp_report_cleanup(&r);
}

static void test_unparsable(void **state)
{
    static const char dtd[] = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"
                              "<md:EntityDescriptor "
                              "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">&a;"
                              "</md:EntityDescriptor>";
    static const char broken[] =
        "<md:EntityDescriptor xmlns:md=\"urn:x\"><a></md:EntityDescriptor>";
    static const char other_root[] =
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>";
    char *big;

    (void)state;
    expect_only(dtd, strlen(dtd), "XML-dtd");
    expect_only(broken, strlen(broken), "XML-wellformed");
    expect_only("", 0, "XML-wellformed");
    expect_only(other_root, strlen(other_root), "MD-01");
    big = calloc(1, SP_MDCHECK_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, ' ', SP_MDCHECK_MAX_BYTES + 1);
    expect_only(big, SP_MDCHECK_MAX_BYTES + 1, "XML-size");
    free(big);
}

/* Six independent breakages: all six ids in one report. */
static void test_lists_every_problem(void **state)
{
    static const char *const ids[] = {"MD-22", "MD-23", "MD-45", "MD-52", "MD-83", "MD-84-spaces"};
    char *a, *b;
    struct sp_report r;

    (void)state;
    a = mutate(fx->xml[PUB].data, "AuthnRequestsSigned=\"true\"", NULL,
               "AuthnRequestsSigned=\"false\"", false);
    b = mutate(a, "WantAssertionsSigned=\"true\"", NULL, "WantAssertionsSigned=\"false\"", false);
    free(a);
    a = mutate(b, "nameid-format:transient<", NULL, "nameid-format:persistent<", false);
    free(b);
    b = mutate(a, "isDefault=\"true\"", NULL, "isDefault=\"false\"", false);
    free(a);
    a = mutate(b, "protocollo@comune", NULL, "protocollo.comune", false);
    free(b);
    b = mutate(a, "+390751234567", NULL, "+39 0751234567", false);
    free(a);
    run(b, strlen(b), SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (!sp_report_has(&r, ids[i])) {
            dump(&r);
            fail_msg("%s missing from the report", ids[i]);
        }
    assert_true(sp_report_has(&r, "MD-14")); /* and the signature no longer verifies */
    assert_true(sp_report_count(&r, SP_SEV_ERROR) >= 7);
    sp_report_cleanup(&r);
    free(b);
}

/* MD-15 validity: the clock moved past notAfter, and close to it. */
static void test_cert_validity(void **state)
{
    struct sp_report r;
    const int64_t day = 86400000;

    (void)state;
    sp_clock_set_offset_ms(800 * day);
    run(fx->xml[PUB].data, fx->xml[PUB].len, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    assert_true(sp_report_has(&r, "MD-15-expired"));
    sp_report_cleanup(&r);
    sp_clock_set_offset_ms(720 * day);
    run(fx->xml[PUB].data, fx->xml[PUB].len, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    assert_true(sp_report_has(&r, "MD-15-expiring"));
    assert_false(sp_report_has(&r, "MD-15-expired"));
    assert_int_equal(sp_report_count(&r, SP_SEV_ERROR), 0);
    sp_report_cleanup(&r);
    sp_clock_set_offset_ms(3700 * day);
    run(fx->xml[IDP].data, fx->xml[IDP].len, SP_MD_ROLE_IDP, SP_MD_PROFILE_AUTO, &r);
    assert_true(sp_report_has(&r, "IDP-cert"));
    sp_report_cleanup(&r);
    sp_clock_set_offset_ms(0);
}

/* A self-signed certificate with a bits-bit RSA key signed with md, as base64 DER. */
static void weak_cert_b64(int bits, const EVP_MD *md, struct sp_buf *out)
{
    EVP_PKEY *key = EVP_RSA_gen((unsigned)bits);
    X509 *x = X509_new();
    unsigned char *der = NULL;
    int n;

    assert_non_null(key);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"weak", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, md) > 0);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    assert_int_equal(sp_b64_encode(out, der, (size_t)n), SP_OK);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* Every ds:X509Certificate of doc replaced by b64. */
static void replace_certs(const char *doc, size_t len, const char *b64, struct sp_buf *out)
{
    static const char open_tag[] = "<ds:X509Certificate>", close_tag[] = "</ds:X509Certificate>";
    const char *p = doc, *end = doc + len;
    unsigned replaced = 0;

    while (p < end) {
        const char *o = strstr(p, open_tag), *c;
        if (o == NULL)
            break;
        c = strstr(o, close_tag);
        assert_non_null(c);
        sp_buf_add(out, p, (size_t)(o - p) + strlen(open_tag));
        sp_buf_adds(out, b64);
        p = c;
        replaced++;
    }
    sp_buf_add(out, p, (size_t)(end - p));
    assert_true(replaced >= 1);
}

/* MD-15: a 1024-bit key signed with SHA-1 in the metadata fails both checks. */
static void test_weak_certificate(void **state)
{
    struct sp_buf b64, doc;
    struct sp_report r;
    (void)state;

    sp_buf_init(&b64, 1 << 16);
    sp_buf_init(&doc, 1 << 22);
    weak_cert_b64(1024, EVP_sha1(), &b64);
    replace_certs(fx->xml[PUB].data, fx->xml[PUB].len, sp_buf_str(&b64), &doc);
    run(doc.data, doc.len, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    assert_true(sp_report_has(&r, "MD-15-key"));
    assert_true(sp_report_has(&r, "MD-15-sha1"));
    sp_report_cleanup(&r);
    run(fx->xml[PUB].data, fx->xml[PUB].len, SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    assert_false(sp_report_has(&r, "MD-15-key"));
    assert_false(sp_report_has(&r, "MD-15-sha1"));
    sp_report_cleanup(&r);
    sp_buf_cleanup(&b64);
    sp_buf_cleanup(&doc);
}

/* IDP-cert-expiring: ten days before the IdP certificate's notAfter. */
static void test_idp_cert_expiring(void **state)
{
    static const char tag[] = "<ds:X509Certificate>";
    const char *o = strstr(fx->xml[IDP].data, tag), *c;
    struct sp_buf der;
    const unsigned char *p;
    X509 *x;
    int days = 0, secs = 0;
    struct sp_report r;
    (void)state;

    assert_non_null(o);
    o += strlen(tag);
    c = strchr(o, '<');
    sp_buf_init(&der, 1 << 16);
    assert_int_equal(sp_b64_decode(&der, o, (size_t)(c - o)), SP_OK);
    p = (const unsigned char *)der.data;
    x = d2i_X509(NULL, &p, (long)der.len);
    assert_non_null(x);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
    X509_free(x);
    sp_buf_cleanup(&der);
    run(fx->xml[IDP].data, fx->xml[IDP].len, SP_MD_ROLE_IDP, SP_MD_PROFILE_AUTO, &r);
    assert_false(sp_report_has(&r, "IDP-cert-expiring"));
    sp_report_cleanup(&r);
    sp_clock_set_offset_ms((int64_t)(days - 10) * 86400 * 1000);
    run(fx->xml[IDP].data, fx->xml[IDP].len, SP_MD_ROLE_IDP, SP_MD_PROFILE_AUTO, &r);
    sp_clock_set_offset_ms(0);
    assert_true(sp_report_has(&r, "IDP-cert-expiring"));
    assert_false(sp_report_has(&r, "IDP-cert"));
    sp_report_cleanup(&r);
}

/* The JSON report parses and carries the same ids as the findings. */
static void test_json(void **state)
{
    char *bad = mutate(fx->xml[PUB].data, "AuthnRequestsSigned=\"true\"", NULL,
                       "AuthnRequestsSigned=\"false\"", false);
    struct sp_report r;
    char *text = NULL;
    size_t len = 0;
    FILE *fp;
    json_t *root, *findings;
    json_error_t jerr;

    (void)state;
    run(bad, strlen(bad), SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    fp = open_memstream(&text, &len);
    assert_non_null(fp);
    sp_report_print_json(&r, fp);
    fclose(fp);
    root = json_loads(text, 0, &jerr);
    if (root == NULL)
        fail_msg("JSON: %s", jerr.text);
    findings = json_object_get(root, "findings");
    assert_true(json_is_array(findings));
    assert_int_equal(json_array_size(findings), r.n);
    for (size_t i = 0; i < r.n; i++) {
        json_t *f = json_array_get(findings, i);
        assert_string_equal(json_string_value(json_object_get(f, "id")), r.items[i].id);
        assert_string_equal(json_string_value(json_object_get(f, "where")), r.items[i].where);
    }
    assert_int_equal(json_integer_value(json_object_get(root, "errors")),
                     sp_report_count(&r, SP_SEV_ERROR));
    json_decref(root);
    free(text);
    free(bad);
    sp_report_cleanup(&r);
}

/* Element paths name the element with its position among same-named siblings. */
static void test_where(void **state)
{
    char *bad = mutate(fx->xml[PUB].data, "<md:SingleLogoutService Binding=\"" REDIR_B "\"", NULL,
                       "<md:SingleLogoutService Binding=\"urn:x\"", false);
    struct sp_report r;
    bool found = false;

    (void)state;
    run(bad, strlen(bad), SP_MD_ROLE_AUTO, SP_MD_PROFILE_AUTO, &r);
    for (unsigned i = 0; i < r.n; i++)
        if (strcmp(r.items[i].id, "MD-41-binding") == 0) {
            assert_string_equal(
                r.items[i].where,
                "/md:EntityDescriptor/md:SPSSODescriptor/md:SingleLogoutService[1]");
            found = true;
        }
    assert_true(found);
    sp_report_cleanup(&r);
    free(bad);
}

static void test_names(void **state)
{
    enum sp_md_role role;
    enum sp_md_profile profile;

    (void)state;
    assert_int_equal(sp_mdcheck_parse_role("idp", &role), SP_OK);
    assert_int_equal(role, SP_MD_ROLE_IDP);
    assert_int_equal(sp_mdcheck_parse_role("x", &role), SP_ERR_INVALID);
    assert_int_equal(sp_mdcheck_parse_profile("ag", &profile), SP_OK);
    assert_int_equal(profile, SP_MD_PROFILE_AG);
    assert_int_equal(sp_mdcheck_parse_profile(NULL, &profile), SP_ERR_INVALID);
}

/* ------------------------------------------------------------------------ */
/* Runner                                                                   */
/* ------------------------------------------------------------------------ */

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
    const char *tmp = getenv("TMPDIR");
    const char *fixtures = getenv("SP_FIXTURES");
    char path[512];

    (void)state;
    if (sp_saml_global_init() != SP_OK)
        return -1;
    fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "%s/sp-mdc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fx->dir));
    for (int i = 0; i < 3; i++)
        sp_buf_init(&fx->xml[i], SP_MDCHECK_MAX_BYTES);
    build(&fx->xml[PUB], "public", public_full_ini);
    build(&fx->xml[PRIV], "private", private_full_ini);
    snprintf(path, sizeof(path), "%s/mdcheck/devidp.xml",
             fixtures ? fixtures : SP_SOURCE_DIR "/tests/fixtures");
    assert_int_equal(sp_file_read(path, &fx->xml[IDP]), SP_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        sp_buf_cleanup(&fx->xml[i]);
    remove_tree(fx->dir);
    free(fx);
    fx = NULL;
    sp_mdcheck_cleanup();
    return 0;
}

int main(void)
{
    static struct CMUnitTest tests[N_MUT + 16];
    static char names[N_MUT][64];
    size_t n = 0;

    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_public);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_private);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_idp);
    for (size_t i = 0; i < N_MUT; i++) {
        snprintf(names[i], sizeof(names[i]), "mutation/%s/%zu", mutations[i].id, i);
        tests[n].name = names[i];
        tests[n].test_func = run_mutation;
        tests[n].initial_state = (void *)&mutations[i];
        n++;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unparsable);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lists_every_problem);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cert_validity);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_weak_certificate);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_idp_cert_expiring);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_json);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_where);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_names);
    return _cmocka_run_group_tests("test_mdcheck", tests, n, setup, teardown);
}
