/*
 * redirect: the one check every return target ("next" parameter, the URL
 * stored behind a RelayState token, post-logout targets) goes through before
 * we redirect to it. Only a local absolute path on this site is accepted;
 * there is no list of allowed hosts. Pure functions: no I/O, no allocation.
 */
#ifndef SP_REDIRECT_H
#define SP_REDIRECT_H

#include <stdbool.h>

#include "sp/err.h"

#define SP_MAX_NEXT_LEN 1024 /* longest return target accepted, in bytes */

/*
 * Check a return target. SP_OK when next is a local absolute path: one
 * leading "/" not followed by "/" or "\", only URL characters (RFC 3986
 * pchar, "/", "?", "#", well-formed %XX), no backslash, control character,
 * space or non-ASCII byte, at most SP_MAX_NEXT_LEN bytes, and the same
 * leading-slash, backslash and control-character rules still hold after
 * percent-decoding (repeatedly). Otherwise SP_ERR_INVALID (SP_ERR_TOO_LARGE
 * for an overlong value) and *why (may be NULL) receives a static reason. The
 * value itself is never logged.
 */
enum sp_err sp_redirect_check(const char *next, const char **why);

/* True when sp_redirect_check() accepts next. NULL is not local. */
bool sp_redirect_is_local(const char *next);

/*
 * next when it is local, else fallback. The result borrows one of the two
 * arguments (no copy). fallback is trusted (a constant or configuration
 * value) and is not checked; NULL fallback means "/".
 */
const char *sp_redirect_target(const char *next, const char *fallback);

#endif /* SP_REDIRECT_H */
