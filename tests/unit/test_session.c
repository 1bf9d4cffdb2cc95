/*
 * test_session: login sessions. Create and look up, the token and its stored
 * SHA-256, wrong tokens, idle timeout and absolute lifetime (each ends the
 * session), the last_seen refresh interval, ending, and the active count.
 * Every call takes an explicit now.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/db.h"
#include "sp/digest.h"
#include "sp/log.h"
#include "sp/session.h"
#include "sp/users.h"
#include "sp_test_db.h"

#define CF "RSSMRA80A01H501U"
#define T0 1700000000
#define IDLE 900
#define LIFE 3600

/* The shared store fixture, plus the person the sessions refer to (users(cf)). */
static int session_setup(void **state)
{
    struct sp_login_record rec = {CF, "spid", "https://idp.test", "SPID-0001", "spid", NULL, 0};
    struct fx *f;

    if (fx_setup(state) != 0)
        return -1;
    f = *state;
    return sp_users_record_login(f->db, &rec, T0 - 10) == SP_OK ? 0 : -1;
}

static const struct sp_session spid_session = {
    .user_cf = CF,
    .method = "spid",
    .level = 2,
    .idp = "https://idp.test",
    .name_id = "_nameid-123",
    .name_qualifier = "https://idp.test",
    .session_index = "_sidx-9",
};

static void create_ok(struct sp_db *db, int64_t now, unsigned life, char *token)
{
    assert_int_equal(sp_session_create(db, &spid_session, now, life, token), SP_OK);
}

