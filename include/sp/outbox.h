/*
 * outbox: notifications that must not be lost (PIN halves, recovery links,
 * conversion outcomes). A message is written to the outbox table inside the
 * transaction of the change it announces, and a delivery thread sends it
 * later through its channel:
 *
 *   email, pec  SMTP through libcurl to [notify] smtp_url (smtp:// with
 *               STARTTLS when the server offers it, or smtps://), from smtp_from
 *   sms         a JSON POST through libcurl to [notify] sms_url:
 *               {"to": "+39...", "text": "...", "id": "<message id>"}; 2xx = sent
 *   post        a letter file written atomically (mode 0600) into
 *               [notify] postal_spool_dir for the print vendor
 *
 * A failed attempt is retried with exponential back-off (retry_base_sec,
 * doubling, capped at retry_max_sec) until max_attempts, then the message is
 * marked failed and logged; nothing is dropped silently. Message bodies hold
 * secrets (PIN halves): they are never logged, and the body is wiped from the
 * table once the message is sent (subject, channel, recipient and times stay
 * as the delivery record).
 */
#ifndef SP_OUTBOX_H
#define SP_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_buf;
struct sp_config;
struct sp_db;

enum sp_channel { SP_CHANNEL_EMAIL, SP_CHANNEL_PEC, SP_CHANNEL_SMS, SP_CHANNEL_POST };

const char *sp_channel_name(enum sp_channel c); /* "email", "pec", "sms", "post" */
enum sp_err sp_channel_parse(const char *s, enum sp_channel *out);

struct sp_message {
    enum sp_channel channel;
    const char *recipient; /* e-mail address, +E.164 number, or postal address block */
    const char *subject;   /* e-mail subject; first line of a letter; unused for SMS */
    const char *body;      /* UTF-8 text */
    const char *user_cf;   /* whom it concerns (for the record), may be NULL */
    const char *purpose;   /* e.g. "pin.half1", "pin.half2", "pin.recovery" */
};

/*
 * Queue m, due at once. Runs inside the caller's transaction when there is
 * one, so the message exists exactly when the change it announces commits.
 * *id (may be NULL) gets the message id. SP_ERR_INVALID for an empty
 * recipient or body, or a recipient not valid for the channel (an e-mail
 * address needs one '@' and no spaces or CR/LF; an SMS number is '+' and
 * 8-15 digits).
 */
enum sp_err sp_outbox_enqueue(struct sp_db *db, const struct sp_message *m, int64_t now,
                              int64_t *id);

/* Delivery settings ([notify] section of the configuration). */
struct sp_notify_settings {
    const char *smtp_url;  /* smtp://host:port or smtps://host:port; NULL/"" = e-mail disabled */
    const char *smtp_from; /* envelope and From: address */
    const char *smtp_user, *smtp_password; /* optional AUTH */
    const char *sms_url;                   /* http(s) gateway; NULL/"" = SMS disabled */
    const char *sms_token;                 /* optional: sent as "Authorization: Bearer <token>" */
    const char *postal_spool_dir;
    unsigned timeout_sec;    /* per attempt, default 10 */
    unsigned retry_base_sec; /* first back-off, default 30 */
    unsigned retry_max_sec;  /* cap, default 3600 */
    unsigned max_attempts;   /* then failed, default 20 */
};

/*
 * One delivery pass: claim every message due at now (at most limit), try
 * each once, record the outcome (sent; or next attempt at now + back-off; or
 * failed). *sent and *failed (may be NULL) count this pass. A channel that is
 * not configured counts as a failed attempt (the message waits for the
 * configuration to be fixed and the service restarted).
 */
enum sp_err sp_outbox_deliver(struct sp_db *db, const struct sp_notify_settings *ns, int64_t now,
                              unsigned limit, unsigned *sent, unsigned *failed);

/* Counts by state, for metrics and tests: queued (incl. retrying), sent, failed. */
struct sp_outbox_counts {
    int64_t queued, sent, failed;
};
enum sp_err sp_outbox_counts(struct sp_db *db, struct sp_outbox_counts *out);

/* Background delivery thread: a pass every poll_ms and right after sp_outbox_kick(). */
struct sp_outbox_worker;
struct sp_outbox_worker *
sp_outbox_worker_start(struct sp_db *db, const struct sp_notify_settings *ns, unsigned poll_ms);
void sp_outbox_kick(struct sp_outbox_worker *w); /* NULL-safe */
void sp_outbox_worker_stop(struct sp_outbox_worker **w);

#endif /* SP_OUTBOX_H */
