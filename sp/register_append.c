/*
 * register_append: the register's write path: the open segment, crash
 * recovery (the rules are in include/sp/register.h, "Durability and
 * crashes") and batches: frames written, fdatasynced, then one durable index
 * commit. Everything here runs under the register lock (register.c);
 * records arrive prepared (sp_register_prepare), so only numbering, the
 * chain hash and the I/O happen here.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/digest.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/register.h"
#include "register_priv.h"

/* ------------------------------------------------------------------ segments */

/* Is r->seg_fd still the file at day's path (not replaced, renamed or removed)? */
static int reg_segment_current(const struct sp_register *r, const char *day, const char *path)
{
    struct stat a, b;

    return r->seg_fd >= 0 && strcmp(r->seg_day, day) == 0 && fstat(r->seg_fd, &a) == 0 &&
           stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void reg_close_segment(struct sp_register *r)
{
    if (r->seg_fd >= 0)
        close(r->seg_fd);
    r->seg_fd = -1;
    r->seg_day[0] = '\0';
}

/* fsync a directory, so a new entry in it survives a crash. */
static void reg_sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * The segment of day open for appending in r->seg_fd, reopened when the file
 * at its path is not the one open: appends always go where verify reads.
 * With create, a missing file (and its directories, synced) is made and
 * *created set; without, SP_ERR_NOT_FOUND. SP_ERR_IO otherwise.
 */
static enum sp_err reg_open_segment(struct sp_register *r, const char *day, int create,
                                    int *created)
{
    struct sp_buf p;
    enum sp_err rc = SP_OK;

    *created = 0;
    sp_buf_init(&p, 8192);
    reg_day_path(r, day, 0, &p);
    if (reg_segment_current(r, day, sp_buf_str(&p)))
        goto out;
    reg_close_segment(r);
    r->seg_fd = open(sp_buf_str(&p), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (r->seg_fd < 0 && errno == ENOENT) {
        if (!create) {
            rc = SP_ERR_NOT_FOUND;
            goto out;
        }
        reg_day_path(r, day, 1, &p);
        if (sp_file_mkdirs(sp_buf_str(&p), REG_DIR_MODE) != SP_OK) {
            sp_warn("register: cannot create %s", sp_buf_str(&p));
            rc = SP_ERR_IO;
            goto out;
        }
        reg_day_path(r, day, 0, &p);
        r->seg_fd = open(sp_buf_str(&p), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, REG_FILE_MODE);
        *created = r->seg_fd >= 0;
    }
    if (r->seg_fd < 0) {
        sp_warn("register: cannot open %s", sp_buf_str(&p));
        rc = SP_ERR_IO;
        goto out;
    }
    snprintf(r->seg_day, sizeof(r->seg_day), "%s", day);
    if (*created) { /* the month, year and root entries too: any may be new */
        reg_day_path(r, day, 1, &p);
        reg_sync_path(sp_buf_str(&p));
        sp_buf_reset(&p);
        sp_buf_addf(&p, "%s/%.4s", r->dir, day);
        reg_sync_path(sp_buf_str(&p));
        reg_sync_path(r->dir);
    }
out:
    sp_buf_cleanup(&p);
    return rc;
}

static enum sp_err reg_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return SP_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return SP_OK;
}

static int reg_sync(struct sp_register *r, int fd)
{
    return r->sync != NULL ? r->sync(fd, r->sync_ctx) : fdatasync(fd);
}

void sp_register_set_sync(struct sp_register *r, sp_register_sync_fn fn, void *ctx)
{
    r->sync = fn;
    r->sync_ctx = ctx;
}

/*
 * Under the lock: bring the open segment of day to the length its index row
 * says (expected). Bytes past it are the unacknowledged tail of a batch a
 * crash interrupted: cut, when no more than one batch can write. A segment
 * shorter than its row lost acknowledged records: SP_ERR_INTEGRITY.
 */
static enum sp_err reg_segment_check(struct sp_register *r, const char *day, int64_t expected)
{
    struct stat st;
    int64_t size;

    if (fstat(r->seg_fd, &st) != 0)
        return SP_ERR_IO;
    size = (int64_t)st.st_size;
    if (size == expected)
        return SP_OK;
    if (size > expected && size - expected <= (int64_t)SP_REGISTER_BATCH_MAX_BYTES) {
        sp_warnx("register: segment %s has %lld bytes past its index: the unacknowledged tail of "
                 "an append interrupted by a crash, cut",
                 day, (long long)(size - expected));
        if (ftruncate(r->seg_fd, (off_t)expected) != 0) {
            sp_warn("register: cannot cut the segment of %s", day);
            return SP_ERR_IO;
        }
        return SP_OK;
    }
    sp_errorx("register: segment %s is %lld bytes, its index says %lld: %s; refusing to append "
              "(run spid-sp register verify)",
              day, (long long)size, (long long)expected,
              size < expected ? "truncated or replaced"
                              : "more bytes added than one interrupted batch can leave");
    return SP_ERR_INTEGRITY;
}

/*
 * Under the lock: segment files of days after the newest index row (after,
 * "" when there is none; not before the anchor's first day) hold only
 * records of a batch that never committed: remove them.
 */
static enum sp_err reg_cut_orphans(struct sp_register *r, const char *after, const char *first_day)
{
    struct reg_days ds;
    struct sp_buf p;
    enum sp_err rc = SP_OK;

    memset(&ds, 0, sizeof(ds));
    sp_buf_init(&p, 8192);
    reg_scan_disk(r, &ds);
    for (size_t i = 0; i < ds.n; i++) {
        const struct reg_day *d = &ds.v[i];

        if (strcmp(d->day, after) <= 0 || (first_day[0] != '\0' && strcmp(d->day, first_day) < 0))
            continue;
        if (d->size > (int64_t)SP_REGISTER_BATCH_MAX_BYTES) {
            sp_errorx("register: segment %s (%lld bytes) is newer than the index's newest day "
                      "and larger than one batch: refusing to append (run spid-sp register "
                      "verify)",
                      d->day, (long long)d->size);
            rc = SP_ERR_INTEGRITY;
            continue;
        }
        if (strcmp(r->seg_day, d->day) == 0)
            reg_close_segment(r);
        reg_day_path(r, d->day, 0, &p);
        if (unlink(sp_buf_str(&p)) != 0) {
            sp_warn("register: cannot remove %s", sp_buf_str(&p));
            rc = SP_ERR_IO;
            continue;
        }
        sp_warnx("register: segment %s (%lld bytes) is newer than the index's newest day: the "
                 "unacknowledged batch of an append interrupted by a crash, removed",
                 d->day, (long long)d->size);
    }
    free(ds.v);
    sp_buf_cleanup(&p);
    return rc;
}

/*
 * Under the lock, before a batch: the newest indexed segment must exist and
 * be at least as long as its row (a tail is cut); and, once after open or a
 * failed batch and whenever the batch starts a new day, files of days after
 * the newest row are removed.
 */
static enum sp_err reg_recover(struct sp_register *r, const struct reg_day *head,
                               const struct reg_anchor *a, int new_day)
{
    enum sp_err rc = SP_OK;
    int created;

    if (head != NULL) {
        rc = reg_open_segment(r, head->day, 0, &created);
        if (rc == SP_ERR_NOT_FOUND) {
            sp_errorx("register: segment %s is missing (index: records %lld to %lld): refusing "
                      "to append (run spid-sp register verify)",
                      head->day, (long long)head->first_seq, (long long)head->last_seq);
            rc = SP_ERR_INTEGRITY;
        }
        if (rc == SP_OK)
            rc = reg_segment_check(r, head->day, head->bytes);
        if (rc != SP_OK)
            return rc;
    }
    if (!r->tails_checked || new_day) {
        rc = reg_cut_orphans(r, head != NULL ? head->day : "", a->first_day);
        if (rc == SP_OK)
            r->tails_checked = 1;
    }
    return rc;
}

/* ------------------------------------------------------------------ batches */

/* The records of a batch that go to one day's segment. */
struct reg_run {
    char day[REG_DAY_LEN + 1];
    int existed;      /* the day had an index row */
    int written;      /* frames went to the file: cut them on failure */
    int64_t expected; /* segment length before the batch (the row's bytes) */
    int64_t bytes;    /* after */
    int64_t first_seq, last_seq, records;
    char last_hash[SP_SHA256_HEX_LEN + 1];
};

/* Under the lock: append the run's frames to its segment and sync them. */
static enum sp_err reg_run_write(struct sp_register *r, struct reg_run *run,
                                 const struct sp_buf *frames)
{
    enum sp_err rc;
    int created = 0;

    rc = reg_open_segment(r, run->day, !run->existed, &created);
    if (rc == SP_ERR_NOT_FOUND)
        rc = SP_ERR_INTEGRITY; /* reg_recover saw it a moment ago */
    if (rc == SP_OK)
        rc = reg_segment_check(r, run->day, run->expected);
    if (rc != SP_OK)
        return rc;
    run->written = 1;
    rc = reg_write_all(r->seg_fd, frames->data, frames->len);
    if (rc == SP_OK && reg_sync(r, r->seg_fd) != 0)
        rc = SP_ERR_IO;
    if (rc != SP_OK) {
        sp_warn("register: cannot write the segment of %s", run->day);
        return rc;
    }
    run->bytes = run->expected + (int64_t)frames->len;
    return SP_OK;
}

/*
 * Make the index commit durable. In WAL mode with synchronous=NORMAL a
 * commit is in the WAL file but not synced; sync that file through this
 * connection's own handle, after COMMIT has released the database's write
 * lock, so the process's other writers (pending requests, sessions) do not
 * wait for this fsync. If a checkpoint ran in between, SQLite synced the WAL
 * before copying it. Outside WAL mode SQLite synced the commit itself. The
 * test hook (sp_register_set_sync) replaces it with fd -1.
 */
static enum sp_err reg_index_sync(struct sp_register *r)
{
    sqlite3 *c = sp_db_conn(r->db);
    sqlite3_file *f = NULL;

    if (r->sync != NULL)
        return r->sync(-1, r->sync_ctx) == 0 ? SP_OK : SP_ERR_IO;
    if (c == NULL)
        return SP_ERR_DB;
    if (sqlite3_file_control(c, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK)
        return sp_db_fail(r->db, "register: the index's write-ahead log");
    if (f == NULL || f->pMethods == NULL)
        return SP_OK;
    if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
        sp_errorx("register: cannot sync the index's write-ahead log");
        return SP_ERR_IO;
    }
    return SP_OK;
}

/* Under the lock: every run's index row in one transaction (synced by reg_index_sync). */
static enum sp_err reg_index_commit(struct sp_register *r, const struct reg_run *runs, size_t n)
{
    static const char sql[] =
        "INSERT INTO register_days (day, first_seq, last_seq, last_hash, records, bytes)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(day) DO UPDATE SET"
        " last_seq = excluded.last_seq, last_hash = excluded.last_hash,"
        " records = records + excluded.records, bytes = excluded.bytes";
    enum sp_err rc = sp_db_begin(r->db);

    if (rc != SP_OK)
        return rc;
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
        sqlite3_stmt *st = sp_db_stmt(r->db, sql);
        if (st == NULL) {
            rc = SP_ERR_DB;
            break;
        }
        sp_db_bind_text(st, 1, runs[i].day);
        sqlite3_bind_int64(st, 2, runs[i].first_seq);
        sqlite3_bind_int64(st, 3, runs[i].last_seq);
        sp_db_bind_text(st, 4, runs[i].last_hash);
        sqlite3_bind_int64(st, 5, runs[i].records);
        sqlite3_bind_int64(st, 6, runs[i].bytes);
        if (sp_db_step_write(r->db, st) != SQLITE_DONE)
            rc = sp_db_fail(r->db, "register index");
        sp_db_done(st);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(r->db);
    else
        sp_db_rollback(r->db);
    return rc;
}

/* Under the lock, after a failed batch: cut what it wrote; look for tails again next time. */
static void reg_batch_undo(struct sp_register *r, const struct reg_run *runs, size_t n)
{
    struct sp_buf p;

    sp_buf_init(&p, 8192);
    reg_close_segment(r);
    r->tails_checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (!runs[i].written)
            continue;
        reg_day_path(r, runs[i].day, 0, &p);
        if (runs[i].existed ? truncate(sp_buf_str(&p), (off_t)runs[i].expected) != 0
                            : unlink(sp_buf_str(&p)) != 0)
            sp_warn("register: cannot cut a failed append from %s (the next append will)",
                    sp_buf_str(&p));
    }
    sp_buf_cleanup(&p);
}

