/*
 * metadata: the SPID SP metadata document (spec §1 MD- rules, skeleton §1.11).
 *
 * The tree is built with libxml2 in schema order, serialised with indentation
 * and parsed again, so the published file is readable and the whitespace the
 * signature covers is exactly what is published. xmlsec then inserts the
 * enveloped signature as the first child of EntityDescriptor and signs with
 * our key; the certificate goes in KeyInfo and in the signing KeyDescriptor.
 *
 * THREAD SAFETY NOTES: uses only per-call libxml2 and xmlsec objects, so calls
 * from several threads are safe once sp_saml_global_init() has run; it is
 * meant for startup and the CLI anyway.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/config.h"
#include "sp/log.h"
#include "sp/metadata.h"
#include "sp/rand.h"
#include "sp/str.h"

#define MD_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define MD_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define MD_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define MD_NAMEID_TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define MD_ATTRNAME_BASIC "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
#define MD_LANG "it"
#define MD_MAX_CERT_B64 (64u << 10)
#define MD_MAX_DOC_BYTES (1u << 20)

/* Namespaces of the document under construction. */
struct metadata_ns {
    xmlNs *md;
    xmlNs *ds;
    xmlNs *spid;
    xmlNs *fpa; /* private SPs only */
};

static bool metadata_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static void metadata_fail(struct sp_buf *err, const char *msg)
{
    if (err == NULL)
        return;
    if (err->len > 0)
        sp_buf_adds(err, "; ");
    sp_buf_adds(err, msg);
}

/* Child element with escaped text content (NULL: empty element). */
static xmlNode *metadata_add(xmlNode *parent, xmlNs *ns, const char *name, const char *text)
{
    return xmlNewTextChild(parent, ns, BAD_CAST name, (const xmlChar *)text);
}

static xmlNode *metadata_add_lang(xmlNode *parent, xmlNs *ns, const char *name, const char *text)
{
    xmlNode *n = metadata_add(parent, ns, name, text);
    xmlNodeSetLang(n, BAD_CAST MD_LANG);
    return n;
}

