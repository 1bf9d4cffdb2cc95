/*
 * registry: fetch, verify and cache the SPID registry's signed aggregate of
 * IdP metadata (spid-sp-rules.md §9.2 BT-20..BT-24; lasso-for-spid.md §4.3:
 * we verify with xmlsec against a pinned key ourselves, because lasso's
 * loader either checks nothing or enforces the registry certificate's
 * validity dates).
 *
 * Invariants:
 *  - the signature is verified with the pinned keys only; KeyInfo in the
 *    document is never read, and a pinned certificate is reduced to its
 *    public key (its dates do not matter);
 *  - everything handed out is read from the tree that was verified;
 *  - the cache files are written only with bytes that passed
 *    sp_registry_verify, each through temp file + fsync + rename; a refused
 *    or failed download leaves them as they were.
 *
 * THREAD SAFETY NOTES: libxml2 and xmlsec are initialised once by
 * sp_saml_global_init (lasso_init) and libcurl by sp_registry_global_init,
 * both before threads start. Every call builds its own parser context,
 * xmlsec keys and contexts and curl handle and shares nothing mutable; the
 * only cross-call state is the cache directory, whose writers are serialised
 * by an flock on <data_dir>/registry/lock (it covers threads of one process
 * too: each call opens its own file description). Readers need no lock:
 * files are replaced by rename, and the sidecar names the sha256 of the
 * aggregate it describes.
 */
#define _DEFAULT_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/digest.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/registry.h"
#include "sp/str.h"

#define REG_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define REG_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define REG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define REG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

#define REG_MAX_PIN_BYTES (256u * 1024u) /* registry.cert_file */
#define REG_MAX_META_BYTES (64u * 1024u) /* the sidecar */
#define REG_MAX_CERT_DER (64u * 1024u)   /* one X509Certificate */
#define REG_MAX_HEADER 256               /* ETag / Last-Modified kept */
#define REG_MAX_ENTITY_ID 1024           /* characters of an entityID */
#define REG_MAX_NESTING 8                /* EntitiesDescriptor inside EntitiesDescriptor */
#define REG_MAX_REDIRS 3L
#define REG_MAX_CONNECT_SEC 10L
#define REG_DAY_MS INT64_C(86400000)
#define REG_LOCK_FILE "lock"
#define REG_FILE_MODE 0600
#define REG_DIR_MODE 0700
#define REG_USER_AGENT "spid-sp registry"

static const char *const reg_reason_ids[] = {
#define SP_REGISTRY_REASON_ID(name, id) id,
    SP_REGISTRY_REASONS(SP_REGISTRY_REASON_ID)
#undef SP_REGISTRY_REASON_ID
};

/* Allow-lists (also enforced inside xmlsec, see reg_restrict). */
static const char *const reg_sig_algs[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    NULL,
};
static const char *const reg_digest_algs[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    NULL,
};
static const char *const reg_transforms[] = {REG_ENVELOPED, REG_EXC_C14N, NULL};

/* ---------------------------------------------------------------------------
 * Reasons and small helpers
 * ------------------------------------------------------------------------ */

const char *sp_registry_reason_id(enum sp_registry_reason r)
{
    if ((unsigned)r >= SP_REGISTRY__COUNT)
        return reg_reason_ids[SP_REGISTRY_INTERNAL];
    return reg_reason_ids[r];
}

static enum sp_err reg_err_of(enum sp_registry_reason r)
{
    switch (r) {
    case SP_REGISTRY_OK:
        return SP_OK;
    case SP_REGISTRY_CONFIG:
        return SP_ERR_CONFIG;
    case SP_REGISTRY_UNREACHABLE:
    case SP_REGISTRY_TLS:
    case SP_REGISTRY_HTTP_STATUS:
    case SP_REGISTRY_CACHE_WRITE:
        return SP_ERR_IO;
    case SP_REGISTRY_TOO_LARGE:
        return SP_ERR_TOO_LARGE;
    case SP_REGISTRY_MALFORMED:
    case SP_REGISTRY_NO_IDPS:
        return SP_ERR_INVALID;
    case SP_REGISTRY_UNSIGNED:
    case SP_REGISTRY_BAD_ALGORITHM:
    case SP_REGISTRY_BAD_REFERENCE:
    case SP_REGISTRY_BAD_SIGNATURE:
        return SP_ERR_SIGNATURE;
    case SP_REGISTRY_NO_VALID_UNTIL:
    case SP_REGISTRY_EXPIRED:
        return SP_ERR_EXPIRED;
    case SP_REGISTRY_NAME_MISMATCH:
        return SP_ERR_INTEGRITY;
    case SP_REGISTRY_NO_CACHE:
        return SP_ERR_NOT_FOUND;
    default:
        return SP_ERR_INTERNAL;
    }
}

/* Append a message to err (may be NULL) and return r: every refusal is one call. */
static enum sp_registry_reason reg_fail(struct sp_buf *err, enum sp_registry_reason r,
                                        const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum sp_registry_reason reg_fail(struct sp_buf *err, enum sp_registry_reason r,
                                        const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        va_start(ap, fmt);
        sp_buf_vaddf(err, fmt, ap);
        va_end(ap);
    }
    return r;
}

static bool reg_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST ns) && xmlStrEqual(n->name, BAD_CAST name);
}

/* The next element child of parent named ns:name after prev (NULL: the first). */
static xmlNode *reg_child(const xmlNode *parent, const char *ns, const char *name,
                          const xmlNode *prev)
{
    xmlNode *c;

    if (parent == NULL)
        return NULL;
    for (c = prev ? prev->next : parent->children; c != NULL; c = c->next)
        if (reg_is(c, ns, name))
            return c;
    return NULL;
}

static unsigned reg_count(const xmlNode *parent, const char *ns, const char *name)
{
    unsigned n = 0;
    for (xmlNode *c = reg_child(parent, ns, name, NULL); c != NULL;
         c = reg_child(parent, ns, name, c))
        n++;
    return n;
}

/* An attribute without namespace as a malloc'd string, or NULL. */
static char *reg_attr(const xmlNode *n, const char *name)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
    char *r = v ? sp_xstrdup((const char *)v) : NULL;
    xmlFree(v);
    return r;
}

static bool reg_attr_in(const xmlNode *n, const char *name, const char *const *list)
{
    char *v = reg_attr(n, name);
    bool ok = false;

    for (; v != NULL && *list != NULL && !ok; list++)
        ok = strcmp(v, *list) == 0;
    free(v);
    return ok;
}

/* Trimmed text content, or NULL when empty. */
static char *reg_text(const xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *t = c ? sp_str_trim_dup((const char *)c) : NULL;

    xmlFree(c);
    if (t != NULL && t[0] == '\0') {
        free(t);
        t = NULL;
    }
    return t;
}

