/* progress_model.c — the pure half of progress.h: an HTTP/1.0 response
 * and Spark's status JSON → the compact model.  No I/O, no logging. */
#include "progress.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "utf8.h"

/* ---- HTTP ------------------------------------------------------------- */

/* "HTTP/1.x NNN" at the start of line (n bytes): the status, or -1. */
static int status_line(const char *line, size_t n) {
        if (n < 12 || memcmp(line, "HTTP/1.", 7) || !isdigit((unsigned char)line[7]) || line[8] != ' ')
                return -1;
        for (int i = 9; i < 12; i++)
                if (!isdigit((unsigned char)line[i]))
                        return -1;
        if (n > 12 && line[12] != ' ')
                return -1;
        return (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
}

/* True when the header line (n bytes) is "name" ":" value, name matched
 * without case; *ret_value and *ret_n get the value without blanks around. */
static bool header_is(const char *line, size_t n, const char *name, const char **ret_value, size_t *ret_n) {
        size_t k = strlen(name);
        if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
                return false;
        const char *v = line + k + 1, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        *ret_value = v;
        *ret_n = (size_t)(end - v);
        return true;
}

/* Checks one header line; updates *cl (-1: none).  Returns 0 or -errno. */
static int header_line(const char *line, size_t n, long long *cl) {
        const char *v;
        size_t vn;
        if (!memchr(line, ':', n))
                return -EBADMSG;
        if (header_is(line, n, "Content-Length", &v, &vn)) {
                if (vn == 0 || vn > 12 || *cl >= 0)
                        return -EPROTO;
                long long x = 0;
                for (size_t i = 0; i < vn; i++) {
                        if (!isdigit((unsigned char)v[i]))
                                return -EPROTO;
                        x = x * 10 + (v[i] - '0');
                }
                if (x > (long long)PROGRESS_MAX_BODY)
                        return -EFBIG;
                *cl = x;
        } else if (header_is(line, n, "Transfer-Encoding", &v, &vn) ||
                   header_is(line, n, "Content-Encoding", &v, &vn)) {
                if (vn != 8 || strncasecmp(v, "identity", 8))
                        return -EPROTO;
        }
        return 0;
}

int progress_http_parse(const char *buf, size_t len, struct progress_http *ret) {
        size_t scan = len < PROGRESS_MAX_HEAD ? len : PROGRESS_MAX_HEAD;
        const char *end = scan >= 4 ? memmem(buf, scan, "\r\n\r\n", 4) : NULL;
        if (!end)
                return len >= PROGRESS_MAX_HEAD ? -EMSGSIZE : -EPROTO;
        size_t head = (size_t)(end - buf) + 2; /* through the last header's CRLF */
        const char *p = buf, *stop = buf + head;
        const char *eol = memmem(p, head, "\r\n", 2);
        int status = status_line(p, (size_t)(eol - p));
        if (status < 0)
                return -EBADMSG;
        long long cl = -1;
        for (p = eol + 2; p < stop; p = eol + 2) {
                eol = memmem(p, (size_t)(stop - p), "\r\n", 2);
                int r = header_line(p, (size_t)(eol - p), &cl);
                if (r < 0)
                        return r;
        }
        size_t body_len = len - (head + 2);
        if (body_len > PROGRESS_MAX_BODY)
                return -EFBIG;
        if (cl >= 0) {
                if (body_len < (size_t)cl)
                        return -EPROTO;
                body_len = (size_t)cl;
        }
        *ret = (struct progress_http){.status = status, .body = buf + head + 2, .body_len = body_len};
        return 0;
}

/* ---- Spark's JSON ---------------------------------------------------- */

/* n digits at s → *ret; false when any is not a digit. */
static bool digits(const char *s, int n, int *ret) {
        int x = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)s[i]))
                        return false;
                x = x * 10 + (s[i] - '0');
        }
        *ret = x;
        return true;
}

int progress_parse_time(const char *s, double *ret) {
        int y, mo, d, h, mi, se, ms = 0;
        if (!s || strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
            !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
            !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
                return -EINVAL;
        const char *t = s + 19;
        if (*t == '.') {
                if (!digits(t + 1, 3, &ms))
                        return -EINVAL;
                t += 4;
        }
        if (strcmp(t, "GMT") && strcmp(t, "Z") && strcmp(t, "UTC"))
                return -EINVAL;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
                return -EINVAL;
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
                        .tm_sec = se};
        time_t secs = timegm(&tm);
        if (secs == (time_t)-1)
                return -EINVAL;
        *ret = (double)secs + ms / 1000.0;
        return 0;
}

