/*
 * test_metadata: the signed SP metadata against every MD- rule of spec §1 that
 * can be checked on our own output, for a public SP, a private SP with a VAT
 * number and a private SP with a fiscal code only. Each rule is one table row
 * run on each configuration it applies to ("MD-13/public"). Besides XPath
 * checks: schema validation against the OASIS metadata schema (offline), the
 * signature verified with xmlsec against the certificate alone and with the
 * xmlsec1 command line, and lasso loading the document as our identity.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lasso/lasso.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp/metadata.h"
#include "sp/saml.h"
#include "sp_test_configs.h"

#define MD_SCHEMA "/usr/share/xml/opensaml/saml-schema-metadata-2.0.xsd"
#define XMLSEC1 "/usr/bin/xmlsec1"
#define RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
#define EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SOAP "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"

/* ------------------------------------------------------------------------ */
/* Configurations                                                           */
/* ------------------------------------------------------------------------ */

/* Same organisation and entity ID as private_full_ini: it reuses that certificate. */
static const char private_cf_same_org_ini[] = "[sp]\n"
                                              "entity_id = https://sp.example.com/spid\n"
                                              "base_url = https://sp.example.com\n"
                                              "[organization]\n"
                                              "name = Esempio Società per Azioni\n"
                                              "display_name = Esempio S.p.A.\n"
                                              "url = https://www.example.com/\n"
                                              "locality = Forlì\n"
                                              "[contact]\n"
                                              "kind = private\n"
                                              "fiscal_code = 12345678901\n"
                                              "email = spid@example.com\n"
                                              "[billing]\n"
                                              "fiscal_code = 12345678901\n"
                                              "name = Esempio Società per Azioni\n"
                                              "address = Via Roma\n"
                                              "cap = 47121\n"
                                              "city = Forlì\n"
                                              "email = fatture@example.com\n";

enum kind { PUB = 1, PRIV = 2, PRIV_CF = 4, ANY = 7 };

/* One built and parsed metadata document. */
struct md {
    const char *label;
    enum kind kind;
    struct sp_config *cfg;
    struct sp_buf key, cert, xml;
    X509 *x509;
    xmlDoc *doc;
    xmlXPathContext *xp;
};

struct fixture {
    char dir[64];
    struct md md[3];
};

static struct fixture *fx;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", fx->dir, name);
}

static void write_text(const char *name, const char *text, size_t len)
{
    char path[128];
    path_in(path, sizeof(path), name);
    assert_int_equal(sp_file_write_atomic(path, text, len, 0600), SP_OK);
}

static struct sp_config *load_ini(const char *name, const char *text)
{
    char path[128];
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    write_text(name, text, strlen(text));
    path_in(path, sizeof(path), name);
    sp_buf_init(&err, 4096);
    if (sp_config_load(path, &cfg, &err) != SP_OK)
        fail_msg("config %s: %s", name, sp_buf_str(&err));
    sp_buf_cleanup(&err);
    return cfg;
}

static void xp_register(xmlXPathContext *xp)
{
    xmlXPathRegisterNs(xp, BAD_CAST "md", BAD_CAST SP_METADATA_NS_MD);
    xmlXPathRegisterNs(xp, BAD_CAST "ds", BAD_CAST SP_METADATA_NS_DS);
    xmlXPathRegisterNs(xp, BAD_CAST "spid", BAD_CAST SP_METADATA_NS_SPID);
    xmlXPathRegisterNs(xp, BAD_CAST "fpa", BAD_CAST SP_METADATA_NS_FPA);
}

static void md_build(struct md *m, const char *label, enum kind kind, const char *ini_name,
                     const char *ini, const char *key_path, const char *cert_path)
{
    struct sp_buf err;
    enum sp_err rc;
    const unsigned char *p;

    m->label = label;
    m->kind = kind;
    m->cfg = load_ini(ini_name, ini);
    sp_buf_init(&m->key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&m->cert, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&m->xml, 1 << 20);
    sp_buf_init(&err, 4096);
    if (sp_file_exists(key_path) != SP_OK) {
        rc = sp_cert_generate(m->cfg, 2048, 0, key_path, cert_path, &err);
        if (rc != SP_OK)
            fail_msg("generate %s: %s", label, sp_buf_str(&err));
    }
    rc = sp_cert_load_pair(key_path, cert_path, &m->key, &m->cert, &err);
    if (rc == SP_OK)
        rc = sp_metadata_build(m->cfg, m->key.data, m->cert.data, &m->xml, &err);
    if (rc != SP_OK)
        fail_msg("%s: %s: %s", label, sp_errname(rc), sp_buf_str(&err));
    sp_buf_cleanup(&err);
    m->doc = xmlReadMemory(m->xml.data, (int)m->xml.len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(m->doc);
    m->xp = xmlXPathNewContext(m->doc);
    xp_register(m->xp);
    {
        /* the certificate as published in the signing KeyDescriptor */
        struct sp_buf b64, der;
        xmlXPathObject *o = xmlXPathEvalExpression(
            BAD_CAST "string(//md:KeyDescriptor[@use='signing']//ds:X509Certificate)", m->xp);
        sp_buf_init(&b64, 1 << 16);
        sp_buf_init(&der, 1 << 16);
        assert_non_null(o);
        assert_int_equal(sp_buf_adds(&b64, (const char *)o->stringval), SP_OK);
        assert_int_equal(sp_b64_decode(&der, b64.data, b64.len), SP_OK);
        p = (const unsigned char *)der.data;
        m->x509 = d2i_X509(NULL, &p, (long)der.len);
        assert_non_null(m->x509);
        xmlXPathFreeObject(o);
        sp_buf_cleanup(&b64);
        sp_buf_cleanup(&der);
    }
}

static void md_free(struct md *m)
{
    xmlXPathFreeContext(m->xp);
    xmlFreeDoc(m->doc);
    X509_free(m->x509);
    sp_config_free(&m->cfg);
    sp_buf_cleanup_secret(&m->key);
    sp_buf_cleanup(&m->cert);
    sp_buf_cleanup(&m->xml);
}

/* XPath number (count(), boolean()), with the expression in the failure text. */
static double xp_num(const struct md *m, const char *expr)
{
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, m->xp);
    double d;
    if (o == NULL)
        fail_msg("bad XPath %s", expr);
    d = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return d;
}

