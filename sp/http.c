/*
 * http: libmicrohttpd listener, request assembly (bounded body, parsed query
 * and form), per-request arena, and the translation of struct sp_resp into
 * an MHD response. Every answer carries the security headers.
 *
 * THREAD SAFETY NOTES: MHD runs a pool of threads, each with its own epoll
 * loop; a connection stays on one thread, so its struct http_conn is only
 * touched by that thread. The handler and its app pointer are shared and must
 * be safe to call concurrently.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sp/forms.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/rand.h"
#include "sp/str.h"

#define SP_MAX_HEADER_BYTES (32u * 1024u) /* MHD's per-connection memory pool */
#define SP_CONN_TIMEOUT_SEC 30
#define SP_MAX_CONNECTIONS 4096

struct arena_cleanup {
    void (*fn)(void *);
    void *arg;
    struct arena_cleanup *next;
};

struct arena_block {
    struct arena_block *next;
    /* data follows */
};

struct sp_req_priv {
    struct MHD_Connection *conn;
    bool tls;
    struct sp_params query;
    struct sp_params form;
    struct arena_block *blocks;
    struct arena_cleanup *cleanups;
};

struct http_conn {
    char *raw_uri;
    struct sp_buf body;
    size_t body_max;
    int started;
    int too_large;
};

struct sp_http {
    struct MHD_Daemon *daemon;
    bool tls;
    sp_http_handler_fn handler;
    void *app;
    unsigned port;
};

/* ---------------------------------------------------------------- arena */

void *sp_req_alloc(struct sp_req *req, size_t n)
{
    struct arena_block *b = sp_xmalloc(sizeof(*b) + n + 1);
    b->next = req->priv->blocks;
    req->priv->blocks = b;
    return (char *)(b + 1);
}

char *sp_req_strdup(struct sp_req *req, const char *s)
{
    size_t n = strlen(s);
    char *p = sp_req_alloc(req, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

void sp_req_on_cleanup(struct sp_req *req, void (*fn)(void *), void *arg)
{
    struct arena_cleanup *c = sp_xmalloc(sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    c->next = req->priv->cleanups;
    req->priv->cleanups = c;
}

static void arena_release(struct sp_req_priv *p)
{
    while (p->cleanups != NULL) {
        struct arena_cleanup *c = p->cleanups;
        p->cleanups = c->next;
        c->fn(c->arg);
        free(c);
    }
    while (p->blocks != NULL) {
        struct arena_block *b = p->blocks;
        p->blocks = b->next;
        free(b);
    }
}

/* ---------------------------------------------------------------- request */

const char *sp_req_header(const struct sp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->priv->conn, MHD_HEADER_KIND, name);
}

const char *sp_req_cookie(const struct sp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->priv->conn, MHD_COOKIE_KIND, name);
}

const char *sp_req_query(const struct sp_req *req, const char *name)
{
    return sp_params_get(&req->priv->query, name);
}

const char *sp_req_form(const struct sp_req *req, const char *name)
{
    return sp_params_get(&req->priv->form, name);
}

bool sp_req_query_bad(const struct sp_req *req)
{
    return req->priv->query.bad;
}

bool sp_req_form_bad(const struct sp_req *req)
{
    return req->priv->form.bad;
}

/* ---------------------------------------------------------------- response */

void sp_resp_header(struct sp_resp *resp, const char *name, const char *value)
{
    SP_ASSERT(resp->n_hdrs < SP_MAX_RESP_HEADERS);
    resp->hdr_name[resp->n_hdrs] = name;
    resp->hdr_value[resp->n_hdrs] = sp_xstrdup(value);
    resp->n_hdrs++;
}

/*
 * The policy of every answer, in two halves so that a page can widen img-src
 * (sp_resp_csp_img_sources) without restating the rest. No inline scripts or
 * styles anywhere: default-src 'self' covers script-src and style-src.
 */
#define SP_CSP_HEAD "default-src 'self'; img-src 'self' data:"
#define SP_CSP_TAIL "; frame-ancestors 'none'"
#define SP_CSP_HEADER "Content-Security-Policy"
#define SP_CSP_MAX_BYTES (8u * 1024u) /* one header line, well inside proxies' limits */

void sp_resp_csp_img_sources(struct sp_resp *resp, const char *img_sources)
{
    struct sp_buf v;
    enum sp_err rc;
    sp_buf_init(&v, SP_CSP_MAX_BYTES);
    rc = sp_buf_adds(&v, SP_CSP_HEAD " ");
    if (rc == SP_OK)
        rc = sp_buf_adds(&v, img_sources);
    if (rc == SP_OK)
        rc = sp_buf_adds(&v, SP_CSP_TAIL);
    /* an over-long list keeps the default policy, which only hides the images */
    if (rc == SP_OK)
        sp_resp_header(resp, SP_CSP_HEADER, sp_buf_str(&v));
    sp_buf_cleanup(&v);
}

void sp_resp_redirect(struct sp_resp *resp, int status, const char *location)
{
    resp->status = status;
    sp_resp_header(resp, "Location", location);
}

void sp_resp_text(struct sp_resp *resp, int status, const char *content_type, const char *text)
{
    resp->status = status;
    resp->content_type = content_type;
    sp_buf_reset(&resp->body);
    if (sp_buf_adds(&resp->body, text) != SP_OK)
        resp->status = 500;
}

void sp_resp_cookie(struct sp_resp *resp, const char *name, const char *value, long max_age,
                    unsigned flags)
{
    struct sp_buf c;
    const char *samesite = "Lax";

    if (flags & SP_COOKIE_SAMESITE_NONE)
        samesite = "None";
    else if (flags & SP_COOKIE_SAMESITE_STRICT)
        samesite = "Strict";
    sp_buf_init(&c, 4096);
    sp_buf_addf(&c, "%s=%s; Path=/; HttpOnly; SameSite=%s", name, value, samesite);
    if (flags & (SP_COOKIE_SECURE | SP_COOKIE_SAMESITE_NONE))
        sp_buf_adds(&c, "; Secure");
    if (max_age >= 0)
        sp_buf_addf(&c, "; Max-Age=%ld", max_age);
    sp_resp_header(resp, "Set-Cookie", sp_buf_str(&c));
    sp_buf_cleanup(&c);
}

static void resp_cleanup(struct sp_resp *resp)
{
    for (unsigned i = 0; i < resp->n_hdrs; i++)
        free(resp->hdr_value[i]);
    sp_buf_cleanup(&resp->body);
}

/* ---------------------------------------------------------------- MHD glue */

/* Set once before the daemon starts, read-only afterwards. */
static char upload_prefix[64];
static size_t upload_max;

void sp_http_allow_uploads(const char *prefix, size_t max)
{
    snprintf(upload_prefix, sizeof(upload_prefix), "%s", prefix ? prefix : "");
    upload_max = max;
}

static void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_conn *hc = sp_xcalloc(1, sizeof(*hc));
    bool upload = upload_prefix[0] != '\0' && sp_str_has_prefix(uri, upload_prefix);
    (void)cls;
    (void)conn;
    hc->raw_uri = sp_xstrdup(uri);
    hc->body_max = upload && upload_max > SP_MAX_BODY_BYTES ? upload_max : SP_MAX_BODY_BYTES;
    sp_buf_init(&hc->body, hc->body_max);
    return hc;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_conn *hc = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (hc == NULL)
        return;
    free(hc->raw_uri);
    sp_buf_cleanup(&hc->body);
    free(hc);
    *con_cls = NULL;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    sp_debug("microhttpd: %s", line);
}

