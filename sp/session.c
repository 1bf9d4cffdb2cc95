/*
 * session: SQL for the sessions table, and a small in-process cache of
 * sessions validated against the database.
 *
 * The cache keeps /api/me and /auth/check off SQLite for most requests: an
 * entry is used only while it was read from the database less than
 * SP_SESSION_CACHE_SEC ago and its last_seen needs no refresh; idle and
 * absolute timeouts are always checked against the cached times. Ending a
 * session in this process removes its entry at once; a session ended by
 * another process sharing the database is noticed within SP_SESSION_CACHE_SEC.
 *
 * THREAD SAFETY NOTES: the cache is split into SP_SESSION_SHARDS shards, each
 * behind its own mutex, chosen by the token hash; callers always get a deep
 * copy, never a pointer into the cache.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sp/db.h"
#include "sp/digest.h"
#include "sp/mem.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/ttl_cache.h"

#define SP_SESSION_CACHE_MAX 65536

static struct sp_ttl_cache *session_cache;
static pthread_once_t session_cache_once = PTHREAD_ONCE_INIT;

static char *dup_opt(const char *s)
{
    return s ? sp_xstrdup(s) : NULL;
}

static void session_copy(void *dstv, const void *srcv)
{
    struct sp_session *dst = dstv;
    const struct sp_session *src = srcv;
    *dst = *src;
    dst->user_cf = dup_opt(src->user_cf);
    dst->method = dup_opt(src->method);
    dst->idp = dup_opt(src->idp);
    dst->name_id = dup_opt(src->name_id);
    dst->name_qualifier = dup_opt(src->name_qualifier);
    dst->session_index = dup_opt(src->session_index);
    dst->acting_for = dup_opt(src->acting_for);
}

static void session_cache_value_cleanup(void *v)
{
    sp_session_cleanup(v);
}

static void session_cache_init(void)
{
    session_cache =
        sp_ttl_cache_new(sizeof(struct sp_session), SP_SESSION_CACHE_SEC, SP_SESSION_CACHE_MAX,
                         session_copy, session_cache_value_cleanup);
}

static struct sp_ttl_cache *session_cache_get(void)
{
    pthread_once(&session_cache_once, session_cache_init);
    return session_cache;
}

void sp_session_cache_clear(void)
{
    sp_ttl_cache_clear(session_cache_get());
}

static void session_hash(const char *token, char out[SP_SHA256_HEX_LEN + 1])
{
    sp_sha256_hex(token, strlen(token), out);
}

enum sp_err sp_session_create(struct sp_db *db, const struct sp_session *s, int64_t now,
                              unsigned lifetime_sec, char token[SP_RAND_TOKEN_LEN + 1])
{
    static const char sql[] =
        "INSERT INTO sessions (id_hash, user_cf, method, level, idp, name_id, name_qualifier,"
        " session_index, created_at, last_seen_at, expires_at, assurance, acting_for)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12)";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    char hash[SP_SHA256_HEX_LEN + 1];
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sp_rand_token(token);
    session_hash(token, hash);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sp_db_bind_text(st, 2, s->user_cf);
    sp_db_bind_text(st, 3, s->method);
    sqlite3_bind_int(st, 4, (int)s->level);
    sp_db_bind_text(st, 5, s->idp);
    sp_db_bind_text(st, 6, s->name_id);
    sp_db_bind_text(st, 7, s->name_qualifier);
    sp_db_bind_text(st, 8, s->session_index);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_int64(st, 10, now + lifetime_sec);
    sqlite3_bind_int(st, 11, (int)s->assurance);
    sp_db_bind_text(st, 12, s->acting_for);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "session_create");
    sp_db_done(st);
    sp_wipe(hash, sizeof(hash));
    return rc;
}

static void session_end_hash(struct sp_db *db, const char *hash, int64_t now)
{
    static const char sql[] =
        "UPDATE sessions SET ended_at = ?2 WHERE id_hash = ?1 AND ended_at IS NULL";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    if (st == NULL)
        return;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        sp_db_fail(db, "session_end");
    sp_db_done(st);
}

static void session_touch(struct sp_db *db, const char *hash, int64_t now)
{
    static const char sql[] = "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    if (st == NULL)
        return;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        sp_db_fail(db, "session_touch");
    sp_db_done(st);
}

/* Timeouts: the session ends when idle too long or past its lifetime. */
static bool session_timed_out(const struct sp_session *s, int64_t now, unsigned idle_sec)
{
    return now >= s->expires_at || now - s->last_seen_at >= (int64_t)idle_sec;
}

enum sp_err sp_session_lookup(struct sp_db *db, const char *token, int64_t now, unsigned idle_sec,
                              struct sp_session *out)
{
    static const char sql[] =
        "SELECT user_cf, method, level, idp, name_id, name_qualifier, session_index,"
        " created_at, last_seen_at, expires_at, assurance, acting_for FROM sessions"
        " WHERE id_hash = ?1 AND ended_at IS NULL";
    sqlite3_stmt *st;
    char hash[SP_SHA256_HEX_LEN + 1];
    enum sp_err rc = SP_OK;
    int r;