#define ASSERT_COUNT(m, expr, n)                                                                   \
    do {                                                                                           \
        double got_ = xp_num((m), "count(" expr ")");                                              \
        if (got_ != (double)(n))                                                                   \
            fail_msg("%s: count(%s) = %g, want %d", (m)->label, expr, got_, (int)(n));             \
    } while (0)

#define ASSERT_TRUE_XP(m, expr)                                                                    \
    do {                                                                                           \
        if (xp_num((m), "number(boolean(" expr "))") != 1.0)                                       \
            fail_msg("%s: not true: %s", (m)->label, expr);                                        \
    } while (0)

/* XPath string value; free() it. */
static char *xp_str(const struct md *m, const char *expr)
{
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, m->xp);
    xmlChar *s;
    char *r;
    if (o == NULL)
        fail_msg("bad XPath %s", expr);
    s = xmlXPathCastToString(o);
    r = strdup((const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    return r;
}

static void assert_xp_str(const struct md *m, const char *expr, const char *want)
{
    char *got = xp_str(m, expr);
    if (strcmp(got, want) != 0)
        fail_msg("%s: %s = \"%s\", want \"%s\"", m->label, expr, got, want);
    free(got);
}

static xmlXPathObject *xp_nodes(const struct md *m, const char *expr)
{
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, m->xp);
    if (o == NULL || o->type != XPATH_NODESET)
        fail_msg("bad node-set XPath %s", expr);
    return o;
}

static int xp_n(const xmlXPathObject *o)
{
    return o->nodesetval ? o->nodesetval->nodeNr : 0;
}

static char *node_text(xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *r = strdup(c ? (const char *)c : "");
    xmlFree(c);
    return r;
}

static char *node_attr(xmlNode *n, const char *name)
{
    xmlChar *c = xmlGetProp(n, BAD_CAST name);
    char *r = c ? strdup((const char *)c) : NULL;
    xmlFree(c);
    return r;
}

