/* tmpl_val.c — template values with Python's semantics: str(), repr(),
 * truth, ==, <, and Jinja's tojson (json.dumps, sort_keys, HTML-safe). */
#include "tmpl_int.h"

#include "dl.h"
#include "pylit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void val_clear(struct val *v) {
        json_decref(v->j);
        *v = VAL_NONE;
}

struct val val_plain(json_t *j) { return (struct val){j, VK_PLAIN, 0}; }

struct val val_copy(struct val v) {
        json_incref(v.j);
        return v;
}

bool val_isstr(struct val v) { return (v.kind == VK_PLAIN || v.kind == VK_SAFE) && json_is_string(v.j); }

bool val_isnum(struct val v) { return v.kind == VK_PLAIN && (json_is_number(v.j) || json_is_boolean(v.j)); }

static const char *json_typename(const json_t *j) {
        switch (json_typeof(j)) {
        case JSON_STRING: return "str";
        case JSON_INTEGER: return "int";
        case JSON_REAL: return "float";
        case JSON_TRUE:
        case JSON_FALSE: return "bool";
        case JSON_NULL: return "NoneType";
        case JSON_ARRAY: return "list";
        default: return "dict";
        }
}

const char *val_typename(struct val v) {
        switch (v.kind) {
        case VK_UNDEF: return "Undefined";
        case VK_SAFE: return "Markup";
        case VK_TUPLE: return "tuple";
        case VK_PAIRS: return "list";
        case VK_VIEW: return "view";
        case VK_LOOP: return "LoopContext";
        case VK_METHOD: return "method";
        default: return v.j ? json_typename(v.j) : "NoneType";
        }
}

json_t *py_string(const char *s, size_t n) { return json_stringn_nocheck(s ? s : "", n); }

size_t py_strlen(const char *s, size_t n) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
                c += ((unsigned char)s[i] & 0xc0) != 0x80;
        return c;
}

static int set_msg(char *msg, size_t msgsz, const char *fmt, const char *a, const char *b) {
        if (msg && msgsz)
                snprintf(msg, msgsz, fmt, a, b);
        return -EINVAL;
}

/* str.isprintable() for the code points repr() escapes: controls, format
 * characters, separators other than space, surrogates, private use and
 * non-characters.  (Unassigned code points are not tracked.) */
static bool py_isprintable(uint32_t c) {
        if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad)
                return false;
        if (c < 0x300)
                return true;
        return !((c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd || c == 0x70f || c == 0x1680 ||
                 c == 0x180e || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
                 (c >= 0x205f && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) || c == 0x3000 ||
                 (c >= 0xd800 && c <= 0xf8ff) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
                 (c & 0xfffe) == 0xfffe || (c >= 0xe0000 && c <= 0xe0fff) || c >= 0xf0000);
}

