/*
 * saml_logout: SPID Single Logout messages with libxml2, xmlsec and zlib.
 *
 * Invariants kept here:
 * - Received messages are decoded within fixed bounds (parameter size, raw
 *   inflate stopped at SP_LOGOUT_MAX_XML) and parsed strictly: no DTD, no
 *   entity, no network, no comment, unique IDs.
 * - The fields checked are those of the root element, and for HTTP-POST the
 *   enveloped signature verified is a direct child of that same root whose
 *   single Reference designates its ID: what was verified is what is used.
 * - Signatures are verified only with the keys the caller passes (the
 *   sender's metadata keys), never with a certificate from the message;
 *   SHA-1 is refused in SigAlg, SignatureMethod and DigestMethod.
 * - Decoding, parsing, checks and verification read no clock and do no I/O.
 *
 * THREAD SAFETY NOTES: a struct sp_logout_msg / sp_logout_in belongs to one
 * request thread. A struct sp_logout_signer is read-only once built: each XML
 * signature duplicates its key into its own xmlsec context, query signatures
 * go through redirect_sign.c (per-thread contexts). libxml2 and xmlsec are
 * initialised by lasso_init() before any thread starts.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <zlib.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/redirect_sign.h"
#include "sp/saml_logout.h"
#include "sp/str.h"
#include "sp/xml_prolog.h"
#include "sp/xmlsig.h"
#include "saml_priv.h"

#define NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define FORMAT_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define FORMAT_TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"

/* No NOENT (entity substitution) and no DTDLOAD: a DTD is refused anyway. */
#define LOGOUT_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
#define LOGOUT_MAX_SIGALG 256u    /* a SigAlg URI */
#define LOGOUT_MAX_ID 256u        /* a message ID we keep (longer: refused) */
#define LOGOUT_MAX_XML_OUT 65536u /* a message we build */

/* ------------------------------------------------------------------------ */
/* Codes                                                                    */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    const char *rule;
    int status;
    const char *msg;
} logout_check_info[] = {
#define SP_LOGOUT_CHECK_INFO(name, rule, status, msg) {#name, rule, status, msg},
    SP_LOGOUT_CHECK_MAP(SP_LOGOUT_CHECK_INFO)
#undef SP_LOGOUT_CHECK_INFO
};

const char *sp_logout_check_name(enum sp_logout_check c)
{
    return (unsigned)c < SP_LOGOUT__COUNT ? logout_check_info[c].name : "UNKNOWN";
}

const char *sp_logout_check_rule(enum sp_logout_check c)
{
    return (unsigned)c < SP_LOGOUT__COUNT ? logout_check_info[c].rule : "SLO-00";
}

int sp_logout_check_status(enum sp_logout_check c)
{
    return (unsigned)c < SP_LOGOUT__COUNT ? logout_check_info[c].status : 400;
}

const char *sp_logout_check_message(enum sp_logout_check c)
{
    return (unsigned)c < SP_LOGOUT__COUNT ? logout_check_info[c].msg
                                          : "Il messaggio di logout non è valido.";
}

