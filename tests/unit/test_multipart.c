/*
 * test_multipart: the multipart/form-data parser. The boundary of a
 * Content-Type (plain, quoted, among other parameters, refusals); bodies
 * split into fields and files with exact pointers into the body (binary data
 * with NUL, CR and LF, "--boundary" not preceded by CRLF, preamble, transport
 * padding, empty parts); every refusal the header promises; and a round trip
 * of bodies generated the way browsers and Python's requests build them.
 *
 * The known_bugs group holds the cases of the bugs found while writing these
 * tests (all fixed since): they stay as regression tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/multipart.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* a string literal with its length, NULs included */
#define S(lit) lit, sizeof(lit) - 1

#define CD "Content-Disposition: form-data; "

/* ------------------------------------------------------------------------ */
/* helpers */

static const char *mem_find(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

/* An exact-size heap copy, so that ASan builds catch a read past len. */
static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

struct body {
    char *s;
    size_t n, cap;
};

static void body_add(struct body *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->s = realloc(b->s, cap);
        assert_non_null(b->s);
        b->cap = cap;
    }
    if (n)
        memcpy(b->s + b->n, p, n);
    b->n += n;
}

static void body_str(struct body *b, const char *s)
{
    body_add(b, s, strlen(s));
}

static void body_repeat(struct body *b, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        body_add(b, &c, 1);
}

/* ------------------------------------------------------------------------ */
/* sp_multipart_boundary */

static const struct {
    const char *ct;
    const char *want; /* NULL: refused */
} boundary_cases[] = {
    /* accepted */
    {"multipart/form-data; boundary=XYZ", "XYZ"},
    {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
     "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
    {"multipart/form-data; boundary=\"XYZ\"", "XYZ"},
    {"multipart/form-data; boundary=\"a b'()+_,-./:=?z\"", "a b'()+_,-./:=?z"},
    {"multipart/form-data; charset=utf-8; boundary=abc", "abc"},
    {"multipart/form-data; boundary=abc; charset=utf-8", "abc"},
    {"multipart/form-data; boundary=\"abc\"; charset=utf-8", "abc"},
    {"multipart/form-data;boundary=abc", "abc"},
    {"MULTIPART/FORM-DATA; boundary=abc", "abc"},
    {"Multipart/Form-Data; Boundary=abc", "abc"},
    {"multipart/form-data; BOUNDARY=AbC", "AbC"}, /* the value keeps its case */
    {"multipart/form-data; boundary=1", "1"},
    {"multipart/form-data; boundary=abc ", "abc"}, /* whitespace after the parameter */
    {"multipart/form-data; boundary="
     "0123456789012345678901234567890123456789012345678901234567890123456789",
     "0123456789012345678901234567890123456789012345678901234567890123456789"}, /* 70 */
    {"multipart/form-data; boundary=\""
     "012345678901234567890123456789012345678901234567890123456789012345678 \"",
     NULL}, /* 70 ending in a space */
    {"multipart/form-data; boundary=\""
     "012345678901234567890123456789012345678901234567890123456789012345678Z\"",
     "012345678901234567890123456789012345678901234567890123456789012345678Z"},
    /* refused: other types */
    {"multipart/mixed; boundary=abc", NULL},
    {"multipart/alternative; boundary=abc", NULL},
    {"application/x-www-form-urlencoded; boundary=abc", NULL},
    {"text/plain; boundary=abc", NULL},
    {" multipart/form-data; boundary=abc", NULL},
    {"multipart/form; boundary=abc", NULL},
    {"", NULL},
    {NULL, NULL},
    /* refused: no or empty boundary */
    {"multipart/form-data", NULL},
    {"multipart/form-data;", NULL},
    {"multipart/form-data; charset=utf-8", NULL},
    {"multipart/form-data; boundary", NULL},
    {"multipart/form-data; boundary=", NULL},
    {"multipart/form-data; boundary=;", NULL},
    {"multipart/form-data; boundary= abc", NULL},
    {"multipart/form-data; boundary=\"\"", NULL},
    /* refused: too long (71) */
    {"multipart/form-data; boundary="
     "01234567890123456789012345678901234567890123456789012345678901234567890",
     NULL},
    {"multipart/form-data; boundary=\""
     "01234567890123456789012345678901234567890123456789012345678901234567890\"",
     NULL},
    {"multipart/form-data; boundary="
     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
     NULL},
    /* refused: characters outside bchars */
    {"multipart/form-data; boundary=ab\"c", NULL},
    {"multipart/form-data; boundary=ab<c", NULL},
    {"multipart/form-data; boundary=ab@c", NULL},
    {"multipart/form-data; boundary=ab\tc", NULL},
    {"multipart/form-data; boundary=ab\x01"
     "c",
     NULL},
    {"multipart/form-data; boundary=ab\xc3\xa9"
     "c",
     NULL},
    {"multipart/form-data; boundary=\"ab\\c\"", NULL},
    {"multipart/form-data; boundary=\"ab\rc\"", NULL},
    /* refused: unterminated quote */
    {"multipart/form-data; boundary=\"abc", NULL},
    {"multipart/form-data; boundary=\"", NULL},
    {"multipart/form-data; boundary=\"abc; charset=utf-8", NULL},
    /* refused: a trailing space inside the quotes */
    {"multipart/form-data; boundary=\"abc \"", NULL},
    {"multipart/form-data; boundary=\" \"", NULL},
};

static void test_boundary_table(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(boundary_cases); i++) {
        char out[71];
        enum sp_err e;

        memset(out, 'X', sizeof(out));
        e = sp_multipart_boundary(boundary_cases[i].ct, out);
        if (boundary_cases[i].want == NULL) {
            if (e == SP_OK)
                fail_msg("case %zu: accepted \"%s\" as \"%.70s\"", i, boundary_cases[i].ct, out);
            assert_int_equal(e, SP_ERR_INVALID);
        } else {
            if (e != SP_OK)
                fail_msg("case %zu: refused \"%s\"", i, boundary_cases[i].ct);
            assert_non_null(memchr(out, '\0', sizeof(out)));
            assert_string_equal(out, boundary_cases[i].want);
        }
    }
}

