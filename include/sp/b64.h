/*
 * b64: standard base64 (RFC 4648, with padding). Decoding skips ASCII
 * whitespace (IdPs wrap lines) and refuses anything else that is not base64.
 */
#ifndef SP_B64_H
#define SP_B64_H

#include <stddef.h>

#include "sp/err.h"

struct sp_buf;

enum sp_err sp_b64_encode(struct sp_buf *out, const void *p, size_t n);

/* Decoded bytes are appended to out (bounded by out->max). */
enum sp_err sp_b64_decode(struct sp_buf *out, const char *s, size_t n);

#endif /* SP_B64_H */
