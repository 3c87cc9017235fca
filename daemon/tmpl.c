/* tmpl.c — compile and render templates (see tmpl.h).  Evaluation follows
 * Jinja2 with StrictUndefined: scopes, loops, expressions, output. */
#include "tmpl.h"

#include "pylit.h"
#include "tmpl_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Work a single render may do; bounds templates whose loops are cheap in
 * iterations but expensive in expressions. */
#define TMPL_MAX_STEPS 20000000ul

struct fvar {
        const char *name;
        struct val v;
};

/* One scope: the template's top level, or one iteration of a loop. */
struct frame {
        struct frame *parent;
        struct fvar *vars;
        size_t n, cap;
};

static void frame_clear(struct frame *f) {
        for (size_t i = 0; i < f->n; i++)
                val_clear(&f->vars[i].v);
        free(f->vars);
        f->vars = NULL;
        f->n = f->cap = 0;
}

/* Binds name to v in f, taking v over. */
static int frame_set(struct frame *f, const char *name, struct val v) {
        for (size_t i = 0; i < f->n; i++) {
                if (strcmp(f->vars[i].name, name) == 0) {
                        val_clear(&f->vars[i].v);
                        f->vars[i].v = v;
                        return 0;
                }
        }
        if (f->n == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 8;
                struct fvar *p = realloc(f->vars, cap * sizeof *p);
                if (!p) {
                        val_clear(&v);
                        return -ENOMEM;
                }
                f->vars = p;
                f->cap = cap;
        }
        f->vars[f->n++] = (struct fvar){name, v};
        return 0;
}

int rerr(struct rctx *rc, const struct node *n, int code, const char *fmt, ...) {
        if (rc->err) {
                va_list ap;
                va_start(ap, fmt);
                rc->err->line = n ? n->line : 1;
                rc->err->col = n ? n->col : 1;
                vsnprintf(rc->err->msg, sizeof rc->err->msg, fmt, ap);
                va_end(ap);
        }
        return code;
}

/* Reports a failed operation: msg from the helper, or the generic text for
 * out-of-memory and size errors. */
static int rfail(struct rctx *rc, const struct node *n, int r, const char *msg) {
        if (r == -ENOMEM)
                return rerr(rc, n, r, "out of memory");
        if (r == -E2BIG && !*msg)
                return rerr(rc, n, r, "string exceeds %u bytes", TMPL_MAX_STRING);
        return rerr(rc, n, r, "%s", msg);
}

int rundef(struct rctx *rc, const struct node *n, struct val v) {
        if (v.kind != VK_UNDEF)
                return 0;
        return rerr(rc, n, -EINVAL, "%s", v.j ? json_string_value(v.j) : "missing argument");
}

static int mkundef(struct val *ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mkundef(struct val *ret, const char *fmt, ...) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        json_t *j = json_string(msg);
        if (!j)
                j = json_string("undefined value");
        if (!j)
                return -ENOMEM;
        *ret = (struct val){j, VK_UNDEF, 0};
        return 0;
}

static int eval(struct rctx *rc, const struct node *n, struct val *ret);

/* ---- names, attributes, items ---- */

static int lookup(struct rctx *rc, const struct node *n, struct val *ret) {
        static const char *const unsupported_globals[] = {"dict", "lipsum", "cycler", "joiner", "namespace"};
        for (struct frame *f = rc->frame; f; f = f->parent)
                for (size_t i = 0; i < f->n; i++)
                        if (strcmp(f->vars[i].name, n->name) == 0) {
                                *ret = val_copy(f->vars[i].v);
                                return 0;
                        }
        json_t *j = json_object_get(rc->ctx, n->name);
        if (j) {
                *ret = val_plain(json_incref(j));
                return 0;
        }
        if (strcmp(n->name, "range") == 0) {
                *ret = (struct val){NULL, VK_METHOD, M_RANGE};
                return 0;
        }
        for (size_t k = 0; k < sizeof unsupported_globals / sizeof *unsupported_globals; k++)
                if (strcmp(n->name, unsupported_globals[k]) == 0) {
                        *ret = (struct val){NULL, VK_METHOD, M_UNSUPPORTED};
                        return 0;
                }
        return mkundef(ret, "'%s' is undefined", n->name);
}

