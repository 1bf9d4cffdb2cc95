/*
 * devidp_saml: the dev IdP's SAML work. Verifying an AuthnRequest with lasso
 * (our own IdP-role LassoServer), checking its SPID shape on the very XML node
 * lasso parsed (what a real SPID IdP refuses, with the ErrorCode it would
 * use), and building the signed Response: a SPID-shaped assertion with the
 * chosen identity's attributes, or an anomaly status.
 *
 * Invariants: nothing here keeps state between HTTP requests (the choice page
 * carries the original request and it is verified again when answered); the
 * LassoServer is only read, each request has its own LassoLogin.
 */
#define _DEFAULT_SOURCE
#include <lasso/lasso.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>
#include <lasso/xml/xml.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/clock.h"
#include "sp/forms.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/rand.h"
#include "sp/str.h"
#include "devidp_priv.h"
#include "saml_priv.h"

#define NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define NS_SPID "https://spid.gov.it/saml-extensions"
#define SPID_LEVEL_PREFIX "https://www.spid.gov.it/SpidL"
#define DEVIDP_MAX_RELAY_STATE 80 /* SAML bindings limit (AR-18) */

/* Signature and digest algorithms we accept (spec "Fixed URIs"). */
static const char *const good_sig_algs[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
};
static const char *const good_digest_algs[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
};
static const char *const purposes[] = {"P", "LP", "PG", "PF", "PX"};
static const char *const comparisons[] = {"exact", "minimum", "better", "maximum"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

#define IN_LIST(s, arr) in_list((s), (arr), sizeof(arr) / sizeof((arr)[0]))

bool devidp_sig_alg_ok(const char *alg)
{
    return IN_LIST(alg, good_sig_algs);
}

void devidp_problem(struct devidp_problem *why, int status, const char *errcode, const char *fmt,
                    ...)
{
    va_list ap;
    why->status = status;
    why->errcode = errcode;
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
    /* values quoted from the request must not forge log lines */
    for (char *c = why->message; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    sp_info("dev-idp: request refused (%s): %s", errcode ? errcode : "-", why->message);
}

/* ------------------------------------------------------------------------ */
/* Raw XML helpers (on the node lasso parsed)                               */
/* ------------------------------------------------------------------------ */

static bool xml_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST ns) && xmlStrEqual(n->name, BAD_CAST name);
}

/* Number of element children ns:name, and the first one in *first. */
static unsigned xml_children(const xmlNode *parent, const char *ns, const char *name,
                             xmlNode **first)
{
    unsigned n = 0;
    if (first != NULL)
        *first = NULL;
    for (xmlNode *c = parent ? parent->children : NULL; c != NULL; c = c->next)
        if (xml_is(c, ns, name)) {
            if (n == 0 && first != NULL)
                *first = c;
            n++;
        }
    return n;
}

/* Attribute value as a malloc'd string, or NULL when absent. */
static char *xml_attr(const xmlNode *n, const char *name)
{
    xmlChar *v = n ? xmlGetNoNsProp((xmlNode *)n, BAD_CAST name) : NULL;
    char *r = v ? sp_xstrdup((const char *)v) : NULL;
    xmlFree(v);
    return r;
}

static bool xml_has_attr(const xmlNode *n, const char *name)
{
    return n != NULL && xmlHasNsProp((xmlNode *)n, BAD_CAST name, NULL) != NULL;
}

/* Text content (comments skipped) as a malloc'd, trimmed string. */
static char *xml_text(const xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent((xmlNode *)n);
    char *r = sp_str_trim_dup(c ? (const char *)c : "");
    xmlFree(c);
    return r;
}

/* ------------------------------------------------------------------------ */
/* SPID shape checks (spec §2), each with the ErrorCode a SPID IdP uses      */
/* ------------------------------------------------------------------------ */

static enum sp_err check_root(const struct devidp *idp, const xmlNode *x,
                              struct devidp_problem *why)
{
    char *version = xml_attr(x, "Version");
    char *id = xml_attr(x, "ID");
    char *instant = xml_attr(x, "IssueInstant");
    char *dest = xml_attr(x, "Destination");
    enum sp_err rc = SP_ERR_INVALID;
    int64_t t, now = sp_clock_now_ms();

