/*
 * test_register: the transaction register. Appends across days (time is
 * injected through the record), verify on an intact chain and after each kind
 * of tampering done to the files or the index with ordinary file and SQL
 * operations, export by time range, pruning that keeps the chain verifiable,
 * two threads appending, recovery from an interrupted append, compression of
 * a typical Response and the size figures (bytes per login, logins per GB)
 * printed as test messages. Then batches and the group commit: a batch over
 * two days, records compressed before their seq is known (messages with every
 * byte value, a maximal message), crashes simulated by rolling the index back
 * after a batch (a tail past the newest row, segments of days after it),
 * tails too large to be a crash, many threads through sp_register_commit and
 * sp_app_record (continuous chain, no seq lost or repeated, fsyncs shared,
 * metrics), and a failed fdatasync reported to every record of its batch.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>
#include <time.h>

#include "sp/app.h"
#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/metrics.h"
#include "sp/register.h"
#include "sp_test_db.h"

#define T0 INT64_C(1700000000123) /* 2023-11-14T22:13:20.123Z */
#define DAY_MS INT64_C(86400000)
#define IDP "https://idp.example.it"
#define CF "TINIT-RSSMRA80A01H501U"

/* ------------------------------------------------------------------ fixture */

static struct sp_register *prep_reg; /* the register prep() prepares for */

struct rfx {
    struct fx *f;
    char dir[160];
    struct sp_register *r;
};

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[512];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

static int rfx_setup(void **state)
{
    struct rfx *x = calloc(1, sizeof(*x));
    struct sp_buf err;
    void *fs = NULL;

    if (x == NULL || fx_setup(&fs) != 0)
        return -1;
    x->f = fs;
    snprintf(x->dir, sizeof(x->dir), "%s/register", x->f->dir);
    sp_buf_init(&err, 4096);
    x->r = sp_register_open(x->dir, x->f->db, &err);
    prep_reg = x->r;
    if (x->r == NULL)
        fprintf(stderr, "sp_register_open: %s\n", sp_buf_str(&err));
    sp_buf_cleanup(&err);
    *state = x;
    return x->r != NULL ? 0 : -1;
}

static int rfx_teardown(void **state)
{
    struct rfx *x = *state;
    void *fs = x->f;

    sp_register_free(&x->r);
    rm_rf(x->dir);
    fx_teardown(&fs);
    free(x);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

static void exec_ok(struct sp_db *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(sp_db_conn(db), sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
}

static int64_t append_msg(struct sp_register *r, int64_t at, const char *kind, const char *dir,
                          const char *id, const char *irt, const char *msg)
{
    const struct sp_register_record rec = {
        .time_ms = at,
        .kind = kind,
        .direction = dir,
        .id = id,
        .in_response_to = irt,
        .idp = IDP,
        .cf = irt != NULL ? CF : NULL,
        .msg = msg,
        .msg_len = strlen(msg),
    };
    int64_t seq = 0;
    assert_int_equal(sp_register_append(r, &rec, &seq), SP_OK);
    return seq;
}

/* Three days, three records each (seq 1..9): request, response, request. */
static void fill_three_days(struct sp_register *r)
{
    for (int d = 0; d < 3; d++) {
        for (int i = 0; i < 3; i++) {
            char id[32], msg[128];
            snprintf(id, sizeof(id), "_id%d%d", d, i);
            snprintf(msg, sizeof(msg), "<samlp:AuthnRequest ID=\"%s\">day %d</samlp:AuthnRequest>",
                     id, d);
            append_msg(r, T0 + d * DAY_MS + i * 1000,
                       i == 1 ? SP_REGISTER_RESPONSE : SP_REGISTER_AUTHN_REQUEST,
                       i == 1 ? SP_REGISTER_IN : SP_REGISTER_OUT, id, i == 1 ? "_req" : NULL, msg);
        }
    }
}

/* Segment paths of T0's day (+d days). */
static void seg_path(const struct rfx *x, int d, char *out, size_t n)
{
    static const char *const days[] = {"2023/11/14", "2023/11/15", "2023/11/16"};
    snprintf(out, n, "%s/%s.spr", x->dir, days[d]);
}

struct problems {
    int n, notices;
    char text[4096], ntext[4096];
};

static void collect(void *ctx, enum sp_register_finding kind, const char *day, int64_t seq,
                    const char *what)
{
    struct problems *p = ctx;
    char *t = kind == SP_REGISTER_NOTICE ? p->ntext : p->text;
    size_t l = strlen(t);

    if (kind == SP_REGISTER_NOTICE)
        p->notices++;
    else
        p->n++;
    snprintf(t + l, sizeof(p->text) - l, "[%s #%lld] %s\n", day ? day : "-", (long long)seq, what);
}

static void expect_problem(struct rfx *x, const char *needle)
{
    struct problems p = {0};
    int64_t n = 0;

    assert_int_equal(sp_register_verify(x->r, collect, &p, &n), SP_ERR_INTEGRITY);
    assert_true(p.n > 0);
    if (strstr(p.text, needle) == NULL)
        fail_msg("expected \"%s\" among:\n%s", needle, p.text);
}

static void expect_intact(struct rfx *x, int64_t records)
{
    struct problems p = {0};
    int64_t n = 0;
    enum sp_err rc = sp_register_verify(x->r, collect, &p, &n);

    if (rc != SP_OK || p.n != 0 || p.notices != 0)
        fail_msg("verify: %s\n%s%s", sp_strerror(rc), p.text, p.ntext);
    assert_int_equal(n, records);
}

/* Intact, with notices (never problems) mentioning needle. */
static void expect_notice(struct rfx *x, int64_t records, const char *needle)
{
    struct problems p = {0};
    int64_t n = 0;
    enum sp_err rc = sp_register_verify(x->r, collect, &p, &n);

    if (rc != SP_OK || p.n != 0)
        fail_msg("verify: %s\n%s", sp_strerror(rc), p.text);
    if (p.notices == 0 || strstr(p.ntext, needle) == NULL)
        fail_msg("expected a notice \"%s\" among:\n%s", needle, p.ntext);
    assert_int_equal(n, records);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

/* Offsets of the frames of a segment (at most 16); returns how many. */
static int frames(const char *buf, size_t len, size_t off[], size_t size[])
{
    int k = 0;
    for (size_t at = 0; at + 12 <= len && k < 16; k++) {
        const unsigned char *p = (const unsigned char *)buf + at + 4;
        size_t clen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        off[k] = at;
        size[k] = 12 + clen;
        at += 12 + clen;
    }
    return k;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* ------------------------------------------------------------------ append and verify */

static void test_append_across_days(void **state)
{
    struct rfx *x = *state;
    char path[256];
    FILE *mem;
    char *out = NULL;
    size_t outlen = 0;
    int64_t count = 0;

    expect_intact(x, 0);
    fill_three_days(x->r);
    for (int d = 0; d < 3; d++) {
        seg_path(x, d, path, sizeof(path));
        assert_true(file_size(path) > 0);
    }
    assert_int_equal(query_int(x->f->db, "SELECT count(*) FROM register_days"), 3);
    assert_int_equal(
        query_int(x->f->db, "SELECT first_seq FROM register_days WHERE day = '2023-11-15'"), 4);
    assert_int_equal(
        query_int(x->f->db, "SELECT last_seq FROM register_days WHERE day = '2023-11-16'"), 9);
    expect_intact(x, 9);

    /* the chain crosses days: record 4's prev_hash is record 3's hash */
    mem = open_memstream(&out, &outlen);
    assert_int_equal(sp_register_export(x->r, 0, 0, mem, &count), SP_OK);
    fclose(mem);
    assert_int_equal(count, 9);
    {
        char *line = out, *nl;
        json_t *prev = NULL;
        int seq = 0;
        while ((nl = strchr(line, '\n')) != NULL) {
            json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
            assert_non_null(j);
            seq++;
            assert_int_equal(json_integer_value(json_object_get(j, "seq")), seq);
            if (prev != NULL)
                assert_string_equal(json_string_value(json_object_get(j, "prev_hash")),
                                    json_string_value(json_object_get(prev, "hash")));
            json_decref(prev);
            prev = j;
            line = nl + 1;
        }
        json_decref(prev);
        assert_int_equal(seq, 9);
    }
    free(out);

    /* a record whose clock went back is filed under the newest day */
    append_msg(x->r, T0, SP_REGISTER_LOGOUT_REQUEST, SP_REGISTER_OUT, "_late", NULL, "<x/>");
    assert_int_equal(
        query_int(x->f->db, "SELECT records FROM register_days WHERE day = '2023-11-16'"), 4);
    expect_intact(x, 10);
}

static void test_invalid_refused(void **state)
{
    struct rfx *x = *state;
    struct sp_register_record rec = {
        .time_ms = T0,
        .kind = "assertion",
        .direction = SP_REGISTER_IN,
        .id = "_a",
        .msg = "<x/>",
        .msg_len = 4,
    };

    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INVALID);
    rec.kind = SP_REGISTER_RESPONSE;
    rec.direction = "sideways";
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INVALID);
    rec.direction = SP_REGISTER_IN;
    rec.id = NULL;
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INVALID);
    rec.id = "_a";
    rec.cf = "\xff\xfe";
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INVALID);
    rec.cf = NULL;
    rec.msg_len = SP_REGISTER_MAX_MESSAGE + 1;
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_TOO_LARGE);
    rec.msg_len = 0;
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INVALID);
    expect_intact(x, 0);
}

