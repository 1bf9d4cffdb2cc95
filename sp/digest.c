/*
 * digest: SHA-256 through OpenSSL's one-shot EVP_Digest.
 */
#include <openssl/evp.h>

#include "sp/digest.h"
#include "sp/err.h"
#include "sp/str.h"

void sp_sha256(const void *p, size_t n, unsigned char out[SP_SHA256_LEN])
{
    unsigned int len = 0;
    SP_ASSERT(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1);
    SP_ASSERT(len == SP_SHA256_LEN);
}

void sp_sha256_hex(const void *p, size_t n, char out[SP_SHA256_HEX_LEN + 1])
{
    unsigned char d[SP_SHA256_LEN];
    sp_sha256(p, n, d);
    sp_hex(out, d, sizeof(d));
}
