/*
 * http: the HTTP listener (libmicrohttpd behind a fence). Handlers see only
 * struct sp_req and struct sp_resp. http.c enforces the limits on headers,
 * bodies and form fields, gives each request an id and a memory arena, and
 * turns a struct sp_resp into the wire answer.
 */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "sp/buf.h"
#include "sp/err.h"

#define SP_MAX_BODY_BYTES (512u * 1024u) /* a base64 SAML Response fits well inside */
#define SP_MAX_FORM_FIELDS 64
#define SP_MAX_QUERY_BYTES (64u * 1024u)
#define SP_MAX_RESP_HEADERS 16

struct sp_req_priv;

struct sp_req {
    const char *method;    /* "GET", "POST", ... */
    const char *path;      /* decoded path, no query */
    const char *raw_query; /* exactly as received after '?', "" when none */
    const char *body;      /* NUL-terminated copy of the body */
    size_t body_len;
    const char *client_ip;  /* the browser: the peer, or X-Forwarded-For from a trusted proxy */
    const char *peer_ip;    /* the TCP peer, always */
    const char *request_id; /* 16 hex characters, also in every log line */
    struct sp_req_priv *priv;
};

struct sp_resp {
    int status;
    const char *content_type; /* static string */
    struct sp_buf body;
    const char *hdr_name[SP_MAX_RESP_HEADERS];
    char *hdr_value[SP_MAX_RESP_HEADERS];
    unsigned n_hdrs;
};

/*
 * The TLS client certificate chain of the request (leaf first), as DER, when
 * it came over a listener started with sp_http_start_tls and the client sent
 * one. index 0 is the leaf; NULL past the end or without TLS.
 */
const unsigned char *sp_req_client_cert(const struct sp_req *req, unsigned index, size_t *len);
/* True when the request came over a TLS listener of ours. */
bool sp_req_is_tls(const struct sp_req *req);

/* Request accessors. Strings are owned by the request and live until it ends. */
const char *sp_req_header(const struct sp_req *req, const char *name);
const char *sp_req_cookie(const struct sp_req *req, const char *name);
/* Decoded query / urlencoded-form parameter; NULL when absent. A parameter
 * given twice counts as absent-and-invalid: sp_req_*_dup reports it. */
const char *sp_req_query(const struct sp_req *req, const char *name);
const char *sp_req_form(const struct sp_req *req, const char *name);
/* True when the query (or form) is malformed or repeats a parameter name. */
bool sp_req_query_bad(const struct sp_req *req);
bool sp_req_form_bad(const struct sp_req *req);

/* Request arena: memory and cleanups released when the request ends. */
void *sp_req_alloc(struct sp_req *req, size_t n);
char *sp_req_strdup(struct sp_req *req, const char *s);
void sp_req_on_cleanup(struct sp_req *req, void (*fn)(void *), void *arg);

/* Response building. Header names must be static strings; values are copied. */
void sp_resp_header(struct sp_resp *resp, const char *name, const char *value);
void sp_resp_redirect(struct sp_resp *resp, int status, const char *location);
void sp_resp_text(struct sp_resp *resp, int status, const char *content_type, const char *text);

/*
 * Every answer carries the same Content-Security-Policy (scripts, styles and
 * images from our origin only). A page showing images from elsewhere (the
 * IdP logos of the login page) names those sources here: img_sources is a
 * space-separated list of validated CSP source expressions such as
 * "https://logo.example"; the rest of the policy stays as it is.
 */
void sp_resp_csp_img_sources(struct sp_resp *resp, const char *img_sources);

enum sp_cookie_flags {
    SP_COOKIE_SECURE = 1,
    SP_COOKIE_SAMESITE_NONE = 2, /* with SECURE, for cross-site POSTs */
    SP_COOKIE_SAMESITE_STRICT = 4,
};
/* HttpOnly; Path=/; SameSite=Lax unless a flag says otherwise. max_age < 0:
 * session cookie; 0: delete. */
void sp_resp_cookie(struct sp_resp *resp, const char *name, const char *value, long max_age,
                    unsigned flags);

/* The handler fills resp; http.c sends it. app is the pointer given at start. */
typedef void (*sp_http_handler_fn)(void *app, struct sp_req *req, struct sp_resp *resp);

struct sp_http;

/*
 * Listen on addr:port with a pool of threads (0 = one per core). port 0 picks
 * a free port (see sp_http_port). NULL on failure, with the reason logged.
 */
/*
 * Requests whose path starts with prefix may carry a body of up to max bytes
 * (file uploads) instead of SP_MAX_BODY_BYTES. Call before sp_http_start.
 */
void sp_http_allow_uploads(const char *prefix, size_t max);

struct sp_http *sp_http_start(const char *addr, unsigned port, unsigned threads,
                              sp_http_handler_fn handler, void *app);
unsigned sp_http_port(const struct sp_http *h);
/*
 * The same over TLS (GnuTLS through libmicrohttpd) with the server key and
 * certificate given as PEM text, asking every client for a certificate
 * (optional at the TLS level: the application decides) and advertising the
 * CAs of trust_pem as acceptable issuers.
 */
struct sp_http *sp_http_start_tls(const char *addr, unsigned port, unsigned threads,
                                  sp_http_handler_fn handler, void *app, const char *key_pem,
                                  const char *cert_pem, const char *trust_pem);

/* Stop accepting, finish requests in flight, free. Accepts NULL. */
void sp_http_stop(struct sp_http **h);

/* Block until SIGINT or SIGTERM (for the serve and dev-idp commands). */
void sp_http_wait_for_signal(void);

#endif /* SP_HTTP_H */
