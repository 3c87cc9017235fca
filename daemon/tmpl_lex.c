/* tmpl_lex.c — template source → tokens, following Jinja2's lexer rules
 * (newlines normalised to \n, {{ }} {% %} {# #} with - and + markers,
 * {% raw %}, Python-style string escapes). */
#include "tmpl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
        struct tarena *a;
        const char *s;
        size_t n, pos;
        struct token *toks;
        size_t ntoks, cap;
        struct tmpl_err *err;
        char bal[TMPL_MAX_DEPTH];
        unsigned nbal;
        /* position cache for line/col */
        size_t at;
        int at_line;
        size_t at_bol;
};

static const char *const op_strs[] = {
        [OP_ADD] = "+", [OP_SUB] = "-", [OP_DIV] = "/", [OP_FLOORDIV] = "//", [OP_MUL] = "*",
        [OP_MOD] = "%", [OP_POW] = "**", [OP_TILDE] = "~", [OP_LBRACKET] = "[",
        [OP_RBRACKET] = "]", [OP_LPAREN] = "(", [OP_RPAREN] = ")", [OP_LBRACE] = "{",
        [OP_RBRACE] = "}", [OP_EQ] = "==", [OP_NE] = "!=", [OP_GT] = ">", [OP_GTEQ] = ">=",
        [OP_LT] = "<", [OP_LTEQ] = "<=", [OP_ASSIGN] = "=", [OP_DOT] = ".", [OP_COLON] = ":",
        [OP_PIPE] = "|", [OP_COMMA] = ",", [OP_SEMICOLON] = ";", [OP_IN] = "in",
        [OP_NOTIN] = "not in",
};

const char *tok_op_str(int op) { return op_strs[op]; }

/* Line and column (1-based, bytes) of offset off. */
static void lx_pos(struct lexer *lx, size_t off, int *line, int *col) {
        if (off < lx->at) {
                lx->at = lx->at_bol = 0;
                lx->at_line = 1;
        }
        for (; lx->at < off; lx->at++)
                if (lx->s[lx->at] == '\n') {
                        lx->at_line++;
                        lx->at_bol = lx->at + 1;
                }
        *line = lx->at_line;
        *col = (int)(off - lx->at_bol) + 1;
}

static int lx_fail(struct lexer *lx, size_t off, int code, const char *msg, const char *arg) {
        int line, col;
        lx_pos(lx, off, &line, &col);
        return terr(lx->err, line, col, code, "%s%s%s", msg, arg ? arg : "", arg ? "'" : "");
}

static int lx_emit(struct lexer *lx, size_t off, struct token t) {
        lx_pos(lx, off, &t.line, &t.col);
        if (lx->ntoks == lx->cap) {
                size_t cap = lx->cap ? lx->cap * 2 : 64;
                struct token *v = realloc(lx->toks, cap * sizeof *v);
                if (!v)
                        return lx_fail(lx, off, -ENOMEM, "out of memory", NULL);
                lx->toks = v;
                lx->cap = cap;
        }
        lx->toks[lx->ntoks++] = t;
        return 0;
}

static bool lx_at(const struct lexer *lx, size_t off, const char *lit) {
        size_t n = strlen(lit);
        return off <= lx->n && lx->n - off >= n && memcmp(lx->s + off, lit, n) == 0;
}

static size_t lx_skipws(const struct lexer *lx, size_t off) {
        return off + tu_lstrip(lx->s + off, lx->n - off);
}

/* Matches `[-+]?\s*word\s*(+%}|-%}\s*|%})` after a "{%" at off; returns
 * the end offset or 0, and the marker before the word in *sign. */
static size_t lx_match_word_tag(const struct lexer *lx, size_t off, const char *word, char *sign) {
        size_t p = off + 2;
        *sign = 0;
        if (p < lx->n && (lx->s[p] == '-' || lx->s[p] == '+'))
                *sign = lx->s[p++];
        p = lx_skipws(lx, p);
        if (!lx_at(lx, p, word))
                return 0;
        p = lx_skipws(lx, p + strlen(word));
        if (lx_at(lx, p, "+%}"))
                return p + 3;
        if (lx_at(lx, p, "-%}"))
                return lx_skipws(lx, p + 3);
        if (lx_at(lx, p, "%}"))
                return p + 2;
        return 0;
}

