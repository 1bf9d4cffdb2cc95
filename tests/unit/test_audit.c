/*
 * test_audit: the hash-chained audit trail. Chain values are recomputed here
 * from the documented canonical form (audit.h), not through audit.c; the
 * triggers refuse UPDATE and DELETE; verify names every kind of tampering
 * that bypasses them (triggers dropped with raw SQL); append joins and rolls
 * back with the caller's transaction; export writes JSON lines within
 * [from, to); recent() finds a party as actor or acting_for, newest first.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/db.h"
#include "sp/digest.h"
#include "sp/log.h"
#include "sp_test_db.h"

#define T0 INT64_C(1700000000123) /* 2023-11-14T22:13:20.123Z */
#define DAY_MS INT64_C(86400000)
#define CF "RSSMRA80A01H501U"
#define CF2 "BNCGLI92C65F205C"
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* ------------------------------------------------------------------ helpers */

static void exec_ok(struct sp_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(sp_db_conn(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
}

/* What an attacker with write access to the file does first. */
static void drop_triggers(struct sp_db *db)
{
    exec_ok(db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
}

/* One text value from SQL; "<none>" when no row, "<null>" when NULL. */
static void query_text(struct sp_db *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "<null>");
    } else {
        snprintf(out, n, "<none>");
    }
    sqlite3_finalize(st);
}

static void hash_of(const char *prev, const char *canonical, char out[SP_SHA256_HEX_LEN + 1])
{
    char msg[4096];
    int n = snprintf(msg, sizeof(msg), "%s\n%s", prev, canonical);
    assert_true(n > 0 && (size_t)n < sizeof(msg));
    sp_sha256_hex(msg, (size_t)n, out);
}

static void append_ok(struct sp_db *db, const char *event, const char *actor,
                      const char *acting_for, int64_t at)
{
    const struct sp_audit_event ev = {
        .event = event, .actor = actor, .acting_for = acting_for, .outcome = "ok"};
    assert_int_equal(sp_audit_append(db, &ev, at), SP_OK);
}

static void append_n(struct sp_db *db, int n)
{
    for (int i = 0; i < n; i++)
        append_ok(db, SP_AUDIT_LOGIN, i % 2 ? CF : CF2, NULL, T0 + i);
}

/* Problems reported by verify. */
#define MAX_SEEN 256
struct seen {
    int n;
    int64_t seq[MAX_SEEN];
    char what[MAX_SEEN][512];
};

static void collect(void *ctx, int64_t seq, const char *what)
{
    struct seen *s = ctx;
    if (s->n < MAX_SEEN) {
        s->seq[s->n] = seq;
        snprintf(s->what[s->n], sizeof(s->what[0]), "%s", what);
    }
    s->n++;
}

static int seen_has(const struct seen *s, int64_t seq, const char *needle)
{
    for (int i = 0; i < s->n && i < MAX_SEEN; i++)
        if (s->seq[i] == seq && strstr(s->what[i], needle) != NULL)
            return 1;
    return 0;
}

static void print_seen(const struct seen *s)
{
    for (int i = 0; i < s->n && i < MAX_SEEN; i++)
        print_message("  problem: entry %lld: %s\n", (long long)s->seq[i], s->what[i]);
}

/* verify must fail and report needle on entry seq. */
static void expect_problem(struct sp_db *db, int64_t seq, const char *needle)
{
    struct seen s = {0};
    int64_t entries = -1;
    enum sp_err rc = sp_audit_verify(db, collect, &s, &entries);

    if (rc != SP_ERR_INTEGRITY || !seen_has(&s, seq, needle)) {
        print_seen(&s);
        fail_msg("verify: got %s, want INTEGRITY with \"%s\" on entry %lld", sp_errname(rc), needle,
                 (long long)seq);
    }
}

static void expect_intact(struct sp_db *db, int64_t want_entries)
{
    struct seen s = {0};
    int64_t entries = -1;
    enum sp_err rc = sp_audit_verify(db, collect, &s, &entries);

    if (rc != SP_OK || s.n != 0) {
        print_seen(&s);
        fail_msg("verify: got %s with %d problems, want intact", sp_errname(rc), s.n);
    }
    assert_int_equal(entries, want_entries);
}

/* ------------------------------------------------------------------ append and chain */

static void test_append_chain_values(void **state)
{
    struct fx *f = *state;
    const struct sp_audit_event login = {
        .event = SP_AUDIT_LOGIN,
        .actor = CF,
        .session = "0123456789abcdef",
        .source_ip = "127.0.0.1",
        .outcome = "ok",
        .reason = "SPID level 2 \"via\" idp",
        .details = "{ \"level\": 2, \"idp\": \"https://idp.test/\", \"x\": {\"b\": [1, null], "
                   "\"a\": true} }",
    };
    const struct sp_audit_event admin = {.event = SP_AUDIT_ADMIN, .outcome = "error"};
    /* the canonical forms, written out by hand from audit.h */
    const char *canon1 = "[1,1700000000123,\"login\",\"" CF "\",null,\"0123456789abcdef\","
                         "\"127.0.0.1\",\"ok\",\"SPID level 2 \\\"via\\\" idp\","
                         "{\"idp\":\"https://idp.test/\",\"level\":2,\"x\":{\"a\":true,"
                         "\"b\":[1,null]}}]";
    const char *canon2 = "[2,1700000001123,\"admin\",null,null,null,null,\"error\",null,null]";
    char h1[SP_SHA256_HEX_LEN + 1], h2[SP_SHA256_HEX_LEN + 1], got[512];

    assert_int_equal(strlen(GENESIS), SP_SHA256_HEX_LEN);
    assert_int_equal(sp_audit_append(f->db, &login, T0), SP_OK);
    assert_int_equal(sp_audit_append(f->db, &admin, T0 + 1000), SP_OK);
    hash_of(GENESIS, canon1, h1);
    hash_of(h1, canon2, h2);

    query_text(f->db, "SELECT prev_hash FROM audit WHERE seq = 1", got, sizeof(got));
    assert_string_equal(got, GENESIS);
    query_text(f->db, "SELECT hash FROM audit WHERE seq = 1", got, sizeof(got));
    assert_string_equal(got, h1);
    query_text(f->db, "SELECT prev_hash FROM audit WHERE seq = 2", got, sizeof(got));
    assert_string_equal(got, h1);
    query_text(f->db, "SELECT hash FROM audit WHERE seq = 2", got, sizeof(got));
    assert_string_equal(got, h2);
    /* details are stored as canonicalised */
    query_text(f->db, "SELECT details FROM audit WHERE seq = 1", got, sizeof(got));
    assert_string_equal(got, "{\"idp\":\"https://idp.test/\",\"level\":2,\"x\":{\"a\":true,"
                             "\"b\":[1,null]}}");
    query_text(f->db, "SELECT details FROM audit WHERE seq = 2", got, sizeof(got));
    assert_string_equal(got, "<null>");
    query_text(f->db,
               "SELECT session || ' ' || source_ip || ' ' || at_ms FROM audit"
               " WHERE seq = 1",
               got, sizeof(got));
    assert_string_equal(got, "0123456789abcdef 127.0.0.1 1700000000123");
    /* the head names the newest entry */
    assert_int_equal(query_int(f->db, "SELECT seq FROM audit_head"), 2);
    query_text(f->db, "SELECT hash FROM audit_head", got, sizeof(got));
    assert_string_equal(got, h2);
    expect_intact(f->db, 2);
}

static void test_verify_empty_and_many(void **state)
{
    struct fx *f = *state;

    expect_intact(f->db, 0);
    append_n(f->db, 40);
    expect_intact(f->db, 40);
    assert_int_equal(query_int(f->db, "SELECT count(DISTINCT hash) FROM audit"), 40);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit a JOIN audit b"
                                      " ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash"),
                     39);
}

