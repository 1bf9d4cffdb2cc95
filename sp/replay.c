/*
 * replay: SQL for the replay table. The primary key does the work: a second
 * insert of the same ID fails with a constraint error.
 */
#include <sqlite3.h>
#include <stddef.h>

#include "sp/db.h"
#include "sp/replay.h"

enum sp_err sp_replay_remember(struct sp_db *db, const char *id, const char *kind,
                               int64_t expires_at)
{
    static const char sql[] = "INSERT INTO replay (id, kind, expires_at) VALUES (?1, ?2, ?3)";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int r;

    /* SQLite accepts NULL in a TEXT PRIMARY KEY: a NULL id would never replay */
    if (id == NULL || id[0] == '\0' || kind == NULL)
        return SP_ERR_INVALID;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, expires_at);
    r = sp_db_step_write(db, st);
    if (r == SQLITE_CONSTRAINT_PRIMARYKEY)
        rc = SP_ERR_REPLAY;
    else if (r != SQLITE_DONE)
        rc = sp_db_fail(db, "replay_remember");
    sp_db_done(st);
    return rc;
}

int sp_replay_purge(struct sp_db *db, int64_t now)
{
    static const char sql[] = "DELETE FROM replay WHERE expires_at < ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int n = -1;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    if (sp_db_step_write(db, st) == SQLITE_DONE)
        n = sqlite3_changes(sp_db_conn(db));
    sp_db_done(st);
    return n;
}