/* ---------------------------------------------------------------------------
 * Parsing: no network, no DTD, no entity expansion, bounded size
 * ------------------------------------------------------------------------ */

/* SAX hook: a DOCTYPE stops the parse before its internal subset is read. */
static void reg_sax_no_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlStopParser((xmlParserCtxtPtr)ctx);
}

/* The document, or NULL (not well-formed, or it has a DTD: *dtd then true). */
static xmlDoc *reg_parse(const char *xml, size_t len, bool *dtd)
{
    xmlParserCtxtPtr ctxt;
    xmlDoc *doc;

    *dtd = false;
    if (xml == NULL || len == 0 || len > SP_REGISTRY_MAX_BYTES)
        return NULL;
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return NULL;
    ctxt->sax->internalSubset = reg_sax_no_dtd;
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    /* a stopped parse still returns the (empty) document: refuse it explicitly */
    if (ctxt->errNo == XML_ERR_USER_STOP ||
        (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL)))
        *dtd = true;
    if (doc != NULL && (*dtd || !ctxt->wellFormed || xmlDocGetRootElement(doc) == NULL)) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

/* ---------------------------------------------------------------------------
 * Certificates and per-entity extraction
 * ------------------------------------------------------------------------ */

static char *reg_subject(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    BUF_MEM *mem = NULL;
    char *s = NULL;

    if (bio != NULL && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
                                          XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        BIO_get_mem_ptr(bio, &mem);
        s = sp_xstrndup(mem->data, mem->length);
    }
    BIO_free(bio);
    return s ? s : sp_xstrdup("(unreadable subject)");
}

/* A certificate given as the base64 of its DER (X509Certificate text). */
static bool reg_cert_from_b64(const char *b64, struct sp_registry_cert *out)
{
    struct sp_buf der;
    const unsigned char *p;
    X509 *x = NULL;
    bool ok = false;

    sp_buf_init(&der, REG_MAX_CERT_DER);
    if (sp_b64_decode(&der, b64, strlen(b64)) != SP_OK || der.len == 0)
        goto out;
    p = (const unsigned char *)der.data;
    x = d2i_X509(NULL, &p, (long)der.len);
    if (x == NULL || p != (const unsigned char *)der.data + der.len)
        goto out;
    if (!sp_asn1_time_epoch(X509_get0_notAfter(x), &out->not_after_ms))
        goto out;
    out->not_after_ms *= 1000;
    out->subject = reg_subject(x);
    sp_sha256_hex(der.data, der.len, out->sha256);
    ok = true;
out:
    X509_free(x);
    sp_buf_cleanup(&der);
    ERR_clear_error();
    return ok;
}

/* Signing certificates of one IDPSSODescriptor, appended to e (bounded). */
static void reg_entity_certs(const xmlNode *idp, struct sp_registry_entity *e)
{
    for (xmlNode *kd = reg_child(idp, REG_NS_MD, "KeyDescriptor", NULL); kd != NULL;
         kd = reg_child(idp, REG_NS_MD, "KeyDescriptor", kd)) {
        char *use = reg_attr(kd, "use");
        bool signing = use == NULL || strcmp(use, "signing") == 0;

        free(use);
        if (!signing)
            continue;
        for (xmlNode *ki = reg_child(kd, REG_NS_DS, "KeyInfo", NULL); ki != NULL;
             ki = reg_child(kd, REG_NS_DS, "KeyInfo", ki))
            for (xmlNode *xd = reg_child(ki, REG_NS_DS, "X509Data", NULL); xd != NULL;
                 xd = reg_child(ki, REG_NS_DS, "X509Data", xd))
                for (xmlNode *xc = reg_child(xd, REG_NS_DS, "X509Certificate", NULL); xc != NULL;
                     xc = reg_child(xd, REG_NS_DS, "X509Certificate", xc)) {
                    struct sp_registry_cert c;
                    char *t;

                    if (e->n_certs == SP_REGISTRY_MAX_CERTS) {
                        sp_warnx("registry: IdP %s: more than %d signing certificates; the "
                                 "rest are ignored",
                                 e->entity_id, SP_REGISTRY_MAX_CERTS);
                        return;
                    }
                    memset(&c, 0, sizeof(c));
                    t = reg_text(xc);
                    if (t == NULL || !reg_cert_from_b64(t, &c)) {
                        sp_warnx("registry: IdP %s: a signing certificate cannot be decoded; "
                                 "skipped",
                                 e->entity_id);
                        free(t);
                        continue;
                    }
                    free(t);
                    if (e->certs == NULL)
                        e->certs = sp_xcalloc(SP_REGISTRY_MAX_CERTS, sizeof(*e->certs));
                    e->certs[e->n_certs++] = c;
                }
    }
}

/* OrganizationDisplayName, Italian first (as saml.c does), else NULL. */
static char *reg_display_name(const xmlNode *ed)
{
    xmlNode *org = reg_child(ed, REG_NS_MD, "Organization", NULL);
    char *any = NULL;

    for (xmlNode *n = reg_child(org, REG_NS_MD, "OrganizationDisplayName", NULL); n != NULL;
         n = reg_child(org, REG_NS_MD, "OrganizationDisplayName", n)) {
        xmlChar *lang = xmlNodeGetLang(n);
        bool it = lang != NULL && xmlStrEqual(lang, BAD_CAST "it");
        char *t;

        xmlFree(lang);
        if (!it && any != NULL)
            continue;
        t = reg_text(n);
        if (t == NULL)
            continue;
        if (it) {
            free(any);
            return t;
        }
        any = t;
    }
    return any;
}

/* ed copied into a new document, namespaces reconciled, serialised as UTF-8. */
static bool reg_standalone(const xmlNode *ed, char **xml, size_t *len)
{
    xmlDoc *nd = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *copy = nd ? xmlDocCopyNode((xmlNode *)ed, nd, 1) : NULL;
    xmlChar *mem = NULL;
    int n = 0;
    bool ok = false;

    if (copy == NULL)
        goto out;
    xmlDocSetRootElement(nd, copy);
    if (xmlReconciliateNs(nd, copy) < 0)
        goto out;
    xmlDocDumpMemoryEnc(nd, &mem, &n, "UTF-8");
    if (mem == NULL || n <= 0)
        goto out;
    *xml = sp_xmalloc((size_t)n + 1);
    memcpy(*xml, mem, (size_t)n);
    (*xml)[n] = '\0';
    *len = (size_t)n;
    ok = true;
out:
    xmlFree(mem);
    xmlFreeDoc(nd);
    return ok;
}

/*
 * The entity of an EntityDescriptor with an IDPSSODescriptor. SP_ERR_INVALID
 * (with a message) when it has no entityID or no IDPSSODescriptor.
 */
