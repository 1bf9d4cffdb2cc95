/*
 * saml: lasso process setup and the shared IdP set.
 *
 * THREAD SAFETY NOTES: sp_saml_global_init() runs once in the main thread
 * before any worker exists: it sets lasso's global flags and patches the
 * AuthnRequest class. A struct sp_idp_set is built completely before it is
 * published and is never mutated afterwards; request threads create their own
 * LassoLogin/LassoLogout objects on its server, which lasso supports.
 */
#include <dirent.h>
#include <glib.h>
#include <lasso/debug.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sp/buf.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/str.h"
#include "saml_priv.h"

#define SP_MAX_METADATA_BYTES (4u << 20)
#define SP_MAX_IDPS 128

static xmlNode *(*orig_authnreq_get_xmlNode)(LassoNode *, gboolean);

void sp_saml_assign(char **field, const char *value)
{
    g_free(*field);
    *field = value ? g_strdup(value) : NULL;
}

/*
 * lasso serialises IsPassive and NameIDPolicy/@AllowCreate as booleans that
 * are always present; SPID wants both absent (AR-06, AR-14). lasso signs after
 * this method runs (POST) or deflates its output and signs the query
 * (Redirect), so removing them here keeps the signatures right.
 */
static xmlNode *spid_authnreq_get_xmlNode(LassoNode *node, gboolean dump)
{
    xmlNode *x = orig_authnreq_get_xmlNode(node, dump);
    const char *purpose;
    xmlChar *force;

    if (x == NULL || dump)
        return x;
    xmlUnsetProp(x, BAD_CAST "IsPassive");
    /* ForceAuthn is optional at SpidL1: omit it rather than send "false" */
    force = xmlGetProp(x, BAD_CAST "ForceAuthn");
    if (force != NULL && xmlStrEqual(force, BAD_CAST "false"))
        xmlUnsetProp(x, BAD_CAST "ForceAuthn");
    xmlFree(force);
    for (xmlNode *c = x->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "NameIDPolicy"))
            xmlUnsetProp(c, BAD_CAST "AllowCreate");
    /* PU-01: samlp:Extensions/spid:Purpose right after saml:Issuer; lasso puts
     * the POST signature after the Issuer later, which keeps schema order */
    purpose = g_object_get_data(G_OBJECT(node), SP_SAML_PURPOSE_KEY);
    if (purpose != NULL) {
        xmlNs *samlp = xmlSearchNsByHref(x->doc, x, BAD_CAST LASSO_SAML2_PROTOCOL_HREF);
        xmlNode *ext = xmlNewNode(samlp, BAD_CAST "Extensions");
        xmlNs *spid = xmlNewNs(ext, BAD_CAST SP_SPID_NS, BAD_CAST "spid");
        xmlNode *issuer = NULL;
        xmlNewTextChild(ext, spid, BAD_CAST "Purpose", BAD_CAST purpose);
        for (xmlNode *c = x->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "Issuer"))
                issuer = c;
        /* the signature template, when lasso already placed it, precedes Extensions */
        if (issuer != NULL && issuer->next != NULL &&
            xmlStrEqual(issuer->next->name, BAD_CAST "Signature"))
            issuer = issuer->next;
        if (issuer != NULL)
            xmlAddNextSibling(issuer, ext);
        else if (x->children != NULL)
            xmlAddPrevSibling(x->children, ext);
        else
            xmlAddChild(x, ext);
    }
    return x;
}

static void saml_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message,
                             gpointer data)
{
    (void)data;
    /* lasso logs CRITICAL on ordinary bad input: never treat it as fatal */
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
        sp_debug("%s: %s", domain ? domain : "glib", message);
}

enum sp_err sp_saml_global_init(void)
{
    LassoNodeClass *k;

