/*
 * rand: every identifier and secret comes from OpenSSL's CSPRNG. A failing
 * CSPRNG aborts: there is no safe fallback.
 */
#ifndef SP_RAND_H
#define SP_RAND_H

#include <stddef.h>

#define SP_RAND_TOKEN_LEN 32 /* hex characters in a token (128 bits) */
#define SP_RAND_ID_LEN 33    /* "_" + 32 hex characters */

/* Fill p with n random bytes. */
void sp_rand_bytes(void *p, size_t n);

/* 32 lower-case hex characters + NUL (never contains "http": not hex). */
void sp_rand_token(char out[SP_RAND_TOKEN_LEN + 1]);

/* An xs:ID / NCName: "_" + 32 hex characters + NUL. */
void sp_rand_id(char out[SP_RAND_ID_LEN + 1]);

#endif /* SP_RAND_H */
