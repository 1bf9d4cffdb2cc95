/*
 * test_roles: the store half of roles.h (sp/roles_store.c). Organisations
 * (11-digit code and VAT validated, duplicates refused); role grants with the
 * organisation type each role is held in, sub-profiles with a scheme, the
 * refusals of the header comment, duplicates and revocation; delegations with
 * the party kinds of each type (domain.md §5.6) and the limits of §5.3 (one
 * CITIZEN_IDENTITY per delegator, at most max_per_delegate per delegate,
 * online lock, DOMESTIC_EMPLOYER supersede, evidence retention); revocation
 * rules; the lists; the cached facts of sp_roles_facts; role suggestions.
 * Every change writes exactly one audit entry, every refusal none and says
 * why. The store takes now as an argument: T0 and offsets from it.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/cf.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/roles.h"
#include "sp_test_db.h"

#define T0 INT64_C(1700000000)
#define DAY INT64_C(86400)
#define YEAR (365 * DAY)
#define OP "operator:mario"

/* Persons (domain.md §2.5 vectors) */
#define MARIO "RSSMRA80A01H501U"
#define MARIO_LC "rssmra80a01h501u"
#define GIULIA "BNCGLI92C65F205C"
#define GFR "SPSGFR75S30F839F"
#define DARIO "FOXDRA26C24L219Y"
#define ANNA "LLANNA01T45A944M"
#define ANNA_LC "llanna01t45a944m"
#define JOHN "SMTJHN90H09Z404X"
#define LUCIA "FRRLCU68M41L219B"
#define MGR "DNGMGR55B68D612Q"
#define LUCA "VRDLCU04R10G273G"
#define UGO "REXGUO70E31Z110Z"
#define BAD_CF "RSSMRA80A01H501X" /* wrong check character */
#define PROV "12345671510"        /* provisional 11-digit person code (office 151) */

/* Organisations: valid 11-digit codes (checked by test_fixture_codes) */
#define ACME "00743110157"   /* company */
#define COMP2 "12345670017"  /* company */
#define ENTE "80078750587"   /* public body */
#define PAT "80016350821"    /* patronato */
#define CAF "22222220026"    /* CAF */
#define STUDIO "01636120634" /* professional firm */
#define ASSOC "07612340583"  /* trade association */
#define UNREG "33333330034"  /* valid, never registered */
#define FREE1 "00159560366"  /* valid, registered by the org tests */
#define FREE2 "44444440042"  /* valid, a VAT number */
#define BAD_CHECK "00743110158"
#define BAD_OFFICE "12345678903" /* checksum passes, office 890 not allowed */

static const struct sp_deleg_limits LIM = SP_DELEG_LIMITS_DEFAULT;

static struct sp_buf g_why;

/* --- helpers ---------------------------------------------------------------- */

static void setp(char dst[SP_PARTY_MAX + 1], const char *s)
{
    size_t n = strlen(s);
    assert_true(n <= SP_PARTY_MAX);
    memcpy(dst, s, n + 1);
}

/* One text value from SQL with an optional text parameter; "<null>" / "<none>". */
static void query_text(struct sp_db *db, const char *sql, const char *arg, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (arg != NULL)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "<null>");
    } else {
        snprintf(out, n, "<none>");
    }
    sqlite3_finalize(st);
}

static int64_t audit_n(struct sp_db *db)
{
    return query_int(db, "SELECT count(*) FROM audit");
}

/* Column col of the audit entry back places before the newest (0 = newest). */
static const char *audit_at(struct sp_db *db, const char *col, int back)
{
    static char out[4][512];
    static unsigned k;
    char sql[160];
    char *o = out[k++ % 4];

    snprintf(sql, sizeof(sql), "SELECT %s FROM audit ORDER BY seq DESC LIMIT 1 OFFSET %d", col,
             back);
    query_text(db, sql, NULL, o, sizeof(out[0]));
    return o;
}

/* expr is refused with rc: why says something, and no audit entry is written. */
#define REFUSED(f, rc, expr)                                                                       \
    do {                                                                                           \
        int64_t n_before_ = audit_n((f)->db);                                                      \
        sp_buf_reset(&g_why);                                                                      \
        assert_int_equal((expr), (rc));                                                            \
        assert_true(sp_buf_str(&g_why)[0] != '\0');                                                \
        assert_int_equal(audit_n((f)->db), n_before_);                                             \
    } while (0)

static const struct {
    const char *code;
    enum sp_org_type type;
    const char *name;
} fixture_orgs[] = {
    {ACME, SP_ORGT_COMPANY, "Acme S.p.A."},
    {COMP2, SP_ORGT_COMPANY, "Seconda S.r.l."},
    {ENTE, SP_ORGT_PUBLIC_BODY, "Comune di Prova"},
    {PAT, SP_ORGT_PATRONATO, "Patronato Prova"},
    {CAF, SP_ORGT_CAF, "CAF Prova"},
    {STUDIO, SP_ORGT_PROFESSIONAL_FIRM, "Studio Bianchi"},
    {ASSOC, SP_ORGT_TRADE_ASSOCIATION, "Associazione Artigiani"},
};

static int setup(void **state)
{
    sp_roles_cache_clear(); /* the cache is per process, the db per test */
    sp_buf_init(&g_why, 4096);
    return fx_setup(state);
}

static int setup_orgs(void **state)
{
    struct fx *f;

    if (setup(state) != 0)
        return -1;
    f = *state;
    for (size_t i = 0; i < sizeof(fixture_orgs) / sizeof(fixture_orgs[0]); i++) {
        struct sp_org o;
        memset(&o, 0, sizeof(o));
        setp(o.fiscal_code, fixture_orgs[i].code);
        o.type = fixture_orgs[i].type;
        o.name = (char *)fixture_orgs[i].name;
        if (sp_roles_org_add(f->db, &o, OP, T0 - DAY, NULL) != SP_OK)
            return -1;
    }
    sp_roles_cache_clear();
    return 0;
}

static int teardown(void **state)
{
    sp_buf_cleanup(&g_why);
    sp_roles_cache_clear();
    return fx_teardown(state);
}

static struct sp_org org_of(const char *code, enum sp_org_type t, const char *name, const char *vat)
{
    struct sp_org o;
    memset(&o, 0, sizeof(o));
    setp(o.fiscal_code, code);
    o.type = t;
    o.name = (char *)name;
    o.vat_number = (char *)vat;
    return o;
}

static struct sp_role role_of(const char *cf, enum sp_role_kind k, const char *org,
                              const char *scopes)
{
    struct sp_role r;
    memset(&r, 0, sizeof(r));
    setp(r.user_cf, cf);
    r.kind = k;
    setp(r.org, org ? org : "");
    r.scheme = SP_SCHEME_NONE;
    r.scopes = (char *)scopes;
    r.reason = "documents checked";
    r.evidence = "Registro Imprese 2023/1";
    r.granted_by = OP;
    return r;
}

/* Grant that must succeed with exactly one role.grant audit entry. */
static int64_t grant_ok(struct fx *f, struct sp_role *r, int64_t now)
{
    int64_t before = audit_n(f->db);
    enum sp_err rc;

    sp_buf_reset(&g_why);
    rc = sp_roles_grant(f->db, r, now, &g_why);
    if (rc != SP_OK)
        print_error("grant refused: %s\n", sp_buf_str(&g_why));
    assert_int_equal(rc, SP_OK);
    assert_true(r->id > 0);
    assert_int_equal(audit_n(f->db), before + 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_ROLE_GRANT);
    return r->id;
}

static void revoke_ok(struct fx *f, int64_t id, int64_t now)
{
    int64_t before = audit_n(f->db);
    assert_int_equal(sp_roles_revoke(f->db, id, OP, "no longer entitled", now, NULL), SP_OK);
    assert_int_equal(audit_n(f->db), before + 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_ROLE_REVOKE);
}

static struct sp_delegation deleg_of(enum sp_delegation_type t, const char *from, const char *to,
                                     const char *scopes)
{
    struct sp_delegation d;
    memset(&d, 0, sizeof(d));
    d.type = t;
    setp(d.delegator, from);
    setp(d.delegate, to);
    d.scopes = (char *)scopes;
    d.channel = "office";
    d.evidence = "AA08 prot. 2023/123";
    d.created_by = OP;
    return d;
}

/* Add that must succeed with exactly one delegation.add audit entry. */
static int64_t deleg_ok(struct fx *f, struct sp_delegation *d, const struct sp_deleg_limits *lim,
                        int64_t now)
{
    int64_t before = audit_n(f->db);
    enum sp_err rc;

    sp_buf_reset(&g_why);
    rc = sp_roles_delegation_add(f->db, d, lim, now, &g_why);
    if (rc != SP_OK)
        print_error("delegation refused: %s\n", sp_buf_str(&g_why));
    assert_int_equal(rc, SP_OK);
    assert_true(d->id > 0);
    assert_int_equal(audit_n(f->db), before + 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_DELEGATION_ADD);
    return d->id;
}

static int64_t add(struct fx *f, enum sp_delegation_type t, const char *from, const char *to,
                   const char *scopes, int64_t now)
{
    struct sp_delegation d = deleg_of(t, from, to, scopes);
    return deleg_ok(f, &d, &LIM, now);
}

static void deleg_revoke_ok(struct fx *f, int64_t id, const char *by, const char *channel,
                            int64_t now)
{
    int64_t before = audit_n(f->db);
    enum sp_err rc;

    sp_buf_reset(&g_why);
    rc =
        sp_roles_delegation_revoke(f->db, id, by, channel, "revoked on request", &LIM, now, &g_why);
    if (rc != SP_OK)
        print_error("revocation refused: %s\n", sp_buf_str(&g_why));
    assert_int_equal(rc, SP_OK);
    assert_int_equal(audit_n(f->db), before + 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_DELEGATION_REVOKE);
    assert_string_equal(audit_at(f->db, "actor", 0), by);
}

