/*
 * xmlsig: xmlsec-based verification of enveloped signatures with keys from
 * trusted metadata.
 *
 * THREAD SAFETY NOTES: xmlsec is initialised once by lasso_init(). The key
 * list is built before request threads start and never changes; each
 * verification duplicates the key it tries (for OpenSSL keys a reference
 * count increment) into its own xmlSecDSigCtx.
 */
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/digest.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/xmlsig.h"

#define SP_XMLSIG_MAX_KEYS 8
#define SP_XMLSIG_MAX_CERT (64u * 1024u)

struct sp_xmlsig_keys {
    xmlSecKeyPtr keys[SP_XMLSIG_MAX_KEYS];
    struct sp_xmlsig_cert_info info[SP_XMLSIG_MAX_KEYS];
    unsigned n;
};

/*
 * The public key of a base64 DER certificate, as an xmlsec key without X.509
 * data: duplicating such a key per verification is a reference count, while
 * duplicating certificate data would re-decode it through OpenSSL's decoders
 * (global locks) on every message.
 */
static xmlSecKeyPtr xmlsig_key_from_b64(const char *b64, struct sp_xmlsig_cert_info *info)
{
    struct sp_buf der;
    xmlSecKeyPtr key = NULL;
    X509 *x = NULL;
    EVP_PKEY *pub = NULL;
    BIO *bio = NULL;
    BUF_MEM *pem = NULL;
    const unsigned char *p;

    sp_buf_init(&der, SP_XMLSIG_MAX_CERT);
    if (sp_b64_decode(&der, b64, strlen(b64)) != SP_OK || der.len == 0)
        goto out;
    p = (const unsigned char *)der.data;
    x = d2i_X509(NULL, &p, (long)der.len);
    pub = x ? X509_get_pubkey(x) : NULL;
    if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pub) < 2048)
        goto out; /* SPID signing keys are RSA of at least 2048 bits */
    if (info != NULL) {
        char hex[SP_SHA256_HEX_LEN + 1];
        memset(info, 0, sizeof(*info));
        if (!sp_asn1_time_epoch(X509_get0_notAfter(x), &info->not_after))
            info->not_after = 0;
        sp_sha256_hex(der.data, der.len, hex);
        memcpy(info->fingerprint, hex, sizeof(info->fingerprint) - 1);
    }
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, pub) != 1)
        goto out;
    BIO_get_mem_ptr(bio, &pem);
    key = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)pem->data, (xmlSecSize)pem->length,
                                       xmlSecKeyDataFormatPem, NULL, NULL, NULL);
out:
    BIO_free(bio);
    EVP_PKEY_free(pub);
    X509_free(x);
    sp_buf_cleanup(&der);
    return key;
}

struct sp_xmlsig_keys *sp_xmlsig_keys_from_metadata(const char *xml, size_t len,
                                                    const char *entity_id)
{
    static const char expr[] =
        "//md:EntityDescriptor[@entityID=$eid]/md:IDPSSODescriptor/md:KeyDescriptor"
        "[not(@use) or @use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate";
    xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlXPathContext *xp = NULL;
    xmlXPathObject *o = NULL;
    struct sp_xmlsig_keys *k = NULL;

    if (doc == NULL || doc->intSubset != NULL)
        goto out;
    xp = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xp, BAD_CAST "md", BAD_CAST "urn:oasis:names:tc:SAML:2.0:metadata");
    xmlXPathRegisterNs(xp, BAD_CAST "ds", BAD_CAST "http://www.w3.org/2000/09/xmldsig#");
    xmlXPathRegisterVariable(xp, BAD_CAST "eid", xmlXPathNewCString(entity_id));
    o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    if (o == NULL || o->nodesetval == NULL)
        goto out;
    k = sp_xcalloc(1, sizeof(*k));
    for (int i = 0; i < o->nodesetval->nodeNr && k->n < SP_XMLSIG_MAX_KEYS; i++) {
        xmlChar *text = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        xmlSecKeyPtr key = text ? xmlsig_key_from_b64((const char *)text, &k->info[k->n]) : NULL;
        xmlFree(text);
        if (key == NULL) {
            sp_warnx("IdP %s: a signing certificate in its metadata cannot be read", entity_id);
            continue;
        }
        k->keys[k->n++] = key;
    }
    if (k->n == 0)
        sp_xmlsig_keys_free(&k);
out:
    if (k == NULL)
        sp_errorx("IdP %s: no usable signing certificate in its metadata", entity_id);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
    return k;
}

