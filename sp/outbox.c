/*
 * outbox: SQL for the outbox table, the delivery pass and its thread.
 *
 * A row moves queued -> sending -> sent | queued (retry) | failed.
 *  - enqueue inserts 'queued' in the caller's transaction (or its own);
 *  - a pass first returns expired claims to 'queued' (a crash mid-send),
 *    then snapshots the due ids (next_at <= now, ordered by next_at, id) and
 *    for each one claims it with a conditional UPDATE (state 'queued' ->
 *    'sending'; exactly one connection sees a change), sends it outside any
 *    transaction, and records the outcome on the claimed row;
 *  - while a row is 'sending', next_at holds the end of the claim, so a
 *    claim left behind by a dead process is found by the same index.
 * Sent rows lose their body (the PIN halves); subject, channel, recipient
 * and times stay as the delivery record. Failed rows keep it for an operator
 * to resend.
 *
 * THREAD SAFETY NOTES: every function may run in any thread, on that
 * thread's connection (sp_db_conn). Two passes, in two threads or two
 * processes sharing the database file, never send the same row twice
 * within a claim period: the claim UPDATE is the only way into 'sending'.
 * The worker's fields are guarded by its mutex, except 'stopping', an
 * atomic read by the pass between two messages.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/notify.h"
#include "sp/outbox.h"

#define OUTBOX_CLAIM_SEC 600 /* a 'sending' row older than this is retried */
#define OUTBOX_DEFAULT_RETRY_BASE_SEC 30
#define OUTBOX_DEFAULT_RETRY_MAX_SEC 3600
#define OUTBOX_DEFAULT_MAX_ATTEMPTS 20
#define OUTBOX_DEFAULT_POLL_MS 1000
#define OUTBOX_MAX_ERROR 200    /* bytes of last_error */
#define OUTBOX_WORKER_BATCH 32u /* rows per pass of the worker */
#define OUTBOX_MAX_PURPOSE 64

static const char *const outbox_channel_names[] = {
    [SP_CHANNEL_EMAIL] = "email",
    [SP_CHANNEL_PEC] = "pec",
    [SP_CHANNEL_SMS] = "sms",
    [SP_CHANNEL_POST] = "post",
};

const char *sp_channel_name(enum sp_channel c)
{
    if ((unsigned)c < sizeof(outbox_channel_names) / sizeof(outbox_channel_names[0]))
        return outbox_channel_names[c];
    return "unknown";
}

enum sp_err sp_channel_parse(const char *s, enum sp_channel *out)
{
    for (unsigned i = 0;
         s != NULL && i < sizeof(outbox_channel_names) / sizeof(outbox_channel_names[0]); i++) {
        if (strcmp(s, outbox_channel_names[i]) == 0) {
            *out = (enum sp_channel)i;
            return SP_OK;
        }
    }
    return SP_ERR_INVALID;
}

/* ---------------------------------------------------------------------------
 * Enqueue
 * ------------------------------------------------------------------------ */

/* Each check logs its own reason (never the body or the recipient). */
static enum sp_err outbox_validate(const struct sp_message *m)
{
    const char *ch = sp_channel_name(m->channel);
    const char *purpose = m->purpose != NULL ? m->purpose : "-";

    if ((m->user_cf != NULL && !sp_notify_line_ok(m->user_cf)) ||
        (m->purpose != NULL &&
         (!sp_notify_line_ok(m->purpose) || strlen(m->purpose) > OUTBOX_MAX_PURPOSE))) {
        sp_warnx("outbox: refused a %s message: user_cf or purpose is not a short line", ch);
        return SP_ERR_INVALID;
    }
    if (strcmp(ch, "unknown") == 0) {
        sp_warnx("outbox: refused a message (%s): unknown channel %d", purpose, (int)m->channel);
        return SP_ERR_INVALID;
    }
    if (m->recipient == NULL || m->recipient[0] == '\0' ||
        !sp_notify_recipient_ok(m->channel, m->recipient)) {
        sp_warnx("outbox: refused a %s message (%s): recipient not valid for the channel", ch,
                 purpose);
        return SP_ERR_INVALID;
    }
    if (m->subject != NULL &&
        (!sp_notify_line_ok(m->subject) || strlen(m->subject) > SP_NOTIFY_MAX_SUBJECT)) {
        sp_warnx("outbox: refused a %s message (%s): subject is not one line of text", ch, purpose);
        return SP_ERR_INVALID;
    }
    if (m->body == NULL || m->body[0] == '\0' || strlen(m->body) > SP_NOTIFY_MAX_BODY ||
        !sp_notify_text_ok(m->body)) {
        sp_warnx("outbox: refused a %s message (%s): body empty, too long or not UTF-8 text", ch,
                 purpose);
        return SP_ERR_INVALID;
    }
    return SP_OK;
}