int py_repr_str(struct strbuf *sb, const char *s, size_t n) {
        bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
        char quote = sq && !dq ? '"' : '\'';
        int r = sb_putc(sb, quote);
        size_t i = 0;
        while (i < n && r >= 0) {
                size_t start = i;
                uint32_t c = tu_next(s, n, &i);
                if (c == (uint32_t)quote || c == '\\')
                        r = sb_printf(sb, "\\%c", (char)c);
                else if (c == '\n')
                        r = sb_puts(sb, "\\n");
                else if (c == '\r')
                        r = sb_puts(sb, "\\r");
                else if (c == '\t')
                        r = sb_puts(sb, "\\t");
                else if (!py_isprintable(c))
                        r = sb_printf(sb, c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x", c);
                else
                        r = sb_append(sb, s + start, i - start);
        }
        return r >= 0 ? sb_putc(sb, quote) : r;
}

static int py_repr(struct strbuf *sb, const json_t *j);

static int py_repr_seq(struct strbuf *sb, const json_t *a, const char *open, const char *close, bool tuple) {
        size_t i;
        json_t *x;
        int r = sb_puts(sb, open);
        json_array_foreach(a, i, x) {
                if (r >= 0 && i)
                        r = sb_puts(sb, ", ");
                if (r >= 0)
                        r = py_repr(sb, x);
        }
        if (r >= 0 && tuple && json_array_size(a) == 1)
                r = sb_putc(sb, ',');
        return r >= 0 ? sb_puts(sb, close) : r;
}

static int py_repr(struct strbuf *sb, const json_t *j) {
        const char *k;
        json_t *x;
        int r, first = 1;
        switch (json_typeof(j)) {
        case JSON_STRING: return py_repr_str(sb, json_string_value(j), json_string_length(j));
        case JSON_ARRAY: return py_repr_seq(sb, j, "[", "]", false);
        case JSON_OBJECT:
                r = sb_putc(sb, '{');
                json_object_foreach((json_t *)j, k, x) {
                        if (r >= 0 && !first)
                                r = sb_puts(sb, ", ");
                        first = 0;
                        if (r >= 0)
                                r = py_repr_str(sb, k, strlen(k));
                        if (r >= 0)
                                r = sb_puts(sb, ": ");
                        if (r >= 0)
                                r = py_repr(sb, x);
                }
                return r >= 0 ? sb_putc(sb, '}') : r;
        default: return pylit_append(sb, j, (size_t)-1, NULL, 0);
        }
}

int py_str(struct strbuf *sb, struct val v, char *msg, size_t msgsz) {
        size_t i;
        json_t *x;
        int r;
        switch (v.kind) {
        case VK_UNDEF: return set_msg(msg, msgsz, "%s%s", json_string_value(v.j), "");
        case VK_TUPLE: return py_repr_seq(sb, v.j, "(", ")", true);
        case VK_PAIRS:
                r = sb_puts(sb, v.method == M_ITEMS ? "dict_items([" : "[");
                json_array_foreach(v.j, i, x) {
                        if (r >= 0 && i)
                                r = sb_puts(sb, ", ");
                        if (r >= 0)
                                r = py_repr_seq(sb, x, "(", ")", true);
                }
                return r >= 0 ? sb_puts(sb, v.method == M_ITEMS ? "])" : "]") : r;
        case VK_LOOP:
                return sb_printf(sb, "<LoopContext %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT ">",
                                 json_integer_value(json_object_get(v.j, "index")),
                                 json_integer_value(json_object_get(v.j, "length")));
        case VK_VIEW:
                if (v.method == M_KEYS || v.method == M_VALUES) {
                        r = sb_puts(sb, v.method == M_KEYS ? "dict_keys(" : "dict_values(");
                        r = r >= 0 ? py_repr(sb, v.j) : r;
                        return r >= 0 ? sb_putc(sb, ')') : r;
                }
                return set_msg(msg, msgsz, "cannot convert a %s to a string%s", val_typename(v), "");
        case VK_METHOD: return set_msg(msg, msgsz, "cannot convert a %s to a string%s", val_typename(v), "");
        }
        if (json_is_string(v.j))
                return sb_append(sb, json_string_value(v.j), json_string_length(v.j));
        return py_repr(sb, v.j);
}

int py_truth(struct val v, bool *ret, char *msg, size_t msgsz) {
        switch (v.kind) {
        case VK_UNDEF: return set_msg(msg, msgsz, "%s%s", json_string_value(v.j), "");
        case VK_LOOP:
        case VK_METHOD: *ret = true; return 0;
        }
        switch (json_typeof(v.j)) {
        case JSON_STRING: *ret = json_string_length(v.j) > 0; break;
        case JSON_INTEGER: *ret = json_integer_value(v.j) != 0; break;
        case JSON_REAL: *ret = json_real_value(v.j) != 0.0; break;
        case JSON_TRUE: *ret = true; break;
        case JSON_ARRAY: *ret = json_array_size(v.j) > 0; break;
        case JSON_OBJECT: *ret = json_object_size(v.j) > 0; break;
        default: *ret = false;
        }
        return 0;
}

static bool is_num(const json_t *j) { return json_is_number(j) || json_is_boolean(j); }

static json_int_t as_int(const json_t *j) { return json_is_integer(j) ? json_integer_value(j) : json_is_true(j); }

/* Exact comparison of an integer with a double, like Python's. */
static int cmp_int_float(json_int_t i, double f) {
        if (f >= 9223372036854775808.0)
                return -1;
        if (f < -9223372036854775808.0)
                return 1;
        json_int_t t = (json_int_t)f;
        if (i != t)
                return i < t ? -1 : 1;
        double frac = f - (double)t;
        return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int num_cmp(const json_t *a, const json_t *b) {
        if (!json_is_real(a) && !json_is_real(b)) {
                json_int_t x = as_int(a), y = as_int(b);
                return x < y ? -1 : x > y;
        }
        if (json_is_real(a) && json_is_real(b)) {
                double x = json_real_value(a), y = json_real_value(b);
                return x < y ? -1 : x > y;
        }
        if (json_is_real(b))
                return cmp_int_float(as_int(a), json_real_value(b));
        return -cmp_int_float(as_int(b), json_real_value(a));
}

static int str_cmp(const json_t *a, const json_t *b) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        return c ? (c < 0 ? -1 : 1) : la < lb ? -1 : la > lb;
}

bool py_eq(const json_t *a, const json_t *b) {
        if (is_num(a) && is_num(b))
                return num_cmp(a, b) == 0;
        if (json_typeof(a) != json_typeof(b))
                return false;
        switch (json_typeof(a)) {
        case JSON_STRING: return str_cmp(a, b) == 0;
        case JSON_ARRAY:
                if (json_array_size(a) != json_array_size(b))
                        return false;
                for (size_t i = 0; i < json_array_size(a); i++)
                        if (!py_eq(json_array_get(a, i), json_array_get(b, i)))
                                return false;
                return true;
        case JSON_OBJECT: {
                const char *k;
                json_t *x;
                if (json_object_size(a) != json_object_size(b))
                        return false;
                json_object_foreach((json_t *)a, k, x) {
                        json_t *y = json_object_get(b, k);
                        if (!y || !py_eq(x, y))
                                return false;
                }
                return true;
        }
        default: return true; /* null */
        }
}

int py_cmp(const json_t *a, const json_t *b, int *ret, char *msg, size_t msgsz) {
        if (is_num(a) && is_num(b)) {
                *ret = num_cmp(a, b);
                return 0;
        }
        if (json_is_string(a) && json_is_string(b)) {
                *ret = str_cmp(a, b);
                return 0;
        }
        if (json_is_array(a) && json_is_array(b)) {
                size_t na = json_array_size(a), nb = json_array_size(b);
                for (size_t i = 0; i < na && i < nb; i++) {
                        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
                        if (!py_eq(x, y))
                                return py_cmp(x, y, ret, msg, msgsz);
                }
                *ret = na < nb ? -1 : na > nb;
                return 0;
        }
        return set_msg(msg, msgsz, "'<' not supported between instances of '%s' and '%s'", json_typename(a),
                       json_typename(b));
}

/* A JSON string as json.dumps(ensure_ascii=True) writes it, then with
 * Jinja's htmlsafe replacements of < > & '. */
static int tojson_string(struct strbuf *sb, const char *s, size_t n) {
        int r = sb_putc(sb, '"');
        size_t i = 0;
        while (i < n && r >= 0) {
                uint32_t c = tu_next(s, n, &i);
                switch (c) {
                case '"': r = sb_puts(sb, "\\\""); break;
                case '\\': r = sb_puts(sb, "\\\\"); break;
                case '\n': r = sb_puts(sb, "\\n"); break;
                case '\r': r = sb_puts(sb, "\\r"); break;
                case '\t': r = sb_puts(sb, "\\t"); break;
                case '\b': r = sb_puts(sb, "\\b"); break;
                case '\f': r = sb_puts(sb, "\\f"); break;
                default:
                        if (c >= 0x10000)
                                r = sb_printf(sb, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
                                              0xdc00 + ((c - 0x10000) & 0x3ff));
                        else if (c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&' || c == '\'')
                                r = sb_printf(sb, "\\u%04x", c);
                        else
                                r = sb_putc(sb, (char)c);
                }
        }
        return r >= 0 ? sb_putc(sb, '"') : r;
}

static int cmp_keys(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int tojson_newline(struct strbuf *sb, int indent, int level) {
        int r = sb_putc(sb, '\n');
        for (int i = 0; i < indent * level && r >= 0; i++)
                r = sb_putc(sb, ' ');
        return r;
}

static int tojson_object(struct strbuf *sb, const json_t *v, int indent, int level) {
        size_t n = json_object_size(v), i = 0;
        const char *k, **keys;
        json_t *x;
        int r;
        if (!n)
                return sb_puts(sb, "{}");
        if (!(keys = malloc(n * sizeof *keys)))
                return -ENOMEM;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_keys);
        r = sb_putc(sb, '{');
        for (i = 0; i < n && r >= 0; i++) {
                if (i)
                        r = sb_puts(sb, indent >= 0 ? "," : ", ");
                if (r >= 0 && indent >= 0)
                        r = tojson_newline(sb, indent, level + 1);
                if (r >= 0)
                        r = tojson_string(sb, keys[i], strlen(keys[i]));
                if (r >= 0)
                        r = sb_puts(sb, ": ");
                if (r >= 0)
                        r = py_tojson(sb, json_object_get(v, keys[i]), indent, level + 1);
        }
        free(keys);
        if (r >= 0 && indent >= 0)
                r = tojson_newline(sb, indent, level);
        return r >= 0 ? sb_putc(sb, '}') : r;
}

/* json.dumps(v, sort_keys=True[, indent=indent]) when indent >= 0. */
int py_tojson(struct strbuf *sb, const json_t *v, int indent, int level) {
        size_t i;
        json_t *x;
        int r;
        switch (json_typeof(v)) {
        case JSON_STRING: return tojson_string(sb, json_string_value(v), json_string_length(v));
        case JSON_TRUE: return sb_puts(sb, "true");
        case JSON_FALSE: return sb_puts(sb, "false");
        case JSON_NULL: return sb_puts(sb, "null");
        case JSON_OBJECT: return tojson_object(sb, v, indent, level);
        case JSON_ARRAY:
                if (!json_array_size(v))
                        return sb_puts(sb, "[]");
                r = sb_putc(sb, '[');
                json_array_foreach(v, i, x) {
                        if (r >= 0 && i)
                                r = sb_puts(sb, indent >= 0 ? "," : ", ");
                        if (r >= 0 && indent >= 0)
                                r = tojson_newline(sb, indent, level + 1);
                        if (r >= 0)
                                r = py_tojson(sb, x, indent, level + 1);
                }
                if (r >= 0 && indent >= 0)
                        r = tojson_newline(sb, indent, level);
                return r >= 0 ? sb_putc(sb, ']') : r;
        default: return pylit_append(sb, v, (size_t)-1, NULL, 0);
        }
}

/* markupsafe.escape(): what Markup + str does to the plain side. */
static int markup_escape(struct strbuf *sb, const char *s, size_t n) {
        int r = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                switch (s[i]) {
                case '&': r = sb_puts(sb, "&amp;"); break;
                case '<': r = sb_puts(sb, "&lt;"); break;
                case '>': r = sb_puts(sb, "&gt;"); break;
                case '\'': r = sb_puts(sb, "&#39;"); break;
                case '"': r = sb_puts(sb, "&#34;"); break;
                default: r = sb_putc(sb, s[i]);
                }
        }
        return r;
}