static enum sp_logout_check logout_fail(struct sp_logout_result *res, enum sp_logout_check code,
                                        const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record a failure: code, English detail for the log, one debug line. */
static enum sp_logout_check logout_fail(struct sp_logout_result *res, enum sp_logout_check code,
                                        const char *fmt, ...)
{
    va_list ap;

    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    sp_debug("logout check %s (%s): %s", sp_logout_check_name(code), sp_logout_check_rule(code),
             res->detail);
    return code;
}

static void logout_result_init(struct sp_logout_result *res)
{
    memset(res, 0, sizeof(*res));
    res->code = SP_LOGOUT_OK;
}

/* ------------------------------------------------------------------------ */
/* Binding decoding                                                         */
/* ------------------------------------------------------------------------ */

void sp_logout_in_init(struct sp_logout_in *in)
{
    memset(in, 0, sizeof(*in));
    sp_buf_init(&in->param, SP_LOGOUT_MAX_PARAM);
    sp_buf_init(&in->xml, SP_LOGOUT_MAX_XML);
    sp_buf_init(&in->signature, SP_LOGOUT_MAX_SIGNATURE);
    sp_buf_init(&in->signed_part, 2 * SP_LOGOUT_MAX_PARAM + 4096);
}

void sp_logout_in_cleanup(struct sp_logout_in *in)
{
    sp_buf_cleanup(&in->param);
    sp_buf_cleanup(&in->xml);
    sp_buf_cleanup(&in->signature);
    sp_buf_cleanup(&in->signed_part);
    free(in->relay_state);
    free(in->sig_alg);
    in->relay_state = in->sig_alg = NULL;
}

/* Raw inflate (RFC 1951) of data into out, stopping at out's limit. */
static enum sp_logout_check logout_inflate(const void *data, size_t len, struct sp_buf *out,
                                           struct sp_logout_result *res)
{
    z_stream z;
    unsigned char chunk[4096];
    int r = Z_OK;
    enum sp_logout_check rc = SP_LOGOUT_OK;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return logout_fail(res, SP_LOGOUT_ENCODING, "inflateInit2 failed");
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (unsigned)len;
    while (r != Z_STREAM_END) {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        r = inflate(&z, Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END) {
            rc = logout_fail(res, SP_LOGOUT_ENCODING, "message is not raw DEFLATE data");
            break;
        }
        if (sp_buf_add(out, chunk, sizeof(chunk) - z.avail_out) != SP_OK) {
            rc = logout_fail(res, SP_LOGOUT_TOO_LARGE, "inflated message over %u bytes",
                             SP_LOGOUT_MAX_XML);
            break;
        }
        if (r == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
            rc = logout_fail(res, SP_LOGOUT_ENCODING, "truncated DEFLATE data");
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

/* A query parameter as received: a slice of the raw query. */
struct raw_param {
    const char *name;
    const char *value;
    size_t len;
    bool seen;
};

enum { RP_REQUEST, RP_RESPONSE, RP_RELAY, RP_SIGALG, RP_SIGNATURE, RP__COUNT };

/* Split raw (no '?') into the parameters we know; a repeated one is an error. */
static enum sp_logout_check redirect_split(const char *raw, struct raw_param *p,
                                           struct sp_logout_result *res)
{
    static const char *const names[RP__COUNT] = {"SAMLRequest", "SAMLResponse", "RelayState",
                                                 "SigAlg", "Signature"};
    const char *s = raw;

    for (unsigned i = 0; i < RP__COUNT; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].name = names[i];
    }
    while (*s != '\0') {
        size_t n = strcspn(s, "&");
        const char *eq = memchr(s, '=', n);
        size_t nlen = eq ? (size_t)(eq - s) : n;

        for (unsigned i = 0; i < RP__COUNT; i++) {
            if (strlen(names[i]) != nlen || memcmp(s, names[i], nlen) != 0)
                continue;
            if (p[i].seen)
                return logout_fail(res, SP_LOGOUT_ENCODING, "parameter %s repeated", names[i]);
            p[i].seen = true;
            p[i].value = eq ? eq + 1 : s + n;
            p[i].len = eq ? n - nlen - 1 : 0;
        }
        s += n;
        if (*s == '&')
            s++;
    }
    return SP_LOGOUT_OK;
}

/* URL-decode one parameter into a new string (free()), bounded by max bytes. */
static char *redirect_value(const struct raw_param *p, size_t max)
{
    struct sp_buf b;
    char *v = NULL;

    sp_buf_init(&b, max);
    if (sp_url_decode(&b, p->value, p->len) == SP_OK)
        v = sp_xstrdup(sp_buf_str(&b));
    sp_buf_cleanup(&b);
    return v;
}

/* in->kind and in->param from the message parameter (URL-decoded or form text). */
static enum sp_logout_check logout_take_param(struct sp_logout_in *in, enum sp_logout_kind kind,
                                              const char *text, size_t len, bool url_encoded,
                                              struct sp_logout_result *res)
{
    enum sp_err rc;

    in->kind = kind;
    if (len > SP_LOGOUT_MAX_PARAM)
        return logout_fail(res, SP_LOGOUT_TOO_LARGE, "message parameter of %zu bytes", len);
    rc = url_encoded ? sp_url_decode(&in->param, text, len) : sp_buf_add(&in->param, text, len);
    if (rc != SP_OK)
        return logout_fail(res, SP_LOGOUT_ENCODING, "message parameter is not URL-encoded text");
    if (in->param.len == 0)
        return logout_fail(res, SP_LOGOUT_NO_MESSAGE, "empty message parameter");
    return SP_LOGOUT_OK;
}

enum sp_logout_check sp_logout_decode_redirect(const char *raw_query, struct sp_logout_in *in,
                                               struct sp_logout_result *res)
{
    struct raw_param p[RP__COUNT];
    const struct raw_param *msg;
    struct sp_buf raw;
    enum sp_logout_check rc;

    logout_result_init(res);
    in->post = false;
    sp_buf_init(&raw, SP_LOGOUT_MAX_XML);
    if (raw_query == NULL)
        raw_query = "";
    rc = redirect_split(raw_query, p, res);
    if (rc != SP_LOGOUT_OK)
        goto out;
    if (p[RP_REQUEST].seen && p[RP_RESPONSE].seen) {
        rc = logout_fail(res, SP_LOGOUT_ENCODING, "both SAMLRequest and SAMLResponse");
        goto out;
    }
    if (!p[RP_REQUEST].seen && !p[RP_RESPONSE].seen) {
        rc = logout_fail(res, SP_LOGOUT_NO_MESSAGE, "no SAMLRequest or SAMLResponse parameter");
        goto out;
    }
    msg = p[RP_REQUEST].seen ? &p[RP_REQUEST] : &p[RP_RESPONSE];
    rc =
        logout_take_param(in, p[RP_REQUEST].seen ? SP_LOGOUT_KIND_REQUEST : SP_LOGOUT_KIND_RESPONSE,
                          msg->value, msg->len, true, res);
    if (rc != SP_LOGOUT_OK)
        goto out;
    if (p[RP_RELAY].seen) {
        in->relay_state = redirect_value(&p[RP_RELAY], SP_LOGOUT_MAX_RELAY_STATE);
        if (in->relay_state == NULL) {
            rc = logout_fail(res, SP_LOGOUT_ENCODING, "RelayState malformed or too long");
            goto out;
        }
    }
    if (p[RP_SIGALG].seen) {
        in->sig_alg = redirect_value(&p[RP_SIGALG], LOGOUT_MAX_SIGALG);
        if (in->sig_alg == NULL) {
            rc = logout_fail(res, SP_LOGOUT_ENCODING, "SigAlg malformed or too long");
            goto out;
        }
    }
    if (p[RP_SIGNATURE].seen) {
        char *sig64 = redirect_value(&p[RP_SIGNATURE], 2 * SP_LOGOUT_MAX_SIGNATURE);
        if (sig64 == NULL || sp_b64_decode(&in->signature, sig64, strlen(sig64)) != SP_OK) {
            free(sig64);
            rc = logout_fail(res, SP_LOGOUT_ENCODING, "Signature is not base64");
            goto out;
        }
        free(sig64);
    }
    /* SAML bindings §3.4.4.1: the octets as received, in this order */
    sp_buf_addf(&in->signed_part, "%s=%.*s", msg->name, (int)msg->len, msg->value);
    if (p[RP_RELAY].seen)
        sp_buf_addf(&in->signed_part, "&RelayState=%.*s", (int)p[RP_RELAY].len, p[RP_RELAY].value);
    if (p[RP_SIGALG].seen)
        sp_buf_addf(&in->signed_part, "&SigAlg=%.*s", (int)p[RP_SIGALG].len, p[RP_SIGALG].value);
    if (sp_b64_decode(&raw, in->param.data, in->param.len) != SP_OK || raw.len == 0) {
        rc = logout_fail(res, SP_LOGOUT_ENCODING, "message is not base64");
        goto out;
    }
    rc = logout_inflate(raw.data, raw.len, &in->xml, res);
out:
    sp_buf_cleanup(&raw);
    return rc;
}

enum sp_logout_check sp_logout_decode_post(const char *saml_request, const char *saml_response,
                                           const char *relay_state, struct sp_logout_in *in,
                                           struct sp_logout_result *res)
{
    const char *text;
    enum sp_logout_check rc;

    logout_result_init(res);
    in->post = true;
    if (saml_request != NULL && saml_response != NULL)
        return logout_fail(res, SP_LOGOUT_ENCODING, "both SAMLRequest and SAMLResponse");
    if (saml_request == NULL && saml_response == NULL)
        return logout_fail(res, SP_LOGOUT_NO_MESSAGE, "no SAMLRequest or SAMLResponse field");
    text = saml_request ? saml_request : saml_response;
    rc = logout_take_param(in, saml_request ? SP_LOGOUT_KIND_REQUEST : SP_LOGOUT_KIND_RESPONSE,
                           text, strlen(text), false, res);
    if (rc != SP_LOGOUT_OK)
        return rc;
    if (relay_state != NULL) {
        if (strlen(relay_state) > SP_LOGOUT_MAX_RELAY_STATE)
            return logout_fail(res, SP_LOGOUT_ENCODING, "RelayState too long");
        in->relay_state = sp_xstrdup(relay_state);
    }
    if (sp_b64_decode(&in->xml, in->param.data, in->param.len) != SP_OK)
        return logout_fail(
            res, in->xml.len >= SP_LOGOUT_MAX_XML ? SP_LOGOUT_TOO_LARGE : SP_LOGOUT_ENCODING,
            "message is not base64 (or too large)");
    if (in->xml.len == 0)
        return logout_fail(res, SP_LOGOUT_ENCODING, "empty message");
    return SP_LOGOUT_OK;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

struct sp_logout_msg {
    xmlDoc *doc;   /* owned */
    xmlNode *root; /* borrowed from doc */
    struct sp_logout_fields f;
    /* owned copies behind the const pointers of f */
    char *own[16 + SP_LOGOUT_MAX_SESSION_INDEX];
    unsigned n_own;
};

static bool node_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST ns) && xmlStrEqual(n->name, BAD_CAST name);
}

/* First element child ns:name of parent and how many there are. */
static xmlNode *child_first(const xmlNode *parent, const char *ns, const char *name,
                            unsigned *count)
{
    xmlNode *first = NULL;
    unsigned n = 0;

    for (xmlNode *k = parent ? parent->children : NULL; k != NULL; k = k->next) {
        if (!node_is(k, ns, name))
            continue;
        if (first == NULL)
            first = k;
        n++;
    }
    if (count != NULL)
        *count = n;
    return first;
}

static const char *msg_keep(struct sp_logout_msg *m, xmlChar *v, bool trim)
{
    char *copy;

    if (v == NULL)
        return NULL;
    copy = trim ? sp_str_trim_dup((const char *)v) : sp_xstrdup((const char *)v);
    xmlFree(v);
    SP_ASSERT(m->n_own < sizeof(m->own) / sizeof(m->own[0]));
    m->own[m->n_own++] = copy;
    return copy;
}

static const char *msg_attr(struct sp_logout_msg *m, const xmlNode *n, const char *name)
{
    return n ? msg_keep(m, xmlGetNoNsProp(n, BAD_CAST name), false) : NULL;
}

static const char *msg_text(struct sp_logout_msg *m, const xmlNode *n, bool trim)
{
    return n ? msg_keep(m, xmlNodeGetContent(n), trim) : NULL;
}

/* Only an optional BOM, one XML declaration and whitespace before the root (as RS-05). */
static enum sp_logout_check logout_prolog(const void *p, size_t len, struct sp_logout_result *res)
{
    const char *why;
    switch (sp_xml_prolog_check(p, len, &why)) {
    case SP_XML_PROLOG_OK:
        return SP_LOGOUT_OK;
    case SP_XML_PROLOG_DTD:
        return logout_fail(res, SP_LOGOUT_DTD, "%s", why);
    default:
        return logout_fail(res, SP_LOGOUT_MALFORMED, "%s", why);
    }
}

static void msg_read_request(struct sp_logout_msg *m)
{
    struct sp_logout_fields *f = &m->f;
    const xmlNode *nid = child_first(m->root, NS_SAML, "NameID", &f->n_name_id);
    unsigned n = 0;

    f->not_on_or_after = msg_attr(m, m->root, "NotOnOrAfter");
    f->name_id = msg_text(m, nid, false);
    f->name_id_format = msg_attr(m, nid, "Format");
    f->name_qualifier = msg_attr(m, nid, "NameQualifier");
    for (const xmlNode *k = m->root->children; k != NULL; k = k->next) {
        if (!node_is(k, NS_SAMLP, "SessionIndex"))
            continue;
        if (n < SP_LOGOUT_MAX_SESSION_INDEX)
            f->session_index[n] = msg_text(m, k, true);
        n++;
    }
    f->n_session_index = n;
}

static void msg_read_response(struct sp_logout_msg *m)
{
    struct sp_logout_fields *f = &m->f;
    const xmlNode *st = child_first(m->root, NS_SAMLP, "Status", NULL);
    const xmlNode *code = child_first(st, NS_SAMLP, "StatusCode", NULL);
    const xmlNode *sub = child_first(code, NS_SAMLP, "StatusCode", NULL);

    f->in_response_to = msg_attr(m, m->root, "InResponseTo");
    f->status = msg_attr(m, code, "Value");
    f->sub_status = msg_attr(m, sub, "Value");
}

struct sp_logout_msg *sp_logout_parse(const void *xml, size_t len, struct sp_logout_result *res)
{
    struct sp_logout_msg *m = NULL;
    xmlDoc *doc = NULL;
    xmlNode *root, *iss;

    logout_result_init(res);
    if (xml == NULL || len == 0) {
        logout_fail(res, SP_LOGOUT_MALFORMED, "empty message");
        goto out;
    }
    if (len > SP_LOGOUT_MAX_XML) {
        logout_fail(res, SP_LOGOUT_TOO_LARGE, "message of %zu bytes, limit %u", len,
                    SP_LOGOUT_MAX_XML);
        goto out;
    }
    if (logout_prolog(xml, len, res) != SP_LOGOUT_OK)
        goto out;
    doc = xmlReadMemory(xml, (int)len, NULL, NULL, LOGOUT_XML_OPTIONS);
    if (doc == NULL) {
        logout_fail(res, SP_LOGOUT_MALFORMED, "message is not well-formed XML");
        goto out;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        logout_fail(res, SP_LOGOUT_DTD, "document type declaration refused");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (!node_is(root, NS_SAMLP, "LogoutRequest") && !node_is(root, NS_SAMLP, "LogoutResponse")) {
        logout_fail(res, SP_LOGOUT_ROOT, "root is not samlp:LogoutRequest or LogoutResponse");
        goto out;
    }
    m = sp_xcalloc(1, sizeof(*m));
    m->doc = doc;
    doc = NULL;
    m->root = root;
    m->f.kind =
        node_is(root, NS_SAMLP, "LogoutRequest") ? SP_LOGOUT_KIND_REQUEST : SP_LOGOUT_KIND_RESPONSE;
    m->f.id = msg_attr(m, root, "ID");
    m->f.version = msg_attr(m, root, "Version");
    m->f.issue_instant = msg_attr(m, root, "IssueInstant");
    m->f.destination = msg_attr(m, root, "Destination");
    iss = child_first(root, NS_SAML, "Issuer", &m->f.n_issuer);
    m->f.issuer = msg_text(m, iss, true);
    m->f.issuer_format = msg_attr(m, iss, "Format");
    if (m->f.kind == SP_LOGOUT_KIND_REQUEST)
        msg_read_request(m);
    else
        msg_read_response(m);
out:
    xmlFreeDoc(doc);
    return m;
}

void sp_logout_msg_free(struct sp_logout_msg **mp)
{
    struct sp_logout_msg *m = mp ? *mp : NULL;

    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->n_own; i++)
        free(m->own[i]);
    xmlFreeDoc(m->doc);
    free(m);
    *mp = NULL;
}

const struct sp_logout_fields *sp_logout_msg_fields(const struct sp_logout_msg *m)
{
    return m ? &m->f : NULL;
}

/* ------------------------------------------------------------------------ */
/* Field checks                                                             */
/* ------------------------------------------------------------------------ */

/* Depth-first walk: any comment node, and the ID attribute values in ids. */
struct walk {
    unsigned comments;
    char **ids;
    unsigned n_ids, cap_ids;
};

static void walk_tree(const xmlNode *n, struct walk *w)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_COMMENT_NODE)
            w->comments++;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
            if (!xmlStrEqual(a->name, BAD_CAST "ID") && !xmlStrEqual(a->name, BAD_CAST "Id") &&
                !xmlStrEqual(a->name, BAD_CAST "id"))
                continue;
            if (w->n_ids == w->cap_ids) {
                w->cap_ids = w->cap_ids ? 2 * w->cap_ids : 16;
                w->ids = sp_xrealloc(w->ids, w->cap_ids * sizeof(*w->ids));
            }
            {
                xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
                w->ids[w->n_ids++] = sp_xstrdup(v ? (const char *)v : "");
                xmlFree(v);
            }
        }
        walk_tree(n->children, w);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No comment anywhere (exc-c14n drops them) and every non-empty ID value unique. */