/* How Jinja names an object in "has no attribute" messages. */
static void object_desc(struct val v, char *buf, size_t sz) {
        if (v.kind == VK_PLAIN && json_is_null(v.j))
                snprintf(buf, sz, "None");
        else
                snprintf(buf, sz, "'%s object'", val_typename(v));
}

static int no_attribute(struct val obj, const char *name, size_t len, struct val *ret) {
        char desc[64];
        object_desc(obj, desc, sizeof desc);
        return mkundef(ret, "%s has no attribute '%.*s'", desc, (int)(len > 60 ? 60 : len), name);
}

/* obj.name: an attribute (a method) first, then obj["name"].  methods is
 * the node's table of name per receiver kind, or NULL to look name up. */
static int get_attr(struct val obj, const char *name, const signed char *methods, struct val *ret) {
        int rk = tmethod_recv(obj);
        int m = rk < 0 ? -1 : methods ? methods[rk] : tmethod_resolve(rk, name);
        json_t *j;
        if (m >= 0) {
                *ret = (struct val){json_incref(obj.j), VK_METHOD, (unsigned char)m};
                return 0;
        }
        if ((obj.kind == VK_PLAIN || obj.kind == VK_LOOP) && json_is_object(obj.j) &&
            (j = json_object_get(obj.j, name))) {
                *ret = val_plain(json_incref(j));
                return 0;
        }
        return no_attribute(obj, name, strlen(name), ret);
}

static bool is_indexable(struct val v) {
        return (v.kind == VK_PLAIN || v.kind == VK_TUPLE || v.kind == VK_PAIRS || v.kind == VK_VIEW) &&
               json_is_array(v.j);
}

/* Index i of a sequence of len items, Python style (negative from the end). */
static bool norm_index(json_int_t i, size_t len, size_t *ret) {
        if (i < 0)
                i += (json_int_t)len;
        if (i < 0 || (size_t)i >= len)
                return false;
        *ret = (size_t)i;
        return true;
}

static int string_index(struct val obj, size_t idx, struct val *ret) {
        const char *s = json_string_value(obj.j);
        size_t n = json_string_length(obj.j), i = 0, start;
        for (size_t k = 0; k < idx; k++)
                tu_next(s, n, &i);
        start = i;
        tu_next(s, n, &i);
        json_t *j = py_string(s + start, i - start);
        if (!j)
                return -ENOMEM;
        *ret = (struct val){j, obj.kind == VK_SAFE ? VK_SAFE : VK_PLAIN, 0};
        return 0;
}

/* obj[key]: the item first, then an attribute named key. */
static int get_item(struct val obj, struct val key, struct val *ret) {
        bool int_key = key.kind == VK_PLAIN && (json_is_integer(key.j) || json_is_boolean(key.j));
        json_int_t k = int_key ? (json_is_integer(key.j) ? json_integer_value(key.j) : json_is_true(key.j)) : 0;
        size_t idx;
        if (val_isstr(key)) {
                json_t *j;
                if ((obj.kind == VK_PLAIN || obj.kind == VK_LOOP) && json_is_object(obj.j) &&
                    (j = json_object_getn(obj.j, json_string_value(key.j), json_string_length(key.j)))) {
                        *ret = val_plain(json_incref(j));
                        return 0;
                }
                if (strlen(json_string_value(key.j)) == json_string_length(key.j))
                        return get_attr(obj, json_string_value(key.j), NULL, ret);
                return no_attribute(obj, json_string_value(key.j), json_string_length(key.j), ret);
        }
        if (int_key && is_indexable(obj) && norm_index(k, json_array_size(obj.j), &idx)) {
                json_t *j = json_array_get(obj.j, idx);
                *ret = (struct val){json_incref(j), obj.kind == VK_PAIRS ? VK_TUPLE : VK_PLAIN, 0};
                return 0;
        }
        if (int_key && val_isstr(obj) &&
            norm_index(k, py_strlen(json_string_value(obj.j), json_string_length(obj.j)), &idx))
                return string_index(obj, idx, ret);
        char desc[64];
        object_desc(obj, desc, sizeof desc);
        if (int_key)
                return mkundef(ret, "%s has no element %" JSON_INTEGER_FORMAT, desc, k);
        return mkundef(ret, "%s has no element of that type", desc);
}

