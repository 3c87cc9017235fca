/* tmpl_util.c — the template engine's arena, errors and UTF-8 helpers. */
#include "tmpl_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tchunk {
        struct tchunk *next;
        size_t used, cap;
        max_align_t data[];
};

#define TA_CHUNK (64u * 1024u)

void *ta_alloc(struct tarena *a, size_t n) {
        n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
        struct tchunk *c = a->head;
        if (!c || c->cap - c->used < n) {
                size_t cap = n > TA_CHUNK ? n : TA_CHUNK;
                c = malloc(sizeof *c + cap);
                if (!c)
                        return NULL;
                c->used = 0;
                c->cap = cap;
                c->next = a->head;
                a->head = c;
        }
        void *p = (char *)c->data + c->used;
        c->used += n;
        memset(p, 0, n);
        return p;
}

char *ta_strndup(struct tarena *a, const char *s, size_t n) {
        char *p = ta_alloc(a, n + 1);
        if (p && n)
                memcpy(p, s, n);
        return p;
}

/* Grows by doubling into fresh arena memory; the old array stays in the
 * arena, which wastes at most as much as the vector itself. */
int ta_push(struct tarena *a, void *vec, size_t *n, size_t *cap, const void *x, size_t size) {
        char **v = vec;
        if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 4;
                char *p = ta_alloc(a, ncap * size);
                if (!p)
                        return -ENOMEM;
                if (*n)
                        memcpy(p, *v, *n * size);
                *v = p;
                *cap = ncap;
        }
        memcpy(*v + *n * size, x, size);
        (*n)++;
        return 0;
}

void ta_free(struct tarena *a) {
        while (a->head) {
                struct tchunk *c = a->head;
                a->head = c->next;
                free(c);
        }
}

int terr(struct tmpl_err *err, int line, int col, int code, const char *fmt, ...) {
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                err->line = line;
                err->col = col;
                vsnprintf(err->msg, sizeof err->msg, fmt, ap);
                va_end(ap);
        }
        return code;
}

uint32_t tu_next(const char *s, size_t n, size_t *i) {
        const unsigned char *u = (const unsigned char *)s;
        uint32_t c = u[(*i)++];
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        if (more)
                c &= 0x3fu >> more;
        while (more-- && *i < n)
                c = (c << 6) | (u[(*i)++] & 0x3fu);
        return c;
}

/* str.isspace(): the Unicode White_Space characters plus the separators
 * \x1c-\x1f that Python counts as whitespace. */
bool tu_isspace(uint32_t c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
               c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
               c == 0x202f || c == 0x205f || c == 0x3000;
}

size_t tu_rstrip(const char *s, size_t n) {
        while (n) {
                size_t start = n - 1;
                while (start && ((unsigned char)s[start] & 0xc0) == 0x80)
                        start--;
                size_t i = start;
                if (!tu_isspace(tu_next(s, n, &i)))
                        break;
                n = start;
        }
        return n;
}

size_t tu_lstrip(const char *s, size_t n) {
        size_t i = 0;
        while (i < n) {
                size_t j = i;
                if (!tu_isspace(tu_next(s, n, &j)))
                        break;
                i = j;
        }
        return i;
}

/* Accepts what Python's UTF-8 codec accepts: shortest forms, no
 * surrogates, nothing above U+10FFFF. */
size_t tu_valid(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0;
        while (i < n) {
                unsigned c = u[i];
                size_t len;
                unsigned lo = 0x80, hi = 0xbf;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        len = 2;
                } else if (c >= 0xe0 && c <= 0xef) {
                        len = 3;
                        if (c == 0xe0)
                                lo = 0xa0;
                        if (c == 0xed)
                                hi = 0x9f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        len = 4;
                        if (c == 0xf0)
                                lo = 0x90;
                        if (c == 0xf4)
                                hi = 0x8f;
                } else {
                        return i;
                }
                if (n - i < len || u[i + 1] < lo || u[i + 1] > hi)
                        return i;
                for (size_t k = 2; k < len; k++)
                        if ((u[i + k] & 0xc0) != 0x80)
                                return i;
                i += len;
        }
        return n;
}

int tu_put(struct strbuf *sb, uint32_t c) {
        char b[4];
        size_t n;
        if (c < 0x80) {
                b[0] = (char)c;
                n = 1;
        } else if (c < 0x800) {
                b[0] = (char)(0xc0 | (c >> 6));
                b[1] = (char)(0x80 | (c & 0x3f));
                n = 2;
        } else if (c < 0x10000) {
                b[0] = (char)(0xe0 | (c >> 12));
                b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                b[2] = (char)(0x80 | (c & 0x3f));
                n = 3;
        } else {
                b[0] = (char)(0xf0 | (c >> 18));
                b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
                b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
                b[3] = (char)(0x80 | (c & 0x3f));
                n = 4;
        }
        return sb_append(sb, b, n);
}
