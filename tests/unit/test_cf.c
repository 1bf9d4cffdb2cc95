/*
 * test_cf: codice fiscale and partita IVA validation against every vector of
 * domain.md §2.5 and §2.6, the name-code examples of §2.1, SPID prefixes and
 * the consistency check. Table rows are registered as separate cmocka tests
 * named "<table>:<input>", so one vector can be run alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/cf.h"

/* Tables */

struct person_row {
    const char *surname, *name;
    char sex;
    const char *birth; /* YYYY-MM-DD */
    const char *place;
    const char *cf;
};

/* §2.5 valid table */
static const struct person_row valid_people[] = {
    {"Rossi", "Mario", 'M', "1980-01-01", "H501", "RSSMRA80A01H501U"},
    {"Bianchi", "Giulia", 'F', "1992-03-25", "F205", "BNCGLI92C65F205C"},
    {"Esposito", "Gianfranco", 'M', "1975-11-30", "F839", "SPSGFR75S30F839F"},
    {"Fo", "Dario", 'M', "1926-03-24", "L219", "FOXDRA26C24L219Y"},
    {"Aiello", "Anna", 'F', "2001-12-05", "A944", "LLANNA01T45A944M"},
    {"Smith", "John", 'M', "1990-06-09", "Z404", "SMTJHN90H09Z404X"},
    {"Ferrari", "Lucia", 'F', "1968-08-01", "L219", "FRRLCU68M41L219B"},
    {"D'Angelo", "Maria Grazia", 'F', "1955-02-28", "D612", "DNGMGR55B68D612Q"},
    {"Verdi", "Luca", 'M', "2004-10-10", "G273", "VRDLCU04R10G273G"},
    {"Re", "Ugo", 'M', "1970-05-31", "Z110", "REXGUO70E31Z110Z"},
};

struct accept_row {
    const char *input;
    const char *expect; /* normalised form */
};

/* §2.5 omocodic variants, published vectors, lower case; plus leap-day and boundary cases */
static const struct accept_row valid_extra[] = {
    {"RSSMRA80A01H50MM", "RSSMRA80A01H50MM"},
    {"RSSMRA80A01H5LMX", "RSSMRA80A01H5LMX"},
    {"RSSMRAULALMHRLMD", "RSSMRAULALMHRLMD"},
    {"BRNGNN71B26L219T", "BRNGNN71B26L219T"},
    {"CCCFBA85D03L219P", "CCCFBA85D03L219P"},
    {"CCCFBA85D03L21VE", "CCCFBA85D03L21VE"},
    {"CCCFBA85DL3LNMVP", "CCCFBA85DL3LNMVP"},
    {"BLSLGS84C22Z145O", "BLSLGS84C22Z145O"},
    {"rssmra80a01h501u", "RSSMRA80A01H501U"},
    {"RsSmRa80A01h501U", "RSSMRA80A01H501U"},
    {"  RSSMRA80A01H501U\t\n", "RSSMRA80A01H501U"},
    {"RSSMRA00B29H501Y", "RSSMRA00B29H501Y"}, /* 29 Feb 2000 */
    {"RSSMRA80A31H501X", "RSSMRA80A31H501X"}, /* 31 January */
    {"RSSMRA80A41H501Y", "RSSMRA80A41H501Y"}, /* woman, day 1 */
    {"RSSMRA80A71H501B", "RSSMRA80A71H501B"}, /* woman, day 31 */
};

struct reject_row {
    const char *input;
    const char *why; /* substring of the reason */
};

/* §2.5 invalid table, in order, then our own edge cases */
static const struct reject_row invalid_cf[] = {
    {"RSSMRA80A01H501X", "check character"},
    {"RSSMRA80A01H501", "wrong length"},
    {"RSSMRA80F01H501G", "month letter"},
    {"RSSMRA80A32H501C", "day out of range"},
    {"RSSMRA80A72H501G", "day out of range"},
    {"RSSMRA80A00H501V", "day out of range"},
    {"RSSMRA80B30H501X", "does not exist"},
    {"RSSMRA8OA01H501I", "numeric position"},
    {"RSSMRA80A01H50MU", "check character"},
    {"RSSMRA80A01H501-", "illegal character"},
    {"", "empty"},
    {"   ", "empty"},
    {"RSSMRA80 A01H501U", "illegal character"},
    {"RSSMRA80A01H501UU", "wrong length"},
    {"RSSMRÀ80A01H501U", "illegal character"},
    {"RSSMRA01B29H501Z", "does not exist"}, /* 29 Feb 1901 / 2001 */
    {"RSSMRA80D31H501D", "does not exist"}, /* 31 April */
    {"RSSMRA80A40H501Z", "day out of range"},
    {"RSSMRA80Z01H501Q", "month letter"},
    {"RSSMRA80A01H5O1I", "numeric position"},
    {"RSSMR480A01H501U", "six letters"},
    {"RSSMRA80A011501U", "birthplace"},
    {"RSSMRA80A01H5011", "check character must be a letter"},
    {"12345670017", "not a natural person"},
    {"00159560367", "check digit"},
};