/* ---- expressions ---- */

static int eval_defined(struct rctx *rc, const struct node *n, struct val *ret) {
        int r = eval(rc, n, ret);
        if (r >= 0 && (r = rundef(rc, n, *ret)) < 0)
                val_clear(ret);
        return r;
}

static int eval_attr_item(struct rctx *rc, const struct node *n, struct val *ret) {
        struct val obj, key = VAL_NONE;
        int r = eval_defined(rc, n->a, &obj);
        if (r < 0)
                return r;
        if (n->kind == N_ITEM && (r = eval_defined(rc, n->b, &key)) < 0) {
                val_clear(&obj);
                return r;
        }
        r = n->kind == N_ATTR ? get_attr(obj, n->name, n->methods, ret) : get_item(obj, key, ret);
        val_clear(&obj);
        val_clear(&key);
        return r < 0 ? rfail(rc, n, r, "") : r;
}

/* Evaluates n->args[first..] into vals (caller frees them). */
static int eval_args(struct rctx *rc, const struct node *n, size_t first, struct val *vals, bool keep_undef) {
        for (size_t i = first; i < n->nargs; i++) {
                int r = keep_undef ? eval(rc, n->args[i], &vals[i]) : eval_defined(rc, n->args[i], &vals[i]);
                if (r < 0) {
                        tvals_free(vals, i);
                        return r;
                }
        }
        return 0;
}

static int eval_call(struct rctx *rc, const struct node *n, struct val *ret) {
        struct val fn, args[8];
        int r;
        if (n->nargs > 8)
                return rerr(rc, n, -EINVAL, "too many arguments");
        for (size_t i = 0; i < n->nargs; i++)
                if (n->kw[i])
                        return rerr(rc, n, -EINVAL, "keyword arguments are not supported in method calls");
        if ((r = eval_defined(rc, n->a, &fn)) < 0)
                return r;
        if (fn.kind != VK_METHOD) {
                r = rerr(rc, n, -EINVAL, "'%s' object is not callable", val_typename(fn));
                val_clear(&fn);
                return r;
        }
        if ((r = eval_args(rc, n, 0, args, false)) >= 0) {
                r = tmethod_call(rc, n, fn, args, n->nargs, ret);
                tvals_free(args, n->nargs);
        }
        val_clear(&fn);
        return r;
}

/* Binds call arguments to the filter's or test's parameters. */
static int bind_args(struct rctx *rc, const struct node *n, const struct tfilter *f, struct val *in, struct val *slots) {
        size_t np = 0, pos = 0;
        while (np < 4 && f->params[np])
                np++;
        for (size_t i = 1; i < n->nargs; i++) {
                size_t k = pos;
                if (n->kw[i]) {
                        for (k = 0; k < np && strcmp(f->params[k], n->kw[i]); k++)
                                ;
                        if (k == np)
                                return rerr(rc, n->args[i], -EINVAL, "%s() got an unexpected keyword argument '%s'",
                                            f->name, n->kw[i]);
                } else {
                        pos++;
                }
                if (k >= np)
                        return rerr(rc, n->args[i], -EINVAL, "%s() takes at most %zu arguments", f->name, np);
                if (slots[k].j || slots[k].kind != VK_UNDEF)
                        return rerr(rc, n->args[i], -EINVAL, "%s() got multiple values for '%s'", f->name,
                                    f->params[k]);
                slots[k] = in[i];
                in[i] = VAL_NONE;
        }
        for (int k = 0; k < f->nrequired; k++)
                if (!slots[k].j && slots[k].kind == VK_UNDEF)
                        return rerr(rc, n, -EINVAL, "%s() missing argument '%s'", f->name, f->params[k]);
        return 0;
}

