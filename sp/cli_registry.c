/*
 * cli_registry: `spid-sp registry fetch|show`: argument parsing and printing
 * over registry.c.
 *
 *   fetch  download the registry's signed aggregate now; the cache in
 *          <data_dir>/registry/ changes only when the download verifies.
 *          Recorded in the audit trail when the database exists.
 *   show   the cached copy (verified again) and every IdP in it, then the
 *          IdPs of the local [sp] idp_metadata files, each signing
 *          certificate with its notAfter, days left and an EXPIRING /
 *          EXPIRED mark (registry.cert_warn_days).
 *
 * Exit status: 0 done; 1 refused or failed (fetch), no valid cached copy
 * (show); 2 bad arguments or configuration (including the registry being
 * disabled for fetch, and an unreadable pinned key).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/cli.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/mem.h"
#include "sp/registry.h"
#include "sp/saml.h"

enum { REGCLI_EXIT_OK = 0, REGCLI_EXIT_FAIL = 1, REGCLI_EXIT_USAGE = 2 };

#define REGCLI_MAX_LOCAL_FILES 256

static const char registry_usage[] =
    "usage: spid-sp registry fetch [--config FILE]\n"
    "       spid-sp registry show [--config FILE] [--json]\n"
    "fetch: download the SPID registry's signed IdP aggregate ([registry] url) now, verify it\n"
    "       with the pinned key (cert_file) and replace the cached copy only if it passes\n"
    "show:  the cached copy (verified again) and its IdPs, then the IdPs of [sp] idp_metadata,\n"
    "       with every signing certificate's notAfter (EXPIRING within cert_warn_days)\n"
    "exit status: 0 done; 1 refused (fetch) or no valid cached copy (show); 2 bad arguments\n"
    "or configuration\n";

/* ------------------------------------------------------------------ helpers */

/* s with control characters replaced: registry and metadata text reach a terminal. */
static void regcli_puts_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}

static json_t *regcli_jstr(const char *s)
{
    json_t *j;

    if (s == NULL)
        return json_null();
    j = json_string(s);
    return j ? j : json_string("(not valid UTF-8)");
}

static void regcli_time(int64_t ms, char out[SP_TIME_ISO_LEN])
{
    if (ms <= 0)
        snprintf(out, SP_TIME_ISO_LEN, "unknown");
    else
        sp_time_format(ms, 0, out);
}

/* "3 min ago", "in 30 days": d_ms = then - now. */
static void regcli_relative(int64_t d_ms, char *out, size_t n)
{
    int64_t s = (d_ms < 0 ? -d_ms : d_ms) / 1000;
    const char *unit = "s";

    if (s >= 2 * 86400) {
        s /= 86400;
        unit = s == 1 ? "day" : "days";
    } else if (s >= 2 * 3600) {
        s /= 3600;
        unit = "h";
    } else if (s >= 120) {
        s /= 60;
        unit = "min";
    }
    if (d_ms < 0)
        snprintf(out, n, "%lld %s ago", (long long)s, unit);
    else
        snprintf(out, n, "in %lld %s", (long long)s, unit);
}

static const char *regcli_state_name(enum sp_registry_cert_state st)
{
    return st == SP_REGISTRY_CERT_EXPIRED    ? "expired"
           : st == SP_REGISTRY_CERT_EXPIRING ? "expiring"
                                             : "valid";
}

/* getopt_long with --config, --json (when json != NULL) and --help; 0, or the exit status + 1. */
static int regcli_parse(int argc, char **argv, const char **config, int *json)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            *config = optarg;
        } else if (c == 'j' && json != NULL) {
            *json = 1;
        } else if (c == 'h') {
            fputs(registry_usage, stdout);
            return REGCLI_EXIT_OK + 1;
        } else {
            if (c == 'j')
                fprintf(stderr, "spid-sp registry %s: --json is for show\n", argv[0]);
            fputs(registry_usage, stderr);
            return REGCLI_EXIT_USAGE + 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spid-sp registry %s: unexpected argument \"%s\"\n%s", argv[0],
                argv[optind], registry_usage);
        return REGCLI_EXIT_USAGE + 1;
    }
    return 0;
}

/* Configuration plus the XML and HTTP libraries; NULL after a message on stderr. */
static struct sp_config *regcli_start(const char *config, const char *cmd)
{
    struct sp_config *cfg = sp_cli_load_config(config);

