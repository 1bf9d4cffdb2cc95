/*
 * test_config: loading of INI files written to a temp directory. Defaults,
 * derived values, every per-line error as "file:line: message" with the
 * right line number, cross-field errors (line 0), private-SP requirements,
 * and all-or-nothing loading (the caller's pointer is untouched on error).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/config.h"
#include "sp/roles.h"

#define TEST_ERR_MAX 4096
#define TEST_DIR_MAX 256
#define TEST_PATH_MAX 512

static char tmpdir[TEST_DIR_MAX];
static unsigned file_seq;

static int setup_dir(void **state)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    char path[TEST_PATH_MAX];

    for (unsigned i = 0; i < file_seq; i++) {
        snprintf(path, sizeof(path), "%s/%u.ini", tmpdir, i);
        unlink(path);
    }
    return rmdir(tmpdir);
}

/* Write text to a fresh file in the temp directory; path receives its name. */
static void write_ini(const char *text, char path[TEST_PATH_MAX])
{
    FILE *fp;

    snprintf(path, TEST_PATH_MAX, "%s/%u.ini", tmpdir, file_seq++);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/*
 * Load text; expect SP_ERR_CONFIG and an error that starts with
 * "<path>:<line>: " and contains msg. The out pointer must stay untouched.
 */
static void expect_error(const char *text, unsigned line, const char *msg)
{
    char path[TEST_PATH_MAX], prefix[TEST_PATH_MAX + 16];
    struct sp_config *sentinel = (struct sp_config *)&file_seq;
    struct sp_config *cfg = sentinel;
    struct sp_buf err;

    write_ini(text, path);
    sp_buf_init(&err, TEST_ERR_MAX);
    assert_int_equal(sp_config_load(path, &cfg, &err), SP_ERR_CONFIG);
    assert_ptr_equal(cfg, sentinel);
    snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
    if (strncmp(sp_buf_str(&err), prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", sp_buf_str(&err), prefix);
    if (strstr(sp_buf_str(&err), msg) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", sp_buf_str(&err), msg);
    sp_buf_cleanup(&err);
}

/* Load text and expect success. Free the result with sp_config_free(). */
static struct sp_config *expect_ok(const char *text)
{
    char path[TEST_PATH_MAX];
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    write_ini(text, path);
    sp_buf_init(&err, TEST_ERR_MAX);
    if (sp_config_load(path, &cfg, &err) != SP_OK)
        fail_msg("refused: %s", sp_buf_str(&err));
    assert_int_equal(err.len, 0);
    assert_non_null(cfg);
    assert_string_equal(cfg->source, path);
    sp_buf_cleanup(&err);
    return cfg;
}

/* A private SP with everything it needs; tests append or vary it. */
#define PRIVATE_OK                                                                                 \
    "[contact]\n"                                                                                  \
    "kind = private\n"                                                                             \
    "vat_number = IT00159560366\n"                                                                 \
    "[billing]\n"                                                                                  \
    "name = Esempio S.r.l.\n"                                                                      \
    "address = Via Roma\n"                                                                         \
    "cap = 00100\n"                                                                                \
    "city = Roma\n"                                                                                \
    "email = fatture@example.it\n"

/* Defaults and values */

static void test_defaults(void **state)
{
    struct sp_config *cfg = NULL;
    struct sp_buf err;
    const struct sp_attr_service *svc;

    sp_buf_init(&err, TEST_ERR_MAX);
    assert_int_equal(sp_config_load(NULL, &cfg, &err), SP_OK);
    assert_string_equal(cfg->source, "(defaults)");
    assert_string_equal(cfg->entity_id, "http://127.0.0.1:8080/metadata");
    assert_string_equal(cfg->base_url, "http://127.0.0.1:8080");
    assert_string_equal(cfg->listen, "127.0.0.1");
    assert_int_equal(cfg->port, 8080);
    assert_string_equal(cfg->data_dir, "./data");
    assert_string_equal(cfg->key_file, "./data/sp-key.pem");
    assert_string_equal(cfg->cert_file, "./data/sp-cert.pem");
    assert_string_equal(cfg->idp_metadata, "./data/idp-metadata");
    assert_int_equal(cfg->default_level, 2);
    assert_int_equal(cfg->binding, SP_BINDING_AUTO);
    assert_int_equal(cfg->attr_service_index, 0);
    assert_int_equal(cfg->session_idle_sec, 1800);
    assert_int_equal(cfg->session_lifetime_sec, 28800);
    assert_int_equal(cfg->clock_skew_sec, 120);
    assert_int_equal(cfg->request_ttl_sec, 900);
    assert_int_equal(cfg->threads, 0);
    assert_string_equal(cfg->log_level, "info");
    assert_false(cfg->test_hooks);
    assert_int_equal(cfg->org_kind, SP_ORG_PUBLIC);
    assert_string_equal(cfg->ipa_code, "c_h501");
    assert_string_equal(cfg->org_country, "IT");
    assert_null(cfg->vat_number);
    assert_int_equal(cfg->n_attr_services, 1);
    svc = sp_config_attr_service(cfg, 0);
    assert_non_null(svc);
    assert_string_equal(svc->name, "Servizi online");
    assert_int_equal(svc->nattrs, 9);
    assert_string_equal(svc->attrs[0], "spidCode");
    assert_string_equal(svc->attrs[1], "fiscalNumber");
    assert_null(sp_config_attr_service(cfg, 1));
    sp_config_free(&cfg);
    assert_null(cfg);
    sp_config_free(&cfg); /* NULL is fine */
    sp_config_free(NULL);
    sp_buf_cleanup(&err);
}

static void test_empty_file(void **state)
{
    struct sp_config *cfg = expect_ok("");

    assert_int_equal(cfg->port, 8080);
    sp_config_free(&cfg);
}

static void test_values_and_derived(void **state)
{
    struct sp_config *cfg = expect_ok("; comment\n"
                                      "# another\n"
                                      "[sp]\n"
                                      "port = 9090\n"
                                      "base_url = https://sp.example.it///\n"
                                      "data_dir = /var/lib/spid-sp\n"
                                      "binding = post\n"
                                      "test_hooks = yes\n"
                                      "default_level = 3\n"
                                      "log_level = debug\n"
                                      "attribute_service = 2\n"
                                      "[attributes.2]\n"
                                      "name = Pensioni\n"
                                      "attributes = fiscalNumber, name familyName\n");
    const struct sp_attr_service *svc;
    char *acs, *slo;

    assert_int_equal(cfg->port, 9090);
    assert_string_equal(cfg->base_url, "https://sp.example.it");
    assert_string_equal(cfg->key_file, "/var/lib/spid-sp/sp-key.pem");
    assert_string_equal(cfg->cert_file, "/var/lib/spid-sp/sp-cert.pem");
    assert_string_equal(cfg->idp_metadata, "/var/lib/spid-sp/idp-metadata");
    assert_int_equal(cfg->binding, SP_BINDING_POST);
    assert_true(cfg->test_hooks);
    assert_int_equal(cfg->default_level, 3);
    assert_int_equal(cfg->n_attr_services, 1);
    svc = sp_config_attr_service(cfg, 2);
    assert_non_null(svc);
    assert_string_equal(svc->name, "Pensioni");
    assert_int_equal(svc->nattrs, 3);
    assert_string_equal(svc->attrs[0], "fiscalNumber");
    assert_string_equal(svc->attrs[1], "name");
    assert_string_equal(svc->attrs[2], "familyName");
    acs = sp_config_acs_url(cfg);
    slo = sp_config_slo_url(cfg);
    assert_string_equal(acs, "https://sp.example.it/spid/acs");
    assert_string_equal(slo, "https://sp.example.it/spid/slo");
    free(acs);
    free(slo);
    sp_config_free(&cfg);
}

static void test_private_ok(void **state)
{
    struct sp_config *cfg = expect_ok(PRIVATE_OK);

    assert_int_equal(cfg->org_kind, SP_ORG_PRIVATE);
    assert_string_equal(cfg->vat_number, "IT00159560366");
    assert_string_equal(cfg->billing_country, "IT");
    sp_config_free(&cfg);
}

static void test_missing_file(void **state)
{
    char path[TEST_PATH_MAX], prefix[TEST_PATH_MAX + 8];
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    snprintf(path, sizeof(path), "%s/does-not-exist.ini", tmpdir);
    sp_buf_init(&err, TEST_ERR_MAX);
    assert_int_equal(sp_config_load(path, &cfg, &err), SP_ERR_IO);
    assert_null(cfg);
    snprintf(prefix, sizeof(prefix), "%s:0: ", path);
    assert_int_equal(strncmp(sp_buf_str(&err), prefix, strlen(prefix)), 0);
    assert_non_null(strstr(sp_buf_str(&err), "cannot open"));
    sp_buf_cleanup(&err);
}

static void test_error_without_buffer(void **state)
{
    char path[TEST_PATH_MAX];
    struct sp_config *cfg = NULL;

    write_ini("[sp]\nport = x\n", path);
    assert_int_equal(sp_config_load(path, &cfg, NULL), SP_ERR_CONFIG);
    assert_null(cfg);
}

static void test_long_value(void **state)
{
    /* the longest line inih's 200-byte buffer holds (Debian's libinih) */
    char text[512];
    struct sp_config *cfg;

    snprintf(text, sizeof(text), "[sp]\nlisten = %0189d\n", 0);
    cfg = expect_ok(text);
    assert_int_equal(strlen(cfg->listen), 189);
    sp_config_free(&cfg);
}

static void test_line_too_long(void **state)
{
    /* longer lines are refused at their own line, never split into garbage */
    char text[512];
    snprintf(text, sizeof(text), "[sp]\nport = 8081\nlisten = %0250d\nbogus = 1\n", 0);
    expect_error(text, 3, "line longer than");
}

static void test_attributes_append(void **state)
{
    struct sp_config *cfg = expect_ok("[attributes.0]\nattributes = fiscalNumber name\n"
                                      "attributes = familyName email\n");
    assert_int_equal(cfg->attr_services[0].nattrs, 4);
    assert_string_equal(cfg->attr_services[0].attrs[3], "email");
    sp_config_free(&cfg);
    expect_error("[attributes.0]\nattributes = name\nattributes = name\n", 3,
                 "attribute \"name\" listed twice");
}

/* The services catalogue */

static void test_services_builtin(void **state)
{
    struct sp_config *cfg = expect_ok("[sp]\nport = 8081\n");
    (void)state;
    assert_true(cfg->services_builtin);
    assert_true(cfg->n_services >= 10);
    for (unsigned i = 0; i < cfg->n_services; i++) {
        assert_non_null(cfg->services[i].name);
        assert_int_equal(cfg->services[i].path[0], '/');
        assert_non_null(cfg->services[i].family);
    }
    assert_int_equal(cfg->deleg_max_per_delegate, 3);
    assert_int_equal(cfg->deleg_online_min_days, 30);
    assert_int_equal(cfg->deleg_evidence_years, 5);
    sp_config_free(&cfg);
}

static void test_services_parsed(void **state)
{
    struct sp_config *cfg = expect_ok("[service.cedolino]\n"
                                      "name = Cedolino della pensione\n"
                                      "path = /app/pensione/cedolino\n"
                                      "family = pension\n"
                                      "audience = citizen\n"
                                      "strength = consultation\n"
                                      "profiles = pensioner worker:public, pensioner:private\n"
                                      "[service.mandati]\n"
                                      "name = Mandati\n"
                                      "path = /app/mandati\n"
                                      "audience = intermediary\n"
                                      "strength = dispositive\n"
                                      "roles = patronato_operator caf_operator\n"
                                      "[service.naspi]\n"
                                      "name = NASpI\n"
                                      "path = /app/naspi\n"
                                      "strength = dispositive\n"
                                      "deferrable = yes\n"
                                      "[delegation]\n"
                                      "max_per_delegate = 5\n");
    const struct sp_service *s;
    (void)state;
    assert_false(cfg->services_builtin);
    assert_int_equal(cfg->n_services, 3);
    s = &cfg->services[0];
    assert_string_equal(s->id, "cedolino");
    assert_string_equal(s->family, "pension");
    assert_int_equal(s->audience, SP_AUD_CITIZEN);
    assert_int_equal(s->strength, SP_STRENGTH_CONSULTATION);
    assert_int_equal(s->n_profiles, 3);
    assert_string_equal(s->profiles[1], "worker:public");
    s = &cfg->services[1];
    assert_int_equal(s->audience, SP_AUD_INTERMEDIARY);
    assert_int_equal(s->n_roles, 2);
    s = &cfg->services[2];
    assert_string_equal(s->family, "naspi"); /* defaults to the id */
    assert_true(s->deferrable);
    assert_int_equal(s->audience, SP_AUD_CITIZEN); /* default */
    assert_int_equal(cfg->deleg_max_per_delegate, 5);
    assert_string_equal(sp_audience_name(SP_AUD_PUBLIC_BODY), "public_body");
    assert_string_equal(sp_strength_name(SP_STRENGTH_DISPOSITIVE), "dispositive");
    sp_config_free(&cfg);
}

static void test_services_errors(void **state)
{
    (void)state;
    expect_error("[service.Bad]\nname = x\n", 2, "a service id is 1-32 characters");
    expect_error("[service.a]\nname = A\npath = /a\naudience = everyone\n", 4,
                 "audience = \"everyone\": expected one of citizen, intermediary");
    expect_error("[service.a]\nname = A\nstrength = strong\n", 3, "expected one of consultation");
    expect_error("[service.a]\nname = A\nprofiles = retiree\n", 3, "\"retiree\" is not a known");
    expect_error("[service.a]\nname = A\nprofiles = worker:mixed\n", 3, "is not a known");
    expect_error("[service.a]\nname = A\nroles = ceo\n", 3, "\"ceo\" is not a known");
    expect_error("[service.a]\nname = A\nname = B\n", 3, "set twice");
    expect_error("[service.a]\nname = A\ncolour = red\n", 3, "unknown option \"colour\"");
    expect_error("[service.a]\nname = A\ndeferrable = maybe\n", 3, "expected true or false");
    /* cross-field errors name the first line of the section */
    expect_error("[sp]\nport = 8081\n[service.a]\nname = A\n", 4, "needs a name and a path");
    expect_error("[service.a]\nname = A\npath = app\n", 2, "path must be a URL path");
    expect_error("[service.a]\nname = A\npath = /a?x\n", 2, "path must be a URL path");
    expect_error("[service.a]\nname = A\npath = /a\nroles = caf_operator\n", 2,
                 "roles apply only to audience = intermediary");
    expect_error("[service.a]\nname = A\npath = /a\ndeferrable = true\n", 2,
                 "only a dispositive service can be deferrable");
    expect_error("[service.a]\nname = A\npath = /a\n[service.b]\nname = B\npath = /a\n", 5,
                 "have the same path /a");
    expect_error("[delegation]\nmax_per_delegate = 0\n", 2, "expected a whole number in range");
}

/* The role names a catalogue may name are the ones roles.c knows. */
static void test_services_vocabulary(void **state)
{
    static const char *const roles[] = {"patronato_operator", "caf_operator", "labour_consultant",
                                        "accountant", "association_operator"};
    (void)state;
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        char text[256];
        enum sp_role_kind k;
        struct sp_config *cfg;
        snprintf(text, sizeof(text),
                 "[service.a]\nname = A\npath = /a\naudience = intermediary\nroles = %s\n",
                 roles[i]);
        cfg = expect_ok(text);
        assert_int_equal(sp_role_parse(cfg->services[0].roles[0], &k), SP_OK);
        assert_true(sp_role_is_intermediary(k));
        sp_config_free(&cfg);
    }
    {
        struct sp_config *cfg = expect_ok("[service.a]\nname = A\npath = /a\n"
                                          "profiles = pensioner worker:private worker:public\n");
        enum sp_role_kind k;
        enum sp_scheme sc;
        assert_int_equal(sp_role_parse("pensioner", &k), SP_OK);
        assert_true(sp_role_is_profile(k));
        assert_int_equal(sp_role_parse("worker", &k), SP_OK);
        assert_true(sp_role_is_profile(k));
        assert_int_equal(sp_scheme_parse("private", &sc), SP_OK);
        assert_int_equal(sp_scheme_parse("public", &sc), SP_OK);
        sp_config_free(&cfg);
    }
}

/* Per-line errors: "file:line: message" */

static void test_unknown_option(void **state)
{
    expect_error("[sp]\nport = 8081\nbogus = 2\n", 3, "unknown option \"bogus\" in [sp]");
}

static void test_unknown_section(void **state)
{
    expect_error("; header\n\n[nope]\nx = 1\n", 4, "unknown option \"x\" in [nope]");
}

static void test_option_before_section(void **state)
{
    expect_error("port = 8081\n", 1, "unknown option \"port\" in []");
}

static void test_bad_number(void **state)
{
    expect_error("[sp]\n\nport = abc\n", 3, "sp.port = \"abc\": expected a whole number");
    expect_error("[sp]\nport = 70000\n", 2, "expected a whole number in range");
    expect_error("[sp]\nport = 0\n", 2, "expected a whole number in range");
    expect_error("[sp]\nport = -1\n", 2, "expected a whole number in range");
    expect_error("[sp]\nport = 80 80\n", 2, "expected a whole number in range");
    expect_error("[sp]\ndefault_level = 4\n", 2, "sp.default_level");
    expect_error("[sp]\nclock_skew = 601\n", 2, "sp.clock_skew");
    expect_error("[sp]\nsession_idle = 99999999999999999999\n", 2, "sp.session_idle");
}

static void test_bad_enum_values(void **state)
{
    expect_error("[sp]\ntest_hooks = maybe\n", 2, "expected true or false");
    expect_error("[sp]\nbinding = artifact\n", 2, "expected auto, redirect or post");
    expect_error("[contact]\nkind = mixed\n", 2, "expected public or private");
}

static void test_duplicate_key(void **state)
{
    expect_error("[sp]\nport = 8081\nlisten = 0.0.0.0\nport = 8082\n", 4,
                 "option \"port\" in [sp] set twice");
    /* the same key in a second [sp] section is still a duplicate */
    expect_error("[sp]\nport = 8081\n[contact]\nemail = a@b.it\n[sp]\nport = 8082\n", 6,
                 "set twice");
}

static void test_bad_attribute_name(void **state)
{
    expect_error("[attributes.0]\nname = Servizi\nattributes = name fooBar familyName\n", 3,
                 "\"fooBar\" is not a SPID attribute name");
    expect_error("[attributes.0]\n\n\nattributes = FiscalNumber\n", 4, "not a SPID attribute");
}

static void test_attribute_section_errors(void **state)
{
    expect_error("[attributes.0]\nattributes = name name\n", 2, "attribute \"name\" listed twice");
    expect_error("[attributes.x]\nname = A\n", 2, "index must be a number");
    expect_error("[attributes.70000]\nname = A\n", 2, "index must be a number");
    expect_error("[attributes.0]\ncolour = blue\n", 2, "unknown option \"colour\"");
}

static void test_syntax_error(void **state)
{
    expect_error("[sp]\nport = 8081\nthis line has no equals sign\n", 3, "syntax error");
    expect_error("[sp]\nport = 8081\n[contact\n", 3, "syntax error");
}

static void test_first_error_wins(void **state)
{
    expect_error("[sp]\nbogus = 1\nport = x\n", 2, "unknown option \"bogus\"");
}

/* Cross-field errors: no single line, reported as line 0 */

static void test_cross_field(void **state)
{
    expect_error("[sp]\nsession_idle = 7200\nsession_lifetime = 3600\n", 0,
                 "sp.session_lifetime must not be shorter than sp.session_idle");
    expect_error("[sp]\nbase_url = ftp://sp.example.it\n", 0, "sp.base_url must start with");
    expect_error("[sp]\nentity_id =\n", 0, "sp.entity_id must not be empty");
    expect_error("[organization]\nurl = www.example.it\n", 0, "organization.url");
    expect_error("[organization]\ncountry = ITA\n", 0, "organization.country");
    expect_error("[sp]\nattribute_service = 5\n", 0, "sp.attribute_service = 5");
    expect_error("[sp]\nlog_level = verbose\n", 0, "sp.log_level");
    expect_error("[attributes.1]\nname = Vuoto\n", 0, "[attributes.1] requests no attribute");
    expect_error("[contact]\nipa_code =\n", 0, "contact.ipa_code is required for a public SP");
}

static void test_private_requirements(void **state)
{
    expect_error("[contact]\nkind = private\n[billing]\nname = A\naddress = B\ncap = 1\n"
                 "city = C\nemail = e@x.it\n",
                 0, "needs contact.vat_number or contact.fiscal_code");
    expect_error(PRIVATE_OK "[contact]\nipa_code = c_h501\n", 0,
                 "contact.ipa_code must not be set for a private SP");
    expect_error("[contact]\nkind = private\nfiscal_code = 97735020584\n", 0,
                 "needs [billing] name, address, cap, city and email");
    expect_error("[contact]\nkind = private\nfiscal_code = 97735020584\n[billing]\nname = A\n"
                 "address = B\ncap = 1\ncity = C\n",
                 0, "[billing]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_values_and_derived),
        cmocka_unit_test(test_private_ok),
        cmocka_unit_test(test_long_value),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_attributes_append),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_error_without_buffer),
        cmocka_unit_test(test_unknown_option),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_option_before_section),
        cmocka_unit_test(test_bad_number),
        cmocka_unit_test(test_bad_enum_values),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_bad_attribute_name),
        cmocka_unit_test(test_attribute_section_errors),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_cross_field),
        cmocka_unit_test(test_private_requirements),
        cmocka_unit_test(test_services_builtin),
        cmocka_unit_test(test_services_parsed),
        cmocka_unit_test(test_services_errors),
        cmocka_unit_test(test_services_vocabulary),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