struct sp_xmlsig_keys *sp_xmlsig_keys_from_cert_b64(const char *b64)
{
    struct sp_xmlsig_cert_info info;
    xmlSecKeyPtr key = b64 != NULL ? xmlsig_key_from_b64(b64, &info) : NULL;
    struct sp_xmlsig_keys *k;

    if (key == NULL)
        return NULL;
    k = sp_xcalloc(1, sizeof(*k));
    k->info[k->n] = info;
    k->keys[k->n++] = key;
    return k;
}

void sp_xmlsig_keys_free(struct sp_xmlsig_keys **kp)
{
    struct sp_xmlsig_keys *k = kp ? *kp : NULL;
    if (k == NULL)
        return;
    for (unsigned i = 0; i < k->n; i++)
        xmlSecKeyDestroy(k->keys[i]);
    free(k);
    *kp = NULL;
}

const struct sp_xmlsig_cert_info *sp_xmlsig_keys_info(const struct sp_xmlsig_keys *keys, unsigned i)
{
    return keys != NULL && i < keys->n ? &keys->info[i] : NULL;
}

unsigned sp_xmlsig_keys_count(const struct sp_xmlsig_keys *keys)
{
    return keys ? keys->n : 0;
}

static int xmlsig_restrict(xmlSecDSigCtxPtr ctx)
{
    /* an allow-list: anything else in SignedInfo or a Reference fails */
    return xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id) < 0
               ? -1
               : 0;
}

/* The reference resolves through the XML ID of the signed element. */
static int xmlsig_register_id(xmlNode *elem)
{
    xmlAttr *attr = xmlHasProp(elem, BAD_CAST "ID");
    xmlChar *value;
    int rc = 0;

    if (attr == NULL)
        return -1;
    value = xmlNodeListGetString(elem->doc, attr->children, 1);
    if (value == NULL)
        return -1;
    if (xmlGetID(elem->doc, value) == NULL)
        rc = xmlAddID(NULL, elem->doc, value, attr) == NULL ? -1 : 0;
    else if (xmlGetID(elem->doc, value) != attr)
        rc = -1; /* the ID names another node */
    xmlFree(value);
    return rc;
}

enum sp_err sp_xmlsig_verify(const struct sp_xmlsig_keys *keys, struct _xmlNode *signed_elem,
                             struct _xmlNode *sig)
{
    if (keys == NULL || signed_elem == NULL || sig == NULL || sig->parent != signed_elem)
        return SP_ERR_SIGNATURE;
    if (xmlsig_register_id(signed_elem) != 0)
        return SP_ERR_SIGNATURE;
    for (unsigned i = 0; i < keys->n; i++) {
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
        int ok;

        if (ctx == NULL)
            return SP_ERR_INTERNAL;
        ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
        ctx->signKey = xmlSecKeyDuplicate(keys->keys[i]);
        ok = ctx->signKey != NULL && xmlsig_restrict(ctx) == 0 &&
             xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded;
        xmlSecDSigCtxDestroy(ctx);
        if (ok)
            return SP_OK;
    }
    return SP_ERR_SIGNATURE;
}

/*
 * HTTP-Redirect (detached) signatures: the public key inside each xmlsec key
 * is an OpenSSL EVP_PKEY shared read-only; every verification has its own
 * EVP_MD_CTX, so this is thread-safe like sp_xmlsig_verify.
 */
static const EVP_MD *xmlsig_sigalg_md(const char *sig_alg)
{
    if (sig_alg == NULL)
        return NULL;
    if (strcmp(sig_alg, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") == 0)
        return EVP_sha256();
    if (strcmp(sig_alg, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384") == 0)
        return EVP_sha384();
    if (strcmp(sig_alg, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512") == 0)
        return EVP_sha512();
    return NULL; /* SHA-1 and anything else */
}

enum sp_err sp_xmlsig_verify_detached(const struct sp_xmlsig_keys *keys, const char *sig_alg,
                                      const void *data, size_t len, const void *sig, size_t sig_len)
{
    const EVP_MD *md = xmlsig_sigalg_md(sig_alg);

    if (keys == NULL || md == NULL || data == NULL || sig == NULL || sig_len == 0)
        return SP_ERR_SIGNATURE;
    for (unsigned i = 0; i < keys->n; i++) {
        xmlSecKeyDataPtr value = xmlSecKeyGetValue(keys->keys[i]);
        EVP_PKEY *pub = value ? xmlSecOpenSSLEvpKeyDataGetEvp(value) : NULL;
        EVP_MD_CTX *ctx;
        int ok;

        if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
            continue;
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
            return SP_ERR_INTERNAL;
        ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
        EVP_MD_CTX_free(ctx);
        if (ok)
            return SP_OK;
    }
    return SP_ERR_SIGNATURE;
}