    memset(out, 0, sizeof(*out));
    if (token == NULL || strlen(token) != SP_RAND_TOKEN_LEN)
        return SP_ERR_NOT_FOUND;
    session_hash(token, hash);
    if (sp_ttl_cache_get(session_cache_get(), hash, now, out)) {
        /* usable while no timeout applies and last_seen needs no refresh */
        if (!session_timed_out(out, now, idle_sec) &&
            now - out->last_seen_at < SP_SESSION_TOUCH_SEC)
            goto out;
        sp_session_cleanup(out); /* the database path decides */
    }
    st = sp_db_stmt(db, sql);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->user_cf = sp_db_column_dup(st, 0);
        out->method = sp_db_column_dup(st, 1);
        out->level = (unsigned)sqlite3_column_int(st, 2);
        out->idp = sp_db_column_dup(st, 3);
        out->name_id = sp_db_column_dup(st, 4);
        out->name_qualifier = sp_db_column_dup(st, 5);
        out->session_index = sp_db_column_dup(st, 6);
        out->created_at = sqlite3_column_int64(st, 7);
        out->last_seen_at = sqlite3_column_int64(st, 8);
        out->expires_at = sqlite3_column_int64(st, 9);
        out->assurance = (unsigned)sqlite3_column_int(st, 10);
        out->acting_for = sp_db_column_dup(st, 11);
        memcpy(out->id, hash, SP_SESSION_ID_LEN);
        out->id[SP_SESSION_ID_LEN] = '\0';
    } else if (r == SQLITE_DONE) {
        rc = SP_ERR_NOT_FOUND;
    } else {
        rc = sp_db_fail(db, "session_lookup");
    }
    sp_db_done(st);
    if (rc == SP_OK && session_timed_out(out, now, idle_sec)) {
        session_end_hash(db, hash, now);
        sp_session_cleanup(out);
        rc = SP_ERR_EXPIRED;
    } else if (rc == SP_OK && now - out->last_seen_at >= SP_SESSION_TOUCH_SEC) {
        session_touch(db, hash, now);
        out->last_seen_at = now;
    }
    if (rc == SP_OK)
        sp_ttl_cache_put(session_cache_get(), hash, out, now);
    else
        sp_ttl_cache_drop(session_cache_get(), hash);
out:
    sp_wipe(hash, sizeof(hash));
    return rc;
}

void sp_session_id(const char *token, char out[SP_SESSION_ID_LEN + 1])
{
    char hash[SP_SHA256_HEX_LEN + 1];
    session_hash(token, hash);
    memcpy(out, hash, SP_SESSION_ID_LEN);
    out[SP_SESSION_ID_LEN] = '\0';
    sp_wipe(hash, sizeof(hash));
}

enum sp_err sp_session_set_acting_for(struct sp_db *db, const char *token, const char *party)
{
    static const char sql[] =
        "UPDATE sessions SET acting_for = ?2 WHERE id_hash = ?1 AND ended_at IS NULL";
    char hash[SP_SHA256_HEX_LEN + 1];
    sqlite3_stmt *st;
    enum sp_err rc = SP_OK;

    if (token == NULL || strlen(token) != SP_RAND_TOKEN_LEN)
        return SP_ERR_NOT_FOUND;
    session_hash(token, hash);
    sp_ttl_cache_drop(session_cache_get(), hash);
    st = sp_db_stmt(db, sql);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sp_db_bind_text(st, 2, party);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "session_set_acting_for");
    else if (sqlite3_changes(sp_db_conn(db)) == 0)
        rc = SP_ERR_NOT_FOUND;
    sp_db_done(st);
out:
    sp_wipe(hash, sizeof(hash));
    return rc;
}

enum sp_err sp_session_end_user(struct sp_db *db, const char *cf, const char *method, int64_t now)
{
    static const char find[] = "SELECT id_hash FROM sessions WHERE user_cf = ?1 AND method = ?2"
                               " AND ended_at IS NULL";
    static const char end[] = "UPDATE sessions SET ended_at = ?3 WHERE user_cf = ?1"
                              " AND method = ?2 AND ended_at IS NULL";
    sqlite3_stmt *st = sp_db_stmt(db, find);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, method, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW)
        sp_ttl_cache_drop(session_cache_get(), (const char *)sqlite3_column_text(st, 0));
    sp_db_done(st);
    st = sp_db_stmt(db, end);
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, method, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "session_end_user");
    sp_db_done(st);
    return rc;
}

/* One live session found by sp_session_end_spid. */
struct session_match {
    char hash[SP_SHA256_HEX_LEN + 1];
    char *user_cf;
};

