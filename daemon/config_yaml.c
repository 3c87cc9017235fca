#include "config_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"
#include "strbuf.h"

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

/* One open mapping or sequence; key is the pending key of a mapping (NULL
 * while a key is expected). */
struct frame {
        json_t *node;
        char *key;
        int key_line, key_col;
};

struct parser {
        const char *file;
        struct cfgy_postab *pt;
        struct frame stack[CFG_MAX_DEPTH];
        size_t depth;
        json_t *root;
        int ndocs;
        char *err;
};

const struct cfgy_pos *cfgy_pos_find(const struct cfgy_postab *pt, const json_t *parent,
                                     const char *key, size_t idx) {
        if (!pt)
                return NULL;
        for (size_t i = 0; i < pt->n; i++) {
                const struct cfgy_pos *p = &pt->v[i];
                if (p->parent != parent)
                        continue;
                if (key ? (p->key && strcmp(p->key, key) == 0) : (!p->key && p->idx == idx))
                        return p;
        }
        return NULL;
}

void cfgy_postab_free(struct cfgy_postab *pt) {
        if (!pt)
                return;
        for (size_t i = 0; i < pt->n; i++)
                free(pt->v[i].key);
        free(pt->v);
        pt->v = NULL;
        pt->n = pt->cap = 0;
}

/* Records a position; takes ownership of key (freed on failure). */
static int postab_add(struct cfgy_postab *pt, const struct cfgy_pos *pos) {
        if (pt->n == pt->cap) {
                size_t cap = pt->cap ? pt->cap * 2 : 64;
                struct cfgy_pos *v = realloc(pt->v, cap * sizeof *v);
                if (!v) {
                        free(pos->key);
                        return -ENOMEM;
                }
                pt->v = v;
                pt->cap = cap;
        }
        pt->v[pt->n++] = *pos;
        return 0;
}

/* The length of the UTF-8 sequence starting at s, or 0 when it is not a
 * complete one. */
static size_t utf8_len(const unsigned char *s) {
        size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                 : s[0] >= 0xe0 && s[0] < 0xf0                 ? 3
                 : s[0] >= 0xf0 && s[0] < 0xf5                 ? 4
                                                               : 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

char *cfgy_scrub(char *s) {
        for (unsigned char *p = (unsigned char *)s; p && *p;) {
                size_t n = utf8_len(p);
                if (n == 0)
                        *p++ = '?';
                else
                        p += n;
        }
        return s;
}

bool cfgy_utf8_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                size_t n = utf8_len(p);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

/* Stores the first error as "FILE:LINE:COL: message" (mark is 0-based). */
__attribute__((format(printf, 4, 5))) static int perr(struct parser *p, int rc, yaml_mark_t mark,
                                                      const char *fmt, ...) {
        if (p->err)
                return rc;
        struct strbuf sb = STRBUF_INIT;
        va_list ap;
        va_start(ap, fmt);
        int r = sb_printf(&sb, "%s:%zu:%zu: ", p->file, mark.line + 1, mark.column + 1);
        if (r == 0)
                r = sb_vprintf(&sb, fmt, ap);
        va_end(ap);
        if (r < 0) {
                sb_free(&sb);
                return -ENOMEM;
        }
        p->err = cfgy_scrub(sb_take(&sb, NULL));
        return p->err ? rc : -ENOMEM;
}

static bool all_of(const char *s, size_t n, const char *set) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!s[i] || !strchr(set, s[i]))
                        return false;
        return true;
}

static bool one_of(const char *s, const char *const *words) {
        for (; *words; words++)
                if (strcmp(s, *words) == 0)
                        return true;
        return false;
}

/* True when s matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?. */
static bool is_core_float(const char *s) {
        if (*s == '-' || *s == '+')
                s++;
        size_t int_digits = strspn(s, "0123456789");
        s += int_digits;
        if (*s == '.') {
                s++;
                size_t frac = strspn(s, "0123456789");
                if (int_digits == 0 && frac == 0)
                        return false;
                s += frac;
        } else if (int_digits == 0) {
                return false;
        }
        if (*s == 'e' || *s == 'E') {
                s++;
                if (*s == '-' || *s == '+')
                        s++;
                size_t exp = strspn(s, "0123456789");
                if (exp == 0)
                        return false;
                s += exp;
        }
        return *s == '\0';
}

