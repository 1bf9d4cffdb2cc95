/*
 * cli_admin: the operator's commands on people, organisations, roles and
 * delegations: `user show`, `org add|list`, `role grant|revoke|list`,
 * `delegation add|revoke|list`. Argument parsing and printing only: the
 * rules live in roles_store.c, which also writes every change to the audit
 * trail; reading commands append an "admin" entry here.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/cf.h"
#include "sp/cli.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/db.h"
#include "sp/roles.h"
#include "sp/str.h"
#include "sp/users.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Options shared by every admin subcommand. */
struct admin_opts {
    const char *config, *org, *scheme, *scope, *from, *to, *reason, *evidence, *kind, *name, *vat,
        *type, *delegator, *delegate, *channel, *by;
    int all, json, suggested;
    const char *args[4];
    int nargs;
};

static const struct option admin_long[] = {
    {"config", required_argument, NULL, 'c'},
    {"org", required_argument, NULL, 'o'},
    {"scheme", required_argument, NULL, 'S'},
    {"scope", required_argument, NULL, 's'},
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"reason", required_argument, NULL, 'r'},
    {"evidence", required_argument, NULL, 'e'},
    {"kind", required_argument, NULL, 'k'},
    {"name", required_argument, NULL, 'n'},
    {"vat", required_argument, NULL, 'v'},
    {"type", required_argument, NULL, 'T'},
    {"delegator", required_argument, NULL, 'F'},
    {"delegate", required_argument, NULL, 'D'},
    {"channel", required_argument, NULL, 'C'},
    {"by", required_argument, NULL, 'b'},
    {"all", no_argument, NULL, 'a'},
    {"json", no_argument, NULL, 'j'},
    {"suggested", no_argument, NULL, 'g'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parse argv (argv[0] = "role grant" etc.); 0 ok, 1 help shown, -1 usage error. */
static int admin_parse(int argc, char **argv, const char *usage, struct admin_opts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", admin_long, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'o':
            o->org = optarg;
            break;
        case 'S':
            o->scheme = optarg;
            break;
        case 's':
            o->scope = optarg;
            break;
        case 'f':
            o->from = optarg;
            break;
        case 't':
            o->to = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'e':
            o->evidence = optarg;
            break;
        case 'k':
            o->kind = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'v':
            o->vat = optarg;
            break;
        case 'T':
            o->type = optarg;
            break;
        case 'F':
            o->delegator = optarg;
            break;
        case 'D':
            o->delegate = optarg;
            break;
        case 'C':
            o->channel = optarg;
            break;
        case 'b':
            o->by = optarg;
            break;
        case 'a':
            o->all = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'g':
            o->suggested = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            fputs(usage, stderr);
            return -1;
        }
    }
    for (; optind < argc; optind++) {
        if (o->nargs == 4) {
            fputs(usage, stderr);
            return -1;
        }
        o->args[o->nargs++] = argv[optind];
    }
    return 0;
}

static void fmt_date(int64_t sec, char out[32])
{
    char iso[SP_TIME_ISO_LEN];
    if (sec == 0) {
        snprintf(out, 32, "-");
        return;
    }
    sp_time_format(sec * 1000, 0, iso);
    sp_strlcpy(out, iso, 32);
}

static int date_arg(const char *cmd, const char *opt, const char *v, int64_t *sec)
{
    if (v == NULL)
        return 0;
    if (sp_cli_parse_date(v, sec) != 0) {
        fprintf(stderr, "spid-sp %s: %s \"%s\" is not a date (YYYY-MM-DD or RFC 3339)\n", cmd, opt,
                v);
        return -1;
    }
    return 0;
}

/* Every scope token is "*", a service id or a service family of the catalogue. */
static int scope_arg(const char *cmd, const struct sp_config *cfg, const char *scopes)
{
    for (const char *p = scopes; *p;) {
        size_t n = strcspn(p, " ,");
        bool known = n == 1 && *p == '*';
        for (unsigned i = 0; i < cfg->n_services && !known && n > 0; i++) {
            const struct sp_service *s = &cfg->services[i];
            known = (strlen(s->id) == n && strncmp(s->id, p, n) == 0) ||
                    (strlen(s->family) == n && strncmp(s->family, p, n) == 0);
        }
        if (n > 0 && !known) {
            fprintf(stderr,
                    "spid-sp %s: scope \"%.*s\" is neither a service id nor a service family of "
                    "the catalogue\n",
                    cmd, (int)n, p);
            return -1;
        }
        p += n;
        while (*p == ' ' || *p == ',')
            p++;
    }
    return 0;
}

