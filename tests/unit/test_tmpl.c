/*
 * test_tmpl: the template renderer. Escaping in {{x}} (the default: look-alike
 * raw syntaxes stay escaped), raw {{&x}} only, unknown
 * names and NULL values, unclosed tags, the name-length limit, the output
 * limit; the embedded error.html; and whole pages in a struct sp_resp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/assets.h"
#include "sp/buf.h"
#include "sp/http.h"
#include "sp/tmpl.h"

#define TMPL_MAX_NAME 64 /* SP_TMPL_MAX_NAME in tmpl.c */
#define NVARS(v) (sizeof(v) / sizeof((v)[0]))

static const struct sp_tmpl_var std_vars[] = {
    {"x", "&<>\"'"}, {"name", "Mario Rossi"},
    {"nil", NULL},   {"html", "<b>bold</b>"},
    {"a", "1"},      {"b", "2"},
    {"ab", "AB"},
};

/* Render s with std_vars into a fresh buffer limited to max; returns the code. */
static enum sp_err render(const char *s, size_t max, struct sp_buf *out)
{
    sp_buf_init(out, max);
    return sp_tmpl_render_text(s, strlen(s), std_vars, NVARS(std_vars), out);
}

static void expect_render(const char *s, const char *want)
{
    struct sp_buf out;
    enum sp_err rc = render(s, 65536, &out);
    if (rc != SP_OK)
        fail_msg("\"%s\": %s", s, sp_errname(rc));
    assert_string_equal(sp_buf_str(&out), want);
    sp_buf_cleanup(&out);
}

static void expect_error(const char *s, enum sp_err want)
{
    struct sp_buf out;
    enum sp_err rc = render(s, 65536, &out);
    if (rc != want)
        fail_msg("\"%s\": got %s, want %s", s, sp_errname(rc), sp_errname(want));
    sp_buf_cleanup(&out);
}

static void test_escaping(void **state)
{
    expect_render("{{x}}", "&amp;&lt;&gt;&quot;&#39;");
    expect_render("<p title=\"{{x}}\">{{html}}</p>",
                  "<p title=\"&amp;&lt;&gt;&quot;&#39;\">&lt;b&gt;bold&lt;/b&gt;</p>");
    expect_render("Ciao {{name}}!", "Ciao Mario Rossi!");
}

static void test_raw(void **state)
{
    expect_render("{{&html}}", "<b>bold</b>");
    expect_render("{{&x}}", "&<>\"'");
    expect_render("[{{&name}}]", "[Mario Rossi]");
}

/*
 * Escaping is the default: a hostile value comes out inert in text and in
 * attributes, and {{&name}} is the only raw form. Look-alikes of other
 * engines' raw syntax ({{{name}}}, {{name|raw}}, {{ &name}}) are not raw.
 */
