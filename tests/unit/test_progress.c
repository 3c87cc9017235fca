/* Unit tests for progress_model.c: an HTTP/1.0 response from the Spark UI
 * (a case per error) and Spark's jobs, stages and executors JSON turned
 * into the compact model the progress API shows. */
#include "unit.h"

#include <errno.h>

#include "progress.h"

#define OK_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"

static int parse(const char *text, struct progress_http *h) {
        return progress_http_parse(text, strlen(text), h);
}

static void test_http_ok(void **state) {
        (void)state;
        struct progress_http h;
        assert_int_equal(parse(OK_HEAD "\r\n[1,2]", &h), 0);
        assert_int_equal(h.status, 200);
        assert_int_equal(h.body_len, 5);
        assert_memory_equal(h.body, "[1,2]", 5);
        assert_int_equal(parse("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef", &h), 0);
        assert_int_equal(h.status, 404);
        assert_int_equal(h.body_len, 3); /* past Content-Length: ignored */
        assert_int_equal(parse("HTTP/1.1 204\r\n\r\n", &h), 0);
        assert_int_equal(h.body_len, 0);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n{}", &h), 0);
}

static void test_http_errors(void **state) {
        (void)state;
        struct progress_http h;
        static const struct {
                const char *text;
                int want;
        } cases[] = {
                {"", -EPROTO},                                              /* nothing */
                {"HTTP/1.1 200 OK\r\nX: y\r\n", -EPROTO},                  /* head cut short */
                {"HTTP/2 200 OK\r\n\r\n", -EBADMSG},                      /* not HTTP/1.x */
                {"HTTP/1.1 2000 OK\r\n\r\n", -EBADMSG},                   /* four digits */
                {"HTTP/1.1 20x OK\r\n\r\n", -EBADMSG},
                {"ICY 200 OK\r\n\r\n", -EBADMSG},
                {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", -EBADMSG},   /* a header without ':' */
                {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", -EPROTO},
                {"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nxx", -EPROTO},
                {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", -EPROTO},
                {"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", -EPROTO},
                {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", -EPROTO},
                {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", -EPROTO}, /* body cut short */
                {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", -EFBIG},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                int r = parse(cases[i].text, &h);
                if (r != cases[i].want)
                        fail_msg("case %zu (%s): %d, want %d", i, cases[i].text, r, cases[i].want);
        }
}

static void test_http_limits(void **state) {
        (void)state;
        struct progress_http h;
        /* a head that never ends within the limit */
        size_t n = PROGRESS_MAX_HEAD + 10;
        char *big = malloc(n + 1);
        memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
        memset(big + 20, 'a', n - 20);
        big[n] = '\0';
        assert_int_equal(progress_http_parse(big, n, &h), -EMSGSIZE);
        free(big);
        /* a body over PROGRESS_MAX_BODY without Content-Length */
        size_t head = strlen(OK_HEAD "\r\n");
        n = head + PROGRESS_MAX_BODY + 1;
        big = malloc(n);
        memcpy(big, OK_HEAD "\r\n", head);
        memset(big + head, ' ', n - head);
        assert_int_equal(progress_http_parse(big, n, &h), -EFBIG);
        assert_int_equal(progress_http_parse(big, n - 1, &h), 0); /* exactly the limit */
        free(big);
}

static void test_time(void **state) {
        (void)state;
        double t;
        assert_int_equal(progress_parse_time("2024-05-01T12:00:00.250GMT", &t), 0);
        assert_true(t > 1714564799.0 && t < 1714564801.0);
        assert_int_equal((long long)(t * 1000) % 1000, 250);
        assert_int_equal(progress_parse_time("1970-01-01T00:00:10GMT", &t), 0);
        assert_true(t == 10.0);
        static const char *const bad[] = {"", "2024-05-01", "2024-05-01T12:00:00.2GMT", "2024-13-01T12:00:00GMT",
                                          "2024-05-01T12:00:00PST", "2024-05-01 12:00:00GMT", "x024-05-01T12:00:00GMT",
                                          "2024-05-01T12:00:00.250GMTX", "1969-12-31T23:59:59GMT"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                if (progress_parse_time(bad[i], &t) != -EINVAL)
                        fail_msg("'%s' was taken", bad[i]);
        assert_int_equal(progress_parse_time(NULL, &t), -EINVAL);
}

static const char job_json[] =
        "[{\"jobId\": 3, \"name\": \"count at <stdin>:1\", \"submissionTime\": \"2024-05-01T12:00:00.000GMT\","
        " \"stageIds\": [4, 5], \"jobTags\": [\"other\", \"sparkd-cell-c1\", \"sparkd-msg-m_1-2\"],"
        " \"status\": \"RUNNING\", \"numTasks\": 8, \"numActiveTasks\": 2, \"numCompletedTasks\": 9,"
        " \"numCompletedIndices\": 3, \"numSkippedTasks\": 1, \"numFailedTasks\": 0, \"numActiveStages\": 1,"
        " \"numCompletedStages\": 1, \"numSkippedStages\": 0, \"numFailedStages\": 0}]";

static void test_jobs(void **state) {
        (void)state;
        json_t *jobs = NULL;
        assert_int_equal(progress_parse_jobs(job_json, strlen(job_json), &jobs), 0);
        assert_int_equal(json_array_size(jobs), 1);
        json_t *j = json_array_get(jobs, 0);
        assert_int_equal(json_integer_value(json_object_get(j, "id")), 3);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "running");
        assert_string_equal(json_string_value(json_object_get(j, "cell_id")), "c1");
        assert_string_equal(json_string_value(json_object_get(j, "msg_id")), "m_1-2");
        json_t *t = json_object_get(j, "tasks"), *s = json_object_get(j, "stages");
        assert_int_equal(json_integer_value(json_object_get(t, "total")), 8);
        assert_int_equal(json_integer_value(json_object_get(t, "done")), 3); /* indices, not attempts */
        assert_int_equal(json_integer_value(json_object_get(t, "skipped")), 1);
        assert_int_equal(json_integer_value(json_object_get(s, "total")), 2);
        assert_int_equal(json_integer_value(json_object_get(s, "done")), 1);
        assert_true(json_is_real(json_object_get(j, "submitted_at")));
        assert_true(json_is_null(json_object_get(j, "completed_at")));
        json_decref(jobs);
        /* one job (jobs/<id>), Connect's wrapped tags, an unknown status */
        const char *one = "{\"jobId\": 0, \"status\": \"WEIRD\", \"name\": \"Spark Connect - x\\nplan {\", \"jobTags\":"
                          " [\"SparkConnect_SessionTag_User__Session_f343b459-c6bc_Tag_sparkd-cell-abc\", 5]}";
        assert_int_equal(progress_parse_jobs(one, strlen(one), &jobs), 0);
        j = json_array_get(jobs, 0);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "unknown");
        assert_string_equal(json_string_value(json_object_get(j, "cell_id")), "abc");
        assert_true(json_is_null(json_object_get(j, "msg_id")));
        assert_string_equal(json_string_value(json_object_get(j, "name")), "Spark Connect - x");
        json_decref(jobs);
}

static void test_jobs_errors(void **state) {
        (void)state;
        static const struct {
                const char *text;
                int want;
        } cases[] = {
                {"", -EBADMSG},
                {"[1,", -EBADMSG},
                {"{\"jobId\": 1, \"jobId\": 2}", -EBADMSG},       /* duplicate keys */
                {"\"jobs\"", -EPROTO},
                {"[1]", -EPROTO},
                {"[{}]", -EPROTO},                                /* no jobId */
                {"[{\"jobId\": -1}]", -EPROTO},
                {"[{\"jobId\": \"1\"}]", -EPROTO},
                {"[{\"jobId\": 1, \"numTasks\": -3}]", -EPROTO},
                {"[{\"jobId\": 1, \"numTasks\": 1.5}]", -EPROTO},
                {"[{\"jobId\": 1, \"stageIds\": 4}]", -EPROTO},
                {"[{\"jobId\": 1, \"stageIds\": [\"4\"]}]", -EPROTO},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                json_t *v = NULL;
                int r = progress_parse_jobs(cases[i].text, strlen(cases[i].text), &v);
                if (r != cases[i].want)
                        fail_msg("case %zu (%s): %d, want %d", i, cases[i].text, r, cases[i].want);
                assert_null(v);
        }
        /* more elements than PROGRESS_MAX_LIST */
        size_t n = PROGRESS_MAX_LIST + 1;
        char *big = malloc(n * 2 + 2);
        big[0] = '[';
        for (size_t i = 0; i < n; i++)
                big[1 + 2 * i] = '0', big[2 + 2 * i] = ',';
        big[2 * n] = ']';
        json_t *v = NULL;
        assert_int_equal(progress_parse_jobs(big, 2 * n + 1, &v), -E2BIG);
        free(big);
}

static void test_failed_stages(void **state) {
        (void)state;
        const char *text =
                "[{\"stageId\": 7, \"failureReason\": \"Job aborted due to stage failure: Task 0 in stage 7.0 failed 1"
                " times, most recent failure: Lost task 0.0 in stage 7.0 (TID 9) (127.0.0.1 executor driver):"
                " org.apache.spark.api.python.PythonException: Traceback (most recent call last):\\n  File \\\"x.py\\\","
                " line 1, in boom\\nValueError: boom 0\\n\\n\\tat org.apache.spark.Foo(Foo.scala:1)\\n"
                "Caused by: java.lang.Error: nope\"},"
                " {\"stageId\": 8, \"failureReason\": \"Job aborted due to stage failure: most recent failure: Lost"
                " task 0.0 (TID 1) (host executor 1): java.lang.RuntimeException: disk full\\n\\tat x\"},"
                " {\"stageId\": 9}]";
        json_t *v = NULL;
        assert_int_equal(progress_parse_failed_stages(text, strlen(text), &v), 0);
        assert_int_equal(json_array_size(v), 3);
        json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1), *c = json_array_get(v, 2);
        assert_int_equal(json_integer_value(json_object_get(a, "stage")), 7);
        assert_string_equal(json_string_value(json_object_get(a, "message")), "ValueError: boom 0");
        assert_string_equal(json_string_value(json_object_get(b, "message")), "java.lang.RuntimeException: disk full");
        assert_string_equal(json_string_value(json_object_get(c, "message")), "");
        json_decref(v);
        static const char *const bad[] = {"{}", "[{\"stageId\": \"7\"}]", "[3]", "nope"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                v = NULL;
                int r = progress_parse_failed_stages(bad[i], strlen(bad[i]), &v);
                assert_int_equal(r, i == 3 ? -EBADMSG : -EPROTO);
                assert_null(v);
        }
}

static void test_error_line(void **state) {
        (void)state;
        char *s = progress_error_line("first line\nsecond");
        assert_string_equal(s, "first line");
        free(s);
        char *long_text = malloc(1000);
        memset(long_text, 'x', 999);
        long_text[999] = '\0';
        s = progress_error_line(long_text);
        assert_int_equal(strlen(s), PROGRESS_MAX_ERROR);
        free(s);
        free(long_text);
        s = progress_error_line("bad \xff byte");
        assert_string_equal(s, "bad \xef\xbf\xbd byte"); /* U+FFFD */
        free(s);
}

static void test_executors(void **state) {
        (void)state;
        json_t *v = NULL;
        const char *local = "[{\"id\": \"driver\", \"isActive\": true, \"totalCores\": 4, \"memoryUsed\": 10,"
                            " \"maxMemory\": 100}]";
        assert_int_equal(progress_parse_executors(local, strlen(local), &v), 0);
        assert_int_equal(json_integer_value(json_object_get(v, "alive")), 1);
        assert_int_equal(json_integer_value(json_object_get(v, "cores")), 4);
        json_decref(v);
        const char *cluster = "[{\"id\": \"driver\", \"isActive\": true, \"totalCores\": 0, \"maxMemory\": 999},"
                              " {\"id\": \"0\", \"isActive\": true, \"totalCores\": 2, \"memoryUsed\": 5,"
                              " \"maxMemory\": 50}, {\"id\": \"1\", \"isActive\": false, \"totalCores\": 2},"
                              " {\"id\": \"2\", \"totalCores\": 2, \"memoryUsed\": 1, \"maxMemory\": 50}]";
        assert_int_equal(progress_parse_executors(cluster, strlen(cluster), &v), 0);
        assert_int_equal(json_integer_value(json_object_get(v, "alive")), 2);
        assert_int_equal(json_integer_value(json_object_get(v, "dead")), 1);
        assert_int_equal(json_integer_value(json_object_get(v, "cores")), 4);
        assert_int_equal(json_integer_value(json_object_get(v, "memory_used")), 6);
        assert_int_equal(json_integer_value(json_object_get(v, "memory_total")), 100);
        json_decref(v);
        static const char *const bad[] = {"[{\"isActive\": true}]", "[{\"id\": 0}]", "{}", "]"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                v = NULL;
                assert_int_equal(progress_parse_executors(bad[i], strlen(bad[i]), &v), i == 3 ? -EBADMSG : -EPROTO);
                assert_null(v);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_http_ok),     cmocka_unit_test(test_http_errors),
                cmocka_unit_test(test_http_limits), cmocka_unit_test(test_time),
                cmocka_unit_test(test_jobs),        cmocka_unit_test(test_jobs_errors),
                cmocka_unit_test(test_failed_stages), cmocka_unit_test(test_error_line),
                cmocka_unit_test(test_executors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
