/*
 * clock: the one source of wall-clock time, and the SAML xs:dateTime format.
 * Tests move time with sp_clock_set_offset_ms(), which the daemon only
 * exposes when the configuration enables test hooks.
 */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "sp/err.h"

#define SP_TIME_ISO_LEN 80 /* "YYYY-MM-DDThh:mm:ss.mmmZ" + NUL, with room for any int year */

/* Milliseconds / seconds since the epoch, UTC, plus the test offset. */
int64_t sp_clock_now_ms(void);
time_t sp_clock_now(void);

/* Test hook: shift every reading by ms. Set before workers start. */
void sp_clock_set_offset_ms(int64_t ms);

/* "YYYY-MM-DDThh:mm:ss.mmmZ" (with_ms) or "YYYY-MM-DDThh:mm:ssZ". */
void sp_time_format(int64_t ms, int with_ms, char out[SP_TIME_ISO_LEN]);

/*
 * Parse an xs:dateTime in UTC: "YYYY-MM-DDThh:mm:ss", an optional fraction of
 * any length (truncated to milliseconds), then exactly "Z". Anything else,
 * including offsets and impossible dates, is SP_ERR_INVALID.
 */
enum sp_err sp_time_parse(const char *s, int64_t *ms);

#endif /* SP_CLOCK_H */
