/*
 * roles_store: the SQL half of roles.h. Every change is checked against the
 * rules of its operation and written to the audit trail in the same
 * transaction, so a change without its audit entry cannot exist.
 *
 * The facts the decision function needs are cached per person for
 * SP_ROLES_CACHE_SEC; any change made through this module drops the whole
 * cache (one change can touch many people through an organisation), a change
 * made by another process (the CLI) shows within the TTL.
 */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/cf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/roles.h"
#include "sp/str.h"
#include "sp/ttl_cache.h"

#define SP_ROLES_CACHE_SEC 5
#define SP_ROLES_CACHE_MAX 65536
#define DAY 86400
#define YEAR (365 * DAY)

/* --- cache --------------------------------------------------------------- */

static struct sp_ttl_cache *facts_cache;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;

static char *dup_opt(const char *s)
{
    return s ? sp_xstrdup(s) : NULL;
}

static void role_copy(struct sp_role *d, const struct sp_role *s)
{
    *d = *s;
    d->scopes = dup_opt(s->scopes);
    d->reason = dup_opt(s->reason);
    d->evidence = dup_opt(s->evidence);
    d->granted_by = dup_opt(s->granted_by);
}

static void deleg_copy(struct sp_delegation *d, const struct sp_delegation *s)
{
    *d = *s;
    d->scopes = dup_opt(s->scopes);
    d->channel = dup_opt(s->channel);
    d->evidence = dup_opt(s->evidence);
    d->created_by = dup_opt(s->created_by);
    d->revoked_by = dup_opt(s->revoked_by);
    d->revoke_reason = dup_opt(s->revoke_reason);
}

static void facts_copy(void *dstv, const void *srcv)
{
    struct sp_authz_facts *d = dstv;
    const struct sp_authz_facts *s = srcv;
    memcpy(d->cf, s->cf, sizeof(d->cf));
    d->roles.n = s->roles.n;
    d->roles.v = s->roles.n ? sp_xcalloc(s->roles.n, sizeof(*d->roles.v)) : NULL;
    for (unsigned i = 0; i < s->roles.n; i++)
        role_copy(&d->roles.v[i], &s->roles.v[i]);
    d->delegations.n = s->delegations.n;
    d->delegations.v =
        s->delegations.n ? sp_xcalloc(s->delegations.n, sizeof(*d->delegations.v)) : NULL;
    for (unsigned i = 0; i < s->delegations.n; i++)
        deleg_copy(&d->delegations.v[i], &s->delegations.v[i]);
}

static void facts_value_cleanup(void *v)
{
    sp_authz_facts_cleanup(v);
}

static void facts_cache_init(void)
{
    facts_cache = sp_ttl_cache_new(sizeof(struct sp_authz_facts), SP_ROLES_CACHE_SEC,
                                   SP_ROLES_CACHE_MAX, facts_copy, facts_value_cleanup);
}

static struct sp_ttl_cache *facts_cache_get(void)
{
    pthread_once(&facts_once, facts_cache_init);
    return facts_cache;
}

void sp_roles_cache_clear(void)
{
    sp_ttl_cache_clear(facts_cache_get());
}

/* --- helpers --------------------------------------------------------------- */