static void test_triggers_refuse_update_delete(void **state)
{
    struct fx *f = *state;
    sqlite3 *c = sp_db_conn(f->db);
    char *msg = NULL;

    append_n(f->db, 3);
    assert_int_not_equal(
        sqlite3_exec(c, "UPDATE audit SET outcome = 'denied' WHERE seq = 2", NULL, NULL, &msg),
        SQLITE_OK);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_not_equal(sqlite3_exec(c, "DELETE FROM audit WHERE seq = 3", NULL, NULL, &msg),
                         SQLITE_OK);
    sqlite3_free(msg);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit"), 3);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE outcome = 'ok'"), 3);
    expect_intact(f->db, 3);
}

/* ------------------------------------------------------------------ tampering */

static void test_tamper_changed_field(void **state)
{
    struct fx *f = *state;
    struct seen s = {0};
    int64_t n;

    append_n(f->db, 5);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE audit SET actor = 'SOMEONEELSE00000' WHERE seq = 3");
    expect_problem(f->db, 3, "content changed");
    /* only that entry: the next one still follows the stored hash */
    assert_int_equal(sp_audit_verify(f->db, collect, &s, &n), SP_ERR_INTEGRITY);
    assert_int_equal(s.n, 1);
    assert_int_equal(n, 5);
}

