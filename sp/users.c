/*
 * users: SQL for users, identities and user_sources (attributes per source).
 */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sp/clock.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/ttl_cache.h"
#include "sp/users.h"

/* SPID attribute -> users column (verified fields). The first
 * USERS_IDENTITY_FIELDS are identity data: set once from a verified source,
 * never overwritten (a different value is a conflict); the rest are contacts,
 * refreshed by every verified login (domain.md §5.7). */
#define USERS_IDENTITY_FIELDS 5
static const struct {
    const char *attr;
    int col; /* parameter index in the upsert below */
} users_fields[] = {
    {"name", 2},         {"familyName", 3}, {"dateOfBirth", 4}, {"gender", 5},
    {"placeOfBirth", 6}, {"email", 7},      {"mobilePhone", 8},
};

static const char *users_attr(const struct sp_login_record *rec, const char *name)
{
    for (unsigned i = 0; i < rec->n_attrs; i++)
        if (strcmp(rec->attrs[i].name, name) == 0)
            return rec->attrs[i].value;
    return NULL;
}

/*
 * Person records read on every authenticated request (/api/me, /auth/check)
 * are kept for SP_USERS_CACHE_SEC; a login recorded by this process drops the
 * entry at once, one recorded by another process shows within the TTL.
 */
#define SP_USERS_CACHE_SEC 5
#define SP_USERS_CACHE_MAX 65536

static struct sp_ttl_cache *users_cache;
static pthread_once_t users_cache_once = PTHREAD_ONCE_INIT;

static char *users_dup(const char *s)
{
    return s ? sp_xstrdup(s) : NULL;
}

static void users_copy(void *dstv, const void *srcv)
{
    struct sp_user *d = dstv;
    const struct sp_user *u = srcv;
    *d = *u;
    d->cf = users_dup(u->cf);
    d->name = users_dup(u->name);
    d->family_name = users_dup(u->family_name);
    d->date_of_birth = users_dup(u->date_of_birth);
    d->gender = users_dup(u->gender);
    d->place_of_birth = users_dup(u->place_of_birth);
    d->email = users_dup(u->email);
    d->mobile_phone = users_dup(u->mobile_phone);
}

static void users_cache_value_cleanup(void *v)
{
    sp_user_cleanup(v);
}

static void users_cache_init(void)
{
    users_cache = sp_ttl_cache_new(sizeof(struct sp_user), SP_USERS_CACHE_SEC, SP_USERS_CACHE_MAX,
                                   users_copy, users_cache_value_cleanup);
}

static struct sp_ttl_cache *users_cache_get(void)
{
    pthread_once(&users_cache_once, users_cache_init);
    return users_cache;
}

void sp_users_cache_clear(void)
{
    sp_ttl_cache_clear(users_cache_get());
}

static enum sp_err users_conflict(struct sp_db *db, const char *cf, const char *field,
                                  const char *source, const char *kept, const char *other,
                                  int64_t now)
{
    static const char sql[] =
        "INSERT INTO user_conflicts (user_cf, field, source, kept_value, other_value,"
        " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
        " ON CONFLICT(user_cf, field, source, other_value)"
        " DO UPDATE SET last_seen = excluded.last_seen, kept_value = excluded.kept_value";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, field, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_TRANSIENT);
    sp_db_bind_text(st, 4, kept);
    sqlite3_bind_text(st, 5, other, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "user_conflicts upsert");
    sp_db_done(st);
    sp_warn("user record: %s from %s differs from the recorded value (kept)", field, source);
    return rc;
}

