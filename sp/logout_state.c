/*
 * logout_state: SQL for the logout_requests table (migration 6 in db.c).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sp/db.h"
#include "sp/log.h"
#include "sp/logout_state.h"

enum sp_err sp_logout_state_put(struct sp_db *db, const struct sp_logout_pending *p, int64_t now)
{
    static const char sql[] =
        "INSERT INTO logout_requests (id, idp, relay_state, user_cf, session, binding,"
        " issue_instant_ms, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    sqlite3_stmt *st;
    enum sp_err rc = SP_OK;

    if (sp_logout_state_purge(db, now, SP_LOGOUT_KEEP_SEC) < 0)
        sp_warnx("logout_state: purge of old logout requests failed");
    st = sp_db_stmt(db, sql);
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, p->id);
    sp_db_bind_text(st, 2, p->idp);
    sp_db_bind_text(st, 3, p->relay_state);
    sp_db_bind_text(st, 4, p->user_cf);
    sp_db_bind_text(st, 5, p->session);
    sp_db_bind_text(st, 6, p->binding);
    sqlite3_bind_int64(st, 7, p->issue_instant_ms);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_int64(st, 9, p->expires_at);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "logout_state_put");
    sp_db_done(st);
    return rc;
}

enum sp_err sp_logout_state_get(struct sp_db *db, const char *id, struct sp_logout_pending *out)
{
    static const char sql[] =
        "SELECT id, idp, relay_state, user_cf, session, binding, issue_instant_ms, expires_at,"
        " COALESCE(consumed_at, 0) FROM logout_requests WHERE id = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int r;

    memset(out, 0, sizeof(*out));
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->id = sp_db_column_dup(st, 0);
        out->idp = sp_db_column_dup(st, 1);
        out->relay_state = sp_db_column_dup(st, 2);
        out->user_cf = sp_db_column_dup(st, 3);
        out->session = sp_db_column_dup(st, 4);
        out->binding = sp_db_column_dup(st, 5);
        out->issue_instant_ms = sqlite3_column_int64(st, 6);
        out->expires_at = sqlite3_column_int64(st, 7);
        out->consumed_at = sqlite3_column_int64(st, 8);
    } else if (r == SQLITE_DONE) {
        rc = SP_ERR_NOT_FOUND;
    } else {
        rc = sp_db_fail(db, "logout_state_get");
    }
    sp_db_done(st);
    return rc;
}

enum sp_err sp_logout_state_consume(struct sp_db *db, const char *id, int64_t now)
{
    static const char sql[] = "UPDATE logout_requests SET consumed_at = ?2"
                              " WHERE id = ?1 AND consumed_at IS NULL AND expires_at > ?2";
    static const char probe[] =
        "SELECT COALESCE(consumed_at, 0) FROM logout_requests WHERE id = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "logout_state_consume");
    else if (sqlite3_changes(sp_db_conn(db)) != 1)
        rc = SP_ERR_NOT_FOUND;
    sp_db_done(st);
    if (rc != SP_ERR_NOT_FOUND)
        return rc;
    /* say why: answered already, expired, or unknown */
    st = sp_db_stmt(db, probe);
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = sqlite3_column_int64(st, 0) != 0 ? SP_ERR_REPLAY : SP_ERR_EXPIRED;
    sp_db_done(st);
    return rc;
}

int sp_logout_state_purge(struct sp_db *db, int64_t now, int64_t keep_sec)
{
    static const char sql[] = "DELETE FROM logout_requests WHERE expires_at < ?1";
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

void sp_logout_pending_cleanup(struct sp_logout_pending *p)
{
    free(p->id);
    free(p->idp);
    free(p->relay_state);
    free(p->user_cf);
    free(p->session);
    free(p->binding);
    memset(p, 0, sizeof(*p));
}