/* The delegation id as listed (revoked ones included); l is the caller's to free. */
static const struct sp_delegation *find_deleg(struct fx *f, int64_t id,
                                              struct sp_delegation_list *l)
{
    assert_int_equal(sp_roles_delegations_list(f->db, NULL, true, l), SP_OK);
    for (unsigned i = 0; i < l->n; i++)
        if (l->v[i].id == id)
            return &l->v[i];
    fail_msg("delegation #%lld not listed", (long long)id);
    return NULL;
}

static int64_t deleg_revoked_at(struct fx *f, int64_t id)
{
    struct sp_delegation_list l;
    int64_t at = find_deleg(f, id, &l)->revoked_at;
    sp_delegation_list_free(&l);
    return at;
}

static void expect_roles(struct fx *f, const char *cf, const char *org, bool all,
                         const int64_t *ids, unsigned n)
{
    struct sp_role_list l;
    assert_int_equal(sp_roles_list(f->db, cf, org, all, &l), SP_OK);
    assert_int_equal(l.n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(l.v[i].id, ids[i]);
    sp_role_list_free(&l);
}

static void expect_delegs(struct fx *f, const char *party, bool all, const int64_t *ids, unsigned n)
{
    struct sp_delegation_list l;
    assert_int_equal(sp_roles_delegations_list(f->db, party, all, &l), SP_OK);
    assert_int_equal(l.n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(l.v[i].id, ids[i]);
    sp_delegation_list_free(&l);
}

/* --- organisations ---------------------------------------------------------- */

static void test_fixture_codes(void **state)
{
    static const char *const good[] = {ACME,  COMP2, ENTE,  PAT,   CAF,          STUDIO,
                                       ASSOC, UNREG, FREE1, FREE2, "97735020584"};
    static const char *const bad[] = {BAD_CHECK, BAD_OFFICE, "0074311015", "0074311015A",
                                      "00000000000"};
    char out[SP_CF_SHORT_LEN + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(sp_cf_piva_validate(good[i], out, NULL), SP_OK);
        assert_string_equal(out, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sp_cf_piva_validate(bad[i], NULL, NULL), SP_ERR_INVALID);
}

static void test_org_add_get(void **state)
{
    struct fx *f = *state;
    struct sp_org o = org_of(" " FREE1 " ", SP_ORGT_CAF, "CAF Lavoro", FREE2);
    struct sp_org g;
    char t[128];

    assert_int_equal(sp_roles_org_add(f->db, &o, OP, T0, &g_why), SP_OK);
    assert_int_equal(audit_n(f->db), 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_ORG_ADD);
    assert_string_equal(audit_at(f->db, "actor", 0), OP);
    assert_string_equal(audit_at(f->db, "outcome", 0), "ok");
    assert_int_equal(query_int(f->db, "SELECT at_ms FROM audit ORDER BY seq DESC LIMIT 1"),
                     T0 * 1000);
    /* the code is stored trimmed */
    assert_int_equal(sp_roles_org_get(f->db, FREE1, &g), SP_OK);
    assert_string_equal(g.fiscal_code, FREE1);
    assert_int_equal(g.type, SP_ORGT_CAF);
    assert_string_equal(g.name, "CAF Lavoro");
    assert_non_null(g.vat_number);
    assert_string_equal(g.vat_number, FREE2);
    sp_org_cleanup(&g);
    query_text(f->db, "SELECT kind FROM organisations WHERE fiscal_code = ?1", FREE1, t, sizeof(t));
    assert_string_equal(t, "caf");
    assert_int_equal(query_int(f->db, "SELECT created_at FROM organisations"), T0);

    /* no VAT number: NULL */
    o = org_of(ACME, SP_ORGT_COMPANY, "Acme S.p.A.", NULL);
    assert_int_equal(sp_roles_org_add(f->db, &o, "operator:luigi", T0 + 1, &g_why), SP_OK);
    assert_int_equal(audit_n(f->db), 2);
    assert_string_equal(audit_at(f->db, "actor", 0), "operator:luigi");
    assert_int_equal(sp_roles_org_get(f->db, ACME, &g), SP_OK);
    assert_int_equal(g.type, SP_ORGT_COMPANY);
    assert_string_equal(g.name, "Acme S.p.A.");
    assert_null(g.vat_number);
    sp_org_cleanup(&g);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM organisations"), 2);
}

static void test_org_add_refused(void **state)
{
    struct fx *f = *state;
    static const char *const codes[] = {BAD_CHECK,     BAD_OFFICE, "0074311015",
                                        "0074311015A", "",         MARIO};
    struct sp_org o;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        o = org_of(codes[i], SP_ORGT_COMPANY, "Acme", NULL);
        REFUSED(f, SP_ERR_INVALID, sp_roles_org_add(f->db, &o, OP, T0, &g_why));
    }
    o = org_of(ACME, SP_ORGT_COMPANY, "Acme", BAD_CHECK);
    REFUSED(f, SP_ERR_INVALID, sp_roles_org_add(f->db, &o, OP, T0, &g_why));
    o = org_of(ACME, SP_ORGT_COMPANY, "Acme", BAD_OFFICE);
    REFUSED(f, SP_ERR_INVALID, sp_roles_org_add(f->db, &o, OP, T0, &g_why));
    o = org_of(ACME, SP_ORGT_COMPANY, NULL, NULL);
    REFUSED(f, SP_ERR_INVALID, sp_roles_org_add(f->db, &o, OP, T0, &g_why));
    o = org_of(ACME, SP_ORGT_COMPANY, "", NULL);
    REFUSED(f, SP_ERR_INVALID, sp_roles_org_add(f->db, &o, OP, T0, &g_why));
    o = org_of(ACME, SP_ORGT__COUNT, "Acme", NULL);
    REFUSED(f, SP_ERR_INVALID, sp_roles_org_add(f->db, &o, OP, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM organisations"), 0);
    assert_int_equal(audit_n(f->db), 0);
}

static void test_org_duplicate(void **state)
{
    struct fx *f = *state;
    struct sp_org o = org_of(ACME, SP_ORGT_COMPANY, "Acme S.p.A.", NULL);
    struct sp_org g;

    assert_int_equal(sp_roles_org_add(f->db, &o, OP, T0, &g_why), SP_OK);
    o = org_of(ACME, SP_ORGT_CAF, "Another name", FREE2);
    REFUSED(f, SP_ERR_EXISTS, sp_roles_org_add(f->db, &o, OP, T0 + 1, &g_why));
    o = org_of(" " ACME, SP_ORGT_COMPANY, "Acme again", NULL);
    REFUSED(f, SP_ERR_EXISTS, sp_roles_org_add(f->db, &o, OP, T0 + 2, &g_why));
    /* the first one is kept as it was */
    assert_int_equal(sp_roles_org_get(f->db, ACME, &g), SP_OK);
    assert_int_equal(g.type, SP_ORGT_COMPANY);
    assert_string_equal(g.name, "Acme S.p.A.");
    assert_null(g.vat_number);
    sp_org_cleanup(&g);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM organisations"), 1);
    assert_int_equal(audit_n(f->db), 1);
}

static void test_org_get_unknown(void **state)
{
    struct fx *f = *state;
    struct sp_org o = org_of(ACME, SP_ORGT_COMPANY, "Acme", NULL);
    struct sp_org g;

    assert_int_equal(sp_roles_org_get(f->db, ACME, &g), SP_ERR_NOT_FOUND);
    assert_null(g.name);
    assert_null(g.vat_number);
    sp_org_cleanup(&g);
    assert_int_equal(sp_roles_org_add(f->db, &o, OP, T0, NULL), SP_OK);
    assert_int_equal(sp_roles_org_get(f->db, UNREG, &g), SP_ERR_NOT_FOUND);
    assert_null(g.name);
    sp_org_cleanup(&g);
    assert_int_equal(sp_roles_org_get(f->db, "", &g), SP_ERR_NOT_FOUND);
    sp_org_cleanup(&g);
}

struct orgs_seen {
    unsigned n;
    char code[8][SP_PARTY_MAX + 1];
    enum sp_org_type type[8];
    char name[8][64];
    char vat[8][16];
};

static void collect_org(void *ctx, const struct sp_org *o)
{
    struct orgs_seen *s = ctx;
    assert_true(s->n < 8);
    setp(s->code[s->n], o->fiscal_code);
    s->type[s->n] = o->type;
    snprintf(s->name[s->n], sizeof(s->name[0]), "%s", o->name);
    snprintf(s->vat[s->n], sizeof(s->vat[0]), "%s", o->vat_number ? o->vat_number : "-");
    s->n++;
}

static void test_orgs_list(void **state)
{
    struct fx *f = *state;
    struct orgs_seen s;
    struct sp_org o;

    memset(&s, 0, sizeof(s));
    assert_int_equal(sp_roles_orgs(f->db, collect_org, &s), SP_OK);
    assert_int_equal(s.n, 0);
    o = org_of(STUDIO, SP_ORGT_PROFESSIONAL_FIRM, "Studio", NULL);
    assert_int_equal(sp_roles_org_add(f->db, &o, OP, T0, NULL), SP_OK);
    o = org_of(PAT, SP_ORGT_PATRONATO, "Patronato", NULL);
    assert_int_equal(sp_roles_org_add(f->db, &o, OP, T0, NULL), SP_OK);
    o = org_of(ACME, SP_ORGT_COMPANY, "Acme", FREE2);
    assert_int_equal(sp_roles_org_add(f->db, &o, OP, T0, NULL), SP_OK);
    assert_int_equal(audit_n(f->db), 3);

    assert_int_equal(sp_roles_orgs(f->db, collect_org, &s), SP_OK);
    assert_int_equal(s.n, 3);
    /* by fiscal code */
    assert_string_equal(s.code[0], ACME);
    assert_int_equal(s.type[0], SP_ORGT_COMPANY);
    assert_string_equal(s.name[0], "Acme");
    assert_string_equal(s.vat[0], FREE2);
    assert_string_equal(s.code[1], STUDIO);
    assert_int_equal(s.type[1], SP_ORGT_PROFESSIONAL_FIRM);
    assert_string_equal(s.vat[1], "-");
    assert_string_equal(s.code[2], PAT);
    assert_int_equal(s.type[2], SP_ORGT_PATRONATO);
    assert_string_equal(s.name[2], "Patronato");
}

/* --- roles -------------------------------------------------------------------- */

static void test_grant_org_types(void **state)
{
    struct fx *f = *state;
    static const struct {
        enum sp_role_kind kind;
        const char *org;
        bool optional;
    } rules[] = {
        {SP_ROLE_PATRONATO_OPERATOR, PAT, false},     {SP_ROLE_CAF_OPERATOR, CAF, false},
        {SP_ROLE_LABOUR_CONSULTANT, STUDIO, true},    {SP_ROLE_ACCOUNTANT, STUDIO, true},
        {SP_ROLE_ASSOCIATION_OPERATOR, ASSOC, false}, {SP_ROLE_EMPLOYER_REP, ACME, false},
        {SP_ROLE_EMPLOYER_OPERATOR, ACME, false},     {SP_ROLE_PA_OPERATOR, ENTE, false},
    };
    /* one organisation of each type */
    static const char *const orgs[] = {ACME, ENTE, PAT, CAF, STUDIO, ASSOC};
    struct sp_role r;

    /* every role but the two sub-profiles is in the table */
    assert_int_equal(sizeof(rules) / sizeof(rules[0]), SP_ROLE__COUNT - 2);
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        for (size_t j = 0; j < sizeof(orgs) / sizeof(orgs[0]); j++) {
            if (strcmp(orgs[j], rules[i].org) == 0)
                continue;
            r = role_of(MARIO, rules[i].kind, orgs[j], "uniemens");
            REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
        }
        if (!rules[i].optional) {
            r = role_of(MARIO, rules[i].kind, NULL, "uniemens");
            REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
        }
        assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), (int64_t)i);
        r = role_of(MARIO, rules[i].kind, rules[i].org, "uniemens");
        grant_ok(f, &r, T0);
    }
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), 8);
}