static enum sp_logout_check check_tree(const struct sp_logout_msg *m, struct sp_logout_result *res)
{
    struct walk w;
    enum sp_logout_check rc = SP_LOGOUT_OK;

    memset(&w, 0, sizeof(w));
    walk_tree(m->doc->children, &w);
    if (w.comments > 0)
        rc =
            logout_fail(res, SP_LOGOUT_COMMENT, "the message contains %u XML comments", w.comments);
    if (w.n_ids > 1) /* qsort(NULL, 0, ...) is undefined: a message may have no ID at all */
        qsort(w.ids, w.n_ids, sizeof(*w.ids), cmp_str);
    for (unsigned i = 1; rc == SP_LOGOUT_OK && i < w.n_ids; i++)
        if (w.ids[i][0] != '\0' && strcmp(w.ids[i - 1], w.ids[i]) == 0)
            rc = logout_fail(res, SP_LOGOUT_DUPLICATE_ID, "the same ID value appears twice");
    for (unsigned i = 0; i < w.n_ids; i++)
        free(w.ids[i]);
    free(w.ids);
    return rc;
}

/* An xs:ID must be an NCName: a letter or '_' first, then letters, digits, . - _ */
static bool logout_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n == 0 || n > LOGOUT_MAX_ID)
        return false;
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') || id[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static enum sp_logout_check check_instant(const struct sp_logout_fields *f,
                                          const struct sp_logout_expect *e,
                                          struct sp_logout_result *res)
{
    int64_t t, skew = (int64_t)e->skew_sec * 1000;

