/*
 * app: the running service: configuration, database, IdP set, our metadata,
 * and the HTTP entry point that dispatches through the route table.
 */
#ifndef SP_APP_H
#define SP_APP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sp/config.h"
#include "sp/err.h"
#include "sp/saml_acs.h"

struct sp_buf;
struct sp_db;
struct sp_idp_set;
struct sp_req;
struct sp_resp;

#define SP_SESSION_COOKIE "spid_sp_session"
#define SP_BINDING_COOKIE "spid_sp_login"

#define SP_MAINTENANCE_SEC 60               /* purge interval */
#define SP_CHECKPOINT_SEC 1                 /* WAL checkpoint interval */
#define SP_AUTHN_KEEP_SEC (24 * 3600)       /* keep answered/expired requests a day */
#define SP_SESSION_KEEP_SEC (7 * 24 * 3600) /* keep ended sessions a week */

struct sp_maintenance;
struct sp_cns;
struct sp_notify_settings;
struct sp_outbox_worker;
struct sp_register;
struct sp_registry_runner;
struct sp_register_record;

struct sp_app {
    const struct sp_config *cfg;
    struct sp_db *db;
    struct sp_idp_set *idps_current; /* under idps_lock; readers use sp_app_idps() */
    pthread_mutex_t idps_lock;
    char *metadata_xml; /* our signed SP metadata, built once */
    size_t metadata_len;
    char *acs_url;
    char *slo_url;
    unsigned session_cookie_flags;
    unsigned binding_cookie_flags;
    struct sp_saml_env saml;
    struct sp_maintenance *maint;        /* background purge thread, or NULL */
    struct sp_notify_settings *notify;   /* [notify], for the outbox */
    struct sp_outbox_worker *outbox;     /* delivery thread, or NULL */
    struct sp_cns *cns;                  /* CNS trust and CRL cache, NULL when disabled */
    struct sp_register *reg;             /* the SPID transaction register (<data_dir>/register) */
    struct sp_registry_runner *registry; /* IdP set building and registry refresh */
};

/*
 * Load keys (refusing insecure key files), build and sign our metadata, load
 * every IdP, open and migrate the database. On failure err says why and
 * nothing stays allocated.
 */
enum sp_err sp_app_init(struct sp_app *app, const struct sp_config *cfg, struct sp_buf *err);
void sp_app_cleanup(struct sp_app *app);

/*
 * Start the maintenance thread (every SP_CHECKPOINT_SEC a WAL checkpoint,
 * every SP_MAINTENANCE_SEC a purge of expired pending requests and replay
 * entries). Stopped by sp_app_cleanup.
 */
enum sp_err sp_app_start_maintenance(struct sp_app *app);

/* One maintenance pass on the calling thread (also used by tests). */
void sp_app_maintain(struct sp_app *app);

/*
 * The IdP set in force, with a reference for the caller: drop it with
 * sp_idp_set_free() when the request is done. A refresh may swap in a new
 * set meanwhile; the caller keeps a consistent view of the old one.
 */
struct sp_idp_set *sp_app_idps(struct sp_app *app);

/* Make set (whose reference passes to the app) the set in force. */
void sp_app_idps_swap(struct sp_app *app, struct sp_idp_set *set);

/*
 * Keep one SAML message in the transaction register, durably, before
 * it is sent or acted upon. A caller that gets anything but SP_OK must not
 * go on with the exchange (the message would be unrecorded): it answers 500.
 * Concurrent callers share fsyncs (group commit, sp_register_commit); the
 * call blocks until the record is durable. Never call it inside a database
 * transaction (SP_ERR_INTERNAL). Counted in spid_sp_register_records_total
 * {kind} and spid_sp_register_errors_total.
 */
enum sp_err sp_app_record(struct sp_app *app, const struct sp_register_record *rec);

/*
 * The IdP registry (app_registry.c). init builds the first IdP set: the local
 * idp_metadata files plus, with [registry] url, the verified cached aggregate
 * (downloaded now when there is no valid cache; without one the local files
 * alone are used, with a warning). start runs the refresh thread (every
 * registry.refresh seconds); stop ends it (sp_app_cleanup calls it). refresh
 * is one download-verify-swap pass (SP_OK when the set in force is current).
 * metrics appends the registry gauges to a /metrics page.
 */
enum sp_err sp_app_registry_init(struct sp_app *app, const char *key_pem, const char *cert_pem,
                                 struct sp_buf *err);
enum sp_err sp_app_registry_start(struct sp_app *app);
void sp_app_registry_stop(struct sp_app *app);
enum sp_err sp_app_registry_refresh(struct sp_app *app);
void sp_app_registry_metrics(struct sp_app *app, int64_t now, struct sp_buf *out);

/* The HTTP handler (sp_http_handler_fn) over the route table of routes.c. */
void sp_app_handle(void *app, struct sp_req *req, struct sp_resp *resp);

#endif /* SP_APP_H */