struct code_row {
    const char *input;
    int given; /* 0 surname rule, 1 given-name rule */
    const char *expect;
};

/* §2.1 examples, plus accents and odd spellings */
static const struct code_row name_codes[] = {
    {"Rossi", 0, "RSS"},      {"Bianchi", 0, "BNC"},
    {"D'Angelo", 0, "DNG"},   {"De Luca", 0, "DLC"},
    {"Aiello", 0, "LLA"},     {"Fo", 0, "FOX"},
    {"Re", 0, "REX"},         {"Mario", 1, "MRA"},
    {"Giulia", 1, "GLI"},     {"Gianfranco", 1, "GFR"},
    {"Alessandro", 1, "LSN"}, {"Maria Grazia", 1, "MGR"},
    {"Anna", 1, "NNA"},       {"Ugo", 1, "GUO"},
    {"Bo", 1, "BOX"},         {"Esposito", 0, "SPS"},
    {"Dario", 1, "DRA"},      {"Gianfranco", 0, "GNF"}, /* the 1-3-4 rule is for given names only */
    {"Nicolò", 1, "NCL"},     {"Niccolò", 1, "NCL"}, /* N C C L: four consonants -> 1st, 3rd, 4th */
    {"ÀÈÌ", 0, "AEI"},        {"è", 1, "EXX"},
    {"o'neill", 0, "NLL"},    {"  x  ", 0, "XXX"},
    {"Jöns Wÿk", 1, "JSW"},
};

struct piva_row {
    const char *input;
    int valid;
    const char *why; /* substring of the reason when invalid */
};

/* §2.6 table, then office-code ranges at their edges */
static const struct piva_row piva_rows[] = {
    {"00159560366", 1, NULL},
    {"01636120634", 1, NULL},
    {"01463240745", 1, NULL},
    {"12345670017", 1, NULL},
    {"07612340583", 1, NULL},
    {"97735020584", 1, NULL},
    {"00159560367", 0, "check digit"},
    {"12345678903", 0, "office code not allowed"},
    {"98765431204", 0, "above 095"},
    {"00000000000", 0, "progressive number is zero"},
    {"0015956036A", 0, "all digits"},
    {"0015956036-", 0, "illegal character"},
    {"0015956036", 0, "wrong length"},
    {" 00159560366 ", 1, NULL},
    {"80000000952", 1, NULL},
    {"80000000960", 0, "above 095"},
    {"80000001208", 0, "above 095"},
    {"99999998885", 0, "above 095"},
    {"12345671015", 0, "office code not allowed"},
    {"12345671205", 1, NULL},
    {"12345671213", 1, NULL},
    {"12345678887", 1, NULL},
    {"12345679992", 1, NULL},
    {"12345671502", 0, "office code not allowed"},
    {"12345671510", 0, "provisional"},
    {"12345677673", 0, "office code not allowed"},
    {"12345670009", 0, "000"},
    {"00000000018", 0, "progressive number is zero"},
    {"RSSMRA80A01H501U", 0, "wrong length"},
    {"", 0, "empty"},
};

/* Per-row cases */

