/*
 * digest: SHA-256 through OpenSSL.
 *
 * THREAD SAFETY NOTES: OpenSSL 3 looks an algorithm up (under a global lock)
 * every time EVP_sha256() is used for a digest; the implementation is
 * fetched once instead (pthread_once) and shared, which OpenSSL allows.
 */
#include <openssl/evp.h>
#include <pthread.h>

#include "sp/digest.h"
#include "sp/err.h"
#include "sp/str.h"

static EVP_MD *digest_sha256;
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;

static void digest_fetch(void)
{
    digest_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    SP_ASSERT(digest_sha256 != NULL);
}

void sp_sha256(const void *p, size_t n, unsigned char out[SP_SHA256_LEN])
{
    unsigned int len = 0;
    pthread_once(&digest_once, digest_fetch);
    SP_ASSERT(EVP_Digest(p, n, out, &len, digest_sha256, NULL) == 1);
    SP_ASSERT(len == SP_SHA256_LEN);
}

void sp_sha256_hex(const void *p, size_t n, char out[SP_SHA256_HEX_LEN + 1])
{
    unsigned char d[SP_SHA256_LEN];
    sp_sha256(p, n, d);
    sp_hex(out, d, sizeof(d));
}
