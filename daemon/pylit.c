/* pylit.c — JSON values as Python literals (see pylit.h). */
#include "pylit.h"

#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the shortest %e rendering of d that reads back as d; stores its
 * digits (no dot, no sign) in digits and returns the decimal exponent. */
static int shortest_digits(double d, char *digits, size_t *ndigits) {
        char buf[40];
        for (int prec = 0; prec < 17; prec++) {
                snprintf(buf, sizeof buf, "%.*e", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        size_t n = 0;
        const char *p = buf;
        if (*p == '-')
                p++;
        for (; *p && *p != 'e'; p++)
                if (*p != '.')
                        digits[n++] = *p;
        while (n > 1 && digits[n - 1] == '0')
                n--;
        digits[n] = '\0';
        *ndigits = n;
        return atoi(p + 1);
}

/* Python's repr(float): fixed notation when -4 < decpt <= 16, else
 * d[.ddd]e±XX; fixed notation always shows a fractional part. */
int pylit_float(struct strbuf *sb, double d) {
        char digits[40], out[64];
        size_t n, o = 0;
        int decpt = shortest_digits(fabs(d), digits, &n) + 1;

        if (signbit(d))
                out[o++] = '-';
        if (decpt <= -4 || decpt > 16) {
                int e = decpt - 1;
                out[o++] = digits[0];
                if (n > 1) {
                        out[o++] = '.';
                        memcpy(out + o, digits + 1, n - 1);
                        o += n - 1;
                }
                o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+', abs(e));
        } else if (decpt <= 0) {
                out[o++] = '0';
                out[o++] = '.';
                for (int i = decpt; i < 0; i++)
                        out[o++] = '0';
                memcpy(out + o, digits, n);
                o += n;
        } else {
                for (int i = 0; i < decpt; i++)
                        out[o++] = (size_t)i < n ? digits[i] : '0';
                out[o++] = '.';
                if ((size_t)decpt < n) {
                        memcpy(out + o, digits + decpt, n - (size_t)decpt);
                        o += n - (size_t)decpt;
                } else {
                        out[o++] = '0';
                }
        }
        return sb_append(sb, out, o);
}

/* json.dumps(s, ensure_ascii=False): escapes '"', '\\' and C0 controls. */
static int pylit_string(struct strbuf *sb, const char *s, size_t n) {
        int r = sb_putc(sb, '"');
        size_t run = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                unsigned char c = (unsigned char)s[i];
                const char *esc = NULL;
                char hex[8];
                switch (c) {
                case '"': esc = "\\\""; break;
                case '\\': esc = "\\\\"; break;
                case '\n': esc = "\\n"; break;
                case '\r': esc = "\\r"; break;
                case '\t': esc = "\\t"; break;
                case '\b': esc = "\\b"; break;
                case '\f': esc = "\\f"; break;
                default:
                        if (c < 0x20) {
                                snprintf(hex, sizeof hex, "\\u%04x", c);
                                esc = hex;
                        }
                }
                if (!esc)
                        continue;
                r = sb_append(sb, s + run, i - run);
                if (r >= 0)
                        r = sb_puts(sb, esc);
                run = i + 1;
        }
        if (r >= 0)
                r = sb_append(sb, s + run, n - run);
        return r >= 0 ? sb_putc(sb, '"') : r;
}

static int pylit_seterr(char *err, size_t errsz, const char *msg) {
        if (err && errsz)
                snprintf(err, errsz, "%s", msg);
        return -EINVAL;
}

static int pylit_container(struct strbuf *sb, const json_t *v, size_t limit, char *err, size_t errsz) {
        int r;
        size_t i;
        const char *k;
        json_t *x;

        if (json_is_array(v)) {
                r = sb_putc(sb, '[');
                json_array_foreach(v, i, x) {
                        if (r >= 0 && i)
                                r = sb_puts(sb, ", ");
                        if (r >= 0)
                                r = pylit_append(sb, x, limit, err, errsz);
                }
                return r >= 0 ? sb_putc(sb, ']') : r;
        }
        r = sb_putc(sb, '{');
        i = 0;
        json_object_foreach((json_t *)v, k, x) {
                if (r >= 0 && i++)
                        r = sb_puts(sb, ", ");
                if (r >= 0)
                        r = pylit_string(sb, k, strlen(k));
                if (r >= 0)
                        r = sb_puts(sb, ": ");
                if (r >= 0)
                        r = pylit_append(sb, x, limit, err, errsz);
        }
        return r >= 0 ? sb_putc(sb, '}') : r;
}

int pylit_append(struct strbuf *sb, const json_t *v, size_t limit, char *err, size_t errsz) {
        int r;

        switch (json_typeof(v)) {
        case JSON_STRING:
                r = pylit_string(sb, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                r = sb_printf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                break;
        case JSON_REAL:
                if (!isfinite(json_real_value(v)))
                        return pylit_seterr(err, errsz, "NaN and infinity have no Python literal");
                r = pylit_float(sb, json_real_value(v));
                break;
        case JSON_TRUE: r = sb_puts(sb, "True"); break;
        case JSON_FALSE: r = sb_puts(sb, "False"); break;
        case JSON_NULL: r = sb_puts(sb, "None"); break;
        default:
                r = pylit_container(sb, v, limit, err, errsz);
        }
        if (r >= 0 && sb->len > limit) {
                char msg[64];
                snprintf(msg, sizeof msg, "output exceeds %zu bytes", limit);
                pylit_seterr(err, errsz, msg);
                return -E2BIG;
        }
        return r;
}
