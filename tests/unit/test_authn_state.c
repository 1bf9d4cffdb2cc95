/*
 * test_authn_state: pending AuthnRequests. Every field round-trips; a
 * request is consumed once (then REPLAY), not after its expiry (EXPIRED),
 * and an unknown ID is NOT_FOUND; purge drops only expired rows; a relay
 * state is never shared by two requests.
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

#include "sp/authn_state.h"
#include "sp/buf.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp_test_db.h"

#define T0 1700000000

/* A fully populated request; id and relay_state vary per call. */
static struct sp_authn_pending pending(char *id, char *relay, int64_t expires_at)
{
    struct sp_authn_pending p = {
        .id = id,
        .relay_state = relay,
        .binding_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        .idp = "https://idp.test.example",
        .level = 3,
        .comparison = "minimum",
        .purpose = "PX",
        .acs_url = "https://sp.test.example/acs",
        .attr_index = 7,
        .issue_instant_ms = (int64_t)T0 * 1000 + 123,
        .next = "/servizi?x=1&y=<2>",
        .expires_at = expires_at,
    };
    return p;
}

static void put_ok(struct sp_db *db, const char *id, const char *relay, int64_t expires_at)
{
    struct sp_authn_pending p = pending((char *)id, (char *)relay, expires_at);
    assert_int_equal(sp_authn_state_put(db, &p, T0), SP_OK);
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending in = pending("_req1", "rs1", T0 + 300), out;

    assert_int_equal(sp_authn_state_put(f->db, &in, T0), SP_OK);
    assert_int_equal(sp_authn_state_get(f->db, "_req1", &out), SP_OK);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.relay_state, in.relay_state);
    assert_string_equal(out.binding_hash, in.binding_hash);
    assert_string_equal(out.idp, in.idp);
    assert_int_equal(out.level, 3);
    assert_string_equal(out.comparison, "minimum");
    assert_string_equal(out.purpose, "PX");
    assert_string_equal(out.acs_url, in.acs_url);
    assert_int_equal(out.attr_index, 7);
    assert_int_equal(out.issue_instant_ms, (int64_t)T0 * 1000 + 123);
    assert_string_equal(out.next, "/servizi?x=1&y=<2>");
    assert_int_equal(out.expires_at, T0 + 300);
    assert_int_equal(out.consumed_at, 0);
    sp_authn_pending_cleanup(&out);
    assert_null(out.id);
    assert_int_equal(query_int(f->db, "SELECT created_at FROM authn_requests"), T0);
}

static void test_purpose_null(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending in = pending("_req2", "rs2", T0 + 300), out;

    in.purpose = NULL;
    in.level = 1;
    in.attr_index = 0;
    assert_int_equal(sp_authn_state_put(f->db, &in, T0), SP_OK);
    assert_int_equal(sp_authn_state_get(f->db, "_req2", &out), SP_OK);
    assert_null(out.purpose);
    assert_int_equal(out.level, 1);
    assert_int_equal(out.attr_index, 0);
    sp_authn_pending_cleanup(&out);
}

static void test_required_fields(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending p = pending("_req3", "rs3", T0 + 300);

    p.binding_hash = NULL;
    assert_int_equal(sp_authn_state_put(f->db, &p, T0), SP_ERR_DB);
    p = pending("_req3", NULL, T0 + 300);
    assert_int_equal(sp_authn_state_put(f->db, &p, T0), SP_ERR_DB);
    p = pending("_req3", "rs3", T0 + 300);
    p.next = NULL;
    assert_int_equal(sp_authn_state_put(f->db, &p, T0), SP_ERR_DB);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM authn_requests"), 0);
}

static void test_consume_once(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending out;

    put_ok(f->db, "_once", "rs-once", T0 + 300);
    assert_int_equal(sp_authn_state_consume(f->db, "_once", T0 + 10), SP_OK);
    assert_int_equal(sp_authn_state_get(f->db, "_once", &out), SP_OK);
    assert_int_equal(out.consumed_at, T0 + 10);
    sp_authn_pending_cleanup(&out);
    assert_int_equal(sp_authn_state_consume(f->db, "_once", T0 + 11), SP_ERR_REPLAY);
    /* consumed and since expired: still a replay, and the first time is kept */
    assert_int_equal(sp_authn_state_consume(f->db, "_once", T0 + 1000), SP_ERR_REPLAY);
    assert_int_equal(sp_authn_state_get(f->db, "_once", &out), SP_OK);
    assert_int_equal(out.consumed_at, T0 + 10);
    sp_authn_pending_cleanup(&out);
}

static void test_consume_expired(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending out;

    put_ok(f->db, "_exp", "rs-exp", T0 + 300);
    put_ok(f->db, "_edge", "rs-edge", T0 + 300);
    /* expires_at is the first instant it is no longer valid */
    assert_int_equal(sp_authn_state_consume(f->db, "_exp", T0 + 300), SP_ERR_EXPIRED);
    assert_int_equal(sp_authn_state_consume(f->db, "_exp", T0 + 301), SP_ERR_EXPIRED);
    assert_int_equal(sp_authn_state_get(f->db, "_exp", &out), SP_OK);
    assert_int_equal(out.consumed_at, 0);
    sp_authn_pending_cleanup(&out);
    assert_int_equal(sp_authn_state_consume(f->db, "_edge", T0 + 299), SP_OK);
}