static void test_grant_optional_org(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(MARIO, SP_ROLE_LABOUR_CONSULTANT, NULL, "uniemens");
    struct sp_role_list l;

    grant_ok(f, &r, T0);
    r = role_of(MARIO, SP_ROLE_ACCOUNTANT, NULL, "uniemens");
    grant_ok(f, &r, T0);
    r = role_of(GIULIA, SP_ROLE_ACCOUNTANT, STUDIO, "uniemens");
    grant_ok(f, &r, T0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles WHERE org_cf IS NULL"), 2);
    assert_int_equal(sp_roles_list(f->db, MARIO, NULL, false, &l), SP_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].org, "");
    assert_int_equal(l.v[0].kind, SP_ROLE_LABOUR_CONSULTANT);
    assert_string_equal(l.v[1].org, "");
    assert_int_equal(l.v[1].kind, SP_ROLE_ACCOUNTANT);
    sp_role_list_free(&l);
}

static void test_grant_unknown_org(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(MARIO, SP_ROLE_PATRONATO_OPERATOR, UNREG, "*");

    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of(MARIO, SP_ROLE_LABOUR_CONSULTANT, UNREG, "*");
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, UNREG, "*");
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_grant(f->db, &r, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), 0);
}

static void test_grant_profiles(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(MARIO, SP_ROLE_PENSIONER, NULL, "*");
    struct sp_role_list l;
    char t[64];

    r.scheme = SP_SCHEME_PRIVATE;
    grant_ok(f, &r, T0);
    query_text(f->db, "SELECT scheme FROM roles WHERE user_cf = ?1", MARIO, t, sizeof(t));
    assert_string_equal(t, "private");
    /* the other scheme is another assignment */
    r = role_of(MARIO, SP_ROLE_PENSIONER, NULL, "*");
    r.scheme = SP_SCHEME_PUBLIC;
    grant_ok(f, &r, T0);
    r = role_of(GIULIA, SP_ROLE_WORKER, NULL, "*");
    r.scheme = SP_SCHEME_PUBLIC;
    grant_ok(f, &r, T0);

    /* a sub-profile needs a scheme and has no organisation */
    r = role_of(GIULIA, SP_ROLE_PENSIONER, NULL, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of(LUCA, SP_ROLE_WORKER, ACME, "*");
    r.scheme = SP_SCHEME_PRIVATE;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    /* a scheme only on a sub-profile */
    r = role_of(LUCA, SP_ROLE_EMPLOYER_REP, ACME, "*");
    r.scheme = SP_SCHEME_PRIVATE;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of(LUCA, SP_ROLE_LABOUR_CONSULTANT, NULL, "*");
    r.scheme = SP_SCHEME_PUBLIC;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    assert_int_equal(sp_roles_list(f->db, MARIO, NULL, false, &l), SP_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].kind, SP_ROLE_PENSIONER);
    assert_int_equal(l.v[0].scheme, SP_SCHEME_PRIVATE);
    assert_string_equal(l.v[0].org, "");
    assert_int_equal(l.v[1].scheme, SP_SCHEME_PUBLIC);
    sp_role_list_free(&l);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), 3);
}

static void test_grant_employer_operator_scopes(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(GIULIA, SP_ROLE_EMPLOYER_OPERATOR, ACME, "*");

    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of(GIULIA, SP_ROLE_EMPLOYER_OPERATOR, ACME, "uniemens durc");
    grant_ok(f, &r, T0);
    /* the representative holds everything */
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    grant_ok(f, &r, T0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), 2);
}

static void test_grant_refusals(void **state)
{
    struct fx *f = *state;
    struct sp_role r;

    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    r.reason = "";
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r.reason = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "");
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r.scopes = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    r.valid_from = T0;
    r.valid_to = T0;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r.valid_to = T0 - 1;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    /* with the default start (now) */
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    r.valid_to = T0 - DAY;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    r = role_of(BAD_CF, SP_ROLE_EMPLOYER_REP, ACME, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of("", SP_ROLE_EMPLOYER_REP, ACME, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r = role_of(ACME, SP_ROLE_EMPLOYER_REP, ACME, "*"); /* an organisation is not a person */
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    r.granted_by = "";
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));
    r.granted_by = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    r = role_of(MARIO, SP_ROLE__COUNT, ACME, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_grant(f->db, &r, T0, &g_why));

    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), 0);
    /* and the same role with everything right is granted */
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    grant_ok(f, &r, T0);
}

static void test_grant_fields(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(MARIO_LC, SP_ROLE_EMPLOYER_REP, ACME, "uniemens durc");
    struct sp_role r2 = role_of(GIULIA, SP_ROLE_PATRONATO_OPERATOR, PAT, "*");
    struct sp_role_list l;
    int64_t id1, id2;

    r.valid_to = T0 + YEAR;
    id1 = grant_ok(f, &r, T0);
    assert_int_equal(r.granted_at, T0);
    assert_string_equal(audit_at(f->db, "actor", 0), OP);
    assert_string_equal(audit_at(f->db, "reason", 0), "documents checked");
    assert_string_equal(audit_at(f->db, "outcome", 0), "ok");
    assert_int_equal(query_int(f->db, "SELECT at_ms FROM audit ORDER BY seq DESC LIMIT 1"),
                     T0 * 1000);

    r2.valid_from = T0 + DAY; /* starts tomorrow */
    r2.granted_by = "operator:luigi";
    id2 = grant_ok(f, &r2, T0 + 10);
    assert_true(id2 > id1);
    assert_string_equal(audit_at(f->db, "actor", 0), "operator:luigi");

    assert_int_equal(sp_roles_list(f->db, NULL, NULL, false, &l), SP_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].id, id1);
    assert_string_equal(l.v[0].user_cf, MARIO); /* stored upper-case */
    assert_int_equal(l.v[0].kind, SP_ROLE_EMPLOYER_REP);
    assert_string_equal(l.v[0].org, ACME);
    assert_int_equal(l.v[0].scheme, SP_SCHEME_NONE);
    assert_string_equal(l.v[0].scopes, "uniemens durc");
    assert_int_equal(l.v[0].valid_from, T0); /* defaulted to now */
    assert_int_equal(l.v[0].valid_to, T0 + YEAR);
    assert_int_equal(l.v[0].revoked_at, 0);
    assert_string_equal(l.v[0].reason, "documents checked");
    assert_string_equal(l.v[0].evidence, "Registro Imprese 2023/1");
    assert_string_equal(l.v[0].granted_by, OP);
    assert_int_equal(l.v[0].granted_at, T0);
    assert_int_equal(l.v[1].id, id2);
    assert_string_equal(l.v[1].user_cf, GIULIA);
    assert_int_equal(l.v[1].valid_from, T0 + DAY);
    assert_int_equal(l.v[1].valid_to, 0);
    assert_int_equal(l.v[1].granted_at, T0 + 10);
    assert_string_equal(l.v[1].granted_by, "operator:luigi");
    sp_role_list_free(&l);
}

