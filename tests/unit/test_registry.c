/*
 * test_registry: the SPID registry module (sp/registry.c) against aggregates
 * signed at run time by tests/fixtures/registry/make_registry.py (xmlsec1):
 * every refusal with its reason, validUntil and Name, DTD/XXE, the entity
 * extraction (certificates, expiry, display names, standalone documents that
 * lasso loads), the [registry] configuration, and the cache and download
 * through tests/e2e/registry_server.py on a loopback port (ETag/304, a
 * refused download never replacing the cache, file modes).
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <lasso/lasso.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/config.h"
#include "sp/digest.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/registry.h"
#include "sp/saml.h"
#include "sp/xmlsig.h"

#define NAME "https://registry.test.example"
#define DAY_MS INT64_C(86400000)

static struct {
    char dir[256];
    char *pin; /* registry-cert.pem */
    json_t *manifest;
    /* the download group */
    pid_t server_pid;
    int port;
    char serve[300], log[300], data[300];
} fx;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void fx_path(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", fx.dir, name);
}

static char *slurp_path(const char *path, size_t *len)
{
    struct sp_buf b;

    sp_buf_init(&b, 64u * 1024u * 1024u);
    if (sp_file_read(path, &b) != SP_OK) {
        sp_buf_cleanup(&b);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    if (b.data == NULL)
        return calloc(1, 1);
    return sp_buf_detach(&b);
}

static char *slurp(const char *name, size_t *len)
{
    char p[512];
    char *s;

    fx_path(name, p, sizeof(p));
    s = slurp_path(p, len);
    if (s == NULL)
        fail_msg("cannot read fixture %s", p);
    return s;
}

static void copy_fixture(const char *name, const char *to)
{
    size_t len;
    char *s = slurp(name, &len);

    assert_int_equal(sp_file_write_atomic(to, s, len, 0644), SP_OK);
    free(s);
}

static int64_t m_int(const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(json_object_get(fx.manifest, a), b), c);
    if (v == NULL)
        v = json_object_get(json_object_get(fx.manifest, a), b);
    if (v == NULL)
        v = json_object_get(fx.manifest, a);
    if (!json_is_integer(v))
        fail_msg("manifest %s.%s.%s missing", a, b ? b : "", c ? c : "");
    return (int64_t)json_integer_value(v);
}

static const char *m_str(const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(json_object_get(fx.manifest, a), b), c);
    if (!json_is_string(v))
        fail_msg("manifest %s.%s.%s missing", a, b, c);
    return json_string_value(v);
}

/* Verify fixture name with the pin in pin_name (NULL: registry-cert.pem). */
static enum sp_err verify_fx(const char *name, const char *pin_name, int64_t now,
                             const char *expected, bool require_vu, struct sp_registry_doc *out,
                             const char **reason)
{
    size_t len;
    char *xml = slurp(name, &len);
    char *pin = pin_name ? slurp(pin_name, NULL) : NULL;
    struct sp_buf err;
    enum sp_err rc;

    sp_buf_init(&err, 4096);
    rc = sp_registry_verify(xml, len, pin ? pin : fx.pin, now, expected, require_vu, out, reason,
                            &err);
    if (rc != SP_OK && err.len == 0)
        fail_msg("%s: refused (%s) without a message", name, *reason);
    free(xml);
    free(pin);
    sp_buf_cleanup(&err);
    return rc;
}

static const struct sp_registry_entity *find_entity(const struct sp_registry_doc *d,
                                                    const char *eid)
{
    for (unsigned i = 0; i < d->n_entities; i++)
        if (strcmp(d->entities[i].entity_id, eid) == 0)
            return &d->entities[i];
    return NULL;
}

static void assert_cert(const struct sp_registry_cert *c, const char *key, const char *cn)
{
    char want[300];

    assert_string_equal(c->sha256, m_str("certs", key, "sha256"));
    assert_true(c->not_after_ms == m_int("certs", key, "not_after_ms"));
    snprintf(want, sizeof(want), "CN=%s", cn);
    if (strstr(c->subject, want) == NULL)
        fail_msg("subject \"%s\" lacks \"%s\"", c->subject, want);
}

/* ------------------------------------------------------------------------ */
/* Set-up: the fixtures                                                     */
/* ------------------------------------------------------------------------ */

