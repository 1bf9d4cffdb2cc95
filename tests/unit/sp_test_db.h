/*
 * sp_test_db: the fixture of the store unit tests: a fresh SQLite file in a
 * temp directory per test (fx_setup/fx_teardown), and query_int() to read
 * one value back with plain SQL. Header-only: each test stays one program.
 */
#ifndef SP_TEST_DB_H
#define SP_TEST_DB_H

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/db.h"

struct fx {
    char dir[64];
    char path[128];
    struct sp_db *db;
};

static inline int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_buf err;

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sp-unit-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/sp.db", f->dir);
    sp_buf_init(&err, 4096);
    f->db = sp_db_open(f->path, &err);
    if (f->db == NULL)
        fprintf(stderr, "sp_db_open: %s\n", sp_buf_str(&err));
    sp_buf_cleanup(&err);
    *state = f;
    return f->db != NULL ? 0 : -1;
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;
    DIR *d;
    struct dirent *e;

    sp_db_close(&f->db);
    d = opendir(f->dir);
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

/* One integer from SQL run on the test's connection; -1 when no row or NULL. */
static inline int64_t query_int(struct sp_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

#endif /* SP_TEST_DB_H */
