/*
 * app: wiring of the running service. Everything expensive (keys, metadata,
 * the lasso server with every IdP) is built once here, never per request.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sp/app.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/metadata.h"
#include "sp/saml.h"
#include "sp/session.h"
#include "sp/str.h"

#define SP_DB_FILE "spid-sp.db"
#define SP_METADATA_MAX_BYTES (1u << 20)

enum sp_err sp_app_init(struct sp_app *app, const struct sp_config *cfg, struct sp_buf *err)
{
    struct sp_buf key, cert, md, dbpath;
    enum sp_err rc;

    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    sp_buf_init(&key, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&cert, SP_CERT_MAX_PEM_BYTES);
    sp_buf_init(&md, SP_METADATA_MAX_BYTES);
    sp_buf_init(&dbpath, 8192);

    rc = sp_cert_load_pair(cfg->key_file, cfg->cert_file, &key, &cert, err);
    if (rc != SP_OK)
        goto out;
    rc = sp_cert_check_config(sp_buf_str(&cert), cfg, err); /* MD-02, MD-73 */
    if (rc == SP_OK)
        rc = sp_metadata_build(cfg, sp_buf_str(&key), sp_buf_str(&cert), &md, err);
    if (rc != SP_OK)
        goto out;
    app->idps = sp_idp_set_new(cfg, sp_buf_str(&md), sp_buf_str(&key), sp_buf_str(&cert));
    if (app->idps == NULL) {
        sp_buf_addf(err, "cannot load the IdP metadata in %s (see the log above)",
                    cfg->idp_metadata);
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = sp_file_mkdirs(cfg->data_dir, 0700);
    if (rc != SP_OK) {
        sp_buf_addf(err, "%s: cannot create the data directory", cfg->data_dir);
        goto out;
    }
    sp_buf_addf(&dbpath, "%s/%s", cfg->data_dir, SP_DB_FILE);
    app->db = sp_db_open(sp_buf_str(&dbpath), err);
    if (app->db == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    app->metadata_len = md.len;
    app->metadata_xml = sp_buf_detach(&md);
    app->acs_url = sp_config_acs_url(cfg);
    app->slo_url = sp_config_slo_url(cfg);
    if (sp_str_has_prefix(cfg->base_url, "https://")) {
        app->session_cookie_flags = SP_COOKIE_SECURE;
        /* the IdP's POST to the ACS is cross-site: the binding cookie must travel */
        app->binding_cookie_flags = SP_COOKIE_SECURE | SP_COOKIE_SAMESITE_NONE;
    }
    app->saml.cfg = cfg;
    app->saml.db = app->db;
    app->saml.idps = app->idps;
    app->saml.acs_url = app->acs_url;
out:
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&cert);
    sp_buf_cleanup(&md);
    sp_buf_cleanup(&dbpath);
    if (rc != SP_OK)
        sp_app_cleanup(app);
    return rc;
}

void sp_app_cleanup(struct sp_app *app)
{
    sp_session_cache_clear();
    sp_db_close(&app->db);
    sp_idp_set_free(&app->idps);
    free(app->metadata_xml);
    free(app->acs_url);
    free(app->slo_url);
    memset(app, 0, sizeof(*app));
}
