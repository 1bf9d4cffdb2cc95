/*
 * app_registry: the IdP set in force and its refresh from the SPID registry
 * (BT-20..BT-22, lasso notes §4.5). The set is built from the local
 * idp_metadata files plus, when [registry] url is set, the IdPs of the last
 * verified aggregate. A background thread downloads the aggregate every
 * registry.refresh seconds; a new verified copy becomes a new, complete IdP
 * set that replaces the old one in one pointer swap (sp_app_idps_swap), while
 * requests still holding the old set finish with it. A failed, tampered,
 * unsigned or expired download leaves the set in force untouched; it is
 * logged and counted.
 *
 * THREAD SAFETY NOTES: the runner's state is under its mutex; the refresh
 * itself runs on one thread at a time (the runner's, or the caller of
 * sp_app_registry_refresh while the runner is not started); the set swap is
 * the app's idps_lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp/app.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/metrics.h"
#include "sp/registry.h"
#include "sp/saml.h"
#include "sp/xmlsig.h"

struct sp_registry_runner {
    char *key_pem; /* ours, to build new lasso servers; wiped when freed */
    char *cert_pem;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    /* the aggregate in force, and the refresh history (under lock) */
    bool have_doc;
    int64_t fetched_ms, checked_ms, valid_until_ms, last_attempt_ms;
    unsigned consecutive_failures;
    char sha256[65];
};

static bool registry_enabled(const struct sp_config *cfg)
{
    return cfg->registry_url != NULL && cfg->registry_url[0] != '\0';
}

/* Warn about every IdP signing certificate expiring within registry.cert_warn_days (BT-22). */
static void warn_expiring(const struct sp_config *cfg, const struct sp_idp_set *set, int64_t now)
{
    for (unsigned i = 0; i < sp_idp_set_count(set); i++) {
        const char *eid = sp_idp_set_entity(set, i);
        const struct sp_xmlsig_keys *keys = sp_idp_set_keys(set, eid);
        for (unsigned k = 0; k < sp_xmlsig_keys_count(keys); k++) {
            const struct sp_xmlsig_cert_info *c = sp_xmlsig_keys_info(keys, k);
            if (c == NULL || c->not_after == 0)
                continue;
            if (c->not_after <= now)
                sp_warnx("IdP %s: signing certificate %s has expired", eid, c->fingerprint);
            else if (c->not_after - now < (int64_t)cfg->registry_cert_warn_days * 86400)
                sp_warnx("IdP %s: signing certificate %s expires in %lld day(s)", eid,
                         c->fingerprint, (long long)((c->not_after - now) / 86400));
        }
    }
}

/* A new IdP set from the local files and doc (may be NULL); NULL on failure (logged). */
static struct sp_idp_set *build_set(struct sp_app *app, const struct sp_registry_doc *doc)
{
    struct sp_registry_runner *r = app->registry;
    struct sp_idp_source *src = NULL;
    struct sp_idp_set *set;
    unsigned n = 0;

    if (doc != NULL && doc->n_entities > 0) {
        src = sp_xcalloc(doc->n_entities, sizeof(*src));
        for (unsigned i = 0; i < doc->n_entities; i++) {
            const struct sp_registry_entity *e = &doc->entities[i];
            if (e->n_certs == 0) {
                sp_warnx("registry: IdP %s has no usable signing certificate: not offered",
                         e->entity_id);
                continue;
            }
            src[n].xml = e->xml;
            src[n].len = e->xml_len;
            src[n].origin = doc->source_url ? doc->source_url : app->cfg->registry_url;
            n++;
        }
    }
    set = sp_idp_set_new(app->cfg, app->metadata_xml, r->key_pem, r->cert_pem, src, n);
    free(src);
    if (set != NULL)
        warn_expiring(app->cfg, set, sp_clock_now());
    return set;
}

static void remember_doc(struct sp_registry_runner *r, const struct sp_registry_doc *doc)
{
    pthread_mutex_lock(&r->lock);
    r->have_doc = true;
    r->fetched_ms = doc->fetched_ms;
    r->checked_ms = doc->checked_ms;
    r->valid_until_ms = doc->valid_until_ms;
    memcpy(r->sha256, doc->sha256, sizeof(r->sha256));
    pthread_mutex_unlock(&r->lock);
}