static void metadata_prop(xmlNode *n, const char *name, const char *value)
{
    xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

static void metadata_endpoint(xmlNode *parent, xmlNs *md, const char *name, const char *binding,
                              const char *location)
{
    xmlNode *n = metadata_add(parent, md, name, NULL);
    metadata_prop(n, "Binding", binding);
    metadata_prop(n, "Location", location);
}

/* ------------------------------------------------------------------------ */
/* SPSSODescriptor (MD-20..MD-63)                                           */
/* ------------------------------------------------------------------------ */

static void metadata_key_descriptor(xmlNode *sso, const struct metadata_ns *ns,
                                    const char *cert_b64)
{
    xmlNode *kd = metadata_add(sso, ns->md, "KeyDescriptor", NULL);
    xmlNode *ki, *xd;

    metadata_prop(kd, "use", "signing");
    ki = metadata_add(kd, ns->ds, "KeyInfo", NULL);
    xd = metadata_add(ki, ns->ds, "X509Data", NULL);
    metadata_add(xd, ns->ds, "X509Certificate", cert_b64);
}

static void metadata_attr_service(xmlNode *sso, xmlNs *md, const struct sp_attr_service *svc)
{
    xmlNode *acs = metadata_add(sso, md, "AttributeConsumingService", NULL);
    char idx[16];

    snprintf(idx, sizeof(idx), "%u", svc->index);
    metadata_prop(acs, "index", idx);
    metadata_add_lang(acs, md, "ServiceName", svc->name);
    for (unsigned i = 0; i < svc->nattrs; i++) {
        xmlNode *ra = metadata_add(acs, md, "RequestedAttribute", NULL);
        metadata_prop(ra, "Name", svc->attrs[i]);
        metadata_prop(ra, "NameFormat", MD_ATTRNAME_BASIC);
    }
}

static enum sp_err metadata_sso(xmlNode *root, const struct metadata_ns *ns,
                                const struct sp_config *cfg, const char *cert_b64,
                                struct sp_buf *err)
{
    xmlNode *sso = metadata_add(root, ns->md, "SPSSODescriptor", NULL);
    char *acs_url = sp_config_acs_url(cfg);
    char *slo_url = sp_config_slo_url(cfg);
    enum sp_err rc = SP_OK;

    metadata_prop(sso, "protocolSupportEnumeration", MD_PROTOCOL);
    metadata_prop(sso, "AuthnRequestsSigned", "true");
    metadata_prop(sso, "WantAssertionsSigned", "true");
    metadata_key_descriptor(sso, ns, cert_b64);
    /* MD-42: the SPID Validator answers on the first SLO endpoint, by Redirect */
    metadata_endpoint(sso, ns->md, "SingleLogoutService", MD_BINDING_REDIRECT, slo_url);
    metadata_endpoint(sso, ns->md, "SingleLogoutService", MD_BINDING_POST, slo_url);
    metadata_add(sso, ns->md, "NameIDFormat", MD_NAMEID_TRANSIENT);
    {
        xmlNode *acs = metadata_add(sso, ns->md, "AssertionConsumerService", NULL);
        metadata_prop(acs, "index", "0");
        metadata_prop(acs, "isDefault", "true");
        metadata_prop(acs, "Binding", MD_BINDING_POST);
        metadata_prop(acs, "Location", acs_url);
    }
    if (cfg->n_attr_services == 0) {
        metadata_fail(err, "no AttributeConsumingService configured (MD-60)");
        rc = SP_ERR_CONFIG;
    }
    for (unsigned i = 0; i < cfg->n_attr_services; i++) {
        if (cfg->attr_services[i].nattrs == 0 || !metadata_set(cfg->attr_services[i].name)) {
            metadata_fail(err,
                          "an AttributeConsumingService needs a name and attributes (MD-61/62)");
            rc = SP_ERR_CONFIG;
        }
        metadata_attr_service(sso, ns->md, &cfg->attr_services[i]);
    }
    free(acs_url);
    free(slo_url);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Organization and ContactPerson (MD-70..MD-89)                            */
/* ------------------------------------------------------------------------ */

static enum sp_err metadata_organization(xmlNode *root, xmlNs *md, const struct sp_config *cfg,
                                         struct sp_buf *err)
{
    xmlNode *org;

    if (!metadata_set(cfg->org_name) || !metadata_set(cfg->org_display_name) ||
        !metadata_set(cfg->org_url)) {
        metadata_fail(err, "organization name, display_name and url must be set (MD-71)");
        return SP_ERR_CONFIG;
    }
    org = metadata_add(root, md, "Organization", NULL);
    metadata_add_lang(org, md, "OrganizationName", cfg->org_name);
    metadata_add_lang(org, md, "OrganizationDisplayName", cfg->org_display_name);
    metadata_add_lang(org, md, "OrganizationURL", cfg->org_url);
    return SP_OK;
}

/* MD-88: spid:VATNumber carries the ISO 3166 prefix; add "IT" to bare digits. */
static void metadata_vat_number(xmlNode *ext, xmlNs *spid, const char *vat)
{
    struct sp_buf b;

    sp_buf_init(&b, 64);
    if (!(isalpha((unsigned char)vat[0]) && isalpha((unsigned char)vat[1])))
        sp_buf_adds(&b, "IT");
    sp_buf_adds(&b, vat);
    metadata_add(ext, spid, "VATNumber", sp_buf_str(&b));
    sp_buf_cleanup(&b);
}

static bool metadata_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/*
 * MD-83, spid-sp-test's pattern ^(\w|\.|_|-)+@(\w|_|-|\.)+\.\w{2,8}$ over
 * ASCII: a local part, "@", a domain, and a last label of 2-8 word characters.
 */
static bool metadata_email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot;
    size_t tld;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return false;
    for (const char *p = s; p < at; p++)
        if (!metadata_word_char(*p) && *p != '.' && *p != '-')
            return false;
    for (const char *p = at + 1; *p; p++)
        if (!metadata_word_char(*p) && *p != '.' && *p != '-')
            return false;
    dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1)
        return false;
    tld = strlen(dot + 1);
    for (const char *p = dot + 1; *p; p++)
        if (!metadata_word_char(*p))
            return false;
    return tld >= 2 && tld <= 8;
}