static void test_tamper_changed_time(void **state)
{
    struct fx *f = *state;

    append_n(f->db, 3);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE audit SET at_ms = at_ms + 1 WHERE seq = 2");
    expect_problem(f->db, 2, "content changed");
}

static void test_tamper_changed_details(void **state)
{
    struct fx *f = *state;
    const struct sp_audit_event ev = {
        .event = SP_AUDIT_ROLE_GRANT, .actor = CF, .outcome = "ok", .details = "{\"a\":1}"};

    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_OK);
    assert_int_equal(sp_audit_append(f->db, &ev, T0 + 1), SP_OK);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE audit SET details = '{\"a\":2}' WHERE seq = 1");
    expect_problem(f->db, 1, "content changed");
    /* even a change that means the same JSON is a change of the stored bytes */
    exec_ok(f->db, "UPDATE audit SET details = '{\"a\":1}' WHERE seq = 1");
    expect_intact(f->db, 2);
    exec_ok(f->db, "UPDATE audit SET details = '{\"a\": 1}' WHERE seq = 2");
    expect_problem(f->db, 2, "content changed");
}

static void test_tamper_removed_middle(void **state)
{
    struct fx *f = *state;

    append_n(f->db, 5);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM audit WHERE seq = 3");
    expect_problem(f->db, 3, "missing");
    exec_ok(f->db, "DELETE FROM audit WHERE seq = 2");
    expect_problem(f->db, 2, "entries 2 to 3 missing");
}

static void test_tamper_removed_first(void **state)
{
    struct fx *f = *state;

    append_n(f->db, 3);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM audit WHERE seq = 1");
    expect_problem(f->db, 1, "missing");
}

static void test_tamper_removed_last(void **state)
{
    struct fx *f = *state;

    append_n(f->db, 5);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM audit WHERE seq >= 4");
    expect_problem(f->db, 4, "entries 4 to 5 missing");
    /* and with the head removed too */
    exec_ok(f->db, "DELETE FROM audit_head");
    expect_problem(f->db, 3, "head row is missing");
}

static void test_tamper_all_removed(void **state)
{
    struct fx *f = *state;
    struct seen s = {0};
    int64_t n = -1;

    append_n(f->db, 2);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM audit");
    assert_int_equal(sp_audit_verify(f->db, collect, &s, &n), SP_ERR_INTEGRITY);
    assert_int_equal(n, 0);
    assert_true(seen_has(&s, 1, "table is empty"));
}

static void test_tamper_reordered(void **state)
{
    struct fx *f = *state;

    append_n(f->db, 4);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE audit SET seq = -2 WHERE seq = 2;"
                   "UPDATE audit SET seq = 2 WHERE seq = 3;"
                   "UPDATE audit SET seq = 3 WHERE seq = -2;");
    expect_problem(f->db, 2, "does not follow entry 1");
    expect_problem(f->db, 3, "does not follow entry 2");
    expect_problem(f->db, 2, "content changed");
}

/* Replace entry seq with a forged row whose hash is right for its prev_hash. */
static void forge_row(struct sp_db *db, int64_t seq, const char *prev)
{
    char canon[512], hash[SP_SHA256_HEX_LEN + 1], sql[1024];

    snprintf(canon, sizeof(canon),
             "[%lld,%lld,\"login\",\"FORGED0000000000\",null,null,null,\"ok\",null,null]",
             (long long)seq, (long long)(T0 + seq));
    hash_of(prev, canon, hash);
    snprintf(sql, sizeof(sql),
             "DELETE FROM audit WHERE seq = %lld;"
             "INSERT INTO audit (seq, at_ms, event, actor, outcome, prev_hash, hash)"
             " VALUES (%lld, %lld, 'login', 'FORGED0000000000', 'ok', '%s', '%s')",
             (long long)seq, (long long)seq, (long long)(T0 + seq), prev, hash);
    exec_ok(db, sql);
}

