/* tmpl_filter.c — Jinja2's filters, tests and the few Python methods
 * templates call (dict.items() and friends), on template values. */
#include "tmpl_int.h"

#include "pylit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(name) static int name(struct rctx *rc, const struct node *n, struct val *v, struct val *a, struct val *ret)

static bool present(struct val a) { return a.j || a.kind != VK_UNDEF; }
static bool is_none(struct val a) { return a.kind == VK_PLAIN && json_is_null(a.j); }
static bool is_int(struct val a) { return a.kind == VK_PLAIN && (json_is_integer(a.j) || json_is_boolean(a.j)); }
static json_int_t int_of(struct val a) { return json_is_integer(a.j) ? json_integer_value(a.j) : json_is_true(a.j); }

static int oom(struct rctx *rc, const struct node *n) { return rerr(rc, n, -ENOMEM, "out of memory"); }

void tvals_free(struct val *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                val_clear(&v[i]);
}

/* Appends str(v), reporting failures at n. */
static int put_str(struct rctx *rc, const struct node *n, struct strbuf *sb, struct val v) {
        char msg[256] = "";
        int r = py_str(sb, v, msg, sizeof msg);
        if (r == -ENOMEM)
                return oom(rc, n);
        if (r < 0)
                return rerr(rc, n, r, "%s", msg);
        if (sb->len > TMPL_MAX_STRING)
                return rerr(rc, n, -E2BIG, "string exceeds %u bytes", TMPL_MAX_STRING);
        return 0;
}

/* Hands sb over as a string value of the given kind. */
static int take_str(struct rctx *rc, const struct node *n, struct strbuf *sb, enum vkind kind, struct val *ret) {
        if (sb->len > TMPL_MAX_STRING) {
                sb_free(sb);
                return rerr(rc, n, -E2BIG, "string exceeds %u bytes", TMPL_MAX_STRING);
        }
        json_t *j = py_string(sb->buf, sb->len);
        sb_free(sb);
        if (!j)
                return oom(rc, n);
        *ret = (struct val){j, (unsigned char)kind, 0};
        return 0;
}

static int mkbool(bool b, struct val *ret) {
        *ret = val_plain(json_boolean(b));
        return 0;
}

static int mkint(struct rctx *rc, const struct node *n, json_int_t i, struct val *ret) {
        *ret = val_plain(json_integer(i));
        return ret->j ? 0 : oom(rc, n);
}

/* The string value a, or NULL with an error reported. */
static int need_str(struct rctx *rc, const struct node *n, struct val a, const char *what) {
        if (!val_isstr(a))
                return rerr(rc, n, -EINVAL, "%s must be a string, not '%s'", what, val_typename(a));
        return 0;
}

int titer(struct rctx *rc, const struct node *n, struct val v, struct val **ret, size_t *ret_n) {
        struct val *items;
        size_t count, i = 0, k = 0;
        int r = rundef(rc, n, v);
        if (r < 0)
                return r;
        if (val_isstr(v))
                count = py_strlen(json_string_value(v.j), json_string_length(v.j));
        else if (v.kind != VK_LOOP && v.kind != VK_METHOD && (json_is_array(v.j) || json_is_object(v.j)))
                count = json_is_array(v.j) ? json_array_size(v.j) : json_object_size(v.j);
        else
                return rerr(rc, n, -EINVAL, "'%s' object is not iterable", val_typename(v));
        if (val_isstr(v) && count > TMPL_MAX_LOOP) /* one value per character: bound the memory */
                return rerr(rc, n, -E2BIG, "iterating over a string of more than %u characters", TMPL_MAX_LOOP);
        if (!(items = calloc(count ? count : 1, sizeof *items)))
                return oom(rc, n);
        if (val_isstr(v)) {
                const char *s = json_string_value(v.j);
                size_t len = json_string_length(v.j);
                for (; k < count; k++) {
                        size_t start = i;
                        tu_next(s, len, &i);
                        if (!(items[k].j = py_string(s + start, i - start)))
                                break;
                        items[k].kind = VK_PLAIN;
                }
        } else if (json_is_array(v.j)) {
                for (; k < count; k++)
                        items[k] = (struct val){json_incref(json_array_get(v.j, k)),
                                                v.kind == VK_PAIRS ? VK_TUPLE : VK_PLAIN, 0};
        } else {
                const char *key;
                json_t *x;
                json_object_foreach(v.j, key, x) {
                        if (!(items[k].j = json_string(key)))
                                break;
                        items[k].kind = VK_PLAIN;
                        k++;
                }
        }
        if (k < count) {
                tvals_free(items, k);
                free(items);
                return oom(rc, n);
        }
        *ret = items;
        *ret_n = count;
        return 0;
}

/* ---- filters ---- */

F(f_default) {
        bool t = false;
        char msg[256] = "";
        (void)n;
        if (v->kind != VK_UNDEF && present(a[1])) {
                int r = py_truth(a[1], &t, msg, sizeof msg);
                if (r < 0)
                        return rerr(rc, n, r, "%s", msg);
                if (t && (r = py_truth(*v, &t, msg, sizeof msg)) < 0)
                        return rerr(rc, n, r, "%s", msg);
                t = !t;
        }
        if (v->kind != VK_UNDEF && !t) {
                *ret = *v;
                *v = VAL_NONE;
                return 0;
        }
        if (present(a[0])) {
                *ret = a[0];
                a[0] = VAL_NONE;
                return 0;
        }
        *ret = val_plain(json_string(""));
        return ret->j ? 0 : oom(rc, n);
}