/* ------------------------------------------------------------------ tampering */

static void test_tamper_flip_byte(void **state)
{
    struct rfx *x = *state;
    char path[256];
    size_t len;
    char *buf;

    fill_three_days(x->r);
    seg_path(x, 1, path, sizeof(path));
    buf = slurp(path, &len);
    buf[len / 2] ^= 0x20;
    spit(path, buf, len);
    free(buf);
    expect_problem(x, "2023-11-15");
}

static void test_tamper_remove_frame(void **state)
{
    struct rfx *x = *state;
    char path[256];
    size_t len, off[16], size[16];
    char *buf;

    fill_three_days(x->r);
    seg_path(x, 1, path, sizeof(path));
    buf = slurp(path, &len);
    assert_int_equal(frames(buf, len, off, size), 3);
    memmove(buf + off[1], buf + off[2], size[2]);
    spit(path, buf, len - size[1]);
    free(buf);
    expect_problem(x, "missing (removed)");
}

static void test_tamper_swap_frames(void **state)
{
    struct rfx *x = *state;
    char path[256];
    size_t len, off[16], size[16];
    char *buf, *sw;

    fill_three_days(x->r);
    seg_path(x, 1, path, sizeof(path));
    buf = slurp(path, &len);
    assert_int_equal(frames(buf, len, off, size), 3);
    sw = malloc(len);
    memcpy(sw, buf, off[1]);
    memcpy(sw + off[1], buf + off[2], size[2]);
    memcpy(sw + off[1] + size[2], buf + off[1], size[1]);
    spit(path, sw, len);
    free(sw);
    free(buf);
    expect_problem(x, "out of order");
}

static void test_tamper_delete_middle_day(void **state)
{
    struct rfx *x = *state;
    char path[256];

    fill_three_days(x->r);
    seg_path(x, 1, path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    expect_problem(x, "segment file missing: records 4 to 6 lost");

    /* file and index row both gone: the next day's chain shows the hole */
    exec_ok(x->f->db, "DELETE FROM register_days WHERE day = '2023-11-15'");
    expect_problem(x, "records 4 to 6 missing");
}

static void test_tamper_truncate_last(void **state)
{
    struct rfx *x = *state;
    char path[256];
    size_t len;
    char *buf;

    fill_three_days(x->r);
    seg_path(x, 2, path, sizeof(path));
    buf = slurp(path, &len);
    spit(path, buf, len - 10);
    free(buf);
    expect_problem(x, "cut short");
    expect_problem(x, "truncated");

    /* appending over a truncated segment is refused, not papered over */
    {
        const struct sp_register_record rec = {.time_ms = T0 + 2 * DAY_MS + 5000,
                                               .kind = SP_REGISTER_AUTHN_REQUEST,
                                               .direction = SP_REGISTER_OUT,
                                               .id = "_x",
                                               .msg = "<x/>",
                                               .msg_len = 4};
        assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INTEGRITY);
    }
}

static void test_tamper_index_row(void **state)
{
    struct rfx *x = *state;

    fill_three_days(x->r);
    exec_ok(x->f->db, "UPDATE register_days SET last_hash = '" /* 64 'a' */
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
                      " WHERE day = '2023-11-14'");
    expect_problem(x, "last hash differs from the index");
    exec_ok(x->f->db, "UPDATE register_days SET records = 2 WHERE day = '2023-11-14'");
    expect_problem(x, "the index says 2");
}

static void test_tamper_unindexed_segment(void **state)
{
    struct rfx *x = *state;
    char path[256], fake[256];
    size_t len;
    char *buf;

    fill_three_days(x->r);
    seg_path(x, 1, path, sizeof(path));
    /* before the newest indexed day: no crash leaves that */
    snprintf(fake, sizeof(fake), "%s/2023/11/10.spr", x->dir);
    buf = slurp(path, &len);
    spit(fake, buf, len);
    free(buf);
    expect_problem(x, "not in the index");
}

/* ------------------------------------------------------------------ recovery */

static void test_interrupted_append_is_cut(void **state)
{
    struct rfx *x = *state;
    char path[256];
    FILE *fp;

    fill_three_days(x->r);
    seg_path(x, 2, path, sizeof(path));
    fp = fopen(path, "ab");
    assert_non_null(fp);
    fputs("SPR1\0\0", fp); /* half a frame header, as after a crash */
    fclose(fp);
    append_msg(x->r, T0 + 2 * DAY_MS + 9000, SP_REGISTER_LOGOUT_RESPONSE, SP_REGISTER_IN, "_lr",
               "_lq", "<samlp:LogoutResponse/>");
    expect_intact(x, 10);
}

/* ------------------------------------------------------------------ export */

