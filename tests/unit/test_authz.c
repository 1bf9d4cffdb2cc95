/*
 * test_authz: the pure authorisation decision of authz.h, proved by a table.
 * Every rule of the comment at the top of include/sp/authz.h (S1, S2, T1, A
 * for each audience and delegation type, P, D) has rows that allow and rows
 * that deny; each row describes the subject (assurance, roles, delegations),
 * the party acted for (and its roles), the service (by id in a small
 * catalogue), now, and the expected outcome, reason, via and the role or
 * delegation that allowed it. Each row runs twice: with roles and delegations
 * in the order written and reversed, so no row depends on "the first one
 * wins". Plus sp_authz_assurance, names, sp_authz_parties,
 * sp_authz_find_service and the model helpers of roles.h the decision uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/authz.h"
#include "sp/config.h"
#include "sp/roles.h"

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

/* Time */
#define NOW INT64_C(1700000000)
#define DAY INT64_C(86400)

/* Persons (§2.5 vectors) */
#define ME "RSSMRA80A01H501U"     /* the logged-in person */
#define DARIO "FOXDRA26C24L219Y"  /* elderly delegator */
#define GIULIA "BNCGLI92C65F205C" /* another person */
#define GFR "SPSGFR75S30F839F"    /* agricultural self-employed */
#define ANNA "LLANNA01T45A944M"   /* minor, legally represented */
#define LUCIA "FRRLCU68M41L219B"  /* domestic employer */
#define LUCA "VRDLCU04R10G273G"   /* yet another person */
#define JOHN "SMTJHN90H09Z404X"   /* a domestic employer (parties) */

/* Organisations (11 digits) */
#define ACME "12345678903"    /* company C */
#define HOLD "00743110157"    /* group parent company G */
#define OTHERCO "01234567897" /* an unrelated company */
#define MEMBER "04567890123"  /* a group member company (parties) */
#define COMP4 "03456789012"   /* a company with a consultant (parties) */
#define ENTE "80078750587"    /* public body B */
#define ENTE2 "97735020584"   /* another public body */
#define PAT "80016350821"     /* patronato */
#define PAT2 "80015790589"    /* another patronato */
#define CAF "06432001009"     /* CAF */
#define CAF2 "06432001017"    /* another CAF */
#define STUDIO "01636120634"  /* professional firm (labour consultants) */
#define STUDIO2 "01463240745" /* another professional firm */
#define ASSOC "07612340583"   /* trade association */

/* --- service catalogue --------------------------------------------------- */

struct svc_spec {
    const char *id, *family;
    enum sp_audience audience;
    enum sp_strength strength;
    bool deferrable;
    const char *profiles[3];
    const char *roles[3];
};

#define CIT SP_AUD_CITIZEN
#define INT SP_AUD_INTERMEDIARY
#define ENT SP_AUD_ENTERPRISE
#define PUB SP_AUD_PUBLIC_BODY
#define CONS SP_STRENGTH_CONSULTATION
#define DISP SP_STRENGTH_DISPOSITIVE

static const struct svc_spec catalogue[] = {
    {"estratto-conto", "position", CIT, CONS, false, {NULL}, {NULL}},
    {"cu", "tax", CIT, CONS, false, {NULL}, {NULL}},
    {"cedolino", "pension", CIT, CONS, false, {"pensioner"}, {NULL}},
    {"obism", "pension", CIT, CONS, false, {"pensioner"}, {NULL}},
    {"domanda-pensione", "pension", CIT, DISP, true, {NULL}, {NULL}},
    {"naspi", "income_support", CIT, DISP, true, {"worker"}, {NULL}},
    {"isee", "isee", CIT, DISP, true, {NULL}, {NULL}},
    {"iban", "payment_data", CIT, DISP, false, {NULL}, {NULL}},
    {"lavoro-domestico", "domestic", CIT, DISP, false, {NULL}, {NULL}},
    {"posizione-gdp", "position", CIT, CONS, false, {"worker:public"}, {NULL}},
    {"prestiti-gdp", "loans", CIT, DISP, true, {"worker:public"}, {NULL}},
    {"variazione-gdp", "position", CIT, DISP, false, {"worker:public"}, {NULL}},
    {"bonus-misto", "bonus", CIT, CONS, false, {"pensioner:public", "worker:private"}, {NULL}},
    {"mandati", "mandates", INT, DISP, false, {NULL}, {"patronato_operator", "caf_operator"}},
    {"deleghe-aziende",
     "delegations",
     INT,
     DISP,
     false,
     {NULL},
     {"labour_consultant", "accountant", "association_operator"}},
    {"sportello", "intermediation", INT, CONS, false, {NULL}, {NULL}},
    {"int-gdp", "position", INT, CONS, false, {"worker:public"}, {NULL}},
    {"cassetto", "employer_contrib", ENT, CONS, false, {NULL}, {NULL}},
    {"uniemens", "employer_contrib", ENT, DISP, false, {NULL}, {NULL}},
    {"durc", "durc", ENT, DISP, false, {NULL}, {NULL}},
    {"az-pens", "pension", ENT, CONS, false, {"pensioner"}, {NULL}},
    {"passweb", "pa_positions", PUB, DISP, false, {NULL}, {NULL}},
    {"listapospa", "pa_positions", PUB, CONS, false, {NULL}, {NULL}},
};

static struct sp_service services[NROWS(catalogue)];

static void catalogue_build(void)
{
    for (size_t i = 0; i < NROWS(catalogue); i++) {
        const struct svc_spec *c = &catalogue[i];
        struct sp_service *s = &services[i];

        memset(s, 0, sizeof(*s));
        s->id = (char *)c->id;
        s->name = (char *)c->id;
        s->path = (char *)"/app/test";
        s->family = (char *)c->family;
        s->audience = c->audience;
        s->strength = c->strength;
        s->deferrable = c->deferrable;
        for (size_t j = 0; j < NROWS(c->profiles) && c->profiles[j] != NULL; j++)
            s->profiles[s->n_profiles++] = (char *)c->profiles[j];
        for (size_t j = 0; j < NROWS(c->roles) && c->roles[j] != NULL; j++)
            s->roles[s->n_roles++] = (char *)c->roles[j];
    }
}

static const struct sp_service *service(const char *id)
{
    for (size_t i = 0; i < NROWS(services); i++)
        if (services[i].id != NULL && strcmp(services[i].id, id) == 0)
            return &services[i];
    return NULL;
}

/* --- compact descriptions of roles and delegations ----------------------- */

struct rspec {
    int64_t id; /* 0 ends the list */
    enum sp_role_kind kind;
    const char *org;
    enum sp_scheme scheme;
    const char *scopes;
    int64_t from, to, revoked;
};

struct dspec {
    int64_t id; /* 0 ends the list */
    enum sp_delegation_type type;
    const char *delegator, *delegate;
    const char *scopes;
    int64_t from, to, revoked;
};

/* active, open-ended */
#define R(id, kind, org, scheme, scopes)                                                           \
    {                                                                                              \
        id, SP_ROLE_##kind, org, SP_SCHEME_##scheme, scopes, 0, 0, 0                               \
    }
#define RV(id, kind, org, scheme, scopes, from, to, rev)                                           \
    {                                                                                              \
        id, SP_ROLE_##kind, org, SP_SCHEME_##scheme, scopes, from, to, rev                         \
    }
#define D(id, type, delegator, delegate, scopes)                                                   \
    {                                                                                              \
        id, SP_DELEG_##type, delegator, delegate, scopes, 0, 0, 0                                  \
    }
#define DV(id, type, delegator, delegate, scopes, from, to, rev)                                   \
    {                                                                                              \
        id, SP_DELEG_##type, delegator, delegate, scopes, from, to, rev                            \
    }

static struct sp_role make_role(const struct rspec *s, const char *cf)
{
    struct sp_role r;

    memset(&r, 0, sizeof(r));
    r.id = s->id;
    snprintf(r.user_cf, sizeof(r.user_cf), "%s", cf);
    r.kind = s->kind;
    snprintf(r.org, sizeof(r.org), "%s", s->org ? s->org : "");
    r.scheme = s->scheme;
    r.scopes = (char *)s->scopes;
    r.valid_from = s->from;
    r.valid_to = s->to;
    r.revoked_at = s->revoked;
    r.reason = (char *)"test";
    r.granted_by = (char *)"operator:test";
    r.granted_at = s->from;
    return r;
}

static struct sp_delegation make_delegation(const struct dspec *s)
{
    struct sp_delegation d;

    memset(&d, 0, sizeof(d));
    d.id = s->id;
    d.type = s->type;
    snprintf(d.delegator, sizeof(d.delegator), "%s", s->delegator);
    snprintf(d.delegate, sizeof(d.delegate), "%s", s->delegate);
    d.scopes = (char *)s->scopes;
    d.valid_from = s->from;
    d.valid_to = s->to;
    d.revoked_at = s->revoked;
    d.channel = (char *)"office";
    d.evidence = (char *)"AA08";
    d.created_by = (char *)"operator:test";
    return d;
}

/* --- the decision table -------------------------------------------------- */

#define MAXR 4
#define MAXD 4

struct expect {
    enum sp_authz_outcome outcome;
    enum sp_authz_reason reason;
    enum sp_authz_via via; /* checked on allow */
    int64_t role_id;       /* checked on allow */
    int64_t deleg_id;      /* checked on allow */
    bool role_or_0;        /* role_id may also be 0 (delegation held through a role) */
};

struct drow {
    const char *name;
    enum sp_assurance asr;
    struct rspec roles[MAXR];  /* the subject's (ME) */
    struct dspec delegs[MAXD]; /* loaded for the subject */
    const char *party;         /* acting for; NULL = self */
    struct rspec troles[MAXR]; /* the party's roles */
    const char *svc;
    int64_t now; /* 0: NOW */
    struct expect exp;
};

