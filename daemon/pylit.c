/* pylit.c — JSON values as Python literals (see pylit.h). */
#include "pylit.h"

#include "strbuf.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small write buffer in front of the strbuf ----
 * A literal is made of many short pieces; gathering them on the stack and
 * appending them in blocks keeps the strbuf's bookkeeping out of the loop. */
struct pw {
        struct strbuf *sb;
        int r;  /* first error */
        size_t n;
        char buf[1024];
};

static void pw_flush(struct pw *w) {
        if (w->n && w->r >= 0)
                w->r = sb_append(w->sb, w->buf, w->n);
        w->n = 0;
}

static inline void pw_put(struct pw *w, const char *s, size_t n) {
        if (n > sizeof w->buf - w->n) {
                pw_flush(w);
                if (n > sizeof w->buf) {
                        if (w->r >= 0)
                                w->r = sb_append(w->sb, s, n);
                        return;
                }
        }
        memcpy(w->buf + w->n, s, n);
        w->n += n;
}

static inline void pw_putc(struct pw *w, char c) {
        if (w->n == sizeof w->buf)
                pw_flush(w);
        w->buf[w->n++] = c;
}

/* Bytes written so far, flushed or not. */
static size_t pw_len(const struct pw *w) { return w->sb->len + w->n; }

/* ---- numbers ---- */

/* Writes the decimal digits of u to the end of buf (size 20); returns the start. */
static char *u64_digits(uint64_t u, char *end) {
        char *p = end;
        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        return p;
}

static void pw_int(struct pw *w, json_int_t i) {
        char buf[24], *end = buf + sizeof buf;
        uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
        char *p = u64_digits(u, end);
        if (i < 0)
                *--p = '-';
        pw_put(w, p, (size_t)(end - p));
}

/* The shortest digits of d > 0 when they number at most 15 and d is in
 * [5e-23, 1e15): the decimal m * 10^-k (m < 10^15) that reads back as d.
 * Any decimal of at most 15 significant digits that reads back as a normal
 * double is the only one (DBL_DIG: 15-digit decimals survive the round trip
 * through double), so it is Python's shortest repr.  m / 10^k is computed
 * exactly rounded (m and 10^k are exact doubles), so the test is exact. */
static bool short_digits(double d, char *digits, size_t *ndigits, int *decpt) {
        static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        if (!(d < 1e15))
                return false;
        for (int k = 0; k < (int)(sizeof p10 / sizeof *p10); k++) {
                double x = d * p10[k];
                if (x >= 1e15)
                        return false;
                double m = (double)(uint64_t)(x + 0.5); /* any rounding will do: m is checked */
                if (m == 0 || m / p10[k] != d)
                        continue;
                uint64_t u = (uint64_t)m;
                int zeros = 0;
                while (u % 10 == 0) {
                        u /= 10;
                        zeros++;
                }
                char buf[20], *end = buf + sizeof buf, *p = u64_digits(u, end);
                *ndigits = (size_t)(end - p);
                memcpy(digits, p, *ndigits);
                *decpt = (int)*ndigits + zeros - k;
                return true;
        }
        return false;
}

/* buf holds "%.15e" of d (16 digits); makes it the next 16-digit decimal
 * up (d.ddd...9 + 1 unit in the last place, carrying). */
static void next_up16(char *buf, size_t size) {
        char *e = strchr(buf, 'e'), *p = e - 1;
        int exp = atoi(e + 1);
        for (; p >= buf; p--) {
                if (*p == '.')
                        continue;
                if (*p != '9') {
                        (*p)++;
                        return;
                }
                *p = '0';
        }
        buf[0] = '1'; /* 9.99...9 became 0.00...0: 1.00...0 one decade up */
        snprintf(e, size - (size_t)(e - buf), "e%+d", exp + 1);
}

/* Whether d > 0 is a power of two (a zero significand field). */
static bool is_pow2(double d) {
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return (bits & ((UINT64_C(1) << 52) - 1)) == 0;
}

