/* The tools' tiny HTTP client: response parsing, the default socket path
 * and the checks of who is behind a socket.  uhttp.c is not part of
 * libsparkd.a, so it is compiled in here. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
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
        /* The rest of the chain: test_sockpath.c. */
        unsetenv("SPARKD_SOCKET");
        unsetenv("XDG_RUNTIME_DIR");
        unsetenv("HOME");
        unsetenv("XDG_STATE_HOME");
        assert_int_equal(uhttp_default_socket(buf, sizeof buf), 0);
        snprintf(want, sizeof want, "/run/user/%ld/sparkd/sparkd.sock", (long)getuid());
        if (strcmp(buf, want) != 0) {
                snprintf(want, sizeof want, "/tmp/sparkd-%ld/sparkd.sock", (long)getuid());
                assert_string_equal(buf, want);
        }
        assert_int_equal(uhttp_default_socket(buf, 20), -ENAMETOOLONG);
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
        assert_int_equal(uhttp_request("/nonexistent/dir/s.sock", "GET", "/", NULL, 1000, &r, NULL),
                         -ENOENT);
        char longp[200];
        memset(longp, 'p', sizeof longp - 1);
        longp[sizeof longp - 1] = '\0';
        assert_int_equal(uhttp_request(longp, "GET", "/", NULL, 1000, &r, NULL), -ENAMETOOLONG);
        assert_null(r.body);
}

static char dir[64], sock[128];

