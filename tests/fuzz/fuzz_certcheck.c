/*
 * fuzz_certcheck: `spid-sp check-cert` on arbitrary bytes, once as given
 * (PEM when there is a "-----BEGIN" line, else DER) and once wrapped in PEM
 * armour, so the DER parser is also reached through the PEM reader. Beyond
 * "no crash": a report always exists, CERT-parse comes alone and only with
 * SP_ERR_INVALID, every finding has an id and a one-line message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/certcheck.h"
#include "sp/report.h"

#define FUZZ_CERTCHECK_PEM_LINE 64
#define FUZZ_CERTCHECK_NOW 1767225600 /* 2026-01-01T00:00:00Z: runs are reproducible */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_certcheck_one(const char *data, size_t size, enum sp_cert_profile profile)
{
    struct sp_report r;
    enum sp_err rc;

    sp_report_init(&r, "certificate", "fuzz");
    rc = sp_certcheck_run(data, size, profile, FUZZ_CERTCHECK_NOW, &r);
    if (rc != SP_OK && rc != SP_ERR_INVALID)
        abort();
    if ((rc == SP_ERR_INVALID) != sp_report_has(&r, "CERT-parse"))
        abort();
    if (rc == SP_ERR_INVALID && r.n != 1)
        abort();
    for (unsigned i = 0; i < r.n; i++)
        if (r.items[i].id[0] == '\0' || strchr(r.items[i].message, '\n') != NULL)
            abort();
    sp_report_cleanup(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_buf b64, pem;
    int ok;

    if (size > SP_CERTCHECK_MAX_INPUT)
        return 0;
    fuzz_certcheck_one((const char *)data, size, SP_CERT_PROFILE_AUTO);
    /* the armoured form must stay within the checker's input bound */
    if (size > SP_CERTCHECK_MAX_INPUT / 2)
        return 0;
    sp_buf_init(&b64, 2 * SP_CERTCHECK_MAX_INPUT);
    sp_buf_init(&pem, 2 * SP_CERTCHECK_MAX_INPUT);
    ok = sp_b64_encode(&b64, data, size) == SP_OK &&
         sp_buf_adds(&pem, "-----BEGIN CERTIFICATE-----\n") == SP_OK;
    for (size_t i = 0; ok && i < b64.len; i += FUZZ_CERTCHECK_PEM_LINE)
        ok = sp_buf_add(&pem, b64.data + i,
                        b64.len - i < FUZZ_CERTCHECK_PEM_LINE ? b64.len - i
                                                              : FUZZ_CERTCHECK_PEM_LINE) == SP_OK &&
             sp_buf_addc(&pem, '\n') == SP_OK;
    if (ok && sp_buf_adds(&pem, "-----END CERTIFICATE-----\n") == SP_OK)
        fuzz_certcheck_one(pem.data, pem.len,
                           size > 0 && (data[0] & 1) ? SP_CERT_PROFILE_PRIVATE
                                                     : SP_CERT_PROFILE_PUBLIC);
    sp_buf_cleanup(&b64);
    sp_buf_cleanup(&pem);
    return 0;
}