    if (f->issue_instant == NULL || sp_time_parse(f->issue_instant, &t) != SP_OK)
        return logout_fail(res, SP_LOGOUT_ISSUE_INSTANT,
                           "IssueInstant missing or not a UTC xs:dateTime");
    if (t > e->now_ms + skew)
        return logout_fail(res, SP_LOGOUT_ISSUE_INSTANT, "IssueInstant is %lld ms in the future",
                           (long long)(t - e->now_ms));
    if (e->kind == SP_LOGOUT_KIND_RESPONSE && t < e->request_issue_ms - skew)
        return logout_fail(res, SP_LOGOUT_ISSUE_INSTANT,
                           "IssueInstant is %lld ms before our LogoutRequest",
                           (long long)(e->request_issue_ms - t));
    if (e->kind == SP_LOGOUT_KIND_REQUEST && t < e->now_ms - skew - (int64_t)e->max_age_sec * 1000)
        return logout_fail(res, SP_LOGOUT_EXPIRED, "IssueInstant is %lld s old",
                           (long long)((e->now_ms - t) / 1000));
    return SP_LOGOUT_OK;
}

static enum sp_logout_check check_issuer(const struct sp_logout_fields *f,
                                         const struct sp_logout_expect *e,
                                         struct sp_logout_result *res)
{
    if (f->n_issuer != 1)
        return logout_fail(res, SP_LOGOUT_ISSUER, "%u saml:Issuer elements, one required",
                           f->n_issuer);
    if (e->issuer == NULL || !sp_str_eq(f->issuer, e->issuer))
        return logout_fail(res, SP_LOGOUT_ISSUER, "Issuer is not the expected entity");
    if (f->issuer_format != NULL && !sp_str_eq(f->issuer_format, FORMAT_ENTITY))
        return logout_fail(res, SP_LOGOUT_ISSUER_FORMAT, "Issuer Format is not ...:entity");
    return SP_LOGOUT_OK;
}

