/*
 * test_clock: xs:dateTime parsing (UTC "Z" only, any fraction length,
 * impossible dates refused), formatting, and the test offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sp/clock.h"

#define T_2025_01_10 1736500502000LL /* 2025-01-10T09:15:02Z in ms */

static void test_parse_accepts(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } rows[] = {
        {"2025-01-10T09:15:02Z", T_2025_01_10},
        {"2025-01-10T09:15:02.1Z", T_2025_01_10 + 100},
        {"2025-01-10T09:15:02.12Z", T_2025_01_10 + 120},
        {"2025-01-10T09:15:02.123Z", T_2025_01_10 + 123},
        {"2025-01-10T09:15:02.123456Z", T_2025_01_10 + 123}, /* µs: RS-12 case 110 */
        {"2025-01-10T09:15:02.999999999Z", T_2025_01_10 + 999},
        {"2025-01-10T09:15:02.000Z", T_2025_01_10},
        {"1970-01-01T00:00:00Z", 0},
        {"2000-02-29T00:00:00Z", 951782400000LL},
        {"2038-01-19T03:14:08Z", 2147483648000LL},
        {"2099-12-31T23:59:59Z", 4102444799000LL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t ms = -1;
        if (sp_time_parse(rows[i].s, &ms) != SP_OK)
            fail_msg("refused \"%s\"", rows[i].s);
        if (ms != rows[i].ms)
            fail_msg("\"%s\": got %lld, want %lld", rows[i].s, (long long)ms,
                     (long long)rows[i].ms);
    }
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "2025-01-10T09:15:02+01:00",
        "2025-01-10T09:15:02-00:00",
        "2025-01-10T09:15:02.123+01:00",
        "2025-01-10T09:15:02",
        "2025-01-10T09:15:02.123",
        "2025-01-10T09:15:02z",
        "2025-01-10t09:15:02Z",
        "2025-01-10 09:15:02Z",
        "2025-01-10T09:15:02Z ",
        " 2025-01-10T09:15:02Z",
        "2025-01-10T09:15:02ZZ",
        "2025-01-10T09:15:02.Z",
        "2025-01-10T09:15:02.1.2Z",
        "2025-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2025-04-31T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-00-10T00:00:00Z",
        "2025-01-00T00:00:00Z",
        "2025-01-32T00:00:00Z",
        "2025-01-10T24:00:00Z",
        "2025-01-10T23:60:00Z",
        "2025-01-10T23:59:60Z",
        "2025-1-10T09:15:02Z",
        "2025-01-1AT09:15:02Z",
        "20x5-01-10T09:15:02Z",
        "2025-01-10T09:15:0xZ",
        "+025-01-10T09:15:02Z",
        "-2025-01-10T09:15:02Z",
        "1969-12-31T23:59:59Z",
        "2025/01/10T09:15:02Z",
        "2025-01-10T09-15-02Z",
        "",
        "Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        if (sp_time_parse(bad[i], &ms) != SP_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(ms == 42); /* out untouched on failure */
    }
    {
        int64_t ms = 42;
        assert_int_equal(sp_time_parse(NULL, &ms), SP_ERR_INVALID);
    }
}

static void test_format(void **state)
{
    char out[SP_TIME_ISO_LEN];

    sp_time_format(T_2025_01_10, 0, out);
    assert_string_equal(out, "2025-01-10T09:15:02Z");
    sp_time_format(T_2025_01_10 + 7, 1, out);
    assert_string_equal(out, "2025-01-10T09:15:02.007Z");
    sp_time_format(T_2025_01_10 + 999, 0, out); /* truncated, not rounded */
    assert_string_equal(out, "2025-01-10T09:15:02Z");
    sp_time_format(0, 1, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    sp_time_format(-1, 1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_format_parse_roundtrip(void **state)
{
    static const int64_t values[] = {
        0, 1, 999, T_2025_01_10, T_2025_01_10 + 456, 951782400123LL, 4102444799999LL};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char out[SP_TIME_ISO_LEN];
        int64_t ms = -1;
        sp_time_format(values[i], 1, out);
        assert_int_equal(sp_time_parse(out, &ms), SP_OK);
        assert_true(ms == values[i]);
    }
}

static void test_offset(void **state)
{
    int64_t before, shifted;

    sp_clock_set_offset_ms(0);
    before = sp_clock_now_ms();
    sp_clock_set_offset_ms(3600 * 1000);
    shifted = sp_clock_now_ms();
    sp_clock_set_offset_ms(0);
    /* one hour ahead, give or take the time the calls took */
    assert_true(shifted - before >= 3600 * 1000);
    assert_true(shifted - before < 3600 * 1000 + 5000);
    assert_true(sp_clock_now() - sp_clock_now_ms() / 1000 <= 1);
    assert_true(sp_clock_now() > 1700000000); /* after Nov 2023 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),        cmocka_unit_test(test_format_parse_roundtrip),
        cmocka_unit_test(test_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
