/*
 * routes: the one route table (method, path, handler, what it requires) and
 * the dispatcher that enforces it: session lookup with idle and absolute
 * timeouts for routes that need one, 404/405 for the rest.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sp/app.h"
#include "sp/clock.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/web.h"

enum route_auth {
    ROUTE_PUBLIC,   /* no session needed */
    ROUTE_OPTIONAL, /* session passed when there is a valid one */
    ROUTE_SESSION,  /* 401 without a valid session */
    ROUTE_TEST,     /* only with test_hooks = true */
};

struct route {
    const char *method;
    const char *path;
    int prefix; /* path is a prefix */
    sp_web_handler_fn handler;
    enum route_auth auth;
};

static const struct route routes[] = {
    {"GET", "/", 0, sp_web_index, ROUTE_OPTIONAL},
    {"GET", "/metadata", 0, sp_web_metadata, ROUTE_PUBLIC},
    {"GET", "/spid/login", 0, sp_web_spid_login, ROUTE_PUBLIC},
    {"POST", "/spid/acs", 0, sp_web_spid_acs, ROUTE_PUBLIC},
    {"GET", "/api/me", 0, sp_web_me, ROUTE_SESSION},
    {"GET", "/api/services", 0, sp_web_api_services, ROUTE_SESSION},
    {"GET", "/services", 0, sp_web_services, ROUTE_OPTIONAL},
    {"POST", "/services/act", 0, sp_web_services_act, ROUTE_SESSION},
    {"GET", "/auth/check", 0, sp_web_auth_check, ROUTE_OPTIONAL},
    {"GET", "/auth/login", 0, sp_web_auth_login, ROUTE_PUBLIC},
    {"GET", "/auth/denied", 0, sp_web_auth_denied, ROUTE_OPTIONAL},
    {"GET", "/logout", 0, sp_web_logout, ROUTE_OPTIONAL},
    {"GET", "/spid/slo", 0, sp_web_spid_slo, ROUTE_OPTIONAL},
    {"POST", "/spid/slo", 0, sp_web_spid_slo, ROUTE_OPTIONAL},
    {"GET", "/pin/request", 0, sp_web_pin_request_form, ROUTE_PUBLIC},
    {"POST", "/pin/request", 0, sp_web_pin_request, ROUTE_PUBLIC},
    {"GET", "/pin/login", 0, sp_web_pin_login_form, ROUTE_PUBLIC},
    {"POST", "/pin/login", 0, sp_web_pin_login, ROUTE_PUBLIC},
    {"POST", "/pin/change", 0, sp_web_pin_change, ROUTE_PUBLIC},
    {"GET", "/pin/recover", 0, sp_web_pin_recover_form, ROUTE_PUBLIC},
    {"POST", "/pin/recover", 0, sp_web_pin_recover, ROUTE_PUBLIC},
    {"POST", "/pin/revoke", 0, sp_web_pin_revoke, ROUTE_SESSION},
    {"GET", "/pin/convert", 0, sp_web_pin_convert_form, ROUTE_OPTIONAL},
    {"GET", "/pin/convert/modulo", 0, sp_web_pin_convert_modulo, ROUTE_SESSION},
    {"POST", "/pin/convert", 0, sp_web_pin_convert, ROUTE_SESSION},
    {"GET", "/cns/login", 0, sp_web_cns_login, ROUTE_PUBLIC},
    {"GET", "/cns/complete", 0, sp_web_cns_complete, ROUTE_PUBLIC},
    {"GET", "/healthz", 0, sp_web_healthz, ROUTE_PUBLIC},
    {"GET", "/metrics", 0, sp_web_metrics, ROUTE_PUBLIC},
    {"GET", "/static/", 1, sp_web_static, ROUTE_PUBLIC},
    {"POST", "/test/clock", 0, sp_web_test_clock, ROUTE_TEST},
};

static bool route_match(const struct route *r, const char *path)
{
    return r->prefix ? sp_str_has_prefix(path, r->path) : strcmp(path, r->path) == 0;
}

/*
 * Behind a trusted front proxy the browser's address is the last entry of
 * X-Forwarded-For (the one that proxy wrote); from anyone else the header
 * is ignored. out receives the address to use.
 */
static void forwarded_ip(const struct sp_app *app, struct sp_req *req, char out[64])
{
    const char *xff, *last;
    unsigned char addr[16];

    if (app->cfg->trusted_proxies[0] == '\0' || req->client_ip == NULL ||
        !sp_str_list_has(app->cfg->trusted_proxies, req->client_ip))
        return;
    xff = sp_req_header(req, "X-Forwarded-For");
    if (xff == NULL)
        return;
    last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    if (strlen(last) >= 64)
        return;
    snprintf(out, 64, "%s", last);
    out[strcspn(out, " ")] = '\0';
    if (inet_pton(AF_INET, out, addr) == 1 || inet_pton(AF_INET6, out, addr) == 1)
        req->client_ip = out;
}

void sp_app_handle(void *appv, struct sp_req *req, struct sp_resp *resp)
{
    char fwd_ip[64];
    struct sp_app *app = appv;
    const struct route *found = NULL;
    bool path_known = false;
    struct sp_session s;
    const struct sp_session *sp = NULL;
    const char *token;
    enum sp_err rc;

    forwarded_ip(app, req, fwd_ip);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!route_match(&routes[i], req->path))
            continue;
        if (routes[i].auth == ROUTE_TEST && !app->cfg->test_hooks)
            continue;
        path_known = true;
        if (strcmp(routes[i].method, req->method) == 0 ||
            (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            found = &routes[i];
            break;
        }
    }
    if (found == NULL) {
        if (path_known) {
            sp_resp_header(resp, "Allow", "GET, POST");
            sp_tmpl_error_page(resp, 405, "Metodo non consentito",
                               "Questo indirizzo non accetta il metodo usato dalla richiesta.");
        } else {
            sp_tmpl_error_page(resp, 404, "Pagina non trovata",
                               "L'indirizzo richiesto non esiste.");
        }
        return;
    }

    memset(&s, 0, sizeof(s));
    if (found->auth == ROUTE_SESSION || found->auth == ROUTE_OPTIONAL) {
        token = sp_req_cookie(req, SP_SESSION_COOKIE);
        rc = token
                 ? sp_session_lookup(app->db, token, sp_clock_now(), app->cfg->session_idle_sec, &s)
                 : SP_ERR_NOT_FOUND;
        if (rc == SP_OK) {
            sp = &s;
        } else if (rc == SP_ERR_EXPIRED) {
            sp_info("session expired");
            sp_resp_cookie(resp, SP_SESSION_COOKIE, "", 0, app->session_cookie_flags);
        } else if (rc != SP_ERR_NOT_FOUND) {
            sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
            return;
        }
        if (sp == NULL && found->auth == ROUTE_SESSION) {
            sp_resp_text(resp, 401, "application/json",
                         rc == SP_ERR_EXPIRED ? "{\"error\":\"session expired\"}\n"
                                              : "{\"error\":\"no session\"}\n");
            sp_resp_header(resp, "Cache-Control", "no-store");
            return;
        }
    }
    sp_resp_header(resp, "Cache-Control", "no-store");
    found->handler(app, req, resp, sp);
    sp_session_cleanup(&s);
}