static enum sp_err reg_entity_from_node(const xmlNode *ed, struct sp_registry_entity *out,
                                        struct sp_buf *err)
{
    struct sp_registry_entity e;
    char *eid = reg_attr(ed, "entityID");

    memset(&e, 0, sizeof(e));
    if (eid == NULL || eid[0] == '\0' || strlen(eid) > REG_MAX_ENTITY_ID) {
        free(eid);
        if (err != NULL)
            sp_buf_adds(err, "an EntityDescriptor has no usable entityID");
        return SP_ERR_INVALID;
    }
    e.entity_id = eid;
    if (reg_child(ed, REG_NS_MD, "IDPSSODescriptor", NULL) == NULL) {
        if (err != NULL)
            sp_buf_addf(err, "%s has no IDPSSODescriptor", eid);
        sp_registry_entity_cleanup(&e);
        return SP_ERR_INVALID;
    }
    e.display_name = reg_display_name(ed);
    if (e.display_name == NULL)
        e.display_name = sp_xstrdup(eid);
    for (xmlNode *idp = reg_child(ed, REG_NS_MD, "IDPSSODescriptor", NULL); idp != NULL;
         idp = reg_child(ed, REG_NS_MD, "IDPSSODescriptor", idp))
        reg_entity_certs(idp, &e);
    if (!reg_standalone(ed, &e.xml, &e.xml_len)) {
        if (err != NULL)
            sp_buf_addf(err, "%s: cannot serialise its EntityDescriptor", eid);
        sp_registry_entity_cleanup(&e);
        return SP_ERR_INTERNAL;
    }
    *out = e;
    return SP_OK;
}

void sp_registry_entity_cleanup(struct sp_registry_entity *e)
{
    if (e == NULL)
        return;
    free(e->entity_id);
    free(e->display_name);
    free(e->xml);
    for (unsigned i = 0; i < e->n_certs; i++)
        free(e->certs[i].subject);
    free(e->certs);
    memset(e, 0, sizeof(*e));
}

void sp_registry_doc_cleanup(struct sp_registry_doc *doc)
{
    if (doc == NULL)
        return;
    for (unsigned i = 0; i < doc->n_entities; i++)
        sp_registry_entity_cleanup(&doc->entities[i]);
    free(doc->entities);
    free(doc->name);
    free(doc->source_url);
    memset(doc, 0, sizeof(*doc));
}

enum sp_err sp_registry_entity_parse(const char *xml, size_t len, struct sp_registry_entity *out,
                                     struct sp_buf *err)
{
    xmlDoc *doc;
    xmlNode *root;
    bool dtd;
    enum sp_err rc;

    if (len > SP_REGISTRY_MAX_BYTES) {
        if (err != NULL)
            sp_buf_addf(err, "larger than %u bytes", SP_REGISTRY_MAX_BYTES);
        return SP_ERR_TOO_LARGE;
    }
    doc = reg_parse(xml, len, &dtd);
    if (doc == NULL) {
        if (err != NULL)
            sp_buf_adds(err, dtd ? "a DTD (DOCTYPE) is not allowed" : "not well-formed XML");
        return SP_ERR_INVALID;
    }
    root = xmlDocGetRootElement(doc);
    if (!reg_is(root, REG_NS_MD, "EntityDescriptor")) {
        if (err != NULL)
            sp_buf_adds(err, "the root element is not an md:EntityDescriptor");
        rc = SP_ERR_INVALID;
    } else {
        rc = reg_entity_from_node(root, out, err);
    }
    xmlFreeDoc(doc);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Pinned keys
 * ------------------------------------------------------------------------ */

struct reg_pins {
    xmlSecKeyPtr keys[SP_REGISTRY_MAX_PINS];
    unsigned n;
};

static void reg_pins_cleanup(struct reg_pins *p)
{
    for (unsigned i = 0; i < p->n; i++)
        xmlSecKeyDestroy(p->keys[i]);
    p->n = 0;
}

/* RSA of 2048 bits or more, EC of 256 bits or more. */
static bool reg_key_strong(EVP_PKEY *pk)
{
    int id = EVP_PKEY_get_base_id(pk);
    int bits = EVP_PKEY_get_bits(pk);

    return (id == EVP_PKEY_RSA && bits >= 2048) || (id == EVP_PKEY_EC && bits >= 256);
}

/* A bare public key for xmlsec: no X.509 data, so no certificate dates are checked. */
static xmlSecKeyPtr reg_xmlsec_key(EVP_PKEY *pk)
{
    BIO *bio = BIO_new(BIO_s_mem());
    BUF_MEM *pem = NULL;
    xmlSecKeyPtr key = NULL;

    if (bio != NULL && PEM_write_bio_PUBKEY(bio, pk) == 1) {
        BIO_get_mem_ptr(bio, &pem);
        key = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)pem->data, (xmlSecSize)pem->length,
                                           xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return key;
}

/* Every CERTIFICATE / PUBLIC KEY block of pem; other blocks are ignored. */
static enum sp_registry_reason reg_pins_load(const char *pem, struct reg_pins *pins,
                                             struct sp_buf *err)
{
    BIO *in = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    unsigned weak = 0;

    pins->n = 0;
    while (in != NULL && pins->n < SP_REGISTRY_MAX_PINS &&
           PEM_read_bio(in, &name, &header, &data, &dlen) == 1) {
        const unsigned char *p = data;
        EVP_PKEY *pk = NULL;

        if (strcmp(name, "CERTIFICATE") == 0) {
            X509 *x = d2i_X509(NULL, &p, dlen);
            pk = x ? X509_get_pubkey(x) : NULL;
            X509_free(x);
        } else if (strcmp(name, "PUBLIC KEY") == 0) {
            pk = d2i_PUBKEY(NULL, &p, dlen);
        }
        if (pk != NULL && !reg_key_strong(pk))
            weak++;
        else if (pk != NULL && (pins->keys[pins->n] = reg_xmlsec_key(pk)) != NULL)
            pins->n++;
        EVP_PKEY_free(pk);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = header = NULL;
        data = NULL;
    }
    BIO_free(in);
    ERR_clear_error(); /* PEM_read_bio leaves "no start line" at the end */
    if (pins->n == 0)
        return reg_fail(err, SP_REGISTRY_CONFIG,
                        "no usable pinned key (PEM CERTIFICATE or PUBLIC KEY, RSA >= 2048 or EC "
                        ">= 256 bits)%s",
                        weak ? "; the key given is too weak" : "");
    return SP_REGISTRY_OK;
}

/* ---------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------ */

/* SignedInfo: algorithms and the one reference, before xmlsec sees it. */
static enum sp_registry_reason reg_check_signed_info(const xmlNode *sig, const char *root_id,
                                                     struct sp_buf *err)
{
    xmlNode *si = reg_child(sig, REG_NS_DS, "SignedInfo", NULL);
    xmlNode *cm = reg_child(si, REG_NS_DS, "CanonicalizationMethod", NULL);
    xmlNode *sm = reg_child(si, REG_NS_DS, "SignatureMethod", NULL);
    xmlNode *ref = reg_child(si, REG_NS_DS, "Reference", NULL);
    xmlNode *tr, *dm;
    char *uri;
    bool uri_ok;

