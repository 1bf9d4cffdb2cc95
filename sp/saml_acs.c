/*
 * saml_acs: one Response, from the POSTed form to a session.
 *
 * Order (lasso-for-spid.md §7.3): strict parse of the decoded bytes; find the
 * pending request by InResponseTo and check it belongs to this browser
 * (RelayState and binding cookie, constant-time); every SPID check on the
 * parsed document; then the signatures, verified with xmlsec on the same
 * nodes the checks read and the data comes from, with the signing keys of
 * the metadata of the IdP the request was sent to (never a key carried in
 * the message); finally one transaction.
 * Every rejection names its reason in the log and gives the browser a 4xx
 * page; nothing is ever redirected to an error page.
 * Every Response that parses as a samlp:Response with an ID goes to the
 * transaction register (env->record) once, before anything is acted on:
 * before the session transaction when it succeeded, before the pending
 * request is closed when it was rejected. If it cannot be recorded the
 * answer is 500 and nothing else happens.
 */
#include <jansson.h>
#include <libxml/xmlreader.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/authn_state.h"
#include "sp/authz.h"
#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/digest.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/replay.h"
#include "sp/roles.h"
#include "sp/saml_acs.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/users.h"
#include "saml_priv.h"

#define SP_MAX_SAMLRESPONSE_B64 (SP_MAX_RESPONSE_BYTES / 3 * 4 + 4096)
/* as the strict parse: no network, no entity substitution, no DTD loading */
#define ACS_READER_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static const char acs_title_fail[] = "Accesso non riuscito";
static const char acs_title_internal[] = "Errore interno";

static void acs_fail(struct sp_acs_result *res, enum sp_check check, const char *why)
{
    res->check = check;
    res->http_status = sp_check_http_status(check);
    res->title = acs_title_fail;
    res->message = sp_check_message(check);
    sp_info("SPID response rejected: %s (%s): %s", sp_check_name(check), sp_check_rule(check), why);
}

static void acs_fail_plain(struct sp_acs_result *res, int status, const char *message,
                           const char *why)
{
    res->check = SP_CHECK_MALFORMED;
    res->http_status = status;
    res->title = acs_title_fail;
    res->message = message;
    sp_info("SPID response rejected: %s", why);
}

/*
 * Response@ID and the Response's Issuer (trimmed) for the register: a
 * streaming read that stops at the root's first child, on bytes the strict
 * parse already accepted (well-formed, no DTD). false, with nothing
 * allocated, when the root is not samlp:Response or has no ID.
 */
static bool acs_message_ids(const void *xml, size_t len, char **id, char **issuer)
{
    xmlTextReaderPtr rd = xmlReaderForMemory(xml, (int)len, NULL, NULL, ACS_READER_OPTIONS);
    bool ok = false;

    *id = *issuer = NULL;
    if (rd == NULL)
        return false;
    while (xmlTextReaderRead(rd) == 1) {
        const char *ns, *name;
        int depth;

        if (xmlTextReaderNodeType(rd) != XML_READER_TYPE_ELEMENT)
            continue;
        ns = (const char *)xmlTextReaderConstNamespaceUri(rd);
        name = (const char *)xmlTextReaderConstLocalName(rd);
        depth = xmlTextReaderDepth(rd);
        if (depth == 0) {
            xmlChar *v;
            if (ns == NULL || name == NULL || strcmp(ns, LASSO_SAML2_PROTOCOL_HREF) != 0 ||
                strcmp(name, "Response") != 0)
                break;
            v = xmlTextReaderGetAttribute(rd, BAD_CAST "ID");
            if (v != NULL && v[0] != '\0') {
                *id = sp_xstrdup((const char *)v);
                ok = true;
            }
            xmlFree(v);
            if (!ok || xmlTextReaderIsEmptyElement(rd))
                break;
            continue;
        }
        /* the Issuer, when there is one, is the root's first child */
        if (ns != NULL && name != NULL && strcmp(ns, LASSO_SAML2_ASSERTION_HREF) == 0 &&
            strcmp(name, "Issuer") == 0) {
            xmlChar *t = xmlTextReaderReadString(rd);
            if (t != NULL) {
                const char *b = (const char *)t, *e = b + strlen(b);
                while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
                    b++;
                while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                    e--;
                if (e > b)
                    *issuer = sp_xstrndup(b, (size_t)(e - b));
            }
            xmlFree(t);
        }
        break;
    }
    xmlFreeTextReader(rd);
    return ok;
}

