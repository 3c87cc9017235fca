/* util.h — small string, list and size helpers shared by the daemon's
 * modules (one of each, instead of a copy per module).  Pure: no logging,
 * no exit; allocation failures are NULL or -ENOMEM. */
#pragma once
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

/* A malloc'd formatted string, or NULL. */
char *strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *vstrdupf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A malloc'd NULL-terminated list of copies of the n strings that follow
 * (an argv), or NULL. */
char **strv_new(size_t n, ...);

/* The length of a NULL-terminated list. */
size_t strv_length(char *const *v);

/* Frees a NULL-terminated list of malloc'd strings, wiping each first
 * (lists here are argvs and environments, which may hold secrets).
 * Accepts NULL; returns NULL. */
char **strv_free(char **v);

/* The process environment as a JSON object of strings (the first of a
 * repeated name wins); names for which drop(name, len) is true are left
 * out (drop may be NULL).  NULL when out of memory. */
json_t *env_object(char **environ_list, int (*drop)(const char *name, size_t len));

/* An environment list ("K=V" strings, NULL-terminated) from a JSON object;
 * non-string members are skipped.  Returns 0 and *ret (free it with
 * strv_free), or -ENOMEM. */
int env_list(const json_t *env, char ***ret);

/* A JVM memory size in bytes: digits then k, m, g, t or p with an
 * optional b, or b alone; no suffix means MiB (as Spark reads
 * spark.driver.memory); case-insensitive; at most 15 digits.  Returns 0
 * and *ret, or -EINVAL (also for NULL and overflow) with *ret untouched. */
int memsize_parse(const char *s, unsigned long long *ret);