/* MD-80..MD-88: ContactPerson contactType="other". */
static enum sp_err metadata_contact_other(xmlNode *root, const struct metadata_ns *ns,
                                          const struct sp_config *cfg, struct sp_buf *err)
{
    xmlNode *cp, *ext;
    bool pub = cfg->org_kind == SP_ORG_PUBLIC;

    if (!metadata_set(cfg->contact_email) || !metadata_email_ok(cfg->contact_email)) {
        metadata_fail(err, "contact.email must be an e-mail address (MD-83)");
        return SP_ERR_CONFIG;
    }
    if (metadata_set(cfg->contact_company) && strcmp(cfg->contact_company, cfg->org_name) != 0) {
        metadata_fail(err, "contact.company must equal organization.name (MD-82)");
        return SP_ERR_CONFIG;
    }
    if (pub && !metadata_set(cfg->ipa_code)) {
        metadata_fail(err, "a public SP needs contact.ipa_code (MD-85)");
        return SP_ERR_CONFIG;
    }
    if (!pub && !metadata_set(cfg->vat_number) && !metadata_set(cfg->fiscal_code)) {
        metadata_fail(err, "a private SP needs contact.vat_number or contact.fiscal_code (MD-88)");
        return SP_ERR_CONFIG;
    }
    if (metadata_set(cfg->contact_phone) && strchr(cfg->contact_phone, ' ') != NULL) {
        metadata_fail(err, "contact.phone must not contain spaces (MD-84)");
        return SP_ERR_CONFIG;
    }
    if (metadata_set(cfg->contact_phone) && !sp_str_has_prefix(cfg->contact_phone, "+39"))
        sp_warnx("contact.phone should start with +39 (MD-84)");
    cp = metadata_add(root, ns->md, "ContactPerson", NULL);
    metadata_prop(cp, "contactType", "other");
    ext = metadata_add(cp, ns->md, "Extensions", NULL);
    if (pub)
        metadata_add(ext, ns->spid, "IPACode", cfg->ipa_code); /* MD-87: never for private */
    if (metadata_set(cfg->vat_number))
        metadata_vat_number(ext, ns->spid, cfg->vat_number);
    if (metadata_set(cfg->fiscal_code))
        metadata_add(ext, ns->spid, "FiscalCode", cfg->fiscal_code);
    metadata_add(ext, ns->spid, pub ? "Public" : "Private", NULL);
    if (metadata_set(cfg->contact_company))
        metadata_add(cp, ns->md, "Company", cfg->contact_company);
    metadata_add(cp, ns->md, "EmailAddress", cfg->contact_email);
    if (metadata_set(cfg->contact_phone))
        metadata_add(cp, ns->md, "TelephoneNumber", cfg->contact_phone);
    return SP_OK;
}

/* Code points in a UTF-8 string (continuation bytes do not count). */
static size_t metadata_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Every character is upper-case ASCII or, when digits is set, a digit. */
static bool metadata_upper_code(const char *s, size_t lo, size_t hi, bool digits)
{
    size_t n = strlen(s);
    if (n < lo || n > hi)
        return false;
    for (; *s; s++)
        if (!(isupper((unsigned char)*s) || (digits && isdigit((unsigned char)*s))))
            return false;
    return true;
}

/* MD-89 field formats (FatturaPA CessionarioCommittente). */
static enum sp_err metadata_billing_check(const struct sp_config *cfg, struct sp_buf *err)
{
    const char *why = NULL;

    if (metadata_set(cfg->billing_vat_country) &&
        !metadata_upper_code(cfg->billing_vat_country, 2, 2, false))
        why = "billing.vat_country must be two upper-case letters";
    else if (metadata_set(cfg->billing_vat_code) && metadata_chars(cfg->billing_vat_code) > 28)
        why = "billing.vat_code must be 1-28 characters";
    else if (metadata_set(cfg->billing_fiscal_code) &&
             !metadata_upper_code(cfg->billing_fiscal_code, 11, 16, true))
        why = "billing.fiscal_code must be 11-16 upper-case letters or digits";
    else if (metadata_chars(cfg->billing_name) > 80)
        why = "billing.name must be at most 80 characters";
    else if (metadata_chars(cfg->billing_address) > 60)
        why = "billing.address must be at most 60 characters";
    else if (strlen(cfg->billing_cap) != 5 || strspn(cfg->billing_cap, "0123456789") != 5)
        why = "billing.cap must be 5 digits";
    else if (metadata_chars(cfg->billing_city) > 60)
        why = "billing.city must be at most 60 characters";
    else if (metadata_set(cfg->billing_province) &&
             !metadata_upper_code(cfg->billing_province, 2, 2, false))
        why = "billing.province must be two upper-case letters";
    else if (metadata_set(cfg->billing_country) &&
             !metadata_upper_code(cfg->billing_country, 2, 2, false))
        why = "billing.country must be two upper-case letters";
    if (why == NULL)
        return SP_OK;
    metadata_fail(err, why);
    return SP_ERR_CONFIG;
}

