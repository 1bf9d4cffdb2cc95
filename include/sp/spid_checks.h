/*
 * spid_checks: the SPID check layer on the raw Response XML (spec
 * spid-sp-rules.md §3, lasso-for-spid.md §7.3). Pure functions: no I/O, no
 * clock (the caller passes "now"), no lasso. Signatures themselves are
 * verified by lasso with the IdP metadata keys (saml_acs.c); this layer makes
 * sure the element lasso verified is the one we read (exactly one Assertion,
 * direct child, its own enveloped signature referencing its ID, unique IDs),
 * enforces the algorithm policy and every RS- rule, and extracts the data.
 */
#ifndef SP_SPID_CHECKS_H
#define SP_SPID_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "sp/err.h"

/*
 * One code per check: name, rule id, HTTP status, Italian message for the
 * user (plain language, no technical detail). Stable: tests and metrics use
 * the names.
 */
#define SP_CHECK_MAP(X)                                                                            \
    X(OK, "RS-00", 200, "Accesso riuscito.")                                                       \
    X(MALFORMED, "RS-05", 400, "La risposta ricevuta dal gestore dell'identità non è leggibile.")  \
    X(DTD, "RS-05", 400, "La risposta ricevuta contiene costrutti XML non ammessi.")               \
    X(TOO_LARGE, "RS-05", 400, "La risposta ricevuta è troppo grande.")                            \
    X(ROOT, "RS-06", 400, "Il messaggio ricevuto non è una risposta SAML.")                        \
    X(RESPONSE_ID, "RS-10", 400, "La risposta non ha un identificativo valido.")                   \
    X(RESPONSE_VERSION, "RS-11", 400, "La versione del protocollo della risposta non è 2.0.")      \
    X(RESPONSE_ISSUE_INSTANT, "RS-12", 400, "La data della risposta non è valida.")                \
    X(RESPONSE_TIME, "RS-13", 400, "La data della risposta non è coerente con la richiesta.")      \
    X(IN_RESPONSE_TO, "RS-14", 400,                                                                \
      "La risposta non corrisponde a una richiesta di accesso in corso.")                          \
    X(DESTINATION, "RS-15", 400, "La risposta era destinata a un altro indirizzo.")                \
    X(STATUS, "RS-16", 400, "La risposta non contiene un esito valido.")                           \
    X(STATUS_FAILURE, "RS-16", 403, "Il gestore dell'identità non ha autenticato l'utente.")       \
    X(NO_ASSERTION, "RS-17", 400, "La risposta non contiene un'asserzione di autenticazione.")     \
    X(RESPONSE_ISSUER, "RS-18", 400,                                                               \
      "La risposta proviene da un gestore diverso da quello scelto.")                              \
    X(RESPONSE_ISSUER_FORMAT, "RS-19", 400,                                                        \
      "L'emittente della risposta non è nel formato previsto.")                                    \
    X(ASSERTION_UNSIGNED, "RS-20", 401, "L'asserzione di autenticazione non è firmata.")           \
    X(SIGNATURE_STRUCTURE, "RS-23", 401, "La firma della risposta non copre i dati ricevuti.")     \
    X(SIGNATURE_ALGORITHM, "RS-24", 401, "La risposta è firmata con un algoritmo non ammesso.")    \
    X(SIGNATURE_INVALID, "RS-21", 401, "La firma della risposta non è valida.")                    \
    X(DUPLICATE_ID, "RS-23", 400, "La risposta contiene identificativi duplicati.")                \
    X(COMMENT, "RS-23", 400, "La risposta contiene commenti nei dati firmati.")                    \
    X(ASSERTION_ID, "RS-30", 400, "L'asserzione non ha un identificativo valido.")                 \
    X(ASSERTION_VERSION, "RS-30", 400, "La versione dell'asserzione non è 2.0.")                   \
    X(ASSERTION_ISSUE_INSTANT, "RS-31", 400, "La data dell'asserzione non è valida.")              \
    X(ASSERTION_TIME, "RS-31", 400, "La data dell'asserzione non è coerente con la richiesta.")    \
    X(ASSERTION_ISSUER, "RS-32", 400,                                                              \
      "L'asserzione proviene da un gestore diverso da quello scelto.")                             \
    X(ASSERTION_ISSUER_FORMAT, "RS-32", 400,                                                       \
      "L'emittente dell'asserzione non è nel formato previsto.")                                   \
    X(SUBJECT, "RS-40", 400, "L'asserzione non indica il soggetto autenticato.")                   \
    X(NAMEID, "RS-41", 400, "L'asserzione non contiene l'identificativo del soggetto.")            \
    X(NAMEID_FORMAT, "RS-42", 400, "L'identificativo del soggetto non è nel formato previsto.")    \
    X(NAMEID_QUALIFIER, "RS-43", 400, "L'identificativo del soggetto non è qualificato.")          \
    X(SUBJECT_CONFIRMATION, "RS-50", 400, "L'asserzione non ha una conferma del soggetto valida.") \
    X(SUBJECT_CONFIRMATION_DATA, "RS-51", 400,                                                     \
      "L'asserzione non ha i dati di conferma del soggetto.")                                      \
    X(RECIPIENT, "RS-52", 400, "L'asserzione era destinata a un altro servizio.")                  \
    X(SCD_IN_RESPONSE_TO, "RS-53", 400, "L'asserzione non corrisponde alla richiesta di accesso.") \
    X(SCD_NOT_ON_OR_AFTER, "RS-54", 400, "L'asserzione è scaduta.")                                \
    X(CONDITIONS, "RS-60", 400, "L'asserzione non contiene le condizioni di validità.")            \
    X(NOT_BEFORE, "RS-61", 400, "L'asserzione non è ancora valida.")                               \
    X(NOT_ON_OR_AFTER, "RS-62", 400, "L'asserzione è scaduta.")                                    \
    X(AUDIENCE, "RS-63", 400, "L'asserzione era destinata a un altro servizio.")                   \
    X(AUTHN_STATEMENT, "RS-70", 400, "L'asserzione non descrive l'autenticazione svolta.")         \
    X(AUTHN_CONTEXT, "RS-71", 400, "Il livello SPID dell'autenticazione non è riconosciuto.")      \
    X(LEVEL, "RS-72", 403, "Il livello SPID usato è inferiore a quello richiesto dal servizio.")   \
    X(ATTRIBUTES, "RS-80", 400, "Gli attributi dell'utente ricevuti non sono validi.")             \
    X(ATTRIBUTE_MISSING, "RS-82", 403, "Mancano dati dell'utente indispensabili al servizio.")