static bool same_value(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/*
 * Compare the identity fields of a login with what is recorded: a verified
 * value already stored is kept and a different one is recorded as a conflict;
 * a first verified value is compared with the self-declared one, if any.
 */
static enum sp_err users_conflicts_check(struct sp_db *db, const struct sp_login_record *rec,
                                         int64_t now)
{
    static const char sql[] =
        "SELECT u.name, u.family_name, u.date_of_birth, u.gender, u.place_of_birth,"
        " json_extract(d.attrs, '$.name'), json_extract(d.attrs, '$.familyName'),"
        " json_extract(d.attrs, '$.dateOfBirth'), json_extract(d.attrs, '$.gender'),"
        " json_extract(d.attrs, '$.placeOfBirth')"
        " FROM users u LEFT JOIN user_sources d ON d.user_cf = u.cf AND d.source = ?2"
        " WHERE u.cf = ?1";
    char *stored[USERS_IDENTITY_FIELDS] = {0}, *declared[USERS_IDENTITY_FIELDS] = {0};
    sqlite3_stmt *st;
    enum sp_err rc = SP_OK;
    bool found = false;

    if (rec->n_attrs == 0)
        return SP_OK;
    st = sp_db_stmt(db, sql);
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, rec->cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, SP_USERS_DECLARED, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = true;
        for (int i = 0; i < USERS_IDENTITY_FIELDS; i++) {
            stored[i] = sp_db_column_dup(st, i);
            declared[i] = sp_db_column_dup(st, USERS_IDENTITY_FIELDS + i);
        }
    }
    sp_db_done(st);
    for (int i = 0; found && rc == SP_OK && i < USERS_IDENTITY_FIELDS; i++) {
        const char *field = users_fields[i].attr;
        const char *v = users_attr(rec, field);
        if (v == NULL || v[0] == '\0')
            continue;
        if (stored[i] != NULL && !same_value(stored[i], v))
            rc = users_conflict(db, rec->cf, field, rec->source, stored[i], v, now);
        else if (stored[i] == NULL && declared[i] != NULL && !same_value(declared[i], v))
            rc = users_conflict(db, rec->cf, field, SP_USERS_DECLARED, v, declared[i], now);
    }
    for (int i = 0; i < USERS_IDENTITY_FIELDS; i++) {
        free(stored[i]);
        free(declared[i]);
    }
    return rc;
}

enum sp_err sp_users_record_login(struct sp_db *db, const struct sp_login_record *rec, int64_t now)
{
    /* a field absent from this login keeps its stored value */
    static const char upsert[] =
        "INSERT INTO users (cf, name, family_name, date_of_birth, gender, place_of_birth,"
        " email, mobile_phone, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
        " ON CONFLICT(cf) DO UPDATE SET"
        " name = COALESCE(name, excluded.name),"
        " family_name = COALESCE(family_name, excluded.family_name),"
        " date_of_birth = COALESCE(date_of_birth, excluded.date_of_birth),"
        " gender = COALESCE(gender, excluded.gender),"
        " place_of_birth = COALESCE(place_of_birth, excluded.place_of_birth),"
        " email = COALESCE(excluded.email, email),"
        " mobile_phone = COALESCE(excluded.mobile_phone, mobile_phone),"
        " updated_at = excluded.updated_at";
    static const char ident[] =
        "INSERT INTO identities (user_cf, method, issuer, external_id, first_seen, last_seen)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
        " ON CONFLICT(method, issuer, external_id) DO UPDATE SET last_seen = excluded.last_seen";
    /* attributes absent from this login keep their stored value */
    static const char attr[] = "INSERT INTO user_sources (user_cf, source, attrs, updated_at)"
                               " VALUES (?1, ?2, json(?3), ?4) ON CONFLICT(user_cf, source)"
                               " DO UPDATE SET attrs = json_patch(attrs, excluded.attrs),"
                               " updated_at = excluded.updated_at";
    sqlite3_stmt *st;
    enum sp_err rc = SP_OK;