/* A column of the session row of token, read straight from SQLite (-1 when absent/NULL). */
static int64_t row_int(struct sp_db *db, const char *token, const char *col)
{
    char hash[SP_SHA256_HEX_LEN + 1], sql[256];
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    sp_sha256_hex(token, strlen(token), hash);
    snprintf(sql, sizeof(sql), "SELECT %s FROM sessions WHERE id_hash = ?1", col);
    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void expect_lookup(struct sp_db *db, const char *token, int64_t now, enum sp_err want)
{
    struct sp_session s;
    enum sp_err rc = sp_session_lookup(db, token, now, IDLE, &s);
    if (rc != want)
        fail_msg("lookup at T0%+lld: got %s, want %s", (long long)(now - T0), sp_errname(rc),
                 sp_errname(want));
    if (rc != SP_OK)
        assert_null(s.user_cf);
    sp_session_cleanup(&s);
}

static void test_create_lookup(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1];
    struct sp_session s;

    memset(token, 'Z', sizeof(token));
    create_ok(f->db, T0, LIFE, token);
    assert_int_equal(strlen(token), SP_RAND_TOKEN_LEN);
    for (size_t i = 0; i < SP_RAND_TOKEN_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", token[i]));

    assert_int_equal(sp_session_lookup(f->db, token, T0 + 1, IDLE, &s), SP_OK);
    assert_string_equal(s.user_cf, CF);
    assert_string_equal(s.method, "spid");
    assert_int_equal(s.level, 2);
    assert_string_equal(s.idp, "https://idp.test");
    assert_string_equal(s.name_id, "_nameid-123");
    assert_string_equal(s.name_qualifier, "https://idp.test");
    assert_string_equal(s.session_index, "_sidx-9");
    assert_int_equal(s.created_at, T0);
    assert_int_equal(s.last_seen_at, T0);
    assert_int_equal(s.expires_at, T0 + LIFE);
    sp_session_cleanup(&s);
    assert_null(s.user_cf);
}

static void test_optional_fields_null(void **state)
{
    struct fx *f = *state;
    const struct sp_session pin = {.user_cf = CF, .method = "pin"};
    char token[SP_RAND_TOKEN_LEN + 1];
    struct sp_session s;

    assert_int_equal(sp_session_create(f->db, &pin, T0, LIFE, token), SP_OK);
    assert_int_equal(sp_session_lookup(f->db, token, T0, IDLE, &s), SP_OK);
    assert_string_equal(s.method, "pin");
    assert_int_equal(s.level, 0);
    assert_null(s.idp);
    assert_null(s.name_id);
    assert_null(s.name_qualifier);
    assert_null(s.session_index);
    sp_session_cleanup(&s);
}

static void test_assurance_and_acting_for(void **state)
{
    struct fx *f = *state;
    struct sp_session in = spid_session, s;
    char token[SP_RAND_TOKEN_LEN + 1], sid[SP_SESSION_ID_LEN + 1];

    in.assurance = 3;
    in.acting_for = "00743110157";
    assert_int_equal(sp_session_create(f->db, &in, T0, LIFE, token), SP_OK);
    assert_int_equal(sp_session_lookup(f->db, token, T0, IDLE, &s), SP_OK);
    assert_int_equal(s.assurance, 3);
    assert_string_equal(s.acting_for, "00743110157");
    sp_session_id(token, sid);
    assert_string_equal(s.id, sid);
    assert_int_equal(strlen(s.id), SP_SESSION_ID_LEN);
    sp_session_cleanup(&s);

    /* the change is seen at once, even though the session was cached */
    assert_int_equal(sp_session_set_acting_for(f->db, token, "RSSMRA80A01H501U"), SP_OK);
    assert_int_equal(sp_session_lookup(f->db, token, T0 + 1, IDLE, &s), SP_OK);
    assert_string_equal(s.acting_for, "RSSMRA80A01H501U");
    sp_session_cleanup(&s);
    assert_int_equal(sp_session_set_acting_for(f->db, token, NULL), SP_OK);
    assert_int_equal(sp_session_lookup(f->db, token, T0 + 2, IDLE, &s), SP_OK);
    assert_null(s.acting_for);
    sp_session_cleanup(&s);

    /* an ended or unknown session cannot be changed */
    assert_int_equal(sp_session_end(f->db, token, T0 + 3), SP_OK);
    assert_int_equal(sp_session_set_acting_for(f->db, token, "RSSMRA80A01H501U"), SP_ERR_NOT_FOUND);
    assert_int_equal(sp_session_set_acting_for(f->db, "short", NULL), SP_ERR_NOT_FOUND);
}

static void test_create_refused(void **state)
{
    struct fx *f = *state;
    const struct sp_session nocf = {.method = "spid"};
    const struct sp_session stranger = {.user_cf = "BNCGLI92C65F205C", .method = "spid"};
    char token[SP_RAND_TOKEN_LEN + 1];

    assert_int_equal(sp_session_create(f->db, &nocf, T0, LIFE, token), SP_ERR_DB);
    /* the person must exist (foreign key) */
    assert_int_equal(sp_session_create(f->db, &stranger, T0, LIFE, token), SP_ERR_DB);
    assert_int_equal(sp_session_count_active(f->db, T0, IDLE), 0);
}

static void test_tokens_unique(void **state)
{
    struct fx *f = *state;
    char t1[SP_RAND_TOKEN_LEN + 1], t2[SP_RAND_TOKEN_LEN + 1];
    struct sp_session s;

    create_ok(f->db, T0, LIFE, t1);
    create_ok(f->db, T0, LIFE, t2);
    assert_string_not_equal(t1, t2);
    assert_int_equal(sp_session_end(f->db, t1, T0 + 5), SP_OK);
    expect_lookup(f->db, t1, T0 + 6, SP_ERR_NOT_FOUND);
    assert_int_equal(sp_session_lookup(f->db, t2, T0 + 6, IDLE, &s), SP_OK);
    sp_session_cleanup(&s);
}

static void test_only_hash_stored(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1], hash[SP_SHA256_HEX_LEN + 1];
    sqlite3_stmt *st = NULL;
    int rows = 0;

    create_ok(f->db, T0, LIFE, token);
    sp_sha256_hex(token, strlen(token), hash);
    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(f->db), "SELECT * FROM sessions", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        assert_string_equal((const char *)sqlite3_column_text(st, 0), hash);
        assert_string_equal(sqlite3_column_name(st, 0), "id_hash");
        /* the token appears in no column */
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            if (v != NULL && strstr((const char *)v, token) != NULL)
                fail_msg("column %s holds the token", sqlite3_column_name(st, i));
        }
    }
    sqlite3_finalize(st);
    assert_int_equal(rows, 1);
    assert_int_equal(strlen(hash), SP_SHA256_HEX_LEN);
}