/* A transaction open on the calling thread's connection (the commit would not be durable). */
int reg_txn_open(struct sp_register *r)
{
    sqlite3 *c = sp_db_conn(r->db);
    return c != NULL && !sqlite3_get_autocommit(c);
}

enum sp_err sp_register_append_batch(struct sp_register *r, struct sp_register_prepared *const *v,
                                     size_t n, int64_t *seqs)
{
    char day[REG_DAY_LEN + 1], prev[SP_SHA256_HEX_LEN + 1], hash[SP_SHA256_HEX_LEN + 1];
    struct reg_run *runs = NULL, *run = NULL;
    struct reg_anchor anchor;
    struct reg_day head;
    struct sp_buf frames, scratch;
    size_t nruns = 0, total = 0;
    int64_t seq;
    int found = 0, locked = 0, new_day = 0, committed = 0;
    enum sp_err rc;

    if (n == 0)
        return SP_OK;
    if (n > SP_REGISTER_BATCH_MAX)
        return SP_ERR_TOO_LARGE;
    if (reg_txn_open(r)) {
        sp_errorx("register: append inside a database transaction refused (not durable, and "
                  "it would hold the write lock a batch needs)");
        return SP_ERR_INTERNAL;
    }
    memset(&head, 0, sizeof(head));
    sp_buf_init(&frames, SP_REGISTER_BATCH_MAX_BYTES);
    sp_buf_init(&scratch, REG_MAX_HEADER * 2);
    runs = sp_xcalloc(n, sizeof(*runs));

    rc = reg_lock(r);
    if (rc != SP_OK)
        goto out;
    locked = 1;
    rc = reg_read_newest(r, &head, &found);
    if (rc == SP_OK)
        rc = reg_read_anchor(r, &anchor);
    if (rc != SP_OK)
        goto out;
    for (size_t i = 0; i < n && !new_day; i++) {
        reg_day_of(v[i]->time_ms, day);
        new_day = !found || strcmp(day, head.day) > 0;
    }
    rc = reg_recover(r, found ? &head : NULL, &anchor, new_day);
    if (rc != SP_OK)
        goto out;

    seq = found ? head.last_seq : anchor.seq;
    memcpy(prev, found ? head.last_hash : anchor.hash, sizeof(prev));
    for (size_t i = 0; i < n; i++) {
        /* never file behind the newest day or the previous record: days never go back */
        reg_day_of(v[i]->time_ms, day);
        if (found && strcmp(day, head.day) < 0)
            memcpy(day, head.day, sizeof(day));
        if (!found && strcmp(day, anchor.first_day) < 0) /* not among pruned days */
            memcpy(day, anchor.first_day, sizeof(day));
        if (run != NULL && strcmp(day, run->day) < 0)
            memcpy(day, run->day, sizeof(day));
        if (run == NULL || strcmp(day, run->day) != 0) {
            if (run != NULL) {
                rc = reg_run_write(r, run, &frames);
                if (rc != SP_OK)
                    goto out;
                total += frames.len;
                sp_buf_reset(&frames);
            }
            run = &runs[nruns++];
            memcpy(run->day, day, sizeof(run->day));
            run->existed = found && strcmp(day, head.day) == 0;
            run->expected = run->existed ? head.bytes : 0;
            run->first_seq = seq + 1;
        }
        seq++;
        rc = reg_frame_splice(r, v[i], seq, prev, hash, &scratch, &frames);
        if (rc == SP_OK && total + frames.len > SP_REGISTER_BATCH_MAX_BYTES)
            rc = SP_ERR_TOO_LARGE;
        if (rc != SP_OK)
            goto out;
        run->last_seq = seq;
        run->records++;
        memcpy(run->last_hash, hash, sizeof(hash));
        memcpy(prev, hash, sizeof(prev));
        if (seqs != NULL)
            seqs[i] = seq;
    }
    rc = reg_run_write(r, run, &frames);
    if (rc == SP_OK)
        rc = reg_index_commit(r, runs, nruns);
    if (rc == SP_OK) {
        /* committed: the records are in the register even if the sync fails
         * (then the callers hear of a failure for records that exist: a
         * message never acted on is recorded, never the reverse) */
        committed = 1;
        rc = reg_index_sync(r);
    }
out:
    if (rc != SP_OK && locked && !committed)
        reg_batch_undo(r, runs, nruns);
    if (locked)
        reg_unlock(r);
    free(runs);
    sp_buf_cleanup(&frames);
    sp_buf_cleanup(&scratch);
    return rc;
}

enum sp_err sp_register_append(struct sp_register *r, const struct sp_register_record *rec,
                               int64_t *seq)
{
    struct sp_register_prepared *p = NULL;
    enum sp_err rc = sp_register_prepare(r, rec, &p);

    if (rc == SP_OK)
        rc = sp_register_append_batch(r, &p, 1, seq);
    sp_register_prepared_free(&p);
    return rc;
}
