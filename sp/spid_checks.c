/*
 * spid_checks: the SPID check layer on the raw Response XML (spec
 * spid-sp-rules.md §3, lasso-for-spid.md §7.3).
 *
 * Invariants kept here:
 * - Pure: no I/O, no clock, no lasso. The caller passes "now" and the
 *   expectation built from its own pending AuthnRequest.
 * - The Assertion whose data is read is the very node lasso verified: the
 *   structure checks prove there is exactly one saml:Assertion in the whole
 *   document, that it is a direct child of the Response, that its single
 *   enveloped signature references its own ID and that every ID value in the
 *   document is unique. Extraction then uses the node pointer found at parse
 *   time, never a second lookup by ID.
 * - Checks run in spec order, each in its own function, each returning its
 *   own enum sp_check and logging the exact reason (never values that could
 *   carry personal data, never XML).
 *
 * THREAD SAFETY NOTES: a struct sp_spid_response belongs to one request
 * thread. libxml2 must have been initialised (xmlInitParser, done by
 * lasso_init) before threads call sp_spid_response_parse.
 */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/spid_checks.h"
#include "sp/xmlsig.h"
#include "sp/str.h"
#include "sp/xml_prolog.h"

#define NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"

#define SAML_VERSION "2.0"
#define STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define FORMAT_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define FORMAT_TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define CM_BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define SPID_LEVEL_PREFIX "https://www.spid.gov.it/SpidL"

#define XP_R "/samlp:Response"
#define XP_A XP_R "/saml:Assertion"

/* No NOENT (entity substitution) and no DTDLOAD: a DTD is refused anyway. */
#define SPID_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* SPID defines 23 attributes; anything far beyond that is not an IdP. */
#define SP_SPID_MAX_ATTRIBUTES 128u

/* Longest XML declaration we look for the end of before the root. */

struct sp_spid_response {
    xmlDoc *doc;              /* owned */
    const xmlNode *root;      /* borrowed from doc */
    const xmlNode *assertion; /* first saml:Assertion child of a samlp:Response root, or NULL */
    char *in_response_to;     /* owned copy of Response@InResponseTo, or NULL */
};

/* State shared by the checks of one sp_spid_check_response call. */
struct chk {
    const struct sp_spid_response *r;
    const struct sp_check_expect *exp;
    struct sp_check_result *res;
    xmlXPathContext *xp; /* owned by sp_spid_check_response */
    int64_t skew_ms;
};

typedef enum sp_check (*chk_fn)(struct chk *c);

/* ------------------------------------------------------------------------ */
/* Codes, rules and messages                                                 */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    const char *rule;
    int status;
    const char *msg;
} check_info[] = {
#define SP_CHECK_INFO(name, rule, status, msg) {#name, rule, status, msg},
    SP_CHECK_MAP(SP_CHECK_INFO)
#undef SP_CHECK_INFO
};

const char *sp_check_name(enum sp_check c)
{
    if ((unsigned)c >= SP_CHECK__COUNT)
        return "UNKNOWN";
    return check_info[c].name;
}

const char *sp_check_rule(enum sp_check c)
{
    if ((unsigned)c >= SP_CHECK__COUNT)
        return "RS-??";
    return check_info[c].rule;
}

int sp_check_http_status(enum sp_check c)
{
    if ((unsigned)c >= SP_CHECK__COUNT)
        return 500;
    return check_info[c].status;
}

const char *sp_check_message(enum sp_check c)
{
    if ((unsigned)c >= SP_CHECK__COUNT)
        return "Si è verificato un errore durante l'accesso.";
    return check_info[c].msg;
}

/*
 * Anomaly texts (spec §7.1). The user anomalies say what happened and what
 * to do; nr08–nr18 are defects of our request, so the user only learns that
 * it is not their fault and whom to tell.
 */
static const struct {
    int code;
    const char *title;
    const char *message;
} anomalies[] = {
    {19, "Credenziali errate",
     "L'accesso non è riuscito perché sono state inserite più volte credenziali errate. "
     "Riprova inserendo con attenzione nome utente e password; se non li ricordi, "
     "recuperali dal sito del tuo gestore dell'identità SPID."},
    {20, "Livello di sicurezza SPID non disponibile",
     "Questo servizio richiede un livello di sicurezza SPID più alto di quello offerto dalle "
     "tue credenziali. Attiva presso il tuo gestore dell'identità SPID le credenziali del "
     "livello richiesto (ad esempio l'app o il codice temporaneo) e poi riprova."},
    {21, "Tempo scaduto",
     "L'accesso non è stato completato entro il tempo previsto. Riprova e completa "
     "l'autenticazione senza interruzioni."},
    {22, "Consenso negato",
     "Non hai dato il consenso all'invio dei tuoi dati a questo servizio, che senza di essi "
     "non può essere usato. Se vuoi accedere, riprova e acconsenti all'invio dei dati."},
    {23, "Identità SPID sospesa o revocata",
     "La tua identità SPID risulta sospesa o revocata, oppure le tue credenziali sono "
     "bloccate. Contatta il tuo gestore dell'identità SPID per ripristinarle, poi riprova."},
    {25, "Accesso annullato",
     "Hai annullato l'accesso con SPID. Se vuoi usare il servizio, riprova quando sei "
     "pronto."},
    {30, "Tipo di identità non adatto",
     "Hai usato un tipo di identità SPID diverso da quello richiesto da questo servizio "
     "(ad esempio un'identità personale invece di una per uso professionale o di una "
     "persona giuridica, o viceversa). Riprova scegliendo un'identità SPID del tipo "
     "richiesto."},
};

#define ANOMALY_REQUEST_TITLE "Richiesta di accesso non valida"
#define ANOMALY_REQUEST_MESSAGE                                                                    \
    "Il gestore dell'identità SPID ha rifiutato la richiesta di accesso inviata da questo "       \
    "servizio perché non rispetta le regole SPID. Non dipende da te: riprova più tardi e, se "   \
    "il problema continua, segnalalo all'assistenza di questo servizio."

static int anomaly_is_request_defect(int code)
{
    return code >= 8 && code <= 18;
}

const char *sp_anomaly_title(int code)
{
    for (size_t i = 0; i < sizeof(anomalies) / sizeof(anomalies[0]); i++)
        if (anomalies[i].code == code)
            return anomalies[i].title;
    return anomaly_is_request_defect(code) ? ANOMALY_REQUEST_TITLE : NULL;
}

const char *sp_anomaly_message(int code)
{
    for (size_t i = 0; i < sizeof(anomalies) / sizeof(anomalies[0]); i++)
        if (anomalies[i].code == code)
            return anomalies[i].message;
    return anomaly_is_request_defect(code) ? ANOMALY_REQUEST_MESSAGE : NULL;
}

/* ------------------------------------------------------------------------ */
/* Results and small DOM helpers                                             */
/* ------------------------------------------------------------------------ */

static void result_init(struct sp_check_result *res)
{
    memset(res, 0, sizeof(*res));
    res->code = SP_CHECK_OK;
}