static int fixtures_setup(void **state)
{
    char cmd[1024];
    json_error_t je;
    char mpath[512];

    (void)state;
    sp_log_set_level(SP_LOG_ERROR);
    if (sp_saml_global_init() != SP_OK)
        return -1;
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/sp-registry-XXXXXX");
    if (mkdtemp(fx.dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 '%s/tests/fixtures/registry/make_registry.py' '%s' "
             ">'%s/make_registry.log' 2>&1",
             SP_SOURCE_DIR, fx.dir, fx.dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make_registry.py failed: see %s/make_registry.log\n", fx.dir);
        return -1;
    }
    fx_path("registry-cert.pem", mpath, sizeof(mpath));
    fx.pin = slurp_path(mpath, NULL);
    fx_path("manifest.json", mpath, sizeof(mpath));
    fx.manifest = json_load_file(mpath, 0, &je);
    return fx.pin != NULL && fx.manifest != NULL ? 0 : -1;
}

static int fixtures_teardown(void **state)
{
    char cmd[512];

    (void)state;
    free(fx.pin);
    json_decref(fx.manifest);
    if (fx.dir[0] != '\0' && getenv("SP_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reasons                                                                  */
/* ------------------------------------------------------------------------ */

static void test_reason_ids(void **state)
{
    (void)state;
    for (int i = 0; i < SP_REGISTRY__COUNT; i++) {
        const char *id = sp_registry_reason_id((enum sp_registry_reason)i);
        assert_true(id[0] != '\0');
        for (const char *p = id; *p; p++) /* a Prometheus label value we never escape */
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        for (int j = 0; j < i; j++)
            assert_string_not_equal(id, sp_registry_reason_id((enum sp_registry_reason)j));
    }
    assert_string_equal(sp_registry_reason_id(SP_REGISTRY_OK), "ok");
    assert_string_equal(sp_registry_reason_id((enum sp_registry_reason)999), "internal");
}

/* ------------------------------------------------------------------------ */
/* Verification: the good documents                                         */
/* ------------------------------------------------------------------------ */

static void test_verify_good(void **state)
{
    struct sp_registry_doc d;
    const struct sp_registry_entity *a, *b, *c;
    const char *reason = NULL;
    char sha[65];
    size_t len;
    char *bytes;

    (void)state;
    assert_int_equal(verify_fx("good.xml", NULL, sp_clock_now_ms(), NAME, true, &d, &reason),
                     SP_OK);
    assert_string_equal(reason, "ok");
    /* the SP child is skipped */
    assert_int_equal(d.n_entities, 3);
    assert_null(find_entity(&d, "https://sp-x.example"));
    assert_string_equal(d.entities[0].entity_id, "https://idp-a.example");
    assert_string_equal(d.entities[1].entity_id, "https://idp-b.example");
    assert_string_equal(d.entities[2].entity_id, "https://idp-c.example");
    assert_string_equal(d.name, NAME);
    assert_true(d.valid_until_ms == m_int("valid_until_ms", NULL, NULL));
    bytes = slurp("good.xml", &len);
    sp_sha256_hex(bytes, len, sha);
    free(bytes);
    assert_string_equal(d.sha256, sha);
    assert_null(d.source_url);
    assert_true(d.fetched_ms == 0 && d.checked_ms == 0);

    a = find_entity(&d, "https://idp-a.example");
    b = find_entity(&d, "https://idp-b.example");
    c = find_entity(&d, "https://idp-c.example");
    /* Italian display name first, even when English comes first in the file */
    assert_string_equal(a->display_name, "Identità A");
    assert_string_equal(b->display_name, "IdP B only English");
    assert_string_equal(c->display_name, "IdP C");
    assert_int_equal(a->n_certs, 1);
    assert_cert(&a->certs[0], "a1", "IdP A signing 2025");
    assert_int_equal(b->n_certs, 1);
    assert_cert(&b->certs[0], "b1", "IdP B signing");
    /* C: use="signing" and no use count, use="encryption" does not */
    assert_int_equal(c->n_certs, 2);
    assert_cert(&c->certs[0], "c1", "IdP C signing");
    assert_cert(&c->certs[1], "c2", "IdP C no use");
    sp_registry_doc_cleanup(&d);
    assert_null(d.entities);
    sp_registry_doc_cleanup(&d); /* twice is harmless */
    sp_registry_doc_cleanup(NULL);
}

static void test_verify_good_variants(void **state)
{
    static const struct {
        const char *file, *pin;
    } rows[] = {
        {"good.xml", "registry-pub.pem"},          /* a bare public key as the pin */
        {"good.xml", "registry-cert-expired.pem"}, /* the pin is the key, not its dates */
        {"good.xml", "pins-rotation.pem"},         /* two pins, the second one signed */
        {"good-ec.xml", "ec-cert.pem"},            /* ECDSA-SHA256 */
        {"good-sha512.xml", NULL},                 /* RSA-SHA512 / SHA-512 */
        {"tampered-comment.xml", NULL},            /* comments are outside c14n */
        {"good2.xml", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sp_registry_doc d;
        const char *reason = "unset";
        enum sp_err rc =
            verify_fx(rows[i].file, rows[i].pin, sp_clock_now_ms(), NAME, true, &d, &reason);
        if (rc != SP_OK)
            fail_msg("%s with pin %s: refused (%s)", rows[i].file,
                     rows[i].pin ? rows[i].pin : "registry-cert.pem", reason);
        assert_true(d.n_entities >= 2);
        sp_registry_doc_cleanup(&d);
    }
}

/* ------------------------------------------------------------------------ */
/* Verification: every refusal, with its reason                              */
/* ------------------------------------------------------------------------ */

static void test_verify_refusals(void **state)
{
    static const struct {
        const char *file, *pin, *reason;
        enum sp_err rc;
    } rows[] = {
        {"tampered.xml", NULL, "bad_signature", SP_ERR_SIGNATURE},
        {"unsigned.xml", NULL, "unsigned", SP_ERR_SIGNATURE},
        {"expired.xml", NULL, "expired", SP_ERR_EXPIRED},
        {"no-valid-until.xml", NULL, "no_valid_until", SP_ERR_EXPIRED},
        {"other-key.xml", NULL, "bad_signature", SP_ERR_SIGNATURE},
        {"pinned-cert-in-keyinfo.xml", NULL, "bad_signature", SP_ERR_SIGNATURE},
        {"sha1.xml", NULL, "bad_algorithm", SP_ERR_SIGNATURE},
        {"c14n-inclusive.xml", NULL, "bad_algorithm", SP_ERR_SIGNATURE},
        {"sha1-digest.xml", NULL, "bad_algorithm", SP_ERR_SIGNATURE},
        {"transform-inclusive.xml", NULL, "bad_algorithm", SP_ERR_SIGNATURE},
        {"wrap-child.xml", NULL, "bad_reference", SP_ERR_SIGNATURE},
        {"wrap-outer.xml", NULL, "bad_reference", SP_ERR_SIGNATURE},
        {"wrap-dup-id.xml", NULL, "bad_reference", SP_ERR_SIGNATURE},
        {"two-signatures.xml", NULL, "bad_signature", SP_ERR_SIGNATURE},
        {"no-idps.xml", NULL, "no_idps", SP_ERR_INVALID},
        {"no-id.xml", NULL, "malformed", SP_ERR_INVALID},
        {"not-aggregate.xml", NULL, "malformed", SP_ERR_INVALID},
        {"xxe.xml", NULL, "malformed", SP_ERR_INVALID},
        {"dtd.xml", NULL, "malformed", SP_ERR_INVALID},
        {"idp-a.xml", NULL, "malformed", SP_ERR_INVALID},
        {"registry-cert.pem", NULL, "malformed", SP_ERR_INVALID}, /* not XML */
        /* the right document, the wrong pin */
        {"good.xml", "other-cert.pem", "bad_signature", SP_ERR_SIGNATURE},
        {"good.xml", "ec-cert.pem", "bad_signature", SP_ERR_SIGNATURE},
        {"good-ec.xml", NULL, "bad_signature", SP_ERR_SIGNATURE},
        {"good.xml", "weak-cert.pem", "config", SP_ERR_CONFIG},
        {"good.xml", "registry-key.pem", "config", SP_ERR_CONFIG}, /* a private key is no pin */
        {"good.xml", "idp-a.xml", "config", SP_ERR_CONFIG},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sp_registry_doc d;
        const char *reason = "unset";
        enum sp_err rc;

        memset(&d, 0x5a, sizeof(d)); /* must stay untouched */
        rc = verify_fx(rows[i].file, rows[i].pin, sp_clock_now_ms(), NAME, true, &d, &reason);
        if (rc != rows[i].rc || strcmp(reason, rows[i].reason) != 0)
            fail_msg("%s (pin %s): got %s/%s, want %s/%s", rows[i].file,
                     rows[i].pin ? rows[i].pin : "registry-cert.pem", sp_errname(rc), reason,
                     sp_errname(rows[i].rc), rows[i].reason);
        assert_true(d.n_entities == 0x5a5a5a5au);
    }
}

static void test_verify_empty_and_pinless(void **state)
{
    struct sp_registry_doc d;
    const char *reason = "unset";
    struct sp_buf err;
    size_t len;
    char *xml = slurp("good.xml", &len);

    (void)state;
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_registry_verify("", 0, fx.pin, 0, NULL, true, &d, &reason, &err),
                     SP_ERR_INVALID);
    assert_string_equal(reason, "malformed");
    assert_int_equal(sp_registry_verify(NULL, 10, fx.pin, 0, NULL, true, &d, &reason, NULL),
                     SP_ERR_INVALID);
    assert_int_equal(sp_registry_verify(xml, len, "", 0, NULL, true, &d, &reason, &err),
                     SP_ERR_CONFIG);
    assert_string_equal(reason, "config");
    assert_int_equal(sp_registry_verify(xml, len, NULL, 0, NULL, true, &d, NULL, NULL),
                     SP_ERR_CONFIG);
    /* a truncated copy */
    assert_int_equal(sp_registry_verify(xml, len / 2, fx.pin, 0, NULL, true, &d, &reason, &err),
                     SP_ERR_INVALID);
    assert_string_equal(reason, "malformed");
    free(xml);
    sp_buf_cleanup(&err);
}

static void test_verify_too_large(void **state)
{
    size_t n = (size_t)SP_REGISTRY_MAX_BYTES + 1;
    char *big = malloc(n);
    struct sp_registry_doc d;
    const char *reason = "unset";

    (void)state;
    memset(big, ' ', n);
    assert_int_equal(sp_registry_verify(big, n, fx.pin, 0, NULL, true, &d, &reason, NULL),
                     SP_ERR_TOO_LARGE);
    assert_string_equal(reason, "too_large");
    free(big);
}

static void test_verify_valid_until(void **state)
{
    int64_t vu = m_int("valid_until_ms", NULL, NULL);
    struct sp_registry_doc d;
    const char *reason = "unset";

    (void)state;
    assert_int_equal(verify_fx("good.xml", NULL, vu - 1, NAME, true, &d, &reason), SP_OK);
    sp_registry_doc_cleanup(&d);
    assert_int_equal(verify_fx("good.xml", NULL, vu, NAME, true, &d, &reason), SP_ERR_EXPIRED);
    assert_string_equal(reason, "expired");
    assert_int_equal(verify_fx("good.xml", NULL, vu + DAY_MS, NAME, false, &d, &reason),
                     SP_ERR_EXPIRED);
    assert_string_equal(reason, "expired");
    /* absent validUntil: accepted only when not required */
    assert_int_equal(
        verify_fx("no-valid-until.xml", NULL, sp_clock_now_ms(), NAME, false, &d, &reason), SP_OK);
    assert_true(d.valid_until_ms == 0);
    sp_registry_doc_cleanup(&d);
    /* an expired aggregate stays expired when validUntil is not required */
    assert_int_equal(verify_fx("expired.xml", NULL, sp_clock_now_ms(), NAME, false, &d, &reason),
                     SP_ERR_EXPIRED);
}

static void test_verify_name(void **state)
{
    struct sp_registry_doc d;
    const char *reason = "unset";
    const char *ok_names[] = {NAME, "", NULL};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(
            verify_fx("good.xml", NULL, sp_clock_now_ms(), ok_names[i], true, &d, &reason), SP_OK);
        sp_registry_doc_cleanup(&d);
    }
    assert_int_equal(verify_fx("good.xml", NULL, sp_clock_now_ms(), "https://registry.spid.gov.it",
                               true, &d, &reason),
                     SP_ERR_INTEGRITY);
    assert_string_equal(reason, "name_mismatch");
    assert_int_equal(verify_fx("good.xml", NULL, sp_clock_now_ms(), NAME "/", true, &d, &reason),
                     SP_ERR_INTEGRITY);
}

/* BT-23: several signing certificates during a rollover. */
static void test_verify_rollover(void **state)
{
    static const struct {
        const char *file;
        const char *certs[2];
        unsigned n;
    } steps[] = {
        {"rollover-v1.xml", {"a1", NULL}, 1},
        {"rollover-v2.xml", {"a1", "a1new"}, 2},
        {"rollover-v3.xml", {"a1new", NULL}, 1},
    };

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct sp_registry_doc d;
        const char *reason = "unset";
        const struct sp_registry_entity *a;
        struct sp_xmlsig_keys *keys;

        assert_int_equal(verify_fx(steps[i].file, NULL, sp_clock_now_ms(), NAME, true, &d, &reason),
                         SP_OK);
        assert_int_equal(d.n_entities, 1);
        a = &d.entities[0];
        assert_int_equal(a->n_certs, steps[i].n);
        for (unsigned j = 0; j < steps[i].n; j++)
            assert_string_equal(a->certs[j].sha256, m_str("certs", steps[i].certs[j], "sha256"));
        /* the standalone document carries the same keys to the SAML layer */
        keys = sp_xmlsig_keys_from_metadata(a->xml, a->xml_len, a->entity_id);
        assert_non_null(keys);
        assert_int_equal(sp_xmlsig_keys_count(keys), steps[i].n);
        sp_xmlsig_keys_free(&keys);
        sp_registry_doc_cleanup(&d);
    }
}

/* ------------------------------------------------------------------------ */
/* Entities                                                                 */
/* ------------------------------------------------------------------------ */

static void test_entity_parse(void **state)
{
    struct sp_registry_entity e;
    struct sp_buf err;
    size_t len;
    char *xml = slurp("idp-c.xml", &len);

    (void)state;
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_registry_entity_parse(xml, len, &e, &err), SP_OK);
    assert_string_equal(e.entity_id, "https://idp-c.example");
    assert_string_equal(e.display_name, "IdP C");
    assert_int_equal(e.n_certs, 2);
    assert_cert(&e.certs[0], "c1", "IdP C signing");
    assert_cert(&e.certs[1], "c2", "IdP C no use");
    assert_non_null(strstr(e.xml, "entityID=\"https://idp-c.example\""));
    sp_registry_entity_cleanup(&e);
    assert_null(e.entity_id);
    sp_registry_entity_cleanup(NULL);
    free(xml);

    /* an SP, an aggregate, garbage */
    xml = slurp("sp-x.xml", &len);
    memset(&e, 0x5a, sizeof(e));
    assert_int_equal(sp_registry_entity_parse(xml, len, &e, &err), SP_ERR_INVALID);
    assert_non_null(strstr(sp_buf_str(&err), "IDPSSODescriptor"));
    assert_true(e.n_certs == 0x5a5a5a5au);
    free(xml);
    xml = slurp("good.xml", &len);
    assert_int_equal(sp_registry_entity_parse(xml, len, &e, NULL), SP_ERR_INVALID);
    free(xml);
    assert_int_equal(sp_registry_entity_parse("<a", 2, &e, NULL), SP_ERR_INVALID);
    assert_int_equal(sp_registry_entity_parse(NULL, 0, &e, NULL), SP_ERR_INVALID);
    sp_buf_cleanup(&err);
}

static void test_entity_parse_xxe(void **state)
{
    char secret[512], doc[2048];
    struct sp_registry_entity e;
    struct sp_buf err;
    FILE *fp;
    int n;

    (void)state;
    fx_path("secret.txt", secret, sizeof(secret));
    fp = fopen(secret, "w");
    fputs("TOP-SECRET-CONTENT", fp);
    fclose(fp);
    n = snprintf(doc, sizeof(doc),
                 "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY s SYSTEM \"file://%s\">]>\n"
                 "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                 "entityID=\"https://xxe.example\"><md:IDPSSODescriptor "
                 "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"
                 "<md:Organization><md:OrganizationDisplayName xml:lang=\"it\">&s;"
                 "</md:OrganizationDisplayName></md:Organization></md:EntityDescriptor>",
                 secret);
    sp_buf_init(&err, 4096);
    assert_int_equal(sp_registry_entity_parse(doc, (size_t)n, &e, &err), SP_ERR_INVALID);
    assert_non_null(strstr(sp_buf_str(&err), "DTD"));
    /* the parse stops at the DOCTYPE: a broken internal subset is never read */
    sp_buf_reset(&err);
    n = snprintf(doc, sizeof(doc),
                 "<!DOCTYPE x [ <!ENTITY broken ]>\n<md:EntityDescriptor "
                 "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://x\"/>");
    assert_int_equal(sp_registry_entity_parse(doc, (size_t)n, &e, &err), SP_ERR_INVALID);
    if (strstr(sp_buf_str(&err), "DTD") == NULL)
        fail_msg("the internal subset was parsed: \"%s\"", sp_buf_str(&err));
    sp_buf_cleanup(&err);
}

/* The standalone EntityDescriptor documents: self-contained and loadable by lasso. */
static void test_entity_standalone_loadable(void **state)
{
    struct sp_registry_doc d;
    const char *reason = "unset";

    (void)state;
    assert_int_equal(verify_fx("good.xml", NULL, sp_clock_now_ms(), NAME, true, &d, &reason),
                     SP_OK);
    for (unsigned i = 0; i < d.n_entities; i++) {
        const struct sp_registry_entity *e = &d.entities[i];
        struct sp_registry_entity again;
        LassoProvider *p;
        gchar *sso;
        char want[300];

        assert_true(e->xml_len == strlen(e->xml));
        assert_true(strncmp(e->xml, "<?xml", 5) == 0);
        /* md: was declared on the aggregate's root only: it must be re-declared */
        assert_non_null(strstr(e->xml, "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\""));
        assert_null(strstr(e->xml, "EntitiesDescriptor"));
        p = lasso_provider_new_from_buffer(LASSO_PROVIDER_ROLE_IDP, e->xml, NULL, NULL);
        assert_non_null(p);
        assert_string_equal(LASSO_PROVIDER(p)->ProviderID, e->entity_id);
        sso = lasso_provider_get_metadata_one(p, "SingleSignOnService HTTP-Redirect");
        snprintf(want, sizeof(want), "%s/sso", e->entity_id);
        assert_non_null(sso);
        assert_string_equal(sso, want);
        g_free(sso);
        g_object_unref(p);
        /* the same extraction from the standalone copy */
        assert_int_equal(sp_registry_entity_parse(e->xml, e->xml_len, &again, NULL), SP_OK);
        assert_string_equal(again.entity_id, e->entity_id);
        assert_string_equal(again.display_name, e->display_name);
        assert_int_equal(again.n_certs, e->n_certs);
        for (unsigned j = 0; j < e->n_certs; j++) {
            assert_string_equal(again.certs[j].sha256, e->certs[j].sha256);
            assert_string_equal(again.certs[j].subject, e->certs[j].subject);
            assert_true(again.certs[j].not_after_ms == e->certs[j].not_after_ms);
        }
        sp_registry_entity_cleanup(&again);
    }
    sp_registry_doc_cleanup(&d);
}

static void test_cert_state(void **state)
{
    struct sp_registry_cert c = {.subject = NULL, .not_after_ms = 100 * DAY_MS};
    int64_t days = 0;

    (void)state;
    assert_int_equal(sp_registry_cert_state(&c, 50 * DAY_MS, 30, &days), SP_REGISTRY_CERT_VALID);
    assert_true(days == 50);
    assert_int_equal(sp_registry_cert_state(&c, 70 * DAY_MS + 1, 30, &days),
                     SP_REGISTRY_CERT_EXPIRING);
    assert_true(days == 29);
    assert_int_equal(sp_registry_cert_state(&c, 70 * DAY_MS, 30, &days), SP_REGISTRY_CERT_VALID);
    assert_int_equal(sp_registry_cert_state(&c, 100 * DAY_MS - 1, 30, &days),
                     SP_REGISTRY_CERT_EXPIRING);
    assert_true(days == 0);
    assert_int_equal(sp_registry_cert_state(&c, 100 * DAY_MS, 30, &days), SP_REGISTRY_CERT_EXPIRED);
    assert_true(days == 0);
    assert_int_equal(sp_registry_cert_state(&c, 100 * DAY_MS + 1, 0, &days),
                     SP_REGISTRY_CERT_EXPIRED);
    assert_true(days == -1);
    assert_int_equal(sp_registry_cert_state(&c, 50 * DAY_MS, 0, NULL), SP_REGISTRY_CERT_VALID);
}

static void test_warn_expiring(void **state)
{
    struct sp_registry_doc d;
    const char *reason = "unset";

    (void)state;
    assert_int_equal(verify_fx("good.xml", NULL, sp_clock_now_ms(), NAME, true, &d, &reason),
                     SP_OK);
    /* b1 expires in 10 days, c1 expired: 2 with a 30-day window, only c1 with 5 days */
    assert_int_equal(sp_registry_warn_expiring(d.entities, d.n_entities, sp_clock_now_ms(), 30), 2);
    assert_int_equal(sp_registry_warn_expiring(d.entities, d.n_entities, sp_clock_now_ms(), 5), 1);
    sp_registry_doc_cleanup(&d);
}

/* ------------------------------------------------------------------------ */
/* Configuration: [registry]                                                */
/* ------------------------------------------------------------------------ */

static enum sp_err load_ini(const char *text, struct sp_config **cfg, struct sp_buf *err)
{
    char path[512];
    FILE *fp;

    fx_path("registry.ini", path, sizeof(path));
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    sp_buf_reset(err);
    return sp_config_load(path, cfg, err);
}

static void test_config(void **state)
{
    static const struct {
        const char *ini;
        const char *want; /* NULL = accepted, else a piece of the error */
    } rows[] = {
        {"[registry]\nurl = https://registry.spid.gov.it/metadata/idp/spid-entities-idps.xml\n"
         "cert_file = /etc/spid/registry.pem\n",
         NULL},
        {"[registry]\nurl = http://127.0.0.1:8000/agg.xml\ncert_file = r.pem\n", NULL},
        {"[registry]\nurl = http://localhost/agg.xml\ncert_file = r.pem\n", NULL},
        {"[registry]\nurl = http://[::1]:9/x\ncert_file = r.pem\n", NULL},
        {"[registry]\nurl = http://127.0.0.1\ncert_file = r.pem\n", NULL},
        {"[registry]\n\n\nurl = http://registry.spid.gov.it/x\ncert_file = r.pem\n",
         "registry.ini:4: registry.url"},
        {"[registry]\nurl = ftp://127.0.0.1/x\ncert_file = r.pem\n", "registry.ini:2: "},
        {"[registry]\nurl = http://127.0.0.1.evil.example/x\ncert_file = r.pem\n",
         "registry.ini:2: "},
        {"[registry]\nurl = http://127.0.0.1@evil.example/x\ncert_file = r.pem\n",
         "registry.ini:2: "},
        {"[registry]\nurl = http://localhostevil/x\ncert_file = r.pem\n", "registry.ini:2: "},
        {"[registry]\nurl = https://\ncert_file = r.pem\n", "registry.ini:2: "},
        {"[registry]\ncert_file =\n\nurl = https://r.example/x\n",
         "registry.ini:4: registry.url needs registry.cert_file"},
        {"[registry]\nurl = https://r.example/x\n", "registry.url needs registry.cert_file"},
        {"[registry]\nrefresh = 0\n", "registry.ini:2: registry.refresh"},
        {"[registry]\nrefresh = 86401\n", "registry.ini:2: "},
        {"[registry]\nrefresh = 86400\ntimeout = 1\ncert_warn_days = 0\n", NULL},
        {"[registry]\ntimeout = 0\n", "registry.ini:2: "},
        {"[registry]\nrequire_valid_until = maybe\n", "registry.ini:2: "},
        {"[registry]\nbogus = 1\n", "registry.ini:2: unknown option"},
    };
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    (void)state;
    sp_buf_init(&err, 4096);
    /* defaults */
    assert_int_equal(load_ini("[sp]\n", &cfg, &err), SP_OK);
    assert_string_equal(cfg->registry_url, "");
    assert_string_equal(cfg->registry_cert_file, "");
    assert_string_equal(cfg->registry_ca_file, "");
    assert_string_equal(cfg->registry_name, "");
    assert_int_equal(cfg->registry_refresh_sec, 3600);
    assert_int_equal(cfg->registry_timeout_sec, 20);
    assert_int_equal(cfg->registry_cert_warn_days, 30);
    assert_true(cfg->registry_require_valid_until);
    sp_config_free(&cfg);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum sp_err rc = load_ini(rows[i].ini, &cfg, &err);
        if (rows[i].want == NULL && rc != SP_OK)
            fail_msg("row %zu refused: %s", i, sp_buf_str(&err));
        if (rows[i].want != NULL && (rc == SP_OK || strstr(sp_buf_str(&err), rows[i].want) == NULL))
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, sp_buf_str(&err), rows[i].want);
        sp_config_free(&cfg);
    }
    sp_buf_cleanup(&err);
}