    if (cfg == NULL)
        return NULL;
    if (sp_saml_global_init() != SP_OK || sp_registry_global_init() != SP_OK) {
        fprintf(stderr, "spid-sp registry %s: cannot initialise the XML and HTTP libraries\n", cmd);
        sp_config_free(&cfg);
        return NULL;
    }
    return cfg;
}

static void regcli_stop(struct sp_config **cfg)
{
    if (*cfg == NULL)
        return;
    sp_registry_global_cleanup();
    sp_saml_global_cleanup();
    sp_config_free(cfg);
}

static unsigned regcli_count_warn(const struct sp_registry_doc *d, int64_t now, unsigned days)
{
    unsigned n = 0;

    for (unsigned i = 0; i < d->n_entities; i++)
        for (unsigned j = 0; j < d->entities[i].n_certs; j++)
            n += sp_registry_cert_state(&d->entities[i].certs[j], now, days, NULL) !=
                 SP_REGISTRY_CERT_VALID;
    return n;
}

/* ------------------------------------------------------------------ fetch */

/* Best effort: an "admin" audit entry when the database already exists. */
static void regcli_audit(const struct sp_config *cfg, const char *outcome, const char *what,
                         const char *reason, const char *sha256)
{
    char *path = sp_config_db_path(cfg);
    struct sp_audit_event ev = {0};
    struct sp_db *db = NULL;
    char actor[300];
    json_t *d;
    char *details = NULL;

    if (sp_file_exists(path) != SP_OK)
        goto out;
    db = sp_cli_open_db(cfg, "registry fetch", 1);
    if (db == NULL)
        goto out;
    sp_cli_operator(actor, sizeof(actor));
    d = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "command", "registry fetch", "url",
                  cfg->registry_url, "result", what, "reason", reason, "sha256", sha256);
    details = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    ev.event = SP_AUDIT_ADMIN;
    ev.actor = actor;
    ev.outcome = outcome;
    ev.reason = "registry fetch";
    ev.details = details;
    if (sp_audit_append(db, &ev, sp_clock_now_ms()) != SP_OK)
        fprintf(stderr, "spid-sp registry fetch: cannot record this command in the audit trail\n");
out:
    free(details);
    sp_db_close(&db);
    free(path);
}

static int registry_fetch(int argc, char **argv)
{
    const char *config = NULL, *reason = "internal";
    struct sp_registry_doc doc;
    struct sp_config *cfg = NULL;
    char vu[SP_TIME_ISO_LEN];
    struct sp_buf err;
    bool not_modified = false;
    int status, parsed;
    unsigned warn;
    int64_t now;
    enum sp_err rc;

    memset(&doc, 0, sizeof(doc));
    parsed = regcli_parse(argc, argv, &config, NULL);
    if (parsed != 0)
        return parsed - 1;
    cfg = regcli_start(config, "fetch");
    if (cfg == NULL)
        return REGCLI_EXIT_USAGE;
    if (cfg->registry_url[0] == '\0') {
        fprintf(stderr,
                "spid-sp registry fetch: the registry is disabled (%s has no [registry] "
                "url)\n",
                cfg->source);
        regcli_stop(&cfg);
        return REGCLI_EXIT_USAGE;
    }
    sp_buf_init(&err, 4096);
    now = sp_clock_now_ms();
    rc = sp_registry_fetch(cfg, now, &doc, &not_modified, &reason, &err);
    if (rc != SP_OK) {
        fprintf(stderr,
                "spid-sp registry fetch: refused (%s): %s; the cached copy was not changed\n",
                reason, sp_buf_str(&err));
        status = strcmp(reason, "config") == 0 ? REGCLI_EXIT_USAGE : REGCLI_EXIT_FAIL;
        regcli_audit(cfg, "error", "refused", reason, NULL);
        goto out;
    }
    regcli_time(doc.valid_until_ms, vu);
    printf("registry: %s: %u IdP(s), validUntil %s, sha256 %s\n",
           not_modified ? "not modified (the cached copy is current)" : "updated", doc.n_entities,
           doc.valid_until_ms ? vu : "(none)", doc.sha256);
    printf("source: %s\n", cfg->registry_url);
    warn = regcli_count_warn(&doc, now, cfg->registry_cert_warn_days);
    if (warn > 0)
        printf("%u signing certificate(s) expired or expiring within %u days: see `spid-sp "
               "registry show`\n",
               warn, cfg->registry_cert_warn_days);
    regcli_audit(cfg, "ok", not_modified ? "not_modified" : "updated", reason, doc.sha256);
    status = REGCLI_EXIT_OK;
out:
    sp_registry_doc_cleanup(&doc);
    sp_buf_cleanup(&err);
    regcli_stop(&cfg);
    return status;
}