enum sp_check {
#define SP_CHECK_ENUM(name, rule, status, msg) SP_CHECK_##name,
    SP_CHECK_MAP(SP_CHECK_ENUM)
#undef SP_CHECK_ENUM
        SP_CHECK__COUNT
};

/* Name ("AUDIENCE"), rule id ("RS-63"), HTTP status, user message: static strings. */
const char *sp_check_name(enum sp_check c);
const char *sp_check_rule(enum sp_check c);
int sp_check_http_status(enum sp_check c);
const char *sp_check_message(enum sp_check c);

/*
 * Anomaly messages of spec §7 for ErrorCode nrNN (19..30): a title and a
 * plain-Italian explanation with what to do. NULL for codes without one
 * (the caller then shows the generic STATUS_FAILURE message).
 */
const char *sp_anomaly_title(int code);
const char *sp_anomaly_message(int code);

/* What the Response must match: everything comes from our pending request. */
struct sp_check_expect {
    const char *request_id;    /* ID of our AuthnRequest */
    const char *idp_entity_id; /* IdP the request was sent to */
    const char *acs_url;       /* our ACS URL (Destination, Recipient) */
    const char *sp_entity_id;  /* Audience */
    int64_t request_issue_ms;  /* IssueInstant of our request */
    unsigned level;            /* requested SPID level 1..3 */
    const char *comparison;    /* "minimum" | "exact" | "better" | "maximum" */
    int64_t now_ms;
    unsigned skew_sec;
    const char *const *required_attrs; /* attributes the service cannot work without */
    unsigned n_required;
};

