/*
 * cf: codice fiscale and partita IVA validation (domain.md §2).
 *
 * Invariants: a code is accepted only after every step of §2.4 (natural
 * persons) or §2.6 (11-digit codes) passed, in that order, so the reason
 * returned is the first rule broken. The check character is always computed
 * on the original characters; omocodia is undone only in a working copy used
 * for the date and the birthplace, and never changes the stored form (each
 * omocodic spelling is a different person).
 */
#include <stddef.h>
#include <string.h>

#include "sp/cf.h"

#define CF_OFFICE_MAX_NON_VAT 95        /* office code limit for progressive >= 8000000 */
#define CF_PROGRESSIVE_NON_VAT 8000000u /* first progressive of non-VAT entities */
#define CF_MONTH_LETTERS "ABCDEHLMPRST" /* Jan..Dec */
#define CF_OMOCODE_LETTERS "LMNPQRSTUV" /* stand for 0..9 */
#define CF_VOWELS "AEIOU"
#define CF_DAY_FEMALE_OFFSET 40

/* Omocodic positions (0-based): 7, 8, 10, 11, 13, 14, 15 in 1-based terms. */
static const size_t cf_numeric_pos[] = {6, 7, 9, 10, 12, 13, 14};

/* Odd-position values for A..Z; a digit has the value of the letter in its column. */
static const unsigned char cf_odd_values[26] = {1,  0,  5, 7, 9, 13, 15, 17, 19, 21, 2,  4,  18,
                                                20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};

/*
 * Base letters for U+00C0..U+00FF (UTF-8 0xC3 0x80..0xBF); '.' = not a letter
 * we can map (Æ, ×, Þ, ß, ÷, þ), which is ignored like punctuation.
 */
static const char cf_latin1_base[] = "AAAAAA.CEEEEIIIIDNOOOOO.OUUUUY.."
                                     "AAAAAA.CEEEEIIIIDNOOOOO.OUUUUY.Y";

static void cf_why(const char **why, const char *reason)
{
    if (why != NULL)
        *why = reason;
}

static bool cf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool cf_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool cf_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Trim ASCII whitespace: start and len describe the remaining span of s. */
static void cf_trim(const char *s, const char **start, size_t *len)
{
    size_t n;

    while (cf_is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && cf_is_space(s[n - 1]))
        n--;
    *start = s;
    *len = n;
}

/*
 * Step 1 and 2 of §2.4 on a trimmed span: every character must be A-Z, a-z
 * or 0-9, and the length 16 or 11. out (SP_CF_MAX + 1 bytes) receives the
 * upper-case copy.
 */
static enum sp_err cf_upper(const char *s, size_t n, char out[SP_CF_MAX + 1], const char **why)
{
    if (n == 0) {
        cf_why(why, "empty code");
        return SP_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!cf_is_digit(c) && !cf_is_upper(c) && !(c >= 'a' && c <= 'z')) {
            cf_why(why, "illegal character (only letters and digits are allowed)");
            return SP_ERR_INVALID;
        }
    }
    if (n != SP_CF_PERSON_LEN && n != SP_CF_SHORT_LEN) {
        cf_why(why, "wrong length (16 or 11 characters expected)");
        return SP_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
    out[n] = '\0';
    return SP_OK;
}

/* A digit or an omocodia letter (L..V standing for 0..9). */
static bool cf_is_numeric(char c)
{
    return cf_is_digit(c) || (c != '\0' && strchr(CF_OMOCODE_LETTERS, c) != NULL);
}

/* Digit value of a numeric position, undoing omocodia. c must pass cf_is_numeric. */
static unsigned cf_numeric_value(char c)
{
    if (cf_is_digit(c))
        return (unsigned)(c - '0');
    return (unsigned)(strchr(CF_OMOCODE_LETTERS, c) - CF_OMOCODE_LETTERS);
}

static char cf_check_char(const char *s)
{
    unsigned sum = 0;

    for (size_t i = 0; i < SP_CF_PERSON_LEN - 1; i++) {
        unsigned idx = cf_is_digit(s[i]) ? (unsigned)(s[i] - '0') : (unsigned)(s[i] - 'A');
        /* position i + 1 is odd when i is even */
        sum += (i % 2 == 0) ? cf_odd_values[idx] : idx;
    }
    return (char)('A' + sum % 26);
}

