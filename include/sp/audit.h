/*
 * audit: the append-only, hash-chained audit trail (domain.md §6 "Audit
 * requirements"). Every login, logout, denial, role change, delegation
 * change and administrative command is one entry.
 *
 * Entry n carries hash_n = SHA-256(hash_{n-1} || "\n" || canonical(entry n))
 * in lower-case hex, hash_0 = 64 zeros; canonical() is the compact JSON array
 * [seq, at_ms, event, actor, acting_for, session, source_ip, outcome, reason,
 * details] (JSON null for NULL fields). The head (last seq and hash) is kept
 * in its own row, written in the same transaction, so removing the newest
 * entries is detected too. Triggers refuse UPDATE and DELETE on the table;
 * sp_audit_verify detects what bypasses them.
 */
#ifndef SP_AUDIT_H
#define SP_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "sp/err.h"

struct sp_db;

/* Event names (stable: exports and tests match on them). */
#define SP_AUDIT_LOGIN "login"
#define SP_AUDIT_LOGIN_FAILED "login.failed"
#define SP_AUDIT_LOGOUT "logout"
#define SP_AUDIT_ACCESS_DENIED "access.denied"
#define SP_AUDIT_ACTING_FOR "profile.switch"
#define SP_AUDIT_ROLE_GRANT "role.grant"
#define SP_AUDIT_ROLE_REVOKE "role.revoke"
#define SP_AUDIT_DELEGATION_ADD "delegation.add"
#define SP_AUDIT_DELEGATION_REVOKE "delegation.revoke"
#define SP_AUDIT_ORG_ADD "org.add"
#define SP_AUDIT_ADMIN "admin" /* any other administrative command */

struct sp_audit_event {
    const char *event;      /* one of the names above (required) */
    const char *actor;      /* CF of the person, or "operator:<name>" */
    const char *acting_for; /* target party when acting for someone else */
    const char *session;    /* short session id (16 hex), NULL outside a session */
    const char *source_ip;  /* client address, NULL for the CLI */
    const char *outcome;    /* "ok", "denied", "error" (required) */
    const char *reason;     /* why, in words; never a secret */
    const char *details;    /* a JSON object as text, or NULL */
};

/*
 * Append one entry at now_ms. Runs inside the caller's transaction when there
 * is one (so the entry commits or rolls back with what it records), in its
 * own otherwise. SP_ERR_INVALID when event or outcome is missing or details
 * is not a JSON object.
 */
enum sp_err sp_audit_append(struct sp_db *db, const struct sp_audit_event *ev, int64_t now_ms);

/* One stored entry, as read back (strings owned by the callee during the callback). */
struct sp_audit_entry {
    int64_t seq;
    int64_t at_ms;
    const char *event, *actor, *acting_for, *session, *source_ip, *outcome, *reason, *details;
    const char *prev_hash, *hash;
};

/*
 * Walk the whole chain in seq order. For every problem found (changed entry:
 * hash mismatch; removed or reordered entry: seq gap or prev_hash not the
 * previous hash; head row not matching the last entry) call problem(ctx, seq,
 * what) with a sentence in English. *entries gets the number of entries read.
 * Returns SP_OK when the chain is intact, SP_ERR_INTEGRITY when a problem was
 * found, SP_ERR_DB when the table cannot be read.
 */
typedef void (*sp_audit_problem_fn)(void *ctx, int64_t seq, const char *what);
enum sp_err sp_audit_verify(struct sp_db *db, sp_audit_problem_fn problem, void *ctx,
                            int64_t *entries);

/*
 * Write the entries with from_ms <= at_ms < to_ms (0 = unbounded) as JSON
 * lines (one object per entry: seq, at (RFC 3339 UTC with milliseconds),
 * at_ms, event, actor, acting_for, session, source_ip, outcome, reason,
 * details (as a JSON value), prev_hash, hash). *count gets the number written.
 */
enum sp_err sp_audit_export(struct sp_db *db, FILE *out, int64_t from_ms, int64_t to_ms,
                            int64_t *count);

/*
 * The newest entries whose actor or acting_for is party, newest first, at most
 * limit; fn is called once per entry. For `user show`.
 */
typedef void (*sp_audit_entry_fn)(void *ctx, const struct sp_audit_entry *e);
enum sp_err sp_audit_recent(struct sp_db *db, const char *party, unsigned limit,
                            sp_audit_entry_fn fn, void *ctx);

#endif /* SP_AUDIT_H */
