/*
 * app_register: the daemon's side of the SPID transaction register.
 * Every SAML message is appended before the exchange goes on, so no login or
 * logout happens without its record. Appends go through the register's group
 * commit (register_commit.c): concurrent requests share the fsyncs.
 */
#include "sp/app.h"
#include "sp/log.h"
#include "sp/metrics.h"
#include "sp/register.h"

enum sp_err sp_app_record(struct sp_app *app, const struct sp_register_record *rec)
{
    enum sp_err rc = sp_register_commit(app->reg, rec, NULL);

    if (rc == SP_OK) {
        sp_metrics_inc("spid_sp_register_records_total", "kind", rec->kind, NULL, NULL);
    } else {
        sp_metrics_inc("spid_sp_register_errors_total", NULL, NULL, NULL, NULL);
        sp_errorx("transaction register: cannot record %s %s: %s", rec->kind ? rec->kind : "?",
                  rec->id ? rec->id : "?", sp_strerror(rc));
    }
    return rc;
}