static bool cf_is_leap(unsigned year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned cf_days_in_month(unsigned year, unsigned month)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mdays[month - 1] + (month == 2 && cf_is_leap(year) ? 1u : 0u);
}

/* §2.4 steps 3-7 on an upper-case 16-character code; info (may be NULL) receives the data. */
static enum sp_err cf_check16(const char *s, struct sp_cf_info *info, const char **why)
{
    const char *month_pos;
    unsigned yy, month, day;
    char sex = 'M';

    for (size_t i = 0; i < 6; i++)
        if (!cf_is_upper(s[i])) {
            cf_why(why, "surname and name code must be six letters");
            return SP_ERR_INVALID;
        }
    for (size_t i = 0; i < sizeof(cf_numeric_pos) / sizeof(cf_numeric_pos[0]); i++)
        if (!cf_is_numeric(s[cf_numeric_pos[i]])) {
            cf_why(why, "letter in a numeric position (not an omocodia letter)");
            return SP_ERR_INVALID;
        }
    month_pos = strchr(CF_MONTH_LETTERS, s[8]);
    if (s[8] == '\0' || month_pos == NULL) {
        cf_why(why, "not a month letter");
        return SP_ERR_INVALID;
    }
    if (!cf_is_upper(s[11])) {
        cf_why(why, "birthplace code must start with a letter");
        return SP_ERR_INVALID;
    }
    if (!cf_is_upper(s[15])) {
        cf_why(why, "check character must be a letter");
        return SP_ERR_INVALID;
    }
    yy = cf_numeric_value(s[6]) * 10 + cf_numeric_value(s[7]);
    month = (unsigned)(month_pos - CF_MONTH_LETTERS) + 1;
    day = cf_numeric_value(s[9]) * 10 + cf_numeric_value(s[10]);
    if (day > CF_DAY_FEMALE_OFFSET) {
        day -= CF_DAY_FEMALE_OFFSET;
        sex = 'F';
    }
    if (day < 1 || day > 31) {
        cf_why(why, "day out of range (1-31 men, 41-71 women)");
        return SP_ERR_INVALID;
    }
    /* the century is not encoded: the date must exist in 19YY or in 20YY */
    if (day > cf_days_in_month(1900 + yy, month) && day > cf_days_in_month(2000 + yy, month)) {
        cf_why(why, "birth date does not exist");
        return SP_ERR_INVALID;
    }
    if (cf_check_char(s) != s[15]) {
        cf_why(why, "wrong check character");
        return SP_ERR_INVALID;
    }
    if (info != NULL) {
        info->yy = yy;
        info->month = month;
        info->day = day;
        info->sex = sex;
        info->place[0] = s[11];
        for (size_t i = 0; i < 3; i++)
            info->place[i + 1] = (char)('0' + cf_numeric_value(s[12 + i]));
        info->place[4] = '\0';
    }
    return SP_OK;
}

/* What a valid 11-digit code stands for (§2.6). */
enum cf_short_class { CF_SHORT_COMPANY, CF_SHORT_PROVISIONAL };

/* §2.6 on an 11-character code: digits, check digit, progressive, office code. */
static enum sp_err cf_check11(const char *s, enum cf_short_class *cls, const char **why)
{
    unsigned sum = 0, progressive = 0, office = 0;