static int str_result(struct strbuf *sb, enum vkind kind, struct val *ret) {
        json_t *j;
        if (sb->len > TMPL_MAX_STRING) {
                sb_free(sb);
                return -E2BIG;
        }
        j = py_string(sb->buf, sb->len);
        sb_free(sb);
        if (!j)
                return -ENOMEM;
        *ret = (struct val){j, (unsigned char)kind, 0};
        return 0;
}

/* str + str; when one side is Markup the other is escaped first. */
static int str_add(struct val a, struct val b, struct val *ret) {
        struct strbuf sb = STRBUF_INIT;
        bool safe = a.kind == VK_SAFE || b.kind == VK_SAFE;
        size_t la = json_string_length(a.j), lb = json_string_length(b.j);
        int r = safe && a.kind != VK_SAFE ? markup_escape(&sb, json_string_value(a.j), la)
                                          : sb_append(&sb, json_string_value(a.j), la);
        if (r >= 0)
                r = safe && b.kind != VK_SAFE ? markup_escape(&sb, json_string_value(b.j), lb)
                                              : sb_append(&sb, json_string_value(b.j), lb);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        return str_result(&sb, safe ? VK_SAFE : VK_PLAIN, ret);
}

static int str_mul(struct val s, json_int_t times, struct val *ret) {
        struct strbuf sb = STRBUF_INIT;
        size_t len = json_string_length(s.j);
        int r = 0;
        if (times > 0 && len && (size_t)times > TMPL_MAX_STRING / len)
                return -E2BIG;
        for (json_int_t i = 0; i < times && r >= 0; i++)
                r = sb_append(&sb, json_string_value(s.j), len);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        return str_result(&sb, s.kind == VK_SAFE ? VK_SAFE : VK_PLAIN, ret);
}

