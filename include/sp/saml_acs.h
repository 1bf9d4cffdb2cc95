/*
 * saml_acs: the Assertion Consumer Service. Takes the POSTed SAMLResponse,
 * binds it to our pending request and to the browser, has lasso verify the
 * signatures with the IdP metadata keys, runs every SPID check
 * (spid_checks.c), and in one transaction consumes the pending request,
 * records the message IDs against replay, updates the person and opens the
 * session.
 */
#ifndef SP_SAML_ACS_H
#define SP_SAML_ACS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp/config.h"
#include "sp/err.h"
#include "sp/rand.h"
#include "sp/spid_checks.h"

struct sp_db;
struct sp_idp_set;

/* A received Response for the transaction register (borrowed for the call). */
struct sp_acs_message {
    const char *id;             /* Response@ID */
    const char *in_response_to; /* Response@InResponseTo, or NULL */
    const char *issuer;         /* the Response's Issuer, or NULL (as received: not trusted) */
    const char *cf;             /* fiscalNumber as asserted, on a successful login only */
    const void *xml;            /* the decoded bytes as received */
    size_t len;
    int64_t received_ms;
};

/*
 * Keeps msg (transaction register, X-02) before its outcome is acted on.
 * Anything but SP_OK stops the exchange: 500, no session, and the pending
 * request is left as it was (nothing was acted on).
 */
typedef enum sp_err (*sp_acs_record_fn)(void *ctx, const struct sp_acs_message *msg);

struct sp_saml_env {
    const struct sp_config *cfg;
    struct sp_db *db;
    const struct sp_idp_set *idps;
    const char *acs_url;
    sp_acs_record_fn record; /* NULL: Responses are not recorded */
    void *record_ctx;
};

struct sp_acs_result {
    int http_status;     /* 302 on success, 4xx otherwise */
    enum sp_check check; /* which check decided (OK on success) */
    int anomaly;         /* nrNN from the IdP, 0 when none */
    const char *title;   /* Italian page title and message (static) */
    const char *message;
    char session_token[SP_RAND_TOKEN_LEN + 1]; /* success only */
    char *next;                                /* success only; free() */
    char *idp;                                 /* IdP of the pending request, or NULL; free() */
    bool unrecorded;                           /* record refused it: 500, nothing acted on */
    bool skew_known;                           /* a verified Response: skew_ms can be trusted */
    int64_t skew_ms;                           /* its IssueInstant minus our clock */
};

/*
 * Process one Response. binding_token is the value of the browser-binding
 * cookie (NULL if absent); client_ip goes to the audit trail. When env->record
 * is set, every Response that decodes to a well-formed, DTD-free document
 * whose root is samlp:Response with an ID is handed to it exactly once,
 * accepted or rejected, before the session is opened or the pending request
 * closed (with cf on a successful login); anything else is rejected
 * unrecorded. A successful
 * login is audited in the transaction that opens the session; a login for
 * professional or legal-person use (company attributes) leaves a role
 * suggestion, and pre-selects the company when the person holds an employer
 * role there (domain.md §4.5). Returns SP_OK when the login succeeded; otherwise
 * res says what to show. Free res with sp_acs_result_cleanup.
 */
enum sp_err sp_saml_acs_process(const struct sp_saml_env *env, const char *saml_response,
                                const char *relay_state, const char *binding_token,
                                const char *client_ip, struct sp_acs_result *res);
void sp_acs_result_cleanup(struct sp_acs_result *res);

#endif /* SP_SAML_ACS_H */