enum sp_err sp_app_registry_init(struct sp_app *app, const char *key_pem, const char *cert_pem,
                                 struct sp_buf *err)
{
    const struct sp_config *cfg = app->cfg;
    struct sp_registry_runner *r = sp_xcalloc(1, sizeof(*r));
    struct sp_registry_doc doc;
    bool have = false;
    struct sp_buf why;

    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->key_pem = sp_xstrdup(key_pem);
    r->cert_pem = sp_xstrdup(cert_pem);
    app->registry = r;
    memset(&doc, 0, sizeof(doc));
    sp_buf_init(&why, 4096);
    if (registry_enabled(cfg)) {
        const char *reason = "ok";
        bool not_modified = false;
        if (sp_registry_global_init() != SP_OK) {
            sp_buf_adds(err, "cannot initialise libcurl for the registry");
            sp_buf_cleanup(&why);
            return SP_ERR_INTERNAL;
        }
        /* the verified cache first: a restart without network still works */
        have = sp_registry_load_cache(cfg, sp_clock_now_ms(), &doc, &reason, &why) == SP_OK;
        if (!have) {
            sp_warnx("registry: no usable cached copy (%s: %s); downloading %s", reason,
                     sp_buf_str(&why), cfg->registry_url);
            sp_buf_reset(&why);
            have = sp_registry_fetch(cfg, sp_clock_now_ms(), &doc, &not_modified, &reason, &why) ==
                   SP_OK;
            sp_metrics_inc("spid_sp_registry_refreshes_total", "outcome",
                           have ? "updated" : "failed", "reason", reason);
            if (!have) {
                r->consecutive_failures = 1;
                sp_warnx("registry: download refused (%s): %s; starting with the local IdP "
                         "metadata only",
                         reason, sp_buf_str(&why));
            }
        }
        r->last_attempt_ms = sp_clock_now_ms();
        if (have)
            remember_doc(r, &doc);
    }
    app->idps_current = build_set(app, have ? &doc : NULL);
    sp_registry_doc_cleanup(&doc);
    sp_buf_cleanup(&why);
    if (app->idps_current == NULL) {
        sp_buf_addf(err, "cannot load the IdPs (metadata in %s%s; see the log above)",
                    cfg->idp_metadata, registry_enabled(cfg) ? ", and the registry" : "");
        return SP_ERR_CONFIG;
    }
    return SP_OK;
}

enum sp_err sp_app_registry_refresh(struct sp_app *app)
{
    struct sp_registry_runner *r = app->registry;
    struct sp_registry_doc doc;
    struct sp_idp_set *set;
    bool not_modified = false;
    const char *reason = "ok";
    struct sp_buf why;
    enum sp_err rc;

    if (r == NULL || !registry_enabled(app->cfg))
        return SP_ERR_CONFIG;
    memset(&doc, 0, sizeof(doc));
    sp_buf_init(&why, 4096);
    rc = sp_registry_fetch(app->cfg, sp_clock_now_ms(), &doc, &not_modified, &reason, &why);
    pthread_mutex_lock(&r->lock);
    r->last_attempt_ms = sp_clock_now_ms();
    pthread_mutex_unlock(&r->lock);
    if (rc != SP_OK) {
        pthread_mutex_lock(&r->lock);
        r->consecutive_failures++;
        pthread_mutex_unlock(&r->lock);
        sp_metrics_inc("spid_sp_registry_refreshes_total", "outcome", "failed", "reason", reason);
        sp_warnx("registry: refresh refused (%s): %s; the IdP set in force is kept", reason,
                 sp_buf_str(&why));
        goto out;
    }
    pthread_mutex_lock(&r->lock);
    bool same = r->have_doc && strcmp(r->sha256, doc.sha256) == 0;
    pthread_mutex_unlock(&r->lock);
    if (not_modified || same) {
        /* the copy in force is confirmed: nothing to rebuild */
        remember_doc(r, &doc);
        pthread_mutex_lock(&r->lock);
        r->consecutive_failures = 0;
        pthread_mutex_unlock(&r->lock);
        sp_metrics_inc("spid_sp_registry_refreshes_total", "outcome", "not_modified", "reason",
                       "ok");
        sp_info("registry: %s unchanged", app->cfg->registry_url);
        goto out;
    }
    set = build_set(app, &doc);
    if (set == NULL) {
        pthread_mutex_lock(&r->lock);
        r->consecutive_failures++;
        pthread_mutex_unlock(&r->lock);
        sp_metrics_inc("spid_sp_registry_refreshes_total", "outcome", "failed", "reason", "load");
        sp_warnx("registry: the new aggregate could not be loaded; the IdP set in force is kept");
        rc = SP_ERR_SAML;
        goto out;
    }
    sp_info("registry: new aggregate %.16s with %u IdP(s) in force", doc.sha256,
            sp_idp_set_count(set));
    sp_app_idps_swap(app, set);
    remember_doc(r, &doc);
    pthread_mutex_lock(&r->lock);
    r->consecutive_failures = 0;
    pthread_mutex_unlock(&r->lock);
    sp_metrics_inc("spid_sp_registry_refreshes_total", "outcome", "updated", "reason", "ok");
out:
    sp_registry_doc_cleanup(&doc);
    sp_buf_cleanup(&why);
    return rc;
}