/* libm comes with the first float //, % or ** (see dl.h).  Returns 0 or
 * -ELIBACC with msg filled. */
static int need_libm(char *msg, size_t msgsz) {
        int r = dl_libm_load();
        if (r < 0)
                set_msg(msg, msgsz, "%s%s", dl_error(), "");
        return r;
}

/* Python's float // and % (floor semantics, result sign of the divisor). */
static void float_divmod(double a, double b, double *div, double *mod) {
        double m = dlm.fmod(a, b), d = (a - m) / b;
        if (m != 0) {
                if ((b < 0) != (m < 0)) {
                        m += b;
                        d -= 1.0;
                }
        } else {
                m = copysign(0.0, b);
        }
        if (d != 0) {
                double f = dlm.floor(d);
                if (d - f > 0.5)
                        f += 1.0;
                d = f;
        } else {
                d = copysign(0.0, a / b);
        }
        *div = d;
        *mod = m;
}

static int int_op(int op, json_int_t x, json_int_t y, struct val *ret, char *msg, size_t msgsz) {
        json_int_t z = 0;
        bool ovf = false;
        switch (op) {
        case OP_ADD: ovf = __builtin_add_overflow(x, y, &z); break;
        case OP_SUB: ovf = __builtin_sub_overflow(x, y, &z); break;
        case OP_MUL: ovf = __builtin_mul_overflow(x, y, &z); break;
        case OP_FLOORDIV:
        case OP_MOD:
                if (y == 0)
                        return set_msg(msg, msgsz, "%s%s", "integer division or modulo by zero", "");
                if (x == INT64_MIN && y == -1) {
                        ovf = op == OP_FLOORDIV;
                        break;
                }
                z = x % y;
                if (z != 0 && ((z < 0) != (y < 0)))
                        z = op == OP_MOD ? z + y : x / y - 1;
                else if (op == OP_FLOORDIV)
                        z = x / y;
                break;
        case OP_POW:
                if (y < 0) {
                        if (x == 0)
                                return set_msg(msg, msgsz, "%s%s", "0.0 cannot be raised to a negative power", "");
                        int r = need_libm(msg, msgsz);
                        if (r < 0)
                                return r;
                        *ret = val_plain(json_real(dlm.pow((double)x, (double)y)));
                        return ret->j ? 0 : -ENOMEM;
                }
                z = 1;
                for (json_int_t i = 0; i < y && !ovf; i++) {
                        ovf = __builtin_mul_overflow(z, x, &z);
                        if (z == 0 || z == 1)
                                break;
                        if (z == -1 && x == -1) {
                                z = (y % 2) ? -1 : 1;
                                break;
                        }
                }
                break;
        }
        if (ovf)
                return set_msg(msg, msgsz, "%s%s", "integer overflow (beyond 64 bits)", "");
        *ret = val_plain(json_integer(z));
        return ret->j ? 0 : -ENOMEM;
}

