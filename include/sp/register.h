/*
 * register: the SPID transaction register (registro delle transazioni): every
 * AuthnRequest, Response and logout message, kept 24 months, append-only,
 * tamper-evident and compressed, outside the SQLite database.
 *
 * Storage: one segment file per UTC day, <dir>/YYYY/MM/DD.spr, a sequence of
 * frames "SPR1" || be32 compressed length || be32 plain length || zlib data
 * (deflate with the fixed SAML preset dictionary of format 1). The plain
 * bytes are one line of JSON (the header) then the raw message. The header
 * carries seq, time, kind, dir, id, irt (InResponseTo), idp, cf, len and
 * sha256 of the message, prev (hash of the previous record) and hash:
 *
 *   hash_n = SHA-256(hash_{n-1} || "\n" || [seq, time, kind, dir, id, irt,
 *            idp, cf, len, sha256])   (compact JSON array, null for NULL)
 *
 * in lower-case hex, hash_0 = 64 zeros. The chain runs across days. The
 * database keeps one row per day (first and last seq, last hash, records,
 * bytes) and, after pruning, the anchor (seq and hash of the last pruned
 * record, first day kept), so verify detects changed, removed, reordered
 * or added records and truncated or missing segment files.
 *
 * Durability and crashes. A batch of records is written in this order:
 * frames appended to the segment, fdatasync, then the index rows of its
 * days updated in one SQLite transaction, and that commit synced (the WAL,
 * after the write lock is released). A record is acknowledged (SP_OK) only
 * after that sync, so the index row is the commit point:
 *  - the NEWEST segment LONGER than its row holds the unacknowledged tail of
 *    a batch interrupted by a crash (nobody acted on those records). The
 *    next append cuts it back to its row, removes segment files of days
 *    after the newest row (a batch that started a new day; looked for once
 *    per open, after a failed batch and when a batch starts a new day), and
 *    logs both. More past a row than one batch can write
 *    (SP_REGISTER_BATCH_MAX_BYTES, per file) is not a crash: append refuses
 *    (SP_ERR_INTEGRITY), as for bytes added to an older segment.
 *  - a segment SHORTER than its row, or missing, lost acknowledged records:
 *    tampering or loss, SP_ERR_INTEGRITY, and nothing is appended until an
 *    operator has looked (run verify).
 * Verify reports the first case as a notice (the register is still intact:
 * the tail is not read) and the second as a problem. Export leaves the tail
 * out. The index is the authority: deleting its newest rows would make
 * their records look like such a tail (within the size bound).
 * A batch whose index commit succeeded but whose sync failed is reported as
 * failed though its records stay: a register may hold a message that was
 * never acted on, never miss one that was.
 */
#ifndef SP_REGISTER_H
#define SP_REGISTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sp/err.h"

struct sp_buf;
struct sp_db;
struct sp_register;

/* Record kinds and directions (stable: exports match on them). */
#define SP_REGISTER_AUTHN_REQUEST "authn_request"
#define SP_REGISTER_RESPONSE "response"
#define SP_REGISTER_LOGOUT_REQUEST "logout_request"
#define SP_REGISTER_LOGOUT_RESPONSE "logout_response"
#define SP_REGISTER_OUT "out" /* sent by this SP */
#define SP_REGISTER_IN "in"   /* received from an IdP */

#define SP_REGISTER_MAX_MESSAGE (1024u * 1024u) /* bytes of one raw message */
#define SP_REGISTER_RETENTION_MONTHS 24u        /* SPID rules: 24 months */

/*
 * Group commit bounds: a batch holds at most this many records and frame
 * bytes; callers past them wait for room (backpressure), so the queue never
 * holds more. A crash can leave at most one batch unacknowledged.
 */
#define SP_REGISTER_BATCH_MAX 512u
#define SP_REGISTER_BATCH_MAX_BYTES (32u * 1024u * 1024u)

/* ------------------------------------------------------------------ open and close */

/*
 * Open the register rooted at dir (created 0700 when missing), indexed in db
 * (borrowed: it must outlive the register). NULL with a message in err on
 * failure. Free with sp_register_free.
 */
struct sp_register *sp_register_open(const char *dir, struct sp_db *db, struct sp_buf *err);

/* Close files and free; sets *r to NULL. Accepts NULL. */
void sp_register_free(struct sp_register **r);

/* ------------------------------------------------------------------ append */

/* One message to record (all borrowed for the duration of the call). */
struct sp_register_record {
    int64_t time_ms;            /* when sent or received (sp_clock_now_ms()) */
    const char *kind;           /* SP_REGISTER_AUTHN_REQUEST, ... (required) */
    const char *direction;      /* SP_REGISTER_OUT or SP_REGISTER_IN (required) */
    const char *id;             /* the message's ID attribute (required) */
    const char *in_response_to; /* InResponseTo, or NULL */
    const char *idp;            /* IdP entity ID (Issuer or destination), or NULL */
    const char *cf;             /* the user's fiscalNumber when known, or NULL */
    const void *msg;            /* the raw XML as sent or received (required) */
    size_t msg_len;             /* 1 .. SP_REGISTER_MAX_MESSAGE */
};

/*
 * Append one record, durably (fdatasync, then the index row committed and
 * synced) before returning SP_OK: a batch of one, with its own fsyncs. The record goes to the
 * segment of its UTC day, or of the newest segment's day when the clock went back. SP_ERR_INVALID
 * for a missing or unknown field or text that is not UTF-8, SP_ERR_TOO_LARGE for a message over the
 * limit, SP_ERR_INTEGRITY when the newest segment is shorter than its index row or missing (nothing
 * is appended then: run verify), SP_ERR_IO or SP_ERR_DB otherwise. *seq (optional) gets the
 * record's sequence number. Thread-safe; several processes may append to the same register. Must
 * not be called inside a transaction on the calling thread's connection (SP_ERR_INTERNAL): the
 * index commit must be durable on return.
 */
