/*
 * xmlsig: verification of enveloped XML signatures (SAML Responses and
 * Assertions) with the signing keys of an IdP's metadata, and nothing else:
 * certificates carried in the message are ignored, references must stay in
 * the same document, and only exc-c14n, enveloped-signature, RSA-SHA256/384/512
 * and SHA-256/384/512 are accepted. Keys are decoded once, at start-up.
 */
#ifndef SP_XMLSIG_H
#define SP_XMLSIG_H

#include <stddef.h>
#include <stdint.h>

#include "sp/err.h"

struct _xmlNode;
struct sp_xmlsig_keys;

/*
 * The signing keys (KeyDescriptor use="signing" or without use) of the
 * IDPSSODescriptor of entity_id in a metadata document (an EntityDescriptor
 * or an EntitiesDescriptor). NULL when the entity has no usable key; the
 * reason is logged. Free with sp_xmlsig_keys_free.
 */
struct sp_xmlsig_keys *sp_xmlsig_keys_from_metadata(const char *xml, size_t len,
                                                    const char *entity_id);
/*
 * A key list holding the public key of one certificate given as the base64
 * of its DER (the text of a ds:X509Certificate; whitespace allowed), for
 * checking a document against the certificate it carries (check-metadata).
 * NULL when it is not an RSA certificate of at least 2048 bits. Free with
 * sp_xmlsig_keys_free.
 */
struct sp_xmlsig_keys *sp_xmlsig_keys_from_cert_b64(const char *b64);
void sp_xmlsig_keys_free(struct sp_xmlsig_keys **keys);
unsigned sp_xmlsig_keys_count(const struct sp_xmlsig_keys *keys);

/* What is kept of the certificate each key came from. */
struct sp_xmlsig_cert_info {
    int64_t not_after;    /* notAfter, seconds since the epoch (0 if unreadable) */
    char fingerprint[17]; /* first 16 hex digits of the SHA-256 of the DER */
};

/* The certificate of key i (0 .. count-1), or NULL. */
const struct sp_xmlsig_cert_info *sp_xmlsig_keys_info(const struct sp_xmlsig_keys *keys,
                                                      unsigned i);

/*
 * Verify the ds:Signature sig, a direct child of signed_elem, over
 * signed_elem, with any of keys (rollover: several keys may be listed).
 * signed_elem's ID attribute is registered as an XML ID if it is not yet.
 * SP_OK only when xmlsec reports success; SP_ERR_SIGNATURE otherwise.
 * The caller has already checked the structure (one Reference, URI "#ID",
 * unique IDs). Thread-safe: keys are shared read-only.
 */
enum sp_err sp_xmlsig_verify(const struct sp_xmlsig_keys *keys, struct _xmlNode *signed_elem,
                             struct _xmlNode *sig);

/*
 * Verify a detached RSA signature (the HTTP-Redirect binding's Signature
 * parameter) of len bytes of data with any of keys. sig_alg must be the
 * RSA-SHA256, -SHA384 or -SHA512 URI; SHA-1 and anything else fail.
 * SP_OK only when a key verifies; SP_ERR_SIGNATURE otherwise. Thread-safe.
 */
enum sp_err sp_xmlsig_verify_detached(const struct sp_xmlsig_keys *keys, const char *sig_alg,
                                      const void *data, size_t len, const void *sig,
                                      size_t sig_len);

#endif /* SP_XMLSIG_H */