static int eval_filter(struct rctx *rc, const struct node *n, struct val *ret) {
        struct val in[8], slots[4];
        int r;
        if (n->op < 0)
                return rerr(rc, n, -EINVAL, "no %s named '%s'", n->kind == N_FILTER ? "filter" : "test", n->name);
        const struct tfilter *f = n->kind == N_FILTER ? &tfilters[n->op] : &ttests[n->op];
        if (n->nargs > 8)
                return rerr(rc, n, -EINVAL, "too many arguments");
        for (int k = 0; k < 4; k++)
                slots[k] = (struct val){NULL, VK_UNDEF, 0};
        if ((r = eval(rc, n->args[0], &in[0])) < 0)
                return r;
        if (!f->undef_ok && (r = rundef(rc, n->args[0], in[0])) < 0) {
                val_clear(&in[0]);
                return r;
        }
        if ((r = eval_args(rc, n, 1, in, f->undef_ok)) < 0) {
                val_clear(&in[0]);
                return r;
        }
        if ((r = bind_args(rc, n, f, in, slots)) >= 0)
                r = f->fn(rc, n, &in[0], slots, ret);
        tvals_free(in, n->nargs);
        tvals_free(slots, 4);
        return r;
}

static int eval_truth(struct rctx *rc, const struct node *n, bool *ret) {
        struct val v;
        char msg[256] = "";
        int r = eval(rc, n, &v);
        if (r < 0)
                return r;
        r = py_truth(v, ret, msg, sizeof msg);
        val_clear(&v);
        return r < 0 ? rfail(rc, n, r, msg) : 0;
}

static int mkbool(bool b, struct val *ret) {
        *ret = val_plain(json_boolean(b));
        return 0;
}

static int eval_unary(struct rctx *rc, const struct node *n, struct val *ret) {
        struct val v, zero = val_plain(json_integer(0));
        char msg[256] = "";
        int r = eval_defined(rc, n->a, &v);
        if (r < 0 || !zero.j) {
                json_decref(zero.j);
                return r < 0 ? r : rfail(rc, n, -ENOMEM, "");
        }
        if (!val_isnum(v))
                r = rerr(rc, n, -EINVAL, "bad operand type for unary %s: '%s'", n->kind == N_NEG ? "-" : "+",
                         val_typename(v));
        else if (n->kind == N_NEG)
                r = py_binop(OP_SUB, zero, v, ret, msg, sizeof msg);
        else
                r = py_binop(OP_ADD, zero, v, ret, msg, sizeof msg);
        if (r < 0 && *msg)
                r = rfail(rc, n, r, msg);
        /* floats negate exactly (-0.0 included) */
        if (r >= 0 && json_is_real(v.j))
                json_real_set(ret->j, n->kind == N_NEG ? -json_real_value(v.j) : json_real_value(v.j));
        val_clear(&v);
        val_clear(&zero);
        return r;
}

static int eval_binop(struct rctx *rc, const struct node *n, struct val *ret) {
        struct val a, b;
        char msg[256] = "";
        int r = eval_defined(rc, n->a, &a);
        if (r < 0)
                return r;
        if ((r = eval_defined(rc, n->b, &b)) < 0) {
                val_clear(&a);
                return r;
        }
        r = py_binop(n->op, a, b, ret, msg, sizeof msg);
        val_clear(&a);
        val_clear(&b);
        return r < 0 ? rfail(rc, n, r, msg) : r;
}

/* a ~ b ~ ...: the str() of each part, joined; never safe. */
static int eval_concat(struct rctx *rc, const struct node *n, struct val *ret) {
        struct strbuf sb = STRBUF_INIT;
        char msg[256] = "";
        int r = 0;
        for (size_t i = 0; i < n->nargs && r >= 0; i++) {
                struct val v;
                if ((r = eval(rc, n->args[i], &v)) < 0)
                        break;
                r = py_str(&sb, v, msg, sizeof msg);
                val_clear(&v);
                if (r < 0)
                        r = rfail(rc, n->args[i], r, msg);
                else if (sb.len > TMPL_MAX_STRING)
                        r = rfail(rc, n, -E2BIG, "");
        }
        if (r >= 0) {
                ret->j = py_string(sb.buf, sb.len);
                ret->kind = VK_PLAIN;
                r = ret->j ? 0 : rfail(rc, n, -ENOMEM, "");
        }
        sb_free(&sb);
        return r;
}

