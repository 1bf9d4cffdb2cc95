/*
 * redirect_sign: the SAML HTTP-Redirect binding for messages we send
 * (spec AR-41..AR-44, SLO-12): raw DEFLATE, base64, Python-quote_plus URL
 * encoding, and the RSA-SHA256 signature over the exact octets
 * "SAMLRequest=..&RelayState=..&SigAlg=..", with a key decoded once.
 */
#ifndef SP_REDIRECT_SIGN_H
#define SP_REDIRECT_SIGN_H

#include <stddef.h>

#include "sp/err.h"

struct sp_buf;
struct sp_signer;

/* A signer for an RSA private key in PEM. NULL on failure (logged). */
struct sp_signer *sp_signer_new(const char *key_pem);
void sp_signer_free(struct sp_signer **s);

/* RSA-SHA256 signature of data into sig (raw bytes). Thread-safe. */
enum sp_err sp_signer_sign(const struct sp_signer *s, const void *data, size_t len,
                           struct sp_buf *sig);

/*
 * Append to url: endpoint, '?' (or '&' when the endpoint has a query), then
 * param=<deflated, base64, encoded xml>[&RelayState=..]&SigAlg=..&Signature=..
 * param is "SAMLRequest" or "SAMLResponse"; relay_state may be NULL.
 */
enum sp_err sp_redirect_sign(const struct sp_signer *s, const char *endpoint, const char *param,
                             const char *xml, size_t xml_len, const char *relay_state,
                             struct sp_buf *url);

#endif /* SP_REDIRECT_SIGN_H */
