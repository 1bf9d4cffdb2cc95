/*
 * app: wiring of the running service. Everything expensive (keys, metadata,
 * the lasso server with every IdP) is built once here, never per request.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>

#include "sp/app.h"
#include "sp/cns.h"
#include "sp/outbox.h"
#include "sp/authn_state.h"
#include "sp/clock.h"
#include "sp/replay.h"
#include "sp/buf.h"
#include "sp/cert.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/metadata.h"
#include "sp/register.h"
#include "sp/saml.h"
#include "sp/session.h"
#include "sp/str.h"

#define SP_METADATA_MAX_BYTES (1u << 20)

enum sp_err sp_app_init(struct sp_app *app, const struct sp_config *cfg, struct sp_buf *err)
{
    struct sp_buf key, cert, md, dbpath;
    enum sp_err rc;

    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    pthread_mutex_init(&app->idps_lock, NULL);
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
    app->metadata_len = md.len;
    app->metadata_xml = sp_buf_detach(&md);
    rc = sp_file_mkdirs(cfg->data_dir, 0700);
    if (rc != SP_OK) {
        sp_buf_addf(err, "%s: cannot create the data directory", cfg->data_dir);
        goto out;
    }
    rc = sp_app_registry_init(app, sp_buf_str(&key), sp_buf_str(&cert), err);
    if (rc != SP_OK)
        goto out;
    {
        char *path = sp_config_db_path(cfg);
        sp_buf_adds(&dbpath, path);
        free(path);
    }
    app->db = sp_db_open(sp_buf_str(&dbpath), err);
    if (app->db == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sp_buf_reset(&dbpath);
    sp_buf_addf(&dbpath, "%s/register", cfg->data_dir);
    app->reg = sp_register_open(sp_buf_str(&dbpath), app->db, err);
    if (app->reg == NULL) {
        rc = SP_ERR_IO;
        goto out;
    }
    app->acs_url = sp_config_acs_url(cfg);
    app->slo_url = sp_config_slo_url(cfg);
    if (sp_str_has_prefix(cfg->base_url, "https://")) {
        app->session_cookie_flags = SP_COOKIE_SECURE;
        /* the IdP's POST to the ACS is cross-site: the binding cookie must travel */
        app->binding_cookie_flags = SP_COOKIE_SECURE | SP_COOKIE_SAMESITE_NONE;
    }
    app->saml.cfg = cfg;
    app->saml.db = app->db;
    app->saml.acs_url = app->acs_url;
    if (cfg->cns_ca_dir[0] != '\0') {
        struct sp_cns_settings cs = {cfg->cns_ca_dir, cfg->cns_policies, cfg->cns_soft_fail,
                                     cfg->cns_crl_max_age_hours * 3600u, cfg->cns_timeout_sec};
        app->cns = sp_cns_new(&cs, err);
        if (app->cns == NULL) {
            rc = SP_ERR_CONFIG;
            goto out;
        }
    }
out:
    sp_buf_cleanup_secret(&key);
    sp_buf_cleanup(&cert);
    sp_buf_cleanup(&md);
    sp_buf_cleanup(&dbpath);
    if (rc != SP_OK)
        sp_app_cleanup(app);
    return rc;
}

struct sp_idp_set *sp_app_idps(struct sp_app *app)
{
    struct sp_idp_set *set;
    pthread_mutex_lock(&app->idps_lock);
    set = sp_idp_set_ref(app->idps_current);
    pthread_mutex_unlock(&app->idps_lock);
    return set;
}

void sp_app_idps_swap(struct sp_app *app, struct sp_idp_set *set)
{
    struct sp_idp_set *old;
    pthread_mutex_lock(&app->idps_lock);
    old = app->idps_current;
    app->idps_current = set;
    pthread_mutex_unlock(&app->idps_lock);
    sp_idp_set_free(&old); /* freed now, or by the last request still using it */
}

/*
 * Maintenance thread. THREAD SAFETY NOTES: it only uses the database (its own
 * per-thread connection) and the shared read-only configuration; stop is a
 * flag under the mutex with a condition variable so shutdown is immediate.
 */
struct sp_maintenance {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
};

void sp_app_maintain(struct sp_app *app)
{
    int64_t now = sp_clock_now();
    int a = sp_authn_state_purge(app->db, now, SP_AUTHN_KEEP_SEC);
    int r = sp_replay_purge(app->db, now);
    int s = sp_session_purge(app->db, now, SP_SESSION_KEEP_SEC);
    if (a > 0 || r > 0 || s > 0)
        sp_debug("maintenance: purged %d pending requests, %d replay entries, %d sessions", a, r,
                 s);
}

static void *app_maintenance_main(void *arg)
{
    struct sp_app *app = arg;
    struct sp_maintenance *m = app->maint;
    unsigned ticks = 0;

    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SP_CHECKPOINT_SEC;
        pthread_cond_timedwait(&m->cond, &m->lock, &until);
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->lock);
        sp_db_checkpoint(app->db);
        if (++ticks * SP_CHECKPOINT_SEC >= SP_MAINTENANCE_SEC) {
            ticks = 0;
            sp_app_maintain(app);
        }
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static struct sp_notify_settings *app_notify_settings(const struct sp_config *cfg)
{
    struct sp_notify_settings *ns = sp_xcalloc(1, sizeof(*ns));
    ns->smtp_url = cfg->smtp_url;
    ns->smtp_from = cfg->smtp_from;
    ns->smtp_user = cfg->smtp_user;
    ns->smtp_password = cfg->smtp_password;
    ns->sms_url = cfg->sms_url;
    ns->sms_token = cfg->sms_token;
    ns->postal_spool_dir = cfg->postal_spool_dir;
    ns->timeout_sec = cfg->notify_timeout_sec;
    ns->retry_base_sec = cfg->notify_retry_base_sec;
    ns->retry_max_sec = cfg->notify_retry_max_sec;
    ns->max_attempts = cfg->notify_max_attempts;
    return ns;
}

enum sp_err sp_app_start_maintenance(struct sp_app *app)
{
    struct sp_maintenance *m = sp_xcalloc(1, sizeof(*m));
    if (app->notify == NULL)
        app->notify = app_notify_settings(app->cfg);
    app->outbox = sp_outbox_worker_start(app->db, app->notify, app->cfg->notify_poll_ms);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    app->maint = m;
    if (pthread_create(&m->thread, NULL, app_maintenance_main, app) != 0) {
        app->maint = NULL;
        free(m);
        return SP_ERR_INTERNAL;
    }
    return SP_OK;
}

static void app_stop_maintenance(struct sp_app *app)
{
    struct sp_maintenance *m = app->maint;
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->stop = 1;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
    app->maint = NULL;
}

void sp_app_cleanup(struct sp_app *app)
{
    sp_outbox_worker_stop(&app->outbox);
    free(app->notify);
    sp_cns_free(&app->cns);
    app_stop_maintenance(app);
    sp_app_registry_stop(app);
    sp_register_free(&app->reg);
    sp_db_close(&app->db);
    sp_idp_set_free(&app->idps_current);
    pthread_mutex_destroy(&app->idps_lock);
    free(app->metadata_xml);
    free(app->acs_url);
    free(app->slo_url);
    memset(app, 0, sizeof(*app));
}
