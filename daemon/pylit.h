/* pylit.h — JSON values as Python literals (the template engine's escaping).
 *
 * Pure module.  The literal of a value is:
 *   string → json.dumps(s, ensure_ascii=False)   ("a\"b", non-ASCII kept)
 *   true/false → True/False, null → None, integer → decimal,
 *   real → Python's repr(float) (shortest round-trip; NaN/inf are errors),
 *   array → [a, b], object → {"k": v} (", " and ": " separators, insertion order).
 */
#pragma once
#include <jansson.h>
#include <stddef.h>

struct strbuf;

/* Appends the literal of v to sb.  Returns 0, -EINVAL for NaN/infinity
 * (message in err when err is not NULL: errsz bytes), -E2BIG past limit
 * bytes in sb, or -ENOMEM. */
int pylit_append(struct strbuf *sb, const json_t *v, size_t limit, char *err, size_t errsz);

/* Appends Python's repr() of a finite double (shortest string that
 * round-trips, Python's formatting rules: 1.0, 1e+16, 1e-05, 0.1). */
int pylit_float(struct strbuf *sb, double d);