static void test_grant_duplicate(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(MARIO, SP_ROLE_CAF_OPERATOR, CAF, "isee");
    int64_t id1, id2;

    id1 = grant_ok(f, &r, T0);
    /* the same assignment again, even with other scopes or dates */
    r = role_of(MARIO, SP_ROLE_CAF_OPERATOR, CAF, "isee red");
    r.valid_to = T0 + YEAR;
    REFUSED(f, SP_ERR_EXISTS, sp_roles_grant(f->db, &r, T0 + 10, &g_why));
    r = role_of(MARIO_LC, SP_ROLE_CAF_OPERATOR, CAF, "isee");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_grant(f->db, &r, T0 + 10, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles"), 1);
    /* another role, another person: fine */
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    grant_ok(f, &r, T0 + 10);
    r = role_of(GIULIA, SP_ROLE_CAF_OPERATOR, CAF, "isee");
    grant_ok(f, &r, T0 + 10);

    /* after the revocation it can be granted again */
    revoke_ok(f, id1, T0 + 20);
    r = role_of(MARIO, SP_ROLE_CAF_OPERATOR, CAF, "isee");
    id2 = grant_ok(f, &r, T0 + 30);
    assert_true(id2 != id1);
    REFUSED(f, SP_ERR_EXISTS, sp_roles_grant(f->db, &r, T0 + 40, &g_why));

    /* an expired assignment is no duplicate either */
    r = role_of(LUCA, SP_ROLE_LABOUR_CONSULTANT, NULL, "*");
    r.valid_from = T0 - 100 * DAY;
    r.valid_to = T0 - 10 * DAY;
    grant_ok(f, &r, T0 - 100 * DAY);
    r = role_of(LUCA, SP_ROLE_LABOUR_CONSULTANT, NULL, "*");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_grant(f->db, &r, T0 - 20 * DAY, &g_why));
    grant_ok(f, &r, T0);
}

static void test_revoke_role(void **state)
{
    struct fx *f = *state;
    struct sp_role r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    struct sp_role_list l;
    char t[128];
    int64_t id, before;

    id = grant_ok(f, &r, T0);
    REFUSED(f, SP_ERR_INVALID, sp_roles_revoke(f->db, id, OP, "", T0 + DAY, &g_why));
    REFUSED(f, SP_ERR_INVALID, sp_roles_revoke(f->db, id, OP, NULL, T0 + DAY, &g_why));
    REFUSED(f, SP_ERR_INVALID, sp_roles_revoke(f->db, id, "", "left", T0 + DAY, &g_why));
    REFUSED(f, SP_ERR_INVALID, sp_roles_revoke(f->db, id, NULL, "left", T0 + DAY, &g_why));
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_revoke(f->db, id + 100, OP, "left", T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM roles WHERE revoked_at IS NULL"), 1);

    before = audit_n(f->db);
    assert_int_equal(
        sp_roles_revoke(f->db, id, "operator:luigi", "left the company", T0 + DAY, &g_why), SP_OK);
    assert_int_equal(audit_n(f->db), before + 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_ROLE_REVOKE);
    assert_string_equal(audit_at(f->db, "actor", 0), "operator:luigi");
    assert_string_equal(audit_at(f->db, "reason", 0), "left the company");
    assert_int_equal(query_int(f->db, "SELECT revoked_at FROM roles"), T0 + DAY);
    query_text(f->db, "SELECT revoked_by FROM roles", NULL, t, sizeof(t));
    assert_string_equal(t, "operator:luigi");
    query_text(f->db, "SELECT revoke_reason FROM roles", NULL, t, sizeof(t));
    assert_string_equal(t, "left the company");

    /* only once */
    REFUSED(f, SP_ERR_INVALID, sp_roles_revoke(f->db, id, OP, "again", T0 + 2 * DAY, &g_why));
    assert_int_equal(query_int(f->db, "SELECT revoked_at FROM roles"), T0 + DAY);
    query_text(f->db, "SELECT revoked_by FROM roles", NULL, t, sizeof(t));
    assert_string_equal(t, "operator:luigi");

    assert_int_equal(sp_roles_list(f->db, MARIO, NULL, false, &l), SP_OK);
    assert_int_equal(l.n, 0);
    sp_role_list_free(&l);
    assert_int_equal(sp_roles_list(f->db, MARIO, NULL, true, &l), SP_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].revoked_at, T0 + DAY);
    sp_role_list_free(&l);
}

static void test_roles_list_filters(void **state)
{
    struct fx *f = *state;
    struct sp_role r;
    int64_t a, b, c, d;

    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    a = grant_ok(f, &r, T0);
    r = role_of(MARIO, SP_ROLE_PATRONATO_OPERATOR, PAT, "*");
    b = grant_ok(f, &r, T0);
    r = role_of(GIULIA, SP_ROLE_EMPLOYER_OPERATOR, ACME, "durc");
    c = grant_ok(f, &r, T0);
    r = role_of(GIULIA, SP_ROLE_PENSIONER, NULL, "*");
    r.scheme = SP_SCHEME_PRIVATE;
    d = grant_ok(f, &r, T0);
    revoke_ok(f, b, T0 + 1);

    {
        const int64_t v[] = {a};
        expect_roles(f, MARIO, NULL, false, v, 1);
    }
    {
        const int64_t v[] = {a, b};
        expect_roles(f, MARIO, NULL, true, v, 2);
    }
    {
        const int64_t v[] = {a, c};
        expect_roles(f, NULL, ACME, false, v, 2);
        expect_roles(f, NULL, ACME, true, v, 2);
    }
    expect_roles(f, NULL, PAT, false, NULL, 0);
    {
        const int64_t v[] = {b};
        expect_roles(f, NULL, PAT, true, v, 1);
    }
    {
        const int64_t v[] = {c};
        expect_roles(f, GIULIA, ACME, false, v, 1);
    }
    {
        const int64_t v[] = {c, d};
        expect_roles(f, GIULIA, NULL, false, v, 2);
    }
    expect_roles(f, MARIO, CAF, true, NULL, 0);
    expect_roles(f, LUCA, NULL, true, NULL, 0);
    {
        const int64_t v[] = {a, c, d};
        expect_roles(f, NULL, NULL, false, v, 3);
    }
    {
        const int64_t v[] = {a, b, c, d};
        expect_roles(f, NULL, NULL, true, v, 4);
    }
}

/* --- delegations: party kinds ---------------------------------------------------- */

static void test_deleg_citizen_identity_parties(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, MARIO, GIULIA, "*");
    struct sp_delegation_list l;
    const struct sp_delegation *g;
    int64_t id;

    id = deleg_ok(f, &d, &LIM, T0);
    assert_string_equal(audit_at(f->db, "actor", 0), OP);
    assert_int_equal(query_int(f->db, "SELECT at_ms FROM audit ORDER BY seq DESC LIMIT 1"),
                     T0 * 1000);
    g = find_deleg(f, id, &l);
    assert_int_equal(g->type, SP_DELEG_CITIZEN_IDENTITY);
    assert_string_equal(g->delegator, MARIO);
    assert_string_equal(g->delegate, GIULIA);
    assert_string_equal(g->scopes, "*");
    assert_int_equal(g->valid_from, T0); /* defaulted to now */
    assert_int_equal(g->valid_to, 0);
    assert_int_equal(g->locked_until, 0); /* office */
    assert_int_equal(g->revoked_at, 0);
    assert_string_equal(g->channel, "office");
    assert_string_equal(g->evidence, "AA08 prot. 2023/123");
    assert_int_equal(g->evidence_keep_until, 0);
    assert_string_equal(g->created_by, OP);
    assert_null(g->revoked_by);
    assert_null(g->revoke_reason);
    sp_delegation_list_free(&l);

    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, PAT, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, ACME, DARIO, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, BAD_CF, DARIO, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, BAD_CF, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, "", DARIO, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, "", "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    /* delegator == delegate, also written in another case */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, DARIO, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, ANNA, ANNA_LC, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 1);
}

static void test_deleg_legal_representation(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;

    /* both parents: no one-per-delegator rule */
    add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*", T0);
    add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, GIULIA, "*", T0);
    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, STUDIO, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, PAT, ANNA, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 2);
}

static void test_deleg_patronato_mandate(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    static const char *const all_scopes[] = {"*", "pension *", "pension,*", "* pension"};

    add(f, SP_DELEG_PATRONATO_MANDATE, MARIO, PAT, "pension", T0);
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, MARIO, CAF, "pension");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, MARIO, ACME, "pension");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, MARIO, GIULIA, "pension");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, MARIO, UNREG, "pension");
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, MARIO, BAD_CHECK, "pension");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, ACME, PAT, "pension");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    /* a mandate never covers everything */
    for (size_t i = 0; i < sizeof(all_scopes) / sizeof(all_scopes[0]); i++) {
        d = deleg_of(SP_DELEG_PATRONATO_MANDATE, GIULIA, PAT, all_scopes[i]);
        REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    }
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 1);
}

static void test_deleg_caf_mandate(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    static const char *const bad_scopes[] = {"isee red", "isee,red", "*", "  ", "isee *"};

    add(f, SP_DELEG_CAF_MANDATE, MARIO, CAF, "isee", T0);
    for (size_t i = 0; i < sizeof(bad_scopes) / sizeof(bad_scopes[0]); i++) {
        d = deleg_of(SP_DELEG_CAF_MANDATE, GIULIA, CAF, bad_scopes[i]);
        REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    }
    d = deleg_of(SP_DELEG_CAF_MANDATE, GIULIA, PAT, "isee");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CAF_MANDATE, GIULIA, LUCA, "isee");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_CAF_MANDATE, ACME, CAF, "isee");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    /* a second service is a second mandate */
    add(f, SP_DELEG_CAF_MANDATE, MARIO, CAF, "red", T0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 2);
}