static void audit_read(struct sp_db *db, const char *op, const char *what, const char *subject)
{
    struct sp_audit_event ev;
    json_t *o = json_pack("{s:s, s:s?}", "command", what, "subject", subject);
    char *details = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

    json_decref(o);
    memset(&ev, 0, sizeof(ev));
    ev.event = SP_AUDIT_ADMIN;
    ev.actor = op;
    ev.acting_for = subject;
    ev.outcome = "ok";
    ev.reason = what;
    ev.details = details;
    if (sp_audit_append(db, &ev, sp_clock_now_ms()) != SP_OK)
        fprintf(stderr, "spid-sp: warning: could not write the audit entry\n");
    free(details);
}

/* Load config, open the database; NULL (after a message) on failure. */
static struct sp_db *admin_open(const char *cmd, const struct admin_opts *o, struct sp_config **cfg)
{
    struct sp_db *db;
    *cfg = sp_cli_load_config(o->config);
    if (*cfg == NULL)
        return NULL;
    db = sp_cli_open_db(*cfg, cmd, 0);
    if (db == NULL)
        sp_config_free(cfg);
    return db;
}

static int refused(const char *cmd, enum sp_err rc, struct sp_buf *why)
{
    fprintf(stderr, "spid-sp %s: %s\n", cmd, why->len ? sp_buf_str(why) : sp_strerror(rc));
    return rc == SP_ERR_DB || rc == SP_ERR_INTERNAL ? EXIT_USAGE : EXIT_FAIL;
}

/* ------------------------------------------------------------------- org */

static const char org_usage[] =
    "usage: spid-sp org add FISCAL_CODE --kind KIND --name NAME [--vat PARTITA_IVA] [--config F]\n"
    "       spid-sp org list [--config F]\n"
    "KIND: company, public_body, patronato, caf, professional_firm, trade_association\n";

static void org_print(void *ctx, const struct sp_org *o)
{
    (void)ctx;
    printf("%-11s  %-17s  %s%s%s\n", o->fiscal_code, sp_org_type_name(o->type), o->name,
           o->vat_number ? "  P.IVA " : "", o->vat_number ? o->vat_number : "");
}

int sp_cli_org(int argc, char **argv)
{
    struct admin_opts o;
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_buf why;
    char op[128];
    int r = admin_parse(argc, argv, org_usage, &o), status = EXIT_USAGE;
    const char *sub = o.nargs > 0 ? o.args[0] : "";

    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    sp_buf_init(&why, 4096);
    sp_cli_operator(op, sizeof(op));
    if (strcmp(sub, "add") == 0 && o.nargs == 2) {
        struct sp_org org;
        memset(&org, 0, sizeof(org));
        if (o.kind == NULL || sp_org_type_parse(o.kind, &org.type) != SP_OK || o.name == NULL) {
            fputs(org_usage, stderr);
            goto out;
        }
        sp_strlcpy(org.fiscal_code, o.args[1], sizeof(org.fiscal_code));
        org.name = (char *)o.name;
        org.vat_number = (char *)o.vat;
        if ((db = admin_open("org add", &o, &cfg)) == NULL)
            goto out;
        r = sp_roles_org_add(db, &org, op, sp_clock_now(), &why);
        if (r != SP_OK) {
            status = refused("org add", r, &why);
            goto out;
        }
        printf("organisation %s (%s) registered: %s\n", org.fiscal_code, o.kind, o.name);
        status = EXIT_OK;
    } else if (strcmp(sub, "list") == 0 && o.nargs == 1) {
        if ((db = admin_open("org list", &o, &cfg)) == NULL)
            goto out;
        audit_read(db, op, "org list", NULL);
        status = sp_roles_orgs(db, org_print, NULL) == SP_OK ? EXIT_OK : EXIT_USAGE;
    } else {
        fputs(org_usage, stderr);
    }
out:
    sp_buf_cleanup(&why);
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}

/* ------------------------------------------------------------------ role */

