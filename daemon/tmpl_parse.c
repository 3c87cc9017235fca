/* tmpl_parse.c — tokens → statement and expression trees, following the
 * grammar and operator precedence of Jinja2's parser. */
#include "tmpl_int.h"

#include <errno.h>
#include <string.h>

struct parser {
        struct tmpl *t;
        const struct token *tk;
        size_t n, i;
        struct tmpl_err *err;
        int depth;       /* expression recursion */
        int block_depth; /* nested if/for/set blocks */
};

/* Names that close a body, with the block they belong to. */
struct ends {
        const char *names[3];
        const char *block;
        int line, col;
};

static const struct token *cur(const struct parser *p) { return &p->tk[p->i]; }
static const struct token *peek(const struct parser *p) {
        return p->i + 1 < p->n ? &p->tk[p->i + 1] : &p->tk[p->n - 1];
}
static void advance(struct parser *p) {
        if (p->i + 1 < p->n)
                p->i++;
}

static bool tok_is_name(const struct token *t, const char *name) {
        return t->type == TK_NAME && t->len == strlen(name) && memcmp(t->s, name, t->len) == 0;
}
static bool tok_is_op(const struct token *t, int op) { return t->type == TK_OP && t->op == op; }

/* How a token reads in an error message. */
static const char *tok_desc(const struct token *t, char *buf, size_t sz) {
        switch (t->type) {
        case TK_EOF: return "end of template";
        case TK_DATA: return "template data";
        case TK_VAR_BEGIN: return "'{{'";
        case TK_VAR_END: return "'}}'";
        case TK_BLOCK_BEGIN: return "'{%'";
        case TK_BLOCK_END: return "'%}'";
        case TK_STRING: return "string literal";
        case TK_INT: return "integer literal";
        case TK_FLOAT: return "float literal";
        case TK_OP: snprintf(buf, sz, "'%s'", tok_op_str(t->op)); return buf;
        case TK_NAME: snprintf(buf, sz, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s); return buf;
        }
        return "token";
}

static int fail_at(struct parser *p, const struct token *t, const char *what) {
        char buf[64];
        return terr(p->err, t->line, t->col, -EINVAL, "unexpected %s%s%s", tok_desc(t, buf, sizeof buf),
                    what ? ", expected " : "", what ? what : "");
}

static int expect_op(struct parser *p, int op) {
        char want[8];
        if (!tok_is_op(cur(p), op)) {
                snprintf(want, sizeof want, "'%s'", tok_op_str(op));
                return fail_at(p, cur(p), want);
        }
        advance(p);
        return 0;
}

static int expect_type(struct parser *p, enum tok_type type, const char *what) {
        if (cur(p)->type != type)
                return fail_at(p, cur(p), what);
        advance(p);
        return 0;
}

static int oom(struct parser *p) { return terr(p->err, cur(p)->line, cur(p)->col, -ENOMEM, "out of memory"); }

static char *tok_name(struct parser *p, const struct token *t) { return ta_strndup(&p->t->arena, t->s, t->len); }

/* ---- expressions ---- */

static struct node *mknode(struct parser *p, enum node_kind kind, const struct token *at) {
        struct node *n = ta_alloc(&p->t->arena, sizeof *n);
        if (n) {
                n->kind = kind;
                n->line = at->line;
                n->col = at->col;
                n->depth = 1;
        }
        return n;
}

/* Checks and records n's depth once its children are attached. */
static int seal(struct parser *p, struct node *n) {
        int d = 0;
        struct node *kids[3] = {n->a, n->b, n->c};
        for (int k = 0; k < 3; k++)
                if (kids[k] && kids[k]->depth > d)
                        d = kids[k]->depth;
        for (size_t k = 0; k < n->nargs; k++)
                if (n->args[k] && n->args[k]->depth > d)
                        d = n->args[k]->depth;
        n->depth = d + 1;
        if (n->depth > (int)TMPL_MAX_DEPTH)
                return terr(p->err, n->line, n->col, -E2BIG, "expression nests deeper than %u levels",
                            TMPL_MAX_DEPTH);
        return 0;
}

static int push_arg(struct parser *p, struct node *n, struct node *arg, const char *kw, size_t *cap) {
        size_t kcap = *cap, ncap = *cap, n2 = n->nargs;
        if (ta_push(&p->t->arena, &n->args, &n->nargs, &ncap, &arg, sizeof arg) < 0 ||
            ta_push(&p->t->arena, &n->kw, &n2, &kcap, &kw, sizeof kw) < 0)
                return oom(p);
        *cap = ncap;
        return 0;
}

