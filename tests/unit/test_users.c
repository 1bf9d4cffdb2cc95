/*
 * test_users: the person record, identities and per-source attributes. The
 * first login creates the person; later logins update the fields they carry
 * and keep the others; an identity is one row per (method, issuer,
 * external_id) whose last_seen moves; attributes are stored per source.
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
#include "sp/users.h"
#include "sp_test_db.h"

#define T0 1700000000
#define CF "RSSMRA80A01H501U"
#define IDP "https://idp.test.example"

/* One text value from SQL with one text parameter; "" when NULL, "<none>" when no row. */
static void query_text(struct sp_db *db, const char *sql, const char *arg, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (arg != NULL)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "");
    } else {
        snprintf(out, n, "<none>");
    }
    sqlite3_finalize(st);
}

static const struct sp_user_attr full_attrs[] = {
    {"spidCode", "SPID-0001"},
    {"name", "Mario"},
    {"familyName", "Rossi"},
    {"dateOfBirth", "1980-01-01"},
    {"gender", "M"},
    {"placeOfBirth", "H501"},
    {"email", "mario@example.it"},
    {"mobilePhone", "+393331234567"},
    {"fiscalNumber", "TINIT-" CF},
};

static struct sp_login_record spid_login(const struct sp_user_attr *attrs, unsigned n)
{
    struct sp_login_record r = {CF, "spid", IDP, "SPID-0001", "spid", attrs, n};
    return r;
}

static void test_first_login_creates(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = spid_login(full_attrs, 9);
    struct sp_user u;

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    /* each SPID attribute lands in its own column */
    assert_string_equal(u.cf, CF);
    assert_string_equal(u.name, "Mario");
    assert_string_equal(u.family_name, "Rossi");
    assert_string_equal(u.date_of_birth, "1980-01-01");
    assert_string_equal(u.gender, "M");
    assert_string_equal(u.place_of_birth, "H501");
    assert_string_equal(u.email, "mario@example.it");
    assert_string_equal(u.mobile_phone, "+393331234567");
    assert_int_equal(u.created_at, T0);
    assert_int_equal(u.updated_at, T0);
    sp_user_cleanup(&u);
    assert_null(u.cf);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM users"), 1);
}

static void test_no_attributes(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = {CF, "cns", "CN=Test CA", "0A1B2C", "cns", NULL, 0};
    struct sp_user u;

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    assert_string_equal(u.cf, CF);
    assert_null(u.name);
    assert_null(u.family_name);
    assert_null(u.date_of_birth);
    assert_null(u.gender);
    assert_null(u.place_of_birth);
    assert_null(u.email);
    assert_null(u.mobile_phone);
    sp_user_cleanup(&u);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_attributes"), 0);
}

static void test_second_login_coalesce(void **state)
{
    struct fx *f = *state;
    static const struct sp_user_attr some[] = {
        {"name", "Mario Giuseppe"},
        {"email", "nuovo@example.it"},
        {"gender", ""}, /* present but empty: stored as given */
    };
    struct sp_login_record rec = spid_login(full_attrs, 9);
    struct sp_user u;

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    rec = spid_login(some, 3);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 100), SP_OK);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    /* identity data are not overwritten: the difference is a recorded conflict */
    assert_string_equal(u.name, "Mario");
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_conflicts WHERE field = 'name'"
                                      " AND kept_value = 'Mario' AND other_value = 'Mario Giuseppe'"
                                      " AND source = 'spid'"),
                     1);
    /* contacts are refreshed */
    assert_string_equal(u.email, "nuovo@example.it");
    /* an empty value neither overwrites nor conflicts */
    assert_string_equal(u.gender, "M");
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_conflicts"), 1);
    /* absent from the second login: kept */
    assert_string_equal(u.family_name, "Rossi");
    assert_string_equal(u.date_of_birth, "1980-01-01");
    assert_string_equal(u.place_of_birth, "H501");
    assert_string_equal(u.mobile_phone, "+393331234567");
    assert_int_equal(u.created_at, T0);
    assert_int_equal(u.updated_at, T0 + 100);
    sp_user_cleanup(&u);

    /* a login with no attributes keeps everything (the previous values are not leaked
     * into it from the cached statement either) */
    rec = spid_login(NULL, 0);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 200), SP_OK);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    assert_string_equal(u.name, "Mario");
    assert_string_equal(u.mobile_phone, "+393331234567");
    assert_int_equal(u.updated_at, T0 + 200);
    sp_user_cleanup(&u);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM users"), 1);
}

struct conflicts_seen {
    unsigned n;
    char field[8][32], source[8][32], kept[8][64], other[8][64];
};

static void collect_conflict(void *ctx, const struct sp_user_conflict *c)
{
    struct conflicts_seen *cs = ctx;
    if (cs->n == 8)
        return;
    snprintf(cs->field[cs->n], 32, "%s", c->field);
    snprintf(cs->source[cs->n], 32, "%s", c->source);
    snprintf(cs->kept[cs->n], 64, "%s", c->kept ? c->kept : "(null)");
    snprintf(cs->other[cs->n], 64, "%s", c->other);
    cs->n++;
}