    if (!sp_str_eq(version, "2.0"))
        devidp_problem(why, 400, "nr09", "Version deve essere \"2.0\" (AR-02)");
    else if (id == NULL || id[0] == '\0')
        devidp_problem(why, 400, "nr11", "ID mancante (AR-01)");
    else if (instant == NULL || sp_time_parse(instant, &t) != SP_OK)
        devidp_problem(why, 400, "nr13", "IssueInstant mancante o non in formato UTC (AR-03)");
    else if (t > now + DEVIDP_CLOCK_SKEW_SEC * 1000LL || t < now - DEVIDP_CLOCK_SKEW_SEC * 1000LL)
        devidp_problem(why, 400, "nr13",
                       "IssueInstant %s fuori tolleranza (%d s) rispetto all'ora dell'IdP", instant,
                       DEVIDP_CLOCK_SKEW_SEC);
    else if (!sp_str_eq(dest, idp->sso_url))
        devidp_problem(why, 400, "nr14", "Destination \"%s\" diversa da %s (AR-04)",
                       dest ? dest : "", idp->sso_url);
    else if (xml_has_attr(x, "IsPassive"))
        devidp_problem(why, 400, "nr15",
                       "attributo IsPassive presente: deve essere assente (AR-06)");
    else
        rc = SP_OK;
    free(version);
    free(id);
    free(instant);
    free(dest);
    return rc;
}

static enum sp_err check_issuer(const char *sp_entity_id, const xmlNode *x,
                                struct devidp_problem *why)
{
    xmlNode *iss;
    char *format = NULL, *qual = NULL, *text = NULL;
    enum sp_err rc = SP_ERR_INVALID;

    if (xml_children(x, NS_SAML, "Issuer", &iss) != 1) {
        devidp_problem(why, 403, "nr10", "saml:Issuer mancante o ripetuto (AR-10)");
        return rc;
    }
    format = xml_attr(iss, "Format");
    qual = xml_attr(iss, "NameQualifier");
    text = xml_text(iss);
    if (!sp_str_eq(text, sp_entity_id))
        devidp_problem(why, 403, "nr10", "Issuer diverso dall'entityID dell'SP");
    else if (!sp_str_eq(format, "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"))
        devidp_problem(why, 403, "nr10",
                       "Issuer/@Format deve essere ...nameid-format:entity (AR-10)");
    else if (qual == NULL || qual[0] == '\0')
        devidp_problem(why, 403, "nr10", "Issuer/@NameQualifier mancante (AR-10)");
    else
        rc = SP_OK;
    free(format);
    free(qual);
    free(text);
    return rc;
}

/* AR-11, AR-20, AR-31: no XML signature with Redirect; one good one with POST. */
static enum sp_err check_xml_signature(enum devidp_binding binding, const xmlNode *x,
                                       struct devidp_problem *why)
{
    xmlNode *sig, *si, *m, *ref;
    char *alg = NULL, *uri = NULL, *id = NULL, *dalg = NULL;
    enum sp_err rc = SP_ERR_INVALID;
    unsigned nsig = xml_children(x, NS_DS, "Signature", &sig);