/* Parses digits in base into *ret; -ERANGE past int64. */
static int parse_int(const char *s, int base, json_int_t *ret) {
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, base);
        if (errno == ERANGE)
                return -ERANGE;
        *ret = (json_int_t)v;
        return 0;
}

/* Resolves a plain scalar s (NUL-free, length n) per the YAML 1.2 core
 * schema.  Returns a new value, or NULL with *why set (or -ENOMEM when
 * *why stays NULL). */
static json_t *resolve_plain(const char *s, size_t n, const char **why) {
        static const char *const nulls[] = {"null", "Null", "NULL", "~", NULL};
        static const char *const trues[] = {"true", "True", "TRUE", NULL};
        static const char *const falses[] = {"false", "False", "FALSE", NULL};
        static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                           "-.inf", "-.Inf", "-.INF", NULL};
        static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
        json_int_t i;

        *why = NULL;
        if (n == 0 || one_of(s, nulls))
                return json_null();
        if (one_of(s, trues))
                return json_true();
        if (one_of(s, falses))
                return json_false();
        if (one_of(s, infs) || one_of(s, nans)) {
                *why = "NaN and infinity are not allowed";
                return NULL;
        }
        bool sign = s[0] == '-' || s[0] == '+';
        if (all_of(s + sign, n - sign, "0123456789") ||
            (n > 2 && s[0] == '0' && s[1] == 'o' && all_of(s + 2, n - 2, "01234567")) ||
            (n > 2 && s[0] == '0' && s[1] == 'x' &&
             all_of(s + 2, n - 2, "0123456789abcdefABCDEF"))) {
                int base = s[1] == 'o' ? 8 : s[1] == 'x' ? 16 : 10;
                if (parse_int(base == 10 ? s : s + 2, base, &i) < 0) {
                        *why = "integer out of range";
                        return NULL;
                }
                return json_integer(i);
        }
        if (is_core_float(s)) {
                double d = strtod(s, NULL);
                if (!isfinite(d)) {
                        *why = "number out of range";
                        return NULL;
                }
                return json_real(d);
        }
        json_t *v = json_stringn(s, n);
        if (!v)
                *why = "invalid UTF-8";
        return v;
}

/* Attaches v (stolen) at the current place: the root, the pending key of
 * the open mapping, or the end of the open sequence. */
static int attach(struct parser *p, json_t *v, yaml_mark_t mark) {
        struct cfgy_pos pos = {.val_line = (int)mark.line + 1, .val_col = (int)mark.column + 1};
        if (p->depth == 0) {
                p->root = v;
                return postab_add(p->pt, &pos);
        }
        struct frame *f = &p->stack[p->depth - 1];
        pos.parent = f->node;
        if (json_is_object(f->node)) {
                if (json_object_set_new(f->node, f->key, v) < 0)
                        return -ENOMEM;
                pos.key = f->key;
                pos.key_line = f->key_line;
                pos.key_col = f->key_col;
                f->key = NULL;
        } else {
                pos.idx = json_array_size(f->node);
                if (json_array_append_new(f->node, v) < 0)
                        return -ENOMEM;
        }
        return postab_add(p->pt, &pos);
}

static bool expecting_key(const struct parser *p) {
        if (p->depth == 0)
                return false;
        const struct frame *f = &p->stack[p->depth - 1];
        return json_is_object(f->node) && !f->key;
}

