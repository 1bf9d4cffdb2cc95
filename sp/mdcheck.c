/*
 * mdcheck: the driver of the metadata checker: bounded, DTD-free parsing,
 * role and profile detection, schema validation (the OASIS metadata schema
 * from Debian's opensaml-schemas, the SPID extension schemas embedded from
 * templates/), and the helpers the rule files share: element lookups,
 * element paths for findings, URL tests.
 *
 * Invariant: once a document parses, every check runs and reports on its
 * own; no check depends on another having passed.
 *
 * THREAD SAFETY NOTES: the three compiled schemas are cached in statics on
 * first use, and compiling the OASIS schema swaps libxml2's process-wide
 * external entity loader for a moment. Both are fine for the CLI, which runs
 * one check at a time on the main thread; a threaded caller would need a
 * lock around sp_mdcheck_run().
 */
#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sp/assets.h"
#include "sp/buf.h"
#include "sp/mdcheck.h"
#include "sp/mem.h"
#include "sp/report.h"
#include "mdcheck_priv.h"

#define MDC_OASIS_SCHEMA "/usr/share/xml/opensaml/saml-schema-metadata-2.0.xsd"
#define MDC_MAX_SCHEMA_FINDINGS 20 /* per schema: the first errors are the useful ones */
#define MDC_MAX_PATH 1024

/* ------------------------------------------------------------------------ */
/* Elements and paths                                                       */
/* ------------------------------------------------------------------------ */

bool mdc_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST ns) && xmlStrEqual(n->name, BAD_CAST name);
}

xmlNode *mdc_child(const xmlNode *parent, const char *ns, const char *name, const xmlNode *prev)
{
    xmlNode *c;

    if (parent == NULL)
        return NULL;
    for (c = prev ? prev->next : parent->children; c != NULL; c = c->next)
        if (mdc_is(c, ns, name))
            return c;
    return NULL;
}

unsigned mdc_count(const xmlNode *parent, const char *ns, const char *name)
{
    unsigned n = 0;
    for (xmlNode *c = mdc_child(parent, ns, name, NULL); c != NULL;
         c = mdc_child(parent, ns, name, c))
        n++;
    return n;
}

char *mdc_attr(const xmlNode *n, const char *name)
{
    return n ? (char *)xmlGetNoNsProp(n, BAD_CAST name) : NULL;
}

bool mdc_attr_is(const xmlNode *n, const char *name, const char *value)
{
    char *v = mdc_attr(n, name);
    bool eq = v != NULL && strcmp(v, value) == 0;
    xmlFree(v);
    return eq;
}

