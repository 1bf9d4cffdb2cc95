/*
 * cli_register: `spid-sp register export|verify|prune`: argument parsing and
 * wiring over register.c, for the register in <data_dir>/register.
 *
 * Exit status: 0 done (verify: intact), 1 failed (verify: problems found),
 * 2 could not start (usage, configuration, database). Every command records
 * itself in the audit trail (export before writing: no record, no export);
 * none creates a missing database, so a wrong --config or data_dir is an
 * error rather than a new, empty register.
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
#include "sp/register.h"

#define REGISTER_DAY_MS INT64_C(86400000)

enum { REG_EXIT_OK = 0, REG_EXIT_FAIL = 1, REG_EXIT_USAGE = 2 };

static const char register_usage[] =
    "usage: spid-sp register export [--config FILE] [--from DATE] [--to DATE] [--out FILE]\n"
    "       spid-sp register verify [--config FILE]\n"
    "       spid-sp register prune [--config FILE] [--keep-months N]  (N >= 24, default 24)\n"
    "DATE is YYYY-MM-DD (UTC; --to includes that whole day) or an RFC 3339 UTC time\n"
    "(2026-11-22T09:00:00Z); --from is inclusive, --to exclusive\n";

/* What every subcommand opens: the configuration, the database, the register. */
struct register_env {
    struct sp_config *cfg;
    struct sp_db *db;
    struct sp_register *reg;
    char actor[300];
};

static void register_env_cleanup(struct register_env *env)
{
    sp_register_free(&env->reg);
    sp_db_close(&env->db);
    sp_config_free(&env->cfg);
}

/* 0, or a message on stderr and -1. */
static int register_env_open(struct register_env *env, const char *config, const char *cmd)
{
    char full[64];
    struct sp_buf dir, err;
    int ok = 0;

    memset(env, 0, sizeof(*env));
    snprintf(full, sizeof(full), "register %s", cmd);
    env->cfg = sp_cli_load_config(config);
    if (env->cfg == NULL)
        return -1;
    env->db = sp_cli_open_db(env->cfg, full, 1);
    if (env->db == NULL)
        return -1;
    sp_buf_init(&dir, 8192);
    sp_buf_init(&err, 4096);
    sp_buf_addf(&dir, "%s/register", env->cfg->data_dir);
    env->reg = sp_register_open(sp_buf_str(&dir), env->db, &err);
    if (env->reg == NULL)
        fprintf(stderr, "spid-sp %s: %s\n", full, sp_buf_str(&err));
    else
        ok = 1;
    sp_buf_cleanup(&dir);
    sp_buf_cleanup(&err);
    sp_cli_operator(env->actor, sizeof(env->actor));
    return ok ? 0 : -1;
}

/* Append the admin entry: details is a JSON object built by the caller (consumed). */
static enum sp_err register_audit(struct register_env *env, const char *outcome, const char *reason,
                                  json_t *details)
{
    struct sp_audit_event ev = {0};
    char *d = json_dumps(details, JSON_COMPACT);
    enum sp_err rc;

    json_decref(details);
    ev.event = SP_AUDIT_ADMIN;
    ev.actor = env->actor;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = d;
    rc = sp_audit_append(env->db, &ev, sp_clock_now_ms());
    free(d);
    if (rc != SP_OK)
        fprintf(stderr, "spid-sp %s: cannot record this command in the audit trail: %s\n", reason,
                sp_strerror(rc));
    return rc;
}

/* getopt_long, handling --help and bad options: *status is set when it returns h or ?. */
static int register_getopt(int argc, char **argv, const struct option *opts, const char *shorts,
                           int *status)
{
    int c = getopt_long(argc, argv, shorts, opts, NULL);

    if (c == 'h') {
        fputs(register_usage, stdout);
        *status = REG_EXIT_OK;
    } else if (c == '?' || c == ':') {
        fputs(register_usage, stderr);
        *status = REG_EXIT_USAGE;
    }
    return c;
}