F(f_py) {
        struct strbuf sb = STRBUF_INIT;
        char msg[256] = "";
        (void)a;
        if (v->kind != VK_PLAIN && !(v->kind == VK_SAFE))
                return rerr(rc, n, -EINVAL, "a %s has no Python literal", val_typename(*v));
        int r = pylit_append(&sb, v->j, TMPL_MAX_STRING, msg, sizeof msg);
        if (r < 0) {
                sb_free(&sb);
                return r == -ENOMEM ? oom(rc, n) : rerr(rc, n, r, "%s", msg);
        }
        return take_str(rc, n, &sb, VK_SAFE, ret);
}

/* str(v) as one POSIX shell word: in single quotes, each ' as '\''.  None,
 * undefined and a NUL byte (no shell word holds one) are refused. */
F(f_sh) {
        struct strbuf in = STRBUF_INIT, sb = STRBUF_INIT;
        (void)a;
        if (v->kind == VK_UNDEF || is_none(*v))
                return rerr(rc, n, -EINVAL, "sh: the value is %s, not a word for the shell",
                            v->kind == VK_UNDEF ? "undefined" : "none");
        int r = put_str(rc, n, &in, *v);
        if (r < 0) {
                sb_free(&in);
                return r;
        }
        if (memchr(in.buf ? in.buf : "", '\0', in.len)) {
                sb_free(&in);
                return rerr(rc, n, -EINVAL, "sh: a value with a NUL byte cannot be a shell word");
        }
        r = sb_putc(&sb, '\'');
        for (size_t i = 0; r == 0 && i < in.len; i++)
                r = in.buf[i] == '\'' ? sb_puts(&sb, "'\\''") : sb_putc(&sb, in.buf[i]);
        if (r == 0)
                r = sb_putc(&sb, '\'');
        sb_free(&in);
        if (r < 0) {
                sb_free(&sb);
                return oom(rc, n);
        }
        return take_str(rc, n, &sb, VK_SAFE, ret);
}

F(f_tojson) {
        struct strbuf sb = STRBUF_INIT;
        int indent = -1;
        if (present(a[0]) && !is_none(a[0])) {
                if (!is_int(a[0]))
                        return rerr(rc, n, -EINVAL, "tojson indent must be an integer");
                json_int_t i = int_of(a[0]);
                if (i > 64)
                        return rerr(rc, n, -EINVAL, "tojson indent must be at most 64");
                indent = i < 0 ? 0 : (int)i;
        }
        if (v->kind == VK_VIEW || v->kind == VK_LOOP || v->kind == VK_METHOD || (v->kind == VK_PAIRS && v->method))
                return rerr(rc, n, -EINVAL, "Object of type %s is not JSON serializable", val_typename(*v));
        int r = py_tojson(&sb, v->j, indent, 0);
        if (r < 0) {
                sb_free(&sb);
                return oom(rc, n);
        }
        return take_str(rc, n, &sb, VK_SAFE, ret);
}

F(f_safe) {
        struct strbuf sb = STRBUF_INIT;
        (void)a;
        if (v->kind == VK_SAFE) {
                *ret = *v;
                *v = VAL_NONE;
                return 0;
        }
        int r = put_str(rc, n, &sb, *v);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        return take_str(rc, n, &sb, VK_SAFE, ret);
}

/* str(v) with ASCII case mapping; Markup stays Markup. */
static int map_case(struct rctx *rc, const struct node *n, struct val v, bool upper, struct val *ret) {
        struct strbuf sb = STRBUF_INIT;
        int r = put_str(rc, n, &sb, v);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        for (size_t i = 0; i < sb.len; i++) {
                char c = sb.buf[i];
                if (upper && c >= 'a' && c <= 'z')
                        sb.buf[i] = (char)(c - 32);
                else if (!upper && c >= 'A' && c <= 'Z')
                        sb.buf[i] = (char)(c + 32);
        }
        return take_str(rc, n, &sb, v.kind == VK_SAFE ? VK_SAFE : VK_PLAIN, ret);
}

F(f_upper) {
        (void)a;
        return map_case(rc, n, *v, true, ret);
}

F(f_lower) {
        (void)a;
        return map_case(rc, n, *v, false, ret);
}

static bool in_chars(uint32_t c, const char *chars, size_t nchars) {
        size_t i = 0;
        while (i < nchars)
                if (tu_next(chars, nchars, &i) == c)
                        return true;
        return false;
}

/* str.strip([chars]) on s[0..*len): start offset, new length in *len. */
static size_t strip_span(const char *s, size_t *len, const char *chars, size_t nchars, bool have_chars) {
        size_t start = 0, end = *len;
        while (start < end) {
                size_t i = start;
                uint32_t c = tu_next(s, end, &i);
                if (have_chars ? !in_chars(c, chars, nchars) : !tu_isspace(c))
                        break;
                start = i;
        }
        while (end > start) {
                size_t b = end - 1;
                while (b > start && ((unsigned char)s[b] & 0xc0) == 0x80)
                        b--;
                size_t i = b;
                uint32_t c = tu_next(s, end, &i);
                if (have_chars ? !in_chars(c, chars, nchars) : !tu_isspace(c))
                        break;
                end = b;
        }
        *len = end - start;
        return start;
}

static int strip_value(struct rctx *rc, const struct node *n, struct val v, struct val chars, struct val *ret) {
        struct strbuf sb = STRBUF_INIT, out = STRBUF_INIT;
        bool have = present(chars) && !is_none(chars);
        int r;
        if (have && (r = need_str(rc, n, chars, "strip chars")) < 0)
                return r;
        if ((r = put_str(rc, n, &sb, v)) < 0) {
                sb_free(&sb);
                return r;
        }
        size_t len = sb.len;
        size_t start = strip_span(sb.buf ? sb.buf : "", &len, have ? json_string_value(chars.j) : NULL,
                                  have ? json_string_length(chars.j) : 0, have);
        r = sb_append(&out, sb.buf ? sb.buf + start : "", len);
        sb_free(&sb);
        if (r < 0) {
                sb_free(&out);
                return oom(rc, n);
        }
        return take_str(rc, n, &out, v.kind == VK_SAFE ? VK_SAFE : VK_PLAIN, ret);
}

