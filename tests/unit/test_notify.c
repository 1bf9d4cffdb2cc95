/*
 * test_notify: the delivery channels against real servers. The SMTP sink
 * (tests/e2e/smtp_sink.py, Debian's python3-aiosmtpd) and the HTTP sink
 * (tests/e2e/http_sink.py) run as child processes of /usr/bin/python3 on
 * loopback; the messages go through sp_outbox_deliver() and the sinks' JSON
 * lines are checked: RFC 5322 headers, the RFC 2047 subject, the body intact,
 * the SMS JSON and bearer token, retries after HTTP 500 and SMTP 451, and a
 * server that is down. A missing python3-aiosmtpd fails the test, loudly.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/db.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/notify.h"
#include "sp/outbox.h"
#include "sp/str.h"
#include "sp_test_db.h"

#define T0 1700000000 /* Tue, 14 Nov 2023 22:13:20 +0000 */
#define PYTHON "/usr/bin/python3"
#define SINK_DIR SP_SOURCE_DIR "/tests/e2e"
#define SINK_START_MS 15000
#define FROM "noreply@sp.example.it"
#define SUBJECT "Il tuo PIN – prima metà"
#define SUBJECT_B64 "SWwgdHVvIFBJTiDigJMgcHJpbWEgbWV0w6A="
#define SECRET_BODY                                                                                \
    "Gentile utente,\n"                                                                            \
    "la prima metà del PIN è: ABCD1234\n"                                                        \
    ".\n"                                                                                          \
    ".riga che inizia con un punto\n"                                                              \
    "\n"                                                                                           \
    "Cordiali saluti\n"

/* ---- fixture: a database and up to two sink processes --------------------- */

struct sink {
    pid_t pid;
    int port;
    char dir[256];
};

struct nfx {
    struct fx *fx;
    struct sink sinks[2];
    int n_sinks;
};

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[1024];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

static int nfx_setup(void **state)
{
    struct nfx *n = calloc(1, sizeof(*n));
    void *inner = NULL;

    if (n == NULL || fx_setup(&inner) != 0) {
        free(n);
        return -1;
    }
    n->fx = inner;
    *state = n;
    return 0;
}

static void sink_stop(struct sink *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static int nfx_teardown(void **state)
{
    struct nfx *n = *state;
    void *inner = n->fx;

    for (int i = 0; i < n->n_sinks; i++) {
        sink_stop(&n->sinks[i]);
        rm_tree(n->sinks[i].dir);
    }
    free(n);
    return fx_teardown(&inner);
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * Start SINK_DIR/script DIR [a1 a2] with /usr/bin/python3 and wait for
 * DIR/port. A sink that exits first (python3-aiosmtpd missing) fails the
 * test with its stderr.
 */
static struct sink *sink_start(struct nfx *n, const char *script, const char *a1, const char *a2)
{
    struct sink *s = &n->sinks[n->n_sinks];
    char script_path[512], port_path[512], err_path[512];

    assert_true(n->n_sinks < 2);
    n->n_sinks++;
    snprintf(s->dir, sizeof(s->dir), "%s/sink%d", n->fx->dir, n->n_sinks);
    snprintf(script_path, sizeof(script_path), "%s/%s", SINK_DIR, script);
    snprintf(port_path, sizeof(port_path), "%s/port", s->dir);
    snprintf(err_path, sizeof(err_path), "%s/stderr.log", s->dir);
    assert_int_equal(mkdir(s->dir, 0700), 0);
    if (access(PYTHON, X_OK) != 0)
        fail_msg("%s is missing: the notify tests need Debian's python3", PYTHON);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int out = open("/dev/null", O_WRONLY);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out >= 0)
            dup2(out, 1);
        if (err >= 0)
            dup2(err, 2);
        execl(PYTHON, "python3", script_path, s->dir, a1, a2, (char *)NULL);
        _exit(127);
    }
    for (int waited = 0; sp_file_exists(port_path) != SP_OK; waited += 20) {
        int status = 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            struct sp_buf e;
            s->pid = 0;
            sp_buf_init(&e, 4096);
            sp_file_read(err_path, &e);
            fail_msg("%s exited (status %d) before listening%s: %s", script,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     strstr(sp_buf_str(&e), "aiosmtpd") != NULL
                         ? " (install Debian's python3-aiosmtpd: apt-get install python3-aiosmtpd)"
                         : "",
                     sp_buf_str(&e));
        }
        if (waited > SINK_START_MS)
            fail_msg("%s did not start listening within %d ms", script, SINK_START_MS);
        msleep(20);
    }
    {
        struct sp_buf p;
        uint64_t port = 0;
        sp_buf_init(&p, 64);
        assert_int_equal(sp_file_read(port_path, &p), SP_OK);
        while (p.len > 0 && (p.data[p.len - 1] == '\n'))
            p.data[--p.len] = '\0';
        assert_int_equal(sp_parse_uint(sp_buf_str(&p), 1, 65535, &port), SP_OK);
        s->port = (int)port;
        sp_buf_cleanup(&p);
    }
    return s;
}