/* ------------------------------------------------------------------ show */

/* One IdP of the listing: the entity and where it came from. */
struct regcli_idp {
    const struct sp_registry_entity *e;
    const char *source; /* "registry" or the file path */
};

struct regcli_local {
    struct sp_registry_entity *entities;
    char **paths;
    unsigned n;
    json_t *errors; /* [{source, error}] */
};

static int regcli_dirent_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void regcli_local_file(struct regcli_local *l, const char *path)
{
    struct sp_registry_entity e;
    struct sp_buf xml, err;
    enum sp_err rc;

    if (l->n == REGCLI_MAX_LOCAL_FILES)
        return;
    sp_buf_init(&xml, SP_REGISTRY_MAX_BYTES);
    sp_buf_init(&err, 1024);
    rc = sp_file_read(path, &xml);
    if (rc != SP_OK)
        sp_buf_addf(&err, "cannot read: %s", sp_strerror(rc));
    else
        rc = sp_registry_entity_parse(xml.data, xml.len, &e, &err);
    if (rc != SP_OK) {
        json_array_append_new(l->errors, json_pack("{s:o, s:o}", "source", regcli_jstr(path),
                                                   "error", regcli_jstr(sp_buf_str(&err))));
    } else {
        l->entities = sp_xrealloc(l->entities, (l->n + 1) * sizeof(*l->entities));
        l->paths = sp_xrealloc(l->paths, (l->n + 1) * sizeof(*l->paths));
        l->entities[l->n] = e;
        l->paths[l->n] = sp_xstrdup(path);
        l->n++;
    }
    sp_buf_cleanup(&xml);
    sp_buf_cleanup(&err);
}

/* [sp] idp_metadata: files, and directories of *.xml in name order (as saml.c loads them). */
static void regcli_local_load(const struct sp_config *cfg, struct regcli_local *l)
{
    char *list = sp_xstrdup(cfg->idp_metadata ? cfg->idp_metadata : "");

    l->errors = json_array();
    for (char *p = list; *p;) {
        size_t len = strcspn(p, " \t,");
        char *tok = p;
        struct stat st;

        p += len;
        if (*p != '\0')
            *p++ = '\0';
        if (len == 0)
            continue;
        if (stat(tok, &st) != 0) {
            json_array_append_new(l->errors, json_pack("{s:o, s:s}", "source", regcli_jstr(tok),
                                                       "error", "no such file or directory"));
        } else if (S_ISDIR(st.st_mode)) {
            struct dirent **names = NULL;
            int n = scandir(tok, &names, NULL, regcli_dirent_cmp);

            for (int i = 0; i < n; i++) {
                size_t nl = strlen(names[i]->d_name);
                if (nl >= 5 && names[i]->d_name[0] != '.' &&
                    strcmp(names[i]->d_name + nl - 4, ".xml") == 0) {
                    struct sp_buf full;
                    sp_buf_init(&full, 16384);
                    sp_buf_addf(&full, "%s/%s", tok, names[i]->d_name);
                    regcli_local_file(l, sp_buf_str(&full));
                    sp_buf_cleanup(&full);
                }
                free(names[i]);
            }
            free(names);
        } else {
            regcli_local_file(l, tok);
        }
    }
    free(list);
}

static void regcli_local_cleanup(struct regcli_local *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        sp_registry_entity_cleanup(&l->entities[i]);
        free(l->paths[i]);
    }
    free(l->entities);
    free(l->paths);
    json_decref(l->errors);
    memset(l, 0, sizeof(*l));
}

static json_t *regcli_idp_json(const struct regcli_idp *idp, int64_t now, unsigned warn_days)
{
    json_t *certs = json_array();
    char t[SP_TIME_ISO_LEN];

    for (unsigned j = 0; j < idp->e->n_certs; j++) {
        const struct sp_registry_cert *c = &idp->e->certs[j];
        int64_t days;
        enum sp_registry_cert_state st = sp_registry_cert_state(c, now, warn_days, &days);

        regcli_time(c->not_after_ms, t);
        json_array_append_new(certs,
                              json_pack("{s:o, s:s, s:I, s:I, s:s, s:s}", "subject",
                                        regcli_jstr(c->subject), "not_after", t, "not_after_ms",
                                        (json_int_t)c->not_after_ms, "days_left", (json_int_t)days,
                                        "state", regcli_state_name(st), "sha256", c->sha256));
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "entity_id", regcli_jstr(idp->e->entity_id),
                     "display_name", regcli_jstr(idp->e->display_name), "source",
                     regcli_jstr(idp->source), "certs", certs);
}