/* Self-declared data (a PIN request) never become verified fields; a
 * difference with the verified value is a conflict, whichever comes first. */
static void test_declared_then_verified(void **state)
{
    struct fx *f = *state;
    static const struct sp_user_attr declared[] = {
        {"name", "MARIO"},             /* same as SPID's, other case: no conflict */
        {"familyName", "Rosi"},        /* typo: conflict once SPID says Rossi */
        {"dateOfBirth", "1980-01-01"}, /* same */
        {"email", "casa@example.it"},
    };
    struct sp_login_record rec = spid_login(full_attrs, 9);
    struct conflicts_seen cs;
    struct sp_user u;

    assert_int_equal(sp_users_record_declared(f->db, CF, declared, 4, T0), SP_OK);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    assert_null(u.name); /* not verified */
    assert_null(u.family_name);
    assert_null(u.email);
    sp_user_cleanup(&u);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_conflicts"), 0);

    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 10), SP_OK);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    assert_string_equal(u.family_name, "Rossi");
    assert_string_equal(u.email, "mario@example.it");
    sp_user_cleanup(&u);
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(sp_users_conflicts(f->db, CF, collect_conflict, &cs), SP_OK);
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.field[0], "familyName");
    assert_string_equal(cs.source[0], SP_USERS_DECLARED);
    assert_string_equal(cs.kept[0], "Rossi");
    assert_string_equal(cs.other[0], "Rosi");

    /* declared after verification: compared with the verified value */
    {
        static const struct sp_user_attr later[] = {{"dateOfBirth", "1980-02-01"}};
        assert_int_equal(sp_users_record_declared(f->db, CF, later, 1, T0 + 20), SP_OK);
    }
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(sp_users_conflicts(f->db, CF, collect_conflict, &cs), SP_OK);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.field[1], "dateOfBirth");
    assert_string_equal(cs.kept[1], "1980-01-01");
    assert_string_equal(cs.other[1], "1980-02-01");
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    assert_string_equal(u.date_of_birth, "1980-01-01");
    sp_user_cleanup(&u);
    /* both sources are kept side by side */
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_sources"), 2);
}

static void count_identity(void *ctx, const struct sp_identity *id)
{
    (void)id;
    (*(int *)ctx)++;
}

static void test_identities_listed(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = spid_login(full_attrs, 9);
    int n = 0;

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    rec.method = "cns";
    rec.issuer = "CN=Test CA";
    rec.external_id = "01AB";
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 1), SP_OK);
    assert_int_equal(sp_users_identities(f->db, CF, count_identity, &n), SP_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(sp_users_identities(f->db, "BNCGLI92C65F205C", count_identity, &n), SP_OK);
    assert_int_equal(n, 0);
}

static void test_people_independent(void **state)
{
    struct fx *f = *state;
    static const struct sp_user_attr giulia[] = {{"name", "Giulia"}, {"familyName", "Bianchi"}};
    struct sp_login_record rec = spid_login(full_attrs, 9);
    struct sp_login_record rec2 = {"BNCGLI92C65F205C", "spid", IDP, "SPID-0002", "spid", giulia, 2};
    struct sp_user u;

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_record_login(f->db, &rec2, T0 + 1), SP_OK);
    /* Giulia's login did not inherit Mario's email through a stale binding */
    assert_int_equal(sp_users_get(f->db, "BNCGLI92C65F205C", &u), SP_OK);
    assert_string_equal(u.name, "Giulia");
    assert_null(u.email);
    assert_null(u.mobile_phone);
    sp_user_cleanup(&u);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
    assert_string_equal(u.name, "Mario");
    sp_user_cleanup(&u);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM users"), 2);
}

static void test_identities_upsert(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = spid_login(NULL, 0);
    char txt[128];

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 50), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM identities"), 1);
    assert_int_equal(query_int(f->db, "SELECT first_seen FROM identities"), T0);
    assert_int_equal(query_int(f->db, "SELECT last_seen FROM identities"), T0 + 50);
    query_text(f->db, "SELECT user_cf FROM identities", NULL, txt, sizeof(txt));
    assert_string_equal(txt, CF);

    /* another IdP, another external id, another method: new rows */
    rec.issuer = "https://other-idp.example";
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 60), SP_OK);
    rec = spid_login(NULL, 0);
    rec.external_id = "SPID-0009";
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 70), SP_OK);
    rec = spid_login(NULL, 0);
    rec.method = "cns";
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 80), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM identities"), 4);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM identities WHERE user_cf = '" CF "'"),
                     4);
    /* the first identity was left alone */
    assert_int_equal(query_int(f->db, "SELECT last_seen FROM identities WHERE method = 'spid'"
                                      " AND issuer = '" IDP "' AND external_id = 'SPID-0001'"),
                     T0 + 50);
}