static void test_tamper_forged_wrong_prev(void **state)
{
    struct fx *f = *state;
    struct seen s = {0};
    int64_t n;

    append_n(f->db, 4);
    drop_triggers(f->db);
    forge_row(f->db, 2, "1111111111111111111111111111111111111111111111111111111111111111");
    expect_problem(f->db, 2, "does not follow entry 1");
    expect_problem(f->db, 3, "does not follow entry 2");
    /* its own hash is consistent: no "content changed" on entry 2 */
    assert_int_equal(sp_audit_verify(f->db, collect, &s, &n), SP_ERR_INTEGRITY);
    assert_false(seen_has(&s, 2, "content changed"));
}

static void test_tamper_forged_with_right_prev(void **state)
{
    struct fx *f = *state;
    char prev[128];

    /* even with the right prev_hash the successor no longer follows */
    append_n(f->db, 4);
    drop_triggers(f->db);
    query_text(f->db, "SELECT hash FROM audit WHERE seq = 1", prev, sizeof(prev));
    forge_row(f->db, 2, prev);
    expect_problem(f->db, 3, "does not follow entry 2");
    /* the newest entry forged: its hash is no longer the head's */
    query_text(f->db, "SELECT hash FROM audit WHERE seq = 3", prev, sizeof(prev));
    forge_row(f->db, 4, prev);
    expect_problem(f->db, 4, "recorded in the head");
}

static void test_tamper_forged_first(void **state)
{
    struct fx *f = *state;

    append_n(f->db, 2);
    drop_triggers(f->db);
    forge_row(f->db, 1, "2222222222222222222222222222222222222222222222222222222222222222");
    expect_problem(f->db, 1, "genesis");
}

static void test_tamper_appended_behind_head(void **state)
{
    struct fx *f = *state;
    char prev[128];
    const struct sp_audit_event ev = {.event = SP_AUDIT_LOGOUT, .outcome = "ok"};

    append_n(f->db, 3);
    /* INSERT is allowed by the triggers: a row added with a valid chain link */
    query_text(f->db, "SELECT hash FROM audit WHERE seq = 3", prev, sizeof(prev));
    forge_row(f->db, 4, prev);
    expect_problem(f->db, 4, "after the newest entry recorded in the head");
    /* and append does not paper over it */
    assert_int_equal(sp_audit_append(f->db, &ev, T0 + 100), SP_ERR_DB);
    assert_int_equal(query_int(f->db, "SELECT seq FROM audit_head"), 3);
}

static void test_append_refused_without_head(void **state)
{
    struct fx *f = *state;
    const struct sp_audit_event ev = {.event = SP_AUDIT_LOGOUT, .outcome = "ok"};

    append_n(f->db, 2);
    exec_ok(f->db, "DELETE FROM audit_head");
    assert_int_equal(sp_audit_append(f->db, &ev, T0 + 100), SP_ERR_INTEGRITY);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit"), 2);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit_head"), 0);
}

static void test_verify_report_cap(void **state)
{
    struct fx *f = *state;
    struct seen s = {0};
    int64_t n;

    append_n(f->db, 130);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE audit SET reason = 'changed'");
    assert_int_equal(sp_audit_verify(f->db, collect, &s, &n), SP_ERR_INTEGRITY);
    assert_int_equal(n, 130);
    assert_int_equal(s.n, 101); /* 100 problems, then the notice */
    assert_true(seen_has(&s, 100, "content changed"));
    assert_true(seen_has(&s, 0, "30 more problems"));
}

/* ------------------------------------------------------------------ transactions, input */

static void test_append_rolls_back_with_caller(void **state)
{
    struct fx *f = *state;

    assert_int_equal(sp_db_begin(f->db), SP_OK);
    append_ok(f->db, SP_AUDIT_ROLE_GRANT, CF, NULL, T0);
    append_ok(f->db, SP_AUDIT_ROLE_GRANT, CF, NULL, T0 + 1);
    sp_db_rollback(f->db);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit"), 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit_head"), 0);
    expect_intact(f->db, 0);

    /* the chain starts over cleanly, and a committed outer transaction keeps both */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    append_ok(f->db, SP_AUDIT_ROLE_GRANT, CF, NULL, T0 + 2);
    append_ok(f->db, SP_AUDIT_ROLE_REVOKE, CF, NULL, T0 + 3);
    assert_int_equal(sp_db_commit(f->db), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT min(seq) FROM audit"), 1);
    assert_int_equal(query_int(f->db, "SELECT seq FROM audit_head"), 2);
    expect_intact(f->db, 2);
}