static bool session_index_listed(const char *have, const char *const *list, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (have != NULL && list[i] != NULL && strcmp(have, list[i]) == 0)
            return true;
    return false;
}

enum sp_err sp_session_end_spid(struct sp_db *db, const char *idp, const char *name_id,
                                const char *name_qualifier, const char *const *session_index,
                                unsigned n_index, int64_t now, sp_session_ended_fn fn, void *ctx,
                                unsigned *ended)
{
    static const char find[] =
        "SELECT id_hash, user_cf, name_qualifier, session_index FROM sessions"
        " WHERE idp = ?1 AND method = 'spid' AND ended_at IS NULL"
        " AND trim(name_id, ' ' || char(9, 10, 13)) = ?2";
    static const char end[] =
        "UPDATE sessions SET ended_at = ?2 WHERE id_hash = ?1 AND ended_at IS NULL";
    struct session_match *m = NULL;
    unsigned n = 0, cap = 0;
    char *want = NULL;
    sqlite3_stmt *st;
    enum sp_err rc = SP_OK;
    int r;

    if (ended != NULL)
        *ended = 0;
    if (idp == NULL || name_id == NULL)
        return SP_ERR_INVALID;
    want = sp_str_trim_dup(name_id);
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        goto out;
    st = sp_db_stmt(db, find);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, idp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, want, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(st, 0);
        const char *nq = (const char *)sqlite3_column_text(st, 2);
        const char *si = (const char *)sqlite3_column_text(st, 3);
        if (hash == NULL || strlen(hash) != SP_SHA256_HEX_LEN)
            continue;
        if (name_qualifier != NULL && (nq == NULL || strcmp(nq, name_qualifier) != 0))
            continue;
        if (n_index > 0 && !session_index_listed(si, session_index, n_index))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            m = sp_xrealloc(m, cap * sizeof(*m));
        }
        memcpy(m[n].hash, hash, SP_SHA256_HEX_LEN + 1);
        m[n].user_cf = sp_db_column_dup(st, 1);
        n++;
    }
    if (r != SQLITE_DONE)
        rc = sp_db_fail(db, "session_end_spid");
    sp_db_done(st);
    for (unsigned i = 0; rc == SP_OK && i < n; i++) {
        st = sp_db_stmt(db, end);
        if (st == NULL) {
            rc = SP_ERR_DB;
            break;
        }
        sqlite3_bind_text(st, 1, m[i].hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, now);
        if (sp_db_step_write(db, st) != SQLITE_DONE)
            rc = sp_db_fail(db, "session_end_spid");
        sp_db_done(st);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    if (rc != SP_OK) {
        sp_db_rollback(db);
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        char sid[SP_SESSION_ID_LEN + 1];
        sp_ttl_cache_drop(session_cache_get(), m[i].hash);
        memcpy(sid, m[i].hash, SP_SESSION_ID_LEN);
        sid[SP_SESSION_ID_LEN] = '\0';
        if (fn != NULL)
            fn(ctx, m[i].user_cf, sid);
    }
    if (ended != NULL)
        *ended = n;
out:
    for (unsigned i = 0; i < n; i++) {
        free(m[i].user_cf);
        sp_wipe(m[i].hash, sizeof(m[i].hash));
    }
    free(m);
    free(want);
    return rc;
}

enum sp_err sp_session_end(struct sp_db *db, const char *token, int64_t now)
{
    char hash[SP_SHA256_HEX_LEN + 1];
    if (token == NULL)
        return SP_OK;
    session_hash(token, hash);
    sp_ttl_cache_drop(session_cache_get(), hash);
    session_end_hash(db, hash, now);
    sp_wipe(hash, sizeof(hash));
    return SP_OK;
}

int sp_session_purge(struct sp_db *db, int64_t now, int64_t keep_sec)
{
    static const char sql[] = "DELETE FROM sessions WHERE expires_at < ?1"
                              " OR (ended_at IS NOT NULL AND ended_at < ?1)";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int n = -1;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, now - keep_sec);
    if (sp_db_step_write(db, st) == SQLITE_DONE)
        n = sqlite3_changes(sp_db_conn(db));
    sp_db_done(st);
    return n;
}

int64_t sp_session_count_active(struct sp_db *db, int64_t now, unsigned idle_sec)
{
    static const char sql[] = "SELECT count(*) FROM sessions WHERE ended_at IS NULL"
                              " AND expires_at > ?1 AND last_seen_at > ?2";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int64_t n = -1;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, now - idle_sec);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sp_db_done(st);
    return n;
}

void sp_session_cleanup(struct sp_session *s)
{
    free(s->user_cf);
    free(s->method);
    free(s->idp);
    free(s->name_id);
    free(s->name_qualifier);
    free(s->session_index);
    free(s->acting_for);
    memset(s, 0, sizeof(*s));
}
