/*
 * devidp_slo: the dev IdP's side of single logout, both directions.
 *
 * SP-initiated: a correctly signed LogoutRequest from a trusted SP always
 * gets a signed Success LogoutResponse in the binding it came with (SLO-02:
 * answering is mandatory even when there is nothing to close); the sessions
 * we remembered for that NameID are forgotten.
 *
 * IdP-initiated: every assertion we issue is remembered (SP, NameID,
 * NameQualifier, SessionIndex, identity, binding); a tester picks one on
 * /sessions and we send the SP a LogoutRequest signed with our key, by
 * HTTP-Redirect or HTTP-POST, to the SingleLogoutService of the SP metadata
 * we trust. The SP's LogoutResponse comes back to /slo and is checked with
 * the same code the SP uses (saml_logout.c): InResponseTo, Issuer,
 * Destination, time, and the signature with the SP metadata key.
 *
 * THREAD SAFETY NOTES: struct devidp is read-only once the HTTP threads run,
 * except *idp->state (remembered sessions and pending logouts), which every
 * function here touches only under its mutex; callers get copies.
 */
#define _DEFAULT_SOURCE
#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/clock.h"
#include "sp/forms.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/rand.h"
#include "sp/saml_logout.h"
#include "sp/str.h"
#include "devidp_priv.h"
#include "saml_priv.h"

/* An IdP-initiated LogoutRequest awaiting the SP's LogoutResponse. */
struct devidp_pending {
    char id[SP_RAND_ID_LEN + 1];
    char relay[SP_RAND_TOKEN_LEN + 1];
    char *sp;
    unsigned handle;
    int64_t issued_ms;
};

struct devidp_state {
    pthread_mutex_t lock;
    struct devidp_session sessions[DEVIDP_MAX_SESSIONS]; /* oldest first */
    unsigned nsessions;
    unsigned next_handle;
    struct devidp_pending pending[DEVIDP_MAX_PENDING]; /* oldest first */
    unsigned npending;
};

static char *dup_opt(const char *s)
{
    return s ? sp_xstrdup(s) : NULL;
}

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

struct devidp_state *devidp_state_new(void)
{
    struct devidp_state *st = sp_xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->lock, NULL);
    st->next_handle = 1;
    return st;
}

static void session_clear(struct devidp_session *s)
{
    free(s->sp);
    free(s->name_id);
    free(s->name_qualifier);
    free(s->session_index);
    free(s->identity);
    free(s->binding);
    memset(s, 0, sizeof(*s));
}

static void session_drop(struct devidp_state *st, unsigned i)
{
    session_clear(&st->sessions[i]);
    memmove(&st->sessions[i], &st->sessions[i + 1],
            (st->nsessions - i - 1) * sizeof(st->sessions[0]));
    st->nsessions--;
    memset(&st->sessions[st->nsessions], 0, sizeof(st->sessions[0]));
}

static void pending_drop(struct devidp_state *st, unsigned i)
{
    free(st->pending[i].sp);
    memmove(&st->pending[i], &st->pending[i + 1], (st->npending - i - 1) * sizeof(st->pending[0]));
    st->npending--;
    memset(&st->pending[st->npending], 0, sizeof(st->pending[0]));
}

void devidp_state_free(struct devidp_state **stp)
{
    struct devidp_state *st = stp ? *stp : NULL;

    if (st == NULL)
        return;
    while (st->nsessions > 0)
        session_drop(st, 0);
    while (st->npending > 0)
        pending_drop(st, 0);
    pthread_mutex_destroy(&st->lock);
    free(st);
    *stp = NULL;
}

