/*
 * devidp: `spid-sp dev-idp`, the built-in SPID test IdP. This file holds the
 * command line, the startup sequence (key and certificate, our IdP metadata,
 * the IdP-role LassoServer, the trusted SP metadata) and the shutdown; the
 * HTTP pages are in devidp_http.c and the SAML work in devidp_saml.c.
 *
 * THREAD SAFETY NOTES: everything in struct devidp is built in the main
 * thread before the `ready` flag is raised and is read-only afterwards; the
 * HTTP worker threads answer 503 until then. The LassoServer is shared
 * read-only; each request makes its own LassoLogin/LassoLogout.
 */
#define _DEFAULT_SOURCE
#include <lasso/lasso.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/config.h"
#include "sp/devidp.h"
#include "sp/file.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/saml_logout.h"
#include "sp/str.h"
#include "sp/xmlsig.h"
#include "devidp_priv.h"

#define DEVIDP_DEFAULT_LISTEN "127.0.0.1"
#define DEVIDP_DEFAULT_PORT 8081
#define DEVIDP_DEFAULT_DATA_DIR "./dev-idp"
#define DEVIDP_KEY_BITS 2048
#define DEVIDP_CERT_DAYS 3650
#define DEVIDP_THREADS 2
#define DEVIDP_MAX_METADATA_BYTES (4u << 20)
#define DEVIDP_DISPLAY_NAME "SPID Test IdP (spid-sp)"

struct devidp_opts {
    const char *listen;
    unsigned port;
    const char *base_url;
    const char *data_dir;
    const char *sp_metadata[DEVIDP_MAX_SPS];
    unsigned n_sp_metadata;
    const char *metadata_out;
    const char *ready_file;
    const char *log_level;
};

static void devidp_usage(FILE *fp)
{
    fprintf(fp,
            "usage: spid-sp dev-idp [options]\n"
            "\n"
            "A SPID test identity provider for development and tests. Never expose it.\n"
            "\n"
            "  --listen ADDR         IPv4 address to listen on (default %s)\n"
            "  --port N              port (default %d; 0 = any free port, printed)\n"
            "  --base-url URL        public URL and entityID (default http://ADDR:PORT)\n"
            "  --data-dir DIR        where idp-key.pem and idp-cert.pem live; generated on\n"
            "                        first start (default %s)\n"
            "  --sp-metadata FILE    SP metadata to trust; repeatable, or a list\n"
            "                        separated by commas or spaces\n"
            "  --metadata-out FILE   write our IdP metadata there (also at GET /metadata)\n"
            "  --ready-file FILE     write the port number there once listening\n"
            "  --log-level LEVEL     debug, info, warn or error (default info)\n",
            DEVIDP_DEFAULT_LISTEN, DEVIDP_DEFAULT_PORT, DEVIDP_DEFAULT_DATA_DIR);
}