F(f_trim) { return strip_value(rc, n, *v, a[0], ret); }

/* str.replace(old, new[, count]) with Python's rule for an empty old. */
static int replace_str(struct strbuf *out, const char *s, size_t len, const char *old, size_t olen, const char *nw,
                       size_t nlen, json_int_t count) {
        size_t i = 0;
        int r = 0;
        if (!olen) {
                while (r >= 0 && count != 0) {
                        r = sb_append(out, nw, nlen);
                        count--;
                        if (i >= len || out->len > TMPL_MAX_STRING)
                                break;
                        size_t start = i;
                        tu_next(s, len, &i);
                        if (r >= 0)
                                r = sb_append(out, s + start, i - start);
                }
                return r >= 0 ? sb_append(out, s + i, len - i) : r;
        }
        while (r >= 0 && count != 0) {
                const char *hit = memmem(s + i, len - i, old, olen);
                if (!hit)
                        break;
                size_t at = (size_t)(hit - s);
                r = sb_append(out, s + i, at - i);
                if (r >= 0)
                        r = sb_append(out, nw, nlen);
                i = at + olen;
                count--;
                if (out->len > TMPL_MAX_STRING)
                        return -E2BIG;
        }
        return r >= 0 ? sb_append(out, s + i, len - i) : r;
}

static int replace_value(struct rctx *rc, const struct node *n, struct val v, struct val *a, enum vkind kind,
                         struct val *ret) {
        struct strbuf s = STRBUF_INIT, old = STRBUF_INIT, nw = STRBUF_INIT, out = STRBUF_INIT;
        json_int_t count = -1;
        int r = 0;
        if (present(a[2]) && !is_none(a[2])) {
                if (!is_int(a[2]))
                        return rerr(rc, n, -EINVAL, "replace count must be an integer");
                count = int_of(a[2]);
        }
        if ((r = put_str(rc, n, &s, v)) >= 0 && (r = put_str(rc, n, &old, a[0])) >= 0 &&
            (r = put_str(rc, n, &nw, a[1])) >= 0) {
                r = replace_str(&out, s.buf ? s.buf : "", s.len, old.buf ? old.buf : "", old.len,
                                nw.buf ? nw.buf : "", nw.len, count < 0 ? -1 : count);
                if (r == -E2BIG)
                        r = rerr(rc, n, r, "string exceeds %u bytes", TMPL_MAX_STRING);
                else if (r < 0)
                        r = oom(rc, n);
        }
        sb_free(&s);
        sb_free(&old);
        sb_free(&nw);
        if (r < 0) {
                sb_free(&out);
                return r;
        }
        return take_str(rc, n, &out, kind, ret);
}

F(f_replace) { return replace_value(rc, n, *v, a, VK_PLAIN, ret); }

F(f_join) {
        struct strbuf sb = STRBUF_INIT, sep = STRBUF_INIT;
        struct val *items;
        size_t count;
        int r;
        if (present(a[1]) && !is_none(a[1]))
                return rerr(rc, n, -EINVAL, "join(attribute=...) is not supported");
        if ((r = titer(rc, n, *v, &items, &count)) < 0)
                return r;
        if (present(a[0]))
                r = put_str(rc, n, &sep, a[0]);
        for (size_t i = 0; i < count && r >= 0; i++) {
                if (i && (r = sb_append(&sb, sep.buf, sep.len)) < 0)
                        r = oom(rc, n);
                if (r >= 0)
                        r = put_str(rc, n, &sb, items[i]);
        }
        tvals_free(items, count);
        free(items);
        sb_free(&sep);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        return take_str(rc, n, &sb, VK_PLAIN, ret);
}

static int length_of(struct rctx *rc, const struct node *n, struct val v, size_t *ret) {
        if (val_isstr(v))
                *ret = py_strlen(json_string_value(v.j), json_string_length(v.j));
        else if (v.kind == VK_LOOP)
                *ret = (size_t)json_integer_value(json_object_get(v.j, "length"));
        else if (v.kind != VK_METHOD && json_is_array(v.j))
                *ret = json_array_size(v.j);
        else if (v.kind != VK_METHOD && json_is_object(v.j))
                *ret = json_object_size(v.j);
        else
                return rerr(rc, n, -EINVAL, "object of type '%s' has no len()", val_typename(v));
        return 0;
}

F(f_length) {
        size_t len = 0;
        (void)a;
        int r = length_of(rc, n, *v, &len);
        return r < 0 ? r : mkint(rc, n, (json_int_t)len, ret);
}

/* int(s, base): 0, -EINVAL (not a number) or -ERANGE (beyond 64 bits). */
static int parse_pyint(const char *s, size_t len, int base, json_int_t *ret) {
        size_t start = tu_lstrip(s, len), end = tu_rstrip(s, len), i;
        bool neg = false, digit = false, under_ok = false;
        json_int_t v = 0;
        if (start >= end)
                return -EINVAL;
        i = start;
        if (s[i] == '+' || s[i] == '-')
                neg = s[i++] == '-';
        if (end - i > 2 && s[i] == '0') {
                char p = s[i + 1] | 0x20;
                if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) {
                        i += 2;
                        under_ok = true;
                }
        }
        for (; i < end; i++) {
                char c = s[i];
                int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99;
                if (c == '_' && under_ok && i + 1 < end && s[i + 1] != '_') {
                        under_ok = false;
                        continue;
                }
                if (d >= base)
                        return -EINVAL;
                if (__builtin_mul_overflow(v, base, &v) || __builtin_sub_overflow(v, d, &v))
                        return -ERANGE;
                digit = under_ok = true;
        }
        if (!digit)
                return -EINVAL;
        if (!neg && v == INT64_MIN)
                return -ERANGE;
        *ret = neg ? v : -v;
        return 0;
}

