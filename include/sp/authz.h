/*
 * authz: who may open which service, as themselves or for someone else.
 * One pure function of (person, roles, delegations, session strength,
 * acting-for, service, now): no I/O, no clock, no globals, so every rule is
 * proved by a table (tests/unit/test_authz.c). Model: domain.md §5.3-§5.6.
 *
 * Assurance of a session (§5.4): A1 = PIN ordinario; A2 = PIN dispositivo,
 * SPID level 2, CNS; A3 = SPID level 3. SPID level 1 gives NONE.
 *
 * The rules, in the order they are applied (the first that fails decides):
 *
 *  S1  assurance NONE                          -> deny ASSURANCE
 *  S2  a service with audience other than citizen, or acting for anyone but
 *      oneself, needs A2 (no professional, company, public-body profile and
 *      no acting for others with a PIN ordinario)   -> deny ASSURANCE
 *  T1  audience citizen: the target is the acting-for party (NULL or the
 *      person's own CF = self) and must be a natural person (16-char CF);
 *      audience enterprise / public body: the target must be the acting-for
 *      organisation (11 digits); none chosen -> deny CHOOSE_TARGET; a target
 *      of the wrong kind -> deny WRONG_AUDIENCE.
 *      audience intermediary: always for oneself; acting for someone else
 *      -> deny WRONG_AUDIENCE.
 *  A   authority chain (one hop, no sub-delegation):
 *    citizen, self                  -> allowed (via SELF)
 *    citizen, for person P: an active delegation from P whose scope covers
 *      the service and that either
 *        - names the person as delegate and is CITIZEN_IDENTITY,
 *          LEGAL_REPRESENTATION, DOMESTIC_EMPLOYER or AGRI_SELF_EMPLOYED; or
 *        - names an organisation O as delegate, is PATRONATO_MANDATE (the
 *          person is an active PATRONATO_OPERATOR of O), CAF_MANDATE
 *          (CAF_OPERATOR of O), DOMESTIC_EMPLOYER or AGRI_SELF_EMPLOYED (any
 *          active intermediary role in O)      (via DELEGATION)
 *      otherwise -> deny NO_DELEGATION (or DELEGATION_SCOPE when a delegation
 *      exists but its scope does not cover the service).
 *    intermediary: an active intermediary role of the person whose scope
 *      covers the service and, when the service names roles, one of them
 *      (via ROLE)                       otherwise -> deny NO_ROLE
 *    enterprise, for company C:
 *        - an active EMPLOYER_REP in C, or EMPLOYER_OPERATOR in C whose scope
 *          covers the service (via ROLE); or
 *        - an active EMPLOYER_INTERMEDIARY delegation from C whose scope covers
 *          the service, to the person (who holds an active LABOUR_CONSULTANT
 *          or ACCOUNTANT role) or to an organisation O in which the person
 *          holds an active intermediary role (via DELEGATION); or
 *        - an active GROUP_COMPANY delegation from C to company G whose scope
 *          covers the service, where the person is EMPLOYER_REP of G or
 *          EMPLOYER_OPERATOR of G with a covering scope (via DELEGATION)
 *      otherwise -> deny NO_ROLE
 *    public body, for body B: an active PA_OPERATOR in B whose scope covers
 *      the service (via ROLE)           otherwise -> deny NO_ROLE
 *  P   the service names sub-profiles ("pensioner", "worker:public", ...):
 *      the target person holds one of them (active role of that kind, and of
 *      that scheme when one is named)     -> otherwise deny PROFILE
 *      (a service with sub-profiles and audience other than citizen checks
 *      the person's own roles)
 *  D   strength: consultation needs A1; dispositive needs A2. A dispositive,
 *      deferrable service (an application) reached with A1 on a citizen
 *      service -> ALLOW_DEFERRED ("submitted, processed after conversion");
 *      otherwise -> deny ASSURANCE.
 */
#ifndef SP_AUTHZ_H
#define SP_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/config.h"
#include "sp/roles.h"

enum sp_assurance { SP_ASSURANCE_NONE, SP_ASSURANCE_A1, SP_ASSURANCE_A2, SP_ASSURANCE_A3 };

/* Assurance of a session from its method ("spid", "pin", "cns"), SPID level,
 * and for PIN whether it is dispositivo. */
enum sp_assurance sp_authz_assurance(const char *method, unsigned level, bool pin_dispositive);
const char *sp_assurance_name(enum sp_assurance a); /* "A1", ... ("none") */