char *mdc_text(const xmlNode *n)
{
    xmlChar *c = n ? xmlNodeGetContent(n) : NULL;
    const char *s = c ? (const char *)c : "";
    size_t len;
    char *r;

    while (*s != '\0' && isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    r = sp_xstrndup(s, len);
    xmlFree(c);
    return r;
}

static const char *mdc_prefix(const xmlNode *n)
{
    static const struct {
        const char *ns, *prefix;
    } known[] = {{MDC_NS_MD, "md"}, {MDC_NS_DS, "ds"}, {MDC_NS_SPID, "spid"}, {MDC_NS_FPA, "fpa"}};

    if (n->ns == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (xmlStrEqual(n->ns->href, BAD_CAST known[i].ns))
            return known[i].prefix;
    return n->ns->prefix ? (const char *)n->ns->prefix : NULL;
}

static bool mdc_same_name(const xmlNode *a, const xmlNode *b)
{
    if (a->type != XML_ELEMENT_NODE || b->type != XML_ELEMENT_NODE)
        return false;
    if (!xmlStrEqual(a->name, b->name))
        return false;
    if (a->ns == NULL || b->ns == NULL)
        return a->ns == b->ns;
    return xmlStrEqual(a->ns->href, b->ns->href);
}

/* One step "/md:Name[k]" of the path; [k] only when the name repeats. */
static void mdc_path_step(struct sp_buf *b, const xmlNode *n)
{
    unsigned pos = 1, total = 0;
    const char *prefix = mdc_prefix(n);

    if (n->parent != NULL && n->parent->type == XML_ELEMENT_NODE) {
        for (const xmlNode *c = n->parent->children; c != NULL; c = c->next)
            if (mdc_same_name(c, n)) {
                total++;
                if (c == n)
                    pos = total;
            }
    }
    sp_buf_addf(b, "/%s%s%s", prefix ? prefix : "", prefix ? ":" : "", (const char *)n->name);
    if (total > 1)
        sp_buf_addf(b, "[%u]", pos);
}

static void mdc_path(const xmlNode *n, struct sp_buf *out)
{
    const xmlNode *chain[64];
    size_t depth = 0;

    for (; n != NULL && n->type == XML_ELEMENT_NODE && depth < 64; n = n->parent)
        chain[depth++] = n;
    if (depth == 0) {
        sp_buf_adds(out, "/");
        return;
    }
    while (depth > 0)
        mdc_path_step(out, chain[--depth]);
}

void mdc_fail(struct mdc *m, const char *id, enum sp_severity sev, const xmlNode *n,
              const char *fmt, ...)
{
    struct sp_buf where, msg;
    va_list ap;

    sp_buf_init(&where, MDC_MAX_PATH);
    sp_buf_init(&msg, 1024);
    mdc_path(n, &where);
    va_start(ap, fmt);
    if (sp_buf_vaddf(&msg, fmt, ap) != SP_OK)
        sp_buf_adds(&msg, "(message too long)");
    va_end(ap);
    sp_report_add(m->r, id, sev, sp_buf_str(&where), "%s", sp_buf_str(&msg));
    sp_buf_cleanup(&where);
    sp_buf_cleanup(&msg);
}

void mdc_ran(struct mdc *m)
{
    sp_report_ran(m->r);
}

/* ------------------------------------------------------------------------ */
/* URLs                                                                     */
/* ------------------------------------------------------------------------ */

/* Host part after "scheme://": non-empty, no whitespace anywhere. */
static bool mdc_url_host_ok(const char *rest)
{
    if (*rest == '\0' || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#')
        return false;
    for (const char *p = rest; *p != '\0'; p++)
        if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
            return false;
    return true;
}

bool mdc_url_is_http(const char *s)
{
    if (s == NULL)
        return false;
    if (strncmp(s, "https://", 8) == 0)
        return mdc_url_host_ok(s + 8);
    if (strncmp(s, "http://", 7) == 0)
        return mdc_url_host_ok(s + 7);
    return false;
}

bool mdc_url_is_prod(const char *s)
{
    const char *host, *end;

    if (s == NULL || strncmp(s, "https://", 8) != 0 || !mdc_url_host_ok(s + 8))
        return false;
    host = s + 8;
    end = host + strcspn(host, "/?#");
    /* an explicit port: a ':' in the authority after any userinfo or IPv6 bracket */
    for (const char *p = end; p > host; p--)
        if (p[-1] == ']' || p[-1] == '@')
            break;
        else if (p[-1] == ':')
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Schemas                                                                  */
/* ------------------------------------------------------------------------ */

static xmlSchema *oasis_schema, *spid_schema, *fpa_schema;
static bool oasis_tried;

/*
 * The metadata schema imports xmldsig, xmlenc and xml.xsd by their W3C URLs.
 * Debian's xmltooling-schemas has local copies, whose catalog maps only the
 * namespace names: map the URLs to the files and let the no-network loader
 * refuse everything else, so validation never goes online.
 */
static const struct {
    const char *url;
    const char *file;
} mdc_schema_map[] = {
    {"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd",
     "/usr/share/xml/xmltooling/xmldsig-core-schema.xsd"},
    {"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd",
     "/usr/share/xml/xmltooling/xenc-schema.xsd"},
    {"http://www.w3.org/2001/xml.xsd", "/usr/share/xml/xmltooling/xml.xsd"},
};

static xmlParserInputPtr mdc_schema_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    for (size_t i = 0; url != NULL && i < sizeof(mdc_schema_map) / sizeof(mdc_schema_map[0]); i++)
        if (strcmp(url, mdc_schema_map[i].url) == 0)
            return xmlNewInputFromFile(ctxt, mdc_schema_map[i].file);
    return xmlNoNetExternalEntityLoader(url, id, ctxt);
}

static void mdc_silent(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static xmlSchema *mdc_schema_compile(xmlSchemaParserCtxt *pctx)
{
    xmlSchema *s;

    if (pctx == NULL)
        return NULL;
    xmlSchemaSetParserStructuredErrors(pctx, mdc_silent, NULL);
    s = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    return s;
}

static xmlSchema *mdc_oasis(void)
{
    xmlExternalEntityLoader saved;

    if (oasis_tried)
        return oasis_schema;
    oasis_tried = true;
    saved = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(mdc_schema_loader);
    oasis_schema = mdc_schema_compile(xmlSchemaNewParserCtxt(MDC_OASIS_SCHEMA));
    xmlSetExternalEntityLoader(saved);
    return oasis_schema;
}

static xmlSchema *mdc_embedded(xmlSchema **cache, const char *name)
{
    const struct sp_asset *a;

    if (*cache != NULL)
        return *cache;
    a = sp_asset_find(name);
    if (a == NULL)
        return NULL;
    *cache = mdc_schema_compile(xmlSchemaNewMemParserCtxt((const char *)a->data, (int)a->len));
    return *cache;
}

void sp_mdcheck_cleanup(void)
{
    xmlSchemaFree(oasis_schema);
    xmlSchemaFree(spid_schema);
    xmlSchemaFree(fpa_schema);
    oasis_schema = spid_schema = fpa_schema = NULL;
    oasis_tried = false;
}

struct mdc_schema_run {
    struct mdc *m;
    const char *id;
    const xmlNode *fallback; /* where, when the error names no node of the document */
    unsigned n;
};

static void mdc_schema_error(void *ctx, xmlErrorPtr e)
{
    struct mdc_schema_run *run = ctx;
    const xmlNode *node = run->fallback;
    char *msg;
    size_t len;

    if (e == NULL || e->level < XML_ERR_ERROR)
        return;
    if (++run->n > MDC_MAX_SCHEMA_FINDINGS)
        return;
    if (e->node != NULL && ((xmlNode *)e->node)->doc == run->m->doc)
        node = e->node;
    msg = sp_xstrdup(e->message ? e->message : "schema validation error");
    len = strlen(msg);
    while (len > 0 && isspace((unsigned char)msg[len - 1]))
        msg[--len] = '\0';
    mdc_fail(run->m, run->id, SP_SEV_ERROR, node, "schema: %s", msg);
    free(msg);
}

/* XSD-saml: the whole document against the OASIS SAML 2.0 metadata schema. */
static void mdc_check_xsd_saml(struct mdc *m)
{
    xmlSchema *s = mdc_oasis();
    xmlSchemaValidCtxt *v;
    struct mdc_schema_run run = {m, "XSD-saml", NULL, 0};

    mdc_ran(m);
    if (s == NULL) {
        mdc_fail(m, "XSD-saml", SP_SEV_INFO, NULL,
                 "the OASIS metadata schema (%s, Debian opensaml-schemas) is not installed: "
                 "schema validation skipped",
                 MDC_OASIS_SCHEMA);
        return;
    }
    v = xmlSchemaNewValidCtxt(s);
    if (v == NULL)
        return;
    xmlSchemaSetValidStructuredErrors(v, mdc_schema_error, &run);
    if (xmlSchemaValidateDoc(v, m->doc) != 0 && run.n == 0)
        mdc_fail(m, "XSD-saml", SP_SEV_ERROR, m->root, "the document is not valid metadata");
    if (run.n > MDC_MAX_SCHEMA_FINDINGS)
        mdc_fail(m, "XSD-saml", SP_SEV_ERROR, m->root, "%u more schema errors not listed",
                 run.n - MDC_MAX_SCHEMA_FINDINGS);
    xmlSchemaFreeValidCtxt(v);
}

/* Validate one spid: or fpa: element, copied into a document of its own. */
static void mdc_validate_ext(struct mdc *m, xmlSchema *s, const xmlNode *elem,
                             struct mdc_schema_run *run)
{
    xmlDoc *d = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *copy = xmlDocCopyNode((xmlNode *)elem, d, 1);
    xmlSchemaValidCtxt *v = xmlSchemaNewValidCtxt(s);
    unsigned before = run->n;

    run->fallback = elem;
    if (copy != NULL && v != NULL) {
        xmlDocSetRootElement(d, copy);
        xmlSchemaSetValidStructuredErrors(v, mdc_schema_error, run);
        if (xmlSchemaValidateDoc(v, d) != 0 && run->n == before) {
            run->n++;
            mdc_fail(m, run->id, SP_SEV_ERROR, elem, "not valid against the SPID schema");
        }
    }
    xmlSchemaFreeValidCtxt(v);
    xmlFreeDoc(d);
}

static void mdc_walk_ext(struct mdc *m, const xmlNode *n, xmlSchema *spid, xmlSchema *fpa,
                         struct mdc_schema_run *run)
{
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (mdc_is(c, MDC_NS_MD, "Extensions")) {
            for (const xmlNode *e = c->children; e != NULL; e = e->next) {
                if (e->type != XML_ELEMENT_NODE || e->ns == NULL)
                    continue;
                if (xmlStrEqual(e->ns->href, BAD_CAST MDC_NS_SPID))
                    mdc_validate_ext(m, spid, e, run);
                else if (xmlStrEqual(e->ns->href, BAD_CAST MDC_NS_FPA))
                    mdc_validate_ext(m, fpa, e, run);
            }
        } else {
            mdc_walk_ext(m, c, spid, fpa, run);
        }
    }
}

/*
 * XSD-spid: md:Extensions allows ##other content with lax processing, so the
 * OASIS schema does not look inside spid:/fpa: elements; validate each one
 * against the embedded SPID schemas explicitly.
 */
static void mdc_check_xsd_spid(struct mdc *m)
{
    xmlSchema *spid = mdc_embedded(&spid_schema, "spid.xsd");
    xmlSchema *fpa = mdc_embedded(&fpa_schema, "spid-invoicing.xsd");
    struct mdc_schema_run run = {m, "XSD-spid", NULL, 0};

    mdc_ran(m);
    if (spid == NULL || fpa == NULL) {
        mdc_fail(m, "XSD-spid", SP_SEV_ERROR, NULL,
                 "internal: the embedded SPID schemas do not compile");
        return;
    }
    mdc_walk_ext(m, m->root, spid, fpa, &run);
}

/* ------------------------------------------------------------------------ */
/* Parsing and the run                                                      */
/* ------------------------------------------------------------------------ */

/* A DOCTYPE anywhere (entities live only there): refuse before parsing. */
static bool mdc_has_doctype(const char *xml, size_t len)
{
    static const char tag[] = "<!DOCTYPE";
    const size_t tl = sizeof(tag) - 1;

    for (size_t i = 0; i + tl <= len; i++)
        if (xml[i] == '<' && memcmp(xml + i, tag, tl) == 0)
            return true;
    return false;
}

static xmlDoc *mdc_parse(struct mdc *m, const char *xml, size_t len)
{
    xmlParserCtxt *ctx;
    xmlDoc *doc;

    mdc_ran(m); /* XML-size */
    if (len > SP_MDCHECK_MAX_BYTES) {
        sp_report_add(m->r, "XML-size", SP_SEV_ERROR, "/",
                      "the document has %zu bytes, more than the %u allowed", len,
                      SP_MDCHECK_MAX_BYTES);
        return NULL;
    }
    mdc_ran(m); /* XML-dtd */
    if (mdc_has_doctype(xml, len)) {
        sp_report_add(m->r, "XML-dtd", SP_SEV_ERROR, "/",
                      "the document has a DOCTYPE (DTDs and entities are not allowed in metadata)");
        return NULL;
    }
    mdc_ran(m); /* XML-wellformed */
    ctx = xmlNewParserCtxt();
    if (ctx == NULL)
        return NULL;
    doc = xmlCtxtReadMemory(ctx, xml, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctx);
        char *msg = sp_xstrdup(e && e->message ? e->message : "no root element");
        size_t n = strlen(msg);
        while (n > 0 && isspace((unsigned char)msg[n - 1]))
            msg[--n] = '\0';
        sp_report_add(m->r, "XML-wellformed", SP_SEV_ERROR, "/",
                      "not well-formed XML (line %d): %s", e ? e->line : 0, msg);
        free(msg);
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc->intSubset != NULL || doc->extSubset != NULL) {
        sp_report_add(m->r, "XML-dtd", SP_SEV_ERROR, "/", "the document has a DTD");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctx);
    return doc;
}

static enum sp_md_role mdc_detect_role(const xmlNode *root)
{
    if (mdc_child(root, MDC_NS_MD, "IDPSSODescriptor", NULL) != NULL &&
        mdc_child(root, MDC_NS_MD, "SPSSODescriptor", NULL) == NULL)
        return SP_MD_ROLE_IDP;
    return SP_MD_ROLE_SP;
}

/* The profile elements of the first md:Extensions of the "other" contacts. */
static enum sp_md_profile mdc_detect_profile(const xmlNode *root)
{
    static const char *const ag[] = {"PublicServicesFullAggregator",
                                     "PublicServicesLightAggregator",
                                     "PrivateServicesFullAggregator",
                                     "PrivateServicesLightAggregator",
                                     "PublicServicesFullOperator",
                                     "PublicServicesLightOperator",
                                     "PublicOperator"};
    enum sp_md_profile p = SP_MD_PROFILE_AUTO;

    for (xmlNode *cp = mdc_child(root, MDC_NS_MD, "ContactPerson", NULL); cp != NULL;
         cp = mdc_child(root, MDC_NS_MD, "ContactPerson", cp)) {
        xmlNode *ext = mdc_child(cp, MDC_NS_MD, "Extensions", NULL);
        for (size_t i = 0; i < sizeof(ag) / sizeof(ag[0]); i++)
            if (mdc_child(ext, MDC_NS_SPID, ag[i], NULL) != NULL)
                return SP_MD_PROFILE_AG;
        if (p == SP_MD_PROFILE_AUTO && mdc_child(ext, MDC_NS_SPID, "Public", NULL) != NULL)
            p = SP_MD_PROFILE_PUBLIC;
        if (p == SP_MD_PROFILE_AUTO && mdc_child(ext, MDC_NS_SPID, "Private", NULL) != NULL)
            p = SP_MD_PROFILE_PRIVATE;
    }
    return p;
}

enum sp_err sp_mdcheck_run(const char *xml, size_t len, enum sp_md_role role,
                           enum sp_md_profile profile, struct sp_report *out)
{
    struct mdc m = {0};
    const char *root_id;

    m.r = out;
    m.doc = mdc_parse(&m, xml, len);
    if (m.doc == NULL)
        return SP_OK;
    m.root = xmlDocGetRootElement(m.doc);
    m.role = role == SP_MD_ROLE_AUTO ? mdc_detect_role(m.root) : role;
    m.profile = profile == SP_MD_PROFILE_AUTO ? mdc_detect_profile(m.root) : profile;

    /* MD-01 / IDP-root: without an EntityDescriptor root nothing else applies */
    root_id = m.role == SP_MD_ROLE_IDP ? "IDP-root" : "MD-01";
    mdc_ran(&m);
    if (!mdc_is(m.root, MDC_NS_MD, "EntityDescriptor")) {
        mdc_fail(&m, root_id, SP_SEV_ERROR, m.root,
                 "the root element is <%s>, not one md:EntityDescriptor%s",
                 (const char *)m.root->name,
                 mdc_is(m.root, MDC_NS_MD, "EntitiesDescriptor")
                     ? " (check each entity of an aggregate on its own)"
                     : "");
        goto out;
    }
    mdc_check_xsd_saml(&m);
    mdc_check_xsd_spid(&m);
    mdc_check_signature(
        &m, mdc_child(m.root, MDC_NS_MD,
                      m.role == SP_MD_ROLE_IDP ? "IDPSSODescriptor" : "SPSSODescriptor", NULL));
    if (m.role == SP_MD_ROLE_IDP) {
        mdc_check_idp(&m);
    } else {
        /* MD-05: the byte stream itself */
        mdc_ran(&m);
        if (len > 0 && isspace((unsigned char)xml[0]))
            sp_report_add(out, "MD-05", SP_SEV_WARNING, "/",
                          "the document starts with whitespace; it should start with \"<\"");
        mdc_check_sp(&m);
    }
out:
    xmlFreeDoc(m.doc);
    return SP_OK;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

enum sp_err sp_mdcheck_parse_role(const char *s, enum sp_md_role *role)
{
    if (s != NULL && strcmp(s, "sp") == 0)
        *role = SP_MD_ROLE_SP;
    else if (s != NULL && strcmp(s, "idp") == 0)
        *role = SP_MD_ROLE_IDP;
    else
        return SP_ERR_INVALID;
    return SP_OK;
}

enum sp_err sp_mdcheck_parse_profile(const char *s, enum sp_md_profile *profile)
{
    if (s != NULL && strcmp(s, "public") == 0)
        *profile = SP_MD_PROFILE_PUBLIC;
    else if (s != NULL && strcmp(s, "private") == 0)
        *profile = SP_MD_PROFILE_PRIVATE;
    else if (s != NULL && strcmp(s, "ag") == 0)
        *profile = SP_MD_PROFILE_AG;
    else
        return SP_ERR_INVALID;
    return SP_OK;
}