/* float(s): 0 or -EINVAL; accepts what Python does (no hex, '_' between digits). */
static int parse_pyfloat(const char *s, size_t len, double *ret) {
        size_t start = tu_lstrip(s, len), end = tu_rstrip(s, len), o = 0, i = start;
        char buf[128];
        bool digits = false;
        if (start >= end || end - start >= sizeof buf)
                return -EINVAL;
        if (s[i] == '+' || s[i] == '-')
                buf[o++] = s[i++];
        size_t wlen = end - i;
        static const char *const words[] = {"inf", "infinity", "nan"};
        for (int k = 0; k < 3; k++)
                if (wlen == strlen(words[k]) && strncasecmp(s + i, words[k], wlen) == 0) {
                        *ret = k < 2 ? INFINITY : NAN;
                        if (buf[0] == '-' && o)
                                *ret = -*ret;
                        return 0;
                }
        int part = 0; /* 0 integer, 1 fraction, 2 exponent */
        bool prev_digit = false, exp_digits = false;
        for (; i < end; i++) {
                char c = s[i];
                if (c >= '0' && c <= '9') {
                        buf[o++] = c;
                        prev_digit = true;
                        digits |= part < 2;
                        exp_digits |= part == 2;
                } else if (c == '_' && prev_digit && i + 1 < end && s[i + 1] >= '0' && s[i + 1] <= '9') {
                        prev_digit = false;
                } else if (c == '.' && part == 0) {
                        buf[o++] = c;
                        part = 1;
                        prev_digit = false;
                } else if ((c == 'e' || c == 'E') && part < 2 && digits) {
                        buf[o++] = c;
                        part = 2;
                        prev_digit = false;
                        if (i + 1 < end && (s[i + 1] == '+' || s[i + 1] == '-'))
                                buf[o++] = s[++i];
                } else {
                        return -EINVAL;
                }
        }
        if (!digits || (part == 2 && !exp_digits))
                return -EINVAL;
        buf[o] = '\0';
        *ret = strtod(buf, NULL);
        return 0;
}

/* int(d) for a finite double: -ERANGE beyond 64 bits, -EINVAL for NaN/inf. */
static int float_to_int(double d, json_int_t *ret) {
        if (isnan(d) || isinf(d))
                return -EINVAL;
        d = trunc(d);
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
                return -ERANGE;
        *ret = (json_int_t)d;
        return 0;
}

static int string_to_int(struct val v, int base, json_int_t *ret) {
        const char *s = json_string_value(v.j);
        size_t len = json_string_length(v.j);
        double d;
        int r = parse_pyint(s, len, base, ret);
        if (r != -EINVAL)
                return r;
        if (parse_pyfloat(s, len, &d) < 0)
                return -EINVAL;
        return float_to_int(d, ret);
}

F(f_int) {
        json_int_t i = 0, base = 10;
        int r = -EINVAL;
        if (present(a[1])) {
                if (!is_int(a[1]) || int_of(a[1]) < 2 || int_of(a[1]) > 36)
                        return rerr(rc, n, -EINVAL, "int() base must be >= 2 and <= 36");
                base = int_of(a[1]);
        }
        if (val_isstr(*v))
                r = string_to_int(*v, (int)base, &i);
        else if (is_int(*v))
                i = int_of(*v), r = 0;
        else if (v->kind == VK_PLAIN && json_is_real(v->j))
                r = float_to_int(json_real_value(v->j), &i);
        if (r == -ERANGE)
                return rerr(rc, n, -EINVAL, "integer overflow (beyond 64 bits)");
        if (r >= 0)
                return mkint(rc, n, i, ret);
        if (present(a[0])) {
                *ret = a[0];
                a[0] = VAL_NONE;
                return 0;
        }
        return mkint(rc, n, 0, ret);
}

F(f_float) {
        double d = 0;
        int r = -EINVAL;
        if (val_isstr(*v))
                r = parse_pyfloat(json_string_value(v->j), json_string_length(v->j), &d);
        else if (val_isnum(*v))
                d = json_is_real(v->j) ? json_real_value(v->j) : (double)int_of(*v), r = 0;
        if (r >= 0 && !isfinite(d))
                return rerr(rc, n, -EINVAL, "float value is not finite");
        if (r < 0 && present(a[0])) {
                *ret = a[0];
                a[0] = VAL_NONE;
                return 0;
        }
        *ret = val_plain(json_real(r < 0 ? 0.0 : d));
        return ret->j ? 0 : oom(rc, n);
}

F(f_string) {
        struct strbuf sb = STRBUF_INIT;
        (void)a;
        if (val_isstr(*v)) {
                *ret = *v;
                *v = VAL_NONE;
                return 0;
        }
        int r = put_str(rc, n, &sb, *v);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        return take_str(rc, n, &sb, VK_PLAIN, ret);
}

F(f_abs) {
        (void)a;
        if (!val_isnum(*v))
                return rerr(rc, n, -EINVAL, "bad operand type for abs(): '%s'", val_typename(*v));
        if (json_is_real(v->j)) {
                *ret = val_plain(json_real(fabs(json_real_value(v->j))));
                return ret->j ? 0 : oom(rc, n);
        }
        json_int_t i = int_of(*v);
        if (i == INT64_MIN)
                return rerr(rc, n, -EINVAL, "integer overflow (beyond 64 bits)");
        return mkint(rc, n, i < 0 ? -i : i, ret);
}

/* list(v): strings split into characters, dicts give their keys. */
F(f_list) {
        struct val *items;
        size_t count;
        (void)a;
        int r = titer(rc, n, *v, &items, &count);
        if (r < 0)
                return r;
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < count; i++)
                if (json_array_append(arr, items[i].j) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        tvals_free(items, count);
        free(items);
        if (!arr)
                return oom(rc, n);
        *ret = (struct val){arr, v->kind == VK_PAIRS ? VK_PAIRS : VK_PLAIN, 0};
        return 0;
}

