/*
 * fuzz_b64: base64 decoding of untrusted text (SAMLResponse). Invariants:
 * whatever decodes re-encodes to something that decodes to the same bytes,
 * and encoding any bytes round-trips exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/b64.h"
#include "sp/buf.h"

#define FUZZ_B64_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_buf dec, enc, again;

    sp_buf_init(&dec, FUZZ_B64_MAX);
    sp_buf_init(&enc, FUZZ_B64_MAX * 2);
    sp_buf_init(&again, FUZZ_B64_MAX);

    if (sp_b64_decode(&dec, (const char *)data, size) == SP_OK) {
        if (sp_b64_encode(&enc, dec.data, dec.len) != SP_OK)
            abort();
        if (sp_b64_decode(&again, sp_buf_str(&enc), enc.len) != SP_OK || again.len != dec.len ||
            (dec.len > 0 && memcmp(again.data, dec.data, dec.len) != 0))
            abort();
    }

    sp_buf_reset(&enc);
    sp_buf_reset(&again);
    if (sp_b64_encode(&enc, data, size) != SP_OK)
        abort();
    if (sp_b64_decode(&again, sp_buf_str(&enc), enc.len) != SP_OK || again.len != size ||
        (size > 0 && memcmp(again.data, data, size) != 0))
        abort();

    sp_buf_cleanup(&dec);
    sp_buf_cleanup(&enc);
    sp_buf_cleanup(&again);
    return 0;
}
