/*
 * fuzz_response: the SPID check layer on a decoded Response (sp/spid_checks.c).
 * Parse, check against one fixed expectation (the one the seed corpus was
 * written for), extract, free everything. Invariants: parse fails exactly
 * when it returns NULL; a STATUS_FAILURE is the only code with an anomaly;
 * an accepted Response always extracts, with a non-empty NameID, a level in
 * 1..3 and every required attribute present. Extraction of a refused
 * Response must not crash either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "sp/clock.h"
#include "sp/log.h"
#include "sp/spid_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_response_required[] = {"fiscalNumber"};

static void fuzz_response_init(struct sp_check_expect *e)
{
    static int ready;

    if (!ready) {
        xmlInitParser();
        sp_log_set_level(SP_LOG_ERROR);
        ready = 1;
    }
    memset(e, 0, sizeof(*e));
    e->request_id = "_req1";
    e->idp_entity_id = "https://idp.example.it";
    e->acs_url = "https://sp.example.it/acs";
    e->sp_entity_id = "https://sp.example.it";
    e->level = 2;
    e->comparison = "minimum";
    e->skew_sec = 60;
    e->required_attrs = fuzz_response_required;
    e->n_required = 1;
    if (sp_time_parse("2024-05-01T10:00:00Z", &e->request_issue_ms) != SP_OK ||
        sp_time_parse("2024-05-01T10:00:02Z", &e->now_ms) != SP_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_check_expect e;
    struct sp_check_result res;
    struct sp_spid_assertion a;
    struct sp_spid_response *r;
    enum sp_check code;
    enum sp_err rc;

    fuzz_response_init(&e);
    r = sp_spid_response_parse(data, size, &res);
    if ((r == NULL) != (res.code != SP_CHECK_OK))
        abort();
    if (r == NULL)
        return 0;
    (void)sp_spid_response_in_response_to(r);
    code = sp_spid_check_response(r, &e, &res);
    if (code != res.code || (code != SP_CHECK_STATUS_FAILURE && res.anomaly != 0))
        abort();
    if (sp_check_message(code) == NULL || sp_check_name(code) == NULL ||
        sp_check_http_status(code) < 200)
        abort();
    (void)sp_anomaly_message(res.anomaly);
    rc = sp_spid_response_extract(r, &a);
    if (code == SP_CHECK_OK) {
        if (rc != SP_OK || a.name_id == NULL || a.name_id[0] == '\0' || a.level < 1 ||
            a.level > 3 || sp_spid_assertion_attr(&a, "fiscalNumber") == NULL)
            abort();
    }
    if (rc != SP_OK && a.name_id != NULL)
        abort();
    sp_spid_assertion_cleanup(&a);
    sp_spid_response_free(&r);
    return 0;
}