static int first_last(struct rctx *rc, const struct node *n, struct val v, bool last, struct val *ret) {
        struct val *items;
        size_t count;
        int r = titer(rc, n, v, &items, &count);
        if (r < 0)
                return r;
        if (count) {
                *ret = items[last ? count - 1 : 0];
                items[last ? count - 1 : 0] = VAL_NONE;
                if (last && v.kind == VK_SAFE) /* reversed(Markup) indexes, which keeps Markup */
                        ret->kind = VK_SAFE;
        } else {
                json_t *j = json_string(last ? "No last item, sequence was empty." : "No first item, sequence was empty.");
                *ret = (struct val){j, VK_UNDEF, 0};
                r = j ? 0 : oom(rc, n);
        }
        tvals_free(items, count);
        free(items);
        return r;
}

F(f_first) {
        (void)a;
        return first_last(rc, n, *v, false, ret);
}

F(f_last) {
        (void)a;
        return first_last(rc, n, *v, true, ret);
}

/* ---- dictsort: a stable merge sort whose comparisons can fail ---- */

struct sortctx {
        json_t **keys;
        bool fold, reverse;
        int err;
        char msg[256];
};

static int fold_cmp(const json_t *a, const json_t *b) {
        const char *x = json_string_value(a), *y = json_string_value(b);
        size_t lx = json_string_length(a), ly = json_string_length(b);
        for (size_t i = 0; i < lx && i < ly; i++) {
                unsigned char cx = (unsigned char)x[i], cy = (unsigned char)y[i];
                cx = cx >= 'A' && cx <= 'Z' ? cx + 32 : cx;
                cy = cy >= 'A' && cy <= 'Z' ? cy + 32 : cy;
                if (cx != cy)
                        return cx < cy ? -1 : 1;
        }
        return lx < ly ? -1 : lx > ly;
}

/* Whether item j must come before item i (strictly less). */
static bool sort_less(struct sortctx *sc, size_t j, size_t i) {
        const json_t *a = sc->keys[j], *b = sc->keys[i];
        int c = 0;
        if (sc->err)
                return false;
        if (sc->fold && json_is_string(a) && json_is_string(b))
                c = fold_cmp(a, b);
        else
                sc->err = py_cmp(a, b, &c, sc->msg, sizeof sc->msg);
        return sc->reverse ? c > 0 : c < 0;
}

static void merge_sort(struct sortctx *sc, size_t *idx, size_t *tmp, size_t n) {
        if (n < 2)
                return;
        size_t h = n / 2, i = 0, j = h, k = 0;
        merge_sort(sc, idx, tmp, h);
        merge_sort(sc, idx + h, tmp, n - h);
        while (i < h && j < n)
                tmp[k++] = sort_less(sc, idx[j], idx[i]) ? idx[j++] : idx[i++];
        while (i < h)
                tmp[k++] = idx[i++];
        while (j < n)
                tmp[k++] = idx[j++];
        memcpy(idx, tmp, n * sizeof *idx);
}

static int dictsort_args(struct rctx *rc, const struct node *n, struct val *a, struct sortctx *sc, bool *by_value) {
        char msg[256] = "";
        bool cs = false;
        int r;
        if (present(a[0]) && (r = py_truth(a[0], &cs, msg, sizeof msg)) < 0)
                return rerr(rc, n, r, "%s", msg);
        if (present(a[2]) && (r = py_truth(a[2], &sc->reverse, msg, sizeof msg)) < 0)
                return rerr(rc, n, r, "%s", msg);
        sc->fold = !cs;
        *by_value = false;
        if (present(a[1])) {
                if (val_isstr(a[1]) && strcmp(json_string_value(a[1].j), "value") == 0)
                        *by_value = true;
                else if (!val_isstr(a[1]) || strcmp(json_string_value(a[1].j), "key") != 0)
                        return rerr(rc, n, -EINVAL, "You can only sort by either \"key\" or \"value\"");
        }
        return 0;
}

F(f_dictsort) {
        struct sortctx sc = {0};
        bool by_value;
        int r = dictsort_args(rc, n, a, &sc, &by_value);
        if (r < 0)
                return r;
        if (v->kind != VK_PLAIN || !json_is_object(v->j))
                return rerr(rc, n, -EINVAL, "dictsort needs a dict, not '%s'", val_typename(*v));
        size_t count = json_object_size(v->j), k = 0;
        json_t *pairs = json_array(), *x;
        size_t *idx = calloc(count + 1, sizeof *idx), *tmp = calloc(count + 1, sizeof *tmp);
        const char *key;
        sc.keys = calloc(count + 1, sizeof *sc.keys);
        if (!pairs || !idx || !tmp || !sc.keys) {
                r = oom(rc, n);
                goto out;
        }
        json_object_foreach(v->j, key, x) {
                json_t *p = json_pack("[sO]", key, x);
                if (!p || json_array_append_new(pairs, p) < 0) {
                        r = oom(rc, n);
                        goto out;
                }
                sc.keys[k] = json_array_get(p, by_value);
                idx[k] = k;
                k++;
        }
        merge_sort(&sc, idx, tmp, count);
        if (sc.err) {
                r = rerr(rc, n, sc.err, "%s", sc.msg);
                goto out;
        }
        json_t *sorted = json_array();
        for (k = 0; sorted && k < count; k++)
                if (json_array_append(sorted, json_array_get(pairs, idx[k])) < 0) {
                        json_decref(sorted);
                        sorted = NULL;
                }
        if (!sorted)
                r = oom(rc, n);
        else
                *ret = (struct val){sorted, VK_PAIRS, 0};
out:
        json_decref(pairs);
        free(idx);
        free(tmp);
        free(sc.keys);
        return r;
}

