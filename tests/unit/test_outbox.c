/*
 * test_outbox: the notification outbox without a network: enqueue checks per
 * channel, transactions, delivery through the postal spool (file content,
 * mode, body wiped), the retry schedule up to the final failure with an
 * unconfigured channel, claims (a pass never sends a row twice, two senders
 * never send the same row, an expired claim is retried) and the worker.
 * SMTP and SMS against real servers are in test_notify.c.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/notify.h"
#include "sp/outbox.h"
#include "sp_test_db.h"

#define T0 1700000000 /* 2023-11-14T22:13:20Z */
#define T0_DAY "20231114"
#define SECRET "La seconda metà del PIN è: 5678\n"
#define ADDRESS "Mario Rossi\nVia Roma 1\n00100 Roma RM"

/* ---- helpers -------------------------------------------------------------- */

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[1024];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    if (d != NULL)
        closedir(d);
    return n;
}

/* Text of one SQL value (a copy, "" for NULL), for assertions. */
static char *query_text(struct sp_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *v;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = strdup((const char *)sqlite3_column_text(st, 0));
    else
        v = strdup("");
    sqlite3_finalize(st);
    return v;
}

static void exec_sql(struct sp_db *db, const char *sql)
{
    assert_int_equal(sqlite3_exec(sp_db_conn(db), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* fx_teardown removes plain files only: the spool tree goes first. */
static int ofx_teardown(void **state)
{
    struct fx *f = *state;
    char spool[256];

    snprintf(spool, sizeof(spool), "%s/spool", f->dir);
    rm_tree(spool);
    return fx_teardown(state);
}

static struct sp_notify_settings settings(const char *spool)
{
    struct sp_notify_settings ns;
    memset(&ns, 0, sizeof(ns));
    ns.postal_spool_dir = spool;
    ns.timeout_sec = 5;
    ns.retry_base_sec = 30;
    ns.retry_max_sec = 3600;
    ns.max_attempts = 20;
    return ns;
}

static void spool_path(struct fx *f, char *out, size_t n)
{
    snprintf(out, n, "%s/spool/letters", f->dir); /* does not exist yet */
}

static int64_t enqueue_letter(struct sp_db *db, int64_t now)
{
    struct sp_message m = {SP_CHANNEL_POST,    ADDRESS,    "Il tuo PIN (seconda metà)", SECRET,
                           "RSSMRA80A01H501U", "pin.half2"};
    int64_t id = -1;
    assert_int_equal(sp_outbox_enqueue(db, &m, now, &id), SP_OK);
    assert_true(id > 0);
    return id;
}

static int64_t enqueue_sms(struct sp_db *db, int64_t now)
{
    struct sp_message m = {SP_CHANNEL_SMS, "+393331234567", NULL, "PIN: 1234", NULL, "pin.half1"};
    int64_t id = -1;
    assert_int_equal(sp_outbox_enqueue(db, &m, now, &id), SP_OK);
    return id;
}

static int64_t row_int(struct sp_db *db, const char *col, int64_t id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM outbox WHERE id = %lld", col, (long long)id);
    return query_int(db, sql);
}

static char *row_text(struct sp_db *db, const char *col, int64_t id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM outbox WHERE id = %lld", col, (long long)id);
    return query_text(db, sql);
}

static void assert_state(struct sp_db *db, int64_t id, const char *state)
{
    char *s = row_text(db, "state", id);
    assert_string_equal(s, state);
    free(s);
}

/* ---- channel names -------------------------------------------------------- */

static void test_channel_names(void **state)
{
    enum sp_channel c = SP_CHANNEL_EMAIL;
    const char *names[] = {"email", "pec", "sms", "post"};

    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_string_equal(sp_channel_name((enum sp_channel)i), names[i]);
        assert_int_equal(sp_channel_parse(names[i], &c), SP_OK);
        assert_int_equal((int)c, i);
    }
    assert_int_equal(sp_channel_parse("EMAIL", &c), SP_ERR_INVALID);
    assert_int_equal(sp_channel_parse("", &c), SP_ERR_INVALID);
    assert_int_equal(sp_channel_parse("fax", &c), SP_ERR_INVALID);
    assert_int_equal(sp_channel_parse(NULL, &c), SP_ERR_INVALID);
    assert_string_equal(sp_channel_name((enum sp_channel)42), "unknown");
}

/* ---- enqueue checks ------------------------------------------------------- */

static enum sp_err try_enqueue(struct sp_db *db, enum sp_channel c, const char *rcpt,
                               const char *subject, const char *body)
{
    struct sp_message m = {c, rcpt, subject, body, NULL, "test"};
    return sp_outbox_enqueue(db, &m, T0, NULL);
}

static void test_enqueue_validation(void **state)
{
    struct fx *f = *state;
    char big[SP_NOTIFY_MAX_BODY + 2];
    struct sp_message m = {SP_CHANNEL_EMAIL, "a@b.it", "s", "x", NULL, NULL};
    static const char *bad_email[] = {
        "",
        "mario.rossi",
        "@example.it",
        "mario@",
        "a@b@c.it",
        "mario rossi@example.it",
        "mario@example.it\r\nBcc: x@evil.it",
        "mario@example.it\n",
        "a@b.it>,<c@d.it",
        "a,b@c.it",
        "<a@b.it>",
        "a\t@b.it",
        "mà@b.it",
        "a@b.it;c",
        "\"a\"@b.it",
    };
    static const char *bad_phone[] = {
        "",
        "3331234567",
        "+3933312",
        "+39 333 1234567",
        "+3933312345678901",
        "++39333123456",
        "+39333123456a",
        "+39333123\n4567",
        "+",
    };

    /* e-mail and PEC: one '@', nothing that could end or add a header */
    for (size_t i = 0; i < sizeof(bad_email) / sizeof(bad_email[0]); i++) {
        assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, bad_email[i], "s", "b"),
                         SP_ERR_INVALID);
        assert_int_equal(try_enqueue(f->db, SP_CHANNEL_PEC, bad_email[i], "s", "b"),
                         SP_ERR_INVALID);
    }
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "mario.rossi+pin@example.it", "s", "b"),
                     SP_OK);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_PEC, "mario.rossi@pec.example.it", "s", "b"),
                     SP_OK);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b", NULL, "no subject"), SP_OK);

    /* SMS: '+' and 8 to 15 digits */
    for (size_t i = 0; i < sizeof(bad_phone) / sizeof(bad_phone[0]); i++)
        assert_int_equal(try_enqueue(f->db, SP_CHANNEL_SMS, bad_phone[i], NULL, "b"),
                         SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_SMS, "+39333123", NULL, "b"), SP_OK);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_SMS, "+393331234567890", NULL, "b"), SP_OK);
    /* an e-mail address is no phone number and the other way round */
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_SMS, "a@b.it", NULL, "b"), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "+393331234567", "s", "b"),
                     SP_ERR_INVALID);

    /* post: a multi-line address block, but no CR or other controls */
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_POST, ADDRESS, "s", "b"), SP_OK);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_POST, "", "s", "b"), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_POST, "Mario\r\nRoma", "s", "b"),
                     SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_POST, "Mario\x01Roma", "s", "b"),
                     SP_ERR_INVALID);

    /* subjects are one line on every channel; bodies are non-empty UTF-8 */
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "PIN\r\nBcc: x@evil.it", "b"),
                     SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "PIN\n", "b"), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_POST, ADDRESS, "Oggetto\rx", "b"),
                     SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", ""), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", NULL), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, NULL, "s", "b"), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", "\xc3\x28"),
                     SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", "bell\a"), SP_ERR_INVALID);
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", "riga\r\nriga\tx\n"),
                     SP_OK);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", big), SP_ERR_INVALID);
    big[SP_NOTIFY_MAX_BODY] = '\0';
    assert_int_equal(try_enqueue(f->db, SP_CHANNEL_EMAIL, "a@b.it", "s", big), SP_OK);
    assert_int_equal(try_enqueue(f->db, (enum sp_channel)9, "a@b.it", "s", "b"), SP_ERR_INVALID);
    assert_int_equal(sp_outbox_enqueue(f->db, NULL, T0, NULL), SP_ERR_INVALID);
    m.purpose = "pin\nhalf";
    assert_int_equal(sp_outbox_enqueue(f->db, &m, T0, NULL), SP_ERR_INVALID);

    /* only the accepted ones are in the table, all queued and due now */
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 8);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox WHERE state = 'queued'"
                                      " AND attempts = 0 AND next_at = 1700000000"
                                      " AND created_at = 1700000000"),
                     8);
}

