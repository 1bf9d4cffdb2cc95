/*
 * sp_test_env: shared set-up for unit tests that need keys, metadata and an
 * IdP set: a temp directory with a generated SP key/certificate (2048 bits,
 * to keep the tests fast), a config, and a minimal IdP metadata document
 * with its own key. Header-only so each test program stays one file.
 */
#ifndef SP_TEST_ENV_H
#define SP_TEST_ENV_H

#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp/metadata.h"
#include "sp/saml.h"

#define TEST_IDP_ENTITY "https://idp.test.example"
#define TEST_IDP_SSO "https://idp.test.example/sso"

struct test_env {
    char dir[256];
    struct sp_config *cfg;
    struct sp_buf key, cert, md;
    struct sp_buf idp_key, idp_cert;
    struct sp_idp_set *idps;
};

static inline void test_env_path(const struct test_env *e, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", e->dir, name);
}

/* Create everything; aborts the test program on failure (set-up is not under test). */
static inline void test_env_init(struct test_env *e, const char *extra_ini)
{
    char ini[512], idpdir[512], idpmd[1024], path[512], idpkey[512], idpcert[512];
    struct sp_buf err, idpcfg_text, b64;
    struct sp_config *idpcfg = NULL;
    FILE *fp;

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/sp-unit-XXXXXX");
    if (mkdtemp(e->dir) == NULL)
        abort();
    sp_buf_init(&err, 4096);
    test_env_path(e, "idp", idpdir, sizeof(idpdir));
    sp_file_mkdirs(idpdir, 0700);
    test_env_path(e, "sp.ini", ini, sizeof(ini));
    fp = fopen(ini, "w");
    fprintf(fp,
            "[sp]\nentity_id = https://sp.test.example\nbase_url = https://sp.test.example\n"
            "data_dir = %s\nidp_metadata = %s\n%s\n",
            e->dir, idpdir, extra_ini ? extra_ini : "");
    fclose(fp);
    if (sp_config_load(ini, &e->cfg, &err) != SP_OK) {
        fprintf(stderr, "test set-up: %s\n", sp_buf_str(&err));
        abort();
    }
    if (sp_saml_global_init() != SP_OK)
        abort();
    if (sp_cert_generate(e->cfg, 2048, 30, e->cfg->key_file, e->cfg->cert_file, &err) != SP_OK) {
        fprintf(stderr, "test set-up: %s\n", sp_buf_str(&err));
        abort();
    }
    sp_buf_init(&e->key, 65536);
    sp_buf_init(&e->cert, 65536);
    sp_buf_init(&e->md, 1 << 20);
    if (sp_cert_load_pair(e->cfg->key_file, e->cfg->cert_file, &e->key, &e->cert, &err) != SP_OK ||
        sp_metadata_build(e->cfg, sp_buf_str(&e->key), sp_buf_str(&e->cert), &e->md, &err) !=
            SP_OK) {
        fprintf(stderr, "test set-up: %s\n", sp_buf_str(&err));
        abort();
    }

    /* the IdP: its own key, and metadata with Redirect and POST endpoints */
    test_env_path(e, "idp.ini", path, sizeof(path));
    fp = fopen(path, "w");
    fprintf(fp, "[sp]\nentity_id = %s\nbase_url = %s\ndata_dir = %s\n", TEST_IDP_ENTITY,
            TEST_IDP_ENTITY, e->dir);
    fclose(fp);
    if (sp_config_load(path, &idpcfg, &err) != SP_OK)
        abort();
    test_env_path(e, "idp-key.pem", idpkey, sizeof(idpkey));
    test_env_path(e, "idp-cert.pem", idpcert, sizeof(idpcert));
    if (sp_cert_generate(idpcfg, 2048, 30, idpkey, idpcert, &err) != SP_OK)
        abort();
    sp_buf_init(&e->idp_key, 65536);
    sp_buf_init(&e->idp_cert, 65536);
    if (sp_cert_load_pair(idpkey, idpcert, &e->idp_key, &e->idp_cert, &err) != SP_OK)
        abort();
    sp_buf_init(&b64, 65536);
    sp_cert_der_base64(sp_buf_str(&e->idp_cert), &b64);
    sp_buf_init(&idpcfg_text, 1 << 16);
    sp_buf_addf(
        &idpcfg_text,
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s\">"
        "<md:IDPSSODescriptor WantAuthnRequestsSigned=\"true\" "
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
        "%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        "<md:SingleLogoutService "
        "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"%s/slo\"/>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
        "</md:NameIDFormat>"
        "<md:SingleSignOnService "
        "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"%s\"/>"
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
        "Location=\"%s\"/>"
        "</md:IDPSSODescriptor>"
        "<md:Organization><md:OrganizationName xml:lang=\"it\">Test IdP</md:OrganizationName>"
        "<md:OrganizationDisplayName xml:lang=\"it\">Test IdP</md:OrganizationDisplayName>"
        "<md:OrganizationURL xml:lang=\"it\">%s</md:OrganizationURL></md:Organization>"
        "</md:EntityDescriptor>",
        TEST_IDP_ENTITY, sp_buf_str(&b64), TEST_IDP_ENTITY, TEST_IDP_SSO, TEST_IDP_SSO,
        TEST_IDP_ENTITY);
    snprintf(idpmd, sizeof(idpmd), "%s/test-idp.xml", idpdir);
    if (sp_file_write_atomic(idpmd, idpcfg_text.data, idpcfg_text.len, 0644) != SP_OK)
        abort();
    e->idps = sp_idp_set_new(e->cfg, sp_buf_str(&e->md), sp_buf_str(&e->key), sp_buf_str(&e->cert),
                             NULL, 0);
    if (e->idps == NULL)
        abort();
    sp_buf_cleanup(&idpcfg_text);
    sp_buf_cleanup(&b64);
    sp_buf_cleanup(&err);
    sp_config_free(&idpcfg);
}

static inline void test_env_cleanup(struct test_env *e)
{
    char cmd[512];
    sp_idp_set_free(&e->idps);
    sp_config_free(&e->cfg);
    sp_buf_cleanup_secret(&e->key);
    sp_buf_cleanup(&e->cert);
    sp_buf_cleanup(&e->md);
    sp_buf_cleanup_secret(&e->idp_key);
    sp_buf_cleanup(&e->idp_cert);
    if (getenv("KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", e->dir);
    }
}

#endif /* SP_TEST_ENV_H */