/* x in container, Python's rules for str, list, dict. */
static int contains(struct rctx *rc, const struct node *n, struct val x, struct val c, bool *ret) {
        if (val_isstr(c)) {
                if (!val_isstr(x))
                        return rerr(rc, n, -EINVAL, "'in <string>' requires string as left operand, not %s",
                                    val_typename(x));
                *ret = memmem(json_string_value(c.j), json_string_length(c.j), json_string_value(x.j),
                              json_string_length(x.j)) != NULL;
                return 0;
        }
        if (c.kind != VK_LOOP && c.kind != VK_METHOD && json_is_object(c.j)) {
                *ret = val_isstr(x) && json_object_getn(c.j, json_string_value(x.j), json_string_length(x.j));
                return 0;
        }
        if (c.kind != VK_LOOP && c.kind != VK_METHOD && json_is_array(c.j)) {
                size_t i;
                json_t *e;
                *ret = false;
                json_array_foreach(c.j, i, e) {
                        if (py_eq(x.j, e))
                                *ret = true;
                }
                return 0;
        }
        return rerr(rc, n, -EINVAL, "argument of type '%s' is not iterable", val_typename(c));
}

static int compare(struct rctx *rc, const struct node *n, int op, struct val a, struct val b, bool *ret) {
        char msg[256] = "";
        int c, r;
        if (op == OP_IN || op == OP_NOTIN) {
                if ((r = contains(rc, n, a, b, ret)) >= 0 && op == OP_NOTIN)
                        *ret = !*ret;
                return r;
        }
        if (a.kind == VK_METHOD || b.kind == VK_METHOD || a.kind == VK_LOOP || b.kind == VK_LOOP) {
                c = a.j == b.j && a.kind == b.kind && a.method == b.method ? 0 : 1;
                if (op != OP_EQ && op != OP_NE)
                        return rerr(rc, n, -EINVAL, "'%s' not supported between these values", tok_op_str(op));
        } else if (op == OP_EQ || op == OP_NE) {
                c = py_eq(a.j, b.j) && (a.kind == VK_TUPLE) == (b.kind == VK_TUPLE) ? 0 : 1;
        } else if ((r = py_cmp(a.j, b.j, &c, msg, sizeof msg)) < 0) {
                return rfail(rc, n, r, msg);
        }
        switch (op) {
        case OP_EQ: *ret = c == 0; break;
        case OP_NE: *ret = c != 0; break;
        case OP_LT: *ret = c < 0; break;
        case OP_LTEQ: *ret = c <= 0; break;
        case OP_GT: *ret = c > 0; break;
        default: *ret = c >= 0;
        }
        return 0;
}

static int eval_cmp(struct rctx *rc, const struct node *n, struct val *ret) {
        struct val left, right;
        bool ok = true;
        int r = eval_defined(rc, n->a, &left);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < n->nargs && ok; i++) {
                if ((r = eval_defined(rc, n->args[i], &right)) < 0)
                        break;
                r = compare(rc, n->args[i], n->ops[i], left, right, &ok);
                val_clear(&left);
                left = right;
        }
        val_clear(&left);
        return r < 0 ? r : mkbool(ok, ret);
}

static int eval_logic(struct rctx *rc, const struct node *n, struct val *ret) {
        char msg[256] = "";
        bool t;
        int r = eval(rc, n->a, ret);
        if (r < 0)
                return r;
        if ((r = py_truth(*ret, &t, msg, sizeof msg)) < 0) {
                val_clear(ret);
                return rfail(rc, n->a, r, msg);
        }
        if (t == (n->kind == N_OR))
                return 0;
        val_clear(ret);
        return eval(rc, n->b, ret);
}

static int eval_cond(struct rctx *rc, const struct node *n, struct val *ret) {
        bool t;
        int r = eval_truth(rc, n->a, &t);
        if (r < 0)
                return r;
        if (t)
                return eval(rc, n->b, ret);
        if (n->c)
                return eval(rc, n->c, ret);
        r = mkundef(ret, "the inline if-expression on line %d evaluated to false and no else section was defined",
                    n->line);
        return r < 0 ? rfail(rc, n, r, "") : r;
}

/* A value stored inside a list or dict literal. */
static int storable(struct rctx *rc, const struct node *n, struct val v) {
        if (v.kind == VK_METHOD || v.kind == VK_LOOP)
                return rerr(rc, n, -EINVAL, "a %s cannot be stored in a list or dict", val_typename(v));
        return 0;
}