static json_t *keep_const(struct parser *p, json_t *v) {
        if (!v || json_array_append_new(p->t->consts, v) < 0)
                return NULL;
        return v;
}

static int parse_expr(struct parser *p, bool condexpr, struct node **ret);
static int parse_unary(struct parser *p, bool with_filter, struct node **ret);
static int parse_primary(struct parser *p, struct node **ret);
static int parse_postfix(struct parser *p, struct node **node);

static int enter(struct parser *p) {
        if (++p->depth > (int)TMPL_MAX_DEPTH)
                return terr(p->err, cur(p)->line, cur(p)->col, -E2BIG, "expression nests deeper than %u levels",
                            TMPL_MAX_DEPTH);
        return 0;
}

/* Adjacent string literals concatenate, as in Python. */
static int parse_string(struct parser *p, struct node *n) {
        struct strbuf sb = STRBUF_INIT;
        int r = 0;
        while (cur(p)->type == TK_STRING && r >= 0) {
                r = sb_append(&sb, cur(p)->s, cur(p)->len);
                advance(p);
        }
        if (r >= 0)
                n->cval = keep_const(p, json_stringn_nocheck(sb.buf ? sb.buf : "", sb.len));
        sb_free(&sb);
        return n->cval ? 0 : oom(p);
}

static int parse_name_primary(struct parser *p, struct node *n, const struct token *t) {
        static const char *const consts[] = {"true", "True", "false", "False", "none", "None"};
        for (int k = 0; k < 6; k++) {
                if (tok_is_name(t, consts[k])) {
                        n->cval = keep_const(p, k < 2 ? json_true() : k < 4 ? json_false() : json_null());
                        advance(p);
                        return n->cval ? 0 : oom(p);
                }
        }
        n->kind = N_NAME;
        n->name = tok_name(p, t);
        advance(p);
        return n->name ? 0 : oom(p);
}

/* [a, b, ...] or {k: v, ...}; a trailing comma is allowed. */
static int parse_collection(struct parser *p, struct node *n, bool dict) {
        int close = dict ? OP_RBRACE : OP_RBRACKET, r;
        size_t cap = 0;
        advance(p);
        while (!tok_is_op(cur(p), close)) {
                struct node *x;
                if (n->nargs && (r = expect_op(p, OP_COMMA)) < 0)
                        return r;
                if (tok_is_op(cur(p), close))
                        break;
                if ((r = parse_expr(p, true, &x)) < 0 || (r = push_arg(p, n, x, NULL, &cap)) < 0)
                        return r;
                if (!dict)
                        continue;
                if ((r = expect_op(p, OP_COLON)) < 0 || (r = parse_expr(p, true, &x)) < 0 ||
                    (r = push_arg(p, n, x, NULL, &cap)) < 0)
                        return r;
        }
        advance(p);
        return 0;
}

static int parse_primary(struct parser *p, struct node **ret) {
        const struct token *t = cur(p);
        struct node *n = mknode(p, N_CONST, t);
        int r = 0;
        if (!n)
                return oom(p);
        if (t->type == TK_NAME) {
                r = parse_name_primary(p, n, t);
        } else if (t->type == TK_STRING) {
                r = parse_string(p, n);
        } else if (t->type == TK_INT || t->type == TK_FLOAT) {
                n->cval = keep_const(p, t->type == TK_INT ? json_integer(t->i) : json_real(t->f));
                r = n->cval ? 0 : oom(p);
                advance(p);
        } else if (tok_is_op(t, OP_LPAREN)) {
                advance(p);
                if (tok_is_op(cur(p), OP_RPAREN))
                        return terr(p->err, t->line, t->col, -EINVAL, "tuples are not supported");
                if ((r = parse_expr(p, true, &n)) < 0)
                        return r;
                if (tok_is_op(cur(p), OP_COMMA))
                        return terr(p->err, t->line, t->col, -EINVAL, "tuples are not supported");
                r = expect_op(p, OP_RPAREN);
        } else if (tok_is_op(t, OP_LBRACKET) || tok_is_op(t, OP_LBRACE)) {
                n->kind = tok_is_op(t, OP_LBRACE) ? N_DICT : N_LIST;
                r = parse_collection(p, n, n->kind == N_DICT);
        } else {
                return fail_at(p, t, "an expression");
        }
        if (r >= 0 && n->kind != N_CONST)
                r = seal(p, n);
        if (r >= 0)
                *ret = n;
        return r;
}