static void test_unknown(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending out;

    put_ok(f->db, "_known", "rs-known", T0 + 300);
    assert_int_equal(sp_authn_state_consume(f->db, "_unknown", T0), SP_ERR_NOT_FOUND);
    assert_int_equal(sp_authn_state_consume(f->db, "", T0), SP_ERR_NOT_FOUND);
    assert_int_equal(sp_authn_state_consume(f->db, "_KNOWN", T0), SP_ERR_NOT_FOUND);
    /* the relay state is not an ID */
    assert_int_equal(sp_authn_state_consume(f->db, "rs-known", T0), SP_ERR_NOT_FOUND);
    assert_int_equal(sp_authn_state_get(f->db, "_unknown", &out), SP_ERR_NOT_FOUND);
    assert_null(out.id);
    assert_null(out.relay_state);
    sp_authn_pending_cleanup(&out);
    /* the misses did not touch the known one */
    assert_int_equal(sp_authn_state_consume(f->db, "_known", T0), SP_OK);
}

static void test_purge(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending out;

    put_ok(f->db, "_a", "rs-a", T0 + 100);
    put_ok(f->db, "_b", "rs-b", T0 + 200);
    put_ok(f->db, "_c", "rs-c", T0 + 300);
    assert_int_equal(sp_authn_state_consume(f->db, "_c", T0 + 1), SP_OK);

    assert_int_equal(sp_authn_state_purge(f->db, T0 + 50, 0), 0);
    /* a row expiring exactly at the cut-off stays */
    assert_int_equal(sp_authn_state_purge(f->db, T0 + 100, 0), 0);
    assert_int_equal(sp_authn_state_purge(f->db, T0 + 101, 0), 1);
    assert_int_equal(sp_authn_state_get(f->db, "_a", &out), SP_ERR_NOT_FOUND);
    sp_authn_pending_cleanup(&out);
    assert_int_equal(sp_authn_state_get(f->db, "_b", &out), SP_OK);
    sp_authn_pending_cleanup(&out);

    /* keep_sec holds expired rows a while longer */
    assert_int_equal(sp_authn_state_purge(f->db, T0 + 250, 100), 0);
    assert_int_equal(sp_authn_state_purge(f->db, T0 + 301, 100), 1);
    assert_int_equal(sp_authn_state_get(f->db, "_b", &out), SP_ERR_NOT_FOUND);
    sp_authn_pending_cleanup(&out);
    /* consumed but not expired: kept */
    assert_int_equal(sp_authn_state_get(f->db, "_c", &out), SP_OK);
    assert_int_equal(out.consumed_at, T0 + 1);
    sp_authn_pending_cleanup(&out);
    assert_int_equal(sp_authn_state_purge(f->db, T0 + 301, 0), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM authn_requests"), 0);
    assert_int_equal(sp_authn_state_purge(f->db, T0 + 10000, 0), 0);
}

static void test_relay_state_unique(void **state)
{
    struct fx *f = *state;
    struct sp_authn_pending p = pending("_r2", "rs-shared", T0 + 300), out;

    put_ok(f->db, "_r1", "rs-shared", T0 + 300);
    assert_int_not_equal(sp_authn_state_put(f->db, &p, T0), SP_OK);
    /* and the ID is unique too */
    p = pending("_r1", "rs-other", T0 + 300);
    assert_int_not_equal(sp_authn_state_put(f->db, &p, T0), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM authn_requests"), 1);
    assert_int_equal(sp_authn_state_get(f->db, "_r1", &out), SP_OK);
    assert_string_equal(out.relay_state, "rs-shared");
    sp_authn_pending_cleanup(&out);
    /* the statement is usable after the failures */
    put_ok(f->db, "_r3", "rs-3", T0 + 300);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM authn_requests"), 2);
}

static void test_consume_in_transaction(void **state)
{
    struct fx *f = *state;

    put_ok(f->db, "_tx", "rs-tx", T0 + 300);
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    assert_int_equal(sp_authn_state_consume(f->db, "_tx", T0 + 1), SP_OK);
    sp_db_rollback(f->db);
    /* rolled back: still pending */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    assert_int_equal(sp_authn_state_consume(f->db, "_tx", T0 + 2), SP_OK);
    assert_int_equal(sp_db_commit(f->db), SP_OK);
    assert_int_equal(sp_authn_state_consume(f->db, "_tx", T0 + 3), SP_ERR_REPLAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_purpose_null, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_required_fields, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_consume_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_consume_expired, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_purge, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_relay_state_unique, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_consume_in_transaction, fx_setup, fx_teardown),
    };
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("authn_state", tests, NULL, NULL);
}
