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
 * attributes of that source, refresh the verified fields from SPID attributes
 * (name, familyName, dateOfBirth, gender, placeOfBirth, email, mobilePhone).
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

/* Empty the in-process cache of person records (tests; shutdown). */
void sp_users_cache_clear(void);

#endif /* SP_USERS_H */