/* --name value or --name=value; *i advances past what was consumed. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    *matched = false;
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=') {
        *matched = true;
        return a + n + 1;
    }
    if (a[n] != '\0')
        return NULL;
    *matched = true;
    if (*i + 1 >= argc)
        return NULL;
    (*i)++;
    return argv[*i];
}

static int devidp_parse_args(int argc, char **argv, struct devidp_opts *o)
{
    static const char *const names[] = {"--listen",     "--port",        "--base-url",
                                        "--data-dir",   "--sp-metadata", "--metadata-out",
                                        "--ready-file", "--log-level"};
    uint64_t port;

    memset(o, 0, sizeof(*o));
    o->listen = DEVIDP_DEFAULT_LISTEN;
    o->port = DEVIDP_DEFAULT_PORT;
    o->data_dir = DEVIDP_DEFAULT_DATA_DIR;
    o->log_level = "info";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        size_t which;
        bool matched = false;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            devidp_usage(stdout);
            return -1;
        }
        for (which = 0; which < sizeof(names) / sizeof(names[0]); which++) {
            v = opt_value(argc, argv, &i, names[which], &matched);
            if (matched)
                break;
        }
        if (!matched) {
            fprintf(stderr, "spid-sp dev-idp: unknown option \"%s\"\n", argv[i]);
            return 2;
        }
        if (v == NULL || v[0] == '\0') {
            fprintf(stderr, "spid-sp dev-idp: %s needs a value\n", names[which]);
            return 2;
        }
        switch (which) {
        case 0:
            o->listen = v;
            break;
        case 1:
            if (sp_parse_uint(v, 0, 65535, &port) != SP_OK) {
                fprintf(stderr, "spid-sp dev-idp: --port \"%s\" is not a port number\n", v);
                return 2;
            }
            o->port = (unsigned)port;
            break;
        case 2:
            o->base_url = v;
            break;
        case 3:
            o->data_dir = v;
            break;
        case 4:
            if (o->n_sp_metadata == DEVIDP_MAX_SPS) {
                fprintf(stderr, "spid-sp dev-idp: at most %d --sp-metadata\n", DEVIDP_MAX_SPS);
                return 2;
            }
            o->sp_metadata[o->n_sp_metadata++] = v;
            break;
        case 5:
            o->metadata_out = v;
            break;
        case 6:
            o->ready_file = v;
            break;
        default:
            o->log_level = v;
            break;
        }
    }
    if (sp_log_level_parse(o->log_level) < 0) {
        fprintf(stderr, "spid-sp dev-idp: unknown log level \"%s\"\n", o->log_level);
        return 2;
    }
    if (o->n_sp_metadata == 0) {
        fprintf(stderr, "spid-sp dev-idp: at least one --sp-metadata FILE is needed\n");
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Key, certificate and our metadata                                        */
/* ------------------------------------------------------------------------ */

static char *path_join(const char *dir, const char *name)
{
    struct sp_buf b;
    sp_buf_init(&b, 8192);
    if (sp_buf_addf(&b, "%s/%s", dir, name) != SP_OK) {
        sp_buf_cleanup(&b);
        return NULL;
    }
    return sp_buf_detach(&b);
}

/*
 * Load data_dir/idp-key.pem and idp-cert.pem, generating both on first start
 * (RSA 2048, through the same generator as the SP's own certificate).
 */
static enum sp_err devidp_keys(const struct devidp *idp, const char *data_dir,
                               struct sp_buf *key_pem, struct sp_buf *cert_pem, struct sp_buf *err)
{
    char *key_path = path_join(data_dir, "idp-key.pem");
    char *cert_path = path_join(data_dir, "idp-cert.pem");
    struct sp_config cfg;
    enum sp_err rc;

    if (key_path == NULL || cert_path == NULL) {
        sp_buf_adds(err, "data directory path too long");
        rc = SP_ERR_TOO_LARGE;
        goto out;
    }
    rc = sp_file_mkdirs(data_dir, 0700);
    if (rc != SP_OK) {
        sp_buf_addf(err, "cannot create %s: %s", data_dir, sp_strerror(rc));
        goto out;
    }
    if (sp_file_exists(key_path) != SP_OK || sp_file_exists(cert_path) != SP_OK) {
        memset(&cfg, 0, sizeof(cfg));
        cfg.entity_id = idp->entity_id;
        cfg.org_name = DEVIDP_DISPLAY_NAME;
        cfg.org_display_name = DEVIDP_DISPLAY_NAME;
        cfg.org_locality = "Roma";
        cfg.org_country = "IT";
        cfg.org_kind = SP_ORG_PUBLIC;
        cfg.ipa_code = "spidsp_devidp";
        rc = sp_cert_generate(&cfg, DEVIDP_KEY_BITS, DEVIDP_CERT_DAYS, key_path, cert_path, err);
        if (rc != SP_OK)
            goto out;
        sp_info("dev-idp: generated %s and %s", key_path, cert_path);
    }
    rc = sp_cert_load_pair(key_path, cert_path, key_pem, cert_pem, err);
out:
    free(key_path);
    free(cert_path);
    return rc;
}

