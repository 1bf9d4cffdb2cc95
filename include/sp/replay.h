/*
 * replay: the replay cache of message IDs (Response and Assertion IDs,
 * logout message IDs), remembered until they could no longer be valid.
 */
#ifndef SP_REPLAY_H
#define SP_REPLAY_H

#include <stdint.h>

#include "sp/err.h"

struct sp_db;

/* Remember id until expires_at (seconds); SP_ERR_REPLAY when it was seen. */
enum sp_err sp_replay_remember(struct sp_db *db, const char *id, const char *kind,
                               int64_t expires_at);

/* Forget IDs whose expiry has passed. Returns rows deleted or -1. */
int sp_replay_purge(struct sp_db *db, int64_t now);

#endif /* SP_REPLAY_H */
