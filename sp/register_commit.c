/*
 * register_commit: group commit for the transaction register. Many callers
 * (request threads) share one write, one fdatasync and one index commit.
 *
 * GROUP COMMIT NOTES. Leader/follower, no thread of its own:
 *  1. a caller reserves room (one slot and an upper bound of its frame's
 *     bytes); when SP_REGISTER_BATCH_MAX slots or SP_REGISTER_BATCH_MAX_BYTES
 *     are taken it waits (backpressure): the queue, and the memory of the
 *     records in it, stay bounded;
 *  2. it checks and compresses its record on its own thread, with no lock
 *     (sp_register_prepare), so compression runs in parallel;
 *  3. it queues the record and, if no batch is being written, becomes the
 *     leader: it takes the whole queue, its own record included, writes it
 *     as one batch (sp_register_append_batch: write, fdatasync, one durable
 *     index commit) without holding the queue lock, then hands every record
 *     of the batch its result and wakes them. Otherwise it waits on its
 *     own condition variable; when a batch ends, the first waiter still
 *     queued is woken, becomes the next leader and takes everything that
 *     queued up meanwhile. Only those threads wake: no thundering herd.
 * A caller returns only once the batch holding its record is durable, or
 * with that batch's error: a batch is all or nothing.
 *
 * Why no writer thread: the leader is a thread that would otherwise sit
 * waiting for the same fsync, so nothing is handed over (no extra wake-up
 * on the path of the first record), there is nothing to start or stop with
 * the daemon, and the CLI and tests get the same code. The index commit runs
 * on the leader's own database connection, made durable for that commit
 * (register.c), so any thread may lead.
 *
 * THREAD SAFETY NOTES: gc.mu guards the queue and counters; a waiter's entry
 * lives on its stack and is only touched under gc.mu until done is set; the
 * batch itself runs under the register lock (register.c), never under
 * gc.mu, so callers keep queueing while a leader writes. Callers must hold
 * no database transaction: the leader takes the database write lock.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sp/log.h"
#include "sp/mem.h"
#include "sp/register.h"
#include "register_priv.h"

/* An upper bound of the frame bytes of a message of len bytes (header fields included). */
#define REG_GC_FRAME_OVERHEAD (64u * 1024u + 1024u) /* the header's bound, zlib and framing */

struct reg_waiter {
    pthread_cond_t cv; /* its batch is done, or it is first in the queue and may lead */
    struct sp_register_prepared *p;
    size_t bytes; /* reserved */
    int64_t seq;
    enum sp_err rc;
    int done;
    struct reg_waiter *next;
};

void reg_gc_init(struct reg_gc *gc)
{
    memset(gc, 0, sizeof(*gc));
    pthread_mutex_init(&gc->mu, NULL);
    pthread_cond_init(&gc->space, NULL);
}

void reg_gc_cleanup(struct reg_gc *gc)
{
    pthread_cond_destroy(&gc->space);
    pthread_mutex_destroy(&gc->mu);
}

static size_t gc_bound(size_t msg_len)
{
    return (size_t)compressBound((uLong)msg_len) + REG_GC_FRAME_OVERHEAD;
}

/* Under gc->mu: release a caller's reservation. */
static void gc_release(struct reg_gc *gc, size_t bytes)
{
    gc->slots--;
    gc->bytes -= bytes;
    pthread_cond_broadcast(&gc->space);
}

/* Under gc->mu (dropped while writing): write the whole queue as one batch. */
static void gc_lead(struct sp_register *r)
{
    struct reg_gc *gc = &r->gc;
    struct reg_waiter *w, *batch = gc->head;
    size_t n = gc->queued, i = 0;
    struct sp_register_prepared **v = sp_xcalloc(n, sizeof(*v));
    int64_t *seqs = sp_xcalloc(n, sizeof(*seqs));
    enum sp_err rc;

    for (w = batch; w != NULL; w = w->next)
        v[i++] = w->p;
    SP_ASSERT(i == n && n > 0);
    gc->head = gc->tail = NULL;
    gc->queued = 0;
    gc->leading = 1;
    pthread_mutex_unlock(&gc->mu);

    rc = sp_register_append_batch(r, v, n, seqs);

    pthread_mutex_lock(&gc->mu);
    i = 0;
    for (w = batch; w != NULL;) {
        struct reg_waiter *next = w->next; /* w may go once done is set and gc.mu dropped */
        w->rc = rc;
        w->seq = rc == SP_OK ? seqs[i] : 0;
        w->done = 1;
        pthread_cond_signal(&w->cv);
        gc_release(gc, w->bytes);
        i++;
        w = next;
    }
    gc->leading = 0;
    gc->batches++;
    gc->records += (int64_t)n;
    if ((int64_t)n > gc->largest)
        gc->largest = (int64_t)n;
    /* wake only the first of those who queued meanwhile: it leads the next batch
     * (a broadcast would wake every waiter of every batch, for nothing) */
    if (gc->head != NULL)
        pthread_cond_signal(&gc->head->cv);
    free(v);
    free(seqs);
}

enum sp_err sp_register_commit(struct sp_register *r, const struct sp_register_record *rec,
                               int64_t *seq)
{
    struct reg_gc *gc = &r->gc;
    struct reg_waiter w;
    enum sp_err rc;

    memset(&w, 0, sizeof(w));
    if (seq != NULL)
        *seq = 0;
    if (rec == NULL || rec->msg_len > SP_REGISTER_MAX_MESSAGE)
        return sp_register_prepare(r, rec, &w.p); /* the same refusal and log line */
    if (reg_txn_open(r)) {
        /* a leader needs the database write lock this caller may hold: deadlock */
        sp_errorx("register: group commit inside a database transaction refused");
        return SP_ERR_INTERNAL;
    }
    w.bytes = gc_bound(rec->msg_len);

    /* 1. room in the queue (a record alone always fits) */
    pthread_mutex_lock(&gc->mu);
    while (gc->slots >= SP_REGISTER_BATCH_MAX ||
           (gc->slots > 0 && gc->bytes + w.bytes > SP_REGISTER_BATCH_MAX_BYTES))
        pthread_cond_wait(&gc->space, &gc->mu);
    gc->slots++;
    gc->bytes += w.bytes;
    pthread_mutex_unlock(&gc->mu);

    /* 2. check and compress here, in parallel with the other callers */
    rc = sp_register_prepare(r, rec, &w.p);

    /* 3. queue, then lead or wait */
    pthread_mutex_lock(&gc->mu);
    if (rc != SP_OK) {
        gc_release(gc, w.bytes);
        pthread_mutex_unlock(&gc->mu);
        return rc;
    }
    pthread_cond_init(&w.cv, NULL);
    if (gc->tail != NULL)
        gc->tail->next = &w;
    else
        gc->head = &w;
    gc->tail = &w;
    gc->queued++;
    while (!w.done) {
        if (gc->leading)
            pthread_cond_wait(&w.cv, &gc->mu);
        else
            gc_lead(r);
    }
    rc = w.rc;
    pthread_mutex_unlock(&gc->mu);
    pthread_cond_destroy(&w.cv);
    if (rc == SP_OK && seq != NULL)
        *seq = w.seq;
    sp_register_prepared_free(&w.p);
    return rc;
}

void sp_register_stats(struct sp_register *r, struct sp_register_stats *out)
{
    pthread_mutex_lock(&r->gc.mu);
    out->batches = r->gc.batches;
    out->records = r->gc.records;
    out->largest = r->gc.largest;
    out->queued = (int64_t)r->gc.queued;
    pthread_mutex_unlock(&r->gc.mu);
}
