/*
 * test_logout_state: the pending SP-initiated LogoutRequests (logout_state.c:
 * put, get, one-time consume, expiry, purge) and the Single Logout side of
 * the session store (sp_session_end_spid: IdP + NameID, NameQualifier and
 * SessionIndex filters, other people's and other IdPs' sessions untouched).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/db.h"
#include "sp/logout_state.h"
#include "sp/session.h"
#include "sp/users.h"
#include "sp_test_db.h"

#define T0 1700000000
#define CF "RSSMRA80A01H501U"
#define CF2 "BNCGLI92C65F205C"
#define IDP "https://idp.test"

static int setup(void **state)
{
    struct sp_login_record a = {CF, "spid", IDP, "SPID-0001", "spid", NULL, 0};
    struct sp_login_record b = {CF2, "spid", IDP, "SPID-0002", "spid", NULL, 0};
    struct fx *f;

    if (fx_setup(state) != 0)
        return -1;
    f = *state;
    if (sp_users_record_login(f->db, &a, T0 - 10) != SP_OK ||
        sp_users_record_login(f->db, &b, T0 - 10) != SP_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    sp_session_cache_clear();
    return fx_teardown(state);
}

static struct sp_logout_pending pending(const char *id, int64_t expires)
{
    struct sp_logout_pending p;
    memset(&p, 0, sizeof(p));
    p.id = (char *)id;
    p.idp = IDP;
    p.relay_state = "0123456789abcdef0123456789abcdef";
    p.user_cf = CF;
    p.session = "0011223344556677";
    p.binding = "redirect";
    p.issue_instant_ms = (int64_t)T0 * 1000 + 123;
    p.expires_at = expires;
    return p;
}

static void test_put_get_consume(void **state)
{
    struct fx *f = *state;
    struct sp_logout_pending p = pending("_req1", T0 + 900), got;

    assert_int_equal(sp_logout_state_put(f->db, &p, T0), SP_OK);
    assert_int_equal(sp_logout_state_put(f->db, &p, T0), SP_ERR_DB); /* IDs are unique */
    assert_int_equal(sp_logout_state_get(f->db, "_req1", &got), SP_OK);
    assert_string_equal(got.idp, IDP);
    assert_string_equal(got.relay_state, p.relay_state);
    assert_string_equal(got.user_cf, CF);
    assert_string_equal(got.session, "0011223344556677");
    assert_string_equal(got.binding, "redirect");
    assert_int_equal(got.issue_instant_ms, (int64_t)T0 * 1000 + 123);
    assert_int_equal(got.expires_at, T0 + 900);
    assert_int_equal(got.consumed_at, 0);
    sp_logout_pending_cleanup(&got);
    assert_int_equal(sp_logout_state_consume(f->db, "_req1", T0 + 5), SP_OK);
    assert_int_equal(sp_logout_state_consume(f->db, "_req1", T0 + 6), SP_ERR_REPLAY);
    assert_int_equal(sp_logout_state_get(f->db, "_req1", &got), SP_OK);
    assert_int_equal(got.consumed_at, T0 + 5);
    sp_logout_pending_cleanup(&got);
    assert_int_equal(sp_logout_state_get(f->db, "_nope", &got), SP_ERR_NOT_FOUND);
    assert_null(got.id);
    assert_int_equal(sp_logout_state_consume(f->db, "_nope", T0), SP_ERR_NOT_FOUND);
}

static void test_expiry_and_purge(void **state)
{
    struct fx *f = *state;
    struct sp_logout_pending p = pending("_req2", T0 + 100), q = pending("_req3", T0 + 100000);
    struct sp_logout_pending got;

    assert_int_equal(sp_logout_state_put(f->db, &p, T0), SP_OK);
    assert_int_equal(sp_logout_state_consume(f->db, "_req2", T0 + 100), SP_ERR_EXPIRED);
    assert_int_equal(sp_logout_state_consume(f->db, "_req2", T0 + 99), SP_OK);
    assert_int_equal(
        sp_logout_state_purge(f->db, T0 + 100 + SP_LOGOUT_KEEP_SEC - 1, SP_LOGOUT_KEEP_SEC), 0);
    /* a later put purges rows expired over a day ago */
    assert_int_equal(sp_logout_state_put(f->db, &q, T0 + 101 + SP_LOGOUT_KEEP_SEC), SP_OK);
    assert_int_equal(sp_logout_state_get(f->db, "_req2", &got), SP_ERR_NOT_FOUND);
    assert_int_equal(sp_logout_state_get(f->db, "_req3", &got), SP_OK);
    sp_logout_pending_cleanup(&got);
}

/* ------------------------------------------------------------------ sessions */