static void set_party(char dst[SP_PARTY_MAX + 1], const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > SP_PARTY_MAX)
        n = SP_PARTY_MAX;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v != 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static enum sp_err refuse(struct sp_buf *why, enum sp_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum sp_err refuse(struct sp_buf *why, enum sp_err rc, const char *fmt, ...)
{
    va_list ap;
    if (why != NULL) {
        va_start(ap, fmt);
        sp_buf_vaddf(why, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Append an audit entry whose details are the JSON object o (consumed). */
static enum sp_err audit_json(struct sp_db *db, const char *event, const char *actor,
                              const char *reason, json_t *o, int64_t now)
{
    struct sp_audit_event ev;
    char *details = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    enum sp_err rc;

    json_decref(o);
    memset(&ev, 0, sizeof(ev));
    ev.event = event;
    ev.actor = actor;
    ev.outcome = "ok";
    ev.reason = reason;
    ev.details = details;
    rc = details ? sp_audit_append(db, &ev, now * 1000) : SP_ERR_INTERNAL;
    free(details);
    return rc;
}

static enum sp_err valid_person(const char *in, char out[SP_CF_MAX + 1], struct sp_buf *why)
{
    const char *w = NULL;
    enum sp_cf_kind kind;
    if (sp_cf_normalize(in, out, &kind, &w) != SP_OK)
        return refuse(why, SP_ERR_INVALID, "\"%s\" is not a valid codice fiscale: %s", in, w);
    return SP_OK;
}

/* --- organisations -------------------------------------------------------- */

enum sp_err sp_roles_org_add(struct sp_db *db, const struct sp_org *o, const char *by, int64_t now,
                             struct sp_buf *why)
{
    static const char sql[] =
        "INSERT INTO organisations (fiscal_code, vat_number, name, kind, created_by,"
        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
    char code[SP_CF_SHORT_LEN + 1], vat[SP_CF_SHORT_LEN + 1];
    const char *w = NULL;
    sqlite3_stmt *st;
    enum sp_err rc;
    int r;

    if (sp_cf_piva_validate(o->fiscal_code, code, &w) != SP_OK)
        return refuse(why, SP_ERR_INVALID, "\"%s\" is not a valid 11-digit fiscal code: %s",
                      o->fiscal_code, w);
    if (o->vat_number != NULL && sp_cf_piva_validate(o->vat_number, vat, &w) != SP_OK)
        return refuse(why, SP_ERR_INVALID, "\"%s\" is not a valid partita IVA: %s", o->vat_number,
                      w);
    if (o->name == NULL || o->name[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "an organisation needs a name");
    if ((unsigned)o->type >= SP_ORGT__COUNT)
        return refuse(why, SP_ERR_INVALID, "unknown organisation type");
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, sql);
    if (st == NULL) {
        sp_db_rollback(db);
        return SP_ERR_DB;
    }
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    sp_db_bind_text(st, 2, o->vat_number ? vat : NULL);
    sp_db_bind_text(st, 3, o->name);
    sp_db_bind_text(st, 4, sp_org_type_name(o->type));
    sp_db_bind_text(st, 5, by);
    sqlite3_bind_int64(st, 6, now);
    r = sp_db_step_write(db, st);
    sp_db_done(st);
    if ((r & 0xff) == SQLITE_CONSTRAINT) {
        sp_db_rollback(db);
        return refuse(why, SP_ERR_EXISTS, "organisation %s already exists", code);
    }
    if (r != SQLITE_DONE) {
        sp_db_rollback(db);
        return sp_db_fail(db, "organisation insert");
    }
    rc = audit_json(db, SP_AUDIT_ORG_ADD, by, NULL,
                    json_pack("{s:s, s:s?, s:s, s:s}", "fiscal_code", code, "vat_number",
                              o->vat_number ? vat : NULL, "name", o->name, "kind",
                              sp_org_type_name(o->type)),
                    now);
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc != SP_OK)
        sp_db_rollback(db);
    return rc;
}

enum sp_err sp_roles_org_get(struct sp_db *db, const char *fiscal_code, struct sp_org *out)
{
    static const char sql[] =
        "SELECT fiscal_code, vat_number, name, kind FROM organisations WHERE fiscal_code = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_ERR_NOT_FOUND;
    int r;

    memset(out, 0, sizeof(*out));
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, fiscal_code);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        set_party(out->fiscal_code, (const char *)sqlite3_column_text(st, 0));
        out->vat_number = sp_db_column_dup(st, 1);
        out->name = sp_db_column_dup(st, 2);
        if (sp_org_type_parse((const char *)sqlite3_column_text(st, 3), &out->type) != SP_OK)
            out->type = SP_ORGT_COMPANY;
        rc = SP_OK;
    } else if (r != SQLITE_DONE) {
        rc = sp_db_fail(db, "organisation get");
    }
    sp_db_done(st);
    return rc;
}

enum sp_err sp_roles_orgs(struct sp_db *db, sp_org_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT fiscal_code, vat_number, name, kind FROM organisations ORDER BY fiscal_code";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct sp_org o;
        memset(&o, 0, sizeof(o));
        set_party(o.fiscal_code, (const char *)sqlite3_column_text(st, 0));
        o.vat_number = (char *)sqlite3_column_text(st, 1);
        o.name = (char *)sqlite3_column_text(st, 2);
        if (sp_org_type_parse((const char *)sqlite3_column_text(st, 3), &o.type) != SP_OK)
            o.type = SP_ORGT_COMPANY;
        fn(ctx, &o);
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "organisations");
}

/* The organisation org must exist with type t. */
static enum sp_err org_of_type(struct sp_db *db, const char *org, enum sp_org_type t,
                               struct sp_buf *why)
{
    struct sp_org o;
    enum sp_err rc = sp_roles_org_get(db, org, &o);
    if (rc == SP_ERR_NOT_FOUND)
        return refuse(why, rc, "organisation %s is not registered (spid-sp org add)", org);
    if (rc != SP_OK)
        return rc;
    if (o.type != t)
        rc = refuse(why, SP_ERR_INVALID, "organisation %s is a %s, not a %s", org,
                    sp_org_type_name(o.type), sp_org_type_name(t));
    sp_org_cleanup(&o);
    return rc;
}

/* --- roles -------------------------------------------------------------- */

/* The organisation type a role is held in; *optional when it may be absent. */
static bool role_org_type(enum sp_role_kind k, enum sp_org_type *t, bool *optional)
{
    *optional = false;
    switch (k) {
    case SP_ROLE_PATRONATO_OPERATOR:
        *t = SP_ORGT_PATRONATO;
        return true;
    case SP_ROLE_CAF_OPERATOR:
        *t = SP_ORGT_CAF;
        return true;
    case SP_ROLE_LABOUR_CONSULTANT:
    case SP_ROLE_ACCOUNTANT:
        *t = SP_ORGT_PROFESSIONAL_FIRM;
        *optional = true;
        return true;
    case SP_ROLE_ASSOCIATION_OPERATOR:
        *t = SP_ORGT_TRADE_ASSOCIATION;
        return true;
    case SP_ROLE_EMPLOYER_REP:
    case SP_ROLE_EMPLOYER_OPERATOR:
        *t = SP_ORGT_COMPANY;
        return true;
    case SP_ROLE_PA_OPERATOR:
        *t = SP_ORGT_PUBLIC_BODY;
        return true;
    default:
        return false; /* sub-profiles: no organisation */
    }
}

static enum sp_err role_check(struct sp_db *db, struct sp_role *r, struct sp_buf *why)
{
    char cf[SP_CF_MAX + 1];
    enum sp_org_type t;
    bool optional;
    enum sp_err rc;