static int lx_data(struct lexer *lx, size_t off, size_t len) {
        if (!len)
                return 0;
        return lx_emit(lx, off, (struct token){.type = TK_DATA, .s = lx->s + off, .len = len});
}

/* The raw tag at off (ending at body) is already matched: emit the text up
 * to the matching endraw as data. */
static int lx_raw(struct lexer *lx, size_t off, size_t body) {
        for (size_t k = body; k + 1 < lx->n; k++) {
                char sign;
                size_t end;
                if (lx->s[k] != '{' || lx->s[k + 1] != '%' ||
                    !(end = lx_match_word_tag(lx, k, "endraw", &sign)))
                        continue;
                size_t len = k - body;
                if (sign == '-')
                        len = tu_rstrip(lx->s + body, len);
                lx->pos = end;
                return lx_data(lx, body, len);
        }
        return lx_fail(lx, off, -EINVAL, "missing end of raw directive", NULL);
}

static int lx_comment(struct lexer *lx, size_t off, size_t body) {
        for (size_t k = body; k < lx->n; k++) {
                if (lx_at(lx, k, "+#}")) {
                        lx->pos = k + 3;
                        return 0;
                }
                if (lx_at(lx, k, "-#}")) {
                        lx->pos = lx_skipws(lx, k + 3);
                        return 0;
                }
                if (lx_at(lx, k, "#}")) {
                        lx->pos = k + 2;
                        return 0;
                }
        }
        return lx_fail(lx, off, -EINVAL, "missing end of comment tag", NULL);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/* `(\d+_)*\d+` at off: end offset, or off when there is no digit. */
static size_t lx_digits(const struct lexer *lx, size_t off) {
        size_t p = off;
        if (p >= lx->n || !is_digit(lx->s[p]))
                return off;
        for (;;) {
                while (p < lx->n && is_digit(lx->s[p]))
                        p++;
                if (p + 1 < lx->n && lx->s[p] == '_' && is_digit(lx->s[p + 1]))
                        p++;
                else
                        return p;
        }
}

/* Jinja's float_re; returns the end offset or 0. */
static size_t lx_float_end(const struct lexer *lx, size_t off) {
        if (off && lx->s[off - 1] == '.')
                return 0;
        size_t p = lx_digits(lx, off), q, e;
        if (p == off)
                return 0;
        /* (\.digits)? [eE][+-]? digits */
        q = p;
        if (q < lx->n && lx->s[q] == '.' && lx_digits(lx, q + 1) > q + 1)
                q = lx_digits(lx, q + 1);
        if (q < lx->n && (lx->s[q] == 'e' || lx->s[q] == 'E')) {
                e = q + 1;
                if (e < lx->n && (lx->s[e] == '+' || lx->s[e] == '-'))
                        e++;
                if (lx_digits(lx, e) > e)
                        return lx_digits(lx, e);
        }
        /* \.digits */
        if (p < lx->n && lx->s[p] == '.' && lx_digits(lx, p + 1) > p + 1)
                return lx_digits(lx, p + 1);
        return 0;
}

static char *lx_strip_underscores(struct lexer *lx, size_t off, size_t end) {
        char *b = ta_alloc(lx->a, end - off + 1);
        size_t o = 0;
        if (!b)
                return NULL;
        for (size_t i = off; i < end; i++)
                if (lx->s[i] != '_')
                        b[o++] = lx->s[i];
        return b;
}

static int lx_float(struct lexer *lx, size_t off, size_t end) {
        char *b = lx_strip_underscores(lx, off, end);
        if (!b)
                return lx_fail(lx, off, -ENOMEM, "out of memory", NULL);
        double d = strtod(b, NULL);
        if (!(d - d == 0))
                return lx_fail(lx, off, -EINVAL, "float literal out of range", NULL);
        lx->pos = end;
        return lx_emit(lx, off, (struct token){.type = TK_FLOAT, .f = d});
}

static int digit_value(char c) {
        if (is_digit(c))
                return c - '0';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'Z')
                return c - 'A' + 10;
        return 99;
}