enum sp_err sp_outbox_enqueue(struct sp_db *db, const struct sp_message *m, int64_t now,
                              int64_t *id)
{
    static const char sql[] =
        "INSERT INTO outbox (channel, recipient, subject, body, user_cf, purpose, state,"
        " attempts, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', 0, ?7, ?7)";
    sqlite3_stmt *st;
    enum sp_err rc;

    if (m == NULL)
        return SP_ERR_INVALID;
    rc = outbox_validate(m);
    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, sql);
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, sp_channel_name(m->channel), -1, SQLITE_STATIC);
    sp_db_bind_text(st, 2, m->recipient);
    sp_db_bind_text(st, 3, m->subject);
    sp_db_bind_text(st, 4, m->body);
    sp_db_bind_text(st, 5, m->user_cf);
    sp_db_bind_text(st, 6, m->purpose);
    sqlite3_bind_int64(st, 7, now);
    /* id read before sp_db_done(): another insert on this connection comes later */
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "outbox_enqueue");
    else if (id != NULL)
        *id = sqlite3_last_insert_rowid(sp_db_conn(db));
    sp_db_done(st);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Delivery pass
 * ------------------------------------------------------------------------ */

/* One claimed row, as loaded for sending. Strings owned; body is secret. */
struct outbox_row {
    int64_t id, attempts, created_at;
    char *channel, *recipient, *subject, *body, *user_cf, *purpose;
};

static void outbox_row_cleanup(struct outbox_row *r)
{
    free(r->channel);
    free(r->recipient);
    free(r->subject);
    sp_free_secret(r->body);
    free(r->user_cf);
    free(r->purpose);
    memset(r, 0, sizeof(*r));
}

static unsigned outbox_setting(unsigned v, unsigned dflt)
{
    return v > 0 ? v : dflt;
}

/* Wait before attempt n+1 after n failed ones: base * 2^(n-1), capped at max. */
static int64_t outbox_backoff(const struct sp_notify_settings *ns, int64_t n)
{
    int64_t base = outbox_setting(ns->retry_base_sec, OUTBOX_DEFAULT_RETRY_BASE_SEC);
    int64_t max = outbox_setting(ns->retry_max_sec, OUTBOX_DEFAULT_RETRY_MAX_SEC);
    int64_t d = base;

    for (int64_t i = 1; i < n && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

static int64_t outbox_claim_sec(const struct sp_notify_settings *ns)
{
    int64_t t = 3 * (int64_t)ns->timeout_sec + 60; /* far beyond one attempt */
    return t > OUTBOX_CLAIM_SEC ? t : OUTBOX_CLAIM_SEC;
}

/* Claims whose time ran out (the sender died mid-send) go back to the queue,
 * counted as an attempt so that a message that kills its sender ends. */
static enum sp_err outbox_requeue_stale(struct sp_db *db, const struct sp_notify_settings *ns,
                                        int64_t now)
{
    static const char sql[] =
        "UPDATE outbox SET attempts = attempts + 1,"
        " state = CASE WHEN attempts + 1 >= ?2 THEN 'failed' ELSE 'queued' END,"
        " last_error = 'interrupted while sending (claim expired)'"
        " WHERE state = 'sending' AND next_at <= ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int n;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, outbox_setting(ns->max_attempts, OUTBOX_DEFAULT_MAX_ATTEMPTS));
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "outbox_requeue_stale");
    else if ((n = sqlite3_changes(sp_db_conn(db))) > 0)
        sp_warnx(
            "outbox: %d message(s) left in 'sending' by an interrupted sender are queued again", n);
    sp_db_done(st);
    return rc;
}

/* The due ids, oldest first; *ids is malloc'd (free it). limit 0: all. */
static enum sp_err outbox_due(struct sp_db *db, int64_t now, unsigned limit, int64_t **ids,
                              size_t *n)
{
    static const char sql[] = "SELECT id FROM outbox WHERE state = 'queued' AND next_at <= ?1"
                              " ORDER BY next_at, id LIMIT ?2";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    size_t cap = 0;
    int r;

    *ids = NULL;
    *n = 0;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, limit > 0 ? (int64_t)limit : -1);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *ids = sp_xrealloc(*ids, cap * sizeof(**ids));
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sp_db_done(st);
    if (r != SQLITE_DONE) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return sp_db_fail(db, "outbox_due");
    }
    return SP_OK;
}