/* ------------------------------------------------------------------------ */
/* Cache and download (loopback server)                                     */
/* ------------------------------------------------------------------------ */

static int server_setup(void **state)
{
    char port_file[300], script[512], buf[32];
    char *argv[] = {"/usr/bin/python3", script,  fx.serve, "--port-file",
                    port_file,          "--log", fx.log,   NULL};
    FILE *fp;

    (void)state;
    snprintf(fx.serve, sizeof(fx.serve), "%s/serve", fx.dir);
    snprintf(fx.log, sizeof(fx.log), "%s/requests.log", fx.dir);
    snprintf(fx.data, sizeof(fx.data), "%s/data", fx.dir);
    snprintf(port_file, sizeof(port_file), "%s/port", fx.dir);
    snprintf(script, sizeof(script), "%s/tests/e2e/registry_server.py", SP_SOURCE_DIR);
    if (sp_file_mkdirs(fx.serve, 0700) != SP_OK)
        return -1;
    fx.server_pid = fork();
    if (fx.server_pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 400 && access(port_file, R_OK) != 0; i++)
        usleep(25 * 1000);
    fp = fopen(port_file, "r");
    if (fp == NULL || fgets(buf, sizeof(buf), fp) == NULL) {
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    fx.port = (int)strtol(buf, NULL, 10);
    return fx.port > 0 ? 0 : -1;
}

static int server_teardown(void **state)
{
    (void)state;
    if (fx.server_pid > 0) {
        kill(fx.server_pid, SIGTERM);
        waitpid(fx.server_pid, NULL, 0);
    }
    fx.server_pid = -1;
    return 0;
}

/* A config whose registry is http://127.0.0.1:PORT/path, with pin_name as the pin. */
static struct sp_config *reg_config(const char *path, const char *pin_name, const char *extra)
{
    char ini[2048], pin[512];
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    fx_path(pin_name ? pin_name : "registry-cert.pem", pin, sizeof(pin));
    snprintf(ini, sizeof(ini),
             "[sp]\ndata_dir = %s\n[registry]\nurl = http://127.0.0.1:%d/%s\ncert_file = %s\n"
             "name = " NAME "\ntimeout = 2\n%s",
             fx.data, fx.port, path, pin, extra ? extra : "");
    sp_buf_init(&err, 4096);
    if (load_ini(ini, &cfg, &err) != SP_OK)
        fail_msg("config: %s", sp_buf_str(&err));
    sp_buf_cleanup(&err);
    return cfg;
}

static void cache_path(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/registry/%s", fx.data, name);
}

/* The cached aggregate equals fixture name, byte for byte. */
static void assert_cache_is(const char *name)
{
    char p[512];
    size_t a_len, b_len;
    char *a, *b;

    cache_path(SP_REGISTRY_CACHE_XML, p, sizeof(p));
    a = slurp_path(p, &a_len);
    b = slurp(name, &b_len);
    if (a == NULL)
        fail_msg("no cache at %s (want %s)", p, name);
    if (a_len != b_len || memcmp(a, b, a_len) != 0)
        fail_msg("the cache is not %s", name);
    free(a);
    free(b);
}

static unsigned log_lines(void)
{
    size_t len = 0;
    char *s = slurp_path(fx.log, &len);
    unsigned n = 0;

    for (size_t i = 0; s != NULL && i < len; i++)
        n += s[i] == '\n';
    free(s);
    return n;
}

/* The last request line of the server's log. */
static void last_request(char *out, size_t n)
{
    size_t len = 0;
    char *s = slurp_path(fx.log, &len);
    char *p;

    out[0] = '\0';
    if (s == NULL || len == 0) {
        free(s);
        return;
    }
    s[len - 1] = '\0';
    p = strrchr(s, '\n');
    snprintf(out, n, "%s", p ? p + 1 : s);
    free(s);
}

static enum sp_err fetch(struct sp_config *cfg, struct sp_registry_doc *d, bool *nm,
                         const char **reason)
{
    struct sp_buf err;
    enum sp_err rc;

    sp_buf_init(&err, 4096);
    rc = sp_registry_fetch(cfg, sp_clock_now_ms(), d, nm, reason, &err);
    if (rc != SP_OK && err.len == 0)
        fail_msg("fetch refused (%s) without a message", *reason);
    sp_buf_cleanup(&err);
    return rc;
}

static void test_fetch_cycle(void **state)
{
    char agg[512], p[512], line[1024];
    struct sp_config *cfg;
    struct sp_registry_doc d, c;
    const char *reason = "unset";
    bool nm = true;
    struct stat st;
    int64_t first_fetch;
    unsigned before;
    static const struct {
        const char *file, *reason;
    } refused[] = {
        {"tampered.xml", "bad_signature"},
        {"unsigned.xml", "unsigned"},
        {"expired.xml", "expired"},
        {"other-key.xml", "bad_signature"},
        {"wrap-outer.xml", "bad_reference"},
        {"no-idps.xml", "no_idps"},
        {"xxe.xml", "malformed"},
    };

    (void)state;
    snprintf(agg, sizeof(agg), "%s/agg.xml", fx.serve);
    cfg = reg_config("agg.xml", NULL, NULL);

    /* no cache yet */
    assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &d, &reason, NULL),
                     SP_ERR_NOT_FOUND);
    assert_string_equal(reason, "no_cache");

    /* 1. the first download */
    copy_fixture("good.xml", agg);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_OK);
    assert_false(nm);
    assert_string_equal(reason, "ok");
    assert_int_equal(d.n_entities, 3);
    assert_non_null(d.source_url);
    assert_non_null(strstr(d.source_url, "/agg.xml"));
    assert_true(d.fetched_ms > 0 && d.checked_ms == d.fetched_ms);
    first_fetch = d.fetched_ms;
    sp_registry_doc_cleanup(&d);
    assert_cache_is("good.xml");
    last_request(line, sizeof(line));
    assert_non_null(strstr(line, "200 /agg.xml INM=- IMS=-"));
    /* modes: dir 0700, files 0600 */
    cache_path("", p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    cache_path(SP_REGISTRY_CACHE_XML, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    cache_path(SP_REGISTRY_CACHE_META, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* 2. unchanged: a conditional GET answered 304 */
    usleep(5 * 1000);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_OK);
    assert_true(nm);
    assert_int_equal(d.n_entities, 3);
    assert_true(d.fetched_ms == first_fetch);
    assert_true(d.checked_ms > first_fetch);
    sp_registry_doc_cleanup(&d);
    last_request(line, sizeof(line));
    if (strncmp(line, "304 /agg.xml INM=\"", 18) != 0 || strstr(line, "IMS=-") != NULL)
        fail_msg("expected a 304 to If-None-Match + If-Modified-Since, got: %s", line);
    assert_cache_is("good.xml");

    /* 3. load_cache: the sidecar describes the cache */
    assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &c, &reason, NULL), SP_OK);
    assert_non_null(c.source_url);
    assert_true(c.fetched_ms == first_fetch && c.checked_ms > first_fetch);
    sp_registry_doc_cleanup(&c);

    /* 4. every refused download leaves the cache alone */
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        memset(&d, 0x5a, sizeof(d));
        nm = true;
        copy_fixture(refused[i].file, agg);
        if (fetch(cfg, &d, &nm, &reason) == SP_OK || strcmp(reason, refused[i].reason) != 0)
            fail_msg("%s: got %s, want %s", refused[i].file, reason, refused[i].reason);
        assert_false(nm);
        assert_true(d.n_entities == 0x5a5a5a5au);
        last_request(line, sizeof(line));
        if (strncmp(line, "200 /agg.xml INM=\"", 18) != 0)
            fail_msg("%s: the request was not conditional with a 200 answer: %s", refused[i].file,
                     line);
        assert_cache_is("good.xml");
        assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &c, &reason, NULL), SP_OK);
        assert_int_equal(c.n_entities, 3);
        sp_registry_doc_cleanup(&c);
    }

    /* 5. a new version replaces the cache */
    copy_fixture("good2.xml", agg);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_OK);
    assert_false(nm);
    assert_int_equal(d.n_entities, 2);
    sp_registry_doc_cleanup(&d);
    assert_cache_is("good2.xml");

    /* 6. HTTP errors, the size cap, a refused redirect, a timeout */
    before = log_lines();
    sp_config_free(&cfg);
    cfg = reg_config("status/500/agg.xml", NULL, NULL);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_ERR_IO);
    assert_string_equal(reason, "http_status");
    sp_config_free(&cfg);
    cfg = reg_config("status/404/agg.xml", NULL, NULL);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_ERR_IO);
    assert_string_equal(reason, "http_status");
    sp_config_free(&cfg);
    cfg = reg_config("huge", NULL, NULL);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_ERR_TOO_LARGE);
    assert_string_equal(reason, "too_large");
    sp_config_free(&cfg);
    cfg = reg_config("redirect-http/good.xml", NULL, NULL);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_ERR_IO);
    assert_string_equal(reason, "unreachable");
    sp_config_free(&cfg);
    cfg = reg_config("slow", NULL, "");
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_ERR_IO);
    assert_string_equal(reason, "unreachable");
    assert_true(log_lines() == before + 5); /* no second request to the redirect target */
    assert_cache_is("good2.xml");

    /* 7. a configuration problem: the pin file is missing */
    sp_config_free(&cfg);
    cfg = reg_config("agg.xml", "no-such-pin.pem", NULL);
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_ERR_CONFIG);
    assert_string_equal(reason, "config");
    assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &c, &reason, NULL),
                     SP_ERR_CONFIG);
    assert_true(log_lines() == before + 5); /* refused before any request */
    assert_cache_is("good2.xml");
    sp_config_free(&cfg);
}