    if (si == NULL || cm == NULL || sm == NULL)
        return reg_fail(err, SP_REGISTRY_BAD_SIGNATURE,
                        "the signature has no SignedInfo with CanonicalizationMethod and "
                        "SignatureMethod");
    if (!reg_attr_in(cm, "Algorithm", (const char *const[]){REG_EXC_C14N, NULL}))
        return reg_fail(err, SP_REGISTRY_BAD_ALGORITHM,
                        "CanonicalizationMethod is not exclusive c14n");
    if (!reg_attr_in(sm, "Algorithm", reg_sig_algs))
        return reg_fail(err, SP_REGISTRY_BAD_ALGORITHM,
                        "SignatureMethod is not RSA or ECDSA with SHA-256/384/512");
    if (reg_count(si, REG_NS_DS, "Reference") != 1)
        return reg_fail(err, SP_REGISTRY_BAD_REFERENCE,
                        "SignedInfo has %u References; exactly 1 is required",
                        reg_count(si, REG_NS_DS, "Reference"));
    uri = reg_attr(ref, "URI");
    uri_ok = uri != NULL && uri[0] == '#' && strcmp(uri + 1, root_id) == 0;
    free(uri);
    if (!uri_ok)
        return reg_fail(err, SP_REGISTRY_BAD_REFERENCE,
                        "the Reference does not point at the EntitiesDescriptor (URI must be "
                        "\"#%s\")",
                        root_id);
    tr = reg_child(ref, REG_NS_DS, "Transforms", NULL);
    for (xmlNode *t = reg_child(tr, REG_NS_DS, "Transform", NULL); t != NULL;
         t = reg_child(tr, REG_NS_DS, "Transform", t))
        if (!reg_attr_in(t, "Algorithm", reg_transforms))
            return reg_fail(err, SP_REGISTRY_BAD_ALGORITHM,
                            "a Reference transform is not enveloped-signature or exclusive c14n");
    dm = reg_child(ref, REG_NS_DS, "DigestMethod", NULL);
    if (!reg_attr_in(dm, "Algorithm", reg_digest_algs))
        return reg_fail(err, SP_REGISTRY_BAD_ALGORITHM, "DigestMethod is not SHA-256/384/512");
    return SP_REGISTRY_OK;
}

/* No element but the root carries root_id as ID (or xml:id): one target for "#ID". */
static bool reg_id_unique(xmlDoc *doc, const xmlNode *root, const char *root_id)
{
    xmlNode *n = (xmlNode *)root;

    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE && n != root)
            for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
                xmlChar *v;
                bool same;

                if (!xmlStrEqual(a->name, BAD_CAST "ID") && !xmlStrEqual(a->name, BAD_CAST "id"))
                    continue;
                v = xmlNodeListGetString(doc, a->children, 1);
                same = v != NULL && strcmp((const char *)v, root_id) == 0;
                xmlFree(v);
                if (same)
                    return false;
            }
        /* depth-first walk without recursion */
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            continue;
        }
        while (n != NULL && n != root && n->next == NULL)
            n = n->parent;
        if (n == NULL || n == root)
            break;
        n = n->next;
    }
    return true;
}

/* Make the root's ID attribute an XML ID so "#ID" resolves to it (and only it). */
static bool reg_register_id(xmlDoc *doc, xmlNode *root, const char *root_id)
{
    xmlAttr *attr = xmlHasProp(root, BAD_CAST "ID");
    xmlAttr *known;

    if (attr == NULL || attr->ns != NULL)
        return false;
    known = xmlGetID(doc, BAD_CAST root_id);
    if (known == NULL)
        return xmlAddID(NULL, doc, BAD_CAST root_id, attr) != NULL;
    return known == attr;
}

static int reg_restrict(xmlSecDSigCtxPtr ctx)
{
    /* an allow-list: anything else in SignedInfo or the Reference fails */
    return xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha384Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha512Id) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id) < 0
               ? -1
               : 0;
}

/*
 * xmlsec with key as the only key (signKey set: KeyInfo is not consulted),
 * same-document references only. Success needs a 0 return AND status
 * succeeded (a tampered document returns 0 with status "invalid"), and the
 * one reference xmlsec processed must be "#" + root_id and have succeeded.
 */
static bool reg_xmlsec_verify(xmlSecKeyPtr key, xmlNode *sig, const char *root_id)
{
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    xmlSecDSigReferenceCtxPtr ref;
    bool ok = false;

    if (ctx == NULL)
        return false;
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    ctx->signKey = xmlSecKeyDuplicate(key);
    if (ctx->signKey != NULL && reg_restrict(ctx) == 0 && xmlSecDSigCtxVerify(ctx, sig) == 0 &&
        ctx->status == xmlSecDSigStatusSucceeded &&
        xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1) {
        ref = (xmlSecDSigReferenceCtxPtr)xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
        ok = ref != NULL && ref->status == xmlSecDSigStatusSucceeded && ref->uri != NULL &&
             ref->uri[0] == '#' && strcmp((const char *)ref->uri + 1, root_id) == 0;
    }
    xmlSecDSigCtxDestroy(ctx);
    return ok;
}

/* Collect the IdPs under parent (EntitiesDescriptor), descending into nested groups. */
static enum sp_registry_reason reg_collect(const xmlNode *parent, unsigned depth,
                                           struct sp_registry_doc *d, unsigned *seen,
                                           struct sp_buf *err)
{
    enum sp_registry_reason r = SP_REGISTRY_OK;