static void test_export_range(void **state)
{
    struct rfx *x = *state;
    char *out = NULL;
    size_t outlen = 0;
    int64_t count = 0;
    FILE *mem;
    json_t *j;
    const char bin[] = {'<', 'x', '>', (char)0xff, '<', '/', 'x', '>'};
    const struct sp_register_record rec = {.time_ms = T0 + 3 * DAY_MS,
                                           .kind = SP_REGISTER_RESPONSE,
                                           .direction = SP_REGISTER_IN,
                                           .id = "_bin",
                                           .msg = bin,
                                           .msg_len = sizeof(bin)};

    fill_three_days(x->r);
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_OK);

    /* [day 2 start, day 3 start): the three records of 2023-11-15 */
    mem = open_memstream(&out, &outlen);
    assert_int_equal(
        sp_register_export(x->r, INT64_C(1700006400000), INT64_C(1700092800000), mem, &count),
        SP_OK);
    fclose(mem);
    assert_int_equal(count, 3);
    j = json_loadb(out, (size_t)(strchr(out, '\n') - out), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 4);
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2023-11-15T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "authn_request");
    assert_string_equal(json_string_value(json_object_get(j, "direction")), "out");
    assert_string_equal(json_string_value(json_object_get(j, "idp")), IDP);
    assert_true(json_is_null(json_object_get(j, "cf")));
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "<samlp:AuthnRequest ID=\"_id10\">day 1</samlp:AuthnRequest>");
    json_decref(j);
    free(out);

    /* from only; a message that is not UTF-8 comes as base64 */
    out = NULL;
    mem = open_memstream(&out, &outlen);
    assert_int_equal(sp_register_export(x->r, T0 + 3 * DAY_MS, 0, mem, &count), SP_OK);
    fclose(mem);
    assert_int_equal(count, 1);
    j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "message_base64")), "PHg+/zwveD4=");
    assert_null(json_object_get(j, "message"));
    json_decref(j);
    free(out);

    /* nothing in range */
    out = NULL;
    mem = open_memstream(&out, &outlen);
    assert_int_equal(sp_register_export(x->r, 1, T0 - DAY_MS, mem, &count), SP_OK);
    fclose(mem);
    assert_int_equal(count, 0);
    free(out);
}

/* ------------------------------------------------------------------ prune */

static void test_prune_keeps_chain(void **state)
{
    struct rfx *x = *state;
    int64_t days = 0, now = T0 + 30 * 31 * DAY_MS;

    /* one record about every month for 30 months */
    for (int m = 0; m < 30; m++)
        append_msg(x->r, T0 + m * 31 * DAY_MS, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_m",
                   NULL, "<samlp:AuthnRequest/>");
    expect_intact(x, 30);
    assert_int_equal(sp_register_prune(x->r, now, 24, &days), SP_OK);
    assert_true(days >= 5 && days <= 7);
    assert_int_equal(query_int(x->f->db, "SELECT count(*) FROM register_days"), 30 - days);
    assert_int_equal(query_int(x->f->db, "SELECT seq FROM register_anchor"), days);
    expect_intact(x, 30 - days);

    /* the chain goes on from the anchor; a second prune is a no-op */
    append_msg(x->r, now, SP_REGISTER_RESPONSE, SP_REGISTER_IN, "_n", "_m", "<samlp:Response/>");
    expect_intact(x, 31 - days);
    assert_int_equal(sp_register_prune(x->r, now, 24, &days), SP_OK);
    assert_int_equal(days, 0);

    /* an index row behind the anchor is reported */
    exec_ok(x->f->db, "INSERT INTO register_days VALUES ('2020-01-01', 1, 1, 'x', 1, 1)");
    expect_problem(x, "older than the pruning boundary");
    exec_ok(x->f->db, "DELETE FROM register_days WHERE day = '2020-01-01'");

    /* prune everything: the newest day goes too, and appending still chains */
    assert_int_equal(sp_register_prune(x->r, now + 40 * 31 * DAY_MS, 1, &days), SP_OK);
    assert_int_equal(query_int(x->f->db, "SELECT count(*) FROM register_days"), 0);
    expect_intact(x, 0);
    append_msg(x->r, now + 40 * 31 * DAY_MS, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_z", NULL,
               "<z/>");
    expect_intact(x, 1);
    assert_int_equal(sp_register_prune(x->r, now, 0, NULL), SP_ERR_INVALID);
}

/* ------------------------------------------------------------------ concurrency */

#define THREAD_APPENDS 100

struct worker {
    struct sp_register *r;
    int n;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < THREAD_APPENDS; i++) {
        char id[32];
        snprintf(id, sizeof(id), "_t%d_%d", w->n, i);
        const struct sp_register_record rec = {.time_ms = T0 + i,
                                               .kind = SP_REGISTER_AUTHN_REQUEST,
                                               .direction = SP_REGISTER_OUT,
                                               .id = id,
                                               .idp = IDP,
                                               .msg = "<samlp:AuthnRequest/>",
                                               .msg_len = 21};
        if (sp_register_append(w->r, &rec, NULL) != SP_OK)
            w->failures++;
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    struct rfx *x = *state;
    struct worker w[2] = {{x->r, 0, 0}, {x->r, 1, 0}};
    pthread_t t[2];

    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[0].failures + w[1].failures, 0);
    assert_int_equal(query_int(x->f->db, "SELECT last_seq FROM register_days"), 2 * THREAD_APPENDS);
    expect_intact(x, 2 * THREAD_APPENDS);
}

/* ------------------------------------------------------------------ sizes */

/* Deterministic base64-looking text (signature values, certificates). */
static void fake_b64(unsigned *seed, char *out, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        out[i] = a[(*seed >> 16) & 63];
    }
    out[n] = '\0';
}

static void fake_id(unsigned *seed, char out[42])
{
    static const char h[] = "0123456789abcdef";
    out[0] = '_';
    for (int i = 1; i < 41; i++) {
        *seed = *seed * 1103515245u + 12345u;
        out[i] = h[(*seed >> 16) & 15];
    }
    out[41] = '\0';
}

/* The IdP's certificate: the same in every message from it (RSA-3072, DER ~1.3 KB). */
static char idp_cert[1800], sp_cert[1800];

