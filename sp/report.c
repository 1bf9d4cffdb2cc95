/*
 * report: collecting and printing checker findings.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/mem.h"
#include "sp/report.h"

#define SP_REPORT_MAX_MESSAGE 1024

static const char *const severity_names[] = {"error", "warning", "info"};

void sp_report_init(struct sp_report *r, const char *kind, const char *subject)
{
    memset(r, 0, sizeof(*r));
    r->kind = sp_xstrdup(kind);
    r->subject = sp_xstrdup(subject);
}

void sp_report_cleanup(struct sp_report *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        free(r->items[i].id);
        free(r->items[i].where);
        free(r->items[i].message);
    }
    free(r->items);
    free(r->kind);
    free(r->subject);
    memset(r, 0, sizeof(*r));
}

void sp_report_add(struct sp_report *r, const char *id, enum sp_severity sev, const char *where,
                   const char *fmt, ...)
{
    struct sp_buf msg;
    struct sp_finding *f;
    va_list ap;

    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = sp_xrealloc(r->items, r->cap * sizeof(*r->items));
    }
    sp_buf_init(&msg, SP_REPORT_MAX_MESSAGE);
    va_start(ap, fmt);
    if (sp_buf_vaddf(&msg, fmt, ap) != SP_OK)
        sp_buf_adds(&msg, "(message too long)");
    va_end(ap);
    f = &r->items[r->n++];
    f->id = sp_xstrdup(id);
    f->severity = sev;
    f->where = sp_xstrdup(where ? where : "");
    f->message = sp_buf_detach(&msg);
}

void sp_report_ran(struct sp_report *r)
{
    r->checks_run++;
}

unsigned sp_report_count(const struct sp_report *r, enum sp_severity sev)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->n; i++)
        n += r->items[i].severity == sev;
    return n;
}

int sp_report_has(const struct sp_report *r, const char *id)
{
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->items[i].id, id) == 0)
            return 1;
    return 0;
}

void sp_report_print_text(const struct sp_report *r, FILE *out)
{
    for (unsigned i = 0; i < r->n; i++) {
        const struct sp_finding *f = &r->items[i];
        fprintf(out, "%-7s %-24s %s%s%s\n", severity_names[f->severity], f->id, f->where,
                f->where[0] ? ": " : "", f->message);
    }
    fprintf(out, "%s %s: %u checks, %u errors, %u warnings\n", r->kind, r->subject, r->checks_run,
            sp_report_count(r, SP_SEV_ERROR), sp_report_count(r, SP_SEV_WARNING));
}

/* Messages may quote document bytes: invalid UTF-8 becomes '?' in JSON. */
static json_t *report_json_text(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    if (j != NULL)
        return j;
    copy = sp_xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

void sp_report_print_json(const struct sp_report *r, FILE *out)
{
    json_t *o = json_object(), *items = json_array();
    char *text;

    json_object_set_new(o, "subject", json_string(r->subject));
    json_object_set_new(o, "kind", json_string(r->kind));
    json_object_set_new(o, "checks", json_integer(r->checks_run));
    json_object_set_new(o, "errors", json_integer(sp_report_count(r, SP_SEV_ERROR)));
    json_object_set_new(o, "warnings", json_integer(sp_report_count(r, SP_SEV_WARNING)));
    for (unsigned i = 0; i < r->n; i++) {
        const struct sp_finding *f = &r->items[i];
        json_t *it = json_object();
        json_object_set_new(it, "id", json_string(f->id));
        json_object_set_new(it, "severity", json_string(severity_names[f->severity]));
        json_object_set_new(it, "where", json_string(f->where));
        json_object_set_new(it, "message", report_json_text(f->message));
        json_array_append_new(items, it);
    }
    json_object_set_new(o, "findings", items);
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
        fprintf(out, "%s\n", text);
    free(text);
    json_decref(o);
}
