/*
 * test_redirect: the return-target check. The table holds mod_auth_mellon's
 * bypasses (CVE-2019-3877 backslash, CVE-2019-13038 leading ///), their
 * percent-encoded and whitespace variants, schemes, and limits. Each row is
 * its own cmocka test named "<accept|reject>:<escaped input>".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/redirect.h"

struct next_row {
    const char *next;
    enum sp_err expect;
    const char *why; /* substring of the reason when refused, or NULL */
};

static const struct next_row rows[] = {
    /* local paths */
    {"/", SP_OK, NULL},
    {"/home", SP_OK, NULL},
    {"/servizi/pensioni?id=42&tab=2", SP_OK, NULL},
    {"/a/b/c#frag", SP_OK, NULL},
    {"/search?q=a+b%20c", SP_OK, NULL},
    {"/caf%C3%A9", SP_OK, NULL},
    {"/path;param=1,2", SP_OK, NULL},
    {"/~user/", SP_OK, NULL},
    {"/a:b", SP_OK, NULL},
    {"/@evil.com", SP_OK, NULL},
    {"/foo//bar", SP_OK, NULL},
    {"/foo%2F%2Fbar", SP_OK, NULL},
    {"/?next=//evil.com", SP_OK, NULL},
    {"/login?next=http%3A%2F%2Fevil.com", SP_OK, NULL},
    {"/../x", SP_OK, NULL},
    {"/a'b(c)*!$", SP_OK, NULL},
    {"/%25252541", SP_OK, NULL}, /* four levels of encoding: still decodable */

    /* CVE-2019-13038: network-path references */
    {"//evil.com", SP_ERR_INVALID, "leading //"},
    {"///evil.com", SP_ERR_INVALID, "leading //"},
    {"////evil.com/logout.html", SP_ERR_INVALID, "leading //"},
    {"//", SP_ERR_INVALID, "leading //"},
    /* CVE-2019-3877: backslashes, which browsers read as slashes */
    {"/\\evil.com", SP_ERR_INVALID, "leading //"},
    {"\\\\evil.com", SP_ERR_INVALID, "must start with /"},
    {"\\/evil.com", SP_ERR_INVALID, "must start with /"},
    {"/\\", SP_ERR_INVALID, "leading //"},
    {"/foo\\bar", SP_ERR_INVALID, "backslash"},
    /* whitespace and controls, which browsers strip or mangle */
    {"/\t/evil.com", SP_ERR_INVALID, "control character"},
    {"/\n/evil.com", SP_ERR_INVALID, "control character"},
    {"/\r\n/evil.com", SP_ERR_INVALID, "control character"},
    {"\t//evil.com", SP_ERR_INVALID, "must start with /"},
    {" /home", SP_ERR_INVALID, "must start with /"},
    {"/home ", SP_ERR_INVALID, "space"},
    {"/ho me", SP_ERR_INVALID, "space"},
    {"/\x01", SP_ERR_INVALID, "control character"},
    {"/\x7f", SP_ERR_INVALID, "control character"},
    /* percent-encoded variants */
    {"/%2F%2Fevil.com", SP_ERR_INVALID, "leading //"},
    {"/%2f/evil.com", SP_ERR_INVALID, "leading //"},
    {"/%2F", SP_ERR_INVALID, "leading //"},
    {"/%5Cevil.com", SP_ERR_INVALID, "leading //"},
    {"/%5cevil.com", SP_ERR_INVALID, "leading //"},
    {"/foo%5Cbar", SP_ERR_INVALID, "backslash"},
    {"/%252F%252Fevil.com", SP_ERR_INVALID, "leading //"},
    {"/%25252F%25252Fevil.com", SP_ERR_INVALID, "leading //"},
    {"/%2525252541", SP_ERR_INVALID, "too many levels"},
    {"/%09/evil.com", SP_ERR_INVALID, "control character"},
    {"/x%0D%0ALocation:%20http://evil.com", SP_ERR_INVALID, "control character"},
    {"/%00", SP_ERR_INVALID, "control character"},
    {"%2F%2Fevil.com", SP_ERR_INVALID, "must start with /"},
    {"/%", SP_ERR_INVALID, "malformed percent escape"},
    {"/%2", SP_ERR_INVALID, "malformed percent escape"},
    {"/%zz", SP_ERR_INVALID, "malformed percent escape"},
    {"/%%32%46", SP_ERR_INVALID, "malformed percent escape"},
    /* schemes and relative references */
    {"http://evil.com", SP_ERR_INVALID, "must start with /"},
    {"https://evil.com/", SP_ERR_INVALID, "must start with /"},
    {"HTTP://evil.com", SP_ERR_INVALID, "must start with /"},
    {"javascript:alert(1)", SP_ERR_INVALID, "must start with /"},
    {"JaVaScRiPt:alert(1)", SP_ERR_INVALID, "must start with /"},
    {"data:text/html,x", SP_ERR_INVALID, "must start with /"},
    {"evil.com", SP_ERR_INVALID, "must start with /"},
    {"home", SP_ERR_INVALID, "must start with /"},
    {"./home", SP_ERR_INVALID, "must start with /"},
    {"../home", SP_ERR_INVALID, "must start with /"},
    {"?next=/x", SP_ERR_INVALID, "must start with /"},
    /* characters outside the URL syntax */
    {"/caf\xc3\xa9", SP_ERR_INVALID, "non-ASCII"},
    {"/<script>", SP_ERR_INVALID, "not allowed"},
    {"/a\"b", SP_ERR_INVALID, "not allowed"},
    {"/a`b", SP_ERR_INVALID, "not allowed"},
    {"/{x}", SP_ERR_INVALID, "not allowed"},
    {"/a|b", SP_ERR_INVALID, "not allowed"},
    {"/a^b", SP_ERR_INVALID, "not allowed"},
    {"", SP_ERR_INVALID, "empty"},
};

