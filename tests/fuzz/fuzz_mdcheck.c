/*
 * fuzz_mdcheck: the metadata checker over arbitrary bytes, as SP and as IdP
 * metadata: parsing, schema validation, signature and rule checks must never
 * crash or leak, whatever the document.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sp/log.h"
#include "sp/mdcheck.h"
#include "sp/report.h"
#include "sp/saml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct sp_report r;

    if (!ready) {
        sp_log_set_level(SP_LOG_ERROR);
        if (sp_saml_global_init() != SP_OK)
            abort();
        ready = 1;
    }
    for (int role = SP_MD_ROLE_AUTO; role <= SP_MD_ROLE_IDP; role++) {
        sp_report_init(&r, "metadata", "fuzz");
        sp_mdcheck_run((const char *)data, size, (enum sp_md_role)role, SP_MD_PROFILE_AUTO, &r);
        sp_report_cleanup(&r);
    }
    return 0;
}