/* (args) after a callee, filter or test: positional then name=value. */
static int parse_args(struct parser *p, struct node *n) {
        size_t cap = n->nargs;
        int r;
        bool kw_seen = false;
        advance(p);
        while (!tok_is_op(cur(p), OP_RPAREN)) {
                const char *kw = NULL;
                struct node *x;
                if (n->nargs > (n->kind == N_FILTER || n->kind == N_TEST ? 1u : 0u) &&
                    (r = expect_op(p, OP_COMMA)) < 0)
                        return r;
                if (tok_is_op(cur(p), OP_RPAREN))
                        break;
                if (cur(p)->type == TK_NAME && tok_is_op(peek(p), OP_ASSIGN)) {
                        if (!(kw = tok_name(p, cur(p))))
                                return oom(p);
                        advance(p);
                        advance(p);
                        kw_seen = true;
                } else if (kw_seen) {
                        return terr(p->err, cur(p)->line, cur(p)->col, -EINVAL,
                                    "positional argument after keyword argument");
                }
                if ((r = parse_expr(p, true, &x)) < 0 || (r = push_arg(p, n, x, kw, &cap)) < 0)
                        return r;
        }
        advance(p);
        return 0;
}

static int parse_call(struct parser *p, struct node **node) {
        struct node *n = mknode(p, N_CALL, cur(p));
        if (!n)
                return oom(p);
        n->a = *node;
        n->line = n->a->line;
        n->col = n->a->col;
        int r = parse_args(p, n);
        if (r >= 0 && (r = seal(p, n)) >= 0)
                *node = n;
        return r;
}

/* .name, .0 and [expr]. */
static int parse_subscript(struct parser *p, struct node **node) {
        const struct token *t = cur(p);
        struct node *n = mknode(p, N_ATTR, t);
        int r = 0;
        if (!n)
                return oom(p);
        n->a = *node;
        n->line = n->a->line;
        n->col = n->a->col;
        advance(p);
        if (tok_is_op(t, OP_DOT)) {
                const struct token *a = cur(p);
                if (a->type == TK_NAME) {
                        if (!(n->name = tok_name(p, a)))
                                return oom(p);
                        for (int rk = 0; rk < RK_COUNT; rk++)
                                n->methods[rk] = (signed char)tmethod_resolve(rk, n->name);
                } else if (a->type == TK_INT) {
                        n->kind = N_ITEM;
                        if (!(n->b = mknode(p, N_CONST, a)) || !(n->b->cval = keep_const(p, json_integer(a->i))))
                                return oom(p);
                } else {
                        return fail_at(p, a, "a name or number after '.'");
                }
                advance(p);
        } else {
                n->kind = N_ITEM;
                if ((r = parse_expr(p, true, &n->b)) < 0)
                        return r;
                if (tok_is_op(cur(p), OP_COLON) || tok_is_op(cur(p), OP_COMMA))
                        return terr(p->err, cur(p)->line, cur(p)->col, -EINVAL,
                                    "slices and tuple subscripts are not supported");
                if ((r = expect_op(p, OP_RBRACKET)) < 0)
                        return r;
        }
        if ((r = seal(p, n)) >= 0)
                *node = n;
        return r;
}

static int parse_postfix(struct parser *p, struct node **node) {
        int r = 0;
        while (r >= 0) {
                const struct token *t = cur(p);
                if (tok_is_op(t, OP_DOT) || tok_is_op(t, OP_LBRACKET))
                        r = parse_subscript(p, node);
                else if (tok_is_op(t, OP_LPAREN))
                        r = parse_call(p, node);
                else
                        break;
        }
        return r;
}

/* | name [(args)] */
static int parse_filter(struct parser *p, struct node **node) {
        advance(p);
        const struct token *t = cur(p);
        if (t->type != TK_NAME)
                return fail_at(p, t, "a filter name");
        struct node *n = mknode(p, N_FILTER, t);
        size_t cap = 0;
        if (!n || !(n->name = tok_name(p, t)))
                return oom(p);
        const struct tfilter *f = tfilter_find(n->name);
        n->op = f ? (int)(f - tfilters) : -1;
        advance(p);
        int r = push_arg(p, n, *node, NULL, &cap);
        if (r >= 0 && tok_is_op(cur(p), OP_LPAREN))
                r = parse_args(p, n);
        if (r >= 0 && (r = seal(p, n)) >= 0)
                *node = n;
        return r;
}

