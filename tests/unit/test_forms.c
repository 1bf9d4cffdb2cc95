/*
 * test_forms: urlencoded parsing (query strings and POST bodies). Pairs,
 * '+' and %XX decoding, empty fields, names without '=', repeated names,
 * malformed escapes, %00, the field-count and name-length limits, and reuse
 * of a struct after sp_params_cleanup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/forms.h"

static void parse_str(struct sp_params *p, const char *s)
{
    memset(p, 0, sizeof(*p));
    sp_params_parse(p, s, strlen(s));
}

static void test_plain_pairs(void **state)
{
    struct sp_params p;

    parse_str(&p, "a=1&bb=two&ccc=");
    assert_false(p.bad);
    assert_int_equal(p.n, 3);
    assert_string_equal(sp_params_get(&p, "a"), "1");
    assert_string_equal(sp_params_get(&p, "bb"), "two");
    assert_string_equal(sp_params_get(&p, "ccc"), "");
    assert_null(sp_params_get(&p, "b"));   /* prefix of a name */
    assert_null(sp_params_get(&p, "bbb")); /* extension of a name */
    assert_null(sp_params_get(&p, "A"));   /* names are case-sensitive */
    assert_string_equal(p.names[0], "a");
    assert_string_equal(p.names[2], "ccc");
    sp_params_cleanup(&p);
}

static void test_plus_and_percent(void **state)
{
    struct sp_params p;

    parse_str(&p, "q=a+b%20c&n%61me=%41%42%43&pct=100%25&plus=%2B&amp=%26&eq=%3D=&utf=caf%C3%A9");
    assert_false(p.bad);
    assert_int_equal(p.n, 7);
    assert_string_equal(sp_params_get(&p, "q"), "a b c");
    assert_string_equal(sp_params_get(&p, "name"), "ABC"); /* names are decoded too */
    assert_string_equal(sp_params_get(&p, "pct"), "100%");
    assert_string_equal(sp_params_get(&p, "plus"), "+");
    assert_string_equal(sp_params_get(&p, "amp"), "&");
    assert_string_equal(sp_params_get(&p, "eq"), "=="); /* only the first '=' splits */
    assert_string_equal(sp_params_get(&p, "utf"), "caf\xc3\xa9");
    sp_params_cleanup(&p);

    parse_str(&p, "lower=%2f%2b&mixed=%aF");
    assert_false(p.bad);
    assert_string_equal(sp_params_get(&p, "lower"), "/+");
    assert_string_equal(sp_params_get(&p, "mixed"), "\xaf");
    sp_params_cleanup(&p);

    parse_str(&p, "sp+ace=1");
    assert_false(p.bad);
    assert_string_equal(sp_params_get(&p, "sp ace"), "1");
    sp_params_cleanup(&p);
}

static void test_empty_fields(void **state)
{
    struct sp_params p;

    parse_str(&p, "&&a=1&&&b=2&");
    assert_false(p.bad);
    assert_int_equal(p.n, 2);
    assert_string_equal(sp_params_get(&p, "a"), "1");
    assert_string_equal(sp_params_get(&p, "b"), "2");
    sp_params_cleanup(&p);

    parse_str(&p, "");
    assert_false(p.bad);
    assert_int_equal(p.n, 0);
    assert_null(sp_params_get(&p, ""));
    sp_params_cleanup(&p);

    parse_str(&p, "&");
    assert_false(p.bad);
    assert_int_equal(p.n, 0);
    sp_params_cleanup(&p);

    /* an empty name is a field, looked up as "" */
    parse_str(&p, "=v&x=");
    assert_false(p.bad);
    assert_int_equal(p.n, 2);
    assert_string_equal(sp_params_get(&p, ""), "v");
    assert_string_equal(sp_params_get(&p, "x"), "");
    sp_params_cleanup(&p);
}

static void test_name_without_equals(void **state)
{
    struct sp_params p;

    parse_str(&p, "flag&a=1&other");
    assert_false(p.bad);
    assert_int_equal(p.n, 3);
    assert_non_null(sp_params_get(&p, "flag"));
    assert_string_equal(sp_params_get(&p, "flag"), "");
    assert_string_equal(sp_params_get(&p, "other"), "");
    assert_string_equal(sp_params_get(&p, "a"), "1");
    sp_params_cleanup(&p);
}