    if (getenv("LASSO_FLAG") != NULL) {
        sp_warnx("ignoring LASSO_FLAG from the environment");
        unsetenv("LASSO_FLAG");
    }
    if (lasso_init() != 0) {
        sp_errorx("lasso_init failed");
        return SP_ERR_SAML;
    }
    lasso_set_flag("verify-signature");
    lasso_set_flag("thin-sessions");
    SP_ASSERT(lasso_flag_verify_signature);
    g_log_set_handler("Lasso", G_LOG_LEVEL_MASK, saml_log_handler, NULL);
    g_log_set_handler("libxml2", G_LOG_LEVEL_MASK, saml_log_handler, NULL);
    g_log_set_handler("libxmlsec", G_LOG_LEVEL_MASK, saml_log_handler, NULL);
    k = g_type_class_ref(LASSO_TYPE_SAMLP2_AUTHN_REQUEST); /* reference kept for good */
    orig_authnreq_get_xmlNode = k->get_xmlNode;
    k->get_xmlNode = spid_authnreq_get_xmlNode;
    return SP_OK;
}

void sp_saml_global_cleanup(void)
{
    /* lasso cannot be initialised again after lasso_shutdown(): process exit only */
    lasso_shutdown();
}

/* The text of the first node matching expr in an IdP metadata document, trimmed, or NULL. */
static char *idp_md_text(xmlDoc *doc, const char *expr)
{
    xmlXPathContext *xp = xmlXPathNewContext(doc);
    xmlXPathObject *o = NULL;
    char *text = NULL;

    if (xp == NULL)
        return NULL;
    xmlXPathRegisterNs(xp, BAD_CAST "md", BAD_CAST "urn:oasis:names:tc:SAML:2.0:metadata");
    xmlXPathRegisterNs(xp, BAD_CAST "mdui", BAD_CAST "urn:oasis:names:tc:SAML:metadata:ui");
    o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr > 0) {
        xmlChar *c = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        if (c != NULL) {
            text = sp_str_trim_dup((const char *)c);
            xmlFree(c);
        }
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(xp);
    if (text != NULL && text[0] == '\0') {
        free(text);
        text = NULL;
    }
    return text;
}

/*
 * Display name (OrganizationDisplayName, Italian first, else the entity ID)
 * and logo (mdui:Logo, https only, else NULL) of an IdP metadata document.
 */
static void idp_display(const char *xml, size_t len, const char *entity_id, char **name,
                        char **logo)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);

    *name = *logo = NULL;
    if (doc != NULL) {
        *name = idp_md_text(doc, "//md:Organization/md:OrganizationDisplayName[@xml:lang='it']");
        if (*name == NULL)
            *name = idp_md_text(doc, "//md:Organization/md:OrganizationDisplayName");
        *logo = idp_md_text(doc, "//md:IDPSSODescriptor/md:Extensions/mdui:UIInfo/mdui:Logo");
        if (*logo != NULL && !sp_str_has_prefix(*logo, "https://")) {
            free(*logo);
            *logo = NULL;
        }
        xmlFreeDoc(doc);
    }
    if (*name == NULL)
        *name = sp_xstrdup(entity_id);
}

static char *provider_md(LassoProvider *p, const char *key)
{
    char *v = lasso_provider_get_metadata_one(p, key);
    char *r = v ? sp_xstrdup(v) : NULL;
    g_free(v);
    return r;
}

/* The entityID of a document whose root is an md:EntityDescriptor, or NULL. */
static char *root_entity_id(const char *xml, size_t len)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    char *eid = NULL;

    if (root != NULL && xmlStrEqual(root->name, BAD_CAST "EntityDescriptor")) {
        xmlChar *v = xmlGetProp(root, BAD_CAST "entityID");
        if (v != NULL)
            eid = sp_xstrdup((const char *)v);
        xmlFree(v);
    }
    xmlFreeDoc(doc);
    return eid;
}

/*
 * Add the IdP(s) of one metadata document (an EntityDescriptor, as a file or
 * as extracted from a verified registry aggregate); origin names it in logs
 * and in the registry view. An entity ID already loaded is skipped with a
 * warning: the first source wins (local files are loaded first, TI-01).
 */