/* A test argument without parentheses: `x is divisibleby 3`. */
static bool starts_bare_arg(const struct token *t) {
        if (t->type == TK_NAME)
                return !tok_is_name(t, "else") && !tok_is_name(t, "or") && !tok_is_name(t, "and");
        return t->type == TK_STRING || t->type == TK_INT || t->type == TK_FLOAT || tok_is_op(t, OP_LPAREN) ||
               tok_is_op(t, OP_LBRACKET) || tok_is_op(t, OP_LBRACE);
}

/* is [not] name [(args) | arg] */
static int parse_test(struct parser *p, struct node **node) {
        const struct token *is = cur(p);
        bool negated = false;
        size_t cap = 0;
        int r;
        advance(p);
        if (tok_is_name(cur(p), "not")) {
                negated = true;
                advance(p);
        }
        const struct token *t = cur(p);
        if (t->type != TK_NAME)
                return fail_at(p, t, "a test name");
        struct node *n = mknode(p, N_TEST, t);
        if (!n || !(n->name = tok_name(p, t)))
                return oom(p);
        const struct tfilter *f = ttest_find(n->name);
        n->op = f ? (int)(f - ttests) : -1;
        advance(p);
        if ((r = push_arg(p, n, *node, NULL, &cap)) < 0)
                return r;
        if (tok_is_op(cur(p), OP_LPAREN)) {
                r = parse_args(p, n);
        } else if (starts_bare_arg(cur(p))) {
                struct node *arg;
                if (tok_is_name(cur(p), "is"))
                        return terr(p->err, cur(p)->line, cur(p)->col, -EINVAL, "tests cannot be chained with 'is'");
                if ((r = parse_primary(p, &arg)) >= 0 && (r = parse_postfix(p, &arg)) >= 0)
                        r = push_arg(p, n, arg, NULL, &cap);
        }
        if (r >= 0)
                r = seal(p, n);
        if (r >= 0 && negated) {
                struct node *x = mknode(p, N_NOT, is);
                if (!x)
                        return oom(p);
                x->a = n;
                n = x;
                r = seal(p, n);
        }
        if (r >= 0)
                *node = n;
        return r;
}

static int parse_filter_expr(struct parser *p, struct node **node) {
        int r = 0;
        while (r >= 0) {
                if (tok_is_op(cur(p), OP_PIPE))
                        r = parse_filter(p, node);
                else if (tok_is_name(cur(p), "is"))
                        r = parse_test(p, node);
                else if (tok_is_op(cur(p), OP_LPAREN))
                        r = parse_call(p, node);
                else
                        break;
        }
        return r;
}

static int parse_unary(struct parser *p, bool with_filter, struct node **ret) {
        const struct token *t = cur(p);
        struct node *n;
        int r;
        if (tok_is_op(t, OP_SUB) || tok_is_op(t, OP_ADD)) {
                if ((r = enter(p)) < 0)
                        return r;
                if (!(n = mknode(p, tok_is_op(t, OP_SUB) ? N_NEG : N_POS, t)))
                        return oom(p);
                advance(p);
                if ((r = parse_unary(p, false, &n->a)) >= 0)
                        r = seal(p, n);
                p->depth--;
        } else {
                r = parse_primary(p, &n);
        }
        if (r >= 0)
                r = parse_postfix(p, &n);
        if (r >= 0 && with_filter)
                r = parse_filter_expr(p, &n);
        if (r >= 0)
                *ret = n;
        return r;
}

static int mkbin(struct parser *p, enum node_kind kind, int op, const struct token *at, struct node *a,
                 struct node *b, struct node **ret) {
        struct node *n = mknode(p, kind, at);
        if (!n)
                return oom(p);
        n->op = op;
        n->a = a;
        n->b = b;
        n->line = a->line;
        n->col = a->col;
        int r = seal(p, n);
        if (r >= 0)
                *ret = n;
        return r;
}

typedef int (*parse_fn)(struct parser *p, struct node **ret);