static void test_identity_defaults(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = {CF, "pin", NULL, NULL, "pin", NULL, 0};
    char txt[128];

    /* no issuer: ""; no external id: the codice fiscale */
    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 5), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM identities"), 1);
    query_text(f->db, "SELECT issuer FROM identities", NULL, txt, sizeof(txt));
    assert_string_equal(txt, "");
    query_text(f->db, "SELECT external_id FROM identities", NULL, txt, sizeof(txt));
    assert_string_equal(txt, CF);
    assert_int_equal(query_int(f->db, "SELECT last_seen FROM identities"), T0 + 5);
}

static void test_attributes_per_source(void **state)
{
    struct fx *f = *state;
    static const struct sp_user_attr cns_attrs[] = {{"name", "MARIO"}, {"serial", "0A1B2C"}};
    static const struct sp_user_attr spid_again[] = {{"email", "altro@example.it"}};
    struct sp_login_record rec = spid_login(full_attrs, 9);
    struct sp_login_record cns = {CF, "cns", "CN=Test CA", "0A1B2C", "cns", cns_attrs, 2};
    char txt[128];

    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_record_login(f->db, &cns, T0 + 10), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_attributes WHERE source = 'spid'"),
                     9);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_attributes WHERE source = 'cns'"),
                     2);
    query_text(f->db, "SELECT value FROM user_attributes WHERE source = 'spid' AND name = ?1",
               "name", txt, sizeof(txt));
    assert_string_equal(txt, "Mario");
    query_text(f->db, "SELECT value FROM user_attributes WHERE source = 'cns' AND name = ?1",
               "name", txt, sizeof(txt));
    assert_string_equal(txt, "MARIO");
    query_text(f->db, "SELECT value FROM user_attributes WHERE source = 'spid' AND name = ?1",
               "fiscalNumber", txt, sizeof(txt));
    assert_string_equal(txt, "TINIT-" CF);

    /* a later SPID login updates its value and keeps the attributes it did not carry */
    rec = spid_login(spid_again, 1);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0 + 20), SP_OK);
    query_text(f->db, "SELECT value FROM user_attributes WHERE source = 'spid' AND name = ?1",
               "email", txt, sizeof(txt));
    assert_string_equal(txt, "altro@example.it");
    assert_int_equal(query_int(f->db, "SELECT updated_at FROM user_attributes"
                                      " WHERE source = 'spid' AND name = 'email'"),
                     T0 + 20);
    /* timestamps are per source: the last login from that source */
    assert_int_equal(query_int(f->db, "SELECT updated_at FROM user_attributes"
                                      " WHERE source = 'spid' AND name = 'name'"),
                     T0 + 20);
    assert_int_equal(query_int(f->db, "SELECT updated_at FROM user_attributes"
                                      " WHERE source = 'cns' AND name = 'name'"),
                     T0 + 10);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM user_attributes"), 11);
    /* the person row follows the latest login that carried the field */
    {
        struct sp_user u;
        assert_int_equal(sp_users_get(f->db, CF, &u), SP_OK);
        assert_string_equal(u.email, "altro@example.it");
        sp_user_cleanup(&u);
    }
}

static void test_get_unknown(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = spid_login(full_attrs, 9);
    struct sp_user u;

    assert_int_equal(sp_users_get(f->db, CF, &u), SP_ERR_NOT_FOUND);
    assert_null(u.cf);
    assert_null(u.name);
    sp_user_cleanup(&u);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_OK);
    assert_int_equal(sp_users_get(f->db, "BNCGLI92C65F205C", &u), SP_ERR_NOT_FOUND);
    sp_user_cleanup(&u);
    assert_int_equal(sp_users_get(f->db, "rssmra80a01h501u", &u), SP_ERR_NOT_FOUND);
    sp_user_cleanup(&u);
    assert_int_equal(sp_users_get(f->db, "", &u), SP_ERR_NOT_FOUND);
    sp_user_cleanup(&u);
}

static void test_refused_without_method(void **state)
{
    struct fx *f = *state;
    struct sp_login_record rec = {CF, NULL, IDP, "SPID-0001", "spid", NULL, 0};
    struct sp_user u;

    /* in a transaction, as the ACS runs it: a failure leaves nothing behind */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    assert_int_equal(sp_users_record_login(f->db, &rec, T0), SP_ERR_DB);
    sp_db_rollback(f->db);
    assert_int_equal(sp_users_get(f->db, CF, &u), SP_ERR_NOT_FOUND);
    sp_user_cleanup(&u);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM identities"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_login_creates, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_attributes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_second_login_coalesce, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_declared_then_verified, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_identities_listed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_people_independent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_identities_upsert, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_identity_defaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_attributes_per_source, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_get_unknown, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_refused_without_method, fx_setup, fx_teardown),
    };
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("users", tests, NULL, NULL);
}
