/*
 * test_str: number parsing bounds and overflow, constant-time comparison,
 * URL encoding (must equal Python's urllib.parse.quote_plus byte for byte),
 * form decoding with malformed escapes and NUL refusal, HTML escaping, hex,
 * trimming.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/str.h"

#define TEST_BUF_MAX 4096

/* sp_parse_uint / sp_parse_int */

static void test_parse_uint_ok(void **state)
{
    static const struct {
        const char *s;
        uint64_t min, max, expect;
    } rows[] = {
        {"0", 0, 10, 0},
        {"10", 0, 10, 10},
        {"007", 0, 10, 7},
        {"65535", 1, 65535, 65535},
        {"18446744073709551615", 0, UINT64_MAX, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v = 12345;
        assert_int_equal(sp_parse_uint(rows[i].s, rows[i].min, rows[i].max, &v), SP_OK);
        assert_true(v == rows[i].expect);
    }
}

static void test_parse_uint_rejects(void **state)
{
    static const struct {
        const char *s;
        uint64_t min, max;
    } bad[] = {
        {"", 0, UINT64_MAX},
        {" 1", 0, UINT64_MAX},
        {"1 ", 0, UINT64_MAX},
        {"+1", 0, UINT64_MAX},
        {"-1", 0, UINT64_MAX},
        {"1x", 0, UINT64_MAX},
        {"0x10", 0, UINT64_MAX},
        {"1e3", 0, UINT64_MAX},
        {"1.0", 0, UINT64_MAX},
        {"\xd9\xa1", 0, UINT64_MAX}, /* Arabic-Indic digit one */
        {"11", 0, 10},
        {"4", 5, 10},
        {"65536", 1, 65535},
        {"18446744073709551616", 0, UINT64_MAX}, /* UINT64_MAX + 1 */
        {"99999999999999999999999", 0, UINT64_MAX},
        {NULL, 0, 10},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 777;
        if (sp_parse_uint(bad[i].s, bad[i].min, bad[i].max, &v) != SP_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i].s ? bad[i].s : "(null)");
        assert_true(v == 777); /* out untouched on failure */
    }
}

static void test_parse_int(void **state)
{
    int64_t v = 0;

    assert_int_equal(sp_parse_int("-5", -10, 10, &v), SP_OK);
    assert_true(v == -5);
    assert_int_equal(sp_parse_int("9223372036854775807", INT64_MIN, INT64_MAX, &v), SP_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(sp_parse_int("-9223372036854775807", INT64_MIN, INT64_MAX, &v), SP_OK);
    assert_true(v == -INT64_MAX);
    v = 3;
    assert_int_equal(sp_parse_int("9223372036854775808", INT64_MIN, INT64_MAX, &v), SP_ERR_INVALID);
    assert_int_equal(sp_parse_int("-11", -10, 10, &v), SP_ERR_INVALID);
    assert_int_equal(sp_parse_int("-", -10, 10, &v), SP_ERR_INVALID);
    assert_int_equal(sp_parse_int("--1", -10, 10, &v), SP_ERR_INVALID);
    assert_int_equal(sp_parse_int("", -10, 10, &v), SP_ERR_INVALID);
    assert_int_equal(sp_parse_int(NULL, -10, 10, &v), SP_ERR_INVALID);
    assert_true(v == 3);
}

/* comparisons */

static void test_str_eq_ct(void **state)
{
    assert_true(sp_str_eq_ct("secret", "secret"));
    assert_true(sp_str_eq_ct("", ""));
    assert_false(sp_str_eq_ct("secret", "secreT"));
    assert_false(sp_str_eq_ct("secret", "secret2"));
    assert_false(sp_str_eq_ct("secret2", "secret"));
    assert_false(sp_str_eq_ct("", "a"));
    assert_false(sp_str_eq_ct(NULL, "a"));
    assert_false(sp_str_eq_ct("a", NULL));
    assert_false(sp_str_eq_ct(NULL, NULL));
    assert_true(sp_mem_eq_ct("ab\0c", "ab\0c", 4));
    assert_false(sp_mem_eq_ct("ab\0c", "ab\0d", 4));
    assert_true(sp_mem_eq_ct("x", "y", 0));
}

static void test_str_eq_prefix(void **state)
{
    assert_true(sp_str_eq(NULL, NULL));
    assert_false(sp_str_eq(NULL, ""));
    assert_false(sp_str_eq("", NULL));
    assert_true(sp_str_eq("a", "a"));
    assert_false(sp_str_eq("a", "b"));
    assert_true(sp_str_has_prefix("attributes.0", "attributes."));
    assert_true(sp_str_has_prefix("abc", ""));
    assert_false(sp_str_has_prefix("attr", "attributes."));
    assert_false(sp_str_has_prefix(NULL, "a"));
}

static void test_strlcpy(void **state)
{
    char small[4] = "zzz";

    assert_int_equal(sp_strlcpy(small, "abcdef", sizeof(small)), 6);
    assert_string_equal(small, "abc");
    assert_int_equal(sp_strlcpy(small, "ab", sizeof(small)), 2);
    assert_string_equal(small, "ab");
    small[0] = 'q';
    assert_int_equal(sp_strlcpy(small, "xyz", 0), 3);
    assert_int_equal(small[0], 'q');
}

/* sp_url_encode: quote_plus */

static void test_url_encode_quote_plus(void **state)
{
    static const struct {
        const char *in;
        size_t n; /* 0: strlen */
        const char *expect;
    } rows[] = {
        {"a+b/c=", 0, "a%2Bb%2Fc%3D"},
        {"hello world", 0, "hello+world"},
        {"AZaz09_.-~", 0, "AZaz09_.-~"},
        {"!*'();:@&=+$,/?#[]", 0, "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D"},
        {"caf\xc3\xa9", 0, "caf%C3%A9"},
        {"%", 0, "%25"},
        {"<x>\"", 0, "%3Cx%3E%22"},
        {"\x00\x7f\x80\xff", 4, "%00%7F%80%FF"},
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        assert_int_equal(sp_url_encode(&b, rows[i].in, rows[i].n ? rows[i].n : strlen(rows[i].in)),
                         SP_OK);
        assert_string_equal(sp_buf_str(&b), rows[i].expect);
        sp_buf_cleanup(&b);
    }
}

static void test_url_encode_limit(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, 5);
    assert_int_equal(sp_url_encode(&b, "ab/", 3), SP_OK); /* "ab%2F": exactly 5 */
    assert_string_equal(sp_buf_str(&b), "ab%2F");
    sp_buf_reset(&b);
    assert_int_equal(sp_url_encode(&b, "abc/", 4), SP_ERR_TOO_LARGE);
    assert_true(b.len <= 5);
    sp_buf_cleanup(&b);
}