/* left (op right)* for the binary operators in ops[] (-1 terminated). */
static int parse_binary(struct parser *p, parse_fn sub, const int *ops, struct node **ret) {
        struct node *left, *right;
        int r = sub(p, &left);
        while (r >= 0) {
                const struct token *t = cur(p);
                bool hit = false;
                for (const int *o = ops; *o >= 0; o++)
                        hit |= tok_is_op(t, *o);
                if (!hit)
                        break;
                advance(p);
                if ((r = sub(p, &right)) >= 0)
                        r = mkbin(p, N_BIN, t->op, t, left, right, &left);
        }
        if (r >= 0)
                *ret = left;
        return r;
}

static int parse_unary_f(struct parser *p, struct node **ret) { return parse_unary(p, true, ret); }

static int parse_pow(struct parser *p, struct node **ret) {
        static const int ops[] = {OP_POW, -1};
        return parse_binary(p, parse_unary_f, ops, ret);
}

static int parse_math2(struct parser *p, struct node **ret) {
        static const int ops[] = {OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, -1};
        return parse_binary(p, parse_pow, ops, ret);
}

static int parse_concat(struct parser *p, struct node **ret) {
        struct node *first, *n = NULL, *x;
        size_t cap = 0;
        int r = parse_math2(p, &first);
        while (r >= 0 && tok_is_op(cur(p), OP_TILDE)) {
                if (!n) {
                        if (!(n = mknode(p, N_CONCAT, cur(p))))
                                return oom(p);
                        if ((r = push_arg(p, n, first, NULL, &cap)) < 0)
                                return r;
                }
                advance(p);
                if ((r = parse_math2(p, &x)) >= 0)
                        r = push_arg(p, n, x, NULL, &cap);
        }
        if (r >= 0 && n)
                r = seal(p, n);
        if (r >= 0)
                *ret = n ? n : first;
        return r;
}

static int parse_math1(struct parser *p, struct node **ret) {
        static const int ops[] = {OP_ADD, OP_SUB, -1};
        return parse_binary(p, parse_concat, ops, ret);
}

/* The comparison operator at the cursor (consumed), or -1. */
static int take_cmp_op(struct parser *p) {
        const struct token *t = cur(p);
        if (t->type == TK_OP && (t->op == OP_EQ || t->op == OP_NE || t->op == OP_LT || t->op == OP_LTEQ ||
                                 t->op == OP_GT || t->op == OP_GTEQ)) {
                advance(p);
                return t->op;
        }
        if (tok_is_name(t, "in")) {
                advance(p);
                return OP_IN;
        }
        if (tok_is_name(t, "not") && tok_is_name(peek(p), "in")) {
                advance(p);
                advance(p);
                return OP_NOTIN;
        }
        return -1;
}

/* a op b op c ... chains like Python: (a op b) and (b op c). */
static int parse_compare(struct parser *p, struct node **ret) {
        const struct token *at = cur(p);
        struct node *first, *n = NULL, *x;
        size_t cap = 0, ocap = 0, nops = 0;
        int r = parse_math1(p, &first), op;
        while (r >= 0 && (op = take_cmp_op(p)) >= 0) {
                if (!n) {
                        if (!(n = mknode(p, N_CMP, at)))
                                return oom(p);
                        n->a = first;
                }
                if ((r = parse_math1(p, &x)) >= 0 && (r = push_arg(p, n, x, NULL, &cap)) >= 0 &&
                    ta_push(&p->t->arena, &n->ops, &nops, &ocap, &op, sizeof op) < 0)
                        r = oom(p);
        }
        if (r >= 0 && n)
                r = seal(p, n);
        if (r >= 0)
                *ret = n ? n : first;
        return r;
}

static int parse_not(struct parser *p, struct node **ret) {
        const struct token *t = cur(p);
        if (!tok_is_name(t, "not"))
                return parse_compare(p, ret);
        struct node *n = mknode(p, N_NOT, t);
        int r = enter(p);
        if (r < 0)
                return r;
        if (!n)
                return oom(p);
        advance(p);
        if ((r = parse_not(p, &n->a)) >= 0 && (r = seal(p, n)) >= 0)
                *ret = n;
        p->depth--;
        return r;
}