static void test_deleg_employer_intermediary(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    static const char *const bad_delegates[] = {PAT, CAF, COMP2, ENTE};
    static const char *const bad_delegators[] = {ENTE, STUDIO, ASSOC, PAT, MARIO};

    add(f, SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, STUDIO, "uniemens", T0);
    add(f, SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, ASSOC, "uniemens", T0);
    add(f, SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, GIULIA, "uniemens", T0);
    add(f, SP_DELEG_EMPLOYER_INTERMEDIARY, COMP2, STUDIO, "uniemens", T0);
    for (size_t i = 0; i < sizeof(bad_delegates) / sizeof(bad_delegates[0]); i++) {
        d = deleg_of(SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, bad_delegates[i], "uniemens");
        REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    }
    for (size_t i = 0; i < sizeof(bad_delegators) / sizeof(bad_delegators[0]); i++) {
        d = deleg_of(SP_DELEG_EMPLOYER_INTERMEDIARY, bad_delegators[i], STUDIO, "uniemens");
        REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    }
    d = deleg_of(SP_DELEG_EMPLOYER_INTERMEDIARY, UNREG, STUDIO, "uniemens");
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 4);
}

static void test_deleg_group_company(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;

    add(f, SP_DELEG_GROUP_COMPANY, COMP2, ACME, "uniemens", T0);
    d = deleg_of(SP_DELEG_GROUP_COMPANY, ACME, STUDIO, "uniemens");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_GROUP_COMPANY, STUDIO, ACME, "uniemens");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_GROUP_COMPANY, ENTE, ACME, "uniemens");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_GROUP_COMPANY, MARIO, ACME, "uniemens");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_GROUP_COMPANY, ACME, MARIO, "uniemens");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_GROUP_COMPANY, ACME, UNREG, "uniemens");
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_GROUP_COMPANY, ACME, ACME, "uniemens");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 1);
}

static void test_deleg_domestic_parties(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;

    /* one delegator each, so nothing is superseded here */
    add(f, SP_DELEG_DOMESTIC_EMPLOYER, LUCIA, GIULIA, "domestic", T0);
    add(f, SP_DELEG_DOMESTIC_EMPLOYER, JOHN, ASSOC, "domestic", T0);
    add(f, SP_DELEG_DOMESTIC_EMPLOYER, DARIO, STUDIO, "domestic", T0);
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, MGR, ACME, "domestic");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, MGR, ENTE, "domestic");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, ACME, STUDIO, "domestic");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, MGR, UNREG, "domestic");
    REFUSED(f, SP_ERR_NOT_FOUND, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 3);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations WHERE revoked_at IS NULL"),
                     3);
}

static void test_deleg_agri(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;

    add(f, SP_DELEG_AGRI_SELF_EMPLOYED, GFR, MARIO, "agri", T0);
    add(f, SP_DELEG_AGRI_SELF_EMPLOYED, GFR, STUDIO, "agri", T0);
    add(f, SP_DELEG_AGRI_SELF_EMPLOYED, GFR, ASSOC, "agri", T0);
    d = deleg_of(SP_DELEG_AGRI_SELF_EMPLOYED, GFR, ACME, "agri");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_AGRI_SELF_EMPLOYED, GFR, ENTE, "agri");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d = deleg_of(SP_DELEG_AGRI_SELF_EMPLOYED, ACME, GFR, "agri");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    /* several at once, none revoked */
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations WHERE revoked_at IS NULL"),
                     3);
}

static void test_deleg_common_refusals(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    static const char *const channels[] = {"phone", "", "OFFICE", "online "};

    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*");
    d.evidence = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d.evidence = "";
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));

    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
        d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*");
        d.channel = (char *)channels[i];
        REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    }
    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*");
    d.channel = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));

    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d.scopes = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));

    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*");
    d.valid_from = T0;
    d.valid_to = T0;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d.valid_to = T0 - 1;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));

    d = deleg_of(SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*");
    d.created_by = "";
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d.created_by = NULL;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));

    d = deleg_of(SP_DELEG__COUNT, ANNA, LUCIA, "*");
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));

    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 0);
    /* all right, then it is recorded */
    add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*", T0);
}

/* --- delegations: limits of §5.3 ------------------------------------------------ */

static void test_citizen_identity_one_per_delegator(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    int64_t id1;

    id1 = add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, MARIO, "*", T0);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, GIULIA, "*");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_delegation_add(f->db, &d, &LIM, T0 + DAY, &g_why));
    /* the same pair again is refused too */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, MARIO, "pension");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_delegation_add(f->db, &d, &LIM, T0 + DAY, &g_why));
    /* another type is not limited by it */
    add(f, SP_DELEG_LEGAL_REPRESENTATION, DARIO, GIULIA, "*", T0 + DAY);
    /* revoked, a new one can be designated */
    deleg_revoke_ok(f, id1, OP, "office", T0 + 2 * DAY);
    add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, GIULIA, "*", T0 + 3 * DAY);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations WHERE type = "
                                      "'citizen_identity' AND revoked_at IS NULL"),
                     1);
}

static void test_citizen_identity_per_delegate_default(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    int64_t first;

    first = add(f, SP_DELEG_CITIZEN_IDENTITY, ANNA, MARIO, "*", T0);
    add(f, SP_DELEG_CITIZEN_IDENTITY, LUCIA, MARIO, "*", T0);
    add(f, SP_DELEG_CITIZEN_IDENTITY, JOHN, MARIO, "*", T0);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, UGO, MARIO, "*");
    REFUSED(f, SP_ERR_DENIED, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    /* given in lower case, still the same delegate */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, UGO, MARIO_LC, "*");
    REFUSED(f, SP_ERR_DENIED, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    /* another delegate is free */
    add(f, SP_DELEG_CITIZEN_IDENTITY, UGO, GIULIA, "*", T0);
    /* no limit on legal representation */
    add(f, SP_DELEG_LEGAL_REPRESENTATION, UGO, MARIO, "*", T0);
    add(f, SP_DELEG_LEGAL_REPRESENTATION, LUCA, MARIO, "*", T0);
    add(f, SP_DELEG_LEGAL_REPRESENTATION, DARIO, MARIO, "*", T0);
    /* one revoked: room for one more */
    deleg_revoke_ok(f, first, OP, "office", T0 + DAY);
    add(f, SP_DELEG_CITIZEN_IDENTITY, LUCA, MARIO, "*", T0 + DAY);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, MARIO, "*");
    REFUSED(f, SP_ERR_DENIED, sp_roles_delegation_add(f->db, &d, &LIM, T0 + DAY, &g_why));
}

static void test_citizen_identity_per_delegate_custom(void **state)
{
    struct fx *f = *state;
    static const struct sp_deleg_limits two = {2, 30, 5};
    struct sp_delegation d;

    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, ANNA, MARIO, "*");
    deleg_ok(f, &d, &two, T0);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, LUCIA, MARIO, "*");
    deleg_ok(f, &d, &two, T0);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, JOHN, MARIO, "*");
    REFUSED(f, SP_ERR_DENIED, sp_roles_delegation_add(f->db, &d, &two, T0, &g_why));
    /* the limit is the caller's parameter: with 3 the third one fits */
    deleg_ok(f, &d, &LIM, T0);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, UGO, MARIO, "*");
    REFUSED(f, SP_ERR_DENIED, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 3);
}

static void test_citizen_identity_expired_not_counted(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;

    /* ANNA -> MARIO ran from T0-100d to T0-10d */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, ANNA, MARIO, "*");
    d.valid_from = T0 - 100 * DAY;
    d.valid_to = T0 - 10 * DAY;
    deleg_ok(f, &d, &LIM, T0 - 100 * DAY);
    add(f, SP_DELEG_CITIZEN_IDENTITY, LUCIA, MARIO, "*", T0 - 50 * DAY);
    add(f, SP_DELEG_CITIZEN_IDENTITY, JOHN, MARIO, "*", T0 - 50 * DAY);
    /* while it was active, MARIO was full and ANNA had hers */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, UGO, MARIO, "*");
    REFUSED(f, SP_ERR_DENIED, sp_roles_delegation_add(f->db, &d, &LIM, T0 - 20 * DAY, &g_why));
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, ANNA, GIULIA, "*");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_delegation_add(f->db, &d, &LIM, T0 - 20 * DAY, &g_why));
    /* expired, it counts for neither */
    add(f, SP_DELEG_CITIZEN_IDENTITY, UGO, MARIO, "*", T0);
    add(f, SP_DELEG_CITIZEN_IDENTITY, ANNA, GIULIA, "*", T0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations"), 5);
}

static void test_online_lock(void **state)
{
    struct fx *f = *state;
    static const struct sp_deleg_limits ten = {3, 10, 5};
    struct sp_delegation d;
    struct sp_delegation_list l;
    const struct sp_delegation *g;
    int64_t id;

    /* open-ended, starting tomorrow */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, MARIO, GIULIA, "*");
    d.channel = "online";
    d.valid_from = T0 + DAY;
    id = deleg_ok(f, &d, &LIM, T0);
    g = find_deleg(f, id, &l);
    assert_int_equal(g->locked_until, T0 + 31 * DAY);
    assert_string_equal(g->channel, "online");
    sp_delegation_list_free(&l);

    /* online, it lasts at least 30 days */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, GIULIA, "*");
    d.channel = "online";
    d.valid_to = T0 + 29 * DAY;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d.valid_to = T0 + 30 * DAY - 1;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    d.valid_to = T0 + 30 * DAY;
    id = deleg_ok(f, &d, &LIM, T0);
    assert_int_equal(find_deleg(f, id, &l)->locked_until, T0 + 30 * DAY);
    sp_delegation_list_free(&l);

    /* at an office: no lock, and a short one is fine */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, ANNA, LUCIA, "*");
    d.valid_to = T0 + DAY;
    id = deleg_ok(f, &d, &LIM, T0);
    assert_int_equal(find_deleg(f, id, &l)->locked_until, 0);
    sp_delegation_list_free(&l);

    /* online_min_days is the caller's parameter */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, JOHN, LUCIA, "*");
    d.channel = "online";
    d.valid_to = T0 + 10 * DAY;
    REFUSED(f, SP_ERR_INVALID, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    id = deleg_ok(f, &d, &ten, T0);
    assert_int_equal(find_deleg(f, id, &l)->locked_until, T0 + 10 * DAY);
    sp_delegation_list_free(&l);
}

