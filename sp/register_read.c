/*
 * register_read: verify and export. Both work on a snapshot of the index and
 * the file sizes (reg_snapshot, under the lock for a moment) and then read
 * each segment up to its acknowledged length without the lock, so a daemon
 * appending meanwhile is neither blocked nor seen half-written.
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

#define REG_MAX_PROBLEMS 100 /* verify reports at most this many */

/* ------------------------------------------------------------------ reading segments */

/* Called for every record read; return non-zero to stop the segment. */
typedef int (*reg_record_fn)(void *ctx, const struct reg_day *d, const struct reg_entry *e);

/*
 * Read the segment of d up to d->limit, calling fn per record.
 * SP_OK, SP_ERR_INTEGRITY (a frame is cut short or damaged at *bad_off; the
 * records before it were delivered), SP_ERR_IO.
 */
static enum sp_err reg_read_segment(struct sp_register *r, const struct reg_day *d,
                                    reg_record_fn fn, void *ctx, int64_t *bad_off)
{
    struct sp_buf p, zbuf, plain;
    int64_t off = 0, size;
    enum sp_err rc = SP_OK;
    FILE *fp;

    *bad_off = -1;
    sp_buf_init(&p, 8192);
    sp_buf_init(&zbuf, compressBound(REG_MAX_PLAIN) + 1);
    sp_buf_init(&plain, REG_MAX_PLAIN + 1);
    reg_day_path(r, d->day, 0, &p);
    fp = fopen(sp_buf_str(&p), "rb");
    if (fp == NULL) {
        rc = errno == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO;
        goto out;
    }
    for (;;) {
        struct reg_entry e;
        json_t *hdr = NULL;
        int stop;

        rc = reg_frame_read(fp, d->limit - off, &zbuf, &plain, &size);
        if (rc == SP_ERR_NOT_FOUND) {
            rc = SP_OK;
            break;
        }
        if (rc == SP_OK)
            rc = reg_parse(&plain, &e, &hdr);
        if (rc != SP_OK) {
            if (rc == SP_ERR_INTEGRITY || rc == SP_ERR_TOO_LARGE)
                rc = SP_ERR_INTEGRITY;
            *bad_off = off;
            break;
        }
        off += size;
        stop = fn(ctx, d, &e);
        json_decref(hdr);
        if (stop)
            break;
    }
    fclose(fp);
out:
    sp_buf_cleanup(&p);
    sp_buf_cleanup(&zbuf);
    sp_buf_cleanup(&plain);
    return rc;
}

/* ------------------------------------------------------------------ verify */

struct reg_verify {
    sp_register_problem_fn fn;
    void *ctx;
    int64_t problems, reported, records;
    int64_t seq; /* expected: the previous record's */
    char hash[SP_SHA256_HEX_LEN + 1];
    /* the current segment */
    int64_t first_seq, last_seq, count;
    char last_hash[SP_SHA256_HEX_LEN + 1];
};