static int parse_logic(struct parser *p, const char *word, parse_fn sub, enum node_kind kind, struct node **ret) {
        struct node *left, *right;
        int r = sub(p, &left);
        while (r >= 0 && tok_is_name(cur(p), word)) {
                const struct token *t = cur(p);
                advance(p);
                if ((r = sub(p, &right)) >= 0)
                        r = mkbin(p, kind, 0, t, left, right, &left);
        }
        if (r >= 0)
                *ret = left;
        return r;
}

static int parse_and(struct parser *p, struct node **ret) { return parse_logic(p, "and", parse_not, N_AND, ret); }
static int parse_or(struct parser *p, struct node **ret) { return parse_logic(p, "or", parse_and, N_OR, ret); }

/* a if cond [else b], chaining to the right. */
static int parse_condexpr(struct parser *p, struct node **ret) {
        struct node *expr;
        int r = parse_or(p, &expr);
        while (r >= 0 && tok_is_name(cur(p), "if")) {
                struct node *n = mknode(p, N_COND, cur(p));
                if (!n)
                        return oom(p);
                advance(p);
                n->b = expr;
                if ((r = parse_or(p, &n->a)) < 0)
                        return r;
                if (tok_is_name(cur(p), "else")) {
                        advance(p);
                        if ((r = parse_condexpr(p, &n->c)) < 0)
                                return r;
                }
                if ((r = seal(p, n)) >= 0)
                        expr = n;
        }
        if (r >= 0)
                *ret = expr;
        return r;
}

static int parse_expr(struct parser *p, bool condexpr, struct node **ret) {
        int r = enter(p);
        if (r >= 0)
                r = condexpr ? parse_condexpr(p, ret) : parse_or(p, ret);
        p->depth--;
        return r;
}

/* ---- statements ---- */

static int parse_body(struct parser *p, struct body *b, const struct ends *ends, int *which);

static struct stmt *mkstmt(struct parser *p, enum stmt_kind kind, const struct token *at) {
        struct stmt *s = ta_alloc(&p->t->arena, sizeof *s);
        if (s) {
                s->kind = kind;
                s->line = at->line;
                s->col = at->col;
        }
        return s;
}

static int end_of_tag(struct parser *p) { return expect_type(p, TK_BLOCK_END, "'%}'"); }

/* name or name, name or (name, name): assignment and loop targets. */
static int parse_targets(struct parser *p, struct stmt *s) {
        size_t cap = 0;
        bool paren = tok_is_op(cur(p), OP_LPAREN);
        if (paren)
                advance(p);
        do {
                const struct token *t = cur(p);
                const char *name;
                if (t->type != TK_NAME)
                        return fail_at(p, t, "a name");
                static const char *const fixed[] = {"true", "false", "none", "True", "False", "None"};
                for (int k = 0; k < 6; k++)
                        if (tok_is_name(t, fixed[k]))
                                return terr(p->err, t->line, t->col, -EINVAL, "cannot assign to '%s'", fixed[k]);
                if (!(name = tok_name(p, t)) ||
                    ta_push(&p->t->arena, &s->targets, &s->ntargets, &cap, &name, sizeof name) < 0)
                        return oom(p);
                advance(p);
                if (!tok_is_op(cur(p), OP_COMMA))
                        break;
                advance(p);
        } while (cur(p)->type == TK_NAME);
        return paren ? expect_op(p, OP_RPAREN) : 0;
}

/* Parses a body closed by one of ends' names; leaves the cursor after the
 * closing name and stores which one closed it. */
static int parse_block_body(struct parser *p, struct body *b, const struct ends *ends, int *which) {
        if (++p->block_depth > (int)TMPL_MAX_DEPTH)
                return terr(p->err, ends->line, ends->col, -E2BIG, "blocks nest deeper than %u levels",
                            TMPL_MAX_DEPTH);
        int r = parse_body(p, b, ends, which);
        p->block_depth--;
        return r;
}

static int parse_if(struct parser *p, struct stmt *s) {
        struct ends ends = {{"elif", "else", "endif"}, "if", s->line, s->col};
        size_t ccap = 0, bcap = 0;
        int which = 0, r;
        while (which == 0) {
                struct node *cond;
                struct body body = {0};
                if ((r = parse_expr(p, false, &cond)) < 0 || (r = end_of_tag(p)) < 0 ||
                    (r = parse_block_body(p, &body, &ends, &which)) < 0)
                        return r;
                size_t nb = s->nconds;
                if (ta_push(&p->t->arena, &s->conds, &s->nconds, &ccap, &cond, sizeof cond) < 0 ||
                    ta_push(&p->t->arena, &s->bodies, &nb, &bcap, &body, sizeof body) < 0)
                        return oom(p);
        }
        if (which == 1) {
                struct ends e2 = {{"endif"}, "if", s->line, s->col};
                if ((r = end_of_tag(p)) < 0 || (r = parse_block_body(p, &s->else_body, &e2, &which)) < 0)
                        return r;
        }
        return end_of_tag(p);
}

