/*
 * test_db: opening and migrating the SQLite file, refusing a newer schema,
 * transactions, the per-connection statement cache keyed by the SQL pointer,
 * and one connection per thread.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/db.h"
#include "sp/log.h"

struct fx {
    char dir[64];
    char path[128];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sp-unit-db-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/sp.db", f->dir);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct sp_db *open_ok(const char *path)
{
    struct sp_buf err;
    struct sp_db *db;

    sp_buf_init(&err, 4096);
    db = sp_db_open(path, &err);
    if (db == NULL)
        fail_msg("sp_db_open(%s): %s", path, sp_buf_str(&err));
    assert_int_equal(err.len, 0);
    sp_buf_cleanup(&err);
    return db;
}

static int64_t query_int(struct sp_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void exec_ok(struct sp_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(sp_db_conn(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        char copy[256];
        snprintf(copy, sizeof(copy), "%s", msg ? msg : "?");
        sqlite3_free(msg);
        fail_msg("%s: %s", sql, copy);
    }
}

static void test_open_creates_schema(void **state)
{
    struct fx *f = *state;
    struct sp_db *db = open_ok(f->path);

    assert_true(sp_db_schema_version(db) >= 1);
    assert_int_equal(query_int(db, "PRAGMA user_version"), sp_db_schema_version(db));
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                   " name IN ('users', 'identities', 'user_sources',"
                                   " 'authn_requests', 'replay', 'sessions')"),
                     6);
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(access(f->path, F_OK), 0);
    sp_db_close(&db);
    assert_null(db);
}

static void test_reopen_keeps_data(void **state)
{
    struct fx *f = *state;
    struct sp_db *db = open_ok(f->path);
    int version = sp_db_schema_version(db);

    exec_ok(db, "INSERT INTO replay (id, kind, expires_at) VALUES ('_keep', 'test', 42)");
    sp_db_close(&db);

    db = open_ok(f->path);
    assert_int_equal(sp_db_schema_version(db), version);
    assert_int_equal(query_int(db, "SELECT expires_at FROM replay WHERE id = '_keep'"), 42);
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay"), 1);
    sp_db_close(&db);
}

static void test_newer_schema_refused(void **state)
{
    struct fx *f = *state;
    struct sp_buf err;
    struct sp_db *db;
    sqlite3 *raw = NULL;

    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    sp_buf_init(&err, 4096);
    db = sp_db_open(f->path, &err);
    assert_null(db);
    assert_non_null(strstr(sp_buf_str(&err), "999"));
    assert_non_null(strstr(sp_buf_str(&err), "newer"));
    assert_non_null(strstr(sp_buf_str(&err), f->path));
    sp_buf_cleanup(&err);

    /* the file was left alone */
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 999);
        sqlite3_finalize(st);
    }
    sqlite3_close(raw);
}

static void test_open_failures(void **state)
{
    struct fx *f = *state;
    struct sp_buf err;
    char path[256];
    FILE *fp;

    /* a directory that does not exist */
    sp_buf_init(&err, 4096);
    snprintf(path, sizeof(path), "%s/missing/sp.db", f->dir);
    assert_null(sp_db_open(path, &err));
    assert_true(err.len > 0);
    assert_non_null(strstr(sp_buf_str(&err), path));
    sp_buf_cleanup(&err);

    /* a file that is not a database */
    snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 256; i++)
        fputs("this is not an SQLite database. ", fp);
    fclose(fp);
    sp_buf_init(&err, 4096);
    assert_null(sp_db_open(path, &err));
    assert_true(err.len > 0);
    assert_non_null(strstr(sp_buf_str(&err), path));
    assert_null(strstr(sp_buf_str(&err), "newer"));
    assert_non_null(strstr(sp_buf_str(&err), "not a database"));
    sp_buf_cleanup(&err);

    /* close accepts NULL in both places */
    sp_db_close(NULL);
    {
        struct sp_db *none = NULL;
        sp_db_close(&none);
        assert_null(none);
    }
}

static void test_transactions(void **state)
{
    struct fx *f = *state;
    struct sp_db *db = open_ok(f->path);
    sqlite3 *c = sp_db_conn(db);

    assert_true(sqlite3_get_autocommit(c));
    assert_int_equal(sp_db_begin(db), SP_OK);
    assert_false(sqlite3_get_autocommit(c));
    exec_ok(db, "INSERT INTO replay (id, kind, expires_at) VALUES ('_rolled', 't', 1)");
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay"), 1);
    sp_db_rollback(db);
    assert_true(sqlite3_get_autocommit(c));
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay"), 0);

    assert_int_equal(sp_db_begin(db), SP_OK);
    exec_ok(db, "INSERT INTO replay (id, kind, expires_at) VALUES ('_kept', 't', 1)");
    assert_int_equal(sp_db_commit(db), SP_OK);
    assert_true(sqlite3_get_autocommit(c));
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay WHERE id = '_kept'"), 1);

    /* misuse is reported, not fatal; rollback outside a transaction is a no-op */
    assert_int_equal(sp_db_commit(db), SP_ERR_DB);
    sp_db_rollback(db);
    /* nested begin/commit pairs join the outer transaction; a rollback ends it whole */
    assert_int_equal(sp_db_begin(db), SP_OK);
    assert_int_equal(sp_db_begin(db), SP_OK);
    exec_ok(db, "INSERT INTO replay (id, kind, expires_at) VALUES ('_inner', 't', 1)");
    assert_int_equal(sp_db_commit(db), SP_OK);
    assert_false(sqlite3_get_autocommit(c)); /* still inside the outer one */
    sp_db_rollback(db);
    assert_true(sqlite3_get_autocommit(c));
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay"), 1);
    assert_int_equal(sp_db_commit(db), SP_ERR_DB);

    /* committed data survives a reopen */
    sp_db_close(&db);
    db = open_ok(f->path);
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay WHERE id = '_kept'"), 1);
    sp_db_close(&db);
}