/* Record a failure: code, English detail for the log, one log line. */
static enum sp_check check_fail(struct sp_check_result *res, enum sp_check code, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));

static enum sp_check check_fail(struct sp_check_result *res, enum sp_check code, const char *fmt,
                                ...)
{
    va_list ap;

    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    sp_debug("spid check %s (%s): %s", sp_check_name(code), sp_check_rule(code), res->detail);
    return code;
}

static int node_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST ns) && xmlStrEqual(n->name, BAD_CAST name);
}

/* First element child of parent named ns:name, and how many there are. */
static const xmlNode *child_first(const xmlNode *parent, const char *ns, const char *name,
                                  unsigned *count)
{
    const xmlNode *first = NULL;
    unsigned n = 0;

    for (const xmlNode *k = parent ? parent->children : NULL; k != NULL; k = k->next) {
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

static int has_element_child(const xmlNode *n)
{
    for (const xmlNode *k = n->children; k != NULL; k = k->next)
        if (k->type == XML_ELEMENT_NODE)
            return 1;
    return 0;
}

/* Copy of attribute name (no namespace) of n, or NULL when absent; free() it. */
static char *attr_dup(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    char *copy = v ? sp_xstrdup((const char *)v) : NULL;

    xmlFree(v);
    return copy;
}

/* Text of n (text and CDATA of all descendants, comments excluded), trimmed; free() it. */
static char *text_dup(const xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *copy = sp_str_trim_dup(v ? (const char *)v : "");

    xmlFree(v);
    return copy;
}

/*
 * name when it is a short plain token, else a placeholder: attribute names
 * come from the message and must not inject anything into the log.
 */
static const char *log_token(const char *name)
{
    size_t n = 0;

    for (const char *p = name; *p != '\0'; p++, n++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '_' || *p == '-' || *p == '.' || *p == ':';
        if (!ok || n >= 64)
            return "(unprintable)";
    }
    return name;
}

/* "https://www.spid.gov.it/SpidLn" → n (1..3); anything else → 0. */
static unsigned spid_level(const char *s)
{
    size_t plen = strlen(SPID_LEVEL_PREFIX);

    if (s == NULL || strncmp(s, SPID_LEVEL_PREFIX, plen) != 0)
        return 0;
    if (s[plen] >= '1' && s[plen] <= '3' && s[plen + 1] == '\0')
        return (unsigned)(s[plen] - '0');
    return 0;
}

/* "ErrorCode nrNN": the first "nr" followed by two digits, as nr(\d\d); 0 when none. */
static int status_anomaly(const char *msg)
{
    for (const char *p = msg ? strstr(msg, "nr") : NULL; p != NULL; p = strstr(p + 1, "nr")) {
        if (p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9')
            return (p[2] - '0') * 10 + (p[3] - '0');
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Value checks shared by the RS- rules                                      */
/* ------------------------------------------------------------------------ */

/* Attribute that must be present and non-empty; *out gets a copy (free() it). */
static enum sp_check attr_get(struct chk *c, const xmlNode *n, const char *elem, const char *name,
                              enum sp_check code, char **out)
{
    char *v = attr_dup(n, name);
    enum sp_check rc = SP_CHECK_OK;

    if (v == NULL)
        rc = check_fail(c->res, code, "%s@%s is missing", elem, name);
    else if (v[0] == '\0')
        rc = check_fail(c->res, code, "%s@%s is empty", elem, name);
    if (rc == SP_CHECK_OK && out != NULL) {
        *out = v;
        v = NULL;
    }
    free(v);
    return rc;
}

static enum sp_check attr_present(struct chk *c, const xmlNode *n, const char *elem,
                                  const char *name, enum sp_check code)
{
    return attr_get(c, n, elem, name, code, NULL);
}

/* Present, non-empty and equal to want (a NULL want never matches). */
static enum sp_check attr_equals(struct chk *c, const xmlNode *n, const char *elem,
                                 const char *name, const char *want, enum sp_check code)
{
    char *v = NULL;
    enum sp_check rc = attr_get(c, n, elem, name, code, &v);

    if (rc == SP_CHECK_OK && !sp_str_eq(v, want))
        rc = check_fail(c->res, code, "%s@%s does not have the expected value", elem, name);
    free(v);
    return rc;
}

/* Present, non-empty, strict UTC xs:dateTime. */
static enum sp_check attr_time(struct chk *c, const xmlNode *n, const char *elem, const char *name,
                               enum sp_check code, int64_t *ms)
{
    char *v = NULL;
    enum sp_check rc = attr_get(c, n, elem, name, code, &v);

    if (rc == SP_CHECK_OK && sp_time_parse(v, ms) != SP_OK)
        rc = check_fail(c->res, code, "%s@%s is not a valid UTC xs:dateTime", elem, name);
    free(v);
    return rc;
}

/* Element text (trimmed) that must be non-empty and, when want_check, equal to want. */
static enum sp_check text_equals(struct chk *c, const xmlNode *n, const char *elem, int want_check,
                                 const char *want, enum sp_check code)
{
    char *v = text_dup(n);
    enum sp_check rc = SP_CHECK_OK;

    if (v[0] == '\0')
        rc = check_fail(c->res, code, "%s is empty", elem);
    else if (want_check && !sp_str_eq(v, want))
        rc = check_fail(c->res, code, "%s does not have the expected value", elem);
    free(v);
    return rc;
}

/* RS-12/13, RS-31: IssueInstant valid, ≥ request − skew (inclusive) and ≤ now + skew. */
static enum sp_check issue_instant(struct chk *c, const xmlNode *n, const char *elem,
                                   enum sp_check bad, enum sp_check window, int64_t *out)
{
    int64_t t = 0;
    enum sp_check rc = attr_time(c, n, elem, "IssueInstant", bad, &t);

    *out = t;
    if (rc != SP_CHECK_OK)
        return rc;
    if (t < c->exp->request_issue_ms - c->skew_ms)
        return check_fail(c->res, window, "%s@IssueInstant is %" PRId64 " ms before the request",
                          elem, c->exp->request_issue_ms - t);
    if (t > c->exp->now_ms + c->skew_ms)
        return check_fail(c->res, window, "%s@IssueInstant is %" PRId64 " ms in the future", elem,
                          t - c->exp->now_ms);
    return SP_CHECK_OK;
}

/* RS-18, RS-32: exactly one saml:Issuer child of owner, equal to the IdP entity ID. */
static enum sp_check issuer_of(struct chk *c, const xmlNode *owner, const char *elem,
                               enum sp_check code, const xmlNode **issuer)
{
    unsigned n;
    const xmlNode *iss = child_first(owner, NS_SAML, "Issuer", &n);
    char what[64];

    if (n == 0)
        return check_fail(c->res, code, "%s has no saml:Issuer", elem);
    if (n > 1)
        return check_fail(c->res, code, "%s has %u saml:Issuer elements", elem, n);
    snprintf(what, sizeof(what), "%s Issuer", elem);
    *issuer = iss;
    return text_equals(c, iss, what, 1, c->exp->idp_entity_id, code);
}

/* ------------------------------------------------------------------------ */
/* XPath helpers                                                             */
/* ------------------------------------------------------------------------ */

static xmlXPathContext *xpath_new(xmlDoc *doc)
{
    xmlXPathContext *xp = xmlXPathNewContext(doc);

    if (xp == NULL)
        return NULL;
    if (xmlXPathRegisterNs(xp, BAD_CAST "samlp", BAD_CAST NS_SAMLP) != 0 ||
        xmlXPathRegisterNs(xp, BAD_CAST "saml", BAD_CAST NS_SAML) != 0 ||
        xmlXPathRegisterNs(xp, BAD_CAST "ds", BAD_CAST NS_DS) != 0) {
        xmlXPathFreeContext(xp);
        return NULL;
    }
    return xp;
}

/* Node set of an absolute expression; NULL on evaluation failure. Free with xmlXPathFreeObject. */
static xmlXPathObject *xp_nodes(struct chk *c, const char *expr)
{
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, c->xp);

    if (o != NULL && o->type != XPATH_NODESET) {
        xmlXPathFreeObject(o);
        o = NULL;
    }
    return o;
}

static int xp_size(const xmlXPathObject *o)
{
    return o->nodesetval ? o->nodesetval->nodeNr : 0;
}

/* Number of nodes matched, or -1 when the expression could not be evaluated. */
static int xp_count(struct chk *c, const char *expr)
{
    xmlXPathObject *o = xp_nodes(c, expr);
    int n = o ? xp_size(o) : -1;

    xmlXPathFreeObject(o);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Structure and algorithms (RS-05, RS-06, RS-20, RS-23, RS-24)              */
/* ------------------------------------------------------------------------ */

/* RS-06: the root is samlp:Response in the protocol namespace. */
static enum sp_check check_root(struct chk *c)
{
    if (!node_is(c->r->root, NS_SAMLP, "Response"))
        return check_fail(c->res, SP_CHECK_ROOT, "root element is not samlp:Response");
    return SP_CHECK_OK;
}

/* RS-23: at most one saml:Assertion in the document, a direct child of the Response. */
static enum sp_check check_assertion_placement(struct chk *c)
{
    int all = xp_count(c, "//saml:Assertion");
    int direct = xp_count(c, XP_A);
    int enc = xp_count(c, "//saml:EncryptedAssertion");

    if (all < 0 || direct < 0 || enc < 0)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE, "XPath evaluation failed");
    if (enc > 0)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                          "EncryptedAssertion is not accepted");
    if (all > 1)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                          "%d saml:Assertion elements, at most one allowed", all);
    if (all != direct)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                          "the saml:Assertion is not a direct child of the Response");
    SP_ASSERT((direct == 1) == (c->r->assertion != NULL));
    return SP_CHECK_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * RS-23: every ID value is unique, so a Reference "#x" designates one element.
 * ID, Id, id and xml:id are pooled: xmlsec resolves references through any
 * of them. Empty values are left to the RS-10/RS-30 checks.
 */
static enum sp_check check_unique_ids(struct chk *c)
{
    xmlXPathObject *o = xp_nodes(c, "//@*[local-name()='ID' or local-name()='Id' or "
                                    "local-name()='id']");
    char **vals = NULL;
    int n = 0, used = 0;
    enum sp_check rc = SP_CHECK_OK;

    if (o == NULL) {
        rc = check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE, "XPath evaluation failed");
        goto out;
    }
    n = xp_size(o);
    vals = sp_xcalloc(n > 0 ? (size_t)n : 1, sizeof(*vals));
    for (int i = 0; i < n; i++) {
        char *v = text_dup(o->nodesetval->nodeTab[i]);
        if (v[0] == '\0') {
            free(v);
            continue;
        }
        vals[used++] = v;
    }
    qsort(vals, (size_t)used, sizeof(*vals), cmp_str);
    for (int i = 1; i < used; i++) {
        if (strcmp(vals[i - 1], vals[i]) == 0) {
            rc = check_fail(c->res, SP_CHECK_DUPLICATE_ID,
                            "the same ID value is carried by two attributes");
            break;
        }
    }
out:
    for (int i = 0; i < used; i++)
        free(vals[i]);
    free(vals);
    xmlXPathFreeObject(o);
    return rc;
}

/*
 * RS-23: sig (a direct child of owner) has one SignedInfo with one
 * CanonicalizationMethod, one SignatureMethod and one Reference (with one
 * DigestMethod) whose URI is "#" + owner@ID. When owner has no ID the
 * comparison is left to RS-10/RS-30, which reject the message anyway.
 */
static enum sp_check signature_shape(struct chk *c, const xmlNode *owner, const xmlNode *sig,
                                     const char *elem)
{
    const xmlNode *si, *ref;
    unsigned n_si, n_ref, n_c14n, n_sm, n_dm;
    char *id = NULL, *uri = NULL;
    enum sp_check rc = SP_CHECK_OK;

    si = child_first(sig, NS_DS, "SignedInfo", &n_si);
    if (n_si != 1) {
        rc = check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                        "%s signature has %u SignedInfo elements", elem, n_si);
        goto out;
    }
    ref = child_first(si, NS_DS, "Reference", &n_ref);
    child_first(si, NS_DS, "CanonicalizationMethod", &n_c14n);
    child_first(si, NS_DS, "SignatureMethod", &n_sm);
    if (n_ref != 1 || n_c14n != 1 || n_sm != 1) {
        rc = check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                        "%s SignedInfo needs one Reference, CanonicalizationMethod and "
                        "SignatureMethod (has %u, %u, %u)",
                        elem, n_ref, n_c14n, n_sm);
        goto out;
    }
    child_first(ref, NS_DS, "DigestMethod", &n_dm);
    if (n_dm != 1) {
        rc = check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                        "%s Reference has %u DigestMethod elements", elem, n_dm);
        goto out;
    }
    id = attr_dup(owner, "ID");
    if (id == NULL || id[0] == '\0')
        goto out;
    uri = attr_dup(ref, "URI");
    if (uri == NULL || uri[0] != '#' || strcmp(uri + 1, id) != 0)
        rc = check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                        "%s signature Reference does not designate the %s ID", elem, elem);
