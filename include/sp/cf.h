/*
 * cf: codice fiscale (natural persons, 16 characters or 11-digit provisional)
 * and partita IVA / company fiscal code (11 digits) validation, exactly as in
 * domain.md §2.4 and §2.6, plus decoding of birth data and the surname/name
 * codes of §2.1 for consistency checks. Pure functions: no I/O, no allocation.
 * Every "why" out-parameter receives a short static English reason (never
 * freed, valid forever); it may be NULL when the caller does not want it.
 */
#ifndef SP_CF_H
#define SP_CF_H

#include <stdbool.h>

#include "sp/err.h"

#define SP_CF_MAX 16        /* longest codice fiscale (natural person) */
#define SP_CF_PERSON_LEN 16 /* ordinary natural-person code */
#define SP_CF_SHORT_LEN 11  /* provisional natural-person code, company code, partita IVA */
#define SP_CF_NAME_CODE_LEN 3
#define SP_CF_SPID_PREFIX "TINIT-" /* fiscalNumber, companyFiscalNumber */
#define SP_CF_VAT_PREFIX "VATIT-"  /* ivaCode */

/* What a valid person code is: an ordinary 16-character code or a provisional one. */
enum sp_cf_kind { SP_CF_KIND_PERSON, SP_CF_KIND_PROVISIONAL };

/* Mismatch bits reported by sp_cf_matches_person(). */
#define SP_CF_MISMATCH_SURNAME 0x01u
#define SP_CF_MISMATCH_NAME 0x02u
#define SP_CF_MISMATCH_BIRTH_DATE 0x04u
#define SP_CF_MISMATCH_SEX 0x08u

/* Birth data decoded from a 16-character code (omocodia undone). */
struct sp_cf_info {
    unsigned yy;    /* last two digits of the birth year; the century is not encoded */
    unsigned month; /* 1..12 */
    unsigned day;   /* 1..31 (40 already subtracted for women) */
    char sex;       /* 'M' or 'F' */
    char place[5];  /* Belfiore code, e.g. "H501" or "Z404" */
};

/* Natural persons */

/*
 * Validate a person's codice fiscale (§2.4): trim, upper-case, then length,
 * syntax, day, calendar and check character. On SP_OK out holds the
 * upper-case code (store that form). When kind is NULL only 16-character codes
 * are accepted; otherwise an 11-digit provisional natural-person code (§2.6
 * office ranges 151-245, 301-766, 900-950) is accepted too and reported as
 * SP_CF_KIND_PROVISIONAL. Fails with SP_ERR_INVALID; out is then "" and
 * *why says why.
 */
enum sp_err sp_cf_normalize(const char *in, char out[SP_CF_MAX + 1], enum sp_cf_kind *kind,
                            const char **why);

/*
 * SPID fiscalNumber: the value must be "TINIT-" + code (prefix case-sensitive,
 * surrounding whitespace ignored). The prefix is stripped and the code
 * validated as by sp_cf_normalize(), with the same meaning of kind.
 */
enum sp_err sp_cf_from_spid(const char *fiscal_number, char out[SP_CF_MAX + 1],
                            enum sp_cf_kind *kind, const char **why);

/*
 * Decode birth date, sex and birthplace from a valid 16-character code (any
 * case). SP_ERR_INVALID if cf is not valid; *info is then zeroed.
 */
enum sp_err sp_cf_decode(const char *cf, struct sp_cf_info *info, const char **why);

/*
 * Surname and given-name codes of §2.1 from UTF-8 names: accents of Latin-1
 * letters stripped, non-letters ignored, padded with X; the given-name code
 * takes consonants 1, 3 and 4 when there are four or more. out receives three
 * upper-case letters + NUL. SP_ERR_INVALID when the name holds no letter.
 */
enum sp_err sp_cf_surname_code(const char *surname, char out[SP_CF_NAME_CODE_LEN + 1]);
enum sp_err sp_cf_name_code(const char *name, char out[SP_CF_NAME_CODE_LEN + 1]);

/*
 * Consistency of a valid 16-character code with registry data (§2.4 step 9):
 * surname, given name(s), birth date "YYYY-MM-DD" and sex 'M'/'F'. A NULL
 * field (or sex '\0') is not compared. Returns SP_OK when the comparison ran,
 * with *mismatch = OR of SP_CF_MISMATCH_* bits (0: consistent) and *why the
 * first mismatch (NULL if none). SP_ERR_INVALID for an invalid or provisional
 * code, a malformed date or sex, or a name without letters. A mismatch is a
 * warning: only the tax register is authoritative.
 */
enum sp_err sp_cf_matches_person(const char *cf, const char *surname, const char *name,
                                 const char *birth_date, char sex, unsigned *mismatch,
                                 const char **why);

/* Companies and other non-natural persons */

/*
 * Partita IVA or company/entity fiscal code (§2.6): 11 digits after trimming,
 * Luhn-variant check digit, office code 001-100, 120, 121, 888 or 999, office
 * at most 095 when the progressive number is 8000000 or more, progressive
 * number not zero. Provisional natural-person codes are refused. out (may be
 * NULL) receives the trimmed digits.
 */
enum sp_err sp_cf_piva_validate(const char *in, char out[SP_CF_SHORT_LEN + 1], const char **why);

/* SPID companyFiscalNumber ("TINIT-" + 11 digits) and ivaCode ("VATIT-" + 11 digits). */
enum sp_err sp_cf_company_from_spid(const char *company_fiscal_number,
                                    char out[SP_CF_SHORT_LEN + 1], const char **why);
enum sp_err sp_cf_vat_from_spid(const char *iva_code, char out[SP_CF_SHORT_LEN + 1],
                                const char **why);

#endif /* SP_CF_H */