static bool re_match(const char *re, const char *s)
{
    regex_t r;
    bool ok;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

/* Production endpoint: https:// and no explicit port. */
static void assert_prod_url(const struct md *m, const char *what, const char *url)
{
    if (!re_match("^https://[^/:?#]+(/[^ ]*)?$", url))
        fail_msg("%s: %s \"%s\" is not https:// without a port", m->label, what, url);
}

static const char *subject_text(X509 *x, const char *oid)
{
    X509_NAME *name = X509_get_subject_name(x);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i = X509_NAME_get_index_by_OBJ(name, obj, -1);
    ASN1_OBJECT_free(obj);
    if (i < 0)
        return "";
    return (const char *)ASN1_STRING_get0_data(
        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

/* Local names of the element children of the nodes matched by expr, joined by ' '. */
static char *child_names(const struct md *m, const char *expr)
{
    xmlXPathObject *o = xp_nodes(m, expr);
    struct sp_buf b;
    sp_buf_init(&b, 4096);
    assert_int_equal(xp_n(o), 1);
    for (xmlNode *c = o->nodesetval->nodeTab[0]->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE) {
            if (b.len > 0)
                sp_buf_addc(&b, ' ');
            sp_buf_adds(&b, (const char *)c->name);
        }
    xmlXPathFreeObject(o);
    return sp_buf_detach(&b);
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

/* ------------------------------------------------------------------------ */
/* 1.1 Document shape                                                       */
/* ------------------------------------------------------------------------ */

static void md_01(const struct md *m)
{
    ASSERT_COUNT(m, "/*", 1);
    ASSERT_COUNT(m, "/md:EntityDescriptor", 1);
    ASSERT_COUNT(m, "//md:EntityDescriptor", 1);
}

static void md_02(const struct md *m)
{
    char *id = xp_str(m, "string(/md:EntityDescriptor/@entityID)");
    assert_true(id[0] != '\0');
    assert_string_equal(id, m->cfg->entity_id);
    assert_prod_url(m, "entityID", id);
    /* equal to the certificate's uri (2.5.4.83) */
    assert_string_equal(id, subject_text(m->x509, "2.5.4.83"));
    free(id);
}

static void md_03(const struct md *m)
{
    char *id = xp_str(m, "string(/md:EntityDescriptor/@ID)");
    assert_int_equal(xmlValidateNCName(BAD_CAST id, 0), 0);
    assert_true(re_match("^_[0-9a-f]{32}$", id));
    free(id);
}

static void md_04(const struct md *m)
{
    char *names = child_names(m, "/md:EntityDescriptor");
    const char *want = m->kind == PUB
                           ? "Signature SPSSODescriptor Organization ContactPerson"
                           : "Signature SPSSODescriptor Organization ContactPerson ContactPerson";
    assert_string_equal(names, want);
    ASSERT_COUNT(m, "/md:EntityDescriptor/*[1]/self::ds:Signature", 1);
    free(names);
}

static void md_05(const struct md *m)
{
    const char *x = m->xml.data;
    const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor ";
    assert_true(x[0] == '<');
    assert_true(strncmp(x, decl, strlen(decl)) == 0);
}

/* ------------------------------------------------------------------------ */
/* 1.2 Signature                                                            */
/* ------------------------------------------------------------------------ */

#define SIG "/md:EntityDescriptor/ds:Signature"

static void md_10(const struct md *m)
{
    ASSERT_COUNT(m, SIG, 1);
    ASSERT_COUNT(m, "//ds:Signature", 1);
    ASSERT_COUNT(m, "/md:EntityDescriptor/*[1]/self::ds:Signature", 1);
    ASSERT_COUNT(m, SIG "/ds:SignedInfo/ds:Reference", 1);
    ASSERT_COUNT(m, SIG "//ds:Transform[@Algorithm='" ENVELOPED "']", 1);
    ASSERT_COUNT(m, SIG "/ds:SignatureValue[normalize-space(.)!='']", 1);
}

static void md_11(const struct md *m)
{
    assert_xp_str(m, "string(" SIG "/ds:SignedInfo/ds:SignatureMethod/@Algorithm)", RSA_SHA256);
    assert_xp_str(m, "string(" SIG "/ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm)",
                  EXC_C14N);
}

static void md_12(const struct md *m)
{
    ASSERT_COUNT(m, "//ds:DigestMethod", 1);
    assert_xp_str(m, "string(" SIG "/ds:SignedInfo/ds:Reference/ds:DigestMethod/@Algorithm)",
                  SHA256);
}

static void md_13(const struct md *m)
{
    char *id = xp_str(m, "string(/md:EntityDescriptor/@ID)");
    char *uri = xp_str(m, "string(" SIG "/ds:SignedInfo/ds:Reference/@URI)");
    char *kd = xp_str(m, "string(//md:KeyDescriptor//ds:X509Certificate)");
    xmlXPathObject *o;
    struct sp_buf want;

    assert_true(uri[0] == '#');
    assert_string_equal(uri + 1, id);
    ASSERT_COUNT(m, SIG "/ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", 2);
    assert_xp_str(m, "string(" SIG "//ds:Transforms/ds:Transform[1]/@Algorithm)", ENVELOPED);
    assert_xp_str(m, "string(" SIG "//ds:Transforms/ds:Transform[2]/@Algorithm)", EXC_C14N);
    /* KeyInfo/X509Data/X509Certificate: base64 DER of our certificate, no PEM armour */
    o = xp_nodes(m, SIG "/ds:KeyInfo/ds:X509Data/ds:X509Certificate");
    assert_int_equal(xp_n(o), 1);
    {
        char *t = node_text(o->nodesetval->nodeTab[0]);
        struct sp_buf flat;
        sp_buf_init(&flat, 1 << 16);
        for (const char *p = t; *p; p++)
            if (*p != '\n' && *p != '\r' && *p != ' ')
                sp_buf_addc(&flat, *p);
        assert_null(strstr(t, "BEGIN"));
        sp_buf_init(&want, 1 << 16);
        assert_int_equal(sp_cert_der_base64(m->cert.data, &want), SP_OK);
        assert_string_equal(sp_buf_str(&flat), sp_buf_str(&want));
        assert_string_equal(kd, sp_buf_str(&want));
        sp_buf_cleanup(&flat);
        sp_buf_cleanup(&want);
        free(t);
    }
    xmlXPathFreeObject(o);
    free(id);
    free(uri);
    free(kd);
}

/*
 * Verify with the xmlsec C API against the certificate only: the key comes
 * from cert_pem, never from KeyInfo, and only same-document references count.
 */
static bool verify_with_cert(const char *xml, size_t len, const char *cert_pem)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlNode *root, *sig;
    xmlSecDSigCtx *ctx = NULL;
    const xmlChar *ids[] = {BAD_CAST "ID", NULL};
    bool ok = false;

    if (doc == NULL)
        return false;
    root = xmlDocGetRootElement(doc);
    xmlSecAddIDs(doc, root, ids);
    sig = xmlSecFindChild(root, xmlSecNodeSignature, xmlSecDSigNs);
    if (sig == NULL)
        goto out;
    ctx = xmlSecDSigCtxCreate(NULL);
    assert_non_null(ctx);
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    ctx->signKey =
        xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)cert_pem, (xmlSecSize)strlen(cert_pem),
                                     xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
    assert_non_null(ctx->signKey);
    if (xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded &&
        ctx->signedInfoReferences.use == 1) {
        /* the reference must cover the root, not something else */
        xmlSecDSigReferenceCtx *ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
        xmlChar *id = xmlGetProp(root, BAD_CAST "ID");
        ok = ref != NULL && ref->uri != NULL && ref->uri[0] == '#' && xmlStrEqual(ref->uri + 1, id);
        xmlFree(id);
    }
out:
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return ok;
}

static void md_14(const struct md *m)
{
    char *copy;
    char *p;
    const struct md *other = m->kind == PUB ? &fx->md[1] : &fx->md[0];

    assert_true(verify_with_cert(m->xml.data, m->xml.len, m->cert.data));
    /* another certificate does not verify it */
    assert_string_not_equal(other->cert.data, m->cert.data);
    assert_false(verify_with_cert(m->xml.data, m->xml.len, other->cert.data));
    /* tampering with any signed byte breaks it */
    copy = strdup(m->xml.data);
    p = strstr(copy, "/spid/acs");
    assert_non_null(p);
    p[6] = 'x';
    assert_false(verify_with_cert(copy, strlen(copy), m->cert.data));
    free(copy);
    assert_true(EVP_PKEY_get_bits(X509_get0_pubkey(m->x509)) >= 2048);
}

/* MD-14 with the reference tool: xmlsec1 --verify --id-attr:ID ... --pubkey-cert-pem. */
static void md_14_xmlsec1(const struct md *m)
{
    char xml[128], crt[128], cmd[512];
    int st;

    if (access(XMLSEC1, X_OK) != 0)
        skip();
    path_in(xml, sizeof(xml), "md-check.xml");
    path_in(crt, sizeof(crt), "md-check-cert.pem");
    write_text("md-check.xml", m->xml.data, m->xml.len);
    write_text("md-check-cert.pem", m->cert.data, m->cert.len);
    snprintf(cmd, sizeof(cmd),
             XMLSEC1 " --verify --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"
                     " --pubkey-cert-pem %s %s >/dev/null 2>&1",
             crt, xml);
    st = system(cmd);
    if (st != 0)
        fail_msg("%s: xmlsec1 --verify failed (status %d)", m->label, st);
    unlink(xml);
    unlink(crt);
}

static void md_15(const struct md *m)
{
    EVP_PKEY *k = X509_get0_pubkey(m->x509);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(m->x509)) > 0);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(m->x509)) < 0);
    assert_int_equal(X509_get_signature_nid(m->x509), NID_sha256WithRSAEncryption);
    assert_true(EVP_PKEY_is_a(k, "RSA"));
    assert_true(EVP_PKEY_get_bits(k) >= 2048);
}

/* ------------------------------------------------------------------------ */
/* 1.3-1.8 SPSSODescriptor                                                  */
/* ------------------------------------------------------------------------ */

#define SSO "/md:EntityDescriptor/md:SPSSODescriptor"

static void md_20(const struct md *m)
{
    ASSERT_COUNT(m, SSO, 1);
    ASSERT_COUNT(m, "//md:SPSSODescriptor", 1);
    ASSERT_COUNT(m, "//md:IDPSSODescriptor", 0);
}

static void md_21(const struct md *m)
{
    assert_xp_str(m, "string(" SSO "/@protocolSupportEnumeration)",
                  "urn:oasis:names:tc:SAML:2.0:protocol");
}

static void md_22(const struct md *m)
{
    assert_xp_str(m, "string(" SSO "/@AuthnRequestsSigned)", "true");
}

static void md_23(const struct md *m)
{
    assert_xp_str(m, "string(" SSO "/@WantAssertionsSigned)", "true");
}