    sp_ttl_cache_drop(users_cache_get(), rec->cf);
    rc = users_conflicts_check(db, rec, now);
    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, upsert);
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, rec->cf, -1, SQLITE_TRANSIENT);
    for (size_t i = 0; i < sizeof(users_fields) / sizeof(users_fields[0]); i++) {
        const char *v = users_attr(rec, users_fields[i].attr);
        if (v != NULL)
            sqlite3_bind_text(st, users_fields[i].col, v, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, 9, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "users upsert");
    sp_db_done(st);
    if (rc != SP_OK)
        return rc;

    st = sp_db_stmt(db, ident);
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, rec->cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, rec->method, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, rec->issuer ? rec->issuer : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, rec->external_id ? rec->external_id : rec->cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "identities upsert");
    sp_db_done(st);

    if (rc == SP_OK && rec->n_attrs > 0) {
        json_t *o = json_object();
        char *text;
        for (unsigned i = 0; i < rec->n_attrs; i++)
            json_object_set_new(o, rec->attrs[i].name, json_string(rec->attrs[i].value));
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        st = text ? sp_db_stmt(db, attr) : NULL;
        if (st == NULL) {
            free(text);
            return SP_ERR_DB;
        }
        sqlite3_bind_text(st, 1, rec->cf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, rec->source, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, text, -1, free);
        sqlite3_bind_int64(st, 4, now);
        if (sp_db_step_write(db, st) != SQLITE_DONE)
            rc = sp_db_fail(db, "user_sources upsert");
        sp_db_done(st);
    }
    return rc;
}

enum sp_err sp_users_get(struct sp_db *db, const char *cf, struct sp_user *out)
{
    static const char sql[] =
        "SELECT cf, name, family_name, date_of_birth, gender, place_of_birth, email,"
        " mobile_phone, created_at, updated_at FROM users WHERE cf = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int r;

    memset(out, 0, sizeof(*out));
    if (sp_ttl_cache_get(users_cache_get(), cf, sp_clock_now(), out))
        return SP_OK;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->cf = sp_db_column_dup(st, 0);
        out->name = sp_db_column_dup(st, 1);
        out->family_name = sp_db_column_dup(st, 2);
        out->date_of_birth = sp_db_column_dup(st, 3);
        out->gender = sp_db_column_dup(st, 4);
        out->place_of_birth = sp_db_column_dup(st, 5);
        out->email = sp_db_column_dup(st, 6);
        out->mobile_phone = sp_db_column_dup(st, 7);
        out->created_at = sqlite3_column_int64(st, 8);
        out->updated_at = sqlite3_column_int64(st, 9);
    } else if (r == SQLITE_DONE) {
        rc = SP_ERR_NOT_FOUND;
    } else {
        rc = sp_db_fail(db, "users_get");
    }
    sp_db_done(st);
    if (rc == SP_OK)
        sp_ttl_cache_put(users_cache_get(), cf, out, sp_clock_now());
    return rc;
}

void sp_user_cleanup(struct sp_user *u)
{
    free(u->cf);
    free(u->name);
    free(u->family_name);
    free(u->date_of_birth);
    free(u->gender);
    free(u->place_of_birth);
    free(u->email);
    free(u->mobile_phone);
    memset(u, 0, sizeof(*u));
}