static int parse_for(struct parser *p, struct stmt *s) {
        struct ends ends = {{"else", "endfor"}, "for", s->line, s->col};
        int which, r = parse_targets(p, s);
        if (r < 0)
                return r;
        if (!tok_is_name(cur(p), "in"))
                return fail_at(p, cur(p), "'in'");
        advance(p);
        if ((r = parse_expr(p, false, &s->expr)) < 0)
                return r;
        if (tok_is_name(cur(p), "if")) {
                advance(p);
                if ((r = parse_expr(p, true, &s->filter)) < 0)
                        return r;
        }
        if (tok_is_name(cur(p), "recursive"))
                return terr(p->err, cur(p)->line, cur(p)->col, -EINVAL, "recursive loops are not supported");
        if ((r = end_of_tag(p)) < 0 || (r = parse_block_body(p, &s->body, &ends, &which)) < 0)
                return r;
        if (which == 0) {
                struct ends e2 = {{"endfor"}, "for", s->line, s->col};
                if ((r = end_of_tag(p)) < 0 || (r = parse_block_body(p, &s->else_body, &e2, &which)) < 0)
                        return r;
        }
        return end_of_tag(p);
}

static int parse_set(struct parser *p, struct stmt *s) {
        int r = parse_targets(p, s), which;
        if (r < 0)
                return r;
        if (tok_is_op(cur(p), OP_ASSIGN)) {
                advance(p);
                if ((r = parse_expr(p, true, &s->expr)) < 0)
                        return r;
                if (tok_is_op(cur(p), OP_COMMA))
                        return terr(p->err, cur(p)->line, cur(p)->col, -EINVAL, "tuples are not supported");
                return end_of_tag(p);
        }
        if (s->ntargets != 1)
                return fail_at(p, cur(p), "'='");
        struct ends ends = {{"endset"}, "set", s->line, s->col};
        s->kind = S_SETBLOCK;
        if ((r = end_of_tag(p)) < 0 || (r = parse_block_body(p, &s->body, &ends, &which)) < 0)
                return r;
        return end_of_tag(p);
}

static int wrong_tag(struct parser *p, const struct token *t, const struct ends *ends) {
        static const char *const known[] = {"elif", "else", "endif", "endfor", "endset", "endraw"};
        bool is_end = false;
        for (int k = 0; k < 6; k++)
                is_end |= tok_is_name(t, known[k]);
        if (!is_end)
                return terr(p->err, t->line, t->col, -EINVAL, "unknown tag '%.*s'", (int)(t->len > 40 ? 40 : t->len),
                            t->s);
        if (!ends)
                return terr(p->err, t->line, t->col, -EINVAL, "unexpected '%.*s' outside a block", (int)t->len, t->s);
        return terr(p->err, t->line, t->col, -EINVAL, "unexpected '%.*s' in block '%s' opened at %d:%d", (int)t->len,
                    t->s, ends->block, ends->line, ends->col);
}

/* One {% tag %}: the cursor is on the tag name. */
static int parse_tag(struct parser *p, struct body *b, const struct token *open, const struct ends *ends) {
        const struct token *t = cur(p);
        enum stmt_kind kind;
        int (*fn)(struct parser *, struct stmt *);
        if (tok_is_name(t, "if")) {
                kind = S_IF;
                fn = parse_if;
        } else if (tok_is_name(t, "for")) {
                kind = S_FOR;
                fn = parse_for;
        } else if (tok_is_name(t, "set")) {
                kind = S_SET;
                fn = parse_set;
        } else {
                return wrong_tag(p, t, ends);
        }
        struct stmt *s = mkstmt(p, kind, open);
        if (!s)
                return oom(p);
        advance(p);
        int r = fn(p, s);
        if (r >= 0 && ta_push(&p->t->arena, &b->v, &b->n, &b->cap, &s, sizeof s) < 0)
                r = oom(p);
        return r;
}