/* MD-89: ContactPerson contactType="billing" with fpa:CessionarioCommittente. */
static enum sp_err metadata_contact_billing(xmlNode *root, const struct metadata_ns *ns,
                                            const struct sp_config *cfg, struct sp_buf *err)
{
    xmlNode *cp, *ext, *cc, *da, *sede;
    bool has_vat = metadata_set(cfg->billing_vat_code);

    if (!metadata_set(cfg->billing_name) || !metadata_set(cfg->billing_address) ||
        !metadata_set(cfg->billing_cap) || !metadata_set(cfg->billing_city) ||
        !metadata_set(cfg->billing_email) || !metadata_email_ok(cfg->billing_email)) {
        metadata_fail(err,
                      "a private SP needs [billing] name, address, cap, city and email (MD-89)");
        return SP_ERR_CONFIG;
    }
    if (!has_vat && !metadata_set(cfg->billing_fiscal_code)) {
        metadata_fail(err, "a private SP needs billing.vat_code or billing.fiscal_code (MD-89)");
        return SP_ERR_CONFIG;
    }
    if (metadata_billing_check(cfg, err) != SP_OK)
        return SP_ERR_CONFIG;
    cp = metadata_add(root, ns->md, "ContactPerson", NULL);
    metadata_prop(cp, "contactType", "billing");
    ext = metadata_add(cp, ns->md, "Extensions", NULL);
    cc = metadata_add(ext, ns->fpa, "CessionarioCommittente", NULL);
    da = metadata_add(cc, ns->fpa, "DatiAnagrafici", NULL);
    if (has_vat) {
        xmlNode *iva = metadata_add(da, ns->fpa, "IdFiscaleIVA", NULL);
        metadata_add(iva, ns->fpa, "IdPaese",
                     metadata_set(cfg->billing_vat_country) ? cfg->billing_vat_country : "IT");
        metadata_add(iva, ns->fpa, "IdCodice", cfg->billing_vat_code);
    }
    if (metadata_set(cfg->billing_fiscal_code))
        metadata_add(da, ns->fpa, "CodiceFiscale", cfg->billing_fiscal_code);
    metadata_add(metadata_add(da, ns->fpa, "Anagrafica", NULL), ns->fpa, "Denominazione",
                 cfg->billing_name);
    sede = metadata_add(cc, ns->fpa, "Sede", NULL);
    metadata_add(sede, ns->fpa, "Indirizzo", cfg->billing_address);
    if (metadata_set(cfg->billing_number))
        metadata_add(sede, ns->fpa, "NumeroCivico", cfg->billing_number);
    metadata_add(sede, ns->fpa, "CAP", cfg->billing_cap);
    metadata_add(sede, ns->fpa, "Comune", cfg->billing_city);
    if (metadata_set(cfg->billing_province))
        metadata_add(sede, ns->fpa, "Provincia", cfg->billing_province);
    metadata_add(sede, ns->fpa, "Nazione",
                 metadata_set(cfg->billing_country) ? cfg->billing_country : "IT");
    if (metadata_set(cfg->billing_company))
        metadata_add(cp, ns->md, "Company", cfg->billing_company);
    metadata_add(cp, ns->md, "EmailAddress", cfg->billing_email);
    return SP_OK;
}

/* ------------------------------------------------------------------------ */
/* Document                                                                 */
/* ------------------------------------------------------------------------ */