/* The JSON lines the sink wrote to file (a JSON array, json_decref it). */
static json_t *sink_records(const struct sink *s, const char *file)
{
    char path[512];
    struct sp_buf b;
    json_t *arr = json_array();
    const char *p;

    snprintf(path, sizeof(path), "%s/%s", s->dir, file);
    sp_buf_init(&b, 1 << 22);
    if (sp_file_read(path, &b) == SP_OK) {
        p = sp_buf_str(&b);
        while (*p != '\0') {
            size_t len = strcspn(p, "\n");
            json_error_t je;
            json_t *rec = json_loadb(p, len, 0, &je);
            if (rec == NULL)
                fail_msg("bad JSON line in %s: %s", path, je.text);
            json_array_append_new(arr, rec);
            p += len;
            if (*p == '\n')
                p++;
        }
    }
    sp_buf_cleanup(&b);
    return arr;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("JSON field %s is missing or not a string", key);
    return json_string_value(v);
}

/* The value of header name (first occurrence) in a smtp_sink record. */
static const char *mail_header(json_t *rec, const char *name)
{
    size_t i;
    json_t *h;

    json_array_foreach(json_object_get(rec, "headers"), i, h)
    {
        if (strcasecmp(json_string_value(json_array_get(h, 0)), name) == 0)
            return json_string_value(json_array_get(h, 1));
    }
    return NULL;
}

static struct sp_notify_settings settings(void)
{
    struct sp_notify_settings ns;
    memset(&ns, 0, sizeof(ns));
    ns.smtp_from = FROM;
    ns.timeout_sec = 5;
    ns.retry_base_sec = 30;
    ns.retry_max_sec = 3600;
    ns.max_attempts = 20;
    return ns;
}

static int64_t enqueue(struct sp_db *db, enum sp_channel c, const char *rcpt, const char *subject,
                       const char *body, int64_t now)
{
    struct sp_message m = {c, rcpt, subject, body, "RSSMRA80A01H501U", "pin.half1"};
    int64_t id = -1;
    assert_int_equal(sp_outbox_enqueue(db, &m, now, &id), SP_OK);
    return id;
}

static int64_t row_int(struct sp_db *db, const char *col, int64_t id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM outbox WHERE id = %lld", col, (long long)id);
    return query_int(db, sql);
}

/* A loopback port nobody listens on (bound, then released). */
static int closed_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- the RFC 5322 message, without a server ------------------------------ */

