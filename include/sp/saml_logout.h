/*
 * saml_logout: SPID Single Logout messages (spec §4, SLO-01..SLO-24): building
 * and signing LogoutRequest and LogoutResponse for HTTP-Redirect and HTTP-POST,
 * decoding received ones from either binding, a strict parse, the checks lasso
 * does not do (lasso-for-spid.md §8) and the signature, verified with the keys
 * of the sender's metadata only. Decoding, parsing, checking and verifying
 * are pure (no clock, no I/O: the caller passes "now"), so the SP, the dev
 * IdP and the fuzz target share them.
 */
#ifndef SP_SAML_LOGOUT_H
#define SP_SAML_LOGOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp/buf.h"
#include "sp/config.h"
#include "sp/err.h"

struct sp_idp_set;
struct sp_xmlsig_keys;

#define SP_LOGOUT_MAX_XML (64u * 1024u)    /* a decoded (inflated) message */
#define SP_LOGOUT_MAX_PARAM (128u * 1024u) /* SAMLRequest / SAMLResponse as received */
#define SP_LOGOUT_MAX_RELAY_STATE 1024u    /* RelayState we accept and echo */
#define SP_LOGOUT_MAX_SIGNATURE 2048u      /* decoded query signature (16384-bit RSA) */
#define SP_LOGOUT_MAX_SESSION_INDEX 8u     /* samlp:SessionIndex per LogoutRequest */

#define SP_LOGOUT_STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define SP_LOGOUT_STATUS_REQUESTER "urn:oasis:names:tc:SAML:2.0:status:Requester"
#define SP_LOGOUT_STATUS_RESPONDER "urn:oasis:names:tc:SAML:2.0:status:Responder"
#define SP_LOGOUT_STATUS_PARTIAL "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

/* ------------------------------------------------------------------ check codes */

/*
 * One code per check: name, rule, HTTP status of the refusal, Italian message
 * for the person (plain language). Stable: logs, audit and metrics use names.
 */
#define SP_LOGOUT_CHECK_MAP(X)                                                                     \
    X(OK, "SLO-00", 200, "Messaggio di logout valido.")                                            \
    X(NO_MESSAGE, "SLO-20", 400, "La richiesta non contiene un messaggio di logout SAML.")         \
    X(ENCODING, "SLO-20", 400, "Il messaggio di logout non è codificato correttamente.")           \
    X(TOO_LARGE, "SLO-20", 400, "Il messaggio di logout è troppo grande.")                         \
    X(MALFORMED, "SLO-20", 400, "Il messaggio di logout non è leggibile.")                         \
    X(DTD, "SLO-20", 400, "Il messaggio di logout contiene costrutti XML non ammessi.")            \
    X(ROOT, "SLO-20", 400, "Il messaggio ricevuto non è il messaggio di logout atteso.")           \
    X(COMMENT, "SLO-20", 400, "Il messaggio di logout contiene commenti XML.")                     \
    X(DUPLICATE_ID, "SLO-20", 400, "Il messaggio di logout contiene identificativi duplicati.")    \
    X(ID, "SLO-11", 400, "Il messaggio di logout non ha un identificativo valido.")                \
    X(VERSION, "SLO-11", 400, "La versione del protocollo del messaggio di logout non è 2.0.")     \
    X(ISSUE_INSTANT, "SLO-21", 400, "La data del messaggio di logout non è valida.")               \
    X(EXPIRED, "SLO-21", 403, "Il messaggio di logout è scaduto.")                                 \
    X(DESTINATION, "SLO-21", 400, "Il messaggio di logout era destinato a un altro indirizzo.")    \
    X(ISSUER, "SLO-21", 403,                                                                       \
      "Il messaggio di logout non proviene dal gestore di identità atteso.")                       \
    X(ISSUER_FORMAT, "SLO-21", 400,                                                                \
      "L'emittente del messaggio di logout non è nel formato "                                    \
      "previsto.")                                                                                 \
    X(NAMEID, "SLO-21", 400, "La richiesta di logout non indica l'utente.")                        \
    X(SESSION_INDEX, "SLO-21", 400, "La richiesta di logout indica sessioni non valide.")          \
    X(IN_RESPONSE_TO, "SLO-14", 400,                                                               \
      "La risposta di logout non corrisponde a una richiesta di logout in corso.")                 \
    X(RELAY_STATE, "SLO-14", 400,                                                                  \
      "La risposta di logout non corrisponde alla richiesta di logout inviata.")                   \
    X(STATUS, "SLO-14", 400, "La risposta di logout non contiene un esito valido.")                \
    X(UNSIGNED, "SLO-12", 403, "Il messaggio di logout non è firmato.")                            \
    X(SIGNATURE_ALGORITHM, "SLO-12", 403,                                                          \
      "Il messaggio di logout è firmato con un algoritmo non ammesso.")                            \
    X(SIGNATURE_STRUCTURE, "SLO-12", 403,                                                          \
      "La firma del messaggio di logout non copre i dati "                                         \
      "ricevuti.")                                                                                 \
    X(SIGNATURE_INVALID, "SLO-12", 403, "La firma del messaggio di logout non è valida.")          \
    X(REPLAY, "SLO-21", 403, "Questo messaggio di logout è già stato usato.")

