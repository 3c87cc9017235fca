#include "props.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

/* Decodes one UTF-8 character at s (n bytes left) into *cp; returns its
 * length, or 0 for an invalid or truncated sequence. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned long *cp) {
        static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
        size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
                                                               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || len > n)
                return 0;
        unsigned long c = len == 1 ? s[0] : s[0] & (0x7fu >> len);
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3fu);
        }
        if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *cp = c;
        return len;
}

static int put_unit(struct strbuf *sb, unsigned long u) {
        return sb_printf(sb, "\\u%04lx", u);
}

/* One character, escaped; i is its byte offset (a leading space). */
static int put_char(struct strbuf *sb, unsigned long c, size_t i, bool key) {
        switch (c) {
        case '\\': return sb_puts(sb, "\\\\");
        case '\n': return sb_puts(sb, "\\n");
        case '\r': return sb_puts(sb, "\\r");
        case '\t': return sb_puts(sb, "\\t");
        case '\f': return sb_puts(sb, "\\f");
        case '=': case ':': case '#': case '!':
                return sb_printf(sb, "\\%c", (char)c);
        case ' ':
                return key || i == 0 ? sb_puts(sb, "\\ ") : sb_putc(sb, ' ');
        default: break;
        }
        if (c >= 0x20 && c < 0x7f)
                return sb_putc(sb, (char)c);
        if (c < 0x10000)
                return put_unit(sb, c);
        c -= 0x10000;
        int r = put_unit(sb, 0xd800 + (c >> 10));
        return r < 0 ? r : put_unit(sb, 0xdc00 + (c & 0x3ff));
}

int props_escape(struct strbuf *sb, const char *s, size_t len, bool key) {
        const unsigned char *p = (const unsigned char *)s;
        for (size_t i = 0; i < len;) {
                unsigned long c;
                size_t n = utf8_next(p + i, len - i, &c);
                if (n == 0 || c == 0)
                        return -EILSEQ;
                int r = put_char(sb, c, i, key);
                if (r < 0)
                        return r;
                i += n;
        }
        return 0;
}

char *props_value_text(const json_t *v) {
        char buf[48];
        if (json_is_string(v)) { /* NULs and all: props_escape refuses them */
                size_t n = json_string_length(v);
                char *s = malloc(n + 1);
                if (s) {
                        memcpy(s, json_string_value(v), n);
                        s[n] = '\0';
                }
                return s;
        }
        if (json_is_boolean(v))
                return strdup(json_is_true(v) ? "true" : "false");
        if (json_is_integer(v)) {
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
                return strdup(buf);
        }
        if (!json_is_real(v))
                return NULL;
        for (int prec = 1; prec <= 17; prec++) { /* the shortest that reads back */
                snprintf(buf, sizeof buf, "%.*g", prec, json_real_value(v));
                if (strtod(buf, NULL) == json_real_value(v))
                        break;
        }
        if (!strpbrk(buf, ".eEn")) /* Python's str(2.0) is "2.0" */
                strcat(buf, ".0");
        return strdup(buf);
}

int props_render(struct strbuf *sb, const json_t *conf) {
        if (!json_is_object(conf))
                return -EINVAL;
        if (json_object_size(conf) > PROPS_MAX_ENTRIES)
                return -E2BIG;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)conf, k, v) {
                if (json_is_null(v))
                        continue;
                if (!*k || json_is_object(v) || json_is_array(v))
                        return -EINVAL;
                char *text = props_value_text(v);
                if (!text)
                        return -ENOMEM;
                int r = props_escape(sb, k, strlen(k), true);
                if (r == 0)
                        r = sb_putc(sb, '=');
                if (r == 0)
                        r = props_escape(sb, text, json_is_string(v) ? json_string_length(v) : strlen(text), false);
                if (r == 0)
                        r = sb_putc(sb, '\n');
                free(text);
                if (r < 0)
                        return r;
        }
        return 0;
}

int props_write(const char *path, const json_t *conf) {
        struct strbuf sb = STRBUF_INIT;
        int r = props_render(&sb, conf);
        if (r == 0)
                r = write_file_atomic_nosync(path, sb.buf ? sb.buf : "", sb.len, 0600);
        if (sb.buf)
                explicit_bzero(sb.buf, sb.len); /* it may hold a UI key */
        sb_free(&sb);
        return r;
}
