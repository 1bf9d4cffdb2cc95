/*
 * fuzz_cns_cn: the CNS Common Name parser (domain.md §3.3). Beyond "no
 * crash", it checks invariants: an accepted CN is exactly
 * CF "/" card id "." base64(hash) rebuilt from the parsed parts (so nothing
 * was normalised away), the CF is 16 upper-case alphanumerics or 11 digits,
 * the card id 16 digits with a valid Luhn digit; a refused CN leaves the
 * output zeroed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/cns.h"

#define FUZZ_CNS_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_cns_check_ok(const char *in, const struct sp_cns_cn *cn)
{
    size_t cf_len = strlen(cn->cf);
    struct sp_buf b;
    char rebuilt[128];

    if (cf_len != 16 && cf_len != 11)
        abort();
    for (const char *p = cn->cf; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            abort();
    if (strlen(cn->card_id) != SP_CNS_CARD_ID_LEN || !sp_cns_luhn_ok(cn->card_id))
        abort();
    sp_buf_init(&b, 64);
    if (sp_b64_encode(&b, cn->hash, sizeof(cn->hash)) != SP_OK)
        abort();
    snprintf(rebuilt, sizeof(rebuilt), "%s/%s.%s", cn->cf, cn->card_id, sp_buf_str(&b));
    sp_buf_cleanup(&b);
    if (strcmp(rebuilt, in) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char in[FUZZ_CNS_MAX_INPUT + 1];
    static const struct sp_cns_cn zero;
    struct sp_cns_cn cn;
    enum sp_cns_reason r;

    if (size > FUZZ_CNS_MAX_INPUT)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';

    r = sp_cns_parse_cn(in, &cn);
    if (r == SP_CNS_OK)
        fuzz_cns_check_ok(in, &cn);
    else if ((r != SP_CNS_BAD_CN && r != SP_CNS_BAD_CARD_ID && r != SP_CNS_BAD_CF) ||
             memcmp(&cn, &zero, sizeof(cn)) != 0)
        abort();
    (void)sp_cns_luhn_ok(in);
    return 0;
}