out:
    free(id);
    free(uri);
    return rc;
}

/*
 * RS-20, RS-23: the Assertion carries exactly one enveloped signature over
 * itself; the Response signature, when present, is one enveloped signature
 * over the Response; no other ds:Signature exists anywhere (validator
 * 112/113 put a signed md:EntityDescriptor next to the Assertion).
 */
static enum sp_check check_signatures(struct chk *c)
{
    const xmlNode *sig;
    unsigned n_a = 0, n_r;
    int all;
    enum sp_check rc = SP_CHECK_OK;

    if (c->r->assertion != NULL) {
        sig = child_first(c->r->assertion, NS_DS, "Signature", &n_a);
        if (n_a == 0)
            return check_fail(c->res, SP_CHECK_ASSERTION_UNSIGNED,
                              "the Assertion has no enveloped ds:Signature");
        if (n_a > 1)
            return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                              "the Assertion has %u ds:Signature children", n_a);
        rc = signature_shape(c, c->r->assertion, sig, "Assertion");
        if (rc != SP_CHECK_OK)
            return rc;
    }
    sig = child_first(c->r->root, NS_DS, "Signature", &n_r);
    if (n_r > 1)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                          "the Response has %u ds:Signature children", n_r);
    if (n_r == 1) {
        rc = signature_shape(c, c->r->root, sig, "Response");
        if (rc != SP_CHECK_OK)
            return rc;
    }
    all = xp_count(c, "//ds:Signature");
    if (all < 0 || (unsigned)all != n_a + n_r)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE,
                          "ds:Signature found outside the Response and Assertion");
    return SP_CHECK_OK;
}

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

