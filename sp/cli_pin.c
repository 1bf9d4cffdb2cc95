/*
 * cli_pin: the operator's PIN commands at an office (domain.md §1.1, §1.10,
 * §1.11): `pin issue` (the person in front of the clerk: PIN dispositivo at
 * once, whole PIN printed as the letter to hand over), `pin status`,
 * `pin approve` (conversion to dispositivo after checking the signed form and
 * the identity document), `pin revoke`.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/cf.h"
#include "sp/cli.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/db.h"
#include "sp/mem.h"
#include "sp/outbox.h"
#include "sp/pin.h"
#include "sp/session.h"
#include "sp/users.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char pin_usage[] =
    "usage: spid-sp pin issue CF --name N --surname S --sex M|F --birth-date YYYY-MM-DD\n"
    "                            [--email E] [--mobile M] [--pec P] [--config F]\n"
    "       spid-sp pin status CF [--config F]\n"
    "       spid-sp pin conversions [--all] [--config F]   (requests uploaded for review)\n"
    "       spid-sp pin approve CF --evidence REF [--config F]   (conversion to dispositivo)\n"
    "       spid-sp pin reject CF --reason TEXT [--config F]\n"
    "       spid-sp pin revoke CF --reason TEXT [--config F]\n";

struct pin_opts {
    const char *config, *name, *surname, *sex, *birth, *email, *mobile, *pec, *evidence, *reason;
    const char *args[3];
    int nargs, all;
};

static int pin_parse(int argc, char **argv, struct pin_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"surname", required_argument, NULL, 's'},
        {"sex", required_argument, NULL, 'x'},
        {"birth-date", required_argument, NULL, 'b'},
        {"email", required_argument, NULL, 'e'},
        {"mobile", required_argument, NULL, 'm'},
        {"pec", required_argument, NULL, 'p'},
        {"evidence", required_argument, NULL, 'v'},
        {"reason", required_argument, NULL, 'r'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 's':
            o->surname = optarg;
            break;
        case 'x':
            o->sex = optarg;
            break;
        case 'b':
            o->birth = optarg;
            break;
        case 'e':
            o->email = optarg;
            break;
        case 'm':
            o->mobile = optarg;
            break;
        case 'p':
            o->pec = optarg;
            break;
        case 'v':
            o->evidence = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'a':
            o->all = 1;
            break;
        case 'h':
            fputs(pin_usage, stdout);
            return 1;
        default:
            fputs(pin_usage, stderr);
            return -1;
        }
    }
    for (; optind < argc; optind++) {
        if (o->nargs == 3) {
            fputs(pin_usage, stderr);
            return -1;
        }
        o->args[o->nargs++] = argv[optind];
    }
    return 0;
}

static void pin_cli_audit(struct sp_db *db, const char *event, const char *cf, const char *op,
                          const char *outcome, const char *reason)
{
    struct sp_audit_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.event = event;
    ev.actor = op;
    ev.acting_for = cf;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = "{\"method\":\"pin\",\"channel\":\"office\"}";
    if (sp_audit_append(db, &ev, sp_clock_now_ms()) != SP_OK)
        fprintf(stderr, "spid-sp pin: warning: could not write the audit entry\n");
}

static int pin_issue(struct sp_db *db, const struct sp_config *cfg, const struct pin_opts *o,
                     const char *cf, const char *op)
{
    struct sp_pin_params p;
    struct sp_user_attr attrs[6];
    char value[SP_PIN_INITIAL_LEN + 1] = "";
    unsigned n = 0, mismatch = 0;
    const char *why = NULL;
    int64_t now = sp_clock_now();
    enum sp_err rc;

    if (!o->name || !o->surname || !o->sex || !o->birth ||
        (strcmp(o->sex, "M") != 0 && strcmp(o->sex, "F") != 0)) {
        fputs(pin_usage, stderr);
        return EXIT_USAGE;
    }
    if (sp_cf_matches_person(cf, o->surname, o->name, o->birth, o->sex[0], &mismatch, &why) !=
        SP_OK) {
        fprintf(stderr, "spid-sp pin issue: --birth-date must be YYYY-MM-DD\n");
        return EXIT_USAGE;
    }
    if (mismatch) {
        fprintf(stderr,
                "spid-sp pin issue: the codice fiscale does not match the person's data (%s)\n",
                why ? why : "?");
        return EXIT_FAIL;
    }
    attrs[n++] = (struct sp_user_attr){"name", o->name};
    attrs[n++] = (struct sp_user_attr){"familyName", o->surname};
    attrs[n++] = (struct sp_user_attr){"dateOfBirth", o->birth};
    attrs[n++] = (struct sp_user_attr){"gender", o->sex};
    if (o->email)
        attrs[n++] = (struct sp_user_attr){"email", o->email};
    sp_pin_params_of(cfg, &p);
    rc = sp_db_begin(db);
    if (rc == SP_OK)
        rc = sp_users_record_declared(db, cf, attrs, n, now);
    if (rc == SP_OK && o->email)
        rc = sp_pin_contact_set(db, cf, "email", o->email, now);
    if (rc == SP_OK && o->mobile)
        rc = sp_pin_contact_set(db, cf, "mobile", o->mobile, now);
    if (rc == SP_OK && o->pec)
        rc = sp_pin_contact_set(db, cf, "pec", o->pec, now);
    if (rc == SP_OK)
        rc = sp_pin_issue(db, cf, "office", true, now, &p, value);
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp pin issue: %s\n", sp_strerror(rc));
        return EXIT_USAGE;
    }
    pin_cli_audit(db, "pin.issue", cf, op, "ok", "issued at the office (dispositivo)");
    printf("------------------------------------------------------------\n"
           "PIN - busta da consegnare a %s %s (%s)\n\n"
           "  PIN iniziale:  %.8s %.8s\n\n"
           "Al primo accesso (entro %u giorni) scrivere i 16 caratteri di seguito\n"
           "e scegliere il PIN personale di 8 caratteri. Il PIN e' DISPOSITIVO.\n"
           "Il PIN e' strettamente personale e non puo' essere ceduto o delegato.\n"
           "------------------------------------------------------------\n",
           o->name, o->surname, cf, value, value + SP_PIN_HALF_LEN, cfg->pin_activation_days);
    sp_wipe(value, sizeof(value));
    return EXIT_OK;
}

static int pin_status(struct sp_db *db, const struct sp_config *cfg, const char *cf)
{
    static const char *const states[] = {"none", "issued", "active", "disabled"};
    struct sp_pin_params p;
    struct sp_pin_info info;
    char a[SP_TIME_ISO_LEN], b[SP_TIME_ISO_LEN], c[SP_TIME_ISO_LEN];
    int64_t now = sp_clock_now();

    sp_pin_params_of(cfg, &p);
    if (sp_pin_info(db, cf, now, &p, &info) != SP_OK)
        return EXIT_USAGE;
    if (info.state == SP_PIN_NONE) {
        printf("%s: no live PIN\n", cf);
        return EXIT_OK;
    }
    sp_time_format(info.issued_at * 1000, 0, a);
    sp_time_format((info.state == SP_PIN_ISSUED ? info.activate_by : info.changed_at) * 1000, 0, b);
    sp_time_format(info.locked_until * 1000, 0, c);
    printf("%s: PIN %s, %s, channel %s, issued %s, %s %s, failures %u%s%s\n", cf,
           states[info.state], info.dispositive ? "dispositivo" : "ordinario", info.channel, a,
           info.state == SP_PIN_ISSUED ? "activate by" : "changed", b, info.failures,
           info.locked_until > now ? ", locked until " : "", info.locked_until > now ? c : "");
    return EXIT_OK;
}

static int pin_approve(struct sp_db *db, const struct pin_opts *o, const char *cf, const char *op)
{
    char *email;
    enum sp_err rc;
    int64_t now = sp_clock_now();

    if (o->evidence == NULL || o->evidence[0] == '\0') {
        fprintf(stderr, "spid-sp pin approve: --evidence (signed form and ID document "
                        "reference) is required\n");
        return EXIT_USAGE;
    }
    email = sp_pin_contact_get(db, cf, "email");
    rc = sp_db_begin(db);
    if (rc == SP_OK) {
        /* the uploaded request, when there is one; otherwise documents checked
         * at the office or received by fax */
        rc = sp_pin_conversion_decide(db, cf, true, op, o->evidence, now);
        if (rc == SP_ERR_NOT_FOUND)
            rc = sp_pin_set_dispositive(db, cf, now);
    }
    if (rc == SP_OK && email != NULL) {
        struct sp_message m = {SP_CHANNEL_EMAIL,
                               email,
                               "PIN convertito in dispositivo",
                               "La richiesta di conversione è stata accolta: il tuo PIN è ora "
                               "dispositivo. Le domande presentate in attesa della conversione "
                               "saranno lavorate.\n",
                               cf,
                               "pin.converted"};
        rc = sp_outbox_enqueue(db, &m, now, NULL);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    free(email);
    if (rc == SP_ERR_NOT_FOUND) {
        fprintf(stderr, "spid-sp pin approve: %s has no live PIN\n", cf);
        return EXIT_FAIL;
    }
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp pin approve: %s\n", sp_strerror(rc));
        return EXIT_USAGE;
    }
    pin_cli_audit(db, "pin.convert", cf, op, "ok", o->evidence);
    printf("%s: PIN converted to dispositivo (evidence: %s)\n", cf, o->evidence);
    return EXIT_OK;
}

