/* log.h — the daemon's one-screen log API.
 *
 * Lines go to stderr.  Under systemd (JOURNAL_STREAM set) each line starts
 * with a syslog "<N>" priority prefix so journald keeps the level.
 * log_warn and log_errno add strerror; log_warnx does not.  fatal and
 * fatalx are for start-up only.  Callers never log Cookie or Authorization
 * values.
 */
#pragma once
#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Reads JOURNAL_STREAM; verbose enables debug lines. */
void log_init(bool verbose);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at warning level with ": strerror(-r)" appended and returns r
 * (a negative errno), so that `return log_errno(r, "...")` works. */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