    if ((unsigned)r->kind >= SP_ROLE__COUNT)
        return refuse(why, SP_ERR_INVALID, "unknown role");
    rc = valid_person(r->user_cf, cf, why);
    if (rc != SP_OK)
        return rc;
    set_party(r->user_cf, cf);
    if (sp_role_is_profile(r->kind)) {
        if (r->org[0] != '\0')
            return refuse(why, SP_ERR_INVALID, "%s is a citizen profile: it has no organisation",
                          sp_role_name(r->kind));
        if (r->scheme == SP_SCHEME_NONE)
            return refuse(why, SP_ERR_INVALID,
                          "%s needs a scheme: private (Gestione Privata) or public (Gestione "
                          "Dipendenti Pubblici)",
                          sp_role_name(r->kind));
    } else {
        if (r->scheme != SP_SCHEME_NONE)
            return refuse(why, SP_ERR_INVALID, "only pensioner and worker have a scheme");
        SP_ASSERT(role_org_type(r->kind, &t, &optional));
        if (r->org[0] == '\0' && !optional)
            return refuse(why, SP_ERR_INVALID, "%s needs the organisation (a %s)",
                          sp_role_name(r->kind), sp_org_type_name(t));
        if (r->org[0] != '\0' && (rc = org_of_type(db, r->org, t, why)) != SP_OK)
            return rc;
    }
    if (r->scopes == NULL || r->scopes[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "the role needs a scope (service ids, families or *)");
    if (r->kind == SP_ROLE_EMPLOYER_OPERATOR && strcmp(r->scopes, "*") == 0)
        return refuse(why, SP_ERR_INVALID,
                      "an employer_operator is sub-authorised for named services: give --scope");
    if (r->valid_to != 0 && r->valid_to <= r->valid_from)
        return refuse(why, SP_ERR_INVALID, "the end date must come after the start date");
    if (r->reason == NULL || r->reason[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a role change needs a reason");
    if (r->granted_by == NULL || r->granted_by[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a role change needs the operator's name");
    return SP_OK;
}

static int64_t role_duplicate(struct sp_db *db, const struct sp_role *r, int64_t now)
{
    static const char sql[] =
        "SELECT id FROM roles WHERE user_cf = ?1 AND role = ?2 AND coalesce(org_cf, '') = ?3"
        " AND coalesce(scheme, '') = ?4 AND revoked_at IS NULL"
        " AND (valid_to IS NULL OR valid_to > ?5) LIMIT 1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int64_t id = 0;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, r->user_cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sp_role_name(r->kind), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->org, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, sp_scheme_name(r->scheme), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sp_db_done(st);
    return id;
}

enum sp_err sp_roles_grant(struct sp_db *db, struct sp_role *r, int64_t now, struct sp_buf *why)
{
    static const char sql[] =
        "INSERT INTO roles (user_cf, role, org_cf, scheme, scopes, valid_from, valid_to, reason,"
        " evidence, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    sqlite3_stmt *st;
    int64_t dup;
    enum sp_err rc;

    if (r->valid_from == 0)
        r->valid_from = now;
    rc = role_check(db, r, why);
    if (rc != SP_OK)
        return rc;
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        return rc;
    dup = role_duplicate(db, r, now);
    if (dup != 0) {
        sp_db_rollback(db);
        return dup < 0 ? SP_ERR_DB
                       : refuse(why, SP_ERR_EXISTS, "%s already holds this role (#%lld)",
                                r->user_cf, (long long)dup);
    }
    st = sp_db_stmt(db, sql);
    if (st == NULL) {
        sp_db_rollback(db);
        return SP_ERR_DB;
    }
    sqlite3_bind_text(st, 1, r->user_cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sp_role_name(r->kind), -1, SQLITE_TRANSIENT);
    sp_db_bind_text(st, 3, r->org[0] ? r->org : NULL);
    sp_db_bind_text(st, 4, r->scheme != SP_SCHEME_NONE ? sp_scheme_name(r->scheme) : NULL);
    sp_db_bind_text(st, 5, r->scopes);
    sqlite3_bind_int64(st, 6, r->valid_from);
    bind_opt_int(st, 7, r->valid_to);
    sp_db_bind_text(st, 8, r->reason);
    sp_db_bind_text(st, 9, r->evidence);
    sp_db_bind_text(st, 10, r->granted_by);
    sqlite3_bind_int64(st, 11, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE) {
        sp_db_done(st);
        sp_db_rollback(db);
        return sp_db_fail(db, "role insert");
    }
    sp_db_done(st);
    r->id = sqlite3_last_insert_rowid(sp_db_conn(db));
    r->granted_at = now;
    rc = audit_json(
        db, SP_AUDIT_ROLE_GRANT, r->granted_by, r->reason,
        json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s, s:I, s:o?, s:s?}", "role_id", (json_int_t)r->id,
                  "user", r->user_cf, "role", sp_role_name(r->kind), "org",
                  r->org[0] ? r->org : NULL, "scheme", r->scheme ? sp_scheme_name(r->scheme) : NULL,
                  "scopes", r->scopes, "valid_from", (json_int_t)r->valid_from, "valid_to",
                  r->valid_to ? json_integer(r->valid_to) : NULL, "evidence", r->evidence),
        now);
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc != SP_OK)
        sp_db_rollback(db);
    else
        sp_roles_cache_clear();
    return rc;
}

enum sp_err sp_roles_revoke(struct sp_db *db, int64_t id, const char *by, const char *reason,
                            int64_t now, struct sp_buf *why)
{
    static const char sql[] =
        "UPDATE roles SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4"
        " WHERE id = ?1 AND revoked_at IS NULL";
    static const char get[] = "SELECT user_cf, role, org_cf FROM roles WHERE id = ?1";
    sqlite3_stmt *st;
    char *user = NULL, *role = NULL, *org = NULL;
    enum sp_err rc;
    int changed;

    if (reason == NULL || reason[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a role change needs a reason");
    if (by == NULL || by[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a role change needs the operator's name");
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, get);
    if (st == NULL) {
        sp_db_rollback(db);
        return SP_ERR_DB;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        user = sp_db_column_dup(st, 0);
        role = sp_db_column_dup(st, 1);
        org = sp_db_column_dup(st, 2);
    }
    sp_db_done(st);
    if (user == NULL) {
        sp_db_rollback(db);
        return refuse(why, SP_ERR_NOT_FOUND, "no role #%lld", (long long)id);
    }
    st = sp_db_stmt(db, sql);
    rc = st ? SP_OK : SP_ERR_DB;
    if (rc == SP_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        sp_db_bind_text(st, 3, by);
        sp_db_bind_text(st, 4, reason);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "role revoke");
        changed = sqlite3_changes(sp_db_conn(db));
        sp_db_done(st);
        if (rc == SP_OK && changed == 0)
            rc = refuse(why, SP_ERR_INVALID, "role #%lld is already revoked", (long long)id);
    }
    if (rc == SP_OK)
        rc = audit_json(db, SP_AUDIT_ROLE_REVOKE, by, reason,
                        json_pack("{s:I, s:s, s:s, s:s?}", "role_id", (json_int_t)id, "user", user,
                                  "role", role, "org", org),
                        now);
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc != SP_OK)
        sp_db_rollback(db);
    else
        sp_roles_cache_clear();
    free(user);
    free(role);
    free(org);
    return rc;
}

/* --- delegations ---------------------------------------------------------- */

enum party_kind { PARTY_PERSON = 1, PARTY_ORG = 2 };

/* Who may be delegator and delegate of each type (domain.md §5.6 table). */
struct deleg_rule {
    unsigned from; /* PARTY_* bits */
    enum sp_org_type from_org;
    unsigned to;      /* PARTY_* bits */
    unsigned to_orgs; /* bit set of sp_org_type for an organisation delegate */
};

#define ORG_BIT(t) (1u << (t))
#define INTERMEDIARY_ORGS                                                                          \
    (ORG_BIT(SP_ORGT_PROFESSIONAL_FIRM) | ORG_BIT(SP_ORGT_TRADE_ASSOCIATION) |                     \
     ORG_BIT(SP_ORGT_PATRONATO) | ORG_BIT(SP_ORGT_CAF))

static const struct deleg_rule deleg_rules[SP_DELEG__COUNT] = {
    [SP_DELEG_CITIZEN_IDENTITY] = {PARTY_PERSON, 0, PARTY_PERSON, 0},
    [SP_DELEG_LEGAL_REPRESENTATION] = {PARTY_PERSON, 0, PARTY_PERSON, 0},
    [SP_DELEG_PATRONATO_MANDATE] = {PARTY_PERSON, 0, PARTY_ORG, ORG_BIT(SP_ORGT_PATRONATO)},
    [SP_DELEG_CAF_MANDATE] = {PARTY_PERSON, 0, PARTY_ORG, ORG_BIT(SP_ORGT_CAF)},
    [SP_DELEG_EMPLOYER_INTERMEDIARY] = {PARTY_ORG, SP_ORGT_COMPANY, PARTY_PERSON | PARTY_ORG,
                                        ORG_BIT(SP_ORGT_PROFESSIONAL_FIRM) |
                                            ORG_BIT(SP_ORGT_TRADE_ASSOCIATION)},
    [SP_DELEG_DOMESTIC_EMPLOYER] = {PARTY_PERSON, 0, PARTY_PERSON | PARTY_ORG, INTERMEDIARY_ORGS},
    [SP_DELEG_GROUP_COMPANY] = {PARTY_ORG, SP_ORGT_COMPANY, PARTY_ORG, ORG_BIT(SP_ORGT_COMPANY)},
    [SP_DELEG_AGRI_SELF_EMPLOYED] = {PARTY_PERSON, 0, PARTY_PERSON | PARTY_ORG, INTERMEDIARY_ORGS},
};

/* Normalise party into out and check it is of an allowed kind. */
static enum sp_err deleg_party(struct sp_db *db, const char *party, unsigned kinds,
                               unsigned org_types, const char *role, char out[SP_PARTY_MAX + 1],
                               struct sp_buf *why)
{
    char norm[SP_CF_MAX + 1];
    const char *w = NULL;
    enum sp_cf_kind pkind;
    struct sp_org o;
    enum sp_err rc;

    if (party == NULL || party[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "the %s is missing", role);
    /* a person: 16 characters, or an 11-digit provisional code (office ranges
     * that no organisation code uses, so the two cannot be confused) */
    if (strlen(party) == SP_CF_PERSON_LEN ||
        ((kinds & PARTY_PERSON) && sp_cf_normalize(party, norm, &pkind, NULL) == SP_OK)) {
        if (!(kinds & PARTY_PERSON))
            return refuse(why, SP_ERR_INVALID, "the %s must be an organisation", role);
        if (sp_cf_normalize(party, norm, &pkind, &w) != SP_OK)
            return refuse(why, SP_ERR_INVALID, "%s \"%s\" is not a valid codice fiscale: %s", role,
                          party, w);
        set_party(out, norm);
        return SP_OK;
    }
    if (!(kinds & PARTY_ORG))
        return refuse(why, SP_ERR_INVALID, "the %s must be a person (16-character codice fiscale)",
                      role);
    if (sp_cf_piva_validate(party, norm, &w) != SP_OK)
        return refuse(why, SP_ERR_INVALID, "%s \"%s\" is not a valid 11-digit fiscal code: %s",
                      role, party, w);
    rc = sp_roles_org_get(db, norm, &o);
    if (rc == SP_ERR_NOT_FOUND)
        return refuse(why, rc, "%s %s is not a registered organisation (spid-sp org add)", role,
                      norm);
    if (rc != SP_OK)
        return rc;
    if (!(org_types & ORG_BIT(o.type)))
        rc = refuse(why, SP_ERR_INVALID, "%s %s is a %s, which cannot take this delegation", role,
                    norm, sp_org_type_name(o.type));
    sp_org_cleanup(&o);
    if (rc == SP_OK)
        set_party(out, norm);
    return rc;
}

/* by names the party (a CF in any case or spacing), not an operator */
static bool same_party(const char *by, const char *party)
{
    char norm[SP_CF_MAX + 1];
    enum sp_cf_kind kind;
    if (sp_cf_normalize(by, norm, &kind, NULL) == SP_OK)
        return strcmp(norm, party) == 0;
    return strcmp(by, party) == 0;
}

static int64_t count_query(struct sp_db *db, sqlite3_stmt *st)
{
    int64_t n = -1;
    if (st == NULL)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        sp_db_fail(db, "count");
    sp_db_done(st);
    return n;
}

/* Active delegations of a type by delegator (first id) or delegate (count). */
static int64_t deleg_active_by(struct sp_db *db, enum sp_delegation_type t, const char *party,
                               bool as_delegate, int64_t now)
{
    static const char by_from[] =
        "SELECT coalesce(min(id), 0) FROM delegations WHERE type = ?1 AND delegator = ?2"
        " AND revoked_at IS NULL AND (valid_to IS NULL OR valid_to > ?3)";
    static const char by_to[] = "SELECT count(*) FROM delegations WHERE type = ?1 AND delegate = ?2"
                                " AND revoked_at IS NULL AND (valid_to IS NULL OR valid_to > ?3)";
    sqlite3_stmt *st = sp_db_stmt(db, as_delegate ? by_to : by_from);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sp_delegation_type_name(t), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, party, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    return count_query(db, st);
}

static enum sp_err deleg_revoke_row(struct sp_db *db, int64_t id, const char *by,
                                    const char *reason, int64_t keep_until, int64_t now)
{
    static const char sql[] =
        "UPDATE delegations SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4,"
        " evidence_keep_until = max(coalesce(evidence_keep_until, 0), ?5)"
        " WHERE id = ?1 AND revoked_at IS NULL";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    sp_db_bind_text(st, 3, by);
    sp_db_bind_text(st, 4, reason);
    sqlite3_bind_int64(st, 5, keep_until);
    rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "delegation revoke");
    sp_db_done(st);
    return rc;
}

static enum sp_err deleg_check(struct sp_db *db, struct sp_delegation *d,
                               const struct sp_deleg_limits *lim, struct sp_buf *why)
{
    const struct deleg_rule *rule;
    unsigned ntok = 0;
    enum sp_err rc;

    if ((unsigned)d->type >= SP_DELEG__COUNT)
        return refuse(why, SP_ERR_INVALID, "unknown delegation type");
    rule = &deleg_rules[d->type];
    rc = deleg_party(db, d->delegator, rule->from, ORG_BIT(rule->from_org), "delegator",
                     d->delegator, why);
    if (rc == SP_OK)
        rc = deleg_party(db, d->delegate, rule->to, rule->to_orgs, "delegate", d->delegate, why);
    if (rc != SP_OK)
        return rc;
    if (strcmp(d->delegator, d->delegate) == 0)
        return refuse(why, SP_ERR_INVALID, "delegator and delegate are the same party");
    if (d->scopes == NULL || d->scopes[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "the delegation needs a scope (services or families)");
    for (const char *p = d->scopes; *p;) {
        size_t n = strcspn(p, " ,");
        if (n > 0)
            ntok++;
        p += n;
        while (*p == ' ' || *p == ',')
            p++;
    }
    if ((d->type == SP_DELEG_PATRONATO_MANDATE || d->type == SP_DELEG_CAF_MANDATE) &&
        sp_str_list_has(d->scopes, "*"))
        return refuse(why, SP_ERR_INVALID,
                      "a mandate covers a named procedure or service family, not \"*\"");
    if (d->type == SP_DELEG_CAF_MANDATE && ntok != 1)
        return refuse(why, SP_ERR_INVALID, "a CAF mandate covers exactly one service");
    if (d->evidence == NULL || d->evidence[0] == '\0')
        return refuse(why, SP_ERR_INVALID,
                      "a delegation needs a reference to its evidence (signed form, protocol no.)");
    if (d->channel == NULL || (strcmp(d->channel, "office") != 0 && strcmp(d->channel, "online")))
        return refuse(why, SP_ERR_INVALID, "the channel is office or online");
    if (d->valid_to != 0 && d->valid_to <= d->valid_from)
        return refuse(why, SP_ERR_INVALID, "the end date must come after the start date");
    if (d->type == SP_DELEG_CITIZEN_IDENTITY && strcmp(d->channel, "online") == 0 &&
        d->valid_to != 0 && d->valid_to < d->valid_from + (int64_t)lim->online_min_days * DAY)
        return refuse(why, SP_ERR_INVALID, "a delegation registered online lasts at least %u days",
                      lim->online_min_days);
    if (d->created_by == NULL || d->created_by[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a delegation change needs the operator's name");
    return SP_OK;
}

/* Cardinality rules of §5.3, inside the transaction. */
static enum sp_err deleg_limits(struct sp_db *db, const struct sp_delegation *d,
                                const struct sp_deleg_limits *lim, int64_t now, int64_t *supersede,
                                struct sp_buf *why)
{
    int64_t n;

    *supersede = 0;
    if (d->type == SP_DELEG_CITIZEN_IDENTITY) {
        n = deleg_active_by(db, d->type, d->delegator, false, now);
        if (n < 0)
            return SP_ERR_DB;
        if (n > 0)
            return refuse(why, SP_ERR_EXISTS,
                          "%s already has an active identity delegation (#%lld): a person "
                          "designates one delegate",
                          d->delegator, (long long)n);
        n = deleg_active_by(db, d->type, d->delegate, true, now);
        if (n < 0)
            return SP_ERR_DB;
        if (n >= (int64_t)lim->max_per_delegate)
            return refuse(why, SP_ERR_DENIED,
                          "%s already holds %lld identity delegations (the limit is %u)",
                          d->delegate, (long long)n, lim->max_per_delegate);
    } else if (d->type == SP_DELEG_DOMESTIC_EMPLOYER) {
        n = deleg_active_by(db, d->type, d->delegator, false, now);
        if (n < 0)
            return SP_ERR_DB;
        *supersede = n;
    }
    return SP_OK;
}

static json_t *deleg_json(const struct sp_delegation *d)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o?, s:s, s:s}", "delegation_id",
                     (json_int_t)d->id, "type", sp_delegation_type_name(d->type), "delegator",
                     d->delegator, "delegate", d->delegate, "scopes", d->scopes, "valid_from",
                     (json_int_t)d->valid_from, "valid_to",
                     d->valid_to ? json_integer(d->valid_to) : NULL, "channel", d->channel,
                     "evidence", d->evidence);
}

enum sp_err sp_roles_delegation_add(struct sp_db *db, struct sp_delegation *d,
                                    const struct sp_deleg_limits *lim, int64_t now,
                                    struct sp_buf *why)
{
    static const char sql[] =
        "INSERT INTO delegations (type, delegator, delegate, scopes, valid_from, valid_to,"
        " locked_until, channel, evidence, evidence_keep_until, created_by, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
    sqlite3_stmt *st;
    int64_t supersede = 0;
    enum sp_err rc;

    if (d->valid_from == 0)
        d->valid_from = now;
    rc = deleg_check(db, d, lim, why);
    if (rc != SP_OK)
        return rc;
    d->locked_until = 0;
    if (d->type == SP_DELEG_CITIZEN_IDENTITY && strcmp(d->channel, "online") == 0)
        d->locked_until = d->valid_from + (int64_t)lim->online_min_days * DAY;
    d->evidence_keep_until = d->valid_to ? d->valid_to + (int64_t)lim->evidence_years * YEAR : 0;
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        return rc;
    rc = deleg_limits(db, d, lim, now, &supersede, why);
    st = rc == SP_OK ? sp_db_stmt(db, sql) : NULL;
    if (rc == SP_OK && st == NULL)
        rc = SP_ERR_DB;
    if (rc == SP_OK) {
        sqlite3_bind_text(st, 1, sp_delegation_type_name(d->type), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, d->delegator, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, d->delegate, -1, SQLITE_TRANSIENT);
        sp_db_bind_text(st, 4, d->scopes);
        sqlite3_bind_int64(st, 5, d->valid_from);
        bind_opt_int(st, 6, d->valid_to);
        bind_opt_int(st, 7, d->locked_until);
        sp_db_bind_text(st, 8, d->channel);
        sp_db_bind_text(st, 9, d->evidence);
        bind_opt_int(st, 10, d->evidence_keep_until);
        sp_db_bind_text(st, 11, d->created_by);
        sqlite3_bind_int64(st, 12, now);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "delegation add");
        sp_db_done(st);
    }
    if (rc == SP_OK) {
        d->id = sqlite3_last_insert_rowid(sp_db_conn(db));
        rc = audit_json(db, SP_AUDIT_DELEGATION_ADD, d->created_by, NULL, deleg_json(d), now);
    }
    if (rc == SP_OK && supersede > 0) {
        char reason[64];
        snprintf(reason, sizeof(reason), "superseded by delegation #%lld", (long long)d->id);
        rc = deleg_revoke_row(db, supersede, d->created_by, reason,
                              now + (int64_t)lim->evidence_years * YEAR, now);
        if (rc == SP_OK)
            rc = audit_json(db, SP_AUDIT_DELEGATION_REVOKE, d->created_by, reason,
                            json_pack("{s:I}", "delegation_id", (json_int_t)supersede), now);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc != SP_OK)
        sp_db_rollback(db);
    else
        sp_roles_cache_clear();
    return rc;
}

static void deleg_from_row(sqlite3_stmt *st, struct sp_delegation *d);

#define DELEG_COLS                                                                                 \
    "id, type, delegator, delegate, scopes, valid_from, coalesce(valid_to, 0),"                    \
    " coalesce(locked_until, 0), coalesce(revoked_at, 0), channel, evidence,"                      \
    " coalesce(evidence_keep_until, 0), created_by, revoked_by, revoke_reason"

enum sp_err sp_roles_delegation_revoke(struct sp_db *db, int64_t id, const char *by,
                                       const char *channel, const char *reason,
                                       const struct sp_deleg_limits *lim, int64_t now,
                                       struct sp_buf *why)
{
    static const char get[] = "SELECT " DELEG_COLS " FROM delegations WHERE id = ?1";
    struct sp_delegation d;
    sqlite3_stmt *st;
    char when[32];
    enum sp_err rc;
    bool found = false;

    if (reason == NULL || reason[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a delegation change needs a reason");
    if (by == NULL || by[0] == '\0')
        return refuse(why, SP_ERR_INVALID, "a delegation change needs who revokes it");
    if (channel == NULL || (strcmp(channel, "office") != 0 && strcmp(channel, "online") != 0))
        return refuse(why, SP_ERR_INVALID, "the channel is office or online");
    memset(&d, 0, sizeof(d));
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, get);
    if (st == NULL) {
        sp_db_rollback(db);
        return SP_ERR_DB;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        deleg_from_row(st, &d);
        found = true;
    }
    sp_db_done(st);
    if (!found)
        rc = refuse(why, SP_ERR_NOT_FOUND, "no delegation #%lld", (long long)id);
    else if (d.revoked_at != 0)
        rc = refuse(why, SP_ERR_INVALID, "delegation #%lld is already revoked", (long long)id);
    else if (d.type == SP_DELEG_LEGAL_REPRESENTATION && same_party(by, d.delegator))
        rc = refuse(why, SP_ERR_DENIED,
                    "a legal representation cannot be revoked by the represented person");
    else if (strcmp(channel, "online") == 0 && now < d.locked_until) {
        struct tm tm;
        time_t t = (time_t)d.locked_until;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d", &tm);
        rc = refuse(why, SP_ERR_DENIED,
                    "delegation #%lld was registered online: it can be revoked online from %s, "
                    "before that only at an office",
                    (long long)id, when);
    }
    if (rc == SP_OK)
        rc = deleg_revoke_row(db, id, by, reason, now + (int64_t)lim->evidence_years * YEAR, now);
    if (rc == SP_OK)
        rc = audit_json(db, SP_AUDIT_DELEGATION_REVOKE, by, reason,
                        json_pack("{s:I, s:s, s:s, s:s, s:s}", "delegation_id", (json_int_t)id,
                                  "type", sp_delegation_type_name(d.type), "delegator", d.delegator,
                                  "delegate", d.delegate, "channel", channel),
                        now);
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc != SP_OK)
        sp_db_rollback(db);
    else
        sp_roles_cache_clear();
    sp_delegation_cleanup(&d);
    return rc;
}

/* --- reading ------------------------------------------------------------- */

#define ROLE_COLS                                                                                  \
    "id, user_cf, role, coalesce(org_cf, ''), coalesce(scheme, ''), scopes, valid_from,"           \
    " coalesce(valid_to, 0), coalesce(revoked_at, 0), reason, evidence, granted_by, granted_at"

static void role_from_row(sqlite3_stmt *st, struct sp_role *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    set_party(r->user_cf, (const char *)sqlite3_column_text(st, 1));
    if (sp_role_parse((const char *)sqlite3_column_text(st, 2), &r->kind) != SP_OK)
        r->kind = SP_ROLE__COUNT; /* unknown to this version: never matches */
    set_party(r->org, (const char *)sqlite3_column_text(st, 3));
    if (sp_scheme_parse((const char *)sqlite3_column_text(st, 4), &r->scheme) != SP_OK)
        r->scheme = SP_SCHEME_NONE;
    r->scopes = sp_db_column_dup(st, 5);
    r->valid_from = sqlite3_column_int64(st, 6);
    r->valid_to = sqlite3_column_int64(st, 7);
    r->revoked_at = sqlite3_column_int64(st, 8);
    r->reason = sp_db_column_dup(st, 9);
    r->evidence = sp_db_column_dup(st, 10);
    r->granted_by = sp_db_column_dup(st, 11);
    r->granted_at = sqlite3_column_int64(st, 12);
}

static void deleg_from_row(sqlite3_stmt *st, struct sp_delegation *d)
{
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, 0);
    if (sp_delegation_type_parse((const char *)sqlite3_column_text(st, 1), &d->type) != SP_OK)
        d->type = SP_DELEG__COUNT;
    set_party(d->delegator, (const char *)sqlite3_column_text(st, 2));
    set_party(d->delegate, (const char *)sqlite3_column_text(st, 3));
    d->scopes = sp_db_column_dup(st, 4);
    d->valid_from = sqlite3_column_int64(st, 5);
    d->valid_to = sqlite3_column_int64(st, 6);
    d->locked_until = sqlite3_column_int64(st, 7);
    d->revoked_at = sqlite3_column_int64(st, 8);
    d->channel = sp_db_column_dup(st, 9);
    d->evidence = sp_db_column_dup(st, 10);
    d->evidence_keep_until = sqlite3_column_int64(st, 11);
    d->created_by = sp_db_column_dup(st, 12);
    d->revoked_by = sp_db_column_dup(st, 13);
    d->revoke_reason = sp_db_column_dup(st, 14);
}

/* Step st to the end, appending one element of size per row (filled by
 * from_row) to the growing array *v of *n elements. */
static enum sp_err read_rows(struct sp_db *db, sqlite3_stmt *st, void **v, unsigned *n, size_t size,
                             void (*from_row)(sqlite3_stmt *, void *), const char *what)
{
    unsigned cap = 0;
    int r;

    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *v = sp_xrealloc(*v, cap * size);
        }
        from_row(st, (char *)*v + (size_t)(*n)++ * size);
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, what);
}

