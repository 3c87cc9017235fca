#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vstrdupf(const char *fmt, va_list ap) {
        char *s = NULL;
        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *strdupf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vstrdupf(fmt, ap);
        va_end(ap);
        return s;
}

char **strv_new(size_t n, ...) {
        char **v = calloc(n + 1, sizeof *v);
        if (!v)
                return NULL;
        va_list ap;
        va_start(ap, n);
        size_t i = 0;
        for (; i < n; i++)
                if (!(v[i] = strdup(va_arg(ap, const char *))))
                        break;
        va_end(ap);
        return i == n ? v : strv_free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

char **strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++) {
                explicit_bzero(v[i], strlen(v[i]));
                free(v[i]);
        }
        free(v);
        return NULL;
}

json_t *env_object(char **environ_list, int (*drop)(const char *name, size_t len)) {
        json_t *map = json_object();
        for (char **e = environ_list; map && e && *e; e++) {
                const char *eq = strchr(*e, '=');
                size_t n = eq ? (size_t)(eq - *e) : 0;
                if (n == 0 || (drop && drop(*e, n)))
                        continue;
                char name[256];
                if (n >= sizeof name)
                        continue;
                memcpy(name, *e, n);
                name[n] = '\0';
                if (json_object_get(map, name))
                        continue;
                json_t *v = json_string(eq + 1); /* NULL when not UTF-8: left out */
                if (v)
                        json_object_set_new(map, name, v);
        }
        return map;
}

int env_list(const json_t *env, char ***ret) {
        char **v = calloc(json_object_size(env) + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        size_t n = 0;
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)env, k, val) {
                if (!json_is_string(val))
                        continue;
                if (!(v[n] = strdupf("%s=%s", k, json_string_value(val)))) {
                        strv_free(v);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = v;
        return 0;
}

int memsize_parse(const char *s, unsigned long long *ret) {
        size_t digits = s ? strspn(s, "0123456789") : 0;
        if (digits == 0 || digits > 15)
                return -EINVAL;
        unsigned long long n = strtoull(s, NULL, 10), unit;
        const char *u = s + digits;
        char c = (char)tolower((unsigned char)u[0]);
        switch (c) {
        case '\0': unit = 1ull << 20; break;
        case 'b': unit = 1; break;
        case 'k': unit = 1ull << 10; break;
        case 'm': unit = 1ull << 20; break;
        case 'g': unit = 1ull << 30; break;
        case 't': unit = 1ull << 40; break;
        case 'p': unit = 1ull << 50; break;
        default: return -EINVAL;
        }
        if (c && u[1] && !(c != 'b' && tolower((unsigned char)u[1]) == 'b' && !u[2]))
                return -EINVAL;
        unsigned long long bytes;
        if (__builtin_mul_overflow(n, unit, &bytes))
                return -EINVAL;
        *ret = bytes;
        return 0;
}
