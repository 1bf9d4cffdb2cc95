/*
 * roles: organisations, role assignments and delegations (domain.md §5.3,
 * §5.6), and the role suggestions that SPID logins for professional or
 * legal-person use leave behind (§4.5). Credentials never carry permissions:
 * everything here is keyed by codice fiscale (persons) or by the 11-digit
 * fiscal code (organisations), so it survives credential changes.
 *
 * The model types are plain data for the pure decision function of authz.h;
 * the sp_roles_* functions are the SQL, each enforcing the rules of its
 * operation (organisation kind per role, delegation limits of §5.3).
 */
#ifndef SP_ROLES_H
#define SP_ROLES_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_buf;
struct sp_db;

#define SP_PARTY_MAX 16 /* a CF (16) or an organisation fiscal code (11) */

enum sp_org_type {
    SP_ORGT_COMPANY,
    SP_ORGT_PUBLIC_BODY,
    SP_ORGT_PATRONATO,
    SP_ORGT_CAF,
    SP_ORGT_PROFESSIONAL_FIRM,
    SP_ORGT_TRADE_ASSOCIATION,
    SP_ORGT__COUNT
};

enum sp_role_kind {
    /* citizen sub-profiles ("categoria d'utenza"), with a scheme */
    SP_ROLE_PENSIONER,
    SP_ROLE_WORKER,
    /* intermediaries */
    SP_ROLE_PATRONATO_OPERATOR,   /* in a PATRONATO */
    SP_ROLE_CAF_OPERATOR,         /* in a CAF */
    SP_ROLE_LABOUR_CONSULTANT,    /* L. 12/1979, self or PROFESSIONAL_FIRM */
    SP_ROLE_ACCOUNTANT,           /* L. 12/1979, self or PROFESSIONAL_FIRM */
    SP_ROLE_ASSOCIATION_OPERATOR, /* in a TRADE_ASSOCIATION */
    /* enterprise */
    SP_ROLE_EMPLOYER_REP,      /* titolare / legal representative of a COMPANY */
    SP_ROLE_EMPLOYER_OPERATOR, /* employee sub-authorised by the company, scoped */
    /* public body */
    SP_ROLE_PA_OPERATOR, /* operator of a PUBLIC_BODY, scoped */
    SP_ROLE__COUNT
};

enum sp_scheme { SP_SCHEME_NONE, SP_SCHEME_PRIVATE, SP_SCHEME_PUBLIC };

enum sp_delegation_type {
    SP_DELEG_CITIZEN_IDENTITY,      /* Person -> Person; 1 per delegator, <= N per delegate */
    SP_DELEG_LEGAL_REPRESENTATION,  /* Person -> Person; no per-delegate limit */
    SP_DELEG_PATRONATO_MANDATE,     /* Person -> PATRONATO; scoped to a procedure */
    SP_DELEG_CAF_MANDATE,           /* Person -> CAF; per service */
    SP_DELEG_EMPLOYER_INTERMEDIARY, /* COMPANY -> firm, association or Person */
    SP_DELEG_DOMESTIC_EMPLOYER,     /* Person -> intermediary; exactly one active */
    SP_DELEG_GROUP_COMPANY,         /* COMPANY -> COMPANY (parent) */
    SP_DELEG_AGRI_SELF_EMPLOYED,    /* Person -> Person or intermediary */
    SP_DELEG__COUNT
};

/* Names as stored and typed on the command line ("employer_rep", ...). */
const char *sp_org_type_name(enum sp_org_type t);
const char *sp_role_name(enum sp_role_kind r);
const char *sp_scheme_name(enum sp_scheme s); /* "" for NONE */
const char *sp_delegation_type_name(enum sp_delegation_type t);
enum sp_err sp_org_type_parse(const char *s, enum sp_org_type *out);
enum sp_err sp_role_parse(const char *s, enum sp_role_kind *out);
enum sp_err sp_scheme_parse(const char *s, enum sp_scheme *out);
enum sp_err sp_delegation_type_parse(const char *s, enum sp_delegation_type *out);

/* True for the citizen sub-profiles (pensioner, worker). */
bool sp_role_is_profile(enum sp_role_kind r);
/* True for the intermediary roles. */
bool sp_role_is_intermediary(enum sp_role_kind r);

struct sp_org {
    char fiscal_code[SP_PARTY_MAX + 1];
    enum sp_org_type type;
    char *name;
    char *vat_number; /* NULL when the same as the fiscal code or unknown */
};

/* A role assignment. scopes: space-separated service ids or families, "*" = all. */
struct sp_role {
    int64_t id;
    char user_cf[SP_PARTY_MAX + 1];
    enum sp_role_kind kind;
    char org[SP_PARTY_MAX + 1]; /* "" when none */
    enum sp_scheme scheme;
    char *scopes;
    int64_t valid_from;
    int64_t valid_to;   /* 0 = open-ended */
    int64_t revoked_at; /* 0 = not revoked */
    char *reason, *evidence, *granted_by;
    int64_t granted_at;
};

struct sp_delegation {
    int64_t id;
    enum sp_delegation_type type;
    char delegator[SP_PARTY_MAX + 1];
    char delegate[SP_PARTY_MAX + 1];
    char *scopes;
    int64_t valid_from;
    int64_t valid_to;     /* 0 = open-ended */
    int64_t locked_until; /* online registrations: no online revocation before */
    int64_t revoked_at;   /* 0 = not revoked */
    char *channel;        /* "office" or "online" */
    char *evidence;
    int64_t evidence_keep_until; /* 0 = until revocation + retention */
    char *created_by, *revoked_by, *revoke_reason;
};

/* Active at now: not revoked and valid_from <= now < valid_to (open end). */
bool sp_role_active(const struct sp_role *r, int64_t now);
bool sp_delegation_active(const struct sp_delegation *d, int64_t now);

