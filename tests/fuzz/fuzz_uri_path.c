/*
 * fuzz_uri_path: the request-path normaliser behind /auth/check. Invariants
 * for an accepted input: the result starts with "/", holds no "//", no "."
 * or ".." segment, no backslash, ';', control byte or '%' that was not in the
 * decoded text, and normalising it again gives the same path (idempotent, so
 * a backend normalising once more sees what the decision saw).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/str.h"

#define FUZZ_URI_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_uri_check(const char *p)
{
    size_t n = strlen(p);

    if (n == 0 || p[0] != '/')
        abort();
    if (strstr(p, "//") != NULL || strstr(p, "/./") != NULL || strstr(p, "/../") != NULL)
        abort();
    if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == '\\' || c == ';')
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_buf in, out, again;
    char *s;

    if (size > FUZZ_URI_MAX)
        return 0;
    s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    sp_buf_init(&in, FUZZ_URI_MAX + 2);
    sp_buf_init(&out, FUZZ_URI_MAX + 2);
    sp_buf_init(&again, FUZZ_URI_MAX + 2);
    if (sp_uri_path_normalize(&out, s) == SP_OK) {
        fuzz_uri_check(sp_buf_str(&out));
        /* '%' in the result is a decoded literal: re-normalising must not decode it
         * again, so escape it first, as a client would */
        for (const char *p = sp_buf_str(&out); *p; p++) {
            if (*p == '%')
                sp_buf_adds(&in, "%25");
            else
                sp_buf_addc(&in, *p);
        }
        if (sp_uri_path_normalize(&again, sp_buf_str(&in)) != SP_OK ||
            strcmp(sp_buf_str(&again), sp_buf_str(&out)) != 0)
            abort();
    }
    sp_buf_cleanup(&in);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&again);
    free(s);
    return 0;
}