/* Outcome. detail is English text for the log: no personal data, no XML. */
struct sp_check_result {
    enum sp_check code;
    char detail[256];
    int anomaly;              /* nrNN from StatusMessage when code == STATUS_FAILURE, else 0 */
    char status_code[160];    /* top-level StatusCode@Value when present */
    char sub_status[160];     /* nested StatusCode@Value when present */
    int64_t response_skew_ms; /* Response@IssueInstant minus our clock, once that check passed */
};

struct sp_spid_attr {
    char *name;
    char *value; /* text of the AttributeValue(s), comments excluded, trimmed */
};

/* Data taken from the verified Assertion after every check passed. */
struct sp_spid_assertion {
    char *response_id;
    char *assertion_id;
    char *name_id;     /* trimmed */
    char *name_id_raw; /* as received (for logout) */
    char *name_qualifier;
    char *session_index;        /* NULL when absent */
    unsigned level;             /* 1..3 */
    int64_t not_on_or_after_ms; /* SubjectConfirmationData@NotOnOrAfter */
    struct sp_spid_attr *attrs;
    unsigned n_attrs;
};

struct sp_spid_response;

#define SP_MAX_RESPONSE_BYTES (256u * 1024u) /* decoded Response XML */

/*
 * Strict parse of the decoded Response XML: no DTD (any <!DOCTYPE> is
 * refused), no entities, no network, bounded size. Returns NULL and fills res
 * (MALFORMED, DTD, TOO_LARGE) on failure; free with sp_spid_response_free.
 */
struct sp_spid_response *sp_spid_response_parse(const void *xml, size_t len,
                                                struct sp_check_result *res);
void sp_spid_response_free(struct sp_spid_response **r);

/* Response@InResponseTo, or NULL when absent (borrowed, valid while r lives). */
const char *sp_spid_response_in_response_to(const struct sp_spid_response *r);

/*
 * Run every check, in the order of spec §3.2 (structure and algorithms,
 * Response attributes, Issuer, Status, then the Assertion). A non-Success
 * status gives STATUS_FAILURE with anomaly/status fields filled, after the
 * Response-level checks passed. Returns res->code.
 */
enum sp_check sp_spid_check_response(const struct sp_spid_response *r,
                                     const struct sp_check_expect *exp,
                                     struct sp_check_result *res);

struct sp_xmlsig_keys;

/*
 * Verify the signatures with keys (the signing keys of the IdP the request
 * was sent to, from its metadata): the Assertion's, mandatory, and the
 * Response's when present. Call after sp_spid_check_response returned OK or
 * STATUS_FAILURE (an error Response may be unsigned; a present signature must
 * still verify). Returns res->code: unchanged on success, SIGNATURE_INVALID
 * or ASSERTION_UNSIGNED otherwise.
 */
enum sp_check sp_spid_response_verify(const struct sp_spid_response *r,
                                      const struct sp_xmlsig_keys *keys,
                                      struct sp_check_result *res);

/*
 * Extract the data of the (single, verified) Assertion. Only valid after
 * sp_spid_check_response returned SP_CHECK_OK. out must be freed with
 * sp_spid_assertion_cleanup.
 */
enum sp_err sp_spid_response_extract(const struct sp_spid_response *r,
                                     struct sp_spid_assertion *out);
void sp_spid_assertion_cleanup(struct sp_spid_assertion *a);

/* Value of attribute name, or NULL (borrowed). */
const char *sp_spid_assertion_attr(const struct sp_spid_assertion *a, const char *name);

#endif /* SP_SPID_CHECKS_H */