static const char *client_ip(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "-");
    if (ci == NULL || ci->client_addr == NULL)
        return out;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  out, (socklen_t)n);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)n);
    return out;
}

static enum MHD_Result http_send(struct MHD_Connection *conn, struct sp_resp *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t len = resp->body.len;
    bool has_csp = false;
    char *data = sp_buf_detach(&resp->body);

    r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "text/html; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    for (unsigned i = 0; i < resp->n_hdrs; i++) {
        if (strcmp(resp->hdr_name[i], SP_CSP_HEADER) == 0)
            has_csp = true; /* from sp_resp_csp_img_sources: replaces the default */
        MHD_add_response_header(r, resp->hdr_name[i], resp->hdr_value[i]);
    }
    if (!has_csp)
        MHD_add_response_header(r, SP_CSP_HEADER, SP_CSP_HEAD SP_CSP_TAIL);
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result http_simple(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    struct sp_resp resp;
    enum MHD_Result ret;
    memset(&resp, 0, sizeof(resp));
    sp_buf_init(&resp.body, 4096);
    sp_resp_text(&resp, (int)status, "text/plain; charset=utf-8", msg);
    ret = http_send(conn, &resp);
    resp_cleanup(&resp);
    return ret;
}

static bool is_form_post(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded",
                                     strlen("application/x-www-form-urlencoded")) == 0;
}

/*
 * Request ids only need to be unique in the logs, not secret: a random
 * per-thread prefix (from the CSPRNG once) and a per-thread counter.
 */
