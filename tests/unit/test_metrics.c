/*
 * test_metrics: counters, gauges and their Prometheus text rendering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sp/buf.h"
#include "sp/metrics.h"

static int reset(void **state)
{
    (void)state;
    sp_metrics_reset();
    return 0;
}

static char *render(struct sp_buf *b)
{
    sp_buf_init(b, 1u << 20);
    sp_metrics_render(b);
    return b->data ? b->data : (char *)"";
}

static void test_counts_and_labels(void **state)
{
    struct sp_buf b;
    const char *t;
    (void)state;
    sp_metrics_inc("x_total", "idp", "https://idp.example", "outcome", "ok");
    sp_metrics_inc("x_total", "idp", "https://idp.example", "outcome", "ok");
    sp_metrics_inc("x_total", "idp", "https://idp.example", "outcome", "rejected");
    sp_metrics_inc("a_total", NULL, NULL, NULL, NULL);
    t = render(&b);
    /* sorted by name, one TYPE line per name */
    assert_non_null(strstr(t, "# TYPE a_total counter\na_total 1\n# TYPE x_total counter\n"));
    assert_non_null(strstr(t, "x_total{idp=\"https://idp.example\",outcome=\"ok\"} 2\n"));
    assert_non_null(strstr(t, "x_total{idp=\"https://idp.example\",outcome=\"rejected\"} 1\n"));
    assert_null(strstr(strstr(t, "# TYPE x_total") + 1, "# TYPE x_total"));
    sp_buf_cleanup(&b);
}

static void test_escaping(void **state)
{
    struct sp_buf b;
    (void)state;
    sp_metrics_inc("e_total", "v", "a\"b\\c\nd", NULL, NULL);
    assert_non_null(strstr(render(&b), "e_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
    sp_buf_cleanup(&b);
}

static void test_reset(void **state)
{
    struct sp_buf b;
    (void)state;
    sp_metrics_inc("r_total", NULL, NULL, NULL, NULL);
    sp_metrics_reset();
    assert_string_equal(render(&b), "");
    sp_buf_cleanup(&b);
}

static void test_gauges(void **state)
{
    struct sp_buf b;
    const char *t;
    (void)state;
    sp_metrics_set("g_days", "idp", "https://a", NULL, NULL, 12.5);
    sp_metrics_set("g_days", "idp", "https://a", NULL, NULL, -3);
    sp_metrics_set("g_days", "idp", "https://b", NULL, NULL, 400);
    sp_metrics_set("g_skew", NULL, NULL, NULL, NULL, -0.286);
    sp_metrics_inc("c_total", NULL, NULL, NULL, NULL);
    t = render(&b);
    assert_non_null(strstr(t, "# TYPE g_days gauge\n"));
    assert_non_null(strstr(t, "g_days{idp=\"https://a\"} -3\n")); /* last value wins */
    assert_non_null(strstr(t, "g_days{idp=\"https://b\"} 400\n"));
    assert_non_null(strstr(t, "g_skew -0.286\n"));
    assert_non_null(strstr(t, "# TYPE c_total counter\nc_total 1\n"));
    sp_buf_cleanup(&b);
    sp_metrics_forget("g_days");
    t = render(&b);
    assert_null(strstr(t, "g_days"));
    assert_non_null(strstr(t, "c_total 1\n"));
    sp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counts_and_labels, reset),
        cmocka_unit_test_setup(test_escaping, reset),
        cmocka_unit_test_setup(test_reset, reset),
        cmocka_unit_test_setup(test_gauges, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