/* The register refused the Response: nothing may be acted on. */
static void acs_unrecorded(struct sp_acs_result *res)
{
    res->http_status = 500;
    res->anomaly = 0;
    res->title = acs_title_internal;
    res->message = "Non è stato possibile registrare la risposta del gestore dell'identità: "
                   "riprovare più tardi.";
    res->unrecorded = true;
    sp_errorx("SPID response not processed: the transaction register did not keep it");
}

/* The pending request must be ours, this browser's, and still open. */
static bool acs_bind(const struct sp_authn_pending *p, const char *relay_state,
                     const char *binding_token, int64_t now, struct sp_acs_result *res)
{
    char hash[SP_SHA256_HEX_LEN + 1];

    if (relay_state == NULL || !sp_str_eq_ct(relay_state, p->relay_state)) {
        acs_fail_plain(res, 400,
                       "La risposta non corrisponde alla richiesta di accesso di questo browser.",
                       "RelayState does not match the pending request");
        return false;
    }
    if (binding_token == NULL) {
        acs_fail_plain(res, 403,
                       "Il browser non ha inviato il cookie della richiesta di accesso: "
                       "abilitare i cookie e riprovare.",
                       "browser-binding cookie missing");
        return false;
    }
    sp_sha256_hex(binding_token, strlen(binding_token), hash);
    if (!sp_str_eq_ct(hash, p->binding_hash)) {
        acs_fail_plain(res, 403,
                       "La risposta non corrisponde alla richiesta di accesso di questo browser.",
                       "browser-binding cookie does not match");
        return false;
    }
    if (p->consumed_at != 0) {
        acs_fail_plain(res, 403,
                       "Questa risposta è già stata usata. Ripetere l'accesso dall'inizio.",
                       "pending request already consumed (replay)");
        return false;
    }
    if (now >= p->expires_at) {
        acs_fail_plain(res, 403,
                       "La richiesta di accesso è scaduta. Ripetere l'accesso dall'inizio.",
                       "pending request expired");
        return false;
    }
    return true;
}

static void acs_consume_only(const struct sp_saml_env *env, const char *id, int64_t now)
{
    if (sp_authn_state_consume(env->db, id, now) != SP_OK)
        sp_debug("pending request already closed");
}

/*
 * A login for professional or legal-person use carries company attributes:
 * remember them as a role suggestion for an operator (they prove no powers of
 * representation, domain.md §4.5) and return the company to pre-select when
 * the person already holds an employer role there.
 */
static enum sp_err acs_company(const struct sp_saml_env *env, const struct sp_authn_pending *p,
                               const struct sp_spid_assertion *a, const char *cf, int64_t now,
                               char company[SP_PARTY_MAX + 1])
{
    const char *cfn = sp_spid_assertion_attr(a, "companyFiscalNumber");
    const char *iva = sp_spid_assertion_attr(a, "ivaCode");
    char org[SP_CF_SHORT_LEN + 1], vat[SP_CF_SHORT_LEN + 1];
    struct sp_role_suggestion sug;
    struct sp_role_list roles;
    enum sp_err rc;

    company[0] = '\0';
    if (cfn == NULL && iva == NULL)
        return SP_OK;
    vat[0] = '\0';
    if (iva != NULL && sp_cf_vat_from_spid(iva, vat, NULL) != SP_OK)
        vat[0] = '\0';
    if (cfn == NULL || sp_cf_company_from_spid(cfn, org, NULL) != SP_OK) {
        if (vat[0] == '\0')
            return SP_OK; /* nothing usable to suggest */
        memcpy(org, vat, sizeof(org));
    }
    memset(&sug, 0, sizeof(sug));
    memcpy(sug.org, org, sizeof(org));
    sug.org_name = (char *)sp_spid_assertion_attr(a, "companyName");
    sug.vat_number = vat[0] ? vat : NULL;
    sug.purpose = p->purpose;
    sug.idp = p->idp;
    rc = sp_roles_suggest(env->db, cf, &sug, now);
    if (rc != SP_OK)
        return rc;
    /* read afresh, not from the cache: a role granted a moment ago counts */
    if (sp_roles_list(env->db, cf, org, false, &roles) != SP_OK)
        return SP_OK; /* the pre-selection is a convenience */
    for (unsigned i = 0; i < roles.n; i++) {
        const struct sp_role *r = &roles.v[i];
        if ((r->kind == SP_ROLE_EMPLOYER_REP || r->kind == SP_ROLE_EMPLOYER_OPERATOR) &&
            sp_role_active(r, now))
            memcpy(company, org, sizeof(org));
    }
    sp_role_list_free(&roles);
    return SP_OK;
}