static int register_no_args(int argc, char **argv, const char *cmd)
{
    if (optind < argc) {
        fprintf(stderr, "spid-sp register %s: unexpected argument \"%s\"\n%s", cmd, argv[optind],
                register_usage);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ verify */

struct register_verify_ctx {
    int64_t problems;
    int64_t notices;
};

/* Problems (damage, tampering, loss) and notices (an interrupted append's tail) apart. */
static void register_print_problem(void *ctxv, enum sp_register_finding kind, const char *day,
                                   int64_t seq, const char *what)
{
    struct register_verify_ctx *ctx = ctxv;
    const char *tag = kind == SP_REGISTER_NOTICE ? "notice: " : "";

    if (day == NULL) {
        printf("register: %s\n", what);
        return;
    }
    if (kind == SP_REGISTER_NOTICE)
        ctx->notices++;
    else
        ctx->problems++;
    if (seq > 0)
        printf("register: %s: record %lld: %s%s\n", day, (long long)seq, tag, what);
    else
        printf("register: %s: %s%s\n", day, tag, what);
}

static int register_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct register_verify_ctx ctx = {0};
    struct register_env env;
    const char *config = NULL;
    int64_t records = 0;
    int c, status = -1;
    enum sp_err rc;
    json_t *d;

    memset(&env, 0, sizeof(env));
    while ((c = register_getopt(argc, argv, opts, "c:h", &status)) != -1) {
        if (c == 'c')
            config = optarg;
        else
            return status;
    }
    status = REG_EXIT_USAGE;
    if (register_no_args(argc, argv, "verify") != 0 ||
        register_env_open(&env, config, "verify") != 0)
        goto out;
    rc = sp_register_verify(env.reg, register_print_problem, &ctx, &records);
    if (rc == SP_OK || rc == SP_ERR_INTEGRITY) {
        d = json_pack("{s:s, s:I, s:I, s:I}", "command", "register verify", "records",
                      (json_int_t)records, "problems", (json_int_t)ctx.problems, "notices",
                      (json_int_t)ctx.notices);
        register_audit(&env, rc == SP_OK ? "ok" : "error", "register verify", d);
    }
    if (rc == SP_OK && ctx.notices > 0) {
        printf("transaction register: %lld records, intact; %lld unacknowledged tails of "
               "interrupted appends outside it (cut by the next append)\n",
               (long long)records, (long long)ctx.notices);
        status = REG_EXIT_OK;
    } else if (rc == SP_OK) {
        printf("transaction register: %lld records, intact\n", (long long)records);
        status = REG_EXIT_OK;
    } else if (rc == SP_ERR_INTEGRITY) {
        printf("transaction register: %lld records, %lld problems\n", (long long)records,
               (long long)ctx.problems);
        status = REG_EXIT_FAIL;
    } else {
        fprintf(stderr, "spid-sp register verify: cannot read the register: %s\n", sp_strerror(rc));
    }
out:
    register_env_cleanup(&env);
    return status;
}

/* ------------------------------------------------------------------ export */

/* --from/--to: YYYY-MM-DD is midnight UTC (the next one when end_of_day). */
static int register_parse_date(const char *s, int end_of_day, int64_t *ms)
{
    int64_t sec;

    if (sp_cli_parse_date(s, &sec) != 0)
        return -1;
    *ms = sec * 1000;
    if (end_of_day && strlen(s) == 10)
        *ms += REGISTER_DAY_MS;
    return 0;
}

/* The export to outfile atomically (mode 0600: personal data) or to stdout. */
static enum sp_err register_write_export(struct sp_register *reg, const char *outfile,
                                         int64_t from_ms, int64_t to_ms, int64_t *count)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *fp;
    enum sp_err rc;

    if (outfile == NULL)
        return sp_register_export(reg, from_ms, to_ms, stdout, count);
    fp = open_memstream(&mem, &len);
    if (fp == NULL)
        return SP_ERR_IO;
    rc = sp_register_export(reg, from_ms, to_ms, fp, count);
    if (fclose(fp) != 0 && rc == SP_OK)
        rc = SP_ERR_IO;
    if (rc == SP_OK || rc == SP_ERR_INTEGRITY) {
        enum sp_err wr = sp_file_write_atomic(outfile, mem, len, 0600);
        if (wr != SP_OK)
            rc = wr;
    }
    free(mem);
    return rc;
}

static json_t *register_export_details(const char *from, const char *to, const char *outfile)
{
    return json_pack("{s:s, s:s?, s:s?, s:s?}", "command", "register export", "from", from, "to",
                     to, "out", outfile);
}

