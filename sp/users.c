/*
 * users: SQL for users, identities and user_sources (attributes per source).
 */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sp/clock.h"
#include "sp/db.h"
#include "sp/mem.h"
#include "sp/ttl_cache.h"
#include "sp/users.h"

/* SPID attribute -> users column (verified fields). */
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

enum sp_err sp_users_record_login(struct sp_db *db, const struct sp_login_record *rec, int64_t now)
{
    /* a field absent from this login keeps its stored value */
    static const char upsert[] =
        "INSERT INTO users (cf, name, family_name, date_of_birth, gender, place_of_birth,"
        " email, mobile_phone, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
        " ON CONFLICT(cf) DO UPDATE SET"
        " name = COALESCE(excluded.name, name),"
        " family_name = COALESCE(excluded.family_name, family_name),"
        " date_of_birth = COALESCE(excluded.date_of_birth, date_of_birth),"
        " gender = COALESCE(excluded.gender, gender),"
        " place_of_birth = COALESCE(excluded.place_of_birth, place_of_birth),"
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