static const char role_usage[] =
    "usage: spid-sp role grant CF ROLE [--org FISCAL_CODE] [--scheme private|public]\n"
    "                          [--scope \"SERVICE|FAMILY ...\"] [--from DATE] [--to DATE]\n"
    "                          --reason TEXT [--evidence REF] [--config F]\n"
    "       spid-sp role revoke ID --reason TEXT [--config F]\n"
    "       spid-sp role list [CF] [--org FISCAL_CODE] [--all] [--suggested] [--config F]\n"
    "ROLE: pensioner, worker (with --scheme), patronato_operator, caf_operator,\n"
    "      labour_consultant, accountant, association_operator, employer_rep,\n"
    "      employer_operator (with --scope), pa_operator\n";

static void role_print(const struct sp_role *r, int64_t now)
{
    char from[32], to[32];
    fmt_date(r->valid_from, from);
    fmt_date(r->valid_to, to);
    printf("#%-5lld %s  %s%s%s%s%s  scope=%s  %s..%s  %s\n", (long long)r->id, r->user_cf,
           sp_role_name(r->kind), r->scheme ? ":" : "", r->scheme ? sp_scheme_name(r->scheme) : "",
           r->org[0] ? "@" : "", r->org, r->scopes ? r->scopes : "", from, to,
           r->revoked_at            ? "revoked"
           : sp_role_active(r, now) ? "active"
                                    : "inactive");
    printf("       granted by %s: %s%s%s%s\n", r->granted_by ? r->granted_by : "?",
           r->reason ? r->reason : "", r->evidence ? " (evidence: " : "",
           r->evidence ? r->evidence : "", r->evidence ? ")" : "");
}

static void suggestion_print(void *ctx, const char *cf, const struct sp_role_suggestion *s)
{
    char last[32];
    (void)ctx;
    fmt_date(s->last_seen, last);
    printf("suggested: %s for company %s (%s)%s%s, purpose %s, seen %s via %s\n", cf, s->org,
           s->org_name ? s->org_name : "?", s->vat_number ? " P.IVA " : "",
           s->vat_number ? s->vat_number : "", s->purpose ? s->purpose : "-", last,
           s->idp ? s->idp : "?");
}

static int role_grant(const struct admin_opts *o, const char *op)
{
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_role r;
    struct sp_buf why;
    enum sp_err rc;
    int status = EXIT_USAGE;

    memset(&r, 0, sizeof(r));
    sp_buf_init(&why, 4096);
    if (o->nargs != 3 || sp_role_parse(o->args[2], &r.kind) != SP_OK) {
        fprintf(stderr, "spid-sp role grant: %s\n%s",
                o->nargs == 3 ? "unknown role" : "CF and ROLE are required", role_usage);
        goto out;
    }
    if (o->scheme != NULL && sp_scheme_parse(o->scheme, &r.scheme) != SP_OK) {
        fprintf(stderr, "spid-sp role grant: --scheme is private or public\n");
        goto out;
    }
    if (date_arg("role grant", "--from", o->from, &r.valid_from) != 0 ||
        date_arg("role grant", "--to", o->to, &r.valid_to) != 0)
        goto out;
    if ((db = admin_open("role grant", o, &cfg)) == NULL)
        goto out;
    if (o->scope != NULL && scope_arg("role grant", cfg, o->scope) != 0)
        goto out;
    sp_strlcpy(r.user_cf, o->args[1], sizeof(r.user_cf));
    sp_strlcpy(r.org, o->org ? o->org : "", sizeof(r.org));
    r.scopes = (char *)(o->scope ? o->scope : "*");
    r.reason = (char *)o->reason;
    r.evidence = (char *)o->evidence;
    r.granted_by = (char *)op;
    rc = sp_roles_grant(db, &r, sp_clock_now(), &why);
    if (rc != SP_OK) {
        status = refused("role grant", rc, &why);
        goto out;
    }
    printf("role #%lld granted: %s %s%s%s%s%s\n", (long long)r.id, r.user_cf, sp_role_name(r.kind),
           r.scheme ? ":" : "", r.scheme ? sp_scheme_name(r.scheme) : "", r.org[0] ? "@" : "",
           r.org);
    status = EXIT_OK;
out:
    sp_buf_cleanup(&why);
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}