static void role_row(sqlite3_stmt *st, void *r)
{
    role_from_row(st, r);
}

static void deleg_row(sqlite3_stmt *st, void *d)
{
    deleg_from_row(st, d);
}

static enum sp_err read_roles(struct sp_db *db, sqlite3_stmt *st, struct sp_role_list *out)
{
    void *v = out->v;
    enum sp_err rc = read_rows(db, st, &v, &out->n, sizeof(*out->v), role_row, "roles read");
    out->v = v;
    return rc;
}

static enum sp_err read_delegations(struct sp_db *db, sqlite3_stmt *st,
                                    struct sp_delegation_list *out)
{
    void *v = out->v;
    enum sp_err rc = read_rows(db, st, &v, &out->n, sizeof(*out->v), deleg_row, "delegations read");
    out->v = v;
    return rc;
}

enum sp_err sp_roles_list(struct sp_db *db, const char *cf, const char *org, bool all,
                          struct sp_role_list *out)
{
    static const char sql[] = "SELECT " ROLE_COLS " FROM roles"
                              " WHERE (?1 IS NULL OR user_cf = ?1) AND (?2 IS NULL OR org_cf = ?2)"
                              " AND (?3 OR revoked_at IS NULL) ORDER BY id";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc;

    memset(out, 0, sizeof(*out));
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, cf);
    sp_db_bind_text(st, 2, org);
    sqlite3_bind_int(st, 3, all);
    rc = read_roles(db, st, out);
    if (rc != SP_OK)
        sp_role_list_free(out);
    return rc;
}