    if (depth > REG_MAX_NESTING)
        return reg_fail(err, SP_REGISTRY_MALFORMED, "EntitiesDescriptor nested more than %d deep",
                        REG_MAX_NESTING);
    for (xmlNode *c = parent->children; c != NULL && r == SP_REGISTRY_OK; c = c->next) {
        struct sp_registry_entity e;
        struct sp_buf why;
        bool dup = false;

        if (reg_is(c, REG_NS_MD, "EntitiesDescriptor")) {
            r = reg_collect(c, depth + 1, d, seen, err);
            continue;
        }
        if (!reg_is(c, REG_NS_MD, "EntityDescriptor"))
            continue;
        if (++*seen > SP_REGISTRY_MAX_ENTITIES)
            return reg_fail(err, SP_REGISTRY_TOO_LARGE, "more than %d EntityDescriptors",
                            SP_REGISTRY_MAX_ENTITIES);
        if (reg_child(c, REG_NS_MD, "IDPSSODescriptor", NULL) == NULL)
            continue; /* an SP or another role: not ours to load */
        sp_buf_init(&why, 2048);
        if (reg_entity_from_node(c, &e, &why) != SP_OK) {
            sp_warnx("registry: an entity is skipped: %s", sp_buf_str(&why));
            sp_buf_cleanup(&why);
            continue;
        }
        sp_buf_cleanup(&why);
        for (unsigned i = 0; i < d->n_entities && !dup; i++)
            dup = strcmp(d->entities[i].entity_id, e.entity_id) == 0;
        if (dup) {
            sp_warnx("registry: IdP %s is listed twice; the first entry is kept", e.entity_id);
            sp_registry_entity_cleanup(&e);
            continue;
        }
        d->entities = sp_xrealloc(d->entities, (d->n_entities + 1) * sizeof(*d->entities));
        d->entities[d->n_entities++] = e;
    }
    return r;
}

/* After the signature: validUntil, Name, the IdPs. */
static enum sp_registry_reason reg_check_content(xmlNode *root, int64_t now_ms,
                                                 const char *expected_name,
                                                 bool require_valid_until,
                                                 struct sp_registry_doc *d, struct sp_buf *err)
{
    char *vu = reg_attr(root, "validUntil");
    enum sp_registry_reason r = SP_REGISTRY_OK;
    unsigned seen = 0;

    if (vu == NULL) {
        if (require_valid_until)
            r = reg_fail(err, SP_REGISTRY_NO_VALID_UNTIL,
                         "the EntitiesDescriptor has no validUntil (registry.require_valid_until)");
    } else if (sp_time_parse(vu, &d->valid_until_ms) != SP_OK) {
        r = reg_fail(err, SP_REGISTRY_MALFORMED, "validUntil \"%.64s\" is not a UTC dateTime", vu);
    } else if (d->valid_until_ms <= now_ms) {
        r = reg_fail(err, SP_REGISTRY_EXPIRED, "validUntil %.64s is in the past", vu);
    }
    free(vu);
    if (r != SP_REGISTRY_OK)
        return r;
    d->name = reg_attr(root, "Name");
    if (expected_name != NULL && expected_name[0] != '\0' &&
        (d->name == NULL || strcmp(d->name, expected_name) != 0))
        return reg_fail(err, SP_REGISTRY_NAME_MISMATCH,
                        "Name \"%.200s\" is not the expected \"%.200s\" (registry.name)",
                        d->name ? d->name : "(none)", expected_name);
    r = reg_collect(root, 0, d, &seen, err);
    if (r == SP_REGISTRY_OK && d->n_entities == 0)
        r = reg_fail(err, SP_REGISTRY_NO_IDPS,
                     "no usable EntityDescriptor with an IDPSSODescriptor (%u entities)", seen);
    return r;
}

static enum sp_registry_reason reg_verify(const char *xml, size_t len, const char *pinned_pem,
                                          int64_t now_ms, const char *expected_name,
                                          bool require_valid_until, struct sp_registry_doc *d,
                                          struct sp_buf *err)
{
    struct reg_pins pins = {.n = 0};
    enum sp_registry_reason r;
    xmlDoc *doc = NULL;
    xmlNode *root, *sig;
    char *root_id = NULL;
    bool dtd, verified = false;

    if (xml == NULL || len == 0)
        return reg_fail(err, SP_REGISTRY_MALFORMED, "empty document");
    if (len > SP_REGISTRY_MAX_BYTES)
        return reg_fail(err, SP_REGISTRY_TOO_LARGE, "the document is larger than %u bytes",
                        SP_REGISTRY_MAX_BYTES);
    r = reg_pins_load(pinned_pem, &pins, err);
    if (r != SP_REGISTRY_OK)
        goto out;
    doc = reg_parse(xml, len, &dtd);
    if (doc == NULL) {
        r = reg_fail(err, SP_REGISTRY_MALFORMED, "%s",
                     dtd ? "a DTD (DOCTYPE) is not allowed" : "not well-formed XML");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (!reg_is(root, REG_NS_MD, "EntitiesDescriptor")) {
        r = reg_fail(err, SP_REGISTRY_MALFORMED, "the root element is not md:EntitiesDescriptor");
        goto out;
    }
    root_id = reg_attr(root, "ID");
    if (root_id == NULL || root_id[0] == '\0') {
        r = reg_fail(err, SP_REGISTRY_MALFORMED, "the EntitiesDescriptor has no ID");
        goto out;
    }
    sig = reg_child(root, REG_NS_DS, "Signature", NULL);
    if (sig == NULL) {
        r = reg_fail(err, SP_REGISTRY_UNSIGNED, "the EntitiesDescriptor is not signed");
        goto out;
    }
    if (reg_child(root, REG_NS_DS, "Signature", sig) != NULL) {
        r = reg_fail(err, SP_REGISTRY_BAD_SIGNATURE,
                     "the EntitiesDescriptor has more than one signature");
        goto out;
    }
    r = reg_check_signed_info(sig, root_id, err);
    if (r != SP_REGISTRY_OK)
        goto out;
    if (!reg_id_unique(doc, root, root_id) || !reg_register_id(doc, root, root_id)) {
        r = reg_fail(err, SP_REGISTRY_BAD_REFERENCE,
                     "the ID \"%.100s\" of the EntitiesDescriptor is not unique in the document",
                     root_id);
        goto out;
    }
    for (unsigned i = 0; i < pins.n && !verified; i++)
        verified = reg_xmlsec_verify(pins.keys[i], sig, root_id);
    if (!verified) {
        r = reg_fail(err, SP_REGISTRY_BAD_SIGNATURE,
                     "the signature does not verify with the pinned key%s (document altered, "
                     "or signed by another key)",
                     pins.n > 1 ? "s" : "");
        goto out;
    }
    /* from here on the tree is the verified one */
    r = reg_check_content(root, now_ms, expected_name, require_valid_until, d, err);
    if (r == SP_REGISTRY_OK)
        sp_sha256_hex(xml, len, d->sha256);
out:
    free(root_id);
    xmlFreeDoc(doc);
    reg_pins_cleanup(&pins);
    return r;
}

enum sp_err sp_registry_verify(const char *xml, size_t len, const char *pinned_pem, int64_t now_ms,
                               const char *expected_name, bool require_valid_until,
                               struct sp_registry_doc *out, const char **reason, struct sp_buf *err)
{
    struct sp_registry_doc d;
    enum sp_registry_reason r;