static int parse_id(const char *cmd, const char *s, int64_t *id)
{
    if (s == NULL || sp_parse_int(s[0] == '#' ? s + 1 : s, 1, INT64_MAX, id) != SP_OK) {
        fprintf(stderr, "spid-sp %s: \"%s\" is not an id\n", cmd, s ? s : "");
        return -1;
    }
    return 0;
}

int sp_cli_role(int argc, char **argv)
{
    struct admin_opts o;
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_buf why;
    char op[128];
    int r = admin_parse(argc, argv, role_usage, &o), status = EXIT_USAGE;
    const char *sub = o.nargs > 0 ? o.args[0] : "";
    int64_t id;

    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    sp_cli_operator(op, sizeof(op));
    if (strcmp(sub, "grant") == 0)
        return role_grant(&o, op);
    sp_buf_init(&why, 4096);
    if (strcmp(sub, "revoke") == 0 && o.nargs == 2) {
        if (parse_id("role revoke", o.args[1], &id) != 0)
            goto out;
        if ((db = admin_open("role revoke", &o, &cfg)) == NULL)
            goto out;
        r = sp_roles_revoke(db, id, op, o.reason, sp_clock_now(), &why);
        if (r != SP_OK) {
            status = refused("role revoke", r, &why);
            goto out;
        }
        printf("role #%lld revoked\n", (long long)id);
        status = EXIT_OK;
    } else if (strcmp(sub, "list") == 0 && o.nargs <= 2) {
        struct sp_role_list l;
        int64_t now = sp_clock_now();
        if ((db = admin_open("role list", &o, &cfg)) == NULL)
            goto out;
        audit_read(db, op, "role list", o.nargs == 2 ? o.args[1] : o.org);
        if (sp_roles_list(db, o.nargs == 2 ? o.args[1] : NULL, o.org, o.all, &l) != SP_OK)
            goto out;
        for (unsigned i = 0; i < l.n; i++)
            role_print(&l.v[i], now);
        if (l.n == 0)
            printf("no role\n");
        sp_role_list_free(&l);
        if (o.suggested && sp_roles_suggestions(db, o.nargs == 2 ? o.args[1] : NULL,
                                                suggestion_print, NULL) != SP_OK)
            goto out;
        status = EXIT_OK;
    } else {
        fputs(role_usage, stderr);
    }
out:
    sp_buf_cleanup(&why);
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}

/* ------------------------------------------------------------ delegation */

static const char delegation_usage[] =
    "usage: spid-sp delegation add --type TYPE --delegator PARTY --delegate PARTY\n"
    "                              --scope \"SERVICE|FAMILY ...\" --evidence REF\n"
    "                              [--from DATE] [--to DATE] [--channel office|online]\n"
    "       spid-sp delegation revoke ID --reason TEXT [--by CF] [--channel office|online]\n"
    "       spid-sp delegation list [PARTY] [--all]\n"
    "TYPE: citizen_identity, legal_representation, patronato_mandate, caf_mandate,\n"
    "      employer_intermediary, domestic_employer, group_company, agri_self_employed\n"
    "PARTY: a codice fiscale (person) or an 11-digit fiscal code (organisation)\n";

static void delegation_print(const struct sp_delegation *d, int64_t now)
{
    char from[32], to[32], keep[32];
    fmt_date(d->valid_from, from);
    fmt_date(d->valid_to, to);
    fmt_date(d->evidence_keep_until, keep);
    printf("#%-5lld %-21s %s -> %s  scope=%s  %s..%s  %s\n", (long long)d->id,
           sp_delegation_type_name(d->type), d->delegator, d->delegate, d->scopes ? d->scopes : "",
           from, to,
           d->revoked_at                  ? "revoked"
           : sp_delegation_active(d, now) ? "active"
                                          : "inactive");
    printf("       %s, evidence %s (keep until %s), by %s%s%s\n", d->channel ? d->channel : "?",
           d->evidence ? d->evidence : "?", keep, d->created_by ? d->created_by : "?",
           d->revoke_reason ? "; revoked: " : "", d->revoke_reason ? d->revoke_reason : "");
}

static struct sp_deleg_limits limits_of(const struct sp_config *cfg)
{
    struct sp_deleg_limits l = {cfg->deleg_max_per_delegate, cfg->deleg_online_min_days,
                                cfg->deleg_evidence_years};
    return l;
}