/* Every element matched by expr has an Algorithm in allowed. */
static enum sp_check algorithms_in(struct chk *c, const char *expr, const char *const *allowed,
                                   const char *what)
{
    xmlXPathObject *o = xp_nodes(c, expr);
    enum sp_check rc = SP_CHECK_OK;

    if (o == NULL)
        return check_fail(c->res, SP_CHECK_SIGNATURE_STRUCTURE, "XPath evaluation failed");
    for (int i = 0; i < xp_size(o) && rc == SP_CHECK_OK; i++) {
        char *alg = attr_dup(o->nodesetval->nodeTab[i], "Algorithm");
        int ok = 0;
        for (size_t k = 0; alg != NULL && allowed[k] != NULL; k++)
            ok |= strcmp(alg, allowed[k]) == 0;
        if (!ok)
            rc = check_fail(c->res, SP_CHECK_SIGNATURE_ALGORITHM, "%s Algorithm not allowed%s",
                            what, alg && strstr(alg, "sha1") ? " (SHA-1)" : "");
        free(alg);
    }
    xmlXPathFreeObject(o);
    return rc;
}

/* RS-24: rsa-sha256/384/512, sha256/384/512, exc-c14n, enveloped-signature only. */
static enum sp_check check_algorithms(struct chk *c)
{
    enum sp_check rc = algorithms_in(c, "//ds:SignatureMethod", alg_signature, "SignatureMethod");

    if (rc == SP_CHECK_OK)
        rc = algorithms_in(c, "//ds:DigestMethod", alg_digest, "DigestMethod");
    if (rc == SP_CHECK_OK)
        rc = algorithms_in(c, "//ds:CanonicalizationMethod", alg_c14n, "CanonicalizationMethod");
    if (rc == SP_CHECK_OK)
        rc = algorithms_in(c, "//ds:Transform", alg_transform, "Transform");
    return rc;
}

/*
 * RS-23: exclusive C14N drops comments, so a comment inside the signed
 * Assertion ("TINIT-RSS<!---->MRA...") keeps the signature valid while it
 * splits a value in two text nodes. Refuse them all.
 */
static enum sp_check check_comments(struct chk *c)
{
    int n;

    if (c->r->assertion == NULL)
        return SP_CHECK_OK;
    n = xp_count(c, XP_A "//comment()");
    if (n != 0)
        return check_fail(c->res, SP_CHECK_COMMENT, "the Assertion contains XML comments");
    return SP_CHECK_OK;
}

/* ------------------------------------------------------------------------ */
/* Response element, Issuer and Status (RS-10..RS-19)                        */
/* ------------------------------------------------------------------------ */

static enum sp_check check_response_id(struct chk *c)
{
    return attr_present(c, c->r->root, "Response", "ID", SP_CHECK_RESPONSE_ID);
}

static enum sp_check check_response_version(struct chk *c)
{
    return attr_equals(c, c->r->root, "Response", "Version", SAML_VERSION,
                       SP_CHECK_RESPONSE_VERSION);
}

static enum sp_check check_response_issue_instant(struct chk *c)
{
    int64_t t = 0;
    enum sp_check rc = issue_instant(c, c->r->root, "Response", SP_CHECK_RESPONSE_ISSUE_INSTANT,
                                     SP_CHECK_RESPONSE_TIME, &t);
    /* the IdP's clock as it stamped this Response: the skew gauge (trust it once verified) */
    if (rc == SP_CHECK_OK)
        c->res->response_skew_ms = t - c->exp->now_ms;
    return rc;
}

static enum sp_check check_response_in_response_to(struct chk *c)
{
    return attr_equals(c, c->r->root, "Response", "InResponseTo", c->exp->request_id,
                       SP_CHECK_IN_RESPONSE_TO);
}

static enum sp_check check_response_destination(struct chk *c)
{
    return attr_equals(c, c->r->root, "Response", "Destination", c->exp->acs_url,
                       SP_CHECK_DESTINATION);
}

/* RS-18, RS-19: Issuer = IdP entity ID; Format absent or exactly entity. */
static enum sp_check check_response_issuer(struct chk *c)
{
    const xmlNode *iss = NULL;
    char *fmt = NULL;
    enum sp_check rc = issuer_of(c, c->r->root, "Response", SP_CHECK_RESPONSE_ISSUER, &iss);

    if (rc != SP_CHECK_OK)
        return rc;
    fmt = attr_dup(iss, "Format");
    if (fmt != NULL && strcmp(fmt, FORMAT_ENTITY) != 0)
        rc = check_fail(c->res, SP_CHECK_RESPONSE_ISSUER_FORMAT,
                        "Response Issuer@Format is %s, not nameid-format:entity",
                        fmt[0] ? "another value" : "empty");
    free(fmt);
    return rc;
}

/*
 * RS-16: Status/StatusCode@Value present. Anything but Success is
 * STATUS_FAILURE with the status fields and the nrNN anomaly filled in.
 */
static enum sp_check check_status(struct chk *c)
{
    const xmlNode *status, *code, *sub, *msg;
    unsigned n;
    char *value = NULL, *subv = NULL, *text = NULL;
    int anomaly;
    enum sp_check rc = SP_CHECK_OK;

    status = child_first(c->r->root, NS_SAMLP, "Status", &n);
    if (n != 1) {
        rc = check_fail(c->res, SP_CHECK_STATUS, "Response has %u samlp:Status elements", n);
        goto out;
    }
    code = child_first(status, NS_SAMLP, "StatusCode", &n);
    if (n != 1) {
        rc = check_fail(c->res, SP_CHECK_STATUS, "Status has %u StatusCode elements", n);
        goto out;
    }
    rc = attr_get(c, code, "StatusCode", "Value", SP_CHECK_STATUS, &value);
    if (rc != SP_CHECK_OK)
        goto out;
    sp_strlcpy(c->res->status_code, value, sizeof(c->res->status_code));
    sub = child_first(code, NS_SAMLP, "StatusCode", NULL);
    subv = sub ? attr_dup(sub, "Value") : NULL;
    if (subv != NULL)
        sp_strlcpy(c->res->sub_status, subv, sizeof(c->res->sub_status));
    if (strcmp(value, STATUS_SUCCESS) == 0)
        goto out;
    msg = child_first(status, NS_SAMLP, "StatusMessage", NULL);
    text = msg ? text_dup(msg) : NULL;
    anomaly = status_anomaly(text);
    rc = check_fail(c->res, SP_CHECK_STATUS_FAILURE, "status is not Success (anomaly nr%02d)",
                    anomaly);
    c->res->anomaly = anomaly;
out:
    free(value);
    free(subv);
    free(text);
    return rc;
}