static void test_enqueue_fields_and_transactions(void **state)
{
    struct fx *f = *state;
    struct sp_outbox_counts c;
    int64_t id = -1, id2 = -1;
    char *s;

    /* the message exists exactly when the caller's change commits */
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    id = enqueue_letter(f->db, T0);
    sp_db_rollback(f->db);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 0);

    assert_int_equal(sp_db_begin(f->db), SP_OK);
    id = enqueue_letter(f->db, T0);
    id2 = enqueue_sms(f->db, T0 + 5);
    assert_int_equal(sp_db_commit(f->db), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 2);
    assert_true(id2 == id + 1);

    s = row_text(f->db,
                 "channel || '|' || recipient || '|' || subject || '|' || user_cf || '|' || "
                 "purpose || '|' || state",
                 id);
    assert_string_equal(s, "post|" ADDRESS "|Il tuo PIN (seconda metà)|RSSMRA80A01H501U|"
                           "pin.half2|queued");
    free(s);
    s = row_text(f->db, "body", id);
    assert_string_equal(s, SECRET);
    free(s);
    assert_int_equal(row_int(f->db, "subject IS NULL AND user_cf IS NULL", id2), 1);
    assert_int_equal(row_int(f->db, "next_at", id2), T0 + 5);

    assert_int_equal(sp_outbox_counts(f->db, &c), SP_OK);
    assert_int_equal(c.queued, 2);
    assert_int_equal(c.sent, 0);
    assert_int_equal(c.failed, 0);
}

