/* strbuf.h — a growable byte buffer (always NUL-terminated). */
#pragma once
#include <stdarg.h>
#include <stddef.h>

struct strbuf {
        char *buf;   /* NULL until the first append */
        size_t len;
        size_t cap;
};

#define STRBUF_INIT {NULL, 0, 0}

/* Each returns 0 or -ENOMEM. */
int sb_append(struct strbuf *sb, const char *s, size_t n);
int sb_puts(struct strbuf *sb, const char *s);
int sb_putc(struct strbuf *sb, char c);
int sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);

/* Hands the buffer over (never NULL on success: "" for an empty buffer)
 * and resets sb; returns NULL on allocation failure. */
char *sb_take(struct strbuf *sb, size_t *ret_len);

void sb_free(struct strbuf *sb);