static enum sp_err acs_audit_login(const struct sp_saml_env *env, const struct sp_session *s,
                                   const char *token, const char *client_ip, int64_t now_ms)
{
    struct sp_audit_event ev;
    char sid[SP_SESSION_ID_LEN + 1];
    char *details;
    enum sp_err rc;
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "method", "spid", "idp", s->idp, "level",
                          (int)s->level, "assurance", sp_assurance_name(s->assurance));

    (void)env;
    details = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    sp_session_id(token, sid);
    memset(&ev, 0, sizeof(ev));
    ev.event = SP_AUDIT_LOGIN;
    ev.actor = s->user_cf;
    ev.acting_for = s->acting_for;
    ev.session = sid;
    ev.source_ip = client_ip;
    ev.outcome = "ok";
    ev.details = details;
    rc = sp_audit_append(env->db, &ev, now_ms);
    free(details);
    return rc;
}

/* In one transaction: consume, replay-protect, person, session, audit. */
static enum sp_err acs_commit(const struct sp_saml_env *env, const struct sp_authn_pending *p,
                              const struct sp_spid_assertion *a, const char *cf,
                              const char *client_ip, int64_t now_ms, struct sp_acs_result *res)
{
    int64_t now = now_ms / 1000;
    char company[SP_PARTY_MAX + 1];
    struct sp_user_attr *attrs = sp_xcalloc(a->n_attrs + 1, sizeof(*attrs));
    struct sp_login_record rec;
    struct sp_session s;
    const char *spid_code = sp_spid_assertion_attr(a, "spidCode");
    int64_t replay_until = a->not_on_or_after_ms / 1000 + env->cfg->clock_skew_sec + 60;
    enum sp_err rc;

    for (unsigned i = 0; i < a->n_attrs; i++) {
        attrs[i].name = a->attrs[i].name;
        attrs[i].value = a->attrs[i].value;
    }
    memset(&rec, 0, sizeof(rec));
    rec.cf = cf;
    rec.method = "spid";
    rec.issuer = p->idp;
    rec.external_id = spid_code ? spid_code : cf;
    rec.source = "spid";
    rec.attrs = attrs;
    rec.n_attrs = a->n_attrs;
    memset(&s, 0, sizeof(s));
    s.user_cf = (char *)cf;
    s.method = "spid";
    s.level = a->level;
    s.idp = p->idp;
    s.name_id = a->name_id_raw;
    s.name_qualifier = a->name_qualifier;
    s.session_index = a->session_index;
    s.assurance = sp_authz_assurance("spid", a->level, false);
    if (replay_until < p->expires_at)
        replay_until = p->expires_at;

    rc = sp_db_begin(env->db);
    if (rc == SP_OK)
        rc = sp_authn_state_consume(env->db, p->id, now);
    if (rc == SP_OK)
        rc = sp_replay_remember(env->db, a->response_id, "response", replay_until);
    if (rc == SP_OK)
        rc = sp_replay_remember(env->db, a->assertion_id, "assertion", replay_until);
    if (rc == SP_OK)
        rc = sp_users_record_login(env->db, &rec, now);
    if (rc == SP_OK)
        rc = acs_company(env, p, a, cf, now, company);
    if (rc == SP_OK) {
        s.acting_for = company[0] ? company : NULL;
        rc =
            sp_session_create(env->db, &s, now, env->cfg->session_lifetime_sec, res->session_token);
    }
    if (rc == SP_OK)
        rc = acs_audit_login(env, &s, res->session_token, client_ip, now_ms);
    if (rc == SP_OK)
        rc = sp_db_commit(env->db);
    if (rc != SP_OK) {
        sp_db_rollback(env->db);
        memset(res->session_token, 0, sizeof(res->session_token));
        if (rc == SP_ERR_REPLAY || rc == SP_ERR_EXPIRED || rc == SP_ERR_NOT_FOUND)
            acs_fail_plain(res, 403,
                           "Questa risposta è già stata usata. Ripetere l'accesso dall'inizio.",
                           "replayed response, assertion or request");
        else
            acs_fail_plain(res, 500, "Errore interno: riprovare più tardi.",
                           "database error while opening the session");
    }
    free(attrs);
    return rc;
}