static void test_domestic_supersede(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d;
    struct sp_delegation_list l;
    const struct sp_delegation *g;
    char expect[64];
    int64_t d1, d2, d3, other, ci, before;

    ci = add(f, SP_DELEG_CITIZEN_IDENTITY, LUCIA, MARIO, "*", T0);
    d1 = add(f, SP_DELEG_DOMESTIC_EMPLOYER, LUCIA, ASSOC, "domestic", T0);
    other = add(f, SP_DELEG_DOMESTIC_EMPLOYER, JOHN, ASSOC, "domestic", T0);

    before = audit_n(f->db);
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, LUCIA, STUDIO, "domestic");
    d.created_by = "operator:luigi";
    assert_int_equal(sp_roles_delegation_add(f->db, &d, &LIM, T0 + DAY, &g_why), SP_OK);
    d2 = d.id;
    /* two entries: the new delegation and the revocation of the previous */
    assert_int_equal(audit_n(f->db), before + 2);
    snprintf(expect, sizeof(expect), "superseded by delegation #%lld", (long long)d2);
    assert_string_equal(audit_at(f->db, "event", 1), SP_AUDIT_DELEGATION_ADD);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_DELEGATION_REVOKE);
    assert_string_equal(audit_at(f->db, "actor", 0), "operator:luigi");
    assert_string_equal(audit_at(f->db, "reason", 0), expect);

    g = find_deleg(f, d1, &l);
    assert_int_equal(g->revoked_at, T0 + DAY);
    assert_non_null(g->revoke_reason);
    assert_string_equal(g->revoke_reason, expect);
    assert_string_equal(g->revoked_by, "operator:luigi");
    sp_delegation_list_free(&l);
    assert_int_equal(deleg_revoked_at(f, d2), 0);
    assert_int_equal(deleg_revoked_at(f, other), 0); /* another employer's */
    assert_int_equal(deleg_revoked_at(f, ci), 0);    /* another type */

    /* and again: only the active one is superseded */
    before = audit_n(f->db);
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, LUCIA, GIULIA, "domestic");
    assert_int_equal(sp_roles_delegation_add(f->db, &d, &LIM, T0 + 2 * DAY, &g_why), SP_OK);
    d3 = d.id;
    assert_int_equal(audit_n(f->db), before + 2);
    snprintf(expect, sizeof(expect), "superseded by delegation #%lld", (long long)d3);
    g = find_deleg(f, d2, &l);
    assert_int_equal(g->revoked_at, T0 + 2 * DAY);
    assert_string_equal(g->revoke_reason, expect);
    sp_delegation_list_free(&l);
    snprintf(expect, sizeof(expect), "superseded by delegation #%lld", (long long)d2);
    g = find_deleg(f, d1, &l);
    assert_int_equal(g->revoked_at, T0 + DAY);
    assert_string_equal(g->revoke_reason, expect);
    sp_delegation_list_free(&l);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM delegations WHERE type = "
                                      "'domestic_employer' AND delegator = '" LUCIA
                                      "' AND revoked_at IS NULL"),
                     1);
    assert_int_equal(deleg_revoked_at(f, d3), 0);
}

static void test_evidence_keep_until(void **state)
{
    struct fx *f = *state;
    static const struct sp_deleg_limits two_years = {3, 30, 2};
    struct sp_delegation d;
    struct sp_delegation_list l;
    int64_t closed, closed2, open;

    d = deleg_of(SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, STUDIO, "uniemens");
    d.valid_to = T0 + YEAR;
    closed = deleg_ok(f, &d, &LIM, T0);
    assert_int_equal(d.evidence_keep_until, T0 + YEAR + 5 * YEAR);
    assert_int_equal(find_deleg(f, closed, &l)->evidence_keep_until, T0 + 6 * YEAR);
    sp_delegation_list_free(&l);

    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, DARIO, PAT, "pension");
    d.valid_to = T0 + 100 * DAY;
    closed2 = deleg_ok(f, &d, &two_years, T0);
    assert_int_equal(find_deleg(f, closed2, &l)->evidence_keep_until, T0 + 100 * DAY + 2 * YEAR);
    sp_delegation_list_free(&l);

    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, GIULIA, PAT, "pension");
    open = deleg_ok(f, &d, &LIM, T0);
    assert_int_equal(find_deleg(f, open, &l)->evidence_keep_until, 0);
    sp_delegation_list_free(&l);

    /* revoked: an open one is kept from the revocation on */
    deleg_revoke_ok(f, open, OP, "office", T0 + 10 * DAY);
    assert_int_equal(find_deleg(f, open, &l)->evidence_keep_until, T0 + 10 * DAY + 5 * YEAR);
    sp_delegation_list_free(&l);
    /* a closed one keeps its date */
    deleg_revoke_ok(f, closed, OP, "office", T0 + 10 * DAY);
    assert_int_equal(find_deleg(f, closed, &l)->evidence_keep_until, T0 + 6 * YEAR);
    sp_delegation_list_free(&l);
}

/* --- delegations: revocation --------------------------------------------------------- */

static void test_deleg_revoke_online_lock(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, MARIO, GIULIA, "*");
    int64_t id;

    d.channel = "online";
    id = deleg_ok(f, &d, &LIM, T0);
    REFUSED(f, SP_ERR_DENIED,
            sp_roles_delegation_revoke(f->db, id, MARIO, "online", "changed my mind", &LIM,
                                       T0 + DAY, &g_why));
    REFUSED(f, SP_ERR_DENIED,
            sp_roles_delegation_revoke(f->db, id, OP, "online", "changed my mind", &LIM,
                                       T0 + 30 * DAY - 1, &g_why));
    assert_int_equal(deleg_revoked_at(f, id), 0);
    /* at an office it can */
    deleg_revoke_ok(f, id, "operator:anna", "office", T0 + DAY);
    assert_int_equal(deleg_revoked_at(f, id), T0 + DAY);
}

static void test_deleg_revoke_after_lock(void **state)
{
    struct fx *f = *state;
    struct sp_delegation d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, MARIO, GIULIA, "*");
    struct sp_delegation_list l;
    const struct sp_delegation *g;
    int64_t id, id2, before;

    d.channel = "online";
    id = deleg_ok(f, &d, &LIM, T0);
    before = audit_n(f->db);
    assert_int_equal(sp_roles_delegation_revoke(f->db, id, MARIO, "online", "no longer needed",
                                                &LIM, T0 + 30 * DAY, &g_why),
                     SP_OK);
    assert_int_equal(audit_n(f->db), before + 1);
    assert_string_equal(audit_at(f->db, "event", 0), SP_AUDIT_DELEGATION_REVOKE);
    assert_string_equal(audit_at(f->db, "actor", 0), MARIO);
    assert_string_equal(audit_at(f->db, "reason", 0), "no longer needed");
    assert_int_equal(query_int(f->db, "SELECT at_ms FROM audit ORDER BY seq DESC LIMIT 1"),
                     (T0 + 30 * DAY) * 1000);
    g = find_deleg(f, id, &l);
    assert_int_equal(g->revoked_at, T0 + 30 * DAY);
    assert_string_equal(g->revoked_by, MARIO);
    assert_string_equal(g->revoke_reason, "no longer needed");
    assert_int_equal(g->evidence_keep_until, T0 + 30 * DAY + 5 * YEAR);
    sp_delegation_list_free(&l);

    /* registered at an office: online revocation at once */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, GIULIA, "*");
    id2 = deleg_ok(f, &d, &LIM, T0);
    deleg_revoke_ok(f, id2, DARIO, "online", T0 + 1);
}

static void test_deleg_revoke_legal_rep(void **state)
{
    struct fx *f = *state;
    int64_t id, id2, ci;

    id = add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*", T0);
    REFUSED(f, SP_ERR_DENIED,
            sp_roles_delegation_revoke(f->db, id, ANNA, "office", "I am of age", &LIM, T0 + DAY,
                                       &g_why));
    REFUSED(f, SP_ERR_DENIED,
            sp_roles_delegation_revoke(f->db, id, ANNA, "online", "I am of age", &LIM, T0 + DAY,
                                       &g_why));
    assert_int_equal(deleg_revoked_at(f, id), 0);
    deleg_revoke_ok(f, id, "operator:anna", "office", T0 + DAY);
    /* the representative may end it */
    id2 = add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, GIULIA, "*", T0);
    deleg_revoke_ok(f, id2, GIULIA, "office", T0 + DAY);
    /* the rule is only for legal representation */
    ci = add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, LUCIA, "*", T0);
    deleg_revoke_ok(f, ci, DARIO, "office", T0 + DAY);
}

static void test_deleg_revoke_legal_rep_case(void **state)
{
    struct fx *f = *state;
    int64_t id;

    /* the represented person written in lower case is still that person */
    id = add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, LUCIA, "*", T0);
    REFUSED(f, SP_ERR_DENIED,
            sp_roles_delegation_revoke(f->db, id, ANNA_LC, "office", "I am of age", &LIM, T0 + DAY,
                                       &g_why));
    assert_int_equal(deleg_revoked_at(f, id), 0);
}