static void regcli_idp_text(const struct regcli_idp *idp, int64_t now, unsigned warn_days)
{
    char t[SP_TIME_ISO_LEN];

    printf("\nIdP ");
    regcli_puts_safe(idp->e->entity_id);
    printf(" (");
    regcli_puts_safe(idp->e->display_name);
    printf(")\n  source: ");
    regcli_puts_safe(idp->source);
    putchar('\n');
    if (idp->e->n_certs == 0)
        printf("  no usable signing certificate: this IdP cannot be trusted\n");
    for (unsigned j = 0; j < idp->e->n_certs; j++) {
        const struct sp_registry_cert *c = &idp->e->certs[j];
        int64_t days;
        enum sp_registry_cert_state st = sp_registry_cert_state(c, now, warn_days, &days);

        regcli_time(c->not_after_ms, t);
        printf("  signing certificate: ");
        regcli_puts_safe(c->subject);
        printf("\n    notAfter %s, %lld day(s) %s%s, sha256 %s\n", t,
               (long long)(days < 0 ? -days : days), days < 0 ? "ago" : "left",
               st == SP_REGISTRY_CERT_EXPIRED    ? ", EXPIRED"
               : st == SP_REGISTRY_CERT_EXPIRING ? ", EXPIRING"
                                                 : "",
               c->sha256);
    }
}