static void reg_problem(struct reg_verify *v, const char *day, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reg_notice(struct reg_verify *v, const char *day, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reg_problem(struct reg_verify *v, const char *day, int64_t seq, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    v->problems++;
    if (v->reported >= REG_MAX_PROBLEMS || v->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    v->reported++;
    v->fn(v->ctx, SP_REGISTER_PROBLEM, day, seq, what);
}

/* Not a problem: the register is intact (an interrupted batch's unacknowledged tail). */
static void reg_notice(struct reg_verify *v, const char *day, int64_t seq, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    if (v->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    v->fn(v->ctx, SP_REGISTER_NOTICE, day, seq, what);
}

static int reg_verify_record(void *ctx, const struct reg_day *d, const struct reg_entry *e)
{
    struct reg_verify *v = ctx;
    char hash[SP_SHA256_HEX_LEN + 1], sha[SP_SHA256_HEX_LEN + 1], rday[REG_DAY_LEN + 1] = "";

    v->records++;
    if (v->count++ == 0)
        v->first_seq = e->seq;
    if (e->seq != v->seq + 1) {
        if (e->seq > v->seq + 1)
            reg_problem(v, d->day, v->seq + 1,
                        "records %lld to %lld missing (removed): the chain continues at %lld",
                        (long long)(v->seq + 1), (long long)(e->seq - 1), (long long)e->seq);
        else
            reg_problem(v, d->day, e->seq,
                        "out of order: expected record %lld (reordered or duplicated)",
                        (long long)(v->seq + 1));
    } else if (strcmp(e->prev, v->hash) != 0) {
        reg_problem(v, d->day, e->seq,
                    "does not follow record %lld (prev_hash differs): a record was inserted, "
                    "replaced, removed or reordered",
                    (long long)v->seq);
    }
    if (reg_hash(e, e->prev, hash) != SP_OK || strcmp(hash, e->hash) != 0)
        reg_problem(v, d->day, e->seq, "content changed: the stored hash does not match");
    sp_sha256_hex(e->msg, e->msg_len, sha);
    if ((int64_t)e->msg_len != e->len || strcmp(sha, e->sha256) != 0)
        reg_problem(v, d->day, e->seq, "message changed: its SHA-256 or length does not match");
    if (e->time_ms >= 0)
        reg_day_of(e->time_ms, rday);
    if (e->time_ms < 0 || strcmp(rday, d->day) > 0)
        reg_problem(v, d->day, e->seq, "time is after its segment's day: moved between segments");
    v->seq = e->seq;
    snprintf(v->hash, sizeof(v->hash), "%s", e->hash);
    v->last_seq = e->seq;
    snprintf(v->last_hash, sizeof(v->last_hash), "%s", e->hash);
    return 0;
}

/* After a segment: its index row against what was read. */
static void reg_verify_row(struct reg_verify *v, const struct reg_day *d)
{
    if (!d->indexed) {
        reg_problem(v, d->day, v->count ? v->first_seq : 0,
                    "segment file not in the index: added outside the register");
        return;
    }
    if (d->tail == REG_TAIL_ROW)
        reg_notice(v, d->day, 0,
                   "%lld bytes past the index: the unacknowledged tail of an append interrupted "
                   "by a crash (not part of the register; the next append cuts it)",
                   (long long)(d->size - d->bytes));
    else if (d->size < d->bytes)
        reg_problem(v, d->day, 0,
                    "segment is %lld bytes, the index says %lld: truncated or records removed "
                    "(acknowledged records lost)",
                    (long long)d->size, (long long)d->bytes);
    else if (d->size > d->bytes)
        reg_problem(v, d->day, 0, "segment is %lld bytes, the index says %lld: bytes added",
                    (long long)d->size, (long long)d->bytes);
    if (v->count != d->records || v->first_seq != d->first_seq || v->last_seq != d->last_seq)
        reg_problem(v, d->day, 0,
                    "segment holds %lld records (%lld to %lld), the index says %lld (%lld to %lld)",
                    (long long)v->count, (long long)v->first_seq, (long long)v->last_seq,
                    (long long)d->records, (long long)d->first_seq, (long long)d->last_seq);
    else if (strcmp(v->last_hash, d->last_hash) != 0)
        reg_problem(v, d->day, d->last_seq,
                    "last hash differs from the index: the newest record was replaced or the "
                    "index edited");
    /* continue the chain from the index, so one damaged day is reported once */
    v->seq = d->last_seq;
    snprintf(v->hash, sizeof(v->hash), "%s", d->last_hash);
}

enum sp_err sp_register_verify(struct sp_register *r, sp_register_problem_fn problem, void *ctx,
                               int64_t *records)
{
    struct reg_verify v;
    struct reg_anchor a;
    struct reg_days ds;
    enum sp_err rc;

    memset(&v, 0, sizeof(v));
    v.fn = problem;
    v.ctx = ctx;
    if (records != NULL)
        *records = 0;
    rc = reg_snapshot(r, &a, &ds);
    if (rc != SP_OK)
        goto out;
    v.seq = a.seq;
    memcpy(v.hash, a.hash, sizeof(v.hash));
    for (size_t i = 0; i < ds.n; i++) {
        const struct reg_day *d = &ds.v[i];
        int64_t bad_off;

        if (a.first_day[0] != '\0' && strcmp(d->day, a.first_day) < 0) {
            /* files there are leftovers of an interrupted prune: outside the chain */
            if (d->indexed)
                reg_problem(&v, d->day, 0,
                            "index row older than the pruning boundary %s: the anchor was moved",
                            a.first_day);
            continue;
        }
        if (d->tail == REG_TAIL_FILE) {
            reg_notice(&v, d->day, 0,
                       "segment of %lld bytes after the newest indexed day, not in the index: "
                       "the unacknowledged batch of an append interrupted by a crash (not part "
                       "of the register; the next append removes it)",
                       (long long)d->size);
            continue;
        }
        if (!d->on_disk) {
            reg_problem(&v, d->day, d->first_seq, "segment file missing: records %lld to %lld lost",
                        (long long)d->first_seq, (long long)d->last_seq);
            v.seq = d->last_seq;
            snprintf(v.hash, sizeof(v.hash), "%s", d->last_hash);
            continue;
        }
        v.count = v.first_seq = v.last_seq = 0;
        v.last_hash[0] = '\0';
        rc = reg_read_segment(r, d, reg_verify_record, &v, &bad_off);
        if (rc == SP_ERR_INTEGRITY) {
            reg_problem(&v, d->day, v.last_seq + (v.count ? 1 : 0),
                        "damaged or cut short at byte %lld: the rest of the segment is unreadable",
                        (long long)bad_off);
            rc = SP_OK;
        } else if (rc == SP_ERR_NOT_FOUND) {
            reg_problem(&v, d->day, d->first_seq, "segment file removed during the check");
            rc = SP_OK;
        }
        if (rc != SP_OK)
            goto out;
        reg_verify_row(&v, d);
        if (!d->indexed && v.count > 0) {
            v.seq = v.last_seq;
            snprintf(v.hash, sizeof(v.hash), "%s", v.last_hash);
        }
    }
    if (v.problems > v.reported && problem != NULL) {
        char what[128];
        snprintf(what, sizeof(what), "%lld more problems found but not listed",
                 (long long)(v.problems - v.reported));
        problem(ctx, SP_REGISTER_PROBLEM, NULL, 0, what);
    }
    rc = v.problems > 0 ? SP_ERR_INTEGRITY : SP_OK;
out:
    if (records != NULL)
        *records = v.records;
    free(ds.v);
    return rc;
}

/* ------------------------------------------------------------------ export */

struct reg_export {
    FILE *out;
    int64_t from_ms, to_ms, count;
    enum sp_err rc;
};

static json_t *reg_export_str(const char *s)
{
    json_t *j = reg_jstr(s);
    return j != NULL ? j : json_null();
}

static int reg_export_record(void *ctx, const struct reg_day *d, const struct reg_entry *e)
{
    struct reg_export *x = ctx;
    char at[SP_TIME_ISO_LEN];
    json_t *o, *msg;
    char *line;

    (void)d;
    if (e->time_ms < x->from_ms || e->time_ms >= x->to_ms)
        return 0;
    o = json_object();
    sp_time_format(e->time_ms, 1, at);
    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "time", json_string(at));
    json_object_set_new(o, "time_ms", json_integer(e->time_ms));
    json_object_set_new(o, "kind", reg_export_str(e->kind));
    json_object_set_new(o, "direction", reg_export_str(e->dir));
    json_object_set_new(o, "id", reg_export_str(e->id));
    json_object_set_new(o, "in_response_to", reg_export_str(e->irt));
    json_object_set_new(o, "idp", reg_export_str(e->idp));
    json_object_set_new(o, "cf", reg_export_str(e->cf));
    json_object_set_new(o, "sha256", reg_export_str(e->sha256));
    json_object_set_new(o, "prev_hash", reg_export_str(e->prev));
    json_object_set_new(o, "hash", reg_export_str(e->hash));
    msg = json_stringn((const char *)e->msg, e->msg_len); /* NULL: not UTF-8 */
    if (msg != NULL) {
        json_object_set_new(o, "message", msg);
    } else {
        struct sp_buf b;
        sp_buf_init(&b, (size_t)-1);
        sp_b64_encode(&b, e->msg, e->msg_len);
        json_object_set_new(o, "message_base64", json_string(sp_buf_str(&b)));
        sp_buf_cleanup(&b);
    }
    line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL || fputs(line, x->out) == EOF || fputc('\n', x->out) == EOF) {
        x->rc = SP_ERR_IO;
        free(line);
        return 1;
    }
    free(line);
    x->count++;
    return 0;
}

enum sp_err sp_register_export(struct sp_register *r, int64_t from_ms, int64_t to_ms, FILE *out,
                               int64_t *count)
{
    struct reg_export x = {out, from_ms, to_ms != 0 ? to_ms : INT64_MAX, 0, SP_OK};
    char first[REG_DAY_LEN + 1] = "", last[REG_DAY_LEN + 1] = "9999-99-99";
    struct reg_anchor a;
    struct reg_days ds;
    enum sp_err rc, damaged = SP_OK;

    if (count != NULL)
        *count = 0;
    if (from_ms > 0)
        reg_day_of(from_ms, first);
    if (to_ms > 0)
        reg_day_of(to_ms - 1, last);
    rc = reg_snapshot(r, &a, &ds);
    for (size_t i = 0; rc == SP_OK && i < ds.n; i++) {
        const struct reg_day *d = &ds.v[i];
        int64_t bad_off;

        /* a segment holds no record later than its day (it may hold earlier ones) */
        if (strcmp(d->day, first) < 0 || strcmp(d->day, last) > 0 || !d->on_disk ||
            d->tail == REG_TAIL_FILE)
            continue;
        if (a.first_day[0] != '\0' && strcmp(d->day, a.first_day) < 0)
            continue;
        rc = reg_read_segment(r, d, reg_export_record, &x, &bad_off);
        if (rc == SP_ERR_INTEGRITY || rc == SP_ERR_NOT_FOUND) {
            sp_warnx("register: export: segment %s is damaged at byte %lld (run spid-sp "
                     "register verify)",
                     d->day, (long long)bad_off);
            damaged = SP_ERR_INTEGRITY;
            rc = SP_OK;
        }
        if (rc == SP_OK)
            rc = x.rc;
    }
    if (rc == SP_OK && fflush(out) != 0)
        rc = SP_ERR_IO;
    if (count != NULL)
        *count = x.count;
    free(ds.v);
    return rc != SP_OK ? rc : damaged;
}