#define ANONE SP_ASSURANCE_NONE
#define A1 SP_ASSURANCE_A1
#define A2 SP_ASSURANCE_A2
#define A3 SP_ASSURANCE_A3

#define ALLOW_SELF                                                                                 \
    {                                                                                              \
        SP_AUTHZ_ALLOW, SP_AUTHZ_R_NONE, SP_AUTHZ_VIA_SELF, 0, 0, false                            \
    }
#define DEFER_SELF                                                                                 \
    {                                                                                              \
        SP_AUTHZ_ALLOW_DEFERRED, SP_AUTHZ_R_NONE, SP_AUTHZ_VIA_SELF, 0, 0, false                   \
    }
#define ALLOW_ROLE(r)                                                                              \
    {                                                                                              \
        SP_AUTHZ_ALLOW, SP_AUTHZ_R_NONE, SP_AUTHZ_VIA_ROLE, r, 0, false                            \
    }
/* a delegation to the person: no role involved */
#define ALLOW_DELEG(d)                                                                             \
    {                                                                                              \
        SP_AUTHZ_ALLOW, SP_AUTHZ_R_NONE, SP_AUTHZ_VIA_DELEGATION, 0, d, false                      \
    }
/* a delegation exercised through role r (role_id r, or 0: the header does not say) */
#define ALLOW_RDELEG(r, d)                                                                         \
    {                                                                                              \
        SP_AUTHZ_ALLOW, SP_AUTHZ_R_NONE, SP_AUTHZ_VIA_DELEGATION, r, d, true                       \
    }
#define DENY(why)                                                                                  \
    {                                                                                              \
        SP_AUTHZ_DENY, SP_AUTHZ_R_##why, SP_AUTHZ_VIA_NONE, 0, 0, false                            \
    }