    memset(&d, 0, sizeof(d));
    r = reg_verify(xml, len, pinned_pem, now_ms, expected_name, require_valid_until, &d, err);
    if (r == SP_REGISTRY_OK)
        *out = d;
    else
        sp_registry_doc_cleanup(&d);
    if (reason != NULL)
        *reason = sp_registry_reason_id(r);
    return reg_err_of(r);
}

/* ---------------------------------------------------------------------------
 * Certificate expiry
 * ------------------------------------------------------------------------ */

enum sp_registry_cert_state sp_registry_cert_state(const struct sp_registry_cert *c, int64_t now_ms,
                                                   unsigned warn_days, int64_t *days_left)
{
    int64_t left = c->not_after_ms - now_ms;

    if (days_left != NULL) /* floor division: -0.5 days is day -1 */
        *days_left = left >= 0 ? left / REG_DAY_MS : -((-left + REG_DAY_MS - 1) / REG_DAY_MS);
    if (left <= 0)
        return SP_REGISTRY_CERT_EXPIRED;
    if (left < (int64_t)warn_days * REG_DAY_MS)
        return SP_REGISTRY_CERT_EXPIRING;
    return SP_REGISTRY_CERT_VALID;
}

unsigned sp_registry_warn_expiring(const struct sp_registry_entity *entities, unsigned n,
                                   int64_t now_ms, unsigned warn_days)
{
    unsigned count = 0;

    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < entities[i].n_certs; j++) {
            const struct sp_registry_cert *c = &entities[i].certs[j];
            int64_t days;
            enum sp_registry_cert_state st = sp_registry_cert_state(c, now_ms, warn_days, &days);

            if (st == SP_REGISTRY_CERT_VALID)
                continue;
            count++;
            if (st == SP_REGISTRY_CERT_EXPIRED)
                sp_warnx("IdP %s: signing certificate %s (sha256 %.16s...) expired %lld day(s) "
                         "ago",
                         entities[i].entity_id, c->subject, c->sha256,
                         (long long)(days < 0 ? -days : days));
            else
                sp_warnx("IdP %s: signing certificate %s (sha256 %.16s...) expires in %lld "
                         "day(s)",
                         entities[i].entity_id, c->subject, c->sha256, (long long)days);
        }
    return count;
}

/* ---------------------------------------------------------------------------
 * The cache: <data_dir>/registry/{aggregate.xml, aggregate.json, lock}
 * ------------------------------------------------------------------------ */

struct reg_meta {
    char *url;
    char etag[REG_MAX_HEADER + 1];
    char last_modified[REG_MAX_HEADER + 1];
    int64_t fetched_ms, checked_ms;
    char sha256[65];
};

static void reg_meta_cleanup(struct reg_meta *m)
{
    free(m->url);
    memset(m, 0, sizeof(*m));
}

/* <data_dir>/registry[/name]; free() it. */
static char *reg_path(const struct sp_config *cfg, const char *name)
{
    struct sp_buf b;

    sp_buf_init(&b, 16384);
    if (name != NULL)
        sp_buf_addf(&b, "%s/%s/%s", cfg->data_dir, SP_REGISTRY_DIR, name);
    else
        sp_buf_addf(&b, "%s/%s", cfg->data_dir, SP_REGISTRY_DIR);
    return sp_buf_detach(&b);
}