    if (binding == DEVIDP_REDIRECT) {
        if (nsig != 0) {
            devidp_problem(why, 400, "nr08",
                           "ds:Signature nel messaggio con binding HTTP-Redirect (AR-11)");
            return rc;
        }
        return SP_OK;
    }
    if (nsig != 1 || xml_children(sig, NS_DS, "SignedInfo", &si) != 1) {
        devidp_problem(why, 403, "nr07",
                       "serve esattamente una ds:Signature figlia di AuthnRequest");
        return rc;
    }
    xml_children(si, NS_DS, "SignatureMethod", &m);
    alg = xml_attr(m, "Algorithm");
    if (xml_children(si, NS_DS, "Reference", &ref) != 1) {
        devidp_problem(why, 403, "nr07", "la firma deve avere un solo ds:Reference");
        goto out;
    }
    uri = xml_attr(ref, "URI");
    id = xml_attr(x, "ID");
    xml_children(ref, NS_DS, "DigestMethod", &m);
    dalg = xml_attr(m, "Algorithm");
    if (!IN_LIST(alg, good_sig_algs))
        devidp_problem(why, 403, "nr07",
                       "SignatureMethod \"%s\" non ammesso: usare rsa-sha256 o superiore",
                       alg ? alg : "");
    else if (!IN_LIST(dalg, good_digest_algs))
        devidp_problem(why, 403, "nr07",
                       "DigestMethod \"%s\" non ammesso: usare sha256 o superiore",
                       dalg ? dalg : "");
    else if (uri == NULL || id == NULL || uri[0] != '#' || strcmp(uri + 1, id) != 0)
        devidp_problem(why, 403, "nr07", "ds:Reference/@URI non punta all'ID della richiesta");
    else
        rc = SP_OK;
out:
    free(alg);
    free(uri);
    free(id);
    free(dalg);
    return rc;
}

static enum sp_err check_name_id_policy(const xmlNode *x, struct devidp_problem *why)
{
    xmlNode *p;
    char *format;
    enum sp_err rc = SP_ERR_INVALID;