static const struct drow rows[] = {
    /* S1: assurance NONE */
    {.name = "s1.none.self.consultation", .asr = ANONE, .svc = "cu", .exp = DENY(ASSURANCE)},
    {.name = "s1.none.enterprise",
     .asr = ANONE,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "cassetto",
     .exp = DENY(ASSURANCE)},
    {.name = "s1.none.for_delegator",
     .asr = ANONE,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(ASSURANCE)},
    {.name = "s1.none.self.deferrable", .asr = ANONE, .svc = "isee", .exp = DENY(ASSURANCE)},

    /* D: strength on citizen services for oneself */
    {.name = "d.a1.self.consultation", .asr = A1, .svc = "cu", .exp = ALLOW_SELF},
    {.name = "d.a1.self_cf.consultation",
     .asr = A1,
     .party = ME,
     .svc = "estratto-conto",
     .exp = ALLOW_SELF},
    {.name = "d.a1.self.dispositive", .asr = A1, .svc = "iban", .exp = DENY(ASSURANCE)},
    {.name = "d.a1.self.deferrable", .asr = A1, .svc = "isee", .exp = DEFER_SELF},
    {.name = "d.a1.self_cf.deferrable",
     .asr = A1,
     .party = ME,
     .svc = "domanda-pensione",
     .exp = DEFER_SELF},
    {.name = "d.a2.self.dispositive", .asr = A2, .svc = "iban", .exp = ALLOW_SELF},
    {.name = "d.a3.self.dispositive", .asr = A3, .svc = "iban", .exp = ALLOW_SELF},
    {.name = "d.a2.self.deferrable", .asr = A2, .svc = "isee", .exp = ALLOW_SELF},
    {.name = "d.a3.self.consultation", .asr = A3, .svc = "cu", .exp = ALLOW_SELF},
    {.name = "d.a2.self.roles_irrelevant",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*"), R(2, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .svc = "estratto-conto",
     .exp = ALLOW_SELF},
    {.name = "d.a2.for_delegator.deferrable",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "isee",
     .exp = ALLOW_DELEG(101)},
    {.name = "d.a3.enterprise.consultation",
     .asr = A3,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "cassetto",
     .exp = ALLOW_ROLE(1)},

    /* S2: A1 is only for citizen services for oneself */
    {.name = "s2.a1.for_delegator.consultation",
     .asr = A1,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.for_delegator.deferrable",
     .asr = A1,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.for_mandator.patronato",
     .asr = A1,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.intermediary.dispositive",
     .asr = A1,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .svc = "mandati",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.intermediary.consultation",
     .asr = A1,
     .roles = {R(1, ASSOCIATION_OPERATOR, ASSOC, NONE, "*")},
     .svc = "sportello",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.enterprise.consultation",
     .asr = A1,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "cassetto",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.enterprise.before_t1",
     .asr = A1,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .svc = "cassetto",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.public_body",
     .asr = A1,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "*")},
     .party = ENTE,
     .svc = "listapospa",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.citizen_for_org.before_t1",
     .asr = A1,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "cu",
     .exp = DENY(ASSURANCE)},
    {.name = "s2.a1.int_profile_service",
     .asr = A1,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*"), R(2, WORKER, "", PUBLIC, "*")},
     .svc = "int-gdp",
     .exp = DENY(ASSURANCE)},

    /* T1: the target must fit the audience */
    {.name = "t1.citizen.for_org",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "cu",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.citizen.for_org_with_delegation",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "cu",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.citizen.for_garbage",
     .asr = A2,
     .party = "ABC",
     .svc = "cu",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.citizen.for_15_chars",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, "FOXDRA26C24L219", ME, "*")},
     .party = "FOXDRA26C24L219",
     .svc = "cu",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.enterprise.for_11_non_digits",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, "1234567890X", NONE, "*")},
     .party = "1234567890X",
     .svc = "cassetto",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.public_body.for_12_digits",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, "800787505870", NONE, "*")},
     .party = "800787505870",
     .svc = "passweb",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.enterprise.no_target",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .svc = "cassetto",
     .exp = DENY(CHOOSE_TARGET)},
    {.name = "t1.enterprise.no_target.no_roles",
     .asr = A2,
     .svc = "uniemens",
     .exp = DENY(CHOOSE_TARGET)},
    {.name = "t1.enterprise.self_cf",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ME,
     .svc = "uniemens",
     .exp = DENY(CHOOSE_TARGET)},
    {.name = "t1.enterprise.for_person",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cassetto",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.public_body.no_target",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "*")},
     .svc = "passweb",
     .exp = DENY(CHOOSE_TARGET)},
    {.name = "t1.public_body.for_person",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "*")},
     .party = GIULIA,
     .svc = "passweb",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.intermediary.for_person",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "mandati",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.intermediary.for_org",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "deleghe-aziende",
     .exp = DENY(WRONG_AUDIENCE)},
    {.name = "t1.intermediary.self_cf",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .party = ME,
     .svc = "mandati",
     .exp = ALLOW_ROLE(1)},

    /* A, citizen, delegations to the person */
    {.name = "a.cit.citizen_identity",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = ALLOW_DELEG(101)},
    {.name = "a.cit.legal_representation",
     .asr = A2,
     .delegs = {D(102, LEGAL_REPRESENTATION, ANNA, ME, "isee")},
     .party = ANNA,
     .svc = "isee",
     .exp = ALLOW_DELEG(102)},
    {.name = "a.cit.domestic_employer.person",
     .asr = A2,
     .delegs = {D(103, DOMESTIC_EMPLOYER, LUCIA, ME, "domestic")},
     .party = LUCIA,
     .svc = "lavoro-domestico",
     .exp = ALLOW_DELEG(103)},
    {.name = "a.cit.agri.person",
     .asr = A2,
     .delegs = {D(104, AGRI_SELF_EMPLOYED, GFR, ME, "*")},
     .party = GFR,
     .svc = "cu",
     .exp = ALLOW_DELEG(104)},
    {.name = "a.cit.patronato_mandate.to_person",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(105, PATRONATO_MANDATE, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.caf_mandate.to_person",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(106, CAF_MANDATE, DARIO, ME, "isee")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.employer_intermediary.type",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(107, EMPLOYER_INTERMEDIARY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.group_company.type",
     .asr = A2,
     .delegs = {D(108, GROUP_COMPANY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.no_delegations",
     .asr = A2,
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.other_delegator",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, GIULIA, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.delegated_to_someone_else",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, GIULIA, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.sub_delegation",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, GIULIA, "*"),
                D(102, CITIZEN_IDENTITY, GIULIA, ME, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "a.cit.sub_delegation.first_hop_ok",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, GIULIA, "*"),
                D(102, CITIZEN_IDENTITY, GIULIA, ME, "*")},
     .party = GIULIA,
     .svc = "cu",
     .exp = ALLOW_DELEG(102)},
    {.name = "a.cit.legal_rep_sub_delegation",
     .asr = A2,
     .delegs = {D(101, LEGAL_REPRESENTATION, ANNA, LUCA, "*"),
                D(102, AGRI_SELF_EMPLOYED, LUCA, ME, "*")},
     .party = ANNA,
     .svc = "isee",
     .exp = DENY(NO_DELEGATION)},

    /* A, citizen: scopes */
    {.name = "scope.by_id",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "isee")},
     .party = DARIO,
     .svc = "isee",
     .exp = ALLOW_DELEG(101)},
    {.name = "scope.by_family",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "pension")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = ALLOW_DELEG(101)},
    {.name = "scope.by_family.profile",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "pension")},
     .party = DARIO,
     .troles = {R(9, PENSIONER, "", PRIVATE, "*")},
     .svc = "obism",
     .exp = ALLOW_DELEG(101)},
    {.name = "scope.id_not_sibling",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "cedolino")},
     .party = DARIO,
     .troles = {R(9, PENSIONER, "", PRIVATE, "*")},
     .svc = "obism",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "scope.star",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "iban",
     .exp = ALLOW_DELEG(101)},
    {.name = "scope.list",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "cu isee payment_data")},
     .party = DARIO,
     .svc = "iban",
     .exp = ALLOW_DELEG(101)},
    {.name = "scope.not_covering",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "cu")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "scope.other_family",
     .asr = A2,
     .delegs = {D(101, LEGAL_REPRESENTATION, DARIO, ME, "tax position")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "scope.prefix_not_token",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "pens")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "scope.two_delegations.pick_covering",
     .asr = A2,
     .delegs = {D(101, LEGAL_REPRESENTATION, DARIO, ME, "cu"),
                D(102, CITIZEN_IDENTITY, DARIO, ME, "isee")},
     .party = DARIO,
     .svc = "isee",
     .exp = ALLOW_DELEG(102)},
    {.name = "scope.covering_one_revoked",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "isee", 0, 0, NOW - DAY),
                D(102, LEGAL_REPRESENTATION, DARIO, ME, "cu")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "scope.covering_one_from_someone_else",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, GIULIA, ME, "*"),
                D(102, CITIZEN_IDENTITY, DARIO, ME, "cu")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(DELEGATION_SCOPE)},

    /* A, citizen: validity of delegations (valid_to exclusive, 0 open-ended) */
    {.name = "deleg.revoked",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW - 30 * DAY, 0, NOW - DAY)},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "deleg.valid_to_now",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW - 30 * DAY, NOW, 0)},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "deleg.valid_to_next_second",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW - 30 * DAY, NOW + 1, 0)},
     .party = DARIO,
     .svc = "cu",
     .exp = ALLOW_DELEG(101)},
    {.name = "deleg.valid_from_now",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW, 0, 0)},
     .party = DARIO,
     .svc = "cu",
     .exp = ALLOW_DELEG(101)},
    {.name = "deleg.not_yet_valid",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW + 1, 0, 0)},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "deleg.expired_long_ago",
     .asr = A2,
     .delegs = {DV(101, LEGAL_REPRESENTATION, DARIO, ME, "*", NOW - 60 * DAY, NOW - 30 * DAY, 0)},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "deleg.uses_now_argument",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW + DAY, NOW + 2 * DAY, 0)},
     .party = DARIO,
     .svc = "cu",
     .now = NOW + DAY + 1,
     .exp = ALLOW_DELEG(101)},
    {.name = "deleg.uses_now_argument.after",
     .asr = A2,
     .delegs = {DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW - 2 * DAY, NOW - DAY, 0)},
     .party = DARIO,
     .svc = "cu",
     .now = NOW - DAY - 1,
     .exp = ALLOW_DELEG(101)},

    /* A, citizen: delegations held by an organisation */
    {.name = "org.patronato.operator",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "pension")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.patronato.operator_scope_irrelevant",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "mandates")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "pension")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.patronato.other_patronato",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT2, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.caf_operator_in_it",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.labour_consultant_in_it",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.role_revoked",
     .asr = A2,
     .roles = {RV(1, PATRONATO_OPERATOR, PAT, NONE, "*", 0, 0, NOW - DAY)},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.role_valid_to_now",
     .asr = A2,
     .roles = {RV(1, PATRONATO_OPERATOR, PAT, NONE, "*", 0, NOW, 0)},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.role_not_yet_valid",
     .asr = A2,
     .roles = {RV(1, PATRONATO_OPERATOR, PAT, NONE, "*", NOW + 1, 0, 0)},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.revoked_and_active_role",
     .asr = A2,
     .roles = {RV(1, PATRONATO_OPERATOR, PAT2, NONE, "*", 0, 0, NOW - DAY),
               R(2, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = ALLOW_RDELEG(2, 101)},
    {.name = "org.patronato.scope",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "pension")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "org.patronato.mandate_revoked",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {DV(101, PATRONATO_MANDATE, DARIO, PAT, "pension", 0, 0, NOW - 1)},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.mandate_closed",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {DV(101, PATRONATO_MANDATE, DARIO, PAT, "pension", NOW - 90 * DAY, NOW, 0)},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.patronato.mandate_for_someone_else",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, GIULIA, PAT, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.caf.operator",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(101, CAF_MANDATE, DARIO, CAF, "isee")},
     .party = DARIO,
     .svc = "isee",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.caf.patronato_operator_in_it",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(101, CAF_MANDATE, DARIO, CAF, "isee")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.caf.operator_of_other_caf",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF2, NONE, "*")},
     .delegs = {D(101, CAF_MANDATE, DARIO, CAF, "isee")},
     .party = DARIO,
     .svc = "isee",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.caf.scope",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(101, CAF_MANDATE, DARIO, CAF, "isee")},
     .party = DARIO,
     .svc = "iban",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "org.domestic.association",
     .asr = A2,
     .roles = {R(1, ASSOCIATION_OPERATOR, ASSOC, NONE, "*")},
     .delegs = {D(101, DOMESTIC_EMPLOYER, LUCIA, ASSOC, "domestic")},
     .party = LUCIA,
     .svc = "lavoro-domestico",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.domestic.consultant_firm",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, DOMESTIC_EMPLOYER, LUCIA, STUDIO, "domestic")},
     .party = LUCIA,
     .svc = "lavoro-domestico",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.domestic.employer_rep_not_intermediary",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, STUDIO, NONE, "*")},
     .delegs = {D(101, DOMESTIC_EMPLOYER, LUCIA, STUDIO, "domestic")},
     .party = LUCIA,
     .svc = "lavoro-domestico",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.domestic.scope",
     .asr = A2,
     .roles = {R(1, ASSOCIATION_OPERATOR, ASSOC, NONE, "*")},
     .delegs = {D(101, DOMESTIC_EMPLOYER, LUCIA, ASSOC, "domestic")},
     .party = LUCIA,
     .svc = "iban",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "org.agri.caf_operator",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(101, AGRI_SELF_EMPLOYED, GFR, CAF, "*")},
     .party = GFR,
     .svc = "cu",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.agri.accountant_firm",
     .asr = A2,
     .roles = {R(1, ACCOUNTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, AGRI_SELF_EMPLOYED, GFR, STUDIO, "tax")},
     .party = GFR,
     .svc = "cu",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "org.agri.employer_operator_not_intermediary",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ASSOC, NONE, "*")},
     .delegs = {D(101, AGRI_SELF_EMPLOYED, GFR, ASSOC, "*")},
     .party = GFR,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.agri.intermediary_elsewhere",
     .asr = A2,
     .roles = {R(1, ACCOUNTANT, STUDIO2, NONE, "*")},
     .delegs = {D(101, AGRI_SELF_EMPLOYED, GFR, STUDIO, "*")},
     .party = GFR,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.agri.intermediary_role_revoked",
     .asr = A2,
     .roles = {RV(1, ACCOUNTANT, STUDIO, NONE, "*", 0, 0, NOW - 5)},
     .delegs = {D(101, AGRI_SELF_EMPLOYED, GFR, STUDIO, "*")},
     .party = GFR,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.citizen_identity_to_org",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, PAT, "*")},
     .party = DARIO,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.legal_representation_to_org",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(101, LEGAL_REPRESENTATION, ANNA, CAF, "*")},
     .party = ANNA,
     .svc = "cu",
     .exp = DENY(NO_DELEGATION)},
    {.name = "org.mandate_via_delegating_operator",
     .asr = A2,
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*"),
                D(102, CITIZEN_IDENTITY, LUCA, ME, "*")},
     .party = DARIO,
     .svc = "domanda-pensione",
     .exp = DENY(NO_DELEGATION)},

    /* A, intermediary */
    {.name = "int.patronato.by_family",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "mandates")},
     .svc = "mandati",
     .exp = ALLOW_ROLE(1)},
    {.name = "int.patronato.by_id",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "isee mandati")},
     .svc = "mandati",
     .exp = ALLOW_ROLE(1)},
    {.name = "int.caf.star",
     .asr = A3,
     .roles = {R(2, CAF_OPERATOR, CAF, NONE, "*")},
     .svc = "mandati",
     .exp = ALLOW_ROLE(2)},
    {.name = "int.role_not_listed",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .svc = "mandati",
     .exp = DENY(NO_ROLE)},
    {.name = "int.scope_not_covering",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "isee")},
     .svc = "mandati",
     .exp = DENY(NO_ROLE)},
    {.name = "int.revoked_then_active",
     .asr = A2,
     .roles = {RV(1, PATRONATO_OPERATOR, PAT, NONE, "*", 0, 0, NOW - DAY),
               R(2, CAF_OPERATOR, CAF, NONE, "*")},
     .svc = "mandati",
     .exp = ALLOW_ROLE(2)},
    {.name = "int.listed_not_covering.unlisted_covering",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "isee"), R(2, LABOUR_CONSULTANT, "", NONE, "*")},
     .svc = "mandati",
     .exp = DENY(NO_ROLE)},
    {.name = "int.role_valid_to_now",
     .asr = A2,
     .roles = {RV(1, PATRONATO_OPERATOR, PAT, NONE, "*", 0, NOW, 0)},
     .svc = "mandati",
     .exp = DENY(NO_ROLE)},
    {.name = "int.role_not_yet_valid",
     .asr = A2,
     .roles = {RV(1, CAF_OPERATOR, CAF, NONE, "*", NOW + DAY, 0, 0)},
     .svc = "mandati",
     .exp = DENY(NO_ROLE)},
    {.name = "int.mandate_without_role",
     .asr = A2,
     .delegs = {D(101, PATRONATO_MANDATE, DARIO, PAT, "*")},
     .svc = "mandati",
     .exp = DENY(NO_ROLE)},
    {.name = "int.deleghe.accountant",
     .asr = A2,
     .roles = {R(3, ACCOUNTANT, STUDIO, NONE, "delegations")},
     .svc = "deleghe-aziende",
     .exp = ALLOW_ROLE(3)},
    {.name = "int.deleghe.labour_consultant_self",
     .asr = A2,
     .roles = {R(3, LABOUR_CONSULTANT, "", NONE, "*")},
     .svc = "deleghe-aziende",
     .exp = ALLOW_ROLE(3)},
    {.name = "int.deleghe.association_operator",
     .asr = A2,
     .roles = {R(4, ASSOCIATION_OPERATOR, ASSOC, NONE, "deleghe-aziende")},
     .svc = "deleghe-aziende",
     .exp = ALLOW_ROLE(4)},
    {.name = "int.deleghe.patronato_not_listed",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .svc = "deleghe-aziende",
     .exp = DENY(NO_ROLE)},
    {.name = "int.any.association_operator",
     .asr = A2,
     .roles = {R(1, ASSOCIATION_OPERATOR, ASSOC, NONE, "*")},
     .svc = "sportello",
     .exp = ALLOW_ROLE(1)},
    {.name = "int.any.patronato_by_family",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "intermediation")},
     .svc = "sportello",
     .exp = ALLOW_ROLE(1)},
    {.name = "int.any.labour_consultant",
     .asr = A2,
     .roles = {R(5, LABOUR_CONSULTANT, "", NONE, "sportello")},
     .svc = "sportello",
     .exp = ALLOW_ROLE(5)},
    {.name = "int.any.employer_rep",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .svc = "sportello",
     .exp = DENY(NO_ROLE)},
    {.name = "int.any.employer_operator",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "*")},
     .svc = "sportello",
     .exp = DENY(NO_ROLE)},
    {.name = "int.any.pa_operator",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "*")},
     .svc = "sportello",
     .exp = DENY(NO_ROLE)},
    {.name = "int.any.pensioner",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PRIVATE, "*")},
     .svc = "sportello",
     .exp = DENY(NO_ROLE)},
    {.name = "int.any.no_roles", .asr = A2, .svc = "sportello", .exp = DENY(NO_ROLE)},
    {.name = "int.any.scope",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "isee mandates")},
     .svc = "sportello",
     .exp = DENY(NO_ROLE)},

    /* A, enterprise: the company's own roles */
    {.name = "ent.rep.star",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_ROLE(1)},
    {.name = "ent.rep.consultation",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "cassetto",
     .exp = ALLOW_ROLE(1)},
    {.name = "ent.rep.scope_not_needed",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "durc")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_ROLE(1)},
    {.name = "ent.rep.other_company",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, OTHERCO, NONE, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.rep.revoked",
     .asr = A2,
     .roles = {RV(1, EMPLOYER_REP, ACME, NONE, "*", 0, 0, NOW - DAY)},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.rep.valid_to_now",
     .asr = A2,
     .roles = {RV(1, EMPLOYER_REP, ACME, NONE, "*", NOW - DAY, NOW, 0)},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.rep.two_companies",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, OTHERCO, NONE, "*"), R(2, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = ALLOW_ROLE(2)},
    {.name = "ent.op.by_family",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "employer_contrib")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_ROLE(1)},
    {.name = "ent.op.by_id",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "cassetto")},
     .party = ACME,
     .svc = "cassetto",
     .exp = ALLOW_ROLE(1)},
    {.name = "ent.op.id_not_sibling",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "cassetto")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.op.not_covering",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "employer_contrib")},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.op.other_company",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, OTHERCO, NONE, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.op.not_covering.rep_elsewhere",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "cassetto"),
               R(2, EMPLOYER_REP, OTHERCO, NONE, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.op.not_yet_valid",
     .asr = A2,
     .roles = {RV(1, EMPLOYER_OPERATOR, ACME, NONE, "*", NOW + 1, 0, 0)},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.consultant_in_company_no_delegation",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, ACME, NONE, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.pa_operator_in_company",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ACME, NONE, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},

    /* A, enterprise: EMPLOYER_INTERMEDIARY to the person or to their organisation */
    {.name = "ent.ei.person.labour_consultant",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "employer_contrib")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.ei.person.accountant_in_firm",
     .asr = A2,
     .roles = {R(1, ACCOUNTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.ei.person.patronato_operator",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.association_operator",
     .asr = A2,
     .roles = {R(1, ASSOCIATION_OPERATOR, ASSOC, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.no_roles",
     .asr = A2,
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.role_revoked",
     .asr = A2,
     .roles = {RV(1, LABOUR_CONSULTANT, "", NONE, "*", 0, 0, NOW - DAY)},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*")},
     .party = ACME,
     .svc = "durc",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.scope",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ME, "durc")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.delegation_ended",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {DV(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*", NOW - 365 * DAY, NOW, 0)},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.delegation_revoked",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {DV(101, EMPLOYER_INTERMEDIARY, ACME, ME, "*", 0, 0, NOW - 10)},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.other_company",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, OTHERCO, ME, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.person.to_someone_else",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, GIULIA, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.firm.labour_consultant",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, STUDIO, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.ei.association",
     .asr = A2,
     .roles = {R(1, ASSOCIATION_OPERATOR, ASSOC, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, ASSOC, "employer_contrib")},
     .party = ACME,
     .svc = "cassetto",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.ei.org.any_intermediary_role",
     .asr = A2,
     .roles = {R(1, CAF_OPERATOR, CAF, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, CAF, "*")},
     .party = ACME,
     .svc = "cassetto",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.ei.firm.other_firm",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, STUDIO2, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, STUDIO, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.firm.non_intermediary_role",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, STUDIO, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, STUDIO, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.firm.role_not_yet_valid",
     .asr = A2,
     .roles = {RV(1, LABOUR_CONSULTANT, STUDIO, NONE, "*", NOW + 1, 0, 0)},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, STUDIO, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.ei.firm.scope",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, STUDIO, "cassetto")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.citizen_delegation_type_from_company",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, ACME, PAT, "*"), D(102, CITIZEN_IDENTITY, ACME, ME, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},

    /* A, enterprise: GROUP_COMPANY */
    {.name = "ent.group.rep_of_parent",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, HOLD, NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.group.rep_of_parent.scope_not_needed",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, HOLD, NONE, "durc")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.group.operator_covering",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, HOLD, NONE, "employer_contrib")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "employer_contrib")},
     .party = ACME,
     .svc = "uniemens",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "ent.group.operator_not_covering",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, HOLD, NONE, "durc")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.delegation_not_covering",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, HOLD, NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "durc")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.rep_of_other_company",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, OTHERCO, NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.delegation_revoked",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, HOLD, NONE, "*")},
     .delegs = {DV(101, GROUP_COMPANY, ACME, HOLD, "*", 0, 0, NOW - DAY)},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.rep_role_revoked",
     .asr = A2,
     .roles = {RV(1, EMPLOYER_REP, HOLD, NONE, "*", 0, 0, NOW - DAY)},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.consultant_of_parent",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, HOLD, NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.sub_delegation",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*"),
                D(102, EMPLOYER_INTERMEDIARY, HOLD, STUDIO, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},
    {.name = "ent.group.sub_delegation.first_hop_ok",
     .asr = A2,
     .roles = {R(1, LABOUR_CONSULTANT, STUDIO, NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ACME, HOLD, "*"),
                D(102, EMPLOYER_INTERMEDIARY, HOLD, STUDIO, "*")},
     .party = HOLD,
     .svc = "uniemens",
     .exp = ALLOW_RDELEG(1, 102)},
    {.name = "ent.ei.sub_delegation_to_group",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, HOLD, NONE, "*")},
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, ACME, OTHERCO, "*"),
                D(102, GROUP_COMPANY, OTHERCO, HOLD, "*")},
     .party = ACME,
     .svc = "uniemens",
     .exp = DENY(NO_ROLE)},

    /* A, public body */
    {.name = "pa.op.by_family",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "pa_positions")},
     .party = ENTE,
     .svc = "passweb",
     .exp = ALLOW_ROLE(1)},
    {.name = "pa.op.star",
     .asr = A3,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "*")},
     .party = ENTE,
     .svc = "passweb",
     .exp = ALLOW_ROLE(1)},
    {.name = "pa.op.by_id",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "listapospa")},
     .party = ENTE,
     .svc = "listapospa",
     .exp = ALLOW_ROLE(1)},
    {.name = "pa.op.id_not_sibling",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "listapospa")},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.op.other_body",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE2, NONE, "*")},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.op.not_covering",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE, NONE, "employer_contrib")},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.employer_rep_of_body",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ENTE, NONE, "*")},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.employer_operator_of_body",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ENTE, NONE, "*")},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.op.revoked",
     .asr = A2,
     .roles = {RV(1, PA_OPERATOR, ENTE, NONE, "*", 0, 0, NOW - DAY)},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.op.not_yet_valid",
     .asr = A2,
     .roles = {RV(1, PA_OPERATOR, ENTE, NONE, "*", NOW + DAY, 0, 0)},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.op.valid_to_next_second",
     .asr = A2,
     .roles = {RV(1, PA_OPERATOR, ENTE, NONE, "*", 0, NOW + 1, 0)},
     .party = ENTE,
     .svc = "passweb",
     .exp = ALLOW_ROLE(1)},
    {.name = "pa.delegations_do_not_count",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, HOLD, NONE, "*"), R(2, LABOUR_CONSULTANT, "", NONE, "*")},
     .delegs = {D(101, GROUP_COMPANY, ENTE, HOLD, "*"),
                D(102, EMPLOYER_INTERMEDIARY, ENTE, ME, "*")},
     .party = ENTE,
     .svc = "passweb",
     .exp = DENY(NO_ROLE)},
    {.name = "pa.two_bodies",
     .asr = A2,
     .roles = {R(1, PA_OPERATOR, ENTE2, NONE, "*"), R(2, PA_OPERATOR, ENTE, NONE, "pa_positions")},
     .party = ENTE,
     .svc = "passweb",
     .exp = ALLOW_ROLE(2)},

    /* P: sub-profiles, for oneself */
    {.name = "p.self.pensioner",
     .asr = A1,
     .roles = {R(1, PENSIONER, "", PRIVATE, "*")},
     .svc = "cedolino",
     .exp = ALLOW_SELF},
    {.name = "p.self.pensioner_public_scheme",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PUBLIC, "*")},
     .svc = "obism",
     .exp = ALLOW_SELF},
    {.name = "p.self.not_pensioner", .asr = A2, .svc = "cedolino", .exp = DENY(PROFILE)},
    {.name = "p.self.worker_only",
     .asr = A2,
     .roles = {R(1, WORKER, "", PRIVATE, "*")},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.self.pensioner_revoked",
     .asr = A2,
     .roles = {RV(1, PENSIONER, "", PRIVATE, "*", 0, 0, NOW - DAY)},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.self.pensioner_valid_to_now",
     .asr = A2,
     .roles = {RV(1, PENSIONER, "", PRIVATE, "*", 0, NOW, 0)},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.self.pensioner_not_yet",
     .asr = A2,
     .roles = {RV(1, PENSIONER, "", PRIVATE, "*", NOW + DAY, 0, 0)},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.self.operator_roles_are_not_profiles",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*"), R(2, EMPLOYER_REP, ACME, NONE, "*")},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.scheme.public_ok",
     .asr = A2,
     .roles = {R(1, WORKER, "", PUBLIC, "*")},
     .svc = "posizione-gdp",
     .exp = ALLOW_SELF},
    {.name = "p.scheme.private_no",
     .asr = A2,
     .roles = {R(1, WORKER, "", PRIVATE, "*")},
     .svc = "posizione-gdp",
     .exp = DENY(PROFILE)},
    {.name = "p.scheme.none_no",
     .asr = A2,
     .roles = {R(1, WORKER, "", NONE, "*")},
     .svc = "posizione-gdp",
     .exp = DENY(PROFILE)},
    {.name = "p.scheme.pensioner_public_no",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PUBLIC, "*")},
     .svc = "posizione-gdp",
     .exp = DENY(PROFILE)},
    {.name = "p.scheme.any_scheme_service",
     .asr = A2,
     .roles = {R(1, WORKER, "", PUBLIC, "*")},
     .svc = "naspi",
     .exp = ALLOW_SELF},
    {.name = "p.multi.pensioner_public",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PUBLIC, "*")},
     .svc = "bonus-misto",
     .exp = ALLOW_SELF},
    {.name = "p.multi.pensioner_private",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PRIVATE, "*")},
     .svc = "bonus-misto",
     .exp = DENY(PROFILE)},
    {.name = "p.multi.worker_private",
     .asr = A2,
     .roles = {R(1, WORKER, "", PRIVATE, "*")},
     .svc = "bonus-misto",
     .exp = ALLOW_SELF},
    {.name = "p.multi.worker_public",
     .asr = A2,
     .roles = {R(1, WORKER, "", PUBLIC, "*")},
     .svc = "bonus-misto",
     .exp = DENY(PROFILE)},
    {.name = "p.multi.revoked_match_active_mismatch",
     .asr = A2,
     .roles = {RV(1, WORKER, "", PRIVATE, "*", 0, 0, NOW - DAY), R(2, WORKER, "", PUBLIC, "*"),
               R(3, PENSIONER, "", PRIVATE, "*")},
     .svc = "bonus-misto",
     .exp = DENY(PROFILE)},

    /* P: checked on the target when acting for someone, on oneself otherwise */
    {.name = "p.for.target_pensioner",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .troles = {R(9, PENSIONER, "", PRIVATE, "*")},
     .svc = "cedolino",
     .exp = ALLOW_DELEG(101)},
    {.name = "p.for.subject_pensioner_target_not",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PRIVATE, "*")},
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.for.target_pensioner_expired",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "*")},
     .party = DARIO,
     .troles = {RV(9, PENSIONER, "", PRIVATE, "*", 0, NOW, 0)},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.for.target_scheme",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*"), R(2, WORKER, "", PUBLIC, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, GIULIA, PAT, "loans")},
     .party = GIULIA,
     .troles = {R(9, WORKER, "", PRIVATE, "*")},
     .svc = "prestiti-gdp",
     .exp = DENY(PROFILE)},
    {.name = "p.for.target_scheme_ok",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .delegs = {D(101, PATRONATO_MANDATE, GIULIA, PAT, "loans")},
     .party = GIULIA,
     .troles = {R(9, WORKER, "", PUBLIC, "*")},
     .svc = "prestiti-gdp",
     .exp = ALLOW_RDELEG(1, 101)},
    {.name = "p.self_cf.uses_subject_roles",
     .asr = A2,
     .roles = {R(1, PENSIONER, "", PRIVATE, "*")},
     .party = ME,
     .svc = "cedolino",
     .exp = ALLOW_SELF},
    {.name = "p.self_cf.ignores_target_roles",
     .asr = A2,
     .party = ME,
     .troles = {R(9, PENSIONER, "", PRIVATE, "*")},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.self.ignores_target_roles",
     .asr = A2,
     .troles = {R(9, PENSIONER, "", PRIVATE, "*")},
     .svc = "cedolino",
     .exp = DENY(PROFILE)},
    {.name = "p.int.own_roles",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*"), R(2, WORKER, "", PUBLIC, "*")},
     .svc = "int-gdp",
     .exp = ALLOW_ROLE(1)},
    {.name = "p.int.no_profile",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*")},
     .svc = "int-gdp",
     .exp = DENY(PROFILE)},
    {.name = "p.int.wrong_scheme",
     .asr = A2,
     .roles = {R(1, PATRONATO_OPERATOR, PAT, NONE, "*"), R(2, WORKER, "", PRIVATE, "*")},
     .svc = "int-gdp",
     .exp = DENY(PROFILE)},
    {.name = "p.ent.own_roles",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*"), R(2, PENSIONER, "", PRIVATE, "*")},
     .party = ACME,
     .svc = "az-pens",
     .exp = ALLOW_ROLE(1)},
    {.name = "p.ent.not_target_roles",
     .asr = A2,
     .roles = {R(1, EMPLOYER_REP, ACME, NONE, "*")},
     .party = ACME,
     .troles = {R(9, PENSIONER, "", PRIVATE, "*")},
     .svc = "az-pens",
     .exp = DENY(PROFILE)},

    /* order of the rules */
    {.name = "order.a_before_p",
     .asr = A2,
     .party = DARIO,
     .svc = "cedolino",
     .exp = DENY(NO_DELEGATION)},
    {.name = "order.scope_before_p",
     .asr = A2,
     .delegs = {D(101, CITIZEN_IDENTITY, DARIO, ME, "isee")},
     .party = DARIO,
     .svc = "cedolino",
     .exp = DENY(DELEGATION_SCOPE)},
    {.name = "order.role_before_p",
     .asr = A2,
     .roles = {R(1, EMPLOYER_OPERATOR, ACME, NONE, "durc")},
     .party = ACME,
     .svc = "az-pens",
     .exp = DENY(NO_ROLE)},
    {.name = "order.p_before_d.deferrable", .asr = A1, .svc = "prestiti-gdp", .exp = DENY(PROFILE)},
    {.name = "order.p_then_d.deferred",
     .asr = A1,
     .roles = {R(1, WORKER, "", PUBLIC, "*")},
     .svc = "prestiti-gdp",
     .exp = DEFER_SELF},
    {.name = "order.p_before_d.non_deferrable",
     .asr = A1,
     .svc = "variazione-gdp",
     .exp = DENY(PROFILE)},
    {.name = "order.p_then_d.non_deferrable",
     .asr = A1,
     .roles = {R(1, WORKER, "", PUBLIC, "*")},
     .svc = "variazione-gdp",
     .exp = DENY(ASSURANCE)},
    {.name = "order.p_then_d.a2",
     .asr = A2,
     .roles = {R(1, WORKER, "", PUBLIC, "*")},
     .svc = "variazione-gdp",
     .exp = ALLOW_SELF},
    {.name = "order.naspi.a1.worker",
     .asr = A1,
     .roles = {R(1, WORKER, "", PRIVATE, "*")},
     .svc = "naspi",
     .exp = DEFER_SELF},
    {.name = "order.t1_before_a.enterprise_for_person",
     .asr = A2,
     .delegs = {D(101, EMPLOYER_INTERMEDIARY, DARIO, ME, "*")},
     .party = DARIO,
     .svc = "uniemens",
     .exp = DENY(WRONG_AUDIENCE)},
};