/* A scalar: a mapping key (checked for duplicates) or a value. */
static int on_scalar(struct parser *p, const yaml_event_t *ev) {
        const char *s = (const char *)ev->data.scalar.value;
        size_t n = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        yaml_mark_t m = ev->start_mark;

        if (memchr(s, '\0', n))
                return perr(p, -EINVAL, m, "NUL characters are not allowed");
        if (tag && strcmp(tag, "!") != 0 && strcmp(tag, TAG_STR) != 0)
                return perr(p, -EINVAL, m, "YAML tags other than !!str are not allowed");
        if (expecting_key(p)) {
                struct frame *f = &p->stack[p->depth - 1];
                json_t *probe = json_stringn(s, n);
                if (!probe)
                        return perr(p, -EINVAL, m, "invalid UTF-8");
                json_decref(probe);
                if (json_object_getn(f->node, s, n))
                        return perr(p, -EINVAL, m, "duplicate key \"%.80s\"", s);
                f->key = strndup(s, n);
                if (!f->key)
                        return -ENOMEM;
                f->key_line = (int)m.line + 1;
                f->key_col = (int)m.column + 1;
                return 0;
        }
        json_t *v;
        const char *why = NULL;
        if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
                v = json_stringn(s, n);
                if (!v)
                        why = "invalid UTF-8";
        } else {
                v = resolve_plain(s, n, &why);
        }
        if (!v)
                return why ? perr(p, -EINVAL, m, "%s", why) : -ENOMEM;
        return attach(p, v, m);
}

/* A mapping or sequence starts: attach it and open a frame. */
static int on_start(struct parser *p, const yaml_event_t *ev, bool is_map) {
        const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
                                                : ev->data.sequence_start.tag);
        if (tag && strcmp(tag, is_map ? TAG_MAP : TAG_SEQ) != 0)
                return perr(p, -EINVAL, ev->start_mark, "YAML tags are not allowed here");
        if (expecting_key(p))
                return perr(p, -EINVAL, ev->start_mark, "mapping keys must be scalars");
        if (p->depth == CFG_MAX_DEPTH)
                return perr(p, -E2BIG, ev->start_mark, "nesting is deeper than %u levels",
                            CFG_MAX_DEPTH);
        json_t *v = is_map ? json_object() : json_array();
        if (!v)
                return -ENOMEM;
        int r = attach(p, v, ev->start_mark);
        if (r < 0)
                return r;
        p->stack[p->depth++] = (struct frame){.node = v};
        return 0;
}

/* Handles one event; returns 1 at the end of the stream. */
static int on_event(struct parser *p, const yaml_event_t *ev) {
        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                if (p->ndocs++ > 0)
                        return perr(p, -EINVAL, ev->start_mark,
                                    "only one YAML document is allowed per file");
                return 0;
        case YAML_ALIAS_EVENT:
                return perr(p, -EINVAL, ev->start_mark, "YAML aliases are not allowed");
        case YAML_SCALAR_EVENT:
                return on_scalar(p, ev);
        case YAML_MAPPING_START_EVENT:
                return on_start(p, ev, true);
        case YAML_SEQUENCE_START_EVENT:
                return on_start(p, ev, false);
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
                p->depth--;
                return 0;
        case YAML_STREAM_END_EVENT:
                return 1;
        default:
                return 0;
        }
}

/* Stores libyaml's own error. */
static int syntax_error(struct parser *p, const yaml_parser_t *yp) {
        const char *problem = yp->problem ? yp->problem : "cannot parse";
        if (yp->error == YAML_MEMORY_ERROR)
                return -ENOMEM;
        if (yp->context)
                return perr(p, -EINVAL, yp->problem_mark, "YAML syntax error: %s %s", problem,
                            yp->context);
        return perr(p, -EINVAL, yp->problem_mark, "YAML syntax error: %s", problem);
}

int cfgy_parse(const char *file, const char *buf, size_t len, json_t **ret,
               struct cfgy_postab *pt, char **ret_err) {
        struct parser p = {.file = file, .pt = pt};
        yaml_parser_t yp;
        int r = 0;

        if (!yaml_parser_initialize(&yp))
                return -ENOMEM;
        yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
        while (r == 0) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&yp, &ev)) {
                        r = syntax_error(&p, &yp);
                        break;
                }
                r = on_event(&p, &ev);
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&yp);
        for (size_t i = 0; i < p.depth; i++)
                free(p.stack[i].key);
        if (r == 1 && !p.root)
                r = perr(&p, -EINVAL, (yaml_mark_t){0}, "the file holds no YAML document");
        if (r < 0) {
                json_decref(p.root);
                if (r == -ENOMEM) {
                        free(p.err);
                        return r;
                }
                *ret_err = p.err;
                return r;
        }
        *ret = p.root;
        return 0;
}
