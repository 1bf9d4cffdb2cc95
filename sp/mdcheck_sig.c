/*
 * mdcheck_sig: the enveloped signature of a metadata document (MD-10..MD-15
 * for an SP; the same checks under SIG- ids for an IdP, whose signature is
 * optional here because registry entities are signed by the aggregate):
 * placement, algorithms, the single reference to the root, the transforms,
 * the certificate in KeyInfo, xmlsec verification with that certificate
 * (sp_xmlsig, the same allow-list as for SAML messages) and the match with a
 * signing KeyDescriptor of the role descriptor.
 */
#include <stdlib.h>
#include <string.h>

#include "sp/xmlsig.h"
#include "mdcheck_priv.h"

#define MDC_ALG_PREFIX "http://www.w3.org/2001/04/xmldsig-more#"
#define MDC_DIGEST_PREFIX "http://www.w3.org/2001/04/xmlenc#"
#define MDC_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define MDC_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

struct mdc_sig_ids {
    const char *present, *place, *alg, *digest, *ref, *transforms, *cert, *verify, *match;
    enum sp_severity absent_sev;
};

static const struct mdc_sig_ids sp_ids = {
    "SIG-present",      "MD-10",      "MD-11", "MD-12",          "MD-13-ref",
    "MD-13-transforms", "MD-13-cert", "MD-14", "SIG-cert-match", SP_SEV_ERROR};
static const struct mdc_sig_ids idp_ids = {
    "SIG-present",    "SIG-place", "SIG-alg",    "SIG-digest",     "SIG-ref",
    "SIG-transforms", "SIG-cert",  "SIG-verify", "SIG-cert-match", SP_SEV_WARNING};

static bool mdc_alg_in(const char *alg, const char *prefix, const char *const *names)
{
    size_t pl = strlen(prefix);

    if (alg == NULL || strncmp(alg, prefix, pl) != 0)
        return false;
    for (; *names != NULL; names++)
        if (strcmp(alg + pl, *names) == 0)
            return true;
    return false;
}

