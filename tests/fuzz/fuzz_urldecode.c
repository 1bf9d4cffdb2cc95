/*
 * fuzz_urldecode: form/query decoding of untrusted bytes. Invariants: the
 * result never holds a NUL, and quote_plus encoding of the result decodes
 * back to it exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/str.h"

#define FUZZ_URL_MAX (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_buf dec, enc, again;

    sp_buf_init(&dec, FUZZ_URL_MAX);
    sp_buf_init(&enc, FUZZ_URL_MAX * 3);
    sp_buf_init(&again, FUZZ_URL_MAX);

    if (sp_url_decode(&dec, (const char *)data, size) == SP_OK) {
        if (dec.len > size || (dec.len > 0 && memchr(dec.data, '\0', dec.len) != NULL))
            abort();
        if (sp_url_encode(&enc, sp_buf_str(&dec), dec.len) != SP_OK)
            abort();
        if (sp_url_decode(&again, sp_buf_str(&enc), enc.len) != SP_OK || again.len != dec.len ||
            (dec.len > 0 && memcmp(again.data, dec.data, dec.len) != 0))
            abort();
    }
    /* what we encode must decode to the same bytes (NUL excepted: refused by design) */
    if (size <= FUZZ_URL_MAX && memchr(data, '\0', size) == NULL) {
        sp_buf_reset(&enc);
        sp_buf_reset(&again);
        if (sp_url_encode(&enc, (const char *)data, size) != SP_OK)
            abort();
        if (sp_url_decode(&again, sp_buf_str(&enc), enc.len) != SP_OK || again.len != size ||
            (size > 0 && memcmp(again.data, data, size) != 0))
            abort();
    }

    sp_buf_cleanup(&dec);
    sp_buf_cleanup(&enc);
    sp_buf_cleanup(&again);
    return 0;
}