static int delegation_add(const struct admin_opts *o, const char *op)
{
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_delegation d;
    struct sp_deleg_limits lim;
    struct sp_buf why;
    enum sp_err rc;
    int status = EXIT_USAGE;

    memset(&d, 0, sizeof(d));
    sp_buf_init(&why, 4096);
    if (o->nargs != 1 || o->type == NULL || o->delegator == NULL || o->delegate == NULL ||
        o->scope == NULL) {
        fputs(delegation_usage, stderr);
        goto out;
    }
    if (sp_delegation_type_parse(o->type, &d.type) != SP_OK) {
        fprintf(stderr, "spid-sp delegation add: unknown type \"%s\"\n%s", o->type,
                delegation_usage);
        goto out;
    }
    if (date_arg("delegation add", "--from", o->from, &d.valid_from) != 0 ||
        date_arg("delegation add", "--to", o->to, &d.valid_to) != 0)
        goto out;
    if ((db = admin_open("delegation add", o, &cfg)) == NULL)
        goto out;
    if (scope_arg("delegation add", cfg, o->scope) != 0)
        goto out;
    sp_strlcpy(d.delegator, o->delegator, sizeof(d.delegator));
    sp_strlcpy(d.delegate, o->delegate, sizeof(d.delegate));
    d.scopes = (char *)o->scope;
    d.evidence = (char *)o->evidence;
    d.channel = (char *)(o->channel ? o->channel : "office");
    d.created_by = (char *)op;
    lim = limits_of(cfg);
    rc = sp_roles_delegation_add(db, &d, &lim, sp_clock_now(), &why);
    if (rc != SP_OK) {
        status = refused("delegation add", rc, &why);
        goto out;
    }
    printf("delegation #%lld recorded: %s %s -> %s (%s)\n", (long long)d.id,
           sp_delegation_type_name(d.type), d.delegator, d.delegate, d.scopes);
    status = EXIT_OK;
out:
    sp_buf_cleanup(&why);
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}

int sp_cli_delegation(int argc, char **argv)
{
    struct admin_opts o;
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_buf why;
    char op[128];
    int r = admin_parse(argc, argv, delegation_usage, &o), status = EXIT_USAGE;
    const char *sub = o.nargs > 0 ? o.args[0] : "";
    int64_t id;

    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    sp_cli_operator(op, sizeof(op));
    if (strcmp(sub, "add") == 0)
        return delegation_add(&o, op);
    sp_buf_init(&why, 4096);
    if (strcmp(sub, "revoke") == 0 && o.nargs == 2) {
        struct sp_deleg_limits lim;
        if (parse_id("delegation revoke", o.args[1], &id) != 0)
            goto out;
        if ((db = admin_open("delegation revoke", &o, &cfg)) == NULL)
            goto out;
        lim = limits_of(cfg);
        r = sp_roles_delegation_revoke(db, id, o.by ? o.by : op, o.channel ? o.channel : "office",
                                       o.reason, &lim, sp_clock_now(), &why);
        if (r != SP_OK) {
            status = refused("delegation revoke", r, &why);
            goto out;
        }
        printf("delegation #%lld revoked\n", (long long)id);
        status = EXIT_OK;
    } else if (strcmp(sub, "list") == 0 && o.nargs <= 2) {
        struct sp_delegation_list l;
        int64_t now = sp_clock_now();
        if ((db = admin_open("delegation list", &o, &cfg)) == NULL)
            goto out;
        audit_read(db, op, "delegation list", o.nargs == 2 ? o.args[1] : NULL);
        if (sp_roles_delegations_list(db, o.nargs == 2 ? o.args[1] : NULL, o.all, &l) != SP_OK)
            goto out;
        for (unsigned i = 0; i < l.n; i++)
            delegation_print(&l.v[i], now);
        if (l.n == 0)
            printf("no delegation\n");
        sp_delegation_list_free(&l);
        status = EXIT_OK;
    } else {
        fputs(delegation_usage, stderr);
    }
out:
    sp_buf_cleanup(&why);
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}

/* ------------------------------------------------------------ user show */

static const char user_usage[] = "usage: spid-sp user show CF [--json] [--config F]\n";

/* Everything about one person, collected as JSON and printed either way. */
struct user_doc {
    json_t *identities, *sources, *conflicts, *recent, *suggestions;
};

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *jdate(int64_t sec)
{
    char d[32];
    if (sec == 0)
        return json_null();
    fmt_date(sec, d);
    return json_string(d);
}