static void test_valid_person(void **state)
{
    const struct person_row *r = *state;
    char out[SP_CF_MAX + 1];
    enum sp_cf_kind kind = SP_CF_KIND_PROVISIONAL;
    const char *why = "unset";
    struct sp_cf_info info;
    unsigned mismatch = 99;
    unsigned year = (unsigned)strtoul(r->birth, NULL, 10);
    unsigned month = (unsigned)strtoul(r->birth + 5, NULL, 10);
    unsigned day = (unsigned)strtoul(r->birth + 8, NULL, 10);

    assert_int_equal(sp_cf_normalize(r->cf, out, &kind, &why), SP_OK);
    assert_string_equal(out, r->cf);
    assert_int_equal(kind, SP_CF_KIND_PERSON);

    assert_int_equal(sp_cf_decode(r->cf, &info, &why), SP_OK);
    assert_int_equal(info.yy, year % 100);
    assert_int_equal(info.month, month);
    assert_int_equal(info.day, day);
    assert_int_equal(info.sex, r->sex);
    assert_string_equal(info.place, r->place);

    why = "unset";
    assert_int_equal(
        sp_cf_matches_person(r->cf, r->surname, r->name, r->birth, r->sex, &mismatch, &why), SP_OK);
    assert_int_equal(mismatch, 0);
    assert_null(why);
}

static void test_valid_extra(void **state)
{
    const struct accept_row *r = *state;
    char out[SP_CF_MAX + 1];
    const char *why = NULL;

    assert_int_equal(sp_cf_normalize(r->input, out, NULL, &why), SP_OK);
    assert_string_equal(out, r->expect);
}