static int registry_show(int argc, char **argv)
{
    const char *config = NULL, *reason = "ok";
    struct sp_registry_doc doc;
    struct regcli_local local;
    struct sp_config *cfg = NULL;
    struct regcli_idp *idps = NULL;
    struct sp_buf err;
    char fetched[SP_TIME_ISO_LEN], checked[SP_TIME_ISO_LEN], vu[SP_TIME_ISO_LEN], rel[64];
    char *cache = NULL;
    bool enabled, have = false;
    unsigned n = 0;
    int json = 0, status, parsed;
    int64_t now;

    memset(&doc, 0, sizeof(doc));
    memset(&local, 0, sizeof(local));
    parsed = regcli_parse(argc, argv, &config, &json);
    if (parsed != 0)
        return parsed - 1;
    cfg = regcli_start(config, "show");
    if (cfg == NULL)
        return REGCLI_EXIT_USAGE;
    sp_buf_init(&err, 4096);
    now = sp_clock_now_ms();
    enabled = cfg->registry_url[0] != '\0';
    if (enabled)
        have = sp_registry_load_cache(cfg, now, &doc, &reason, &err) == SP_OK;
    if (enabled && !have && strcmp(reason, "config") == 0) {
        fprintf(stderr, "spid-sp registry show: %s\n", sp_buf_str(&err));
        status = REGCLI_EXIT_USAGE;
        goto out;
    }
    regcli_local_load(cfg, &local);
    idps = sp_xcalloc((size_t)doc.n_entities + local.n + 1, sizeof(*idps));
    for (unsigned i = 0; i < doc.n_entities; i++)
        idps[n++] = (struct regcli_idp){&doc.entities[i], "registry"};
    for (unsigned i = 0; i < local.n; i++)
        idps[n++] = (struct regcli_idp){&local.entities[i], local.paths[i]};
    {
        struct sp_buf p;
        sp_buf_init(&p, 16384);
        sp_buf_addf(&p, "%s/%s/%s", cfg->data_dir, SP_REGISTRY_DIR, SP_REGISTRY_CACHE_XML);
        cache = sp_buf_detach(&p);
    }
    regcli_time(doc.fetched_ms, fetched);
    regcli_time(doc.checked_ms, checked);
    regcli_time(doc.valid_until_ms, vu);

    if (json) {
        json_t *reg, *list = json_array(), *root;
        char *text;

        reg = json_pack("{s:b, s:o, s:b, s:s, s:o, s:o}", "enabled", enabled, "url",
                        regcli_jstr(enabled ? cfg->registry_url : NULL), "valid", have, "reason",
                        enabled ? reason : "disabled", "error",
                        regcli_jstr(enabled && !have ? sp_buf_str(&err) : NULL), "cache",
                        regcli_jstr(enabled ? cache : NULL));
        if (have) {
            json_object_set_new(reg, "source_url", regcli_jstr(doc.source_url));
            json_object_set_new(reg, "fetched_at",
                                doc.fetched_ms ? json_string(fetched) : json_null());
            json_object_set_new(reg, "age_sec",
                                doc.fetched_ms ? json_integer((now - doc.fetched_ms) / 1000)
                                               : json_null());
            json_object_set_new(reg, "checked_at",
                                doc.checked_ms ? json_string(checked) : json_null());
            json_object_set_new(reg, "valid_until",
                                doc.valid_until_ms ? json_string(vu) : json_null());
            json_object_set_new(reg, "name", regcli_jstr(doc.name));
            json_object_set_new(reg, "sha256", json_string(doc.sha256));
            json_object_set_new(reg, "idps", json_integer(doc.n_entities));
        }
        for (unsigned i = 0; i < n; i++)
            json_array_append_new(list,
                                  regcli_idp_json(&idps[i], now, cfg->registry_cert_warn_days));
        root = json_pack("{s:o, s:I, s:o, s:O}", "registry", reg, "cert_warn_days",
                         (json_int_t)cfg->registry_cert_warn_days, "idps", list, "local_errors",
                         local.errors);
        text = json_dumps(root, JSON_INDENT(2));
        if (text != NULL)
            puts(text);
        free(text);
        json_decref(root);
    } else {
        if (!enabled) {
            printf("registry: disabled (no [registry] url in %s)\n", cfg->source);
        } else {
            printf("registry: ");
            regcli_puts_safe(cfg->registry_url);
            putchar('\n');
            printf("  cache: %s\n", cache);
            if (!have) {
                printf("  no valid cached copy (%s): ", reason);
                regcli_puts_safe(sp_buf_str(&err));
                putchar('\n');
            } else {
                printf("  downloaded from: ");
                regcli_puts_safe(doc.source_url ? doc.source_url : "unknown");
                regcli_relative(doc.fetched_ms - now, rel, sizeof(rel));
                printf("\n  fetched: %s%s%s%s\n", fetched, doc.fetched_ms ? " (" : "",
                       doc.fetched_ms ? rel : "", doc.fetched_ms ? ")" : "");
                regcli_relative(doc.checked_ms - now, rel, sizeof(rel));
                printf("  last checked: %s%s%s%s\n", checked, doc.checked_ms ? " (" : "",
                       doc.checked_ms ? rel : "", doc.checked_ms ? ")" : "");
                regcli_relative(doc.valid_until_ms - now, rel, sizeof(rel));
                printf("  validUntil: %s%s%s%s\n", doc.valid_until_ms ? vu : "(none)",
                       doc.valid_until_ms ? " (" : "", doc.valid_until_ms ? rel : "",
                       doc.valid_until_ms ? ")" : "");
                printf("  Name: ");
                regcli_puts_safe(doc.name ? doc.name : "(none)");
                printf("\n  sha256: %s\n  IdPs: %u\n", doc.sha256, doc.n_entities);
            }
        }
        for (unsigned i = 0; i < n; i++)
            regcli_idp_text(&idps[i], now, cfg->registry_cert_warn_days);
        for (size_t i = 0; i < json_array_size(local.errors); i++) {
            json_t *e = json_array_get(local.errors, i);
            printf("\nlocal IdP metadata ");
            regcli_puts_safe(json_string_value(json_object_get(e, "source")));
            printf(": ");
            regcli_puts_safe(json_string_value(json_object_get(e, "error")));
            putchar('\n');
        }
    }
    status = enabled && !have ? REGCLI_EXIT_FAIL : REGCLI_EXIT_OK;
out:
    free(idps);
    free(cache);
    regcli_local_cleanup(&local);
    sp_registry_doc_cleanup(&doc);
    sp_buf_cleanup(&err);
    regcli_stop(&cfg);
    return status;
}

/* ------------------------------------------------------------------ entry */

int sp_cli_registry(int argc, char **argv)
{
    if (argc < 2) {
        fputs(registry_usage, stderr);
        return REGCLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(registry_usage, stdout);
        return REGCLI_EXIT_OK;
    }
    if (strcmp(argv[1], "fetch") == 0)
        return registry_fetch(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return registry_show(argc - 1, argv + 1);
    fprintf(stderr, "spid-sp registry: unknown subcommand \"%s\"\n%s", argv[1], registry_usage);
    return REGCLI_EXIT_USAGE;
}
