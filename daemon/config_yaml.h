/* config_yaml.h — one YAML document → JSON, with the position of every node.
 *
 * Internal to config.c (pure: never logs, never exits).  YAML 1.2 core
 * schema typing: plain true/True/TRUE/false/False/FALSE are booleans,
 * null/Null/NULL/~/empty are null, decimal (and 0o/0x) integers and floats
 * are numbers; every other plain scalar and every quoted or block scalar is
 * a string.  Aliases, tags other than !!str/!!map/!!seq, duplicate keys,
 * non-scalar keys, NaN/infinity, more than one document and nesting deeper
 * than CFG_MAX_DEPTH are refused.
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Where a value sits in the file: the value parent[key] (objects) or
 * parent[idx] (arrays); parent NULL for the root.  Lines and columns are
 * 1-based. */
struct cfgy_pos {
        const json_t *parent;
        char *key; /* NULL for array items and the root */
        size_t idx;
        int key_line, key_col;
        int val_line, val_col;
};

struct cfgy_postab {
        struct cfgy_pos *v;
        size_t n, cap;
};

/* Parses buf[0..len) (one YAML document whose root may be any node) into
 * *ret and records positions in *pt (which must start zeroed).  Returns 0,
 * or -EINVAL/-E2BIG (depth) with a malloc'd "FILE:LINE:COL: message" in
 * *ret_err, or -ENOMEM.  On failure *pt may hold entries: free it. */
int cfgy_parse(const char *file, const char *buf, size_t len, json_t **ret,
               struct cfgy_postab *pt, char **ret_err);

/* The position of parent[key] (key != NULL) or parent[idx], or NULL. */
const struct cfgy_pos *cfgy_pos_find(const struct cfgy_postab *pt, const json_t *parent,
                                     const char *key, size_t idx);

void cfgy_postab_free(struct cfgy_postab *pt);

struct strbuf;

/* Appends doc (an object) to sb as block-style YAML that cfgy_parse reads
 * back as the same JSON: every string double-quoted (escaped), keys plain
 * only when that is unambiguous, reals with a '.' or an exponent.  Returns
 * 0, -EINVAL (not an object, NaN), -E2BIG (too deep) or -ENOMEM. */
int cfgy_emit(struct strbuf *sb, const json_t *doc);

/* Replaces every byte of s that does not start a complete UTF-8 sequence
 * with '?', so messages that cut a string at a byte count stay valid JSON
 * strings.  Returns s. */
char *cfgy_scrub(char *s);

/* True when s is valid UTF-8 (as jansson wants it). */
bool cfgy_utf8_valid(const char *s);
