/*
 * b64: base64 encoding and whitespace-tolerant strict decoding.
 */
#include "sp/b64.h"
#include "sp/buf.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum sp_err sp_b64_encode(struct sp_buf *out, const void *p, size_t n)
{
    const unsigned char *s = p;
    enum sp_err rc = SP_OK;
    size_t i;

    for (i = 0; i + 2 < n && rc == SP_OK; i += 3) {
        char q[4] = {b64_alphabet[s[i] >> 2], b64_alphabet[(s[i] & 3) << 4 | s[i + 1] >> 4],
                     b64_alphabet[(s[i + 1] & 15) << 2 | s[i + 2] >> 6],
                     b64_alphabet[s[i + 2] & 63]};
        rc = sp_buf_add(out, q, 4);
    }
    if (rc == SP_OK && i < n) {
        char q[4] = {b64_alphabet[s[i] >> 2], '=', '=', '='};
        if (i + 1 < n) {
            q[1] = b64_alphabet[(s[i] & 3) << 4 | s[i + 1] >> 4];
            q[2] = b64_alphabet[(s[i + 1] & 15) << 2];
        } else {
            q[1] = b64_alphabet[(s[i] & 3) << 4];
        }
        rc = sp_buf_add(out, q, 4);
    }
    return rc;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

enum sp_err sp_b64_decode(struct sp_buf *out, const char *s, size_t n)
{
    unsigned int acc = 0;
    int bits = 0, pad = 0;
    size_t start = out->len, o, need = n / 4 * 3 + 3, room = out->max - out->len;
    enum sp_err rc;

    /* reserve the largest possible result once, then write in place */
    rc = sp_buf_reserve(out, need < room ? need : room);
    if (rc != SP_OK)
        return rc;
    o = out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad > 0)
            goto bad; /* data after padding */
        v = b64_value(c);
        if (v < 0)
            goto bad;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out->max || o >= out->cap - 1) {
                out->len = start;
                out->data[start] = '\0';
                return SP_ERR_TOO_LARGE;
            }
            out->data[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    /* leftover bits must be zero padding of a valid length */
    if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || (pad != 0 && pad != bits / 2))
        goto bad;
    out->len = o;
    out->data[o] = '\0';
    return SP_OK;
bad:
    out->len = start;
    out->data[start] = '\0';
    return SP_ERR_INVALID;
}