/* ---- tests ---- */

F(t_defined) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind != VK_UNDEF, ret);
}
F(t_undefined) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_UNDEF, ret);
}
F(t_none) {
        (void)rc, (void)n, (void)a;
        return mkbool(is_none(*v), ret);
}
F(t_string) {
        (void)rc, (void)n, (void)a;
        return mkbool(val_isstr(*v), ret);
}
F(t_number) {
        (void)rc, (void)n, (void)a;
        return mkbool(val_isnum(*v), ret);
}
F(t_integer) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_PLAIN && json_is_integer(v->j), ret);
}
F(t_float) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_PLAIN && json_is_real(v->j), ret);
}
F(t_boolean) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_PLAIN && json_is_boolean(v->j), ret);
}
F(t_true) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_PLAIN && json_is_true(v->j), ret);
}
F(t_false) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_PLAIN && json_is_false(v->j), ret);
}
F(t_mapping) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_PLAIN && json_is_object(v->j), ret);
}
F(t_sequence) {
        (void)rc, (void)n, (void)a;
        bool seq = val_isstr(*v) || ((v->kind == VK_PLAIN || v->kind == VK_TUPLE || v->kind == VK_PAIRS) &&
                                     (json_is_array(v->j) || json_is_object(v->j)));
        return mkbool(seq, ret);
}
F(t_iterable) {
        (void)rc, (void)n, (void)a;
        bool it = val_isstr(*v) || v->kind == VK_LOOP ||
                  (v->kind != VK_METHOD && (json_is_array(v->j) || json_is_object(v->j)));
        return mkbool(it, ret);
}
F(t_callable) {
        (void)rc, (void)n, (void)a;
        return mkbool(v->kind == VK_METHOD, ret);
}

static int case_test(struct rctx *rc, const struct node *n, struct val v, bool upper, struct val *ret) {
        struct strbuf sb = STRBUF_INIT;
        bool cased = false, ok = true;
        int r = put_str(rc, n, &sb, v);
        for (size_t i = 0; r >= 0 && i < sb.len; i++) {
                char c = sb.buf[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                        cased = true;
                        ok &= upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z');
                }
        }
        sb_free(&sb);
        return r < 0 ? r : mkbool(cased && ok, ret);
}
F(t_lower) {
        (void)a;
        return case_test(rc, n, *v, false, ret);
}
F(t_upper) {
        (void)a;
        return case_test(rc, n, *v, true, ret);
}

/* value % divisor == 0 (or == 1 for odd). */
static int mod_test(struct rctx *rc, const struct node *n, struct val v, struct val d, int want, struct val *ret) {
        struct val m;
        char msg[256] = "";
        if (val_isstr(v))
                return rerr(rc, n, -EINVAL, "string formatting with %% is not supported");
        int r = py_binop(OP_MOD, v, d, &m, msg, sizeof msg);
        if (r < 0)
                return r == -ENOMEM ? oom(rc, n) : rerr(rc, n, r, "%s", msg);
        bool hit = json_is_real(m.j) ? json_real_value(m.j) == want : json_integer_value(m.j) == want;
        val_clear(&m);
        return mkbool(hit, ret);
}
F(t_even) {
        struct val two = val_plain(json_integer(2));
        (void)a;
        int r = two.j ? mod_test(rc, n, *v, two, 0, ret) : oom(rc, n);
        val_clear(&two);
        return r;
}
F(t_odd) {
        struct val two = val_plain(json_integer(2));
        (void)a;
        int r = two.j ? mod_test(rc, n, *v, two, 1, ret) : oom(rc, n);
        val_clear(&two);
        return r;
}
F(t_divisibleby) { return mod_test(rc, n, *v, a[0], 0, ret); }

static int cmp_test(struct rctx *rc, const struct node *n, struct val x, struct val y, int op, struct val *ret) {
        char msg[256] = "";
        int c;
        if (op == OP_EQ || op == OP_NE) {
                bool eq = x.kind != VK_METHOD && y.kind != VK_METHOD && py_eq(x.j, y.j);
                return mkbool(eq == (op == OP_EQ), ret);
        }
        if (x.kind == VK_METHOD || y.kind == VK_METHOD)
                return rerr(rc, n, -EINVAL, "cannot compare methods");
        int r = py_cmp(x.j, y.j, &c, msg, sizeof msg);
        if (r < 0)
                return rerr(rc, n, r, "%s", msg);
        return mkbool(op == OP_LT ? c < 0 : op == OP_LTEQ ? c <= 0 : op == OP_GT ? c > 0 : c >= 0, ret);
}
F(t_eq) { return cmp_test(rc, n, *v, a[0], OP_EQ, ret); }
F(t_ne) { return cmp_test(rc, n, *v, a[0], OP_NE, ret); }
F(t_lt) { return cmp_test(rc, n, *v, a[0], OP_LT, ret); }
F(t_le) { return cmp_test(rc, n, *v, a[0], OP_LTEQ, ret); }
F(t_gt) { return cmp_test(rc, n, *v, a[0], OP_GT, ret); }
F(t_ge) { return cmp_test(rc, n, *v, a[0], OP_GTEQ, ret); }
F(t_in) {
        struct val *items;
        size_t count;
        bool hit = false;
        if (val_isstr(a[0])) {
                if (!val_isstr(*v))
                        return rerr(rc, n, -EINVAL, "'in <string>' requires string as left operand, not %s",
                                    val_typename(*v));
                return mkbool(memmem(json_string_value(a[0].j), json_string_length(a[0].j), json_string_value(v->j),
                                     json_string_length(v->j)) != NULL,
                              ret);
        }
        int r = titer(rc, n, a[0], &items, &count);
        if (r < 0)
                return r;
        for (size_t i = 0; i < count; i++)
                hit |= py_eq(v->j, items[i].j);
        tvals_free(items, count);
        free(items);
        return mkbool(hit, ret);
}

