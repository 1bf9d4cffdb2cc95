/*
 * db: the SQLite database: opening in WAL mode, numbered migrations, one
 * connection per thread with a cache of prepared statements, transactions.
 * Only db.c and the store modules (users, session, authn_state, replay, ...)
 * include sqlite3.h; each store module keeps its own SQL.
 */
#ifndef SP_DB_H
#define SP_DB_H

#include "sp/err.h"

struct sp_buf;
struct sp_db;
struct sqlite3;
struct sqlite3_stmt;

/* Open (creating) path, migrate to the latest schema. NULL with err on failure. */
struct sp_db *sp_db_open(const char *path, struct sp_buf *err);
/* Close the calling thread's connection and free db. Accepts NULL. */
void sp_db_close(struct sp_db **db);

/*
 * Copy the write-ahead log into the database file without blocking readers
 * or writers (request connections never checkpoint on their own). Called
 * about every second by the maintenance thread, and at close.
 */
enum sp_err sp_db_checkpoint(struct sp_db *db);

/* SP_OK when the calling thread's connection can read the database (health checks). */
enum sp_err sp_db_ping(struct sp_db *db);

/* Schema version after migrations. */
int sp_db_schema_version(struct sp_db *db);

/*
 * The calling thread's connection (opened on first use, closed when the
 * thread exits) and a prepared statement for sql from that connection's cache.
 * sql must be a string literal: the cache is keyed by its address. After use
 * call sp_db_done(stmt) (reset + clear bindings). NULL on prepare failure.
 */
struct sqlite3 *sp_db_conn(struct sp_db *db);
struct sqlite3_stmt *sp_db_stmt(struct sp_db *db, const char *sql);
void sp_db_done(struct sqlite3_stmt *stmt);

/*
 * Transactions on the calling thread's connection (BEGIN IMMEDIATE), one
 * writer at a time per process. Nested begin/commit pairs join the outer
 * transaction; a rollback ends it whole.
 */
enum sp_err sp_db_begin(struct sp_db *db);
enum sp_err sp_db_commit(struct sp_db *db);
void sp_db_rollback(struct sp_db *db);

/*
 * Step a write statement under the process-wide write lock, inside its own
 * transaction or the caller's. Returns the sqlite3_step() code, so a
 * constraint violation stays visible (SQLITE_CONSTRAINT); the caller still
 * calls sp_db_done(st).
 */
int sp_db_step_write(struct sp_db *db, struct sqlite3_stmt *st);

/* Column helpers for the store modules: NULL binds SQL NULL; a NULL column
 * gives NULL, text a copy to free(). */
void sp_db_bind_text(struct sqlite3_stmt *st, int i, const char *s);
char *sp_db_column_dup(struct sqlite3_stmt *st, int i);

/* Log the connection's last error with context; returns SP_ERR_DB. */
enum sp_err sp_db_fail(struct sp_db *db, const char *what);

#endif /* SP_DB_H */
