/*
 * notify: one delivery attempt per call, through SMTP (libcurl), an HTTP SMS
 * gateway (libcurl) or the postal spool directory.
 *
 * Invariants:
 *  - message bodies are never logged, never put into an error text, and every
 *    buffer holding one is sized up front (no realloc leaves a copy behind)
 *    and wiped before it is freed;
 *  - the header checks of enqueue are repeated here, so a row that reached
 *    the table some other way still cannot inject SMTP or HTTP headers;
 *  - TLS peers are verified (smtps://, STARTTLS, https://); redirects are
 *    not followed.
 *
 * THREAD SAFETY NOTES: every function is reentrant. libcurl handles are made
 * and freed within one call; curl_global_init() runs in sp_notify_init().
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/notify.h"
#include "sp/outbox.h"
#include "sp/rand.h"

#define NOTIFY_DEFAULT_TIMEOUT_SEC 10
#define NOTIFY_MAX_CONNECT_SEC 10L
#define NOTIFY_MAX_LINE 998       /* RFC 5322 2.1.1, without CRLF */
#define NOTIFY_B64_LINE 76        /* RFC 2045 6.8 */
#define NOTIFY_SUBJECT_RAW_MAX 69 /* 78 columns minus "Subject: " */
#define NOTIFY_WORD_BYTES 39      /* bytes per encoded-word: 52 base64 chars, 64 in all */
#define NOTIFY_MAX_RESPONSE 4096  /* SMS gateway answer kept (and ignored) */
#define NOTIFY_SPOOL_DIR_MODE 0700
#define NOTIFY_LETTER_MODE 0600
#define NOTIFY_USER_AGENT "spid-sp notify"

/* ---------------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------------ */

enum sp_err sp_notify_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SP_OK : SP_ERR_INTERNAL;
}

void sp_notify_cleanup(void)
{
    curl_global_cleanup();
}

/* ---------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------ */

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not well-formed
 * (overlong forms, surrogates and values past U+10FFFF are refused). */
static size_t notify_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

/* Valid UTF-8 whose control characters are all in allowed (may be ""). */
static bool notify_utf8_ok(const char *s, const char *allowed)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        size_t n = notify_utf8_len(p);
        if (n == 0)
            return false;
        if (n == 1 && (*p < 0x20 || *p == 0x7f) && strchr(allowed, *p) == NULL)
            return false;
        p += n;
    }
    return true;
}

bool sp_notify_email_ok(const char *s)
{
    const char *at;
    size_t len;

    if (s == NULL)
        return false;
    len = strlen(s);
    at = strchr(s, '@');
    if (len == 0 || len > SP_NOTIFY_MAX_ADDR || at == NULL || at == s || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>,;:\"()[]\\", *p) != NULL)
            return false;
    return true;
}

bool sp_notify_phone_ok(const char *s)
{
    size_t n = 0;

    if (s == NULL || s[0] != '+')
        return false;
    for (const char *p = s + 1; *p != '\0'; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 8 && n <= 15;
}

bool sp_notify_line_ok(const char *s)
{
    return s != NULL && notify_utf8_ok(s, "");
}

bool sp_notify_postal_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= SP_NOTIFY_MAX_POSTAL &&
           notify_utf8_ok(s, "\n");
}

bool sp_notify_text_ok(const char *s)
{
    return s != NULL && notify_utf8_ok(s, "\n\r\t");
}

bool sp_notify_recipient_ok(enum sp_channel c, const char *s)
{
    switch (c) {
    case SP_CHANNEL_EMAIL:
    case SP_CHANNEL_PEC:
        return sp_notify_email_ok(s);
    case SP_CHANNEL_SMS:
        return sp_notify_phone_ok(s);
    case SP_CHANNEL_POST:
        return sp_notify_postal_ok(s);
    }
    return false;
}

/* The checks every channel repeats before sending. */
static enum sp_err notify_check(const struct sp_message *m, struct sp_buf *err)
{
    if (!sp_notify_recipient_ok(m->channel, m->recipient)) {
        sp_buf_addf(err, "recipient not valid for %s", sp_channel_name(m->channel));
        return SP_ERR_INVALID;
    }
    if (m->subject != NULL &&
        (!sp_notify_line_ok(m->subject) || strlen(m->subject) > SP_NOTIFY_MAX_SUBJECT)) {
        sp_buf_adds(err, "subject is not one line of text");
        return SP_ERR_INVALID;
    }
    if (m->body == NULL || m->body[0] == '\0' || strlen(m->body) > SP_NOTIFY_MAX_BODY ||
        !sp_notify_text_ok(m->body)) {
        sp_buf_adds(err, "body is empty, too long or not UTF-8 text");
        return SP_ERR_INVALID;
    }
    return SP_OK;
}

