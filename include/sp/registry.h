/*
 * registry: the SPID IdP registry (spid-sp-rules.md §9.2, BT-20..BT-24). The
 * registry's signed aggregate of IdP metadata (one md:EntitiesDescriptor) is
 * fetched with libcurl, its enveloped signature verified against a pinned key
 * only, its validUntil and Name checked, and the last verified copy kept in
 * <data_dir>/registry/. Per IdP it yields what the daemon needs: entity ID,
 * display name, a standalone EntityDescriptor document for lasso and the
 * signing certificates with their expiry.
 */
#ifndef SP_REGISTRY_H
#define SP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_buf;
struct sp_config;

#define SP_REGISTRY_MAX_BYTES (8u * 1024u * 1024u) /* aggregate size cap (download and cache) */
#define SP_REGISTRY_MAX_ENTITIES 512               /* EntityDescriptors in one aggregate */
#define SP_REGISTRY_MAX_CERTS 8                    /* signing certificates kept per IdP */
#define SP_REGISTRY_MAX_PINS 4                     /* PEM blocks read from registry.cert_file */

/* The cache: <data_dir>/registry/ (mode 0700), files mode 0600. */
#define SP_REGISTRY_DIR "registry"
#define SP_REGISTRY_CACHE_XML "aggregate.xml"   /* the verified aggregate, byte for byte */
#define SP_REGISTRY_CACHE_META "aggregate.json" /* ETag, Last-Modified, URL, times, sha256 */

/*
 * Why a document was refused or a fetch failed: a short stable id, usable as
 * a Prometheus label value. The functions below hand back the id string
 * (static storage, never NULL; "ok" on success).
 *
 *   config          registry disabled (no url), pinned key file unreadable or
 *                   holding no usable key, cache directory not creatable
 *   unreachable     DNS, connection, timeout, a refused redirect
 *   tls             TLS handshake or server certificate verification failed
 *   http_status     an answer other than 200 (or 304 to a conditional GET)
 *   too_large       more than SP_REGISTRY_MAX_BYTES (or entities)
 *   malformed       not well-formed XML, a DTD, not an md:EntitiesDescriptor
 *                   with an ID, an unparseable validUntil
 *   unsigned        no ds:Signature child of the root
 *   bad_algorithm   a c14n, transform, signature or digest algorithm outside
 *                   the allow-list (SHA-1 is refused)
 *   bad_reference   not exactly one Reference, or its URI is not "#" + the
 *                   root's ID, or that ID is not unique in the document
 *   bad_signature   the signature does not verify with any pinned key
 *   no_valid_until  validUntil absent while registry.require_valid_until
 *   expired         validUntil is not in the future
 *   name_mismatch   Name differs from registry.name
 *   no_idps         no EntityDescriptor with an IDPSSODescriptor
 *   no_cache        there is no cached copy
 *   cache_write     the verified copy could not be written
 *   internal        anything else (out of resources, library failure)
 */
#define SP_REGISTRY_REASONS(X)                                                                     \
    X(OK, "ok")                                                                                    \
    X(CONFIG, "config")                                                                            \
    X(UNREACHABLE, "unreachable")                                                                  \
    X(TLS, "tls")                                                                                  \
    X(HTTP_STATUS, "http_status")                                                                  \
    X(TOO_LARGE, "too_large")                                                                      \
    X(MALFORMED, "malformed")                                                                      \
    X(UNSIGNED, "unsigned")                                                                        \
    X(BAD_ALGORITHM, "bad_algorithm")                                                              \
    X(BAD_REFERENCE, "bad_reference")                                                              \
    X(BAD_SIGNATURE, "bad_signature")                                                              \
    X(NO_VALID_UNTIL, "no_valid_until")                                                            \
    X(EXPIRED, "expired")                                                                          \
    X(NAME_MISMATCH, "name_mismatch")                                                              \
    X(NO_IDPS, "no_idps")                                                                          \
    X(NO_CACHE, "no_cache")                                                                        \
    X(CACHE_WRITE, "cache_write")                                                                  \
    X(INTERNAL, "internal")

enum sp_registry_reason {
#define SP_REGISTRY_REASON_ENUM(name, id) SP_REGISTRY_##name,
    SP_REGISTRY_REASONS(SP_REGISTRY_REASON_ENUM)
#undef SP_REGISTRY_REASON_ENUM
        SP_REGISTRY__COUNT
};

/* The id of a reason ("bad_signature"); "internal" for an out-of-range value. */
const char *sp_registry_reason_id(enum sp_registry_reason r);