void devidp_remember(const struct devidp *idp, const struct devidp_request *req,
                     const struct devidp_identity *who, unsigned level)
{
    struct devidp_state *st = idp->state;
    LassoNode *node = req->login ? lasso_login_get_assertion(req->login) : NULL;
    LassoSaml2Assertion *as;
    LassoSaml2NameID *nid;
    const char *index = NULL;
    struct devidp_session *s;

    if (node == NULL || !LASSO_IS_SAML2_ASSERTION(node) || req->sp == NULL) {
        if (node != NULL)
            g_object_unref(node);
        return; /* an anomaly Response carries no assertion: nothing to log out */
    }
    as = LASSO_SAML2_ASSERTION(node);
    nid = as->Subject ? as->Subject->NameID : NULL;
    if (nid == NULL || nid->content == NULL) {
        g_object_unref(node);
        return;
    }
    if (as->AuthnStatement != NULL && LASSO_IS_SAML2_AUTHN_STATEMENT(as->AuthnStatement->data))
        index = LASSO_SAML2_AUTHN_STATEMENT(as->AuthnStatement->data)->SessionIndex;
    pthread_mutex_lock(&st->lock);
    if (st->nsessions == DEVIDP_MAX_SESSIONS)
        session_drop(st, 0);
    s = &st->sessions[st->nsessions++];
    s->handle = st->next_handle++;
    s->sp = sp_xstrdup(req->sp->entity_id);
    s->name_id = sp_xstrdup(nid->content);
    s->name_qualifier = dup_opt(nid->NameQualifier);
    s->session_index = dup_opt(index);
    s->identity = sp_xstrdup(who->key);
    s->binding = sp_xstrdup(req->binding == DEVIDP_REDIRECT ? "HTTP-Redirect" : "HTTP-POST");
    s->level = level;
    s->issued_ms = sp_clock_now_ms();
    pthread_mutex_unlock(&st->lock);
    g_object_unref(node);
}

void devidp_sessions_each(const struct devidp *idp,
                          void (*fn)(void *ctx, const struct devidp_session *s), void *ctx)
{
    struct devidp_state *st = idp->state;

    pthread_mutex_lock(&st->lock);
    for (unsigned i = st->nsessions; i > 0; i--)
        fn(ctx, &st->sessions[i - 1]);
    pthread_mutex_unlock(&st->lock);
}

