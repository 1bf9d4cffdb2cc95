/*
 * roles: the model half of roles.h: names of organisation types, roles,
 * schemes and delegation types; validity and scope tests. The SQL is in
 * roles_store.c.
 */
#include <stdlib.h>
#include <string.h>

#include "sp/roles.h"
#include "sp/str.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const org_type_names[SP_ORGT__COUNT] = {
    "company", "public_body", "patronato", "caf", "professional_firm", "trade_association",
};

static const char *const role_names[SP_ROLE__COUNT] = {
    "pensioner",         "worker",      "patronato_operator",   "caf_operator",
    "labour_consultant", "accountant",  "association_operator", "employer_rep",
    "employer_operator", "pa_operator",
};

static const char *const scheme_names[] = {"", "private", "public"};

static const char *const delegation_type_names[SP_DELEG__COUNT] = {
    "citizen_identity",      "legal_representation", "patronato_mandate", "caf_mandate",
    "employer_intermediary", "domestic_employer",    "group_company",     "agri_self_employed",
};

static const char *name_of(const char *const *names, size_t n, unsigned i)
{
    return i < n ? names[i] : "?";
}

static enum sp_err parse_name(const char *const *names, size_t n, const char *s, unsigned *out)
{
    if (s == NULL || s[0] == '\0')
        return SP_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) {
            *out = (unsigned)i;
            return SP_OK;
        }
    return SP_ERR_INVALID;
}

const char *sp_org_type_name(enum sp_org_type t)
{
    return name_of(org_type_names, COUNT(org_type_names), (unsigned)t);
}

const char *sp_role_name(enum sp_role_kind r)
{
    return name_of(role_names, COUNT(role_names), (unsigned)r);
}

const char *sp_scheme_name(enum sp_scheme s)
{
    return name_of(scheme_names, COUNT(scheme_names), (unsigned)s);
}

const char *sp_delegation_type_name(enum sp_delegation_type t)
{
    return name_of(delegation_type_names, COUNT(delegation_type_names), (unsigned)t);
}

enum sp_err sp_org_type_parse(const char *s, enum sp_org_type *out)
{
    unsigned i;
    enum sp_err rc = parse_name(org_type_names, COUNT(org_type_names), s, &i);
    if (rc == SP_OK)
        *out = (enum sp_org_type)i;
    return rc;
}

enum sp_err sp_role_parse(const char *s, enum sp_role_kind *out)
{
    unsigned i;
    enum sp_err rc = parse_name(role_names, COUNT(role_names), s, &i);
    if (rc == SP_OK)
        *out = (enum sp_role_kind)i;
    return rc;
}

enum sp_err sp_scheme_parse(const char *s, enum sp_scheme *out)
{
    unsigned i;
    enum sp_err rc = parse_name(scheme_names + 1, COUNT(scheme_names) - 1, s, &i);
    if (rc == SP_OK)
        *out = (enum sp_scheme)(i + 1);
    return rc;
}

enum sp_err sp_delegation_type_parse(const char *s, enum sp_delegation_type *out)
{
    unsigned i;
    enum sp_err rc = parse_name(delegation_type_names, COUNT(delegation_type_names), s, &i);
    if (rc == SP_OK)
        *out = (enum sp_delegation_type)i;
    return rc;
}

bool sp_role_is_profile(enum sp_role_kind r)
{
    return r == SP_ROLE_PENSIONER || r == SP_ROLE_WORKER;
}

bool sp_role_is_intermediary(enum sp_role_kind r)
{
    return r == SP_ROLE_PATRONATO_OPERATOR || r == SP_ROLE_CAF_OPERATOR ||
           r == SP_ROLE_LABOUR_CONSULTANT || r == SP_ROLE_ACCOUNTANT ||
           r == SP_ROLE_ASSOCIATION_OPERATOR;
}

static bool period_active(int64_t from, int64_t to, int64_t revoked_at, int64_t now)
{
    return revoked_at == 0 && from <= now && (to == 0 || now < to);
}

bool sp_role_active(const struct sp_role *r, int64_t now)
{
    return period_active(r->valid_from, r->valid_to, r->revoked_at, now);
}

bool sp_delegation_active(const struct sp_delegation *d, int64_t now)
{
    return period_active(d->valid_from, d->valid_to, d->revoked_at, now);
}

bool sp_scope_covers(const char *scopes, const char *service_id, const char *family)
{
    return sp_str_list_has(scopes, "*") || sp_str_list_has(scopes, service_id) ||
           sp_str_list_has(scopes, family);
}

void sp_org_cleanup(struct sp_org *o)
{
    free(o->name);
    free(o->vat_number);
    memset(o, 0, sizeof(*o));
}

void sp_role_cleanup(struct sp_role *r)
{
    free(r->scopes);
    free(r->reason);
    free(r->evidence);
    free(r->granted_by);
    memset(r, 0, sizeof(*r));
}

void sp_delegation_cleanup(struct sp_delegation *d)
{
    free(d->scopes);
    free(d->channel);
    free(d->evidence);
    free(d->created_by);
    free(d->revoked_by);
    free(d->revoke_reason);
    memset(d, 0, sizeof(*d));
}

void sp_role_list_free(struct sp_role_list *l)
{
    for (unsigned i = 0; i < l->n; i++)
        sp_role_cleanup(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void sp_delegation_list_free(struct sp_delegation_list *l)
{
    for (unsigned i = 0; i < l->n; i++)
        sp_delegation_cleanup(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void sp_authz_facts_cleanup(struct sp_authz_facts *f)
{
    sp_role_list_free(&f->roles);
    sp_delegation_list_free(&f->delegations);
    memset(f, 0, sizeof(*f));
}