static int pin_reject(struct sp_db *db, const struct pin_opts *o, const char *cf, const char *op)
{
    char *email;
    enum sp_err rc;
    int64_t now = sp_clock_now();

    if (o->reason == NULL || o->reason[0] == '\0') {
        fprintf(stderr, "spid-sp pin reject: --reason is required (it is sent to the person)\n");
        return EXIT_USAGE;
    }
    email = sp_pin_contact_get(db, cf, "email");
    rc = sp_db_begin(db);
    if (rc == SP_OK)
        rc = sp_pin_conversion_decide(db, cf, false, op, o->reason, now);
    if (rc == SP_OK && email != NULL) {
        char body[1024];
        struct sp_message m = {
            SP_CHANNEL_EMAIL,      email, "Richiesta di PIN dispositivo respinta", body, cf,
            "pin.convert.rejected"};
        snprintf(body, sizeof(body),
                 "La richiesta di conversione del PIN in dispositivo non è stata accolta: %s\n"
                 "Puoi presentarne una nuova dalla pagina di conversione.\n",
                 o->reason);
        rc = sp_outbox_enqueue(db, &m, now, NULL);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    free(email);
    if (rc == SP_ERR_NOT_FOUND) {
        fprintf(stderr, "spid-sp pin reject: %s has no pending conversion request\n", cf);
        return EXIT_FAIL;
    }
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp pin reject: %s\n", sp_strerror(rc));
        return EXIT_USAGE;
    }
    pin_cli_audit(db, "pin.convert.reject", cf, op, "ok", o->reason);
    printf("%s: conversion request rejected\n", cf);
    return EXIT_OK;
}

