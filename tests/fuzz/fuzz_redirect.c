/*
 * fuzz_redirect: the return-target check. Invariant: whatever is accepted
 * starts with one "/" not followed by "/" or "\", holds no backslash, space,
 * control or non-ASCII byte, fits SP_MAX_NEXT_LEN, and stays so after any
 * number of percent-decodings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/redirect.h"

#define FUZZ_REDIRECT_MAX_INPUT (SP_MAX_NEXT_LEN * 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_redirect_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The leading-slash rule on s, then decode once in place; false when nothing changed. */
static int fuzz_redirect_step(unsigned char *s, size_t *n)
{
    size_t r = 0, w = 0;
    int changed = 0;

    if (*n < 1 || s[0] != '/' || (*n >= 2 && (s[1] == '/' || s[1] == '\\')))
        abort();
    for (size_t i = 0; i < *n; i++)
        if (s[i] == '\\' || s[i] < 0x20 || s[i] == 0x7f)
            abort();
    while (r < *n) {
        if (s[r] == '%' && r + 2 < *n && fuzz_redirect_hex((char)s[r + 1]) >= 0 &&
            fuzz_redirect_hex((char)s[r + 2]) >= 0) {
            s[w++] = (unsigned char)(fuzz_redirect_hex((char)s[r + 1]) * 16 +
                                     fuzz_redirect_hex((char)s[r + 2]));
            r += 3;
            changed = 1;
        } else {
            s[w++] = s[r++];
        }
    }
    *n = w;
    return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char in[FUZZ_REDIRECT_MAX_INPUT + 1];
    static unsigned char work[FUZZ_REDIRECT_MAX_INPUT + 1];
    const char *why = NULL;
    enum sp_err rc;
    size_t n;

    if (size > FUZZ_REDIRECT_MAX_INPUT)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    n = strlen(in);

    rc = sp_redirect_check(in, &why);
    if ((rc == SP_OK) != sp_redirect_is_local(in))
        abort();
    if (rc != SP_OK) {
        if (why == NULL || sp_redirect_target(in, "/f")[1] != 'f')
            abort();
        return 0;
    }
    if (why != NULL || sp_redirect_target(in, "/f") != in || n > SP_MAX_NEXT_LEN)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c >= 0x7f || c == '\\' || c == '"' || c == '<' || c == '>')
            abort();
    }
    memcpy(work, in, n);
    while (fuzz_redirect_step(work, &n))
        ;
    return 0;
}