static void test_deleg_revoke_refusals(void **state)
{
    struct fx *f = *state;
    int64_t id = add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, LUCIA, "*", T0);
    char t[128];

    REFUSED(f, SP_ERR_NOT_FOUND,
            sp_roles_delegation_revoke(f->db, id + 100, OP, "office", "x", &LIM, T0, &g_why));
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, OP, "office", "", &LIM, T0, &g_why));
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, OP, "office", NULL, &LIM, T0, &g_why));
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, "", "office", "x", &LIM, T0, &g_why));
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, NULL, "office", "x", &LIM, T0, &g_why));
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, OP, "phone", "x", &LIM, T0, &g_why));
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, OP, NULL, "x", &LIM, T0, &g_why));
    assert_int_equal(deleg_revoked_at(f, id), 0);

    deleg_revoke_ok(f, id, OP, "office", T0 + DAY);
    REFUSED(f, SP_ERR_INVALID,
            sp_roles_delegation_revoke(f->db, id, "operator:luigi", "office", "again", &LIM,
                                       T0 + 2 * DAY, &g_why));
    assert_int_equal(deleg_revoked_at(f, id), T0 + DAY);
    query_text(f->db, "SELECT revoked_by FROM delegations", NULL, t, sizeof(t));
    assert_string_equal(t, OP);
}

static void test_delegations_list_filters(void **state)
{
    struct fx *f = *state;
    int64_t a, b, c, d;

    a = add(f, SP_DELEG_CITIZEN_IDENTITY, MARIO, GIULIA, "*", T0);
    b = add(f, SP_DELEG_LEGAL_REPRESENTATION, DARIO, MARIO, "*", T0);
    c = add(f, SP_DELEG_PATRONATO_MANDATE, GIULIA, PAT, "pension", T0);
    d = add(f, SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, STUDIO, "uniemens", T0);
    deleg_revoke_ok(f, b, OP, "office", T0 + 1);

    {
        const int64_t v[] = {a};
        expect_delegs(f, MARIO, false, v, 1);
    }
    {
        const int64_t v[] = {a, b};
        expect_delegs(f, MARIO, true, v, 2);
    }
    {
        const int64_t v[] = {a, c};
        expect_delegs(f, GIULIA, false, v, 2);
    }
    {
        const int64_t v[] = {c};
        expect_delegs(f, PAT, false, v, 1);
    }
    {
        const int64_t v[] = {d};
        expect_delegs(f, STUDIO, false, v, 1);
        expect_delegs(f, ACME, false, v, 1);
    }
    expect_delegs(f, DARIO, false, NULL, 0);
    {
        const int64_t v[] = {b};
        expect_delegs(f, DARIO, true, v, 1);
    }
    expect_delegs(f, LUCA, true, NULL, 0);
    {
        const int64_t v[] = {a, c, d};
        expect_delegs(f, NULL, false, v, 3);
    }
    {
        const int64_t v[] = {a, b, c, d};
        expect_delegs(f, NULL, true, v, 4);
    }
}

static void test_provisional_person(void **state)
{
    struct fx *f = *state;
    char out[SP_CF_MAX + 1];
    enum sp_cf_kind kind;
    struct sp_role r = role_of(PROV, SP_ROLE_PENSIONER, NULL, "*");
    struct sp_delegation d;

    /* a person's code (domain.md §2.6, §5.6), not an organisation's */
    assert_int_equal(sp_cf_normalize(PROV, out, &kind, NULL), SP_OK);
    assert_int_equal(kind, SP_CF_KIND_PROVISIONAL);
    assert_int_not_equal(sp_cf_piva_validate(PROV, NULL, NULL), SP_OK);
    r.scheme = SP_SCHEME_PRIVATE;
    grant_ok(f, &r, T0);
    /* so it is a person party of a delegation as well */
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, PROV, MARIO, "*");
    deleg_ok(f, &d, &LIM, T0);
    d = deleg_of(SP_DELEG_PATRONATO_MANDATE, PROV, PAT, "pension");
    deleg_ok(f, &d, &LIM, T0);
}

/* --- facts ----------------------------------------------------------------------- */

static bool facts_has_role(const struct sp_authz_facts *x, int64_t id)
{
    for (unsigned i = 0; i < x->roles.n; i++)
        if (x->roles.v[i].id == id)
            return true;
    return false;
}

static bool facts_has_deleg(const struct sp_authz_facts *x, int64_t id)
{
    for (unsigned i = 0; i < x->delegations.n; i++)
        if (x->delegations.v[i].id == id)
            return true;
    return false;
}

static void test_facts_content(void **state)
{
    struct fx *f = *state;
    struct sp_authz_facts x;
    struct sp_role r;
    struct sp_delegation d;
    int64_t r1, r2, r3, r4, e1, e2, e3, e4, e5, e6, e7, e8;

    r = role_of(MARIO, SP_ROLE_PATRONATO_OPERATOR, PAT, "*");
    r1 = grant_ok(f, &r, T0);
    r = role_of(MARIO, SP_ROLE_PENSIONER, NULL, "*");
    r.scheme = SP_SCHEME_PRIVATE;
    r2 = grant_ok(f, &r, T0);
    r = role_of(MARIO, SP_ROLE_CAF_OPERATOR, CAF, "*");
    r3 = grant_ok(f, &r, T0);
    revoke_ok(f, r3, T0 + 1);
    r = role_of(GIULIA, SP_ROLE_EMPLOYER_REP, ACME, "*");
    r4 = grant_ok(f, &r, T0);

    e1 = add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, MARIO, "*", T0);       /* to MARIO */
    e2 = add(f, SP_DELEG_PATRONATO_MANDATE, GIULIA, PAT, "pension", T0); /* to MARIO's PAT */
    e3 = add(f, SP_DELEG_CAF_MANDATE, LUCA, CAF, "isee", T0);            /* CAF role revoked */
    e4 = add(f, SP_DELEG_LEGAL_REPRESENTATION, ANNA, GIULIA, "*", T0);   /* to GIULIA */
    e5 = add(f, SP_DELEG_PATRONATO_MANDATE, UGO, PAT, "pension", T0);    /* revoked */
    deleg_revoke_ok(f, e5, OP, "office", T0 + 1);
    e6 = add(f, SP_DELEG_CITIZEN_IDENTITY, MARIO, LUCIA, "*", T0); /* from MARIO */
    e7 = add(f, SP_DELEG_EMPLOYER_INTERMEDIARY, ACME, STUDIO, "uniemens", T0);
    /* to MARIO, already ended but not revoked */
    d = deleg_of(SP_DELEG_AGRI_SELF_EMPLOYED, GFR, MARIO, "agri");
    d.valid_from = T0 - 100 * DAY;
    d.valid_to = T0 - 10 * DAY;
    e8 = deleg_ok(f, &d, &LIM, T0 - 100 * DAY);

    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_string_equal(x.cf, MARIO);
    assert_int_equal(x.roles.n, 2);
    assert_true(facts_has_role(&x, r1));
    assert_true(facts_has_role(&x, r2));
    assert_false(facts_has_role(&x, r3));
    assert_int_equal(x.delegations.n, 3);
    assert_true(facts_has_deleg(&x, e1));
    assert_true(facts_has_deleg(&x, e2));
    assert_true(facts_has_deleg(&x, e8));
    assert_false(facts_has_deleg(&x, e3));
    assert_false(facts_has_deleg(&x, e5));
    assert_false(facts_has_deleg(&x, e6));
    sp_authz_facts_cleanup(&x);

    assert_int_equal(sp_roles_facts(f->db, GIULIA, &x), SP_OK);
    assert_string_equal(x.cf, GIULIA);
    assert_int_equal(x.roles.n, 1);
    assert_true(facts_has_role(&x, r4));
    /* ACME delegates, it is not delegated to */
    assert_int_equal(x.delegations.n, 1);
    assert_true(facts_has_deleg(&x, e4));
    assert_false(facts_has_deleg(&x, e7));
    sp_authz_facts_cleanup(&x);

    assert_int_equal(sp_roles_facts(f->db, LUCA, &x), SP_OK);
    assert_int_equal(x.roles.n, 0);
    assert_int_equal(x.delegations.n, 0);
    sp_authz_facts_cleanup(&x);
}