static int register_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *from = NULL, *to = NULL, *outfile = NULL;
    struct register_env env;
    int64_t from_ms = 0, to_ms = 0, count = 0;
    int c, status = -1;
    enum sp_err rc;

    memset(&env, 0, sizeof(env));
    while ((c = register_getopt(argc, argv, opts, "c:f:t:o:h", &status)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'f')
            from = optarg;
        else if (c == 't')
            to = optarg;
        else if (c == 'o')
            outfile = optarg;
        else
            return status;
    }
    status = REG_EXIT_USAGE;
    if (register_no_args(argc, argv, "export") != 0)
        goto out;
    if (from != NULL && register_parse_date(from, 0, &from_ms) != 0) {
        fprintf(stderr, "spid-sp register export: --from \"%s\" is not a date\n%s", from,
                register_usage);
        goto out;
    }
    if (to != NULL && (register_parse_date(to, 1, &to_ms) != 0 || to_ms <= 0)) {
        fprintf(stderr, "spid-sp register export: --to \"%s\" is not a date after 1970\n%s", to,
                register_usage);
        goto out;
    }
    if (from != NULL && to != NULL && from_ms >= to_ms) {
        fprintf(stderr, "spid-sp register export: --from \"%s\" is not before --to \"%s\"\n", from,
                to);
        goto out;
    }
    if (register_env_open(&env, config, "export") != 0)
        goto out;

    /* record first, so the export is accounted for; no record, no export */
    status = REG_EXIT_FAIL;
    if (register_audit(&env, "ok", "register export", register_export_details(from, to, outfile)) !=
        SP_OK)
        goto out;
    rc = register_write_export(env.reg, outfile, from_ms, to_ms, &count);
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp register export: %s: %s\n", outfile ? outfile : "standard output",
                rc == SP_ERR_INTEGRITY
                    ? "a segment is damaged: exported what could be read (run register verify)"
                    : sp_strerror(rc));
        register_audit(&env, "error", "register export",
                       register_export_details(from, to, outfile));
        goto out;
    }
    if (outfile != NULL)
        printf("wrote %lld records to %s\n", (long long)count, outfile);
    status = REG_EXIT_OK;
out:
    register_env_cleanup(&env);
    return status;
}

/* ------------------------------------------------------------------ prune */

static int register_prune(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"keep-months", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    unsigned long keep = SP_REGISTER_RETENTION_MONTHS;
    struct register_env env;
    int64_t days = 0;
    int c, status = -1;
    enum sp_err rc;
    char *end;

    memset(&env, 0, sizeof(env));
    while ((c = register_getopt(argc, argv, opts, "c:k:h", &status)) != -1) {
        if (c == 'c') {
            config = optarg;
        } else if (c == 'k') {
            keep = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || optarg[0] == '-' ||
                keep < SP_REGISTER_RETENTION_MONTHS || keep > 1200) {
                fprintf(stderr,
                        "spid-sp register prune: --keep-months \"%s\": a number of months from "
                        "%u (the SPID retention) to 1200\n",
                        optarg, SP_REGISTER_RETENTION_MONTHS);
                return REG_EXIT_USAGE;
            }
        } else {
            return status;
        }
    }
    status = REG_EXIT_USAGE;
    if (register_no_args(argc, argv, "prune") != 0 || register_env_open(&env, config, "prune") != 0)
        goto out;
    status = REG_EXIT_FAIL;
    rc = sp_register_prune(env.reg, sp_clock_now_ms(), (unsigned)keep, &days);
    register_audit(&env, rc == SP_OK ? "ok" : "error", "register prune",
                   json_pack("{s:s, s:I, s:I}", "command", "register prune", "keep_months",
                             (json_int_t)keep, "days_removed", (json_int_t)days));
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp register prune: %s (%lld day segments removed)\n", sp_strerror(rc),
                (long long)days);
        goto out;
    }
    printf("removed %lld day segments older than %lu months\n", (long long)days, keep);
    status = REG_EXIT_OK;
out:
    register_env_cleanup(&env);
    return status;
}

/* ------------------------------------------------------------------ entry */

int sp_cli_register(int argc, char **argv)
{
    if (argc < 2) {
        fputs(register_usage, stderr);
        return REG_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(register_usage, stdout);
        return REG_EXIT_OK;
    }
    if (strcmp(argv[1], "verify") == 0)
        return register_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return register_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "prune") == 0)
        return register_prune(argc - 1, argv + 1);
    fprintf(stderr, "spid-sp register: unknown subcommand \"%s\"\n%s", argv[1], register_usage);
    return REG_EXIT_USAGE;
}