/* ---- delivery through the postal spool ------------------------------------ */

static void test_deliver_post(void **state)
{
    struct fx *f = *state;
    char spool[256], path[512];
    struct sp_notify_settings ns;
    struct sp_outbox_counts c;
    struct sp_buf content;
    struct stat st;
    unsigned sent = 99, failed = 99;
    int64_t id;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    id = enqueue_letter(f->db, T0);
    /* not due yet */
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 - 1, 10, &sent, &failed), SP_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 0);

    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 7, 10, &sent, &failed), SP_OK);
    assert_int_equal(sent, 1);
    assert_int_equal(failed, 0);

    /* <spool>/<YYYYMMDD>-<id>.txt, 0600, in a directory created 0700 */
    snprintf(path, sizeof(path), "%s/" T0_DAY "-%lld.txt", spool, (long long)id);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(spool, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(count_files(spool), 1);
    sp_buf_init(&content, 1 << 16);
    assert_int_equal(sp_file_read(path, &content), SP_OK);
    assert_string_equal(sp_buf_str(&content), ADDRESS "\n\nIl tuo PIN (seconda metà)\n\n" SECRET);
    sp_buf_cleanup(&content);

    /* the delivery record stays, the secret goes */
    assert_state(f->db, id, "sent");
    assert_int_equal(row_int(f->db, "body IS NULL", id), 1);
    assert_int_equal(row_int(f->db, "sent_at", id), T0 + 7);
    assert_int_equal(row_int(f->db, "attempts", id), 1);
    assert_int_equal(row_int(f->db, "last_error IS NULL", id), 1);
    assert_int_equal(row_int(f->db, "length(subject) > 0 AND length(recipient) > 0", id), 1);
    assert_int_equal(sp_outbox_counts(f->db, &c), SP_OK);
    assert_int_equal(c.queued, 0);
    assert_int_equal(c.sent, 1);

    /* a letter without subject, no trailing newline in the body */
    {
        struct sp_message m = {SP_CHANNEL_POST, "Anna Bianchi\nRoma", NULL, "corpo", NULL, NULL};
        assert_int_equal(sp_outbox_enqueue(f->db, &m, T0 + 86400, &id), SP_OK);
        assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 86400, 0, &sent, NULL), SP_OK);
        assert_int_equal(sent, 1);
        snprintf(path, sizeof(path), "%s/20231115-%lld.txt", spool, (long long)id);
        sp_buf_init(&content, 1 << 16);
        assert_int_equal(sp_file_read(path, &content), SP_OK);
        assert_string_equal(sp_buf_str(&content), "Anna Bianchi\nRoma\n\ncorpo\n");
        sp_buf_cleanup(&content);
    }
}

