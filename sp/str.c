/*
 * str: parsing, comparison and escaping of strings from untrusted input.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/mem.h"
#include "sp/str.h"

enum sp_err sp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return SP_ERR_INVALID;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return SP_ERR_INVALID;
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return SP_ERR_INVALID;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min || v > max)
        return SP_ERR_INVALID;
    *out = v;
    return SP_OK;
}

enum sp_err sp_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    bool neg = false;
    uint64_t u;
    int64_t v;

    if (s == NULL)
        return SP_ERR_INVALID;
    if (*s == '-') {
        neg = true;
        s++;
    }
    if (sp_parse_uint(s, 0, (uint64_t)INT64_MAX, &u) != SP_OK)
        return SP_ERR_INVALID;
    v = neg ? -(int64_t)u : (int64_t)u;
    if (v < min || v > max)
        return SP_ERR_INVALID;
    *out = v;
    return SP_OK;
}

bool sp_mem_eq_ct(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

bool sp_str_eq_ct(const char *a, const char *b)
{
    size_t la, lb, i;
    unsigned char d;

    if (a == NULL || b == NULL)
        return false;
    la = strlen(a);
    lb = strlen(b);
    /* compare over the longer length so the time does not reveal a prefix */
    d = (unsigned char)(la != lb);
    for (i = 0; i < la || i < lb; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        d |= ca ^ cb;
    }
    return d == 0;
}

bool sp_str_has_prefix(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool sp_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

size_t sp_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

enum sp_err sp_html_escape(struct sp_buf *out, const char *s)
{
    enum sp_err rc = SP_OK;
    const char *run = s;

    for (const char *p = s; *p && rc == SP_OK; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        rc = sp_buf_add(out, run, (size_t)(p - run));
        if (rc == SP_OK)
            rc = sp_buf_adds(out, rep);
        run = p + 1;
    }
    if (rc == SP_OK)
        rc = sp_buf_adds(out, run);
    return rc;
}

enum sp_err sp_url_encode(struct sp_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    enum sp_err rc = SP_OK;

    for (size_t i = 0; i < n && rc == SP_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~') {
            rc = sp_buf_addc(out, (char)c);
        } else if (c == ' ') {
            rc = sp_buf_addc(out, '+');
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = sp_buf_add(out, e, 3);
        }
    }
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum sp_err sp_url_decode(struct sp_buf *out, const char *s, size_t n)
{
    size_t start = out->len, o, room = out->max - out->len;
    /* decoding never grows the text; the limit applies to the decoded bytes */
    enum sp_err rc = sp_buf_reserve(out, n < room ? n : room);

    if (rc != SP_OK)
        return rc;
    o = start;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                goto bad;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                goto bad;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            goto bad;
        if (o >= out->max || o >= out->cap - 1) {
            out->len = start;
            out->data[start] = '\0';
            return SP_ERR_TOO_LARGE;
        }
        out->data[o++] = c;
    }
    out->len = o;
    out->data[o] = '\0';
    return SP_OK;
bad:
    out->len = start;
    out->data[start] = '\0';
    return SP_ERR_INVALID;
}

void sp_hex(char *out, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

enum sp_err sp_hex_encode(struct sp_buf *out, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    enum sp_err rc = SP_OK;
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
        char e[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        rc = sp_buf_add(out, e, 2);
    }
    return rc;
}

char *sp_str_trim_dup(const char *s)
{
    const char *end;
    while (*s && isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    return sp_xstrndup(s, (size_t)(end - s));
}

enum sp_err sp_uri_path_normalize(struct sp_buf *out, const char *uri)
{
    size_t start = out->len, n = strcspn(uri, "?#"), seg_start;
    bool dir_last = false; /* the last segment was "." or ".." (names a directory) */
    enum sp_err rc;

    if (n == 0 || uri[0] != '/')
        return SP_ERR_INVALID;
    rc = sp_buf_reserve(out, n + 2);
    if (rc != SP_OK)
        return rc;
    for (size_t i = 0; i < n;) {
        size_t len;
        while (i < n && uri[i] == '/')
            i++;
        if (i == n) /* trailing '/' (or only slashes) */
            break;
        seg_start = out->len;
        out->data[out->len++] = '/';
        for (len = 0; i < n && uri[i] != '/'; i++, len++) {
            unsigned char c = (unsigned char)uri[i];
            if (c == '%') {
                int hi = i + 2 < n ? hexval(uri[i + 1]) : -1;
                int lo = i + 2 < n ? hexval(uri[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    goto bad;
                c = (unsigned char)(hi << 4 | lo);
                i += 2;
                if (c == '/' || c == '?' || c == '#')
                    goto bad;
            }
            if (c < 0x20 || c == 0x7f || c == '\\' || c == ';')
                goto bad;
            out->data[out->len++] = (char)c;
        }
        dir_last = true;
        if (len == 1 && out->data[seg_start + 1] == '.') {
            out->len = seg_start; /* "." */
        } else if (len == 2 && out->data[seg_start + 1] == '.' && out->data[seg_start + 2] == '.') {
            out->len = seg_start; /* ".." drops itself and the segment before */
            if (out->len == start)
                goto bad;
            while (out->len > start && out->data[out->len - 1] != '/')
                out->len--;
            out->len--;
        } else {
            dir_last = false;
        }
    }
    if (out->len == start || uri[n - 1] == '/' || dir_last)
        out->data[out->len++] = '/';
    out->data[out->len] = '\0';
    return SP_OK;
bad:
    out->len = start;
    out->data[start] = '\0';
    return SP_ERR_INVALID;
}

bool sp_str_list_has(const char *list, const char *word)
{
    size_t len = word ? strlen(word) : 0;

    if (len == 0)
        return false;
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, " ,\t");
        if (n == len && strncmp(p, word, n) == 0)
            return true;
        p += n;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
    }
    return false;
}