    if (xml_children(x, NS_SAMLP, "NameIDPolicy", &p) != 1) {
        devidp_problem(why, 400, "nr17", "samlp:NameIDPolicy mancante (AR-14)");
        return rc;
    }
    format = xml_attr(p, "Format");
    if (!sp_str_eq(format, "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
        devidp_problem(why, 400, "nr17",
                       "NameIDPolicy/@Format deve essere ...nameid-format:transient");
    else if (xml_has_attr(p, "AllowCreate"))
        devidp_problem(why, 400, "nr17",
                       "NameIDPolicy/@AllowCreate presente: deve essere assente "
                       "(Avviso n.5, AR-14)");
    else
        rc = SP_OK;
    free(format);
    return rc;
}

/* AR-16: exactly one RequestedAuthnContext with one SPID class ref. */
static enum sp_err check_authn_context(const xmlNode *x, struct devidp_request *req,
                                       struct devidp_problem *why)
{
    xmlNode *rac, *ref;
    char *cmp = NULL, *level = NULL;
    enum sp_err rc = SP_ERR_INVALID;

    if (xml_children(x, NS_SAMLP, "RequestedAuthnContext", &rac) != 1) {
        devidp_problem(why, 400, "nr12", "samlp:RequestedAuthnContext mancante o ripetuto (AR-16)");
        return rc;
    }
    cmp = xml_attr(rac, "Comparison");
    if (cmp == NULL)
        cmp = sp_xstrdup("exact"); /* the SAML default */
    if (!IN_LIST(cmp, comparisons)) {
        devidp_problem(why, 400, "nr12", "Comparison \"%s\" non valido", cmp);
        goto out;
    }
    if (xml_children(rac, NS_SAML, "AuthnContextClassRef", &ref) != 1) {
        devidp_problem(why, 400, "nr12", "serve esattamente un AuthnContextClassRef (AR-16)");
        goto out;
    }
    level = xml_text(ref);
    if (!sp_str_has_prefix(level, SPID_LEVEL_PREFIX) ||
        strlen(level) != strlen(SPID_LEVEL_PREFIX) + 1 || level[strlen(SPID_LEVEL_PREFIX)] < '1' ||
        level[strlen(SPID_LEVEL_PREFIX)] > '3') {
        devidp_problem(why, 400, "nr12", "AuthnContextClassRef \"%s\" non è un livello SPID",
                       level);
        goto out;
    }
    req->level = (unsigned)(level[strlen(SPID_LEVEL_PREFIX)] - '0');
    req->comparison = cmp;
    cmp = NULL;
    rc = SP_OK;
out:
    free(cmp);
    free(level);
    return rc;
}

/* AR-05: ForceAuthn="true" for SpidL2/L3 (after the level is known). */
static enum sp_err check_force_authn(const xmlNode *x, const struct devidp_request *req,
                                     struct devidp_problem *why)
{
    char *fa = xml_attr(x, "ForceAuthn");
    bool ok = fa == NULL || sp_str_eq(fa, "true") || sp_str_eq(fa, "1") || sp_str_eq(fa, "false") ||
              sp_str_eq(fa, "0");
    bool on = sp_str_eq(fa, "true") || sp_str_eq(fa, "1");
    enum sp_err rc = SP_ERR_INVALID;

    if (!ok)
        devidp_problem(why, 400, "nr08", "ForceAuthn \"%s\" non è un booleano", fa);
    else if (req->level >= 2 && !on)
        devidp_problem(why, 400, "nr08", "ForceAuthn=\"true\" obbligatorio per SpidL%u (AR-05)",
                       req->level);
    else
        rc = SP_OK;
    free(fa);
    return rc;
}

/* AR-07/AR-08/AR-09: ACS by index or URL+binding (never both), attribute service. */
static enum sp_err check_services(const xmlNode *x, struct devidp_request *req,
                                  struct devidp_problem *why)
{
    bool has_index = xml_has_attr(x, "AssertionConsumerServiceIndex");
    bool has_url = xml_has_attr(x, "AssertionConsumerServiceURL");
    bool has_pb = xml_has_attr(x, "ProtocolBinding");
    char *acsi = xml_attr(x, "AttributeConsumingServiceIndex");
    char *pb = xml_attr(x, "ProtocolBinding");
    enum sp_err rc = SP_ERR_INVALID;
    uint64_t idx;

    if (has_index && (has_url || has_pb))
        devidp_problem(
            why, 400, "nr16",
            "AssertionConsumerServiceIndex insieme a URL/ProtocolBinding (AR-07, AR-08)");
    else if (!has_index && !(has_url && has_pb))
        devidp_problem(why, 400, "nr16",
                       "manca AssertionConsumerServiceIndex (o URL + ProtocolBinding)");
    else if (has_pb && !sp_str_eq(pb, LASSO_SAML2_METADATA_BINDING_POST))
        devidp_problem(why, 400, "nr16", "ProtocolBinding deve essere HTTP-POST (AR-08)");
    else if (acsi == NULL)
        devidp_problem(why, 400, "nr18", "AttributeConsumingServiceIndex mancante (AR-09)");
    else if (sp_parse_uint(acsi, 0, 65535, &idx) != SP_OK)
        devidp_problem(why, 400, "nr18", "AttributeConsumingServiceIndex \"%s\" non valido", acsi);
    else {
        req->attr_index = (int)idx;
        rc = SP_OK;
        if (req->sp != NULL && req->sp->nservices > 0) {
            rc = SP_ERR_INVALID;
            for (unsigned i = 0; i < req->sp->nservices; i++)
                if (req->sp->services[i].index == idx)
                    rc = SP_OK;
            if (rc != SP_OK)
                devidp_problem(why, 400, "nr18",
                               "AttributeConsumingServiceIndex %u assente dai metadata dell'SP",
                               (unsigned)idx);
        }
    }
    free(acsi);
    free(pb);
    return rc;
}

/* PU-01/PU-02: samlp:Extensions/spid:Purpose, one of the five values. */
static enum sp_err check_purpose(const xmlNode *x, struct devidp_request *req,
                                 struct devidp_problem *why)
{
    xmlNode *ext, *p;
    unsigned n;

    if (xml_children(x, NS_SAMLP, "Extensions", &ext) == 0)
        return SP_OK;
    n = xml_children(ext, NS_SPID, "Purpose", &p);
    if (n == 0)
        return SP_OK;
    req->purpose = xml_text(p);
    if (n > 1 || !IN_LIST(req->purpose, purposes)) {
        devidp_problem(why, 400, "nr08",
                       "spid:Purpose \"%s\" non riconosciuto (ammessi P LP PG PF PX)",
                       req->purpose);
        return SP_ERR_INVALID;
    }
    return SP_OK;
}

/* AR-18: an opaque RelayState of at most 80 bytes (absent is tolerated). */
static enum sp_err check_relay_state(const char *relay, struct devidp_problem *why)
{
    if (relay == NULL) {
        sp_info("dev-idp: request without RelayState (AR-18 recommends one)");
        return SP_OK;
    }
    if (strlen(relay) > DEVIDP_MAX_RELAY_STATE) {
        devidp_problem(why, 400, "nr08", "RelayState più lungo di %d byte", DEVIDP_MAX_RELAY_STATE);
        return SP_ERR_INVALID;
    }
    if (strstr(relay, "http") != NULL) {
        devidp_problem(why, 400, "nr08", "RelayState non opaco: contiene \"http\" (AR-18)");
        return SP_ERR_INVALID;
    }
    return SP_OK;
}

/* ------------------------------------------------------------------------ */
/* Loading a request                                                        */
/* ------------------------------------------------------------------------ */

bool devidp_lasso_sig_error(int lrc)
{
    return lrc == LASSO_DS_ERROR_SIGNATURE_NOT_FOUND || lrc == LASSO_DS_ERROR_INVALID_SIGNATURE ||
           lrc == LASSO_DS_ERROR_SIGNATURE_VERIFICATION_FAILED ||
           lrc == LASSO_DS_ERROR_INVALID_SIGALG ||
           lrc == LASSO_DS_ERROR_INVALID_REFERENCE_FOR_SAML ||
           lrc == LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE;
}

/* Redirect parameters: SAMLRequest, SigAlg and Signature present, SigAlg allowed. */
static enum sp_err redirect_params(const char *raw_query, struct devidp_request *req,
                                   struct devidp_problem *why)
{
    struct sp_params q;
    const char *alg, *relay;
    enum sp_err rc = SP_ERR_INVALID;

    memset(&q, 0, sizeof(q));
    if (strlen(raw_query) > DEVIDP_MAX_MESSAGE) {
        devidp_problem(why, 400, "nr04", "richiesta troppo grande");
        return rc;
    }
    sp_params_parse(&q, raw_query, strlen(raw_query));
    alg = sp_params_get(&q, "SigAlg");
    relay = sp_params_get(&q, "RelayState");
    if (q.bad)
        devidp_problem(why, 400, "nr04", "query string malformata o con parametri ripetuti");
    else if (sp_params_get(&q, "SAMLRequest") == NULL)
        devidp_problem(why, 400, "nr04", "parametro SAMLRequest mancante");
    else if (alg == NULL || sp_params_get(&q, "Signature") == NULL)
        devidp_problem(why, 403, "nr05",
                       "richiesta non firmata: SigAlg e Signature sono obbligatori");
    else if (!devidp_sig_alg_ok(alg))
        devidp_problem(why, 403, "nr05",
                       "SigAlg \"%s\" non ammesso (SHA-1 è rifiutato; usare rsa-sha256)", alg);
    else {
        req->relay_state = relay ? sp_xstrdup(relay) : NULL;
        rc = SP_OK;
    }
    sp_params_cleanup(&q);
    return rc;
}

enum sp_err devidp_request_load(const struct devidp *idp, enum devidp_binding binding,
                                const char *raw_query, const char *saml_request,
                                const char *relay_state, struct devidp_request *req,
                                struct devidp_problem *why)
{
    LassoProfile *profile;
    LassoSamlp2AuthnRequest *ar;
    xmlNode *x;
    const char *sp_entity_id;
    enum sp_err rc = SP_ERR_INVALID;
    int lrc;

    memset(req, 0, sizeof(*req));
    memset(why, 0, sizeof(*why));
    req->binding = binding;
    req->attr_index = -1;
    if (binding == DEVIDP_REDIRECT) {
        if (redirect_params(raw_query ? raw_query : "", req, why) != SP_OK)
            goto out;
    } else {
        if (saml_request == NULL || saml_request[0] == '\0') {
            devidp_problem(why, 400, "nr04", "campo SAMLRequest mancante");
            goto out;
        }
        if (strlen(saml_request) > DEVIDP_MAX_MESSAGE) {
            devidp_problem(why, 400, "nr04", "richiesta troppo grande");
            goto out;
        }
        req->relay_state = relay_state ? sp_xstrdup(relay_state) : NULL;
    }

    req->login = lasso_login_new(idp->server);
    profile = LASSO_PROFILE(req->login);
    lasso_profile_set_signature_verify_hint(profile, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
    lrc = lasso_login_process_authn_request_msg(
        req->login, binding == DEVIDP_REDIRECT ? raw_query : saml_request);
    if (lrc == 0 && profile->signature_status != 0)
        lrc = profile->signature_status;
    if (lrc != 0) {
        if (devidp_lasso_sig_error(lrc))
            devidp_problem(why, 403, binding == DEVIDP_REDIRECT ? "nr05" : "nr07",
                           "firma della richiesta assente o non valida (lasso %d: %s)", lrc,
                           lasso_strerror(lrc));
        else if (lrc == LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND ||
                 lrc == LASSO_PROFILE_ERROR_UNKNOWN_PROVIDER)
            devidp_problem(why, 403, "nr10", "richiesta da un Service Provider sconosciuto");
        else
            devidp_problem(why, 400, "nr08", "richiesta non valida (lasso %d: %s)", lrc,
                           lasso_strerror(lrc));
        goto out;
    }
    if (!LASSO_IS_SAMLP2_AUTHN_REQUEST(profile->request)) {
        devidp_problem(why, 400, "nr08", "il messaggio non è una samlp:AuthnRequest");
        goto out;
    }
    ar = LASSO_SAMLP2_AUTHN_REQUEST(profile->request);
    x = lasso_node_get_original_xmlnode(LASSO_NODE(ar));
    sp_entity_id = profile->remote_providerID;
    if (x == NULL || sp_entity_id == NULL || !xml_is(x, NS_SAMLP, "AuthnRequest")) {
        devidp_problem(why, 400, "nr08", "impossibile esaminare la richiesta");
        goto out;
    }
    req->sp = devidp_sp_find(idp, sp_entity_id);
    req->request_id = sp_xstrdup(ar->parent.ID ? ar->parent.ID : "");

    if ((rc = check_root(idp, x, why)) == SP_OK &&
        (rc = check_issuer(sp_entity_id, x, why)) == SP_OK &&
        (rc = check_xml_signature(binding, x, why)) == SP_OK &&
        (rc = check_name_id_policy(x, why)) == SP_OK &&
        (rc = check_authn_context(x, req, why)) == SP_OK &&
        (rc = check_force_authn(x, req, why)) == SP_OK &&
        (rc = check_services(x, req, why)) == SP_OK && (rc = check_purpose(x, req, why)) == SP_OK)
        rc = check_relay_state(req->relay_state, why);
    if (rc == SP_OK)
        sp_info("dev-idp: AuthnRequest %s from %s, SpidL%u %s%s%s", req->request_id, sp_entity_id,
                req->level, req->comparison, req->purpose ? ", Purpose " : "",
                req->purpose ? req->purpose : "");
out:
    if (rc != SP_OK)
        devidp_request_cleanup(req);
    return rc;
}

void devidp_request_cleanup(struct devidp_request *req)
{
    if (req->login != NULL)
        g_object_unref(req->login);
    free(req->request_id);
    free(req->comparison);
    free(req->purpose);
    free(req->relay_state);
    memset(req, 0, sizeof(*req));
    req->attr_index = -1;
}

/* ------------------------------------------------------------------------ */
/* Building the Response                                                    */
/* ------------------------------------------------------------------------ */

static void add_attribute(LassoSaml2AttributeStatement *st, const char *name, const char *value)
{
    LassoSaml2Attribute *a = LASSO_SAML2_ATTRIBUTE(lasso_saml2_attribute_new());
    LassoSaml2AttributeValue *v = lasso_saml2_attribute_value_new();
    LassoMiscTextNode *t = lasso_misc_text_node_new_with_string(value);

    t->text_child = TRUE;
    v->any = g_list_append(NULL, t);
    sp_saml_assign(&a->Name, name);
    sp_saml_assign(&a->NameFormat, LASSO_SAML2_ATTRIBUTE_NAME_FORMAT_BASIC);
    a->AttributeValue = g_list_append(NULL, v);
    st->Attribute = g_list_append(st->Attribute, a);
}

/* The attributes the SP asked for in its AttributeConsumingService (all if unknown). */
static LassoSaml2AttributeStatement *build_attributes(const struct devidp_request *req,
                                                      const struct devidp_identity *who)
{
    LassoSaml2AttributeStatement *st =
        LASSO_SAML2_ATTRIBUTE_STATEMENT(lasso_saml2_attribute_statement_new());
    const struct devidp_service *svc = NULL;

    for (unsigned i = 0; req->sp != NULL && i < req->sp->nservices; i++)
        if ((int)req->sp->services[i].index == req->attr_index)
            svc = &req->sp->services[i];
    if (svc == NULL) {
        for (const struct devidp_attr *a = who->attrs; a->name != NULL; a++)
            add_attribute(st, a->name, a->value);
        return st;
    }
    for (unsigned i = 0; i < svc->nattrs; i++) {
        const char *v = devidp_identity_attr(who, svc->attrs[i]);
        if (v != NULL)
            add_attribute(st, svc->attrs[i], v);
    }
    return st;
}

static void set_entity_issuer(LassoSaml2NameID *issuer, const char *entity_id, bool qualifier)
{
    if (issuer == NULL)
        return;
    sp_saml_assign(&issuer->Format, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_ENTITY);
    if (qualifier)
        sp_saml_assign(&issuer->NameQualifier, entity_id);
}

/* Fix-ups of lasso's assertion into the SPID shape (lasso §15), then attributes. */
static enum sp_err shape_assertion(const struct devidp *idp, LassoLogin *login,
                                   const struct devidp_request *req,
                                   const struct devidp_identity *who, const char *not_on_or_after)
{
    LassoSaml2Assertion *as = NULL;
    LassoNode *node = lasso_login_get_assertion(login); /* new reference */
    LassoProfile *profile = LASSO_PROFILE(login);
    char nameid[SP_RAND_ID_LEN + 1];
    enum sp_err rc = SP_ERR_SAML;

    if (node == NULL || !LASSO_IS_SAML2_ASSERTION(node))
        goto out;
    as = LASSO_SAML2_ASSERTION(node);
    set_entity_issuer(as->Issuer, idp->entity_id, true);
    if (as->Subject == NULL || as->Subject->NameID == NULL)
        goto out;
    sp_rand_id(nameid);
    sp_saml_assign(&as->Subject->NameID->content, nameid);
    sp_saml_assign(&as->Subject->NameID->Format, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT);
    sp_saml_assign(&as->Subject->NameID->NameQualifier, idp->entity_id);
    if (LASSO_IS_SAML2_NAME_ID(profile->nameIdentifier) &&
        LASSO_SAML2_NAME_ID(profile->nameIdentifier) != as->Subject->NameID) {
        LassoSaml2NameID *nid = LASSO_SAML2_NAME_ID(profile->nameIdentifier);
        sp_saml_assign(&nid->content, nameid);
        sp_saml_assign(&nid->NameQualifier, idp->entity_id);
    }
    if (as->Subject->SubjectConfirmation != NULL) {
        LassoSaml2SubjectConfirmation *sc = as->Subject->SubjectConfirmation;
        sp_saml_assign(&sc->Method, LASSO_SAML2_CONFIRMATION_METHOD_BEARER);
        if (sc->SubjectConfirmationData == NULL)
            sc->SubjectConfirmationData =
                LASSO_SAML2_SUBJECT_CONFIRMATION_DATA(lasso_saml2_subject_confirmation_data_new());
        sp_saml_assign(&sc->SubjectConfirmationData->NotOnOrAfter, not_on_or_after);
        sp_saml_assign(&sc->SubjectConfirmationData->InResponseTo, req->request_id);
        sp_saml_assign(&sc->SubjectConfirmationData->NotBefore, NULL);
    }
    as->AttributeStatement = g_list_append(as->AttributeStatement, build_attributes(req, who));
    rc = SP_OK;
out:
    if (node != NULL)
        g_object_unref(node);
    return rc;
}

static void set_anomaly_status(LassoProfile *profile, const char *code)
{
    LassoSamlp2StatusResponse *resp = LASSO_SAMLP2_STATUS_RESPONSE(profile->response);
    LassoSamlp2Status *st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
    LassoSamlp2StatusCode *top = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
    LassoSamlp2StatusCode *sub = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
    char msg[32];

    snprintf(msg, sizeof(msg), "ErrorCode %s", code);
    sp_saml_assign(&top->Value, LASSO_SAML2_STATUS_CODE_RESPONDER);
    sp_saml_assign(&sub->Value, LASSO_SAML2_STATUS_CODE_AUTHN_FAILED);
    top->StatusCode = sub;
    st->StatusCode = top;
    sp_saml_assign(&st->StatusMessage, msg);
    if (resp->Status != NULL)
        g_object_unref(resp->Status);
    resp->Status = st;
}

/* Remove any assertion lasso attached to an error response (RS-17: none on failure). */
static void drop_assertions(LassoProfile *profile)
{
    LassoSamlp2Response *r;
    if (!LASSO_IS_SAMLP2_RESPONSE(profile->response))
        return;
    r = LASSO_SAMLP2_RESPONSE(profile->response);
    g_list_free_full(r->Assertion, g_object_unref);
    r->Assertion = NULL;
}

enum sp_err devidp_respond(const struct devidp *idp, struct devidp_request *req,
                           const struct devidp_identity *who, unsigned level, const char *anomaly,
                           char **acs_url, char **saml_response, struct devidp_problem *why)
{
    LassoLogin *login = req->login;
    LassoProfile *profile = LASSO_PROFILE(login);
    char now[SP_TIME_ISO_LEN], not_before[SP_TIME_ISO_LEN], not_after[SP_TIME_ISO_LEN];
    char classref[64];
    int64_t t = sp_clock_now_ms();
    int lrc;

    *acs_url = *saml_response = NULL;
    memset(why, 0, sizeof(why[0]));
    if (anomaly == NULL && !devidp_purpose_allows(req->purpose, who))
        anomaly = "nr30";
    sp_time_format(t, 0, now);
    sp_time_format(t - DEVIDP_NOT_BEFORE_SLACK * 1000LL, 0, not_before);
    sp_time_format(t + DEVIDP_VALIDITY_SEC * 1000LL, 0, not_after);
    snprintf(classref, sizeof(classref), "%s%u", SPID_LEVEL_PREFIX, level);

    if (anomaly != NULL) {
        lrc = lasso_login_validate_request_msg(login, FALSE, TRUE);
        (void)lrc; /* a denied authentication is what we want here */
        drop_assertions(profile);
        set_anomaly_status(profile, anomaly);
    } else {
        lrc = lasso_login_validate_request_msg(login, TRUE, TRUE);
        if (lrc == 0)
            lrc = lasso_login_build_assertion(login, classref, now, NULL, not_before, not_after);
        if (lrc != 0) {
            devidp_problem(why, 500, NULL, "lasso non ha costruito l'asserzione (%d: %s)", lrc,
                           lasso_strerror(lrc));
            return SP_ERR_SAML;
        }
        if (shape_assertion(idp, login, req, who, not_after) != SP_OK) {
            devidp_problem(why, 500, NULL, "asserzione di lasso inattesa");
            return SP_ERR_SAML;
        }
    }
    if (LASSO_IS_SAMLP2_STATUS_RESPONSE(profile->response))
        set_entity_issuer(LASSO_SAMLP2_STATUS_RESPONSE(profile->response)->Issuer, idp->entity_id,
                          false);
    lrc = lasso_login_build_authn_response_msg(login);
    if (lrc != 0 || profile->msg_url == NULL || profile->msg_body == NULL) {
        devidp_problem(why, 500, NULL, "lasso non ha costruito la Response (%d: %s)", lrc,
                       lasso_strerror(lrc));
        return SP_ERR_SAML;
    }
    *acs_url = sp_xstrdup(profile->msg_url);
    *saml_response = sp_xstrdup(profile->msg_body);
    sp_info("dev-idp: Response to %s for \"%s\": %s", req->request_id, who->key,
            anomaly ? anomaly : classref);
    sp_debug("dev-idp: SAMLResponse %s", *saml_response);
    return SP_OK;
}