/* A retried letter keeps its file name (the creation day), so a retry after a
 * crash mid-send replaces the first copy instead of printing a second one. */
static void test_post_name_stable_across_days(void **state)
{
    struct fx *f = *state;
    char spool[256], path[512];
    struct sp_notify_settings ns;
    unsigned sent = 0;
    int64_t id;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    id = enqueue_letter(f->db, T0);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 3 * 86400, 0, &sent, NULL), SP_OK);
    assert_int_equal(sent, 1);
    snprintf(path, sizeof(path), "%s/" T0_DAY "-%lld.txt", spool, (long long)id);
    assert_int_equal(sp_file_exists(path), SP_OK);
}

static void test_post_spool_unwritable(void **state)
{
    struct fx *f = *state;
    char file[256];
    struct sp_notify_settings ns;
    unsigned sent = 9, failed = 9;
    int64_t id;
    char *err;
    FILE *fp;

    /* the spool "directory" is a regular file: every attempt fails, retried */
    snprintf(file, sizeof(file), "%s/not-a-dir", f->dir);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    ns = settings(file);
    id = enqueue_letter(f->db, T0);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    assert_state(f->db, id, "queued");
    assert_int_equal(row_int(f->db, "next_at", id), T0 + 30);
    err = row_text(f->db, "last_error", id);
    assert_non_null(strstr(err, "postal_spool_dir"));
    free(err);
    unlink(file);
}

/* ---- retries -------------------------------------------------------------- */