/* 'queued' -> 'sending' for id if still due; *claimed says whether this
 * connection won it. */
static enum sp_err outbox_claim(struct sp_db *db, const struct sp_notify_settings *ns, int64_t id,
                                int64_t now, bool *claimed)
{
    static const char sql[] = "UPDATE outbox SET state = 'sending', next_at = ?3"
                              " WHERE id = ?1 AND state = 'queued' AND next_at <= ?2";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    *claimed = false;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now + outbox_claim_sec(ns));
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "outbox_claim");
    else
        *claimed = sqlite3_changes(sp_db_conn(db)) == 1;
    sp_db_done(st);
    return rc;
}

static enum sp_err outbox_load(struct sp_db *db, int64_t id, struct outbox_row *r)
{
    static const char sql[] = "SELECT channel, recipient, subject, body, user_cf, purpose,"
                              " attempts, created_at FROM outbox WHERE id = ?1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int s;

    memset(r, 0, sizeof(*r));
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        r->id = id;
        r->channel = sp_db_column_dup(st, 0);
        r->recipient = sp_db_column_dup(st, 1);
        r->subject = sp_db_column_dup(st, 2);
        r->body = sp_db_column_dup(st, 3);
        r->user_cf = sp_db_column_dup(st, 4);
        r->purpose = sp_db_column_dup(st, 5);
        r->attempts = sqlite3_column_int64(st, 6);
        r->created_at = sqlite3_column_int64(st, 7);
    } else {
        rc = s == SQLITE_DONE ? SP_ERR_NOT_FOUND : sp_db_fail(db, "outbox_load");
    }
    sp_db_done(st);
    return rc;
}

static enum sp_err outbox_mark_sent(struct sp_db *db, int64_t id, int64_t now)
{
    static const char sql[] =
        "UPDATE outbox SET state = 'sent', sent_at = ?2, body = NULL, attempts = attempts + 1,"
        " last_error = NULL, next_at = ?2 WHERE id = ?1 AND state = 'sending'";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "outbox_mark_sent");
    else if (sqlite3_changes(sp_db_conn(db)) != 1)
        sp_warnx("outbox: message %" PRId64 " was sent after its claim expired; "
                 "it may be delivered twice",
                 id);
    sp_db_done(st);
    return rc;
}

/* A failed attempt: back to 'queued' at next_at, or 'failed' for good. */
static enum sp_err outbox_mark_failed(struct sp_db *db, int64_t id, bool final, int64_t attempts,
                                      int64_t next_at, const char *error)
{
    static const char sql[] = "UPDATE outbox SET state = ?2, attempts = ?3, next_at = ?4,"
                              " last_error = ?5 WHERE id = ?1 AND state = 'sending'";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, final ? "failed" : "queued", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, attempts);
    sqlite3_bind_int64(st, 4, next_at);
    sp_db_bind_text(st, 5, error);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "outbox_mark_failed");
    sp_db_done(st);
    return rc;
}

/* err as one short line for last_error and the log. */
static void outbox_error_text(char *dst, size_t size, struct sp_buf *err)
{
    const char *s = err->len > 0 ? sp_buf_str(err) : "unknown error";
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < size; i++)
        dst[i] = (s[i] < 0x20 && s[i] >= 0) || s[i] == 0x7f ? ' ' : s[i];
    dst[i] = '\0';
}