static void md_24(const struct md *m)
{
    static const char *const order[] = {"KeyDescriptor", "SingleLogoutService", "NameIDFormat",
                                        "AssertionConsumerService", "AttributeConsumingService"};
    char *names = child_names(m, SSO);
    size_t at = 0;

    for (char *tok = names; *tok;) {
        size_t n = strcspn(tok, " ");
        size_t k = 0;
        while (k < 5 && !(strlen(order[k]) == n && strncmp(tok, order[k], n) == 0))
            k++;
        if (k == 5 || k < at)
            fail_msg("%s: SPSSODescriptor children out of order: %s", m->label, names);
        at = k;
        tok += n;
        if (*tok == ' ')
            tok++;
    }
    free(names);
}

static void md_30(const struct md *m)
{
    ASSERT_COUNT(m, SSO "/md:KeyDescriptor[@use='signing']", 1);
    ASSERT_COUNT(m,
                 SSO "/md:KeyDescriptor[@use='signing']/ds:KeyInfo/ds:X509Data/"
                     "ds:X509Certificate[normalize-space(.)!='']",
                 1);
    /* MD-31: no encryption key, and every KeyDescriptor carries a certificate */
    ASSERT_COUNT(m, SSO "/md:KeyDescriptor[not(.//ds:X509Certificate)]", 0);
}

static void md_40(const struct md *m)
{
    ASSERT_COUNT(m, SSO "/md:SingleLogoutService", 2);
}

static void md_41(const struct md *m)
{
    xmlXPathObject *o = xp_nodes(m, SSO "/md:SingleLogoutService");
    char *want = sp_config_slo_url(m->cfg);

    for (int i = 0; i < xp_n(o); i++) {
        char *b = node_attr(o->nodesetval->nodeTab[i], "Binding");
        char *l = node_attr(o->nodesetval->nodeTab[i], "Location");
        assert_non_null(b);
        assert_non_null(l);
        assert_true(strcmp(b, POST) == 0 || strcmp(b, REDIRECT) == 0 || strcmp(b, SOAP) == 0);
        assert_string_equal(l, want);
        assert_prod_url(m, "SingleLogoutService", l);
        free(b);
        free(l);
    }
    free(want);
    xmlXPathFreeObject(o);
}

static void md_42(const struct md *m)
{
    assert_xp_str(m, "string(" SSO "/md:SingleLogoutService[1]/@Binding)", REDIRECT);
    assert_xp_str(m, "string(" SSO "/md:SingleLogoutService[2]/@Binding)", POST);
}

static void md_45(const struct md *m)
{
    ASSERT_COUNT(m, SSO "/md:NameIDFormat", 1);
    ASSERT_COUNT(
        m, SSO "/md:NameIDFormat[.!='urn:oasis:names:tc:SAML:2.0:nameid-format:transient']", 0);
}

static void md_50(const struct md *m)
{
    xmlXPathObject *o = xp_nodes(m, SSO "/md:AssertionConsumerService");
    assert_true(xp_n(o) >= 1);
    for (int i = 0; i < xp_n(o); i++) {
        char *idx = node_attr(o->nodesetval->nodeTab[i], "index");
        assert_non_null(idx);
        assert_true(re_match("^[0-9]+$", idx));
        free(idx);
    }
    xmlXPathFreeObject(o);
    ASSERT_COUNT(m, SSO "/md:AssertionConsumerService[not(@Binding) or not(@Location)]", 0);
    ASSERT_COUNT(m, SSO "/md:AssertionConsumerService[@Location='']", 0);
}

static void md_51(const struct md *m)
{
    ASSERT_COUNT(m, SSO "/md:AssertionConsumerService[@Binding!='" POST "']", 0);
}

static void md_52(const struct md *m)
{
    ASSERT_COUNT(m, SSO "/md:AssertionConsumerService[@isDefault='true']", 1);
    ASSERT_COUNT(m, SSO "/md:AssertionConsumerService[@isDefault='true' and @index='0']", 1);
}

static void md_53(const struct md *m)
{
    char *want = sp_config_acs_url(m->cfg);
    char *got = xp_str(m, "string(" SSO "/md:AssertionConsumerService[@index='0']/@Location)");
    assert_string_equal(got, want);
    assert_prod_url(m, "AssertionConsumerService", got);
    free(want);
    free(got);
}

static void md_60(const struct md *m)
{
    xmlXPathObject *o = xp_nodes(m, SSO "/md:AttributeConsumingService");
    assert_int_equal(xp_n(o), (int)m->cfg->n_attr_services);
    for (int i = 0; i < xp_n(o); i++) {
        char *idx = node_attr(o->nodesetval->nodeTab[i], "index");
        char want[16];
        assert_non_null(idx);
        snprintf(want, sizeof(want), "%u", m->cfg->attr_services[i].index);
        assert_string_equal(idx, want);
        assert_true(m->cfg->attr_services[i].index <= 65535);
        free(idx);
    }
    xmlXPathFreeObject(o);
}

static void md_61(const struct md *m)
{
    xmlXPathObject *o = xp_nodes(m, SSO "/md:AttributeConsumingService/md:ServiceName");
    assert_int_equal(xp_n(o), (int)m->cfg->n_attr_services);
    for (int i = 0; i < xp_n(o); i++) {
        char *t = node_text(o->nodesetval->nodeTab[i]);
        xmlChar *lang = xmlNodeGetLang(o->nodesetval->nodeTab[i]);
        assert_string_equal(t, m->cfg->attr_services[i].name); /* escaping round-trips */
        assert_non_null(lang);
        assert_string_equal((const char *)lang, "it");
        xmlFree(lang);
        free(t);
    }
    xmlXPathFreeObject(o);
    ASSERT_COUNT(m, SSO "/md:AttributeConsumingService[not(md:ServiceName)]", 0);
}

static void md_62(const struct md *m)
{
    for (unsigned s = 0; s < m->cfg->n_attr_services; s++) {
        char expr[256];
        xmlXPathObject *o;
        snprintf(expr, sizeof(expr),
                 SSO "/md:AttributeConsumingService[@index='%u']/md:RequestedAttribute",
                 m->cfg->attr_services[s].index);
        o = xp_nodes(m, expr);
        assert_true(xp_n(o) >= 1);
        assert_int_equal(xp_n(o), (int)m->cfg->attr_services[s].nattrs);
        for (int i = 0; i < xp_n(o); i++) {
            char *name = node_attr(o->nodesetval->nodeTab[i], "Name");
            assert_non_null(name);
            assert_true(sp_config_is_spid_attribute(name));
            for (int j = 0; j < i; j++) {
                char *prev = node_attr(o->nodesetval->nodeTab[j], "Name");
                assert_string_not_equal(prev, name);
                free(prev);
            }
            free(name);
        }
        xmlXPathFreeObject(o);
    }
}