static void test_repeated_name(void **state)
{
    struct sp_params p;

    parse_str(&p, "RelayState=a&SAMLResponse=x&RelayState=b");
    assert_true(p.bad);
    assert_null(sp_params_get(&p, "RelayState"));
    assert_string_equal(sp_params_get(&p, "SAMLResponse"), "x");
    sp_params_cleanup(&p);

    /* the same name spelled differently is still the same name once decoded */
    parse_str(&p, "a=1&%61=2");
    assert_true(p.bad);
    assert_null(sp_params_get(&p, "a"));
    sp_params_cleanup(&p);

    /* same value, or no value at all, is still a repeat */
    parse_str(&p, "a=1&a=1");
    assert_true(p.bad);
    assert_null(sp_params_get(&p, "a"));
    sp_params_cleanup(&p);

    parse_str(&p, "a&a&a");
    assert_true(p.bad);
    assert_null(sp_params_get(&p, "a"));
    sp_params_cleanup(&p);
}

static void test_malformed_percent(void **state)
{
    static const char *const bad_inputs[] = {
        "a=%",   "a=%4",     "a=%G1",     "a=%1G",  "a=%%41", "a=1%",  "%=1",
        "a%2=1", "a=%4&b=2", "x=1&a=%zz", "a=% 41", "a=%-1",  "a=%+1", "a=%\xc3\xa9",
    };

    for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
        struct sp_params p;
        parse_str(&p, bad_inputs[i]);
        if (!p.bad)
            fail_msg("accepted malformed input \"%s\"", bad_inputs[i]);
        assert_null(sp_params_get(&p, "a"));
        sp_params_cleanup(&p);
    }
}

static void test_malformed_keeps_earlier_fields(void **state)
{
    struct sp_params p;

    /* parsing stops at the bad field; bad tells the caller to refuse the lot */
    parse_str(&p, "x=1&a=%4&b=2");
    assert_true(p.bad);
    assert_int_equal(p.n, 1);
    assert_string_equal(sp_params_get(&p, "x"), "1");
    assert_null(sp_params_get(&p, "b"));
    sp_params_cleanup(&p);
}

static void test_nul_refused(void **state)
{
    static const char raw_nul[] = "a=x\0y&b=2";
    struct sp_params p;

    parse_str(&p, "a=%00");
    assert_true(p.bad);
    assert_null(sp_params_get(&p, "a"));
    sp_params_cleanup(&p);

    parse_str(&p, "a%00b=1");
    assert_true(p.bad);
    assert_int_equal(p.n, 0);
    sp_params_cleanup(&p);

    parse_str(&p, "a=x%00y");
    assert_true(p.bad);
    sp_params_cleanup(&p);

    /* a raw NUL inside the counted bytes is refused as well */
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, raw_nul, sizeof(raw_nul) - 1);
    assert_true(p.bad);
    assert_null(sp_params_get(&p, "a"));
    sp_params_cleanup(&p);
}

static void test_length_is_respected(void **state)
{
    struct sp_params p;

    /* only the first n bytes count, even without a NUL there */
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, "a=12345&b=2", 4);
    assert_false(p.bad);
    assert_int_equal(p.n, 1);
    assert_string_equal(sp_params_get(&p, "a"), "12");
    assert_null(sp_params_get(&p, "b"));
    sp_params_cleanup(&p);

    /* an escape cut by n is malformed */
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, "a=%41", 4);
    assert_true(p.bad);
    sp_params_cleanup(&p);
}

static void build_fields(struct sp_buf *b, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        assert_int_equal(sp_buf_addf(b, "%sf%u=%u", i ? "&" : "", i, i), SP_OK);
}

static void test_field_limit(void **state)
{
    struct sp_params p;
    struct sp_buf b;
    char name[16];

    sp_buf_init(&b, 1 << 16);
    build_fields(&b, SP_FORM_MAX_FIELDS);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_false(p.bad);
    assert_int_equal(p.n, SP_FORM_MAX_FIELDS);
    snprintf(name, sizeof(name), "f%u", SP_FORM_MAX_FIELDS - 1);
    assert_non_null(sp_params_get(&p, name));
    sp_params_cleanup(&p);

    /* empty fields do not count */
    assert_int_equal(sp_buf_adds(&b, "&&&"), SP_OK);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_false(p.bad);
    assert_int_equal(p.n, SP_FORM_MAX_FIELDS);
    sp_params_cleanup(&p);

    /* one more real field is too many */
    sp_buf_reset(&b);
    build_fields(&b, SP_FORM_MAX_FIELDS + 1);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_true(p.bad);
    assert_int_equal(p.n, SP_FORM_MAX_FIELDS);
    snprintf(name, sizeof(name), "f%u", SP_FORM_MAX_FIELDS);
    assert_null(sp_params_get(&p, name));
    sp_params_cleanup(&p);

    /* a field without '=' counts as well */
    sp_buf_reset(&b);
    build_fields(&b, SP_FORM_MAX_FIELDS);
    assert_int_equal(sp_buf_adds(&b, "&flag"), SP_OK);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_true(p.bad);
    sp_params_cleanup(&p);
    sp_buf_cleanup(&b);
}