static int float_op(int op, double x, double y, struct val *ret, char *msg, size_t msgsz) {
        double z, d, m;
        int r;
        if ((op == OP_POW || op == OP_FLOORDIV || op == OP_MOD) && (r = need_libm(msg, msgsz)) < 0)
                return r;
        switch (op) {
        case OP_ADD: z = x + y; break;
        case OP_SUB: z = x - y; break;
        case OP_MUL: z = x * y; break;
        case OP_POW:
                if (x == 0 && y < 0)
                        return set_msg(msg, msgsz, "%s%s", "0.0 cannot be raised to a negative power", "");
                if (x < 0 && y != dlm.floor(y))
                        return set_msg(msg, msgsz, "%s%s", "complex results are not supported", "");
                z = dlm.pow(x, y);
                break;
        default:
                if (y == 0)
                        return set_msg(msg, msgsz, "%s%s", "division by zero", "");
                if (op == OP_DIV) {
                        z = x / y;
                        break;
                }
                float_divmod(x, y, &d, &m);
                z = op == OP_FLOORDIV ? d : m;
        }
        if (!isfinite(z))
                return set_msg(msg, msgsz, "%s%s", "float result out of range", "");
        *ret = val_plain(json_real(z));
        return ret->j ? 0 : -ENOMEM;
}