static void test_wrong_tokens(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1], other[SP_RAND_TOKEN_LEN + 2];
    char hash[SP_SHA256_HEX_LEN + 1];

    create_ok(f->db, T0, LIFE, token);
    expect_lookup(f->db, NULL, T0 + 1, SP_ERR_NOT_FOUND);
    expect_lookup(f->db, "", T0 + 1, SP_ERR_NOT_FOUND);
    expect_lookup(f->db, "abc", T0 + 1, SP_ERR_NOT_FOUND);
    expect_lookup(f->db, "00000000000000000000000000000000", T0 + 1, SP_ERR_NOT_FOUND);

    /* one character changed */
    memcpy(other, token, sizeof(token));
    other[7] = other[7] == 'a' ? 'b' : 'a';
    expect_lookup(f->db, other, T0 + 1, SP_ERR_NOT_FOUND);
    /* one character short, one too many */
    memcpy(other, token, sizeof(token));
    other[SP_RAND_TOKEN_LEN - 1] = '\0';
    expect_lookup(f->db, other, T0 + 1, SP_ERR_NOT_FOUND);
    memcpy(other, token, SP_RAND_TOKEN_LEN);
    other[SP_RAND_TOKEN_LEN] = '0';
    other[SP_RAND_TOKEN_LEN + 1] = '\0';
    expect_lookup(f->db, other, T0 + 1, SP_ERR_NOT_FOUND);
    /* upper case is another token */
    for (size_t i = 0; i < SP_RAND_TOKEN_LEN; i++)
        other[i] = (char)(token[i] >= 'a' ? token[i] - 32 : token[i]);
    other[SP_RAND_TOKEN_LEN] = '\0';
    if (strcmp(other, token) != 0)
        expect_lookup(f->db, other, T0 + 1, SP_ERR_NOT_FOUND);
    /* the stored hash is not a token either (a copy of the database yields nothing) */
    sp_sha256_hex(token, strlen(token), hash);
    expect_lookup(f->db, hash, T0 + 1, SP_ERR_NOT_FOUND);
    memcpy(other, hash, SP_RAND_TOKEN_LEN);
    other[SP_RAND_TOKEN_LEN] = '\0';
    expect_lookup(f->db, other, T0 + 1, SP_ERR_NOT_FOUND);

    /* the real one still works and was not ended by the misses */
    expect_lookup(f->db, token, T0 + 1, SP_OK);
}

static void test_idle_timeout(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1], edge[SP_RAND_TOKEN_LEN + 1];

    /* one second before the idle limit is still fine */
    create_ok(f->db, T0, LIFE, edge);
    expect_lookup(f->db, edge, T0 + IDLE - 1, SP_OK);

    create_ok(f->db, T0, LIFE, token);
    expect_lookup(f->db, token, T0 + IDLE, SP_ERR_EXPIRED);
    assert_int_equal(row_int(f->db, token, "ended_at"), T0 + IDLE);
    /* ended: even a lookup at an earlier time does not bring it back */
    expect_lookup(f->db, token, T0 + 1, SP_ERR_NOT_FOUND);
    expect_lookup(f->db, token, T0 + IDLE, SP_ERR_NOT_FOUND);
    assert_int_equal(row_int(f->db, token, "ended_at"), T0 + IDLE);

    /* activity moves the idle window */
    create_ok(f->db, T0, LIFE, token);
    expect_lookup(f->db, token, T0 + 600, SP_OK);
    expect_lookup(f->db, token, T0 + 600 + IDLE - 1, SP_OK);
    expect_lookup(f->db, token, T0 + 600 + IDLE - 1 + IDLE, SP_ERR_EXPIRED);
}

static void test_absolute_lifetime(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1];

    create_ok(f->db, T0, 100, token);
    /* activity every 40 s keeps it from idling, but not past its lifetime */
    for (int64_t t = T0 + 40; t < T0 + 100; t += 40)
        expect_lookup(f->db, token, t, SP_OK);
    expect_lookup(f->db, token, T0 + 99, SP_OK);
    expect_lookup(f->db, token, T0 + 100, SP_ERR_EXPIRED);
    assert_int_equal(row_int(f->db, token, "ended_at"), T0 + 100);
    expect_lookup(f->db, token, T0 + 50, SP_ERR_NOT_FOUND);

    /* lifetime 0: expired at once */
    create_ok(f->db, T0, 0, token);
    expect_lookup(f->db, token, T0, SP_ERR_EXPIRED);
}

