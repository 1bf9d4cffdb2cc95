/*
 * ttl_cache: sharded chained hash table with per-entry timestamps.
 *
 * THREAD SAFETY NOTES: SP_TTL_SHARDS shards, each behind its own mutex,
 * chosen by a hash of the key; values are copied in and out under the shard
 * lock, never shared. A full shard first sweeps its stale entries and then
 * refuses new ones (callers fall back to the database).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sp/mem.h"
#include "sp/ttl_cache.h"

#define SP_TTL_SHARDS 16
#define SP_TTL_MAX_CACHES 16

/* every live cache, so that a database change can empty them all */
static pthread_mutex_t ttl_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sp_ttl_cache *ttl_registry[SP_TTL_MAX_CACHES];

struct ttl_entry {
    struct ttl_entry *next;
    char *key;
    int64_t stored_at;
    /* value_size bytes follow */
};

struct ttl_shard {
    pthread_mutex_t lock;
    struct ttl_entry *head;
    unsigned n;
};

struct sp_ttl_cache {
    size_t value_size;
    unsigned ttl_sec;
    unsigned max_per_shard;
    sp_ttl_copy_fn copy;
    sp_ttl_cleanup_fn cleanup;
    struct ttl_shard shards[SP_TTL_SHARDS];
};

static void *ttl_value(struct ttl_entry *e)
{
    return e + 1;
}

static struct ttl_shard *ttl_shard_of(struct sp_ttl_cache *c, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &c->shards[h % SP_TTL_SHARDS];
}

static void ttl_entry_free(struct sp_ttl_cache *c, struct ttl_entry *e)
{
    c->cleanup(ttl_value(e));
    free(e->key);
    free(e);
}

static bool ttl_fresh(const struct sp_ttl_cache *c, const struct ttl_entry *e, int64_t now)
{
    return now >= e->stored_at && now - e->stored_at < (int64_t)c->ttl_sec;
}

struct sp_ttl_cache *sp_ttl_cache_new(size_t value_size, unsigned ttl_sec, unsigned max_entries,
                                      sp_ttl_copy_fn copy, sp_ttl_cleanup_fn cleanup)
{
    struct sp_ttl_cache *c = sp_xcalloc(1, sizeof(*c));
    c->value_size = value_size;
    c->ttl_sec = ttl_sec;
    c->max_per_shard = max_entries / SP_TTL_SHARDS + 1;
    c->copy = copy;
    c->cleanup = cleanup;
    for (unsigned i = 0; i < SP_TTL_SHARDS; i++)
        pthread_mutex_init(&c->shards[i].lock, NULL);
    pthread_mutex_lock(&ttl_registry_lock);
    for (unsigned i = 0; i < SP_TTL_MAX_CACHES; i++)
        if (ttl_registry[i] == NULL) {
            ttl_registry[i] = c;
            break;
        }
    pthread_mutex_unlock(&ttl_registry_lock);
    return c;
}

void sp_ttl_cache_clear_all(void)
{
    pthread_mutex_lock(&ttl_registry_lock);
    for (unsigned i = 0; i < SP_TTL_MAX_CACHES; i++)
        if (ttl_registry[i] != NULL)
            sp_ttl_cache_clear(ttl_registry[i]);
    pthread_mutex_unlock(&ttl_registry_lock);
}

void sp_ttl_cache_clear(struct sp_ttl_cache *c)
{
    for (unsigned i = 0; i < SP_TTL_SHARDS; i++) {
        struct ttl_shard *sh = &c->shards[i];
        pthread_mutex_lock(&sh->lock);
        while (sh->head != NULL) {
            struct ttl_entry *e = sh->head;
            sh->head = e->next;
            ttl_entry_free(c, e);
        }
        sh->n = 0;
        pthread_mutex_unlock(&sh->lock);
    }
}

void sp_ttl_cache_free(struct sp_ttl_cache **cp)
{
    struct sp_ttl_cache *c = cp ? *cp : NULL;
    if (c == NULL)
        return;
    pthread_mutex_lock(&ttl_registry_lock);
    for (unsigned i = 0; i < SP_TTL_MAX_CACHES; i++)
        if (ttl_registry[i] == c)
            ttl_registry[i] = NULL;
    pthread_mutex_unlock(&ttl_registry_lock);
    sp_ttl_cache_clear(c);
    for (unsigned i = 0; i < SP_TTL_SHARDS; i++)
        pthread_mutex_destroy(&c->shards[i].lock);
    free(c);
    *cp = NULL;
}

bool sp_ttl_cache_get(struct sp_ttl_cache *c, const char *key, int64_t now, void *out)
{
    struct ttl_shard *sh = ttl_shard_of(c, key);
    bool hit = false;

    pthread_mutex_lock(&sh->lock);
    for (struct ttl_entry *e = sh->head; e != NULL; e = e->next) {
        if (strcmp(e->key, key) != 0)
            continue;
        if (ttl_fresh(c, e, now)) {
            memset(out, 0, c->value_size);
            c->copy(out, ttl_value(e));
            hit = true;
        }
        break;
    }
    pthread_mutex_unlock(&sh->lock);
    return hit;
}

/* Unlink key and, when sweep, every stale entry; called with the lock held. */
static void ttl_unlink(struct sp_ttl_cache *c, struct ttl_shard *sh, const char *key, bool sweep,
                       int64_t now)
{
    struct ttl_entry **pp = &sh->head;
    while (*pp != NULL) {
        struct ttl_entry *e = *pp;
        if ((key != NULL && strcmp(e->key, key) == 0) || (sweep && !ttl_fresh(c, e, now))) {
            *pp = e->next;
            sh->n--;
            ttl_entry_free(c, e);
        } else {
            pp = &e->next;
        }
    }
}

void sp_ttl_cache_put(struct sp_ttl_cache *c, const char *key, const void *value, int64_t now)
{
    struct ttl_shard *sh = ttl_shard_of(c, key);
    struct ttl_entry *e = sp_xcalloc(1, sizeof(*e) + c->value_size);

    e->key = sp_xstrdup(key);
    e->stored_at = now;
    c->copy(ttl_value(e), value); /* outside the lock: copies allocate */
    pthread_mutex_lock(&sh->lock);
    ttl_unlink(c, sh, key, sh->n >= c->max_per_shard, now);
    if (sh->n < c->max_per_shard) {
        e->next = sh->head;
        sh->head = e;
        sh->n++;
        e = NULL;
    }
    pthread_mutex_unlock(&sh->lock);
    if (e != NULL)
        ttl_entry_free(c, e);
}

void sp_ttl_cache_drop(struct sp_ttl_cache *c, const char *key)
{
    struct ttl_shard *sh = ttl_shard_of(c, key);
    pthread_mutex_lock(&sh->lock);
    ttl_unlink(c, sh, key, false, 0);
    pthread_mutex_unlock(&sh->lock);
}
