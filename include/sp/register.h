/*
 * register: the SPID transaction register (registro delle transazioni): every
 * AuthnRequest, Response and logout message, kept 24 months, append-only,
 * tamper-evident and compressed, outside the SQLite database.
 *
 * Storage: one segment file per UTC day, <dir>/YYYY/MM/DD.spr, a sequence of
 * frames "SPR1" || be32 compressed length || be32 plain length || zlib data
 * (deflate with the fixed SAML preset dictionary of format 1). The plain
 * bytes are one line of compact JSON (the header) then the raw message. The
 * header carries seq, time, kind, dir, id, irt (InResponseTo), idp, cf, len
 * and sha256 of the message, prev (hash of the previous record) and hash:
 *
 *   hash_n = SHA-256(hash_{n-1} || "\n" || [seq, time, kind, dir, id, irt,
 *            idp, cf, len, sha256])   (compact JSON array, null for NULL)
 *
 * in lower-case hex, hash_0 = 64 zeros. The chain runs across days. The
 * database keeps one row per day (first and last seq, last hash, records,
 * bytes) and, after pruning, the anchor (seq and hash of the last pruned
 * record, first day kept), so verify detects changed, removed, reordered
 * or added records and truncated or missing segment files.
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
 * Append one record, durably (fdatasync) before returning SP_OK. The record
 * goes to the segment of its UTC day, or of the newest segment's day when the
 * clock went back. SP_ERR_INVALID for a missing or unknown field or text
 * that is not UTF-8, SP_ERR_TOO_LARGE for a message over the limit,
 * SP_ERR_INTEGRITY when the newest segment is shorter than its index row
 * (nothing is appended then: run verify), SP_ERR_IO or SP_ERR_DB otherwise.
 * *seq (optional) gets the record's sequence number.
 * Thread-safe; several processes may append to the same register.
 */
enum sp_err sp_register_append(struct sp_register *r, const struct sp_register_record *rec,
                               int64_t *seq);

/* ------------------------------------------------------------------ verify, export, prune */

/*
 * Walk every segment in day order, recompute every hash and check seq
 * continuity and each day's index row. For every problem call
 * problem(ctx, day, seq, what) (day "YYYY-MM-DD", seq 0 when not about one
 * record), at most 100 times, then once more with day NULL saying how many
 * were not listed. *records gets the number of records read. SP_OK when
 * intact, SP_ERR_INTEGRITY when a problem was found, SP_ERR_DB / SP_ERR_IO
 * when the register could not be read.
 */
typedef void (*sp_register_problem_fn)(void *ctx, const char *day, int64_t seq, const char *what);
enum sp_err sp_register_verify(struct sp_register *r, sp_register_problem_fn problem, void *ctx,
                               int64_t *records);

/*
 * Write the records with from_ms <= time < to_ms (0 = unbounded) as JSON
 * lines: seq, time (RFC 3339 UTC, ms), time_ms, kind, direction, id,
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