static void test_invalid_cf(void **state)
{
    const struct reject_row *r = *state;
    char out[SP_CF_MAX + 1] = "garbage";
    enum sp_cf_kind kind = SP_CF_KIND_PERSON;
    const char *why = NULL;

    assert_int_equal(sp_cf_normalize(r->input, out, &kind, &why), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_non_null(why);
    if (strstr(why, r->why) == NULL)
        fail_msg("reason \"%s\" does not contain \"%s\"", why, r->why);
}

static void test_name_code(void **state)
{
    const struct code_row *r = *state;
    char out[SP_CF_NAME_CODE_LEN + 1];

    if (r->given)
        assert_int_equal(sp_cf_name_code(r->input, out), SP_OK);
    else
        assert_int_equal(sp_cf_surname_code(r->input, out), SP_OK);
    assert_string_equal(out, r->expect);
}

static void test_piva(void **state)
{
    const struct piva_row *r = *state;
    char out[SP_CF_SHORT_LEN + 1] = "garbage";
    const char *why = NULL;
    enum sp_err rc = sp_cf_piva_validate(r->input, out, &why);

    if (r->valid) {
        assert_int_equal(rc, SP_OK);
        assert_int_equal(strlen(out), SP_CF_SHORT_LEN);
        assert_non_null(strstr(r->input, out));
        return;
    }
    assert_int_equal(rc, SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_non_null(why);
    if (strstr(why, r->why) == NULL)
        fail_msg("reason \"%s\" does not contain \"%s\"", why, r->why);
}

/* Single cases */

static void test_null_inputs(void **state)
{
    char out[SP_CF_MAX + 1] = "x";
    struct sp_cf_info info;
    const char *why = NULL;
    unsigned mismatch = 7;

    assert_int_equal(sp_cf_normalize(NULL, out, NULL, &why), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_string_equal(why, "missing code");
    assert_int_equal(sp_cf_piva_validate(NULL, NULL, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_from_spid(NULL, out, NULL, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_decode(NULL, &info, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_matches_person(NULL, "Rossi", NULL, NULL, 0, &mismatch, &why),
                     SP_ERR_INVALID);
    assert_int_equal(mismatch, 0);
    assert_int_equal(sp_cf_surname_code(NULL, out), SP_ERR_INVALID);
    /* why may be NULL */
    assert_int_equal(sp_cf_normalize("RSSMRA80A01H501X", out, NULL, NULL), SP_ERR_INVALID);
    assert_int_equal(sp_cf_piva_validate("00159560366", NULL, NULL), SP_OK);
}

static void test_provisional_person(void **state)
{
    char out[SP_CF_MAX + 1];
    enum sp_cf_kind kind = SP_CF_KIND_PERSON;
    const char *why = NULL;
    struct sp_cf_info info;

    /* office 151 is a provisional natural-person code */
    assert_int_equal(sp_cf_normalize("12345671510", out, &kind, &why), SP_OK);
    assert_string_equal(out, "12345671510");
    assert_int_equal(kind, SP_CF_KIND_PROVISIONAL);
    /* other edges of the provisional ranges */
    assert_int_equal(sp_cf_normalize("12345672468", out, &kind, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_normalize("12345672450", out, &kind, &why), SP_OK);
    assert_int_equal(sp_cf_normalize("12345673003", out, &kind, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_normalize("12345673011", out, &kind, &why), SP_OK);
    assert_int_equal(sp_cf_normalize("12345677665", out, &kind, &why), SP_OK);
    assert_int_equal(sp_cf_normalize("12345678994", out, &kind, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_normalize("12345679000", out, &kind, &why), SP_OK);
    assert_int_equal(sp_cf_normalize("12345679505", out, &kind, &why), SP_OK);
    assert_int_equal(sp_cf_normalize("12345679513", out, &kind, &why), SP_ERR_INVALID);
    /* without a kind out-parameter only 16-character codes pass */
    assert_int_equal(sp_cf_normalize("12345671510", out, NULL, &why), SP_ERR_INVALID);
    assert_non_null(strstr(why, "provisional"));
    /* a provisional code encodes no birth data */
    assert_int_equal(sp_cf_decode("12345671510", &info, &why), SP_ERR_INVALID);
    assert_int_equal(info.month, 0);
}

static void test_from_spid(void **state)
{
    char out[SP_CF_MAX + 1];
    enum sp_cf_kind kind = SP_CF_KIND_PROVISIONAL;
    const char *why = NULL;

    assert_int_equal(sp_cf_from_spid("TINIT-RSSMRA80A01H501U", out, &kind, &why), SP_OK);
    assert_string_equal(out, "RSSMRA80A01H501U");
    assert_int_equal(kind, SP_CF_KIND_PERSON);
    assert_int_equal(sp_cf_from_spid(" TINIT-rssmra80a01h501u\n", out, NULL, &why), SP_OK);
    assert_string_equal(out, "RSSMRA80A01H501U");
    assert_int_equal(sp_cf_from_spid("TINIT-12345671510", out, &kind, &why), SP_OK);
    assert_int_equal(kind, SP_CF_KIND_PROVISIONAL);
}

static void test_from_spid_rejects(void **state)
{
    static const char *const bad[] = {
        "RSSMRA80A01H501U",
        "tinit-RSSMRA80A01H501U",
        "TINIT RSSMRA80A01H501U",
        "TINIT-",
        "TINIT",
        "TINIT- RSSMRA80A01H501U",
        "VATIT-RSSMRA80A01H501U",
        "TINIT-RSSMRA80A01H501X",
        "TINIT-TINIT-RSSMRA80A01H501U",
        "TINIT-12345670017",
        "",
        "IT-RSSMRA80A01H501U",
    };
    char out[SP_CF_MAX + 1];
    const char *why;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(out, "garbage", sizeof("garbage"));
        why = NULL;
        if (sp_cf_from_spid(bad[i], out, NULL, &why) != SP_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_string_equal(out, "");
        assert_non_null(why);
    }
    assert_int_equal(sp_cf_from_spid("RSSMRA80A01H501U", out, NULL, &why), SP_ERR_INVALID);
    assert_non_null(strstr(why, "prefix"));
}

static void test_company_from_spid(void **state)
{
    char out[SP_CF_SHORT_LEN + 1];
    const char *why = NULL;

    assert_int_equal(sp_cf_company_from_spid("TINIT-97735020584", out, &why), SP_OK);
    assert_string_equal(out, "97735020584");
    assert_int_equal(sp_cf_vat_from_spid("VATIT-00159560366", out, &why), SP_OK);
    assert_string_equal(out, "00159560366");
    assert_int_equal(sp_cf_vat_from_spid("TINIT-00159560366", out, &why), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(sp_cf_company_from_spid("VATIT-00159560366", out, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_company_from_spid("TINIT-00159560367", out, &why), SP_ERR_INVALID);
    assert_non_null(strstr(why, "check digit"));
    assert_int_equal(sp_cf_company_from_spid("TINIT-RSSMRA80A01H501U", out, &why), SP_ERR_INVALID);
    assert_int_equal(sp_cf_vat_from_spid("VATIT-12345671510", out, &why), SP_ERR_INVALID);
    assert_non_null(strstr(why, "provisional"));
}

static void test_decode_omocodic(void **state)
{
    struct sp_cf_info info;
    const char *why = NULL;

    /* all seven positions substituted: still Mario Rossi's data */
    assert_int_equal(sp_cf_decode("rssmraulalmhrlmd", &info, &why), SP_OK);
    assert_int_equal(info.yy, 80);
    assert_int_equal(info.month, 1);
    assert_int_equal(info.day, 1);
    assert_int_equal(info.sex, 'M');
    assert_string_equal(info.place, "H501");
    assert_int_equal(sp_cf_decode("CCCFBA85DL3LNMVP", &info, &why), SP_OK);
    assert_int_equal(info.yy, 85);
    assert_int_equal(info.month, 4);
    assert_int_equal(info.day, 3);
    assert_string_equal(info.place, "L219");
    assert_int_equal(sp_cf_decode("RSSMRA80A01H501X", &info, &why), SP_ERR_INVALID);
    assert_int_equal(info.yy, 0);
    assert_string_equal(info.place, "");
}

static void test_omocodic_not_collapsed(void **state)
{
    char a[SP_CF_MAX + 1], b[SP_CF_MAX + 1];
    const char *why = NULL;

    /* each spelling is a different person: the stored forms must differ */
    assert_int_equal(sp_cf_normalize("RSSMRA80A01H501U", a, NULL, &why), SP_OK);
    assert_int_equal(sp_cf_normalize("RSSMRA80A01H50MM", b, NULL, &why), SP_OK);
    assert_string_not_equal(a, b);
}

static void test_matches_person_mismatch(void **state)
{
    unsigned mismatch = 0;
    const char *why = NULL;

    assert_int_equal(sp_cf_matches_person("RSSMRA80A01H501U", "Verdi", "Mario", "1980-01-01", 'M',
                                          &mismatch, &why),
                     SP_OK);
    assert_int_equal(mismatch, SP_CF_MISMATCH_SURNAME);
    assert_string_equal(why, "surname does not match the code");

    assert_int_equal(sp_cf_matches_person("RSSMRA80A01H501U", "Rossi", "Marta", "1980-01-01", 'F',
                                          &mismatch, &why),
                     SP_OK);
    assert_int_equal(mismatch, SP_CF_MISMATCH_NAME | SP_CF_MISMATCH_SEX);
    assert_string_equal(why, "given name does not match the code");

    assert_int_equal(sp_cf_matches_person("RSSMRA80A01H501U", "Rossi", "Mario", "1980-01-02", 'M',
                                          &mismatch, &why),
                     SP_OK);
    assert_int_equal(mismatch, SP_CF_MISMATCH_BIRTH_DATE);

    /* the century is not encoded: 2080 matches "80" too */
    assert_int_equal(
        sp_cf_matches_person("RSSMRA80A01H501U", NULL, NULL, "2080-01-01", 'M', &mismatch, &why),
        SP_OK);
    assert_int_equal(mismatch, 0);

    assert_int_equal(
        sp_cf_matches_person("BNCGLI92C65F205C", NULL, NULL, NULL, 'M', &mismatch, &why), SP_OK);
    assert_int_equal(mismatch, SP_CF_MISMATCH_SEX);
    assert_string_equal(why, "sex does not match the code");

    /* an omocodic spelling still carries the same person data */
    assert_int_equal(sp_cf_matches_person("RSSMRAULALMHRLMD", "Rossi", "Mario", "1980-01-01", 'M',
                                          &mismatch, &why),
                     SP_OK);
    assert_int_equal(mismatch, 0);

    /* accents and case in the registry data do not matter */
    assert_int_equal(sp_cf_matches_person("dngmgr55b68d612q", "D’ANGELÒ", "maria grazia",
                                          "1955-02-28", 'F', &mismatch, &why),
                     SP_OK);
    assert_int_equal(mismatch, 0);
}

static void test_matches_person_bad_input(void **state)
{
    unsigned mismatch = 5;
    const char *why = NULL;
    static const char *const bad_dates[] = {"1980-1-01",  "1980/01/01",  "1980-13-01",
                                            "1980-02-30", "1980-01-01x", "80-01-01",
                                            "",           "1980-00-10",  "1900-02-29"};

    for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
        why = NULL;
        if (sp_cf_matches_person("RSSMRA80A01H501U", NULL, NULL, bad_dates[i], 0, &mismatch,
                                 &why) != SP_ERR_INVALID)
            fail_msg("accepted date \"%s\"", bad_dates[i]);
        assert_non_null(strstr(why, "birth date"));
    }
    assert_int_equal(
        sp_cf_matches_person("RSSMRA80A01H501U", NULL, NULL, "2000-02-29", 0, &mismatch, &why),
        SP_OK);
    assert_int_equal(mismatch, SP_CF_MISMATCH_BIRTH_DATE);
    assert_int_equal(
        sp_cf_matches_person("RSSMRA80A01H501U", NULL, NULL, NULL, 'm', &mismatch, &why),
        SP_ERR_INVALID);
    assert_string_equal(why, "sex must be M or F");
    assert_int_equal(
        sp_cf_matches_person("RSSMRA80A01H501U", "'- ", NULL, NULL, 0, &mismatch, &why),
        SP_ERR_INVALID);
    assert_string_equal(why, "surname has no letters");
    assert_int_equal(
        sp_cf_matches_person("RSSMRA80A01H501X", "Rossi", NULL, NULL, 0, &mismatch, &why),
        SP_ERR_INVALID);
    assert_non_null(strstr(why, "check character"));
    assert_int_equal(sp_cf_matches_person("12345671510", "Rossi", NULL, NULL, 0, &mismatch, &why),
                     SP_ERR_INVALID);
    assert_int_equal(mismatch, 0);
}

static void test_name_code_no_letters(void **state)
{
    char out[SP_CF_NAME_CODE_LEN + 1] = "zzz";

    assert_int_equal(sp_cf_surname_code("", out), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(sp_cf_name_code("' - 123", out), SP_ERR_INVALID);
    assert_int_equal(sp_cf_name_code("\xc3", out), SP_ERR_INVALID); /* truncated UTF-8 */
    assert_int_equal(sp_cf_name_code("\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", out),
                     SP_ERR_INVALID); /* Cyrillic only */
}

/* Runner: fixed cases, then one test per table row named after the row */

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_null_inputs),
    cmocka_unit_test(test_provisional_person),
    cmocka_unit_test(test_from_spid),
    cmocka_unit_test(test_from_spid_rejects),
    cmocka_unit_test(test_company_from_spid),
    cmocka_unit_test(test_decode_omocodic),
    cmocka_unit_test(test_omocodic_not_collapsed),
    cmocka_unit_test(test_matches_person_mismatch),
    cmocka_unit_test(test_matches_person_bad_input),
    cmocka_unit_test(test_name_code_no_letters),
};

#define NTESTS                                                                                     \
    (NROWS(fixed_tests) + NROWS(valid_people) + NROWS(valid_extra) + NROWS(invalid_cf) +           \
     NROWS(name_codes) + NROWS(piva_rows))

static struct CMUnitTest all_tests[NTESTS];
static char names[NTESTS][64];
static size_t ntests;

static void add_row(const char *table, const char *input, CMUnitTestFunction fn, const void *row)
{
    struct CMUnitTest *t = &all_tests[ntests];

    snprintf(names[ntests], sizeof(names[ntests]), "%s:%s", table, input);
    t->name = names[ntests];
    t->test_func = fn;
    t->setup_func = NULL;
    t->teardown_func = NULL;
    t->initial_state = (void *)row;
    ntests++;
}

int main(void)
{
    for (size_t i = 0; i < NROWS(fixed_tests); i++)
        all_tests[ntests++] = fixed_tests[i];
    for (size_t i = 0; i < NROWS(valid_people); i++)
        add_row("valid", valid_people[i].cf, test_valid_person, &valid_people[i]);
    for (size_t i = 0; i < NROWS(valid_extra); i++)
        add_row("valid_extra", valid_extra[i].input, test_valid_extra, &valid_extra[i]);
    for (size_t i = 0; i < NROWS(invalid_cf); i++)
        add_row("invalid", invalid_cf[i].input, test_invalid_cf, &invalid_cf[i]);
    for (size_t i = 0; i < NROWS(name_codes); i++)
        add_row(name_codes[i].given ? "name_code" : "surname_code", name_codes[i].input,
                test_name_code, &name_codes[i]);
    for (size_t i = 0; i < NROWS(piva_rows); i++)
        add_row("piva", piva_rows[i].input, test_piva, &piva_rows[i]);
    return _cmocka_run_group_tests("cf", all_tests, ntests, NULL, NULL);
}