const struct tfilter tfilters[] = {
        {"default", f_default, {"default_value", "boolean"}, 0, true},
        {"d", f_default, {"default_value", "boolean"}, 0, true},
        {"py", f_py, {NULL}, 0, false},
        {"tojson", f_tojson, {"indent"}, 0, false},
        {"sh", f_sh, {NULL}, 0, false},
        {"safe", f_safe, {NULL}, 0, false},
        {"upper", f_upper, {NULL}, 0, false},
        {"lower", f_lower, {NULL}, 0, false},
        {"trim", f_trim, {"chars"}, 0, false},
        {"replace", f_replace, {"old", "new", "count"}, 2, false},
        {"join", f_join, {"d", "attribute"}, 0, false},
        {"length", f_length, {NULL}, 0, false},
        {"count", f_length, {NULL}, 0, false},
        {"int", f_int, {"default", "base"}, 0, false},
        {"float", f_float, {"default"}, 0, false},
        {"string", f_string, {NULL}, 0, false},
        {"dictsort", f_dictsort, {"case_sensitive", "by", "reverse"}, 0, false},
        {"abs", f_abs, {NULL}, 0, false},
        {"list", f_list, {NULL}, 0, false},
        {"first", f_first, {NULL}, 0, false},
        {"last", f_last, {NULL}, 0, false},
        {NULL, NULL, {NULL}, 0, false},
};

const struct tfilter ttests[] = {
        {"defined", t_defined, {NULL}, 0, true},
        {"undefined", t_undefined, {NULL}, 0, true},
        {"none", t_none, {NULL}, 0, true},
        {"string", t_string, {NULL}, 0, true},
        {"number", t_number, {NULL}, 0, true},
        {"integer", t_integer, {NULL}, 0, true},
        {"float", t_float, {NULL}, 0, true},
        {"boolean", t_boolean, {NULL}, 0, true},
        {"true", t_true, {NULL}, 0, true},
        {"false", t_false, {NULL}, 0, true},
        {"mapping", t_mapping, {NULL}, 0, true},
        {"sequence", t_sequence, {NULL}, 0, true},
        {"callable", t_callable, {NULL}, 0, true},
        {"iterable", t_iterable, {NULL}, 0, false},
        {"lower", t_lower, {NULL}, 0, false},
        {"upper", t_upper, {NULL}, 0, false},
        {"even", t_even, {NULL}, 0, false},
        {"odd", t_odd, {NULL}, 0, false},
        {"divisibleby", t_divisibleby, {"num"}, 1, false},
        {"eq", t_eq, {"other"}, 1, false},
        {"equalto", t_eq, {"other"}, 1, false},
        {"ne", t_ne, {"other"}, 1, false},
        {"lt", t_lt, {"other"}, 1, false},
        {"lessthan", t_lt, {"other"}, 1, false},
        {"le", t_le, {"other"}, 1, false},
        {"gt", t_gt, {"other"}, 1, false},
        {"greaterthan", t_gt, {"other"}, 1, false},
        {"ge", t_ge, {"other"}, 1, false},
        {"in", t_in, {"seq"}, 1, false},
        {NULL, NULL, {NULL}, 0, false},
};

static const struct tfilter *find(const struct tfilter *table, const char *name) {
        for (; table->name; table++)
                if (strcmp(table->name, name) == 0)
                        return table;
        return NULL;
}

const struct tfilter *tfilter_find(const char *name) { return find(tfilters, name); }
const struct tfilter *ttest_find(const char *name) { return find(ttests, name); }

/* ---- methods ---- */

static int name_in(const char *name, const char *list) {
        size_t len = strlen(name);
        for (const char *p = list; *p;) {
                const char *e = strchr(p, ' ');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                if (l == len && memcmp(p, name, l) == 0)
                        return 1;
                p += l + (e != NULL);
        }
        return 0;
}

int tmethod_recv(struct val v) {
        if (v.kind == VK_PLAIN && json_is_object(v.j))
                return RK_DICT;
        if (val_isstr(v))
                return v.kind == VK_SAFE ? RK_SAFE : RK_STR;
        if (v.kind == VK_PLAIN && json_is_array(v.j))
                return RK_LIST;
        if (v.kind == VK_LOOP)
                return RK_LOOP;
        return -1;
}

int tmethod_resolve(int rk, const char *name) {
        static const char *const dict_ids[] = {"items", "keys", "values", "get"};
        static const char *const str_ids[] = {"upper", "lower", "strip", "startswith", "endswith", "replace"};
        static const int str_m[] = {M_UPPER, M_LOWER, M_STRIP, M_STARTSWITH, M_ENDSWITH, M_REPLACE};
        switch (rk) {
        case RK_DICT:
                for (int k = 0; k < 4; k++)
                        if (strcmp(name, dict_ids[k]) == 0)
                                return M_ITEMS + k;
                return name_in(name, "pop popitem setdefault update clear copy fromkeys") ? M_UNSUPPORTED : -1;
        case RK_STR:
        case RK_SAFE:
                for (int k = 0; k < 6; k++)
                        if (strcmp(name, str_ids[k]) == 0 && !(rk == RK_SAFE && str_m[k] == M_REPLACE))
                                return str_m[k];
                return name_in(name, "capitalize casefold center count encode expandtabs find format format_map "
                                     "index isalnum isalpha isascii isdecimal isdigit isidentifier islower "
                                     "isnumeric isprintable isspace istitle isupper join ljust lstrip maketrans "
                                     "partition removeprefix removesuffix replace rfind rindex rjust rpartition "
                                     "rsplit rstrip split splitlines swapcase title translate zfill")
                               ? M_UNSUPPORTED
                               : -1;
        case RK_LIST:
                return name_in(name, "append clear copy count extend index insert pop remove reverse sort")
                               ? M_UNSUPPORTED
                               : -1;
        case RK_LOOP: return name_in(name, "cycle changed") ? M_UNSUPPORTED : -1;
        }
        return -1;
}