static enum sp_err devidp_build_metadata(struct devidp *idp, const char *cert_pem,
                                         struct sp_buf *err)
{
    static const char *const bindings[] = {"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                                           "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"};
    struct sp_buf md, der, eid, sso, slo;
    enum sp_err rc;

    sp_buf_init(&md, 64 * 1024);
    sp_buf_init(&der, 16 * 1024);
    sp_buf_init(&eid, 4096);
    sp_buf_init(&sso, 4096);
    sp_buf_init(&slo, 4096);
    rc = sp_cert_der_base64(cert_pem, &der);
    if (rc != SP_OK) {
        sp_buf_adds(err, "cannot read our certificate");
        goto out;
    }
    sp_html_escape(&eid, idp->entity_id);
    sp_html_escape(&sso, idp->sso_url);
    sp_html_escape(&slo, idp->slo_url);
    sp_buf_addf(&md,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s\">\n"
                "  <md:IDPSSODescriptor "
                "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                "WantAuthnRequestsSigned=\"true\">\n"
                "    <md:KeyDescriptor use=\"signing\">\n"
                "      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate>"
                "</ds:X509Data></ds:KeyInfo>\n"
                "    </md:KeyDescriptor>\n",
                sp_buf_str(&eid), sp_buf_str(&der));
    for (size_t i = 0; i < 2; i++)
        sp_buf_addf(&md, "    <md:SingleLogoutService Binding=\"%s\" Location=\"%s\"/>\n",
                    bindings[i], sp_buf_str(&slo));
    sp_buf_adds(&md, "    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
                     "</md:NameIDFormat>\n");
    for (size_t i = 0; i < 2; i++)
        sp_buf_addf(&md, "    <md:SingleSignOnService Binding=\"%s\" Location=\"%s\"/>\n",
                    bindings[i], sp_buf_str(&sso));
    rc = sp_buf_addf(&md,
                     "  </md:IDPSSODescriptor>\n"
                     "  <md:Organization>\n"
                     "    <md:OrganizationName xml:lang=\"it\">%s</md:OrganizationName>\n"
                     "    <md:OrganizationDisplayName xml:lang=\"it\">%s"
                     "</md:OrganizationDisplayName>\n"
                     "    <md:OrganizationURL xml:lang=\"it\">%s/</md:OrganizationURL>\n"
                     "  </md:Organization>\n"
                     "</md:EntityDescriptor>\n",
                     DEVIDP_DISPLAY_NAME, DEVIDP_DISPLAY_NAME, sp_buf_str(&eid));
    if (rc != SP_OK) {
        sp_buf_adds(err, "IdP metadata too large");
        goto out;
    }
    idp->metadata = sp_buf_detach(&md);
out:
    sp_buf_cleanup(&md);
    sp_buf_cleanup(&der);
    sp_buf_cleanup(&eid);
    sp_buf_cleanup(&sso);
    sp_buf_cleanup(&slo);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Trusted SP metadata                                                      */
/* ------------------------------------------------------------------------ */

const struct devidp_sp *devidp_sp_find(const struct devidp *idp, const char *entity_id)
{
    for (unsigned i = 0; entity_id != NULL && i < idp->nsps; i++)
        if (strcmp(idp->sps[i].entity_id, entity_id) == 0)
            return &idp->sps[i];
    return NULL;
}

static char *xml_prop(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    char *r = v ? sp_str_trim_dup((const char *)v) : NULL;
    xmlFree(v);
    return r;
}

/* The first node of expr, or NULL. */
static xmlNode *xp_first(xmlXPathContext *xp, const char *expr)
{
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    xmlNode *n = NULL;

    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr > 0)
        n = o->nodesetval->nodeTab[0];
    xmlXPathFreeObject(o);
    return n;
}

/*
 * For single logout: the SP's SingleLogoutService Location per binding and
 * the key of its signing certificate (its LogoutResponses are checked with
 * it). Missing pieces only disable IdP-initiated logout towards that SP.
 */
static void sp_md_logout(xmlXPathContext *xp, struct devidp_sp *sp)
{
    static const char slo[] = "/md:EntityDescriptor/md:SPSSODescriptor/md:SingleLogoutService"
                              "[@Binding='urn:oasis:names:tc:SAML:2.0:bindings:%s']";
    char expr[256];
    xmlNode *n;
    xmlChar *cert;

    snprintf(expr, sizeof(expr), slo, "HTTP-Redirect");
    n = xp_first(xp, expr);
    sp->slo_redirect = n ? xml_prop(n, "Location") : NULL;
    snprintf(expr, sizeof(expr), slo, "HTTP-POST");
    n = xp_first(xp, expr);
    sp->slo_post = n ? xml_prop(n, "Location") : NULL;
    n = xp_first(xp, "/md:EntityDescriptor/md:SPSSODescriptor/md:KeyDescriptor"
                     "[not(@use) or @use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate");
    cert = n ? xmlNodeGetContent(n) : NULL;
    sp->keys = cert ? sp_xmlsig_keys_from_cert_b64((const char *)cert) : NULL;
    xmlFree(cert);
    if (sp->keys == NULL)
        sp_warnx("dev-idp: SP %s: no usable signing certificate, its LogoutResponses cannot be "
                 "verified",
                 sp->entity_id);
}

/* entityID and the AttributeConsumingService table of one SP metadata document. */
static enum sp_err sp_md_parse(const char *xml, size_t len, struct devidp_sp *sp,
                               struct sp_buf *err)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlXPathContext *xp = NULL;
    xmlXPathObject *svcs = NULL;
    enum sp_err rc = SP_ERR_INVALID;
    xmlNode *root;

