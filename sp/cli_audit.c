/*
 * cli_audit: `spid-sp audit verify` and `spid-sp audit export`: argument
 * parsing and wiring over audit.c.
 *
 * verify only reads: exit 0 intact, 1 problems found, 2 when it could not
 * check (usage, configuration, database). export records itself in the trail
 * (every administrative command does) before writing, and refuses to export
 * when it cannot; neither command creates a missing database, so a wrong
 * --config or data_dir is an error rather than a new empty trail.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/cli.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/db.h"
#include "sp/file.h"

#define SP_AUDIT_DAY_MS INT64_C(86400000)

enum { AUDIT_EXIT_OK = 0, AUDIT_EXIT_FAIL = 1, AUDIT_EXIT_USAGE = 2 };

static const char audit_usage[] =
    "usage: spid-sp audit verify [--config FILE]\n"
    "       spid-sp audit export [--config FILE] [--from DATE] [--to DATE] [--out FILE]\n"
    "DATE is YYYY-MM-DD (UTC; --to includes that whole day) or RFC 3339\n"
    "(2026-11-22T09:00:00Z, 2026-11-22T10:00:00.5+01:00); --from is inclusive, --to exclusive\n";

/* The configured database, never created here (a wrong --config must not
 * start a new, empty trail); path gets its name for messages. */
static struct sp_db *audit_open_db(const char *cmd, const struct sp_config *cfg,
                                   struct sp_buf *path)
{
    char *p = sp_config_db_path(cfg);
    char full[64];

    sp_buf_adds(path, p);
    free(p);
    snprintf(full, sizeof(full), "audit %s", cmd);
    return sp_cli_open_db(cfg, full, 1);
}

/* ------------------------------------------------------------------ verify */

struct audit_verify_ctx {
    int64_t problems;
};

static void audit_print_problem(void *ctxv, int64_t seq, const char *what)
{
    struct audit_verify_ctx *ctx = ctxv;

    if (seq > 0) {
        ctx->problems++;
        printf("audit: entry %lld: %s\n", (long long)seq, what);
    } else {
        printf("audit: %s\n", what);
    }
}

/* Administrative commands are audited too: after the walk, so the entry is
 * not part of what was verified. A trail too damaged to extend (no head) is
 * reported by the walk itself. */
static void audit_record_verify(struct sp_db *db, bool intact, int64_t entries, int64_t problems)
{
    struct sp_audit_event ev;
    char actor[128], details[128];

    sp_cli_operator(actor, sizeof(actor));
    snprintf(details, sizeof(details),
             "{\"command\":\"audit verify\",\"entries\":%lld,"
             "\"problems\":%lld}",
             (long long)entries, (long long)problems);
    memset(&ev, 0, sizeof(ev));
    ev.event = SP_AUDIT_ADMIN;
    ev.actor = actor;
    ev.outcome = intact ? "ok" : "error";
    ev.reason = "audit verify";
    ev.details = details;
    if (sp_audit_append(db, &ev, sp_clock_now_ms()) != SP_OK)
        fprintf(stderr, "spid-sp audit verify: could not record this verification\n");
}

static int audit_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct audit_verify_ctx ctx = {0};
    const char *config = NULL;
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_buf path;
    int64_t entries = 0;
    int c, status = AUDIT_EXIT_USAGE;
    enum sp_err rc;

    sp_buf_init(&path, 8192);
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'h':
            fputs(audit_usage, stdout);
            status = AUDIT_EXIT_OK;
            goto out;
        default:
            fputs(audit_usage, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spid-sp audit verify: unexpected argument \"%s\"\n%s", argv[optind],
                audit_usage);
        goto out;
    }
    cfg = sp_cli_load_config(config);
    if (cfg == NULL)
        goto out;
    db = audit_open_db("verify", cfg, &path);
    if (db == NULL)
        goto out;
    rc = sp_audit_verify(db, audit_print_problem, &ctx, &entries);
    if (rc == SP_OK || rc == SP_ERR_INTEGRITY)
        audit_record_verify(db, rc == SP_OK, entries, ctx.problems);
    if (rc == SP_OK) {
        printf("audit trail: %lld entries, intact\n", (long long)entries);
        status = AUDIT_EXIT_OK;
    } else if (rc == SP_ERR_INTEGRITY) {
        printf("audit trail: %lld entries, %lld problems\n", (long long)entries,
               (long long)ctx.problems);
        status = AUDIT_EXIT_FAIL;
    } else {
        fprintf(stderr, "spid-sp audit verify: cannot read the audit trail in %s: %s\n",
                sp_buf_str(&path), sp_strerror(rc));
    }
out:
    sp_db_close(&db);
    sp_config_free(&cfg);
    sp_buf_cleanup(&path);
    return status;
}

/* ------------------------------------------------------------------ export */

static int audit_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/*
 * A --from/--to value: YYYY-MM-DD is midnight UTC (the next midnight when
 * end_of_day, so that --to includes the day); otherwise RFC 3339 date-time
 * with "Z" or a numeric offset ('T' and 'Z' in either case).
 */
static enum sp_err audit_parse_date(const char *s, int end_of_day, int64_t *ms)
{
    char buf[64];
    size_t n = strlen(s);
    int64_t off_ms = 0;
    enum sp_err rc;

