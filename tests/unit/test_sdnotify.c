/* Unit tests for sdnotify.c: LISTEN_FDS parsing and NOTIFY_SOCKET sends. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

static void set_listen(const char *pid, const char *fds) {
        setenv("LISTEN_PID", pid, 1);
        setenv("LISTEN_FDS", fds, 1);
}

static void test_no_env(void **state) {
        (void)state;
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        assert_int_equal(sdn_listen_fds(), 0);
}

static void test_other_pid(void **state) {
        (void)state;
        set_listen("1", "1");
        assert_int_equal(sdn_listen_fds(), 0);
        assert_null(getenv("LISTEN_FDS")); /* consumed either way */
}

static void test_malformed(void **state) {
        (void)state;
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        set_listen(pid, "x");
        assert_int_equal(sdn_listen_fds(), -EINVAL);
        set_listen("12a", "1");
        assert_int_equal(sdn_listen_fds(), -EINVAL);
        set_listen(pid, "99999");
        assert_int_equal(sdn_listen_fds(), -EINVAL);
}

static void test_ours_sets_cloexec(void **state) {
        (void)state;
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        /* put a socket at fd 3 as systemd would */
        int saved = dup(SDN_LISTEN_FDS_START);
        assert_int_equal(dup2(sv[0], SDN_LISTEN_FDS_START), SDN_LISTEN_FDS_START);
        fcntl(SDN_LISTEN_FDS_START, F_SETFD, 0);
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        set_listen(pid, "1");
        assert_int_equal(sdn_listen_fds(), 1);
        assert_true(fcntl(SDN_LISTEN_FDS_START, F_GETFD) & FD_CLOEXEC);
        assert_null(getenv("LISTEN_PID"));
        if (saved >= 0) {
                dup2(saved, SDN_LISTEN_FDS_START);
                close(saved);
        }
        close(sv[0]);
        close(sv[1]);
}

/* Binds a datagram socket at path (or abstract when path starts with '@'). */
static int bind_dgram(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = strlen(path);
        memcpy(sa.sun_path, path, n);
        socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        if (path[0] == '@')
                sa.sun_path[0] = '\0';
        else
                unlink(path);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
        return fd;
}

static void test_notify(void **state) {
        (void)state;
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(sdn_notify("READY=1"), 0);
        static const char *const paths[] = {"/tmp/sparkd-test-notify.sock", "@sparkd-test-notify"};
        for (size_t i = 0; i < 2; i++) {
                int fd = bind_dgram(paths[i]);
                setenv("NOTIFY_SOCKET", paths[i], 1);
                assert_int_equal(sdn_notify("READY=1\nSTATUS=x"), 1);
                char buf[64] = {0};
                assert_int_equal(recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT), 16);
                assert_string_equal(buf, "READY=1\nSTATUS=x");
                close(fd);
        }
        unlink(paths[0]);
        setenv("NOTIFY_SOCKET", "relative/path", 1);
        assert_int_equal(sdn_notify("READY=1"), -EINVAL);
        setenv("NOTIFY_SOCKET", "/tmp/sparkd-test-nobody-listens.sock", 1);
        assert_true(sdn_notify("READY=1") < 0);
        unsetenv("NOTIFY_SOCKET");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_env),     cmocka_unit_test(test_other_pid),
                cmocka_unit_test(test_malformed),  cmocka_unit_test(test_ours_sets_cloexec),
                cmocka_unit_test(test_notify),
        };
        return cmocka_run_group_tests_name("sdnotify", tests, NULL, NULL);
}