struct ended {
    unsigned n;
    char cf[4][32];
    char sid[4][SP_SESSION_ID_LEN + 1];
};

static void on_ended(void *ctx, const char *cf, const char *sid)
{
    struct ended *e = ctx;
    if (e->n < 4) {
        snprintf(e->cf[e->n], sizeof(e->cf[0]), "%s", cf);
        snprintf(e->sid[e->n], sizeof(e->sid[0]), "%s", sid);
    }
    e->n++;
}

static void open_session(struct sp_db *db, const char *cf, const char *method, const char *idp,
                         const char *nid, const char *nq, const char *idx, char *token)
{
    struct sp_session s;
    memset(&s, 0, sizeof(s));
    s.user_cf = (char *)cf;
    s.method = (char *)method;
    s.level = 2;
    s.idp = (char *)idp;
    s.name_id = (char *)nid;
    s.name_qualifier = (char *)nq;
    s.session_index = (char *)idx;
    assert_int_equal(sp_session_create(db, &s, T0, 3600, token), SP_OK);
}

static bool alive(struct sp_db *db, const char *token)
{
    struct sp_session s;
    enum sp_err rc = sp_session_lookup(db, token, T0 + 1, 900, &s);
    sp_session_cleanup(&s);
    return rc == SP_OK;
}

static void test_end_by_name_id(void **state)
{
    struct fx *f = *state;
    char a[SP_RAND_TOKEN_LEN + 1], b[SP_RAND_TOKEN_LEN + 1], c[SP_RAND_TOKEN_LEN + 1];
    char d[SP_RAND_TOKEN_LEN + 1], e_[SP_RAND_TOKEN_LEN + 1], g[SP_RAND_TOKEN_LEN + 1];
    const char *idx_x[] = {"_x"};
    const char *idx_other[] = {"_zzz", "_y"};
    struct ended e;
    unsigned n = 99;
    char sid[SP_SESSION_ID_LEN + 1];

    /* two logins of the person (different SessionIndex, the NameID with a
     * trailing newline as an IdP may send it), another person, another IdP,
     * and a PIN session */
    open_session(f->db, CF, "spid", IDP, "_nid1\n", IDP, "_x", a);
    open_session(f->db, CF, "spid", IDP, "_nid1", IDP, "_y", b);
    open_session(f->db, CF2, "spid", IDP, "_nid2", IDP, "_x", c);
    open_session(f->db, CF, "spid", "https://other.idp", "_nid1", "https://other.idp", "_x", d);
    open_session(f->db, CF, "pin", NULL, NULL, NULL, NULL, e_);
    open_session(f->db, CF, "spid", IDP, "_nid1", "https://other-qualifier", NULL, g);
    assert_true(alive(f->db, a)); /* cached: ending must drop the cache entry */

    memset(&e, 0, sizeof(e));
    assert_int_equal(
        sp_session_end_spid(f->db, IDP, "_nid1", IDP, idx_x, 1, T0 + 2, on_ended, &e, &n), SP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.cf[0], CF);
    sp_session_id(a, sid);
    assert_string_equal(e.sid[0], sid);
    assert_false(alive(f->db, a));
    assert_true(alive(f->db, b));

    /* SessionIndex list without a match: nothing */
    memset(&e, 0, sizeof(e));
    assert_int_equal(
        sp_session_end_spid(f->db, IDP, " _nid1 ", IDP, idx_other, 1, T0 + 2, on_ended, &e, &n),
        SP_OK);
    assert_int_equal(n, 0);
    /* ... with one: ended */
    assert_int_equal(
        sp_session_end_spid(f->db, IDP, " _nid1 ", IDP, idx_other, 2, T0 + 2, on_ended, &e, &n),
        SP_OK);
    assert_int_equal(n, 1);
    assert_false(alive(f->db, b));
    assert_true(alive(f->db, c));
    assert_true(alive(f->db, d));
    assert_true(alive(f->db, e_));
    assert_true(alive(f->db, g)); /* other NameQualifier */

    /* no qualifier, no index: every session of the NameID at that IdP */
    assert_int_equal(
        sp_session_end_spid(f->db, IDP, "_nid1", NULL, NULL, 0, T0 + 2, NULL, NULL, &n), SP_OK);
    assert_int_equal(n, 1);
    assert_false(alive(f->db, g));
    assert_true(alive(f->db, c));
    assert_true(alive(f->db, d));
    /* nothing left: still OK, zero */
    assert_int_equal(
        sp_session_end_spid(f->db, IDP, "_nid1", NULL, NULL, 0, T0 + 3, NULL, NULL, &n), SP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sp_session_end_spid(f->db, NULL, "_nid1", NULL, NULL, 0, T0, NULL, NULL, &n),
                     SP_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_consume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_by_name_id, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