static void md_63(const struct md *m)
{
    ASSERT_COUNT(m,
                 "//md:RequestedAttribute[@NameFormat and "
                 "@NameFormat!='urn:oasis:names:tc:SAML:2.0:attrname-format:basic' and "
                 "@NameFormat!='urn:oasis:names:tc:SAML:2.0:attrname-format:uri']",
                 0);
}

/* ------------------------------------------------------------------------ */
/* 1.9 Organization                                                         */
/* ------------------------------------------------------------------------ */

#define ORG "/md:EntityDescriptor/md:Organization"

static void md_70(const struct md *m)
{
    ASSERT_COUNT(m, ORG, 1);
    ASSERT_COUNT(m, "//md:Organization", 1);
}

static void md_71(const struct md *m)
{
    static const char *const els[] = {"OrganizationName", "OrganizationDisplayName",
                                      "OrganizationURL"};
    for (size_t e = 0; e < 3; e++) {
        char expr[128];
        xmlXPathObject *o;
        snprintf(expr, sizeof(expr), ORG "/md:%s", els[e]);
        o = xp_nodes(m, expr);
        assert_true(xp_n(o) >= 1);
        for (int i = 0; i < xp_n(o); i++) {
            xmlChar *lang = xmlNodeGetLang(o->nodesetval->nodeTab[i]);
            char *t = node_text(o->nodesetval->nodeTab[i]);
            assert_non_null(lang);
            assert_true(t[0] != '\0');
            xmlFree(lang);
            free(t);
        }
        xmlXPathFreeObject(o);
    }
}

static void md_72(const struct md *m)
{
    ASSERT_COUNT(m, ORG "/md:OrganizationName[@xml:lang='it']", 1);
    ASSERT_COUNT(m, ORG "/md:OrganizationDisplayName[@xml:lang='it']", 1);
    ASSERT_COUNT(m, ORG "/md:OrganizationURL[@xml:lang='it']", 1);
    /* same languages, same count, on all three */
    ASSERT_COUNT(m, ORG "/*[not(@xml:lang='it')]", 0);
}

static void md_73(const struct md *m)
{
    char *url;
    assert_xp_str(m, "string(" ORG "/md:OrganizationName)", subject_text(m->x509, "2.5.4.10"));
    assert_xp_str(m, "string(" ORG "/md:OrganizationName)", m->cfg->org_name);
    assert_xp_str(m, "string(" ORG "/md:OrganizationDisplayName)",
                  subject_text(m->x509, "2.5.4.3"));
    url = xp_str(m, "string(" ORG "/md:OrganizationURL)");
    assert_string_equal(url, m->cfg->org_url);
    assert_true(re_match("^https?://[^ ]+$", url));
    free(url);
}

/* ------------------------------------------------------------------------ */
/* 1.10 ContactPerson                                                       */
/* ------------------------------------------------------------------------ */

#define OTHER "/md:EntityDescriptor/md:ContactPerson[@contactType='other']"
#define BILLING "/md:EntityDescriptor/md:ContactPerson[@contactType='billing']"
#define CC BILLING "/md:Extensions/fpa:CessionarioCommittente"

static void md_80(const struct md *m)
{
    ASSERT_COUNT(m, OTHER, 1);
    ASSERT_COUNT(m, "//md:ContactPerson[@contactType!='other' and @contactType!='billing']", 0);
    ASSERT_COUNT(m, "//md:GivenName | //md:SurName", 0);
}

static void md_81(const struct md *m)
{
    char *names = child_names(m, OTHER "/md:Extensions");
    char *cp = child_names(m, OTHER);
    const char *want;

    ASSERT_COUNT(m, OTHER "/md:Extensions", 1);
    ASSERT_COUNT(m, OTHER "/md:Extensions/*[namespace-uri()!='" SP_METADATA_NS_SPID "']", 0);
    ASSERT_COUNT(m, OTHER "/md:Extensions/spid:Public | " OTHER "/md:Extensions/spid:Private", 1);
    ASSERT_COUNT(m, OTHER "/md:Extensions/*[last()][self::spid:Public or self::spid:Private]", 1);
    ASSERT_COUNT(m, OTHER "/md:Extensions/*[self::spid:Public or self::spid:Private][node()]", 0);
    switch (m->kind) {
    case PUB:
        want = "IPACode Public";
        break;
    case PRIV:
        want = "VATNumber FiscalCode Private";
        break;
    default:
        want = "FiscalCode Private";
        break;
    }
    assert_string_equal(names, want);
    /* element order: Extensions, Company?, EmailAddress, TelephoneNumber? */
    assert_true(re_match("^Extensions( Company)? EmailAddress( TelephoneNumber)?$", cp));
    free(names);
    free(cp);
}

static void md_82(const struct md *m)
{
    ASSERT_COUNT(m, "//md:ContactPerson/md:Company[normalize-space(.)='']", 0);
    /* the billing Company names the invoice recipient, which may differ */
    ASSERT_COUNT(m,
                 OTHER "/md:Company[. != /md:EntityDescriptor/md:Organization/"
                       "md:OrganizationName]",
                 0);
    if (m->kind == PRIV)
        ASSERT_COUNT(m, OTHER "/md:Company", 1);
}

static void md_83(const struct md *m)
{
    xmlXPathObject *o = xp_nodes(m, "//md:ContactPerson/md:EmailAddress");
    assert_int_equal(xp_n(o), m->kind == PUB ? 1 : 2);
    for (int i = 0; i < xp_n(o); i++) {
        char *t = node_text(o->nodesetval->nodeTab[i]);
        /* spid-sp-test: ^(\w|\.|_|-)+@(\w|_|-|\.)+\.\w{2,8}$ */
        if (!re_match("^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+\\.[A-Za-z0-9_]{2,8}$", t))
            fail_msg("%s: bad EmailAddress \"%s\"", m->label, t);
        free(t);
    }
    xmlXPathFreeObject(o);
    ASSERT_COUNT(m, "//md:ContactPerson[count(md:EmailAddress)!=1]", 0);
}

