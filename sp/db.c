/*
 * db: SQLite setup, migrations and per-thread connections.
 *
 * THREAD SAFETY NOTES: SQLite connections must not be shared between threads
 * without serialisation, so every thread gets its own connection (pthread
 * key, closed by the key destructor when the thread exits). Statements live in
 * a small per-connection cache. WAL mode lets readers run beside one writer;
 * writers wait up to SP_DB_BUSY_MS.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/ttl_cache.h"

#define SP_DB_BUSY_MS 5000
#define SP_DB_STMT_CACHE 64

struct db_stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
};

struct db_conn {
    sqlite3 *db;
    struct db_stmt_slot stmts[SP_DB_STMT_CACHE];
    unsigned n_stmts;
};

struct sp_db {
    char *path;
    pthread_key_t key;
    pthread_mutex_t write_lock; /* one writer at a time in this process */
};

/* Transaction nesting of the calling thread: inner begin/commit pairs join
 * the outer transaction, so a store function can make itself atomic and still
 * run inside a caller's transaction. */
static _Thread_local unsigned db_txn_depth;

/*
 * Migrations: append only. Entry i brings the schema from version i to i+1.
 */
static const char *const migrations[] = {
    /* 1: users, identities, pending requests, replay cache, sessions */
    "CREATE TABLE users ("
    "  cf TEXT PRIMARY KEY,"
    "  name TEXT, family_name TEXT, date_of_birth TEXT, gender TEXT, place_of_birth TEXT,"
    "  email TEXT, mobile_phone TEXT,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE identities ("
    "  id INTEGER PRIMARY KEY,"
    "  user_cf TEXT NOT NULL REFERENCES users(cf),"
    "  method TEXT NOT NULL, issuer TEXT NOT NULL, external_id TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  UNIQUE (method, issuer, external_id));"
    "CREATE INDEX identities_user ON identities(user_cf);"
    "CREATE TABLE user_attributes ("
    "  user_cf TEXT NOT NULL REFERENCES users(cf),"
    "  source TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_cf, source, name));"
    "CREATE TABLE authn_requests ("
    "  id TEXT PRIMARY KEY,"
    "  relay_state TEXT NOT NULL UNIQUE,"
    "  binding_hash TEXT NOT NULL,"
    "  idp TEXT NOT NULL, level INTEGER NOT NULL, comparison TEXT NOT NULL,"
    "  purpose TEXT, acs_url TEXT NOT NULL, attr_index INTEGER NOT NULL,"
    "  issue_instant_ms INTEGER NOT NULL, next TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, consumed_at INTEGER);"
    "CREATE INDEX authn_requests_expires ON authn_requests(expires_at);"
    "CREATE TABLE replay ("
    "  id TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at INTEGER NOT NULL);"
    "CREATE INDEX replay_expires ON replay(expires_at);"
    "CREATE TABLE sessions ("
    "  id_hash TEXT PRIMARY KEY,"
    "  user_cf TEXT NOT NULL REFERENCES users(cf),"
    "  method TEXT NOT NULL, level INTEGER NOT NULL DEFAULT 0,"
    "  idp TEXT, name_id TEXT, name_qualifier TEXT, session_index TEXT,"
    "  created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL, ended_at INTEGER);"
    "CREATE INDEX sessions_user ON sessions(user_cf);"
    "CREATE INDEX sessions_expires ON sessions(expires_at);",

    /* 2: the attributes of a source as one JSON object per person (one write per
     * login instead of one per attribute); user_attributes stays as a view */
    "CREATE TABLE user_sources ("
    "  user_cf TEXT NOT NULL REFERENCES users(cf),"
    "  source TEXT NOT NULL, attrs TEXT NOT NULL, updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_cf, source));"
    "INSERT INTO user_sources (user_cf, source, attrs, updated_at)"
    "  SELECT user_cf, source, json_group_object(name, value), max(updated_at)"
    "  FROM user_attributes GROUP BY user_cf, source;"
    "DROP TABLE user_attributes;"
    "CREATE VIEW user_attributes AS"
    "  SELECT s.user_cf AS user_cf, s.source AS source, j.key AS name, j.value AS value,"
    "  s.updated_at AS updated_at FROM user_sources s, json_each(s.attrs) j;",

    /* 3: credential strength and acting-for on sessions; organisations,
     * roles, delegations, role suggestions from SPID logins, conflicts between
     * attribute sources; the hash-chained audit trail (append-only: triggers
     * refuse UPDATE and DELETE, and `audit verify` detects what bypasses them) */
    "ALTER TABLE sessions ADD COLUMN assurance INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions ADD COLUMN acting_for TEXT;"
    "CREATE TABLE organisations ("
    "  fiscal_code TEXT PRIMARY KEY, vat_number TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,"
    "  created_by TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE roles ("
    "  id INTEGER PRIMARY KEY,"
    "  user_cf TEXT NOT NULL, role TEXT NOT NULL,"
    "  org_cf TEXT REFERENCES organisations(fiscal_code), scheme TEXT,"
    "  scopes TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER,"
    "  reason TEXT NOT NULL, evidence TEXT, granted_by TEXT NOT NULL, granted_at INTEGER NOT NULL,"
    "  revoked_at INTEGER, revoked_by TEXT, revoke_reason TEXT);"
    "CREATE INDEX roles_user ON roles(user_cf);"
    "CREATE INDEX roles_org ON roles(org_cf);"
    "CREATE TABLE delegations ("
    "  id INTEGER PRIMARY KEY,"
    "  type TEXT NOT NULL, delegator TEXT NOT NULL, delegate TEXT NOT NULL,"
    "  scopes TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER,"
    "  locked_until INTEGER, channel TEXT NOT NULL, evidence TEXT NOT NULL,"
    "  evidence_keep_until INTEGER, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER, revoked_by TEXT, revoke_reason TEXT);"
    "CREATE INDEX delegations_delegate ON delegations(delegate);"
    "CREATE INDEX delegations_delegator ON delegations(delegator);"
    "CREATE TABLE role_suggestions ("
    "  user_cf TEXT NOT NULL, org_cf TEXT NOT NULL, org_name TEXT, vat_number TEXT,"
    "  purpose TEXT, idp TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  PRIMARY KEY (user_cf, org_cf));"
    "CREATE TABLE user_conflicts ("
    "  user_cf TEXT NOT NULL, field TEXT NOT NULL, source TEXT NOT NULL,"
    "  kept_value TEXT, other_value TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  PRIMARY KEY (user_cf, field, source, other_value));"
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, event TEXT NOT NULL,"
    "  actor TEXT, acting_for TEXT, session TEXT, source_ip TEXT,"
    "  outcome TEXT NOT NULL, reason TEXT, details TEXT,"
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_actor ON audit(actor);"
    "CREATE INDEX audit_at ON audit(at_ms);"
    "CREATE TABLE audit_head (one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  seq INTEGER NOT NULL, hash TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",

    /* 4: the legacy PIN (domain.md §1): one live PIN per person, the hashes of
     * previous PINs, the contacts registered with it, conversion requests;
     * and the notification outbox */
    "CREATE TABLE pins ("
    "  id INTEGER PRIMARY KEY,"
    "  user_cf TEXT NOT NULL REFERENCES users(cf),"
    "  state TEXT NOT NULL,"
    "  dispositive INTEGER NOT NULL DEFAULT 0,"
    "  hash TEXT,"
    "  initial INTEGER NOT NULL DEFAULT 1,"
    "  channel TEXT NOT NULL,"
    "  issued_at INTEGER, activate_by INTEGER, changed_at INTEGER, last_used_at INTEGER,"
    "  failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER,"
    "  created_at INTEGER NOT NULL, ended_at INTEGER, end_reason TEXT);"
    "CREATE UNIQUE INDEX pins_live ON pins(user_cf) WHERE ended_at IS NULL;"
    "CREATE TABLE pin_history ("
    "  user_cf TEXT NOT NULL, hash TEXT NOT NULL, set_at INTEGER NOT NULL);"
    "CREATE INDEX pin_history_user ON pin_history(user_cf, set_at);"
    "CREATE TABLE pin_contacts ("
    "  user_cf TEXT NOT NULL REFERENCES users(cf), kind TEXT NOT NULL, value TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL, PRIMARY KEY (user_cf, kind));"
    "CREATE TABLE pin_conversions ("
    "  id INTEGER PRIMARY KEY, user_cf TEXT NOT NULL REFERENCES users(cf),"
    "  state TEXT NOT NULL, files TEXT NOT NULL, document TEXT,"
    "  created_at INTEGER NOT NULL, decided_at INTEGER, decided_by TEXT, reason TEXT);"
    "CREATE INDEX pin_conversions_user ON pin_conversions(user_cf);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY, channel TEXT NOT NULL, recipient TEXT NOT NULL,"
    "  subject TEXT, body TEXT, user_cf TEXT, purpose TEXT,"
    "  state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER,"
    "  last_error TEXT);"
    "CREATE INDEX outbox_due ON outbox(state, next_at);",

    /* 5: the index of the transaction register (register.h): one row per day
     * segment file, never one per message; the anchor that pruning leaves */
    "CREATE TABLE register_days ("
    "  day TEXT PRIMARY KEY,"
    "  first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL,"
    "  records INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE register_anchor ("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  seq INTEGER NOT NULL, hash TEXT NOT NULL, first_day TEXT NOT NULL,"
    "  pruned_at INTEGER NOT NULL);",

    /* 6: pending SP-initiated LogoutRequests (logout_state.h): the LogoutResponse
     * must name one of them (InResponseTo), from the IdP it went to, once */
    "CREATE TABLE logout_requests ("
    "  id TEXT PRIMARY KEY, idp TEXT NOT NULL, relay_state TEXT NOT NULL,"
    "  user_cf TEXT, session TEXT, binding TEXT NOT NULL,"
    "  issue_instant_ms INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL, consumed_at INTEGER);"
    "CREATE INDEX logout_requests_expires ON logout_requests(expires_at);",
};

