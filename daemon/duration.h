/* duration.h — the durations of configurations (`idle_stop`): "90s",
 * "30m", "2h", "1h30m", "1h30m15s"; "off" or "0" for never.
 *
 * Pure: never logs, never allocates.  A duration is one to three
 * NUMBER UNIT parts with units h, m, s, each at most once and in that
 * order; numbers are decimal digits; no spaces; at most
 * DURATION_TEXT_MAX bytes and DURATION_MAX seconds in all.  Zero ("0",
 * "0s", "0h0m") means never, as "off" does.
 */
#pragma once
#include <jansson.h>
#include <stddef.h>

#define DURATION_TEXT_MAX 32u                    /* bytes of a duration's text */
#define DURATION_MAX      (7u * 24u * 3600u)     /* 168h: a week */
#define DURATION_BUF      24u                    /* room for any formatted duration */

/* Parses s into seconds (0 for never).  Returns 0 and *ret_seconds, or
 * -EINVAL with why (a clause such as "unknown unit \"x\"", at most
 * why_size bytes) filled and *ret_seconds untouched. */
int duration_parse(const char *s, unsigned *ret_seconds, char *why, size_t why_size);

/* The same for a configuration value: a string, or the integer 0 (what
 * YAML reads from `idle_stop: 0`).  Other values are refused. */
int duration_of_json(const json_t *v, unsigned *ret_seconds, char *why, size_t why_size);

/* The canonical text of secs: "off" for 0, else its nonzero parts,
 * largest first ("1h30m", "90s" → "1m30s").  buf has DURATION_BUF bytes. */
void duration_format(unsigned secs, char buf[DURATION_BUF]);

/* The text people read: "30 min", "1 h 30 min", "4 s", "1 min 30 s";
 * "never" for 0.  buf has DURATION_BUF bytes. */
void duration_human(unsigned secs, char buf[DURATION_BUF]);
