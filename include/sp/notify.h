/*
 * notify: the delivery channels behind the outbox: e-mail and PEC over SMTP
 * (libcurl), SMS as a JSON POST to an HTTP gateway (libcurl), and letters as
 * files in the postal spool. libcurl appears only in notify.c. Message
 * bodies carry secrets (PIN halves): nothing here logs them, and every copy
 * made for sending is wiped before it is freed.
 */
#ifndef SP_NOTIFY_H
#define SP_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/err.h"
#include "sp/outbox.h" /* enum sp_channel, struct sp_message, struct sp_notify_settings */

struct sp_buf;

#define SP_NOTIFY_MAX_ADDR 254        /* RFC 5321 path limit for an e-mail address */
#define SP_NOTIFY_MAX_POSTAL 1024     /* postal address block */
#define SP_NOTIFY_MAX_SUBJECT 512     /* subject / first line of a letter, in bytes */
#define SP_NOTIFY_MAX_BODY (64 << 10) /* message body, in bytes */

/* Process setup: libcurl's global state. Call once before the first send
 * (sp_outbox_worker_start does) and pair with sp_notify_cleanup(). */
enum sp_err sp_notify_init(void);
void sp_notify_cleanup(void);

/*
 * Checks shared by enqueue (outbox.c) and the senders, which repeat them so a
 * row written around sp_outbox_enqueue() cannot inject headers.
 *   sp_notify_email_ok     one '@' with text on both sides; printable ASCII
 *                          without spaces, CR/LF or the header specials <>,;:"()[]\
 *   sp_notify_phone_ok     '+' and 8-15 digits (E.164)
 *   sp_notify_postal_ok    printable UTF-8 text lines separated by LF
 *   sp_notify_line_ok      one line: no control characters (CR/LF included)
 *   sp_notify_recipient_ok the check of channel c
 */
bool sp_notify_email_ok(const char *s);
bool sp_notify_phone_ok(const char *s);
bool sp_notify_postal_ok(const char *s);
bool sp_notify_line_ok(const char *s);
bool sp_notify_recipient_ok(enum sp_channel c, const char *s);
/* Valid UTF-8 without NUL or control characters other than LF, CR and TAB. */
bool sp_notify_text_ok(const char *s);

/*
 * The RFC 5322 message sent over SMTP, appended to out with CRLF line ends:
 * Date (from now, UTC), From, To, Subject (RFC 2047 B encoded-words, folded,
 * when not plain ASCII or too long; omitted when subject is NULL or empty),
 * Message-ID, MIME-Version, Content-Type text/plain; charset=UTF-8 and
 * Content-Transfer-Encoding 8bit, or base64 when a body line is longer than
 * RFC 5322 allows. SP_ERR_INVALID for header injection (CR/LF in from, to or
 * subject), SP_ERR_TOO_LARGE past out->max. out holds the body: wipe it.
 */
enum sp_err sp_notify_mail_format(struct sp_buf *out, const char *from, const char *to,
                                  const char *subject, const char *body, int64_t now,
                                  const char *message_id);

/*
 * The senders: one attempt each. id is the outbox id (the SMS "id", part of
 * the Message-ID); created_at names the letter file, so that a retried letter
 * replaces its earlier copy instead of adding a second one; now dates the mail.
 * Returns SP_OK when the channel accepted the message;
 *   SP_ERR_CONFIG   the channel is not configured (NULL or "" URL / spool)
 *   SP_ERR_INVALID  the message cannot be sent as it is (bad recipient, CR/LF
 *                   in a header, body not UTF-8): retrying will not help
 *   SP_ERR_IO       the attempt failed (connection, timeout, refusal, non-2xx)
 * with a short reason in err (never the body).
 */
enum sp_err sp_notify_email(const struct sp_notify_settings *ns, const struct sp_message *m,
                            int64_t id, int64_t now, struct sp_buf *err);
enum sp_err sp_notify_sms(const struct sp_notify_settings *ns, const struct sp_message *m,
                          int64_t id, struct sp_buf *err);
enum sp_err sp_notify_post(const struct sp_notify_settings *ns, const struct sp_message *m,
                           int64_t id, int64_t created_at, struct sp_buf *err);

/* The sender of m->channel (email and pec both go through SMTP). */
enum sp_err sp_notify_send(const struct sp_notify_settings *ns, const struct sp_message *m,
                           int64_t id, int64_t created_at, int64_t now, struct sp_buf *err);

#endif /* SP_NOTIFY_H */
