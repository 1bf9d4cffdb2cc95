/*
 * rand: CSPRNG-backed bytes, tokens and SAML IDs.
 */
#include <openssl/rand.h>

#include "sp/err.h"
#include "sp/rand.h"
#include "sp/str.h"

void sp_rand_bytes(void *p, size_t n)
{
    SP_ASSERT(n <= 4096);
    SP_ASSERT(RAND_bytes(p, (int)n) == 1);
}

void sp_rand_token(char out[SP_RAND_TOKEN_LEN + 1])
{
    unsigned char b[SP_RAND_TOKEN_LEN / 2];
    sp_rand_bytes(b, sizeof(b));
    sp_hex(out, b, sizeof(b));
}

void sp_rand_id(char out[SP_RAND_ID_LEN + 1])
{
    out[0] = '_';
    sp_rand_token(out + 1);
}