static void conversion_print(void *ctx, const struct sp_pin_conversion *c)
{
    char at[SP_TIME_ISO_LEN];
    (void)ctx;
    sp_time_format(c->created_at * 1000, 0, at);
    printf("#%lld %s %s %s\n  document %s\n  files %s\n", (long long)c->id, c->cf, c->state, at,
           c->document ? c->document : "-", c->files ? c->files : "-");
    if (c->decided_by)
        printf("  decided by %s: %s\n", c->decided_by, c->reason ? c->reason : "");
}

static int pin_revoke(struct sp_db *db, const struct pin_opts *o, const char *cf, const char *op)
{
    int64_t now = sp_clock_now();
    enum sp_err rc;

    if (o->reason == NULL || o->reason[0] == '\0') {
        fprintf(stderr, "spid-sp pin revoke: --reason is required\n");
        return EXIT_USAGE;
    }
    rc = sp_pin_end(db, cf, "revoked", now);
    if (rc == SP_ERR_NOT_FOUND) {
        fprintf(stderr, "spid-sp pin revoke: %s has no live PIN\n", cf);
        return EXIT_FAIL;
    }
    if (rc == SP_OK)
        rc = sp_session_end_user(db, cf, "pin", now);
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp pin revoke: %s\n", sp_strerror(rc));
        return EXIT_USAGE;
    }
    pin_cli_audit(db, "pin.revoke", cf, op, "ok", o->reason);
    printf("%s: PIN revoked; PIN sessions ended\n", cf);
    return EXIT_OK;
}

int sp_cli_pin(int argc, char **argv)
{
    struct pin_opts o;
    struct sp_config *cfg = NULL;
    struct sp_db *db = NULL;
    char cf[SP_CF_MAX + 1], op[128];
    const char *why = NULL, *sub;
    int r = pin_parse(argc, argv, &o), status = EXIT_USAGE;

    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    sub = o.nargs > 0 ? o.args[0] : "";
    if (strcmp(sub, "conversions") == 0 && o.nargs == 1) {
        cfg = sp_cli_load_config(o.config);
        if (cfg == NULL)
            return EXIT_USAGE;
        db = sp_cli_open_db(cfg, "pin", 0);
        if (db != NULL) {
            sp_cli_operator(op, sizeof(op));
            pin_cli_audit(db, SP_AUDIT_ADMIN, NULL, op, "ok", "pin conversions");
            status = sp_pin_conversions(db, o.all, conversion_print, NULL) == SP_OK ? EXIT_OK
                                                                                    : EXIT_USAGE;
        }
        goto out;
    }
    if (o.nargs != 2) {
        fputs(pin_usage, stderr);
        return EXIT_USAGE;
    }
    if (sp_cf_normalize(o.args[1], cf, NULL, &why) != SP_OK) {
        fprintf(stderr, "spid-sp pin %s: \"%s\" is not a valid codice fiscale: %s\n", sub,
                o.args[1], why ? why : "?");
        return EXIT_USAGE;
    }
    sp_cli_operator(op, sizeof(op));
    cfg = sp_cli_load_config(o.config);
    if (cfg == NULL)
        return EXIT_USAGE;
    db = sp_cli_open_db(cfg, "pin", 0);
    if (db == NULL)
        goto out;
    if (strcmp(sub, "issue") == 0)
        status = pin_issue(db, cfg, &o, cf, op);
    else if (strcmp(sub, "status") == 0)
        status = pin_status(db, cfg, cf);
    else if (strcmp(sub, "approve") == 0)
        status = pin_approve(db, &o, cf, op);
    else if (strcmp(sub, "reject") == 0)
        status = pin_reject(db, &o, cf, op);
    else if (strcmp(sub, "revoke") == 0)
        status = pin_revoke(db, &o, cf, op);
    else
        fputs(pin_usage, stderr);
out:
    sp_db_close(&db);
    sp_config_free(&cfg);
    return status;
}