/* ------------------------------------------------------------------------
 * What a verified document yields
 * ------------------------------------------------------------------------ */

/* One signing certificate of an IdP. */
struct sp_registry_cert {
    char *subject;        /* RFC 2253 one-line form, UTF-8 */
    int64_t not_after_ms; /* notAfter, ms since the epoch */
    char sha256[65];      /* of the DER, lower-case hex */
};

/* One IdP. Every pointer is owned by the entity (sp_registry_entity_cleanup). */
struct sp_registry_entity {
    char *entity_id;
    char *display_name; /* OrganizationDisplayName (xml:lang="it" first), else the entity ID */
    /*
     * A standalone EntityDescriptor document (UTF-8, with an XML declaration,
     * NUL-terminated; xml_len excludes the NUL): the element copied into a
     * new document with its namespaces reconciled, loadable by
     * lasso_server_add_provider_from_buffer.
     */
    char *xml;
    size_t xml_len;
    /*
     * The certificates of KeyDescriptor use="signing" (or without use) of the
     * IDPSSODescriptor, in document order, at most SP_REGISTRY_MAX_CERTS. A
     * certificate that cannot be decoded is skipped with a warning, so
     * n_certs may be 0: such an IdP cannot be verified and the caller should
     * not offer it.
     */
    struct sp_registry_cert *certs;
    unsigned n_certs;
};

/* A verified aggregate. Owned by the caller: sp_registry_doc_cleanup. */
struct sp_registry_doc {
    struct sp_registry_entity *entities; /* only entities with an IDPSSODescriptor */
    unsigned n_entities;
    char *name;             /* EntitiesDescriptor/@Name, or NULL */
    int64_t valid_until_ms; /* 0 when the document has no validUntil */
    char sha256[65];        /* of the document bytes, lower-case hex */
    char *source_url;       /* where it was downloaded from; NULL when unknown */
    int64_t fetched_ms;     /* when this verified copy was downloaded; 0 unknown */
    int64_t checked_ms;     /* last time the registry confirmed it (200 or 304); 0 unknown */
};

/* Free everything the structure holds and zero it. Accept NULL. */
void sp_registry_doc_cleanup(struct sp_registry_doc *doc);
void sp_registry_entity_cleanup(struct sp_registry_entity *e);

/* ------------------------------------------------------------------------
 * Certificate expiry (BT-22: log expiring IdP certificates)
 * ------------------------------------------------------------------------ */

enum sp_registry_cert_state {
    SP_REGISTRY_CERT_VALID,
    SP_REGISTRY_CERT_EXPIRING, /* notAfter within warn_days */
    SP_REGISTRY_CERT_EXPIRED,  /* notAfter <= now */
};

/*
 * Where c stands at now_ms; *days_left (may be NULL) gets the whole days to
 * notAfter, rounded down (negative once expired: -1 during the first day).
 */
enum sp_registry_cert_state sp_registry_cert_state(const struct sp_registry_cert *c, int64_t now_ms,
                                                   unsigned warn_days, int64_t *days_left);

/* Log a warning for every expiring or expired certificate; returns how many. */
unsigned sp_registry_warn_expiring(const struct sp_registry_entity *entities, unsigned n,
                                   int64_t now_ms, unsigned warn_days);

/* ------------------------------------------------------------------------
 * Process set-up
 * ------------------------------------------------------------------------ */

/*
 * curl_global_init (reference counted by libcurl, as notify.c and cns.c do).
 * Call once from the main thread before any thread calls sp_registry_fetch;
 * libxml2 and xmlsec must already be initialised (sp_saml_global_init).
 */
enum sp_err sp_registry_global_init(void);
void sp_registry_global_cleanup(void);

/* ------------------------------------------------------------------------
 * Verification and extraction (pure: no I/O, no network)
 * ------------------------------------------------------------------------ */