/* `0b(_?[01])+` and friends: end offset of the prefixed form, or 0. */
static size_t lx_prefixed_end(const struct lexer *lx, size_t off, int *base) {
        if (off + 2 >= lx->n || lx->s[off] != '0')
                return 0;
        char x = lx->s[off + 1] | 0x20;
        *base = x == 'b' ? 2 : x == 'o' ? 8 : x == 'x' ? 16 : 0;
        if (!*base)
                return 0;
        size_t p = off + 2;
        for (;;) {
                size_t q = p < lx->n && lx->s[p] == '_' ? p + 1 : p;
                if (q >= lx->n || digit_value(lx->s[q]) >= *base)
                        return p > off + 2 ? p : 0;
                p = q + 1;
        }
}

static int lx_int(struct lexer *lx, size_t off) {
        int base = 10;
        size_t end = lx_prefixed_end(lx, off, &base), start = off + 2;
        if (!end) {
                base = 10;
                start = off;
                if (lx->s[off] == '0') { /* 0(_?0)* */
                        end = off + 1;
                        while (end < lx->n && (lx->s[end] == '0' ||
                                               (lx->s[end] == '_' && end + 1 < lx->n && lx->s[end + 1] == '0')))
                                end += lx->s[end] == '_' ? 2 : 1;
                } else {
                        end = lx_digits(lx, off);
                }
        }
        json_int_t v = 0;
        for (size_t i = start; i < end; i++) {
                if (lx->s[i] == '_')
                        continue;
                if (__builtin_mul_overflow(v, base, &v) ||
                    __builtin_add_overflow(v, digit_value(lx->s[i]), &v))
                        return lx_fail(lx, off, -EINVAL, "integer literal too large", NULL);
        }
        lx->pos = end;
        return lx_emit(lx, off, (struct token){.type = TK_INT, .i = v});
}

static int lx_name(struct lexer *lx, size_t off) {
        size_t end = off;
        while (end < lx->n && (is_alpha(lx->s[end]) || is_digit(lx->s[end])))
                end++;
        lx->pos = end;
        return lx_emit(lx, off, (struct token){.type = TK_NAME, .s = lx->s + off, .len = end - off});
}

static int hexval(const char *s, size_t n, uint32_t *ret) {
        uint32_t v = 0;
        for (size_t i = 0; i < n; i++) {
                int d = digit_value(s[i]);
                if (d >= 16)
                        return -1;
                v = v * 16 + (uint32_t)d;
        }
        *ret = v;
        return 0;
}

/* One backslash escape at s[*i] (after the backslash), Python's
 * unicode-escape codec applied to the backslash-replaced source. */
