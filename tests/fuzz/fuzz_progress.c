/* fuzz_progress.c — progress_model.c's parsers on arbitrary bytes.
 *
 * Input: one selector byte, then the text, parsed from a copy of its
 * exact size (an over-read is caught):
 *   0  progress_http_parse      (a body inside the buffer, within limits)
 *   1  progress_parse_jobs      (every job has the members the API shows)
 *   2  progress_parse_failed_stages
 *   3  progress_parse_executors (counts never negative, dead + alive counted)
 *   4  progress_parse_time, 5 progress_error_line (NUL-terminated copies)
 * A parser returns 0 with a value or a negative errno without one. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

static void check_job(json_t *j) {
        static const char *const keys[] = {"id", "name", "status", "cell_id", "msg_id", "tasks", "stages",
                                           "submitted_at", "completed_at", "stage_ids"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
                if (!json_object_get(j, keys[i]))
                        abort();
        if (json_integer_value(json_object_get(j, "id")) < 0)
                abort();
        json_t *c = json_object_get(j, "cell_id");
        if (json_is_string(c) && (json_string_length(c) == 0 || json_string_length(c) > PROGRESS_MAX_TAG))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        int which = data[0] % 6;
        size_t len = size - 1;
        char *buf = malloc(len + 1);
        if (!buf)
                return 0;
        memcpy(buf, data + 1, len);
        json_t *v = NULL;
        int r = 0;
        switch (which) {
        case 0: {
                struct progress_http h;
                r = progress_http_parse(buf, len, &h);
                if (r == 0 && (h.body < buf || h.body + h.body_len > buf + len || h.body_len > PROGRESS_MAX_BODY ||
                               h.status < 0 || h.status > 999))
                        abort();
                break;
        }
        case 1:
                r = progress_parse_jobs(buf, len, &v);
                if (r == 0) {
                        size_t i;
                        json_t *j;
                        json_array_foreach(v, i, j) check_job(j);
                }
                break;
        case 2:
                r = progress_parse_failed_stages(buf, len, &v);
                break;
        case 3:
                r = progress_parse_executors(buf, len, &v);
                if (r == 0 && (json_integer_value(json_object_get(v, "alive")) < 0 ||
                               json_integer_value(json_object_get(v, "dead")) < 0))
                        abort();
                break;
        case 4: {
                buf[len] = '\0';
                double t;
                r = progress_parse_time(buf, &t);
                if (r == 0 && t < 0)
                        abort();
                break;
        }
        default: {
                buf[len] = '\0';
                char *line = progress_error_line(buf);
                if (line && (strlen(line) > PROGRESS_MAX_ERROR || strchr(line, '\n')))
                        abort();
                free(line);
        }
        }
        if ((r == 0) != (v != NULL) && which >= 1 && which <= 3)
                abort();
        if (r > 0)
                abort();
        json_decref(v);
        free(buf);
        return 0;
}
