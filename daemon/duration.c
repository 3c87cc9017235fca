#include "duration.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char units[] = "hms";
static const unsigned unit_seconds[] = {3600, 60, 1};

/* why = the clause; returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (size)
                vsnprintf(why, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int duration_parse(const char *s, unsigned *ret_seconds, char *why, size_t why_size) {
        size_t len = s ? strnlen(s, DURATION_TEXT_MAX + 1) : 0;
        if (len == 0)
                return refuse(why, why_size, "is empty");
        if (len > DURATION_TEXT_MAX)
                return refuse(why, why_size, "is longer than %u bytes", DURATION_TEXT_MAX);
        if (!strcmp(s, "off") || !strcmp(s, "0")) {
                *ret_seconds = 0;
                return 0;
        }
        unsigned long total = 0;
        size_t next_unit = 0; /* units[next_unit..] may still come */
        const char *p = s;
        while (*p) {
                size_t digits = strspn(p, "0123456789");
                if (digits == 0)
                        return refuse(why, why_size, "\"%c\" where a number was expected", *p);
                unsigned long n = 0;
                for (size_t i = 0; i < digits; i++) {
                        n = n * 10 + (unsigned long)(p[i] - '0');
                        if (n > DURATION_MAX)
                                return refuse(why, why_size, "is longer than %uh", DURATION_MAX / 3600);
                }
                p += digits;
                if (!*p)
                        return refuse(why, why_size, "%.*s needs a unit: s, m or h", (int)digits, p - digits);
                const char *u = strchr(units, *p);
                if (!u)
                        return refuse(why, why_size, "unknown unit \"%c\" (use s, m or h)", *p);
                size_t ui = (size_t)(u - units);
                if (ui < next_unit)
                        return refuse(why, why_size, "the units are not in the order h, m, s, each once");
                next_unit = ui + 1;
                total += n * unit_seconds[ui];
                if (total > DURATION_MAX)
                        return refuse(why, why_size, "is longer than %uh", DURATION_MAX / 3600);
                p++;
        }
        *ret_seconds = (unsigned)total;
        return 0;
}

int duration_of_json(const json_t *v, unsigned *ret_seconds, char *why, size_t why_size) {
        if (json_is_integer(v) && json_integer_value(v) == 0) {
                *ret_seconds = 0;
                return 0;
        }
        if (!json_is_string(v))
                return refuse(why, why_size, "must be a string such as 30m (or off)");
        if (strlen(json_string_value(v)) != json_string_length(v))
                return refuse(why, why_size, "holds a NUL character");
        return duration_parse(json_string_value(v), ret_seconds, why, why_size);
}

void duration_format(unsigned secs, char buf[DURATION_BUF]) {
        if (secs == 0) {
                snprintf(buf, DURATION_BUF, "off");
                return;
        }
        size_t n = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < 3; i++) {
                unsigned part = secs / unit_seconds[i];
                secs %= unit_seconds[i];
                if (part)
                        n += (size_t)snprintf(buf + n, DURATION_BUF - n, "%u%c", part, units[i]);
        }
}

void duration_human(unsigned secs, char buf[DURATION_BUF]) {
        static const char *const names[] = {"h", "min", "s"};
        if (secs == 0) {
                snprintf(buf, DURATION_BUF, "never");
                return;
        }
        size_t n = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < 3; i++) {
                unsigned part = secs / unit_seconds[i];
                secs %= unit_seconds[i];
                if (part)
                        n += (size_t)snprintf(buf + n, DURATION_BUF - n, "%s%u %s", n ? " " : "", part, names[i]);
        }
}