static void test_touch_interval(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1];
    struct sp_session s;

    create_ok(f->db, T0, LIFE, token);
    assert_int_equal(row_int(f->db, token, "last_seen_at"), T0);

    assert_int_equal(sp_session_lookup(f->db, token, T0 + SP_SESSION_TOUCH_SEC - 1, IDLE, &s),
                     SP_OK);
    assert_int_equal(s.last_seen_at, T0);
    sp_session_cleanup(&s);
    assert_int_equal(row_int(f->db, token, "last_seen_at"), T0);

    assert_int_equal(sp_session_lookup(f->db, token, T0 + SP_SESSION_TOUCH_SEC, IDLE, &s), SP_OK);
    assert_int_equal(s.last_seen_at, T0 + SP_SESSION_TOUCH_SEC);
    sp_session_cleanup(&s);
    assert_int_equal(row_int(f->db, token, "last_seen_at"), T0 + SP_SESSION_TOUCH_SEC);

    /* 10 s later: no write */
    assert_int_equal(sp_session_lookup(f->db, token, T0 + SP_SESSION_TOUCH_SEC + 10, IDLE, &s),
                     SP_OK);
    assert_int_equal(s.last_seen_at, T0 + SP_SESSION_TOUCH_SEC);
    sp_session_cleanup(&s);
    assert_int_equal(row_int(f->db, token, "last_seen_at"), T0 + SP_SESSION_TOUCH_SEC);

    /* another interval later: written again */
    assert_int_equal(sp_session_lookup(f->db, token, T0 + 2 * SP_SESSION_TOUCH_SEC + 5, IDLE, &s),
                     SP_OK);
    assert_int_equal(s.last_seen_at, T0 + 2 * SP_SESSION_TOUCH_SEC + 5);
    sp_session_cleanup(&s);
    assert_int_equal(row_int(f->db, token, "last_seen_at"), T0 + 2 * SP_SESSION_TOUCH_SEC + 5);
    /* created_at and expires_at never move */
    assert_int_equal(row_int(f->db, token, "created_at"), T0);
    assert_int_equal(row_int(f->db, token, "expires_at"), T0 + LIFE);
    assert_int_equal(row_int(f->db, token, "ended_at"), -1);
}

static void test_end_idempotent(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1];

    create_ok(f->db, T0, LIFE, token);
    expect_lookup(f->db, token, T0 + 1, SP_OK);
    assert_int_equal(sp_session_end(f->db, token, T0 + 2), SP_OK);
    assert_int_equal(row_int(f->db, token, "ended_at"), T0 + 2);
    expect_lookup(f->db, token, T0 + 3, SP_ERR_NOT_FOUND);
    /* again: still OK, the first end time is kept */
    assert_int_equal(sp_session_end(f->db, token, T0 + 50), SP_OK);
    assert_int_equal(row_int(f->db, token, "ended_at"), T0 + 2);
    expect_lookup(f->db, token, T0 + 51, SP_ERR_NOT_FOUND);
    /* unknown, short and NULL tokens */
    assert_int_equal(sp_session_end(f->db, "ffffffffffffffffffffffffffffffff", T0), SP_OK);
    assert_int_equal(sp_session_end(f->db, "x", T0), SP_OK);
    assert_int_equal(sp_session_end(f->db, NULL, T0), SP_OK);
    /* the row stays, for the audit trail */
    assert_int_equal(row_int(f->db, token, "created_at"), T0);
}

static void test_purge(void **state)
{
    struct fx *f = *state;
    char live[SP_RAND_TOKEN_LEN + 1], ended[SP_RAND_TOKEN_LEN + 1], old[SP_RAND_TOKEN_LEN + 1];

    create_ok(f->db, T0, LIFE, live);
    create_ok(f->db, T0, LIFE, ended);
    create_ok(f->db, T0, 100, old); /* expires at T0 + 100 */
    assert_int_equal(sp_session_end(f->db, ended, T0 + 10), SP_OK);
    /* nothing is older than the keep window yet */
    assert_int_equal(sp_session_purge(f->db, T0 + 50, 1000), 0);
    /* past the window: the ended and the expired go, the live one stays */
    assert_int_equal(sp_session_purge(f->db, T0 + 1200, 1000), 2);
    expect_lookup(f->db, live, T0 + 20, SP_OK);
    expect_lookup(f->db, ended, T0 + 20, SP_ERR_NOT_FOUND);
}