static bool notify_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static long notify_timeout(const struct sp_notify_settings *ns)
{
    return ns->timeout_sec > 0 ? (long)ns->timeout_sec : NOTIFY_DEFAULT_TIMEOUT_SEC;
}

/* ---------------------------------------------------------------------------
 * RFC 5322 message
 * ------------------------------------------------------------------------ */

/* "Tue, 14 Nov 2023 22:13:20 +0000", locale-independent. */
static enum sp_err notify_date(struct sp_buf *out, int64_t now)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)now;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL)
        return SP_ERR_INVALID;
    return sp_buf_addf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                       tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                       tm.tm_sec);
}

/* Subject header: as it is when short printable ASCII, otherwise RFC 2047
 * encoded-words of whole UTF-8 characters, one per folded line. */
static enum sp_err notify_subject(struct sp_buf *out, const char *subject)
{
    const unsigned char *s = (const unsigned char *)subject;
    size_t len = strlen(subject), i = 0;
    bool plain = len <= NOTIFY_SUBJECT_RAW_MAX;
    enum sp_err rc;

    for (size_t k = 0; plain && k < len; k++)
        plain = s[k] >= 0x20 && s[k] < 0x7f;
    if (plain)
        return sp_buf_addf(out, "Subject: %s\r\n", subject);
    rc = sp_buf_adds(out, "Subject:");
    while (rc == SP_OK && i < len) {
        size_t n = len - i < NOTIFY_WORD_BYTES ? len - i : NOTIFY_WORD_BYTES;
        /* never cut a character: back off over continuation bytes */
        while (i + n < len && n > 1 && (s[i + n] & 0xc0) == 0x80)
            n--;
        rc = sp_buf_adds(out, i == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?");
        if (rc == SP_OK)
            rc = sp_b64_encode(out, s + i, n);
        if (rc == SP_OK)
            rc = sp_buf_adds(out, "?=");
        i += n;
    }
    if (rc == SP_OK)
        rc = sp_buf_adds(out, "\r\n");
    return rc;
}

/* Longest line of body in bytes, whatever the line ends (LF, CRLF or CR). */
static size_t notify_longest_line(const char *body)
{
    size_t longest = 0, cur = 0;

    for (const char *p = body; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r') {
            cur = 0;
            continue;
        }
        if (++cur > longest)
            longest = cur;
    }
    return longest;
}

/* body with every line end made CRLF, ending in CRLF. */
static enum sp_err notify_body_crlf(struct sp_buf *out, const char *body)
{
    enum sp_err rc = SP_OK;
    const char *p = body;

    while (rc == SP_OK && *p != '\0') {
        size_t n = strcspn(p, "\r\n");
        rc = sp_buf_add(out, p, n);
        p += n;
        if (rc == SP_OK && (*p != '\0' || n > 0))
            rc = sp_buf_add(out, "\r\n", 2);
        if (p[0] == '\r' && p[1] == '\n')
            p += 2;
        else if (*p != '\0')
            p++;
    }
    return rc;
}

/* Base64 of the CRLF form of body in lines of 76 characters. */
static enum sp_err notify_body_b64(struct sp_buf *out, const char *body)
{
    struct sp_buf crlf, b64;
    size_t blen = strlen(body);
    enum sp_err rc;

    sp_buf_init(&crlf, 2 * blen + 2);
    sp_buf_init(&b64, 4 * (2 * blen + 2) / 3 + 8);
    rc = sp_buf_reserve(&crlf, crlf.max);
    if (rc == SP_OK)
        rc = sp_buf_reserve(&b64, b64.max);
    if (rc == SP_OK)
        rc = notify_body_crlf(&crlf, body);
    if (rc == SP_OK)
        rc = sp_b64_encode(&b64, crlf.data, crlf.len);
    for (size_t i = 0; rc == SP_OK && i < b64.len; i += NOTIFY_B64_LINE) {
        size_t n = b64.len - i < NOTIFY_B64_LINE ? b64.len - i : NOTIFY_B64_LINE;
        rc = sp_buf_add(out, b64.data + i, n);
        if (rc == SP_OK)
            rc = sp_buf_add(out, "\r\n", 2);
    }
    sp_buf_cleanup_secret(&crlf);
    sp_buf_cleanup_secret(&b64);
    return rc;
}

