/*
 * forms: parsing of application/x-www-form-urlencoded text (query strings and
 * POST bodies) into name/value pairs, with limits. A repeated name, a
 * malformed escape, a NUL byte or too many fields marks the set as bad.
 */
#ifndef SP_FORMS_H
#define SP_FORMS_H

#include <stdbool.h>
#include <stddef.h>

#include "sp/err.h"

#define SP_FORM_MAX_FIELDS 64
#define SP_FORM_MAX_NAME 128

struct sp_params {
    unsigned n;
    char *names[SP_FORM_MAX_FIELDS];
    char *values[SP_FORM_MAX_FIELDS];
    bool bad; /* malformed, repeated name, or too many fields */
};

/* Parse s (n bytes, no leading '?') into p (which must be zeroed or cleaned). */
void sp_params_parse(struct sp_params *p, const char *s, size_t n);
/* Free the strings; p can be parsed again afterwards. */
void sp_params_cleanup(struct sp_params *p);
/* Decoded value of name; NULL when absent or when the name was repeated. */
const char *sp_params_get(const struct sp_params *p, const char *name);

#endif /* SP_FORMS_H */