static void test_mail_format(void **state)
{
    struct sp_buf b;
    const char *mid = "<1.abc@sp.example.it>";

    (void)state;
    sp_buf_init(&b, 1 << 20);
    assert_int_equal(sp_notify_mail_format(&b, FROM, "mario.rossi@example.it", SUBJECT,
                                           "riga 1\nriga 2\n", T0, mid),
                     SP_OK);
    assert_string_equal(sp_buf_str(&b), "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                                        "From: " FROM "\r\n"
                                        "To: mario.rossi@example.it\r\n"
                                        "Subject: =?UTF-8?B?" SUBJECT_B64 "?=\r\n"
                                        "Message-ID: <1.abc@sp.example.it>\r\n"
                                        "MIME-Version: 1.0\r\n"
                                        "Content-Type: text/plain; charset=UTF-8\r\n"
                                        "Content-Transfer-Encoding: 8bit\r\n"
                                        "\r\n"
                                        "riga 1\r\n"
                                        "riga 2\r\n");

    /* plain ASCII stays as it is; no subject, no header; any line end becomes CRLF */
    sp_buf_reset(&b);
    assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it", "Your PIN", "x", T0, mid), SP_OK);
    assert_non_null(strstr(sp_buf_str(&b), "\r\nSubject: Your PIN\r\n"));
    sp_buf_reset(&b);
    assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it", NULL, "a\rb\r\nc\n\nd", T0, mid),
                     SP_OK);
    assert_null(strstr(sp_buf_str(&b), "Subject"));
    assert_non_null(strstr(sp_buf_str(&b), "\r\n\r\na\r\nb\r\nc\r\n\r\nd\r\n"));

    /* a long UTF-8 subject: several encoded-words, folded, never cutting a character */
    sp_buf_reset(&b);
    {
        char subj[61] = "";
        for (int i = 0; i < 30; i++)
            memcpy(subj + 2 * i, "\xc3\xa8", 3); /* è */
        assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it", subj, "x", T0, mid), SP_OK);
        assert_non_null(strstr(sp_buf_str(&b),
                               "\r\nSubject: =?UTF-8?B?"
                               "w6jDqMOow6jDqMOow6jDqMOow6jDqMOow6jDqMOow6jDqMOow6g=?=\r\n"
                               " =?UTF-8?B?w6jDqMOow6jDqMOow6jDqMOow6jDqA==?=\r\nMessage-ID"));
    }

    /* lines longer than RFC 5322 allows: base64 in 76-character lines */
    sp_buf_reset(&b);
    {
        char *longline = malloc(1201);
        assert_non_null(longline);
        memset(longline, 'a', 1200);
        longline[1200] = '\0';
        assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it", "s", longline, T0, mid), SP_OK);
        free(longline);
        assert_non_null(strstr(sp_buf_str(&b), "Content-Transfer-Encoding: base64\r\n\r\n"
                                               "YWFhYWFh"));
        for (const char *p = strstr(sp_buf_str(&b), "\r\n\r\n") + 4; *p != '\0';) {
            size_t len = strcspn(p, "\r");
            assert_true(len <= 76);
            p += len + 2;
        }
    }

    /* header injection is refused, whatever the caller checked before */
    sp_buf_reset(&b);
    assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it\r\nBcc: x@evil.it", "s", "x", T0, mid),
                     SP_ERR_INVALID);
    assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it", "s\nBcc: x@evil.it", "x", T0, mid),
                     SP_ERR_INVALID);
    assert_int_equal(sp_notify_mail_format(&b, "x\r\n@b.it", "a@b.it", "s", "x", T0, mid),
                     SP_ERR_INVALID);
    assert_int_equal(sp_notify_mail_format(&b, FROM, "a@b.it", "s", "x", T0, "<a\r\nb>"),
                     SP_ERR_INVALID);
    assert_int_equal(b.len, 0);
    sp_buf_cleanup(&b);
}

static void test_unconfigured_channels(void **state)
{
    struct sp_notify_settings ns;
    struct sp_message mail = {SP_CHANNEL_EMAIL, "a@b.it", "s", "x", NULL, NULL};
    struct sp_message sms = {SP_CHANNEL_SMS, "+393331234567", NULL, "x", NULL, NULL};
    struct sp_message post = {SP_CHANNEL_POST, "Mario\nRoma", "s", "x", NULL, NULL};
    struct sp_buf err;

    (void)state;
    memset(&ns, 0, sizeof(ns));
    sp_buf_init(&err, 512);
    assert_int_equal(sp_notify_send(&ns, &mail, 1, T0, T0, &err), SP_ERR_CONFIG);
    assert_int_equal(sp_notify_send(&ns, &sms, 1, T0, T0, &err), SP_ERR_CONFIG);
    assert_int_equal(sp_notify_send(&ns, &post, 1, T0, T0, &err), SP_ERR_CONFIG);
    ns.smtp_url = "smtp://127.0.0.1:1";
    ns.smtp_from = "not an address";
    sp_buf_reset(&err);
    assert_int_equal(sp_notify_send(&ns, &mail, 1, T0, T0, &err), SP_ERR_CONFIG);
    assert_non_null(strstr(sp_buf_str(&err), "smtp_from"));
    ns.sms_url = "http://127.0.0.1:1/";
    ns.sms_token = "tok\r\nX-Evil: 1";
    assert_int_equal(sp_notify_send(&ns, &sms, 1, T0, T0, &err), SP_ERR_CONFIG);
    sp_buf_cleanup(&err);
}