/* An enveloped signature over #ref, with the certificate. */
static void signature(struct sp_buf *b, unsigned *seed, const char *ref, const char *cert)
{
    char digest[45], sigval[513];

    fake_b64(seed, digest, 43);
    digest[43] = '=';
    digest[44] = '\0';
    fake_b64(seed, sigval, 512);
    sp_buf_addf(
        b,
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
        "<ds:Reference URI=\"#%s\"><ds:Transforms>"
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
        "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>"
        "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
        "<ds:DigestValue>%s</ds:DigestValue></ds:Reference></ds:SignedInfo>"
        "<ds:SignatureValue>%s</ds:SignatureValue><ds:KeyInfo><ds:X509Data>"
        "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        ref, digest, sigval, cert);
}

/* A signed AuthnRequest as sent by HTTP-POST (about 4 KB with the SP certificate). */
static void authn_request(struct sp_buf *b, unsigned *seed, char id[42])
{
    fake_id(seed, id);
    sp_buf_reset(b);
    sp_buf_addf(b,
                "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"%s\" Version=\"2.0\" "
                "IssueInstant=\"2026-03-14T09:26:53.589Z\" Destination=\"" IDP "/sso\" "
                "ForceAuthn=\"true\" AssertionConsumerServiceIndex=\"0\" "
                "AttributeConsumingServiceIndex=\"0\">"
                "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\" "
                "NameQualifier=\"https://sp.comune.example.it\">https://sp.comune.example.it"
                "</saml:Issuer>",
                id);
    signature(b, seed, id, sp_cert);
    sp_buf_adds(b, "<samlp:NameIDPolicy "
                   "Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\"/>"
                   "<samlp:RequestedAuthnContext Comparison=\"minimum\"><saml:AuthnContextClassRef>"
                   "https://www.spid.gov.it/SpidL2</saml:AuthnContextClassRef>"
                   "</samlp:RequestedAuthnContext></samlp:AuthnRequest>");
}

/* A Response signed twice (Response and Assertion), with eight attributes. */
static void response(struct sp_buf *b, unsigned *seed, const char *req, char id[42])
{
    static const char *const attrs[][2] = {
        {"spidCode", "SPID-0123456789AB"},
        {"name", "Mario"},
        {"familyName", "Rossi"},
        {"fiscalNumber", CF},
        {"email", "mario.rossi@example.it"},
        {"dateOfBirth", "1980-01-01"},
        {"mobilePhone", "+393331234567"},
        {"placeOfBirth", "H501"},
    };
    char aid[42], nameid[42];

    fake_id(seed, id);
    fake_id(seed, aid);
    fake_id(seed, nameid);
    sp_buf_reset(b);
    sp_buf_addf(b,
                "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"%s\" "
                "InResponseTo=\"%s\" Version=\"2.0\" IssueInstant=\"2026-03-14T09:27:11.204Z\" "
                "Destination=\"https://sp.comune.example.it/spid/acs\">"
                "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\">" IDP
                "</saml:Issuer>",
                id, req);
    signature(b, seed, id, idp_cert);
    sp_buf_addf(b,
                "<samlp:Status><samlp:StatusCode "
                "Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>"
                "<saml:Assertion ID=\"%s\" Version=\"2.0\" "
                "IssueInstant=\"2026-03-14T09:27:11.204Z\">"
                "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\">" IDP
                "</saml:Issuer>",
                aid);
    signature(b, seed, aid, idp_cert);
    sp_buf_addf(b,
                "<saml:Subject><saml:NameID "
                "Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\" "
                "NameQualifier=\"" IDP "\">%s</saml:NameID><saml:SubjectConfirmation "
                "Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData "
                "InResponseTo=\"%s\" NotOnOrAfter=\"2026-03-14T09:32:11.204Z\" "
                "Recipient=\"https://sp.comune.example.it/spid/acs\"/>"
                "</saml:SubjectConfirmation></saml:Subject><saml:Conditions "
                "NotBefore=\"2026-03-14T09:27:11.204Z\" "
                "NotOnOrAfter=\"2026-03-14T09:32:11.204Z\"><saml:AudienceRestriction>"
                "<saml:Audience>https://sp.comune.example.it</saml:Audience>"
                "</saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement "
                "AuthnInstant=\"2026-03-14T09:27:10.000Z\" SessionIndex=\"%s\">"
                "<saml:AuthnContext><saml:AuthnContextClassRef>https://www.spid.gov.it/SpidL2"
                "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
                "<saml:AttributeStatement>",
                nameid, req, aid);
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
        sp_buf_addf(b,
                    "<saml:Attribute Name=\"%s\" "
                    "NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\">"
                    "<saml:AttributeValue xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
                    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                    "xsi:type=\"xs:string\">%s</saml:AttributeValue></saml:Attribute>",
                    attrs[i][0], attrs[i][1]);
    sp_buf_adds(b, "</saml:AttributeStatement></saml:Assertion></samlp:Response>");
}

static void make_certs(unsigned *seed)
{
    fake_b64(seed, idp_cert, 1740); /* ~1.3 KB DER */
    fake_b64(seed, sp_cert, 1740);
}

static void test_compression_shrinks_response(void **state)
{
    struct rfx *x = *state;
    struct sp_buf b;
    unsigned seed = 42;
    char id[42], path[256];
    int64_t size;

    make_certs(&seed);
    sp_buf_init(&b, 1 << 20);
    response(&b, &seed, "_req", id);
    assert_true(b.len > 5000 && b.len < 12000);
    append_msg(x->r, T0, SP_REGISTER_RESPONSE, SP_REGISTER_IN, id, "_req", sp_buf_str(&b));
    seg_path(x, 0, path, sizeof(path));
    size = file_size(path);
    print_message("register: one Response of %zu bytes is stored in %lld bytes (%.0f%%)\n", b.len,
                  (long long)size, 100.0 * (double)size / (double)b.len);
    /* two certificates and signatures are random-looking: they bound the ratio */
    assert_true(size < (int64_t)b.len * 7 / 10);
    sp_buf_cleanup(&b);
    expect_intact(x, 1);
}

#define SIZE_LOGINS 500

static void test_size_per_login(void **state)
{
    struct rfx *x = *state;
    struct sp_buf req, resp;
    unsigned seed = 7;
    char path[256], rid[42], sid[42];
    size_t raw = 0, rawreq = 0, rawresp = 0;
    int64_t size;
    double per;

    make_certs(&seed);
    sp_buf_init(&req, 1 << 20);
    sp_buf_init(&resp, 1 << 20);
    for (int i = 0; i < SIZE_LOGINS; i++) {
        authn_request(&req, &seed, rid);
        append_msg(x->r, T0 + i, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, rid, NULL,
                   sp_buf_str(&req));
        response(&resp, &seed, rid, sid);
        append_msg(x->r, T0 + i, SP_REGISTER_RESPONSE, SP_REGISTER_IN, sid, rid, sp_buf_str(&resp));
        raw += req.len + resp.len;
        rawreq = req.len;
        rawresp = resp.len;
    }
    seg_path(x, 0, path, sizeof(path));
    size = file_size(path);
    per = (double)size / SIZE_LOGINS;
    print_message("register: AuthnRequest %zu B + Response %zu B raw per login\n", rawreq, rawresp);
    print_message("register: %d logins: %zu B raw, %lld B stored: %.0f B per login (%.0f%%), "
                  "%.2f million logins per GB (1e9 B); index: one row per day\n",
                  SIZE_LOGINS, raw, (long long)size, per, 100.0 * (double)size / (double)raw,
                  1e9 / per / 1e6);
    assert_true(size < (int64_t)raw);
    sp_buf_cleanup(&req);
    sp_buf_cleanup(&resp);
    expect_intact(x, 2 * SIZE_LOGINS);
}

/* ------------------------------------------------------------------ batches */

static struct sp_register_prepared *prep(int64_t at, const char *kind, const char *dir,
                                         const char *id, const char *irt, const void *msg,
                                         size_t len)
{
    const struct sp_register_record rec = {
        .time_ms = at,
        .kind = kind,
        .direction = dir,
        .id = id,
        .in_response_to = irt,
        .idp = IDP,
        .cf = irt != NULL ? CF : NULL,
        .msg = msg,
        .msg_len = len,
    };
    struct sp_register_prepared *p = NULL;

    assert_int_equal(sp_register_prepare(prep_reg, &rec, &p), SP_OK);
    assert_non_null(p);
    return p;
}

static struct sp_register_prepared *prep_text(int64_t at, const char *id, const char *msg)
{
    return prep(at, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, id, NULL, msg, strlen(msg));
}

struct syncs {
    int calls;
};

/* Segment syncs only; the index sync (fd -1) is skipped. */
static int count_sync(int fd, void *ctx)
{
    if (fd < 0)
        return 0;
    ((struct syncs *)ctx)->calls++;
    return fdatasync(fd);
}

/* Every exported record, as a JSON array. */
static json_t *export_all(struct rfx *x)
{
    char *out = NULL, *line, *nl;
    size_t len = 0;
    int64_t count = 0;
    FILE *mem = open_memstream(&out, &len);
    json_t *a = json_array();

    assert_int_equal(sp_register_export(x->r, 0, 0, mem, &count), SP_OK);
    fclose(mem);
    for (line = out; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        json_t *j = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, NULL);
        assert_non_null(j);
        json_array_append_new(a, j);
    }
    free(out);
    assert_int_equal((int64_t)json_array_size(a), count);
    return a;
}