static const char sql_a[] = "SELECT 1";
static const char sql_b[] = "SELECT 1"; /* same text, another address */
static const char sql_bad[] = "SELEKT nonsense";
static const char sql_isnull[] = "SELECT ?1 IS NULL";
static const char sql_insert[] = "INSERT INTO replay (id, kind, expires_at) VALUES (?1, 'thr', 0)";

static void test_stmt_cache(void **state)
{
    struct fx *f = *state;
    struct sp_db *db = open_ok(f->path);
    sqlite3_stmt *a1, *a2, *b;

    a1 = sp_db_stmt(db, sql_a);
    assert_non_null(a1);
    a2 = sp_db_stmt(db, sql_a);
    assert_ptr_equal(a1, a2);
    assert_ptr_equal(sqlite3_db_handle(a1), sp_db_conn(db));
    b = sp_db_stmt(db, sql_b);
    assert_non_null(b);
    assert_ptr_not_equal(a1, b);
    assert_string_equal(sqlite3_sql(b), "SELECT 1");

    /* a cached statement is usable again after sp_db_done */
    assert_int_equal(sqlite3_step(a1), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a1, 0), 1);
    sp_db_done(a1);
    assert_int_equal(sqlite3_step(sp_db_stmt(db, sql_a)), SQLITE_ROW);
    sp_db_done(a1);

    /* bindings are cleared by sp_db_done */
    {
        sqlite3_stmt *q = sp_db_stmt(db, sql_isnull);
        assert_non_null(q);
        sqlite3_bind_text(q, 1, "_one", -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(q, 0), 0);
        sp_db_done(q);
        assert_ptr_equal(sp_db_stmt(db, sql_isnull), q);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(q, 0), 1);
        sp_db_done(q);
    }

    assert_null(sp_db_stmt(db, sql_bad));
    sp_db_done(NULL);
    sp_db_close(&db);
}

struct thr_arg {
    struct sp_db *db;
    const char *id;
    sqlite3 *conn;
    sqlite3_stmt *stmt;
    sqlite3_stmt *stmt_again;
    sqlite3 *stmt_conn;
    int step_rc;
    int64_t seen; /* rows this connection sees after its insert */
};

static void *thr_main(void *p)
{
    struct thr_arg *a = p;
    sqlite3_stmt *st;

    a->conn = sp_db_conn(a->db);
    a->stmt = sp_db_stmt(a->db, sql_insert);
    a->stmt_again = sp_db_stmt(a->db, sql_insert);
    if (a->stmt == NULL)
        return NULL;
    a->stmt_conn = sqlite3_db_handle(a->stmt);
    sqlite3_bind_text(a->stmt, 1, a->id, -1, SQLITE_STATIC);
    a->step_rc = sqlite3_step(a->stmt);
    sp_db_done(a->stmt);
    if (sqlite3_prepare_v2(a->conn, "SELECT count(*) FROM replay WHERE id = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            a->seen = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return NULL;
}

static void test_per_thread_connections(void **state)
{
    struct fx *f = *state;
    struct sp_db *db = open_ok(f->path);
    struct thr_arg args[2] = {{.db = db, .id = "_thread0"}, {.db = db, .id = "_thread1"}};
    pthread_t t[2];
    sqlite3 *main_conn = sp_db_conn(db);
    sqlite3_stmt *main_stmt = sp_db_stmt(db, sql_insert);

    assert_non_null(main_conn);
    assert_non_null(main_stmt);
    assert_ptr_equal(sp_db_conn(db), main_conn); /* stable within a thread */
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thr_main, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    for (int i = 0; i < 2; i++) {
        assert_non_null(args[i].conn);
        assert_ptr_not_equal(args[i].conn, main_conn);
        assert_non_null(args[i].stmt);
        assert_ptr_equal(args[i].stmt, args[i].stmt_again);
        assert_ptr_not_equal(args[i].stmt, main_stmt);
        assert_ptr_equal(args[i].stmt_conn, args[i].conn);
        assert_int_equal(args[i].step_rc, SQLITE_DONE);
        assert_int_equal(args[i].seen, 1);
    }
    assert_ptr_not_equal(args[0].conn, args[1].conn);
    assert_ptr_not_equal(args[0].stmt, args[1].stmt);
    assert_ptr_equal(sqlite3_db_handle(main_stmt), main_conn);

    /* both threads' writes are visible to the main connection */
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay WHERE kind = 'thr'"), 2);
    /* the main thread's cached statement still works after the threads exited */
    sqlite3_bind_text(main_stmt, 1, "_main", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(main_stmt), SQLITE_DONE);
    sp_db_done(main_stmt);
    assert_int_equal(query_int(db, "SELECT count(*) FROM replay WHERE kind = 'thr'"), 3);
    sp_db_close(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_failures, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_transactions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stmt_cache, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_per_thread_connections, fx_setup, fx_teardown),
    };
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