static void test_invalid_refused(void **state)
{
    struct fx *f = *state;
    static const char *const bad_details[] = {
        "[1,2]",       "\"text\"",          "42", "null", "not json", "{\"a\":1",
        "{\"a\":1} x", "{\"a\":1,\"a\":2}", "",
    };
    struct sp_audit_event ev = {.event = SP_AUDIT_ADMIN, .actor = CF, .outcome = "ok"};

    for (size_t i = 0; i < sizeof(bad_details) / sizeof(bad_details[0]); i++) {
        ev.details = bad_details[i];
        if (sp_audit_append(f->db, &ev, T0) != SP_ERR_INVALID)
            fail_msg("details %s accepted", bad_details[i]);
    }
    ev.details = "{}";
    ev.event = NULL;
    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_ERR_INVALID);
    ev.event = "";
    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_ERR_INVALID);
    ev.event = SP_AUDIT_ADMIN;
    ev.outcome = NULL;
    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_ERR_INVALID);
    ev.outcome = "ok";
    ev.reason = "bad \xff utf-8";
    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_ERR_INVALID);
    assert_int_equal(sp_audit_append(f->db, NULL, T0), SP_ERR_INVALID);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit"), 0);

    /* refused input leaves the caller's transaction alone */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    append_ok(f->db, SP_AUDIT_ADMIN, CF, NULL, T0);
    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_ERR_INVALID);
    assert_int_equal(sp_db_commit(f->db), SP_OK);
    ev.reason = NULL;
    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_OK);
    expect_intact(f->db, 2);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE details = '{}'"), 1);
}

/* ------------------------------------------------------------------ export */

struct lines {
    int n;
    json_t *line[16];
};

static void export_lines(struct sp_db *db, int64_t from, int64_t to, struct lines *out)
{
    char *mem = NULL, *p, *nl;
    size_t len = 0;
    int64_t count = -1;
    FILE *fp = open_memstream(&mem, &len);

    assert_non_null(fp);
    assert_int_equal(sp_audit_export(db, fp, from, to, &count), SP_OK);
    fclose(fp);
    memset(out, 0, sizeof(*out));
    for (p = mem; *p != '\0'; p = nl + 1) {
        json_error_t jerr;
        nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with a newline */
        *nl = '\0';
        assert_true(out->n < 16);
        out->line[out->n] = json_loads(p, 0, &jerr);
        if (out->line[out->n] == NULL)
            fail_msg("line %d is not JSON (%s): %s", out->n + 1, jerr.text, p);
        out->n++;
    }
    assert_int_equal(count, out->n);
    free(mem);
}

static void lines_free(struct lines *l)
{
    for (int i = 0; i < l->n; i++)
        json_decref(l->line[i]);
    l->n = 0;
}

static int64_t line_seq(const struct lines *l, int i)
{
    return json_integer_value(json_object_get(l->line[i], "seq"));
}

static const char *line_str(const struct lines *l, int i, const char *key)
{
    return json_string_value(json_object_get(l->line[i], key));
}