static const char *outcome_name(enum sp_authz_outcome o)
{
    switch (o) {
    case SP_AUTHZ_DENY:
        return "DENY";
    case SP_AUTHZ_ALLOW:
        return "ALLOW";
    case SP_AUTHZ_ALLOW_DEFERRED:
        return "ALLOW_DEFERRED";
    }
    return "?";
}

static const char *via_name(enum sp_authz_via v)
{
    switch (v) {
    case SP_AUTHZ_VIA_NONE:
        return "NONE";
    case SP_AUTHZ_VIA_SELF:
        return "SELF";
    case SP_AUTHZ_VIA_ROLE:
        return "ROLE";
    case SP_AUTHZ_VIA_DELEGATION:
        return "DELEGATION";
    }
    return "?";
}

static const char *reason_str(enum sp_authz_reason r)
{
    return (unsigned)r < SP_AUTHZ_R__COUNT ? sp_authz_reason_id(r) : "?";
}

static bool decision_matches(const struct expect *e, enum sp_authz_outcome ret,
                             const struct sp_authz_decision *d)
{
    if (ret != d->outcome || d->outcome != e->outcome || d->reason != e->reason)
        return false;
    if (e->outcome == SP_AUTHZ_DENY)
        return true;
    if (d->via != e->via || d->delegation_id != e->deleg_id)
        return false;
    return d->role_id == e->role_id || (e->role_or_0 && d->role_id == 0);
}