static const char *jstr(json_t *a, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(a, i), key));
}

static void test_batch_two_days(void **state)
{
    struct rfx *x = *state;
    struct sp_register_prepared *v[6], *many[SP_REGISTER_BATCH_MAX + 1];
    int64_t seqs[6];
    struct syncs sc = {0};
    char path[256], id[16];
    json_t *all;

    append_msg(x->r, T0, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_first", NULL, "<a/>");
    sp_register_set_sync(x->r, count_sync, &sc);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "_b%d", i);
        /* three on day 0, two on day 1, then one whose clock went back to day 0 */
        v[i] = prep_text(i < 3 ? T0 + 1000 + i : i < 5 ? T0 + DAY_MS + i : T0 + 2, id, "<b/>");
    }
    assert_int_equal(sp_register_append_batch(x->r, v, 6, seqs), SP_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(seqs[i], 2 + i);
    assert_int_equal(sc.calls, 2); /* one fdatasync per segment, not per record */
    assert_int_equal(
        query_int(x->f->db, "SELECT records FROM register_days WHERE day = '2023-11-14'"), 4);
    assert_int_equal(
        query_int(x->f->db, "SELECT first_seq FROM register_days WHERE day = '2023-11-15'"), 5);
    assert_int_equal(
        query_int(x->f->db, "SELECT last_seq FROM register_days WHERE day = '2023-11-15'"), 7);
    for (int d = 0; d < 2; d++) {
        char sql[128];
        seg_path(x, d, path, sizeof(path));
        snprintf(sql, sizeof(sql), "SELECT bytes FROM register_days WHERE day = '2023-11-1%d'",
                 4 + d);
        assert_int_equal(file_size(path), query_int(x->f->db, sql));
    }
    expect_intact(x, 7);
    all = export_all(x);
    assert_int_equal(json_array_size(all), 7);
    assert_string_equal(jstr(all, 6, "id"), "_b5"); /* filed on day 1, in batch order */
    assert_string_equal(jstr(all, 6, "message"), "<b/>");
    json_decref(all);

    /* the index commit was made durable, and the connection's setting put back */
    assert_int_equal(query_int(x->f->db, "PRAGMA synchronous"), 1);
    assert_int_equal(sp_register_append_batch(x->r, v, 0, NULL), SP_OK);
    for (size_t i = 0; i < SP_REGISTER_BATCH_MAX + 1; i++)
        many[i] = v[0];
    assert_int_equal(sp_register_append_batch(x->r, many, SP_REGISTER_BATCH_MAX + 1, NULL),
                     SP_ERR_TOO_LARGE);
    for (int i = 0; i < 6; i++)
        sp_register_prepared_free(&v[i]);
    assert_null(v[0]);
    sp_register_prepared_free(NULL);
    sp_register_set_sync(x->r, NULL, NULL);
    assert_int_equal(sc.calls, 2);
    expect_intact(x, 7);
}

/* The message of exported record i, decoded. */
static void exported_message(json_t *all, size_t i, struct sp_buf *out)
{
    json_t *m = json_object_get(json_array_get(all, i), "message");
    const char *t;

    sp_buf_reset(out);
    if (m != NULL) { /* text, NULs included */
        sp_buf_add(out, json_string_value(m), json_string_length(m));
        return;
    }
    t = jstr(all, i, "message_base64");
    assert_non_null(t);
    assert_int_equal(sp_b64_decode(out, t, strlen(t)), SP_OK);
}

static void test_prepared_any_bytes(void **state)
{
    struct rfx *x = *state;
    unsigned char every[512];
    char nul[512];
    size_t nul_len = 0;
    char *big = malloc(SP_REGISTER_MAX_MESSAGE);
    unsigned seed = 3;
    struct {
        const void *p;
        size_t n;
    } msgs[4];
    struct sp_buf b;
    json_t *all;

    /* every byte value (no placeholder free: no dictionary), NUL (another
     * placeholder), the largest message, and a Response (the usual case) */
    for (size_t i = 0; i < sizeof(every); i++)
        every[i] = (unsigned char)(i * 7);
    /* the chain part of a header with NULs where seq, prev and hash go, twice:
     * what the compressor would match if it took NUL as the placeholder */
    for (int k = 0; k < 2; k++) {
        static const char *const part[] = {"{\"seq\":", ",\"prev\":\"", "\",\"hash\":\"", "\","};
        static const size_t zeros[] = {19, 64, 64, 0};
        for (int j = 0; j < 4; j++) {
            memcpy(nul + nul_len, part[j], strlen(part[j]));
            nul_len += strlen(part[j]);
            memset(nul + nul_len, 0, zeros[j]);
            nul_len += zeros[j];
        }
    }
    fake_b64(&seed, big, SP_REGISTER_MAX_MESSAGE - 1);
    big[SP_REGISTER_MAX_MESSAGE - 1] = '>';
    sp_buf_init(&b, 1 << 22);
    make_certs(&seed);
    {
        char id[42];
        response(&b, &seed, "_req", id);
    }
    msgs[0].p = every;
    msgs[0].n = sizeof(every);
    msgs[1].p = nul;
    msgs[1].n = nul_len;
    msgs[2].p = big;
    msgs[2].n = SP_REGISTER_MAX_MESSAGE;
    msgs[3].p = sp_buf_str(&b);
    msgs[3].n = b.len;
    for (int i = 0; i < 4; i++) {
        const struct sp_register_record rec = {.time_ms = T0 + i,
                                               .kind = SP_REGISTER_RESPONSE,
                                               .direction = SP_REGISTER_IN,
                                               .id = "_any",
                                               .in_response_to = "_req",
                                               .msg = msgs[i].p,
                                               .msg_len = msgs[i].n};
        int64_t seq = 0;
        assert_int_equal(sp_register_commit(x->r, &rec, &seq), SP_OK);
        assert_int_equal(seq, i + 1);
    }
    char *copy = malloc(b.len);
    memcpy(copy, b.data, b.len);
    msgs[3].p = copy;
    expect_intact(x, 4);
    all = export_all(x);
    for (int i = 0; i < 4; i++) {
        exported_message(all, (size_t)i, &b);
        assert_int_equal(b.len, msgs[i].n);
        assert_memory_equal(b.data, msgs[i].p, msgs[i].n);
    }
    json_decref(all);
    sp_buf_cleanup(&b);
    free(copy);
    free(big);
}

/* What the register does around its index commits, in order. */
struct trace {
    sqlite3 *db;
    char text[1024];
};

static void trace_add(struct trace *t, const char *tok)
{
    size_t l = strlen(t->text);
    snprintf(t->text + l, sizeof(t->text) - l, "%s ", tok);
}

static int trace_cb(unsigned type, void *ctx, void *p, void *x)
{
    struct trace *t = ctx;
    const char *sql = x;

    (void)type;
    (void)p;
    if (strncmp(sql, "INSERT INTO register_days", 25) == 0)
        trace_add(t, "ROW");
    else if (strcmp(sql, "COMMIT") == 0)
        trace_add(t, "COMMIT");
    return 0;
}