static enum sp_err idp_add_buffer(struct sp_idp_set *set, const char *xml, size_t len,
                                  const char *origin, LassoKey *sign_key)
{
    GList *before = NULL;
    enum sp_err rc = SP_OK;
    char *eid0 = root_entity_id(xml, len);
    int lrc;

    /* a duplicate entity ID would silently replace the provider in lasso */
    if (eid0 != NULL && sp_idp_set_has(set, eid0)) {
        sp_warn("IdP %s from %s is already loaded from another source: skipped", eid0, origin);
        goto out;
    }
    before = g_hash_table_get_keys(set->server->providers);
    lrc = lasso_server_add_provider_from_buffer(set->server, LASSO_PROVIDER_ROLE_IDP, xml, NULL,
                                                NULL);
    if (lrc != 0) {
        sp_errorx("IdP metadata %s rejected by lasso: %s", origin, lasso_strerror(lrc));
        rc = SP_ERR_SAML;
        goto out;
    }
    /* find the provider that was just added */
    GList *keys = g_hash_table_get_keys(set->server->providers);
    for (GList *k = keys; k != NULL; k = k->next) {
        const char *eid = k->data;
        if (g_list_find_custom(before, eid, (GCompareFunc)strcmp) != NULL)
            continue;
        if (sp_idp_set_has(set, eid))
            continue;
        if (set->n_idps == SP_MAX_IDPS) {
            sp_errorx("too many IdPs (max %d)", SP_MAX_IDPS);
            rc = SP_ERR_CONFIG;
            break;
        }
        LassoProvider *p = lasso_server_get_provider(set->server, eid);
        struct sp_idp_info *info = &set->idps[set->n_idps++];
        info->entity_id = sp_xstrdup(eid);
        info->origin = sp_xstrdup(origin);
        idp_display(xml, len, eid, &info->display_name, &info->logo);
        info->sso_redirect = provider_md(p, "SingleSignOnService HTTP-Redirect");
        info->sso_post = provider_md(p, "SingleSignOnService HTTP-POST");
        info->slo_redirect = provider_md(p, "SingleLogoutService HTTP-Redirect");
        info->slo_post = provider_md(p, "SingleLogoutService HTTP-POST");
        info->keys = sp_xmlsig_keys_from_metadata(xml, len, eid);
        if (info->keys == NULL) {
            rc = SP_ERR_CONFIG; /* an IdP whose assertions cannot be verified is useless */
            break;
        }
        if (sign_key != NULL)
            lasso_provider_set_server_signing_key(p, sign_key);
        sp_info("loaded IdP %s from %s", eid, origin);
    }
    g_list_free(keys);
out:
    free(eid0);
    g_list_free(before);
    return rc;
}

static enum sp_err idp_add_file(struct sp_idp_set *set, const char *path, LassoKey *sign_key)
{
    struct sp_buf xml;
    enum sp_err rc;

    sp_buf_init(&xml, SP_MAX_METADATA_BYTES);
    rc = sp_file_read(path, &xml);
    if (rc != SP_OK)
        sp_errorx("cannot read IdP metadata %s: %s", path, sp_strerror(rc));
    else
        rc = idp_add_buffer(set, sp_buf_str(&xml), xml.len, path, sign_key);
    sp_buf_cleanup(&xml);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum sp_err idp_add_path(struct sp_idp_set *set, const char *path, LassoKey *key,
                                bool optional)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    enum sp_err rc = SP_OK;

    if (stat(path, &st) != 0) {
        if (optional) { /* the registry provides the IdPs */
            sp_info("no local IdP metadata at %s", path);
            return SP_OK;
        }
        sp_errorx("IdP metadata path %s does not exist", path);
        return SP_ERR_CONFIG;
    }
    if (!S_ISDIR(st.st_mode))
        return idp_add_file(set, path, key);
    d = opendir(path);
    if (d == NULL)
        return SP_ERR_IO;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".xml") != 0 || de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = sp_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = sp_xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp); /* deterministic load order */
    for (size_t i = 0; i < n; i++) {
        struct sp_buf p;
        sp_buf_init(&p, 8192);
        sp_buf_addf(&p, "%s/%s", path, names[i]);
        if (rc == SP_OK)
            rc = idp_add_file(set, sp_buf_str(&p), key);
        sp_buf_cleanup(&p);
        free(names[i]);
    }
    free(names);
    return rc;
}