    if (doc == NULL || doc->intSubset != NULL || (root = xmlDocGetRootElement(doc)) == NULL ||
        !xmlStrEqual(root->name, BAD_CAST "EntityDescriptor")) {
        sp_buf_adds(err, "not an md:EntityDescriptor document");
        goto out;
    }
    sp->entity_id = xml_prop(root, "entityID");
    if (sp->entity_id == NULL || sp->entity_id[0] == '\0') {
        sp_buf_adds(err, "no entityID");
        goto out;
    }
    xp = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xp, BAD_CAST "md", BAD_CAST "urn:oasis:names:tc:SAML:2.0:metadata");
    xmlXPathRegisterNs(xp, BAD_CAST "ds", BAD_CAST "http://www.w3.org/2000/09/xmldsig#");
    sp_md_logout(xp, sp);
    svcs = xmlXPathEvalExpression(BAD_CAST "/md:EntityDescriptor/md:SPSSODescriptor/"
                                           "md:AttributeConsumingService",
                                  xp);
    for (int i = 0; svcs != NULL && svcs->nodesetval != NULL && i < svcs->nodesetval->nodeNr; i++) {
        xmlNode *s = svcs->nodesetval->nodeTab[i];
        struct devidp_service *svc;
        char *idx = xml_prop(s, "index");
        uint64_t n;

        if (idx == NULL || sp_parse_uint(idx, 0, 65535, &n) != SP_OK ||
            sp->nservices == DEVIDP_MAX_SERVICES) {
            free(idx);
            continue;
        }
        free(idx);
        svc = &sp->services[sp->nservices++];
        svc->index = (unsigned)n;
        for (xmlNode *c = s->children; c != NULL; c = c->next) {
            char *name;
            if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, BAD_CAST "RequestedAttribute"))
                continue;
            name = xml_prop(c, "Name");
            if (name != NULL && svc->nattrs < DEVIDP_MAX_REQ_ATTRS)
                svc->attrs[svc->nattrs++] = name;
            else
                free(name);
        }
    }
    rc = SP_OK;
out:
    xmlXPathFreeObject(svcs);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
    return rc;
}

/*
 * Trust one SP metadata file. signing_key (may be NULL) is our preloaded key:
 * lasso then signs for this SP without re-parsing our PEM on every message,
 * which is faster and avoids an xmlsec leak per message.
 */
static enum sp_err devidp_add_sp(struct devidp *idp, const char *path, LassoKey *signing_key,
                                 struct sp_buf *err)
{
    struct sp_buf xml;
    struct devidp_sp *sp;
    enum sp_err rc;
    int lrc;

