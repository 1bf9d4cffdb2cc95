/*
 * test_ttl_cache: the in-process cache: copies in and out, time to live,
 * replacement, drop, clear of every cache, the per-shard bound, and use from
 * several threads.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/mem.h"
#include "sp/ttl_cache.h"

struct val {
    char *text;
    int n;
};

static int copies;

static void val_copy(void *dst, const void *src)
{
    struct val *d = dst;
    const struct val *s = src;
    d->n = s->n;
    d->text = s->text ? sp_xstrdup(s->text) : NULL;
    copies++;
}

static void val_cleanup(void *v)
{
    free(((struct val *)v)->text);
}

static struct sp_ttl_cache *new_cache(unsigned ttl, unsigned max)
{
    return sp_ttl_cache_new(sizeof(struct val), ttl, max, val_copy, val_cleanup);
}

static void test_put_get_copy(void **state)
{
    struct sp_ttl_cache *c = new_cache(5, 100);
    struct val v = {"hello", 7}, out;
    (void)state;

    assert_false(sp_ttl_cache_get(c, "k", 1000, &out));
    sp_ttl_cache_put(c, "k", &v, 1000);
    assert_true(sp_ttl_cache_get(c, "k", 1000, &out));
    assert_string_equal(out.text, "hello");
    assert_int_equal(out.n, 7);
    assert_ptr_not_equal(out.text, v.text); /* the caller owns a copy */
    val_cleanup(&out);
    assert_false(sp_ttl_cache_get(c, "other", 1000, &out));
    sp_ttl_cache_free(&c);
    assert_null(c);
    sp_ttl_cache_free(NULL);
}

static void test_ttl(void **state)
{
    struct sp_ttl_cache *c = new_cache(5, 100);
    struct val v = {"x", 1}, out;
    (void)state;

    sp_ttl_cache_put(c, "k", &v, 1000);
    assert_true(sp_ttl_cache_get(c, "k", 1004, &out));
    val_cleanup(&out);
    assert_false(sp_ttl_cache_get(c, "k", 1005, &out)); /* exactly ttl: stale */
    assert_false(sp_ttl_cache_get(c, "k", 999, &out));  /* clock went back: not trusted */
    sp_ttl_cache_free(&c);
}

static void test_replace_and_drop(void **state)
{
    struct sp_ttl_cache *c = new_cache(5, 100);
    struct val a = {"a", 1}, b = {"b", 2}, out;
    (void)state;

    sp_ttl_cache_put(c, "k", &a, 1000);
    sp_ttl_cache_put(c, "k", &b, 1001);
    assert_true(sp_ttl_cache_get(c, "k", 1001, &out));
    assert_string_equal(out.text, "b");
    val_cleanup(&out);
    sp_ttl_cache_drop(c, "k");
    assert_false(sp_ttl_cache_get(c, "k", 1001, &out));
    sp_ttl_cache_drop(c, "absent");
    sp_ttl_cache_free(&c);
}

static void test_clear_all(void **state)
{
    struct sp_ttl_cache *c1 = new_cache(5, 100), *c2 = new_cache(5, 100);
    struct val v = {"v", 1}, out;
    (void)state;

    sp_ttl_cache_put(c1, "k", &v, 1000);
    sp_ttl_cache_put(c2, "k", &v, 1000);
    sp_ttl_cache_clear_all();
    assert_false(sp_ttl_cache_get(c1, "k", 1000, &out));
    assert_false(sp_ttl_cache_get(c2, "k", 1000, &out));
    sp_ttl_cache_free(&c1);
    sp_ttl_cache_free(&c2);
    sp_ttl_cache_clear_all(); /* freed caches are no longer in the registry */
}

static void test_bound(void **state)
{
    /* max 16 entries: one per shard; fresh entries are never evicted */
    struct sp_ttl_cache *c = new_cache(5, 16);
    struct val v = {"v", 1}, out;
    char key[32];
    int stored = 0;
    (void)state;

    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        sp_ttl_cache_put(c, key, &v, 1000);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        if (sp_ttl_cache_get(c, key, 1000, &out)) {
            stored++;
            val_cleanup(&out);
        }
    }
    assert_true(stored >= 16 && stored <= 32);
    /* stale entries are swept to make room */
    sp_ttl_cache_put(c, "late", &v, 2000);
    assert_true(sp_ttl_cache_get(c, "late", 2000, &out));
    val_cleanup(&out);
    sp_ttl_cache_free(&c);
}

static struct sp_ttl_cache *shared;

static void *worker(void *arg)
{
    char key[32];
    struct val v = {"t", 0}, out;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "k%d", (int)(intptr_t)arg * 10 + i % 10);
        v.n = i;
        sp_ttl_cache_put(shared, key, &v, 1000);
        if (sp_ttl_cache_get(shared, key, 1000, &out))
            val_cleanup(&out);
        if (i % 7 == 0)
            sp_ttl_cache_drop(shared, key);
    }
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    (void)state;
    shared = new_cache(5, 1000);
    for (intptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    sp_ttl_cache_free(&shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_copy),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_replace_and_drop),
        cmocka_unit_test(test_clear_all),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