enum sp_err sp_notify_mail_format(struct sp_buf *out, const char *from, const char *to,
                                  const char *subject, const char *body, int64_t now,
                                  const char *message_id)
{
    bool b64 = notify_longest_line(body) > NOTIFY_MAX_LINE;
    enum sp_err rc;

    if (!sp_notify_email_ok(from) || !sp_notify_email_ok(to) ||
        (subject != NULL && !sp_notify_line_ok(subject)) || !sp_notify_line_ok(message_id) ||
        !sp_notify_text_ok(body))
        return SP_ERR_INVALID;
    rc = notify_date(out, now);
    if (rc == SP_OK)
        rc = sp_buf_addf(out, "From: %s\r\nTo: %s\r\n", from, to);
    if (rc == SP_OK && subject != NULL && subject[0] != '\0')
        rc = notify_subject(out, subject);
    if (rc == SP_OK)
        rc = sp_buf_addf(out,
                         "Message-ID: %s\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: text/plain; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: %s\r\n\r\n",
                         message_id, b64 ? "base64" : "8bit");
    if (rc == SP_OK)
        rc = b64 ? notify_body_b64(out, body) : notify_body_crlf(out, body);
    return rc;
}

/* ---------------------------------------------------------------------------
 * libcurl plumbing
 * ------------------------------------------------------------------------ */

struct notify_reader {
    const char *p;
    size_t left;
};

static size_t notify_read(char *dst, size_t size, size_t nitems, void *ud)
{
    struct notify_reader *r = ud;
    size_t n = size * nitems;

    if (n > r->left)
        n = r->left;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

static size_t notify_discard(char *p, size_t size, size_t n, void *ud)
{
    size_t *seen = ud;
    (void)p;
    *seen += size * n;
    return *seen > NOTIFY_MAX_RESPONSE ? 0 : size * n;
}

static void notify_curl_common(CURL *c, const struct sp_notify_settings *ns, char *errbuf)
{
    long timeout = notify_timeout(ns);

    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                     timeout < NOTIFY_MAX_CONNECT_SEC ? timeout : NOTIFY_MAX_CONNECT_SEC);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';
}

/* ---------------------------------------------------------------------------
 * E-mail and PEC
 * ------------------------------------------------------------------------ */