/* Send the claimed row id once and record the outcome; *ok says whether it
 * was sent. An error return is a database failure only. */
static enum sp_err outbox_attempt(struct sp_db *db, const struct sp_notify_settings *ns, int64_t id,
                                  int64_t now, bool *ok)
{
    int64_t max_attempts = outbox_setting(ns->max_attempts, OUTBOX_DEFAULT_MAX_ATTEMPTS);
    char error[OUTBOX_MAX_ERROR + 1];
    struct outbox_row r;
    struct sp_message m;
    struct sp_buf err;
    const char *ch, *purpose;
    enum sp_err rc, send_rc;
    bool final;

    *ok = false;
    rc = outbox_load(db, id, &r);
    if (rc != SP_OK)
        return rc;
    sp_buf_init(&err, 512);
    memset(&m, 0, sizeof(m));
    m.recipient = r.recipient;
    m.subject = r.subject;
    m.body = r.body;
    m.user_cf = r.user_cf;
    m.purpose = r.purpose;
    if (sp_channel_parse(r.channel, &m.channel) != SP_OK) {
        sp_buf_addf(&err, "unknown channel");
        send_rc = SP_ERR_INVALID;
        ch = "unknown"; /* the table's text is not logged as it is */
    } else {
        send_rc = sp_notify_send(ns, &m, id, r.created_at, now, &err);
        ch = sp_channel_name(m.channel);
    }
    purpose = r.purpose != NULL && sp_notify_line_ok(r.purpose) ? r.purpose : "-";
    if (send_rc == SP_OK) {
        *ok = true;
        rc = outbox_mark_sent(db, id, now);
        if (rc == SP_OK)
            sp_info("outbox: message %" PRId64 " (%s, %s) sent", id, ch, purpose);
        goto out;
    }
    outbox_error_text(error, sizeof(error), &err);
    /* a message that cannot be sent as it is fails at once: retrying will not help */
    final = send_rc == SP_ERR_INVALID || r.attempts + 1 >= max_attempts;
    rc = outbox_mark_failed(db, id, final, r.attempts + 1,
                            final ? now : now + outbox_backoff(ns, r.attempts + 1), error);
    if (rc != SP_OK)
        goto out;
    if (final)
        sp_errorx("outbox: message %" PRId64 " (%s, %s) failed after %" PRId64
                  " attempt(s), giving up: %s",
                  id, ch, purpose, r.attempts + 1, error);
    else
        sp_warnx("outbox: message %" PRId64 " (%s, %s) attempt %" PRId64 " failed, next in %" PRId64
                 "s: %s",
                 id, ch, purpose, r.attempts + 1, outbox_backoff(ns, r.attempts + 1), error);
out:
    sp_buf_cleanup(&err);
    outbox_row_cleanup(&r);
    return rc;
}

static enum sp_err outbox_pass(struct sp_db *db, const struct sp_notify_settings *ns, int64_t now,
                               unsigned limit, unsigned *sent, unsigned *failed,
                               const atomic_bool *stopping)
{
    unsigned n_sent = 0, n_failed = 0;
    int64_t *ids = NULL;
    size_t n = 0;
    enum sp_err rc;

    rc = outbox_requeue_stale(db, ns, now);
    if (rc == SP_OK)
        rc = outbox_due(db, now, limit, &ids, &n);
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        bool claimed, ok;
        if (stopping != NULL && atomic_load(stopping))
            break;
        rc = outbox_claim(db, ns, ids[i], now, &claimed);
        if (rc != SP_OK || !claimed)
            continue; /* another sender has it */
        rc = outbox_attempt(db, ns, ids[i], now, &ok);
        if (rc == SP_OK && ok)
            n_sent++;
        else if (rc == SP_OK)
            n_failed++;
    }
    free(ids);
    if (sent != NULL)
        *sent = n_sent;
    if (failed != NULL)
        *failed = n_failed;
    return rc;
}