static void test_retry_schedule_and_final_failure(void **state)
{
    struct fx *f = *state;
    struct sp_notify_settings ns = settings(NULL);
    /* attempt k fails at at[k]; the next is due base * 2^(k-1) later, capped */
    static const int64_t at[] = {T0, T0 + 30, T0 + 90, T0 + 190, T0 + 290};
    struct sp_outbox_counts c;
    unsigned sent, failed;
    int64_t id;
    char *s;

    ns.retry_base_sec = 30;
    ns.retry_max_sec = 100;
    ns.max_attempts = 5;
    id = enqueue_sms(f->db, T0); /* sms_url NULL: not configured */
    for (int k = 0; k < 5; k++) {
        /* one second early: nothing happens */
        if (k > 0) {
            assert_int_equal(sp_outbox_deliver(f->db, &ns, at[k] - 1, 0, &sent, &failed), SP_OK);
            assert_int_equal(sent + failed, 0);
            assert_int_equal(row_int(f->db, "attempts", id), k);
        }
        assert_int_equal(sp_outbox_deliver(f->db, &ns, at[k], 0, &sent, &failed), SP_OK);
        assert_int_equal(sent, 0);
        assert_int_equal(failed, 1);
        assert_int_equal(row_int(f->db, "attempts", id), k + 1);
        if (k < 4) {
            assert_state(f->db, id, "queued");
            assert_int_equal(row_int(f->db, "next_at", id), at[k + 1]);
        }
    }
    assert_state(f->db, id, "failed");
    s = row_text(f->db, "last_error", id);
    assert_non_null(strstr(s, "not configured"));
    assert_null(strstr(s, "PIN"));
    free(s);
    /* failed for good: no further attempt, ever */
    assert_int_equal(sp_outbox_deliver(f->db, &ns, at[4] + 100000, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent + failed, 0);
    assert_int_equal(row_int(f->db, "attempts", id), 5);
    assert_int_equal(sp_outbox_counts(f->db, &c), SP_OK);
    assert_int_equal(c.queued, 0);
    assert_int_equal(c.failed, 1);

    /* "" is as unconfigured as NULL, and the default back-off starts at 30 s */
    ns = settings("");
    ns.retry_base_sec = 0;
    id = enqueue_letter(f->db, T0);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(row_int(f->db, "next_at", id), T0 + 30);
}

static void test_backoff_cap_default(void **state)
{
    struct fx *f = *state;
    struct sp_notify_settings ns = settings(NULL);
    unsigned failed;
    int64_t id, now = T0;

    /* defaults when zero: base 30, cap 3600, 20 attempts */
    ns.retry_base_sec = 0;
    ns.retry_max_sec = 0;
    ns.max_attempts = 0;
    id = enqueue_sms(f->db, T0);
    for (int k = 1; k <= 20; k++) {
        int64_t want = 30LL << (k - 1);
        if (want > 3600)
            want = 3600;
        assert_int_equal(sp_outbox_deliver(f->db, &ns, now, 0, NULL, &failed), SP_OK);
        assert_int_equal(failed, 1);
        if (k < 20) {
            assert_int_equal(row_int(f->db, "next_at", id) - now, want);
            now = row_int(f->db, "next_at", id);
        }
    }
    assert_state(f->db, id, "failed");
}

/* ---- claims --------------------------------------------------------------- */

static void test_claim_idempotent(void **state)
{
    struct fx *f = *state;
    char spool[256];
    struct sp_notify_settings ns;
    unsigned sent, failed;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    enqueue_letter(f->db, T0);
    enqueue_letter(f->db, T0);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 2);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent + failed, 0);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 1000, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent + failed, 0);
    assert_int_equal(count_files(spool), 2);
    assert_int_equal(query_int(f->db, "SELECT sum(attempts) FROM outbox"), 2);

    /* a message failing with no back-off to speak of is still tried once a pass */
    ns = settings(NULL);
    ns.retry_base_sec = 1;
    enqueue_sms(f->db, T0);
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 5, 0, &sent, &failed), SP_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(query_int(f->db, "SELECT attempts FROM outbox WHERE channel = 'sms'"), 1);
}

static void test_claimed_row_not_sent_again(void **state)
{
    struct fx *f = *state;
    char spool[256];
    struct sp_notify_settings ns;
    unsigned sent, failed;
    int64_t id;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    id = enqueue_letter(f->db, T0);
    /* another sender holds it, its claim runs until T0 + 600 */
    exec_sql(f->db, "UPDATE outbox SET state = 'sending', next_at = 1700000600");
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 599, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent + failed, 0);
    assert_state(f->db, id, "sending");
    assert_int_equal(count_files(spool), 0);
}

static void test_stale_sending_retried(void **state)
{
    struct fx *f = *state;
    char spool[256];
    struct sp_notify_settings ns;
    struct sp_outbox_counts c;
    unsigned sent, failed;
    int64_t id, id2;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    id = enqueue_letter(f->db, T0);
    id2 = enqueue_letter(f->db, T0);
    /* a sender died mid-send: its claim ended at T0 + 600 */
    exec_sql(f->db, "UPDATE outbox SET state = 'sending', next_at = 1700000600");
    assert_int_equal(sp_outbox_counts(f->db, &c), SP_OK);
    assert_int_equal(c.queued, 2); /* in flight counts as queued */
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 600, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 2);
    assert_int_equal(failed, 0);
    assert_state(f->db, id, "sent");
    assert_state(f->db, id2, "sent");
    /* the interrupted attempt counts */
    assert_int_equal(row_int(f->db, "attempts", id), 2);
    assert_int_equal(count_files(spool), 2);

    /* a message that kept killing its sender ends as failed */
    ns.max_attempts = 3;
    id = enqueue_letter(f->db, T0);
    exec_sql(f->db, "UPDATE outbox SET state = 'sending', attempts = 2, next_at = 1700000000"
                    " WHERE state = 'queued'");
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent + failed, 0);
    assert_state(f->db, id, "failed");
}

