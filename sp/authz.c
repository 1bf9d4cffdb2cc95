/*
 * authz: the decision function of authz.h. Pure: everything it knows comes
 * in through its arguments. The rules are numbered in authz.h; each helper
 * below implements one of them.
 */
#include <stdio.h>
#include <string.h>

#include "sp/authz.h"

static const struct {
    const char *id, *text;
} reasons[SP_AUTHZ_R__COUNT] = {
#define SP_AUTHZ_REASON_ROW(name, id, text) {id, text},
    SP_AUTHZ_REASONS(SP_AUTHZ_REASON_ROW)
#undef SP_AUTHZ_REASON_ROW
};

const char *sp_authz_reason_id(enum sp_authz_reason r)
{
    return (unsigned)r < SP_AUTHZ_R__COUNT ? reasons[r].id : "?";
}

const char *sp_authz_reason_text(enum sp_authz_reason r)
{
    return (unsigned)r < SP_AUTHZ_R__COUNT ? reasons[r].text : "";
}

enum sp_assurance sp_authz_assurance(const char *method, unsigned level, bool pin_dispositive)
{
    if (method == NULL)
        return SP_ASSURANCE_NONE;
    if (strcmp(method, "spid") == 0)
        return level >= 3 ? SP_ASSURANCE_A3 : level == 2 ? SP_ASSURANCE_A2 : SP_ASSURANCE_NONE;
    if (strcmp(method, "cns") == 0)
        return SP_ASSURANCE_A2;
    if (strcmp(method, "pin") == 0)
        return pin_dispositive ? SP_ASSURANCE_A2 : SP_ASSURANCE_A1;
    return SP_ASSURANCE_NONE;
}

const char *sp_assurance_name(enum sp_assurance a)
{
    static const char *const names[] = {"none", "A1", "A2", "A3"};
    return (unsigned)a < 4 ? names[a] : "none";
}