static void doc_identity(void *ctx, const struct sp_identity *id)
{
    struct user_doc *d = ctx;
    json_array_append_new(d->identities,
                          json_pack("{s:o, s:o, s:o, s:o, s:o}", "method", jstr(id->method),
                                    "issuer", jstr(id->issuer), "external_id",
                                    jstr(id->external_id), "first_seen", jdate(id->first_seen),
                                    "last_seen", jdate(id->last_seen)));
}

static void doc_source(void *ctx, const char *source, const char *attrs, int64_t at)
{
    struct user_doc *d = ctx;
    json_t *a = json_loads(attrs ? attrs : "{}", 0, NULL);
    json_array_append_new(d->sources,
                          json_pack("{s:o, s:o, s:o}", "source", jstr(source), "attributes",
                                    a ? a : json_object(), "updated_at", jdate(at)));
}

static void doc_conflict(void *ctx, const struct sp_user_conflict *c)
{
    struct user_doc *d = ctx;
    json_array_append_new(d->conflicts,
                          json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "field", jstr(c->field),
                                    "source", jstr(c->source), "kept", jstr(c->kept), "other",
                                    jstr(c->other), "first_seen", jdate(c->first_seen), "last_seen",
                                    jdate(c->last_seen)));
}

static void doc_recent(void *ctx, const struct sp_audit_entry *e)
{
    struct user_doc *d = ctx;
    json_t *details = e->details ? json_loads(e->details, 0, NULL) : NULL;
    json_array_append_new(d->recent,
                          json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "seq",
                                    (json_int_t)e->seq, "at", jdate(e->at_ms / 1000), "event",
                                    jstr(e->event), "actor", jstr(e->actor), "acting_for",
                                    jstr(e->acting_for), "outcome", jstr(e->outcome), "reason",
                                    jstr(e->reason), "details", details ? details : json_null()));
}

static void doc_suggestion(void *ctx, const char *cf, const struct sp_role_suggestion *s)
{
    struct user_doc *d = ctx;
    (void)cf;
    json_array_append_new(d->suggestions,
                          json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "company", s->org, "name",
                                    jstr(s->org_name), "vat_number", jstr(s->vat_number), "purpose",
                                    jstr(s->purpose), "idp", jstr(s->idp), "last_seen",
                                    jdate(s->last_seen)));
}

static json_t *roles_json(const struct sp_role_list *l, int64_t now)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < l->n; i++) {
        const struct sp_role *r = &l->v[i];
        json_array_append_new(
            a, json_pack(
                   "{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "id", (json_int_t)r->id,
                   "role", sp_role_name(r->kind), "org", jstr(r->org[0] ? r->org : NULL), "scheme",
                   jstr(r->scheme ? sp_scheme_name(r->scheme) : NULL), "scopes", jstr(r->scopes),
                   "valid_from", jdate(r->valid_from), "valid_to", jdate(r->valid_to), "status",
                   r->revoked_at            ? "revoked"
                   : sp_role_active(r, now) ? "active"
                                            : "inactive",
                   "reason", jstr(r->reason), "granted_by", jstr(r->granted_by)));
    }
    return a;
}

static json_t *delegations_json(const struct sp_delegation_list *l, int64_t now)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < l->n; i++) {
        const struct sp_delegation *d = &l->v[i];
        json_array_append_new(
            a,
            json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "id", (json_int_t)d->id,
                      "type", sp_delegation_type_name(d->type), "delegator", d->delegator,
                      "delegate", d->delegate, "scopes", jstr(d->scopes), "valid_from",
                      jdate(d->valid_from), "valid_to", jdate(d->valid_to), "status",
                      d->revoked_at                  ? "revoked"
                      : sp_delegation_active(d, now) ? "active"
                                                     : "inactive",
                      "evidence", jstr(d->evidence), "channel", jstr(d->channel)));
    }
    return a;
}