static void test_escape_by_default(void **state)
{
    static const char evil[] = "<script>alert(\"1\" & '2')</script>";
    const struct sp_tmpl_var vars[] = {{"v", evil}};
    static const char *const escaped_forms[] = {
        "<p>{{v}}</p>",
        "<a title=\"{{v}}\">x</a>",
        "<a title='{{v}}'>x</a>",
        "{{{v}}}",
        "{{v|raw}}",
        "{{ &v}}",
        "{{v}}{{v}}",
    };
    struct sp_buf out;

    sp_buf_init(&out, 4096);
    for (size_t i = 0; i < NVARS(escaped_forms); i++) {
        const char *t = escaped_forms[i];
        sp_buf_reset(&out);
        assert_int_equal(sp_tmpl_render_text(t, strlen(t), vars, 1, &out), SP_OK);
        if (strstr(sp_buf_str(&out), "<script") || strstr(sp_buf_str(&out), "\"1") ||
            strstr(sp_buf_str(&out), "'2") || strstr(sp_buf_str(&out), "& "))
            fail_msg("\"%s\" left the value raw: %s", t, sp_buf_str(&out));
    }
    sp_buf_reset(&out);
    assert_int_equal(sp_tmpl_render_text("<p>{{v}}</p>", 12, vars, 1, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "<p>&lt;script&gt;alert(&quot;1&quot; &amp; &#39;2&#39;)"
                                          "&lt;/script&gt;</p>");
    /* the explicit form, and only it, inserts the value as it is */
    sp_buf_reset(&out);
    assert_int_equal(sp_tmpl_render_text("<p>{{&v}}</p>", 13, vars, 1, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "<p><script>alert(\"1\" & '2')</script></p>");
    sp_buf_cleanup(&out);
}

static void test_unknown_and_null(void **state)
{
    expect_render("a{{nope}}b", "ab");
    expect_render("a{{&nope}}b", "ab");
    expect_render("a{{nil}}b", "ab");
    expect_render("a{{&nil}}b", "ab");
    expect_render("a{{}}b", "ab");
    expect_render("a{{&}}b", "ab");
    /* names match exactly: no prefix match, no trimming */
    expect_render("{{n}}|{{names}}|{{ name }}|{{Name}}", "|||");
    expect_render("{{ab}}{{a}}", "AB1");
}

static void test_unclosed(void **state)
{
    expect_error("a {{x", SP_ERR_INVALID);
    expect_error("{{", SP_ERR_INVALID);
    expect_error("{{&", SP_ERR_INVALID);
    expect_error("{{x}", SP_ERR_INVALID);
    expect_error("{{x} }", SP_ERR_INVALID);
    expect_error("ok {{a}} then {{b", SP_ERR_INVALID);
    /* closing braces alone and single braces are text */
    expect_render("}} {x} { {a} } }", "}} {x} { {a} } }");
    expect_render("{", "{");
    expect_render("}", "}");
    expect_render("", "");
}

static void test_adjacent(void **state)
{
    expect_render("{{a}}{{b}}", "12");
    expect_render("{{a}}{{&b}}{{a}}", "121");
    expect_render("{{{a}}}", "}"); /* name "{a", unknown; then a stray '}' */
    expect_render("{{a}}}}", "1}}");
    expect_render("x{{a}}y{{b}}z", "x1y2z");
}

static void test_length_argument(void **state)
{
    static const char text[] = "{{a}}tail{{b}}";
    struct sp_buf out;

    sp_buf_init(&out, 1024);
    assert_int_equal(sp_tmpl_render_text(text, 9, std_vars, NVARS(std_vars), &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "1tail");
    sp_buf_reset(&out);
    /* a tag cut by len is unclosed */
    assert_int_equal(sp_tmpl_render_text(text, 4, std_vars, NVARS(std_vars), &out), SP_ERR_INVALID);
    sp_buf_reset(&out);
    /* no vars at all */
    assert_int_equal(sp_tmpl_render_text(text, strlen(text), NULL, 0, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "tail");
    sp_buf_cleanup(&out);
}

static void test_name_limit(void **state)
{
    char name[TMPL_MAX_NAME + 2], text[TMPL_MAX_NAME + 16];
    struct sp_tmpl_var vars[1] = {{name, "V"}};
    struct sp_buf out;

    sp_buf_init(&out, 1024);
    memset(name, 'n', TMPL_MAX_NAME);
    name[TMPL_MAX_NAME] = '\0';
    snprintf(text, sizeof(text), "<{{%s}}>", name);
    assert_int_equal(sp_tmpl_render_text(text, strlen(text), vars, 1, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "<V>");

    sp_buf_reset(&out);
    snprintf(text, sizeof(text), "<{{&%s}}>", name);
    assert_int_equal(sp_tmpl_render_text(text, strlen(text), vars, 1, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "<V>");

    /* one character longer is not a tag */
    name[TMPL_MAX_NAME] = 'n';
    name[TMPL_MAX_NAME + 1] = '\0';
    sp_buf_reset(&out);
    snprintf(text, sizeof(text), "<{{%s}}>", name);
    assert_int_equal(sp_tmpl_render_text(text, strlen(text), vars, 1, &out), SP_ERR_INVALID);
    sp_buf_cleanup(&out);
}

static void test_output_limit(void **state)
{
    struct sp_buf out;

    /* exactly at the limit is fine */
    assert_int_equal(render("0123{{a}}", 5, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "01231");
    sp_buf_cleanup(&out);

    /* literal text past the limit */
    assert_int_equal(render("012345", 5, &out), SP_ERR_TOO_LARGE);
    assert_true(out.len <= 5);
    sp_buf_cleanup(&out);

    /* a value past the limit */
    assert_int_equal(render("0123{{name}}", 8, &out), SP_ERR_TOO_LARGE);
    assert_true(out.len <= 8);
    sp_buf_cleanup(&out);

    /* escaping grows the value past the limit: "&" is 1 byte in, 5 out */
    assert_int_equal(render("{{x}}", 8, &out), SP_ERR_TOO_LARGE);
    assert_true(out.len <= 8);
    sp_buf_cleanup(&out);
    assert_int_equal(render("{{&x}}", 8, &out), SP_OK);
    assert_string_equal(sp_buf_str(&out), "&<>\"'");
    sp_buf_cleanup(&out);

    /* the text after the last tag */
    assert_int_equal(render("{{a}}0123456789", 8, &out), SP_ERR_TOO_LARGE);
    assert_true(out.len <= 8);
    sp_buf_cleanup(&out);
}

static void test_render_error_html(void **state)
{
    const struct sp_tmpl_var vars[] = {
        {"title", "Errore <1>"},
        {"message", "<script>alert('x')</script> & \"y\""},
    };
    struct sp_buf out;
    const char *s;

    assert_non_null(sp_asset_find("error.html"));
    sp_buf_init(&out, 1 << 20);
    assert_int_equal(sp_tmpl_render("error.html", vars, NVARS(vars), &out), SP_OK);
    s = sp_buf_str(&out);
    assert_non_null(strstr(s, "<h1>Errore &lt;1&gt;</h1>"));
    assert_non_null(
        strstr(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"));
    assert_null(strstr(s, "<script>"));
    assert_null(strstr(s, "{{")); /* every tag was replaced */
    sp_buf_cleanup(&out);

    sp_buf_init(&out, 1 << 20);
    assert_int_equal(sp_tmpl_render("no-such-template.html", vars, NVARS(vars), &out),
                     SP_ERR_NOT_FOUND);
    assert_int_equal(out.len, 0);
    sp_buf_cleanup(&out);
}

static void resp_init(struct sp_resp *resp, size_t max)
{
    memset(resp, 0, sizeof(*resp));
    sp_buf_init(&resp->body, max);
}

static void resp_free(struct sp_resp *resp)
{
    sp_buf_cleanup(&resp->body);
    for (unsigned i = 0; i < resp->n_hdrs; i++)
        free(resp->hdr_value[i]);
    resp->n_hdrs = 0;
}

static unsigned count_substr(const char *s, const char *sub)
{
    unsigned n = 0;
    for (const char *p = strstr(s, sub); p != NULL; p = strstr(p + 1, sub))
        n++;
    return n;
}

static void test_error_page(void **state)
{
    struct sp_resp resp;
    const char *body;

    resp_init(&resp, 4u << 20);
    sp_tmpl_error_page(&resp, 403, "Accesso <negato>", "L'utente \"x\" & <img src=y>");
    assert_int_equal(resp.status, 403);
    assert_non_null(resp.content_type);
    assert_string_equal(resp.content_type, "text/html; charset=utf-8");
    body = sp_buf_str(&resp.body);
    assert_non_null(strstr(body, "<!DOCTYPE html>"));
    assert_non_null(strstr(body, "<title>Accesso &lt;negato&gt;</title>"));
    assert_non_null(strstr(body, "<h1>Accesso &lt;negato&gt;</h1>"));
    assert_non_null(strstr(body, "<p>L&#39;utente &quot;x&quot; &amp; &lt;img src=y&gt;</p>"));
    /* escaped once: the page wraps the content raw, not escaped again */
    assert_null(strstr(body, "&amp;lt;"));
    assert_null(strstr(body, "&amp;#39;"));
    assert_null(strstr(body, "<img"));
    assert_null(strstr(body, "<negato>"));
    assert_int_equal(count_substr(body, "<main>"), 1);
    assert_non_null(strstr(body, "href=\"/\""));
    assert_null(strstr(body, "{{"));
    assert_int_equal(resp.n_hdrs, 0);
    resp_free(&resp);
}

static void test_page_replaces_body(void **state)
{
    const struct sp_tmpl_var vars[] = {{"title", "T"}, {"message", "M"}};
    struct sp_resp resp;

    resp_init(&resp, 4u << 20);
    assert_int_equal(sp_buf_adds(&resp.body, "stale body"), SP_OK);
    sp_tmpl_page(&resp, 200, "Titolo & co", "error.html", vars, NVARS(vars));
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "text/html; charset=utf-8");
    assert_null(strstr(sp_buf_str(&resp.body), "stale body"));
    assert_int_equal(strncmp(sp_buf_str(&resp.body), "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(sp_buf_str(&resp.body), "<title>Titolo &amp; co</title>"));
    assert_non_null(strstr(sp_buf_str(&resp.body), "<p>M</p>"));
    resp_free(&resp);
}

static void test_page_failures(void **state)
{
    struct sp_resp resp;

    /* an unknown template is an internal error, not an empty page */
    resp_init(&resp, 4u << 20);
    sp_tmpl_page(&resp, 200, "x", "no-such-template.html", NULL, 0);
    assert_int_equal(resp.status, 500);
    assert_string_equal(resp.content_type, "text/plain; charset=utf-8");
    assert_string_equal(sp_buf_str(&resp.body), "Errore interno.\n");
    resp_free(&resp);

    /* a page larger than the response body limit */
    resp_init(&resp, 64);
    sp_tmpl_error_page(&resp, 404, "Pagina non trovata", "L'indirizzo richiesto non esiste.");
    assert_int_equal(resp.status, 500);
    assert_string_equal(resp.content_type, "text/plain; charset=utf-8");
    assert_string_equal(sp_buf_str(&resp.body), "Errore interno.\n");
    resp_free(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),          cmocka_unit_test(test_raw),
        cmocka_unit_test(test_escape_by_default), cmocka_unit_test(test_unknown_and_null),
        cmocka_unit_test(test_unclosed),          cmocka_unit_test(test_adjacent),
        cmocka_unit_test(test_length_argument),   cmocka_unit_test(test_name_limit),
        cmocka_unit_test(test_output_limit),      cmocka_unit_test(test_render_error_html),
        cmocka_unit_test(test_error_page),        cmocka_unit_test(test_page_replaces_body),
        cmocka_unit_test(test_page_failures),
    };
    return cmocka_run_group_tests_name("tmpl", tests, NULL, NULL);
}