/* RS-17: a Success Response carries the Assertion. */
static enum sp_check check_assertion_present(struct chk *c)
{
    if (c->r->assertion == NULL)
        return check_fail(c->res, SP_CHECK_NO_ASSERTION, "Success status without an Assertion");
    return SP_CHECK_OK;
}

/* ------------------------------------------------------------------------ */
/* Assertion (RS-30..RS-82)                                                  */
/* ------------------------------------------------------------------------ */

static enum sp_check check_assertion_id(struct chk *c)
{
    return attr_present(c, c->r->assertion, "Assertion", "ID", SP_CHECK_ASSERTION_ID);
}

static enum sp_check check_assertion_version(struct chk *c)
{
    return attr_equals(c, c->r->assertion, "Assertion", "Version", SAML_VERSION,
                       SP_CHECK_ASSERTION_VERSION);
}

static enum sp_check check_assertion_issue_instant(struct chk *c)
{
    int64_t t;
    return issue_instant(c, c->r->assertion, "Assertion", SP_CHECK_ASSERTION_ISSUE_INSTANT,
                         SP_CHECK_ASSERTION_TIME, &t);
}

/* RS-32: Issuer = IdP entity ID and, unlike RS-19, Format mandatory = entity. */
static enum sp_check check_assertion_issuer(struct chk *c)
{
    const xmlNode *iss = NULL;
    enum sp_check rc = issuer_of(c, c->r->assertion, "Assertion", SP_CHECK_ASSERTION_ISSUER, &iss);

    if (rc != SP_CHECK_OK)
        return rc;
    return attr_equals(c, iss, "Assertion Issuer", "Format", FORMAT_ENTITY,
                       SP_CHECK_ASSERTION_ISSUER_FORMAT);
}

/* The single Subject of the Assertion (check_subject proved it unique). */
static const xmlNode *assertion_subject(const xmlNode *a)
{
    return child_first(a, NS_SAML, "Subject", NULL);
}

/* RS-40: one saml:Subject, not empty. */
static enum sp_check check_subject(struct chk *c)
{
    unsigned n;
    const xmlNode *subj = child_first(c->r->assertion, NS_SAML, "Subject", &n);

    if (n != 1)
        return check_fail(c->res, SP_CHECK_SUBJECT, "Assertion has %u saml:Subject elements", n);
    if (!has_element_child(subj))
        return check_fail(c->res, SP_CHECK_SUBJECT, "Subject is empty");
    return SP_CHECK_OK;
}

/* RS-41..RS-43: one NameID, non-empty, Format transient, NameQualifier non-empty. */
static enum sp_check check_name_id(struct chk *c)
{
    unsigned n;
    const xmlNode *nid = child_first(assertion_subject(c->r->assertion), NS_SAML, "NameID", &n);
    enum sp_check rc;

    if (n != 1)
        return check_fail(c->res, SP_CHECK_NAMEID, "Subject has %u saml:NameID elements", n);
    rc = text_equals(c, nid, "NameID", 0, NULL, SP_CHECK_NAMEID);
    if (rc == SP_CHECK_OK)
        rc = attr_equals(c, nid, "NameID", "Format", FORMAT_TRANSIENT, SP_CHECK_NAMEID_FORMAT);
    if (rc == SP_CHECK_OK)
        rc = attr_present(c, nid, "NameID", "NameQualifier", SP_CHECK_NAMEID_QUALIFIER);
    return rc;
}

/* RS-50: exactly one SubjectConfirmation, Method bearer. */
static enum sp_check check_subject_confirmation(struct chk *c)
{
    unsigned n;
    const xmlNode *sc =
        child_first(assertion_subject(c->r->assertion), NS_SAML, "SubjectConfirmation", &n);

    if (n != 1)
        return check_fail(c->res, SP_CHECK_SUBJECT_CONFIRMATION,
                          "Subject has %u SubjectConfirmation elements, one required", n);
    return attr_equals(c, sc, "SubjectConfirmation", "Method", CM_BEARER,
                       SP_CHECK_SUBJECT_CONFIRMATION);
}

/* RS-51..RS-54: SubjectConfirmationData Recipient, InResponseTo, NotOnOrAfter. */
static enum sp_check check_subject_confirmation_data(struct chk *c)
{
    const xmlNode *sc =
        child_first(assertion_subject(c->r->assertion), NS_SAML, "SubjectConfirmation", NULL);
    unsigned n;
    const xmlNode *scd = child_first(sc, NS_SAML, "SubjectConfirmationData", &n);
    const char *elem = "SubjectConfirmationData";
    int64_t t = 0;
    enum sp_check rc;

    if (n != 1)
        return check_fail(c->res, SP_CHECK_SUBJECT_CONFIRMATION_DATA,
                          "SubjectConfirmation has %u SubjectConfirmationData elements", n);
    rc = attr_equals(c, scd, elem, "Recipient", c->exp->acs_url, SP_CHECK_RECIPIENT);
    if (rc == SP_CHECK_OK)
        rc = attr_equals(c, scd, elem, "InResponseTo", c->exp->request_id,
                         SP_CHECK_SCD_IN_RESPONSE_TO);
    if (rc == SP_CHECK_OK)
        rc = attr_time(c, scd, elem, "NotOnOrAfter", SP_CHECK_SCD_NOT_ON_OR_AFTER, &t);
    if (rc == SP_CHECK_OK && !(c->exp->now_ms < t + c->skew_ms))
        rc = check_fail(c->res, SP_CHECK_SCD_NOT_ON_OR_AFTER,
                        "SubjectConfirmationData@NotOnOrAfter passed %" PRId64 " ms ago",
                        c->exp->now_ms - t);
    return rc;
}

/* The single Conditions of the Assertion (check_conditions proved it unique). */
static const xmlNode *assertion_conditions(const xmlNode *a)
{
    return child_first(a, NS_SAML, "Conditions", NULL);
}

/* RS-60..RS-62: one non-empty Conditions, NotBefore ≤ now + skew, now < NotOnOrAfter + skew. */
static enum sp_check check_conditions(struct chk *c)
{
    unsigned n;
    const xmlNode *cond = child_first(c->r->assertion, NS_SAML, "Conditions", &n);
    int64_t nb = 0, na = 0;
    enum sp_check rc;

