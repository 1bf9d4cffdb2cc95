/*
 * web_cns: login with the CNS smart card (domain.md §3.4, §3.6).
 *
 * Two ways in. (a) spid-sp's own TLS listener ([cns] tls_port) asks every
 * client for a certificate during the handshake; GET /cns/login there
 * validates it, and hands the browser back to the main site with a one-time
 * ticket (GET /cns/complete?ticket=...) that opens the session on the main
 * origin. (b) Behind nginx (ssl_verify_client optional_no_ca), GET /cns/login
 * reads the certificate from [cns] proxy_header, believed only when the TCP
 * peer is one of [sp] trusted_proxies; from anyone else it is ignored.
 * Either way every check is spid-sp's own (cns.c), and the person is the
 * owner of the codice fiscale in the card's CN.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/app.h"
#include "sp/audit.h"
#include "sp/authz.h"
#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/cns.h"
#include "sp/db.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/metrics.h"
#include "sp/mem.h"
#include "sp/rand.h"
#include "sp/redirect.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/ttl_cache.h"
#include "sp/users.h"
#include "sp/web.h"

#define CNS_TICKET_SEC 60
#define CNS_CHAIN_MAX 8

/* One-time tickets from the TLS listener to the main site (same process). */
struct cns_ticket {
    char token[SP_RAND_TOKEN_LEN + 1];
    char next[512];
};

static struct sp_ttl_cache *tickets;
static pthread_once_t tickets_once = PTHREAD_ONCE_INIT;

static void ticket_copy(void *dst, const void *src)
{
    memcpy(dst, src, sizeof(struct cns_ticket));
}

static void ticket_cleanup(void *v)
{
    sp_wipe(v, sizeof(struct cns_ticket));
}

static void tickets_init(void)
{
    tickets = sp_ttl_cache_new(sizeof(struct cns_ticket), CNS_TICKET_SEC, 4096, ticket_copy,
                               ticket_cleanup);
}

/* The client certificate (and chain) of this request into der / chain_pem. */
static bool cns_certificate(struct sp_app *app, struct sp_req *req, struct sp_buf *der,
                            struct sp_buf *chain_pem)
{
    if (sp_req_is_tls(req)) {
        size_t n;
        const unsigned char *c = sp_req_client_cert(req, 0, &n);
        if (c == NULL)
            return false;
        sp_buf_add(der, c, n);
        for (unsigned i = 1; i < CNS_CHAIN_MAX && (c = sp_req_client_cert(req, i, &n)); i++) {
            sp_buf_adds(chain_pem, "-----BEGIN CERTIFICATE-----\n");
            sp_b64_encode(chain_pem, c, n);
            sp_buf_adds(chain_pem, "\n-----END CERTIFICATE-----\n");
        }
        return true;
    }
    {
        const char *h = sp_req_header(req, app->cfg->cns_proxy_header);
        if (h == NULL || h[0] == '\0')
            return false;
        if (!sp_str_list_has(app->cfg->trusted_proxies, req->peer_ip)) {
            sp_warn("CNS: %s header from %s, which is not a trusted proxy: ignored",
                    app->cfg->cns_proxy_header, req->peer_ip ? req->peer_ip : "?");
            return false;
        }
        /* nginx's $ssl_client_escaped_cert: the PEM, URL-encoded */
        return sp_url_decode(der, h, strlen(h)) == SP_OK && der->len > 0;
    }
}

static void cns_audit(struct sp_app *app, const struct sp_req *req, const char *event,
                      const char *actor, const char *outcome, const char *reason,
                      const struct sp_cns_result *r, const char *session)
{
    struct sp_audit_event ev;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "method", "cns", "issuer",
                          r->issuer, "serial", r->serial, "fingerprint", r->fingerprint, "card_id",
                          r->cn.card_id, "policy", r->policy, "revocation", r->revocation);
    char *details = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

    json_decref(o);
    memset(&ev, 0, sizeof(ev));
    ev.event = event;
    ev.actor = actor;
    ev.session = session;
    ev.source_ip = req->client_ip;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = details;
    if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
        sp_warn("could not write the audit entry of a CNS login");
    free(details);
}

/* The person and identity of a valid card, and a session; token gets it. */
static enum sp_err cns_open_session(struct sp_app *app, const struct sp_req *req,
                                    const struct sp_cns_result *r,
                                    char token[SP_RAND_TOKEN_LEN + 1])
{
    struct sp_login_record rec;
    struct sp_session s;
    char sid[SP_SESSION_ID_LEN + 1];
    int64_t now = sp_clock_now();
    enum sp_err rc;

    memset(&rec, 0, sizeof(rec));
    rec.cf = r->cn.cf;
    rec.method = "cns";
    rec.issuer = r->issuer;
    rec.external_id = r->serial;
    rec.source = "cns"; /* names on the card are informative only: no attributes */
    memset(&s, 0, sizeof(s));
    s.user_cf = (char *)r->cn.cf;
    s.method = "cns";
    s.assurance = sp_authz_assurance("cns", 0, false);
    rc = sp_db_begin(app->db);
    if (rc == SP_OK)
        rc = sp_users_record_login(app->db, &rec, now);
    if (rc == SP_OK)
        rc = sp_session_create(app->db, &s, now, app->cfg->session_lifetime_sec, token);
    if (rc == SP_OK)
        rc = sp_db_commit(app->db);
    else
        sp_db_rollback(app->db);
    if (rc == SP_OK) {
        sp_session_id(token, sid);
        cns_audit(app, req, SP_AUDIT_LOGIN, r->cn.cf, "ok", "CNS", r, sid);
    }
    return rc;
}