static int lx_escape(struct lexer *lx, size_t off, const char *s, size_t n, size_t *i, struct strbuf *sb) {
        static const char simple_in[] = "\\'\"abfnrtv";
        static const char simple_out[] = "\\'\"\a\b\f\n\r\t\v";
        char c = s[*i];
        const char *hit = c ? strchr(simple_in, c) : NULL;
        uint32_t cp;
        size_t want;

        if (hit) {
                (*i)++;
                return sb_putc(sb, simple_out[hit - simple_in]);
        }
        if (c == '\n') {
                (*i)++;
                return 0;
        }
        if (c >= '0' && c <= '7') {
                cp = 0;
                for (int k = 0; k < 3 && *i < n && s[*i] >= '0' && s[*i] <= '7'; k++)
                        cp = cp * 8 + (uint32_t)(s[(*i)++] - '0');
                return tu_put(sb, cp);
        }
        if ((unsigned char)c >= 0x80) { /* backslashreplace made it \xNN / \uNNNN */
                cp = tu_next(s, n, i);
                return sb_printf(sb, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
        }
        if (c == 'N')
                return lx_fail(lx, off, -EINVAL, "\\N{...} escapes are not supported", NULL);
        want = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
        if (!want) /* unknown escapes stay as they are */
                return sb_putc(sb, '\\');
        if (n - *i - 1 < want || hexval(s + *i + 1, want, &cp) < 0)
                return lx_fail(lx, off, -EINVAL, "truncated escape in string literal", NULL);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return lx_fail(lx, off, -EINVAL, "illegal Unicode character in string literal", NULL);
        *i += want + 1;
        return tu_put(sb, cp);
}

static int lx_string(struct lexer *lx, size_t off) {
        char q = lx->s[off];
        size_t p = off + 1;
        while (p < lx->n && lx->s[p] != q)
                p += lx->s[p] == '\\' && p + 1 < lx->n ? 2 : 1;
        if (p >= lx->n)
                return lx_fail(lx, off, -EINVAL, "unterminated string literal", NULL);

        const char *s = lx->s + off + 1;
        size_t n = p - off - 1, i = 0;
        struct strbuf sb = STRBUF_INIT;
        int r = 0;
        while (i < n && r >= 0) {
                if (s[i] == '\\') {
                        i++;
                        r = lx_escape(lx, off, s, n, &i, &sb);
                } else {
                        r = sb_putc(&sb, s[i++]);
                }
        }
        char *v = r >= 0 ? ta_strndup(lx->a, sb.buf ? sb.buf : "", sb.len) : NULL;
        size_t len = sb.len;
        sb_free(&sb);
        if (!v)
                return r < 0 && r != -ENOMEM ? r : lx_fail(lx, off, -ENOMEM, "out of memory", NULL);
        lx->pos = p + 1;
        return lx_emit(lx, off, (struct token){.type = TK_STRING, .s = v, .len = len});
}

/* Longest operator at off, or -1. */
static int lx_op_at(const struct lexer *lx, size_t off) {
        int best = -1;
        size_t bestlen = 0;
        for (int op = 0; op <= OP_SEMICOLON; op++) {
                size_t l = strlen(op_strs[op]);
                if (l > bestlen && lx_at(lx, off, op_strs[op])) {
                        best = op;
                        bestlen = l;
                }
        }
        return best;
}

/* Keeps (), [] and {} balanced, as Jinja does: a closing }} or %} only ends
 * the tag when nothing is open. */
static int lx_balance(struct lexer *lx, size_t off, int op) {
        static const char open[] = "([{", close[] = ")]}";
        char c = op_strs[op][0];
        if (strchr(open, c) && !op_strs[op][1]) {
                if (lx->nbal >= TMPL_MAX_DEPTH)
                        return lx_fail(lx, off, -E2BIG, "brackets nest deeper than 64 levels", NULL);
                lx->bal[lx->nbal++] = close[strchr(open, c) - open];
        } else if (strchr(close, c) && !op_strs[op][1]) {
                if (!lx->nbal)
                        return lx_fail(lx, off, -EINVAL, "unexpected '", op_strs[op]);
                if (lx->bal[--lx->nbal] != c) {
                        int line, col;
                        lx_pos(lx, off, &line, &col);
                        return terr(lx->err, line, col, -EINVAL, "unexpected '%c', expected '%c'", c,
                                    lx->bal[lx->nbal]);
                }
        }
        return 0;
}

/* The end of the tag at off, or 0: `-}}\s*|}}` or `+%}|-%}\s*|%}`. */
static size_t lx_tag_end(const struct lexer *lx, size_t off, bool var) {
        if (var) {
                if (lx_at(lx, off, "-}}"))
                        return lx_skipws(lx, off + 3);
                return lx_at(lx, off, "}}") ? off + 2 : 0;
        }
        if (lx_at(lx, off, "+%}"))
                return off + 3;
        if (lx_at(lx, off, "-%}"))
                return lx_skipws(lx, off + 3);
        return lx_at(lx, off, "%}") ? off + 2 : 0;
}

static int lx_token(struct lexer *lx) {
        size_t p = lx->pos, end;
        char c = lx->s[p];
        if ((end = lx_float_end(lx, p)))
                return lx_float(lx, p, end);
        if (is_digit(c))
                return lx_int(lx, p);
        if (is_alpha(c))
                return lx_name(lx, p);
        if (c == '"' || c == '\'')
                return lx_string(lx, p);
        int op = lx_op_at(lx, p);
        if (op < 0) {
                char what[8] = {0};
                size_t i = p;
                tu_next(lx->s, lx->n, &i);
                memcpy(what, lx->s + p, i - p);
                return lx_fail(lx, p, -EINVAL, "unexpected character '", what);
        }
        int r = lx_balance(lx, p, op);
        if (r < 0)
                return r;
        lx->pos = p + strlen(op_strs[op]);
        return lx_emit(lx, p, (struct token){.type = TK_OP, .op = op});
}

/* Tokens of a {{ }} (var) or {% %} tag opened at off; body is after the
 * opener and its marker. */
static int lx_tag(struct lexer *lx, size_t off, size_t body, bool var) {
        int r = lx_emit(lx, off, (struct token){.type = var ? TK_VAR_BEGIN : TK_BLOCK_BEGIN});
        lx->pos = body;
        lx->nbal = 0;
        while (r >= 0) {
                size_t end, ws;
                if (lx->pos >= lx->n)
                        return lx_fail(lx, off, -EINVAL, var ? "unclosed '{{'" : "unclosed '{%'", NULL);
                if (!lx->nbal && (end = lx_tag_end(lx, lx->pos, var))) {
                        r = lx_emit(lx, lx->pos, (struct token){.type = var ? TK_VAR_END : TK_BLOCK_END});
                        lx->pos = end;
                        return r;
                }
                ws = tu_lstrip(lx->s + lx->pos, lx->n - lx->pos);
                if (ws)
                        lx->pos += ws;
                else
                        r = lx_token(lx);
        }
        return r;
}

/* The next tag opener at or after off, or n. */
static size_t lx_find_open(const struct lexer *lx, size_t off) {
        for (size_t i = off; i + 1 < lx->n; i++) {
                const char *p = memchr(lx->s + i, '{', lx->n - i - 1);
                if (!p)
                        break;
                i = (size_t)(p - lx->s);
                char c = p[1];
                if (c == '{' || c == '%' || c == '#')
                        return i;
        }
        return lx->n;
}

static int lx_root(struct lexer *lx) {
        int r = 0;
        while (r >= 0 && lx->pos < lx->n) {
                size_t i = lx_find_open(lx, lx->pos), body = i + 2, raw_end = 0;
                size_t len = i - lx->pos;
                char kind, sign;
                if (i == lx->n)
                        return lx_data(lx, lx->pos, len);
                kind = lx->s[i + 1];
                if (kind == '%')
                        raw_end = lx_match_word_tag(lx, i, "raw", &sign);
                sign = body < lx->n ? lx->s[body] : 0;
                if (sign == '-' || sign == '+')
                        body++;
                if (sign == '-')
                        len = tu_rstrip(lx->s + lx->pos, len);
                r = lx_data(lx, lx->pos, len);
                if (r < 0)
                        break;
                if (raw_end)
                        r = lx_raw(lx, i, raw_end);
                else if (kind == '#')
                        r = lx_comment(lx, i, body);
                else
                        r = lx_tag(lx, i, body, kind == '{');
        }
        return r;
}

/* Jinja splits on \r\n, \r and \n and joins with \n before lexing. */
static char *normalize_newlines(struct tarena *a, const char *src, size_t len, size_t *ret_len) {
        char *b = ta_alloc(a, len + 1);
        size_t o = 0;
        if (!b)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (src[i] == '\r') {
                        b[o++] = '\n';
                        if (i + 1 < len && src[i + 1] == '\n')
                                i++;
                } else {
                        b[o++] = src[i];
                }
        }
        *ret_len = o;
        return b;
}

int tlex(struct tarena *a, const char *src, size_t len, struct token **ret, size_t *ret_n,
         struct tmpl_err *err) {
        struct lexer lx = {.a = a, .err = err, .at_line = 1};
        size_t valid = tu_valid(src, len);
        int r;

        if (valid < len) {
                lx.s = src;
                lx.n = len;
                return lx_fail(&lx, valid, -EINVAL, "template is not valid UTF-8", NULL);
        }
        lx.s = normalize_newlines(a, src, len, &lx.n);
        if (!lx.s)
                return terr(err, 1, 1, -ENOMEM, "out of memory");
        r = lx_root(&lx);
        if (r >= 0)
                r = lx_emit(&lx, lx.n, (struct token){.type = TK_EOF});
        if (r < 0) {
                free(lx.toks);
                return r;
        }
        *ret = lx.toks;
        *ret_n = lx.ntoks;
        return 0;
}