    for (size_t i = 0; i < SP_CF_SHORT_LEN; i++)
        if (!cf_is_digit(s[i])) {
            cf_why(why, "11-character code must be all digits");
            return SP_ERR_INVALID;
        }
    for (size_t i = 0; i < SP_CF_SHORT_LEN - 1; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (i % 2 == 1) { /* even 1-based position: doubled, minus 9 above 9 */
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    if ((10 - sum % 10) % 10 != (unsigned)(s[10] - '0')) {
        cf_why(why, "wrong check digit");
        return SP_ERR_INVALID;
    }
    for (size_t i = 0; i < 7; i++)
        progressive = progressive * 10 + (unsigned)(s[i] - '0');
    for (size_t i = 7; i < 10; i++)
        office = office * 10 + (unsigned)(s[i] - '0');
    if (progressive == 0) {
        cf_why(why, "progressive number is zero");
        return SP_ERR_INVALID;
    }
    if ((office >= 1 && office <= 100) || office == 120 || office == 121 || office == 888 ||
        office == 999) {
        if (progressive >= CF_PROGRESSIVE_NON_VAT && office > CF_OFFICE_MAX_NON_VAT) {
            cf_why(why, "non-VAT entity code with office code above 095");
            return SP_ERR_INVALID;
        }
        *cls = CF_SHORT_COMPANY;
        return SP_OK;
    }
    if ((office >= 151 && office <= 245) || (office >= 301 && office <= 766) ||
        (office >= 900 && office <= 950)) {
        *cls = CF_SHORT_PROVISIONAL;
        return SP_OK;
    }
    if (office == 0) {
        /* ex-officio provisional codes: valid only in ranges we do not have */
        cf_why(why, "office code 000 (ex-officio provisional code) is not accepted");
        return SP_ERR_INVALID;
    }
    cf_why(why, "office code not allowed");
    return SP_ERR_INVALID;
}

/* A person's code from an already trimmed span (see sp_cf_normalize). */
static enum sp_err cf_person(const char *s, size_t n, char out[SP_CF_MAX + 1],
                             enum sp_cf_kind *kind, struct sp_cf_info *info, const char **why)
{
    char code[SP_CF_MAX + 1];
    enum cf_short_class cls;
    enum sp_err rc;

    out[0] = '\0';
    rc = cf_upper(s, n, code, why);
    if (rc != SP_OK)
        goto out;
    if (n == SP_CF_PERSON_LEN) {
        rc = cf_check16(code, info, why);
        if (rc == SP_OK && kind != NULL)
            *kind = SP_CF_KIND_PERSON;
        goto out;
    }
    rc = cf_check11(code, &cls, why);
    if (rc != SP_OK)
        goto out;
    if (cls == CF_SHORT_COMPANY) {
        cf_why(why, "company or entity code, not a natural person's");
        rc = SP_ERR_INVALID;
        goto out;
    }
    if (kind == NULL || info != NULL) {
        cf_why(why, "provisional 11-digit code not accepted here");
        rc = SP_ERR_INVALID;
        goto out;
    }
    *kind = SP_CF_KIND_PROVISIONAL;
out:
    if (rc == SP_OK)
        memcpy(out, code, n + 1);
    return rc;
}

enum sp_err sp_cf_normalize(const char *in, char out[SP_CF_MAX + 1], enum sp_cf_kind *kind,
                            const char **why)
{
    const char *s;
    size_t n;

    out[0] = '\0';
    if (in == NULL) {
        cf_why(why, "missing code");
        return SP_ERR_INVALID;
    }
    cf_trim(in, &s, &n);
    return cf_person(s, n, out, kind, NULL, why);
}

/* Trim value and strip prefix (case-sensitive); the rest is the span s, n. */
static enum sp_err cf_strip_prefix(const char *value, const char *prefix, const char **s, size_t *n,
                                   const char **why)
{
    size_t plen = strlen(prefix);

    if (value == NULL) {
        cf_why(why, "missing attribute value");
        return SP_ERR_INVALID;
    }
    cf_trim(value, s, n);
    if (*n < plen || memcmp(*s, prefix, plen) != 0) {
        cf_why(why, "missing country prefix (TINIT- or VATIT-)");
        return SP_ERR_INVALID;
    }
    *s += plen;
    *n -= plen;
    return SP_OK;
}

enum sp_err sp_cf_from_spid(const char *fiscal_number, char out[SP_CF_MAX + 1],
                            enum sp_cf_kind *kind, const char **why)
{
    const char *s;
    size_t n;
    enum sp_err rc;

    out[0] = '\0';
    rc = cf_strip_prefix(fiscal_number, SP_CF_SPID_PREFIX, &s, &n, why);
    if (rc == SP_OK)
        rc = cf_person(s, n, out, kind, NULL, why);
    return rc;
}

enum sp_err sp_cf_decode(const char *cf, struct sp_cf_info *info, const char **why)
{
    char code[SP_CF_MAX + 1];
    const char *s;
    size_t n;
    enum sp_err rc;

    memset(info, 0, sizeof(*info));
    if (cf == NULL) {
        cf_why(why, "missing code");
        return SP_ERR_INVALID;
    }
    cf_trim(cf, &s, &n);
    /* info != NULL makes cf_person refuse provisional codes: they encode nothing */
    rc = cf_person(s, n, code, NULL, info, why);
    if (rc != SP_OK)
        memset(info, 0, sizeof(*info));
    return rc;
}

/* Companies */

/* 11-digit company code from a trimmed span. */
static enum sp_err cf_company(const char *s, size_t n, char out[SP_CF_SHORT_LEN + 1],
                              const char **why)
{
    char code[SP_CF_MAX + 1];
    enum cf_short_class cls;
    enum sp_err rc;

    if (out != NULL)
        out[0] = '\0';
    rc = cf_upper(s, n, code, why);
    if (rc != SP_OK)
        goto out;
    if (n != SP_CF_SHORT_LEN) {
        cf_why(why, "wrong length (11 digits expected)");
        rc = SP_ERR_INVALID;
        goto out;
    }
    rc = cf_check11(code, &cls, why);
    if (rc != SP_OK)
        goto out;
    if (cls != CF_SHORT_COMPANY) {
        cf_why(why, "provisional natural-person code, not a company's");
        rc = SP_ERR_INVALID;
        goto out;
    }
    if (out != NULL)
        memcpy(out, code, SP_CF_SHORT_LEN + 1);
out:
    return rc;
}

enum sp_err sp_cf_piva_validate(const char *in, char out[SP_CF_SHORT_LEN + 1], const char **why)
{
    const char *s;
    size_t n;

    if (out != NULL)
        out[0] = '\0';
    if (in == NULL) {
        cf_why(why, "missing code");
        return SP_ERR_INVALID;
    }
    cf_trim(in, &s, &n);
    return cf_company(s, n, out, why);
}

enum sp_err sp_cf_company_from_spid(const char *company_fiscal_number,
                                    char out[SP_CF_SHORT_LEN + 1], const char **why)
{
    const char *s;
    size_t n;
    enum sp_err rc;

    out[0] = '\0';
    rc = cf_strip_prefix(company_fiscal_number, SP_CF_SPID_PREFIX, &s, &n, why);
    if (rc == SP_OK)
        rc = cf_company(s, n, out, why);
    return rc;
}

enum sp_err sp_cf_vat_from_spid(const char *iva_code, char out[SP_CF_SHORT_LEN + 1],
                                const char **why)
{
    const char *s;
    size_t n;
    enum sp_err rc;

    out[0] = '\0';
    rc = cf_strip_prefix(iva_code, SP_CF_VAT_PREFIX, &s, &n, why);
    if (rc == SP_OK)
        rc = cf_company(s, n, out, why);
    return rc;
}

/* Surname and name codes (§2.1) */

struct cf_letters {
    char cons[4]; /* first four consonants */
    char vow[3];  /* first three vowels */
    size_t ncons; /* all consonants seen (may exceed 4) */
    size_t nvow;
};

static void cf_letters_add(struct cf_letters *l, char c)
{
    if (strchr(CF_VOWELS, c) != NULL) {
        if (l->nvow < sizeof(l->vow))
            l->vow[l->nvow] = c;
        l->nvow++;
    } else {
        if (l->ncons < sizeof(l->cons))
            l->cons[l->ncons] = c;
        l->ncons++;
    }
}

/* Collect the letters of a UTF-8 name: ASCII letters and Latin-1 accented letters. */
static void cf_letters_scan(const char *s, struct cf_letters *l)
{
    const unsigned char *p = (const unsigned char *)s;

    memset(l, 0, sizeof(*l));
    while (*p != '\0') {
        unsigned char c = *p;
        if (c >= 'a' && c <= 'z') {
            cf_letters_add(l, (char)(c - 'a' + 'A'));
        } else if (c >= 'A' && c <= 'Z') {
            cf_letters_add(l, (char)c);
        } else if (c == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
            char base = cf_latin1_base[p[1] - 0x80];
            if (base != '.')
                cf_letters_add(l, base);
            p++;
        }
        /* anything else (spaces, apostrophes, other scripts) is ignored */
        p++;
    }
}

static enum sp_err cf_code(const char *name, bool given, char out[SP_CF_NAME_CODE_LEN + 1])
{
    struct cf_letters l;
    size_t k = 0;

    memset(out, 0, SP_CF_NAME_CODE_LEN + 1);
    if (name == NULL)
        return SP_ERR_INVALID;
    cf_letters_scan(name, &l);
    if (l.ncons + l.nvow == 0)
        return SP_ERR_INVALID;
    if (given && l.ncons >= 4) {
        out[0] = l.cons[0];
        out[1] = l.cons[2];
        out[2] = l.cons[3];
        return SP_OK;
    }
    for (size_t i = 0; i < l.ncons && i < sizeof(l.cons) && k < SP_CF_NAME_CODE_LEN; i++)
        out[k++] = l.cons[i];
    for (size_t i = 0; i < l.nvow && i < sizeof(l.vow) && k < SP_CF_NAME_CODE_LEN; i++)
        out[k++] = l.vow[i];
    while (k < SP_CF_NAME_CODE_LEN)
        out[k++] = 'X';
    return SP_OK;
}

enum sp_err sp_cf_surname_code(const char *surname, char out[SP_CF_NAME_CODE_LEN + 1])
{
    return cf_code(surname, false, out);
}

enum sp_err sp_cf_name_code(const char *name, char out[SP_CF_NAME_CODE_LEN + 1])
{
    return cf_code(name, true, out);
}

/* "YYYY-MM-DD", a real calendar date. */
static enum sp_err cf_parse_date(const char *s, unsigned *year, unsigned *month, unsigned *day)
{
    unsigned v[3] = {0, 0, 0};
    static const size_t widths[3] = {4, 2, 2};
    const char *p = s;

    for (size_t f = 0; f < 3; f++) {
        for (size_t i = 0; i < widths[f]; i++, p++) {
            if (!cf_is_digit(*p))
                return SP_ERR_INVALID;
            v[f] = v[f] * 10 + (unsigned)(*p - '0');
        }
        if (*p != (f < 2 ? '-' : '\0'))
            return SP_ERR_INVALID;
        p++;
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > cf_days_in_month(v[0], v[1]))
        return SP_ERR_INVALID;
    *year = v[0];
    *month = v[1];
    *day = v[2];
    return SP_OK;
}

enum sp_err sp_cf_matches_person(const char *cf, const char *surname, const char *name,
                                 const char *birth_date, char sex, unsigned *mismatch,
                                 const char **why)
{
    struct sp_cf_info info;
    char code[SP_CF_MAX + 1];
    char scode[SP_CF_NAME_CODE_LEN + 1], ncode[SP_CF_NAME_CODE_LEN + 1];
    unsigned year = 0, month = 0, day = 0, bits = 0;
    const char *first = NULL, *s;
    size_t n;
    enum sp_err rc;

    *mismatch = 0;
    cf_why(why, NULL);
    memset(&info, 0, sizeof(info));
    if (cf == NULL) {
        cf_why(why, "missing code");
        rc = SP_ERR_INVALID;
        goto out;
    }
    cf_trim(cf, &s, &n);
    rc = cf_person(s, n, code, NULL, &info, why);
    if (rc != SP_OK)
        goto out;
    rc = SP_ERR_INVALID;
    if (birth_date != NULL && cf_parse_date(birth_date, &year, &month, &day) != SP_OK) {
        cf_why(why, "birth date must be a real date as YYYY-MM-DD");
        goto out;
    }
    if (sex != '\0' && sex != 'M' && sex != 'F') {
        cf_why(why, "sex must be M or F");
        goto out;
    }
    if (surname != NULL && sp_cf_surname_code(surname, scode) != SP_OK) {
        cf_why(why, "surname has no letters");
        goto out;
    }
    if (name != NULL && sp_cf_name_code(name, ncode) != SP_OK) {
        cf_why(why, "given name has no letters");
        goto out;
    }
    rc = SP_OK;
    if (surname != NULL && memcmp(scode, code, SP_CF_NAME_CODE_LEN) != 0) {
        bits |= SP_CF_MISMATCH_SURNAME;
        first = first ? first : "surname does not match the code";
    }
    if (name != NULL && memcmp(ncode, code + 3, SP_CF_NAME_CODE_LEN) != 0) {
        bits |= SP_CF_MISMATCH_NAME;
        first = first ? first : "given name does not match the code";
    }
    if (birth_date != NULL && (year % 100 != info.yy || month != info.month || day != info.day)) {
        bits |= SP_CF_MISMATCH_BIRTH_DATE;
        first = first ? first : "birth date does not match the code";
    }
    if (sex != '\0' && sex != info.sex) {
        bits |= SP_CF_MISMATCH_SEX;
        first = first ? first : "sex does not match the code";
    }
    *mismatch = bits;
    cf_why(why, first);
out:
    return rc;
}
