/*
 * cli_keys: `spid-sp keygen` (RSA key + SPID SP certificate) and
 * `spid-sp metadata` (our signed metadata to stdout or a file).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/cli.h"
#include "sp/config.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/metadata.h"
#include "sp/saml.h"
#include "sp/str.h"

int sp_cli_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"bits", required_argument, NULL, 'b'},
        {"days", required_argument, NULL, 'd'},   {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: spid-sp keygen [--config FILE] [--bits 2048|3072|4096] [--days N] [--force]\n";
    const char *config = NULL;
    uint64_t bits = SP_CERT_DEFAULT_BITS, days = SP_CERT_DEFAULT_DAYS;
    int force = 0, c, status = 1;
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    sp_buf_init(&err, 4096);
    while ((c = getopt_long(argc, argv, "c:b:d:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'b':
            if (sp_parse_uint(optarg, 2048, 4096, &bits) != SP_OK ||
                (bits != 2048 && bits != 3072 && bits != 4096)) {
                fprintf(stderr, "spid-sp keygen: --bits must be 2048, 3072 or 4096\n");
                return 2;
            }
            break;
        case 'd':
            if (sp_parse_uint(optarg, 1, SP_CERT_MAX_DAYS, &days) != SP_OK) {
                fprintf(stderr, "spid-sp keygen: --days must be 1-%d\n", SP_CERT_MAX_DAYS);
                return 2;
            }
            break;
        case 'f':
            force = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    cfg = sp_cli_load_config(config);
    if (cfg == NULL)
        goto out;
    if (!force && sp_file_exists(cfg->key_file) == SP_OK) {
        fprintf(stderr, "spid-sp keygen: %s exists; use --force to replace it\n", cfg->key_file);
        goto out;
    }
    if (sp_file_mkdirs(cfg->data_dir, 0700) != SP_OK) {
        fprintf(stderr, "spid-sp keygen: cannot create %s\n", cfg->data_dir);
        goto out;
    }
    if (sp_cert_generate(cfg, (unsigned)bits, (unsigned)days, cfg->key_file, cfg->cert_file,
                         &err) != SP_OK) {
        fprintf(stderr, "spid-sp keygen: %s\n", sp_buf_str(&err));
        goto out;
    }
    printf("wrote %s (RSA %u bits, mode 0600) and %s (%u days)\n", cfg->key_file, (unsigned)bits,
           cfg->cert_file, (unsigned)days);
    status = 0;
out:
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
    return status;
}

int sp_cli_metadata(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] = "usage: spid-sp metadata [--config FILE] [--out FILE]\n";
    const char *config = NULL, *outfile = NULL;
    int c, status = 1;
    struct sp_config *cfg = NULL;
    struct sp_buf key, cert, md, err;

    sp_buf_init(&key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&cert, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&md, 1u << 20);
    sp_buf_init(&err, 4096);
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'o':
            outfile = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    cfg = sp_cli_load_config(config);
    if (cfg == NULL || sp_saml_global_init() != SP_OK)
        goto out;
    if (sp_cert_load_pair(cfg->key_file, cfg->cert_file, &key, &cert, &err) != SP_OK ||
        sp_cert_check_config(sp_buf_str(&cert), cfg, &err) != SP_OK ||
        sp_metadata_build(cfg, sp_buf_str(&key), sp_buf_str(&cert), &md, &err) != SP_OK) {
        fprintf(stderr, "spid-sp metadata: %s\n", sp_buf_str(&err));
        goto out;
    }
    if (outfile != NULL) {
        if (sp_file_write_atomic(outfile, md.data, md.len, 0644) != SP_OK) {
            fprintf(stderr, "spid-sp metadata: cannot write %s\n", outfile);
            goto out;
        }
    } else if (fwrite(md.data, 1, md.len, stdout) != md.len) {
        goto out;
    }
    status = 0;
out:
    sp_config_free(&cfg);
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&cert);
    sp_buf_cleanup(&md);
    sp_buf_cleanup(&err);
    return status;
}