static int trace_sync(int fd, void *ctx)
{
    trace_add(ctx, fd >= 0 ? "SEGMENT-SYNC" : "INDEX-SYNC");
    return fd >= 0 ? fdatasync(fd) : 0;
}

/*
 * The index row is the commit point: frames synced, then the row committed,
 * then that commit synced, every time (and never under synchronous=FULL,
 * which would hold the database's write lock through an fsync).
 */
static void test_index_commit_is_durable(void **state)
{
    struct rfx *x = *state;
    struct trace t = {.db = sp_db_conn(x->f->db)};

    assert_int_equal(sqlite3_trace_v2(t.db, SQLITE_TRACE_STMT, trace_cb, &t), SQLITE_OK);
    sp_register_set_sync(x->r, trace_sync, &t);
    for (int i = 0; i < 2; i++)
        append_msg(x->r, T0 + i, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_d", NULL, "<d/>");
    sqlite3_trace_v2(t.db, 0, NULL, NULL);
    sp_register_set_sync(x->r, NULL, NULL);
    assert_string_equal(t.text, "SEGMENT-SYNC ROW COMMIT INDEX-SYNC "
                                "SEGMENT-SYNC ROW COMMIT INDEX-SYNC ");
    assert_int_equal(query_int(x->f->db, "PRAGMA synchronous"), 1);
    /* the real sync of the write-ahead log */
    append_msg(x->r, T0 + 2, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_d", NULL, "<d/>");
    expect_intact(x, 3);
}

static int fail_index_sync(int fd, void *ctx)
{
    (void)ctx;
    if (fd >= 0)
        return fdatasync(fd);
    errno = EIO;
    return -1;
}

/* The index commit happened but its sync failed: an error, and the register stays whole. */
static void test_index_sync_failure(void **state)
{
    struct rfx *x = *state;
    const struct sp_register_record rec = {.time_ms = T0,
                                           .kind = SP_REGISTER_AUTHN_REQUEST,
                                           .direction = SP_REGISTER_OUT,
                                           .id = "_s",
                                           .msg = "<s/>",
                                           .msg_len = 4};
    char path[256];

    append_msg(x->r, T0, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_a", NULL, "<a/>");
    sp_register_set_sync(x->r, fail_index_sync, NULL);
    assert_int_equal(sp_register_commit(x->r, &rec, NULL), SP_ERR_IO);
    sp_register_set_sync(x->r, NULL, NULL);
    /* committed, so kept (recorded but never acted on), and nothing cut under the row */
    seg_path(x, 0, path, sizeof(path));
    assert_int_equal(file_size(path), query_int(x->f->db, "SELECT bytes FROM register_days"));
    expect_intact(x, 2);
    assert_int_equal(
        append_msg(x->r, T0 + 1, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_b", NULL, "<b/>"),
        3);
    expect_intact(x, 3);
}

/* ------------------------------------------------------------------ crashes */

/* One day's index row, kept to be put back: the index as it was before a batch. */
struct row {
    int64_t first, last, records, bytes;
    char hash[65];
};

static void row_get(struct sp_db *db, const char *day, struct row *r)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db),
                                        "SELECT first_seq, last_seq, records, bytes, last_hash"
                                        " FROM register_days WHERE day = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    r->first = sqlite3_column_int64(st, 0);
    r->last = sqlite3_column_int64(st, 1);
    r->records = sqlite3_column_int64(st, 2);
    r->bytes = sqlite3_column_int64(st, 3);
    snprintf(r->hash, sizeof(r->hash), "%s", (const char *)sqlite3_column_text(st, 4));
    sqlite3_finalize(st);
}

static void row_put(struct sp_db *db, const char *day, const struct row *r)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "UPDATE register_days SET first_seq = %lld, last_seq = %lld, records = %lld,"
             " bytes = %lld, last_hash = '%s' WHERE day = '%s'",
             (long long)r->first, (long long)r->last, (long long)r->records, (long long)r->bytes,
             r->hash, day);
    exec_ok(db, sql);
}

/* A batch of n records at times at.., durable in the file; then the index as before it. */
static void crash_after_sync(struct rfx *x, const char *newest, int64_t at, int n, int64_t step)
{
    struct sp_register_prepared *v[8];
    struct row before;
    char id[16];

    row_get(x->f->db, newest, &before);
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "_lost%d", i);
        v[i] = prep_text(at + i * step, id, "<samlp:AuthnRequest ID=\"_lost\"/>");
    }
    assert_int_equal(sp_register_append_batch(x->r, v, (size_t)n, NULL), SP_OK);
    for (int i = 0; i < n; i++)
        sp_register_prepared_free(&v[i]);
    /* the crash: the frames and fdatasync happened, the index commit did not */
    row_put(x->f->db, newest, &before);
    {
        char sql[128];
        snprintf(sql, sizeof(sql), "DELETE FROM register_days WHERE day > '%s'", newest);
        exec_ok(x->f->db, sql);
    }
}

static void reopen(struct rfx *x)
{
    struct sp_buf err;

    sp_register_free(&x->r);
    sp_buf_init(&err, 4096);
    x->r = sp_register_open(x->dir, x->f->db, &err);
    prep_reg = x->r;
    sp_buf_cleanup(&err);
    assert_non_null(x->r);
}

static void test_crash_tail_cut(void **state)
{
    struct rfx *x = *state;
    char path[256];
    int64_t size;
    json_t *all;

    fill_three_days(x->r);
    seg_path(x, 2, path, sizeof(path));
    size = file_size(path);
    crash_after_sync(x, "2023-11-16", T0 + 2 * DAY_MS + 5000, 3, 1);
    assert_true(file_size(path) > size);

    /* longer than its row: not a problem, a notice; the tail is not exported */
    expect_notice(x, 9, "unacknowledged tail");
    all = export_all(x);
    assert_int_equal(json_array_size(all), 9);
    json_decref(all);

    /* after a restart, the next append cuts the tail and continues from record 9 */
    reopen(x);
    assert_int_equal(append_msg(x->r, T0 + 2 * DAY_MS + 9000, SP_REGISTER_RESPONSE, SP_REGISTER_IN,
                                "_after", "_id22", "<samlp:Response/>"),
                     10);
    assert_int_equal(
        file_size(path),
        query_int(x->f->db, "SELECT bytes FROM register_days WHERE day = '2023-11-16'"));
    expect_intact(x, 10);
    all = export_all(x);
    assert_string_equal(jstr(all, 9, "id"), "_after");
    json_decref(all);
}

static void test_crash_tail_cut_on_new_day(void **state)
{
    struct rfx *x = *state;
    char path[256];
    int64_t size;

    fill_three_days(x->r);
    seg_path(x, 2, path, sizeof(path));
    size = file_size(path);
    crash_after_sync(x, "2023-11-16", T0 + 2 * DAY_MS + 5000, 2, 1);
    /* the next record opens a new day: the newest row's segment is still cut */
    assert_int_equal(append_msg(x->r, T0 + 3 * DAY_MS, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT,
                                "_next", NULL, "<x/>"),
                     10);
    assert_int_equal(file_size(path), size);
    expect_intact(x, 10);
}

static void orphan_path(const struct rfx *x, int day, char *out, size_t n)
{
    snprintf(out, n, "%s/2023/11/%02d.spr", x->dir, day);
}