static void test_export_lines(void **state)
{
    struct fx *f = *state;
    const struct sp_audit_event ev = {
        .event = SP_AUDIT_LOGIN_FAILED,
        .actor = CF,
        .source_ip = "192.0.2.1",
        .outcome = "denied",
        .reason = "line\nbreak",
        .details = "{\"status\":\"ErrorCode nr19\",\"n\":3}",
    };
    struct lines l;
    json_t *d;
    char hash[128];

    assert_int_equal(sp_audit_append(f->db, &ev, T0), SP_OK);
    append_ok(f->db, SP_AUDIT_LOGIN, CF, NULL, T0 + DAY_MS);
    append_ok(f->db, SP_AUDIT_LOGOUT, CF, NULL, T0 + 2 * DAY_MS);

    export_lines(f->db, 0, 0, &l);
    assert_int_equal(l.n, 3);
    assert_int_equal(line_seq(&l, 0), 1);
    assert_string_equal(line_str(&l, 0, "at"), "2023-11-14T22:13:20.123Z");
    assert_int_equal(json_integer_value(json_object_get(l.line[0], "at_ms")), T0);
    assert_string_equal(line_str(&l, 0, "event"), "login.failed");
    assert_string_equal(line_str(&l, 0, "actor"), CF);
    assert_true(json_is_null(json_object_get(l.line[0], "acting_for")));
    assert_true(json_is_null(json_object_get(l.line[0], "session")));
    assert_string_equal(line_str(&l, 0, "source_ip"), "192.0.2.1");
    assert_string_equal(line_str(&l, 0, "outcome"), "denied");
    assert_string_equal(line_str(&l, 0, "reason"), "line\nbreak");
    d = json_object_get(l.line[0], "details");
    assert_true(json_is_object(d));
    assert_string_equal(json_string_value(json_object_get(d, "status")), "ErrorCode nr19");
    assert_int_equal(json_integer_value(json_object_get(d, "n")), 3);
    assert_string_equal(line_str(&l, 0, "prev_hash"), GENESIS);
    query_text(f->db, "SELECT hash FROM audit WHERE seq = 1", hash, sizeof(hash));
    assert_string_equal(line_str(&l, 0, "hash"), hash);
    assert_string_equal(line_str(&l, 1, "prev_hash"), hash);
    assert_true(json_is_null(json_object_get(l.line[1], "details")));
    assert_string_equal(line_str(&l, 2, "at"), "2023-11-16T22:13:20.123Z");
    lines_free(&l);

    /* from is inclusive, to exclusive */
    export_lines(f->db, T0 + DAY_MS, 0, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(line_seq(&l, 0), 2);
    assert_int_equal(line_seq(&l, 1), 3);
    lines_free(&l);
    export_lines(f->db, 0, T0 + DAY_MS, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(line_seq(&l, 0), 1);
    lines_free(&l);
    export_lines(f->db, T0 + 1, T0 + 2 * DAY_MS + 1, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(line_seq(&l, 0), 2);
    assert_int_equal(line_seq(&l, 1), 3);
    lines_free(&l);
    export_lines(f->db, T0 + 3 * DAY_MS, 0, &l);
    assert_int_equal(l.n, 0);
    lines_free(&l);
}

/* ------------------------------------------------------------------ recent */

struct got {
    int n;
    int64_t seq[16];
    char event[16][32];
};

static void got_entry(void *ctx, const struct sp_audit_entry *e)
{
    struct got *g = ctx;
    if (g->n < 16) {
        g->seq[g->n] = e->seq;
        snprintf(g->event[g->n], sizeof(g->event[0]), "%s", e->event);
    }
    g->n++;
}

static void test_recent(void **state)
{
    struct fx *f = *state;
    struct got g = {0};

    append_ok(f->db, SP_AUDIT_LOGIN, CF, NULL, T0);                  /* 1 */
    append_ok(f->db, SP_AUDIT_LOGIN, CF2, NULL, T0 + 1);             /* 2 */
    append_ok(f->db, SP_AUDIT_ACTING_FOR, CF2, CF, T0 + 2);          /* 3 */
    append_ok(f->db, SP_AUDIT_ROLE_GRANT, "operator:x", CF, T0 + 3); /* 4 */
    append_ok(f->db, SP_AUDIT_LOGOUT, CF2, NULL, T0 + 4);            /* 5 */

    assert_int_equal(sp_audit_recent(f->db, CF, 10, got_entry, &g), SP_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.seq[0], 4);
    assert_int_equal(g.seq[1], 3);
    assert_int_equal(g.seq[2], 1);
    assert_string_equal(g.event[0], "role.grant");
    assert_string_equal(g.event[1], "profile.switch");

    memset(&g, 0, sizeof(g));
    assert_int_equal(sp_audit_recent(f->db, CF, 2, got_entry, &g), SP_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.seq[0], 4);
    assert_int_equal(g.seq[1], 3);

    memset(&g, 0, sizeof(g));
    assert_int_equal(sp_audit_recent(f->db, CF2, 10, got_entry, &g), SP_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.seq[0], 5);
    assert_int_equal(g.seq[2], 2);

    memset(&g, 0, sizeof(g));
    assert_int_equal(sp_audit_recent(f->db, "NOBODY0000000000", 10, got_entry, &g), SP_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(sp_audit_recent(f->db, CF, 0, got_entry, &g), SP_OK);
    assert_int_equal(g.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_chain_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_verify_empty_and_many, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_triggers_refuse_update_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_changed_field, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_changed_time, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_changed_details, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_removed_middle, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_removed_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_removed_last, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_all_removed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_reordered, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_forged_wrong_prev, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_forged_with_right_prev, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_forged_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_appended_behind_head, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_append_refused_without_head, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_verify_report_cap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_append_rolls_back_with_caller, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_export_lines, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recent, fx_setup, fx_teardown),
    };
    sp_log_set_level(SP_LOG_ERROR);
    return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