/* A header value we store and send back: printable ASCII, bounded. */
static bool reg_header_value_ok(const char *v, size_t n)
{
    if (n == 0 || n > REG_MAX_HEADER)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

static void reg_copy_header(char *dst, const char *v)
{
    size_t n = v ? strlen(v) : 0;

    dst[0] = '\0';
    if (reg_header_value_ok(v, n)) {
        memcpy(dst, v, n);
        dst[n] = '\0';
    }
}

/* The sidecar, or false when it is missing or unreadable (then m is empty). */
static bool reg_meta_read(const char *path, struct reg_meta *m)
{
    struct sp_buf b;
    json_t *j = NULL;
    const char *url = NULL, *etag = NULL, *lm = NULL, *sha = NULL;
    json_int_t fetched = 0, checked = 0;
    bool ok = false;

    memset(m, 0, sizeof(*m));
    sp_buf_init(&b, REG_MAX_META_BYTES);
    if (sp_file_read(path, &b) != SP_OK || b.len == 0)
        goto out;
    j = json_loadb(b.data, b.len, 0, NULL);
    if (j == NULL || json_unpack(j, "{s:s, s?s, s?s, s:I, s?I, s:s}", "url", &url, "etag", &etag,
                                 "last_modified", &lm, "fetched_ms", &fetched, "checked_ms",
                                 &checked, "sha256", &sha) != 0)
        goto out;
    if (strlen(sha) != 64)
        goto out;
    m->url = sp_xstrdup(url);
    reg_copy_header(m->etag, etag);
    reg_copy_header(m->last_modified, lm);
    m->fetched_ms = fetched;
    m->checked_ms = checked;
    memcpy(m->sha256, sha, 65);
    ok = true;
out:
    json_decref(j);
    sp_buf_cleanup(&b);
    return ok;
}

static enum sp_err reg_meta_write(const char *path, const struct reg_meta *m)
{
    /* a missing header is left out (s*): the reader wants a string or no key */
    json_t *j = json_pack("{s:i, s:s, s:s*, s:s*, s:I, s:I, s:s}", "version", 1, "url",
                          m->url ? m->url : "", "etag", m->etag[0] ? m->etag : NULL,
                          "last_modified", m->last_modified[0] ? m->last_modified : NULL,
                          "fetched_ms", (json_int_t)m->fetched_ms, "checked_ms",
                          (json_int_t)m->checked_ms, "sha256", m->sha256);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    enum sp_err rc = SP_ERR_INTERNAL;

    if (text != NULL)
        rc = sp_file_write_atomic(path, text, strlen(text), REG_FILE_MODE);
    free(text);
    json_decref(j);
    return rc;
}

static enum sp_registry_reason reg_read_pin(const struct sp_config *cfg, struct sp_buf *pin,
                                            struct sp_buf *err)
{
    enum sp_err rc;

    if (cfg->registry_url == NULL || cfg->registry_url[0] == '\0')
        return reg_fail(err, SP_REGISTRY_CONFIG, "the registry is disabled (no registry.url)");
    if (cfg->registry_cert_file == NULL || cfg->registry_cert_file[0] == '\0')
        return reg_fail(err, SP_REGISTRY_CONFIG, "registry.cert_file is not set");
    rc = sp_file_read(cfg->registry_cert_file, pin);
    if (rc != SP_OK)
        return reg_fail(err, SP_REGISTRY_CONFIG, "registry.cert_file %s: %s",
                        cfg->registry_cert_file, sp_strerror(rc));
    return SP_REGISTRY_OK;
}

/*
 * Read and verify the cached aggregate; meta (may be NULL) gets the sidecar
 * when it describes these bytes.
 */
static enum sp_registry_reason reg_load(const struct sp_config *cfg, const char *pin,
                                        int64_t now_ms, struct sp_registry_doc *out,
                                        struct reg_meta *meta, struct sp_buf *err)
{
    char *xml_path = reg_path(cfg, SP_REGISTRY_CACHE_XML);
    char *meta_path = reg_path(cfg, SP_REGISTRY_CACHE_META);
    struct sp_registry_doc d;
    struct reg_meta m;
    struct sp_buf b, why;
    enum sp_registry_reason r;
    enum sp_err rc;

    memset(&d, 0, sizeof(d));
    memset(&m, 0, sizeof(m));
    sp_buf_init(&b, SP_REGISTRY_MAX_BYTES);
    sp_buf_init(&why, 4096);
    rc = sp_file_read(xml_path, &b);
    if (rc == SP_ERR_NOT_FOUND) {
        r = reg_fail(err, SP_REGISTRY_NO_CACHE, "no cached copy (%s)", xml_path);
        goto out;
    }
    if (rc != SP_OK) {
        r = reg_fail(err, rc == SP_ERR_TOO_LARGE ? SP_REGISTRY_TOO_LARGE : SP_REGISTRY_INTERNAL,
                     "cannot read %s: %s", xml_path, sp_strerror(rc));
        goto out;
    }
    r = reg_verify(b.data, b.len, pin, now_ms, cfg->registry_name,
                   cfg->registry_require_valid_until, &d, &why);
    if (r != SP_REGISTRY_OK) {
        reg_fail(err, r, "cached copy %s: %s", xml_path, sp_buf_str(&why));
        goto out;
    }
    if (reg_meta_read(meta_path, &m) && strcmp(m.sha256, d.sha256) == 0) {
        d.source_url = sp_xstrdup(m.url);
        d.fetched_ms = m.fetched_ms;
        d.checked_ms = m.checked_ms;
        if (meta != NULL) {
            *meta = m;
            memset(&m, 0, sizeof(m));
        }
    } else {
        sp_warnx("registry: %s does not describe %s; its download details are ignored", meta_path,
                 xml_path);
    }
    *out = d;
    memset(&d, 0, sizeof(d));
out:
    reg_meta_cleanup(&m);
    sp_registry_doc_cleanup(&d);
    sp_buf_cleanup(&b);
    sp_buf_cleanup(&why);
    free(xml_path);
    free(meta_path);
    return r;
}

enum sp_err sp_registry_load_cache(const struct sp_config *cfg, int64_t now_ms,
                                   struct sp_registry_doc *out, const char **reason,
                                   struct sp_buf *err)
{
    struct sp_buf pin;
    enum sp_registry_reason r;

    sp_buf_init(&pin, REG_MAX_PIN_BYTES);
    r = reg_read_pin(cfg, &pin, err);
    if (r == SP_REGISTRY_OK)
        r = reg_load(cfg, sp_buf_str(&pin), now_ms, out, NULL, err);
    sp_buf_cleanup(&pin);
    if (reason != NULL)
        *reason = sp_registry_reason_id(r);
    return reg_err_of(r);
}

/* ---------------------------------------------------------------------------
 * Download (libcurl)
 * ------------------------------------------------------------------------ */

enum sp_err sp_registry_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SP_OK : SP_ERR_INTERNAL;
}

void sp_registry_global_cleanup(void)
{
    curl_global_cleanup();
}

struct reg_http {
    struct sp_buf body;
    bool too_large;
    char etag[REG_MAX_HEADER + 1];
    char last_modified[REG_MAX_HEADER + 1];
};