static void run_row(const struct drow *r, bool reversed)
{
    struct sp_role roles[MAXR], troles[MAXR];
    struct sp_delegation delegs[MAXD];
    unsigned nr = 0, nt = 0, nd = 0;
    const struct sp_service *svc = service(r->svc);
    struct sp_authz_decision out;
    enum sp_authz_outcome ret;

    assert_non_null(svc);
    while (nr < MAXR && r->roles[nr].id != 0)
        nr++;
    while (nt < MAXR && r->troles[nt].id != 0)
        nt++;
    while (nd < MAXD && r->delegs[nd].id != 0)
        nd++;
    for (unsigned i = 0; i < nr; i++)
        roles[reversed ? nr - 1 - i : i] = make_role(&r->roles[i], ME);
    for (unsigned i = 0; i < nt; i++)
        troles[reversed ? nt - 1 - i : i] = make_role(&r->troles[i], r->party ? r->party : ME);
    for (unsigned i = 0; i < nd; i++)
        delegs[reversed ? nd - 1 - i : i] = make_delegation(&r->delegs[i]);

    struct sp_authz_subject subj = {ME, r->asr, roles, nr, delegs, nd};
    struct sp_authz_target target = {r->party, troles, nt};

    memset(&out, 0xa5, sizeof(out));
    ret = sp_authz_decide(&subj, &target, svc, r->now ? r->now : NOW, &out);
    if (!decision_matches(&r->exp, ret, &out))
        fail_msg("%s%s: expected %s/%s via %s role %lld%s deleg %lld; got %s (returned %s)/%s "
                 "via %s role %lld deleg %lld",
                 r->name, reversed ? " (reversed)" : "", outcome_name(r->exp.outcome),
                 reason_str(r->exp.reason), via_name(r->exp.via), (long long)r->exp.role_id,
                 r->exp.role_or_0 ? " (or 0)" : "", (long long)r->exp.deleg_id,
                 outcome_name(out.outcome), outcome_name(ret), reason_str(out.reason),
                 via_name(out.via), (long long)out.role_id, (long long)out.delegation_id);
    /* the inputs are not modified */
    for (unsigned i = 0; i < nr; i++)
        assert_string_equal(roles[i].user_cf, ME);
}

