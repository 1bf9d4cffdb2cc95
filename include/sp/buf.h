/*
 * buf: growable byte buffers with a hard upper bound (curl's dynbuf shape).
 * Untrusted input goes into a buffer whose limit is the largest legal size;
 * an append past the limit fails with SP_ERR_TOO_LARGE and leaves the buffer
 * as it was. The contents are always NUL-terminated.
 */
#ifndef SP_BUF_H
#define SP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "sp/err.h"

struct sp_buf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* largest len allowed */
};

/* Lifetime: init sets up an empty buffer (no allocation); cleanup frees. */
void sp_buf_init(struct sp_buf *b, size_t max);
void sp_buf_cleanup(struct sp_buf *b);
/* Like cleanup, but overwrites the contents first (for secrets). */
void sp_buf_cleanup_secret(struct sp_buf *b);
void sp_buf_reset(struct sp_buf *b);

/* Appends. Fail with SP_ERR_TOO_LARGE past max; the buffer is unchanged then. */
enum sp_err sp_buf_add(struct sp_buf *b, const void *p, size_t n);
enum sp_err sp_buf_adds(struct sp_buf *b, const char *s);
enum sp_err sp_buf_addc(struct sp_buf *b, char c);
enum sp_err sp_buf_addf(struct sp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum sp_err sp_buf_vaddf(struct sp_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Make room for extra more bytes (and the NUL) without changing the contents. */
enum sp_err sp_buf_reserve(struct sp_buf *b, size_t extra);

/* Contents as a string ("" when empty); valid until the next change. */
const char *sp_buf_str(const struct sp_buf *b);

/* Hand the allocation to the caller (free() it) and leave the buffer empty. */
char *sp_buf_detach(struct sp_buf *b);

#endif /* SP_BUF_H */