/* The shortest %e rendering of d > 0 that reads back as d, by search:
 * from 15 significant digits for normal numbers (if 15 digits do not
 * round-trip, nothing shorter does; if they do, their zero-stripped form
 * is the shortest), from 1 for subnormal ones, which have fewer digits of
 * precision.  A normal power of two has a gap below it half the gap above,
 * so when its nearest 16-digit decimal (below it) misses, the next one up
 * may still read back, and is then the shortest.  Stores the digits and
 * returns the decimal point position. */
static int searched_digits(double d, char *digits, size_t *ndigits) {
        char buf[40];
        for (int prec = d < DBL_MIN ? 0 : 14; prec < 17; prec++) {
                snprintf(buf, sizeof buf, "%.*e", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
                if (prec == 15 && d >= DBL_MIN && is_pow2(d)) {
                        next_up16(buf, sizeof buf);
                        if (strtod(buf, NULL) == d)
                                break;
                }
        }
        size_t n = 0;
        const char *p = buf;
        for (; *p && *p != 'e'; p++)
                if (*p != '.')
                        digits[n++] = *p;
        while (n > 1 && digits[n - 1] == '0')
                n--;
        *ndigits = n;
        return atoi(p + 1) + 1;
}

/* Python's repr(float) of a finite d into out (64 bytes); returns the
 * length.  Fixed notation when -4 < decpt <= 16, else d[.ddd]e±XX; fixed
 * notation always shows a fractional part. */
static size_t float_repr(double d, char *out) {
        char digits[40];
        size_t n, o = 0;
        int decpt;
        double a = fabs(d);

        if (a == 0) {
                digits[0] = '0';
                n = 1;
                decpt = 1;
        } else if (!short_digits(a, digits, &n, &decpt)) {
                decpt = searched_digits(a, digits, &n);
        }
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
                o += (size_t)snprintf(out + o, 64 - o, "e%c%02d", e < 0 ? '-' : '+', abs(e));
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
        return o;
}

int pylit_float(struct strbuf *sb, double d) {
        char out[64];
        return sb_append(sb, out, float_repr(d, out));
}

/* ---- strings ---- */

static bool byte_needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

/* Whether any of the 8 bytes in w needs an escape (exact as a whole; the
 * usual has-zero-byte / has-byte-less-than tricks). */
static bool word_needs_escape(uint64_t w) {
        const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/* Where the next byte needing an escape is in s[i..n), or n. */
static size_t next_escape(const char *s, size_t i, size_t n) {
        for (;;) {
                uint64_t w;
                while (i + 8 <= n) {
                        memcpy(&w, s + i, 8);
                        if (word_needs_escape(w))
                                break;
                        i += 8;
                }
                size_t end = i + 8 < n ? i + 8 : n;
                for (; i < end; i++)
                        if (byte_needs_escape((unsigned char)s[i]))
                                return i;
                if (i == n)
                        return n;
        }
}

static void pw_escape(struct pw *w, unsigned char c) {
        static const char hex[] = "0123456789abcdef";
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"': pw_put(w, "\\\"", 2); break;
        case '\\': pw_put(w, "\\\\", 2); break;
        case '\n': pw_put(w, "\\n", 2); break;
        case '\r': pw_put(w, "\\r", 2); break;
        case '\t': pw_put(w, "\\t", 2); break;
        case '\b': pw_put(w, "\\b", 2); break;
        case '\f': pw_put(w, "\\f", 2); break;
        default: pw_put(w, u, sizeof u);
        }
}

/* json.dumps(s, ensure_ascii=False) from s[i..n), after the opening quote. */
static void pw_string_tail(struct pw *w, const char *s, size_t i, size_t n) {
        size_t run = i;
        while ((i = next_escape(s, run, n)) < n) {
                pw_put(w, s + run, i - run);
                pw_escape(w, (unsigned char)s[i]);
                run = i + 1;
        }
        pw_put(w, s + run, n - run);
        pw_putc(w, '"');
}