static void test_decide_row(void **state)
{
    run_row(*state, false);
}

static void test_decide_row_reversed(void **state)
{
    run_row(*state, true);
}

/* Every reason a deny can give appears in the table, and so does every via. */
static void test_table_coverage(void **state)
{
    bool reason_seen[SP_AUTHZ_R__COUNT] = {false};
    bool via_seen[4] = {false};
    bool outcome_seen[3] = {false};

    for (size_t i = 0; i < NROWS(rows); i++) {
        reason_seen[rows[i].exp.reason] = true;
        outcome_seen[rows[i].exp.outcome] = true;
        if (rows[i].exp.outcome != SP_AUTHZ_DENY)
            via_seen[rows[i].exp.via] = true;
        for (size_t j = 0; j < i; j++)
            assert_true(strcmp(rows[i].name, rows[j].name) != 0);
    }
    for (int r = 0; r < SP_AUTHZ_R__COUNT; r++)
        if (r != SP_AUTHZ_R_UNKNOWN_SERVICE) /* a caller's reason: no service matched */
            assert_true(reason_seen[r]);
    assert_true(via_seen[SP_AUTHZ_VIA_SELF] && via_seen[SP_AUTHZ_VIA_ROLE] &&
                via_seen[SP_AUTHZ_VIA_DELEGATION]);
    assert_true(outcome_seen[0] && outcome_seen[1] && outcome_seen[2]);
}

/* --- assurance ----------------------------------------------------------- */

struct asr_row {
    const char *method;
    unsigned level;
    bool dispositive;
    enum sp_assurance expect;
};

static const struct asr_row asr_rows[] = {
    {"spid", 1, false, SP_ASSURANCE_NONE}, {"spid", 1, true, SP_ASSURANCE_NONE},
    {"spid", 2, false, SP_ASSURANCE_A2},   {"spid", 2, true, SP_ASSURANCE_A2},
    {"spid", 3, false, SP_ASSURANCE_A3},   {"pin", 0, false, SP_ASSURANCE_A1},
    {"pin", 0, true, SP_ASSURANCE_A2},     {"cns", 0, false, SP_ASSURANCE_A2},
    {"cns", 0, true, SP_ASSURANCE_A2},     {"bogus", 2, true, SP_ASSURANCE_NONE},
    {"", 3, false, SP_ASSURANCE_NONE},
};

static void test_assurance(void **state)
{
    for (size_t i = 0; i < NROWS(asr_rows); i++) {
        const struct asr_row *a = &asr_rows[i];
        enum sp_assurance got = sp_authz_assurance(a->method, a->level, a->dispositive);
        if (got != a->expect)
            fail_msg("sp_authz_assurance(\"%s\", %u, %d) = %s, expected %s", a->method, a->level,
                     a->dispositive, sp_assurance_name(got), sp_assurance_name(a->expect));
    }
}

static void test_assurance_names(void **state)
{
    assert_string_equal(sp_assurance_name(SP_ASSURANCE_NONE), "none");
    assert_string_equal(sp_assurance_name(SP_ASSURANCE_A1), "A1");
    assert_string_equal(sp_assurance_name(SP_ASSURANCE_A2), "A2");
    assert_string_equal(sp_assurance_name(SP_ASSURANCE_A3), "A3");
    /* ordered: every comparison "at least A2" relies on it */
    assert_true(SP_ASSURANCE_NONE < SP_ASSURANCE_A1 && SP_ASSURANCE_A1 < SP_ASSURANCE_A2 &&
                SP_ASSURANCE_A2 < SP_ASSURANCE_A3);
}

static void test_reason_names(void **state)
{
    static const struct {
        enum sp_authz_reason r;
        const char *id, *text;
    } want[] = {
#define SP_AUTHZ_REASON_ROW(name, id, text) {SP_AUTHZ_R_##name, id, text},
        SP_AUTHZ_REASONS(SP_AUTHZ_REASON_ROW)
#undef SP_AUTHZ_REASON_ROW
    };

    assert_int_equal(NROWS(want), SP_AUTHZ_R__COUNT);
    for (size_t i = 0; i < NROWS(want); i++) {
        assert_string_equal(sp_authz_reason_id(want[i].r), want[i].id);
        assert_string_equal(sp_authz_reason_text(want[i].r), want[i].text);
        if (want[i].r != SP_AUTHZ_R_NONE)
            assert_true(sp_authz_reason_text(want[i].r)[0] != '\0');
    }
    assert_string_equal(sp_authz_reason_id(SP_AUTHZ_R_NO_ROLE), "no_role");
    assert_string_equal(sp_authz_reason_id(SP_AUTHZ_R_NONE), "none");
}

/* --- parties ------------------------------------------------------------- */

#define MAXP 32

struct party_log {
    unsigned n;
    char party[MAXP][SP_PARTY_MAX + 1];
    enum sp_authz_via via[MAXP];
};

static void party_cb(void *ctx, const char *party, enum sp_authz_via via)
{
    struct party_log *l = ctx;

    assert_non_null(party);
    assert_true(l->n < MAXP);
    snprintf(l->party[l->n], sizeof(l->party[l->n]), "%s", party);
    l->via[l->n] = via;
    l->n++;
}

static int party_find(const struct party_log *l, const char *party)
{
    for (unsigned i = 0; i < l->n; i++)
        if (strcmp(l->party[i], party) == 0)
            return (int)i;
    return -1;
}

static const struct rspec party_roles[] = {
    R(1, PATRONATO_OPERATOR, PAT, NONE, "*"),
    R(2, EMPLOYER_REP, ACME, NONE, "*"),
    RV(3, EMPLOYER_OPERATOR, OTHERCO, NONE, "cassetto", 0, 0, NOW - DAY),
    R(4, PA_OPERATOR, ENTE, NONE, "pa_positions"),
    R(5, LABOUR_CONSULTANT, "", NONE, "*"),
    R(6, PENSIONER, "", PRIVATE, "*"),
    R(7, EMPLOYER_OPERATOR, HOLD, NONE, "cassetto"),
    RV(8, PA_OPERATOR, ENTE2, NONE, "*", NOW + DAY, 0, 0),
};