enum sp_err sp_roles_delegations_list(struct sp_db *db, const char *party, bool all,
                                      struct sp_delegation_list *out)
{
    static const char sql[] = "SELECT " DELEG_COLS " FROM delegations"
                              " WHERE (?1 IS NULL OR delegator = ?1 OR delegate = ?1)"
                              " AND (?2 OR revoked_at IS NULL) ORDER BY id";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc;

    memset(out, 0, sizeof(*out));
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, party);
    sqlite3_bind_int(st, 2, all);
    rc = read_delegations(db, st, out);
    if (rc != SP_OK)
        sp_delegation_list_free(out);
    return rc;
}

enum sp_err sp_roles_facts(struct sp_db *db, const char *cf, struct sp_authz_facts *out)
{
    static const char roles_sql[] =
        "SELECT " ROLE_COLS " FROM roles WHERE user_cf = ?1 AND revoked_at IS NULL ORDER BY id";
    static const char deleg_sql[] =
        "SELECT " DELEG_COLS " FROM delegations WHERE revoked_at IS NULL AND (delegate = ?1"
        " OR delegate IN (SELECT org_cf FROM roles WHERE user_cf = ?1 AND revoked_at IS NULL"
        " AND org_cf IS NOT NULL)) ORDER BY id";
    int64_t now = sp_clock_now();
    sqlite3_stmt *st;
    enum sp_err rc;

