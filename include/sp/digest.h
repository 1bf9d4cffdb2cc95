/*
 * digest: SHA-256 of bytes, as raw bytes or lower-case hex. Used to store
 * session ids and browser-binding tokens hashed, and to chain audit records.
 */
#ifndef SP_DIGEST_H
#define SP_DIGEST_H

#include <stddef.h>

#define SP_SHA256_LEN 32
#define SP_SHA256_HEX_LEN 64

void sp_sha256(const void *p, size_t n, unsigned char out[SP_SHA256_LEN]);
void sp_sha256_hex(const void *p, size_t n, char out[SP_SHA256_HEX_LEN + 1]);

#endif /* SP_DIGEST_H */