    if (idp->nsps == DEVIDP_MAX_SPS) {
        sp_buf_addf(err, "too many SP metadata files (max %d)", DEVIDP_MAX_SPS);
        return SP_ERR_CONFIG;
    }
    sp_buf_init(&xml, DEVIDP_MAX_METADATA_BYTES);
    rc = sp_file_read(path, &xml);
    if (rc != SP_OK) {
        sp_buf_addf(err, "cannot read SP metadata %s: %s", path, sp_strerror(rc));
        goto out;
    }
    sp = &idp->sps[idp->nsps];
    rc = sp_md_parse(sp_buf_str(&xml), xml.len, sp, err);
    if (rc != SP_OK) {
        sp_buf_addf(err, " (%s)", path);
        goto out;
    }
    idp->nsps++; /* owned by idp from here on, even on failure below */
    lrc = lasso_server_add_provider_from_buffer(idp->server, LASSO_PROVIDER_ROLE_SP,
                                                sp_buf_str(&xml), NULL, NULL);
    if (lrc != 0) {
        sp_buf_addf(err, "SP metadata %s rejected by lasso: %s", path, lasso_strerror(lrc));
        rc = SP_ERR_SAML;
        goto out;
    }
    if (signing_key != NULL)
        lasso_provider_set_server_signing_key(lasso_server_get_provider(idp->server, sp->entity_id),
                                              signing_key);
    sp_info("dev-idp: trusting SP %s (%s, %u attribute services)", sp->entity_id, path,
            sp->nservices);
out:
    sp_buf_cleanup(&xml);
    return rc;
}

static enum sp_err devidp_add_sps(struct devidp *idp, const struct devidp_opts *o,
                                  const char *key_pem, const char *cert_pem, struct sp_buf *err)
{
    enum sp_err rc = SP_OK;
    char *cert_copy = g_strdup(cert_pem);
    LassoKey *key = lasso_key_new_for_signature_from_memory(
        key_pem, strlen(key_pem), NULL, LASSO_SIGNATURE_METHOD_RSA_SHA256, cert_copy);

    for (unsigned i = 0; i < o->n_sp_metadata && rc == SP_OK; i++) {
        char *list = sp_xstrdup(o->sp_metadata[i]), *save = NULL;
        for (char *tok = strtok_r(list, ", \t", &save); tok != NULL && rc == SP_OK;
             tok = strtok_r(NULL, ", \t", &save))
            rc = devidp_add_sp(idp, tok, key, err);
        free(list);
    }
    g_free(cert_copy);
    if (key != NULL)
        g_object_unref(key);
    return rc;
}

static void devidp_free(struct devidp *idp)
{
    for (unsigned i = 0; i < idp->nsps; i++) {
        free(idp->sps[i].entity_id);
        free(idp->sps[i].slo_redirect);
        free(idp->sps[i].slo_post);
        sp_xmlsig_keys_free(&idp->sps[i].keys);
        for (unsigned j = 0; j < idp->sps[i].nservices; j++)
            for (unsigned k = 0; k < idp->sps[i].services[j].nattrs; k++)
                free(idp->sps[i].services[j].attrs[k]);
    }
    if (idp->server != NULL)
        g_object_unref(idp->server);
    sp_logout_signer_free(&idp->signer);
    devidp_state_free(&idp->state);
    free(idp->entity_id);
    free(idp->sso_url);
    free(idp->slo_url);
    free(idp->metadata);
    memset(idp, 0, sizeof(*idp));
}

/* ------------------------------------------------------------------------ */
/* Startup                                                                  */
/* ------------------------------------------------------------------------ */

static enum sp_err devidp_setup(struct devidp *idp, const struct devidp_opts *o, unsigned port,
                                struct sp_buf *err)
{
    struct sp_buf key_pem, cert_pem, url;
    enum sp_err rc;