static void md_84(const struct md *m)
{
    ASSERT_COUNT(m, "//md:TelephoneNumber[contains(., ' ')]", 0);
    ASSERT_COUNT(m, "//md:TelephoneNumber[not(starts-with(., '+39'))]", 0);
    if (m->kind == PRIV_CF)
        ASSERT_COUNT(m, "//md:TelephoneNumber", 0);
    else
        ASSERT_COUNT(m, OTHER "/md:TelephoneNumber", 1);
}

static void md_85(const struct md *m)
{
    assert_xp_str(m, "string(" OTHER "/md:Extensions/spid:IPACode)", "c_c745");
    ASSERT_COUNT(m, OTHER "/md:Extensions/spid:IPACode", 1);
    ASSERT_COUNT(m, OTHER "/md:Extensions/spid:Public", 1);
}

static void md_86(const struct md *m)
{
    ASSERT_COUNT(m, "//spid:Private", 0);
    ASSERT_COUNT(m, BILLING, 0);
}

static void md_87(const struct md *m)
{
    ASSERT_COUNT(m, "//spid:IPACode", 0);
    ASSERT_COUNT(m, "//spid:Public", 0);
    ASSERT_COUNT(m, OTHER "/md:Extensions/spid:Private", 1);
}

static void md_88(const struct md *m)
{
    ASSERT_COUNT(m, OTHER "/md:Extensions/spid:VATNumber", m->kind == PRIV ? 1 : 0);
    ASSERT_COUNT(m, OTHER "/md:Extensions/spid:FiscalCode", 1);
    if (m->kind == PRIV) {
        char *vat = xp_str(m, "string(" OTHER "/md:Extensions/spid:VATNumber)");
        assert_true(re_match("^[A-Z]{2}[0-9A-Za-z]+$", vat));
        assert_string_equal(vat, "IT12345678901");
        free(vat);
    }
    assert_xp_str(m, "string(" OTHER "/md:Extensions/spid:FiscalCode)", "12345678901");
}

static void md_89(const struct md *m)
{
    char *da, *sede, *cp, *cc;

    ASSERT_COUNT(m, BILLING, 1);
    ASSERT_COUNT(m, BILLING "/md:Extensions", 1);
    ASSERT_COUNT(m, BILLING "/md:Extensions/*", 1);
    ASSERT_COUNT(m, CC, 1);
    cc = child_names(m, CC);
    assert_true(re_match("^DatiAnagrafici Sede( TerzoIntermediarioSoggettoEmittente)?$", cc));
    cp = child_names(m, BILLING);
    assert_true(re_match("^Extensions( Company)? EmailAddress$", cp));
    da = child_names(m, CC "/fpa:DatiAnagrafici");
    sede = child_names(m, CC "/fpa:Sede");
    if (m->kind == PRIV) {
        assert_string_equal(da, "IdFiscaleIVA CodiceFiscale Anagrafica");
        assert_xp_str(m, "string(" CC "//fpa:IdFiscaleIVA/fpa:IdPaese)", "IT");
        assert_xp_str(m, "string(" CC "//fpa:IdFiscaleIVA/fpa:IdCodice)", "12345678901");
        assert_string_equal(sede, "Indirizzo NumeroCivico CAP Comune Provincia Nazione");
        ASSERT_COUNT(m, BILLING "/md:Company", 1);
    } else {
        assert_string_equal(da, "CodiceFiscale Anagrafica");
        assert_string_equal(sede, "Indirizzo CAP Comune Nazione");
    }
    ASSERT_COUNT(m, CC "//fpa:IdPaese[string-length(.)!=2]", 0);
    ASSERT_COUNT(m, CC "//fpa:IdCodice[string-length(.)<1 or string-length(.)>28]", 0);
    ASSERT_COUNT(m,
                 CC "//fpa:CodiceFiscale[string-length(.)<11 or string-length(.)>16 or "
                    "translate(., 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', '')!='']",
                 0);
    ASSERT_COUNT(m, CC "/fpa:DatiAnagrafici/fpa:Anagrafica/fpa:Denominazione", 1);
    ASSERT_COUNT(m, CC "//fpa:Denominazione[string-length(.)>80 or .='']", 0);
    ASSERT_COUNT(m, CC "/fpa:Sede/fpa:Indirizzo[string-length(.)>60 or .='']", 0);
    ASSERT_TRUE_XP(m, "string-length(" CC "/fpa:Sede/fpa:CAP)=5 and "
                      "translate(" CC "/fpa:Sede/fpa:CAP, '0123456789', '')=''");
    ASSERT_COUNT(m, CC "/fpa:Sede/fpa:Comune[string-length(.)>60 or .='']", 0);
    ASSERT_COUNT(m, CC "/fpa:Sede/fpa:Provincia[string-length(.)!=2]", 0);
    assert_xp_str(m, "string(" CC "/fpa:Sede/fpa:Nazione)", "IT");
    ASSERT_COUNT(m, CC "/fpa:TerzoIntermediarioSoggettoEmittente[.='']", 0);
    free(da);
    free(sede);
    free(cp);
    free(cc);
}

/* ------------------------------------------------------------------------ */
/* Whole-document checks                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The metadata schema imports xmldsig, xmlenc and xml.xsd by their W3C URLs.
 * Debian ships local copies in xmltooling-schemas, whose catalog maps only
 * the namespace names, so this loader maps the URLs to the files and lets the
 * no-network loader handle everything else: validation never goes online.
 */
static const struct {
    const char *url;
    const char *file;
} schema_map[] = {
    {"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd",
     "/usr/share/xml/xmltooling/xmldsig-core-schema.xsd"},
    {"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd",
     "/usr/share/xml/xmltooling/xenc-schema.xsd"},
    {"http://www.w3.org/2001/xml.xsd", "/usr/share/xml/xmltooling/xml.xsd"},
};

static xmlParserInputPtr schema_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    for (size_t i = 0; url != NULL && i < sizeof(schema_map) / sizeof(schema_map[0]); i++)
        if (strcmp(url, schema_map[i].url) == 0)
            return xmlNewInputFromFile(ctxt, schema_map[i].file);
    return xmlNoNetExternalEntityLoader(url, id, ctxt);
}

static void schema_error(void *ctx, xmlErrorPtr e)
{
    struct sp_buf *b = ctx;
    if (e != NULL && e->message != NULL)
        sp_buf_addf(b, "line %d: %s", e->line, e->message);
}

