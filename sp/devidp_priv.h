/*
 * devidp_priv: what the dev IdP's own files (devidp*.c) share. Not a public
 * header: it names lasso types, so only the devidp files include it.
 */
#ifndef SP_DEVIDP_PRIV_H
#define SP_DEVIDP_PRIV_H

#include <lasso/lasso.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sp/err.h"

#define DEVIDP_MAX_SPS 32         /* SP metadata documents we trust */
#define DEVIDP_MAX_SERVICES 16    /* AttributeConsumingService per SP */
#define DEVIDP_MAX_REQ_ATTRS 32   /* RequestedAttribute per service */
#define DEVIDP_CLOCK_SKEW_SEC 300 /* request IssueInstant tolerance (nr13) */
#define DEVIDP_VALIDITY_SEC 300   /* Conditions and SubjectConfirmationData lifetime */
#define DEVIDP_NOT_BEFORE_SLACK 5 /* Conditions NotBefore = now minus this */
#define DEVIDP_MAX_MESSAGE 65536  /* largest SAMLRequest parameter we look at */
#define DEVIDP_MAX_SESSIONS 256   /* issued assertions remembered for IdP-initiated logout */
#define DEVIDP_MAX_PENDING 64     /* IdP-initiated LogoutRequests awaiting their response */
#define DEVIDP_LOGOUT_TTL_SEC 900 /* how long such a LogoutRequest may be answered */

/* ---- The IdP ---- */

struct devidp_service {
    unsigned index;
    char *attrs[DEVIDP_MAX_REQ_ATTRS];
    unsigned nattrs;
};

struct sp_logout_signer;
struct sp_xmlsig_keys;
struct devidp_state;

/* What we read from one SP metadata document beyond what lasso keeps. */
struct devidp_sp {
    char *entity_id;
    struct devidp_service services[DEVIDP_MAX_SERVICES];
    unsigned nservices;
    char *slo_redirect; /* SingleLogoutService Location per binding, or NULL */
    char *slo_post;
    struct sp_xmlsig_keys *keys; /* SPSSODescriptor signing keys (LogoutResponses), or NULL */
};

struct devidp {
    char *entity_id; /* = base URL, no trailing slash */
    char *sso_url;
    char *slo_url;
    char *metadata;      /* our IdP metadata document */
    LassoServer *server; /* IdP role only; never the SP's server (roles are shared state) */
    struct devidp_sp sps[DEVIDP_MAX_SPS];
    unsigned nsps;
    struct sp_logout_signer *signer; /* our key, for IdP-initiated LogoutRequests */
    struct devidp_state *state;      /* the only mutable part: locked inside devidp_slo.c */
};

/* The SP with that entity ID, or NULL. */
const struct devidp_sp *devidp_sp_find(const struct devidp *idp, const char *entity_id);

/* ---- HTTP (devidp_http.c) ---- */

struct sp_req;
struct sp_resp;

/* What the HTTP threads see: the IdP, usable once ready is true. */
struct devidp_app {
    const struct devidp *idp;
    atomic_bool ready;
};

/* The sp_http handler for every route of the dev IdP; app is a struct devidp_app. */
void devidp_http_handler(void *app, struct sp_req *req, struct sp_resp *resp);

/* ---- Test identities (devidp_identities.c) ---- */

/* SPID identity types (spec §6). */
enum devidp_type {
    DEVIDP_TYPE_CITIZEN = 1,
    DEVIDP_TYPE_LEGAL_PERSON = 2,
    DEVIDP_TYPE_PROFESSIONAL = 3,
    DEVIDP_TYPE_COMPANY_PROFESSIONAL = 4,
};

struct devidp_attr {
    const char *name;
    const char *value;
};

struct devidp_identity {
    const char *key;   /* form value: "citizen", ... */
    const char *label; /* shown on the choice page */
    const char *description;
    enum devidp_type type;
    const struct devidp_attr *attrs; /* terminated by {NULL, NULL} */
};

unsigned devidp_identity_count(void);
const struct devidp_identity *devidp_identity_at(unsigned i);
/* The identity with that key, or NULL. */
const struct devidp_identity *devidp_identity_find(const char *key);
/* Value of a SPID attribute of the identity, or NULL when it has none. */
const char *devidp_identity_attr(const struct devidp_identity *who, const char *name);
/* True when a Purpose (NULL = absent) admits the identity's type (loose PU-02). */
bool devidp_purpose_allows(const char *purpose, const struct devidp_identity *who);
/* True for "nr19", "nr20", ... the anomaly codes a tester may pick. */
bool devidp_anomaly_valid(const char *code);

/* ---- Requests and responses (devidp_saml.c) ---- */

enum devidp_binding { DEVIDP_REDIRECT, DEVIDP_POST };

/* A verified, SPID-conformant AuthnRequest. */
struct devidp_request {
    LassoLogin *login; /* one reference */
    enum devidp_binding binding;
    const struct devidp_sp *sp; /* borrowed from the IdP */
    char *request_id;
    char *comparison;
    char *purpose;     /* NULL when absent */
    char *relay_state; /* NULL when absent; copied back verbatim */
    unsigned level;    /* requested SpidL1..3 */
    int attr_index;    /* AttributeConsumingServiceIndex */
};