    if (n != 1)
        return check_fail(c->res, SP_CHECK_CONDITIONS, "Assertion has %u Conditions elements", n);
    if (cond->properties == NULL && !has_element_child(cond))
        return check_fail(c->res, SP_CHECK_CONDITIONS, "Conditions is empty");
    rc = attr_time(c, cond, "Conditions", "NotBefore", SP_CHECK_NOT_BEFORE, &nb);
    if (rc == SP_CHECK_OK && nb > c->exp->now_ms + c->skew_ms)
        rc =
            check_fail(c->res, SP_CHECK_NOT_BEFORE,
                       "Conditions@NotBefore is %" PRId64 " ms in the future", nb - c->exp->now_ms);
    if (rc == SP_CHECK_OK)
        rc = attr_time(c, cond, "Conditions", "NotOnOrAfter", SP_CHECK_NOT_ON_OR_AFTER, &na);
    if (rc == SP_CHECK_OK && !(c->exp->now_ms < na + c->skew_ms))
        rc = check_fail(c->res, SP_CHECK_NOT_ON_OR_AFTER,
                        "Conditions@NotOnOrAfter passed %" PRId64 " ms ago", c->exp->now_ms - na);
    return rc;
}

/* RS-63: one AudienceRestriction with non-empty Audiences, one of them our entity ID. */
static enum sp_check check_audience(struct chk *c)
{
    unsigned n, n_aud = 0;
    const xmlNode *ar =
        child_first(assertion_conditions(c->r->assertion), NS_SAML, "AudienceRestriction", &n);
    int match = 0;
    enum sp_check rc = SP_CHECK_OK;

    if (n != 1)
        return check_fail(c->res, SP_CHECK_AUDIENCE,
                          "Conditions has %u AudienceRestriction elements, one required", n);
    for (const xmlNode *k = ar->children; k != NULL && rc == SP_CHECK_OK; k = k->next) {
        char *v;
        if (!node_is(k, NS_SAML, "Audience"))
            continue;
        n_aud++;
        v = text_dup(k);
        if (v[0] == '\0')
            rc = check_fail(c->res, SP_CHECK_AUDIENCE, "Audience is empty");
        match |= sp_str_eq(v, c->exp->sp_entity_id);
        free(v);
    }
    if (rc == SP_CHECK_OK && n_aud == 0)
        rc = check_fail(c->res, SP_CHECK_AUDIENCE, "AudienceRestriction has no Audience");
    if (rc == SP_CHECK_OK && !match)
        rc = check_fail(c->res, SP_CHECK_AUDIENCE, "no Audience is the SP entity ID");
    return rc;
}

/* AuthnStatement/AuthnContext/AuthnContextClassRef, or NULL when any step is missing. */
static const xmlNode *assertion_class_ref(const xmlNode *a)
{
    const xmlNode *st = child_first(a, NS_SAML, "AuthnStatement", NULL);
    const xmlNode *ctx = child_first(st, NS_SAML, "AuthnContext", NULL);

    return child_first(ctx, NS_SAML, "AuthnContextClassRef", NULL);
}

/* RS-70: one non-empty AuthnStatement with AuthnContext/AuthnContextClassRef. */
static enum sp_check check_authn_statement(struct chk *c)
{
    unsigned n;
    const xmlNode *st = child_first(c->r->assertion, NS_SAML, "AuthnStatement", &n);
    const xmlNode *ctx, *ref;

    if (n != 1)
        return check_fail(c->res, SP_CHECK_AUTHN_STATEMENT,
                          "Assertion has %u AuthnStatement elements, one required", n);
    if (!has_element_child(st))
        return check_fail(c->res, SP_CHECK_AUTHN_STATEMENT, "AuthnStatement is empty");
    ctx = child_first(st, NS_SAML, "AuthnContext", &n);
    if (n != 1)
        return check_fail(c->res, SP_CHECK_AUTHN_STATEMENT,
                          "AuthnStatement has %u AuthnContext elements", n);
    ref = child_first(ctx, NS_SAML, "AuthnContextClassRef", &n);
    if (n != 1)
        return check_fail(c->res, SP_CHECK_AUTHN_STATEMENT,
                          "AuthnContext has %u AuthnContextClassRef elements", n);
    return text_equals(c, ref, "AuthnContextClassRef", 0, NULL, SP_CHECK_AUTHN_STATEMENT);
}

/* RS-71: the class is one of https://www.spid.gov.it/SpidL1|2|3 (legacy URNs refused). */
static enum sp_check check_authn_context(struct chk *c)
{
    char *v = text_dup(assertion_class_ref(c->r->assertion));
    enum sp_check rc = SP_CHECK_OK;

    if (spid_level(v) == 0)
        rc = check_fail(c->res, SP_CHECK_AUTHN_CONTEXT,
                        "AuthnContextClassRef is not a SPID level URI");
    free(v);
    return rc;
}

/*
 * §3.3, the outcome spid-sp-test expects for cases 94–96: a higher level
 * is always accepted, an equal one unless "better", a lower one only with
 * "maximum". With "minimum" (the recommended Comparison) this is got ≥ req.
 */
static int level_accepted(unsigned got, unsigned req, const char *cmp)
{
    if (got > req)
        return 1;
    if (got == req)
        return strcmp(cmp, "better") != 0;
    return strcmp(cmp, "maximum") == 0;
}

/* RS-72: level against the requested level and Comparison. */
static enum sp_check check_level(struct chk *c)
{
    char *v = text_dup(assertion_class_ref(c->r->assertion));
    unsigned got = spid_level(v);
    const char *cmp = c->exp->comparison ? c->exp->comparison : "minimum";
    enum sp_check rc = SP_CHECK_OK;

    if (strcmp(cmp, "minimum") != 0 && strcmp(cmp, "exact") != 0 && strcmp(cmp, "better") != 0 &&
        strcmp(cmp, "maximum") != 0)
        rc = check_fail(c->res, SP_CHECK_LEVEL, "unknown requested Comparison");
    else if (!level_accepted(got, c->exp->level, cmp))
        rc = check_fail(c->res, SP_CHECK_LEVEL, "SpidL%u does not satisfy %s SpidL%u", got, cmp,
                        c->exp->level);
    free(v);
    return rc;
}

/* Is there an Attribute named name among the AttributeStatements of a? */
static int assertion_has_attribute(const xmlNode *a, const char *name)
{
    int found = 0;

    for (const xmlNode *st = a->children; st != NULL && !found; st = st->next) {
        if (!node_is(st, NS_SAML, "AttributeStatement"))
            continue;
        for (const xmlNode *at = st->children; at != NULL && !found; at = at->next) {
            char *v;
            if (!node_is(at, NS_SAML, "Attribute"))
                continue;
            v = attr_dup(at, "Name");
            found = sp_str_eq(v, name);
            free(v);
        }
    }
    return found;
}

/* RS-80: one Attribute: non-empty Name, ≥ 1 non-empty AttributeValue, Name not seen before. */
static enum sp_check attribute_valid(struct chk *c, const xmlNode *at, char **seen, unsigned n_seen)
{
    char *name = NULL;
    unsigned n_values = 0;
    enum sp_check rc = attr_get(c, at, "Attribute", "Name", SP_CHECK_ATTRIBUTES, &name);

