/*
 * metadata: our SPID SP metadata (spec §1, Avviso 29 v3), built from the
 * configuration with libxml2 and signed with xmlsec: one EntityDescriptor with
 * an enveloped RSA-SHA256 signature, the SPSSODescriptor, the Organization and
 * the ContactPerson elements with the spid: and fpa: extensions.
 */
#ifndef SP_METADATA_H
#define SP_METADATA_H

#include "sp/err.h"

struct sp_buf;
struct sp_config;

#define SP_METADATA_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define SP_METADATA_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define SP_METADATA_NS_SPID "https://spid.gov.it/saml-extensions"
#define SP_METADATA_NS_FPA "https://spid.gov.it/invoicing-extensions"

/*
 * Build and sign the metadata for cfg with our key and certificate (PEM
 * texts, borrowed). sp_saml_global_init() must have run. The signed document
 * ("<?xml ...?>" first, no leading whitespace, UTF-8) is appended to out,
 * which must allow a few tens of kilobytes; it must be published byte for
 * byte, since any re-serialisation can break the signature. A new random ID
 * is drawn on every call. The certificate subject is not compared with cfg
 * here: callers run sp_cert_check_config() first (MD-02, MD-73). Fails with SP_ERR_CONFIG (a field
 * does not fit the SPID rules), SP_ERR_CRYPTO (key or certificate unusable), SP_ERR_SAML (libxml2
 * or xmlsec failure) or SP_ERR_TOO_LARGE; err (may be NULL) then says why and out is unchanged.
 */
enum sp_err sp_metadata_build(const struct sp_config *cfg, const char *key_pem,
                              const char *cert_pem, struct sp_buf *out, struct sp_buf *err);

#endif /* SP_METADATA_H */
