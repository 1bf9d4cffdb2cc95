/*
 * log: leveled, printf-checked logging to stderr. Lines logged while a request
 * runs carry that request's context (request id, client, method, path), set by
 * http.c. Never log SAML messages, cookies, session ids, PINs or keys.
 */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <errno.h>

enum sp_log_level { SP_LOG_DEBUG, SP_LOG_INFO, SP_LOG_WARN, SP_LOG_ERROR };

/* Configuration (main thread, before workers start). */
void sp_log_set_level(enum sp_log_level level);
enum sp_log_level sp_log_get_level(void);
/* Parse "debug|info|warn|error"; returns -1 on an unknown name. */
int sp_log_level_parse(const char *name);

/* Per-thread request context; the string is copied. NULL clears it. */
void sp_log_set_context(const char *ctx);

/*
 * Per-thread request context given as its parts, formatted only when a line
 * is written (the hot path logs nothing). The pointers must stay valid until
 * sp_log_set_context(NULL) or the next call.
 */
void sp_log_set_request(const char *id, const char *client, const char *method, const char *path);

/* Write one line; prefer the macros below, which skip formatting below the level. */
void sp_log_write(enum sp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sp_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= sp_log_get_level())                                                         \
            sp_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

#define sp_debug(...) sp_log(SP_LOG_DEBUG, __VA_ARGS__)
#define sp_info(...) sp_log(SP_LOG_INFO, __VA_ARGS__)
#define sp_warnx(...) sp_log(SP_LOG_WARN, __VA_ARGS__)
#define sp_errorx(...) sp_log(SP_LOG_ERROR, __VA_ARGS__)

/* OpenBSD split: sp_warn appends strerror(errno), sp_warnx does not. */
void sp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Startup only: log and exit(1). */
_Noreturn void sp_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SP_LOG_H */