static void test_count_active(void **state)
{
    struct fx *f = *state;
    char a[SP_RAND_TOKEN_LEN + 1], b[SP_RAND_TOKEN_LEN + 1], c[SP_RAND_TOKEN_LEN + 1];

    assert_int_equal(sp_session_count_active(f->db, T0, IDLE), 0);
    create_ok(f->db, T0, LIFE, a);       /* idle from T0 + IDLE */
    create_ok(f->db, T0 + 500, LIFE, b); /* idle from T0 + 500 + IDLE */
    create_ok(f->db, T0, 100, c);        /* expires at T0 + 100 */
    assert_int_equal(sp_session_count_active(f->db, T0 + 50, IDLE), 3);
    assert_int_equal(sp_session_count_active(f->db, T0 + 99, IDLE), 3);
    assert_int_equal(sp_session_count_active(f->db, T0 + 100, IDLE), 2);
    assert_int_equal(sp_session_count_active(f->db, T0 + IDLE - 1, IDLE), 2);
    assert_int_equal(sp_session_count_active(f->db, T0 + IDLE, IDLE), 1);
    /* agrees with lookup at the same instants */
    expect_lookup(f->db, a, T0 + IDLE - 1, SP_OK); /* touches a */
    assert_int_equal(sp_session_count_active(f->db, T0 + IDLE, IDLE), 2);
    assert_int_equal(sp_session_end(f->db, b, T0 + IDLE), SP_OK);
    assert_int_equal(sp_session_count_active(f->db, T0 + IDLE, IDLE), 1);
    expect_lookup(f->db, c, T0 + IDLE, SP_ERR_EXPIRED);
    assert_int_equal(sp_session_count_active(f->db, T0 + IDLE, IDLE), 1);
    assert_int_equal(sp_session_count_active(f->db, T0 + 2 * IDLE, IDLE), 0);
}

#ifdef SP_SESSION_CACHE_SEC
static void test_cache(void **state)
{
    struct fx *f = *state;
    char token[SP_RAND_TOKEN_LEN + 1], hash[SP_SHA256_HEX_LEN + 1], sql[256];
    struct sp_session s;

    create_ok(f->db, T0, LIFE, token);
    /* a caller's copy is its own: changing it does not change the next lookup */
    assert_int_equal(sp_session_lookup(f->db, token, T0 + 1, IDLE, &s), SP_OK);
    s.user_cf[0] = 'X';
    s.level = 99;
    sp_session_cleanup(&s);
    assert_int_equal(sp_session_lookup(f->db, token, T0 + 2, IDLE, &s), SP_OK);
    assert_string_equal(s.user_cf, CF);
    assert_int_equal(s.level, 2);
    sp_session_cleanup(&s);

    /* ended behind the cache's back (another process): noticed within SP_SESSION_CACHE_SEC */
    sp_sha256_hex(token, strlen(token), hash);
    snprintf(sql, sizeof(sql), "UPDATE sessions SET ended_at = %d WHERE id_hash = '%s'", T0 + 2,
             hash);
    assert_int_equal(sqlite3_exec(sp_db_conn(f->db), sql, NULL, NULL, NULL), SQLITE_OK);
    expect_lookup(f->db, token, T0 + 2 + SP_SESSION_CACHE_SEC, SP_ERR_NOT_FOUND);

    /* timeouts are checked on cached copies too */
    create_ok(f->db, T0, 10, token);
    expect_lookup(f->db, token, T0 + 8, SP_OK);
    expect_lookup(f->db, token, T0 + 10, SP_ERR_EXPIRED);
    assert_int_equal(row_int(f->db, token, "ended_at"), T0 + 10);
    expect_lookup(f->db, token, T0 + 9, SP_ERR_NOT_FOUND);

    /* ending drops the cached copy at once */
    create_ok(f->db, T0, LIFE, token);
    expect_lookup(f->db, token, T0 + 1, SP_OK);
    assert_int_equal(sp_session_end(f->db, token, T0 + 1), SP_OK);
    expect_lookup(f->db, token, T0 + 1, SP_ERR_NOT_FOUND);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_lookup, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_optional_fields_null, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_assurance_and_acting_for, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_refused, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tokens_unique, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_only_hash_stored, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_tokens, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_absolute_lifetime, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_touch_interval, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_end_idempotent, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_count_active, session_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_purge, session_setup, fx_teardown),
#ifdef SP_SESSION_CACHE_SEC
        cmocka_unit_test_setup_teardown(test_cache, session_setup, fx_teardown),
#endif
    };
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