/* The boundary found feeds the parser directly. */
static void test_boundary_then_parse(void **state)
{
    static const char body[] = "--odd'(b)+_,-./:=?\r\n" CD "name=\"a\"\r\n\r\n"
                               "v\r\n--odd'(b)+_,-./:=?--\r\n";
    char b[71];
    struct sp_part parts[2];
    unsigned n;
    const char *why;

    assert_int_equal(sp_multipart_boundary("multipart/form-data; boundary=\"odd'(b)+_,-./:=?\"", b),
                     SP_OK);
    assert_string_equal(b, "odd'(b)+_,-./:=?");
    assert_int_equal(sp_multipart_parse(b, body, sizeof(body) - 1, parts, 2, &n, &why), SP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(parts[0].name, "a");
    assert_int_equal(parts[0].len, 1);
    assert_ptr_equal(parts[0].data, strstr(body, "\r\n\r\nv") + 4);
}

/* ------------------------------------------------------------------------ */
/* sp_multipart_parse: happy paths, table-driven */

struct want_part {
    const char *name, *filename, *content_type;
    const char *after; /* data starts right after the first occurrence of this */
    const char *data;  /* expected bytes */
    size_t len;        /* expected length */
};

struct ok_case {
    const char *label;
    const char *boundary;
    const char *body;
    size_t len;
    unsigned nparts;
    struct want_part want[3];
};

#define D(lit) lit, sizeof(lit) - 1 /* expected data and length */

static const struct ok_case ok_cases[] = {
    {"one field",
     "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\nhello\r\n--B--\r\n"),
     1,
     {{"a", "", "", "name=\"a\"\r\n\r\n", D("hello")}}},
    {"one file",
     "B",
     S("--B\r\n" CD "name=\"doc\"; filename=\"x.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
       "%PDF-1.4\r\n--B--\r\n"),
     1,
     {{"doc", "x.pdf", "application/pdf", "pdf\r\n\r\n", D("%PDF-1.4")}}},
    {"field, file, field",
     "xYz",
     S("--xYz\r\n" CD "name=\"first\"\r\n\r\n1\r\n"
       "--xYz\r\n" CD "name=\"up\"; filename=\"a b.txt\"\r\nContent-Type: text/plain\r\n\r\n"
       "line1\r\nline2\r\n"
       "--xYz\r\n" CD "name=last\r\n\r\n3\r\n--xYz--\r\n"),
     3,
     {{"first", "", "", "\"first\"\r\n\r\n", D("1")},
      {"up", "a b.txt", "text/plain", "plain\r\n\r\n", D("line1\r\nline2")},
      {"last", "", "", "name=last\r\n\r\n", D("3")}}},
    {"unquoted name and filename",
     "B",
     S("--B\r\n" CD "name=f; filename=x.bin\r\n\r\nZ\r\n--B--"),
     1,
     {{"f", "x.bin", "", "bin\r\n\r\n", D("Z")}}},
    {"filename before name",
     "B",
     S("--B\r\n" CD "filename=\"r.png\"; name=\"img\"\r\nContent-Type: image/png\r\n\r\n"
       "\x89PNG\r\n\x1a\n\r\n--B--\r\n"),
     1,
     {{"img", "r.png", "image/png", "png\r\n\r\n", D("\x89PNG\r\n\x1a\n")}}},
    {"header names and parameters case-insensitive",
     "B",
     S("--B\r\ncontent-disposition: FORM-DATA; NAME=\"a\"\r\ncontent-type: Text/Plain\r\n\r\n"
       "v\r\n--B--\r\n"),
     1,
     {{"a", "", "Text/Plain", "Plain\r\n\r\n", D("v")}}},
    {"no space after header colon",
     "B",
     S("--B\r\nContent-Disposition:form-data; name=\"a\"\r\nContent-Type:text/plain\r\n\r\n"
       "v\r\n--B--\r\n"),
     1,
     {{"a", "", "text/plain", "plain\r\n\r\n", D("v")}}},
    {"other headers ignored",
     "B",
     S("--B\r\nX-Foo: bar\r\n" CD "name=\"a\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
       "v\r\n--B--\r\n"),
     1,
     {{"a", "", "", "binary\r\n\r\n", D("v")}}},
    {"binary data with NUL, CR, LF",
     "B",
     S("--B\r\n" CD "name=\"bin\"; filename=\"b\"\r\n\r\n"
       "\0\r\0\n\r\n\0\xff\r\r\n\n-\r\n-B\r\n\0\r\n--B--\r\n"),
     1,
     {{"bin", "b", "", "\"b\"\r\n\r\n", D("\0\r\0\n\r\n\0\xff\r\r\n\n-\r\n-B\r\n\0")}}},
    {"--boundary inside data without CRLF",
     "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\n--B\n--B--\r--B\r\nx--B\r\n\n--B\r\r\n--B--\r\n"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("--B\n--B--\r--B\r\nx--B\r\n\n--B\r")}}},
    {"a longer boundary's prefix inside data",
     "Boundary",
     S("--Boundary\r\n" CD "name=\"a\"\r\n\r\nx\r\n--Bound\r\n--Boundar\r\n--Boundary--\r\n"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("x\r\n--Bound\r\n--Boundar")}}},
    {"preamble",
     "B",
     S("This is the preamble.\r\nIt is ignored.\r\n--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--\r\n"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("v")}}},
    {"preamble that is just CRLF",
     "B",
     S("\r\n--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--\r\n"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("v")}}},
    {"preamble mentioning --B without CRLF before it",
     "B",
     S("x--B\r\n--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--\r\n"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("v")}}},
    {"transport padding after delimiters",
     "B",
     S("--B \t \r\n" CD "name=\"a\"\r\n\r\n1\r\n--B\t\r\n" CD "name=\"b\"\r\n\r\n2\r\n--B--  \r\n"),
     2,
     {{"a", "", "", "\"a\"\r\n\r\n", D("1")}, {"b", "", "", "\"b\"\r\n\r\n", D("2")}}},
    {"empty part",
     "B",
     S("--B\r\n" CD "name=\"e\"\r\n\r\n\r\n--B\r\n" CD "name=\"f\"\r\n\r\nx\r\n--B--\r\n"),
     2,
     {{"e", "", "", "\"e\"\r\n\r\n", D("")}, {"f", "", "", "\"f\"\r\n\r\n", D("x")}}},
    {"CRLF-only data",
     "B",
     S("--B\r\n" CD "name=\"c\"\r\n\r\n\r\n\r\n--B--\r\n"),
     1,
     {{"c", "", "", "\"c\"\r\n\r\n", D("\r\n")}}},
    {"data ending with CRLF",
     "B",
     S("--B\r\n" CD "name=\"c\"\r\n\r\nx\r\n\r\n--B--\r\n"),
     1,
     {{"c", "", "", "\"c\"\r\n\r\n", D("x\r\n")}}},
    {"empty file input (browser sends filename=\"\")",
     "B",
     S("--B\r\n" CD "name=\"up\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n"
       "\r\n--B--\r\n"),
     1,
     {{"up", "", "application/octet-stream", "stream\r\n\r\n", D("")}}},
    {"repeated name (multiple file input)",
     "B",
     S("--B\r\n" CD "name=\"f\"; filename=\"1\"\r\n\r\nA\r\n"
       "--B\r\n" CD "name=\"f\"; filename=\"2\"\r\n\r\nBB\r\n--B--\r\n"),
     2,
     {{"f", "1", "", "\"1\"\r\n\r\n", D("A")}, {"f", "2", "", "\"2\"\r\n\r\n", D("BB")}}},
    {"UTF-8 names",
     "B",
     S("--B\r\n" CD
       "name=\"caf\xc3\xa9\"; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\"\r\n\r\nx\r\n--B--"),
     1,
     {{"caf\xc3\xa9", "r\xc3\xa9sum\xc3\xa9.pdf", "", ".pdf\"\r\n\r\n", D("x")}}},
    {"name and filename with ; and = quoted",
     "B",
     S("--B\r\n" CD "name=\"a;b=c\"; filename=\"x;y=z.txt\"\r\n\r\nx\r\n--B--"),
     1,
     {{"a;b=c", "x;y=z.txt", "", "txt\"\r\n\r\n", D("x")}}},
    {"epilogue after close delimiter",
     "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--\r\nepilogue\r\n--B\r\ngarbage"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("v")}}},
    {"close delimiter without CRLF",
     "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("v")}}},
    {"boundary with bchars specials",
     "'()+_,-./:=? x",
     S("--'()+_,-./:=? x\r\n" CD "name=\"a\"\r\n\r\nv\r\n--'()+_,-./:=? x--\r\n"),
     1,
     {{"a", "", "", "\"a\"\r\n\r\n", D("v")}}},
    {"tab in header value",
     "B",
     S("--B\r\n" CD "name=\"a\"\r\nX-Tab:\tok\r\n\r\nv\r\n--B--"),
     1,
     {{"a", "", "", "ok\r\n\r\n", D("v")}}},
};