static void http_request_id(char out[17])
{
    static _Thread_local uint32_t prefix, counter;
    static _Thread_local int seeded;
    if (!seeded) {
        sp_rand_bytes(&prefix, sizeof(prefix));
        seeded = 1;
    }
    snprintf(out, 17, "%08x%08x", (unsigned)prefix, (unsigned)++counter);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct sp_http *h = cls;
    struct http_conn *hc = *con_cls;
    struct sp_req_priv priv;
    struct sp_req req;
    struct sp_resp resp;
    char ip[64], rid[17];
    const char *q;
    enum MHD_Result ret;
    (void)version;

    if (hc == NULL)
        return MHD_NO;
    if (!hc->started) {
        hc->started = 1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!hc->too_large && sp_buf_add(&hc->body, upload_data, *upload_data_size) != SP_OK)
            hc->too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }

    http_request_id(rid);
    client_ip(conn, ip, sizeof(ip));
    sp_log_set_request(rid, ip, method, url);
    if (hc->too_large) {
        sp_info("request body larger than %zu bytes refused", hc->body_max);
        ret = http_simple(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                          "Richiesta troppo grande / request body too large\n");
        sp_log_set_context(NULL);
        return ret;
    }

    memset(&priv, 0, sizeof(priv));
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    priv.conn = conn;
    priv.tls = h->tls;
    req.priv = &priv;
    req.method = method;
    req.path = url;
    q = strchr(hc->raw_uri, '?');
    req.raw_query = q ? q + 1 : "";
    req.body = sp_buf_str(&hc->body);
    req.body_len = hc->body.len;
    req.client_ip = ip;
    req.peer_ip = ip;
    req.request_id = rid;
    if (strlen(req.raw_query) > SP_MAX_QUERY_BYTES)
        priv.query.bad = true;
    else
        sp_params_parse(&priv.query, req.raw_query, strlen(req.raw_query));
    if (strcmp(method, "POST") == 0 && is_form_post(conn))
        sp_params_parse(&priv.form, req.body, req.body_len);
    sp_buf_init(&resp.body, 4u << 20);
    resp.status = 500;

    h->handler(h->app, &req, &resp);
    sp_debug("-> %d", resp.status);

    ret = http_send(conn, &resp);
    resp_cleanup(&resp);
    arena_release(&priv);
    sp_params_cleanup(&priv.query);
    sp_params_cleanup(&priv.form);
    sp_log_set_context(NULL);
    return ret;
}

bool sp_req_is_tls(const struct sp_req *req)
{
    return req->priv != NULL && req->priv->tls;
}

const unsigned char *sp_req_client_cert(const struct sp_req *req, unsigned index, size_t *len)
{
    const union MHD_ConnectionInfo *ci;
    const gnutls_datum_t *certs;
    unsigned n = 0;

    *len = 0;
    if (!sp_req_is_tls(req))
        return NULL;
    ci = MHD_get_connection_info(req->priv->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return NULL;
    certs = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
    if (certs == NULL || index >= n)
        return NULL;
    *len = certs[index].size;
    return certs[index].data;
}

static struct sp_http *http_start(const char *addr, unsigned port, unsigned threads,
                                  sp_http_handler_fn handler, void *app, const char *key_pem,
                                  const char *cert_pem, const char *trust_pem);

struct sp_http *sp_http_start(const char *addr, unsigned port, unsigned threads,
                              sp_http_handler_fn handler, void *app)
{
    return http_start(addr, port, threads, handler, app, NULL, NULL, NULL);
}

struct sp_http *sp_http_start_tls(const char *addr, unsigned port, unsigned threads,
                                  sp_http_handler_fn handler, void *app, const char *key_pem,
                                  const char *cert_pem, const char *trust_pem)
{
    if (key_pem == NULL || cert_pem == NULL || trust_pem == NULL)
        return NULL;
    return http_start(addr, port, threads, handler, app, key_pem, cert_pem, trust_pem);
}

static struct sp_http *http_start(const char *addr, unsigned port, unsigned threads,
                                  sp_http_handler_fn handler, void *app, const char *key_pem,
                                  const char *cert_pem, const char *trust_pem)
{
    struct sp_http *h = sp_xcalloc(1, sizeof(*h));
    struct sockaddr_in sin;
    const union MHD_DaemonInfo *di;
    sigset_t set;
    long ncpu;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        sp_errorx("listen address %s is not an IPv4 address", addr);
        free(h);
        return NULL;
    }
    if (threads == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        threads = ncpu > 0 ? (unsigned)ncpu : 2;
    }
    /* worker threads inherit this mask: signals go to sp_http_wait_for_signal */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    h->handler = handler;
    h->app = app;
    h->tls = key_pem != NULL;
    if (h->tls)
        h->daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TLS, 0,
            NULL, NULL, http_access, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)SP_MAX_HEADER_BYTES, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)SP_CONN_TIMEOUT_SEC, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)SP_MAX_CONNECTIONS, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
            MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
            http_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
            MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
            MHD_OPTION_HTTPS_MEM_TRUST, trust_pem, MHD_OPTION_END);
    else
        h->daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
            http_access, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)SP_MAX_HEADER_BYTES, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)SP_CONN_TIMEOUT_SEC, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)SP_MAX_CONNECTIONS, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
            MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
            http_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_END);
    if (h->daemon == NULL) {
        sp_errorx("cannot listen on %s:%u", addr, port);
        free(h);
        return NULL;
    }
    di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : port;
    return h;
}

unsigned sp_http_port(const struct sp_http *h)
{
    return h->port;
}

void sp_http_stop(struct sp_http **hp)
{
    struct sp_http *h = hp ? *hp : NULL;
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
    *hp = NULL;
}

void sp_http_wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigwait(&set, &sig);
    sp_info("signal %d: shutting down", sig);
}