    if (rc != SP_CHECK_OK)
        return rc;
    for (unsigned i = 0; i < n_seen; i++) {
        if (strcmp(seen[i], name) == 0) {
            rc = check_fail(c->res, SP_CHECK_ATTRIBUTES, "attribute %s is repeated",
                            log_token(seen[i]));
            goto out;
        }
    }
    for (const xmlNode *v = at->children; v != NULL; v = v->next) {
        char *text;
        if (!node_is(v, NS_SAML, "AttributeValue"))
            continue;
        text = text_dup(v);
        n_values += text[0] != '\0';
        free(text);
    }
    if (n_values == 0)
        rc = check_fail(c->res, SP_CHECK_ATTRIBUTES, "attribute %s has no non-empty value",
                        log_token(name));
out:
    if (rc == SP_CHECK_OK) {
        seen[n_seen] = name;
        name = NULL;
    }
    free(name);
    return rc;
}

/* RS-80/81: every AttributeStatement holds valid Attributes (NameFormat not required). */
static enum sp_check check_attribute_statements(struct chk *c)
{
    char **seen = sp_xcalloc(SP_SPID_MAX_ATTRIBUTES, sizeof(*seen));
    unsigned n_seen = 0;
    enum sp_check rc = SP_CHECK_OK;

    for (const xmlNode *st = c->r->assertion->children; st != NULL && rc == SP_CHECK_OK;
         st = st->next) {
        unsigned n_attrs = 0;
        if (!node_is(st, NS_SAML, "AttributeStatement"))
            continue;
        for (const xmlNode *at = st->children; at != NULL && rc == SP_CHECK_OK; at = at->next) {
            if (!node_is(at, NS_SAML, "Attribute"))
                continue;
            n_attrs++;
            if (n_seen == SP_SPID_MAX_ATTRIBUTES)
                rc = check_fail(c->res, SP_CHECK_ATTRIBUTES, "more than %u attributes",
                                SP_SPID_MAX_ATTRIBUTES);
            else
                rc = attribute_valid(c, at, seen, n_seen);
            if (rc == SP_CHECK_OK)
                n_seen++;
        }
        if (rc == SP_CHECK_OK && n_attrs == 0)
            rc = check_fail(c->res, SP_CHECK_ATTRIBUTES, "AttributeStatement has no Attribute");
    }
    for (unsigned i = 0; i < n_seen; i++)
        free(seen[i]);
    free(seen);
    return rc;
}

/* RS-82: the attributes the service cannot work without are all there. */
static enum sp_check check_required_attributes(struct chk *c)
{
    for (unsigned i = 0; i < c->exp->n_required; i++) {
        const char *name = c->exp->required_attrs[i];
        if (!assertion_has_attribute(c->r->assertion, name))
            return check_fail(c->res, SP_CHECK_ATTRIBUTE_MISSING,
                              "required attribute %s is missing", name);
    }
    return SP_CHECK_OK;
}

/* ------------------------------------------------------------------------ */
/* Parse, check, extract                                                     */
/* ------------------------------------------------------------------------ */

/* RS-05: only an optional BOM, one XML declaration (case 109) and whitespace before the root. */
static enum sp_check response_prolog(const void *p, size_t len, struct sp_check_result *res)
{
    const char *why;
    switch (sp_xml_prolog_check(p, len, &why)) {
    case SP_XML_PROLOG_OK:
        return SP_CHECK_OK;
    case SP_XML_PROLOG_DTD:
        return check_fail(res, SP_CHECK_DTD, "%s", why);
    default:
        return check_fail(res, SP_CHECK_MALFORMED, "%s", why);
    }
}

struct sp_spid_response *sp_spid_response_parse(const void *xml, size_t len,
                                                struct sp_check_result *res)
{
    struct sp_spid_response *r = NULL;
    xmlDoc *doc = NULL;
    xmlNode *root;
    xmlChar *irt;

    SP_ASSERT(res != NULL);
    result_init(res);
    if (xml == NULL || len == 0) {
        check_fail(res, SP_CHECK_MALFORMED, "empty Response");
        goto out;
    }
    if (len > SP_MAX_RESPONSE_BYTES) {
        check_fail(res, SP_CHECK_TOO_LARGE, "Response of %zu bytes, limit %u", len,
                   SP_MAX_RESPONSE_BYTES);
        goto out;
    }
    if (response_prolog(xml, len, res) != SP_CHECK_OK)
        goto out;
    doc = xmlReadMemory(xml, (int)len, NULL, NULL, SPID_XML_OPTIONS);
    if (doc == NULL) {
        check_fail(res, SP_CHECK_MALFORMED, "Response is not well-formed XML");
        goto out;
    }
    /* Entities can only be declared in a DTD: no subset, no entity declaration. */
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        check_fail(res, SP_CHECK_DTD, "document type declaration refused");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL) {
        check_fail(res, SP_CHECK_MALFORMED, "Response has no root element");
        goto out;
    }
    r = sp_xcalloc(1, sizeof(*r));
    r->doc = doc;
    doc = NULL;
    r->root = root;
    if (node_is(root, NS_SAMLP, "Response")) {
        r->assertion = child_first(root, NS_SAML, "Assertion", NULL);
        irt = xmlGetNoNsProp(root, BAD_CAST "InResponseTo");
        if (irt != NULL)
            r->in_response_to = sp_xstrdup((const char *)irt);
        xmlFree(irt);
    }
out:
    xmlFreeDoc(doc);
    return r;
}

void sp_spid_response_free(struct sp_spid_response **r)
{
    if (r == NULL || *r == NULL)
        return;
    xmlFreeDoc((*r)->doc);
    free((*r)->in_response_to);
    free(*r);
    *r = NULL;
}

const char *sp_spid_response_in_response_to(const struct sp_spid_response *r)
{
    return r ? r->in_response_to : NULL;
}

/* Spec §3.2 order; the first failing check decides. */
static const chk_fn response_checks[] = {
    /* structure and algorithms */
    check_root,
    check_assertion_placement,
    check_unique_ids,
    check_signatures,
    check_algorithms,
    check_comments,
    /* Response attributes, Issuer, Status */
    check_response_id,
    check_response_version,
    check_response_issue_instant,
    check_response_in_response_to,
    check_response_destination,
    check_response_issuer,
    check_status,
    check_assertion_present,
    /* Assertion */
    check_assertion_id,
    check_assertion_version,
    check_assertion_issue_instant,
    check_assertion_issuer,
    check_subject,
    check_name_id,
    check_subject_confirmation,
    check_subject_confirmation_data,
    check_conditions,
    check_audience,
    check_authn_statement,
    check_authn_context,
    check_level,
    check_attribute_statements,
    check_required_attributes,
};

