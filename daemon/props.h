/* props.h — Spark configuration as a Java properties file.
 *
 * Every Spark process the daemon starts gets its configuration through
 * `--properties-file` (a 0600 file in a 0700 directory), never as
 * `--conf k=v` on its command line, where /proc/PID/cmdline shows it to
 * every user of the host.  The text is what java.util.Properties.load (and
 * Spark's Utils.getPropertiesFromFile) reads back exactly: `\`, `=`, `:`,
 * `#`, `!`, spaces where they matter and control characters escaped,
 * everything outside printable ASCII as \uXXXX (surrogate pairs beyond
 * U+FFFF), so the file's encoding never matters.  Pure, except
 * props_write.
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "strbuf.h"

#define PROPS_MAX_ENTRIES 1000

/* Appends s (UTF-8) escaped for a key (every space escaped) or a value (a
 * leading space escaped).  Returns 0, -EILSEQ for invalid UTF-8 or a NUL
 * byte within len, or -ENOMEM. */
int props_escape(struct strbuf *sb, const char *s, size_t len, bool key);

/* A conf value as Spark reads it: a string as it is, an integer in
 * decimal, a real the shortest way that reads back (Python's str(): "2.0"),
 * booleans "true"/"false" (as PySpark passes them).  NULL for null,
 * objects and arrays (and out of memory). */
char *props_value_text(const json_t *v);

/* Appends one "key=value\n" line per member of conf (an object), in its
 * order; null members are skipped.  Returns 0, -EINVAL for a member that
 * is not a scalar or an empty key, -E2BIG past PROPS_MAX_ENTRIES, -EILSEQ,
 * or -ENOMEM. */
int props_render(struct strbuf *sb, const json_t *conf);

/* Writes conf (props_render) to path, mode 0600, replacing it atomically.
 * Returns 0 or -errno. */
int props_write(const char *path, const json_t *conf);