static const struct dspec party_delegs[] = {
    D(101, CITIZEN_IDENTITY, DARIO, ME, "*"),
    D(102, LEGAL_REPRESENTATION, DARIO, ME, "cu"), /* same party twice */
    D(103, PATRONATO_MANDATE, GIULIA, PAT, "pension"),
    D(104, PATRONATO_MANDATE, LUCIA, PAT2, "*"),              /* not an operator of PAT2 */
    DV(105, CITIZEN_IDENTITY, GFR, ME, "*", 0, 0, NOW - DAY), /* revoked */
    D(106, GROUP_COMPANY, MEMBER, ACME, "*"),
    D(107, EMPLOYER_INTERMEDIARY, COMP4, ME, "*"),             /* ME is a labour consultant */
    D(108, CITIZEN_IDENTITY, ANNA, GIULIA, "*"),               /* not to ME */
    D(109, CAF_MANDATE, LUCA, CAF, "*"),                       /* not a CAF operator */
    DV(110, CITIZEN_IDENTITY, LUCA, ME, "*", NOW + DAY, 0, 0), /* not yet */
    D(111, GROUP_COMPANY, STUDIO2, OTHERCO, "*"),              /* ME's role in OTHERCO is revoked */
    D(112, PATRONATO_MANDATE, ME, PAT, "*"),                   /* oneself is not a party */
    D(113, DOMESTIC_EMPLOYER, JOHN, PAT, "domestic"),          /* any intermediary role in PAT */
};

static void parties_run(struct party_log *log, bool reversed)
{
    struct sp_role roles[NROWS(party_roles)];
    struct sp_delegation delegs[NROWS(party_delegs)];
    size_t nr = NROWS(party_roles), nd = NROWS(party_delegs);

    for (size_t i = 0; i < nr; i++)
        roles[reversed ? nr - 1 - i : i] = make_role(&party_roles[i], ME);
    for (size_t i = 0; i < nd; i++)
        delegs[reversed ? nd - 1 - i : i] = make_delegation(&party_delegs[i]);

    struct sp_authz_subject subj = {ME, SP_ASSURANCE_A2, roles, (unsigned)nr, delegs, (unsigned)nd};
    memset(log, 0, sizeof(*log));
    sp_authz_parties(&subj, NOW, party_cb, log);
}

static void test_parties(void **state)
{
    static const struct {
        const char *party;
        enum sp_authz_via via;
    } want[] = {
        {DARIO, SP_AUTHZ_VIA_DELEGATION},  {GIULIA, SP_AUTHZ_VIA_DELEGATION},
        {ACME, SP_AUTHZ_VIA_ROLE},         {ENTE, SP_AUTHZ_VIA_ROLE},
        {MEMBER, SP_AUTHZ_VIA_DELEGATION}, {COMP4, SP_AUTHZ_VIA_DELEGATION},
        {HOLD, SP_AUTHZ_VIA_ROLE},         {JOHN, SP_AUTHZ_VIA_DELEGATION},
    };
    static const char *const absent[] = {ME,   OTHERCO, PAT, PAT2,    LUCIA, GFR,
                                         ANNA, LUCA,    CAF, STUDIO2, ENTE2};
    struct party_log a, b;

    parties_run(&a, false);
    for (size_t i = 0; i < NROWS(want); i++) {
        int at = party_find(&a, want[i].party);
        if (at < 0)
            fail_msg("party %s not listed", want[i].party);
        if (a.via[at] != want[i].via)
            fail_msg("party %s via %s, expected %s", want[i].party, via_name(a.via[at]),
                     via_name(want[i].via));
    }
    for (size_t i = 0; i < NROWS(absent); i++)
        if (party_find(&a, absent[i]) >= 0)
            fail_msg("party %s must not be listed", absent[i]);
    for (unsigned i = 0; i < a.n; i++)
        for (unsigned j = 0; j < i; j++)
            if (strcmp(a.party[i], a.party[j]) == 0)
                fail_msg("party %s listed twice", a.party[i]);
    assert_int_equal(a.n, NROWS(want));

    /* stable: the same input gives the same sequence */
    parties_run(&b, false);
    assert_int_equal(a.n, b.n);
    for (unsigned i = 0; i < a.n; i++) {
        assert_string_equal(a.party[i], b.party[i]);
        assert_int_equal(a.via[i], b.via[i]);
    }
    /* the order of the facts changes no membership */
    parties_run(&b, true);
    assert_int_equal(a.n, b.n);
    for (unsigned i = 0; i < a.n; i++)
        assert_true(party_find(&b, a.party[i]) >= 0);
}

static void test_parties_now(void **state)
{
    static const struct dspec ds[] = {
        DV(101, CITIZEN_IDENTITY, DARIO, ME, "*", NOW, NOW + DAY, 0),
    };
    struct sp_delegation d = make_delegation(&ds[0]);
    struct sp_authz_subject subj = {ME, SP_ASSURANCE_A2, NULL, 0, &d, 1};
    struct party_log l;

    memset(&l, 0, sizeof(l));
    sp_authz_parties(&subj, NOW - 1, party_cb, &l);
    assert_int_equal(l.n, 0);
    sp_authz_parties(&subj, NOW, party_cb, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.party[0], DARIO);
    memset(&l, 0, sizeof(l));
    sp_authz_parties(&subj, NOW + DAY, party_cb, &l);
    assert_int_equal(l.n, 0);
}

static void test_parties_empty(void **state)
{
    struct sp_authz_subject subj = {ME, SP_ASSURANCE_A3, NULL, 0, NULL, 0};
    struct party_log l;

    memset(&l, 0, sizeof(l));
    sp_authz_parties(&subj, NOW, party_cb, &l);
    assert_int_equal(l.n, 0);
}

/* --- find_service -------------------------------------------------------- */

static struct sp_config find_cfg;

static void find_cfg_build(void)
{
    static const char *const paths[][2] = {
        {"x", "/app/x"},
        {"xy", "/app/x/y"},
        {"cedolino", "/app/pensione/cedolino"}, /* longer first: the longest wins, not the first */
        {"pensione", "/app/pensione"},
        {"zz", "/zz"},
    };

    memset(&find_cfg, 0, sizeof(find_cfg));
    for (size_t i = 0; i < NROWS(paths); i++) {
        struct sp_service *s = &find_cfg.services[find_cfg.n_services++];
        s->id = (char *)paths[i][0];
        s->name = (char *)paths[i][0];
        s->path = (char *)paths[i][1];
        s->family = (char *)paths[i][0];
    }
}

struct find_row {
    const char *path;
    const char *id; /* NULL: no service */
};

static const struct find_row find_rows[] = {
    {"/app/x", "x"},
    {"/app/x/", "x"},
    {"/app/x/z", "x"},
    {"/app/x?q=1", "x"},
    {"/app/xy", NULL},
    {"/app/x/y", "xy"},
    {"/app/x/y/", "xy"},
    {"/app/x/y/z", "xy"},
    {"/app/x/y?z=1", "xy"},
    {"/app/x/yz", "x"},
    {"/app/x?/y", "x"},
    {"/app", NULL},
    {"/app/", NULL},
    {"/", NULL},
    {"", NULL},
    {"/app/pensione", "pensione"},
    {"/app/pensione/cedolino", "cedolino"},
    {"/app/pensione/cedolino/2024", "cedolino"},
    {"/app/pensione/cedolinox", "pensione"},
    {"/app/pensione/obism", "pensione"},
    {"/app/pensionex", NULL},
    {"/zz", "zz"},
    {"/zzz", NULL},
    {"/other", NULL},
    {"/ap", NULL},
};

static void test_find_service(void **state)
{
    for (size_t i = 0; i < NROWS(find_rows); i++) {
        const struct find_row *f = &find_rows[i];
        const struct sp_service *s = sp_authz_find_service(&find_cfg, f->path);
        if (f->id == NULL && s != NULL)
            fail_msg("\"%s\": expected no service, got %s", f->path, s->id);
        if (f->id != NULL && (s == NULL || strcmp(s->id, f->id) != 0))
            fail_msg("\"%s\": expected %s, got %s", f->path, f->id, s ? s->id : "(none)");
        if (s != NULL)
            assert_true(s >= find_cfg.services && s < find_cfg.services + find_cfg.n_services);
    }
}

static void test_find_service_empty(void **state)
{
    static struct sp_config empty;

    assert_null(sp_authz_find_service(&empty, "/app/x"));
    assert_null(sp_authz_find_service(&empty, "/"));
}

/* --- model helpers of roles.h -------------------------------------------- */

struct active_row {
    int64_t from, to, revoked, now;
    bool expect;
};

static const struct active_row active_rows[] = {
    {0, 0, 0, NOW, true},                          /* open-ended */
    {NOW - DAY, 0, 0, NOW, true},                  /* started */
    {NOW, 0, 0, NOW, true},                        /* valid_from inclusive */
    {NOW + 1, 0, 0, NOW, false},                   /* not yet */
    {NOW - DAY, NOW, 0, NOW, false},               /* valid_to exclusive */
    {NOW - DAY, NOW + 1, 0, NOW, true},            /* last second */
    {NOW - 9 * DAY, NOW - DAY, 0, NOW, false},     /* ended */
    {0, 0, NOW - DAY, NOW, false},                 /* revoked */
    {0, 0, NOW, NOW, false},                       /* revoked now */
    {NOW - DAY, NOW + DAY, 1, NOW, false},         /* revoked long ago, still in validity */
    {NOW - DAY, NOW + DAY, NOW + DAY, NOW, false}, /* revoked_at set: 0 = not revoked */
    {NOW - DAY, NOW + DAY, 0, NOW - DAY, true},    /* now is the argument */
    {NOW - DAY, NOW + DAY, 0, NOW + DAY, false},
};

static void test_role_active(void **state)
{
    for (size_t i = 0; i < NROWS(active_rows); i++) {
        const struct active_row *a = &active_rows[i];
        struct rspec s = RV(1, EMPLOYER_REP, ACME, NONE, "*", a->from, a->to, a->revoked);
        struct sp_role r = make_role(&s, ME);
        if (sp_role_active(&r, a->now) != a->expect)
            fail_msg("role from %lld to %lld revoked %lld at %lld: expected %s", (long long)a->from,
                     (long long)a->to, (long long)a->revoked, (long long)a->now,
                     a->expect ? "active" : "inactive");
    }
}

