#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes plus the NUL. */
static int sb_reserve(struct strbuf *sb, size_t n) {
        if (sb->len + n + 1 <= sb->cap)
                return 0;
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->len + n + 1) {
                if (cap > ((size_t)-1) / 2)
                        return -ENOMEM;
                cap *= 2;
        }
        char *p = realloc(sb->buf, cap);
        if (!p)
                return -ENOMEM;
        sb->buf = p;
        sb->cap = cap;
        return 0;
}

int sb_append(struct strbuf *sb, const char *s, size_t n) {
        int r = sb_reserve(sb, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(sb->buf + sb->len, s, n);
        sb->len += n;
        sb->buf[sb->len] = '\0';
        return 0;
}

int sb_puts(struct strbuf *sb, const char *s) { return sb_append(sb, s, strlen(s)); }

int sb_putc(struct strbuf *sb, char c) { return sb_append(sb, &c, 1); }

int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap) {
        va_list aq;
        va_copy(aq, ap);
        int n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        int r = sb_reserve(sb, (size_t)n);
        if (r < 0)
                return r;
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
        sb->len += (size_t)n;
        return 0;
}

int sb_printf(struct strbuf *sb, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = sb_vprintf(sb, fmt, ap);
        va_end(ap);
        return r;
}

char *sb_take(struct strbuf *sb, size_t *ret_len) {
        if (!sb->buf) {
                if (sb_reserve(sb, 0) < 0)
                        return NULL;
                sb->buf[0] = '\0';
        }
        char *p = sb->buf;
        if (ret_len)
                *ret_len = sb->len;
        sb->buf = NULL;
        sb->len = sb->cap = 0;
        return p;
}

void sb_free(struct strbuf *sb) {
        free(sb->buf);
        sb->buf = NULL;
        sb->len = sb->cap = 0;
}
