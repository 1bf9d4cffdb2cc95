/*
 * log: one line per event on stderr: time, level, request context, message.
 *
 * THREAD SAFETY NOTES: the level is set once before workers start; the
 * context is thread-local; each line is written with a single fputs under
 * stdio's own stream lock, so lines from different threads do not interleave.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp/log.h"

#define SP_LOG_LINE_MAX 2048
#define SP_LOG_CTX_MAX 256

static enum sp_log_level log_level = SP_LOG_INFO;
static _Thread_local char log_ctx[SP_LOG_CTX_MAX];
static _Thread_local struct {
    const char *id, *client, *method, *path;
} log_req;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sp_log_set_level(enum sp_log_level level)
{
    log_level = level;
}

enum sp_log_level sp_log_get_level(void)
{
    return log_level;
}

int sp_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void sp_log_set_context(const char *ctx)
{
    log_req.id = NULL;
    if (ctx == NULL) {
        log_ctx[0] = '\0';
        return;
    }
    snprintf(log_ctx, sizeof(log_ctx), "%s", ctx);
}

void sp_log_set_request(const char *id, const char *client, const char *method, const char *path)
{
    log_ctx[0] = '\0';
    log_req.id = id;
    log_req.client = client;
    log_req.method = method;
    log_req.path = path;
}

static void log_vwrite(enum sp_log_level level, const char *suffix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void log_vwrite(enum sp_log_level level, const char *suffix, const char *fmt, va_list ap)
{
    char line[SP_LOG_LINE_MAX];
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;

    if (log_req.id != NULL) /* format the request context on first use */
        snprintf(log_ctx, sizeof(log_ctx), "[%s %s %s %.200s]", log_req.id, log_req.client,
                 log_req.method, log_req.path);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line, sizeof(line), "%s.%03ldZ %s %s%s", stamp, ts.tv_nsec / 1000000L,
                 level_names[level], log_ctx, log_ctx[0] ? " " : "");
    n = r < 0 ? 0 : (size_t)r;
    if (n < sizeof(line)) {
        r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        n += r < 0 ? 0 : (size_t)r;
    }
    if (suffix != NULL && n < sizeof(line)) {
        r = snprintf(line + n, sizeof(line) - n, ": %s", suffix);
        n += r < 0 ? 0 : (size_t)r;
    }
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    /* one line per event: control characters from input never split it */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[n] = '\n';
    line[n + 1] = '\0';
    fputs(line, stderr);
}

void sp_log_write(enum sp_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, NULL, fmt, ap);
    va_end(ap);
}

void sp_warn(const char *fmt, ...)
{
    char err[128];
    va_list ap;
    snprintf(err, sizeof(err), "%s", strerror(errno));
    va_start(ap, fmt);
    log_vwrite(SP_LOG_WARN, err, fmt, ap);
    va_end(ap);
}

void sp_fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(SP_LOG_ERROR, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
