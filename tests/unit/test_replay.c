/*
 * test_replay: the replay cache of message IDs. A second use of an ID is a
 * replay whatever its kind, until purge forgets it after its expiry.
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
#include "sp/log.h"
#include "sp/replay.h"
#include "sp_test_db.h"

#define T0 1700000000

static void test_invalid_args(void **state)
{
    struct fx *f = *state;

    /* a NULL id would never collide in SQLite: refused, never "fine" */
    assert_int_equal(sp_replay_remember(f->db, NULL, "response", T0 + 300), SP_ERR_INVALID);
    assert_int_equal(sp_replay_remember(f->db, NULL, "response", T0 + 300), SP_ERR_INVALID);
    assert_int_equal(sp_replay_remember(f->db, "", "response", T0 + 300), SP_ERR_INVALID);
    assert_int_equal(sp_replay_remember(f->db, "_k", NULL, T0 + 300), SP_ERR_INVALID);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay"), 0);
    assert_int_equal(sp_replay_remember(f->db, "_k", "response", T0 + 300), SP_OK);
}

static void test_remember_twice(void **state)
{
    struct fx *f = *state;

    assert_int_equal(sp_replay_remember(f->db, "_resp1", "response", T0 + 300), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_resp1", "response", T0 + 300), SP_ERR_REPLAY);
    assert_int_equal(sp_replay_remember(f->db, "_resp1", "response", T0 + 900), SP_ERR_REPLAY);
    /* a different ID is fine; IDs are case-sensitive */
    assert_int_equal(sp_replay_remember(f->db, "_resp2", "response", T0 + 300), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_RESP1", "response", T0 + 300), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay"), 3);
    assert_int_equal(query_int(f->db, "SELECT expires_at FROM replay WHERE id = '_resp1'"),
                     T0 + 300);
}

static void test_across_kinds(void **state)
{
    struct fx *f = *state;

    /* an Assertion ID reused as a Response ID (or a logout ID) is still a replay */
    assert_int_equal(sp_replay_remember(f->db, "_x", "assertion", T0 + 300), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_x", "response", T0 + 300), SP_ERR_REPLAY);
    assert_int_equal(sp_replay_remember(f->db, "_x", "logout", T0 + 300), SP_ERR_REPLAY);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay WHERE kind = 'assertion'"), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay"), 1);
}

static void test_purge_then_remember(void **state)
{
    struct fx *f = *state;

    assert_int_equal(sp_replay_remember(f->db, "_old", "response", T0 + 100), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_new", "response", T0 + 500), SP_OK);
    assert_int_equal(sp_replay_purge(f->db, T0 + 50), 0);
    /* still remembered at its expiry instant */
    assert_int_equal(sp_replay_purge(f->db, T0 + 100), 0);
    assert_int_equal(sp_replay_remember(f->db, "_old", "response", T0 + 100), SP_ERR_REPLAY);
    assert_int_equal(sp_replay_purge(f->db, T0 + 101), 1);
    assert_int_equal(sp_replay_remember(f->db, "_old", "response", T0 + 400), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_new", "response", T0 + 500), SP_ERR_REPLAY);
    assert_int_equal(sp_replay_purge(f->db, T0 + 501), 2);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay"), 0);
    assert_int_equal(sp_replay_purge(f->db, T0 + 501), 0);
}

static void test_in_transaction(void **state)
{
    struct fx *f = *state;

    /* the ACS remembers inside its transaction: a rollback forgets */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_tx", "response", T0 + 300), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_tx", "response", T0 + 300), SP_ERR_REPLAY);
    sp_db_rollback(f->db);
    assert_int_equal(sp_replay_remember(f->db, "_tx", "response", T0 + 300), SP_OK);
    /* a replay inside a transaction does not spoil it */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_tx", "response", T0 + 300), SP_ERR_REPLAY);
    assert_int_equal(sp_replay_remember(f->db, "_tx2", "response", T0 + 300), SP_OK);
    assert_int_equal(sp_db_commit(f->db), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay"), 2);
}

static void test_long_and_odd_ids(void **state)
{
    struct fx *f = *state;
    char id[4097];

    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(sp_replay_remember(f->db, id, "response", T0 + 300), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, id, "response", T0 + 300), SP_ERR_REPLAY);
    id[4095] = 'b';
    assert_int_equal(sp_replay_remember(f->db, id, "response", T0 + 300), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_'; DROP TABLE replay; --", "r", T0), SP_OK);
    assert_int_equal(sp_replay_remember(f->db, "_'; DROP TABLE replay; --", "r", T0),
                     SP_ERR_REPLAY);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM replay"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invalid_args, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_remember_twice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_across_kinds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_purge_then_remember, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_in_transaction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_long_and_odd_ids, fx_setup, fx_teardown),
    };
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