/* Organisations are keyed by 11 digits, persons by a 16-character CF. */
static bool is_org(const char *p)
{
    size_t n = strlen(p);
    if (n != 11)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static bool is_person(const char *p)
{
    return strlen(p) == 16;
}

static bool covers(const char *scopes, const struct sp_service *svc)
{
    return sp_scope_covers(scopes, svc->id, svc->family);
}

/* An active role of kind k held in org (NULL: in any organisation or none). */
static const struct sp_role *role_in(const struct sp_authz_subject *s, enum sp_role_kind k,
                                     const char *org, int64_t now)
{
    for (unsigned i = 0; i < s->n_roles; i++) {
        const struct sp_role *r = &s->roles[i];
        if (r->kind == k && sp_role_active(r, now) && (org == NULL || strcmp(r->org, org) == 0))
            return r;
    }
    return NULL;
}

/* An active intermediary role held in org. */
static const struct sp_role *intermediary_in(const struct sp_authz_subject *s, const char *org,
                                             int64_t now)
{
    for (unsigned i = 0; i < s->n_roles; i++) {
        const struct sp_role *r = &s->roles[i];
        if (sp_role_is_intermediary(r->kind) && sp_role_active(r, now) && strcmp(r->org, org) == 0)
            return r;
    }
    return NULL;
}

/*
 * Can the subject exercise delegation d (ignoring scope)? Rule A, one hop:
 * personal delegations name the person; organisation-held ones are exercised
 * by the right operator role in the delegate organisation. *role gets that
 * role when there is one.
 */
static bool exercisable(const struct sp_authz_subject *s, const struct sp_delegation *d,
                        int64_t now, const struct sp_role **role)
{
    bool to_me = strcmp(d->delegate, s->cf) == 0;

    *role = NULL;
    switch (d->type) {
    case SP_DELEG_CITIZEN_IDENTITY:
    case SP_DELEG_LEGAL_REPRESENTATION:
        return to_me;
    case SP_DELEG_PATRONATO_MANDATE:
        *role = role_in(s, SP_ROLE_PATRONATO_OPERATOR, d->delegate, now);
        return *role != NULL;
    case SP_DELEG_CAF_MANDATE:
        *role = role_in(s, SP_ROLE_CAF_OPERATOR, d->delegate, now);
        return *role != NULL;
    case SP_DELEG_DOMESTIC_EMPLOYER:
    case SP_DELEG_AGRI_SELF_EMPLOYED:
        if (to_me)
            return true;
        *role = intermediary_in(s, d->delegate, now);
        return *role != NULL;
    case SP_DELEG_EMPLOYER_INTERMEDIARY:
        if (to_me) {
            *role = role_in(s, SP_ROLE_LABOUR_CONSULTANT, NULL, now);
            if (*role == NULL)
                *role = role_in(s, SP_ROLE_ACCOUNTANT, NULL, now);
        } else {
            *role = intermediary_in(s, d->delegate, now);
        }
        return *role != NULL;
    case SP_DELEG_GROUP_COMPANY:
        *role = role_in(s, SP_ROLE_EMPLOYER_REP, d->delegate, now);
        if (*role == NULL)
            *role = role_in(s, SP_ROLE_EMPLOYER_OPERATOR, d->delegate, now);
        return *role != NULL;
    case SP_DELEG__COUNT:
        break;
    }
    return false;
}

static bool is_personal_type(enum sp_delegation_type t)
{
    return t == SP_DELEG_CITIZEN_IDENTITY || t == SP_DELEG_LEGAL_REPRESENTATION ||
           t == SP_DELEG_PATRONATO_MANDATE || t == SP_DELEG_CAF_MANDATE ||
           t == SP_DELEG_DOMESTIC_EMPLOYER || t == SP_DELEG_AGRI_SELF_EMPLOYED;
}

static void allow(struct sp_authz_decision *out, enum sp_authz_via via, const struct sp_role *r,
                  const struct sp_delegation *d)
{
    out->outcome = SP_AUTHZ_ALLOW;
    out->reason = SP_AUTHZ_R_NONE;
    out->via = via;
    out->role_id = r ? r->id : 0;
    out->delegation_id = d ? d->id : 0;
}

/* Rule A, citizen service for person p (not self). */
static enum sp_authz_reason chain_citizen(const struct sp_authz_subject *s, const char *p,
                                          const struct sp_service *svc, int64_t now,
                                          struct sp_authz_decision *out)
{
    bool scope_short = false;

    for (unsigned i = 0; i < s->n_delegations; i++) {
        const struct sp_delegation *d = &s->delegations[i];
        const struct sp_role *r;
        if (!is_personal_type(d->type) || strcmp(d->delegator, p) != 0 ||
            !sp_delegation_active(d, now) || !exercisable(s, d, now, &r))
            continue;
        if (!covers(d->scopes, svc)) {
            scope_short = true;
            continue;
        }
        allow(out, SP_AUTHZ_VIA_DELEGATION, r, d);
        return SP_AUTHZ_R_NONE;
    }
    return scope_short ? SP_AUTHZ_R_DELEGATION_SCOPE : SP_AUTHZ_R_NO_DELEGATION;
}

static bool role_listed(const struct sp_service *svc, enum sp_role_kind k)
{
    if (svc->n_roles == 0)
        return true;
    for (unsigned i = 0; i < svc->n_roles; i++)
        if (strcmp(svc->roles[i], sp_role_name(k)) == 0)
            return true;
    return false;
}

/* Rule A, intermediary service (always for oneself). */
static enum sp_authz_reason chain_intermediary(const struct sp_authz_subject *s,
                                               const struct sp_service *svc, int64_t now,
                                               struct sp_authz_decision *out)
{
    for (unsigned i = 0; i < s->n_roles; i++) {
        const struct sp_role *r = &s->roles[i];
        if (sp_role_is_intermediary(r->kind) && sp_role_active(r, now) && covers(r->scopes, svc) &&
            role_listed(svc, r->kind)) {
            allow(out, SP_AUTHZ_VIA_ROLE, r, NULL);
            return SP_AUTHZ_R_NONE;
        }
    }
    return SP_AUTHZ_R_NO_ROLE;
}

/* An employer role in company c that covers the service: the representative
 * covers everything, an operator only its scopes. */
static const struct sp_role *employer_role(const struct sp_authz_subject *s, const char *c,
                                           const struct sp_service *svc, int64_t now)
{
    for (unsigned i = 0; i < s->n_roles; i++) {
        const struct sp_role *r = &s->roles[i];
        if (!sp_role_active(r, now) || strcmp(r->org, c) != 0)
            continue;
        if (r->kind == SP_ROLE_EMPLOYER_REP ||
            (r->kind == SP_ROLE_EMPLOYER_OPERATOR && covers(r->scopes, svc)))
            return r;
    }
    return NULL;
}

/* Rule A, enterprise service for company c. */
static enum sp_authz_reason chain_enterprise(const struct sp_authz_subject *s, const char *c,
                                             const struct sp_service *svc, int64_t now,
                                             struct sp_authz_decision *out)
{
    const struct sp_role *r = employer_role(s, c, svc, now);

    if (r != NULL) {
        allow(out, SP_AUTHZ_VIA_ROLE, r, NULL);
        return SP_AUTHZ_R_NONE;
    }
    for (unsigned i = 0; i < s->n_delegations; i++) {
        const struct sp_delegation *d = &s->delegations[i];
        if (strcmp(d->delegator, c) != 0 || !sp_delegation_active(d, now) ||
            !covers(d->scopes, svc))
            continue;
        if (d->type == SP_DELEG_EMPLOYER_INTERMEDIARY && exercisable(s, d, now, &r)) {
            allow(out, SP_AUTHZ_VIA_DELEGATION, r, d);
            return SP_AUTHZ_R_NONE;
        }
        if (d->type == SP_DELEG_GROUP_COMPANY &&
            (r = employer_role(s, d->delegate, svc, now)) != NULL) {
            allow(out, SP_AUTHZ_VIA_DELEGATION, r, d);
            return SP_AUTHZ_R_NONE;
        }
    }
    return SP_AUTHZ_R_NO_ROLE;
}

/* Rule A, public-body service for body b. */
static enum sp_authz_reason chain_public_body(const struct sp_authz_subject *s, const char *b,
                                              const struct sp_service *svc, int64_t now,
                                              struct sp_authz_decision *out)
{
    for (unsigned i = 0; i < s->n_roles; i++) {
        const struct sp_role *r = &s->roles[i];
        if (r->kind == SP_ROLE_PA_OPERATOR && sp_role_active(r, now) && strcmp(r->org, b) == 0 &&
            covers(r->scopes, svc)) {
            allow(out, SP_AUTHZ_VIA_ROLE, r, NULL);
            return SP_AUTHZ_R_NONE;
        }
    }
    return SP_AUTHZ_R_NO_ROLE;
}

/* Rule P: one of the service's sub-profiles ("worker", "worker:public"). */
static bool profile_held(const struct sp_service *svc, const struct sp_role *roles, unsigned n,
                         int64_t now)
{
    for (unsigned t = 0; t < svc->n_profiles; t++) {
        const char *tok = svc->profiles[t];
        const char *colon = strchr(tok, ':');
        size_t klen = colon ? (size_t)(colon - tok) : strlen(tok);
        for (unsigned i = 0; i < n; i++) {
            const struct sp_role *r = &roles[i];
            const char *name = sp_role_name(r->kind);
            if (!sp_role_is_profile(r->kind) || !sp_role_active(r, now) || strlen(name) != klen ||
                strncmp(name, tok, klen) != 0)
                continue;
            if (colon == NULL || strcmp(colon + 1, sp_scheme_name(r->scheme)) == 0)
                return true;
        }
    }
    return false;
}

static enum sp_authz_outcome deny(struct sp_authz_decision *out, enum sp_authz_reason why)
{
    out->outcome = SP_AUTHZ_DENY;
    out->reason = why;
    out->via = SP_AUTHZ_VIA_NONE;
    out->role_id = 0;
    out->delegation_id = 0;
    return SP_AUTHZ_DENY;
}

enum sp_authz_outcome sp_authz_decide(const struct sp_authz_subject *subj,
                                      const struct sp_authz_target *target,
                                      const struct sp_service *svc, int64_t now,
                                      struct sp_authz_decision *out)
{
    const char *party = target ? target->party : NULL;
    bool self = party == NULL || party[0] == '\0' || strcmp(party, subj->cf) == 0;
    enum sp_authz_reason why = SP_AUTHZ_R_NONE;

    memset(out, 0, sizeof(*out));
    if (svc == NULL)
        return deny(out, SP_AUTHZ_R_UNKNOWN_SERVICE);
    /* S1, S2 */
    if (subj->assurance == SP_ASSURANCE_NONE)
        return deny(out, SP_AUTHZ_R_ASSURANCE);
    if ((svc->audience != SP_AUD_CITIZEN || !self) && subj->assurance < SP_ASSURANCE_A2)
        return deny(out, SP_AUTHZ_R_ASSURANCE);
    /* T1 and A */
    switch (svc->audience) {
    case SP_AUD_CITIZEN:
        if (self)
            allow(out, SP_AUTHZ_VIA_SELF, NULL, NULL);
        else if (!is_person(party))
            why = SP_AUTHZ_R_WRONG_AUDIENCE;
        else
            why = chain_citizen(subj, party, svc, now, out);
        break;
    case SP_AUD_INTERMEDIARY:
        why = self ? chain_intermediary(subj, svc, now, out) : SP_AUTHZ_R_WRONG_AUDIENCE;
        break;
    case SP_AUD_ENTERPRISE:
    case SP_AUD_PUBLIC_BODY:
        if (self)
            why = SP_AUTHZ_R_CHOOSE_TARGET;
        else if (!is_org(party))
            why = SP_AUTHZ_R_WRONG_AUDIENCE;
        else if (svc->audience == SP_AUD_ENTERPRISE)
            why = chain_enterprise(subj, party, svc, now, out);
        else
            why = chain_public_body(subj, party, svc, now, out);
        break;
    }
    if (why != SP_AUTHZ_R_NONE)
        return deny(out, why);
    /* P */
    if (svc->n_profiles > 0) {
        bool on_target = svc->audience == SP_AUD_CITIZEN && !self;
        const struct sp_role *roles = on_target ? target->roles : subj->roles;
        unsigned n = on_target ? target->n_roles : subj->n_roles;
        if (!profile_held(svc, roles, n, now))
            return deny(out, SP_AUTHZ_R_PROFILE);
    }
    /* D */
    if (svc->strength == SP_STRENGTH_DISPOSITIVE && subj->assurance < SP_ASSURANCE_A2) {
        if (!svc->deferrable || svc->audience != SP_AUD_CITIZEN)
            return deny(out, SP_AUTHZ_R_ASSURANCE);
        out->outcome = SP_AUTHZ_ALLOW_DEFERRED;
    }
    return out->outcome;
}

/* --- parties the subject may act for ------------------------------------ */

#define PARTIES_MAX 256

struct parties {
    char seen[PARTIES_MAX][SP_PARTY_MAX + 1];
    unsigned n;
};

static void party_emit(struct parties *p, const char *party, enum sp_authz_via via,
                       sp_authz_party_fn fn, void *ctx)
{
    for (unsigned i = 0; i < p->n; i++)
        if (strcmp(p->seen[i], party) == 0)
            return;
    if (p->n == PARTIES_MAX)
        return;
    snprintf(p->seen[p->n++], SP_PARTY_MAX + 1, "%s", party);
    fn(ctx, party, via);
}

void sp_authz_parties(const struct sp_authz_subject *subj, int64_t now, sp_authz_party_fn fn,
                      void *ctx)
{
    static _Thread_local struct parties p;
    const struct sp_role *r;

    p.n = 0;
    for (unsigned i = 0; i < subj->n_roles; i++) {
        r = &subj->roles[i];
        if (!sp_role_active(r, now) || r->org[0] == '\0')
            continue;
        if (r->kind == SP_ROLE_EMPLOYER_REP || r->kind == SP_ROLE_EMPLOYER_OPERATOR ||
            r->kind == SP_ROLE_PA_OPERATOR)
            party_emit(&p, r->org, SP_AUTHZ_VIA_ROLE, fn, ctx);
    }
    for (unsigned i = 0; i < subj->n_delegations; i++) {
        const struct sp_delegation *d = &subj->delegations[i];
        if (sp_delegation_active(d, now) && strcmp(d->delegator, subj->cf) != 0 &&
            exercisable(subj, d, now, &r))
            party_emit(&p, d->delegator, SP_AUTHZ_VIA_DELEGATION, fn, ctx);
    }
}

const struct sp_service *sp_authz_find_service(const struct sp_config *cfg, const char *path)
{
    const struct sp_service *best = NULL;
    size_t best_len = 0;

    if (path == NULL)
        return NULL;
    for (unsigned i = 0; i < cfg->n_services; i++) {
        const struct sp_service *svc = &cfg->services[i];
        size_t n = strlen(svc->path);
        char next;
        if (strncmp(path, svc->path, n) != 0)
            continue;
        next = path[n];
        if (!(next == '\0' || next == '/' || next == '?' || svc->path[n - 1] == '/'))
            continue;
        if (n > best_len) {
            best = svc;
            best_len = n;
        }
    }
    return best;
}