enum sp_err sp_register_append(struct sp_register *r, const struct sp_register_record *rec,
                               int64_t *seq);

/* ------------------------------------------------------------------ group commit */

/*
 * Group commit: append rec durably, sharing the fsyncs with every caller
 * that arrives meanwhile. The record is checked and compressed on the
 * calling thread, then queued; the first queued caller that finds no batch
 * in progress becomes the leader and writes everyone's queued records as
 * one batch (sp_register_append_batch) while the others wait; then the next
 * leader takes what queued up meanwhile. Returns SP_OK only once the batch
 * holding rec is durable; when that batch fails (write, fdatasync, index),
 * every record of it gets the same error and none of them is in the
 * register. Errors as sp_register_append. Blocks while the queue is full
 * (SP_REGISTER_BATCH_MAX records or SP_REGISTER_BATCH_MAX_BYTES). Must not
 * be called inside a transaction (SP_ERR_INTERNAL): the leader needs the
 * database's write lock.
 */
enum sp_err sp_register_commit(struct sp_register *r, const struct sp_register_record *rec,
                               int64_t *seq);

/* A record checked, hashed and compressed, waiting for its place in the chain. */
struct sp_register_prepared;

/*
 * Check rec and compress it on the calling thread (only r's pool of idle
 * compressors is locked, for a moment). *out, usable with r only, is freed
 * with sp_register_prepared_free. Errors as sp_register_append for the
 * record itself.
 */
enum sp_err sp_register_prepare(struct sp_register *r, const struct sp_register_record *rec,
                                struct sp_register_prepared **out);
void sp_register_prepared_free(struct sp_register_prepared **p);

/*
 * Append n prepared records, in order, as one batch: their frames are
 * written to the segment (one per day the batch covers), each segment
 * fdatasynced once, then every index row touched is updated in one
 * transaction, synced once. All or nothing: on failure the written frames are cut again
 * and no record is in the register. seqs (optional, n entries) gets each
 * record's sequence number. SP_ERR_TOO_LARGE past the batch bounds.
 */
enum sp_err sp_register_append_batch(struct sp_register *r, struct sp_register_prepared *const *v,
                                     size_t n, int64_t *seqs);

/* Counters of the group commit (since open). */
struct sp_register_stats {
    int64_t batches; /* batches written by leaders */
    int64_t records; /* records in them */
    int64_t largest; /* records in the largest batch */
    int64_t queued;  /* records queued now, not yet taken by a leader */
};
void sp_register_stats(struct sp_register *r, struct sp_register_stats *out);

/*
 * Test hook: fn(fd, ctx) replaces fdatasync(fd) of segment files, and the
 * sync of the index commit with fd -1 (NULL restores both); it returns 0 or
 * -1 with errno set. Set it while no append runs.
 */
typedef int (*sp_register_sync_fn)(int fd, void *ctx);
void sp_register_set_sync(struct sp_register *r, sp_register_sync_fn fn, void *ctx);

/* ------------------------------------------------------------------ verify, export, prune */

/*
 * Walk every segment in day order, recompute every hash and check seq
 * continuity and each day's index row. For every finding call
 * fn(ctx, kind, day, seq, what) (day "YYYY-MM-DD", seq 0 when not about one
 * record): SP_REGISTER_PROBLEM for damage, tampering or loss, and
 * SP_REGISTER_NOTICE for the unacknowledged tail an interrupted batch left
 * (see "Durability and crashes" above; it is not read into the chain). At
 * most 100 problems are listed, then one more call with day NULL says how
 * many were not. *records gets the number of records read. SP_OK when
 * intact (notices only), SP_ERR_INTEGRITY when a problem was found,
 * SP_ERR_DB / SP_ERR_IO when the register could not be read.
 */
enum sp_register_finding { SP_REGISTER_PROBLEM, SP_REGISTER_NOTICE };
typedef void (*sp_register_problem_fn)(void *ctx, enum sp_register_finding kind, const char *day,
                                       int64_t seq, const char *what);
enum sp_err sp_register_verify(struct sp_register *r, sp_register_problem_fn problem, void *ctx,
                               int64_t *records);

/*
 * Write the acknowledged records with from_ms <= time < to_ms (0 =
 * unbounded) as JSON lines: seq, time (RFC 3339 UTC, ms), time_ms, kind, direction, id,
 * in_response_to, idp, cf, sha256, prev_hash, hash, and the message as
 * "message" (text) or, when it is not UTF-8, "message_base64". *count gets
 * the number written. A damaged frame ends its segment's export: the other
 * segments are still written and SP_ERR_INTEGRITY is returned.
 */
enum sp_err sp_register_export(struct sp_register *r, int64_t from_ms, int64_t to_ms, FILE *out,
                               int64_t *count);

/*
 * Delete the whole day segments older than keep_months before now_ms's UTC
 * day (keep_months >= 1) and their index rows; the last pruned record becomes
 * the chain's anchor (kept in the database), so verify still proves the kept
 * days and appends continue the chain from it. Files older than the boundary
 * that are not indexed (left by an interrupted prune) are deleted too.
 * *days (optional) gets the number of day segments removed.
 */
enum sp_err sp_register_prune(struct sp_register *r, int64_t now_ms, unsigned keep_months,
                              int64_t *days);

#endif /* SP_REGISTER_H */
