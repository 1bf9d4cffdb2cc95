/*
 * authn_state: pending AuthnRequests (spec RS-90, RS-91). Each row is bound
 * to the browser that started the login (hash of a cookie token), expires,
 * and is consumed exactly once by the ACS.
 */
#ifndef SP_AUTHN_STATE_H
#define SP_AUTHN_STATE_H

#include <stdint.h>

#include "sp/err.h"

struct sp_db;

struct sp_authn_pending {
    char *id;           /* AuthnRequest ID */
    char *relay_state;  /* opaque token sent as RelayState */
    char *binding_hash; /* SHA-256 hex of the browser-binding cookie */
    char *idp;          /* entity ID the request was sent to */
    unsigned level;
    char *comparison;
    char *purpose; /* NULL when none */
    char *acs_url;
    unsigned attr_index;
    int64_t issue_instant_ms;
    char *next;
    int64_t expires_at;  /* seconds */
    int64_t consumed_at; /* 0 while pending */
};

/* Store a new pending request. Strings are copied. */
enum sp_err sp_authn_state_put(struct sp_db *db, const struct sp_authn_pending *p, int64_t now);

/* Load by request ID into out (free with sp_authn_pending_cleanup). SP_ERR_NOT_FOUND. */
enum sp_err sp_authn_state_get(struct sp_db *db, const char *id, struct sp_authn_pending *out);

/*
 * Mark the request consumed; SP_ERR_REPLAY when it was consumed already,
 * SP_ERR_EXPIRED past its expiry, SP_ERR_NOT_FOUND when unknown. Run inside
 * the ACS transaction.
 */
enum sp_err sp_authn_state_consume(struct sp_db *db, const char *id, int64_t now);

/* Delete rows expired before now - keep_sec. Returns rows deleted or -1. */
int sp_authn_state_purge(struct sp_db *db, int64_t now, int64_t keep_sec);

void sp_authn_pending_cleanup(struct sp_authn_pending *p);

#endif /* SP_AUTHN_STATE_H */