static void check_ok_case(const struct ok_case *c)
{
    struct sp_part parts[4];
    unsigned n = 12345;
    const char *why = "unset";
    char *body = dup_exact(c->body, c->len);
    enum sp_err e;

    e = sp_multipart_parse(c->boundary, body, c->len, parts, 4, &n, &why);
    if (e != SP_OK)
        fail_msg("%s: refused (%s)", c->label, why ? why : "(null why)");
    assert_null(why);
    if (n != c->nparts)
        fail_msg("%s: %u parts, want %u", c->label, n, c->nparts);
    for (unsigned i = 0; i < n; i++) {
        const struct want_part *w = &c->want[i];
        const char *at = mem_find(body, c->len, w->after, strlen(w->after));
        assert_non_null(at);
        assert_string_equal(parts[i].name, w->name);
        assert_string_equal(parts[i].filename, w->filename);
        assert_string_equal(parts[i].content_type, w->content_type);
        if (parts[i].data != at + strlen(w->after))
            fail_msg("%s: part %u data at offset %td, want %td", c->label, i, parts[i].data - body,
                     at + strlen(w->after) - body);
        if (parts[i].len != w->len)
            fail_msg("%s: part %u len %zu, want %zu", c->label, i, parts[i].len, w->len);
        if (w->len)
            assert_memory_equal(parts[i].data, w->data, w->len);
    }
    free(body);
}

static void test_parse_ok_table(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(ok_cases); i++)
        check_ok_case(&ok_cases[i]);
}

/* Exact pointers and lengths worked out by hand for a typical upload. */
static void test_parse_exact_offsets(void **state)
{
    static const char body[] = "--AaB03x\r\n"                                   /* 0..9 */
                               "Content-Disposition: form-data; name=\"t\"\r\n" /* 10..51 */
                               "\r\n"                                           /* 52..53 */
                               "Larry\r\n"                                      /* 54..60 */
                               "--AaB03x\r\n"                                   /* 61..70 */
                               "Content-Disposition: form-data; name=\"f\"; "   /* 71.. */
                               "filename=\"file1.txt\"\r\n"                     /* ..134 */
                               "Content-Type: text/plain\r\n"                   /* 135..160 */
                               "\r\n"                                           /* 161..162 */
                               "... contents of file1.txt ...\r\n"              /* 163.. */
                               "--AaB03x--\r\n";
    struct sp_part parts[2];
    unsigned n;
    const char *why;

    assert_int_equal(sp_multipart_parse("AaB03x", body, sizeof(body) - 1, parts, 2, &n, &why),
                     SP_OK);
    assert_int_equal(n, 2);
    assert_ptr_equal(parts[0].data, body + 54);
    assert_int_equal(parts[0].len, 5);
    assert_ptr_equal(parts[1].data, body + 163);
    assert_int_equal(parts[1].len, strlen("... contents of file1.txt ..."));
    assert_string_equal(parts[1].filename, "file1.txt");
    assert_string_equal(parts[1].content_type, "text/plain");
}

/* len is respected: nothing past it is read, and a cut body is refused. */
static void test_parse_respects_len(void **state)
{
    static const char full[] = "--B\r\n" CD "name=\"a\"\r\n\r\nvalue\r\n--B--\r\n";
    struct sp_part parts[2];
    unsigned n;
    const char *why;
    size_t len = sizeof(full) - 1;

    for (size_t cut = 0; cut < len; cut++) {
        char *b = dup_exact(full, cut);
        enum sp_err e = sp_multipart_parse("B", b, cut, parts, 2, &n, &why);
        /* the shortest accepted body ends right after "--B--" */
        if (cut >= len - 2) {
            assert_int_equal(e, SP_OK);
            assert_int_equal(n, 1);
            assert_int_equal(parts[0].len, 5);
        } else {
            if (e == SP_OK)
                fail_msg("accepted a body cut at %zu", cut);
            assert_non_null(why);
        }
        free(b);
    }
}