static int eval_collection(struct rctx *rc, const struct node *n, struct val *ret) {
        bool dict = n->kind == N_DICT;
        json_t *c = dict ? json_object() : json_array();
        int r = c ? 0 : rfail(rc, n, -ENOMEM, "");
        for (size_t i = 0; i < n->nargs && r >= 0; i += dict ? 2 : 1) {
                struct val k = VAL_NONE, v;
                if (dict && (r = eval_defined(rc, n->args[i], &k)) >= 0 && !val_isstr(k))
                        r = rerr(rc, n->args[i], -EINVAL, "dict keys must be strings");
                if (r >= 0 && (r = eval_defined(rc, n->args[i + dict], &v)) >= 0) {
                        if ((r = storable(rc, n->args[i + dict], v)) >= 0) {
                                r = dict ? json_object_setn(c, json_string_value(k.j), json_string_length(k.j), v.j)
                                         : json_array_append(c, v.j);
                                if (r < 0)
                                        r = rfail(rc, n, -ENOMEM, "");
                        }
                        val_clear(&v);
                }
                val_clear(&k);
        }
        if (r < 0) {
                json_decref(c);
                return r;
        }
        *ret = val_plain(c);
        return 0;
}

static int eval_node(struct rctx *rc, const struct node *n, struct val *ret);

/* Every evaluation costs a step, and strings one more per 32 bytes made. */
static int eval(struct rctx *rc, const struct node *n, struct val *ret) {
        if (++rc->steps > TMPL_MAX_STEPS)
                return rerr(rc, n, -E2BIG, "rendering exceeds %lu evaluation steps", TMPL_MAX_STEPS);
        int r = eval_node(rc, n, ret);
        if (r >= 0 && ret->j && json_is_string(ret->j))
                rc->steps += json_string_length(ret->j) / 32;
        return r;
}

static int eval_node(struct rctx *rc, const struct node *n, struct val *ret) {
        switch (n->kind) {
        case N_CONST: *ret = val_plain(json_incref(n->cval)); return 0;
        case N_NAME: {
                int r = lookup(rc, n, ret);
                return r < 0 ? rfail(rc, n, r, "") : r;
        }
        case N_ATTR:
        case N_ITEM: return eval_attr_item(rc, n, ret);
        case N_CALL: return eval_call(rc, n, ret);
        case N_FILTER:
        case N_TEST: return eval_filter(rc, n, ret);
        case N_NOT: {
                bool t;
                int r = eval_truth(rc, n->a, &t);
                return r < 0 ? r : mkbool(!t, ret);
        }
        case N_NEG:
        case N_POS: return eval_unary(rc, n, ret);
        case N_BIN: return eval_binop(rc, n, ret);
        case N_CONCAT: return eval_concat(rc, n, ret);
        case N_CMP: return eval_cmp(rc, n, ret);
        case N_AND:
        case N_OR: return eval_logic(rc, n, ret);
        case N_COND: return eval_cond(rc, n, ret);
        case N_LIST:
        case N_DICT: return eval_collection(rc, n, ret);
        }
        return rerr(rc, n, -EINVAL, "bad expression");
}

/* ---- statements ---- */

static int exec_body(struct rctx *rc, const struct body *b);

static int out_check(struct rctx *rc, const struct node *n) {
        if (rc->out.len > TMPL_MAX_OUTPUT)
                return rerr(rc, n, -E2BIG, "output exceeds %u bytes", TMPL_MAX_OUTPUT);
        return 0;
}

/* {{ expr }}: Markup as it is, anything else as a Python literal. */
static int exec_output(struct rctx *rc, const struct stmt *s) {
        struct val v;
        char msg[256] = "";
        int r = eval(rc, s->expr, &v);
        if (r < 0)
                return r;
        if (v.kind == VK_SAFE)
                r = sb_append(&rc->out, json_string_value(v.j), json_string_length(v.j));
        else if (v.kind == VK_PLAIN)
                r = pylit_append(&rc->out, v.j, TMPL_MAX_OUTPUT, msg, sizeof msg);
        else if (v.kind == VK_UNDEF)
                r = rundef(rc, s->expr, v);
        else
                r = rerr(rc, s->expr, -EINVAL, "a %s has no Python literal", val_typename(v));
        val_clear(&v);
        if (r < 0 && *msg)
                r = rerr(rc, s->expr, r, "%s", msg);
        else if (r == -ENOMEM)
                r = rfail(rc, s->expr, r, "");
        return r < 0 ? r : out_check(rc, s->expr);
}