static void md_schema(const struct md *m)
{
    xmlExternalEntityLoader saved = xmlGetExternalEntityLoader();
    xmlSchemaParserCtxt *pctx;
    xmlSchema *schema;
    xmlSchemaValidCtxt *vctx;
    struct sp_buf errs;
    int rc;

    if (access(MD_SCHEMA, R_OK) != 0)
        skip();
    sp_buf_init(&errs, 1 << 16);
    xmlSetExternalEntityLoader(schema_loader);
    pctx = xmlSchemaNewParserCtxt(MD_SCHEMA);
    assert_non_null(pctx);
    xmlSchemaSetParserStructuredErrors(pctx, schema_error, &errs);
    schema = xmlSchemaParse(pctx);
    xmlSetExternalEntityLoader(saved);
    if (schema == NULL)
        fail_msg("cannot load %s: %s", MD_SCHEMA, sp_buf_str(&errs));
    vctx = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(vctx, schema_error, &errs);
    rc = xmlSchemaValidateDoc(vctx, m->doc);
    if (rc != 0)
        fail_msg("%s: schema validation failed (%d): %s", m->label, rc, sp_buf_str(&errs));
    xmlSchemaFreeValidCtxt(vctx);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pctx);
    sp_buf_cleanup(&errs);
}

/* lasso-for-spid §4.1: lasso loads the document as our own identity. */
static void md_lasso(const struct md *m)
{
    LassoServer *server =
        lasso_server_new_from_buffers(m->xml.data, m->key.data, NULL, m->cert.data);
    LassoProvider *p;
    GList *acs, *slo;
    char *want_acs = sp_config_acs_url(m->cfg);
    char *want_slo = sp_config_slo_url(m->cfg);

    if (server == NULL)
        fail_msg("%s: lasso_server_new_from_buffers refused the metadata", m->label);
    p = LASSO_PROVIDER(server);
    assert_string_equal(p->ProviderID, m->cfg->entity_id);
    acs = lasso_provider_get_metadata_list_for_role(p, LASSO_PROVIDER_ROLE_SP,
                                                    "AssertionConsumerService HTTP-POST 0");
    slo = lasso_provider_get_metadata_list_for_role(p, LASSO_PROVIDER_ROLE_SP,
                                                    "SingleLogoutService HTTP-Redirect");
    assert_non_null(acs);
    assert_non_null(slo);
    assert_string_equal((const char *)acs->data, want_acs);
    assert_string_equal((const char *)slo->data, want_slo);
    free(want_acs);
    free(want_slo);
    g_object_unref(server);
}

/* ------------------------------------------------------------------------ */
/* Table                                                                    */
/* ------------------------------------------------------------------------ */

struct rule {
    const char *id;
    unsigned kinds;
    void (*check)(const struct md *m);
};

static const struct rule rules[] = {
    {"MD-01", ANY, md_01},
    {"MD-02", ANY, md_02},
    {"MD-03", ANY, md_03},
    {"MD-04", ANY, md_04},
    {"MD-05", ANY, md_05},
    {"MD-10", ANY, md_10},
    {"MD-11", ANY, md_11},
    {"MD-12", ANY, md_12},
    {"MD-13", ANY, md_13},
    {"MD-14", ANY, md_14},
    {"MD-14-xmlsec1", ANY, md_14_xmlsec1},
    {"MD-15", ANY, md_15},
    {"MD-20", ANY, md_20},
    {"MD-21", ANY, md_21},
    {"MD-22", ANY, md_22},
    {"MD-23", ANY, md_23},
    {"MD-24", ANY, md_24},
    {"MD-30", ANY, md_30},
    {"MD-40", ANY, md_40},
    {"MD-41", ANY, md_41},
    {"MD-42", ANY, md_42},
    {"MD-45", ANY, md_45},
    {"MD-50", ANY, md_50},
    {"MD-51", ANY, md_51},
    {"MD-52", ANY, md_52},
    {"MD-53", ANY, md_53},
    {"MD-60", ANY, md_60},
    {"MD-61", ANY, md_61},
    {"MD-62", ANY, md_62},
    {"MD-63", ANY, md_63},
    {"MD-70", ANY, md_70},
    {"MD-71", ANY, md_71},
    {"MD-72", ANY, md_72},
    {"MD-73", ANY, md_73},
    {"MD-80", ANY, md_80},
    {"MD-81", ANY, md_81},
    {"MD-82", ANY, md_82},
    {"MD-83", ANY, md_83},
    {"MD-84", ANY, md_84},
    {"MD-85", PUB, md_85},
    {"MD-86", PUB, md_86},
    {"MD-87", PRIV | PRIV_CF, md_87},
    {"MD-88", PRIV | PRIV_CF, md_88},
    {"MD-89", PRIV | PRIV_CF, md_89},
    {"schema", ANY, md_schema},
    {"lasso", ANY, md_lasso},
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

struct row {
    const struct rule *rule;
    size_t md; /* index into fx->md, which setup() fills */
    char name[64];
};

static struct row rows[N_RULES * 3];

static void run_row(void **state)
{
    const struct row *r = *state;
    r->rule->check(&fx->md[r->md]);
}

/* ------------------------------------------------------------------------ */
/* Cases outside the table                                                  */
/* ------------------------------------------------------------------------ */

/* The embedded defaults describe a public SP; its metadata builds and loads. */
static void test_defaults_build(void **state)
{
    struct sp_config *cfg = NULL;
    struct sp_buf xml, err;
    const struct md *pub = &fx->md[0];
    LassoServer *server;

    (void)state;
    sp_buf_init(&xml, 1 << 20);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_config_load(NULL, &cfg, &err), SP_OK);
    assert_int_equal(sp_metadata_build(cfg, pub->key.data, pub->cert.data, &xml, &err), SP_OK);
    assert_non_null(strstr(sp_buf_str(&xml), "<spid:Public/>"));
    server = lasso_server_new_from_buffers(xml.data, pub->key.data, NULL, pub->cert.data);
    assert_non_null(server);
    g_object_unref(server);
    sp_config_free(&cfg);
    sp_buf_cleanup(&xml);
    sp_buf_cleanup(&err);
}

