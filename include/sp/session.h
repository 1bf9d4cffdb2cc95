/*
 * session: login sessions. The browser holds a random token; the database
 * holds only its SHA-256, so a copy of the database does not yield sessions.
 * Idle timeout and absolute lifetime are enforced on every lookup.
 */
#ifndef SP_SESSION_H
#define SP_SESSION_H

#include <stdint.h>

#include "sp/err.h"
#include "sp/rand.h"

struct sp_db;

#define SP_SESSION_TOUCH_SEC 30 /* refresh last_seen at most this often */
#define SP_SESSION_CACHE_SEC 5  /* reuse a validated session this long without SQLite */

#define SP_SESSION_ID_LEN 16 /* short id for logs and audit: hash prefix */

struct sp_session {
    char id[SP_SESSION_ID_LEN + 1]; /* filled by lookup */
    char *user_cf;
    char *method;   /* "spid", "pin", "cns" */
    unsigned level; /* SPID level, 0 for other methods */
    char *idp;      /* NULL when not SPID */
    char *name_id;  /* as received, for Single Logout */
    char *name_qualifier;
    char *session_index;
    unsigned assurance; /* enum sp_assurance of the credential (authz.h) */
    char *acting_for;   /* party the person acts for, NULL = self */
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at; /* absolute end */
};

/*
 * Create a session for s (strings copied) and write the new browser token
 * into token. expires_at = now + lifetime.
 */
enum sp_err sp_session_create(struct sp_db *db, const struct sp_session *s, int64_t now,
                              unsigned lifetime_sec, char token[SP_RAND_TOKEN_LEN + 1]);

/*
 * Find the live session of token. SP_ERR_NOT_FOUND for unknown or ended
 * sessions, SP_ERR_EXPIRED when idle too long or past its lifetime (the
 * session is ended then). out is freed with sp_session_cleanup.
 */
enum sp_err sp_session_lookup(struct sp_db *db, const char *token, int64_t now, unsigned idle_sec,
                              struct sp_session *out);

/* The short id of the session of token (for logs and the audit trail). */
void sp_session_id(const char *token, char out[SP_SESSION_ID_LEN + 1]);

/* Change the party the session acts for (NULL: self). SP_ERR_NOT_FOUND when
 * the session is not live. */
enum sp_err sp_session_set_acting_for(struct sp_db *db, const char *token, const char *party);

/* End every live session of cf opened with method (e.g. all PIN sessions
 * after a revocation). */
enum sp_err sp_session_end_user(struct sp_db *db, const char *cf, const char *method, int64_t now);

/* A session ended by sp_session_end_spid (strings borrowed for the callback). */
typedef void (*sp_session_ended_fn)(void *ctx, const char *user_cf, const char *short_id);

/*
 * Single Logout from the IdP (SLO-21): end every live SPID session opened
 * with idp whose NameID is name_id (compared without surrounding whitespace),
 * with that NameQualifier when name_qualifier is not NULL, and with one of
 * the n_index session indexes when n_index > 0. fn (may be NULL) is called
 * once per session ended, after the change is committed; *ended (may be
 * NULL) gets how many. Atomic: all of them or none.
 */
enum sp_err sp_session_end_spid(struct sp_db *db, const char *idp, const char *name_id,
                                const char *name_qualifier, const char *const *session_index,
                                unsigned n_index, int64_t now, sp_session_ended_fn fn, void *ctx,
                                unsigned *ended);

/* End the session of token (idempotent). */
enum sp_err sp_session_end(struct sp_db *db, const char *token, int64_t now);

/* Delete sessions that ended or expired before now - keep_sec. Rows deleted or -1. */
int sp_session_purge(struct sp_db *db, int64_t now, int64_t keep_sec);

/* Number of live sessions (for metrics). */
int64_t sp_session_count_active(struct sp_db *db, int64_t now, unsigned idle_sec);

void sp_session_cleanup(struct sp_session *s);

/* Empty the in-process cache (tests; daemon shutdown frees it too). */
void sp_session_cache_clear(void);

#endif /* SP_SESSION_H */
