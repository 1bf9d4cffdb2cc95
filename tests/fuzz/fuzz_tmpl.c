/*
 * fuzz_tmpl: the input is rendered as a template with a few variables into a
 * bounded buffer. Invariants: the output never exceeds the bound; SP_OK,
 * SP_ERR_INVALID and SP_ERR_TOO_LARGE are the only results; without "{{" the
 * output is the input; when the template has no raw tag ({{&), the values
 * never put a <, >, " or ' into the output that the template itself did not
 * contain; rendering is deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/tmpl.h"

#define FUZZ_TMPL_MAX_OUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sp_tmpl_var fuzz_tmpl_vars[] = {
    {"title", "<script>alert(\"x\")</script>"},
    {"message", "L'utente & <b>\"ospite\"</b>"},
    {"x", "&<>\"'"},
    {"content", "RAW-OK"},
    {"nil", NULL},
    {"", "empty-name"},
};

static int fuzz_tmpl_has(const uint8_t *p, size_t n, char c)
{
    return n > 0 && memchr(p, c, n) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t nvars = sizeof(fuzz_tmpl_vars) / sizeof(fuzz_tmpl_vars[0]);
    struct sp_buf out, again;
    enum sp_err rc, rc2;
    int has_open = 0, has_raw = 0;

    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == '{' && data[i + 1] == '{') {
            has_open = 1;
            if (i + 2 < size && data[i + 2] == '&')
                has_raw = 1;
        }

    sp_buf_init(&out, FUZZ_TMPL_MAX_OUT);
    sp_buf_init(&again, FUZZ_TMPL_MAX_OUT);
    rc = sp_tmpl_render_text((const char *)data, size, fuzz_tmpl_vars, nvars, &out);
    if (rc != SP_OK && rc != SP_ERR_INVALID && rc != SP_ERR_TOO_LARGE)
        abort();
    if (out.len > FUZZ_TMPL_MAX_OUT || (out.data != NULL && out.data[out.len] != '\0'))
        abort();
    if (!has_open) {
        if (size <= FUZZ_TMPL_MAX_OUT &&
            (rc != SP_OK || out.len != size || (size > 0 && memcmp(out.data, data, size) != 0)))
            abort();
        if (size > FUZZ_TMPL_MAX_OUT && rc != SP_ERR_TOO_LARGE)
            abort();
    }
    if (rc == SP_OK && !has_raw) {
        static const char specials[] = "<>\"'";
        for (const char *c = specials; *c; c++)
            if (!fuzz_tmpl_has(data, size, *c) &&
                fuzz_tmpl_has((const uint8_t *)out.data, out.len, *c))
                abort();
    }

    rc2 = sp_tmpl_render_text((const char *)data, size, fuzz_tmpl_vars, nvars, &again);
    if (rc2 != rc || again.len != out.len ||
        (out.len > 0 && memcmp(again.data, out.data, out.len) != 0))
        abort();

    /* and with no variables at all */
    sp_buf_reset(&again);
    rc2 = sp_tmpl_render_text((const char *)data, size, NULL, 0, &again);
    if (rc == SP_OK && rc2 != SP_OK)
        abort();
    if (rc2 == SP_OK && again.len > out.len && rc == SP_OK)
        abort();

    sp_buf_cleanup(&out);
    sp_buf_cleanup(&again);
    return 0;
}
