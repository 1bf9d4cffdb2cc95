/*
 * redirect: validation of return targets before any redirect.
 *
 * Accepting only a local absolute path ("/..." on this site) removes the
 * host comparison that mod_auth_mellon's am_validate_redirect_url() got wrong
 * twice: browsers read "/\evil.com" and "/\t/evil.com" as "//evil.com"
 * (CVE-2019-3877: backslash; tabs and newlines are stripped by the WHATWG URL
 * parser) and a leading "///evil.com" is a network-path reference that APR
 * parsed as a path (CVE-2019-13038). So: the raw value is held to the RFC 3986
 * character set, which keeps out controls, spaces and backslashes, and the
 * leading-slash, backslash and control rules are applied again to every
 * percent-decoded form, in case some layer (or the browser, for %5C) decodes
 * the value before it is used.
 */
#include <stddef.h>
#include <string.h>

#include "sp/log.h"
#include "sp/redirect.h"

#define REDIRECT_MAX_DECODE_ROUNDS 4 /* "%25" nesting deeper than this is refused */

/* RFC 3986 pchar plus "/", "?", "#" and "%" (escapes are checked separately). */
static bool redirect_is_url_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/?#%", c) != NULL;
}

static int redirect_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Rules that must hold for the raw value and for every decoded form: starts
 * with "/" not followed by "/" or "\", no backslash, no control character
 * (NUL included: lengths are explicit).
 */
static enum sp_err redirect_check_form(const unsigned char *s, size_t n, const char **reason)
{
    if (n == 0 || s[0] != '/') {
        *reason = "not a local absolute path (must start with /)";
        return SP_ERR_INVALID;
    }
    if (n >= 2 && (s[1] == '/' || s[1] == '\\')) {
        *reason = "leading // or /\\ (network-path reference)";
        return SP_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') {
            *reason = "backslash";
            return SP_ERR_INVALID;
        }
        if (s[i] < 0x20 || s[i] == 0x7f) {
            *reason = "control character";
            return SP_ERR_INVALID;
        }
    }
    return SP_OK;
}

/*
 * Decode every well-formed %XX of s[0..*n) in place; a '%' that is not
 * followed by two hex digits stays as it is (after the first round it is
 * data). Returns true when something was decoded.
 */
static bool redirect_decode_once(unsigned char *s, size_t *n)
{
    size_t r = 0, w = 0;
    bool changed = false;

    while (r < *n) {
        if (s[r] == '%' && r + 2 < *n && redirect_hex(s[r + 1]) >= 0 &&
            redirect_hex(s[r + 2]) >= 0) {
            s[w++] = (unsigned char)(redirect_hex(s[r + 1]) << 4 | redirect_hex(s[r + 2]));
            r += 3;
            changed = true;
        } else {
            s[w++] = s[r++];
        }
    }
    *n = w;
    return changed;
}

/* The raw value: bounded length, URL characters only, well-formed escapes. */
static enum sp_err redirect_check_raw(const char *next, size_t *len, const char **reason)
{
    const unsigned char *s = (const unsigned char *)next;
    size_t n = 0;

    while (n <= SP_MAX_NEXT_LEN && s[n] != '\0')
        n++;
    if (n > SP_MAX_NEXT_LEN) {
        *reason = "too long";
        return SP_ERR_TOO_LARGE;
    }
    if (n == 0) {
        *reason = "empty";
        return SP_ERR_INVALID;
    }
    if (redirect_check_form(s, n, reason) != SP_OK)
        return SP_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x80) {
            *reason = "non-ASCII byte";
            return SP_ERR_INVALID;
        }
        if (!redirect_is_url_char(s[i])) {
            *reason = s[i] == ' ' ? "space" : "character not allowed in a URL";
            return SP_ERR_INVALID;
        }
        if (s[i] == '%' &&
            (i + 2 >= n || redirect_hex(s[i + 1]) < 0 || redirect_hex(s[i + 2]) < 0)) {
            *reason = "malformed percent escape";
            return SP_ERR_INVALID;
        }
    }
    *len = n;
    return SP_OK;
}

enum sp_err sp_redirect_check(const char *next, const char **why)
{
    unsigned char work[SP_MAX_NEXT_LEN + 1];
    const char *reason = NULL;
    size_t n = 0;
    unsigned round;
    enum sp_err rc;

    if (next == NULL) {
        reason = "missing";
        rc = SP_ERR_INVALID;
        goto out;
    }
    rc = redirect_check_raw(next, &n, &reason);
    if (rc != SP_OK)
        goto out;
    memcpy(work, next, n);
    for (round = 0; round < REDIRECT_MAX_DECODE_ROUNDS; round++) {
        if (!redirect_decode_once(work, &n))
            break;
        rc = redirect_check_form(work, n, &reason);
        if (rc != SP_OK)
            goto out;
    }
    if (round == REDIRECT_MAX_DECODE_ROUNDS && redirect_decode_once(work, &n)) {
        reason = "too many levels of percent-encoding";
        rc = SP_ERR_INVALID;
    }
out:
    if (rc != SP_OK)
        sp_debug("redirect: return target refused: %s", reason);
    if (why != NULL)
        *why = rc == SP_OK ? NULL : reason;
    return rc;
}

bool sp_redirect_is_local(const char *next)
{
    return sp_redirect_check(next, NULL) == SP_OK;
}

const char *sp_redirect_target(const char *next, const char *fallback)
{
    if (sp_redirect_is_local(next))
        return next;
    return fallback != NULL ? fallback : "/";
}