/*
 * Verify a registry aggregate and extract its IdPs.
 *
 * xml/len: the document (at most SP_REGISTRY_MAX_BYTES), parsed without
 * network access, DTD or entity expansion (a DOCTYPE is refused).
 * pinned_pem: one or more PEM blocks, each a CERTIFICATE or a PUBLIC KEY
 * (RSA of 2048 bits or more, or EC of 256 bits or more), up to
 * SP_REGISTRY_MAX_PINS; the signature must verify with one of them. Keys
 * carried in the document (KeyInfo) are ignored, and the validity dates of a
 * pinned certificate are not checked: the pin is the key (lasso notes §4.3).
 * Checks: the root is md:EntitiesDescriptor with an ID that no other element
 * carries; exactly one ds:Signature child of the root; exclusive c14n;
 * RSA-SHA256/384/512 or ECDSA-SHA256/384/512; SHA-256/384/512 digests;
 * exactly one Reference, URI "#" + the root's ID, transforms only
 * enveloped-signature and exclusive c14n; xmlsec returns 0 and reports
 * success; then validUntil (required when require_valid_until; in any case
 * after now_ms when present), Name (when expected_name is non-empty) and at
 * least one IdP. Entities are read only from the verified tree.
 *
 * On success *out is filled (source_url NULL, fetched_ms and checked_ms 0)
 * and *reason is "ok". On failure *out is untouched, *reason is the id above
 * and err gets a one-line explanation; the return is SP_ERR_TOO_LARGE,
 * SP_ERR_INVALID (malformed, no_idps), SP_ERR_SIGNATURE (unsigned,
 * bad_algorithm, bad_reference, bad_signature), SP_ERR_EXPIRED (expired,
 * no_valid_until), SP_ERR_INTEGRITY (name_mismatch), SP_ERR_CONFIG (no
 * usable pinned key) or SP_ERR_INTERNAL. reason and err may be NULL.
 * Thread-safe.
 */
enum sp_err sp_registry_verify(const char *xml, size_t len, const char *pinned_pem, int64_t now_ms,
                               const char *expected_name, bool require_valid_until,
                               struct sp_registry_doc *out, const char **reason,
                               struct sp_buf *err);

/*
 * The per-entity extraction of sp_registry_verify for a standalone IdP
 * metadata file (a local file such as the test IdP's: trusted by
 * configuration, so no signature is checked). The root must be an
 * md:EntityDescriptor with an entityID and an IDPSSODescriptor; same parser
 * limits as above. On success *out is filled (free it with
 * sp_registry_entity_cleanup); on failure *out is untouched, SP_ERR_INVALID,
 * SP_ERR_TOO_LARGE or SP_ERR_INTERNAL with a message in err (may be NULL).
 * Thread-safe.
 */
enum sp_err sp_registry_entity_parse(const char *xml, size_t len, struct sp_registry_entity *out,
                                     struct sp_buf *err);

/* ------------------------------------------------------------------------
 * The cache and the download (cfg: the [registry] section and data_dir)
 * ------------------------------------------------------------------------ */

/*
 * Load the cached aggregate and verify it again exactly as a download
 * (pinned key from cfg->registry_cert_file, validUntil against now_ms,
 * registry.name): a restart without network works while the cache is valid.
 * source_url, fetched_ms and checked_ms come from the sidecar when it
 * describes these very bytes (same sha256); otherwise they are NULL/0. On
 * failure *out is untouched and *reason says why ("no_cache" when there is no
 * cached copy: SP_ERR_NOT_FOUND; "config" when the registry is disabled or
 * the pin unreadable: SP_ERR_CONFIG). Reads only; thread-safe.
 */
enum sp_err sp_registry_load_cache(const struct sp_config *cfg, int64_t now_ms,
                                   struct sp_registry_doc *out, const char **reason,
                                   struct sp_buf *err);

/*
 * Download the aggregate from cfg->registry_url now.
 *
 * libcurl GET: TLS peer and host verification on (TLS 1.2 or later;
 * registry.ca_file as the CA bundle when set), connect and total timeouts
 * (registry.timeout), only the configured URL's scheme, at most 3 redirects
 * and only to https, a size cap of SP_REGISTRY_MAX_BYTES. When the cache
 * holds a valid copy downloaded from the same URL, the request is
 * conditional (If-None-Match with its ETag, If-Modified-Since with its
 * Last-Modified).
 *   200: verify (sp_registry_verify) -> write the cache (aggregate, then
 *        sidecar; each temp file + fsync + rename) -> *out, "ok".
 *   304 to a conditional request: the cached copy, verified again (before
 *        the request), -> *out, *not_modified = true; the sidecar's
 *        checked_ms is updated.
 *   anything else: the cache is left untouched, *out is untouched, the
 *        error is returned with *reason and a message in err.
 * A refused download never replaces the cache. Concurrent fetches (threads,
 * or the daemon and `spid-sp registry fetch`) are serialised by an flock on
 * <data_dir>/registry/lock. Thread-safe once sp_registry_global_init ran;
 * blocks for up to about twice registry.timeout.
 */
enum sp_err sp_registry_fetch(const struct sp_config *cfg, int64_t now_ms,
                              struct sp_registry_doc *out, bool *not_modified, const char **reason,
                              struct sp_buf *err);

#endif /* SP_REGISTRY_H */
