/* utf8.h — bytes from outside (Spark's and the kernel's output) made into
 * text that jansson and JSON accept.
 *
 * Pure module.  "Valid" here means well-formed UTF-8 (RFC 3629, Unicode
 * table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF)
 * with no NUL byte, so that the text also survives as a C string.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is valid: well-formed UTF-8 without NUL bytes. */
bool utf8_valid(const char *s, size_t len);

/* Copies in[0..len) to out as valid text of at most outsize - 1 bytes,
 * followed by a NUL, and returns its length.  Well-formed characters are
 * copied byte for byte; each maximal ill-formed subsequence (a stray
 * continuation byte, an overlong or surrogate form, a code point above
 * U+10FFFF, a sequence cut short) becomes one U+FFFD, as Unicode
 * recommends and browsers and Python decode; NUL bytes are dropped.  When
 * the text does not fit, it stops before the first character that would
 * not fit whole, so a cut never splits a character.  Valid input of at
 * most outsize - 1 bytes comes back unchanged.  outsize 0 writes nothing.
 * in may be NULL when len is 0. */
size_t utf8_sanitize(const char *in, size_t len, char *out, size_t outsize);
