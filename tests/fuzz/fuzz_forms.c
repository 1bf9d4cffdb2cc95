/*
 * fuzz_forms: urlencoded parsing of untrusted query strings and POST bodies.
 * Beyond "no crash", it checks invariants: at most SP_FORM_MAX_FIELDS fields,
 * names within SP_FORM_MAX_NAME; a set not marked bad has one field per
 * non-empty '&'-separated segment, distinct names, and sp_params_get returns
 * each value; a repeated name is never returned; parsing again after
 * sp_params_cleanup gives the same result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/forms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_forms_names[] = {
    "SAMLResponse", "SAMLRequest", "RelayState", "SigAlg", "Signature", "next", "idp", "",
};

static void fuzz_forms_check(const struct sp_params *p, const char *s, size_t n)
{
    size_t segments = 0;

    if (p->n > SP_FORM_MAX_FIELDS)
        abort();
    for (unsigned i = 0; i < p->n; i++) {
        if (p->names[i] == NULL || p->values[i] == NULL || strlen(p->names[i]) > SP_FORM_MAX_NAME ||
            strlen(p->values[i]) > n)
            abort();
    }
    for (size_t i = 0; i < n;) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - s) : n;
        if (end > i)
            segments++;
        i = end + 1;
    }
    if (!p->bad) {
        if (p->n != segments)
            abort();
        for (unsigned i = 0; i < p->n; i++) {
            if (sp_params_get(p, p->names[i]) != p->values[i])
                abort();
            for (unsigned j = i + 1; j < p->n; j++)
                if (strcmp(p->names[i], p->names[j]) == 0)
                    abort();
        }
    } else if (p->n > segments) {
        abort();
    }
    for (size_t k = 0; k < sizeof(fuzz_forms_names) / sizeof(fuzz_forms_names[0]); k++) {
        const char *v = sp_params_get(p, fuzz_forms_names[k]);
        unsigned seen = 0;
        for (unsigned i = 0; i < p->n; i++)
            if (strcmp(p->names[i], fuzz_forms_names[k]) == 0)
                seen++;
        if ((seen == 1) != (v != NULL))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_params p, again;
    unsigned n0;
    bool bad0;

    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, (const char *)data, size);
    fuzz_forms_check(&p, (const char *)data, size);
    n0 = p.n;
    bad0 = p.bad;

    memset(&again, 0, sizeof(again));
    sp_params_parse(&again, (const char *)data, size);
    if (again.n != p.n || again.bad != p.bad)
        abort();
    for (unsigned i = 0; i < p.n; i++)
        if (strcmp(again.names[i], p.names[i]) != 0 || strcmp(again.values[i], p.values[i]) != 0)
            abort();
    sp_params_cleanup(&again);

    /* reuse after cleanup, without zeroing */
    sp_params_cleanup(&p);
    if (p.n != 0 || p.bad)
        abort();
    sp_params_parse(&p, (const char *)data, size);
    if (p.n != n0 || p.bad != bad0)
        abort();
    sp_params_cleanup(&p);
    return 0;
}