    memset(out, 0, sizeof(*out));
    if (sp_ttl_cache_get(facts_cache_get(), cf, now, out))
        return SP_OK;
    set_party(out->cf, cf);
    st = sp_db_stmt(db, roles_sql);
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, cf);
    rc = read_roles(db, st, &out->roles);
    if (rc == SP_OK) {
        st = sp_db_stmt(db, deleg_sql);
        if (st == NULL)
            rc = SP_ERR_DB;
        else {
            sp_db_bind_text(st, 1, cf);
            rc = read_delegations(db, st, &out->delegations);
        }
    }
    if (rc != SP_OK) {
        sp_authz_facts_cleanup(out);
        return rc;
    }
    sp_ttl_cache_put(facts_cache_get(), cf, out, now);
    return SP_OK;
}

/* --- suggestions ------------------------------------------------------------ */

enum sp_err sp_roles_suggest(struct sp_db *db, const char *cf, const struct sp_role_suggestion *s,
                             int64_t now)
{
    static const char sql[] =
        "INSERT INTO role_suggestions (user_cf, org_cf, org_name, vat_number, purpose, idp,"
        " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
        " ON CONFLICT(user_cf, org_cf) DO UPDATE SET org_name = excluded.org_name,"
        " vat_number = excluded.vat_number, purpose = excluded.purpose, idp = excluded.idp,"
        " last_seen = excluded.last_seen";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc;

    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, cf);
    sp_db_bind_text(st, 2, s->org);
    sp_db_bind_text(st, 3, s->org_name);
    sp_db_bind_text(st, 4, s->vat_number);
    sp_db_bind_text(st, 5, s->purpose);
    sp_db_bind_text(st, 6, s->idp);
    sqlite3_bind_int64(st, 7, now);
    rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "role suggestion");
    sp_db_done(st);
    return rc;
}

enum sp_err sp_roles_suggestions(struct sp_db *db, const char *cf, sp_suggestion_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT user_cf, org_cf, org_name, vat_number, purpose, idp, first_seen, last_seen"
        " FROM role_suggestions WHERE ?1 IS NULL OR user_cf = ?1 ORDER BY user_cf, org_cf";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, cf);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct sp_role_suggestion s;
        memset(&s, 0, sizeof(s));
        set_party(s.org, (const char *)sqlite3_column_text(st, 1));
        s.org_name = (char *)sqlite3_column_text(st, 2);
        s.vat_number = (char *)sqlite3_column_text(st, 3);
        s.purpose = (char *)sqlite3_column_text(st, 4);
        s.idp = (char *)sqlite3_column_text(st, 5);
        s.first_seen = sqlite3_column_int64(st, 6);
        s.last_seen = sqlite3_column_int64(st, 7);
        fn(ctx, (const char *)sqlite3_column_text(st, 0), &s);
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "role suggestions");
}