enum sp_err sp_users_record_declared(struct sp_db *db, const char *cf,
                                     const struct sp_user_attr *attrs, unsigned n, int64_t now)
{
    static const char person[] = "INSERT INTO users (cf, created_at, updated_at)"
                                 " VALUES (?1, ?2, ?2) ON CONFLICT(cf) DO NOTHING";
    static const char verified[] =
        "SELECT name, family_name, date_of_birth, gender, place_of_birth FROM users WHERE cf = ?1";
    static const char attr[] = "INSERT INTO user_sources (user_cf, source, attrs, updated_at)"
                               " VALUES (?1, ?2, json(?3), ?4) ON CONFLICT(user_cf, source)"
                               " DO UPDATE SET attrs = json_patch(attrs, excluded.attrs),"
                               " updated_at = excluded.updated_at";
    struct sp_login_record rec;
    char *stored[USERS_IDENTITY_FIELDS] = {0};
    sqlite3_stmt *st;
    json_t *o;
    char *text;
    enum sp_err rc;

    rc = sp_db_begin(db);
    if (rc != SP_OK)
        return rc;
    sp_ttl_cache_drop(users_cache_get(), cf);
    st = sp_db_stmt(db, person);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "users insert");
    sp_db_done(st);
    if (rc != SP_OK)
        goto fail;

    st = sp_db_stmt(db, verified);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < USERS_IDENTITY_FIELDS; i++)
            stored[i] = sp_db_column_dup(st, i);
    sp_db_done(st);
    memset(&rec, 0, sizeof(rec));
    rec.attrs = attrs;
    rec.n_attrs = n;
    for (int i = 0; rc == SP_OK && i < USERS_IDENTITY_FIELDS; i++) {
        const char *v = users_attr(&rec, users_fields[i].attr);
        if (v != NULL && stored[i] != NULL && !same_value(stored[i], v))
            rc = users_conflict(db, cf, users_fields[i].attr, SP_USERS_DECLARED, stored[i], v, now);
    }
    for (int i = 0; i < USERS_IDENTITY_FIELDS; i++)
        free(stored[i]);
    if (rc != SP_OK)
        goto fail;

    o = json_object();
    for (unsigned i = 0; i < n; i++)
        json_object_set_new(o, attrs[i].name, json_string(attrs[i].value));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    st = text ? sp_db_stmt(db, attr) : NULL;
    if (st == NULL) {
        free(text);
        goto fail;
    }
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, SP_USERS_DECLARED, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, free);
    sqlite3_bind_int64(st, 4, now);
    rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "user_sources upsert");
    sp_db_done(st);
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc == SP_OK)
        return SP_OK;
fail:
    sp_db_rollback(db);
    return rc != SP_OK ? rc : SP_ERR_DB;
}

enum sp_err sp_users_conflicts(struct sp_db *db, const char *cf, sp_user_conflict_fn fn, void *ctx)
{
    static const char sql[] = "SELECT field, source, kept_value, other_value, first_seen, last_seen"
                              " FROM user_conflicts WHERE user_cf = ?1 ORDER BY first_seen, field";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct sp_user_conflict c;
        c.field = (const char *)sqlite3_column_text(st, 0);
        c.source = (const char *)sqlite3_column_text(st, 1);
        c.kept = (const char *)sqlite3_column_text(st, 2);
        c.other = (const char *)sqlite3_column_text(st, 3);
        c.first_seen = sqlite3_column_int64(st, 4);
        c.last_seen = sqlite3_column_int64(st, 5);
        fn(ctx, &c);
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "user_conflicts");
}

enum sp_err sp_users_identities(struct sp_db *db, const char *cf, sp_identity_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT method, issuer, external_id, first_seen, last_seen FROM identities"
        " WHERE user_cf = ?1 ORDER BY first_seen, id";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct sp_identity id;
        id.method = (const char *)sqlite3_column_text(st, 0);
        id.issuer = (const char *)sqlite3_column_text(st, 1);
        id.external_id = (const char *)sqlite3_column_text(st, 2);
        id.first_seen = sqlite3_column_int64(st, 3);
        id.last_seen = sqlite3_column_int64(st, 4);
        fn(ctx, &id);
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "identities");
}

enum sp_err sp_users_sources(struct sp_db *db, const char *cf, sp_source_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT source, attrs, updated_at FROM user_sources WHERE user_cf = ?1 ORDER BY source";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2));
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "user_sources");
}

char *sp_users_source_attr(struct sp_db *db, const char *cf, const char *source, const char *name)
{
    static const char sql[] =
        "SELECT json_extract(attrs, '$.' || ?3) FROM user_sources WHERE user_cf = ?1"
        " AND source = ?2";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    char *v = NULL;

    if (st == NULL || strpbrk(name, ".[]\"$ ") != NULL) {
        if (st != NULL)
            sp_db_done(st);
        return NULL;
    }
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sp_db_column_dup(st, 0);
    sp_db_done(st);
    return v;
}