/* SLO-21: NotOnOrAfter (optional), one non-empty NameID, sane SessionIndex. */
static enum sp_logout_check check_request(const struct sp_logout_msg *m,
                                          const struct sp_logout_expect *e,
                                          struct sp_logout_result *res)
{
    const struct sp_logout_fields *f = &m->f;
    int64_t t;
    char *nid;
    bool empty;

    if (f->not_on_or_after != NULL) {
        if (sp_time_parse(f->not_on_or_after, &t) != SP_OK)
            return logout_fail(res, SP_LOGOUT_ISSUE_INSTANT,
                               "NotOnOrAfter is not a UTC xs:dateTime");
        if (e->now_ms >= t + (int64_t)e->skew_sec * 1000)
            return logout_fail(res, SP_LOGOUT_EXPIRED, "NotOnOrAfter has passed");
    }
    if (child_first(m->root, NS_SAML, "EncryptedID", NULL) != NULL ||
        child_first(m->root, NS_SAML, "BaseID", NULL) != NULL)
        return logout_fail(res, SP_LOGOUT_NAMEID, "EncryptedID or BaseID instead of NameID");
    if (f->n_name_id != 1)
        return logout_fail(res, SP_LOGOUT_NAMEID, "%u saml:NameID elements, one required",
                           f->n_name_id);
    nid = sp_str_trim_dup(f->name_id ? f->name_id : "");
    empty = nid[0] == '\0';
    free(nid);
    if (empty)
        return logout_fail(res, SP_LOGOUT_NAMEID, "NameID is empty");
    if (f->n_session_index > SP_LOGOUT_MAX_SESSION_INDEX)
        return logout_fail(res, SP_LOGOUT_SESSION_INDEX, "%u SessionIndex elements, at most %u",
                           f->n_session_index, SP_LOGOUT_MAX_SESSION_INDEX);
    for (unsigned i = 0; i < f->n_session_index; i++)
        if (f->session_index[i] == NULL || f->session_index[i][0] == '\0')
            return logout_fail(res, SP_LOGOUT_SESSION_INDEX, "empty SessionIndex");
    return SP_LOGOUT_OK;
}

/* SLO-14: InResponseTo is our request, a top-level StatusCode is there. */
static enum sp_logout_check check_response(const struct sp_logout_msg *m,
                                           const struct sp_logout_expect *e,
                                           struct sp_logout_result *res)
{
    const struct sp_logout_fields *f = &m->f;

    if (f->in_response_to == NULL || f->in_response_to[0] == '\0')
        return logout_fail(res, SP_LOGOUT_IN_RESPONSE_TO, "no InResponseTo (unsolicited)");
    if (e->in_response_to == NULL || !sp_str_eq(f->in_response_to, e->in_response_to))
        return logout_fail(res, SP_LOGOUT_IN_RESPONSE_TO,
                           "InResponseTo is not the ID of our LogoutRequest");
    if (f->status == NULL || f->status[0] == '\0')
        return logout_fail(res, SP_LOGOUT_STATUS, "no samlp:Status/samlp:StatusCode@Value");
    return SP_LOGOUT_OK;
}

enum sp_logout_check sp_logout_check(const struct sp_logout_msg *m,
                                     const struct sp_logout_expect *e, struct sp_logout_result *res)
{
    const struct sp_logout_fields *f = &m->f;
    enum sp_logout_check rc;

    logout_result_init(res);
    if (f->kind != e->kind)
        return logout_fail(res, SP_LOGOUT_ROOT, "a %s where a %s was expected",
                           f->kind == SP_LOGOUT_KIND_REQUEST ? "LogoutRequest" : "LogoutResponse",
                           e->kind == SP_LOGOUT_KIND_REQUEST ? "LogoutRequest" : "LogoutResponse");
    rc = check_tree(m, res);
    if (rc != SP_LOGOUT_OK)
        return rc;
    if (!logout_id_ok(f->id))
        return logout_fail(res, SP_LOGOUT_ID, "ID missing, empty or not an NCName");
    if (!sp_str_eq(f->version, "2.0"))
        return logout_fail(res, SP_LOGOUT_VERSION, "Version is not 2.0");
    rc = check_instant(f, e, res);
    if (rc != SP_LOGOUT_OK)
        return rc;
    if (f->destination == NULL || e->destination == NULL ||
        !sp_str_eq(f->destination, e->destination))
        return logout_fail(res, SP_LOGOUT_DESTINATION, "Destination is not our SLO URL");
    rc = check_issuer(f, e, res);
    if (rc != SP_LOGOUT_OK)
        return rc;
    return f->kind == SP_LOGOUT_KIND_REQUEST ? check_request(m, e, res) : check_response(m, e, res);
}

enum sp_logout_outcome sp_logout_outcome_of(const struct sp_logout_msg *m)
{
    const struct sp_logout_fields *f = sp_logout_msg_fields(m);

    if (f == NULL || f->status == NULL)
        return SP_LOGOUT_OUTCOME_FAILED;
    if (sp_str_eq(f->sub_status, SP_LOGOUT_STATUS_PARTIAL))
        return SP_LOGOUT_OUTCOME_PARTIAL;
    if (sp_str_eq(f->status, SP_LOGOUT_STATUS_SUCCESS))
        return SP_LOGOUT_OUTCOME_SUCCESS;
    return SP_LOGOUT_OUTCOME_FAILED;
}