static void test_limit_and_order(void **state)
{
    struct fx *f = *state;
    char spool[256], path[512];
    struct sp_notify_settings ns;
    unsigned sent;
    int64_t a, b, c;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    a = enqueue_letter(f->db, T0 + 20);
    b = enqueue_letter(f->db, T0 + 10);
    c = enqueue_letter(f->db, T0 + 10);
    /* ordered by next_at, then id: b, c, a */
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 30, 1, &sent, NULL), SP_OK);
    assert_int_equal(sent, 1);
    assert_state(f->db, b, "sent");
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 30, 1, &sent, NULL), SP_OK);
    assert_state(f->db, c, "sent");
    assert_state(f->db, a, "queued");
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0 + 30, 5, &sent, NULL), SP_OK);
    assert_int_equal(sent, 1);
    assert_state(f->db, a, "sent");
    snprintf(path, sizeof(path), "%s/" T0_DAY "-%lld.txt", spool, (long long)a);
    assert_int_equal(sp_file_exists(path), SP_OK);
}

/* A row that reached the table without sp_outbox_enqueue() still cannot inject
 * headers, and an unknown channel fails at once rather than 20 times. */
static void test_send_side_checks(void **state)
{
    struct fx *f = *state;
    struct sp_notify_settings ns = settings(NULL);
    unsigned sent, failed;

    ns.smtp_url = "smtp://127.0.0.1:1";
    ns.smtp_from = "noreply@sp.example.it";
    exec_sql(f->db, "INSERT INTO outbox (channel, recipient, subject, body, next_at, created_at)"
                    " VALUES ('email', 'a@b.it' || char(13, 10) || 'Bcc: x@evil.it', 's', 'b',"
                    " 0, 0),"
                    " ('email', 'a@b.it', 'PIN' || char(10) || 'Bcc: x@evil.it', 'b', 0, 0),"
                    " ('fax', '+3906123456', 's', 'b', 0, 0)");
    assert_int_equal(sp_outbox_deliver(f->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 3);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox WHERE state = 'failed'"
                                      " AND attempts = 1 AND body IS NOT NULL"),
                     3);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox WHERE last_error LIKE "
                                      "'%unknown channel%'"),
                     1);
}

/* ---- two senders ---------------------------------------------------------- */

#define RACE_MESSAGES 40

struct racer {
    struct sp_db *db;
    const struct sp_notify_settings *ns;
    unsigned sent;
    enum sp_err rc;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    unsigned failed = 0;
    r->rc = sp_outbox_deliver(r->db, r->ns, T0, 0, &r->sent, &failed);
    if (failed != 0)
        r->rc = SP_ERR_INTERNAL;
    return NULL;
}

