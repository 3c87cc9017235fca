/* tmpl_int.h — internals shared by tmpl*.c; not for other modules.
 *
 * tmpl_lex.c turns the source into tokens, tmpl_parse.c tokens into a tree
 * (both allocate from one arena owned by the template), tmpl_val.c holds
 * the Python semantics of values (str(), repr(), ==, <, truth, json.dumps),
 * tmpl_filter.c the filters, tests and methods, tmpl.c evaluates. */
#pragma once
#include "strbuf.h"
#include "tmpl.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- arena: everything a compiled template holds, freed at once ---- */
struct tchunk;
struct tarena {
        struct tchunk *head;
};
void *ta_alloc(struct tarena *a, size_t n); /* zeroed; NULL when out of memory */
char *ta_strndup(struct tarena *a, const char *s, size_t n);
/* Appends x to the arena-allocated vector *v (n items, cap slots). */
int ta_push(struct tarena *a, void *vec, size_t *n, size_t *cap, const void *x, size_t size);
void ta_free(struct tarena *a);

/* Records an error at line:col and returns code. */
int terr(struct tmpl_err *err, int line, int col, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* ---- UTF-8 and Python's notion of whitespace ---- */
/* Decodes the code point at s[*i] (s is valid UTF-8) and advances *i. */
uint32_t tu_next(const char *s, size_t n, size_t *i);
bool tu_isspace(uint32_t cp);
size_t tu_rstrip(const char *s, size_t n); /* length without trailing whitespace */
size_t tu_lstrip(const char *s, size_t n); /* bytes of leading whitespace */
size_t tu_valid(const char *s, size_t n);  /* length of the valid UTF-8 prefix */
int tu_put(struct strbuf *sb, uint32_t cp);

/* ---- tokens ---- */
enum tok_type {
        TK_EOF, TK_DATA, TK_VAR_BEGIN, TK_VAR_END, TK_BLOCK_BEGIN, TK_BLOCK_END,
        TK_NAME, TK_STRING, TK_INT, TK_FLOAT, TK_OP,
};
enum tok_op {
        OP_ADD, OP_SUB, OP_DIV, OP_FLOORDIV, OP_MUL, OP_MOD, OP_POW, OP_TILDE,
        OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN, OP_LBRACE, OP_RBRACE,
        OP_EQ, OP_NE, OP_GT, OP_GTEQ, OP_LT, OP_LTEQ, OP_ASSIGN, OP_DOT,
        OP_COLON, OP_PIPE, OP_COMMA, OP_SEMICOLON,
        OP_IN, OP_NOTIN, /* comparisons only, never lexed */
};
struct token {
        enum tok_type type;
        int line, col;
        int op;          /* TK_OP */
        const char *s;   /* TK_DATA, TK_NAME, TK_STRING (decoded), in the arena */
        size_t len;
        json_int_t i;    /* TK_INT */
        double f;        /* TK_FLOAT */
};
const char *tok_op_str(int op);
/* Splits src into tokens (ends with TK_EOF).  The array is malloc'd (only
 * the parser needs it: the caller frees it); what tokens point to is in the
 * arena. */
int tlex(struct tarena *a, const char *src, size_t len, struct token **ret, size_t *ret_n,
         struct tmpl_err *err);

/* ---- tree ---- */
enum node_kind {
        N_CONST, N_NAME, N_ATTR, N_ITEM, N_CALL, N_FILTER, N_TEST, N_NOT, N_NEG, N_POS,
        N_BIN, N_CONCAT, N_CMP, N_AND, N_OR, N_COND, N_LIST, N_DICT,
};
/* The kinds of receiver whose attributes can be methods (tmpl_filter.c). */
enum recv_kind { RK_DICT, RK_STR, RK_SAFE, RK_LIST, RK_LOOP, RK_COUNT };
struct node {
        enum node_kind kind;
        int line, col;
        int op;               /* N_BIN; N_FILTER/N_TEST: table index, -1 when unknown */
        int depth;
        const char *name;     /* N_NAME, N_ATTR, N_FILTER, N_TEST */
        json_t *cval;         /* N_CONST (owned by the template) */
        struct node *a, *b, *c;
        struct node **args;   /* call/filter/test args; list items; concat parts;
                                 cmp operands after a; dict keys and values */
        const char **kw;      /* keyword of each arg, NULL when positional */
        int *ops;             /* N_CMP: one per arg */
        size_t nargs;
        signed char methods[RK_COUNT]; /* N_ATTR: the method name is on each receiver kind, -1 for none */
};
enum stmt_kind { S_TEXT, S_OUTPUT, S_IF, S_FOR, S_SET, S_SETBLOCK };
struct stmt;
struct body {
        struct stmt **v;
        size_t n, cap;
};
struct stmt {
        enum stmt_kind kind;
        int line, col;
        const char *text;     /* S_TEXT */
        size_t len;
        struct node *expr;    /* S_OUTPUT, S_SET, S_FOR (iterable) */
        struct node *filter;  /* S_FOR ... if filter */
        struct node **conds;  /* S_IF: if and elif tests */
        struct body *bodies;  /* S_IF: one per cond */
        size_t nconds;
        struct body body;     /* S_FOR, S_SETBLOCK */
        struct body else_body;/* S_IF, S_FOR */
        const char **targets; /* S_FOR, S_SET, S_SETBLOCK */
        size_t ntargets;
};
struct tmpl {
        struct tarena arena;
        json_t *consts; /* keeps N_CONST values alive */
        size_t out_hint; /* bytes reserved for the output up front */
        struct body body;
};
int tparse(struct tmpl *t, const struct token *toks, size_t ntoks, struct tmpl_err *err);

/* ---- values ---- */
enum vkind {
        VK_UNDEF,  /* j: message (a JSON string) */
        VK_PLAIN,  /* j: any JSON value */
        VK_SAFE,   /* j: a string marked safe (Markup) */
        VK_TUPLE,  /* j: array, a Python tuple */
        VK_PAIRS,  /* j: array of 2-arrays (dict.items(), dictsort): iterates tuples */
        VK_VIEW,   /* j: array (dict.keys(), .values(), range()): iterable, not printable */
        VK_LOOP,   /* j: object with the loop variables */
        VK_METHOD, /* j: receiver or NULL; method: id */
};
struct val {
        json_t *j;
        unsigned char kind;
        unsigned char method;
};
#define VAL_NONE ((struct val){NULL, VK_PLAIN, 0})
void val_clear(struct val *v);
struct val val_plain(json_t *j); /* steals j */
struct val val_copy(struct val v);
bool val_isstr(struct val v);
bool val_isnum(struct val v); /* int, float or bool */
const char *val_typename(struct val v);

/* Python semantics; each returns 0 or -errno with msg filled (msgsz bytes). */
int py_str(struct strbuf *sb, struct val v, char *msg, size_t msgsz);   /* str(v) */
int py_repr_str(struct strbuf *sb, const char *s, size_t n);           /* repr(str) */
int py_truth(struct val v, bool *ret, char *msg, size_t msgsz);
bool py_eq(const json_t *a, const json_t *b);
int py_cmp(const json_t *a, const json_t *b, int *ret, char *msg, size_t msgsz);
int py_tojson(struct strbuf *sb, const json_t *v, int indent, int level);
size_t py_strlen(const char *s, size_t n); /* code points */
json_t *py_string(const char *s, size_t n); /* NULL on ENOMEM */

/* ---- filters, tests, methods (tmpl_filter.c) ---- */
struct rctx;
typedef int (*tfilter_fn)(struct rctx *rc, const struct node *n, struct val *v, struct val *args,
                          struct val *ret);
struct tfilter {
        const char *name;
        tfilter_fn fn;
        const char *params[4]; /* names, NULL-terminated */
        int nrequired;
        bool undef_ok; /* the operand may be undefined (default, is defined) */
};
const struct tfilter *tfilter_find(const char *name);
const struct tfilter *ttest_find(const char *name);
extern const struct tfilter tfilters[];
extern const struct tfilter ttests[];

enum method_id {
        M_UNSUPPORTED, M_ITEMS, M_KEYS, M_VALUES, M_GET, M_RANGE,
        M_UPPER, M_LOWER, M_STRIP, M_STARTSWITH, M_ENDSWITH, M_REPLACE,
};
/* The method called name on v is tmethod_resolve(tmethod_recv(v), name), in
 * two halves so that a template resolves its attribute names once: v's
 * receiver kind (-1 when v has no methods), and the method called name on a
 * receiver of kind rk (-1 when there is none). */
int tmethod_recv(struct val v);
int tmethod_resolve(int rk, const char *name);
int tmethod_call(struct rctx *rc, const struct node *n, struct val m, struct val *args, size_t nargs,
                 struct val *ret);

/* ---- evaluation context (tmpl.c) ---- */
struct frame;
struct rctx {
        struct tmpl_err *err;
        json_t *ctx;
        struct frame *frame;
        struct strbuf out;
        unsigned long iterations;
        unsigned long steps;
};
int rerr(struct rctx *rc, const struct node *n, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Fails with v's undefined message when v is undefined. */
int rundef(struct rctx *rc, const struct node *n, struct val v);
/* Materialises the items a for loop over v visits. */
int titer(struct rctx *rc, const struct node *n, struct val v, struct val **ret, size_t *ret_n);
void tvals_free(struct val *v, size_t n);
#define TMPL_MAX_STRING TMPL_MAX_OUTPUT
int py_binop(int op, struct val a, struct val b, struct val *ret, char *msg, size_t msgsz);