/* Name and field sizes at their limits. */
static void test_parse_limits(void **state)
{
    struct body b = {0};
    struct sp_part parts[1];
    unsigned n;
    const char *why;

    /* name of 64, filename of 256, Content-Type of 127: accepted */
    body_str(&b, "--B\r\n" CD "name=\"");
    body_repeat(&b, 'n', SP_MULTIPART_NAME_MAX);
    body_str(&b, "\"; filename=\"");
    body_repeat(&b, 'f', SP_MULTIPART_FILENAME_MAX);
    body_str(&b, "\"\r\nContent-Type: ");
    body_repeat(&b, 't', sizeof(parts[0].content_type) - 1);
    body_str(&b, "\r\n\r\nv\r\n--B--\r\n");
    assert_int_equal(sp_multipart_parse("B", b.s, b.n, parts, 1, &n, &why), SP_OK);
    assert_int_equal(strlen(parts[0].name), SP_MULTIPART_NAME_MAX);
    assert_int_equal(strlen(parts[0].filename), SP_MULTIPART_FILENAME_MAX);
    assert_int_equal(strlen(parts[0].content_type), sizeof(parts[0].content_type) - 1);

    /* Content-Type of 128: refused */
    b.n = 0;
    body_str(&b, "--B\r\n" CD "name=\"a\"\r\nContent-Type: ");
    body_repeat(&b, 't', sizeof(parts[0].content_type));
    body_str(&b, "\r\n\r\nv\r\n--B--\r\n");
    assert_int_equal(sp_multipart_parse("B", b.s, b.n, parts, 1, &n, &why), SP_ERR_INVALID);
    assert_string_equal(why, "part Content-Type too long");

    /* name of 65: refused */
    b.n = 0;
    body_str(&b, "--B\r\n" CD "name=\"");
    body_repeat(&b, 'n', SP_MULTIPART_NAME_MAX + 1);
    body_str(&b, "\"\r\n\r\nv\r\n--B--\r\n");
    assert_int_equal(sp_multipart_parse("B", b.s, b.n, parts, 1, &n, &why), SP_ERR_INVALID);
    assert_string_equal(why, "malformed Content-Disposition parameters");

    /* boundary of 70 works, 71 is refused */
    b.n = 0;
    body_str(&b, "--");
    body_repeat(&b, 'q', 70);
    body_str(&b, "\r\n" CD "name=\"a\"\r\n\r\nv\r\n--");
    body_repeat(&b, 'q', 70);
    body_str(&b, "--");
    {
        char bd[72];
        memset(bd, 'q', 70);
        bd[70] = '\0';
        assert_int_equal(sp_multipart_parse(bd, b.s, b.n, parts, 1, &n, &why), SP_OK);
        assert_int_equal(n, 1);
        bd[70] = 'q';
        bd[71] = '\0';
        assert_int_equal(sp_multipart_parse(bd, b.s, b.n, parts, 1, &n, &why), SP_ERR_INVALID);
        assert_string_equal(why, "no boundary");
    }
    free(b.s);
}

/* Part headers: a block of 4096 bytes (blank line included) is accepted, one more is refused. */
static void test_parse_header_size_limit(void **state)
{
    static const char head[] = "--B\r\n" CD "name=\"a\"\r\nX-Pad: ";
    static const char tail[] = "\r\n\r\nv\r\n--B--\r\n";
    struct sp_part parts[1];
    unsigned n;
    const char *why;

    for (size_t block = 4090; block <= 4100; block++) {
        struct body b = {0};
        /* the header block starts after "--B\r\n" and ends with the blank line */
        size_t fixed = (sizeof(head) - 1 - 5) + 4;
        enum sp_err e;

        body_str(&b, head);
        body_repeat(&b, 'p', block - fixed);
        body_str(&b, tail);
        e = sp_multipart_parse("B", b.s, b.n, parts, 1, &n, &why);
        if (block <= 4096) {
            if (e != SP_OK)
                fail_msg("header block of %zu refused: %s", block, why);
            assert_int_equal(parts[0].len, 1);
        } else {
            if (e == SP_OK)
                fail_msg("header block of %zu accepted", block);
            assert_string_equal(why, "part headers missing or too long");
        }
        free(b.s);
    }

    /* a huge header and a huge value: refused without reading past len */
    {
        struct body b = {0};
        char *exact;
        body_str(&b, "--B\r\n" CD "name=\"a\"\r\nX-Big: ");
        body_repeat(&b, 'z', 100000);
        exact = dup_exact(b.s, b.n);
        assert_int_equal(sp_multipart_parse("B", exact, b.n, parts, 1, &n, &why), SP_ERR_INVALID);
        assert_string_equal(why, "part headers missing or too long");
        free(exact);
        free(b.s);
    }
}

/* ------------------------------------------------------------------------ */
/* sp_multipart_parse: refusals, table-driven */

struct bad_case {
    const char *label;
    const char *boundary;
    const char *body;
    size_t len;
    unsigned max_parts;
    const char *why; /* expected *why, NULL: any non-NULL text */
};