enum sp_err sp_notify_email(const struct sp_notify_settings *ns, const struct sp_message *m,
                            int64_t id, int64_t now, struct sp_buf *err)
{
    char errbuf[CURL_ERROR_SIZE], token[SP_RAND_TOKEN_LEN + 1];
    struct sp_buf msg, mid, addr;
    struct curl_slist *rcpt = NULL;
    struct notify_reader rd;
    CURL *c = NULL;
    CURLcode cc;
    enum sp_err rc;

    sp_buf_init(&msg, 3 * SP_NOTIFY_MAX_BODY + 16384);
    sp_buf_init(&mid, 512);
    sp_buf_init(&addr, SP_NOTIFY_MAX_ADDR + 3);
    if (!notify_set(ns->smtp_url)) {
        sp_buf_adds(err, "e-mail is not configured (smtp_url)");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    if (!sp_notify_email_ok(ns->smtp_from)) {
        sp_buf_adds(err, "smtp_from is not a valid e-mail address");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    if ((notify_set(ns->smtp_user) && !sp_notify_line_ok(ns->smtp_user)) ||
        (notify_set(ns->smtp_password) && !sp_notify_line_ok(ns->smtp_password))) {
        sp_buf_adds(err, "smtp_user or smtp_password holds control characters");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = notify_check(m, err);
    if (rc != SP_OK)
        goto out;
    sp_rand_token(token);
    rc = sp_buf_addf(&mid, "<%" PRId64 ".%s@%s>", id, token, strchr(ns->smtp_from, '@') + 1);
    if (rc == SP_OK)
        rc = sp_buf_reserve(&msg, strlen(m->body) * 3 + 8192); /* base64 included */
    if (rc == SP_OK)
        rc = sp_notify_mail_format(&msg, ns->smtp_from, m->recipient, m->subject, m->body, now,
                                   sp_buf_str(&mid));
    if (rc != SP_OK) {
        sp_buf_addf(err, "cannot format the message: %s", sp_strerror(rc));
        rc = SP_ERR_INVALID;
        goto out;
    }
    c = curl_easy_init();
    if (c == NULL) {
        sp_buf_adds(err, "libcurl initialisation failed");
        rc = SP_ERR_IO;
        goto out;
    }
    sp_buf_addf(&addr, "<%s>", m->recipient);
    rcpt = curl_slist_append(NULL, sp_buf_str(&addr));
    sp_buf_reset(&addr);
    sp_buf_addf(&addr, "<%s>", ns->smtp_from);
    rd.p = msg.data;
    rd.left = msg.len;
    notify_curl_common(c, ns, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, ns->smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* STARTTLS whenever the server offers it; credentials never go in clear */
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     notify_set(ns->smtp_user) ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    if (notify_set(ns->smtp_user)) {
        curl_easy_setopt(c, CURLOPT_USERNAME, ns->smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, ns->smtp_password ? ns->smtp_password : "");
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, sp_buf_str(&addr));
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, notify_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        sp_buf_addf(err, "smtp: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = SP_ERR_IO;
    }
out:
    if (c != NULL)
        curl_easy_cleanup(c);
    curl_slist_free_all(rcpt);
    sp_buf_cleanup_secret(&msg);
    sp_buf_cleanup(&mid);
    sp_buf_cleanup(&addr);
    return rc;
}

/* ---------------------------------------------------------------------------
 * SMS
 * ------------------------------------------------------------------------ */

/* s as a JSON string literal (UTF-8 kept, controls escaped). */
static enum sp_err notify_json_str(struct sp_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    enum sp_err rc = sp_buf_addc(out, '"');

    for (const unsigned char *p = (const unsigned char *)s; rc == SP_OK && *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            rc = sp_buf_add(out, e, 2);
        } else if (*p == '\n') {
            rc = sp_buf_adds(out, "\\n");
        } else if (*p < 0x20 || *p == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            rc = sp_buf_add(out, e, 6);
        } else {
            rc = sp_buf_addc(out, (char)*p);
        }
    }
    if (rc == SP_OK)
        rc = sp_buf_addc(out, '"');
    return rc;
}

enum sp_err sp_notify_sms(const struct sp_notify_settings *ns, const struct sp_message *m,
                          int64_t id, struct sp_buf *err)
{
    char errbuf[CURL_ERROR_SIZE];
    struct sp_buf json, auth;
    struct curl_slist *hdrs = NULL;
    size_t seen = 0;
    long status = 0;
    CURL *c = NULL;
    CURLcode cc;
    enum sp_err rc;

    sp_buf_init(&json, 6 * SP_NOTIFY_MAX_BODY + 1024);
    sp_buf_init(&auth, 4096);
    if (!notify_set(ns->sms_url)) {
        sp_buf_adds(err, "SMS is not configured (sms_url)");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    if (notify_set(ns->sms_token) && !sp_notify_line_ok(ns->sms_token)) {
        sp_buf_adds(err, "sms_token holds control characters");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = notify_check(m, err);
    if (rc != SP_OK)
        goto out;
    rc = sp_buf_reserve(&json, strlen(m->body) * 6 + 256);
    if (rc == SP_OK)
        rc = sp_buf_adds(&json, "{\"to\": ");
    if (rc == SP_OK)
        rc = notify_json_str(&json, m->recipient);
    if (rc == SP_OK)
        rc = sp_buf_adds(&json, ", \"text\": ");
    if (rc == SP_OK)
        rc = notify_json_str(&json, m->body);
    if (rc == SP_OK)
        rc = sp_buf_addf(&json, ", \"id\": \"%" PRId64 "\"}", id);
    if (rc == SP_OK && notify_set(ns->sms_token))
        rc = sp_buf_addf(&auth, "Authorization: Bearer %s", ns->sms_token);
    if (rc != SP_OK) {
        sp_buf_adds(err, "cannot format the SMS request");
        rc = SP_ERR_INVALID;
        goto out;
    }
    c = curl_easy_init();
    if (c == NULL) {
        sp_buf_adds(err, "libcurl initialisation failed");
        rc = SP_ERR_IO;
        goto out;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (auth.len > 0)
        hdrs = curl_slist_append(hdrs, sp_buf_str(&auth));
    notify_curl_common(c, ns, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, ns->sms_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, NOTIFY_USER_AGENT);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)json.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, notify_discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &seen);
    cc = curl_easy_perform(c);
    if (cc == CURLE_WRITE_ERROR) /* an over-long answer: the status decides */
        cc = CURLE_OK;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        sp_buf_addf(err, "sms gateway: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = SP_ERR_IO;
    } else if (status < 200 || status > 299) {
        sp_buf_addf(err, "sms gateway: HTTP status %ld", status);
        rc = SP_ERR_IO;
    }
out:
    if (c != NULL)
        curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    sp_buf_cleanup_secret(&json);
    sp_buf_cleanup_secret(&auth);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Post
 * ------------------------------------------------------------------------ */

enum sp_err sp_notify_post(const struct sp_notify_settings *ns, const struct sp_message *m,
                           int64_t id, int64_t created_at, struct sp_buf *err)
{
    struct sp_buf path, letter;
    time_t t = (time_t)created_at;
    struct tm tm;
    size_t blen;
    enum sp_err rc;

    sp_buf_init(&path, 4096);
    sp_buf_init(&letter, SP_NOTIFY_MAX_POSTAL + SP_NOTIFY_MAX_SUBJECT + SP_NOTIFY_MAX_BODY + 16);
    if (!notify_set(ns->postal_spool_dir)) {
        sp_buf_adds(err, "post is not configured (postal_spool_dir)");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    rc = notify_check(m, err);
    if (rc != SP_OK)
        goto out;
    if (gmtime_r(&t, &tm) == NULL) {
        sp_buf_adds(err, "creation time out of range");
        rc = SP_ERR_INVALID;
        goto out;
    }
    rc = sp_buf_addf(&path, "%s/%04d%02d%02d-%" PRId64 ".txt", ns->postal_spool_dir,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, id);
    if (rc != SP_OK) {
        sp_buf_adds(err, "postal_spool_dir is too long");
        rc = SP_ERR_CONFIG;
        goto out;
    }
    /* address block, blank line, subject, blank line, body; LF line ends */
    blen = strlen(m->body);
    rc = sp_buf_reserve(&letter, letter.max);
    if (rc == SP_OK)
        rc = sp_buf_addf(&letter, "%s\n\n", m->recipient);
    if (rc == SP_OK && m->subject != NULL && m->subject[0] != '\0')
        rc = sp_buf_addf(&letter, "%s\n\n", m->subject);
    if (rc == SP_OK)
        rc = sp_buf_add(&letter, m->body, blen);
    if (rc == SP_OK && m->body[blen - 1] != '\n')
        rc = sp_buf_addc(&letter, '\n');
    if (rc != SP_OK) {
        sp_buf_adds(err, "letter too large");
        rc = SP_ERR_INVALID;
        goto out;
    }
    if (sp_file_mkdirs(ns->postal_spool_dir, NOTIFY_SPOOL_DIR_MODE) != SP_OK) {
        sp_buf_adds(err, "cannot create postal_spool_dir");
        rc = SP_ERR_IO;
        goto out;
    }
    rc = sp_file_write_atomic(sp_buf_str(&path), letter.data, letter.len, NOTIFY_LETTER_MODE);
    if (rc != SP_OK) {
        sp_buf_adds(err, "cannot write the letter into postal_spool_dir");
        rc = SP_ERR_IO;
    }
out:
    sp_buf_cleanup(&path);
    sp_buf_cleanup_secret(&letter);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

enum sp_err sp_notify_send(const struct sp_notify_settings *ns, const struct sp_message *m,
                           int64_t id, int64_t created_at, int64_t now, struct sp_buf *err)
{
    switch (m->channel) {
    case SP_CHANNEL_EMAIL:
    case SP_CHANNEL_PEC:
        return sp_notify_email(ns, m, id, now, err);
    case SP_CHANNEL_SMS:
        return sp_notify_sms(ns, m, id, err);
    case SP_CHANNEL_POST:
        return sp_notify_post(ns, m, id, created_at, err);
    }
    sp_buf_adds(err, "unknown channel");
    return SP_ERR_INVALID;
}
