/*
 * fuzz_idp_metadata: IdP metadata import (sp_idp_set_new over a file whose
 * content is the input): lasso's metadata parser plus our own reading of
 * endpoints and display names. The SP key and metadata are built once.
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/metadata.h"
#include "sp/saml.h"

static struct sp_config *cfg;
static struct sp_buf key, cert, md;
static char mdfile[300];

static void fuzz_setup(void)
{
    static char dir[] = "/tmp/fuzz-idpmd-XXXXXX";
    char ini[256];
    struct sp_buf err;
    FILE *fp;

    if (mkdtemp(dir) == NULL)
        abort();
    sp_log_set_level(SP_LOG_ERROR);
    snprintf(ini, sizeof(ini), "%s/sp.ini", dir);
    snprintf(mdfile, sizeof(mdfile), "%s/idp.xml", dir);
    fp = fopen(ini, "w");
    fprintf(fp, "[sp]\ndata_dir = %s\nidp_metadata = %s\n", dir, mdfile);
    fclose(fp);
    sp_buf_init(&err, 4096);
    if (sp_config_load(ini, &cfg, &err) != SP_OK || sp_saml_global_init() != SP_OK ||
        sp_cert_generate(cfg, 2048, 30, cfg->key_file, cfg->cert_file, &err) != SP_OK)
        abort();
    sp_buf_init(&key, 65536);
    sp_buf_init(&cert, 65536);
    sp_buf_init(&md, 1 << 20);
    if (sp_cert_load_pair(cfg->key_file, cfg->cert_file, &key, &cert, &err) != SP_OK ||
        sp_metadata_build(cfg, sp_buf_str(&key), sp_buf_str(&cert), &md, &err) != SP_OK)
        abort();
    sp_buf_cleanup(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_idp_set *set;

    if (cfg == NULL)
        fuzz_setup();
    if (sp_file_write_atomic(mdfile, data, size, 0600) != SP_OK)
        abort();
    set = sp_idp_set_new(cfg, sp_buf_str(&md), sp_buf_str(&key), sp_buf_str(&cert), NULL, 0);
    if (set != NULL) {
        /* whatever loaded must be internally consistent */
        for (unsigned i = 0; i < sp_idp_set_count(set); i++)
            if (!sp_idp_set_has(set, sp_idp_set_entity(set, i)) ||
                sp_idp_set_display_name(set, i) == NULL)
                abort();
    }
    sp_idp_set_free(&set);
    return 0;
}