/* Every text that goes into the document must be UTF-8, or libxml2 cannot write it. */
static enum sp_err metadata_utf8_check(const struct sp_config *cfg, struct sp_buf *err)
{
    const char *const texts[] = {
        cfg->entity_id,        cfg->base_url,
        cfg->org_name,         cfg->org_display_name,
        cfg->org_url,          cfg->ipa_code,
        cfg->vat_number,       cfg->fiscal_code,
        cfg->contact_email,    cfg->contact_phone,
        cfg->contact_company,  cfg->billing_vat_country,
        cfg->billing_vat_code, cfg->billing_fiscal_code,
        cfg->billing_name,     cfg->billing_address,
        cfg->billing_number,   cfg->billing_cap,
        cfg->billing_city,     cfg->billing_province,
        cfg->billing_country,  cfg->billing_email,
        cfg->billing_company,
    };

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (texts[i] != NULL && !xmlCheckUTF8(BAD_CAST texts[i]))
            goto bad;
    for (unsigned i = 0; i < cfg->n_attr_services; i++)
        if (cfg->attr_services[i].name != NULL &&
            !xmlCheckUTF8(BAD_CAST cfg->attr_services[i].name))
            goto bad;
    return SP_OK;
bad:
    metadata_fail(err, "the configuration holds text that is not valid UTF-8");
    return SP_ERR_CONFIG;
}

/* The unsigned tree, in schema order; NULL with err set on a config problem. */
static xmlDoc *metadata_tree(const struct sp_config *cfg, const char *id, const char *cert_b64,
                             struct sp_buf *err)
{
    xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *root = xmlNewDocNode(doc, NULL, BAD_CAST "EntityDescriptor", NULL);
    struct metadata_ns ns = {NULL, NULL, NULL, NULL};
    enum sp_err rc;

    xmlDocSetRootElement(doc, root);
    ns.md = xmlNewNs(root, BAD_CAST SP_METADATA_NS_MD, BAD_CAST "md");
    ns.ds = xmlNewNs(root, BAD_CAST SP_METADATA_NS_DS, BAD_CAST "ds");
    ns.spid = xmlNewNs(root, BAD_CAST SP_METADATA_NS_SPID, BAD_CAST "spid");
    if (cfg->org_kind == SP_ORG_PRIVATE)
        ns.fpa = xmlNewNs(root, BAD_CAST SP_METADATA_NS_FPA, BAD_CAST "fpa");
    xmlSetNs(root, ns.md);
    metadata_prop(root, "entityID", cfg->entity_id);
    metadata_prop(root, "ID", id);

    rc = metadata_sso(root, &ns, cfg, cert_b64, err);
    if (rc == SP_OK)
        rc = metadata_organization(root, ns.md, cfg, err);
    if (rc == SP_OK)
        rc = metadata_contact_other(root, &ns, cfg, err);
    if (rc == SP_OK && cfg->org_kind == SP_ORG_PRIVATE)
        rc = metadata_contact_billing(root, &ns, cfg, err);
    if (rc != SP_OK) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* Serialise with indentation and parse back: whitespace becomes real text nodes. */
static xmlDoc *metadata_reformat(xmlDoc *doc)
{
    xmlChar *mem = NULL;
    int len = 0;
    xmlDoc *out = NULL;

    xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
    if (mem != NULL && len > 0)
        out = xmlReadMemory((const char *)mem, len, NULL, "UTF-8", XML_PARSE_NONET);
    xmlFree(mem);
    return out;
}

/*
 * The template declares xmlns:ds on ds:Signature although the root already
 * does: point its elements at the root's declaration and drop the duplicate.
 * Exclusive c14n renders the declaration where it is used either way, so this
 * only tidies the published text.
 */
static void metadata_adopt_ds(xmlNode *root, xmlNode *sig)
{
    xmlNs *own = sig->nsDef;
    xmlNs *ds = xmlSearchNsByHref(root->doc, root, BAD_CAST SP_METADATA_NS_DS);
    xmlNode *n = sig;

    if (own == NULL || own->next != NULL || ds == NULL || !xmlStrEqual(own->href, ds->href))
        return;
    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE && n->ns == own)
            n->ns = ds;
        if (n->children != NULL) {
            n = n->children;
            continue;
        }
        while (n != sig && n->next == NULL)
            n = n->parent;
        n = n == sig ? NULL : n->next;
    }
    sig->nsDef = NULL;
    xmlFreeNs(own);
}