static size_t reg_curl_write(char *p, size_t size, size_t n, void *ud)
{
    struct reg_http *h = ud;

    if (sp_buf_add(&h->body, p, size * n) != SP_OK) {
        h->too_large = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return size * n;
}

/* "Name: value" into out when the line is that header (value checked, else ""). */
static void reg_header_line(const char *line, size_t len, const char *name, char *out)
{
    size_t nl = strlen(name);
    const char *v;
    size_t vl;

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    v = line + nl + 1;
    vl = len - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl > 0 &&
           (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    out[0] = '\0';
    if (reg_header_value_ok(v, vl)) {
        memcpy(out, v, vl);
        out[vl] = '\0';
    }
}

static size_t reg_curl_header(char *p, size_t size, size_t n, void *ud)
{
    struct reg_http *h = ud;
    size_t len = size * n;

    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* a new response (after a redirect): only the last one's headers count */
        h->etag[0] = h->last_modified[0] = '\0';
        return len;
    }
    reg_header_line(p, len, "ETag", h->etag);
    reg_header_line(p, len, "Last-Modified", h->last_modified);
    return len;
}

static enum sp_registry_reason reg_curl_reason(CURLcode cc, const struct reg_http *h)
{
    if (h->too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return SP_REGISTRY_TOO_LARGE;
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return SP_REGISTRY_TLS;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
        return SP_REGISTRY_INTERNAL;
    default:
        return SP_REGISTRY_UNREACHABLE;
    }
}

/* GET cfg->registry_url, conditional when cond is given; *status = the HTTP status. */
static enum sp_registry_reason reg_http_get(const struct sp_config *cfg,
                                            const struct reg_meta *cond, struct reg_http *h,
                                            long *status, struct sp_buf *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    struct sp_buf line;
    long timeout = (long)(cfg->registry_timeout_sec ? cfg->registry_timeout_sec : 20);
    bool https = sp_str_has_prefix(cfg->registry_url, "https://");
    enum sp_registry_reason r = SP_REGISTRY_OK;
    CURL *c = curl_easy_init();
    CURLcode cc;

    *status = 0;
    if (c == NULL)
        return reg_fail(err, SP_REGISTRY_INTERNAL, "libcurl initialisation failed");
    sp_buf_init(&line, 2 * REG_MAX_HEADER);
    if (cond != NULL && cond->etag[0] != '\0') {
        sp_buf_addf(&line, "If-None-Match: %s", cond->etag);
        hdrs = curl_slist_append(hdrs, sp_buf_str(&line));
        sp_buf_reset(&line);
    }
    if (cond != NULL && cond->last_modified[0] != '\0') {
        sp_buf_addf(&line, "If-Modified-Since: %s", cond->last_modified);
        hdrs = curl_slist_append(hdrs, sp_buf_str(&line));
    }
    curl_easy_setopt(c, CURLOPT_URL, cfg->registry_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, REG_MAX_REDIRS);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->registry_ca_file != NULL && cfg->registry_ca_file[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->registry_ca_file);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                     timeout < REG_MAX_CONNECT_SEC ? timeout : REG_MAX_CONNECT_SEC);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SP_REGISTRY_MAX_BYTES);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, REG_USER_AGENT);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reg_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reg_curl_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    } else {
        r = reg_curl_reason(cc, h);
        if (r == SP_REGISTRY_TOO_LARGE)
            reg_fail(err, r, "%s: the answer is larger than %u bytes", cfg->registry_url,
                     SP_REGISTRY_MAX_BYTES);
        else
            reg_fail(err, r, "%s: %s", cfg->registry_url,
                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    sp_buf_cleanup(&line);
    return r;
}

/* Exclusive lock on <dir>/lock (blocking); the descriptor, or -1. */
static int reg_lock(const char *dir)
{
    struct sp_buf p;
    int fd;

    sp_buf_init(&p, 16384);
    sp_buf_addf(&p, "%s/%s", dir, REG_LOCK_FILE);
    fd = open(sp_buf_str(&p), O_RDWR | O_CREAT | O_CLOEXEC, REG_FILE_MODE);
    sp_buf_cleanup(&p);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    return fd;
}

/* Aggregate first, then the sidecar that names its sha256. */
static enum sp_registry_reason reg_store(const struct sp_config *cfg, const struct sp_buf *body,
                                         const struct reg_meta *m, struct sp_buf *err)
{
    char *xml_path = reg_path(cfg, SP_REGISTRY_CACHE_XML);
    char *meta_path = reg_path(cfg, SP_REGISTRY_CACHE_META);
    enum sp_registry_reason r = SP_REGISTRY_OK;

    if (sp_file_write_atomic(xml_path, body->data, body->len, REG_FILE_MODE) != SP_OK)
        r = reg_fail(err, SP_REGISTRY_CACHE_WRITE, "cannot write %s", xml_path);
    else if (reg_meta_write(meta_path, m) != SP_OK)
        r = reg_fail(err, SP_REGISTRY_CACHE_WRITE, "cannot write %s", meta_path);
    free(xml_path);
    free(meta_path);
    return r;
}

static enum sp_registry_reason reg_fetch(const struct sp_config *cfg, int64_t now_ms,
                                         struct sp_registry_doc *out, bool *not_modified,
                                         struct sp_buf *err)
{
    struct sp_registry_doc cached, fresh;
    struct reg_meta meta, fmeta;
    struct reg_http h;
    struct sp_buf pin;
    enum sp_registry_reason r;
    char *dir = reg_path(cfg, NULL);
    char *meta_path = reg_path(cfg, SP_REGISTRY_CACHE_META);
    bool have_cache, conditional;
    long status = 0;
    int lockfd = -1;

    memset(&cached, 0, sizeof(cached));
    memset(&fresh, 0, sizeof(fresh));
    memset(&meta, 0, sizeof(meta));
    memset(&fmeta, 0, sizeof(fmeta));
    memset(&h, 0, sizeof(h));
    sp_buf_init(&h.body, SP_REGISTRY_MAX_BYTES);
    sp_buf_init(&pin, REG_MAX_PIN_BYTES);
    r = reg_read_pin(cfg, &pin, err);
    if (r != SP_REGISTRY_OK)
        goto out;
    if (sp_file_mkdirs(dir, REG_DIR_MODE) != SP_OK || chmod(dir, REG_DIR_MODE) != 0 ||
        (lockfd = reg_lock(dir)) < 0) {
        r = reg_fail(err, SP_REGISTRY_CACHE_WRITE, "cannot create or lock the cache directory %s",
                     dir);
        goto out;
    }

    /* a valid cached copy from this URL makes the request conditional */
    have_cache = reg_load(cfg, sp_buf_str(&pin), now_ms, &cached, &meta, NULL) == SP_REGISTRY_OK;
    conditional = have_cache && meta.url != NULL && strcmp(meta.url, cfg->registry_url) == 0 &&
                  (meta.etag[0] != '\0' || meta.last_modified[0] != '\0');
    r = reg_http_get(cfg, conditional ? &meta : NULL, &h, &status, err);
    if (r != SP_REGISTRY_OK)
        goto out;
    if (status == 304 && conditional) {
        meta.checked_ms = now_ms;
        if (reg_meta_write(meta_path, &meta) != SP_OK)
            sp_warnx("registry: cannot record the check time in %s", meta_path);
        cached.checked_ms = now_ms;
        *out = cached;
        memset(&cached, 0, sizeof(cached));
        *not_modified = true;
        goto out;
    }
    if (status != 200) {
        r = reg_fail(err, SP_REGISTRY_HTTP_STATUS, "%s: HTTP status %ld", cfg->registry_url,
                     status);
        goto out;
    }
    r = reg_verify(h.body.data, h.body.len, sp_buf_str(&pin), now_ms, cfg->registry_name,
                   cfg->registry_require_valid_until, &fresh, err);
    if (r != SP_REGISTRY_OK)
        goto out;
    fmeta.url = sp_xstrdup(cfg->registry_url);
    memcpy(fmeta.etag, h.etag, sizeof(fmeta.etag));
    memcpy(fmeta.last_modified, h.last_modified, sizeof(fmeta.last_modified));
    fmeta.fetched_ms = fmeta.checked_ms = now_ms;
    memcpy(fmeta.sha256, fresh.sha256, sizeof(fmeta.sha256));
    r = reg_store(cfg, &h.body, &fmeta, err);
    if (r != SP_REGISTRY_OK)
        goto out;
    fresh.source_url = sp_xstrdup(cfg->registry_url);
    fresh.fetched_ms = fresh.checked_ms = now_ms;
    *out = fresh;
    memset(&fresh, 0, sizeof(fresh));
out:
    if (lockfd >= 0)
        close(lockfd); /* releases the flock */
    sp_registry_doc_cleanup(&cached);
    sp_registry_doc_cleanup(&fresh);
    reg_meta_cleanup(&meta);
    reg_meta_cleanup(&fmeta);
    sp_buf_cleanup(&h.body);
    sp_buf_cleanup(&pin);
    free(dir);
    free(meta_path);
    return r;
}

enum sp_err sp_registry_fetch(const struct sp_config *cfg, int64_t now_ms,
                              struct sp_registry_doc *out, bool *not_modified, const char **reason,
                              struct sp_buf *err)
{
    bool nm = false;
    enum sp_registry_reason r = reg_fetch(cfg, now_ms, out, &nm, err);

    if (not_modified != NULL)
        *not_modified = nm;
    if (reason != NULL)
        *reason = sp_registry_reason_id(r);
    return reg_err_of(r);
}
