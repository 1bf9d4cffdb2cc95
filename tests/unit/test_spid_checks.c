/*
 * Unit tests for sp/spid_checks.c: one table row per check and per AgID
 * spid-sp-test response case this layer decides (spid-sp-rules.md §3.4),
 * plus wrapping, algorithm, comment, DTD and size attacks.
 *
 * Each row is a set of overrides of named slots in one template of a valid
 * SPID Response ({R_ID} is the Response ID attribute, {A_SIG} the Assertion
 * signature, ...). Every row runs twice: on the Response signed + Assertion
 * signed base and on the unsigned Response + signed Assertion base (rows
 * that touch the Response signature run on the signed base only). The
 * expected enum sp_check is asserted exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/spid_checks.h"

/* ------------------------------------------------------------------------ */
/* Template                                                                  */
/* ------------------------------------------------------------------------ */

#define IDP "https://idp.example.it"
#define ACS "https://sp.example.it/acs"
#define SP_ENTITY "https://sp.example.it"
#define REQ_ID "_req1"
#define REQ_INSTANT "2024-05-01T10:00:00Z"
#define NOW_INSTANT "2024-05-01T10:00:02Z"
#define SKEW_SEC 60

#define ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define BASIC "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
#define SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define RESPONDER "urn:oasis:names:tc:SAML:2.0:status:Responder"
#define AUTHN_FAILED "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
#define L1 "https://www.spid.gov.it/SpidL1"
#define L2 "https://www.spid.gov.it/SpidL2"
#define L3 "https://www.spid.gov.it/SpidL3"
#define RSA_SHA1 "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define SHA1 "http://www.w3.org/2000/09/xmldsig#sha1"
#define EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define XSLT "http://www.w3.org/TR/1999/REC-xslt-19991116"

/* One ds:Signature whose parts are slots prefixed by P (R or A). */
#define SIG_TMPL(P)                                                                                \
    "<ds:Signature><ds:SignedInfo>"                                                                \
    "<ds:CanonicalizationMethod Algorithm=\"{" P "_C14N}\"/>"                                      \
    "<ds:SignatureMethod Algorithm=\"{" P "_SM}\"/>"                                               \
    "<ds:Reference{" P "_URI}><ds:Transforms>{" P "_TR}</ds:Transforms>"                           \
    "<ds:DigestMethod Algorithm=\"{" P "_DM}\"/><ds:DigestValue>q83vEjRWeJA=</ds:DigestValue>"     \
    "</ds:Reference>{" P "_XREF}</ds:SignedInfo>"                                                  \
    "<ds:SignatureValue>Zm9vYmFy</ds:SignatureValue>"                                              \
    "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>MIIC</ds:X509Certificate></ds:X509Data>"         \
    "</ds:KeyInfo>{" P "_OBJ}</ds:Signature>"

#define TRANSFORMS_OK                                                                              \
    "<ds:Transform Algorithm=\"" ENVELOPED "\"/><ds:Transform Algorithm=\"" EXC_C14N "\"/>"

#define ATTR(name, type, value)                                                                    \
    "<saml:Attribute Name=\"" name "\"{ATTR_NF}><saml:AttributeValue xsi:type=\"xs:" type          \
    "\">" value "</saml:AttributeValue></saml:Attribute>"

/* fiscalNumber (the one required attribute), accents, an apostrophe, xs:date, two values. */
#define ATTR_LIST_DEFAULT                                                                          \
    ATTR("fiscalNumber", "string", "{FISCAL}")                                                     \
    ATTR("name", "string", "Maria Chiara")                                                         \
    ATTR("familyName", "string", "D&apos;Amico")                                                   \
    ATTR("dateOfBirth", "date", "1980-01-31")                                                      \
    ATTR("companyName", "string", "Caffè dell'Università S.r.l.")                                  \
    "<saml:Attribute Name=\"email\">"                                                              \
    "<saml:AttributeValue>\n  a@example.it </saml:AttributeValue>"                                 \
    "<saml:AttributeValue>b@example.it</saml:AttributeValue></saml:Attribute>"

struct slot {
    const char *name;
    const char *value;
};