/* ---- SMTP ----------------------------------------------------------------- */

static void test_smtp_delivery(void **state)
{
    struct nfx *n = *state;
    struct sp_db *db = n->fx->db;
    struct sink *s = sink_start(n, "smtp_sink.py", NULL, NULL);
    struct sp_notify_settings ns = settings();
    char url[64];
    unsigned sent = 0, failed = 0;
    int64_t id, id2;
    json_t *recs, *r;
    const char *data, *h;

    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s->port);
    ns.smtp_url = url;
    id = enqueue(db, SP_CHANNEL_EMAIL, "mario.rossi@example.it", SUBJECT, SECRET_BODY, T0);
    id2 = enqueue(db, SP_CHANNEL_PEC, "mario.rossi@pec.example.it", "PEC", "Testo PEC\n", T0);
    assert_int_equal(sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 2);
    assert_int_equal(failed, 0);

    recs = sink_records(s, "messages.jsonl");
    assert_int_equal(json_array_size(recs), 2);
    r = json_array_get(recs, 0);
    assert_string_equal(jstr(r, "mail_from"), FROM);
    assert_int_equal(json_array_size(json_object_get(r, "rcpt_tos")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "rcpt_tos"), 0)),
                        "mario.rossi@example.it");
    /* decoded by Python's email package: subject and body as they were queued */
    assert_string_equal(jstr(r, "subject"), SUBJECT);
    assert_string_equal(jstr(r, "body"), SECRET_BODY);
    assert_string_equal(jstr(r, "content_type"), "text/plain");
    assert_string_equal(jstr(r, "cte"), "8bit");
    /* the raw message: the headers RFC 5322 wants, CRLF line ends */
    data = jstr(r, "data");
    assert_true(sp_str_has_prefix(data, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
    assert_non_null(strstr(data, "\r\nFrom: " FROM "\r\n"));
    assert_non_null(strstr(data, "\r\nTo: mario.rossi@example.it\r\n"));
    assert_non_null(strstr(data, "\r\nSubject: =?UTF-8?B?" SUBJECT_B64 "?=\r\n"));
    assert_non_null(strstr(data, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(data, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(data, "\r\n\r\nGentile utente,\r\n"));
    for (const char *p = strchr(data, '\n'); p != NULL; p = strchr(p + 1, '\n'))
        assert_true(p > data && p[-1] == '\r'); /* no bare LF anywhere */
    h = mail_header(r, "Message-ID");
    assert_non_null(h);
    assert_true(h[0] == '<' && strstr(h, "@sp.example.it>") != NULL);
    assert_non_null(mail_header(r, "Date"));

    r = json_array_get(recs, 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "rcpt_tos"), 0)),
                        "mario.rossi@pec.example.it");
    assert_string_equal(jstr(r, "subject"), "PEC");
    assert_string_equal(jstr(r, "body"), "Testo PEC\n");
    assert_string_not_equal(mail_header(r, "Message-ID"),
                            mail_header(json_array_get(recs, 0), "Message-ID"));
    json_decref(recs);

    /* sent: the record stays, the body goes */
    assert_int_equal(row_int(db, "state = 'sent' AND body IS NULL AND sent_at = 1700000000", id),
                     1);
    assert_int_equal(row_int(db, "state = 'sent' AND body IS NULL", id2), 1);
}