enum sp_authz_outcome { SP_AUTHZ_DENY, SP_AUTHZ_ALLOW, SP_AUTHZ_ALLOW_DEFERRED };

#define SP_AUTHZ_REASONS(X)                                                                        \
    X(NONE, "none", "")                                                                            \
    X(ASSURANCE, "assurance",                                                                      \
      "La credenziale usata non è abbastanza forte per questo servizio: accedere con SPID "       \
      "di livello 2 o superiore, CNS o PIN dispositivo.")                                          \
    X(CHOOSE_TARGET, "choose_target", "Scegliere prima per quale azienda o ente si opera.")        \
    X(WRONG_AUDIENCE, "wrong_audience",                                                            \
      "Questo servizio non è disponibile per il profilo con cui si sta operando.")                 \
    X(NO_DELEGATION, "no_delegation",                                                              \
      "Non risulta una delega attiva che consenta di operare per questa persona.")                 \
    X(DELEGATION_SCOPE, "delegation_scope", "La delega attiva non comprende questo servizio.")     \
    X(NO_ROLE, "no_role", "Non risulta un ruolo attivo che consenta l'uso di questo servizio.")    \
    X(PROFILE, "profile", "Questo servizio è riservato a un'altra categoria di utenti.")           \
    X(UNKNOWN_SERVICE, "unknown_service", "Nessun servizio corrisponde a questo indirizzo.")

enum sp_authz_reason {
#define SP_AUTHZ_REASON_ENUM(name, id, text) SP_AUTHZ_R_##name,
    SP_AUTHZ_REASONS(SP_AUTHZ_REASON_ENUM)
#undef SP_AUTHZ_REASON_ENUM
        SP_AUTHZ_R__COUNT
};

const char *sp_authz_reason_id(enum sp_authz_reason r);   /* "no_role" */
const char *sp_authz_reason_text(enum sp_authz_reason r); /* Italian, for pages */

enum sp_authz_via {
    SP_AUTHZ_VIA_NONE,
    SP_AUTHZ_VIA_SELF,
    SP_AUTHZ_VIA_ROLE,
    SP_AUTHZ_VIA_DELEGATION
};

/* The subject: the logged-in person with the facts loaded for them. */
struct sp_authz_subject {
    const char *cf;
    enum sp_assurance assurance;
    const struct sp_role *roles; /* the person's roles (inactive ones are ignored) */
    unsigned n_roles;
    /* delegations whose delegate is the person or one of their organisations */
    const struct sp_delegation *delegations;
    unsigned n_delegations;
};

/* The party acted for, with its sub-profile roles (for rule P). */
struct sp_authz_target {
    const char *party;           /* NULL or the person's CF: self */
    const struct sp_role *roles; /* the target person's roles (self: subj->roles are used) */
    unsigned n_roles;
};

struct sp_authz_decision {
    enum sp_authz_outcome outcome;
    enum sp_authz_reason reason; /* NONE when allowed */
    enum sp_authz_via via;
    int64_t role_id;       /* the role that allowed it, 0 when none */
    int64_t delegation_id; /* the delegation that allowed it, 0 when none */
};

enum sp_authz_outcome sp_authz_decide(const struct sp_authz_subject *subj,
                                      const struct sp_authz_target *target,
                                      const struct sp_service *svc, int64_t now,
                                      struct sp_authz_decision *out);

/*
 * The parties the subject may choose to act for (besides self): delegators of
 * active delegations that the subject can exercise (rule A), companies where
 * the subject is EMPLOYER_REP or EMPLOYER_OPERATOR, companies that delegated
 * to those (GROUP_COMPANY), public bodies where the subject is PA_OPERATOR.
 * fn is called once per distinct party, in a stable order.
 */
typedef void (*sp_authz_party_fn)(void *ctx, const char *party, enum sp_authz_via via);
void sp_authz_parties(const struct sp_authz_subject *subj, int64_t now, sp_authz_party_fn fn,
                      void *ctx);

/* The service whose path is the longest prefix of path (segment-aligned:
 * "/app/x" covers "/app/x", "/app/x/", "/app/x/y", "/app/x?q" but not
 * "/app/xy"), or NULL. */
const struct sp_service *sp_authz_find_service(const struct sp_config *cfg, const char *path);

#endif /* SP_AUTHZ_H */
