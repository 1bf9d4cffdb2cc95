/*
 * test_b64: RFC 4648 vectors, round trips of every length up to a few
 * blocks, whitespace tolerance (IdPs wrap lines), refusal of characters
 * outside the standard alphabet, and padding that does not match the data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sp/b64.h"
#include "sp/buf.h"

#define TEST_BUF_MAX 4096

static const struct {
    const char *plain, *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

#define NVEC (sizeof(rfc4648) / sizeof(rfc4648[0]))

static void test_encode_rfc4648(void **state)
{
    for (size_t i = 0; i < NVEC; i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        assert_int_equal(sp_b64_encode(&b, rfc4648[i].plain, strlen(rfc4648[i].plain)), SP_OK);
        assert_string_equal(sp_buf_str(&b), rfc4648[i].encoded);
        sp_buf_cleanup(&b);
    }
}

static void test_decode_rfc4648(void **state)
{
    for (size_t i = 0; i < NVEC; i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        assert_int_equal(sp_b64_decode(&b, rfc4648[i].encoded, strlen(rfc4648[i].encoded)), SP_OK);
        assert_string_equal(sp_buf_str(&b), rfc4648[i].plain);
        assert_int_equal(b.len, strlen(rfc4648[i].plain));
        sp_buf_cleanup(&b);
    }
}

static void test_roundtrip_all_lengths(void **state)
{
    unsigned char in[300];

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 37 + 11); /* covers every byte value */
    for (size_t n = 0; n <= sizeof(in); n++) {
        struct sp_buf enc, dec;
        sp_buf_init(&enc, TEST_BUF_MAX);
        sp_buf_init(&dec, TEST_BUF_MAX);
        assert_int_equal(sp_b64_encode(&enc, in, n), SP_OK);
        assert_int_equal(enc.len, (n + 2) / 3 * 4);
        assert_int_equal(sp_b64_decode(&dec, enc.data ? enc.data : "", enc.len), SP_OK);
        assert_int_equal(dec.len, n);
        if (n > 0)
            assert_memory_equal(dec.data, in, n);
        sp_buf_cleanup(&enc);
        sp_buf_cleanup(&dec);
    }
}

static void test_whitespace_tolerated(void **state)
{
    static const char *const wrapped[] = {
        "Zm9v\r\nYmFy", " Zm9vYmFy", "Zm9vYmFy \n", "Zm\t9v Ym\nFy", "Zm9vYg==\r\n", "Zm9vYg= =",
    };
    static const char *const expect[] = {"foobar", "foobar", "foobar", "foobar", "foob", "foob"};

    for (size_t i = 0; i < sizeof(wrapped) / sizeof(wrapped[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        if (sp_b64_decode(&b, wrapped[i], strlen(wrapped[i])) != SP_OK)
            fail_msg("refused \"%s\"", wrapped[i]);
        assert_string_equal(sp_buf_str(&b), expect[i]);
        sp_buf_cleanup(&b);
    }
}

static void test_invalid_characters(void **state)
{
    static const char *const bad[] = {
        "Zm9v!",     "Zm9v-_",  "Zm9v\x80", "Zm9vYm\xc3\xa9",
        "Zm9v.YmFy", "Zm9v%3D", "Zm9v\x1b", "Zm9v:",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        if (sp_b64_decode(&b, bad[i], strlen(bad[i])) != SP_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        sp_buf_cleanup(&b);
    }
}

static void test_embedded_nul(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_b64_decode(&b, "Zm9v\0YmFy", 9), SP_ERR_INVALID);
    sp_buf_cleanup(&b);
}

static void test_bad_padding(void **state)
{
    static const char *const bad[] = {
        "Zg===",    /* three pads */
        "Z===",     /* one data char cannot make a byte */
        "Z",        /* same, unpadded */
        "=Zg=",     /* data after padding */
        "Zg==Zg==", /* concatenated blocks */
        "Zg==a",    /* data after padding */
        "Zh==",     /* non-zero bits in the padding */
        "Zm9=",     /* non-zero bits in the padding */
        "Zm9v=",    /* padding where none is due */
        "Zg=",      /* one pad where two are due */
        "Zm8==",    /* two pads where one is due */
        "==",       /* padding only */
        "=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        if (sp_b64_decode(&b, bad[i], strlen(bad[i])) != SP_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        sp_buf_cleanup(&b);
    }
}

static void test_unpadded_accepted(void **state)
{
    /* documented leniency: missing padding is accepted when the bits are clean */
    struct sp_buf b;

    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_b64_decode(&b, "Zg", 2), SP_OK);
    assert_string_equal(sp_buf_str(&b), "f");
    sp_buf_reset(&b);
    assert_int_equal(sp_b64_decode(&b, "Zm8", 3), SP_OK);
    assert_string_equal(sp_buf_str(&b), "fo");
    sp_buf_cleanup(&b);
}

static void test_limits(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 5);
    assert_int_equal(sp_b64_decode(&b, "Zm9vYmFy", 8), SP_ERR_TOO_LARGE);
    sp_buf_cleanup(&b);
    sp_buf_init(&b, 6);
    assert_int_equal(sp_b64_decode(&b, "Zm9vYmFy", 8), SP_OK);
    assert_string_equal(sp_buf_str(&b), "foobar");
    sp_buf_cleanup(&b);
    sp_buf_init(&b, 7);
    assert_int_equal(sp_b64_encode(&b, "foobar", 6), SP_ERR_TOO_LARGE);
    sp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rfc4648),
        cmocka_unit_test(test_decode_rfc4648),
        cmocka_unit_test(test_roundtrip_all_lengths),
        cmocka_unit_test(test_whitespace_tolerated),
        cmocka_unit_test(test_invalid_characters),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_bad_padding),
        cmocka_unit_test(test_unpadded_accepted),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
