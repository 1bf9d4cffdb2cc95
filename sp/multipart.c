/*
 * multipart: see multipart.h. The body is walked once: find the first
 * delimiter, then for each part its headers (which must end, with a blank
 * line, before the next delimiter) and its data (up to CRLF + the next
 * delimiter). Header parameters are read left to right, quoted strings as a
 * whole, so a parameter name inside another one's quoted value is never
 * taken for a parameter.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sp/multipart.h"

#define PART_HEADERS_MAX 4096

static const char *find(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool boundary_char(char c)
{
    /* RFC 2046 bchars (space only inside, checked by the caller) */
    return isalnum((unsigned char)c) || strchr("'()+_,-./:=? ", c) != NULL;
}

/*
 * Parameters after a leading value ("form-data", "multipart/form-data"):
 * `; name=token` or `; name="quoted"` (no backslash escapes, no control
 * characters). fn(ctx, name, value) for each; false when malformed.
 */
typedef bool (*param_fn)(void *ctx, const char *name, size_t nn, const char *value, size_t vn);

static bool params_walk(const char *p, const char *end, param_fn fn, void *ctx)
{
    while (p < end) {
        const char *name, *value;
        size_t nn, vn;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            return true;
        if (*p != ';')
            return false;
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        name = p;
        while (p < end && *p != '=' && *p != ';' && *p != ' ' && !is_ctl((unsigned char)*p))
            p++;
        nn = (size_t)(p - name);
        if (nn == 0 || p == end || *p != '=')
            return false;
        p++;
        if (p < end && *p == '"') {
            value = ++p;
            while (p < end && *p != '"') {
                if (*p == '\\' || is_ctl((unsigned char)*p))
                    return false;
                p++;
            }
            if (p == end)
                return false;
            vn = (size_t)(p - value);
            p++; /* closing quote */
        } else {
            value = p;
            while (p < end && *p != ';' && *p != ' ' && *p != '\t') {
                if (is_ctl((unsigned char)*p) || *p == '"' || *p == '\\')
                    return false;
                p++;
            }
            vn = (size_t)(p - value);
        }
        if (!fn(ctx, name, nn, value, vn))
            return false;
    }
    return true;
}

/* The leading value of a header ("form-data"): exactly that token. */
static const char *leading_token(const char *v, const char *end, const char *token)
{
    size_t n = strlen(token);
    if ((size_t)(end - v) < n || strncasecmp(v, token, n) != 0)
        return NULL;
    v += n;
    if (v < end && *v != ';' && *v != ' ' && *v != '\t')
        return NULL;
    return v;
}

struct boundary_ctx {
    char *out;
    bool seen;
};

static bool boundary_param(void *ctxv, const char *name, size_t nn, const char *value, size_t vn)
{
    struct boundary_ctx *ctx = ctxv;
    if (nn != 8 || strncasecmp(name, "boundary", 8) != 0)
        return true;
    if (ctx->seen || vn == 0 || vn > 70 || value[vn - 1] == ' ')
        return false;
    for (size_t i = 0; i < vn; i++)
        if (!boundary_char(value[i]))
            return false;
    memcpy(ctx->out, value, vn);
    ctx->out[vn] = '\0';
    ctx->seen = true;
    return true;
}

enum sp_err sp_multipart_boundary(const char *ct, char out[71])
{
    struct boundary_ctx ctx = {out, false};
    const char *end, *p;

    out[0] = '\0';
    if (ct == NULL)
        return SP_ERR_INVALID;
    end = ct + strlen(ct);
    p = leading_token(ct, end, "multipart/form-data");
    if (p == NULL || !params_walk(p, end, boundary_param, &ctx) || !ctx.seen) {
        out[0] = '\0';
        return SP_ERR_INVALID;
    }
    return SP_OK;
}

struct disposition_ctx {
    struct sp_part *part;
    bool name, filename, bad;
};

static bool disposition_param(void *ctxv, const char *name, size_t nn, const char *value, size_t vn)
{
    struct disposition_ctx *ctx = ctxv;
    char *dst;
    size_t cap;
    bool *seen;

    if (nn == 4 && strncasecmp(name, "name", 4) == 0) {
        dst = ctx->part->name;
        cap = sizeof(ctx->part->name);
        seen = &ctx->name;
    } else if (nn == 8 && strncasecmp(name, "filename", 8) == 0) {
        dst = ctx->part->filename;
        cap = sizeof(ctx->part->filename);
        seen = &ctx->filename;
    } else {
        return true; /* other parameters (filename*) are ignored */
    }
    if (*seen || vn >= cap)
        return false; /* twice, or too long to keep: refused, never truncated */
    memcpy(dst, value, vn);
    dst[vn] = '\0';
    *seen = true;
    return true;
}

