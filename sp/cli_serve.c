/*
 * cli_serve: `spid-sp serve [--config FILE] [--check]`: load and validate
 * everything, then listen until SIGINT/SIGTERM and free everything.
 */
#include <dirent.h>
#include <getopt.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/app.h"
#include "sp/buf.h"
#include "sp/cli.h"
#include "sp/config.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/clock.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/saml.h"

/* Shared by the subcommands: load the configuration or print file:line. */
struct sp_config *sp_cli_load_config(const char *path)
{
    struct sp_config *cfg = NULL;
    struct sp_buf err;

    sp_buf_init(&err, 4096);
    if (sp_config_load(path, &cfg, &err) != SP_OK) {
        fprintf(stderr, "spid-sp: %s\n", sp_buf_str(&err));
        cfg = NULL;
    } else {
        sp_log_set_level((enum sp_log_level)sp_log_level_parse(cfg->log_level));
    }
    sp_buf_cleanup(&err);
    return cfg;
}

struct sp_db *sp_cli_open_db(const struct sp_config *cfg, const char *cmd, int must_exist)
{
    char *path = sp_config_db_path(cfg);
    struct sp_db *db = NULL;
    struct sp_buf err;

    sp_buf_init(&err, 4096);
    if (must_exist && sp_file_exists(path) != SP_OK)
        fprintf(stderr,
                "spid-sp %s: no database at %s (check --config and data_dir; the service creates "
                "it on first start)\n",
                cmd, path);
    else if (!must_exist && sp_file_mkdirs(cfg->data_dir, 0700) != SP_OK)
        fprintf(stderr, "spid-sp %s: cannot create %s\n", cmd, cfg->data_dir);
    else if ((db = sp_db_open(path, &err)) == NULL)
        fprintf(stderr, "spid-sp %s: %s\n", cmd, sp_buf_str(&err));
    sp_buf_cleanup(&err);
    free(path);
    return db;
}

void sp_cli_operator(char *out, unsigned size)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    const char *name = NULL;

    if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
        name = res->pw_name;
    snprintf(out, size, "operator:%s", name ? name : "uid");
    if (name == NULL)
        snprintf(out, size, "operator:uid%u", (unsigned)geteuid());
}

int sp_cli_parse_date(const char *s, int64_t *sec)
{
    char buf[40];
    int64_t ms;

    if (s == NULL || strlen(s) >= sizeof(buf) - 12)
        return -1;
    if (strlen(s) == 10)
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
    else
        snprintf(buf, sizeof(buf), "%s", s);
    if (sp_time_parse(buf, &ms) != SP_OK)
        return -1;
    *sec = ms / 1000;
    return 0;
}

/* All PEM files of a directory, concatenated (the CAs GnuTLS advertises). */
static enum sp_err read_pem_dir(const char *dir, struct sp_buf *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    enum sp_err rc = d ? SP_OK : SP_ERR_IO;

    while (rc == SP_OK && (e = readdir(d)) != NULL) {
        char path[4096];
        size_t n = strlen(e->d_name);
        if (n < 5 || (strcmp(e->d_name + n - 4, ".pem") != 0 && strcmp(e->d_name + n - 4, ".crt")))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        rc = sp_file_read(path, out);
        if (rc == SP_OK)
            rc = sp_buf_addc(out, '\n');
    }
    if (d != NULL)
        closedir(d);
    return rc;
}

/* The dedicated CNS listener: TLS asking for the card's certificate. */
static struct sp_http *serve_cns_listener(const struct sp_config *cfg, struct sp_app *app)
{
    struct sp_buf key, cert, trust;
    struct sp_http *h = NULL;

    sp_buf_init(&key, 1u << 20);
    sp_buf_init(&cert, 1u << 20);
    sp_buf_init(&trust, 8u << 20);
    if (sp_file_read(cfg->cns_tls_key_file, &key) != SP_OK ||
        sp_file_read(cfg->cns_tls_cert_file, &cert) != SP_OK ||
        read_pem_dir(cfg->cns_ca_dir, &trust) != SP_OK || trust.len == 0)
        fprintf(stderr, "spid-sp: cannot read the CNS listener's key, certificate or CAs (%s)\n",
                cfg->cns_ca_dir);
    else
        h = sp_http_start_tls(cfg->listen, cfg->cns_tls_port, cfg->threads, sp_app_handle, app,
                              sp_buf_str(&key), sp_buf_str(&cert), sp_buf_str(&trust));
    if (h != NULL)
        printf("CNS login listening on https://%s:%u/cns/login\n", cfg->listen, sp_http_port(h));
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&cert);
    sp_buf_cleanup(&trust);
    return h;
}

int sp_cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int check = 0, c, status = 1;
    struct sp_config *cfg = NULL;
    struct sp_app app;
    struct sp_http *http = NULL, *cns_http = NULL;
    struct sp_buf err;

    memset(&app, 0, sizeof(app));
    sp_buf_init(&err, 8192);
    while ((c = getopt_long(argc, argv, "c:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'n':
            check = 1;
            break;
        case 'h':
            printf("usage: spid-sp serve [--config FILE] [--check]\n");
            return 0;
        default:
            fprintf(stderr, "usage: spid-sp serve [--config FILE] [--check]\n");
            return 2;
        }
    }
    /* a fixed mmap threshold: the large, short-lived buffers of scrypt (16 MiB
     * per PIN check) stay mmapped and go back to the system when freed, instead
     * of glibc raising the threshold and keeping them in the heap */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    cfg = sp_cli_load_config(config);
    if (cfg == NULL)
        goto out;
    if (sp_saml_global_init() != SP_OK)
        goto out;
    if (sp_app_init(&app, cfg, &err) != SP_OK) {
        fprintf(stderr, "spid-sp: %s\n", sp_buf_str(&err));
        goto out;
    }
    if (check) {
        printf("configuration OK (%s): %u IdP(s), entity ID %s\n", cfg->source,
               sp_idp_set_count(app.idps_current), cfg->entity_id);
        status = 0;
        goto out;
    }
    if (sp_app_start_maintenance(&app) != SP_OK || sp_app_registry_start(&app) != SP_OK)
        goto out;
    /* PIN conversion: three documents of up to pin.upload_max_bytes each */
    sp_http_allow_uploads("/pin/convert", 3 * (size_t)cfg->pin_upload_max + 64 * 1024);
    http = sp_http_start(cfg->listen, cfg->port, cfg->threads, sp_app_handle, &app);
    if (http == NULL)
        goto out;
    if (cfg->cns_tls_port != 0) {
        cns_http = serve_cns_listener(cfg, &app);
        if (cns_http == NULL)
            goto out;
    }
    sp_info("spid-sp listening on %s:%u, public URL %s, %u IdP(s)", cfg->listen, sp_http_port(http),
            cfg->base_url, sp_idp_set_count(app.idps_current));
    if (cfg->test_hooks)
        sp_warnx("test hooks are enabled: never use this configuration in production");
    sp_http_wait_for_signal();
    status = 0;
out:
    sp_http_stop(&cns_http);
    sp_http_stop(&http);
    sp_app_cleanup(&app);
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
    return status;
}
