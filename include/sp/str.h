/*
 * str: string helpers for untrusted input: range-checked number parsing,
 * constant-time comparison, and the escapings used on the web and in SAML
 * bindings (HTML, URL with quote_plus semantics, form decoding, hex).
 */
#ifndef SP_STR_H
#define SP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_buf;

/* Numbers: the whole of s must be a decimal number in [min, max] (strtonum shape). */
enum sp_err sp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
enum sp_err sp_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* Comparison. sp_str_eq_ct takes time independent of where the strings differ. */
bool sp_str_eq_ct(const char *a, const char *b);
bool sp_mem_eq_ct(const void *a, const void *b, size_t n);
bool sp_str_has_prefix(const char *s, const char *prefix);
bool sp_str_eq(const char *a, const char *b); /* NULL-safe strcmp()==0 */
/* True when word is one of the items of list (separated by spaces, tabs or
 * commas), e.g. trusted proxy addresses or delegation scopes. */
bool sp_str_list_has(const char *list, const char *word);

/* Copy with truncation; always NUL-terminates when size > 0. Returns strlen(src). */
size_t sp_strlcpy(char *dst, const char *src, size_t size);

/* Escapings that append to a bounded buffer; fail only with SP_ERR_TOO_LARGE. */
enum sp_err sp_html_escape(struct sp_buf *out, const char *s);
/* Python quote_plus: A-Z a-z 0-9 _ . - ~ literal, space -> '+', rest %XX upper-case. */
enum sp_err sp_url_encode(struct sp_buf *out, const char *s, size_t n);
/* Form/query decoding: '+' -> space, %XX -> byte. Malformed escapes and NUL
 * bytes are refused with SP_ERR_INVALID. */
enum sp_err sp_url_decode(struct sp_buf *out, const char *s, size_t n);
enum sp_err sp_hex_encode(struct sp_buf *out, const void *p, size_t n);
/* Lower-case hex into out (2n+1 bytes). */
void sp_hex(char *out, const void *p, size_t n);

/*
 * The path of a request URI as a backend will see it, for access decisions:
 * the part before '?' or '#', percent-decoded, empty and "." segments
 * dropped, ".." resolved; a trailing '/' is kept. SP_ERR_INVALID (out
 * untouched beyond its old length) for anything ambiguous: no leading '/',
 * a bad %-escape, an encoded '/', '?' or '#', a backslash, ';', a NUL or control byte,
 * or ".." above the root. out receives a NUL-terminated path.
 */
enum sp_err sp_uri_path_normalize(struct sp_buf *out, const char *uri);

/* Copy of s without leading/trailing ASCII whitespace; free() it. */
char *sp_str_trim_dup(const char *s);

#endif /* SP_STR_H */