    if (n == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        rc = sp_time_parse(buf, ms);
        if (rc == SP_OK && end_of_day)
            *ms += SP_AUDIT_DAY_MS;
        return rc;
    }
    if (n < 20 || n >= sizeof(buf))
        return SP_ERR_INVALID;
    memcpy(buf, s, n + 1);
    if (buf[10] == 't')
        buf[10] = 'T';
    if (buf[n - 1] == 'z')
        buf[n - 1] = 'Z';
    if (buf[n - 1] != 'Z') {
        int hh, mm;
        char sign = buf[n - 6];
        if ((sign != '+' && sign != '-') || buf[n - 3] != ':' ||
            audit_digits(buf + n - 5, 2, &hh) != 0 || audit_digits(buf + n - 2, 2, &mm) != 0 ||
            hh > 23 || mm > 59)
            return SP_ERR_INVALID;
        off_ms = ((int64_t)hh * 60 + mm) * 60000 * (sign == '+' ? 1 : -1);
        buf[n - 6] = 'Z';
        buf[n - 5] = '\0';
    }
    rc = sp_time_parse(buf, ms);
    if (rc == SP_OK)
        *ms -= off_ms; /* local time = UTC + offset */
    return rc;
}

static enum sp_err audit_record_export(struct sp_db *db, const char *actor, const char *outcome,
                                       const char *reason, const char *from, const char *to,
                                       const char *outfile)
{
    json_t *d = json_object();
    struct sp_audit_event ev = {0};
    char *details;
    enum sp_err rc;

    json_object_set_new(d, "command", json_string("audit export"));
    json_object_set_new(d, "from", from ? json_string(from) : json_null());
    json_object_set_new(d, "to", to ? json_string(to) : json_null());
    json_object_set_new(d, "out", outfile ? json_string(outfile) : json_null());
    details = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    ev.event = SP_AUDIT_ADMIN;
    ev.actor = actor;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = details;
    rc = sp_audit_append(db, &ev, sp_clock_now_ms());
    free(details);
    return rc;
}

/* Write the export to outfile atomically (mode 0600: it holds personal data) or stdout. */
static enum sp_err audit_write_export(struct sp_db *db, const char *outfile, int64_t from_ms,
                                      int64_t to_ms, int64_t *count)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *fp;
    enum sp_err rc;

    if (outfile == NULL)
        return sp_audit_export(db, stdout, from_ms, to_ms, count);
    fp = open_memstream(&mem, &len);
    if (fp == NULL)
        return SP_ERR_IO;
    rc = sp_audit_export(db, fp, from_ms, to_ms, count);
    if (fclose(fp) != 0 && rc == SP_OK)
        rc = SP_ERR_IO;
    if (rc == SP_OK)
        rc = sp_file_write_atomic(outfile, mem, len, 0600);
    free(mem);
    return rc;
}

static int audit_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *from = NULL, *to = NULL, *outfile = NULL;
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_buf path;
    char actor[300];
    int64_t from_ms = 0, to_ms = 0, count = 0;
    int c, status = AUDIT_EXIT_USAGE;
    enum sp_err rc;

    sp_buf_init(&path, 8192);
    while ((c = getopt_long(argc, argv, "c:f:t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'o':
            outfile = optarg;
            break;
        case 'h':
            fputs(audit_usage, stdout);
            status = AUDIT_EXIT_OK;
            goto out;
        default:
            fputs(audit_usage, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spid-sp audit export: unexpected argument \"%s\"\n%s", argv[optind],
                audit_usage);
        goto out;
    }
    if (from != NULL && audit_parse_date(from, 0, &from_ms) != SP_OK) {
        fprintf(stderr,
                "spid-sp audit export: --from \"%s\" is not a date (YYYY-MM-DD or RFC 3339, "
                "e.g. 2026-11-22T09:00:00Z)\n",
                from);
        goto out;
    }
    if (to != NULL && audit_parse_date(to, 1, &to_ms) != SP_OK) {
        fprintf(stderr,
                "spid-sp audit export: --to \"%s\" is not a date (YYYY-MM-DD or RFC 3339, "
                "e.g. 2026-11-22T09:00:00Z)\n",
                to);
        goto out;
    }
    if (to != NULL && to_ms <= 0) {
        fprintf(stderr, "spid-sp audit export: --to must be after 1970-01-01T00:00:00Z\n");
        goto out;
    }
    if (from != NULL && to != NULL && from_ms >= to_ms) {
        fprintf(stderr, "spid-sp audit export: --from \"%s\" is not before --to \"%s\"\n", from,
                to);
        goto out;
    }
    cfg = sp_cli_load_config(config);
    if (cfg == NULL)
        goto out;
    db = audit_open_db("export", cfg, &path);
    if (db == NULL)
        goto out;

    /* record first, so the export lists itself; no record, no export */
    status = AUDIT_EXIT_FAIL;
    sp_cli_operator(actor, sizeof(actor));
    rc = audit_record_export(db, actor, "ok", "audit export", from, to, outfile);
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp audit export: cannot record the export in the audit trail: %s\n",
                sp_strerror(rc));
        goto out;
    }
    rc = audit_write_export(db, outfile, from_ms, to_ms, &count);
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp audit export: cannot write %s: %s\n",
                outfile ? outfile : "to standard output", sp_strerror(rc));
        audit_record_export(db, actor, "error", "audit export failed", from, to, outfile);
        goto out;
    }
    if (outfile != NULL)
        printf("wrote %lld entries to %s\n", (long long)count, outfile);
    status = AUDIT_EXIT_OK;
out:
    sp_db_close(&db);
    sp_config_free(&cfg);
    sp_buf_cleanup(&path);
    return status;
}

/* ------------------------------------------------------------------ entry */

int sp_cli_audit(int argc, char **argv)
{
    if (argc < 2) {
        fputs(audit_usage, stderr);
        return AUDIT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(audit_usage, stdout);
        return AUDIT_EXIT_OK;
    }
    if (strcmp(argv[1], "verify") == 0)
        return audit_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return audit_export(argc - 1, argv + 1);
    fprintf(stderr, "spid-sp audit: unknown subcommand \"%s\"\n%s", argv[1], audit_usage);
    return AUDIT_EXIT_USAGE;
}