/* ------------------------------------------------------------------------ */
/* Signatures                                                               */
/* ------------------------------------------------------------------------ */

static const char *const alg_signature[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    NULL,
};
static const char *const alg_digest[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    NULL,
};
static const char *const alg_c14n[] = {
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    NULL,
};
static const char *const alg_transform[] = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    NULL,
};

static bool alg_in(const char *alg, const char *const *allowed)
{
    for (size_t i = 0; alg != NULL && allowed[i] != NULL; i++)
        if (strcmp(alg, allowed[i]) == 0)
            return true;
    return false;
}

/* The Algorithm of element n is in allowed; SHA-1 named in the detail. */
static enum sp_logout_check alg_check(const xmlNode *n, const char *const *allowed,
                                      const char *what, struct sp_logout_result *res)
{
    xmlChar *alg = xmlGetNoNsProp(n, BAD_CAST "Algorithm");
    bool ok = alg_in((const char *)alg, allowed);
    bool sha1 = alg != NULL && strstr((const char *)alg, "sha1") != NULL;

    xmlFree(alg);
    if (!ok)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_ALGORITHM, "%s Algorithm not allowed%s", what,
                           sha1 ? " (SHA-1)" : "");
    return SP_LOGOUT_OK;
}

static unsigned count_signatures(const xmlNode *n)
{
    unsigned c = 0;

    for (; n != NULL; n = n->next) {
        if (node_is(n, NS_DS, "Signature"))
            c++;
        if (n->type == XML_ELEMENT_NODE)
            c += count_signatures(n->children);
    }
    return c;
}

/*
 * The enveloped signature sig over root: one SignedInfo with one exc-c14n
 * CanonicalizationMethod, one allowed SignatureMethod, one Reference "#ID"
 * with allowed Transforms and one allowed DigestMethod.
 */
static enum sp_logout_check signature_shape(const struct sp_logout_msg *m, const xmlNode *sig,
                                            struct sp_logout_result *res)
{
    unsigned n_si, n_c14n, n_sm, n_ref, n_dm, n_tr;
    const xmlNode *si = child_first(sig, NS_DS, "SignedInfo", &n_si);
    const xmlNode *c14n = child_first(si, NS_DS, "CanonicalizationMethod", &n_c14n);
    const xmlNode *sm = child_first(si, NS_DS, "SignatureMethod", &n_sm);
    const xmlNode *ref = child_first(si, NS_DS, "Reference", &n_ref);
    const xmlNode *dm = child_first(ref, NS_DS, "DigestMethod", &n_dm);
    const xmlNode *trs = child_first(ref, NS_DS, "Transforms", &n_tr);
    xmlChar *uri;
    enum sp_logout_check rc;
    bool same;

    if (n_si != 1 || n_c14n != 1 || n_sm != 1 || n_ref != 1 || n_dm != 1 || n_tr > 1)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_STRUCTURE,
                           "SignedInfo needs one CanonicalizationMethod, SignatureMethod, "
                           "Reference and DigestMethod");
    if ((rc = alg_check(c14n, alg_c14n, "CanonicalizationMethod", res)) != SP_LOGOUT_OK ||
        (rc = alg_check(sm, alg_signature, "SignatureMethod", res)) != SP_LOGOUT_OK ||
        (rc = alg_check(dm, alg_digest, "DigestMethod", res)) != SP_LOGOUT_OK)
        return rc;
    for (const xmlNode *t = trs ? trs->children : NULL; t != NULL; t = t->next) {
        if (t->type != XML_ELEMENT_NODE)
            continue;
        if (!node_is(t, NS_DS, "Transform"))
            return logout_fail(res, SP_LOGOUT_SIGNATURE_STRUCTURE, "unexpected Transforms child");
        if ((rc = alg_check(t, alg_transform, "Transform", res)) != SP_LOGOUT_OK)
            return rc;
    }
    uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
    same = uri != NULL && uri[0] == '#' && m->f.id != NULL &&
           strcmp((const char *)uri + 1, m->f.id) == 0;
    xmlFree(uri);
    if (!same)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_STRUCTURE,
                           "the Reference does not designate the message ID");
    return SP_LOGOUT_OK;
}

static enum sp_logout_check verify_post(const struct sp_logout_msg *m,
                                        const struct sp_xmlsig_keys *keys,
                                        struct sp_logout_result *res)
{
    unsigned n;
    xmlNode *sig = child_first(m->root, NS_DS, "Signature", &n);
    enum sp_logout_check rc;

    if (n == 0)
        return logout_fail(res, SP_LOGOUT_UNSIGNED, "HTTP-POST message without ds:Signature");
    if (n > 1 || count_signatures(m->doc->children) != 1)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_STRUCTURE,
                           "exactly one ds:Signature, a child of the root, is allowed");
    rc = check_tree(m, res); /* unique IDs: "#ID" designates one element */
    if (rc == SP_LOGOUT_OK)
        rc = signature_shape(m, sig, res);
    if (rc != SP_LOGOUT_OK)
        return rc;
    if (keys == NULL || sp_xmlsig_verify(keys, m->root, sig) != SP_OK)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_INVALID,
                           "the XML signature does not verify with the sender's metadata keys");
    return SP_LOGOUT_OK;
}

static enum sp_logout_check verify_redirect(const struct sp_logout_msg *m,
                                            const struct sp_logout_in *in,
                                            const struct sp_xmlsig_keys *keys,
                                            struct sp_logout_result *res)
{
    if (count_signatures(m->doc->children) != 0)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_STRUCTURE,
                           "ds:Signature inside an HTTP-Redirect message");
    if (in->sig_alg == NULL || in->signature.len == 0)
        return logout_fail(res, SP_LOGOUT_UNSIGNED, "SigAlg or Signature missing");
    if (!alg_in(in->sig_alg, alg_signature))
        return logout_fail(res, SP_LOGOUT_SIGNATURE_ALGORITHM, "SigAlg not allowed%s",
                           strstr(in->sig_alg, "sha1") ? " (SHA-1)" : "");
    if (keys == NULL ||
        sp_xmlsig_verify_detached(keys, in->sig_alg, in->signed_part.data, in->signed_part.len,
                                  in->signature.data, in->signature.len) != SP_OK)
        return logout_fail(res, SP_LOGOUT_SIGNATURE_INVALID,
                           "the query signature does not verify with the sender's metadata keys");
    return SP_LOGOUT_OK;
}