/* sp_url_decode */

static void test_url_decode_ok(void **state)
{
    static const struct {
        const char *in, *expect;
    } rows[] = {
        {"a%2Bb%2Fc%3D", "a+b/c="}, {"hello+world", "hello world"},
        {"%41%62%7e", "Ab~"},       {"caf%C3%A9", "caf\xc3\xa9"},
        {"100%25", "100%"},         {"", ""},
        {"plain", "plain"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        assert_int_equal(sp_url_decode(&b, rows[i].in, strlen(rows[i].in)), SP_OK);
        assert_string_equal(sp_buf_str(&b), rows[i].expect);
        sp_buf_cleanup(&b);
    }
}

static void test_url_decode_rejects(void **state)
{
    static const char *const bad[] = {"%",    "%4",  "a%",    "a%4",  "%G1", "%1G",
                                      "%%41", "%00", "a%00b", "% 41", "%+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, TEST_BUF_MAX);
        if (sp_url_decode(&b, bad[i], strlen(bad[i])) != SP_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        sp_buf_cleanup(&b);
    }
}

static void test_url_decode_raw_nul(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_url_decode(&b, "a\0b", 3), SP_ERR_INVALID);
    sp_buf_cleanup(&b);
    /* n bounds the input: an escape cut by n is malformed */
    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_url_decode(&b, "%41", 2), SP_ERR_INVALID);
    sp_buf_cleanup(&b);
    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_url_decode(&b, "ab%41", 2), SP_OK);
    assert_string_equal(sp_buf_str(&b), "ab");
    sp_buf_cleanup(&b);
}

static void test_url_roundtrip(void **state)
{
    unsigned char all[255];
    struct sp_buf enc, dec;

    for (size_t i = 0; i < sizeof(all); i++)
        all[i] = (unsigned char)(i + 1); /* every byte but NUL */
    sp_buf_init(&enc, TEST_BUF_MAX);
    sp_buf_init(&dec, TEST_BUF_MAX);
    assert_int_equal(sp_url_encode(&enc, (const char *)all, sizeof(all)), SP_OK);
    assert_int_equal(sp_url_decode(&dec, enc.data, enc.len), SP_OK);
    assert_int_equal(dec.len, sizeof(all));
    assert_memory_equal(dec.data, all, sizeof(all));
    sp_buf_cleanup(&enc);
    sp_buf_cleanup(&dec);
}

/* sp_html_escape, hex, trim */

