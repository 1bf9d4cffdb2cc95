/*
 * fuzz_registry: the SPID registry aggregate verifier (sp_registry_verify,
 * with a fixed pinned public key and a fixed clock) and the standalone IdP
 * metadata extraction (sp_registry_entity_parse), both over the same input.
 * The signed seeds in corpus/registry/ were made once by
 * tests/fixtures/registry/make_registry.py; its registry-pub.pem is FUZZ_PIN
 * below and the private half was thrown away. FUZZ_NOW_MS is that run's
 * generation time, so good.xml verifies (validUntil + 30 days) and
 * expired.xml does not, whatever the date of the fuzzing run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/log.h"
#include "sp/registry.h"
#include "sp/saml.h"

#define FUZZ_NOW_MS INT64_C(1795348330000)

static const char FUZZ_PIN[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0hVvYA+3wz8UPuflcnAI\n"
                               "TC7p0YYfpDPTKyMt/QNiVt10RMN1GHVHQgTaZIDu6mU54okym7aeFdW4RC3/WU+U\n"
                               "JkdO1Sn8BEn9EXSVIOIIkRlENgx/hcUwIRkuffcKdyt0uQFjYluOrQ+qIJgqx4yR\n"
                               "UjaqWPuNRRDKan6BK2KOSf0IL84wbUdA3Qc8aZ1ilzgGTLFOFpYur0Ctk/eaTlkR\n"
                               "P9+tdJJ007qly73riV3RGAJ/V+eg43KITM2xMI4wDcFrl32i9RSzkMQmzlsH4XR8\n"
                               "KLaoT+gNzLWHkdaGWRSePMypAHG5gBnSeWUTM/a6ab1ccKAaZV7xfEDNiAO+Vz+C\n"
                               "FwIDAQAB\n"
                               "-----END PUBLIC KEY-----\n";

/* What any extracted entity must satisfy. */
static void fuzz_check_entity(const struct sp_registry_entity *e, int reparse)
{
    struct sp_registry_entity again;

    if (e->entity_id == NULL || e->entity_id[0] == '\0' || e->display_name == NULL ||
        e->xml == NULL || e->xml_len != strlen(e->xml) || e->n_certs > SP_REGISTRY_MAX_CERTS ||
        (e->n_certs > 0 && e->certs == NULL))
        abort();
    for (unsigned j = 0; j < e->n_certs; j++)
        if (e->certs[j].subject == NULL || strlen(e->certs[j].sha256) != 64)
            abort();
    if (!reparse)
        return;
    /* the standalone copy yields the same entity */
    if (sp_registry_entity_parse(e->xml, e->xml_len, &again, NULL) != SP_OK)
        abort();
    if (strcmp(again.entity_id, e->entity_id) != 0 || again.n_certs != e->n_certs)
        abort();
    fuzz_check_entity(&again, 0);
    sp_registry_entity_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct sp_registry_doc doc;
    struct sp_registry_entity e;
    const char *reason = NULL;
    struct sp_buf err;

    if (!ready) {
        sp_log_set_level(SP_LOG_ERROR);
        if (sp_saml_global_init() != SP_OK)
            abort();
        ready = 1;
    }
    sp_buf_init(&err, 4096);
    if (sp_registry_verify((const char *)data, size, FUZZ_PIN, FUZZ_NOW_MS, NULL, true, &doc,
                           &reason, &err) == SP_OK) {
        if (strcmp(reason, "ok") != 0 || doc.n_entities == 0 || doc.valid_until_ms <= FUZZ_NOW_MS)
            abort();
        for (unsigned i = 0; i < doc.n_entities; i++)
            fuzz_check_entity(&doc.entities[i], 1);
        sp_registry_doc_cleanup(&doc);
    } else if (reason == NULL || strcmp(reason, "ok") == 0 || err.len == 0) {
        abort();
    }
    sp_buf_reset(&err);
    if (sp_registry_entity_parse((const char *)data, size, &e, &err) == SP_OK) {
        fuzz_check_entity(&e, 1);
        sp_registry_entity_cleanup(&e);
    }
    sp_buf_cleanup(&err);
    return 0;
}