/* Assigns v to the targets: one name, or unpacks into several. */
static int assign(struct rctx *rc, const struct node *at, const char *const *targets, size_t ntargets, struct val v) {
        struct val *items;
        size_t n;
        int r;
        if (ntargets == 1)
                return frame_set(rc->frame, targets[0], v) < 0 ? rfail(rc, at, -ENOMEM, "") : 0;
        r = titer(rc, at, v, &items, &n);
        val_clear(&v);
        if (r < 0)
                return r;
        if (n != ntargets) {
                tvals_free(items, n);
                free(items);
                return rerr(rc, at, -EINVAL, n > ntargets ? "too many values to unpack (expected %zu)"
                                                           : "not enough values to unpack (expected %zu)",
                            ntargets);
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = frame_set(rc->frame, targets[i], items[i]);
                items[i] = VAL_NONE;
        }
        tvals_free(items, n);
        free(items);
        return r < 0 ? rfail(rc, at, r, "") : 0;
}

static int exec_set(struct rctx *rc, const struct stmt *s) {
        struct val v;
        int r = eval(rc, s->expr, &v);
        return r < 0 ? r : assign(rc, s->expr, s->targets, s->ntargets, v);
}

/* {% set x %}...{% endset %}: the rendered body as a plain string. */
static int exec_setblock(struct rctx *rc, const struct stmt *s) {
        struct strbuf saved = rc->out;
        rc->out = (struct strbuf)STRBUF_INIT;
        int r = exec_body(rc, &s->body);
        struct strbuf body = rc->out;
        rc->out = saved;
        if (r >= 0) {
                json_t *j = py_string(body.buf, body.len);
                r = j ? frame_set(rc->frame, s->targets[0], val_plain(j)) : -ENOMEM;
                if (r < 0)
                        r = rerr(rc, NULL, r, "out of memory");
        }
        sb_free(&body);
        return r;
}

static int exec_if(struct rctx *rc, const struct stmt *s) {
        for (size_t i = 0; i < s->nconds; i++) {
                bool t;
                int r = eval_truth(rc, s->conds[i], &t);
                if (r < 0)
                        return r;
                if (t)
                        return exec_body(rc, &s->bodies[i]);
        }
        return exec_body(rc, &s->else_body);
}

/* The loop variable for item i of n. */
static int loop_object(struct val *items, size_t i, size_t n, struct val *ret) {
        json_t *o = json_pack("{sI sI sI sI sb sb sI sI sI}", "index", (json_int_t)i + 1, "index0", (json_int_t)i,
                              "revindex", (json_int_t)(n - i), "revindex0", (json_int_t)(n - i - 1), "first", i == 0,
                              "last", i + 1 == n, "length", (json_int_t)n, "depth", (json_int_t)1, "depth0",
                              (json_int_t)0);
        if (!o)
                return -ENOMEM;
        if ((i > 0 && json_object_set(o, "previtem", items[i - 1].j) < 0) ||
            (i + 1 < n && json_object_set(o, "nextitem", items[i + 1].j) < 0)) {
                json_decref(o);
                return -ENOMEM;
        }
        *ret = (struct val){o, VK_LOOP, 0};
        return 0;
}

/* Runs the loop filter for each item, dropping those it rejects. */
static int loop_filter(struct rctx *rc, const struct stmt *s, struct val *items, size_t *n) {
        size_t kept = 0;
        int r = 0;
        for (size_t i = 0; i < *n; i++) {
                struct frame f = {.parent = rc->frame};
                bool t = false;
                rc->frame = &f;
                r = r < 0 ? r : assign(rc, s->expr, s->targets, s->ntargets, val_copy(items[i]));
                if (r >= 0)
                        r = eval_truth(rc, s->filter, &t);
                rc->frame = f.parent;
                frame_clear(&f);
                if (r >= 0 && t)
                        items[kept++] = items[i];
                else
                        val_clear(&items[i]);
        }
        *n = kept;
        return r;
}