static void test_html_escape(void **state)
{
    struct sp_buf b;

    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>"), SP_OK);
    assert_string_equal(sp_buf_str(&b),
                        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    sp_buf_reset(&b);
    assert_int_equal(sp_html_escape(&b, "plain text"), SP_OK);
    assert_string_equal(sp_buf_str(&b), "plain text");
    sp_buf_reset(&b);
    assert_int_equal(sp_html_escape(&b, ""), SP_OK);
    assert_string_equal(sp_buf_str(&b), "");
    assert_int_equal(sp_html_escape(&b, "&&"), SP_OK);
    assert_string_equal(sp_buf_str(&b), "&amp;&amp;");
    sp_buf_cleanup(&b);

    sp_buf_init(&b, 6);
    assert_int_equal(sp_html_escape(&b, "a<b"), SP_OK); /* "a&lt;b": exactly 6 */
    sp_buf_reset(&b);
    assert_int_equal(sp_html_escape(&b, "ab<c"), SP_ERR_TOO_LARGE);
    assert_true(b.len <= 6);
    sp_buf_cleanup(&b);
}

static void test_hex(void **state)
{
    char out[9];
    struct sp_buf b;

    sp_hex(out, "\x00\x01\xab\xff", 4);
    assert_string_equal(out, "0001abff");
    sp_buf_init(&b, TEST_BUF_MAX);
    assert_int_equal(sp_hex_encode(&b, "\x10\xfe", 2), SP_OK);
    assert_string_equal(sp_buf_str(&b), "10fe");
    sp_buf_cleanup(&b);
}

static void test_uri_path_normalize(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } rows[] = {
        {"/", "/"},
        {"/app/cu", "/app/cu"},
        {"/app/cu/", "/app/cu/"},
        {"/app/cu?x=1", "/app/cu"},
        {"/app/cu#frag", "/app/cu"},
        {"/app//cu", "/app/cu"},
        {"//app///cu//", "/app/cu/"},
        {"/app/./cu", "/app/cu"},
        {"/app/cu/.", "/app/cu/"},
        {"/app/cu/..", "/app/"},
        {"/app/cu/../iban", "/app/iban"},
        {"/app/cu/%2e%2e/iban", "/app/iban"},
        {"/app/cu/%2E./iban", "/app/iban"},
        {"/app/cu/.%2e", "/app/"},
        {"/a/b/c/../../d", "/a/d"},
        {"/a/..", "/"},
        {"/%41pp/c%75", "/App/cu"},
        {"/app/caf%C3%A8", "/app/caf\xc3\xa8"},
        {"/app/100%25", "/app/100%"},
        {"/app/...", "/app/..."},
        {"/app/..x", "/app/..x"},
        {"", NULL},
        {"app/cu", NULL},
        {"?x", NULL},
        {"/..", NULL},
        {"/a/../..", NULL},
        {"/app/cu%2f..%2fiban", NULL},
        {"/app/cu%2F..", NULL},
        {"/app/cu%3fx", NULL},
        {"/app/cu%23x", NULL},
        {"/app\\cu", NULL},
        {"/app/%5ccu", NULL},
        {"/app/cu;jsessionid=1", NULL},
        {"/app/cu%3b", NULL},
        {"/app/%00", NULL},
        {"/app/%0a", NULL},
        {"/app/\x01", NULL},
        {"/app/%", NULL},
        {"/app/%4", NULL},
        {"/app/%zz", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sp_buf b;
        enum sp_err rc;
        sp_buf_init(&b, TEST_BUF_MAX);
        sp_buf_adds(&b, "keep");
        rc = sp_uri_path_normalize(&b, rows[i].in);
        if (rows[i].out == NULL) {
            if (rc != SP_ERR_INVALID)
                fail_msg("row %zu \"%s\": accepted as \"%s\"", i, rows[i].in, sp_buf_str(&b));
            assert_string_equal(sp_buf_str(&b), "keep");
        } else {
            if (rc != SP_OK)
                fail_msg("row %zu \"%s\": refused", i, rows[i].in);
            assert_string_equal(sp_buf_str(&b) + 4, rows[i].out);
        }
        sp_buf_cleanup(&b);
    }
}

static void test_trim_dup(void **state)
{
    char *s = sp_str_trim_dup(" \t hello world \r\n");

    assert_string_equal(s, "hello world");
    free(s);
    s = sp_str_trim_dup("   ");
    assert_string_equal(s, "");
    free(s);
    s = sp_str_trim_dup("");
    assert_string_equal(s, "");
    free(s);
    s = sp_str_trim_dup("x");
    assert_string_equal(s, "x");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_uint_ok),
        cmocka_unit_test(test_parse_uint_rejects),
        cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_str_eq_ct),
        cmocka_unit_test(test_str_eq_prefix),
        cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_url_encode_quote_plus),
        cmocka_unit_test(test_url_encode_limit),
        cmocka_unit_test(test_url_decode_ok),
        cmocka_unit_test(test_url_decode_rejects),
        cmocka_unit_test(test_url_decode_raw_nul),
        cmocka_unit_test(test_url_roundtrip),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_trim_dup),
        cmocka_unit_test(test_uri_path_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