static void test_row(void **state)
{
    const struct next_row *r = *state;
    const char *why = "unset";
    enum sp_err rc = sp_redirect_check(r->next, &why);

    assert_int_equal(rc, r->expect);
    assert_int_equal(sp_redirect_is_local(r->next), r->expect == SP_OK);
    if (r->expect == SP_OK) {
        assert_null(why);
        assert_ptr_equal(sp_redirect_target(r->next, "/fallback"), r->next);
        return;
    }
    assert_non_null(why);
    if (strstr(why, r->why) == NULL)
        fail_msg("reason \"%s\" does not contain \"%s\"", why, r->why);
    assert_string_equal(sp_redirect_target(r->next, "/fallback"), "/fallback");
}

static void test_null(void **state)
{
    const char *why = NULL;

    assert_int_equal(sp_redirect_check(NULL, &why), SP_ERR_INVALID);
    assert_string_equal(why, "missing");
    assert_false(sp_redirect_is_local(NULL));
    assert_string_equal(sp_redirect_target(NULL, "/start"), "/start");
    assert_string_equal(sp_redirect_target(NULL, NULL), "/");
    assert_string_equal(sp_redirect_target("//evil.com", NULL), "/");
}

static char *long_path(size_t n, char fill)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, fill, n);
    s[0] = '/';
    s[n] = '\0';
    return s;
}

static void test_length_limit(void **state)
{
    char *at = long_path(SP_MAX_NEXT_LEN, 'a');
    char *over = long_path(SP_MAX_NEXT_LEN + 1, 'a');
    char *huge = long_path(100000, 'a');
    const char *why = NULL;

    assert_int_equal(sp_redirect_check(at, &why), SP_OK);
    assert_int_equal(sp_redirect_check(over, &why), SP_ERR_TOO_LARGE);
    assert_string_equal(why, "too long");
    assert_int_equal(sp_redirect_check(huge, &why), SP_ERR_TOO_LARGE);
    assert_string_equal(sp_redirect_target(huge, "/fallback"), "/fallback");
    free(at);
    free(over);
    free(huge);
}

static void test_long_encoded(void **state)
{
    /* the longest value made only of escapes: every round must stay in bounds */
    char *s = long_path(SP_MAX_NEXT_LEN, 'x');
    const char *why = NULL;

    for (size_t i = 1; i + 3 <= SP_MAX_NEXT_LEN; i += 3)
        memcpy(s + i, "%41", 3);
    assert_int_equal(sp_redirect_check(s, &why), SP_OK);
    memcpy(s + 1, "%2F", 3);
    assert_int_equal(sp_redirect_check(s, &why), SP_ERR_INVALID);
    free(s);
}

static void test_every_control_byte(void **state)
{
    char raw[8], enc[16];

    for (int c = 1; c < 0x20; c++) {
        snprintf(raw, sizeof(raw), "/a%cb", c);
        snprintf(enc, sizeof(enc), "/a%%%02Xb", c);
        if (sp_redirect_is_local(raw))
            fail_msg("accepted raw byte 0x%02x", c);
        if (sp_redirect_is_local(enc))
            fail_msg("accepted encoded byte %%%02X", c);
    }
    assert_false(sp_redirect_is_local("/a%7Fb"));
    assert_true(sp_redirect_is_local("/a%20b"));
}

/* Runner */

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_null),
    cmocka_unit_test(test_length_limit),
    cmocka_unit_test(test_long_encoded),
    cmocka_unit_test(test_every_control_byte),
};

#define NFIXED (sizeof(fixed_tests) / sizeof(fixed_tests[0]))

static struct CMUnitTest all_tests[NFIXED + NROWS];
static char names[NROWS][96];

/* Name a row after its input, with non-printable bytes as \xNN. */
static void row_name(char *out, size_t size, const struct next_row *r)
{
    size_t k = (size_t)snprintf(out, size, "%s:", r->expect == SP_OK ? "accept" : "reject");

    for (const unsigned char *p = (const unsigned char *)r->next; *p && k + 5 < size; p++) {
        if (*p >= 0x20 && *p < 0x7f)
            out[k++] = (char)*p;
        else
            k += (size_t)snprintf(out + k, size - k, "\\x%02x", *p);
    }
    out[k] = '\0';
}

int main(void)
{
    size_t n = 0;

    for (size_t i = 0; i < NFIXED; i++)
        all_tests[n++] = fixed_tests[i];
    for (size_t i = 0; i < NROWS; i++) {
        row_name(names[i], sizeof(names[i]), &rows[i]);
        all_tests[n].name = names[i];
        all_tests[n].test_func = test_row;
        all_tests[n].setup_func = NULL;
        all_tests[n].teardown_func = NULL;
        all_tests[n].initial_state = (void *)&rows[i];
        n++;
    }
    return _cmocka_run_group_tests("redirect", all_tests, n, NULL, NULL);
}