static void test_two_senders_never_send_twice(void **state)
{
    struct fx *f = *state;
    char spool[256];
    struct sp_notify_settings ns;
    struct racer r[2];
    pthread_t t[2];
    int pipefd[2];
    unsigned child_sent = 0;
    pid_t pid;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    for (int i = 0; i < RACE_MESSAGES; i++)
        enqueue_letter(f->db, T0);
    assert_int_equal(sp_file_mkdirs(spool, 0700), SP_OK);

    /* another process on the same file (its own connection and locks) ...
     * SQLite connections must not cross fork(): both sides open afresh */
    sp_db_close(&f->db);
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sp_buf err;
        struct sp_db *db;
        unsigned sent = 0, failed = 0;
        close(pipefd[0]);
        sp_buf_init(&err, 256);
        db = sp_db_open(f->path, &err);
        if (db == NULL || sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed) != SP_OK || failed != 0)
            _exit(1);
        if (write(pipefd[1], &sent, sizeof(sent)) != (ssize_t)sizeof(sent))
            _exit(1);
        sp_db_close(&db);
        _exit(0);
    }
    close(pipefd[1]);
    {
        struct sp_buf err;
        sp_buf_init(&err, 256);
        f->db = sp_db_open(f->path, &err);
        sp_buf_cleanup(&err);
        assert_non_null(f->db);
    }
    /* ... and two threads of this one */
    for (int i = 0; i < 2; i++) {
        r[i].db = f->db;
        r[i].ns = &ns;
        r[i].sent = 0;
        r[i].rc = SP_OK;
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(r[i].rc, SP_OK);
    }
    {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(read(pipefd[0], &child_sent, sizeof(child_sent)),
                         (ssize_t)sizeof(child_sent));
        close(pipefd[0]);
    }
    assert_int_equal(r[0].sent + r[1].sent + child_sent, RACE_MESSAGES);
    assert_int_equal(count_files(spool), RACE_MESSAGES);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox WHERE state = 'sent'"
                                      " AND attempts = 1 AND body IS NULL"),
                     RACE_MESSAGES);
}

/* ---- worker --------------------------------------------------------------- */

static bool wait_sent(struct sp_db *db, int64_t want)
{
    struct sp_outbox_counts c;
    for (int i = 0; i < 500; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (sp_outbox_counts(db, &c) == SP_OK && c.sent >= want)
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_worker(void **state)
{
    struct fx *f = *state;
    char spool[256];
    struct sp_notify_settings ns;
    struct sp_outbox_worker *w;

    spool_path(f, spool, sizeof(spool));
    ns = settings(spool);
    sp_outbox_kick(NULL);
    sp_outbox_worker_stop(NULL);
    /* left over from an earlier run: sent by the first pass */
    enqueue_letter(f->db, sp_clock_now());
    /* a long poll: only the start pass and kicks can send in time */
    w = sp_outbox_worker_start(f->db, &ns, 60000);
    assert_non_null(w);
    assert_true(wait_sent(f->db, 1));
    enqueue_letter(f->db, sp_clock_now());
    sp_outbox_kick(w);
    assert_true(wait_sent(f->db, 2));
    for (int i = 0; i < 40; i++) /* more than one batch */
        enqueue_letter(f->db, sp_clock_now());
    sp_outbox_kick(w);
    assert_true(wait_sent(f->db, 42));
    sp_outbox_worker_stop(&w);
    assert_null(w);
    assert_int_equal(count_files(spool), 42);

    /* a short poll finds new messages without a kick */
    w = sp_outbox_worker_start(f->db, &ns, 20);
    assert_non_null(w);
    enqueue_letter(f->db, sp_clock_now());
    assert_true(wait_sent(f->db, 43));
    sp_outbox_worker_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_names),
        cmocka_unit_test_setup_teardown(test_enqueue_validation, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_fields_and_transactions, fx_setup,
                                        ofx_teardown),
        cmocka_unit_test_setup_teardown(test_deliver_post, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_post_name_stable_across_days, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_post_spool_unwritable, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_retry_schedule_and_final_failure, fx_setup,
                                        ofx_teardown),
        cmocka_unit_test_setup_teardown(test_backoff_cap_default, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_idempotent, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_claimed_row_not_sent_again, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_stale_sending_retried, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_limit_and_order, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_send_side_checks, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_two_senders_never_send_twice, fx_setup, ofx_teardown),
        cmocka_unit_test_setup_teardown(test_worker, fx_setup, ofx_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    sp_log_set_level(SP_LOG_ERROR);
    return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