/*
 * limit 0 means no limit. *failed counts the failed attempts of this pass,
 * whether the message will be retried or has failed for good. Network I/O
 * runs outside any transaction: do not call this inside one.
 */
enum sp_err sp_outbox_deliver(struct sp_db *db, const struct sp_notify_settings *ns, int64_t now,
                              unsigned limit, unsigned *sent, unsigned *failed)
{
    return outbox_pass(db, ns, now, limit, sent, failed, NULL);
}

enum sp_err sp_outbox_counts(struct sp_db *db, struct sp_outbox_counts *out)
{
    static const char sql[] = "SELECT state, count(*) FROM outbox GROUP BY state";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    memset(out, 0, sizeof(*out));
    if (st == NULL)
        return SP_ERR_DB;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        int64_t c = sqlite3_column_int64(st, 1);
        if (state == NULL)
            continue;
        if (strcmp(state, "queued") == 0 || strcmp(state, "sending") == 0)
            out->queued += c;
        else if (strcmp(state, "sent") == 0)
            out->sent += c;
        else if (strcmp(state, "failed") == 0)
            out->failed += c;
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "outbox_counts");
}

/* ---------------------------------------------------------------------------
 * Worker thread
 * ------------------------------------------------------------------------ */

struct sp_outbox_worker {
    struct sp_db *db;
    const struct sp_notify_settings *ns; /* borrowed: outlives the worker */
    unsigned poll_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    bool kicked, stop;   /* under lock */
    atomic_bool stopping;
};

static void outbox_deadline(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *outbox_worker_main(void *arg)
{
    struct sp_outbox_worker *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        if (!w->kicked) {
            struct timespec until;
            outbox_deadline(&until, w->poll_ms);
            pthread_cond_timedwait(&w->cond, &w->lock, &until);
            if (w->stop)
                break;
        }
        w->kicked = false;
        pthread_mutex_unlock(&w->lock);
        for (;;) {
            unsigned sent = 0, failed = 0;
            if (outbox_pass(w->db, w->ns, sp_clock_now(), OUTBOX_WORKER_BATCH, &sent, &failed,
                            &w->stopping) != SP_OK)
                break; /* logged; the next pass tries again */
            /* a full batch: more may be due */
            if (sent + failed < OUTBOX_WORKER_BATCH || atomic_load(&w->stopping))
                break;
        }
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL; /* the thread's database connection closes with the thread */
}

/*
 * Start the delivery thread. db and ns are borrowed and must outlive the
 * worker (stop it before sp_db_close). poll_ms 0 means 1000. The first pass
 * runs at once, for messages left by an earlier run. NULL on failure (logged).
 */
struct sp_outbox_worker *
sp_outbox_worker_start(struct sp_db *db, const struct sp_notify_settings *ns, unsigned poll_ms)
{
    struct sp_outbox_worker *w = sp_xcalloc(1, sizeof(*w));
    pthread_condattr_t ca;
    sigset_t all, old;
    int rc;

    if (sp_notify_init() != SP_OK) {
        sp_errorx("outbox: cannot initialise libcurl");
        free(w);
        return NULL;
    }
    w->db = db;
    w->ns = ns;
    w->poll_ms = poll_ms > 0 ? poll_ms : OUTBOX_DEFAULT_POLL_MS;
    w->kicked = true;
    atomic_init(&w->stopping, false);
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    /* signals (SIGPIPE from a TLS write, SIGTERM) belong to the main thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&w->thread, NULL, outbox_worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        sp_errorx("outbox: cannot start the delivery thread: %s", strerror(rc));
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        sp_notify_cleanup();
        free(w);
        return NULL;
    }
    return w;
}

void sp_outbox_kick(struct sp_outbox_worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->kicked = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Stop and join: waits for the message being sent (at most one attempt's
 * timeout); the rest of the pass is left for the next start. */
void sp_outbox_worker_stop(struct sp_outbox_worker **wp)
{
    struct sp_outbox_worker *w = wp ? *wp : NULL;

    if (w == NULL)
        return;
    atomic_store(&w->stopping, true);
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    sp_notify_cleanup();
    free(w);
    *wp = NULL;
}