static void test_smtp_base64_body(void **state)
{
    struct nfx *n = *state;
    struct sink *s = sink_start(n, "smtp_sink.py", NULL, NULL);
    struct sp_notify_settings ns = settings();
    char url[64], body[2100];
    unsigned sent = 0;
    json_t *recs;

    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s->port);
    ns.smtp_url = url;
    memset(body, 'x', 1500);
    snprintf(body + 1500, sizeof(body) - 1500, "\nè la fine\n");
    enqueue(n->fx->db, SP_CHANNEL_EMAIL, "a@example.it", "lungo", body, T0);
    assert_int_equal(sp_outbox_deliver(n->fx->db, &ns, T0, 0, &sent, NULL), SP_OK);
    assert_int_equal(sent, 1);
    recs = sink_records(s, "messages.jsonl");
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(jstr(json_array_get(recs, 0), "cte"), "base64");
    assert_string_equal(jstr(json_array_get(recs, 0), "body"), body);
    json_decref(recs);
}

static void test_smtp_down_stays_queued(void **state)
{
    struct nfx *n = *state;
    struct sp_db *db = n->fx->db;
    struct sp_notify_settings ns = settings();
    struct sp_outbox_counts c;
    char url[64];
    unsigned sent = 9, failed = 9;
    int64_t id;
    sqlite3_stmt *st = NULL;

    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", closed_port());
    ns.smtp_url = url;
    id = enqueue(db, SP_CHANNEL_EMAIL, "mario.rossi@example.it", SUBJECT, SECRET_BODY, T0);
    assert_int_equal(sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    assert_int_equal(row_int(db, "state = 'queued' AND attempts = 1 AND body IS NOT NULL", id), 1);
    assert_int_equal(row_int(db, "next_at", id), T0 + 30);
    assert_int_equal(sp_outbox_counts(db, &c), SP_OK);
    assert_int_equal(c.queued, 1);
    /* the reason is kept, without the secret */
    assert_int_equal(
        sqlite3_prepare_v2(sp_db_conn(db), "SELECT last_error FROM outbox", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_non_null(sqlite3_column_text(st, 0));
    assert_true(sp_str_has_prefix((const char *)sqlite3_column_text(st, 0), "smtp: "));
    assert_null(strstr((const char *)sqlite3_column_text(st, 0), "ABCD1234"));
    sqlite3_finalize(st);
}

static void test_smtp_temporary_refusal_retried(void **state)
{
    struct nfx *n = *state;
    struct sp_db *db = n->fx->db;
    struct sink *s = sink_start(n, "smtp_sink.py", "--fail-first", "1");
    struct sp_notify_settings ns = settings();
    char url[64];
    unsigned sent = 0, failed = 0;
    int64_t id;
    json_t *recs;

    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s->port);
    ns.smtp_url = url;
    id = enqueue(db, SP_CHANNEL_EMAIL, "mario.rossi@example.it", SUBJECT, SECRET_BODY, T0);
    assert_int_equal(sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(row_int(db, "state = 'queued' AND next_at = 1700000030", id), 1);
    assert_int_equal(sp_outbox_deliver(db, &ns, T0 + 30, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 1);
    recs = sink_records(s, "messages.jsonl");
    assert_int_equal(json_array_size(recs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 0), "status")), 451);
    assert_string_equal(jstr(json_array_get(recs, 1), "body"), SECRET_BODY);
    json_decref(recs);
}

/* ---- SMS ------------------------------------------------------------------ */

static void test_sms_delivery(void **state)
{
    struct nfx *n = *state;
    struct sp_db *db = n->fx->db;
    struct sink *s = sink_start(n, "http_sink.py", NULL, NULL);
    struct sp_notify_settings ns = settings();
    char url[64], idtext[32];
    unsigned sent = 0, failed = 0;
    const char *text = "PIN (prima metà): \"AB\\CD\"\n12\tè";
    json_t *recs, *r, *body;
    int64_t id;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sms/send", s->port);
    ns.sms_url = url;
    ns.sms_token = "s3cr3t-token";
    id = enqueue(db, SP_CHANNEL_SMS, "+393331234567", NULL, text, T0);
    assert_int_equal(sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 1);
    assert_int_equal(failed, 0);

    recs = sink_records(s, "requests.jsonl");
    assert_int_equal(json_array_size(recs), 1);
    r = json_array_get(recs, 0);
    assert_string_equal(jstr(r, "method"), "POST");
    assert_string_equal(jstr(r, "path"), "/sms/send");
    assert_string_equal(jstr(json_object_get(r, "headers"), "content-type"), "application/json");
    assert_string_equal(jstr(json_object_get(r, "headers"), "authorization"),
                        "Bearer s3cr3t-token");
    body = json_object_get(r, "json");
    assert_true(json_is_object(body));
    assert_int_equal(json_object_size(body), 3);
    assert_string_equal(jstr(body, "to"), "+393331234567");
    assert_string_equal(jstr(body, "text"), text);
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    assert_string_equal(jstr(body, "id"), idtext);
    json_decref(recs);
    assert_int_equal(row_int(db, "state = 'sent' AND body IS NULL", id), 1);
}

static void test_sms_retry_on_500(void **state)
{
    struct nfx *n = *state;
    struct sp_db *db = n->fx->db;
    struct sink *s = sink_start(n, "http_sink.py", "--fail-first", "2");
    struct sp_notify_settings ns = settings();
    char url[64], sql[128];
    unsigned sent = 0, failed = 0;
    json_t *recs;
    int64_t id;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sms", s->port);
    ns.sms_url = url; /* no token: no Authorization header */
    id = enqueue(db, SP_CHANNEL_SMS, "+393331234567", NULL, "PIN: 1234", T0);

    assert_int_equal(sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    assert_int_equal(row_int(db, "state = 'queued' AND attempts = 1", id), 1);
    assert_int_equal(row_int(db, "next_at", id), T0 + 30);
    snprintf(sql, sizeof(sql), "SELECT last_error LIKE '%%HTTP status 500%%' FROM outbox");
    assert_int_equal(query_int(db, sql), 1);
    /* not due again at the same instant */
    assert_int_equal(sp_outbox_deliver(db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent + failed, 0);

    assert_int_equal(sp_outbox_deliver(db, &ns, T0 + 30, 0, &sent, &failed), SP_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(row_int(db, "next_at", id), T0 + 30 + 60);
    assert_int_equal(sp_outbox_deliver(db, &ns, T0 + 90, 0, &sent, &failed), SP_OK);
    assert_int_equal(sent, 1);
    assert_int_equal(row_int(db, "state = 'sent' AND attempts = 3 AND body IS NULL", id), 1);

    recs = sink_records(s, "requests.jsonl");
    assert_int_equal(json_array_size(recs), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(recs, i);
        assert_int_equal(json_integer_value(json_object_get(r, "status")), i < 2 ? 500 : 200);
        assert_null(json_object_get(json_object_get(r, "headers"), "authorization"));
        assert_string_equal(jstr(json_object_get(r, "json"), "text"), "PIN: 1234");
    }
    json_decref(recs);
}

static void test_sms_gateway_down(void **state)
{
    struct nfx *n = *state;
    struct sp_notify_settings ns = settings();
    char url[64];
    unsigned sent = 9, failed = 9;
    int64_t id;

    (void)n;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sms", closed_port());
    ns.sms_url = url;
    id = enqueue(n->fx->db, SP_CHANNEL_SMS, "+393331234567", NULL, "PIN: 1234", T0);
    assert_int_equal(sp_outbox_deliver(n->fx->db, &ns, T0, 0, &sent, &failed), SP_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(row_int(n->fx->db, "state = 'queued' AND next_at = 1700000030", id), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_format),
        cmocka_unit_test(test_unconfigured_channels),
        cmocka_unit_test_setup_teardown(test_smtp_delivery, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(test_smtp_base64_body, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(test_smtp_down_stays_queued, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(test_smtp_temporary_refusal_retried, nfx_setup,
                                        nfx_teardown),
        cmocka_unit_test_setup_teardown(test_sms_delivery, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(test_sms_retry_on_500, nfx_setup, nfx_teardown),
        cmocka_unit_test_setup_teardown(test_sms_gateway_down, nfx_setup, nfx_teardown),
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    sp_log_set_level(SP_LOG_ERROR);
    if (sp_notify_init() != SP_OK) {
        fprintf(stderr, "libcurl initialisation failed\n");
        return 1;
    }
    rc = cmocka_run_group_tests_name("notify", tests, NULL, NULL);
    sp_notify_cleanup();
    return rc;
}