/* A batch that opened days 17 and 18 crashed before its index commit. */
static void crash_new_days(struct rfx *x)
{
    char p17[256], p18[256];

    fill_three_days(x->r);
    crash_after_sync(x, "2023-11-16", T0 + 3 * DAY_MS, 2, DAY_MS);
    orphan_path(x, 17, p17, sizeof(p17));
    orphan_path(x, 18, p18, sizeof(p18));
    assert_true(file_size(p17) > 0 && file_size(p18) > 0);
    assert_int_equal(query_int(x->f->db, "SELECT count(*) FROM register_days"), 3);
    expect_notice(x, 9, "after the newest indexed day");
}

static void test_crash_new_days_after_restart(void **state)
{
    struct rfx *x = *state;
    char p[256];

    crash_new_days(x);
    reopen(x);
    /* the first append after open removes them, even to the newest day */
    assert_int_equal(append_msg(x->r, T0 + 2 * DAY_MS + 9000, SP_REGISTER_AUTHN_REQUEST,
                                SP_REGISTER_OUT, "_r", NULL, "<x/>"),
                     10);
    orphan_path(x, 17, p, sizeof(p));
    assert_int_equal(file_size(p), -1);
    orphan_path(x, 18, p, sizeof(p));
    assert_int_equal(file_size(p), -1);
    expect_intact(x, 10);
}

static void test_crash_new_days_then_new_day(void **state)
{
    struct rfx *x = *state;
    char p[256];

    crash_new_days(x);
    /* a record of a later day: its batch starts a new day and removes both */
    assert_int_equal(append_msg(x->r, T0 + 5 * DAY_MS, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT,
                                "_r", NULL, "<x/>"),
                     10);
    orphan_path(x, 17, p, sizeof(p));
    assert_int_equal(file_size(p), -1);
    orphan_path(x, 18, p, sizeof(p));
    assert_int_equal(file_size(p), -1);
    expect_intact(x, 10);
}

static void test_tail_larger_than_a_batch(void **state)
{
    struct rfx *x = *state;
    char path[256];
    int64_t size;

    fill_three_days(x->r);
    seg_path(x, 2, path, sizeof(path));
    size = file_size(path);
    /* more past the row than one batch can write: not a crash (sparse, so cheap) */
    assert_int_equal(truncate(path, (off_t)(size + SP_REGISTER_BATCH_MAX_BYTES + 1)), 0);
    expect_problem(x, "bytes added");
    {
        const struct sp_register_record rec = {.time_ms = T0 + 2 * DAY_MS + 5000,
                                               .kind = SP_REGISTER_AUTHN_REQUEST,
                                               .direction = SP_REGISTER_OUT,
                                               .id = "_x",
                                               .msg = "<x/>",
                                               .msg_len = 4};
        assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INTEGRITY);
        assert_int_equal(sp_register_commit(x->r, &rec, NULL), SP_ERR_INTEGRITY);
    }
    assert_int_equal(file_size(path), size + SP_REGISTER_BATCH_MAX_BYTES + 1);
    assert_int_equal(truncate(path, (off_t)size), 0);
    append_msg(x->r, T0 + 2 * DAY_MS + 6000, SP_REGISTER_AUTHN_REQUEST, SP_REGISTER_OUT, "_y", NULL,
               "<y/>");
    expect_intact(x, 10);
}

/* ------------------------------------------------------------------ group commit */

#define GC_THREADS 8
#define GC_RECORDS 150

struct gc_worker {
    struct sp_app *app; /* NULL: sp_register_commit */
    struct sp_register *r;
    int n, failures;
    int64_t last_seq;
    int out_of_order;
};

static int slow_sync(int fd, void *ctx)
{
    struct timespec ts = {0, 2 * 1000 * 1000}; /* 2 ms: a slow disk, so callers pile up */

    (void)ctx;
    nanosleep(&ts, NULL);
    return fd >= 0 ? fdatasync(fd) : 0;
}

static void *gc_worker_main(void *arg)
{
    struct gc_worker *w = arg;

    for (int i = 0; i < GC_RECORDS; i++) {
        char id[32], msg[96];
        int64_t seq = 0;
        int resp = i % 2;
        snprintf(id, sizeof(id), "_g%d_%d", w->n, i);
        snprintf(msg, sizeof(msg), "<samlp:%s ID=\"%s\"/>", resp ? "Response" : "AuthnRequest", id);
        const struct sp_register_record rec = {.time_ms = T0 + i,
                                               .kind = resp ? SP_REGISTER_RESPONSE
                                                            : SP_REGISTER_AUTHN_REQUEST,
                                               .direction = resp ? SP_REGISTER_IN : SP_REGISTER_OUT,
                                               .id = id,
                                               .in_response_to = resp ? "_req" : NULL,
                                               .idp = IDP,
                                               .cf = resp ? CF : NULL,
                                               .msg = msg,
                                               .msg_len = strlen(msg)};
        enum sp_err rc =
            w->app != NULL ? sp_app_record(w->app, &rec) : sp_register_commit(w->r, &rec, &seq);
        if (rc != SP_OK)
            w->failures++;
        if (w->app == NULL) {
            if (seq <= w->last_seq)
                w->out_of_order++;
            w->last_seq = seq;
        }
    }
    return NULL;
}