/* True when the space-separated scope list covers service id or its family. */
bool sp_scope_covers(const char *scopes, const char *service_id, const char *family);

void sp_org_cleanup(struct sp_org *o);
void sp_role_cleanup(struct sp_role *r);
void sp_delegation_cleanup(struct sp_delegation *d);

/* Parameters of the delegation rules (domain.md §7). */
struct sp_deleg_limits {
    unsigned max_per_delegate; /* CITIZEN_IDENTITY per delegate, default 3 */
    unsigned online_min_days;  /* online registrations locked this long, default 30 */
    unsigned evidence_years;   /* evidence kept validity + this, default 5 */
};
#define SP_DELEG_LIMITS_DEFAULT                                                                    \
    {                                                                                              \
        3, 30, 5                                                                                   \
    }

/* --- store ------------------------------------------------------------- */

/* Add an organisation (fiscal code validated: 11 digits with check digit). */
enum sp_err sp_roles_org_add(struct sp_db *db, const struct sp_org *o, const char *by, int64_t now,
                             struct sp_buf *why);
enum sp_err sp_roles_org_get(struct sp_db *db, const char *fiscal_code, struct sp_org *out);
/* fn once per organisation, by fiscal code. */
typedef void (*sp_org_fn)(void *ctx, const struct sp_org *o);
enum sp_err sp_roles_orgs(struct sp_db *db, sp_org_fn fn, void *ctx);

/*
 * Grant r (id, granted_at ignored; r->id set on success). Checks: user CF
 * valid; the role's organisation present and of the right type (none for
 * sub-profiles, which need a scheme instead); scopes non-empty; valid_to
 * after valid_from; reason non-empty; no identical active assignment.
 * why says what is wrong (SP_ERR_INVALID, SP_ERR_EXISTS, SP_ERR_NOT_FOUND).
 */
enum sp_err sp_roles_grant(struct sp_db *db, struct sp_role *r, int64_t now, struct sp_buf *why);
enum sp_err sp_roles_revoke(struct sp_db *db, int64_t id, const char *by, const char *reason,
                            int64_t now, struct sp_buf *why);

/*
 * Record d (id set on success) after the rules of §5.3: parties valid and of
 * the right kind for the type (organisations must exist with the right
 * type); delegator != delegate; scopes and evidence non-empty; CITIZEN_IDENTITY:
 * the delegator has no other active one and the delegate holds fewer than
 * max_per_delegate; DOMESTIC_EMPLOYER: the previous active one is revoked
 * ("superseded by #id"); online channel: locked_until = valid_from +
 * online_min_days; evidence_keep_until = valid_to + evidence_years when
 * valid_to is set.
 */
enum sp_err sp_roles_delegation_add(struct sp_db *db, struct sp_delegation *d,
                                    const struct sp_deleg_limits *lim, int64_t now,
                                    struct sp_buf *why);

/*
 * Revoke: by whom (a CF, or "operator:<name>") and through which channel
 * ("office" or "online"). Online revocation before locked_until is refused;
 * a LEGAL_REPRESENTATION cannot be revoked by the represented person.
 * Sets evidence_keep_until = now + evidence_years when it was open.
 */
enum sp_err sp_roles_delegation_revoke(struct sp_db *db, int64_t id, const char *by,
                                       const char *channel, const char *reason,
                                       const struct sp_deleg_limits *lim, int64_t now,
                                       struct sp_buf *why);

/* Lists (caller frees with sp_roles_list_free / sp_delegation_list_free). */
struct sp_role_list {
    struct sp_role *v;
    unsigned n;
};
struct sp_delegation_list {
    struct sp_delegation *v;
    unsigned n;
};
/* Roles of a person (cf) or in an organisation (org), revoked ones included
 * when all is set. Either cf or org may be NULL; both NULL lists everything. */
enum sp_err sp_roles_list(struct sp_db *db, const char *cf, const char *org, bool all,
                          struct sp_role_list *out);
/* Delegations where party is delegator or delegate (NULL: every one). */
enum sp_err sp_roles_delegations_list(struct sp_db *db, const char *party, bool all,
                                      struct sp_delegation_list *out);
void sp_role_list_free(struct sp_role_list *l);
void sp_delegation_list_free(struct sp_delegation_list *l);

/*
 * What the decision function needs about a person, loaded in one go: the
 * person's unrevoked roles, and the unrevoked delegations whose delegate is
 * the person or an organisation in which the person holds a role; plus the
 * organisation types of every party named there. Served from an in-process
 * cache for a few seconds; any change made through this module in this
 * process drops it at once.
 */
struct sp_authz_facts {
    char cf[SP_PARTY_MAX + 1];
    struct sp_role_list roles;
    struct sp_delegation_list delegations;
};
enum sp_err sp_roles_facts(struct sp_db *db, const char *cf, struct sp_authz_facts *out);
void sp_authz_facts_cleanup(struct sp_authz_facts *f);
void sp_roles_cache_clear(void);

/* Role suggestions left by SPID logins with company attributes. */
struct sp_role_suggestion {
    char org[SP_PARTY_MAX + 1];
    char *org_name, *vat_number, *purpose, *idp;
    int64_t first_seen, last_seen;
};
enum sp_err sp_roles_suggest(struct sp_db *db, const char *cf, const struct sp_role_suggestion *s,
                             int64_t now);
/* fn once per suggestion of cf (NULL cf: all). */
typedef void (*sp_suggestion_fn)(void *ctx, const char *cf, const struct sp_role_suggestion *s);
enum sp_err sp_roles_suggestions(struct sp_db *db, const char *cf, sp_suggestion_fn fn, void *ctx);

#endif /* SP_ROLES_H */