enum sp_logout_check {
#define SP_LOGOUT_CHECK_ENUM(name, rule, status, msg) SP_LOGOUT_##name,
    SP_LOGOUT_CHECK_MAP(SP_LOGOUT_CHECK_ENUM)
#undef SP_LOGOUT_CHECK_ENUM
        SP_LOGOUT__COUNT
};

/* Name ("DESTINATION"), rule ("SLO-21"), HTTP status, user message: static strings. */
const char *sp_logout_check_name(enum sp_logout_check c);
const char *sp_logout_check_rule(enum sp_logout_check c);
int sp_logout_check_status(enum sp_logout_check c);
const char *sp_logout_check_message(enum sp_logout_check c);

/* Outcome of a decode, parse, check or verify step. detail: English, for the log. */
struct sp_logout_result {
    enum sp_logout_check code;
    char detail[256];
};

/* ------------------------------------------------------------------ received messages */

enum sp_logout_kind { SP_LOGOUT_KIND_NONE = 0, SP_LOGOUT_KIND_REQUEST, SP_LOGOUT_KIND_RESPONSE };

/* A message as the binding delivered it. Initialise with sp_logout_in_init. */
struct sp_logout_in {
    bool post;                 /* HTTP-POST (else HTTP-Redirect) */
    enum sp_logout_kind kind;  /* SAMLRequest or SAMLResponse parameter */
    struct sp_buf param;       /* that parameter, URL-decoded (base64 text) */
    struct sp_buf xml;         /* the decoded (Redirect: inflated) message */
    char *relay_state;         /* NULL when absent */
    char *sig_alg;             /* Redirect: SigAlg, NULL when absent */
    struct sp_buf signature;   /* Redirect: decoded Signature, empty when absent */
    struct sp_buf signed_part; /* Redirect: "SAMLx=..[&RelayState=..]&SigAlg=.." as received */
};

void sp_logout_in_init(struct sp_logout_in *in);
void sp_logout_in_cleanup(struct sp_logout_in *in);

/*
 * Decode an HTTP-Redirect query (raw, everything after '?'): exactly one of
 * SAMLRequest / SAMLResponse (NO_MESSAGE when neither), no repeated
 * parameter, base64, raw inflate bounded by SP_LOGOUT_MAX_XML. The signed
 * octets are rebuilt from the parameters exactly as received, in the order
 * of the SAML bindings (message, RelayState, SigAlg). Returns res->code;
 * in->kind and in->param are set as soon as the message parameter is found,
 * even when a later step fails (the register keeps what arrived).
 */
enum sp_logout_check sp_logout_decode_redirect(const char *raw_query, struct sp_logout_in *in,
                                               struct sp_logout_result *res);

/* The same for HTTP-POST form fields (each NULL when absent). */
enum sp_logout_check sp_logout_decode_post(const char *saml_request, const char *saml_response,
                                           const char *relay_state, struct sp_logout_in *in,
                                           struct sp_logout_result *res);

struct sp_logout_msg;

/* What a parsed message says (borrowed from the message; NULL = absent). */
struct sp_logout_fields {
    enum sp_logout_kind kind;
    const char *id, *version, *issue_instant, *destination;
    const char *in_response_to;  /* responses */
    const char *not_on_or_after; /* requests */
    const char *issuer;          /* trimmed text of the single saml:Issuer */
    const char *issuer_format;
    unsigned n_issuer;
    const char *name_id; /* requests: the NameID text as received */
    const char *name_id_format, *name_qualifier;
    unsigned n_name_id;
    const char *session_index[SP_LOGOUT_MAX_SESSION_INDEX];
    unsigned n_session_index; /* how many there are (may exceed the array) */
    const char *status;       /* responses: top StatusCode@Value */
    const char *sub_status;   /* its nested StatusCode@Value */
};

/*
 * Strict parse of a decoded message: at most SP_LOGOUT_MAX_XML bytes, no
 * DTD, no entities, no network; the root must be samlp:LogoutRequest or
 * samlp:LogoutResponse. NULL with res filled (MALFORMED, DTD, TOO_LARGE,
 * ROOT) on failure. Free with sp_logout_msg_free.
 */
struct sp_logout_msg *sp_logout_parse(const void *xml, size_t len, struct sp_logout_result *res);
void sp_logout_msg_free(struct sp_logout_msg **m);
const struct sp_logout_fields *sp_logout_msg_fields(const struct sp_logout_msg *m);

/* What a received message must match. */
struct sp_logout_expect {
    enum sp_logout_kind kind;
    const char *issuer;         /* entity ID of the sender (an IdP, or the SP for the dev IdP) */
    const char *destination;    /* our own SLO URL */
    const char *in_response_to; /* responses: the ID of our LogoutRequest */
    int64_t request_issue_ms;   /* responses: IssueInstant of our LogoutRequest */
    int64_t now_ms;
    unsigned skew_sec;
    unsigned max_age_sec; /* requests: how old an IssueInstant may be (plus skew) */
};

