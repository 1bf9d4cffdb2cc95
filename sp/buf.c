/*
 * buf: bounded growable buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/mem.h"

#define SP_BUF_MIN_CAP 64

void sp_buf_init(struct sp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sp_buf_cleanup(struct sp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sp_buf_cleanup_secret(struct sp_buf *b)
{
    sp_wipe(b->data, b->cap);
    sp_buf_cleanup(b);
}

void sp_buf_reset(struct sp_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

enum sp_err sp_buf_reserve(struct sp_buf *b, size_t extra)
{
    size_t need, cap;

    if (extra > b->max || b->len > b->max - extra)
        return SP_ERR_TOO_LARGE;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return SP_OK;
    cap = b->cap ? b->cap : SP_BUF_MIN_CAP;
    while (cap < need)
        cap *= 2;
    b->data = sp_xrealloc(b->data, cap);
    if (b->len == 0)
        b->data[0] = '\0';
    b->cap = cap;
    return SP_OK;
}

enum sp_err sp_buf_add(struct sp_buf *b, const void *p, size_t n)
{
    enum sp_err rc = sp_buf_reserve(b, n);
    if (rc != SP_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SP_OK;
}

enum sp_err sp_buf_adds(struct sp_buf *b, const char *s)
{
    return sp_buf_add(b, s, strlen(s));
}

enum sp_err sp_buf_addc(struct sp_buf *b, char c)
{
    return sp_buf_add(b, &c, 1);
}

enum sp_err sp_buf_vaddf(struct sp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    enum sp_err rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SP_ERR_INVALID;
    rc = sp_buf_reserve(b, (size_t)n);
    if (rc != SP_OK)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SP_OK;
}

enum sp_err sp_buf_addf(struct sp_buf *b, const char *fmt, ...)
{
    va_list ap;
    enum sp_err rc;
    va_start(ap, fmt);
    rc = sp_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *sp_buf_str(const struct sp_buf *b)
{
    return b->data ? b->data : "";
}

char *sp_buf_detach(struct sp_buf *b)
{
    char *p = b->data ? b->data : sp_xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