static const struct slot slot_defaults[] = {
    {"DOC", "{DECL}<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
            "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
            "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"{R_ID}{R_VER}{R_II}{R_IRT}{R_DEST}>\n"
            "  {R_ISSUER}\n  {R_SIG}\n  {STATUS}\n  {PRE}{ASSERTION}{POST}\n"
            "</samlp:Response>\n{TRAIL}"},
    {"DECL", ""},
    {"TRAIL", ""},
    {"R_ID", " ID=\"_r1\""},
    {"R_VER", " Version=\"2.0\""},
    {"R_II", " IssueInstant=\"2024-05-01T10:00:01Z\""},
    {"R_IRT", " InResponseTo=\"" REQ_ID "\""},
    {"R_DEST", " Destination=\"" ACS "\""},
    {"R_ISSUER", "<saml:Issuer{R_ISS_FMT}>{R_ISS_VAL}</saml:Issuer>"},
    {"R_ISS_FMT", " Format=\"" ENTITY "\""},
    {"R_ISS_VAL", IDP},
    {"SIG_R", SIG_TMPL("R")},
    {"R_C14N", EXC_C14N},
    {"R_SM", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"},
    {"R_URI", " URI=\"#_r1\""},
    {"R_TR", TRANSFORMS_OK},
    {"R_DM", "http://www.w3.org/2001/04/xmlenc#sha256"},
    {"R_XREF", ""},
    {"R_OBJ", ""},
    {"STATUS", "<samlp:Status>{STATUS_CODE}{STATUS_MSG}</samlp:Status>"},
    {"STATUS_CODE", "<samlp:StatusCode Value=\"{STATUS_VAL}\"/>"},
    {"STATUS_VAL", SUCCESS},
    {"STATUS_MSG", ""},
    {"PRE", ""},
    {"POST", ""},
    {"ASSERTION", "{ASSERTION_EL}"},
    {"ASSERTION_EL",
     "<saml:Assertion xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
     "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"{A_ID}{A_VER}{A_II}>\n"
     "    {A_ISSUER}\n    {A_SIG}\n    {SUBJECT}\n    {CONDITIONS}\n    {AUTHN}\n    {ATTRS}\n"
     "  </saml:Assertion>"},
    {"A_ID", " ID=\"_a1\""},
    {"A_VER", " Version=\"2.0\""},
    {"A_II", " IssueInstant=\"2024-05-01T10:00:01.250Z\""},
    {"A_ISSUER", "<saml:Issuer{A_ISS_FMT}>{A_ISS_VAL}</saml:Issuer>"},
    {"A_ISS_FMT", " Format=\"" ENTITY "\""},
    {"A_ISS_VAL", IDP},
    {"A_SIG", "{SIG_A}"},
    {"SIG_A", SIG_TMPL("A")},
    {"A_C14N", EXC_C14N},
    {"A_SM", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"},
    {"A_URI", " URI=\"#_a1\""},
    {"A_TR", TRANSFORMS_OK},
    {"A_DM", "http://www.w3.org/2001/04/xmlenc#sha256"},
    {"A_XREF", ""},
    {"A_OBJ", ""},
    {"SUBJECT", "<saml:Subject>{NAMEID}{SC}</saml:Subject>"},
    {"NAMEID", "<saml:NameID{NID_FMT}{NID_NQ}>{NID_VAL}</saml:NameID>"},
    {"NID_FMT", " Format=\"" TRANSIENT "\""},
    {"NID_NQ", " NameQualifier=\"" IDP "\""},
    {"NID_VAL", "_nid1"},
    {"SC", "<saml:SubjectConfirmation{SC_METHOD}>{SCD}</saml:SubjectConfirmation>"},
    {"SC_METHOD", " Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\""},
    {"SCD", "<saml:SubjectConfirmationData{SCD_IRT}{SCD_NOOA}{SCD_RCPT}/>"},
    {"SCD_IRT", " InResponseTo=\"" REQ_ID "\""},
    {"SCD_NOOA", " NotOnOrAfter=\"2024-05-01T10:05:00Z\""},
    {"SCD_RCPT", " Recipient=\"" ACS "\""},
    {"CONDITIONS", "<saml:Conditions{C_NB}{C_NOOA}>{AUDR}</saml:Conditions>"},
    {"C_NB", " NotBefore=\"2024-05-01T10:00:00Z\""},
    {"C_NOOA", " NotOnOrAfter=\"2024-05-01T10:04:00Z\""},
    {"AUDR", "<saml:AudienceRestriction>{AUD}</saml:AudienceRestriction>"},
    {"AUD", "<saml:Audience>{AUD_VAL}</saml:Audience>"},
    {"AUD_VAL", SP_ENTITY},
    {"AUTHN", "<saml:AuthnStatement AuthnInstant=\"2024-05-01T10:00:01Z\"{SESSIDX}>"
              "{AUTHN_CTX}</saml:AuthnStatement>"},
    {"SESSIDX", " SessionIndex=\"_s1\""},
    {"AUTHN_CTX", "<saml:AuthnContext>{ACR}</saml:AuthnContext>"},
    {"ACR", "<saml:AuthnContextClassRef>{ACR_VAL}</saml:AuthnContextClassRef>"},
    {"ACR_VAL", L2},
    {"ATTRS", "<saml:AttributeStatement>{ATTR_LIST}</saml:AttributeStatement>"},
    {"ATTR_LIST", ATTR_LIST_DEFAULT},
    {"ATTR_NF", " NameFormat=\"" BASIC "\""},
    {"FISCAL", "TINIT-RSSMRA80A01H501U"},
};

enum base { BASE_SIGNED, BASE_UNSIGNED };

#define ROW_SIGNED_ONLY 1u /* touches the Response signature */
#define MAX_SET 6

struct row {
    const char *name;
    enum sp_check want;
    struct slot set[MAX_SET];
    unsigned flags;
    /* expectation changes */
    unsigned level;    /* 0: 2 */
    const char *cmp;   /* NULL: "minimum" */
    int no_required;   /* no required attributes */
    int64_t now_shift; /* ms added to "now" */
    /* parse-level rows */
    const char *raw; /* the document itself instead of the template */
    long truncate;   /* keep only the first bytes */
    size_t pad_to;   /* pad with trailing whitespace to this size */
    /* STATUS_FAILURE details */
    int want_anomaly;
    const char *want_status;
    const char *want_sub;
};

static const char *slot_lookup(const struct row *row, enum base base, const char *name, size_t n)
{
    for (int i = 0; row != NULL && i < MAX_SET && row->set[i].name != NULL; i++)
        if (strlen(row->set[i].name) == n && memcmp(row->set[i].name, name, n) == 0)
            return row->set[i].value;
    if (n == 5 && memcmp(name, "R_SIG", 5) == 0)
        return base == BASE_SIGNED ? "{SIG_R}" : "";
    for (size_t i = 0; i < sizeof(slot_defaults) / sizeof(slot_defaults[0]); i++)
        if (strlen(slot_defaults[i].name) == n && memcmp(slot_defaults[i].name, name, n) == 0)
            return slot_defaults[i].value;
    return NULL;
}

static void expand(struct sp_buf *out, const char *t, const struct row *row, enum base base,
                   int depth)
{
    assert_true(depth < 16);
    while (*t != '\0') {
        size_t n = 0;
        if (*t == '{') {
            while ((t[1 + n] >= 'A' && t[1 + n] <= 'Z') || t[1 + n] == '_' ||
                   (t[1 + n] >= '0' && t[1 + n] <= '9'))
                n++;
        }
        if (n > 0 && t[1 + n] == '}') {
            const char *v = slot_lookup(row, base, t + 1, n);
            if (v == NULL)
                fail_msg("unknown slot %.*s", (int)n, t + 1);
            expand(out, v, row, base, depth + 1);
            t += n + 2;
            continue;
        }
        assert_int_equal(sp_buf_addc(out, *t), SP_OK);
        t++;
    }
}

/* The document of row on base; free() it. */
static char *build(const struct row *row, enum base base, size_t *len)
{
    struct sp_buf b;

    sp_buf_init(&b, 4u * SP_MAX_RESPONSE_BYTES);
    if (row != NULL && row->raw != NULL)
        assert_int_equal(sp_buf_adds(&b, row->raw), SP_OK);
    else
        expand(&b, "{DOC}", row, base, 0);
    if (row != NULL && row->truncate > 0 && (size_t)row->truncate < b.len)
        b.len = (size_t)row->truncate;
    while (row != NULL && row->pad_to > 0 && b.len < row->pad_to)
        assert_int_equal(sp_buf_addc(&b, ' '), SP_OK);
    *len = b.len;
    return b.len > 0 ? sp_buf_detach(&b) : (sp_buf_cleanup(&b), sp_xstrdup(""));
}

static int64_t ms(const char *iso)
{
    int64_t v = 0;
    assert_int_equal(sp_time_parse(iso, &v), SP_OK);
    return v;
}

static const char *const required_default[] = {"fiscalNumber"};

static void expect_init(struct sp_check_expect *e, const struct row *row)
{
    memset(e, 0, sizeof(*e));
    e->request_id = REQ_ID;
    e->idp_entity_id = IDP;
    e->acs_url = ACS;
    e->sp_entity_id = SP_ENTITY;
    e->request_issue_ms = ms(REQ_INSTANT);
    e->level = row && row->level ? row->level : 2;
    e->comparison = row && row->cmp ? row->cmp : "minimum";
    e->now_ms = ms(NOW_INSTANT) + (row ? row->now_shift : 0);
    e->skew_sec = SKEW_SEC;
    if (row == NULL || !row->no_required) {
        e->required_attrs = required_default;
        e->n_required = 1;
    }
}

/* Parse and check; the code of whichever step stopped. res gets the details. */
static enum sp_check run_doc(const char *xml, size_t len, const struct sp_check_expect *e,
                             struct sp_check_result *res)
{
    struct sp_spid_response *r = sp_spid_response_parse(xml, len, res);
    enum sp_check code;

    if (r == NULL) {
        assert_int_not_equal(res->code, SP_CHECK_OK);
        return res->code;
    }
    assert_int_equal(res->code, SP_CHECK_OK);
    code = sp_spid_check_response(r, e, res);
    assert_int_equal(code, res->code);
    sp_spid_response_free(&r);
    assert_null(r);
    return code;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

#define S(n, v)                                                                                    \
    {                                                                                              \
        n, v                                                                                       \
    }
#define OK SP_CHECK_OK
#define CK(x) SP_CHECK_##x

#define EVIL_ASSERTION                                                                             \
    "<saml:Assertion ID=\"_evil\" Version=\"2.0\" IssueInstant=\"2024-05-01T10:00:01Z\">"          \
    "<saml:Issuer>" IDP "</saml:Issuer></saml:Assertion>"
#define MD_SIGNED                                                                                  \
    "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ID=\"_md1\" "          \
    "entityID=\"" IDP "\"><ds:Signature><ds:SignedInfo>"                                           \
    "<ds:CanonicalizationMethod Algorithm=\"" EXC_C14N "\"/>"                                      \
    "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"        \
    "<ds:Reference URI=\"#_md1\"><ds:Transforms>" TRANSFORMS_OK "</ds:Transforms>"                 \
    "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"                     \
    "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>"                         \
    "<ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></md:EntityDescriptor>"
#define ANOMALY_STATUS(nr)                                                                         \
    S("STATUS", "<samlp:Status><samlp:StatusCode Value=\"" RESPONDER "\">"                         \
                "<samlp:StatusCode Value=\"" AUTHN_FAILED "\"/></samlp:StatusCode>"                \
                "<samlp:StatusMessage>ErrorCode nr" nr "</samlp:StatusMessage></samlp:Status>"),   \
        S("ASSERTION", "")
#define ANOMALY_ROW(case_name, nr, code)                                                           \
    {                                                                                              \
        .name = case_name, .want = CK(STATUS_FAILURE), .set = {ANOMALY_STATUS(nr)},                \
        .want_anomaly = code, .want_status = RESPONDER, .want_sub = AUTHN_FAILED                   \
    }
#define LEVEL_ROW(case_name, got, req, comparison, expect)                                         \
    {                                                                                              \
        .name = case_name, .want = expect, .set = {S("ACR_VAL", got)}, .level = req,               \
        .cmp = comparison                                                                          \
    }
#define BILLION_LAUGHS                                                                             \
    "<?xml version=\"1.0\"?>\n<!DOCTYPE samlp:Response [\n<!ENTITY lol \"lol\">\n"                 \
    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"                      \
    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"            \
    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n"

static const struct row rows[] = {
    /* Accepted variants (1, 31, 109, 110) and tolerances. */
    {.name = "case01_correct", .want = OK},
    {.name = "case31_response_issuer_format_omitted", .want = OK, .set = {S("R_ISS_FMT", "")}},
    {.name = "case109_xml_declaration_no_nameformat",
     .want = OK,
     .set = {S("DECL", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), S("ATTR_NF", "")}},
    {.name = "case110_issue_instant_microseconds",
     .want = OK,
     .set = {S("R_II", " IssueInstant=\"2024-05-01T10:00:01.123456Z\""),
             S("A_II", " IssueInstant=\"2024-05-01T10:00:01.123456Z\"")}},
    {.name = "issue_instant_equal_to_request",
     .want = OK,
     .set = {S("R_II", " IssueInstant=\"" REQ_INSTANT "\""),
             S("A_II", " IssueInstant=\"" REQ_INSTANT "\"")}},
    {.name = "session_index_absent", .want = OK, .set = {S("SESSIDX", "")}},
    {.name = "nameid_pretty_printed", .want = OK, .set = {S("NID_VAL", "\n      _nid1\n    ")}},
    {.name = "utf8_bom_and_declaration",
     .want = OK,
     .set = {S("DECL", "\xEF\xBB\xBF<?xml version='1.0'?>")}},
    {.name = "comment_outside_assertion_ok",
     .want = OK,
     .set = {S("PRE", "<!-- Response Signature here -->")}},
    {.name = "trailing_whitespace_ok", .want = OK, .set = {S("TRAIL", "\n\n  ")}},
    {.name = "exc_c14n_inclusive_namespaces_ok",
     .want = OK,
     .set = {S("A_TR", "<ds:Transform Algorithm=\"" ENVELOPED "\"/>"
                       "<ds:Transform Algorithm=\"" EXC_C14N "\"><ec:InclusiveNamespaces "
                       "xmlns:ec=\"" EXC_C14N "\" PrefixList=\"xs\"/></ds:Transform>")}},
    {.name = "rsa_sha384_sha384_ok",
     .want = OK,
     .set = {S("A_SM", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"),
             S("A_DM", "http://www.w3.org/2001/04/xmldsig-more#sha384")}},
    {.name = "rsa_sha512_sha512_ok",
     .want = OK,
     .set = {S("A_SM", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"),
             S("A_DM", "http://www.w3.org/2001/04/xmlenc#sha512")}},
    {.name = "two_audiences_one_ours_ok",
     .want = OK,
     .set = {S("AUD", "<saml:Audience>https://other.example.it</saml:Audience>"
                      "<saml:Audience>" SP_ENTITY "</saml:Audience>")}},
    {.name = "attribute_statement_absent_nothing_required",
     .want = OK,
     .set = {S("ATTRS", "")},
     .no_required = 1},
    {.name = "attribute_cdata_value_ok",
     .want = OK,
     .set = {S("FISCAL", "<![CDATA[TINIT-RSSMRA80A01H501U]]>")}},

    /* Parsing (RS-05) and root (RS-06). */
    {.name = "empty_input", .want = CK(MALFORMED), .raw = ""},
    {.name = "garbage", .want = CK(MALFORMED), .raw = "this is not XML at all"},
    {.name = "binary_garbage", .want = CK(MALFORMED), .raw = "<\x01\x02\xff\xfe"},
    {.name = "truncated_document", .want = CK(MALFORMED), .truncate = 600},
    {.name = "text_before_root", .want = CK(MALFORMED), .set = {S("DECL", "junk")}},
    {.name = "comment_before_root", .want = CK(MALFORMED), .set = {S("DECL", "<!-- hi -->")}},
    {.name = "processing_instruction_before_root",
     .want = CK(MALFORMED),
     .set = {S("DECL", "<?xml-stylesheet href=\"x.xsl\"?>")}},
    {.name = "doctype_internal_subset",
     .want = CK(DTD),
     .set = {S("DECL", "<!DOCTYPE samlp:Response [<!ELEMENT a ANY>]>")}},
    {.name = "doctype_after_declaration",
     .want = CK(DTD),
     .set = {S("DECL", "<?xml version=\"1.0\"?>\n<!DOCTYPE samlp:Response>\n")}},
    {.name = "billion_laughs",
     .want = CK(DTD),
     .set = {S("DECL", BILLION_LAUGHS), S("NID_VAL", "&lol3;")}},
    {.name = "external_entity_xxe",
     .want = CK(DTD),
     .set = {S("DECL", "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"),
             S("NID_VAL", "&xxe;")}},
    {.name = "external_dtd_system",
     .want = CK(DTD),
     .set = {S("DECL", "<!DOCTYPE r SYSTEM \"http://evil.example/x.dtd\">")}},
    {.name = "undeclared_entity_reference", .want = CK(MALFORMED), .set = {S("NID_VAL", "&xxe;")}},
    {.name = "oversize", .want = CK(TOO_LARGE), .pad_to = SP_MAX_RESPONSE_BYTES + 1},
    {.name = "size_at_limit_ok", .want = OK, .pad_to = SP_MAX_RESPONSE_BYTES},
    {.name = "root_namespace_stripped",
     .want = CK(ROOT),
     .raw = "<Response ID=\"_r1\" Version=\"2.0\"><Issuer>" IDP "</Issuer></Response>"},
    {.name = "root_wrong_namespace",
     .want = CK(ROOT),
     .raw = "<p:Response xmlns:p=\"urn:oasis:names:tc:SAML:1.0:protocol\" ID=\"_r1\"/>"},
    {.name = "root_is_assertion",
     .want = CK(ROOT),
     .raw = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a1\"/>"},

    /* Signatures (RS-20, 2, 3) and wrapping (RS-23, xsw, validator 112/113). */
    {.name = "case02_nothing_signed",
     .want = CK(ASSERTION_UNSIGNED),
     .set = {S("R_SIG", ""), S("A_SIG", "")}},
    {.name = "case03_assertion_unsigned", .want = CK(ASSERTION_UNSIGNED), .set = {S("A_SIG", "")}},
    {.name = "assertion_signature_placeholder_comment_only",
     .want = CK(ASSERTION_UNSIGNED),
     .set = {S("A_SIG", "<!-- Assertion Signature here -->")}},
    {.name = "assertion_two_signatures",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_SIG", "{SIG_A}{SIG_A}")}},
    {.name = "assertion_reference_to_response",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_URI", " URI=\"#_r1\"")}},
    {.name = "assertion_reference_uri_empty",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_URI", " URI=\"\"")}},
    {.name = "assertion_reference_uri_missing",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_URI", "")}},
    {.name = "assertion_reference_uri_without_hash",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_URI", " URI=\"_a1\"")}},
    {.name = "assertion_reference_to_other_element",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_URI", " URI=\"#_x9\""),
             S("PRE", "<samlp:Extensions><x:Y xmlns:x=\"urn:x\" ID=\"_x9\"/></samlp:Extensions>")}},
    {.name = "assertion_two_references",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_XREF", "<ds:Reference URI=\"#_r1\"><ds:DigestMethod "
                         "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
                         "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference>")}},
    {.name = "assertion_signature_without_signedinfo",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_SIG", "<ds:Signature><ds:SignatureValue>AA==</ds:SignatureValue>"
                        "</ds:Signature>")}},
    {.name = "response_signature_references_assertion",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("R_URI", " URI=\"#_a1\"")},
     .flags = ROW_SIGNED_ONLY},
    {.name = "response_two_signatures",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("R_SIG", "{SIG_R}{SIG_R}")},
     .flags = ROW_SIGNED_ONLY},
    {.name = "response_signature_only_assertion_in_object",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("R_OBJ", "<ds:Object>{ASSERTION_EL}</ds:Object>"), S("ASSERTION", "")},
     .flags = ROW_SIGNED_ONLY},
    {.name = "xsw_evil_assertion_original_in_response_object",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("R_OBJ", "<ds:Object>{ASSERTION_EL}</ds:Object>"), S("ASSERTION", EVIL_ASSERTION)},
     .flags = ROW_SIGNED_ONLY},
    {.name = "xsw_original_in_assertion_object",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("A_OBJ", "<ds:Object>" EVIL_ASSERTION "</ds:Object>")}},
    {.name = "two_assertions_same",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("POST", "{ASSERTION_EL}")}},
    {.name = "two_assertions_evil_first",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("PRE", EVIL_ASSERTION)}},
    {.name = "assertion_inside_extensions",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("ASSERTION", "<samlp:Extensions>{ASSERTION_EL}</samlp:Extensions>")}},
    {.name = "assertion_inside_status_detail",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("STATUS_MSG", "<samlp:StatusDetail>{ASSERTION_EL}</samlp:StatusDetail>"),
             S("ASSERTION", "")}},
    {.name = "assertion_in_advice",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("ATTRS", "<saml:Advice>" EVIL_ASSERTION "</saml:Advice>")}},
    {.name = "encrypted_assertion",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("ASSERTION", "<saml:EncryptedAssertion><xenc:EncryptedData "
                            "xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/>"
                            "</saml:EncryptedAssertion>")}},
    {.name = "encrypted_assertion_next_to_assertion",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("POST", "<saml:EncryptedAssertion/>")}},
    {.name = "duplicate_id_assertion_equals_response",
     .want = CK(DUPLICATE_ID),
     .set = {S("A_ID", " ID=\"_r1\"")}},
    {.name = "duplicate_id_in_extensions",
     .want = CK(DUPLICATE_ID),
     .set = {S("PRE", "<samlp:Extensions><x:Y xmlns:x=\"urn:x\" ID=\"_a1\"/></samlp:Extensions>")}},
    {.name = "duplicate_id_via_Id_attribute",
     .want = CK(DUPLICATE_ID),
     .set = {S("PRE", "<samlp:Extensions><x:Y xmlns:x=\"urn:x\" Id=\"_a1\"/></samlp:Extensions>")}},
    {.name = "duplicate_id_via_xml_id",
     .want = CK(DUPLICATE_ID),
     .set = {S("PRE", "<samlp:Extensions><x:Y xmlns:x=\"urn:x\" xml:id=\"_a1\"/>"
                      "</samlp:Extensions>")}},
    {.name = "validator112_signed_metadata_before_unsigned_assertion",
     .want = CK(ASSERTION_UNSIGNED),
     .set = {S("PRE", MD_SIGNED), S("A_SIG", "")}},
    {.name = "validator113_signed_metadata_before_assertion",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("PRE", MD_SIGNED)}},
    {.name = "signature_in_extensions",
     .want = CK(SIGNATURE_STRUCTURE),
     .set = {S("PRE", "<samlp:Extensions>{SIG_A}</samlp:Extensions>")}},

    /* Algorithms (RS-24). */
    {.name = "assertion_rsa_sha1", .want = CK(SIGNATURE_ALGORITHM), .set = {S("A_SM", RSA_SHA1)}},
    {.name = "assertion_digest_sha1", .want = CK(SIGNATURE_ALGORITHM), .set = {S("A_DM", SHA1)}},
    {.name = "response_rsa_sha1",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("R_SM", RSA_SHA1)},
     .flags = ROW_SIGNED_ONLY},
    {.name = "response_digest_sha1",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("R_DM", SHA1)},
     .flags = ROW_SIGNED_ONLY},
    {.name = "assertion_hmac_sha256",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("A_SM", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")}},
    {.name = "signature_method_without_algorithm",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("A_SM", "")}},
    {.name = "xslt_transform",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("A_TR", TRANSFORMS_OK "<ds:Transform Algorithm=\"" XSLT "\"><xsl:stylesheet "
                                     "xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" "
                                     "version=\"1.0\"/></ds:Transform>")}},
    {.name = "xpath_transform",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("A_TR", TRANSFORMS_OK "<ds:Transform "
                                     "Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">"
                                     "<ds:XPath>1</ds:XPath></ds:Transform>")}},
    {.name = "c14n_with_comments",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("A_C14N", EXC_C14N "WithComments")}},
    {.name = "transform_c14n_with_comments",
     .want = CK(SIGNATURE_ALGORITHM),
     .set = {S("A_TR", "<ds:Transform Algorithm=\"" ENVELOPED "\"/>"
                       "<ds:Transform Algorithm=\"" EXC_C14N "WithComments\"/>")}},

    /* Comments in signed data (RS-23). */
    {.name = "comment_in_nameid", .want = CK(COMMENT), .set = {S("NID_VAL", "_nid<!---->1")}},
    {.name = "comment_in_attribute_value",
     .want = CK(COMMENT),
     .set = {S("FISCAL", "TINIT-RSS<!---->MRA80A01H501U")}},
    {.name = "comment_between_assertion_children",
     .want = CK(COMMENT),
     .set = {S("ATTRS", "<!-- x -->")},
     .no_required = 1},

    /* Response element (RS-10..RS-15, cases 8-21). */
    {.name = "case08_response_id_empty", .want = CK(RESPONSE_ID), .set = {S("R_ID", " ID=\"\"")}},
    {.name = "case09_response_id_missing", .want = CK(RESPONSE_ID), .set = {S("R_ID", "")}},
    {.name = "case10_response_version_1_0",
     .want = CK(RESPONSE_VERSION),
     .set = {S("R_VER", " Version=\"1.0\"")}},
    {.name = "response_version_missing", .want = CK(RESPONSE_VERSION), .set = {S("R_VER", "")}},
    {.name = "case11_response_issue_instant_empty",
     .want = CK(RESPONSE_ISSUE_INSTANT),
     .set = {S("R_II", " IssueInstant=\"\"")}},
    {.name = "case12_response_issue_instant_missing",
     .want = CK(RESPONSE_ISSUE_INSTANT),
     .set = {S("R_II", "")}},
    {.name = "case13_response_issue_instant_format",
     .want = CK(RESPONSE_ISSUE_INSTANT),
     .set = {S("R_II", " IssueInstant=\"2024-05-01 10:00:01\"")}},
    {.name = "response_issue_instant_offset",
     .want = CK(RESPONSE_ISSUE_INSTANT),
     .set = {S("R_II", " IssueInstant=\"2024-05-01T12:00:01+02:00\"")}},
    {.name = "case14_response_issue_instant_before_request",
     .want = CK(RESPONSE_TIME),
     .set = {S("R_II", " IssueInstant=\"2018-01-01T00:00:00Z\"")}},
    {.name = "case15_response_issue_instant_future",
     .want = CK(RESPONSE_TIME),
     .set = {S("R_II", " IssueInstant=\"2099-01-01T00:00:00Z\"")}},
    {.name = "response_issue_instant_request_minus_skew_ok",
     .want = OK,
     .set = {S("R_II", " IssueInstant=\"2024-05-01T09:59:00Z\"")}},
    {.name = "response_issue_instant_request_minus_skew_minus_1ms",
     .want = CK(RESPONSE_TIME),
     .set = {S("R_II", " IssueInstant=\"2024-05-01T09:58:59.999Z\"")}},
    {.name = "response_issue_instant_now_plus_skew_ok",
     .want = OK,
     .set = {S("R_II", " IssueInstant=\"2024-05-01T10:01:02Z\"")}},
    {.name = "response_issue_instant_now_plus_skew_plus_1ms",
     .want = CK(RESPONSE_TIME),
     .set = {S("R_II", " IssueInstant=\"2024-05-01T10:01:02.001Z\"")}},
    {.name = "case16_in_response_to_empty",
     .want = CK(IN_RESPONSE_TO),
     .set = {S("R_IRT", " InResponseTo=\"\"")}},
    {.name = "case17_in_response_to_missing", .want = CK(IN_RESPONSE_TO), .set = {S("R_IRT", "")}},
    {.name = "case18_in_response_to_other",
     .want = CK(IN_RESPONSE_TO),
     .set = {S("R_IRT", " InResponseTo=\"inresponsetodiversodaidrequest\"")}},
    {.name = "case19_destination_empty",
     .want = CK(DESTINATION),
     .set = {S("R_DEST", " Destination=\"\"")}},
    {.name = "case20_destination_missing", .want = CK(DESTINATION), .set = {S("R_DEST", "")}},
    {.name = "case21_destination_other",
     .want = CK(DESTINATION),
     .set = {S("R_DEST", " Destination=\"diversodaassertionconsumerserviceurl\"")}},

    /* Status (RS-16, RS-17, cases 22-26, 32). */
    {.name = "case22_status_empty",
     .want = CK(STATUS),
     .set = {S("STATUS", "<samlp:Status></samlp:Status>")}},
    {.name = "case23_status_missing", .want = CK(STATUS), .set = {S("STATUS", "")}},
    {.name = "case24_status_code_missing", .want = CK(STATUS), .set = {S("STATUS_CODE", "")}},
    {.name = "status_code_value_empty",
     .want = CK(STATUS),
     .set = {S("STATUS_CODE", "<samlp:StatusCode Value=\"\"/>")}},
    {.name = "status_code_value_missing",
     .want = CK(STATUS),
     .set = {S("STATUS_CODE", "<samlp:StatusCode/>")}},
    {.name = "two_status_elements", .want = CK(STATUS), .set = {S("POST", "{STATUS}")}},
    {.name = "case26_status_code_unknown",
     .want = CK(STATUS_FAILURE),
     .set = {S("STATUS_VAL", "urn:oasis:names:tc:SAML:2.0:status:Invalid")},
     .want_status = "urn:oasis:names:tc:SAML:2.0:status:Invalid",
     .want_sub = ""},
    {.name = "case32_success_without_assertion",
     .want = CK(NO_ASSERTION),
     .set = {S("ASSERTION", "")}},

    /* Response Issuer (RS-18, RS-19, cases 27-30). */
    {.name = "case27_response_issuer_empty",
     .want = CK(RESPONSE_ISSUER),
     .set = {S("R_ISS_VAL", "")}},
    {.name = "case28_response_issuer_missing",
     .want = CK(RESPONSE_ISSUER),
     .set = {S("R_ISSUER", "")}},
    {.name = "case29_response_issuer_other",
     .want = CK(RESPONSE_ISSUER),
     .set = {S("R_ISS_VAL", "https://evil.example.it")}},
    {.name = "case30_response_issuer_format_other",
     .want = CK(RESPONSE_ISSUER_FORMAT),
     .set = {S("R_ISS_FMT", " Format=\"" TRANSIENT "\"")}},
    {.name = "response_issuer_format_empty",
     .want = CK(RESPONSE_ISSUER_FORMAT),
     .set = {S("R_ISS_FMT", " Format=\"\"")}},

    /* Anomalies (104-108, 111, nr30): Response checks first, then STATUS_FAILURE. */
    ANOMALY_ROW("case104_anomaly_nr19", "19", 19),
    ANOMALY_ROW("case105_anomaly_nr20", "20", 20),
    ANOMALY_ROW("case106_anomaly_nr21", "21", 21),
    ANOMALY_ROW("case107_anomaly_nr22", "22", 22),
    ANOMALY_ROW("case108_anomaly_nr23", "23", 23),
    ANOMALY_ROW("case111_anomaly_nr25", "25", 25),
    ANOMALY_ROW("anomaly_nr30", "30", 30),
    ANOMALY_ROW("anomaly_nr08", "08", 8),
    ANOMALY_ROW("anomaly_nr12", "12", 12),
    {.name = "anomaly_without_message",
     .want = CK(STATUS_FAILURE),
     .set = {S("STATUS_VAL", RESPONDER), S("ASSERTION", "")},
     .want_anomaly = 0,
     .want_status = RESPONDER,
     .want_sub = ""},
    {.name = "anomaly_after_response_checks",
     .want = CK(DESTINATION),
     .set = {ANOMALY_STATUS("19"), S("R_DEST", " Destination=\"https://evil.example.it\"")}},
    {.name = "failure_status_with_assertion_never_accepted",
     .want = CK(STATUS_FAILURE),
     .set = {S("STATUS_VAL", RESPONDER)},
     .want_status = RESPONDER,
     .want_sub = ""},

    /* Assertion attributes (RS-30, RS-31, cases 33-40). */
    {.name = "case33_assertion_id_empty", .want = CK(ASSERTION_ID), .set = {S("A_ID", " ID=\"\"")}},
    {.name = "case34_assertion_id_missing", .want = CK(ASSERTION_ID), .set = {S("A_ID", "")}},
    {.name = "case35_assertion_version_1_0",
     .want = CK(ASSERTION_VERSION),
     .set = {S("A_VER", " Version=\"1.0\"")}},
    {.name = "case36_assertion_issue_instant_empty",
     .want = CK(ASSERTION_ISSUE_INSTANT),
     .set = {S("A_II", " IssueInstant=\"\"")}},
    {.name = "case37_assertion_issue_instant_missing",
     .want = CK(ASSERTION_ISSUE_INSTANT),
     .set = {S("A_II", "")}},
    {.name = "case38_assertion_issue_instant_format",
     .want = CK(ASSERTION_ISSUE_INSTANT),
     .set = {S("A_II", " IssueInstant=\"01/05/2024 10:00\"")}},
    {.name = "case39_assertion_issue_instant_before_request",
     .want = CK(ASSERTION_TIME),
     .set = {S("A_II", " IssueInstant=\"2018-01-01T00:00:00Z\"")}},
    {.name = "case40_assertion_issue_instant_future",
     .want = CK(ASSERTION_TIME),
     .set = {S("A_II", " IssueInstant=\"2099-01-01T00:00:00Z\"")}},

    /* Subject / NameID (RS-40..RS-43, cases 41-49). */
    {.name = "case41_subject_empty",
     .want = CK(SUBJECT),
     .set = {S("SUBJECT", "<saml:Subject></saml:Subject>")}},
    {.name = "case42_subject_missing", .want = CK(SUBJECT), .set = {S("SUBJECT", "")}},
    {.name = "two_subjects",
     .want = CK(SUBJECT),
     .set = {S("SUBJECT", "<saml:Subject>{NAMEID}{SC}</saml:Subject>"
                          "<saml:Subject>{NAMEID}{SC}</saml:Subject>")}},
    {.name = "case43_nameid_empty", .want = CK(NAMEID), .set = {S("NID_VAL", "")}},
    {.name = "nameid_whitespace_only", .want = CK(NAMEID), .set = {S("NID_VAL", "  \n ")}},
    {.name = "case44_nameid_missing", .want = CK(NAMEID), .set = {S("NAMEID", "")}},
    {.name = "case45_nameid_format_empty",
     .want = CK(NAMEID_FORMAT),
     .set = {S("NID_FMT", " Format=\"\"")}},
    {.name = "case46_nameid_format_missing", .want = CK(NAMEID_FORMAT), .set = {S("NID_FMT", "")}},
    {.name = "case47_nameid_format_persistent",
     .want = CK(NAMEID_FORMAT),
     .set = {S("NID_FMT", " Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\"")}},
    {.name = "case48_nameid_qualifier_empty",
     .want = CK(NAMEID_QUALIFIER),
     .set = {S("NID_NQ", " NameQualifier=\"\"")}},
    {.name = "case49_nameid_qualifier_missing",
     .want = CK(NAMEID_QUALIFIER),
     .set = {S("NID_NQ", "")}},

    /* SubjectConfirmation (RS-50..RS-54, cases 51-66). */
    {.name = "case51_subject_confirmation_empty",
     .want = CK(SUBJECT_CONFIRMATION),
     .set = {S("SC", "<saml:SubjectConfirmation></saml:SubjectConfirmation>")}},
    {.name = "case52_subject_confirmation_missing",
     .want = CK(SUBJECT_CONFIRMATION),
     .set = {S("SC", "")}},
    {.name = "two_subject_confirmations",
     .want = CK(SUBJECT_CONFIRMATION),
     .set = {S("SUBJECT", "<saml:Subject>{NAMEID}{SC}{SC}</saml:Subject>")}},
    {.name = "case53_method_empty",
     .want = CK(SUBJECT_CONFIRMATION),
     .set = {S("SC_METHOD", " Method=\"\"")}},
    {.name = "case54_method_missing",
     .want = CK(SUBJECT_CONFIRMATION),
     .set = {S("SC_METHOD", "")}},
    {.name = "case55_method_holder_of_key",
     .want = CK(SUBJECT_CONFIRMATION),
     .set = {S("SC_METHOD", " Method=\"urn:oasis:names:tc:SAML:2.0:cm:holder-of-key\"")}},
    {.name = "case56_subject_confirmation_data_missing",
     .want = CK(SUBJECT_CONFIRMATION_DATA),
     .set = {S("SCD", "")}},
    {.name = "case57_recipient_empty",
     .want = CK(RECIPIENT),
     .set = {S("SCD_RCPT", " Recipient=\"\"")}},
    {.name = "case58_recipient_missing", .want = CK(RECIPIENT), .set = {S("SCD_RCPT", "")}},
    {.name = "case59_recipient_other",
     .want = CK(RECIPIENT),
     .set = {S("SCD_RCPT", " Recipient=\"https://evil.example.it/acs\"")}},
    {.name = "case60_scd_in_response_to_empty",
     .want = CK(SCD_IN_RESPONSE_TO),
     .set = {S("SCD_IRT", " InResponseTo=\"\"")}},
    {.name = "case61_scd_in_response_to_missing",
     .want = CK(SCD_IN_RESPONSE_TO),
     .set = {S("SCD_IRT", "")}},
    {.name = "case62_scd_in_response_to_other",
     .want = CK(SCD_IN_RESPONSE_TO),
     .set = {S("SCD_IRT", " InResponseTo=\"_other\"")}},
    {.name = "case63_scd_not_on_or_after_empty",
     .want = CK(SCD_NOT_ON_OR_AFTER),
     .set = {S("SCD_NOOA", " NotOnOrAfter=\"\"")}},
    {.name = "case64_scd_not_on_or_after_missing",
     .want = CK(SCD_NOT_ON_OR_AFTER),
     .set = {S("SCD_NOOA", "")}},
    {.name = "case65_scd_not_on_or_after_format",
     .want = CK(SCD_NOT_ON_OR_AFTER),
     .set = {S("SCD_NOOA", " NotOnOrAfter=\"2024-13-01T10:05:00Z\"")}},
    {.name = "case66_scd_not_on_or_after_past",
     .want = CK(SCD_NOT_ON_OR_AFTER),
     .set = {S("SCD_NOOA", " NotOnOrAfter=\"2018-01-01T00:00:00Z\"")}},
    {.name = "scd_not_on_or_after_skew_edge_ok",
     .want = OK,
     .set = {S("SCD_NOOA", " NotOnOrAfter=\"2024-05-01T09:59:02.001Z\"")}},
    {.name = "scd_not_on_or_after_skew_edge_expired",
     .want = CK(SCD_NOT_ON_OR_AFTER),
     .set = {S("SCD_NOOA", " NotOnOrAfter=\"2024-05-01T09:59:02Z\"")}},

    /* Assertion Issuer (RS-32, cases 68-72). */
    {.name = "case68_assertion_issuer_missing",
     .want = CK(ASSERTION_ISSUER),
     .set = {S("A_ISSUER", "")}},
    {.name = "assertion_issuer_empty", .want = CK(ASSERTION_ISSUER), .set = {S("A_ISS_VAL", "")}},
    {.name = "case69_assertion_issuer_other",
     .want = CK(ASSERTION_ISSUER),
     .set = {S("A_ISS_VAL", "https://evil.example.it")}},
    {.name = "case70_assertion_issuer_format_empty",
     .want = CK(ASSERTION_ISSUER_FORMAT),
     .set = {S("A_ISS_FMT", " Format=\"\"")}},
    {.name = "case71_assertion_issuer_format_missing",
     .want = CK(ASSERTION_ISSUER_FORMAT),
     .set = {S("A_ISS_FMT", "")}},
    {.name = "case72_assertion_issuer_format_other",
     .want = CK(ASSERTION_ISSUER_FORMAT),
     .set = {S("A_ISS_FMT", " Format=\"" TRANSIENT "\"")}},

    /* Conditions and Audience (RS-60..RS-63, cases 73-87). */
    {.name = "case73_conditions_empty",
     .want = CK(CONDITIONS),
     .set = {S("CONDITIONS", "<saml:Conditions></saml:Conditions>")}},
    {.name = "case74_conditions_missing", .want = CK(CONDITIONS), .set = {S("CONDITIONS", "")}},
    {.name = "case75_not_before_empty",
     .want = CK(NOT_BEFORE),
     .set = {S("C_NB", " NotBefore=\"\"")}},
    {.name = "case76_not_before_missing", .want = CK(NOT_BEFORE), .set = {S("C_NB", "")}},
    {.name = "case77_not_before_format",
     .want = CK(NOT_BEFORE),
     .set = {S("C_NB", " NotBefore=\"2024-05-01T10:00\"")}},
    {.name = "case78_not_before_future",
     .want = CK(NOT_BEFORE),
     .set = {S("C_NB", " NotBefore=\"2099-01-01T00:00:00Z\"")}},
    {.name = "not_before_now_plus_skew_ok",
     .want = OK,
     .set = {S("C_NB", " NotBefore=\"2024-05-01T10:01:02Z\"")}},
    {.name = "not_before_now_plus_skew_plus_1ms",
     .want = CK(NOT_BEFORE),
     .set = {S("C_NB", " NotBefore=\"2024-05-01T10:01:02.001Z\"")}},
    {.name = "case79_not_on_or_after_empty",
     .want = CK(NOT_ON_OR_AFTER),
     .set = {S("C_NOOA", " NotOnOrAfter=\"\"")}},
    {.name = "case80_not_on_or_after_missing",
     .want = CK(NOT_ON_OR_AFTER),
     .set = {S("C_NOOA", "")}},
    {.name = "case81_not_on_or_after_format",
     .want = CK(NOT_ON_OR_AFTER),
     .set = {S("C_NOOA", " NotOnOrAfter=\"tomorrow\"")}},
    {.name = "case82_not_on_or_after_past",
     .want = CK(NOT_ON_OR_AFTER),
     .set = {S("C_NOOA", " NotOnOrAfter=\"2018-01-01T00:00:00Z\"")}},
    {.name = "not_on_or_after_skew_edge_ok",
     .want = OK,
     .set = {S("C_NOOA", " NotOnOrAfter=\"2024-05-01T09:59:02.001Z\"")}},
    {.name = "not_on_or_after_skew_edge_expired",
     .want = CK(NOT_ON_OR_AFTER),
     .set = {S("C_NOOA", " NotOnOrAfter=\"2024-05-01T09:59:02Z\"")}},
    {.name = "assertion_expired_later_clock",
     .want = CK(SCD_NOT_ON_OR_AFTER),
     .now_shift = 3600000},
    {.name = "case83_audience_restriction_empty",
     .want = CK(AUDIENCE),
     .set = {S("AUDR", "<saml:AudienceRestriction></saml:AudienceRestriction>")}},
    {.name = "case84_audience_restriction_missing", .want = CK(AUDIENCE), .set = {S("AUDR", "")}},
    {.name = "case85_audience_empty", .want = CK(AUDIENCE), .set = {S("AUD_VAL", "")}},
    {.name = "case86_audience_missing", .want = CK(AUDIENCE), .set = {S("AUD", "")}},
    {.name = "case87_audience_other",
     .want = CK(AUDIENCE),
     .set = {S("AUD_VAL", "https://other-sp.example.it")}},

    /* AuthnStatement (RS-70..RS-72, cases 88-97). */
    {.name = "case88_authn_statement_empty",
     .want = CK(AUTHN_STATEMENT),
     .set = {S("AUTHN", "<saml:AuthnStatement AuthnInstant=\"2024-05-01T10:00:01Z\">"
                        "</saml:AuthnStatement>")}},
    {.name = "case89_authn_statement_missing",
     .want = CK(AUTHN_STATEMENT),
     .set = {S("AUTHN", "")}},
    {.name = "case90_authn_context_empty",
     .want = CK(AUTHN_STATEMENT),
     .set = {S("AUTHN_CTX", "<saml:AuthnContext></saml:AuthnContext>")}},
    {.name = "case91_authn_context_missing",
     .want = CK(AUTHN_STATEMENT),
     .set = {S("AUTHN_CTX", "")}},
    {.name = "case92_class_ref_empty", .want = CK(AUTHN_STATEMENT), .set = {S("ACR_VAL", "")}},
    {.name = "case93_class_ref_missing", .want = CK(AUTHN_STATEMENT), .set = {S("ACR", "")}},
    {.name = "case97_class_ref_legacy_urn",
     .want = CK(AUTHN_CONTEXT),
     .set = {S("ACR_VAL", "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL2")}},
    {.name = "class_ref_spidl4",
     .want = CK(AUTHN_CONTEXT),
     .set = {S("ACR_VAL", "https://www.spid.gov.it/SpidL4")}},
    {.name = "class_ref_password_protected",
     .want = CK(AUTHN_CONTEXT),
     .set = {S("ACR_VAL", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")}},
    LEVEL_ROW("case94_l1_minimum_l2", L1, 2, "minimum", CK(LEVEL)),
    LEVEL_ROW("case95_l2_minimum_l2", L2, 2, "minimum", OK),
    LEVEL_ROW("case96_l3_minimum_l2", L3, 2, "minimum", OK),
    LEVEL_ROW("case94_l1_exact_l2", L1, 2, "exact", CK(LEVEL)),
    LEVEL_ROW("case95_l2_exact_l2", L2, 2, "exact", OK),
    LEVEL_ROW("case96_l3_exact_l2", L3, 2, "exact", OK),
    LEVEL_ROW("case94_l1_better_l2", L1, 2, "better", CK(LEVEL)),
    LEVEL_ROW("case95_l2_better_l2", L2, 2, "better", CK(LEVEL)),
    LEVEL_ROW("case96_l3_better_l2", L3, 2, "better", OK),
    LEVEL_ROW("case94_l1_maximum_l2", L1, 2, "maximum", OK),
    LEVEL_ROW("case95_l2_maximum_l2", L2, 2, "maximum", OK),
    LEVEL_ROW("case96_l3_maximum_l2", L3, 2, "maximum", OK),
    LEVEL_ROW("level_l1_minimum_l1", L1, 1, "minimum", OK),
    LEVEL_ROW("level_l2_minimum_l3", L2, 3, "minimum", CK(LEVEL)),
    LEVEL_ROW("level_unknown_comparison", L2, 2, "atleast", CK(LEVEL)),

    /* AttributeStatement (RS-80..RS-82, cases 98, 99, 103). */
    {.name = "case98_attribute_statement_without_attribute",
     .want = CK(ATTRIBUTES),
     .set = {S("ATTR_LIST", "")}},
    {.name = "case99_attribute_without_value",
     .want = CK(ATTRIBUTES),
     .set = {S("ATTR_LIST",
               "<saml:Attribute Name=\"spidCode\" NameFormat=\"" BASIC "\"></saml:Attribute>")}},
    {.name = "attribute_value_empty", .want = CK(ATTRIBUTES), .set = {S("FISCAL", "")}},
    {.name = "attribute_value_whitespace", .want = CK(ATTRIBUTES), .set = {S("FISCAL", " \n ")}},
    {.name = "attribute_name_empty",
     .want = CK(ATTRIBUTES),
     .set = {S("ATTR_LIST", "<saml:Attribute Name=\"\"><saml:AttributeValue>x"
                            "</saml:AttributeValue></saml:Attribute>")}},
    {.name = "attribute_name_missing",
     .want = CK(ATTRIBUTES),
     .set = {S("ATTR_LIST", "<saml:Attribute><saml:AttributeValue>x"
                            "</saml:AttributeValue></saml:Attribute>")}},
    {.name = "attribute_repeated",
     .want = CK(ATTRIBUTES),
     .set = {S("ATTRS", "<saml:AttributeStatement>{ATTR_LIST}</saml:AttributeStatement>"
                        "<saml:AttributeStatement>" ATTR(
                            "fiscalNumber", "string",
                            "TINIT-XXXXXX00X00X000X") "</saml:AttributeStatement>")}},
    {.name = "case103_other_attribute_set_required_missing",
     .want = CK(ATTRIBUTE_MISSING),
     .set = {S("ATTR_LIST",
               ATTR("spidCode", "string", "AGID-001") ATTR("address", "string", "via Test"))}},
    {.name = "case103_other_attribute_set_nothing_required",
     .want = OK,
     .set = {S("ATTR_LIST",
               ATTR("spidCode", "string", "AGID-001") ATTR("address", "string", "via Test"))},
     .no_required = 1},
    {.name = "attribute_statement_absent_required",
     .want = CK(ATTRIBUTE_MISSING),
     .set = {S("ATTRS", "")}},
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

struct row_run {
    const struct row *row;
    enum base base;
    char name[128];
};

static void test_row(void **state)
{
    const struct row_run *run = *state;
    const struct row *row = run->row;
    struct sp_check_expect e;
    struct sp_check_result res;
    size_t len = 0;
    char *xml = build(row, run->base, &len);
    enum sp_check got;

    expect_init(&e, row);
    got = run_doc(xml, len, &e, &res);
    if (got != row->want)
        fail_msg("%s: got %s (%s), want %s", run->name, sp_check_name(got), res.detail,
                 sp_check_name(row->want));
    if (row->want == SP_CHECK_STATUS_FAILURE) {
        assert_int_equal(res.anomaly, row->want_anomaly);
        assert_string_equal(res.status_code, row->want_status ? row->want_status : "");
        assert_string_equal(res.sub_status, row->want_sub ? row->want_sub : "");
    } else {
        assert_int_equal(res.anomaly, 0);
    }
    if (got != SP_CHECK_OK)
        assert_true(res.detail[0] != '\0');
    free(xml);
}

/* ------------------------------------------------------------------------ */
/* Extraction and helpers                                                    */
/* ------------------------------------------------------------------------ */

static struct sp_spid_response *parse_ok(const struct row *row)
{
    struct sp_check_expect e;
    struct sp_check_result res;
    size_t len;
    char *xml = build(row, BASE_SIGNED, &len);
    struct sp_spid_response *r = sp_spid_response_parse(xml, len, &res);

    free(xml);
    assert_non_null(r);
    expect_init(&e, row);
    assert_int_equal(sp_spid_check_response(r, &e, &res), SP_CHECK_OK);
    return r;
}

static void test_extract(void **state)
{
    static const struct row pretty = {.name = "pretty",
                                      .set = {S("NID_VAL", "\n      _nid1\n    ")}};
    struct sp_spid_response *r = parse_ok(&pretty);
    struct sp_spid_assertion a;

    (void)state;
    assert_string_equal(sp_spid_response_in_response_to(r), REQ_ID);
    assert_int_equal(sp_spid_response_extract(r, &a), SP_OK);
    assert_string_equal(a.response_id, "_r1");
    assert_string_equal(a.assertion_id, "_a1");
    assert_string_equal(a.name_id, "_nid1");
    assert_string_equal(a.name_id_raw, "\n      _nid1\n    ");
    assert_string_equal(a.name_qualifier, IDP);
    assert_string_equal(a.session_index, "_s1");
    assert_int_equal(a.level, 2);
    assert_int_equal(a.not_on_or_after_ms, ms("2024-05-01T10:05:00Z"));
    assert_int_equal(a.n_attrs, 6);
    assert_string_equal(sp_spid_assertion_attr(&a, "fiscalNumber"), "TINIT-RSSMRA80A01H501U");
    assert_string_equal(sp_spid_assertion_attr(&a, "name"), "Maria Chiara");
    assert_string_equal(sp_spid_assertion_attr(&a, "familyName"), "D'Amico");
    assert_string_equal(sp_spid_assertion_attr(&a, "dateOfBirth"), "1980-01-31");
    assert_string_equal(sp_spid_assertion_attr(&a, "companyName"),
                        "Caff\xC3\xA8 dell'Universit\xC3\xA0 S.r.l.");
    assert_string_equal(sp_spid_assertion_attr(&a, "email"), "a@example.it b@example.it");
    assert_null(sp_spid_assertion_attr(&a, "mobilePhone"));
    assert_null(sp_spid_assertion_attr(NULL, "name"));
    sp_spid_assertion_cleanup(&a);
    assert_null(a.attrs);
    sp_spid_assertion_cleanup(&a); /* idempotent */
    sp_spid_assertion_cleanup(NULL);
    sp_spid_response_free(&r);
    sp_spid_response_free(&r);
    sp_spid_response_free(NULL);
}

static void test_extract_variants(void **state)
{
    static const struct row v = {.name = "variants",
                                 .set = {S("SESSIDX", ""), S("ACR_VAL", L3),
                                         S("FISCAL", "<![CDATA[TINIT-ABC]]>"), S("ATTR_NF", "")}};
    struct sp_spid_response *r = parse_ok(&v);
    struct sp_spid_assertion a;

    (void)state;
    assert_int_equal(sp_spid_response_extract(r, &a), SP_OK);
    assert_null(a.session_index);
    assert_int_equal(a.level, 3);
    assert_string_equal(sp_spid_assertion_attr(&a, "fiscalNumber"), "TINIT-ABC");
    sp_spid_assertion_cleanup(&a);
    sp_spid_response_free(&r);
}

static void test_extract_refused(void **state)
{
    static const struct row anomaly = {.name = "anomaly", .set = {ANOMALY_STATUS("19")}};
    struct sp_check_result res;
    struct sp_spid_assertion a;
    size_t len;
    char *xml = build(&anomaly, BASE_UNSIGNED, &len);
    struct sp_spid_response *r = sp_spid_response_parse(xml, len, &res);

    (void)state;
    assert_non_null(r);
    assert_int_equal(sp_spid_response_extract(r, &a), SP_ERR_INVALID);
    assert_null(a.name_id);
    assert_int_equal(sp_spid_response_extract(NULL, &a), SP_ERR_INVALID);
    assert_int_equal(sp_spid_check_response(NULL, &(struct sp_check_expect){0}, &res),
                     SP_CHECK_MALFORMED);
    sp_spid_response_free(&r);
    free(xml);
}

static void test_in_response_to(void **state)
{
    static const struct row none = {.name = "none", .set = {S("R_IRT", "")}};
    struct sp_check_result res;
    size_t len;
    char *xml = build(&none, BASE_SIGNED, &len);
    struct sp_spid_response *r = sp_spid_response_parse(xml, len, &res);

    (void)state;
    assert_non_null(r);
    assert_null(sp_spid_response_in_response_to(r));
    assert_null(sp_spid_response_in_response_to(NULL));
    sp_spid_response_free(&r);
    free(xml);
}

static void test_check_tables(void **state)
{
    (void)state;
    assert_string_equal(sp_check_name(SP_CHECK_AUDIENCE), "AUDIENCE");
    assert_string_equal(sp_check_rule(SP_CHECK_AUDIENCE), "RS-63");
    assert_int_equal(sp_check_http_status(SP_CHECK_OK), 200);
    assert_int_equal(sp_check_http_status(SP_CHECK_STATUS_FAILURE), 403);
    assert_non_null(sp_check_message(SP_CHECK_LEVEL));
    assert_string_equal(sp_check_name(SP_CHECK__COUNT), "UNKNOWN");
    assert_int_equal(sp_check_http_status((enum sp_check)999), 500);
    assert_non_null(sp_check_message(SP_CHECK__COUNT));
    for (int i = 0; i < SP_CHECK__COUNT; i++) {
        int st = sp_check_http_status((enum sp_check)i);
        assert_true(i == SP_CHECK_OK || (st >= 400 && st < 600));
    }
}

static void test_anomaly_texts(void **state)
{
    static const int user[] = {19, 20, 21, 22, 23, 25, 30};

    (void)state;
    for (size_t i = 0; i < sizeof(user) / sizeof(user[0]); i++) {
        assert_non_null(sp_anomaly_title(user[i]));
        assert_non_null(sp_anomaly_message(user[i]));
        assert_true(strlen(sp_anomaly_message(user[i])) > 40);
    }
    for (int code = 8; code <= 18; code++) {
        assert_non_null(sp_anomaly_title(code));
        assert_non_null(sp_anomaly_message(code));
    }
    assert_string_not_equal(sp_anomaly_message(19), sp_anomaly_message(25));
    assert_null(sp_anomaly_title(0));
    assert_null(sp_anomaly_title(24));
    assert_null(sp_anomaly_message(26));
    assert_null(sp_anomaly_message(99));
    assert_null(sp_anomaly_title(-1));
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_extract),         cmocka_unit_test(test_extract_variants),
        cmocka_unit_test(test_extract_refused), cmocka_unit_test(test_in_response_to),
        cmocka_unit_test(test_check_tables),    cmocka_unit_test(test_anomaly_texts),
    };
    size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
    struct row_run *runs = sp_xcalloc(2 * N_ROWS, sizeof(*runs));
    struct CMUnitTest *tests = sp_xcalloc(2 * N_ROWS + n_fixed, sizeof(*tests));
    size_t n = 0;
    int rc;

    xmlInitParser();
    sp_log_set_level(SP_LOG_WARN);
    for (size_t i = 0; i < N_ROWS; i++) {
        for (int b = BASE_SIGNED; b <= BASE_UNSIGNED; b++) {
            struct row_run *run = &runs[n];
            if (b == BASE_UNSIGNED && (rows[i].flags & ROW_SIGNED_ONLY))
                continue;
            run->row = &rows[i];
            run->base = (enum base)b;
            snprintf(run->name, sizeof(run->name), "%s/%s", rows[i].name,
                     b == BASE_SIGNED ? "signed" : "unsigned");
            tests[n].name = run->name;
            tests[n].test_func = test_row;
            tests[n].initial_state = run;
            n++;
        }
    }
    for (size_t i = 0; i < n_fixed; i++)
        tests[n++] = fixed[i];
    rc = _cmocka_run_group_tests("spid_checks", tests, n, NULL, NULL);
    free(tests);
    free(runs);
    xmlCleanupParser();
    return rc;
}
