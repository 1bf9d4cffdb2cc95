/*
 * test_buf: bounded buffers. An append past the limit fails with
 * SP_ERR_TOO_LARGE and leaves the buffer exactly as it was; contents stay
 * NUL-terminated; detach hands over the allocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"

static void test_empty(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 10);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_string_equal(sp_buf_str(&b), "");
    sp_buf_reset(&b); /* no allocation yet: must not crash */
    sp_buf_cleanup(&b);
    sp_buf_cleanup(&b); /* twice is harmless */
    assert_null(b.data);
}

static void test_append_up_to_limit(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 5);
    assert_int_equal(sp_buf_adds(&b, "ab"), SP_OK);
    assert_int_equal(sp_buf_addc(&b, 'c'), SP_OK);
    assert_int_equal(sp_buf_add(&b, "de", 2), SP_OK);
    assert_int_equal(b.len, 5);
    assert_string_equal(sp_buf_str(&b), "abcde");
    assert_int_equal(sp_buf_add(&b, "", 0), SP_OK); /* empty append at the limit */
    assert_int_equal(b.len, 5);
    sp_buf_cleanup(&b);
}

/* Every append kind past the limit: error, and nothing changed. */
static void test_limit_leaves_buffer_unchanged(void **state)
{
    struct sp_buf b;
    char *data_before;
    size_t cap_before;

    sp_buf_init(&b, 5);
    assert_int_equal(sp_buf_adds(&b, "abcd"), SP_OK);
    data_before = b.data;
    cap_before = b.cap;

    assert_int_equal(sp_buf_adds(&b, "ef"), SP_ERR_TOO_LARGE);
    assert_int_equal(sp_buf_add(&b, "efghij", 6), SP_ERR_TOO_LARGE);
    assert_int_equal(sp_buf_addf(&b, "%s", "xy"), SP_ERR_TOO_LARGE);
    assert_int_equal(sp_buf_addf(&b, "%d", 12345), SP_ERR_TOO_LARGE);
    assert_int_equal(sp_buf_add(&b, "x", SIZE_MAX), SP_ERR_TOO_LARGE); /* overflow guard */

    assert_int_equal(b.len, 4);
    assert_ptr_equal(b.data, data_before);
    assert_int_equal(b.cap, cap_before);
    assert_string_equal(sp_buf_str(&b), "abcd");
    assert_int_equal(b.data[4], '\0');

    /* one more byte still fits */
    assert_int_equal(sp_buf_addc(&b, 'e'), SP_OK);
    assert_int_equal(sp_buf_addc(&b, 'f'), SP_ERR_TOO_LARGE);
    assert_string_equal(sp_buf_str(&b), "abcde");
    sp_buf_cleanup(&b);
}

static void test_zero_limit(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 0);
    assert_int_equal(sp_buf_addc(&b, 'a'), SP_ERR_TOO_LARGE);
    assert_int_equal(b.len, 0);
    assert_string_equal(sp_buf_str(&b), "");
    sp_buf_cleanup(&b);
}

static void test_addf(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 64);
    assert_int_equal(sp_buf_addf(&b, "%s:%u: %s", "file.ini", 12u, "bad"), SP_OK);
    assert_string_equal(sp_buf_str(&b), "file.ini:12: bad");
    assert_int_equal(b.len, strlen("file.ini:12: bad"));
    assert_int_equal(sp_buf_addf(&b, "%s", ""), SP_OK);
    assert_int_equal(b.len, strlen("file.ini:12: bad"));
    sp_buf_cleanup(&b);
}

static void test_growth_keeps_content(void **state)
{
    struct sp_buf b;
    char expect[1001];

    sp_buf_init(&b, 1000);
    for (int i = 0; i < 1000; i++) {
        expect[i] = (char)('a' + i % 26);
        assert_int_equal(sp_buf_addc(&b, expect[i]), SP_OK);
    }
    expect[1000] = '\0';
    assert_int_equal(b.len, 1000);
    assert_true(b.cap > b.len);
    assert_string_equal(sp_buf_str(&b), expect);
    assert_int_equal(sp_buf_addc(&b, 'z'), SP_ERR_TOO_LARGE);
    sp_buf_cleanup(&b);
}

static void test_binary_content(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 16);
    assert_int_equal(sp_buf_add(&b, "a\0b", 3), SP_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 4); /* plus the terminating NUL */
    sp_buf_cleanup(&b);
}

static void test_reset_and_detach(void **state)
{
    struct sp_buf b;
    char *p;

    sp_buf_init(&b, 16);
    assert_int_equal(sp_buf_adds(&b, "hello"), SP_OK);
    sp_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(sp_buf_str(&b), "");
    assert_int_equal(sp_buf_adds(&b, "again"), SP_OK);
    p = sp_buf_detach(&b);
    assert_string_equal(p, "again");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 16); /* the limit survives */
    free(p);

    p = sp_buf_detach(&b); /* empty buffer: still a string to free */
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    sp_buf_cleanup(&b);
}

static void test_cleanup_secret(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 64);
    assert_int_equal(sp_buf_adds(&b, "top secret"), SP_OK);
    sp_buf_cleanup_secret(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    sp_buf_cleanup_secret(&b); /* empty: must not crash */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_up_to_limit),
        cmocka_unit_test(test_limit_leaves_buffer_unchanged),
        cmocka_unit_test(test_zero_limit),
        cmocka_unit_test(test_addf),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_binary_content),
        cmocka_unit_test(test_reset_and_detach),
        cmocka_unit_test(test_cleanup_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
