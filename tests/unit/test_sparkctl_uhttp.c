/* The tools' tiny HTTP client: response parsing and the default socket path.
 * uhttp.c is not part of libsparkd.a, so it is compiled in here. */
#include "unit.h"

#include <errno.h>
#include <unistd.h>

#include "../../tools/uhttp.c"

/* Parses s (eof as given); returns uhttp_parse's result, fills *r. */
static int parse(const char *s, int eof, struct uhttp_response *r) {
        return uhttp_parse(s, strlen(s), eof, r);
}

static void test_content_length_body(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, &r), 1);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 2);
        assert_string_equal(r.body, "{}");
        uhttp_response_free(&r);
        assert_null(r.body);
}

static void test_extra_bytes_after_body_are_ignored(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(parse("HTTP/1.1 404 X\r\ncontent-length:3\r\n\r\nabcdef", 0, &r), 1);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body, "abc");
        uhttp_response_free(&r);
}

static void test_incomplete_needs_more(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Le", 0, &r), 0);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 0, &r), 0);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\n\r\nbody so far", 0, &r), 0);
        assert_null(r.body);
}

static void test_eof_ends_a_body_without_length(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nall of it", 1, &r), 1);
        assert_string_equal(r.body, "all of it");
        uhttp_response_free(&r);
}

static void test_no_body_statuses(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(parse("HTTP/1.1 204 No Content\r\n\r\n", 0, &r), 1);
        assert_int_equal(r.status, 204);
        assert_int_equal(r.body_len, 0);
        assert_string_equal(r.body, "");
        uhttp_response_free(&r);
}

static void test_malformed(void **state) {
        (void)state;
        static const char *bad[] = {
                "SSH-2.0-OpenSSH\r\n\r\n",
                "HTTP/2 200 OK\r\n\r\n",
                "HTTP/1.1 2x0 OK\r\n\r\n",
                "HTTP/1.1 200OK\r\n\r\n",
                "HTTP/1.1 020 O\r\n\r\n", /* found by fuzz_uhttp: statuses are 100..599 */
                "HTTP/1.1 600 X\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                struct uhttp_response r = {0};
                assert_int_equal(parse(bad[i], 0, &r), -EPROTO);
                assert_null(r.body);
        }
}

static void test_eof_too_early(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 1, &r), -EPROTO);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\n", 1, &r), -EPROTO);
        assert_int_equal(parse("", 1, &r), -EPROTO);
}

static void test_default_socket(void **state) {
        (void)state;
        char buf[UHTTP_MAX_PATH], want[64];
        setenv("SPARKD_SOCKET", "/x/s.sock", 1);
        setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
        assert_int_equal(uhttp_default_socket(buf, sizeof buf), 0);
        assert_string_equal(buf, "/x/s.sock");
        setenv("SPARKD_SOCKET", "", 1); /* empty counts as unset */
        assert_int_equal(uhttp_default_socket(buf, sizeof buf), 0);
        assert_string_equal(buf, "/run/user/7/sparkd/sparkd.sock");
        unsetenv("SPARKD_SOCKET");
        unsetenv("XDG_RUNTIME_DIR");
        assert_int_equal(uhttp_default_socket(buf, sizeof buf), 0);
        snprintf(want, sizeof want, "/tmp/sparkd-%ld/sparkd.sock", (long)geteuid());
        assert_string_equal(buf, want);
}

static void test_default_socket_too_long(void **state) {
        (void)state;
        char buf[UHTTP_MAX_PATH], dir[200];
        memset(dir, 'd', sizeof dir - 1);
        dir[0] = '/';
        dir[sizeof dir - 1] = '\0';
        unsetenv("SPARKD_SOCKET");
        setenv("XDG_RUNTIME_DIR", dir, 1);
        assert_int_equal(uhttp_default_socket(buf, sizeof buf), -ENAMETOOLONG);
        unsetenv("XDG_RUNTIME_DIR");
}

static void test_request_to_missing_socket(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        assert_int_equal(uhttp_request("/nonexistent/dir/s.sock", "GET", "/", NULL, 1000, &r), -ENOENT);
        char longp[200];
        memset(longp, 'p', sizeof longp - 1);
        longp[sizeof longp - 1] = '\0';
        assert_int_equal(uhttp_request(longp, "GET", "/", NULL, 1000, &r), -ENAMETOOLONG);
        assert_null(r.body);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_content_length_body),
                cmocka_unit_test(test_extra_bytes_after_body_are_ignored),
                cmocka_unit_test(test_incomplete_needs_more),
                cmocka_unit_test(test_eof_ends_a_body_without_length),
                cmocka_unit_test(test_no_body_statuses),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_eof_too_early),
                cmocka_unit_test(test_default_socket),
                cmocka_unit_test(test_default_socket_too_long),
                cmocka_unit_test(test_request_to_missing_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