struct sp_idp_set *sp_idp_set_new(const struct sp_config *cfg, const char *sp_metadata_xml,
                                  const char *key_pem, const char *cert_pem,
                                  const struct sp_idp_source *extra, unsigned n_extra)
{
    struct sp_idp_set *set = sp_xcalloc(1, sizeof(*set));
    LassoKey *key = NULL;
    enum sp_err rc = SP_OK;
    char *paths = NULL, *save = NULL, *cert_copy = NULL;

    set->refs = 1;
    set->idps = sp_xcalloc(SP_MAX_IDPS, sizeof(*set->idps));
    set->server = lasso_server_new_from_buffers(sp_metadata_xml, key_pem, NULL, cert_pem);
    if (set->server == NULL) {
        sp_errorx("lasso could not load our SP metadata, key and certificate");
        rc = SP_ERR_SAML;
        goto out;
    }
    set->server->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
    set->signer = sp_signer_new(key_pem);
    if (set->signer == NULL) {
        rc = SP_ERR_CRYPTO;
        goto out;
    }
    /* a preloaded key avoids re-parsing our PEM for every signed message */
    cert_copy = g_strdup(cert_pem);
    key = lasso_key_new_for_signature_from_memory(key_pem, strlen(key_pem), NULL,
                                                  LASSO_SIGNATURE_METHOD_RSA_SHA256, cert_copy);
    paths = sp_xstrdup(cfg->idp_metadata);
    for (char *tok = strtok_r(paths, " \t,", &save); tok != NULL && rc == SP_OK;
         tok = strtok_r(NULL, " \t,", &save))
        rc = idp_add_path(set, tok, key, n_extra > 0);
    for (unsigned i = 0; i < n_extra && rc == SP_OK; i++)
        rc = idp_add_buffer(set, extra[i].xml, extra[i].len, extra[i].origin, key);
    if (rc == SP_OK && set->n_idps == 0) {
        sp_errorx("no IdP metadata found in %s%s", cfg->idp_metadata,
                  n_extra > 0 ? " nor in the registry" : "");
        rc = SP_ERR_CONFIG;
    }
out:
    free(paths);
    g_free(cert_copy);
    if (key != NULL)
        g_object_unref(key);
    if (rc != SP_OK)
        sp_idp_set_free(&set);
    return set;
}

struct sp_idp_set *sp_idp_set_ref(struct sp_idp_set *set)
{
    __atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
    return set;
}

void sp_idp_set_free(struct sp_idp_set **setp)
{
    struct sp_idp_set *set = setp ? *setp : NULL;
    if (set == NULL)
        return;
    *setp = NULL;
    if (__atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (unsigned i = 0; i < set->n_idps; i++) {
        struct sp_idp_info *p = &set->idps[i];
        free(p->entity_id);
        free(p->display_name);
        free(p->logo);
        free(p->origin);
        free(p->sso_redirect);
        free(p->sso_post);
        free(p->slo_redirect);
        free(p->slo_post);
        sp_xmlsig_keys_free(&p->keys);
    }
    free(set->idps);
    sp_signer_free(&set->signer);
    if (set->server != NULL)
        g_object_unref(set->server);
    free(set);
    *setp = NULL;
}

unsigned sp_idp_set_count(const struct sp_idp_set *set)
{
    return set->n_idps;
}

const char *sp_idp_set_entity(const struct sp_idp_set *set, unsigned i)
{
    return i < set->n_idps ? set->idps[i].entity_id : NULL;
}

const char *sp_idp_set_display_name(const struct sp_idp_set *set, unsigned i)
{
    return i < set->n_idps ? set->idps[i].display_name : NULL;
}

const char *sp_idp_set_origin(const struct sp_idp_set *set, unsigned i)
{
    return i < set->n_idps ? set->idps[i].origin : NULL;
}

const char *sp_idp_set_logo(const struct sp_idp_set *set, unsigned i)
{
    return i < set->n_idps ? set->idps[i].logo : NULL;
}

const struct sp_idp_info *sp_idp_set_find(const struct sp_idp_set *set, const char *entity_id)
{
    if (entity_id == NULL)
        return NULL;
    for (unsigned i = 0; i < set->n_idps; i++)
        if (strcmp(set->idps[i].entity_id, entity_id) == 0)
            return &set->idps[i];
    return NULL;
}

const struct sp_xmlsig_keys *sp_idp_set_keys(const struct sp_idp_set *set, const char *entity_id)
{
    const struct sp_idp_info *idp = sp_idp_set_find(set, entity_id);
    return idp ? idp->keys : NULL;
}

bool sp_idp_set_has(const struct sp_idp_set *set, const char *entity_id)
{
    return sp_idp_set_find(set, entity_id) != NULL;
}