enum sp_check sp_spid_check_response(const struct sp_spid_response *r,
                                     const struct sp_check_expect *exp, struct sp_check_result *res)
{
    struct chk c = {.r = r, .exp = exp, .res = res, .xp = NULL, .skew_ms = 0};

    SP_ASSERT(exp != NULL && res != NULL);
    result_init(res);
    if (r == NULL) {
        check_fail(res, SP_CHECK_MALFORMED, "no parsed Response");
        goto out;
    }
    c.skew_ms = (int64_t)exp->skew_sec * 1000;
    c.xp = xpath_new(r->doc);
    if (c.xp == NULL) {
        check_fail(res, SP_CHECK_MALFORMED, "cannot create an XPath context");
        goto out;
    }
    for (size_t i = 0; i < sizeof(response_checks) / sizeof(response_checks[0]); i++)
        if (response_checks[i](&c) != SP_CHECK_OK)
            break;
    if (res->code == SP_CHECK_OK)
        sp_debug("spid check OK: Response and Assertion accepted");
out:
    xmlXPathFreeContext(c.xp);
    return res->code;
}

/* Values of one Attribute: trimmed, non-empty ones joined by a space; free() it. */
static char *attribute_value(const xmlNode *at)
{
    struct sp_buf b;

    sp_buf_init(&b, SP_MAX_RESPONSE_BYTES);
    for (const xmlNode *v = at->children; v != NULL; v = v->next) {
        char *text;
        if (!node_is(v, NS_SAML, "AttributeValue"))
            continue;
        text = text_dup(v);
        if (text[0] != '\0') {
            /* Bounded by the document size, itself below the buffer limit. */
            if (b.len > 0)
                sp_buf_addc(&b, ' ');
            sp_buf_adds(&b, text);
        }
        free(text);
    }
    return b.len > 0 ? sp_buf_detach(&b) : sp_xstrdup("");
}

static void extract_attributes(const xmlNode *a, struct sp_spid_assertion *out)
{
    unsigned n = 0;

    for (const xmlNode *st = a->children; st != NULL; st = st->next)
        if (node_is(st, NS_SAML, "AttributeStatement"))
            for (const xmlNode *at = st->children; at != NULL; at = at->next)
                n += node_is(at, NS_SAML, "Attribute");
    if (n == 0)
        return;
    out->attrs = sp_xcalloc(n, sizeof(*out->attrs));
    for (const xmlNode *st = a->children; st != NULL; st = st->next) {
        if (!node_is(st, NS_SAML, "AttributeStatement"))
            continue;
        for (const xmlNode *at = st->children; at != NULL; at = at->next) {
            char *name;
            if (!node_is(at, NS_SAML, "Attribute"))
                continue;
            name = attr_dup(at, "Name");
            out->attrs[out->n_attrs].name = name ? name : sp_xstrdup("");
            out->attrs[out->n_attrs].value = attribute_value(at);
            out->n_attrs++;
        }
    }
}

enum sp_err sp_spid_response_extract(const struct sp_spid_response *r,
                                     struct sp_spid_assertion *out)
{
    const xmlNode *a, *nid, *scd, *st;
    xmlChar *raw = NULL;
    char *noa = NULL, *acr = NULL;
    enum sp_err rc = SP_ERR_INVALID;

    SP_ASSERT(out != NULL);
    memset(out, 0, sizeof(*out));
    if (r == NULL || r->assertion == NULL)
        goto out;
    a = r->assertion;
    nid = child_first(assertion_subject(a), NS_SAML, "NameID", NULL);
    scd = child_first(child_first(assertion_subject(a), NS_SAML, "SubjectConfirmation", NULL),
                      NS_SAML, "SubjectConfirmationData", NULL);
    st = child_first(a, NS_SAML, "AuthnStatement", NULL);
    if (nid == NULL || scd == NULL || st == NULL)
        goto out;

    out->response_id = attr_dup(r->root, "ID");
    out->assertion_id = attr_dup(a, "ID");
    raw = xmlNodeGetContent(nid);
    out->name_id_raw = sp_xstrdup(raw ? (const char *)raw : "");
    out->name_id = sp_str_trim_dup(out->name_id_raw);
    out->name_qualifier = attr_dup(nid, "NameQualifier");
    out->session_index = attr_dup(st, "SessionIndex");
    acr = text_dup(assertion_class_ref(a));
    out->level = spid_level(acr);
    noa = attr_dup(scd, "NotOnOrAfter");
    if (out->response_id == NULL || out->assertion_id == NULL || out->name_id[0] == '\0' ||
        out->name_qualifier == NULL || out->level == 0 ||
        sp_time_parse(noa, &out->not_on_or_after_ms) != SP_OK)
        goto out;
    extract_attributes(a, out);
    rc = SP_OK;
out:
    if (rc != SP_OK)
        sp_spid_assertion_cleanup(out);
    xmlFree(raw);
    free(noa);
    free(acr);
    return rc;
}

void sp_spid_assertion_cleanup(struct sp_spid_assertion *a)
{
    if (a == NULL)
        return;
    free(a->response_id);
    free(a->assertion_id);
    free(a->name_id);
    free(a->name_id_raw);
    free(a->name_qualifier);
    free(a->session_index);
    for (unsigned i = 0; i < a->n_attrs; i++) {
        free(a->attrs[i].name);
        free(a->attrs[i].value);
    }
    free(a->attrs);
    memset(a, 0, sizeof(*a));
}

const char *sp_spid_assertion_attr(const struct sp_spid_assertion *a, const char *name)
{
    if (a == NULL || name == NULL)
        return NULL;
    for (unsigned i = 0; i < a->n_attrs; i++)
        if (strcmp(a->attrs[i].name, name) == 0)
            return a->attrs[i].value;
    return NULL;
}

/*
 * ------------------------------------------------------------ signatures
 *
 * The cryptographic check runs on the very nodes the SPID checks above read
 * and extraction uses: the single Assertion (its signature is mandatory) and
 * the Response (its signature is optional but must verify when present).
 * The structural rules (one Reference, URI "#ID", unique IDs, algorithms)
 * were enforced by sp_spid_check_response before this is called.
 */
enum sp_check sp_spid_response_verify(const struct sp_spid_response *r,
                                      const struct sp_xmlsig_keys *keys,
                                      struct sp_check_result *res)
{
    const xmlNode *rsig, *asig;
    unsigned n = 0;

    rsig = child_first(r->root, NS_DS, "Signature", &n);
    if (n > 1)
        return check_fail(res, SP_CHECK_SIGNATURE_STRUCTURE, "%s", "several Response signatures");
    if (rsig != NULL && sp_xmlsig_verify(keys, (xmlNode *)r->root, (xmlNode *)rsig) != SP_OK)
        return check_fail(res, SP_CHECK_SIGNATURE_INVALID, "%s",
                          "the Response signature does not verify with the IdP's metadata keys");
    if (r->assertion == NULL)
        return res->code; /* an error Response: nothing more to verify */
    asig = child_first(r->assertion, NS_DS, "Signature", &n);
    if (asig == NULL || n != 1)
        return check_fail(res, SP_CHECK_ASSERTION_UNSIGNED, "%s", "the Assertion is not signed");
    if (sp_xmlsig_verify(keys, (xmlNode *)r->assertion, (xmlNode *)asig) != SP_OK)
        return check_fail(res, SP_CHECK_SIGNATURE_INVALID, "%s",
                          "the Assertion signature does not verify with the IdP's metadata keys");
    return res->code;
}
