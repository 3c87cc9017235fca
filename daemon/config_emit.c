#include "config_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Decodes one UTF-8 sequence at s (valid UTF-8, as jansson guarantees);
 * stores its length in *n and returns the code point. */
static uint32_t utf8_next(const unsigned char *s, size_t *n) {
        if (s[0] < 0x80) {
                *n = 1;
                return s[0];
        }
        if (s[0] < 0xe0) {
                *n = 2;
                return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        }
        if (s[0] < 0xf0) {
                *n = 3;
                return ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) |
                       (s[2] & 0x3f);
        }
        *n = 4;
        return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
               ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

/* True for characters YAML lets stand unescaped inside double quotes:
 * printable, not a line break, not the BOM. */
static bool yaml_plain_char(uint32_t c) {
        if (c == '"' || c == '\\')
                return false;
        if (c >= 0x20 && c <= 0x7e)
                return true;
        if (c < 0xa0 || c == 0x2028 || c == 0x2029 || c == 0xfeff)
                return false;
        return c <= 0xd7ff || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
}

/* Appends s as a YAML double-quoted scalar that reads back as the same
 * string (escapes for quotes, backslashes, controls and line breaks). */
static int emit_quoted(struct strbuf *sb, const char *s, size_t len) {
        int r = sb_putc(sb, '"');
        for (size_t i = 0; r == 0 && i < len;) {
                size_t n;
                uint32_t c = utf8_next((const unsigned char *)s + i, &n);
                if (yaml_plain_char(c))
                        r = sb_append(sb, s + i, n);
                else if (c == '"' || c == '\\')
                        r = sb_printf(sb, "\\%c", (char)c);
                else if (c == '\n')
                        r = sb_puts(sb, "\\n");
                else if (c == '\t')
                        r = sb_puts(sb, "\\t");
                else if (c == '\r')
                        r = sb_puts(sb, "\\r");
                else if (c <= 0xff)
                        r = sb_printf(sb, "\\x%02x", (unsigned)c);
                else if (c <= 0xffff)
                        r = sb_printf(sb, "\\u%04x", (unsigned)c);
                else
                        r = sb_printf(sb, "\\U%08x", (unsigned)c);
                i += n;
        }
        return r ? r : sb_putc(sb, '"');
}

/* Keys that read back as the same string when written plain. */
static bool plain_key(const char *k) {
        static const char *const special[] = {"null", "Null", "NULL", "true", "True", "TRUE",
                                              "false", "False", "FALSE", NULL};
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
                return false;
        for (const char *const *w = special; *w; w++)
                if (strcmp(k, *w) == 0)
                        return false;
        return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
               strlen(k);
}

/* The shortest %g form of d that reads back as d, always with a '.' or an
 * exponent so the core schema reads it as a float again. */
static int emit_real(struct strbuf *sb, double d) {
        char buf[40];
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        if (!strpbrk(buf, ".eE"))
                strcat(buf, ".0");
        return sb_puts(sb, buf);
}

static int emit_scalar(struct strbuf *sb, const json_t *v) {
        char buf[32];
        switch (json_typeof(v)) {
        case JSON_STRING:
                return emit_quoted(sb, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return sb_puts(sb, buf);
        case JSON_REAL:
                if (!isfinite(json_real_value(v)))
                        return -EINVAL;
                return emit_real(sb, json_real_value(v));
        case JSON_TRUE:
                return sb_puts(sb, "true");
        case JSON_FALSE:
                return sb_puts(sb, "false");
        case JSON_NULL:
                return sb_puts(sb, "null");
        case JSON_OBJECT:
                return sb_puts(sb, "{}");
        case JSON_ARRAY:
                return sb_puts(sb, "[]");
        }
        return -EINVAL;
}

static int emit_node(struct strbuf *sb, const json_t *v, unsigned indent, unsigned depth);

static bool is_block(const json_t *v) {
        return (json_is_object(v) && json_object_size(v) > 0) ||
               (json_is_array(v) && json_array_size(v) > 0);
}

/* After "key:" or "-": a scalar on the same line, a collection below. */
static int emit_child(struct strbuf *sb, const json_t *v, unsigned indent, unsigned depth) {
        if (!is_block(v)) {
                int r = sb_putc(sb, ' ');
                if (r == 0)
                        r = emit_scalar(sb, v);
                return r ? r : sb_putc(sb, '\n');
        }
        int r = sb_putc(sb, '\n');
        return r ? r : emit_node(sb, v, indent + 2, depth + 1);
}

/* Emits a non-empty mapping or sequence in block style at indent. */
static int emit_node(struct strbuf *sb, const json_t *v, unsigned indent, unsigned depth) {
        const char *k;
        json_t *item;
        size_t i;
        int r = 0;

        if (depth > 64)
                return -E2BIG;
        if (json_is_object(v)) {
                json_object_foreach((json_t *)v, k, item) {
                        r = sb_printf(sb, "%*s", (int)indent, "");
                        if (r == 0)
                                r = plain_key(k) ? sb_puts(sb, k) : emit_quoted(sb, k, strlen(k));
                        if (r == 0)
                                r = sb_putc(sb, ':');
                        if (r == 0)
                                r = emit_child(sb, item, indent, depth);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        json_array_foreach(v, i, item) {
                r = sb_printf(sb, "%*s-", (int)indent, "");
                if (r == 0)
                        r = emit_child(sb, item, indent, depth);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cfgy_emit(struct strbuf *sb, const json_t *doc) {
        if (!json_is_object(doc))
                return -EINVAL;
        if (json_object_size(doc) == 0)
                return sb_puts(sb, "{}\n");
        return emit_node(sb, doc, 0, 0);
}
