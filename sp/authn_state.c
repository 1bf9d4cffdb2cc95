/*
 * authn_state: SQL for the authn_requests table.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sp/authn_state.h"
#include "sp/db.h"
#include "sp/mem.h"

enum sp_err sp_authn_state_put(struct sp_db *db, const struct sp_authn_pending *p, int64_t now)
{
    static const char sql[] =
        "INSERT INTO authn_requests (id, relay_state, binding_hash, idp, level, comparison,"
        " purpose, acs_url, attr_index, issue_instant_ms, next, created_at, expires_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, p->id);
    sp_db_bind_text(st, 2, p->relay_state);
    sp_db_bind_text(st, 3, p->binding_hash);
    sp_db_bind_text(st, 4, p->idp);
    sqlite3_bind_int(st, 5, (int)p->level);
    sp_db_bind_text(st, 6, p->comparison);
    sp_db_bind_text(st, 7, p->purpose);
    sp_db_bind_text(st, 8, p->acs_url);
    sqlite3_bind_int(st, 9, (int)p->attr_index);
    sqlite3_bind_int64(st, 10, p->issue_instant_ms);
    sp_db_bind_text(st, 11, p->next);
    sqlite3_bind_int64(st, 12, now);
    sqlite3_bind_int64(st, 13, p->expires_at);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "authn_state_put");
    sp_db_done(st);
    return rc;
}

enum sp_err sp_authn_state_get(struct sp_db *db, const char *id, struct sp_authn_pending *out)
{
    static const char sql[] =
        "SELECT id, relay_state, binding_hash, idp, level, comparison, purpose, acs_url,"
        " attr_index, issue_instant_ms, next, expires_at, COALESCE(consumed_at, 0)"
        " FROM authn_requests WHERE id = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    memset(out, 0, sizeof(*out));
    sp_db_bind_text(st, 1, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->id = sp_db_column_dup(st, 0);
        out->relay_state = sp_db_column_dup(st, 1);
        out->binding_hash = sp_db_column_dup(st, 2);
        out->idp = sp_db_column_dup(st, 3);
        out->level = (unsigned)sqlite3_column_int(st, 4);
        out->comparison = sp_db_column_dup(st, 5);
        out->purpose = sp_db_column_dup(st, 6);
        out->acs_url = sp_db_column_dup(st, 7);
        out->attr_index = (unsigned)sqlite3_column_int(st, 8);
        out->issue_instant_ms = sqlite3_column_int64(st, 9);
        out->next = sp_db_column_dup(st, 10);
        out->expires_at = sqlite3_column_int64(st, 11);
        out->consumed_at = sqlite3_column_int64(st, 12);
    } else if (r == SQLITE_DONE) {
        rc = SP_ERR_NOT_FOUND;
    } else {
        rc = sp_db_fail(db, "authn_state_get");
    }
    sp_db_done(st);
    return rc;
}

enum sp_err sp_authn_state_consume(struct sp_db *db, const char *id, int64_t now)
{
    static const char sql[] = "UPDATE authn_requests SET consumed_at = ?2"
                              " WHERE id = ?1 AND consumed_at IS NULL AND expires_at > ?2";
    static const char probe[] =
        "SELECT COALESCE(consumed_at, 0), expires_at FROM authn_requests WHERE id = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "authn_state_consume");
    else if (sqlite3_changes(sp_db_conn(db)) != 1)
        rc = SP_ERR_NOT_FOUND;
    sp_db_done(st);
    if (rc != SP_ERR_NOT_FOUND)
        return rc;
    /* say why: consumed already, expired, or unknown */
    st = sp_db_stmt(db, probe);
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = sqlite3_column_int64(st, 0) != 0 ? SP_ERR_REPLAY : SP_ERR_EXPIRED;
    sp_db_done(st);
    return rc;
}

int sp_authn_state_purge(struct sp_db *db, int64_t now, int64_t keep_sec)
{
    static const char sql[] = "DELETE FROM authn_requests WHERE expires_at < ?1";
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

void sp_authn_pending_cleanup(struct sp_authn_pending *p)
{
    free(p->id);
    free(p->relay_state);
    free(p->binding_hash);
    free(p->idp);
    free(p->comparison);
    free(p->purpose);
    free(p->acs_url);
    free(p->next);
    memset(p, 0, sizeof(*p));
}