static void test_group_commit_threads(void **state)
{
    struct rfx *x = *state;
    struct gc_worker w[GC_THREADS];
    pthread_t t[GC_THREADS];
    struct sp_register_stats st;
    struct sp_app app;
    struct sp_buf m;
    json_t *all;
    char *seen;
    const int total = GC_THREADS * GC_RECORDS;

    memset(&app, 0, sizeof(app));
    app.reg = x->r;
    sp_metrics_reset();
    sp_register_set_sync(x->r, slow_sync, NULL);
    for (int i = 0; i < GC_THREADS; i++) {
        w[i] = (struct gc_worker){i % 2 ? &app : NULL, x->r, i, 0, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, gc_worker_main, &w[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
        assert_int_equal(w[i].out_of_order, 0);
    }
    sp_register_set_sync(x->r, NULL, NULL);

    /* one chain, every record once, each thread's records in its own order */
    expect_intact(x, total);
    assert_int_equal(query_int(x->f->db, "SELECT last_seq FROM register_days"), total);
    all = export_all(x);
    assert_int_equal(json_array_size(all), total);
    seen = calloc((size_t)total, 1);
    for (int i = 0; i < total; i++) {
        int th = -1, k = -1;
        assert_int_equal(json_integer_value(json_object_get(json_array_get(all, (size_t)i), "seq")),
                         i + 1);
        assert_int_equal(sscanf(jstr(all, (size_t)i, "id"), "_g%d_%d", &th, &k), 2);
        assert_true(th >= 0 && th < GC_THREADS && k >= 0 && k < GC_RECORDS);
        assert_int_equal(seen[th * GC_RECORDS + k], 0);
        seen[th * GC_RECORDS + k] = 1;
    }
    free(seen);
    json_decref(all);

    /* the fsyncs were shared: far fewer batches than records */
    sp_register_stats(x->r, &st);
    print_message("register: %d records from %d threads in %lld batches (largest %lld)\n", total,
                  GC_THREADS, (long long)st.batches, (long long)st.largest);
    assert_int_equal(st.records, total);
    assert_int_equal(st.queued, 0);
    assert_true(st.largest > 1);
    assert_true(st.batches < total / 2);

    /* sp_app_record counted what it recorded */
    sp_buf_init(&m, 1 << 20);
    sp_metrics_render(&m);
    if (strstr(sp_buf_str(&m), "spid_sp_register_records_total{kind=\"authn_request\"} 300\n") ==
            NULL ||
        strstr(sp_buf_str(&m), "spid_sp_register_records_total{kind=\"response\"} 300\n") == NULL ||
        strstr(sp_buf_str(&m), "spid_sp_register_errors_total") != NULL)
        fail_msg("metrics:\n%s", sp_buf_str(&m));
    {
        const struct sp_register_record bad = {.time_ms = T0,
                                               .kind = "assertion",
                                               .direction = SP_REGISTER_IN,
                                               .id = "_a",
                                               .msg = "<x/>",
                                               .msg_len = 4};
        assert_int_equal(sp_app_record(&app, &bad), SP_ERR_INVALID);
    }
    sp_buf_reset(&m);
    sp_metrics_render(&m);
    if (strstr(sp_buf_str(&m), "spid_sp_register_errors_total 1\n") == NULL)
        fail_msg("metrics:\n%s", sp_buf_str(&m));
    sp_buf_cleanup(&m);
}

/* Refused records give back their place in the queue; a transaction is refused. */
static void test_group_commit_refusals(void **state)
{
    struct rfx *x = *state;
    struct sp_register_record rec = {.time_ms = T0,
                                     .kind = "assertion",
                                     .direction = SP_REGISTER_IN,
                                     .id = "_a",
                                     .msg = "<x/>",
                                     .msg_len = 4};
    int64_t seq = -1;

    for (unsigned i = 0; i < SP_REGISTER_BATCH_MAX + 10; i++)
        assert_int_equal(sp_register_commit(x->r, &rec, &seq), SP_ERR_INVALID);
    assert_int_equal(seq, 0);
    rec.kind = SP_REGISTER_RESPONSE;
    rec.msg_len = SP_REGISTER_MAX_MESSAGE + 1;
    assert_int_equal(sp_register_commit(x->r, &rec, NULL), SP_ERR_TOO_LARGE);
    rec.msg_len = 4;
    rec.cf = "\xff";
    assert_int_equal(sp_register_commit(x->r, &rec, NULL), SP_ERR_INVALID);
    rec.cf = NULL;

    assert_int_equal(sp_db_begin(x->f->db), SP_OK);
    assert_int_equal(sp_register_commit(x->r, &rec, NULL), SP_ERR_INTERNAL);
    assert_int_equal(sp_register_append(x->r, &rec, NULL), SP_ERR_INTERNAL);
    sp_db_rollback(x->f->db);

    assert_int_equal(sp_register_commit(x->r, &rec, &seq), SP_OK); /* no slot was lost */
    assert_int_equal(seq, 1);
    expect_intact(x, 1);
}

/* ------------------------------------------------------------------ a failed fdatasync */

#define FAIL_WAITERS 6

struct failer {
    struct sp_register *r;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls, entered, saw_queue;
};

/* The first batch (one record) waits until the others are queued behind it; the second fails. */
static int fail_second_sync(int fd, void *ctx)
{
    struct failer *f = ctx;
    struct sp_register_stats st;

    if (fd < 0)
        return 0;
    if (++f->calls > 1) {
        errno = EIO;
        return -1;
    }
    pthread_mutex_lock(&f->mu);
    f->entered = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < 10000; i++) {
        struct timespec ts = {0, 1000 * 1000};
        sp_register_stats(f->r, &st);
        if (st.queued == FAIL_WAITERS) {
            f->saw_queue = 1;
            break;
        }
        nanosleep(&ts, NULL);
    }
    return fdatasync(fd);
}

struct fail_worker {
    struct sp_register *r;
    char id[16];
    enum sp_err rc;
    int64_t seq;
};

static void *fail_worker_main(void *arg)
{
    struct fail_worker *w = arg;
    const struct sp_register_record rec = {.time_ms = T0,
                                           .kind = SP_REGISTER_AUTHN_REQUEST,
                                           .direction = SP_REGISTER_OUT,
                                           .id = w->id,
                                           .msg = "<samlp:AuthnRequest/>",
                                           .msg_len = 21};

    w->rc = sp_register_commit(w->r, &rec, &w->seq);
    return NULL;
}

static void test_failed_sync_every_waiter(void **state)
{
    struct rfx *x = *state;
    struct failer f = {.r = x->r, .calls = 0};
    struct fail_worker w[FAIL_WAITERS + 1];
    pthread_t t[FAIL_WAITERS + 1];
    struct sp_register_stats st;
    char path[256];

    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    sp_register_set_sync(x->r, fail_second_sync, &f);
    for (int i = 0; i <= FAIL_WAITERS; i++) {
        w[i] = (struct fail_worker){.r = x->r, .rc = SP_ERR_INTERNAL, .seq = -1};
        snprintf(w[i].id, sizeof(w[i].id), "_w%d", i);
    }
    /* the leader first, alone in its batch; the others queue while it syncs */
    assert_int_equal(pthread_create(&t[0], NULL, fail_worker_main, &w[0]), 0);
    pthread_mutex_lock(&f.mu);
    while (!f.entered)
        pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);
    for (int i = 1; i <= FAIL_WAITERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fail_worker_main, &w[i]), 0);
    for (int i = 0; i <= FAIL_WAITERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    sp_register_set_sync(x->r, NULL, NULL);

    assert_true(f.saw_queue);
    assert_int_equal(f.calls, 2); /* two batches: the leader's, then all the others */
    assert_int_equal(w[0].rc, SP_OK);
    assert_int_equal(w[0].seq, 1);
    for (int i = 1; i <= FAIL_WAITERS; i++) {
        assert_int_equal(w[i].rc, SP_ERR_IO); /* every waiter of the failed batch */
        assert_int_equal(w[i].seq, 0);
    }
    sp_register_stats(x->r, &st);
    assert_int_equal(st.batches, 2);
    assert_int_equal(st.largest, FAIL_WAITERS);

    /* nothing of the failed batch stays: the file is as long as its row, the chain goes on */
    seg_path(x, 0, path, sizeof(path));
    assert_int_equal(file_size(path), query_int(x->f->db, "SELECT bytes FROM register_days"));
    expect_intact(x, 1);
    w[1].rc = SP_ERR_INTERNAL;
    fail_worker_main(&w[1]);
    assert_int_equal(w[1].rc, SP_OK);
    assert_int_equal(w[1].seq, 2);
    expect_intact(x, 2);
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_across_days, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_refused, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_flip_byte, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_remove_frame, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_swap_frames, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_middle_day, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_truncate_last, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_index_row, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_unindexed_segment, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_append_is_cut, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_export_range, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_chain, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_two_threads, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_compression_shrinks_response, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_size_per_login, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_two_days, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_prepared_any_bytes, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_index_commit_is_durable, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_index_sync_failure, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_tail_cut, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_tail_cut_on_new_day, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_new_days_after_restart, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_new_days_then_new_day, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_tail_larger_than_a_batch, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_threads, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_refusals, rfx_setup, rfx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_every_waiter, rfx_setup, rfx_teardown),
    };
    sp_log_set_level(SP_LOG_ERROR);
    return cmocka_run_group_tests_name("register", tests, NULL, NULL);
}