    sp_buf_init(&key_pem, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&cert_pem, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&url, 4096);
    if (o->base_url != NULL)
        rc = sp_buf_adds(&url, o->base_url);
    else
        rc = sp_buf_addf(&url, "http://%s:%u", o->listen, port);
    while (rc == SP_OK && url.len > 0 && url.data[url.len - 1] == '/')
        url.data[--url.len] = '\0';
    if (rc != SP_OK || url.len == 0 ||
        !(sp_str_has_prefix(sp_buf_str(&url), "http://") ||
          sp_str_has_prefix(sp_buf_str(&url), "https://"))) {
        sp_buf_addf(err, "--base-url must be an http:// or https:// URL");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    idp->entity_id = sp_buf_detach(&url);
    idp->sso_url = path_join(idp->entity_id, "sso");
    idp->slo_url = path_join(idp->entity_id, "slo");
    if (idp->sso_url == NULL || idp->slo_url == NULL) {
        sp_buf_adds(err, "--base-url too long");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = devidp_keys(idp, o->data_dir, &key_pem, &cert_pem, err);
    if (rc == SP_OK)
        rc = devidp_build_metadata(idp, sp_buf_str(&cert_pem), err);
    if (rc != SP_OK)
        goto out;
    idp->server = lasso_server_new_from_buffers(idp->metadata, sp_buf_str(&key_pem), NULL,
                                                sp_buf_str(&cert_pem));
    if (idp->server == NULL) {
        sp_buf_adds(err, "lasso could not load the IdP metadata, key and certificate");
        rc = SP_ERR_SAML;
        goto out;
    }
    idp->server->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
    idp->signer = sp_logout_signer_new(sp_buf_str(&key_pem), sp_buf_str(&cert_pem));
    idp->state = devidp_state_new();
    if (idp->signer == NULL) {
        sp_buf_adds(err, "cannot load our key for signing logout messages");
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    rc = devidp_add_sps(idp, o, sp_buf_str(&key_pem), sp_buf_str(&cert_pem), err);
    if (rc == SP_OK && o->metadata_out != NULL) {
        rc = sp_file_write_atomic(o->metadata_out, idp->metadata, strlen(idp->metadata), 0644);
        if (rc != SP_OK)
            sp_buf_addf(err, "cannot write %s: %s", o->metadata_out, sp_strerror(rc));
    }
out:
    sp_buf_cleanup_secret(&key_pem);
    sp_buf_cleanup(&cert_pem);
    sp_buf_cleanup(&url);
    return rc;
}

static enum sp_err devidp_write_ready(const char *path, unsigned port, struct sp_buf *err)
{
    char text[16];
    enum sp_err rc;
    int n = snprintf(text, sizeof(text), "%u\n", port);

    rc = sp_file_write_atomic(path, text, (size_t)n, 0644);
    if (rc != SP_OK)
        sp_buf_addf(err, "cannot write %s: %s", path, sp_strerror(rc));
    return rc;
}

int sp_devidp_main(int argc, char **argv)
{
    struct devidp_opts o;
    struct devidp idp;
    struct devidp_app app;
    struct sp_http *http = NULL;
    struct sp_buf err;
    int status = 1;
    unsigned port;

    memset(&idp, 0, sizeof(idp));
    memset(&app, 0, sizeof(app));
    sp_buf_init(&err, 4096);
    switch (devidp_parse_args(argc, argv, &o)) {
    case 0:
        break;
    case -1:
        status = 0;
        goto out;
    default:
        status = 2;
        goto out;
    }
    sp_log_set_level((enum sp_log_level)sp_log_level_parse(o.log_level));
    app.idp = &idp;
    atomic_store(&app.ready, false);
    /* listen first: with --port 0 the base URL depends on the port we got */
    http = sp_http_start(o.listen, o.port, DEVIDP_THREADS, devidp_http_handler, &app);
    if (http == NULL) {
        fprintf(stderr, "spid-sp dev-idp: cannot listen on %s:%u\n", o.listen, o.port);
        goto out;
    }
    port = sp_http_port(http);
    if (devidp_setup(&idp, &o, port, &err) != SP_OK) {
        fprintf(stderr, "spid-sp dev-idp: %s\n", sp_buf_str(&err));
        goto out;
    }
    atomic_store(&app.ready, true);
    if (o.ready_file != NULL && devidp_write_ready(o.ready_file, port, &err) != SP_OK) {
        fprintf(stderr, "spid-sp dev-idp: %s\n", sp_buf_str(&err));
        goto out;
    }
    printf("dev-idp listening on %s:%u, entityID %s\n", o.listen, port, idp.entity_id);
    fflush(stdout);
    sp_info("dev-idp: listening on %s:%u, entityID %s", o.listen, port, idp.entity_id);
    sp_http_wait_for_signal();
    status = 0;
out:
    sp_http_stop(&http);
    devidp_free(&idp);
    sp_buf_cleanup(&err);
    return status;
}