enum sp_err sp_saml_acs_process(const struct sp_saml_env *env, const char *saml_response,
                                const char *relay_state, const char *binding_token,
                                const char *client_ip, struct sp_acs_result *res)
{
    struct sp_buf xml;
    struct sp_spid_response *r = NULL;
    struct sp_authn_pending pending;
    struct sp_check_result cr;
    struct sp_check_expect exp;
    struct sp_spid_assertion a;
    const char *irt, *why = NULL, *fiscal;
    char cf[SP_CF_MAX + 1];
    enum sp_cf_kind kind;
    enum sp_check passed;
    int64_t now_ms = sp_clock_now_ms(), now = now_ms / 1000;
    bool have_pending = false, recordable = false, recorded = false;
    char *msg_id = NULL, *msg_issuer = NULL;
    struct sp_acs_message msg;
    enum sp_err rc = SP_ERR_DENIED;

    memset(res, 0, sizeof(*res));
    memset(&pending, 0, sizeof(pending));
    memset(&cr, 0, sizeof(cr));
    memset(&a, 0, sizeof(a));
    sp_buf_init(&xml, SP_MAX_RESPONSE_BYTES);

    if (saml_response == NULL || saml_response[0] == '\0') {
        acs_fail_plain(res, 400, "La richiesta non contiene una risposta SAML.",
                       "no SAMLResponse field");
        goto out;
    }
    if (strlen(saml_response) > SP_MAX_SAMLRESPONSE_B64) {
        acs_fail(res, SP_CHECK_TOO_LARGE, "SAMLResponse too large");
        goto out;
    }
    if (sp_b64_decode(&xml, saml_response, strlen(saml_response)) != SP_OK) {
        acs_fail(res, SP_CHECK_MALFORMED, "SAMLResponse is not valid base64");
        goto out;
    }
    r = sp_spid_response_parse(xml.data ? xml.data : "", xml.len, &cr);
    if (r == NULL) {
        acs_fail(res, cr.code, cr.detail); /* not a document: not recorded */
        goto out;
    }
    irt = sp_spid_response_in_response_to(r);
    memset(&msg, 0, sizeof(msg));
    if (env->record != NULL && acs_message_ids(xml.data, xml.len, &msg_id, &msg_issuer)) {
        recordable = true;
        msg.id = msg_id;
        msg.in_response_to = irt;
        msg.issuer = msg_issuer;
        msg.xml = xml.data;
        msg.len = xml.len;
        msg.received_ms = now_ms;
    }
    if (irt == NULL || irt[0] == '\0') {
        acs_fail(res, SP_CHECK_IN_RESPONSE_TO, "Response has no InResponseTo (unsolicited)");
        goto out;
    }
    if (sp_authn_state_get(env->db, irt, &pending) != SP_OK) {
        acs_fail(res, SP_CHECK_IN_RESPONSE_TO, "InResponseTo names no request of ours");
        goto out;
    }
    have_pending = true;
    res->idp = sp_xstrdup(pending.idp);
    if (!acs_bind(&pending, relay_state, binding_token, now, res)) {
        have_pending = false; /* not this browser's: leave the request alone */
        goto out;
    }
    memset(&exp, 0, sizeof(exp));
    exp.request_id = pending.id;
    exp.idp_entity_id = pending.idp;
    exp.acs_url = pending.acs_url;
    exp.sp_entity_id = env->cfg->entity_id;
    exp.request_issue_ms = pending.issue_instant_ms;
    exp.level = pending.level;
    exp.comparison = pending.comparison;
    exp.now_ms = now_ms;
    exp.skew_sec = env->cfg->clock_skew_sec;
    /*
     * The SPID checks first (cheap, and each names its own rule), then the
     * signatures: nothing, not even an anomaly page, is shown for a message
     * whose signatures do not verify with that IdP's metadata keys. Every
     * requested attribute is optional (RS-82) except fiscalNumber, below.
     */
    sp_spid_check_response(r, &exp, &cr);
    if (cr.code != SP_CHECK_OK && cr.code != SP_CHECK_STATUS_FAILURE) {
        acs_fail(res, cr.code, cr.detail);
        goto out;
    }
    passed = cr.code;
    if (sp_spid_response_verify(r, sp_idp_set_keys(env->idps, pending.idp), &cr) != passed) {
        acs_fail(res, cr.code, cr.detail);
        goto out;
    }
    if (passed == SP_CHECK_OK) { /* signed Assertion verified: the IdP's clock is its own */
        res->skew_known = true;
        res->skew_ms = cr.response_skew_ms;
    }
    if (cr.code == SP_CHECK_STATUS_FAILURE) {
        res->check = cr.code;
        res->anomaly = cr.anomaly;
        res->http_status = sp_check_http_status(cr.code);
        res->title = sp_anomaly_title(cr.anomaly) ? sp_anomaly_title(cr.anomaly) : acs_title_fail;
        res->message = sp_anomaly_message(cr.anomaly) ? sp_anomaly_message(cr.anomaly)
                                                      : sp_check_message(cr.code);
        sp_info("SPID login failed at the IdP: status %s / %s, ErrorCode nr%02d", cr.status_code,
                cr.sub_status, cr.anomaly);
        goto out;
    }
    if (sp_spid_response_extract(r, &a) != SP_OK) {
        acs_fail(res, SP_CHECK_MALFORMED, "cannot extract the assertion data");
        goto out;
    }
    fiscal = sp_spid_assertion_attr(&a, "fiscalNumber");
    if (fiscal == NULL) {
        acs_fail(res, SP_CHECK_ATTRIBUTE_MISSING, "fiscalNumber missing");
        goto out;
    }
    if (sp_cf_from_spid(fiscal, cf, &kind, &why) != SP_OK) {
        char detail[160];
        snprintf(detail, sizeof(detail), "fiscalNumber invalid: %s", why ? why : "?");
        acs_fail(res, SP_CHECK_ATTRIBUTES, detail);
        goto out;
    }
    if (recordable) { /* recorded before the session exists */
        recorded = true;
        msg.cf = fiscal;
        if (env->record(env->record_ctx, &msg) != SP_OK) {
            acs_unrecorded(res);
            have_pending = false; /* nothing acted on: the request stays as it was */
            goto out;
        }
    }
    if (acs_commit(env, &pending, &a, cf, client_ip, now_ms, res) != SP_OK) {
        have_pending = false; /* the transaction decided */
        goto out;
    }
    have_pending = false;
    res->check = SP_CHECK_OK;
    res->http_status = 302;
    res->next = sp_xstrdup(pending.next);
    sp_info("SPID login ok: IdP %s, level %u", pending.idp, a.level);
    rc = SP_OK;
out:
    /* a rejected Response is recorded before its rejection closes the request */
    if (recordable && !recorded && env->record(env->record_ctx, &msg) != SP_OK) {
        acs_unrecorded(res);
        have_pending = false;
    }
    /* a request answered with anything but success is closed all the same */
    if (have_pending)
        acs_consume_only(env, pending.id, now);
    free(msg_id);
    free(msg_issuer);
    sp_spid_assertion_cleanup(&a);
    sp_spid_response_free(&r);
    sp_authn_pending_cleanup(&pending);
    sp_buf_cleanup(&xml);
    return rc;
}

void sp_acs_result_cleanup(struct sp_acs_result *res)
{
    free(res->next);
    free(res->idp);
    res->next = NULL;
    res->idp = NULL;
    sp_wipe(res->session_token, sizeof(res->session_token));
}