static void *runner_main(void *arg)
{
    struct sp_app *app = arg;
    struct sp_registry_runner *r = app->registry;

    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += app->cfg->registry_refresh_sec;
        while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
            ; /* woken without stop: keep waiting for the deadline */
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->lock);
        sp_app_registry_refresh(app);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

enum sp_err sp_app_registry_start(struct sp_app *app)
{
    struct sp_registry_runner *r = app->registry;

    if (r == NULL || !registry_enabled(app->cfg) || r->started)
        return SP_OK;
    if (pthread_create(&r->thread, NULL, runner_main, app) != 0) {
        sp_errorx("cannot start the registry refresh thread");
        return SP_ERR_INTERNAL;
    }
    r->started = true;
    return SP_OK;
}

void sp_app_registry_stop(struct sp_app *app)
{
    struct sp_registry_runner *r = app->registry;

    if (r == NULL)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    if (registry_enabled(app->cfg))
        sp_registry_global_cleanup();
    if (r->key_pem != NULL)
        sp_wipe(r->key_pem, strlen(r->key_pem));
    free(r->key_pem);
    free(r->cert_pem);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
    app->registry = NULL;
}

void sp_app_registry_metrics(struct sp_app *app, int64_t now, struct sp_buf *out)
{
    struct sp_registry_runner *r = app->registry;
    int64_t now_ms = now * 1000;

    if (r == NULL || !registry_enabled(app->cfg))
        return;
    pthread_mutex_lock(&r->lock);
    sp_buf_addf(out,
                "# TYPE spid_sp_registry_loaded gauge\nspid_sp_registry_loaded %d\n"
                "# TYPE spid_sp_registry_consecutive_failures gauge\n"
                "spid_sp_registry_consecutive_failures %u\n",
                r->have_doc ? 1 : 0, r->consecutive_failures);
    if (r->have_doc) {
        /* age of the copy in force, and time since the registry last confirmed it */
        if (r->fetched_ms > 0)
            sp_buf_addf(out,
                        "# TYPE spid_sp_registry_age_seconds gauge\n"
                        "spid_sp_registry_age_seconds %lld\n",
                        (long long)((now_ms - r->fetched_ms) / 1000));
        if (r->checked_ms > 0)
            sp_buf_addf(out,
                        "# TYPE spid_sp_registry_last_success_age_seconds gauge\n"
                        "spid_sp_registry_last_success_age_seconds %lld\n",
                        (long long)((now_ms - r->checked_ms) / 1000));
        if (r->valid_until_ms > 0)
            sp_buf_addf(out,
                        "# TYPE spid_sp_registry_valid_until_seconds gauge\n"
                        "spid_sp_registry_valid_until_seconds %lld\n",
                        (long long)(r->valid_until_ms / 1000));
    }
    if (r->last_attempt_ms > 0)
        sp_buf_addf(out,
                    "# TYPE spid_sp_registry_last_attempt_age_seconds gauge\n"
                    "spid_sp_registry_last_attempt_age_seconds %lld\n",
                    (long long)((now_ms - r->last_attempt_ms) / 1000));
    pthread_mutex_unlock(&r->lock);
}
