/*
 * ttl_cache: a small sharded in-process cache from string keys to values
 * that the owner knows how to copy and free. An entry is served only while
 * it is younger than the cache's TTL; callers always get their own copy.
 * Used to keep hot reads (sessions, person records) off SQLite.
 */
#ifndef SP_TTL_CACHE_H
#define SP_TTL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_ttl_cache;

/* copy: deep-copy src into dst (dst is zeroed); cleanup: free what copy made. */
typedef void (*sp_ttl_copy_fn)(void *dst, const void *src);
typedef void (*sp_ttl_cleanup_fn)(void *value);

/*
 * A cache of values of value_size bytes, at most max_entries, each usable
 * for ttl_sec after it was stored. Free with sp_ttl_cache_free.
 */
struct sp_ttl_cache *sp_ttl_cache_new(size_t value_size, unsigned ttl_sec, unsigned max_entries,
                                      sp_ttl_copy_fn copy, sp_ttl_cleanup_fn cleanup);
void sp_ttl_cache_free(struct sp_ttl_cache **c);

/* Copy the value of key into out when present and fresh at now; false otherwise. */
bool sp_ttl_cache_get(struct sp_ttl_cache *c, const char *key, int64_t now, void *out);

/* Store a copy of value under key (replacing any), stamped now. */
void sp_ttl_cache_put(struct sp_ttl_cache *c, const char *key, const void *value, int64_t now);

/* Forget key (no-op when absent). */
void sp_ttl_cache_drop(struct sp_ttl_cache *c, const char *key);

/* Forget everything. */
void sp_ttl_cache_clear(struct sp_ttl_cache *c);

/* Empty every cache of the process: the database they mirror changed
 * (called by sp_db_open and sp_db_close). */
void sp_ttl_cache_clear_all(void);

#endif /* SP_TTL_CACHE_H */