/* MD-10..MD-14: enveloped signature, first child, exc-c14n, RSA-SHA256, SHA-256. */
static enum sp_err metadata_sign(xmlDoc *doc, const char *id, const char *key_pem,
                                 const char *cert_pem, struct sp_buf *err)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *first = NULL, *sig = NULL, *ref, *ki, *xd;
    xmlSecDSigCtx *ctx = NULL;
    xmlAttr *idattr = xmlHasProp(root, BAD_CAST "ID");
    char uri[SP_RAND_ID_LEN + 2];
    enum sp_err rc = SP_ERR_SAML;

    /* without a DTD nothing says ID is an ID: register it so "#ID" resolves */
    if (idattr == NULL || xmlAddID(NULL, doc, BAD_CAST id, idattr) == NULL) {
        metadata_fail(err, "cannot register the EntityDescriptor ID");
        goto out;
    }
    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
                                          xmlSecTransformRsaSha256Id, NULL, BAD_CAST "ds");
    if (sig == NULL)
        goto fail;
    for (first = root->children; first != NULL; first = first->next)
        if (first->type == XML_ELEMENT_NODE)
            break;
    if (first == NULL)
        goto fail;
    xmlAddPrevSibling(first, sig);
    /* keep the indentation of the element that used to be first */
    xmlAddPrevSibling(first, xmlNewDocText(doc, BAD_CAST "\n  "));
    metadata_adopt_ds(root, sig);
    snprintf(uri, sizeof(uri), "#%s", id);
    ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST uri, NULL);
    if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
        goto fail;
    ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
    xd = ki ? xmlSecTmplKeyInfoAddX509Data(ki) : NULL;
    if (xd == NULL || xmlSecTmplX509DataAddCertificate(xd) == NULL)
        goto fail;
    ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL)
        goto fail;
    ctx->signKey =
        xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)key_pem, (xmlSecSize)strlen(key_pem),
                                     xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    if (ctx->signKey == NULL || xmlSecCryptoAppKeyCertLoadMemory(
                                    ctx->signKey, (const xmlSecByte *)cert_pem,
                                    (xmlSecSize)strlen(cert_pem), xmlSecKeyDataFormatPem) < 0) {
        metadata_fail(err, "xmlsec cannot load the SP key or certificate");
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    if (xmlSecDSigCtxSign(ctx, sig) < 0) {
        metadata_fail(err, "xmlsec could not sign the metadata");
        goto out;
    }
    rc = SP_OK;
    goto out;
fail:
    metadata_fail(err, "cannot build the signature template");
out:
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx); /* also destroys signKey */
    return rc;
}

enum sp_err sp_metadata_build(const struct sp_config *cfg, const char *key_pem,
                              const char *cert_pem, struct sp_buf *out, struct sp_buf *err)
{
    struct sp_buf cert_b64;
    char id[SP_RAND_ID_LEN + 1];
    xmlDoc *tree = NULL, *doc = NULL;
    xmlChar *mem = NULL;
    int len = 0;
    enum sp_err rc;

    sp_buf_init(&cert_b64, MD_MAX_CERT_B64);
    if (!metadata_set(cfg->entity_id)) {
        metadata_fail(err, "sp.entity_id must be set (MD-02)");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = metadata_utf8_check(cfg, err);
    if (rc != SP_OK)
        goto out;
    rc = sp_cert_der_base64(cert_pem, &cert_b64);
    if (rc != SP_OK) {
        metadata_fail(err, "the SP certificate is not a PEM certificate");
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    sp_rand_id(id); /* MD-03: "_" + hex is an NCName */
    tree = metadata_tree(cfg, id, sp_buf_str(&cert_b64), err);
    if (tree == NULL) {
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = SP_ERR_SAML;
    doc = metadata_reformat(tree);
    if (doc == NULL) {
        metadata_fail(err, "cannot serialise the metadata");
        goto out;
    }
    rc = metadata_sign(doc, id, key_pem, cert_pem, err);
    if (rc != SP_OK)
        goto out;
    /* MD-05: the declaration comes first, the root right after it */
    xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
    if (mem == NULL || len <= 0) {
        metadata_fail(err, "cannot serialise the signed metadata");
        rc = SP_ERR_SAML;
        goto out;
    }
    if ((size_t)len > MD_MAX_DOC_BYTES) {
        metadata_fail(err, "metadata too large");
        rc = SP_ERR_TOO_LARGE;
        goto out;
    }
    rc = sp_buf_add(out, mem, (size_t)len);
    if (rc != SP_OK)
        metadata_fail(err, "metadata does not fit the output buffer");
out:
    xmlFree(mem);
    xmlFreeDoc(doc);
    xmlFreeDoc(tree);
    sp_buf_cleanup(&cert_b64);
    return rc;
}