/* Forget the sessions of sp for name_id (after the SP logged the person out). */
static unsigned devidp_forget(const struct devidp *idp, const char *sp, const char *name_id)
{
    struct devidp_state *st = idp->state;
    unsigned n = 0;

    if (sp == NULL || name_id == NULL)
        return 0;
    pthread_mutex_lock(&st->lock);
    for (unsigned i = st->nsessions; i > 0; i--) {
        struct devidp_session *s = &st->sessions[i - 1];
        if (strcmp(s->sp, sp) == 0 && strcmp(s->name_id, name_id) == 0) {
            session_drop(st, i - 1);
            n++;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

/* ------------------------------------------------------------------------ */
/* SP-initiated: answer the SP's LogoutRequest                              */
/* ------------------------------------------------------------------------ */

/* Redirect: SAMLRequest, SigAlg and Signature present, SigAlg allowed. */
static enum sp_err slo_redirect_params(const char *raw_query, struct devidp_problem *why)
{
    struct sp_params q;
    enum sp_err rc = SP_ERR_INVALID;
    const char *alg;

    memset(&q, 0, sizeof(q));
    if (strlen(raw_query) > DEVIDP_MAX_MESSAGE) {
        devidp_problem(why, 400, NULL, "richiesta di logout troppo grande");
        return rc;
    }
    sp_params_parse(&q, raw_query, strlen(raw_query));
    alg = sp_params_get(&q, "SigAlg");
    if (q.bad || sp_params_get(&q, "SAMLRequest") == NULL)
        devidp_problem(why, 400, NULL, "parametro SAMLRequest mancante o query malformata");
    else if (alg == NULL || sp_params_get(&q, "Signature") == NULL)
        devidp_problem(why, 403, NULL, "LogoutRequest non firmata (SLO-12)");
    else if (!devidp_sig_alg_ok(alg))
        devidp_problem(why, 403, NULL, "SigAlg \"%s\" non ammesso (SLO-12)", alg);
    else
        rc = SP_OK;
    sp_params_cleanup(&q);
    return rc;
}

/* Whatever lasso concluded about our (absent) session: the answer is Success. */
static void slo_force_success(LassoSamlp2StatusResponse *resp, const char *entity_id)
{
    LassoSamlp2Status *st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
    LassoSamlp2StatusCode *code = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());

    sp_saml_assign(&code->Value, LASSO_SAML2_STATUS_CODE_SUCCESS);
    st->StatusCode = code;
    if (resp->Status != NULL)
        g_object_unref(resp->Status);
    resp->Status = st;
    if (resp->Issuer != NULL) {
        sp_saml_assign(&resp->Issuer->Format, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_ENTITY);
        sp_saml_assign(&resp->Issuer->NameQualifier, entity_id);
    }
}

enum sp_err devidp_logout(const struct devidp *idp, const char *raw_query, const char *saml_request,
                          const char *relay_state, struct devidp_logout *out,
                          struct devidp_problem *why)
{
    LassoLogout *lo = NULL;
    LassoProfile *profile;
    enum sp_err rc = SP_ERR_INVALID;
    bool redirect = raw_query != NULL;
    int lrc;

    memset(out, 0, sizeof(*out));
    memset(why, 0, sizeof(*why));
    if (redirect && slo_redirect_params(raw_query, why) != SP_OK)
        goto out;
    if (!redirect && (saml_request == NULL || saml_request[0] == '\0' ||
                      strlen(saml_request) > DEVIDP_MAX_MESSAGE)) {
        devidp_problem(why, 400, NULL, "campo SAMLRequest mancante o troppo grande");
        goto out;
    }
    lo = lasso_logout_new(idp->server);
    profile = LASSO_PROFILE(lo);
    lasso_profile_set_signature_verify_hint(profile, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
    lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
    lrc = lasso_logout_process_request_msg(lo, (char *)(redirect ? raw_query : saml_request));
    if (lrc == 0 && profile->signature_status != 0)
        lrc = profile->signature_status;
    if (lrc != 0) {
        devidp_problem(why, devidp_lasso_sig_error(lrc) ? 403 : 400, NULL,
                       "LogoutRequest rifiutata (lasso %d: %s)", lrc, lasso_strerror(lrc));
        goto out;
    }
    if (LASSO_IS_SAML2_NAME_ID(profile->nameIdentifier))
        devidp_forget(idp, profile->remote_providerID,
                      LASSO_SAML2_NAME_ID(profile->nameIdentifier)->content);
    /* no session here: lasso reports it, and we answer Success anyway (SLO-02) */
    lrc = lasso_logout_validate_request(lo);
    sp_debug("dev-idp: logout validate_request: %d", lrc);
    if (!LASSO_IS_SAMLP2_STATUS_RESPONSE(profile->response)) {
        devidp_problem(why, 500, NULL, "lasso non ha preparato la LogoutResponse (%d)", lrc);
        rc = SP_ERR_SAML;
        goto out;
    }
    slo_force_success(LASSO_SAMLP2_STATUS_RESPONSE(profile->response), idp->entity_id);
    lrc = lasso_logout_build_response_msg(lo);
    if (lrc != 0 || profile->msg_url == NULL) {
        devidp_problem(why, 500, NULL, "lasso non ha costruito la LogoutResponse (%d: %s)", lrc,
                       lasso_strerror(lrc));
        rc = SP_ERR_SAML;
        goto out;
    }
    out->redirect = profile->msg_body == NULL;
    out->url = sp_xstrdup(profile->msg_url);
    out->body = profile->msg_body ? sp_xstrdup(profile->msg_body) : NULL;
    out->relay_state = !out->redirect && relay_state ? sp_xstrdup(relay_state) : NULL;
    sp_info("dev-idp: LogoutResponse to %s (%s)",
            profile->remote_providerID ? profile->remote_providerID : "?",
            out->redirect ? "HTTP-Redirect" : "HTTP-POST");
    rc = SP_OK;
out:
    if (lo != NULL)
        g_object_unref(lo);
    return rc;
}

void devidp_logout_cleanup(struct devidp_logout *out)
{
    free(out->url);
    free(out->body);
    free(out->relay_state);
    memset(out, 0, sizeof(*out));
}

/* ------------------------------------------------------------------------ */
/* IdP-initiated: our LogoutRequest and the SP's LogoutResponse             */
/* ------------------------------------------------------------------------ */

/* A copy of the session with that handle, or false. */
static bool session_copy(struct devidp_state *st, unsigned handle, struct devidp_session *out)
{
    bool found = false;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    for (unsigned i = 0; i < st->nsessions && !found; i++) {
        const struct devidp_session *s = &st->sessions[i];
        if (s->handle != handle)
            continue;
        *out = *s;
        out->sp = sp_xstrdup(s->sp);
        out->name_id = sp_xstrdup(s->name_id);
        out->name_qualifier = dup_opt(s->name_qualifier);
        out->session_index = dup_opt(s->session_index);
        out->identity = sp_xstrdup(s->identity);
        out->binding = sp_xstrdup(s->binding);
        found = true;
    }
    pthread_mutex_unlock(&st->lock);
    return found;
}

static void pending_add(struct devidp_state *st, const char *id, const char *relay, const char *sp,
                        unsigned handle, int64_t now_ms)
{
    struct devidp_pending *p;

    pthread_mutex_lock(&st->lock);
    if (st->npending == DEVIDP_MAX_PENDING)
        pending_drop(st, 0);
    p = &st->pending[st->npending++];
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->relay, sizeof(p->relay), "%s", relay);
    p->sp = sp_xstrdup(sp);
    p->handle = handle;
    p->issued_ms = now_ms;
    pthread_mutex_unlock(&st->lock);
}

enum sp_err devidp_logout_start(const struct devidp *idp, unsigned handle, bool post,
                                struct devidp_logout *out, struct devidp_problem *why)
{
    struct devidp_session s;
    const struct devidp_sp *sp;
    struct sp_logout_build b;
    struct sp_logout_out msg;
    char id[SP_RAND_ID_LEN + 1], relay[SP_RAND_TOKEN_LEN + 1];
    const char *dest;
    int64_t now_ms = sp_clock_now_ms();
    enum sp_err rc = SP_ERR_INVALID;

    memset(out, 0, sizeof(*out));
    memset(why, 0, sizeof(*why));
    memset(&msg, 0, sizeof(msg));
    if (!session_copy(idp->state, handle, &s)) {
        devidp_problem(why, 404, NULL, "sessione %u sconosciuta (già chiusa?)", handle);
        return SP_ERR_NOT_FOUND;
    }
    sp = devidp_sp_find(idp, s.sp);
    dest = sp == NULL ? NULL : post ? sp->slo_post : sp->slo_redirect;
    if (dest == NULL) {
        devidp_problem(why, 400, NULL,
                       "i metadata dell'SP non hanno un SingleLogoutService HTTP-%s",
                       post ? "POST" : "Redirect");
        goto out;
    }
    sp_rand_id(id);
    sp_rand_token(relay);
    memset(&b, 0, sizeof(b));
    b.kind = SP_LOGOUT_KIND_REQUEST;
    b.id = id;
    b.issue_instant_ms = now_ms;
    b.destination = dest;
    b.issuer = idp->entity_id;
    b.name_id = s.name_id;
    b.name_qualifier = s.name_qualifier;
    b.session_index = s.session_index;
    rc = sp_logout_encode(idp->signer, &b, post, dest, relay, &msg);
    if (rc != SP_OK) {
        devidp_problem(why, 500, NULL, "impossibile firmare la LogoutRequest");
        goto out;
    }
    pending_add(idp->state, id, relay, s.sp, handle, now_ms);
    out->redirect = !post;
    out->request = true;
    out->url = msg.url;
    msg.url = NULL;
    out->body = msg.form_value;
    msg.form_value = NULL;
    out->relay_state = post ? sp_xstrdup(relay) : NULL;
    sp_info("dev-idp: IdP-initiated LogoutRequest %s to %s (%s)", id, s.sp,
            post ? "HTTP-POST" : "HTTP-Redirect");
out:
    sp_logout_out_cleanup(&msg);
    session_clear(&s);
    return rc;
}

static void report_problem(struct devidp_logout_report *rep, int status, const char *what,
                           const char *detail)
{
    rep->status = status;
    snprintf(rep->problem, sizeof(rep->problem), "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
    for (char *c = rep->problem; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    sp_info("dev-idp: LogoutResponse refused: %s", rep->problem);
}

/* Take the pending request id out of the table; false when unknown. */
static bool pending_take(struct devidp_state *st, const char *id, struct devidp_pending *out)
{
    bool found = false;

    pthread_mutex_lock(&st->lock);
    for (unsigned i = 0; i < st->npending && !found; i++) {
        if (strcmp(st->pending[i].id, id) != 0)
            continue;
        *out = st->pending[i];
        out->sp = sp_xstrdup(st->pending[i].sp);
        pending_drop(st, i);
        found = true;
    }
    pthread_mutex_unlock(&st->lock);
    return found;
}

static void pending_put_back(struct devidp_state *st, const struct devidp_pending *p)
{
    pending_add(st, p->id, p->relay, p->sp, p->handle, p->issued_ms);
}

static void session_forget_handle(struct devidp_state *st, unsigned handle)
{
    pthread_mutex_lock(&st->lock);
    for (unsigned i = 0; i < st->nsessions; i++)
        if (st->sessions[i].handle == handle) {
            session_drop(st, i);
            break;
        }
    pthread_mutex_unlock(&st->lock);
}

void devidp_logout_response(const struct devidp *idp, const char *raw_query,
                            const char *saml_response, const char *relay_state,
                            struct devidp_logout_report *rep)
{
    struct sp_logout_in in;
    struct sp_logout_result r;
    struct sp_logout_msg *m = NULL;
    struct sp_logout_expect exp;
    struct devidp_pending pend;
    const struct sp_logout_fields *f;
    const struct devidp_sp *sp;
    bool have_pending = false;

    memset(rep, 0, sizeof(*rep));
    memset(&pend, 0, sizeof(pend));
    sp_logout_in_init(&in);
    snprintf(rep->binding, sizeof(rep->binding), "%s", raw_query ? "HTTP-Redirect" : "HTTP-POST");
    if (raw_query != NULL)
        sp_logout_decode_redirect(raw_query, &in, &r);
    else
        sp_logout_decode_post(NULL, saml_response, relay_state, &in, &r);
    if (r.code != SP_LOGOUT_OK) {
        report_problem(rep, 400, "LogoutResponse non decodificabile", r.detail);
        goto out;
    }
    m = sp_logout_parse(in.xml.data, in.xml.len, &r);
    f = sp_logout_msg_fields(m);
    if (m == NULL || f->kind != SP_LOGOUT_KIND_RESPONSE) {
        report_problem(rep, 400, "il messaggio non è una samlp:LogoutResponse",
                       m ? NULL : r.detail);
        goto out;
    }
    snprintf(rep->response, sizeof(rep->response), "%s", f->id ? f->id : "");
    snprintf(rep->request, sizeof(rep->request), "%s", f->in_response_to ? f->in_response_to : "");
    snprintf(rep->status_code, sizeof(rep->status_code), "%s", f->status ? f->status : "");
    snprintf(rep->sub_status, sizeof(rep->sub_status), "%s", f->sub_status ? f->sub_status : "");
    if (f->in_response_to == NULL || !pending_take(idp->state, f->in_response_to, &pend)) {
        report_problem(rep, 400,
                       "InResponseTo non corrisponde a una LogoutRequest in attesa di risposta",
                       NULL);
        goto out;
    }
    have_pending = true;
    snprintf(rep->sp, sizeof(rep->sp), "%s", pend.sp);
    sp = devidp_sp_find(idp, pend.sp);
    memset(&exp, 0, sizeof(exp));
    exp.kind = SP_LOGOUT_KIND_RESPONSE;
    exp.issuer = pend.sp;
    exp.destination = idp->slo_url;
    exp.in_response_to = pend.id;
    exp.request_issue_ms = pend.issued_ms;
    exp.now_ms = sp_clock_now_ms();
    exp.skew_sec = DEVIDP_CLOCK_SKEW_SEC;
    if (exp.now_ms > pend.issued_ms + DEVIDP_LOGOUT_TTL_SEC * 1000LL) {
        report_problem(rep, 403, "LogoutRequest scaduta", NULL);
        goto out;
    }
    if (sp_logout_check(m, &exp, &r) != SP_LOGOUT_OK) {
        report_problem(rep, sp_logout_check_status(r.code), sp_logout_check_name(r.code), r.detail);
        goto out;
    }
    if (sp_logout_verify(m, &in, sp ? sp->keys : NULL, &r) != SP_LOGOUT_OK) {
        report_problem(rep, sp_logout_check_status(r.code), sp_logout_check_name(r.code), r.detail);
        goto out;
    }
    rep->signature_ok = true;
    if (in.relay_state != NULL && strcmp(in.relay_state, pend.relay) != 0) {
        report_problem(rep, 400, "RelayState diverso da quello inviato", NULL);
        goto out;
    }
    have_pending = false; /* answered for good: verified */
    if (sp_logout_outcome_of(m) != SP_LOGOUT_OUTCOME_SUCCESS) {
        report_problem(rep, 200, "l'SP non ha chiuso la sessione", f->status);
        goto out;
    }
    session_forget_handle(idp->state, pend.handle);
    rep->status = 200;
    rep->success = true;
    sp_info("dev-idp: LogoutResponse %s from %s: Success", rep->response, pend.sp);
out:
    if (have_pending) /* a refused answer does not use the request up */
        pending_put_back(idp->state, &pend);
    free(pend.sp);
    sp_logout_msg_free(&m);
    sp_logout_in_cleanup(&in);
}
