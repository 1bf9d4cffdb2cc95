/*
 * fuzz_cf: codice fiscale / partita IVA validation and name codes. Beyond
 * "no crash", it checks invariants: an accepted code is its own normal form,
 * 16 upper-case letters/digits or 11 digits; the SPID form agrees with the
 * bare form; decode succeeds exactly for accepted 16-character codes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/cf.h"

#define FUZZ_CF_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_cf_check_form(const char *out, size_t want_len)
{
    if (strlen(out) != want_len)
        abort();
    for (const char *p = out; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char in[FUZZ_CF_MAX_INPUT + 1];
    static char spid[sizeof(SP_CF_SPID_PREFIX) + FUZZ_CF_MAX_INPUT];
    char out[SP_CF_MAX + 1], again[SP_CF_MAX + 1], viaspid[SP_CF_MAX + 1];
    char piva[SP_CF_SHORT_LEN + 1], code[SP_CF_NAME_CODE_LEN + 1];
    enum sp_cf_kind kind = SP_CF_KIND_PERSON, kind2 = SP_CF_KIND_PERSON;
    struct sp_cf_info info;
    const char *why = NULL;
    unsigned mismatch;
    enum sp_err rc, rc16;

    if (size > FUZZ_CF_MAX_INPUT)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';

    rc = sp_cf_normalize(in, out, &kind, &why);
    if (rc == SP_OK) {
        fuzz_cf_check_form(out, kind == SP_CF_KIND_PERSON ? SP_CF_PERSON_LEN : SP_CF_SHORT_LEN);
        if (sp_cf_normalize(out, again, &kind2, &why) != SP_OK || strcmp(out, again) != 0 ||
            kind2 != kind)
            abort();
    } else if (why == NULL || out[0] != '\0') {
        abort();
    }

    rc16 = sp_cf_normalize(in, out, NULL, &why);
    if (rc16 == SP_OK && (rc != SP_OK || kind != SP_CF_KIND_PERSON))
        abort();
    if ((sp_cf_decode(in, &info, &why) == SP_OK) != (rc16 == SP_OK))
        abort();
    if (rc16 == SP_OK && (info.month < 1 || info.month > 12 || info.day < 1 || info.day > 31 ||
                          info.yy > 99 || (info.sex != 'M' && info.sex != 'F')))
        abort();

    /* "TINIT-" + input must agree with the bare input when it has no outer space */
    memcpy(spid, SP_CF_SPID_PREFIX, strlen(SP_CF_SPID_PREFIX));
    memcpy(spid + strlen(SP_CF_SPID_PREFIX), in, size + 1);
    if (size > 0 && in[0] != ' ' && (unsigned char)in[0] > ' ' &&
        (sp_cf_from_spid(spid, viaspid, &kind2, &why) == SP_OK) != (rc == SP_OK))
        abort();

    if (sp_cf_piva_validate(in, piva, &why) == SP_OK)
        fuzz_cf_check_form(piva, SP_CF_SHORT_LEN);
    (void)sp_cf_company_from_spid(in, piva, &why);
    (void)sp_cf_vat_from_spid(in, piva, &why);

    if (sp_cf_surname_code(in, code) == SP_OK)
        fuzz_cf_check_form(code, SP_CF_NAME_CODE_LEN);
    if (sp_cf_name_code(in, code) == SP_OK)
        fuzz_cf_check_form(code, SP_CF_NAME_CODE_LEN);
    (void)sp_cf_matches_person("RSSMRA80A01H501U", in, in, in, 'M', &mismatch, &why);
    if (rc16 == SP_OK)
        (void)sp_cf_matches_person(in, "Rossi", "Mario", "1980-01-01", 'M', &mismatch, &why);
    return 0;
}