enum sp_logout_check sp_logout_verify(const struct sp_logout_msg *m, const struct sp_logout_in *in,
                                      const struct sp_xmlsig_keys *keys,
                                      struct sp_logout_result *res)
{
    logout_result_init(res);
    return in->post ? verify_post(m, keys, res) : verify_redirect(m, in, keys, res);
}

/* ------------------------------------------------------------------------ */
/* Building                                                                 */
/* ------------------------------------------------------------------------ */

struct sp_logout_signer {
    struct sp_signer *query;
    xmlSecKeyPtr xml; /* private key with its certificate */
};

struct sp_logout_signer *sp_logout_signer_new(const char *key_pem, const char *cert_pem)
{
    struct sp_logout_signer *s;

    if (key_pem == NULL || cert_pem == NULL)
        return NULL;
    s = sp_xcalloc(1, sizeof(*s));
    s->query = sp_signer_new(key_pem);
    s->xml = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)key_pem, (xmlSecSize)strlen(key_pem),
                                          xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    if (s->query == NULL || s->xml == NULL ||
        xmlSecCryptoAppKeyCertLoadMemory(s->xml, (const xmlSecByte *)cert_pem,
                                         (xmlSecSize)strlen(cert_pem),
                                         xmlSecKeyDataFormatPem) < 0) {
        sp_errorx("logout: cannot load the signing key and certificate");
        sp_logout_signer_free(&s);
    }
    return s;
}

void sp_logout_signer_free(struct sp_logout_signer **sp)
{
    struct sp_logout_signer *s = sp ? *sp : NULL;

    if (s == NULL)
        return;
    sp_signer_free(&s->query);
    if (s->xml != NULL)
        xmlSecKeyDestroy(s->xml);
    free(s);
    *sp = NULL;
}

static xmlNode *add_text_child(xmlNode *parent, xmlNs *ns, const char *name, const char *text)
{
    return xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST text);
}

/* The message tree of b; NULL when a required field is missing. */
static xmlDoc *logout_tree(const struct sp_logout_build *b)
{
    bool req = b->kind == SP_LOGOUT_KIND_REQUEST;
    char instant[SP_TIME_ISO_LEN];
    xmlDoc *doc;
    xmlNode *root, *iss, *n;
    xmlNs *samlp, *saml;

    if ((b->kind != SP_LOGOUT_KIND_REQUEST && b->kind != SP_LOGOUT_KIND_RESPONSE) ||
        !logout_id_ok(b->id) || b->destination == NULL || b->issuer == NULL ||
        (req && (b->name_id == NULL || b->name_id[0] == '\0')) ||
        (!req && (b->in_response_to == NULL || b->in_response_to[0] == '\0')))
        return NULL;
    sp_time_format(b->issue_instant_ms, 1, instant);
    doc = xmlNewDoc(BAD_CAST "1.0");
    root = xmlNewNode(NULL, BAD_CAST(req ? "LogoutRequest" : "LogoutResponse"));
    samlp = xmlNewNs(root, BAD_CAST NS_SAMLP, BAD_CAST "samlp");
    saml = xmlNewNs(root, BAD_CAST NS_SAML, BAD_CAST "saml");
    xmlSetNs(root, samlp);
    xmlDocSetRootElement(doc, root);
    xmlNewProp(root, BAD_CAST "ID", BAD_CAST b->id);
    xmlNewProp(root, BAD_CAST "Version", BAD_CAST "2.0");
    xmlNewProp(root, BAD_CAST "IssueInstant", BAD_CAST instant);
    xmlNewProp(root, BAD_CAST "Destination", BAD_CAST b->destination);
    if (!req)
        xmlNewProp(root, BAD_CAST "InResponseTo", BAD_CAST b->in_response_to);
    iss = add_text_child(root, saml, "Issuer", b->issuer);
    xmlNewProp(iss, BAD_CAST "Format", BAD_CAST FORMAT_ENTITY);
    xmlNewProp(iss, BAD_CAST "NameQualifier", BAD_CAST b->issuer);
    if (req) {
        n = add_text_child(root, saml, "NameID", b->name_id);
        if (b->name_qualifier != NULL)
            xmlNewProp(n, BAD_CAST "NameQualifier", BAD_CAST b->name_qualifier);
        xmlNewProp(n, BAD_CAST "Format", BAD_CAST FORMAT_TRANSIENT);
        if (b->session_index != NULL && b->session_index[0] != '\0')
            add_text_child(root, samlp, "SessionIndex", b->session_index);
    } else {
        xmlNode *st = xmlNewChild(root, samlp, BAD_CAST "Status", NULL);
        n = xmlNewChild(st, samlp, BAD_CAST "StatusCode", NULL);
        xmlNewProp(n, BAD_CAST "Value", BAD_CAST(b->status ? b->status : SP_LOGOUT_STATUS_SUCCESS));
        if (b->sub_status != NULL) {
            xmlNode *sub = xmlNewChild(n, samlp, BAD_CAST "StatusCode", NULL);
            xmlNewProp(sub, BAD_CAST "Value", BAD_CAST b->sub_status);
        }
    }
    return doc;
}

/* The root of doc serialised (no XML declaration, no reformatting) into out. */
static enum sp_err logout_dump(xmlDoc *doc, struct sp_buf *out)
{
    xmlBuffer *xb = xmlBufferCreate();
    enum sp_err rc = SP_ERR_SAML;

    if (xb != NULL && xmlNodeDump(xb, doc, xmlDocGetRootElement(doc), 0, 0) > 0)
        rc = sp_buf_add(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
    xmlBufferFree(xb);
    return rc;
}

enum sp_err sp_logout_xml(const struct sp_logout_build *b, struct sp_buf *xml)
{
    xmlDoc *doc = logout_tree(b);
    enum sp_err rc;

