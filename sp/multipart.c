/*
 * multipart: see multipart.h. The body is walked once: find the first
 * delimiter, then for each part its headers (up to the blank line) and its
 * data (up to CRLF + the next delimiter).
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

static bool boundary_char(char c)
{
    /* RFC 2046 bchars */
    return isalnum((unsigned char)c) || strchr("'()+_,-./:=? ", c) != NULL;
}

enum sp_err sp_multipart_boundary(const char *ct, char out[71])
{
    const char *p;
    size_t n = 0;
    bool quoted;

    out[0] = '\0';
    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return SP_ERR_INVALID;
    for (p = ct + 19; *p && strncasecmp(p, "boundary=", 9) != 0; p++)
        ;
    if (*p == '\0')
        return SP_ERR_INVALID;
    p += 9;
    quoted = *p == '"';
    if (quoted)
        p++;
    while (*p && (quoted ? *p != '"' : (*p != ';' && *p != ' ')) && n < 71) {
        if (!boundary_char(*p))
            return SP_ERR_INVALID;
        out[n++] = *p++;
    }
    if (n == 0 || n > 70 || (quoted && *p != '"') || out[n - 1] == ' ')
        return SP_ERR_INVALID;
    out[n] = '\0';
    return SP_OK;
}

/* The value of a parameter (name="value" or name=token) in a header line. */
static bool header_param(const char *line, size_t n, const char *param, char *out, size_t outn)
{
    size_t pl = strlen(param);
    for (size_t i = 0; i + pl + 1 < n; i++) {
        size_t k = 0;
        const char *v;
        if ((i > 0 && line[i - 1] != ' ' && line[i - 1] != ';') ||
            strncasecmp(line + i, param, pl) != 0 || line[i + pl] != '=')
            continue;
        v = line + i + pl + 1;
        if (*v == '"') {
            v++;
            while (v < line + n && *v != '"') {
                if (*v == '\\' || (unsigned char)*v < 0x20 || k + 1 >= outn)
                    return false;
                out[k++] = *v++;
            }
            if (v >= line + n)
                return false;
        } else {
            while (v < line + n && *v != ';' && *v != ' ') {
                if ((unsigned char)*v < 0x20 || k + 1 >= outn)
                    return false;
                out[k++] = *v++;
            }
        }
        out[k] = '\0';
        return true;
    }
    return false;
}

/* Parse the header block [h, h + n) of one part. */
static const char *part_headers(const char *h, size_t n, struct sp_part *part)
{
    bool disposition = false;

    while (n > 0) {
        const char *eol = find(h, n, "\r\n", 2);
        size_t ln = eol ? (size_t)(eol - h) : n;
        for (size_t i = 0; i < ln; i++)
            if ((unsigned char)h[i] < 0x20 && h[i] != '\t')
                return "control character in a part header";
        if (ln >= 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
            const char *v = h + 20;
            size_t vn = ln - 20;
            while (vn > 0 && *v == ' ') {
                v++;
                vn--;
            }
            if (vn < 9 || strncasecmp(v, "form-data", 9) != 0)
                return "a part is not form-data";
            if (disposition)
                return "two Content-Disposition headers in a part";
            disposition = true;
            if (!header_param(v, vn, "name", part->name, sizeof(part->name)) ||
                part->name[0] == '\0')
                return "a part has no name";
            if (!header_param(v, vn, "filename", part->filename, sizeof(part->filename)))
                part->filename[0] = '\0';
        } else if (ln >= 13 && strncasecmp(h, "Content-Type:", 13) == 0) {
            const char *v = h + 13;
            size_t vn = ln - 13;
            while (vn > 0 && *v == ' ') {
                v++;
                vn--;
            }
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
    const char *p, *end = body + len;

    *n = 0;
    *why = NULL;
    if (boundary == NULL || boundary[0] == '\0' || strlen(boundary) > 70) {
        *why = "no boundary";
        return SP_ERR_INVALID;
    }
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
        struct sp_part *part;
        /* after a delimiter: "--" ends the body, CRLF starts a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return SP_OK;
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
        hend = find(p, (size_t)(end - p) < PART_HEADERS_MAX ? (size_t)(end - p) : PART_HEADERS_MAX,
                    "\r\n\r\n", 4);
        if (hend == NULL && end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            hend = p - 2; /* no headers at all: refused below */
        if (hend == NULL) {
            *why = "part headers missing or too long";
            return SP_ERR_INVALID;
        }
        part = &parts[*n];
        memset(part, 0, sizeof(*part));
        if (hend < p || (*why = part_headers(p, (size_t)(hend - p), part)) != NULL) {
            if (*why == NULL)
                *why = "a part has no Content-Disposition";
            return SP_ERR_INVALID;
        }
        p = hend + 4;
        next = find(p, (size_t)(end - p), delim, dn);
        if (next == NULL) {
            *why = "missing closing delimiter";
            return SP_ERR_INVALID;
        }
        part->data = p;
        part->len = (size_t)(next - p);
        (*n)++;
        p = next + dn;
    }
}