#define SP_DB_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static void db_conn_free(void *p)
{
    struct db_conn *c = p;
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->n_stmts; i++)
        sqlite3_finalize(c->stmts[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

static struct db_conn *db_conn_open(struct sp_db *db)
{
    struct db_conn *c = sp_xcalloc(1, sizeof(*c));
    int rc = sqlite3_open_v2(
        db->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sp_errorx("cannot open database %s: %s", db->path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        db_conn_free(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, SP_DB_BUSY_MS);
    sqlite3_extended_result_codes(c->db, 1); /* step() says which constraint failed */
    /* checkpoints run in the maintenance thread (sp_db_checkpoint), never in a
     * request that holds the write lock */
    sqlite3_exec(c->db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                 " PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=FAST;",
                 NULL, NULL, NULL);
    return c;
}

static struct db_conn *db_thread_conn(struct sp_db *db)
{
    struct db_conn *c = pthread_getspecific(db->key);
    if (c == NULL) {
        c = db_conn_open(db);
        if (c == NULL)
            return NULL;
        pthread_setspecific(db->key, c);
    }
    return c;
}

struct sqlite3 *sp_db_conn(struct sp_db *db)
{
    struct db_conn *c = db_thread_conn(db);
    return c ? c->db : NULL;
}

struct sqlite3_stmt *sp_db_stmt(struct sp_db *db, const char *sql)
{
    struct db_conn *c = db_thread_conn(db);
    sqlite3_stmt *st = NULL;

    if (c == NULL)
        return NULL;
    for (unsigned i = 0; i < c->n_stmts; i++)
        if (c->stmts[i].sql == sql)
            return c->stmts[i].stmt;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sp_errorx("SQL prepare failed: %s", sqlite3_errmsg(c->db));
        return NULL;
    }
    if (c->n_stmts < SP_DB_STMT_CACHE) {
        c->stmts[c->n_stmts].sql = sql;
        c->stmts[c->n_stmts].stmt = st;
        c->n_stmts++;
    } else {
        SP_ASSERT(!"statement cache full: raise SP_DB_STMT_CACHE");
    }
    return st;
}

void sp_db_done(struct sqlite3_stmt *stmt)
{
    if (stmt == NULL)
        return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

enum sp_err sp_db_fail(struct sp_db *db, const char *what)
{
    sqlite3 *c = sp_db_conn(db);
    sp_errorx("database error in %s: %s", what, c ? sqlite3_errmsg(c) : "no connection");
    return SP_ERR_DB;
}

static void sp_db_rollback_raw(struct sp_db *db)
{
    sqlite3 *c = sp_db_conn(db);
    if (c != NULL && !sqlite3_get_autocommit(c))
        sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
}

static enum sp_err db_exec(struct sp_db *db, const char *sql)
{
    sqlite3 *c = sp_db_conn(db);
    char *msg = NULL;
    if (c == NULL)
        return SP_ERR_DB;
    if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sp_errorx("SQL failed: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return SP_ERR_DB;
    }
    return SP_OK;
}

/*
 * Writers queue on a mutex instead of meeting SQLITE_BUSY: SQLite's busy
 * handler sleeps in steps of milliseconds, which under load costs far more
 * than the writes themselves. Other processes on the same file still get the
 * busy timeout.
 */
enum sp_err sp_db_begin(struct sp_db *db)
{
    enum sp_err rc;

    if (db_txn_depth++ > 0)
        return SP_OK;
    pthread_mutex_lock(&db->write_lock);
    rc = db_exec(db, "BEGIN IMMEDIATE");
    if (rc != SP_OK) {
        db_txn_depth = 0;
        pthread_mutex_unlock(&db->write_lock);
    }
    return rc;
}

enum sp_err sp_db_commit(struct sp_db *db)
{
    enum sp_err rc;

    if (db_txn_depth == 0) {
        sp_errorx("commit without a transaction (ended by an earlier rollback)");
        return SP_ERR_DB;
    }
    if (--db_txn_depth > 0)
        return SP_OK;
    rc = db_exec(db, "COMMIT");
    if (rc != SP_OK)
        sp_db_rollback_raw(db);
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

void sp_db_rollback(struct sp_db *db)
{
    if (db_txn_depth == 0)
        return;
    db_txn_depth = 0; /* a rollback ends the outer transaction too */
    sp_db_rollback_raw(db);
    pthread_mutex_unlock(&db->write_lock);
}

int sp_db_step_write(struct sp_db *db, struct sqlite3_stmt *st)
{
    int r;
    if (sp_db_begin(db) != SP_OK)
        return SQLITE_ERROR;
    r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        if (sp_db_commit(db) != SP_OK)
            r = SQLITE_ERROR;
    } else if (db_txn_depth == 1) {
        /* our own transaction: nothing else to keep */
        if (sp_db_commit(db) != SP_OK)
            r = SQLITE_ERROR;
    } else {
        db_txn_depth--; /* the caller's transaction decides */
    }
    return r;
}

void sp_db_bind_text(struct sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

char *sp_db_column_dup(struct sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? sp_xstrdup((const char *)t) : NULL;
}

enum sp_err sp_db_checkpoint(struct sp_db *db)
{
    sqlite3 *c = sp_db_conn(db);
    if (c == NULL)
        return SP_ERR_DB;
    if (sqlite3_wal_checkpoint_v2(c, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_OK)
        return sp_db_fail(db, "wal checkpoint");
    return SP_OK;
}

int sp_db_schema_version(struct sp_db *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(sp_db_conn(db), "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static enum sp_err db_migrate(struct sp_db *db, struct sp_buf *err)
{
    int v = sp_db_schema_version(db);
    enum sp_err rc = SP_OK;

    if (v < 0) {
        sqlite3 *c = sp_db_conn(db);
        sp_buf_addf(err, "%s: cannot read the schema version: %s", db->path,
                    c ? sqlite3_errmsg(c) : "no connection");
        return SP_ERR_DB;
    }
    if (v > SP_DB_VERSION) {
        sp_buf_addf(err, "%s: schema version %d is newer than this program (%d)", db->path, v,
                    SP_DB_VERSION);
        return SP_ERR_DB;
    }
    for (; v < SP_DB_VERSION && rc == SP_OK; v++) {
        char pragma[64];
        rc = sp_db_begin(db);
        if (rc == SP_OK)
            rc = db_exec(db, migrations[v]);
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
        if (rc == SP_OK)
            rc = db_exec(db, pragma);
        if (rc == SP_OK)
            rc = sp_db_commit(db);
        if (rc != SP_OK) {
            sp_db_rollback(db);
            sp_buf_addf(err, "%s: migration %d failed", db->path, v + 1);
        } else {
            sp_info("database %s migrated to schema %d", db->path, v + 1);
        }
    }
    return rc;
}

struct sp_db *sp_db_open(const char *path, struct sp_buf *err)
{
    struct sp_db *db = sp_xcalloc(1, sizeof(*db));
    sp_ttl_cache_clear_all(); /* caches mirror one database at a time */
    db->path = sp_xstrdup(path);
    SP_ASSERT(pthread_key_create(&db->key, db_conn_free) == 0);
    pthread_mutex_init(&db->write_lock, NULL);
    if (sp_db_conn(db) == NULL) {
        sp_buf_addf(err, "%s: cannot open database", path);
        sp_db_close(&db);
        return NULL;
    }
    if (db_migrate(db, err) != SP_OK)
        sp_db_close(&db);
    return db;
}

void sp_db_close(struct sp_db **dbp)
{
    struct sp_db *db = dbp ? *dbp : NULL;
    if (db == NULL)
        return;
    sp_ttl_cache_clear_all();
    if (pthread_getspecific(db->key) != NULL)
        sp_db_checkpoint(db);
    db_conn_free(pthread_getspecific(db->key));
    pthread_setspecific(db->key, NULL);
    pthread_key_delete(db->key);
    pthread_mutex_destroy(&db->write_lock);
    free(db->path);
    free(db);
    *dbp = NULL;
}

enum sp_err sp_db_ping(struct sp_db *db)
{
    struct sqlite3_stmt *st = sp_db_stmt(db, "SELECT count(*) FROM sqlite_schema");
    int rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
    if (st != NULL)
        sp_db_done(st);
    return rc == SQLITE_ROW ? SP_OK : SP_ERR_DB;
}