static void print_user_text(const json_t *doc)
{
    const json_t *p = json_object_get(doc, "person");
    const char *keys[] = {"fiscal_number",  "name",  "family_name",  "date_of_birth", "gender",
                          "place_of_birth", "email", "mobile_phone", "created_at",    "updated_at"};
    const char *sections[] = {"identities",  "attributes",       "conflicts", "roles",
                              "delegations", "role_suggestions", "recent"};

    printf("person\n");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const json_t *v = json_object_get(p, keys[i]);
        printf("  %-15s %s\n", keys[i], json_is_string(v) ? json_string_value(v) : "-");
    }
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const json_t *a = json_object_get(doc, sections[i]);
        size_t k;
        const json_t *item;
        printf("%s (%zu)\n", sections[i], json_array_size(a));
        json_array_foreach(a, k, item)
        {
            char *line = json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("  %s\n", line ? line : "?");
            free(line);
        }
    }
}

static int user_show(const struct admin_opts *o, const char *op)
{
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    struct sp_user u;
    struct user_doc d;
    struct sp_role_list roles;
    struct sp_delegation_list delegs;
    char cf[SP_CF_MAX + 1];
    const char *why = NULL;
    int64_t now = sp_clock_now();
    json_t *doc = NULL, *person;
    int status = EXIT_USAGE;

    memset(&d, 0, sizeof(d));
    if (o->nargs != 2) {
        fputs(user_usage, stderr);
        return EXIT_USAGE;
    }
    if (sp_cf_normalize(o->args[1], cf, NULL, &why) != SP_OK &&
        sp_cf_normalize(o->args[1], cf, &(enum sp_cf_kind){0}, &why) != SP_OK) {
        fprintf(stderr, "spid-sp user show: \"%s\" is not a valid codice fiscale: %s\n", o->args[1],
                why ? why : "?");
        return EXIT_USAGE;
    }
    cfg = sp_cli_load_config(o->config);
    if (cfg == NULL)
        return EXIT_USAGE;
    db = sp_cli_open_db(cfg, "user show", 1);
    if (db == NULL)
        goto out;
    audit_read(db, op, "user show", cf);
    if (sp_users_get(db, cf, &u) != SP_OK) {
        fprintf(stderr, "spid-sp user show: no person with codice fiscale %s\n", cf);
        status = EXIT_FAIL;
        goto out;
    }
    person = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "fiscal_number", u.cf,
                       "name", jstr(u.name), "family_name", jstr(u.family_name), "date_of_birth",
                       jstr(u.date_of_birth), "gender", jstr(u.gender), "place_of_birth",
                       jstr(u.place_of_birth), "email", jstr(u.email), "mobile_phone",
                       jstr(u.mobile_phone), "created_at", jdate(u.created_at), "updated_at",
                       jdate(u.updated_at));
    sp_user_cleanup(&u);
    d.identities = json_array();
    d.sources = json_array();
    d.conflicts = json_array();
    d.recent = json_array();
    d.suggestions = json_array();
    doc = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "person", person, "identities", d.identities,
                    "attributes", d.sources, "conflicts", d.conflicts, "role_suggestions",
                    d.suggestions, "recent", d.recent);
    if (sp_users_identities(db, cf, doc_identity, &d) != SP_OK ||
        sp_users_sources(db, cf, doc_source, &d) != SP_OK ||
        sp_users_conflicts(db, cf, doc_conflict, &d) != SP_OK ||
        sp_roles_suggestions(db, cf, doc_suggestion, &d) != SP_OK ||
        sp_audit_recent(db, cf, 20, doc_recent, &d) != SP_OK)
        goto out;
    if (sp_roles_list(db, cf, NULL, true, &roles) != SP_OK)
        goto out;
    json_object_set_new(doc, "roles", roles_json(&roles, now));
    sp_role_list_free(&roles);
    if (sp_roles_delegations_list(db, cf, true, &delegs) != SP_OK)
        goto out;
    json_object_set_new(doc, "delegations", delegations_json(&delegs, now));
    sp_delegation_list_free(&delegs);
    if (o->json) {
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        print_user_text(doc);
    }
    status = EXIT_OK;
out:
    json_decref(doc);
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}

int sp_cli_user(int argc, char **argv)
{
    struct admin_opts o;
    char op[128];
    int r = admin_parse(argc, argv, user_usage, &o);

    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    sp_cli_operator(op, sizeof(op));
    if (o.nargs >= 1 && strcmp(o.args[0], "show") == 0)
        return user_show(&o, op);
    fputs(user_usage, stderr);
    return EXIT_USAGE;
}