/* Why a request was refused: HTTP status, SPID ErrorCode (or NULL), text. */
struct devidp_problem {
    int status;
    const char *errcode;
    char message[512];
};

/* Fill why (and log the refusal at info level). */
void devidp_problem(struct devidp_problem *why, int status, const char *errcode, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
/* True for the RSA-SHA256/384/512 signature algorithm URIs (never SHA-1). */
bool devidp_sig_alg_ok(const char *alg);
/* True for the lasso codes that mean "signature missing or wrong". */
bool devidp_lasso_sig_error(int lasso_rc);

/*
 * Verify and check an AuthnRequest: the raw query for Redirect (saml_request
 * and relay_state NULL), or the base64 SAMLRequest and the RelayState (may be
 * NULL) for POST. On SP_OK req holds the request (devidp_request_cleanup);
 * otherwise why says what is wrong and req is empty.
 */
enum sp_err devidp_request_load(const struct devidp *idp, enum devidp_binding binding,
                                const char *raw_query, const char *saml_request,
                                const char *relay_state, struct devidp_request *req,
                                struct devidp_problem *why);
void devidp_request_cleanup(struct devidp_request *req);

/*
 * Build the signed Response to req: a Success with an assertion for who at
 * level (1..3), or, when anomaly ("nr19", ...) is not NULL, a Responder /
 * AuthnFailed status with "ErrorCode <anomaly>". On SP_OK *acs_url and
 * *saml_response (base64) are set; free() both.
 */
enum sp_err devidp_respond(const struct devidp *idp, struct devidp_request *req,
                           const struct devidp_identity *who, unsigned level, const char *anomaly,
                           char **acs_url, char **saml_response, struct devidp_problem *why);

/* ---- Single logout (devidp_slo.c) ---- */

/* A message to send: a 302 to url (Redirect) or body POSTed to url. */
struct devidp_logout {
    bool redirect;
    bool request; /* body is a SAMLRequest (else a SAMLResponse) */
    char *url;
    char *body;        /* base64 message (POST only) */
    char *relay_state; /* POST only; NULL when absent */
};

/* An assertion we issued, remembered for IdP-initiated logout. */
struct devidp_session {
    unsigned handle; /* > 0, shown on /sessions and posted back by its form */
    char *sp;        /* SP entity ID */
    char *name_id;
    char *name_qualifier;
    char *session_index; /* NULL when the assertion had none */
    char *identity;      /* test identity key */
    char *binding;       /* "HTTP-Redirect" or "HTTP-POST" of the AuthnRequest */
    unsigned level;
    int64_t issued_ms;
};

/* Create and free the mutable state (sessions, pending logouts). */
struct devidp_state *devidp_state_new(void);
void devidp_state_free(struct devidp_state **st);

/*
 * Remember the assertion of the Response just built for req (after
 * devidp_respond succeeded; nothing happens for an anomaly Response).
 * The oldest session is forgotten past DEVIDP_MAX_SESSIONS.
 */
void devidp_remember(const struct devidp *idp, const struct devidp_request *req,
                     const struct devidp_identity *who, unsigned level);

/* Call fn for each remembered session, newest first, under the state lock. */
void devidp_sessions_each(const struct devidp *idp,
                          void (*fn)(void *ctx, const struct devidp_session *s), void *ctx);

/*
 * Start the IdP-initiated logout of session handle: a LogoutRequest signed
 * with our key (Redirect: query signature; POST: enveloped) to the SP's
 * SingleLogoutService for that binding, remembered until its LogoutResponse.
 */
enum sp_err devidp_logout_start(const struct devidp *idp, unsigned handle, bool post,
                                struct devidp_logout *out, struct devidp_problem *why);

/* What the SP's LogoutResponse to one of our LogoutRequests said, and whether it holds. */
struct devidp_logout_report {
    int status;         /* HTTP status of the report page: 200 when every check passed */
    char sp[512];       /* SP entity ID */
    char request[128];  /* our LogoutRequest ID (InResponseTo) */
    char response[128]; /* the LogoutResponse ID */
    char binding[16];   /* "HTTP-Redirect" or "HTTP-POST" */
    char status_code[192];
    char sub_status[192];
    char problem[512]; /* empty when valid */
    bool signature_ok; /* the signature verified with the SP metadata key */
    bool success;      /* valid and Success: the session is forgotten */
};

/*
 * Check the SP's LogoutResponse (the raw query for Redirect, or the base64
 * SAMLResponse and RelayState for POST): InResponseTo one of our pending
 * requests, from that SP, Destination our /slo, fresh, signed with the key
 * of the SP's metadata, then the status. Always fills rep.
 */
void devidp_logout_response(const struct devidp *idp, const char *raw_query,
                            const char *saml_response, const char *relay_state,
                            struct devidp_logout_report *rep);

/*
 * Verify an SP's LogoutRequest (the raw query for Redirect, or the base64
 * SAMLRequest and RelayState for POST) and answer it with a signed Success
 * LogoutResponse in the same binding: the dev IdP keeps no sessions, so there
 * is never anything to refuse. On failure why says what is wrong.
 */
enum sp_err devidp_logout(const struct devidp *idp, const char *raw_query, const char *saml_request,
                          const char *relay_state, struct devidp_logout *out,
                          struct devidp_problem *why);
void devidp_logout_cleanup(struct devidp_logout *out);

#endif /* SP_DEVIDP_PRIV_H */