static const struct bad_case bad_cases[] = {
    /* no boundary */
    {"NULL boundary", NULL, S("--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--"), 4, "no boundary"},
    {"empty boundary", "", S("--\r\n" CD "name=\"a\"\r\n\r\nv\r\n----"), 4, "no boundary"},
    {"71-char boundary", "01234567890123456789012345678901234567890123456789012345678901234567890",
     S("--01234567890123456789012345678901234567890123456789012345678901234567890\r\n" CD
       "name=\"a\"\r\n\r\nv\r\n"
       "--01234567890123456789012345678901234567890123456789012345678901234567890--"),
     4, "no boundary"},
    /* no delimiter */
    {"empty body", "B", S(""), 4, "empty body"},
    {"plain text body", "B", S("a=1&b=2"), 4, "no delimiter"},
    {"urlencoded body mentioning B", "B", S("x=--B&y=--B--"), 4, "no delimiter"},
    {"boundary is case-sensitive", "B", S("--b\r\n" CD "name=\"a\"\r\n\r\nv\r\n--b--\r\n"), 4,
     "no delimiter"},
    {"other boundary", "B", S("--C\r\n" CD "name=\"a\"\r\n\r\nv\r\n--C--\r\n"), 4, "no delimiter"},
    {"one dash", "B", S("-B\r\n" CD "name=\"a\"\r\n\r\nv\r\n-B--\r\n"), 4, "no delimiter"},
    {"just --", "B", S("--"), 4, "no delimiter"},
    /* no Content-Disposition */
    {"part with only Content-Type", "B", S("--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--\r\n"),
     4, "a part has no Content-Disposition"},
    {"part with no headers", "B", S("--B\r\n\r\nv\r\n--B--\r\n"), 4,
     "a part has no Content-Disposition"},
    {"part with no headers, data starting with CRLF", "B", S("--B\r\n\r\n\r\nv\r\n--B--\r\n"), 4,
     "a part has no Content-Disposition"},
    {"second part without Content-Disposition", "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B\r\nX-Other: 1\r\n\r\nw\r\n--B--\r\n"), 4,
     "a part has no Content-Disposition"},
    {"Content-Disposition misspelt", "B",
     S("--B\r\nContent-Disposition form-data; name=\"a\"\r\n\r\nv\r\n--B--\r\n"), 4,
     "a part has no Content-Disposition"},
    {"Content-Disposition with space before colon", "B",
     S("--B\r\nContent-Disposition : form-data; name=\"a\"\r\n\r\nv\r\n--B--\r\n"), 4,
     "a part has no Content-Disposition"},
    /* not form-data */
    {"attachment", "B",
     S("--B\r\nContent-Disposition: attachment; name=\"a\"; filename=\"x\"\r\n\r\nv\r\n--B--"), 4,
     "a part is not form-data"},
    {"inline", "B", S("--B\r\nContent-Disposition: inline; name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "a part is not form-data"},
    {"empty Content-Disposition", "B", S("--B\r\nContent-Disposition:\r\n\r\nv\r\n--B--"), 4,
     "a part is not form-data"},
    {"form in place of form-data", "B",
     S("--B\r\nContent-Disposition: form; name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "a part is not form-data"},
    {"name before form-data", "B",
     S("--B\r\nContent-Disposition: name=\"a\"; form-data\r\n\r\nv\r\n--B--"), 4,
     "a part is not form-data"},
    /* no name */
    {"form-data without parameters", "B",
     S("--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--"), 4, "a part has no name"},
    {"filename only", "B", S("--B\r\n" CD "filename=\"x.pdf\"\r\n\r\nv\r\n--B--"), 4,
     "a part has no name"},
    {"empty quoted name", "B", S("--B\r\n" CD "name=\"\"\r\n\r\nv\r\n--B--"), 4,
     "a part has no name"},
    {"empty unquoted name", "B", S("--B\r\n" CD "name=; filename=\"x\"\r\n\r\nv\r\n--B--"), 4,
     "a part has no name"},
    {"unterminated quoted name", "B", S("--B\r\n" CD "name=\"abc\r\n\r\nv\r\n--B--"), 4,
     "malformed Content-Disposition parameters"},
    {"backslash in name", "B", S("--B\r\n" CD "name=\"a\\\"b\"\r\n\r\nv\r\n--B--"), 4,
     "malformed Content-Disposition parameters"},
    {"tab in quoted name", "B", S("--B\r\n" CD "name=\"a\tb\"\r\n\r\nv\r\n--B--"), 4,
     "malformed Content-Disposition parameters"},
    {"name with spaces around =", "B", S("--B\r\n" CD "name = \"a\"\r\n\r\nv\r\n--B--"), 4,
     "malformed Content-Disposition parameters"},
    {"xname is not name", "B", S("--B\r\n" CD "xname=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "a part has no name"},
    /* two Content-Disposition */
    {"two Content-Disposition", "B",
     S("--B\r\n" CD "name=\"a\"\r\n" CD "name=\"b\"\r\n\r\nv\r\n--B--"), 4,
     "two Content-Disposition headers in a part"},
    {"two Content-Disposition, different case", "B",
     S("--B\r\n" CD "name=\"a\"; filename=\"1\"\r\ncontent-disposition: form-data; name=\"a\"\r\n"
       "\r\nv\r\n--B--"),
     4, "two Content-Disposition headers in a part"},
    /* control characters in headers */
    {"NUL in header", "B", S("--B\r\n" CD "name=\"a\0b\"\r\n\r\nv\r\n--B--"), 4,
     "control character in a part header"},
    {"NUL in an ignored header", "B", S("--B\r\n" CD "name=\"a\"\r\nX-Foo: \0\r\n\r\nv\r\n--B--"),
     4, "control character in a part header"},
    {"bare LF in header", "B", S("--B\r\n" CD "name=\"a\"\nX-Injected: 1\r\n\r\nv\r\n--B--"), 4,
     "control character in a part header"},
    {"bare CR in header", "B", S("--B\r\n" CD "name=\"a\"\rX: 1\r\n\r\nv\r\n--B--"), 4,
     "control character in a part header"},
    {"ESC in header", "B", S("--B\r\n" CD "name=\"a\"\r\nContent-Type: a\x1b[0m\r\n\r\nv\r\n--B--"),
     4, "control character in a part header"},
    {"\\x01 in filename", "B", S("--B\r\n" CD "name=\"a\"; filename=\"\x01\"\r\n\r\nv\r\n--B--"), 4,
     "control character in a part header"},
    /* headers missing, unterminated or too long (see also test_parse_header_size_limit) */
    {"headers without blank line", "B", S("--B\r\n" CD "name=\"a\"\r\nv\r\n--B--\r\n"), 4,
     "part headers missing or too long"},
    {"headers to end of body", "B", S("--B\r\n" CD "name=\"a\""), 4,
     "part headers missing or too long"},
    {"headers with LF LF", "B", S("--B\n" CD "name=\"a\"\n\nv\n--B--\n"), 4,
     "malformed delimiter line"},
    /* more than max_parts */
    {"3 parts, max 2", "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\n1\r\n--B\r\n" CD "name=\"b\"\r\n\r\n2\r\n"
       "--B\r\n" CD "name=\"c\"\r\n\r\n3\r\n--B--\r\n"),
     2, "too many parts"},
    {"1 part, max 0", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\n1\r\n--B--\r\n"), 0, "too many parts"},
    /* missing closing delimiter */
    {"data to end of body", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nvalue"), 4,
     "missing closing delimiter"},
    {"data to end of body, second part", "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\n1\r\n--B\r\n" CD "name=\"b\"\r\n\r\n2"), 4,
     "missing closing delimiter"},
    {"close delimiter missing its CRLF", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nvalue--B--"), 4,
     "missing closing delimiter"},
    {"close delimiter after LF only", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nvalue\n--B--\r\n"), 4,
     "missing closing delimiter"},
    {"ends with a delimiter", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nvalue\r\n--B"), 4, NULL},
    {"ends with a delimiter line", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nvalue\r\n--B\r\n"), 4,
     NULL},
    {"ends with a delimiter and padding", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B  "), 4,
     NULL},
    {"close with one dash", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nvalue\r\n--B-\r\n"), 4,
     "malformed delimiter line"},
    {"only an opening delimiter", "B", S("--B\r\n"), 4, "part headers missing or too long"},
    {"only an opening delimiter, no CRLF", "B", S("--B"), 4, "malformed delimiter line"},
    /* malformed delimiter line */
    {"text after the first delimiter", "B", S("--Bx\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "malformed delimiter line"},
    {"text after padding", "B", S("--B  x\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "malformed delimiter line"},
    {"LF after the first delimiter", "B", S("--B\n" CD "name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "malformed delimiter line"},
    {"CR only after the first delimiter", "B", S("--B\r" CD "name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "malformed delimiter line"},
    {"delimiter followed by text inside data", "B",
     S("--B\r\n" CD "name=\"a\"\r\n\r\nx\r\n--Bfoo\r\n--B--\r\n"), 4, "malformed delimiter line"},
    {"longer boundary in the body", "B", S("--BB\r\n" CD "name=\"a\"\r\n\r\nv\r\n--BB--\r\n"), 4,
     "malformed delimiter line"},
    {"padding before the close dashes", "B", S("--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B --\r\n"), 4,
     "malformed delimiter line"},
    {"vertical tab as padding", "B", S("--B\v\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--"), 4,
     "malformed delimiter line"},
};

/* Run one refusal case: 0 when refused as expected, else 1 with a message printed. */
static int run_bad_case(const struct bad_case *c)
{
    struct sp_part parts[4];
    unsigned n = 12345;
    const char *why = NULL;
    char *body = dup_exact(c->body, c->len);
    enum sp_err e;
    int bad = 1;

    assert_true(c->max_parts <= ARRAY_LEN(parts));
    e = sp_multipart_parse(c->boundary, body, c->len, parts, c->max_parts, &n, &why);
    if (e == SP_OK)
        print_message("%s: accepted (%u parts)\n", c->label, n);
    else if (e != SP_ERR_INVALID)
        print_message("%s: error %d\n", c->label, (int)e);
    else if (why == NULL)
        print_message("%s: refused without a reason\n", c->label);
    else if (c->why != NULL && strcmp(why, c->why) != 0)
        print_message("%s: why \"%s\", want \"%s\"\n", c->label, why, c->why);
    else if (n > c->max_parts)
        print_message("%s: n %u > max_parts %u\n", c->label, n, c->max_parts);
    else
        bad = 0;
    free(body);
    return bad;
}

static void test_parse_refusal_table(void **state)
{
    int failures = 0;

    for (size_t i = 0; i < ARRAY_LEN(bad_cases); i++)
        failures += run_bad_case(&bad_cases[i]);
    assert_int_equal(failures, 0);
}

/* Exactly max_parts parts is fine; the parts array is not written past max_parts. */
static void test_parse_max_parts_exact(void **state)
{
    static const char body[] =
        "--B\r\n" CD "name=\"a\"\r\n\r\n1\r\n--B\r\n" CD "name=\"b\"\r\n\r\n2"
        "\r\n--B--\r\n";
    struct sp_part parts[3];
    unsigned n;
    const char *why;

    memset(&parts[2], 0x5a, sizeof(parts[2]));
    assert_int_equal(sp_multipart_parse("B", body, sizeof(body) - 1, parts, 2, &n, &why), SP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(parts[1].name, "b");
    for (size_t i = 0; i < sizeof(parts[2]); i++)
        assert_int_equal(((unsigned char *)&parts[2])[i], 0x5a);

    assert_int_equal(sp_multipart_parse("B", body, sizeof(body) - 1, parts, 1, &n, &why),
                     SP_ERR_INVALID);
    assert_string_equal(why, "too many parts");
    for (size_t i = 0; i < sizeof(parts[2]); i++)
        assert_int_equal(((unsigned char *)&parts[2])[i], 0x5a);
}

/* why is reset by a successful call after a failed one. */
static void test_parse_why_reset(void **state)
{
    static const char good[] = "--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--";
    struct sp_part parts[1];
    unsigned n;
    const char *why;

    assert_int_equal(sp_multipart_parse("B", "x", 1, parts, 1, &n, &why), SP_ERR_INVALID);
    assert_non_null(why);
    assert_int_equal(sp_multipart_parse("B", good, sizeof(good) - 1, parts, 1, &n, &why), SP_OK);
    assert_null(why);
    assert_int_equal(n, 1);
}

/* ------------------------------------------------------------------------ */
/* round trip: bodies built the way browsers / Python requests build them */

struct gen_part {
    char name[SP_MULTIPART_NAME_MAX + 1];
    char filename[SP_MULTIPART_FILENAME_MAX + 1];
    char content_type[128];
    char *data;
    size_t len;
};

static uint32_t rng_state;

static uint32_t rng(void)
{
    /* xorshift32: deterministic across platforms */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void rand_text(char *out, size_t n, const char *alphabet)
{
    size_t an = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[rng() % an];
    out[n] = '\0';
}

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static void make_boundary(char *b)
{
    switch (rng() % 4) {
    case 0: /* Chrome / Safari */
        memcpy(b, "----WebKitFormBoundary", 22);
        rand_text(b + 22, 16, alnum);
        break;
    case 1: /* Firefox */
        memset(b, '-', 27);
        rand_text(b + 27, 1 + rng() % 30, "0123456789");
        break;
    case 2: /* Python requests / urllib3: uuid4().hex */
        rand_text(b, 32, "0123456789abcdef");
        break;
    default: /* any length 1..70 from bchars without space */
        rand_text(b, 1 + rng() % 70, "abcXYZ019'()+_,-./:=?");
        break;
    }
}

static void make_data(struct gen_part *g, const char *boundary)
{
    /* heavy in CR, LF, '-' and NUL so delimiters are nearly formed */
    static const char pool[] = "\r\n-\r\n--\0abz\xff";
    char delim[80];
    size_t dn = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    size_t shape = rng() % 5;

    g->len = shape == 0 ? 0 : shape == 1 ? 2 : rng() % (shape == 4 ? 3000 : 64);
    g->data = malloc(g->len ? g->len : 1);
    assert_non_null(g->data);
    if (shape == 1) {
        memcpy(g->data, "\r\n", 2);
        return;
    }
    for (size_t i = 0; i < g->len; i++) {
        uint32_t r = rng();
        if (r % 8 == 0 && i + dn <= g->len && dn > 3) {
            /* a delimiter missing its last character or its CRLF */
            if (r % 16 == 0) {
                memcpy(g->data + i, delim + 2, dn - 2);
                i += dn - 3;
            } else {
                memcpy(g->data + i, delim, dn - 1);
                g->data[i + dn - 1] = '#'; /* not a bchar */
                i += dn - 1;
            }
        } else if (r % 3 == 0) {
            g->data[i] = pool[(r >> 8) % (sizeof(pool) - 1)];
        } else {
            g->data[i] = (char)(r >> 16);
        }
    }
    /* a random byte string may still contain the delimiter: break any */
    for (const char *d; (d = mem_find(g->data, g->len, delim, dn)) != NULL;)
        g->data[d - g->data + 2] = 'x';
}

static void build_body(struct body *b, const char *boundary, const struct gen_part *g, unsigned np,
                       unsigned style)
{
    if (style & 1)
        body_str(b, "This is a multi-part message in MIME format.\r\n");
    for (unsigned i = 0; i < np; i++) {
        body_str(b, "--");
        body_str(b, boundary);
        if (style & 2)
            body_str(b, " \t");
        body_str(b, "\r\nContent-Disposition: form-data; name=\"");
        body_str(b, g[i].name);
        body_str(b, "\"");
        if (g[i].filename[0] != '\0' || (style & 4)) {
            body_str(b, "; filename=\"");
            body_str(b, g[i].filename);
            body_str(b, "\"");
        }
        body_str(b, "\r\n");
        if (g[i].content_type[0] != '\0') {
            body_str(b, "Content-Type: ");
            body_str(b, g[i].content_type);
            body_str(b, "\r\n");
        }
        body_str(b, "\r\n");
        body_add(b, g[i].data, g[i].len);
        body_str(b, "\r\n");
    }
    body_str(b, "--");
    body_str(b, boundary);
    body_str(b, "--\r\n");
    if (style & 8)
        body_str(b, "epilogue\r\n");
}

static void test_round_trip_browser_like(void **state)
{
    static const char *const types[] = {
        "application/pdf",
        "image/png",
        "text/plain; charset=utf-8",
        "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    };
    rng_state = 0x5eed1234u;
    for (unsigned iter = 0; iter < 400; iter++) {
        char boundary[71], ct[128];
        char got_b[71];
        struct gen_part g[6];
        struct sp_part parts[6];
        unsigned np = 1 + rng() % 6, n, style = rng() % 16;
        struct body b = {0};
        char *exact;
        const char *why;

        make_boundary(boundary);
        snprintf(ct, sizeof(ct),
                 (rng() & 1) ? "multipart/form-data; boundary=%s"
                             : "multipart/form-data; boundary=\"%s\"",
                 boundary);
        if (strchr(boundary, '=') != NULL || strchr(boundary, ':') != NULL ||
            strchr(boundary, '?') != NULL || strchr(boundary, '(') != NULL ||
            strchr(boundary, ')') != NULL || strchr(boundary, ',') != NULL ||
            strchr(boundary, '/') != NULL)
            snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%s\"", boundary);
        assert_int_equal(sp_multipart_boundary(ct, got_b), SP_OK);
        assert_string_equal(got_b, boundary);

        for (unsigned i = 0; i < np; i++) {
            rand_text(g[i].name, 1 + rng() % SP_MULTIPART_NAME_MAX,
                      "abcdefghijklmnopqrstuvwxyz_[]0123456789.- ");
            if (rng() % 2) {
                rand_text(g[i].filename, 1 + rng() % 40, "abcdefXYZ0123 ._-()'");
                memcpy(g[i].filename + strlen(g[i].filename), ".pdf", 5);
                snprintf(g[i].content_type, sizeof(g[i].content_type), "%s",
                         types[rng() % ARRAY_LEN(types)]);
            } else {
                g[i].filename[0] = '\0';
                g[i].content_type[0] = '\0';
            }
            make_data(&g[i], boundary);
        }
        build_body(&b, boundary, g, np, style);
        exact = dup_exact(b.s, b.n);

        if (sp_multipart_parse(got_b, exact, b.n, parts, np, &n, &why) != SP_OK)
            fail_msg("iteration %u: refused: %s", iter, why);
        assert_int_equal(n, np);
        for (unsigned i = 0; i < np; i++) {
            assert_string_equal(parts[i].name, g[i].name);
            assert_string_equal(parts[i].filename, g[i].filename);
            assert_string_equal(parts[i].content_type, g[i].content_type);
            assert_int_equal(parts[i].len, g[i].len);
            assert_true(parts[i].data >= exact && parts[i].data + parts[i].len <= exact + b.n);
            if (g[i].len)
                assert_memory_equal(parts[i].data, g[i].data, g[i].len);
        }
        /* one part fewer allowed: refused */
        assert_int_equal(sp_multipart_parse(got_b, exact, b.n, parts, np - 1, &n, &why),
                         SP_ERR_INVALID);
        assert_string_equal(why, "too many parts");
        /* without the close delimiter: refused */
        {
            char delim[80];
            size_t dn = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s--", boundary);
            const char *close = mem_find(exact, b.n, delim, dn);
            assert_non_null(close);
            assert_int_equal(sp_multipart_parse(got_b, exact, (size_t)(close - exact) + dn - 2,
                                                parts, np, &n, &why),
                             SP_ERR_INVALID);
        }
        for (unsigned i = 0; i < np; i++)
            free(g[i].data);
        free(exact);
        free(b.s);
    }
}

/* The example from the brief, byte for byte. */
static void test_round_trip_fixed_example(void **state)
{
    static const char pdf[] = "%PDF-1.7\r\n\0\x01\xff\n--B--\r\n%%EOF";
    struct body b = {0};
    struct sp_part parts[2];
    unsigned n;
    const char *why;
    char bd[71];

    body_str(&b, "--B\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x.pdf\"\r\n"
                 "Content-Type: application/pdf\r\n\r\n");
    body_add(&b, pdf, sizeof(pdf) - 1);
    body_str(&b, "\r\n--B--\r\n");
    assert_int_equal(sp_multipart_boundary("multipart/form-data; boundary=B", bd), SP_OK);
    assert_int_equal(sp_multipart_parse(bd, b.s, b.n, parts, 2, &n, &why), SP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(parts[0].name, "a");
    assert_string_equal(parts[0].filename, "x.pdf");
    assert_string_equal(parts[0].content_type, "application/pdf");
    assert_int_equal(parts[0].len, sizeof(pdf) - 1);
    assert_ptr_equal(parts[0].data, b.s + b.n - 9 - (sizeof(pdf) - 1));
    assert_memory_equal(parts[0].data, pdf, sizeof(pdf) - 1);
    free(b.s);
}

/* ------------------------------------------------------------------------ */
/* former bugs (found by review and fuzzing), now regression tests */

/* Found by review and fuzzing, fixed since: kept as regression tests. */

/* A parameter name inside another's quoted value is not a parameter. */
static void test_quoted_value_is_opaque(void **state)
{
    static const char body[] =
        "--B\r\n" CD "filename=\" name=admin \"; name=\"upload\"\r\n\r\nx\r\n--B--\r\n";
    struct sp_part parts[2];
    unsigned n;
    const char *why;
    (void)state;
    assert_int_equal(sp_multipart_parse("B", body, sizeof(body) - 1, parts, 2, &n, &why), SP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(parts[0].name, "upload");
    assert_string_equal(parts[0].filename, " name=admin ");
}

static const struct bad_case known_bad_cases[] = {
    /* RFC 2046 requires at least one body part, and here the first real
     * delimiter line is the close delimiter: the preamble scan skips the whole
     * form (first delimiter after a bare LF) and the body is accepted with 0 parts */
    {"delimiter only after LF", "B", S("x\n--B\r\n" CD "name=\"a\"\r\n\r\nv\r\n--B--\r\n"), 4,
     NULL},
    {"only a close delimiter", "B", S("--B--\r\n"), 4, NULL},
    {"preamble then close delimiter", "B", S("junk\r\n--B--\r\n"), 4, NULL},
    /* headers without a blank line swallow the next delimiter: the search for
     * CRLFCRLF runs past "\r\n--B" into the next part, whose headers are then
     * taken as this part's (here Content-Type: text/html); accepted as one part */
    {"delimiter inside a header block", "B",
     S("--B\r\n" CD "name=\"a\"\r\n--B\r\nContent-Type: text/html\r\n\r\ndata\r\n--B--\r\n"), 4,
     NULL},
    /* "form-data" is matched as a prefix */
    {"form-datax", "B", S("--B\r\nContent-Disposition: form-datax; name=\"a\"\r\n\r\nv\r\n--B--"),
     4, "a part is not form-data"},
    /* DEL is a control character (RFC 5234 CTL) */
    {"DEL in header", "B", S("--B\r\n" CD "name=\"a\x7f\"\r\n\r\nv\r\n--B--"), 4,
     "control character in a part header"},
    /* a filename that cannot be stored is dropped: the file upload turns into a
     * plain field instead of being refused */
    {"backslash in filename (IE full path)", "B",
     S("--B\r\n" CD "name=\"f\"; filename=\"C:\\\\x.pdf\"\r\n\r\nv\r\n--B--"), 4, NULL},
};

static void test_known_bug_parse(void **state)
{
    int failures = 0;

    for (size_t i = 0; i < ARRAY_LEN(known_bad_cases); i++)
        failures += run_bad_case(&known_bad_cases[i]);
    assert_int_equal(failures, 0);
}

static void test_known_bug_filename_smuggled_in_name(void **state)
{
    static const char body[] = "--B\r\n" CD "name=\"a filename=evil.php \"\r\n\r\nx\r\n--B--\r\n";
    struct sp_part parts[1];
    unsigned n;
    const char *why;

    assert_int_equal(sp_multipart_parse("B", body, sizeof(body) - 1, parts, 1, &n, &why), SP_OK);
    assert_string_equal(parts[0].name, "a filename=evil.php ");
    assert_string_equal(parts[0].filename, ""); /* currently "evil.php" */
}

static void test_known_bug_long_filename(void **state)
{
    struct body b = {0};
    struct sp_part parts[1];
    unsigned n;
    const char *why;

    body_str(&b, "--B\r\n" CD "name=\"f\"; filename=\"");
    body_repeat(&b, 'f', SP_MULTIPART_FILENAME_MAX + 1);
    body_str(&b, "\"\r\nContent-Type: application/pdf\r\n\r\nv\r\n--B--\r\n");
    /* currently SP_OK with filename "" (a file silently becomes a field) */
    assert_int_equal(sp_multipart_parse("B", b.s, b.n, parts, 1, &n, &why), SP_ERR_INVALID);
    free(b.s);
}

static void test_known_bug_boundary(void **state)
{
    static const char *const refuse[] = {
        "multipart/form-dataX; boundary=abc",           /* another type, prefix match */
        "multipart/form-data-v2; boundary=abc",         /* ditto */
        "multipart/form-data; xboundary=abc",           /* a different parameter */
        "multipart/form-data; boundary=abc def",        /* garbage after the value */
        "multipart/form-data; boundary=\"abc\"def",     /* garbage after the quotes */
        "multipart/form-data; a=\"boundary=x y\"; b=1", /* inside another quoted value */
    };
    char out[71];

    for (size_t i = 0; i < ARRAY_LEN(refuse); i++)
        if (sp_multipart_boundary(refuse[i], out) == SP_OK)
            fail_msg("accepted \"%s\" as \"%s\"", refuse[i], out);
}

/* UBSan: "applying zero offset to null pointer" at body + len */
static void test_known_bug_null_empty_body(void **state)
{
    struct sp_part parts[1];
    unsigned n;
    const char *why;

    assert_int_equal(sp_multipart_parse("B", NULL, 0, parts, 1, &n, &why), SP_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary_table),
        cmocka_unit_test(test_boundary_then_parse),
        cmocka_unit_test(test_parse_ok_table),
        cmocka_unit_test(test_parse_exact_offsets),
        cmocka_unit_test(test_parse_respects_len),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_header_size_limit),
        cmocka_unit_test(test_parse_refusal_table),
        cmocka_unit_test(test_parse_max_parts_exact),
        cmocka_unit_test(test_parse_why_reset),
        cmocka_unit_test(test_round_trip_browser_like),
        cmocka_unit_test(test_round_trip_fixed_example),
    };
    const struct CMUnitTest known_bugs[] = {
        cmocka_unit_test(test_known_bug_parse),
        cmocka_unit_test(test_quoted_value_is_opaque),
        cmocka_unit_test(test_known_bug_filename_smuggled_in_name),
        cmocka_unit_test(test_known_bug_long_filename),
        cmocka_unit_test(test_known_bug_boundary),
        cmocka_unit_test(test_known_bug_null_empty_body),
    };
    int failed = cmocka_run_group_tests_name("multipart", tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("multipart_former_bugs", known_bugs, NULL, NULL);
}