/* Parse the header block [h, h + n) of one part. */
static const char *part_headers(const char *h, size_t n, struct sp_part *part)
{
    bool disposition = false, content_type = false;

    while (n > 0) {
        const char *eol = find(h, n, "\r\n", 2);
        size_t ln = eol ? (size_t)(eol - h) : n;
        for (size_t i = 0; i < ln; i++)
            if (is_ctl((unsigned char)h[i]) && h[i] != '\t')
                return "control character in a part header";
        if (ln >= 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
            struct disposition_ctx ctx = {part, false, false, false};
            const char *v = h + 20, *end = h + ln, *p;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            p = leading_token(v, end, "form-data");
            if (p == NULL)
                return "a part is not form-data";
            if (disposition)
                return "two Content-Disposition headers in a part";
            disposition = true;
            if (!params_walk(p, end, disposition_param, &ctx))
                return "malformed Content-Disposition parameters";
            if (!ctx.name || part->name[0] == '\0')
                return "a part has no name";
        } else if (ln >= 13 && strncasecmp(h, "Content-Type:", 13) == 0) {
            const char *v = h + 13;
            size_t vn = ln - 13;
            while (vn > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vn--;
            }
            if (content_type)
                return "two Content-Type headers in a part";
            content_type = true;
            if (vn >= sizeof(part->content_type))
                return "part Content-Type too long";
            memcpy(part->content_type, v, vn);
            part->content_type[vn] = '\0';
        }
        if (eol == NULL)
            break;
        n -= ln + 2;
        h = eol + 2;
    }
    return disposition ? NULL : "a part has no Content-Disposition";
}

enum sp_err sp_multipart_parse(const char *boundary, const char *body, size_t len,
                               struct sp_part *parts, unsigned max_parts, unsigned *n,
                               const char **why)
{
    char delim[80];
    size_t dn;
    const char *p, *end;

    *n = 0;
    *why = NULL;
    if (boundary == NULL || boundary[0] == '\0' || strlen(boundary) > 70) {
        *why = "no boundary";
        return SP_ERR_INVALID;
    }
    if (body == NULL || len == 0) {
        *why = "empty body";
        return SP_ERR_INVALID;
    }
    end = body + len;
    dn = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    /* the first delimiter may start the body without the CRLF */
    if (len >= dn - 2 && memcmp(body, delim + 2, dn - 2) == 0)
        p = body + dn - 2;
    else if ((p = find(body, len, delim, dn)) != NULL)
        p += dn;
    else {
        *why = "no delimiter";
        return SP_ERR_INVALID;
    }
    for (;;) {
        const char *hend, *next;
        size_t window;
        struct sp_part *part;
        /* after a delimiter: "--" ends the body, CRLF starts a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            if (*n == 0) {
                *why = "no part";
                return SP_ERR_INVALID;
            }
            return SP_OK;
        }
        while (p < end && (*p == ' ' || *p == '\t')) /* transport padding */
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            *why = "malformed delimiter line";
            return SP_ERR_INVALID;
        }
        p += 2;
        if (*n == max_parts) {
            *why = "too many parts";
            return SP_ERR_INVALID;
        }
        window = (size_t)(end - p) < PART_HEADERS_MAX ? (size_t)(end - p) : PART_HEADERS_MAX;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            hend = p - 2; /* no header at all: refused below */
        else
            hend = find(p, window, "\r\n\r\n", 4);
        if (hend == NULL) {
            *why = "part headers missing or too long";
            return SP_ERR_INVALID;
        }
        /* a delimiter inside the header block: the headers never ended */
        if (hend >= p && find(p, (size_t)(hend - p), delim, dn) != NULL) {
            *why = "part headers run into the next delimiter";
            return SP_ERR_INVALID;
        }
        part = &parts[*n];
        memset(part, 0, sizeof(*part));
        if (hend < p || (*why = part_headers(p, (size_t)(hend - p), part)) != NULL) {
            if (*why == NULL)
                *why = "a part has no Content-Disposition";
            return SP_ERR_INVALID;
        }
        next = find(hend + 4, (size_t)(end - (hend + 4)), delim, dn);
        if (next == NULL) {
            *why = "missing closing delimiter";
            return SP_ERR_INVALID;
        }
        part->data = hend + 4;
        part->len = (size_t)(next - part->data);
        (*n)++;
        p = next + dn;
    }
}