static void test_fetch_unreachable(void **state)
{
    char ini[2048], pin[512];
    struct sp_config *cfg = NULL;
    struct sp_registry_doc d;
    const char *reason = "unset";
    struct sp_buf err;
    bool nm;
    int s, port;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);

    (void)state;
    /* a port that was just free: nothing listens there */
    s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    port = ntohs(sa.sin_port);
    close(s);
    fx_path("registry-cert.pem", pin, sizeof(pin));
    snprintf(ini, sizeof(ini),
             "[sp]\ndata_dir = %s\n[registry]\nurl = http://127.0.0.1:%d/agg.xml\n"
             "cert_file = %s\ntimeout = 2\n",
             fx.data, port, pin);
    sp_buf_init(&err, 4096);
    assert_int_equal(load_ini(ini, &cfg, &err), SP_OK);
    assert_int_equal(sp_registry_fetch(cfg, sp_clock_now_ms(), &d, &nm, &reason, &err), SP_ERR_IO);
    assert_string_equal(reason, "unreachable");
    assert_non_null(strstr(sp_buf_str(&err), "127.0.0.1"));
    assert_cache_is("good2.xml");
    /* a restart without network: the cache still loads while it is valid */
    assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &d, &reason, &err), SP_OK);
    assert_int_equal(d.n_entities, 2);
    sp_registry_doc_cleanup(&d);
    /* ... and not once its validUntil has passed */
    assert_int_equal(
        sp_registry_load_cache(cfg, m_int("valid_until_ms", NULL, NULL) + 1, &d, &reason, &err),
        SP_ERR_EXPIRED);
    assert_string_equal(reason, "expired");
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
}