/* A non-negative integer member (0 when absent); -1 when it is not one. */
static json_int_t count_of(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -1;
        return json_integer_value(v);
}

/* The id after prefix in the first tag holding it, or NULL (a new string). */
static json_t *tag_value(json_t *tags, const char *prefix) {
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t) {
                const char *s = json_string_value(t), *at = s ? strstr(s, prefix) : NULL;
                if (!at)
                        continue;
                at += strlen(prefix);
                size_t n = 0;
                while (n < PROGRESS_MAX_TAG && (isalnum((unsigned char)at[n]) || (at[n] && strchr("_.:-", at[n]))))
                        n++;
                if (n > 0)
                        return json_stringn(at, n);
        }
        return NULL;
}

static json_t *time_of(json_t *o, const char *key) {
        double t;
        return progress_parse_time(json_string_value(json_object_get(o, key)), &t) == 0 ? json_real(t) : json_null();
}

static const char *status_of(const char *s) {
        static const char *const known[] = {"running", "succeeded", "failed"};
        for (size_t i = 0; s && i < sizeof known / sizeof *known; i++)
                if (!strcasecmp(s, known[i]))
                        return known[i];
        return "unknown";
}

int progress_job_from_spark(json_t *v, json_t **ret) {
        json_t *id = json_object_get(v, "jobId"), *sids = json_object_get(v, "stageIds");
        if (!json_is_object(v) || !json_is_integer(id) || json_integer_value(id) < 0 ||
            (sids && !json_is_array(sids)))
                return -EPROTO;
        static const char *const tkeys[] = {"numTasks", "numCompletedIndices", "numActiveTasks", "numFailedTasks",
                                            "numSkippedTasks", "numCompletedStages", "numActiveStages",
                                            "numFailedStages", "numSkippedStages"};
        json_int_t c[9];
        for (size_t i = 0; i < 9; i++)
                if ((c[i] = count_of(v, tkeys[i])) < 0)
                        return -EPROTO;
        if (!json_object_get(v, "numCompletedIndices") && (c[1] = count_of(v, "numCompletedTasks")) < 0)
                return -EPROTO;
        json_t *stage_ids = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(sids, i, s) {
                if (!json_is_integer(s) || i >= PROGRESS_MAX_LIST) {
                        json_decref(stage_ids);
                        return -EPROTO;
                }
                json_array_append(stage_ids, s);
        }
        char name[161];
        const char *nm = json_string_value(json_object_get(v, "name")) ?: "";
        size_t nn = utf8_sanitize(nm, strcspn(nm, "\n"), name, sizeof name); /* Connect's holds its plan */
        json_t *tags = json_object_get(v, "jobTags");
        json_t *cell = tag_value(tags, "sparkd-cell-"), *msg = tag_value(tags, "sparkd-msg-");
        json_t *o = json_pack("{s:O, s:s%, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I},"
                              " s:o, s:o, s:o}",
                              "id", id, "name", name, nn, "status",
                              status_of(json_string_value(json_object_get(v, "status"))), "cell_id",
                              cell ? cell : json_null(), "msg_id", msg ? msg : json_null(), "tasks", "total", c[0],
                              "done", c[1], "active", c[2], "failed", c[3], "skipped", c[4], "stages", "total",
                              (json_int_t)json_array_size(stage_ids), "done", c[5], "active", c[6], "failed", c[7],
                              "skipped", c[8], "submitted_at", time_of(v, "submissionTime"), "completed_at",
                              time_of(v, "completionTime"), "stage_ids", stage_ids);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

/* body → a JSON value (a new reference); -EBADMSG when it is not JSON. */
static int load(const char *body, size_t len, json_t **ret) {
        json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        if (!v)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int progress_parse_jobs(const char *body, size_t len, json_t **ret) {
        json_t *v, *out = NULL;
        int r = load(body, len, &v);
        if (r < 0)
                return r;
        if (json_is_object(v)) { /* jobs/<id> */
                json_t *one = json_array();
                json_array_append(one, v);
                json_decref(v);
                v = one;
        }
        if (!json_is_array(v)) {
                r = -EPROTO;
        } else if (json_array_size(v) > PROGRESS_MAX_LIST) {
                r = -E2BIG;
        } else {
                out = json_array();
                size_t i;
                json_t *e, *job;
                json_array_foreach(v, i, e) {
                        if ((r = progress_job_from_spark(e, &job)) < 0)
                                break;
                        json_array_append_new(out, job);
                }
        }
        json_decref(v);
        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return out ? 0 : -ENOMEM;
}

int progress_parse_failed_stages(const char *body, size_t len, json_t **ret) {
        json_t *v;
        int r = load(body, len, &v);
        if (r < 0)
                return r;
        if (!json_is_array(v) || json_array_size(v) > PROGRESS_MAX_LIST) {
                r = json_is_array(v) ? -E2BIG : -EPROTO;
                json_decref(v);
                return r;
        }
        json_t *out = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
                json_t *id = json_object_get(e, "stageId");
                if (!json_is_integer(id)) {
                        r = -EPROTO;
                        break;
                }
                char *line = progress_error_line(json_string_value(json_object_get(e, "failureReason")) ?: "");
                json_array_append_new(out, json_pack("{s:O, s:s?}", "stage", id, "message", line));
                free(line);
        }
        json_decref(v);
        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return 0;
}

int progress_parse_executors(const char *body, size_t len, json_t **ret) {
        json_t *v;
        int r = load(body, len, &v);
        if (r < 0)
                return r;
        if (!json_is_array(v) || json_array_size(v) > PROGRESS_MAX_LIST) {
                r = json_is_array(v) ? -E2BIG : -EPROTO;
                json_decref(v);
                return r;
        }
        size_t i, others = 0;
        json_t *e;
        json_array_foreach(v, i, e) {
                const char *id = json_string_value(json_object_get(e, "id"));
                if (!id) {
                        json_decref(v);
                        return -EPROTO;
                }
                others += strcmp(id, "driver") != 0;
        }
        json_int_t alive = 0, dead = 0, cores = 0, used = 0, total = 0;
        json_array_foreach(v, i, e) {
                bool driver = !strcmp(json_string_value(json_object_get(e, "id")), "driver");
                if (driver && others > 0)
                        continue;
                json_t *active = json_object_get(e, "isActive");
                if (active && !json_is_true(active)) {
                        dead++;
                        continue;
                }
                alive++;
                json_int_t c = count_of(e, "totalCores"), u = count_of(e, "memoryUsed"), m = count_of(e, "maxMemory");
                cores += c > 0 ? c : 0;
                used += u > 0 ? u : 0;
                total += m > 0 ? m : 0;
        }
        json_decref(v);
        *ret = json_pack("{s:I, s:I, s:I, s:I, s:I}", "alive", alive, "dead", dead, "cores", cores, "memory_used",
                         used, "memory_total", total);
        return *ret ? 0 : -ENOMEM;
}

/* True for a line "Name: message" (a Python exception's last line). */
static bool exception_line(const char *s, size_t n) {
        size_t i = 0;
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.'))
                i++;
        return i > 0 && isalpha((unsigned char)s[0]) && i + 1 < n && s[i] == ':' && s[i + 1] == ' ';
}

/* A malloc'd copy of n bytes at s, valid UTF-8, at most PROGRESS_MAX_ERROR. */
static char *line_copy(const char *s, size_t n) {
        char *out = malloc(PROGRESS_MAX_ERROR + 1);
        if (out)
                utf8_sanitize(s, n, out, PROGRESS_MAX_ERROR + 1);
        return out;
}

char *progress_error_line(const char *reason) {
        const char *best = NULL;
        size_t best_n = 0;
        if (strstr(reason, "Traceback (most recent call last)")) {
                for (const char *p = reason; *p;) {
                        size_t n = strcspn(p, "\n");
                        if (!strncmp(p, "\tat ", 4))
                                break; /* the Java stack after the Python one */
                        if (exception_line(p, n))
                                best = p, best_n = n;
                        p += n + (p[n] == '\n');
                }
        }
        if (!best) {
                best = reason;
                best_n = strcspn(reason, "\n");
                const char *m = memmem(best, best_n, "most recent failure: ", 21);
                const char *colon = m ? memmem(m, best_n - (size_t)(m - best), "): ", 3) : NULL;
                if (colon && colon[3] && colon + 3 < best + best_n) {
                        best_n -= (size_t)(colon + 3 - best);
                        best = colon + 3;
                }
        }
        while (best_n > 0 && (best[best_n - 1] == '\r' || best[best_n - 1] == ' '))
                best_n--;
        return line_copy(best, best_n);
}
