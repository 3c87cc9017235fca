#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool log_journal;
static bool log_verbose;

void log_init(bool verbose) {
        const char *js = getenv("JOURNAL_STREAM");
        log_journal = js && *js;
        log_verbose = verbose;
}

/* Writes one line: optional "<N>" prefix, "sparkd: ", the message, and
 * ": strerror(err)" when err is not 0.  One fprintf keeps the line whole. */
static void log_vline(enum log_level lvl, int err, const char *fmt, va_list ap) {
        char msg[2048];
        vsnprintf(msg, sizeof msg, fmt, ap);
        for (char *p = msg; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        char prefix[8] = "";
        if (log_journal)
                snprintf(prefix, sizeof prefix, "<%d>", (int)lvl);
        if (err)
                fprintf(stderr, "%ssparkd: %s: %s\n", prefix, msg, strerror(err));
        else
                fprintf(stderr, "%ssparkd: %s\n", prefix, msg);
}

#define LOG_BODY(lvl, err)                      \
        do {                                    \
                va_list ap;                     \
                va_start(ap, fmt);              \
                log_vline((lvl), (err), fmt, ap); \
                va_end(ap);                     \
        } while (0)

void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, 0); }

void log_debug(const char *fmt, ...) {
        if (log_verbose)
                LOG_BODY(LOG_LVL_DEBUG, 0);
}

void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }

void log_warn(const char *fmt, ...) {
        int e = errno;
        LOG_BODY(LOG_LVL_WARN, e);
}

int log_errno(int r, const char *fmt, ...) {
        LOG_BODY(LOG_LVL_WARN, r < 0 ? -r : r);
        return r;
}

void fatal(const char *fmt, ...) {
        int e = errno;
        LOG_BODY(LOG_LVL_ERR, e);
        exit(1);
}

void fatalx(const char *fmt, ...) {
        LOG_BODY(LOG_LVL_ERR, 0);
        exit(1);
}
