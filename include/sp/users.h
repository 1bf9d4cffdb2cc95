/*
 * users: the unified person record keyed by codice fiscale, the credentials
 * (identities) linked to it, and the attributes received from each source.
 */
#ifndef SP_USERS_H
#define SP_USERS_H

#include <stdint.h>

#include "sp/err.h"

struct sp_db;

struct sp_user {
    char *cf;
    char *name;
    char *family_name;
    char *date_of_birth;
    char *gender;
    char *place_of_birth;
    char *email;
    char *mobile_phone;
    int64_t created_at;
    int64_t updated_at;
};

struct sp_user_attr {
    const char *name;
    const char *value;
};

/* A login by a credential, for sp_users_record_login. */
struct sp_login_record {
    const char *cf;                   /* validated, upper case */
    const char *method;               /* "spid", "pin", "cns" */
    const char *issuer;               /* IdP entity ID, CA, "" */
    const char *external_id;          /* spidCode, certificate serial, ... */
    const char *source;               /* attribute source label, e.g. "spid" */
    const struct sp_user_attr *attrs; /* SPID attribute names */
    unsigned n_attrs;
};

/*
 * Create or update the person of rec->cf, link the identity, store the
 * attributes of that source. Verified identity fields (name, familyName,
 * dateOfBirth, gender, placeOfBirth) are set when empty and never
 * overwritten: a different value is recorded as a conflict (domain.md §5.7);
 * contacts (email, mobilePhone) are refreshed.
 * Run inside the caller's transaction when it has one.
 */
enum sp_err sp_users_record_login(struct sp_db *db, const struct sp_login_record *rec, int64_t now);

/*
 * Load a person; SP_ERR_NOT_FOUND when unknown. Free with sp_user_cleanup.
 * Served from an in-process cache for a few seconds (sp_users_record_login
 * in this process refreshes it at once).
 */
enum sp_err sp_users_get(struct sp_db *db, const char *cf, struct sp_user *out);

void sp_user_cleanup(struct sp_user *u);

/* Source label of data a person typed in themselves (e.g. a PIN request). */
#define SP_USERS_DECLARED "declared"

/*
 * Keep self-declared attributes (SPID attribute names) for cf, creating the
 * person when unknown, without touching the verified fields; a declared
 * identity field that differs from the verified one is recorded as a
 * conflict. Run inside the caller's transaction when it has one.
 */
enum sp_err sp_users_record_declared(struct sp_db *db, const char *cf,
                                     const struct sp_user_attr *attrs, unsigned n, int64_t now);

/* The value of one attribute (SPID name) from one source, or NULL; free() it. */
char *sp_users_source_attr(struct sp_db *db, const char *cf, const char *source, const char *name);

/* A recorded difference between sources for one identity field. */
struct sp_user_conflict {
    const char *field;  /* SPID attribute name */
    const char *source; /* where the other value came from */
    const char *kept;   /* the value on record (NULL if none) */
    const char *other;  /* the differing value */
    int64_t first_seen, last_seen;
};
typedef void (*sp_user_conflict_fn)(void *ctx, const struct sp_user_conflict *c);
enum sp_err sp_users_conflicts(struct sp_db *db, const char *cf, sp_user_conflict_fn fn, void *ctx);

/* The credentials linked to a person. */
struct sp_identity {
    const char *method, *issuer, *external_id;
    int64_t first_seen, last_seen;
};
typedef void (*sp_identity_fn)(void *ctx, const struct sp_identity *id);
enum sp_err sp_users_identities(struct sp_db *db, const char *cf, sp_identity_fn fn, void *ctx);

/* The attributes of each source, as a JSON object text per source. */
typedef void (*sp_source_fn)(void *ctx, const char *source, const char *attrs_json,
                             int64_t updated_at);
enum sp_err sp_users_sources(struct sp_db *db, const char *cf, sp_source_fn fn, void *ctx);

/* Empty the in-process cache of person records (tests; shutdown). */
void sp_users_cache_clear(void);

#endif /* SP_USERS_H */