/* Every build draws a new ID, and so a new signature. */
static void test_fresh_id(void **state)
{
    const struct md *pub = &fx->md[0];
    struct sp_buf xml;

    (void)state;
    sp_buf_init(&xml, 1 << 20);
    assert_int_equal(sp_metadata_build(pub->cfg, pub->key.data, pub->cert.data, &xml, NULL), SP_OK);
    assert_int_not_equal(strcmp(xml.data, pub->xml.data), 0);
    assert_true(verify_with_cert(xml.data, xml.len, pub->cert.data));
    sp_buf_cleanup(&xml);
}

static void test_refusals(void **state)
{
    const struct md *pub = &fx->md[0];
    struct sp_config c = *pub->cfg;
    struct sp_buf xml, err;

    (void)state;
    sp_buf_init(&xml, 1 << 20);
    sp_buf_init(&err, 4096);
    /* not a certificate */
    assert_int_equal(sp_metadata_build(&c, pub->key.data, "junk", &xml, &err), SP_ERR_CRYPTO);
    /* not a key */
    assert_int_equal(sp_metadata_build(&c, "junk", pub->cert.data, &xml, &err), SP_ERR_CRYPTO);
    /* a telephone number with spaces (MD-84) */
    c.contact_phone = "+39 06 1234";
    assert_int_equal(sp_metadata_build(&c, pub->key.data, pub->cert.data, &xml, &err),
                     SP_ERR_CONFIG);
    c = *pub->cfg;
    c.contact_email = "";
    assert_int_equal(sp_metadata_build(&c, pub->key.data, pub->cert.data, &xml, &err),
                     SP_ERR_CONFIG);
    /* MD-83: the spid-sp-test e-mail pattern */
    {
        static const char *const bad[] = {
            "spid",          "@example.it",         "a@b",  "a@example.i", "a b@example.it",
            "a@@example.it", "a@example.itaaaaaaa", "a@.it"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            c.contact_email = (char *)bad[i];
            if (sp_metadata_build(&c, pub->key.data, pub->cert.data, &xml, &err) != SP_ERR_CONFIG)
                fail_msg("e-mail \"%s\" accepted", bad[i]);
        }
    }
    /* text that is not UTF-8 */
    c = *pub->cfg;
    c.org_display_name = "Citt\xe0";
    assert_int_equal(sp_metadata_build(&c, pub->key.data, pub->cert.data, &xml, &err),
                     SP_ERR_CONFIG);
    /* MD-82: Company of the "other" contact is the OrganizationName */
    c = *pub->cfg;
    c.contact_company = "Altro Ente";
    assert_int_equal(sp_metadata_build(&c, pub->key.data, pub->cert.data, &xml, &err),
                     SP_ERR_CONFIG);
    /* MD-89: FatturaPA field formats of the billing contact */
    {
        const struct md *priv = &fx->md[1];
        struct sp_config pc;
        pc = *priv->cfg;
        pc.billing_cap = "4712";
        assert_int_equal(sp_metadata_build(&pc, priv->key.data, priv->cert.data, &xml, &err),
                         SP_ERR_CONFIG);
        pc = *priv->cfg;
        pc.billing_province = "Fc";
        assert_int_equal(sp_metadata_build(&pc, priv->key.data, priv->cert.data, &xml, &err),
                         SP_ERR_CONFIG);
        pc = *priv->cfg;
        pc.billing_fiscal_code = "123";
        assert_int_equal(sp_metadata_build(&pc, priv->key.data, priv->cert.data, &xml, &err),
                         SP_ERR_CONFIG);
        pc = *priv->cfg;
        pc.billing_vat_code = NULL;
        pc.billing_fiscal_code = NULL;
        assert_int_equal(sp_metadata_build(&pc, priv->key.data, priv->cert.data, &xml, &err),
                         SP_ERR_CONFIG);
        pc = *priv->cfg;
        pc.billing_email = "fatture";
        assert_int_equal(sp_metadata_build(&pc, priv->key.data, priv->cert.data, &xml, &err),
                         SP_ERR_CONFIG);
    }
    /* an output buffer too small */
    {
        struct sp_buf small;
        sp_buf_init(&small, 1024);
        assert_int_equal(sp_metadata_build(pub->cfg, pub->key.data, pub->cert.data, &small, &err),
                         SP_ERR_TOO_LARGE);
        assert_int_equal(small.len, 0);
        sp_buf_cleanup(&small);
    }
    assert_int_equal(xml.len, 0);
    assert_true(err.len > 0);
    sp_buf_cleanup(&xml);
    sp_buf_cleanup(&err);
}

/* ------------------------------------------------------------------------ */
/* Runner                                                                   */
/* ------------------------------------------------------------------------ */

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    char pk[128], pc[128], vk[128], vc[128];

    (void)state;
    if (sp_saml_global_init() != SP_OK)
        return -1;
    fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "%s/sp-md-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fx->dir));
    path_in(pk, sizeof(pk), "pub-key.pem");
    path_in(pc, sizeof(pc), "pub-cert.pem");
    path_in(vk, sizeof(vk), "priv-key.pem");
    path_in(vc, sizeof(vc), "priv-cert.pem");
    md_build(&fx->md[0], "public", PUB, "public.ini", public_full_ini, pk, pc);
    md_build(&fx->md[1], "private", PRIV, "private.ini", private_full_ini, vk, vc);
    md_build(&fx->md[2], "private-cf", PRIV_CF, "private-cf.ini", private_cf_same_org_ini, vk, vc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++)
        md_free(&fx->md[i]);
    remove_tree(fx->dir);
    free(fx);
    fx = NULL;
    return 0;
}

int main(void)
{
    static struct CMUnitTest tests[N_RULES * 3 + 3];
    static const char *const labels[] = {"public", "private", "private-cf"};
    static const enum kind kinds[] = {PUB, PRIV, PRIV_CF};
    size_t n = 0, nrows = 0;
    int rc;

    for (size_t r = 0; r < N_RULES; r++)
        for (size_t k = 0; k < 3; k++) {
            struct row *row;
            if (!(rules[r].kinds & kinds[k]))
                continue;
            row = &rows[nrows++];
            row->rule = &rules[r];
            row->md = k;
            snprintf(row->name, sizeof(row->name), "%s/%s", rules[r].id, labels[k]);
            tests[n].name = row->name;
            tests[n].test_func = run_row;
            tests[n].initial_state = row;
            n++;
        }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defaults_build);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fresh_id);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_refusals);
    rc = _cmocka_run_group_tests("test_metadata", tests, n, setup, teardown);
    return rc;
}