/* A damaged cache is refused on load, and the next download is unconditional. */
static void test_cache_damaged(void **state)
{
    static const char stale_meta[] =
        "{\"url\": \"http://127.0.0.1:1/agg.xml\", \"etag\": \"\\\"x\\\"\", \"fetched_ms\": 1, "
        "\"checked_ms\": 1, \"sha256\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}";
    char agg[512], p[512], line[1024];
    struct sp_config *cfg = reg_config("agg.xml", NULL, NULL);
    struct sp_registry_doc d;
    const char *reason = "unset";
    bool nm = true;
    size_t len;
    char *bad;

    (void)state;
    snprintf(agg, sizeof(agg), "%s/agg.xml", fx.serve);
    copy_fixture("good.xml", agg);
    cache_path(SP_REGISTRY_CACHE_XML, p, sizeof(p));
    bad = slurp("tampered.xml", &len);
    assert_int_equal(sp_file_write_atomic(p, bad, len, 0600), SP_OK);
    free(bad);
    assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &d, &reason, NULL),
                     SP_ERR_SIGNATURE);
    assert_string_equal(reason, "bad_signature");
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_OK);
    assert_false(nm);
    sp_registry_doc_cleanup(&d);
    last_request(line, sizeof(line));
    assert_non_null(strstr(line, "200 /agg.xml INM=- IMS=-"));
    assert_cache_is("good.xml");

    /* a sidecar that does not describe the aggregate is ignored */
    cache_path(SP_REGISTRY_CACHE_META, p, sizeof(p));
    assert_int_equal(sp_file_write_atomic(p, stale_meta, strlen(stale_meta), 0600), SP_OK);
    assert_int_equal(sp_registry_load_cache(cfg, sp_clock_now_ms(), &d, &reason, NULL), SP_OK);
    assert_null(d.source_url);
    assert_true(d.fetched_ms == 0);
    sp_registry_doc_cleanup(&d);
    /* ... and the next download is unconditional again */
    assert_int_equal(fetch(cfg, &d, &nm, &reason), SP_OK);
    assert_false(nm);
    sp_registry_doc_cleanup(&d);
    last_request(line, sizeof(line));
    assert_non_null(strstr(line, "200 /agg.xml INM=- IMS=-"));
    sp_config_free(&cfg);
}