static int cns_status(enum sp_cns_reason r)
{
    switch (r) {
    case SP_CNS_UNREADABLE:
    case SP_CNS_BAD_CN:
    case SP_CNS_BAD_CARD_ID:
    case SP_CNS_BAD_CF:
        return 400;
    default: /* revoked, unknown issuer, not a CNS, ..., and revocation unknown */
        return 403;
    }
}

void sp_web_cns_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                      const struct sp_session *s)
{
    struct sp_buf der, chain;
    struct sp_cns_result r;
    char token[SP_RAND_TOKEN_LEN + 1];
    const char *next = sp_req_query(req, "next");

    (void)s;
    if (app->cns == NULL) {
        sp_tmpl_error_page(resp, 404, "Servizio non disponibile",
                           "L'accesso con la Carta Nazionale dei Servizi non è attivo.");
        return;
    }
    if (next == NULL || !sp_redirect_is_local(next))
        next = "/services";
    sp_buf_init(&der, 64 * 1024);
    sp_buf_init(&chain, 64 * 1024);
    if (!cns_certificate(app, req, &der, &chain)) {
        sp_info("CNS login without a client certificate");
        sp_tmpl_error_page(resp, 400, "Carta non presentata",
                           "Il browser non ha presentato il certificato della carta: inserire "
                           "la carta nel lettore, riprovare e scegliere il certificato di "
                           "autenticazione.");
        goto out;
    }
    if (sp_cns_verify(app->cns, der.data, der.len, chain.len ? sp_buf_str(&chain) : NULL,
                      sp_clock_now(), &r) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        goto out;
    }
    sp_metrics_inc("spid_sp_cns_logins_total", "outcome", sp_cns_reason_id(r.reason), NULL, NULL);
    if (r.reason != SP_CNS_OK) {
        sp_info("CNS login refused: %s (%s)", sp_cns_reason_id(r.reason), r.detail);
        cns_audit(app, req, SP_AUDIT_LOGIN_FAILED, r.cn.cf[0] ? r.cn.cf : NULL, "denied",
                  sp_cns_reason_id(r.reason), &r, NULL);
        sp_tmpl_error_page(resp, cns_status(r.reason), "Accesso con CNS non riuscito",
                           sp_cns_reason_text(r.reason));
        goto out;
    }
    if (cns_open_session(app, req, &r, token) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        goto out;
    }
    if (sp_req_is_tls(req)) {
        /* another origin: hand over through a one-time ticket */
        struct cns_ticket t;
        char ticket[SP_RAND_TOKEN_LEN + 1];
        struct sp_buf loc;
        pthread_once(&tickets_once, tickets_init);
        memcpy(t.token, token, sizeof(t.token));
        sp_strlcpy(t.next, next, sizeof(t.next));
        sp_rand_token(ticket);
        sp_ttl_cache_put(tickets, ticket, &t, sp_clock_now());
        sp_wipe(&t, sizeof(t));
        sp_buf_init(&loc, 4096);
        sp_buf_addf(&loc, "%s/cns/complete?ticket=%s", app->cfg->base_url, ticket);
        sp_resp_redirect(resp, 302, sp_buf_str(&loc));
        sp_buf_cleanup(&loc);
    } else {
        sp_resp_cookie(resp, SP_SESSION_COOKIE, token, -1, app->session_cookie_flags);
        sp_resp_redirect(resp, 302, next);
    }
    sp_wipe(token, sizeof(token));
out:
    sp_buf_cleanup(&der);
    sp_buf_cleanup(&chain);
}

void sp_web_cns_complete(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                         const struct sp_session *s)
{
    const char *ticket = sp_req_query(req, "ticket");
    struct cns_ticket t;

    (void)s;
    pthread_once(&tickets_once, tickets_init);
    if (ticket == NULL || strlen(ticket) != SP_RAND_TOKEN_LEN ||
        !sp_ttl_cache_get(tickets, ticket, sp_clock_now(), &t)) {
        sp_tmpl_error_page(resp, 400, "Accesso con CNS non riuscito",
                           "Il passaggio dall'accesso con la carta è scaduto o è già stato usato: "
                           "ripetere l'accesso.");
        return;
    }
    sp_ttl_cache_drop(tickets, ticket); /* one time */
    sp_resp_cookie(resp, SP_SESSION_COOKIE, t.token, -1, app->session_cookie_flags);
    sp_resp_redirect(resp, 302, sp_redirect_is_local(t.next) ? t.next : "/services");
    sp_wipe(&t, sizeof(t));
}