static int parse_output(struct parser *p, struct body *b) {
        struct stmt *s = mkstmt(p, S_OUTPUT, cur(p));
        int r;
        if (!s)
                return oom(p);
        advance(p);
        if ((r = parse_expr(p, true, &s->expr)) < 0 || (r = expect_type(p, TK_VAR_END, "'}}'")) < 0)
                return r;
        return ta_push(&p->t->arena, &b->v, &b->n, &b->cap, &s, sizeof s) < 0 ? oom(p) : 0;
}

static int parse_text(struct parser *p, struct body *b) {
        struct stmt *s = mkstmt(p, S_TEXT, cur(p));
        if (!s)
                return oom(p);
        s->text = cur(p)->s;
        s->len = cur(p)->len;
        advance(p);
        return ta_push(&p->t->arena, &b->v, &b->n, &b->cap, &s, sizeof s) < 0 ? oom(p) : 0;
}

static int parse_body(struct parser *p, struct body *b, const struct ends *ends, int *which) {
        for (;;) {
                const struct token *t = cur(p);
                int r;
                switch (t->type) {
                case TK_EOF:
                        if (!ends)
                                return 0;
                        return terr(p->err, ends->line, ends->col, -EINVAL, "unclosed block '%s' opened at %d:%d",
                                    ends->block, ends->line, ends->col);
                case TK_DATA: r = parse_text(p, b); break;
                case TK_VAR_BEGIN: r = parse_output(p, b); break;
                case TK_BLOCK_BEGIN:
                        advance(p);
                        if (cur(p)->type != TK_NAME)
                                return fail_at(p, cur(p), "a tag name");
                        for (int k = 0; ends && k < 3; k++) {
                                if (ends->names[k] && tok_is_name(cur(p), ends->names[k])) {
                                        *which = k;
                                        advance(p);
                                        return 0;
                                }
                        }
                        r = parse_tag(p, b, t, ends);
                        break;
                default: return fail_at(p, t, NULL);
                }
                if (r < 0)
                        return r;
        }
}

/* ---- unknown filters and tests ----
 * Jinja2 rejects them when compiling, except inside an if statement or an
 * inline if (up to the next loop or block set), where they fail only when
 * reached.  soft says whether n is in such a place. */

static int check_expr(struct tmpl_err *err, const struct node *n, bool soft) {
        int r = 0;
        if (!n)
                return 0;
        if ((n->kind == N_FILTER || n->kind == N_TEST) && n->op < 0 && !soft)
                return terr(err, n->line, n->col, -EINVAL, "no %s named '%s'", n->kind == N_FILTER ? "filter" : "test",
                            n->name);
        soft |= n->kind == N_COND;
        if ((r = check_expr(err, n->a, soft)) < 0 || (r = check_expr(err, n->b, soft)) < 0 ||
            (r = check_expr(err, n->c, soft)) < 0)
                return r;
        for (size_t i = 0; i < n->nargs && r >= 0; i++)
                r = check_expr(err, n->args[i], soft);
        return r;
}

static int check_body(struct tmpl_err *err, const struct body *b, bool soft) {
        int r = 0;
        for (size_t i = 0; i < b->n && r >= 0; i++) {
                const struct stmt *s = b->v[i];
                switch (s->kind) {
                case S_OUTPUT:
                case S_SET: r = check_expr(err, s->expr, soft); break;
                case S_IF:
                        for (size_t k = 0; k < s->nconds && r >= 0; k++)
                                if ((r = check_expr(err, s->conds[k], true)) >= 0)
                                        r = check_body(err, &s->bodies[k], true);
                        if (r >= 0)
                                r = check_body(err, &s->else_body, true);
                        break;
                case S_FOR:
                        if ((r = check_expr(err, s->expr, soft)) >= 0 && (r = check_expr(err, s->filter, false)) >= 0 &&
                            (r = check_body(err, &s->body, false)) >= 0)
                                r = check_body(err, &s->else_body, soft);
                        break;
                case S_SETBLOCK: r = check_body(err, &s->body, false); break;
                case S_TEXT: break;
                }
        }
        return r;
}

int tparse(struct tmpl *t, const struct token *toks, size_t ntoks, struct tmpl_err *err) {
        struct parser p = {.t = t, .tk = toks, .n = ntoks, .err = err};
        int r = parse_body(&p, &t->body, NULL, NULL);
        return r < 0 ? r : check_body(err, &t->body, false);
}