static void test_registry_disabled(void **state)
{
    struct sp_config *cfg = NULL;
    struct sp_registry_doc d;
    const char *reason = "unset";
    struct sp_buf err;
    bool nm;

    (void)state;
    sp_buf_init(&err, 4096);
    assert_int_equal(load_ini("[sp]\ndata_dir = /nonexistent\n", &cfg, &err), SP_OK);
    assert_int_equal(sp_registry_load_cache(cfg, 0, &d, &reason, &err), SP_ERR_CONFIG);
    assert_string_equal(reason, "config");
    assert_int_equal(sp_registry_fetch(cfg, 0, &d, &nm, &reason, &err), SP_ERR_CONFIG);
    assert_string_equal(reason, "config");
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
}

int main(void)
{
    const struct CMUnitTest verify[] = {
        cmocka_unit_test(test_reason_ids),
        cmocka_unit_test(test_verify_good),
        cmocka_unit_test(test_verify_good_variants),
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_verify_empty_and_pinless),
        cmocka_unit_test(test_verify_too_large),
        cmocka_unit_test(test_verify_valid_until),
        cmocka_unit_test(test_verify_name),
        cmocka_unit_test(test_verify_rollover),
        cmocka_unit_test(test_entity_parse),
        cmocka_unit_test(test_entity_parse_xxe),
        cmocka_unit_test(test_entity_standalone_loadable),
        cmocka_unit_test(test_cert_state),
        cmocka_unit_test(test_warn_expiring),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_registry_disabled),
    };
    const struct CMUnitTest download[] = {
        cmocka_unit_test(test_fetch_cycle),
        cmocka_unit_test(test_fetch_unreachable),
        cmocka_unit_test(test_cache_damaged),
    };
    int failed;

    if (fixtures_setup(NULL) != 0) {
        fprintf(stderr, "test_registry: fixture set-up failed\n");
        return 1;
    }
    if (sp_registry_global_init() != SP_OK)
        return 1;
    failed = cmocka_run_group_tests_name("registry_verify", verify, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("registry_download", download, server_setup, server_teardown);
    sp_registry_global_cleanup();
    fixtures_teardown(NULL);
    sp_saml_global_cleanup();
    return failed;
}
