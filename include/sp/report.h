/*
 * report: the findings of a checker (check-metadata, check-cert): each with
 * a stable check id, a severity, where (an element path or a certificate
 * field) and a one-line message. Printed as text for people or as JSON for
 * CI systems; the exit status comes from the number of errors.
 */
#ifndef SP_REPORT_H
#define SP_REPORT_H

#include <stdio.h>

enum sp_severity { SP_SEV_ERROR, SP_SEV_WARNING, SP_SEV_INFO };

struct sp_finding {
    char *id; /* stable, e.g. "MD-22" or "CE-07-keyusage-critical" */
    enum sp_severity severity;
    char *where; /* "/md:EntityDescriptor/md:SPSSODescriptor", "subject/CN", ... */
    char *message;
};

struct sp_report {
    char *subject; /* what was checked: a file name or URL */
    char *kind;    /* "metadata" or "certificate" */
    struct sp_finding *items;
    unsigned n, cap;
    unsigned checks_run; /* how many checks were evaluated (passed or not) */
};

/* Lifetime. subject and kind are copied. */
void sp_report_init(struct sp_report *r, const char *kind, const char *subject);
void sp_report_cleanup(struct sp_report *r);

/* Add one finding (strings copied; message printf-style). */
void sp_report_add(struct sp_report *r, const char *id, enum sp_severity sev, const char *where,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Count that a check was evaluated (for the summary line). */
void sp_report_ran(struct sp_report *r);

unsigned sp_report_count(const struct sp_report *r, enum sp_severity sev);
/* True when a finding with this id is present (tests). */
int sp_report_has(const struct sp_report *r, const char *id);

/*
 * Text: one line per finding "SEVERITY ID where: message", then a summary
 * "N checks, E errors, W warnings". JSON: {"subject","kind","checks","errors",
 * "warnings","findings":[{"id","severity","where","message"}]}.
 */
void sp_report_print_text(const struct sp_report *r, FILE *out);
void sp_report_print_json(const struct sp_report *r, FILE *out);

#endif /* SP_REPORT_H */