static int loop_iteration(struct rctx *rc, const struct stmt *s, struct val *items, size_t i, size_t n) {
        struct frame f = {.parent = rc->frame};
        struct val loop;
        int r;
        if (++rc->iterations > TMPL_MAX_LOOP)
                return rerr(rc, s->expr, -E2BIG, "loop iterations exceed %u", TMPL_MAX_LOOP);
        rc->frame = &f;
        r = assign(rc, s->expr, s->targets, s->ntargets, val_copy(items[i]));
        if (r >= 0 && (r = loop_object(items, i, n, &loop)) < 0)
                r = rfail(rc, s->expr, r, "");
        if (r >= 0 && (r = frame_set(&f, "loop", loop)) < 0)
                r = rfail(rc, s->expr, r, "");
        if (r >= 0)
                r = exec_body(rc, &s->body);
        rc->frame = f.parent;
        frame_clear(&f);
        return r;
}

static int exec_for(struct rctx *rc, const struct stmt *s) {
        struct val seq, *items = NULL;
        size_t n = 0;
        int r = eval_defined(rc, s->expr, &seq);
        if (r < 0)
                return r;
        r = titer(rc, s->expr, seq, &items, &n);
        val_clear(&seq);
        if (r >= 0 && s->filter)
                r = loop_filter(rc, s, items, &n);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = loop_iteration(rc, s, items, i, n);
        tvals_free(items, n);
        free(items);
        if (r >= 0 && n == 0)
                r = exec_body(rc, &s->else_body);
        return r;
}

static int exec_stmt(struct rctx *rc, const struct stmt *s) {
        switch (s->kind) {
        case S_TEXT:
                if (sb_append(&rc->out, s->text, s->len) < 0)
                        return rerr(rc, NULL, -ENOMEM, "out of memory");
                if (rc->out.len > TMPL_MAX_OUTPUT)
                        return terr(rc->err, s->line, s->col, -E2BIG, "output exceeds %u bytes", TMPL_MAX_OUTPUT);
                return 0;
        case S_OUTPUT: return exec_output(rc, s);
        case S_IF: return exec_if(rc, s);
        case S_FOR: return exec_for(rc, s);
        case S_SET: return exec_set(rc, s);
        case S_SETBLOCK: return exec_setblock(rc, s);
        }
        return -EINVAL;
}

static int exec_body(struct rctx *rc, const struct body *b) {
        for (size_t i = 0; i < b->n; i++) {
                int r = exec_stmt(rc, b->v[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- API ---- */

int tmpl_compile(const char *src, size_t len, tmpl **ret, struct tmpl_err *err) {
        struct token *toks = NULL;
        size_t ntoks;
        int r;
        if (len > TMPL_MAX_SOURCE)
                return terr(err, 1, 1, -E2BIG, "template exceeds %u bytes", TMPL_MAX_SOURCE);
        tmpl *t = calloc(1, sizeof *t);
        if (!t || !(t->consts = json_array())) {
                r = terr(err, 1, 1, -ENOMEM, "out of memory");
                goto err;
        }
        if ((r = tlex(&t->arena, src, len, &toks, &ntoks, err)) < 0 || (r = tparse(t, toks, ntoks, err)) < 0)
                goto err;
        free(toks);
        t->out_hint = len + len / 2 + 64;
        *ret = t;
        return 0;
err:
        free(toks);
        tmpl_free(t);
        return r;
}

int tmpl_render(const tmpl *t, json_t *ctx, char **ret_out, size_t *ret_len, struct tmpl_err *err) {
        struct frame top = {0};
        struct rctx rc = {.err = err, .ctx = ctx, .frame = &top};
        int r;
        if (!json_is_object(ctx))
                return terr(err, 1, 1, -EINVAL, "the context is not a JSON object");
        /* Most outputs are about the template's size: one allocation instead
         * of a series of reallocs (the strbuf grows from there if needed). */
        if ((rc.out.buf = malloc(t->out_hint))) {
                rc.out.cap = t->out_hint;
                rc.out.buf[0] = '\0';
        }
        r = exec_body(&rc, &t->body);
        frame_clear(&top);
        if (r >= 0) {
                char *out = sb_take(&rc.out, ret_len);
                if (out) {
                        *ret_out = out;
                        return 0;
                }
                r = terr(err, 1, 1, -ENOMEM, "out of memory");
        }
        sb_free(&rc.out);
        return r;
}

tmpl *tmpl_free(tmpl *t) {
        if (t) {
                json_decref(t->consts);
                ta_free(&t->arena);
                free(t);
        }
        return NULL;
}