static void test_name_limit(void **state)
{
    char name[SP_FORM_MAX_NAME + 2];
    struct sp_params p;
    struct sp_buf b;

    /* SP_FORM_MAX_NAME decoded bytes is the longest name */
    memset(name, 'n', SP_FORM_MAX_NAME);
    name[SP_FORM_MAX_NAME] = '\0';
    sp_buf_init(&b, 4096);
    assert_int_equal(sp_buf_addf(&b, "%s=v", name), SP_OK);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_false(p.bad);
    assert_string_equal(sp_params_get(&p, name), "v");
    sp_params_cleanup(&p);

    /* one byte more is refused */
    name[SP_FORM_MAX_NAME] = 'n';
    name[SP_FORM_MAX_NAME + 1] = '\0';
    sp_buf_reset(&b);
    assert_int_equal(sp_buf_addf(&b, "ok=1&%s=v", name), SP_OK);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_true(p.bad);
    assert_null(sp_params_get(&p, name));
    sp_params_cleanup(&p);

    /* the limit is on the decoded name: 128 x "%41" is 384 bytes encoded, 128 decoded */
    sp_buf_reset(&b);
    for (unsigned i = 0; i < SP_FORM_MAX_NAME; i++)
        assert_int_equal(sp_buf_adds(&b, "%41"), SP_OK);
    assert_int_equal(sp_buf_adds(&b, "=x"), SP_OK);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_false(p.bad);
    memset(name, 'A', SP_FORM_MAX_NAME);
    name[SP_FORM_MAX_NAME] = '\0';
    assert_string_equal(sp_params_get(&p, name), "x");
    sp_params_cleanup(&p);

    /* a long value is fine */
    sp_buf_reset(&b);
    assert_int_equal(sp_buf_adds(&b, "v="), SP_OK);
    for (unsigned i = 0; i < 3000; i++)
        assert_int_equal(sp_buf_addc(&b, 'x'), SP_OK);
    memset(&p, 0, sizeof(p));
    sp_params_parse(&p, b.data, b.len);
    assert_false(p.bad);
    assert_int_equal(strlen(sp_params_get(&p, "v")), 3000);
    sp_params_cleanup(&p);
    sp_buf_cleanup(&b);
}

static void test_reuse_after_cleanup(void **state)
{
    struct sp_params p;

    parse_str(&p, "a=1&a=2&b=%zz");
    assert_true(p.bad);
    sp_params_cleanup(&p);
    assert_int_equal(p.n, 0);
    assert_false(p.bad);
    assert_null(sp_params_get(&p, "a"));

    /* no memset: cleanup alone makes the struct ready again */
    sp_params_parse(&p, "a=3&c=4", 7);
    assert_false(p.bad);
    assert_int_equal(p.n, 2);
    assert_string_equal(sp_params_get(&p, "a"), "3");
    assert_string_equal(sp_params_get(&p, "c"), "4");
    sp_params_cleanup(&p);

    /* cleanup twice is harmless */
    sp_params_cleanup(&p);
    assert_int_equal(p.n, 0);
}

static void test_saml_post_body(void **state)
{
    static const char body[] =
        "SAMLResponse=PHNhbWxwOlJlc3BvbnNlIHhtbG5zOnNhbWxwPSJ1cm46b2FzaXM6bmFtZXM6dGM6U0FNTDoy"
        "LjA6cHJvdG9jb2wiIElEPSJfYWJjIi8%2BCg%3D%3D&RelayState=0123456789abcdef0123456789abcdef";
    struct sp_params p;

    parse_str(&p, body);
    assert_false(p.bad);
    assert_int_equal(p.n, 2);
    assert_string_equal(sp_params_get(&p, "SAMLResponse"),
                        "PHNhbWxwOlJlc3BvbnNlIHhtbG5zOnNhbWxwPSJ1cm46b2FzaXM6bmFtZXM6dGM6U0FNTDoy"
                        "LjA6cHJvdG9jb2wiIElEPSJfYWJjIi8+Cg==");
    assert_string_equal(sp_params_get(&p, "RelayState"), "0123456789abcdef0123456789abcdef");
    assert_null(sp_params_get(&p, "SAMLRequest"));
    sp_params_cleanup(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_pairs),
        cmocka_unit_test(test_plus_and_percent),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_name_without_equals),
        cmocka_unit_test(test_repeated_name),
        cmocka_unit_test(test_malformed_percent),
        cmocka_unit_test(test_malformed_keeps_earlier_fields),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_name_limit),
        cmocka_unit_test(test_reuse_after_cleanup),
        cmocka_unit_test(test_saml_post_body),
    };
    return cmocka_run_group_tests_name("forms", tests, NULL, NULL);
}