/* A fresh 0700 directory with a socket bound (not listening) in it. */
static int make_socket_dir(void **state) {
        (void)state;
        snprintf(dir, sizeof dir, "/tmp/uhttp-test-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(sock, sizeof sock, "%s/s.sock", dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, sock);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : -1;
        if (fd >= 0)
                close(fd);
        return r;
}

static int remove_socket_dir(void **state) {
        (void)state;
        char cmd[192];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.link'", dir, dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* uhttp_check_socket's verdict on sock, with *f filled on -EPERM. */
static int check(const char *path, struct uhttp_refusal *f) {
        memset(f, 0, sizeof *f);
        return uhttp_check_socket(path, f);
}

static void test_check_socket(void **state) {
        (void)state;
        struct uhttp_refusal f;
        char path[160];
        assert_int_equal(check(sock, &f), 0);
        assert_int_equal(uhttp_check_socket(sock, NULL), 0);

        assert_int_equal(chmod(dir, 0750), 0);
        assert_int_equal(check(sock, &f), -EPERM);
        assert_int_equal(f.why, UHTTP_DIR_OPEN);
        assert_int_equal(f.mode & 07777, 0750);
        assert_string_equal(f.dir, dir);
        assert_int_equal(f.you, getuid());
        assert_int_equal(chmod(dir, 0700), 0);

        snprintf(path, sizeof path, "%s.link", dir);
        assert_int_equal(symlink(dir, path), 0);
        snprintf(path, sizeof path, "%s.link/s.sock", dir);
        assert_int_equal(check(path, &f), -EPERM);
        assert_int_equal(f.why, UHTTP_DIR_SYMLINK);

        snprintf(path, sizeof path, "%s/l.sock", dir);
        assert_int_equal(symlink(sock, path), 0);
        assert_int_equal(check(path, &f), -EPERM);
        assert_int_equal(f.why, UHTTP_SOCK_NOT_SOCKET);
        assert_true(S_ISLNK(f.mode));

        snprintf(path, sizeof path, "%s/missing.sock", dir);
        assert_int_equal(check(path, &f), -ENOENT);
        snprintf(path, sizeof path, "%s/x.sock", sock);
        assert_int_equal(check(path, &f), -ENOTDIR);

        if (getuid() == 0) { /* ownership: chown needs root */
                assert_int_equal(lchown(sock, 65534, 65534), 0);
                assert_int_equal(check(sock, &f), -EPERM);
                assert_int_equal(f.why, UHTTP_SOCK_NOT_OWNED);
                assert_int_equal(f.found, 65534);
                assert_int_equal(chown(dir, 65534, 65534), 0);
                assert_int_equal(check(sock, &f), -EPERM);
                assert_int_equal(f.why, UHTTP_DIR_NOT_OWNED);
                assert_int_equal(f.found, 65534);
        }
}

/* Nothing is sent to a socket that fails the check: the request fails
 * before connecting (a bound socket that does not listen would refuse). */
static void test_request_refused_before_connecting(void **state) {
        (void)state;
        struct uhttp_response r = {0};
        struct uhttp_refusal f;
        assert_int_equal(uhttp_request(sock, "GET", "/", NULL, 1000, &r, &f), -ECONNREFUSED);
        assert_int_equal(chmod(dir, 0755), 0);
        memset(&f, 0, sizeof f);
        assert_int_equal(uhttp_request(sock, "GET", "/", NULL, 1000, &r, &f), -EPERM);
        assert_int_equal(f.why, UHTTP_DIR_OPEN);
        assert_int_equal(uhttp_request(sock, "GET", "/", NULL, 1000, &r, NULL), -EPERM);
        assert_null(r.body);
}

static void test_refusal_messages(void **state) {
        (void)state;
        static const struct {
                struct uhttp_refusal f;
                const char *want;
        } cases[] = {
                {{UHTTP_DIR_NOT_OWNED, "/tmp/sparkd-1001", 1002, 1001, S_IFDIR | 0700},
                 "refusing /tmp/sparkd-1001/sparkd.sock: its directory belongs to uid 1002, not "
                 "you (uid 1001); another user may be trying to intercept Start Spark. Remove "
                 "/tmp/sparkd-1001 (ask an administrator if you cannot) or set SPARKD_SOCKET or "
                 "XDG_RUNTIME_DIR to a directory of your own"},
                {{UHTTP_DIR_SYMLINK, "/tmp/sparkd-1001", 1002, 1001, S_IFLNK | 0777},
                 "refusing /tmp/sparkd-1001/sparkd.sock: its directory /tmp/sparkd-1001 is a "
                 "symbolic link (owned by uid 1002), not a directory; another user may be trying "
                 "to intercept Start Spark. Remove /tmp/sparkd-1001 (ask an administrator if you "
                 "cannot) or set SPARKD_SOCKET or XDG_RUNTIME_DIR to a directory of your own"},
                {{UHTTP_DIR_OPEN, "/tmp/sparkd-1001", 1001, 1001, S_IFDIR | 0755},
                 "refusing /tmp/sparkd-1001/sparkd.sock: its directory /tmp/sparkd-1001 has mode "
                 "0755, open to other users (it must be 0700); run 'chmod 700 /tmp/sparkd-1001', "
                 "or remove it and let sparkd create it again"},
                {{UHTTP_SOCK_NOT_SOCKET, "/tmp/sparkd-1001", 1001, 1001, S_IFLNK | 0777},
                 "refusing /tmp/sparkd-1001/sparkd.sock: it is a symbolic link, not a socket; "
                 "remove it and start sparkd again"},
                {{UHTTP_SOCK_NOT_SOCKET, "/tmp/sparkd-1001", 1001, 1001, S_IFREG | 0600},
                 "refusing /tmp/sparkd-1001/sparkd.sock: it is another kind of file, not a "
                 "socket; remove it and start sparkd again"},
                {{UHTTP_SOCK_NOT_OWNED, "/tmp/sparkd-1001", 1002, 1001, S_IFSOCK | 0600},
                 "refusing /tmp/sparkd-1001/sparkd.sock: the socket belongs to uid 1002, not you "
                 "(uid 1001); another user may be trying to intercept Start Spark. Remove it and "
                 "start sparkd again"},
                {{UHTTP_PEER_NOT_OWNER, "/tmp/sparkd-1001", 0, 1001, 0},
                 "refusing /tmp/sparkd-1001/sparkd.sock: the process listening on it runs as uid "
                 "0, not you (uid 1001); another user may be trying to intercept Start Spark. "
                 "Remove the socket and start sparkd again; if it comes back, tell an "
                 "administrator"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char buf[1024];
                uhttp_refusal_message(&cases[i].f, "/tmp/sparkd-1001/sparkd.sock", buf, sizeof buf);
                assert_string_equal(buf, cases[i].want);
        }
}

/* ---- finding programs: the server's Python for sparkd-launch ---- */

static char progdir[64];

/* Writes an executable progdir/name with text. */
static void put_prog(const char *name, const char *text) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", progdir, name);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(p, 0755), 0);
}

static const char *in_dir(const char *name) {
        static char p[256];
        snprintf(p, sizeof p, "%s/%s", progdir, name);
        return p;
}

static void test_python_names(void **state) {
        (void)state;
        const char *yes[] = {"python", "python3", "python3.12", "/opt/venv/bin/python3.11", "python2.7"};
        const char *no[] = {"pythonx", "python-config", "ipython", "/usr/bin/python3-dbg",
                            "jupyterhub-singleuser", "sh", ""};
        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
                if (!tool_is_python_name(yes[i]))
                        fail_msg("%s is a python name", yes[i]);
        for (size_t i = 0; i < sizeof no / sizeof *no; i++)
                if (tool_is_python_name(no[i]))
                        fail_msg("%s is not a python name", no[i]);
}

static void test_python_of_a_command(void **state) {
        (void)state;
        snprintf(progdir, sizeof progdir, "/tmp/sparkd-test-tools-XXXXXX");
        assert_non_null(mkdtemp(progdir));
        put_prog("python3", "#!/bin/sh\n");
        put_prog("python3.12", "\x7f" "ELF binary\n");
        put_prog("venv-singleuser", "#!/opt/venv/bin/python3\n# -*- coding: utf-8 -*-\nimport sys\n");
        put_prog("env-singleuser", "#!/usr/bin/env python3\nimport sys\n");
        put_prog("env-opts", "#!/usr/bin/env -S PYTHONUNBUFFERED=1 python3 -u\n");
        put_prog("env-missing", "#!/usr/bin/env python9\n");
        put_prog("pip-long", "#!/bin/sh\n'''exec' \"/opt/a venv/bin/python3\" \"$0\" \"$@\"\n' '''\n");
        put_prog("shell-server", "#!/bin/sh\nexec jupyterhub-singleuser \"$@\"\n");
        put_prog("ruby-thing", "#!/usr/bin/ruby\n");
        put_prog("binary", "\x7f" "ELF\n");
        put_prog("no-newline", "#!/opt/venv/bin/python3");
        char out[4096], path[256];

        /* a command that is a python: itself, by the path found */
        assert_int_equal(tool_python_of("python3", progdir, out, sizeof out), 0);
        assert_string_equal(out, in_dir("python3"));
        assert_int_equal(tool_python_of(in_dir("python3.12"), NULL, out, sizeof out), 0);
        assert_string_equal(out, in_dir("python3.12"));
        /* a venv's console script: its #! names the venv's Python, kept as written */
        assert_int_equal(tool_python_of("venv-singleuser", progdir, out, sizeof out), 0);
        assert_string_equal(out, "/opt/venv/bin/python3");
        /* env: the Python found on PATH (options and NAME=VALUE skipped) */
        snprintf(path, sizeof path, "/nonexistent:%s", progdir);
        assert_int_equal(tool_python_of("env-singleuser", path, out, sizeof out), 0);
        assert_string_equal(out, in_dir("python3"));
        assert_int_equal(tool_python_of("env-opts", path, out, sizeof out), 0);
        assert_string_equal(out, in_dir("python3"));
        assert_int_equal(tool_python_of("env-missing", path, out, sizeof out), -ENOEXEC);
        /* pip's sh launcher for a path a #! line cannot hold */
        assert_int_equal(tool_python_of(in_dir("pip-long"), NULL, out, sizeof out), 0);
        assert_string_equal(out, "/opt/a venv/bin/python3");
        /* not a Python program, or not there */
        assert_int_equal(tool_python_of("shell-server", progdir, out, sizeof out), -ENOEXEC);
        assert_int_equal(tool_python_of("ruby-thing", progdir, out, sizeof out), -ENOEXEC);
        assert_int_equal(tool_python_of("binary", progdir, out, sizeof out), -ENOEXEC);
        assert_int_equal(tool_python_of("no-newline", progdir, out, sizeof out), -ENOEXEC);
        assert_int_equal(tool_python_of("venv-singleuser", "/nonexistent", out, sizeof out), -ENOENT);
        assert_int_equal(tool_python_of("venv-singleuser", NULL, out, sizeof out), -ENOENT);
        assert_int_equal(tool_python_of("", progdir, out, sizeof out), -ENOENT);
        assert_int_equal(tool_python_of("venv-singleuser", progdir, out, 8), -ENAMETOOLONG);

        /* beside: the program in the directory of exe */
        char exe[256];
        snprintf(exe, sizeof exe, "%s/sparkctl", progdir);
        assert_int_equal(tool_beside(exe, "python3", out, sizeof out), 0);
        assert_string_equal(out, in_dir("python3"));
        assert_int_equal(tool_beside(exe, "sparkd", out, sizeof out), -ENOENT);
        assert_int_equal(tool_beside("sparkctl", "python3", out, sizeof out), -EINVAL);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", progdir);
        assert_int_equal(system(cmd), 0);
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
                cmocka_unit_test_setup_teardown(test_check_socket, make_socket_dir,
                                                remove_socket_dir),
                cmocka_unit_test_setup_teardown(test_request_refused_before_connecting,
                                                make_socket_dir, remove_socket_dir),
                cmocka_unit_test(test_refusal_messages),
                cmocka_unit_test(test_python_names),
                cmocka_unit_test(test_python_of_a_command),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
