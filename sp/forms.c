/*
 * forms: urlencoded parameter parsing with bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/forms.h"
#include "sp/mem.h"
#include "sp/str.h"

#define SP_FORM_MAX_VALUE (1u << 20)

static char *forms_decode(const char *s, size_t n, size_t max)
{
    struct sp_buf b;
    sp_buf_init(&b, max);
    if (sp_url_decode(&b, s, n) != SP_OK) {
        sp_buf_cleanup(&b);
        return NULL;
    }
    return sp_buf_detach(&b);
}

void sp_params_parse(struct sp_params *p, const char *s, size_t n)
{
    const char *end = s + n;

    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *field_end = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(field_end - s));
        const char *name_end = eq ? eq : field_end;
        char *name, *value;

        if (field_end == s) { /* empty field ("a=1&&b=2") */
            s = field_end + 1;
            continue;
        }
        if (p->n == SP_FORM_MAX_FIELDS) {
            p->bad = true;
            return;
        }
        name = forms_decode(s, (size_t)(name_end - s), SP_FORM_MAX_NAME);
        value = eq ? forms_decode(eq + 1, (size_t)(field_end - eq - 1), SP_FORM_MAX_VALUE)
                   : sp_xstrdup("");
        if (name == NULL || value == NULL) {
            free(name);
            free(value);
            p->bad = true;
            return;
        }
        for (unsigned i = 0; i < p->n; i++)
            if (strcmp(p->names[i], name) == 0)
                p->bad = true; /* repeated: sp_params_get refuses it */
        p->names[p->n] = name;
        p->values[p->n] = value;
        p->n++;
        s = field_end + 1;
    }
}

void sp_params_cleanup(struct sp_params *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    p->n = 0;
    p->bad = false;
}

const char *sp_params_get(const struct sp_params *p, const char *name)
{
    const char *found = NULL;
    for (unsigned i = 0; i < p->n; i++) {
        if (strcmp(p->names[i], name) != 0)
            continue;
        if (found != NULL)
            return NULL;
        found = p->values[i];
    }
    return found;
}