static void test_facts_cache(void **state)
{
    struct fx *f = *state;
    struct sp_authz_facts x;
    struct sp_role r;
    int64_t rid, rid2, did, sid;

    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.roles.n, 0);
    assert_int_equal(x.delegations.n, 0);
    sp_authz_facts_cleanup(&x);

    /* a grant through the module is visible at once */
    r = role_of(MARIO, SP_ROLE_PATRONATO_OPERATOR, PAT, "*");
    rid = grant_ok(f, &r, T0);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.roles.n, 1);
    assert_int_equal(x.roles.v[0].id, rid);
    assert_int_equal(x.delegations.n, 0);
    sp_authz_facts_cleanup(&x);

    /* so is a delegation, to the person or to the organisation */
    did = add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, MARIO, "*", T0);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.delegations.n, 1);
    sp_authz_facts_cleanup(&x);
    add(f, SP_DELEG_PATRONATO_MANDATE, GIULIA, PAT, "pension", T0);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.delegations.n, 2);
    sp_authz_facts_cleanup(&x);

    /* a revocation through the module too */
    deleg_revoke_ok(f, did, OP, "office", T0 + 1);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.delegations.n, 1);
    assert_false(facts_has_deleg(&x, did));
    sp_authz_facts_cleanup(&x);
    revoke_ok(f, rid, T0 + 2);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.roles.n, 0);
    assert_int_equal(x.delegations.n, 0); /* PAT's mandate went with the role */
    sp_authz_facts_cleanup(&x);

    /* a change behind the module's back shows after the cache is dropped */
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    rid2 = grant_ok(f, &r, T0 + 3);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.roles.n, 1);
    sp_authz_facts_cleanup(&x);
    assert_int_equal(
        sqlite3_exec(sp_db_conn(f->db), "UPDATE roles SET revoked_at = 1", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.roles.n, 1); /* still served from the cache */
    assert_int_equal(x.roles.v[0].id, rid2);
    sp_authz_facts_cleanup(&x);
    sp_roles_cache_clear();
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.roles.n, 0);
    sp_authz_facts_cleanup(&x);

    /* a copy: the caller's cleanup leaves the cached value intact */
    sid = add(f, SP_DELEG_CITIZEN_IDENTITY, ANNA, MARIO, "*", T0 + 4);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    sp_authz_facts_cleanup(&x);
    assert_int_equal(sp_roles_facts(f->db, MARIO, &x), SP_OK);
    assert_int_equal(x.delegations.n, 1);
    assert_int_equal(x.delegations.v[0].id, sid);
    assert_string_equal(x.delegations.v[0].scopes, "*");
    sp_authz_facts_cleanup(&x);
}

/* --- suggestions ------------------------------------------------------------------------ */

struct sugg_seen {
    unsigned n;
    char cf[8][SP_PARTY_MAX + 1];
    char org[8][SP_PARTY_MAX + 1];
    char name[8][64];
    char idp[8][64];
    char purpose[8][16];
    int64_t first[8], last[8];
};

static void collect_sugg(void *ctx, const char *cf, const struct sp_role_suggestion *s)
{
    struct sugg_seen *x = ctx;
    assert_true(x->n < 8);
    setp(x->cf[x->n], cf);
    setp(x->org[x->n], s->org);
    snprintf(x->name[x->n], sizeof(x->name[0]), "%s", s->org_name ? s->org_name : "-");
    snprintf(x->idp[x->n], sizeof(x->idp[0]), "%s", s->idp ? s->idp : "-");
    snprintf(x->purpose[x->n], sizeof(x->purpose[0]), "%s", s->purpose ? s->purpose : "-");
    x->first[x->n] = s->first_seen;
    x->last[x->n] = s->last_seen;
    x->n++;
}

static struct sp_role_suggestion sugg_of(const char *org, const char *name, const char *idp)
{
    struct sp_role_suggestion s;
    memset(&s, 0, sizeof(s));
    setp(s.org, org);
    s.org_name = (char *)name;
    s.vat_number = (char *)org;
    s.purpose = "PX";
    s.idp = (char *)idp;
    return s;
}

static void test_suggest_upsert(void **state)
{
    struct fx *f = *state;
    struct sp_role_suggestion s = sugg_of(ACME, "Acme", "https://idp.a.example");
    struct sugg_seen seen;

    assert_int_equal(sp_roles_suggest(f->db, MARIO, &s, T0), SP_OK);
    s = sugg_of(ACME, "Acme S.p.A.", "https://idp.b.example");
    s.purpose = "LP";
    assert_int_equal(sp_roles_suggest(f->db, MARIO, &s, T0 + 100), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM role_suggestions"), 1);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sp_roles_suggestions(f->db, MARIO, collect_sugg, &seen), SP_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.cf[0], MARIO);
    assert_string_equal(seen.org[0], ACME);
    assert_int_equal(seen.first[0], T0);
    assert_int_equal(seen.last[0], T0 + 100);
    assert_string_equal(seen.name[0], "Acme S.p.A.");
    assert_string_equal(seen.idp[0], "https://idp.b.example");
    assert_string_equal(seen.purpose[0], "LP");
}

static void test_suggestions_filter(void **state)
{
    struct fx *f = *state;
    struct sp_role_suggestion s;
    struct sugg_seen seen;

    s = sugg_of(COMP2, "Seconda", "https://idp.a.example");
    assert_int_equal(sp_roles_suggest(f->db, MARIO, &s, T0 + 5), SP_OK);
    s = sugg_of(ACME, "Acme", "https://idp.a.example");
    assert_int_equal(sp_roles_suggest(f->db, MARIO, &s, T0), SP_OK);
    assert_int_equal(sp_roles_suggest(f->db, GIULIA, &s, T0 + 1), SP_OK);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sp_roles_suggestions(f->db, MARIO, collect_sugg, &seen), SP_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.org[0], ACME);
    assert_int_equal(seen.first[0], T0);
    assert_string_equal(seen.org[1], COMP2);
    assert_int_equal(seen.first[1], T0 + 5);
    assert_string_equal(seen.name[1], "Seconda");

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sp_roles_suggestions(f->db, NULL, collect_sugg, &seen), SP_OK);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.cf[0], GIULIA); /* by person, then organisation */
    assert_string_equal(seen.org[0], ACME);
    assert_int_equal(seen.first[0], T0 + 1);
    assert_string_equal(seen.cf[1], MARIO);
    assert_string_equal(seen.org[1], ACME);
    assert_string_equal(seen.cf[2], MARIO);
    assert_string_equal(seen.org[2], COMP2);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sp_roles_suggestions(f->db, LUCA, collect_sugg, &seen), SP_OK);
    assert_int_equal(seen.n, 0);
}

/* --- the audit trail as a whole ------------------------------------------------------- */

static void count_problem(void *ctx, int64_t seq, const char *what)
{
    (void)seq;
    (void)what;
    (*(int *)ctx)++;
}

static void test_audit_per_change(void **state)
{
    struct fx *f = *state;
    struct sp_role r;
    struct sp_delegation d;
    int64_t rid, did, entries = 0;
    int problems = 0;

    /* setup_orgs wrote one org.add per organisation */
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE event = 'org.add'"),
                     (int64_t)(sizeof(fixture_orgs) / sizeof(fixture_orgs[0])));
    assert_int_equal(audit_n(f->db), (int64_t)(sizeof(fixture_orgs) / sizeof(fixture_orgs[0])));

    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    rid = grant_ok(f, &r, T0);
    r = role_of(MARIO, SP_ROLE_EMPLOYER_REP, ACME, "*");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_grant(f->db, &r, T0, &g_why));
    did = add(f, SP_DELEG_CITIZEN_IDENTITY, DARIO, MARIO, "*", T0);
    d = deleg_of(SP_DELEG_CITIZEN_IDENTITY, DARIO, GIULIA, "*");
    REFUSED(f, SP_ERR_EXISTS, sp_roles_delegation_add(f->db, &d, &LIM, T0, &g_why));
    add(f, SP_DELEG_DOMESTIC_EMPLOYER, LUCIA, ASSOC, "domestic", T0);
    d = deleg_of(SP_DELEG_DOMESTIC_EMPLOYER, LUCIA, STUDIO, "domestic");
    assert_int_equal(sp_roles_delegation_add(f->db, &d, &LIM, T0 + 1, &g_why), SP_OK);
    revoke_ok(f, rid, T0 + 2);
    deleg_revoke_ok(f, did, OP, "office", T0 + 2);

    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE event = 'role.grant'"), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE event = 'role.revoke'"), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE event = 'delegation.add'"),
                     3);
    assert_int_equal(
        query_int(f->db, "SELECT count(*) FROM audit WHERE event = 'delegation.revoke'"), 2);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit WHERE outcome <> 'ok'"), 0);
    /* and the chain is intact */
    assert_int_equal(sp_audit_verify(f->db, count_problem, &problems, &entries), SP_OK);
    assert_int_equal(problems, 0);
    assert_int_equal(entries, audit_n(f->db));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TO(fn) cmocka_unit_test_setup_teardown(fn, setup_orgs, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_codes),
        T(test_org_add_get),
        T(test_org_add_refused),
        T(test_org_duplicate),
        T(test_org_get_unknown),
        T(test_orgs_list),
        TO(test_grant_org_types),
        TO(test_grant_optional_org),
        TO(test_grant_unknown_org),
        TO(test_grant_profiles),
        TO(test_grant_employer_operator_scopes),
        TO(test_grant_refusals),
        TO(test_grant_fields),
        TO(test_grant_duplicate),
        TO(test_revoke_role),
        TO(test_roles_list_filters),
        TO(test_deleg_citizen_identity_parties),
        TO(test_deleg_legal_representation),
        TO(test_deleg_patronato_mandate),
        TO(test_deleg_caf_mandate),
        TO(test_deleg_employer_intermediary),
        TO(test_deleg_group_company),
        TO(test_deleg_domestic_parties),
        TO(test_deleg_agri),
        TO(test_deleg_common_refusals),
        TO(test_citizen_identity_one_per_delegator),
        TO(test_citizen_identity_per_delegate_default),
        TO(test_citizen_identity_per_delegate_custom),
        TO(test_citizen_identity_expired_not_counted),
        TO(test_online_lock),
        TO(test_domestic_supersede),
        TO(test_evidence_keep_until),
        TO(test_deleg_revoke_online_lock),
        TO(test_deleg_revoke_after_lock),
        TO(test_deleg_revoke_legal_rep),
        TO(test_deleg_revoke_legal_rep_case),
        TO(test_deleg_revoke_refusals),
        TO(test_delegations_list_filters),
        TO(test_provisional_person),
        TO(test_facts_content),
        TO(test_facts_cache),
        T(test_suggest_upsert),
        T(test_suggestions_filter),
        TO(test_audit_per_change),
    };
#undef T
#undef TO
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("roles", tests, NULL, NULL);
}