/* json.dumps(s, ensure_ascii=False): escapes '"', '\\' and C0 controls.
 * Most strings need no escape and fit the buffer: they are copied to it
 * 8 bytes at a time while being checked. */
static void pw_string(struct pw *w, const char *s, size_t n) {
        size_t i = 0;
        uint64_t x;
        if (n + 2 > sizeof w->buf - w->n) {
                pw_putc(w, '"');
                pw_string_tail(w, s, 0, n);
                return;
        }
        char *o = w->buf + w->n;
        *o++ = '"';
        for (; i + 8 <= n; i += 8, o += 8) {
                memcpy(&x, s + i, 8);
                if (word_needs_escape(x))
                        break;
                memcpy(o, &x, 8);
        }
        for (; i < n; i++) {
                if (byte_needs_escape((unsigned char)s[i]))
                        break;
                *o++ = s[i];
        }
        w->n = (size_t)(o - w->buf);
        if (i < n) {
                pw_string_tail(w, s, i, n);
                return;
        }
        w->buf[w->n++] = '"';
}

/* ---- values ---- */

struct plim {
        size_t limit;
        char *err;
        size_t errsz;
};

static int pylit_seterr(const struct plim *l, const char *msg) {
        if (l->err && l->errsz)
                snprintf(l->err, l->errsz, "%s", msg);
        return -EINVAL;
}

static int pw_value(struct pw *w, const json_t *v, const struct plim *l);

static int pw_container(struct pw *w, const json_t *v, const struct plim *l) {
        int r = 0;
        size_t i;
        const char *k;
        json_t *x;

        if (json_is_array(v)) {
                pw_putc(w, '[');
                json_array_foreach(v, i, x) {
                        if (i)
                                pw_put(w, ", ", 2);
                        if ((r = pw_value(w, x, l)) < 0)
                                return r;
                }
                pw_putc(w, ']');
                return 0;
        }
        pw_putc(w, '{');
        i = 0;
        for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
                k = json_object_iter_key(it);
                x = json_object_iter_value(it);
                if (i++)
                        pw_put(w, ", ", 2);
                pw_string(w, k, strlen(k)); /* up to a NUL, as py_repr does */
                pw_put(w, ": ", 2);
                if ((r = pw_value(w, x, l)) < 0)
                        return r;
        }
        pw_putc(w, '}');
        return 0;
}

/* Writes the literal of v; fails past l->limit bytes (checked after each
 * value, so that shared subtrees cannot blow up the work). */
static int pw_value(struct pw *w, const json_t *v, const struct plim *l) {
        char out[64];
        int r = 0;

        switch (json_typeof(v)) {
        case JSON_STRING: pw_string(w, json_string_value(v), json_string_length(v)); break;
        case JSON_INTEGER: pw_int(w, json_integer_value(v)); break;
        case JSON_REAL:
                if (!isfinite(json_real_value(v)))
                        return pylit_seterr(l, "NaN and infinity have no Python literal");
                pw_put(w, out, float_repr(json_real_value(v), out));
                break;
        case JSON_TRUE: pw_put(w, "True", 4); break;
        case JSON_FALSE: pw_put(w, "False", 5); break;
        case JSON_NULL: pw_put(w, "None", 4); break;
        default: r = pw_container(w, v, l);
        }
        if (r < 0)
                return r;
        if (w->r < 0)
                return w->r;
        if (pw_len(w) > l->limit) {
                char msg[64];
                snprintf(msg, sizeof msg, "output exceeds %zu bytes", l->limit);
                pylit_seterr(l, msg);
                return -E2BIG;
        }
        return 0;
}

int pylit_append(struct strbuf *sb, const json_t *v, size_t limit, char *err, size_t errsz) {
        struct pw w; /* not zeroed: the buffer is written before it is read */
        struct plim l = {limit, err, errsz};
        w.sb = sb;
        w.r = 0;
        w.n = 0;
        int r = pw_value(&w, v, &l);
        pw_flush(&w);
        return r < 0 ? r : w.r;
}
