/*
 * logout_state: pending SP-initiated LogoutRequests (spec SLO-14). A row per
 * LogoutRequest we sent: the IdP it went to, the RelayState, who logged out,
 * when it was issued and until when an answer is accepted; the LogoutResponse
 * consumes it exactly once.
 */
#ifndef SP_LOGOUT_STATE_H
#define SP_LOGOUT_STATE_H

#include <stdint.h>

#include "sp/err.h"

struct sp_db;

#define SP_LOGOUT_KEEP_SEC (24 * 3600) /* answered or expired rows are deleted a day later */

struct sp_logout_pending {
    char *id;          /* LogoutRequest ID */
    char *idp;         /* entity ID of the IdP it was sent to */
    char *relay_state; /* the RelayState sent with it */
    char *user_cf;     /* who logged out, or NULL */
    char *session;     /* short id of the session that was closed, or NULL */
    char *binding;     /* "redirect" or "post" */
    int64_t issue_instant_ms;
    int64_t expires_at;  /* seconds */
    int64_t consumed_at; /* 0 while pending */
};

/*
 * Store a new pending request (strings copied). Rows that expired more than
 * SP_LOGOUT_KEEP_SEC before now are deleted on the way, so the table stays
 * small without a maintenance hook.
 */
enum sp_err sp_logout_state_put(struct sp_db *db, const struct sp_logout_pending *p, int64_t now);

/* Load by request ID into out (free with sp_logout_pending_cleanup). SP_ERR_NOT_FOUND. */
enum sp_err sp_logout_state_get(struct sp_db *db, const char *id, struct sp_logout_pending *out);

/*
 * Mark the request answered: SP_ERR_REPLAY when it was answered already,
 * SP_ERR_EXPIRED at or past its expiry, SP_ERR_NOT_FOUND when unknown.
 */
enum sp_err sp_logout_state_consume(struct sp_db *db, const char *id, int64_t now);

/* Delete rows that expired before now - keep_sec. Rows deleted, or -1. */
int sp_logout_state_purge(struct sp_db *db, int64_t now, int64_t keep_sec);

void sp_logout_pending_cleanup(struct sp_logout_pending *p);

#endif /* SP_LOGOUT_STATE_H */