static void test_delegation_active(void **state)
{
    for (size_t i = 0; i < NROWS(active_rows); i++) {
        const struct active_row *a = &active_rows[i];
        struct dspec s = DV(1, CITIZEN_IDENTITY, DARIO, ME, "*", a->from, a->to, a->revoked);
        struct sp_delegation d = make_delegation(&s);
        if (sp_delegation_active(&d, a->now) != a->expect)
            fail_msg("delegation from %lld to %lld revoked %lld at %lld: expected %s",
                     (long long)a->from, (long long)a->to, (long long)a->revoked, (long long)a->now,
                     a->expect ? "active" : "inactive");
    }
}

struct scope_row {
    const char *scopes, *id, *family;
    bool expect;
};

static const struct scope_row scope_rows[] = {
    {"*", "isee", "isee", true},
    {"*", "cedolino", "pension", true},
    {"isee", "isee", "isee", true},
    {"cedolino", "cedolino", "pension", true},
    {"pension", "cedolino", "pension", true},
    {"pension", "obism", "pension", true},
    {"cedolino", "obism", "pension", false},
    {"cu isee", "isee", "isee", true},
    {"cu isee", "cu", "tax", true},
    {"tax isee payment_data", "iban", "payment_data", true},
    {"cu  isee", "isee", "isee", true},
    {"cu *", "durc", "durc", true},
    {"cu", "isee", "isee", false},
    {"tax", "isee", "isee", false},
    {"pens", "cedolino", "pension", false},
    {"pensionx", "cedolino", "pension", false},
    {"cedolino2", "cedolino", "pension", false},
    {"xcedolino", "cedolino", "pension", false},
    {"isee-x isee_y", "isee", "isee", false},
    {"", "isee", "isee", false},
    {" ", "isee", "isee", false},
    {"employer_contrib", "uniemens", "employer_contrib", true},
    {"employer_contrib", "durc", "durc", false},
    {"**", "durc", "durc", false},
};

static void test_scope_covers(void **state)
{
    for (size_t i = 0; i < NROWS(scope_rows); i++) {
        const struct scope_row *s = &scope_rows[i];
        if (sp_scope_covers(s->scopes, s->id, s->family) != s->expect)
            fail_msg("sp_scope_covers(\"%s\", \"%s\", \"%s\"): expected %s", s->scopes, s->id,
                     s->family, s->expect ? "true" : "false");
    }
}

static void test_role_names(void **state)
{
    static const char *const want[SP_ROLE__COUNT] = {
        [SP_ROLE_PENSIONER] = "pensioner",
        [SP_ROLE_WORKER] = "worker",
        [SP_ROLE_PATRONATO_OPERATOR] = "patronato_operator",
        [SP_ROLE_CAF_OPERATOR] = "caf_operator",
        [SP_ROLE_LABOUR_CONSULTANT] = "labour_consultant",
        [SP_ROLE_ACCOUNTANT] = "accountant",
        [SP_ROLE_ASSOCIATION_OPERATOR] = "association_operator",
        [SP_ROLE_EMPLOYER_REP] = "employer_rep",
        [SP_ROLE_EMPLOYER_OPERATOR] = "employer_operator",
        [SP_ROLE_PA_OPERATOR] = "pa_operator",
    };
    enum sp_role_kind k;

    for (int i = 0; i < SP_ROLE__COUNT; i++) {
        const char *n = sp_role_name((enum sp_role_kind)i);
        assert_non_null(n);
        assert_string_equal(n, want[i]);
        k = SP_ROLE__COUNT;
        assert_int_equal(sp_role_parse(n, &k), SP_OK);
        assert_int_equal(k, i);
    }
    assert_int_not_equal(sp_role_parse("", &k), SP_OK);
    assert_int_not_equal(sp_role_parse("citizen", &k), SP_OK);
    assert_int_not_equal(sp_role_parse("employer_rep ", &k), SP_OK);
    assert_int_not_equal(sp_role_parse("employer", &k), SP_OK);
}

static void test_scheme_names(void **state)
{
    enum sp_scheme s;

    assert_string_equal(sp_scheme_name(SP_SCHEME_NONE), "");
    assert_string_equal(sp_scheme_name(SP_SCHEME_PRIVATE), "private");
    assert_string_equal(sp_scheme_name(SP_SCHEME_PUBLIC), "public");
    for (int i = SP_SCHEME_PRIVATE; i <= SP_SCHEME_PUBLIC; i++) {
        s = SP_SCHEME_NONE;
        assert_int_equal(sp_scheme_parse(sp_scheme_name((enum sp_scheme)i), &s), SP_OK);
        assert_int_equal(s, i);
    }
    /* NONE prints as "": whether "" parses back is not specified; if it does, to NONE */
    s = SP_SCHEME_PUBLIC;
    if (sp_scheme_parse("", &s) == SP_OK)
        assert_int_equal(s, SP_SCHEME_NONE);
    assert_int_not_equal(sp_scheme_parse("mixed", &s), SP_OK);
    assert_int_not_equal(sp_scheme_parse("publicx", &s), SP_OK);
}

static bool name_chars_ok(const char *n)
{
    if (n == NULL || n[0] == '\0')
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || *n == '_'))
            return false;
    return true;
}

static void test_org_type_names(void **state)
{
    enum sp_org_type t;

    for (int i = 0; i < SP_ORGT__COUNT; i++) {
        const char *n = sp_org_type_name((enum sp_org_type)i);
        assert_true(name_chars_ok(n));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, sp_org_type_name((enum sp_org_type)j));
        t = SP_ORGT__COUNT;
        assert_int_equal(sp_org_type_parse(n, &t), SP_OK);
        assert_int_equal(t, i);
    }
    assert_string_equal(sp_org_type_name(SP_ORGT_PUBLIC_BODY), "public_body");
    assert_int_not_equal(sp_org_type_parse("", &t), SP_OK);
    assert_int_not_equal(sp_org_type_parse("bank", &t), SP_OK);
}

static void test_delegation_type_names(void **state)
{
    enum sp_delegation_type t;

    for (int i = 0; i < SP_DELEG__COUNT; i++) {
        const char *n = sp_delegation_type_name((enum sp_delegation_type)i);
        assert_true(name_chars_ok(n));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, sp_delegation_type_name((enum sp_delegation_type)j));
        t = SP_DELEG__COUNT;
        assert_int_equal(sp_delegation_type_parse(n, &t), SP_OK);
        assert_int_equal(t, i);
    }
    assert_int_not_equal(sp_delegation_type_parse("", &t), SP_OK);
    assert_int_not_equal(sp_delegation_type_parse("sub_delegation", &t), SP_OK);
}

static void test_role_classes(void **state)
{
    for (int i = 0; i < SP_ROLE__COUNT; i++) {
        enum sp_role_kind k = (enum sp_role_kind)i;
        bool profile = k == SP_ROLE_PENSIONER || k == SP_ROLE_WORKER;
        bool intermediary = k == SP_ROLE_PATRONATO_OPERATOR || k == SP_ROLE_CAF_OPERATOR ||
                            k == SP_ROLE_LABOUR_CONSULTANT || k == SP_ROLE_ACCOUNTANT ||
                            k == SP_ROLE_ASSOCIATION_OPERATOR;
        if (sp_role_is_profile(k) != profile)
            fail_msg("sp_role_is_profile(%s) != %d", sp_role_name(k), profile);
        if (sp_role_is_intermediary(k) != intermediary)
            fail_msg("sp_role_is_intermediary(%s) != %d", sp_role_name(k), intermediary);
    }
}

/* --- runner -------------------------------------------------------------- */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_table_coverage),
    cmocka_unit_test(test_assurance),
    cmocka_unit_test(test_assurance_names),
    cmocka_unit_test(test_reason_names),
    cmocka_unit_test(test_parties),
    cmocka_unit_test(test_parties_now),
    cmocka_unit_test(test_parties_empty),
    cmocka_unit_test(test_find_service),
    cmocka_unit_test(test_find_service_empty),
    cmocka_unit_test(test_role_active),
    cmocka_unit_test(test_delegation_active),
    cmocka_unit_test(test_scope_covers),
    cmocka_unit_test(test_role_names),
    cmocka_unit_test(test_scheme_names),
    cmocka_unit_test(test_org_type_names),
    cmocka_unit_test(test_delegation_type_names),
    cmocka_unit_test(test_role_classes),
};

#define NTESTS (NROWS(fixed_tests) + 2 * NROWS(rows))

static struct CMUnitTest all_tests[NTESTS];
static char names[NTESTS][96];
static size_t ntests;

static void add_row(const char *table, const char *name, CMUnitTestFunction fn, const void *row)
{
    struct CMUnitTest *t = &all_tests[ntests];

    snprintf(names[ntests], sizeof(names[ntests]), "%s:%s", table, name);
    t->name = names[ntests];
    t->test_func = fn;
    t->setup_func = NULL;
    t->teardown_func = NULL;
    t->initial_state = (void *)row;
    ntests++;
}

int main(void)
{
    catalogue_build();
    find_cfg_build();
    for (size_t i = 0; i < NROWS(fixed_tests); i++)
        all_tests[ntests++] = fixed_tests[i];
    for (size_t i = 0; i < NROWS(rows); i++)
        add_row("decide", rows[i].name, test_decide_row, &rows[i]);
    for (size_t i = 0; i < NROWS(rows); i++)
        add_row("decide_reversed", rows[i].name, test_decide_row_reversed, &rows[i]);
    return _cmocka_run_group_tests("authz", all_tests, ntests, NULL, NULL);
}