static int arity(struct rctx *rc, const struct node *n, size_t nargs, size_t lo, size_t hi) {
        if (nargs < lo || nargs > hi)
                return rerr(rc, n, -EINVAL, "method takes %zu to %zu arguments, %zu given", lo, hi, nargs);
        return 0;
}

static int dict_view(struct rctx *rc, const struct node *n, json_t *d, int m, struct val *ret) {
        json_t *arr = json_array(), *x, *e;
        const char *k;
        json_object_foreach(d, k, x) {
                if (!arr)
                        break;
                e = m == M_ITEMS ? json_pack("[sO]", k, x) : m == M_KEYS ? json_string(k) : json_incref(x);
                if (json_array_append_new(arr, e) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        if (!arr)
                return oom(rc, n);
        *ret = (struct val){arr, m == M_ITEMS ? VK_PAIRS : VK_VIEW, (unsigned char)m};
        return 0;
}

static int call_range(struct rctx *rc, const struct node *n, struct val *args, size_t nargs, struct val *ret) {
        json_int_t p[3] = {0, 0, 1};
        int r = arity(rc, n, nargs, 1, 3);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nargs; i++) {
                if (!is_int(args[i]))
                        return rerr(rc, n, -EINVAL, "range() arguments must be integers");
                p[nargs == 1 ? 1 : i] = int_of(args[i]);
        }
        if (p[2] == 0)
                return rerr(rc, n, -EINVAL, "range() arg 3 must not be zero");
        json_t *arr = json_array();
        size_t count = 0;
        for (json_int_t x = p[0]; arr && (p[2] > 0 ? x < p[1] : x > p[1]); count++) {
                if (count >= TMPL_MAX_LOOP) {
                        json_decref(arr);
                        return rerr(rc, n, -E2BIG, "range() exceeds %u items", TMPL_MAX_LOOP);
                }
                if (json_array_append_new(arr, json_integer(x)) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
                if (__builtin_add_overflow(x, p[2], &x))
                        break;
        }
        if (!arr)
                return oom(rc, n);
        *ret = (struct val){arr, VK_VIEW, M_RANGE};
        return 0;
}

static int call_affix(struct rctx *rc, const struct node *n, struct val s, struct val affix, bool start,
                      struct val *ret) {
        int r = need_str(rc, n, affix, start ? "startswith() argument" : "endswith() argument");
        if (r < 0)
                return r;
        size_t ls = json_string_length(s.j), la = json_string_length(affix.j);
        const char *p = json_string_value(s.j);
        bool hit = la <= ls && memcmp(start ? p : p + ls - la, json_string_value(affix.j), la) == 0;
        return mkbool(hit, ret);
}

static int call_str_method(struct rctx *rc, const struct node *n, struct val m, struct val *args, size_t nargs,
                           struct val *ret) {
        int r;
        switch (m.method) {
        case M_UPPER:
        case M_LOWER:
                if ((r = arity(rc, n, nargs, 0, 0)) < 0)
                        return r;
                return map_case(rc, n, (struct val){m.j, VK_PLAIN, 0}, m.method == M_UPPER, ret);
        case M_STRIP:
                if ((r = arity(rc, n, nargs, 0, 1)) < 0)
                        return r;
                return strip_value(rc, n, (struct val){m.j, VK_PLAIN, 0}, nargs ? args[0] : (struct val){NULL, VK_UNDEF, 0},
                                   ret);
        case M_STARTSWITH:
        case M_ENDSWITH:
                if ((r = arity(rc, n, nargs, 1, 1)) < 0)
                        return r;
                return call_affix(rc, n, (struct val){m.j, VK_PLAIN, 0}, args[0], m.method == M_STARTSWITH, ret);
        default: {
                struct val a3[3] = {args[0], args[1], nargs > 2 ? args[2] : (struct val){NULL, VK_UNDEF, 0}};
                if ((r = arity(rc, n, nargs, 2, 3)) < 0)
                        return r;
                if ((r = need_str(rc, n, args[0], "replace() argument 1")) < 0 ||
                    (r = need_str(rc, n, args[1], "replace() argument 2")) < 0)
                        return r;
                return replace_value(rc, n, (struct val){m.j, VK_PLAIN, 0}, a3, VK_PLAIN, ret);
        }
        }
}

int tmethod_call(struct rctx *rc, const struct node *n, struct val m, struct val *args, size_t nargs,
                 struct val *ret) {
        int r;
        json_t *x;
        switch (m.method) {
        case M_ITEMS:
        case M_KEYS:
        case M_VALUES:
                if ((r = arity(rc, n, nargs, 0, 0)) < 0)
                        return r;
                return dict_view(rc, n, m.j, m.method, ret);
        case M_GET:
                if ((r = arity(rc, n, nargs, 1, 2)) < 0)
                        return r;
                x = val_isstr(args[0]) ? json_object_getn(m.j, json_string_value(args[0].j), json_string_length(args[0].j))
                                       : NULL;
                if (x)
                        *ret = val_plain(json_incref(x));
                else
                        *ret = nargs > 1 ? val_copy(args[1]) : val_plain(json_null());
                return 0;
        case M_RANGE: return call_range(rc, n, args, nargs, ret);
        case M_UNSUPPORTED:
                return rerr(rc, n, -EINVAL, "the method '%s' is not supported",
                            n->a->kind == N_ATTR || n->a->kind == N_NAME ? n->a->name : "?");
        default:
                if (json_string_length(m.j) > TMPL_MAX_STRING)
                        return rerr(rc, n, -E2BIG, "string exceeds %u bytes", TMPL_MAX_STRING);
                return call_str_method(rc, n, m, args, nargs, ret);
        }
}