static double num_value(const json_t *j) {
        return json_is_real(j) ? json_real_value(j) : (double)as_int(j);
}

static bool val_islist(struct val v) { return v.kind == VK_PLAIN && json_is_array(v.j); }

/* list + list and list * n, capped like loops. */
static int list_op(struct val a, struct val b, int op, struct val *ret, char *msg, size_t msgsz) {
        size_t na = json_array_size(a.j);
        json_int_t times = op == OP_MUL ? as_int(b.j) : 1;
        size_t total = times <= 0 ? 0 : na * (size_t)(times > (json_int_t)TMPL_MAX_LOOP ? TMPL_MAX_LOOP + 1 : times);
        if (op == OP_ADD)
                total = na + json_array_size(b.j);
        if (total > TMPL_MAX_LOOP) {
                if (msg && msgsz)
                        snprintf(msg, msgsz, "list exceeds %u items", TMPL_MAX_LOOP);
                return -E2BIG;
        }
        json_t *r = json_array();
        for (json_int_t k = 0; r && k < times; k++)
                if (json_array_extend(r, a.j) < 0)
                        break;
        if (r && op == OP_ADD && json_array_extend(r, b.j) < 0)
                json_array_clear(r);
        if (!r || json_array_size(r) != total) {
                json_decref(r);
                return -ENOMEM;
        }
        *ret = val_plain(r);
        return 0;
}

int py_binop(int op, struct val a, struct val b, struct val *ret, char *msg, size_t msgsz) {
        static const char *const names[] = {[OP_ADD] = "+", [OP_SUB] = "-", [OP_DIV] = "/", [OP_FLOORDIV] = "//",
                                            [OP_MUL] = "*", [OP_MOD] = "%", [OP_POW] = "** or pow()"};
        if (val_isnum(a) && val_isnum(b)) {
                if (!json_is_real(a.j) && !json_is_real(b.j) && op != OP_DIV)
                        return int_op(op, as_int(a.j), as_int(b.j), ret, msg, msgsz);
                return float_op(op, num_value(a.j), num_value(b.j), ret, msg, msgsz);
        }
        if (op == OP_ADD && val_isstr(a) && val_isstr(b))
                return str_add(a, b, ret);
        if (val_islist(a) && ((op == OP_ADD && val_islist(b)) || (op == OP_MUL && val_isnum(b) && !json_is_real(b.j))))
                return list_op(a, b, op, ret, msg, msgsz);
        if (op == OP_MUL && val_islist(b) && val_isnum(a) && !json_is_real(a.j))
                return list_op(b, a, op, ret, msg, msgsz);
        if (op == OP_MUL && val_isstr(a) && val_isnum(b) && !json_is_real(b.j))
                return str_mul(a, as_int(b.j), ret);
        if (op == OP_MUL && val_isstr(b) && val_isnum(a) && !json_is_real(a.j))
                return str_mul(b, as_int(a.j), ret);
        if (msg && msgsz)
                snprintf(msg, msgsz, "unsupported operand type(s) for %s: '%s' and '%s'", names[op], val_typename(a),
                         val_typename(b));
        return -EINVAL;
}