/*
 * Every field check, in order: root kind, no comments, unique IDs, ID,
 * Version, IssueInstant (and its window), Destination, Issuer and its Format,
 * then for requests NotOnOrAfter, NameID and SessionIndex, for responses
 * InResponseTo and Status. Returns res->code.
 */
enum sp_logout_check sp_logout_check(const struct sp_logout_msg *m,
                                     const struct sp_logout_expect *exp,
                                     struct sp_logout_result *res);

/*
 * The signature, by the binding the message came with: HTTP-Redirect, the
 * query signature over in->signed_part with SigAlg RSA-SHA256/384/512 (SHA-1
 * and anything else refused, no ds:Signature inside the XML); HTTP-POST, one
 * enveloped ds:Signature, a direct child of the root, referencing its ID,
 * exc-c14n, allowed algorithms, no other signature in the document. keys are
 * the sender's metadata keys (NULL: SIGNATURE_INVALID). Returns res->code.
 */
enum sp_logout_check sp_logout_verify(const struct sp_logout_msg *m, const struct sp_logout_in *in,
                                      const struct sp_xmlsig_keys *keys,
                                      struct sp_logout_result *res);

/* What a LogoutResponse reports (SLO-14). */
enum sp_logout_outcome {
    SP_LOGOUT_OUTCOME_SUCCESS, /* Success */
    SP_LOGOUT_OUTCOME_PARTIAL, /* second-level PartialLogout (Requester / PartialLogout) */
    SP_LOGOUT_OUTCOME_FAILED,  /* anything else: the IdP did not close its session */
};
enum sp_logout_outcome sp_logout_outcome_of(const struct sp_logout_msg *m);

/* ------------------------------------------------------------------ building and sending */

struct sp_logout_signer;

/*
 * A signer for a private key and its certificate (PEM texts): query
 * signatures (RSA-SHA256) and enveloped XML signatures (RSA-SHA256, SHA-256,
 * exc-c14n, the certificate in KeyInfo). NULL when either cannot be loaded
 * (logged). Free with sp_logout_signer_free. Thread-safe once built.
 */
struct sp_logout_signer *sp_logout_signer_new(const char *key_pem, const char *cert_pem);
void sp_logout_signer_free(struct sp_logout_signer **s);

/* The fields of a message to send (borrowed). */
struct sp_logout_build {
    enum sp_logout_kind kind;
    const char *id;           /* NCName, e.g. sp_rand_id() */
    int64_t issue_instant_ms; /* written in UTC with milliseconds */
    const char *destination;  /* the receiver's SLO (Response)Location */
    const char *issuer;       /* our entity ID: Issuer text and NameQualifier, Format entity */
    /* requests (SLO-11) */
    const char *name_id;        /* exactly as received in the assertion */
    const char *name_qualifier; /* as received; NULL omits it */
    const char *session_index;  /* NULL omits samlp:SessionIndex */
    /* responses (SLO-22) */
    const char *in_response_to;
    const char *status;     /* NULL: Success */
    const char *sub_status; /* NULL: none */
};

/* A message ready to send. */
struct sp_logout_out {
    bool post;
    char *url;        /* Redirect: the whole signed URL; POST: the form action */
    char *form_value; /* POST: base64 of the signed XML */
    char *xml;        /* the XML as sent (POST: signed), for the transaction register */
    size_t xml_len;
};

/*
 * The unsigned XML of b (for tests and the Redirect binding), appended to
 * xml. SP_ERR_INVALID when a required field is missing.
 */
enum sp_err sp_logout_xml(const struct sp_logout_build *b, struct sp_buf *xml);

/*
 * Build, sign and encode b for the binding: HTTP-Redirect, deflated and
 * signed on the query string (AR-41..AR-44) appended to endpoint; HTTP-POST,
 * an enveloped signature right after saml:Issuer, base64 for the form.
 * relay_state may be NULL. out is freed with sp_logout_out_cleanup.
 */
enum sp_err sp_logout_encode(const struct sp_logout_signer *s, const struct sp_logout_build *b,
                             bool post, const char *endpoint, const char *relay_state,
                             struct sp_logout_out *out);
void sp_logout_out_cleanup(struct sp_logout_out *out);

/* ------------------------------------------------------------------ the SP's IdPs */

/*
 * Where to send a logout message to idp (in set): the SingleLogoutService of
 * the preferred binding (AUTO: HTTP-Redirect when offered), else the other
 * binding the IdP offers; for a response, its ResponseLocation when the
 * metadata has one, else its Location (SLO-22). *post says which binding;
 * *url is a copy to free(). SP_ERR_UNKNOWN_IDP when the IdP is not in the set
 * or offers no SingleLogoutService.
 */
enum sp_err sp_saml_logout_endpoint(const struct sp_idp_set *set, const char *idp,
                                    enum sp_binding pref, bool response, bool *post, char **url);

/* A signer with our SP key and certificate, as the set loaded them. NULL on failure. */
struct sp_logout_signer *sp_saml_logout_signer(const struct sp_idp_set *set);

#endif /* SP_SAML_LOGOUT_H */