static xmlNode *mdc_first_element(const xmlNode *parent)
{
    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

static void mdc_sig_algorithms(struct mdc *m, const struct mdc_sig_ids *ids, xmlNode *si)
{
    static const char *const sig_algs[] = {"rsa-sha256", "rsa-sha384", "rsa-sha512", NULL};
    xmlNode *sm = mdc_child(si, MDC_NS_DS, "SignatureMethod", NULL);
    char *alg = mdc_attr(sm, "Algorithm");

    mdc_ran(m);
    if (!mdc_alg_in(alg, MDC_ALG_PREFIX, sig_algs))
        mdc_fail(m, ids->alg, SP_SEV_ERROR, sm ? sm : si,
                 "SignatureMethod \"%s\" is not RSA-SHA256/384/512%s", alg ? alg : "(none)",
                 alg && strstr(alg, "sha1") ? " (SHA-1 is refused)" : "");
    xmlFree(alg);
}

static void mdc_sig_reference(struct mdc *m, const struct mdc_sig_ids *ids, xmlNode *si)
{
    static const char *const digests[] = {"sha256", "sha384", "sha512", NULL};
    unsigned nref = mdc_count(si, MDC_NS_DS, "Reference");
    xmlNode *ref = mdc_child(si, MDC_NS_DS, "Reference", NULL);
    xmlNode *cm = mdc_child(si, MDC_NS_DS, "CanonicalizationMethod", NULL);
    char *uri = mdc_attr(ref, "URI");
    char *root_id = mdc_attr(m->root, "ID");
    xmlNode *tr = mdc_child(ref, MDC_NS_DS, "Transforms", NULL);
    xmlNode *t1 = mdc_child(tr, MDC_NS_DS, "Transform", NULL);
    xmlNode *t2 = mdc_child(tr, MDC_NS_DS, "Transform", t1);

    mdc_ran(m);
    if (nref != 1)
        mdc_fail(m, ids->ref, SP_SEV_ERROR, si,
                 "SignedInfo has %u References; exactly 1 is required", nref);
    else if (root_id == NULL || uri == NULL || uri[0] != '#' || strcmp(uri + 1, root_id) != 0)
        mdc_fail(m, ids->ref, SP_SEV_ERROR, ref,
                 "Reference URI \"%s\" does not point at the EntityDescriptor ID \"%s\"",
                 uri ? uri : "(none)", root_id ? root_id : "(none)");

    mdc_ran(m);
    for (xmlNode *r = ref; r != NULL; r = mdc_child(si, MDC_NS_DS, "Reference", r)) {
        xmlNode *dm = mdc_child(r, MDC_NS_DS, "DigestMethod", NULL);
        char *alg = mdc_attr(dm, "Algorithm");
        if (!mdc_alg_in(alg, MDC_DIGEST_PREFIX, digests))
            mdc_fail(m, ids->digest, SP_SEV_ERROR, dm ? dm : r,
                     "DigestMethod \"%s\" is not SHA-256/384/512", alg ? alg : "(none)");
        xmlFree(alg);
    }

    mdc_ran(m);
    if (!mdc_attr_is(cm, "Algorithm", MDC_EXC_C14N))
        mdc_fail(m, ids->transforms, SP_SEV_ERROR, cm ? cm : si,
                 "CanonicalizationMethod is not exclusive c14n (%s)", MDC_EXC_C14N);
    if (ref != NULL && (!mdc_attr_is(t1, "Algorithm", MDC_ENVELOPED) ||
                        !mdc_attr_is(t2, "Algorithm", MDC_EXC_C14N) ||
                        mdc_child(tr, MDC_NS_DS, "Transform", t2) != NULL))
        mdc_fail(m, ids->transforms, SP_SEV_ERROR, tr ? tr : ref,
                 "the Reference transforms must be enveloped-signature then exclusive c14n");
    xmlFree(uri);
    xmlFree(root_id);
}

/* The signing certificates of the descriptor: does one equal cert? */
static bool mdc_sig_cert_listed(const xmlNode *descriptor, const char *cert)
{
    for (xmlNode *kd = mdc_child(descriptor, MDC_NS_MD, "KeyDescriptor", NULL); kd != NULL;
         kd = mdc_child(descriptor, MDC_NS_MD, "KeyDescriptor", kd)) {
        char *use = mdc_attr(kd, "use");
        bool signing = use == NULL || strcmp(use, "signing") == 0;
        xmlFree(use);
        if (!signing)
            continue;
        for (xmlNode *ki = mdc_child(kd, MDC_NS_DS, "KeyInfo", NULL); ki != NULL;
             ki = mdc_child(kd, MDC_NS_DS, "KeyInfo", ki))
            for (xmlNode *xd = mdc_child(ki, MDC_NS_DS, "X509Data", NULL); xd != NULL;
                 xd = mdc_child(ki, MDC_NS_DS, "X509Data", xd))
                for (xmlNode *xc = mdc_child(xd, MDC_NS_DS, "X509Certificate", NULL); xc != NULL;
                     xc = mdc_child(xd, MDC_NS_DS, "X509Certificate", xc)) {
                    char *t = mdc_text(xc);
                    bool eq = mdc_cert_equal(t, cert);
                    free(t);
                    if (eq)
                        return true;
                }
    }
    return false;
}

void mdc_check_signature(struct mdc *m, const xmlNode *descriptor)
{
    const struct mdc_sig_ids *ids = m->role == SP_MD_ROLE_IDP ? &idp_ids : &sp_ids;
    xmlNode *sig = mdc_child(m->root, MDC_NS_DS, "Signature", NULL);
    xmlNode *si, *ki, *xc;
    char *cert = NULL;
    struct sp_xmlsig_keys *keys = NULL;

    mdc_ran(m);
    if (sig == NULL) {
        mdc_fail(m, ids->present, ids->absent_sev, m->root,
                 "no enveloped ds:Signature child of the EntityDescriptor");
        return;
    }
    mdc_ran(m);
    if (mdc_first_element(m->root) != sig || mdc_count(m->root, MDC_NS_DS, "Signature") != 1)
        mdc_fail(m, ids->place, SP_SEV_ERROR, sig,
                 "the ds:Signature must be the first and only signature child of the "
                 "EntityDescriptor");
    si = mdc_child(sig, MDC_NS_DS, "SignedInfo", NULL);
    if (si == NULL)
        si = sig; /* the reference and algorithm checks then report on the Signature */
    mdc_sig_algorithms(m, ids, si);
    mdc_sig_reference(m, ids, si);

    mdc_ran(m);
    ki = mdc_child(sig, MDC_NS_DS, "KeyInfo", NULL);
    xc = mdc_child(mdc_child(ki, MDC_NS_DS, "X509Data", NULL), MDC_NS_DS, "X509Certificate", NULL);
    cert = xc ? mdc_text(xc) : NULL;
    if (cert == NULL || cert[0] == '\0' || strstr(cert, "-----") != NULL) {
        mdc_fail(m, ids->cert, SP_SEV_ERROR, xc ? xc : (ki ? ki : sig),
                 "the signature must carry its certificate in KeyInfo/X509Data/X509Certificate "
                 "(base64 DER, no PEM armour)");
        free(cert);
        cert = NULL;
    }
    if (cert != NULL && m->role != SP_MD_ROLE_IDP)
        mdc_cert_check(m, xc, cert, false);

    mdc_ran(m);
    keys = cert ? sp_xmlsig_keys_from_cert_b64(cert) : NULL;
    if (keys == NULL)
        mdc_fail(m, ids->verify, SP_SEV_ERROR, sig,
                 "the signature cannot be verified: no usable RSA (2048+ bits) certificate in "
                 "KeyInfo");
    else if (sp_xmlsig_verify(keys, m->root, sig) != SP_OK)
        mdc_fail(m, ids->verify, SP_SEV_ERROR, sig,
                 "the signature does not verify with the certificate in KeyInfo (document "
                 "altered after signing, or wrong key/algorithm)");
    sp_xmlsig_keys_free(&keys);

    mdc_ran(m);
    if (cert != NULL && !mdc_sig_cert_listed(descriptor, cert))
        mdc_fail(m, ids->match, SP_SEV_ERROR, xc,
                 "the signing certificate is not one of the KeyDescriptor use=\"signing\" "
                 "certificates of the %s",
                 m->role == SP_MD_ROLE_IDP ? "IDPSSODescriptor" : "SPSSODescriptor");
    free(cert);
}