    if (doc == NULL)
        return SP_ERR_INVALID;
    rc = logout_dump(doc, xml);
    xmlFreeDoc(doc);
    return rc;
}

/* SLO-12, SLO-23 (POST): enveloped RSA-SHA256 signature right after saml:Issuer. */
static enum sp_err logout_sign_xml(const struct sp_logout_signer *s, xmlDoc *doc, const char *id)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *iss = child_first(root, NS_SAML, "Issuer", NULL);
    xmlNode *sig, *ref, *ki, *xd;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlAttr *idattr = xmlHasProp(root, BAD_CAST "ID");
    char uri[LOGOUT_MAX_ID + 2];
    enum sp_err rc = SP_ERR_SAML;

    if (iss == NULL || idattr == NULL || xmlAddID(NULL, doc, BAD_CAST id, idattr) == NULL)
        return SP_ERR_SAML;
    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
                                          xmlSecTransformRsaSha256Id, NULL, BAD_CAST "ds");
    if (sig == NULL)
        return SP_ERR_SAML;
    xmlAddNextSibling(iss, sig);
    snprintf(uri, sizeof(uri), "#%s", id);
    ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST uri, NULL);
    if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
        goto out;
    ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
    xd = ki ? xmlSecTmplKeyInfoAddX509Data(ki) : NULL;
    if (xd == NULL || xmlSecTmplX509DataAddCertificate(xd) == NULL)
        goto out;
    ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL)
        goto out;
    ctx->signKey = xmlSecKeyDuplicate(s->xml);
    if (ctx->signKey != NULL && xmlSecDSigCtxSign(ctx, sig) == 0)
        rc = SP_OK;
out:
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx); /* also destroys signKey */
    if (rc != SP_OK)
        sp_errorx("logout: cannot sign the message");
    return rc;
}

enum sp_err sp_logout_encode(const struct sp_logout_signer *s, const struct sp_logout_build *b,
                             bool post, const char *endpoint, const char *relay_state,
                             struct sp_logout_out *out)
{
    xmlDoc *doc = NULL;
    struct sp_buf xml, url, b64;
    const char *param = b->kind == SP_LOGOUT_KIND_REQUEST ? "SAMLRequest" : "SAMLResponse";
    enum sp_err rc = SP_ERR_INVALID;

    memset(out, 0, sizeof(*out));
    out->post = post;
    sp_buf_init(&xml, LOGOUT_MAX_XML_OUT);
    sp_buf_init(&url, 4 * LOGOUT_MAX_XML_OUT);
    sp_buf_init(&b64, 2 * LOGOUT_MAX_XML_OUT);
    if (s == NULL || endpoint == NULL)
        goto out;
    doc = logout_tree(b);
    if (doc == NULL)
        goto out;
    if (post) {
        rc = logout_sign_xml(s, doc, b->id);
        if (rc == SP_OK)
            rc = logout_dump(doc, &xml);
        if (rc == SP_OK)
            rc = sp_b64_encode(&b64, xml.data, xml.len);
        if (rc == SP_OK) {
            out->url = sp_xstrdup(endpoint);
            out->form_value = sp_buf_detach(&b64);
        }
    } else {
        rc = logout_dump(doc, &xml);
        if (rc == SP_OK)
            rc = sp_redirect_sign(s->query, endpoint, param, xml.data, xml.len, relay_state, &url);
        if (rc == SP_OK)
            out->url = sp_buf_detach(&url);
    }
    if (rc == SP_OK) {
        out->xml_len = xml.len;
        out->xml = sp_buf_detach(&xml);
    }
out:
    xmlFreeDoc(doc);
    sp_buf_cleanup(&xml);
    sp_buf_cleanup(&url);
    sp_buf_cleanup(&b64);
    if (rc != SP_OK)
        sp_logout_out_cleanup(out);
    return rc;
}

void sp_logout_out_cleanup(struct sp_logout_out *out)
{
    free(out->url);
    free(out->form_value);
    free(out->xml);
    memset(out, 0, sizeof(*out));
}

/* ------------------------------------------------------------------------ */
/* The SP's IdPs                                                            */
/* ------------------------------------------------------------------------ */

/* ResponseLocation of the IdP's SingleLogoutService for a binding, or NULL. */
static char *logout_response_location(const struct sp_idp_set *set, const char *idp, bool post)
{
    LassoProvider *p = lasso_server_get_provider(set->server, idp);
    char *v = p ? lasso_provider_get_metadata_one(
                      p, post ? "SingleLogoutService HTTP-POST ResponseLocation"
                              : "SingleLogoutService HTTP-Redirect ResponseLocation")
                : NULL;
    char *r = v != NULL && v[0] != '\0' ? sp_xstrdup(v) : NULL;

    g_free(v);
    return r;
}

enum sp_err sp_saml_logout_endpoint(const struct sp_idp_set *set, const char *idp,
                                    enum sp_binding pref, bool response, bool *post, char **url)
{
    const struct sp_idp_info *info = sp_idp_set_find(set, idp);
    bool want_post;

    *url = NULL;
    *post = false;
    if (info == NULL || (info->slo_redirect == NULL && info->slo_post == NULL))
        return SP_ERR_UNKNOWN_IDP;
    want_post = pref == SP_BINDING_POST;
    /* the preferred binding when offered, else the one the IdP has */
    if (want_post ? info->slo_post == NULL : info->slo_redirect == NULL)
        want_post = !want_post;
    *post = want_post;
    if (response)
        *url = logout_response_location(set, idp, want_post);
    if (*url == NULL)
        *url = sp_xstrdup(want_post ? info->slo_post : info->slo_redirect);
    return SP_OK;
}

struct sp_logout_signer *sp_saml_logout_signer(const struct sp_idp_set *set)
{
    /* lasso_server_new_from_buffers keeps the PEM texts themselves */
    return sp_logout_signer_new(set->server->private_key, set->server->certificate);
}
