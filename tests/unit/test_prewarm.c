/* test_prewarm.c — prewarm.c's pure helpers, and proc.c's stdin pipe that
 * keeps a warm gateway alive. */
#include "unit.h"
#include "unit_loop.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prewarm.h"
#include "proc.h"

static void test_parse_conn(void **state) {
        (void)state;
        char secret[PREWARM_SECRET_MAX + 1];
        int port = 0;
        const unsigned char ok[] = {0, 0, 0x9c, 0x40, 0, 0, 0, 4, 'a', 'b', 'c', 'd'};
        assert_int_equal(prewarm_parse_conn(ok, sizeof ok, &port, secret), 0);
        assert_int_equal(port, 40000);
        assert_string_equal(secret, "abcd");
        /* incomplete: the JVM has not written it all (never with its rename, but safe) */
        assert_int_equal(prewarm_parse_conn(ok, 0, &port, secret), -EAGAIN);
        assert_int_equal(prewarm_parse_conn(ok, 7, &port, secret), -EAGAIN);
        assert_int_equal(prewarm_parse_conn(ok, 11, &port, secret), -EAGAIN);
        /* trailing bytes, port 0 or > 65535, empty or huge or unprintable secret */
        unsigned char bad[16];
        memcpy(bad, ok, sizeof ok);
        bad[12] = 'x';
        assert_int_equal(prewarm_parse_conn(bad, 13, &port, secret), -EINVAL);
        const unsigned char p0[] = {0, 0, 0, 0, 0, 0, 0, 1, 'a'};
        assert_int_equal(prewarm_parse_conn(p0, sizeof p0, &port, secret), -EINVAL);
        const unsigned char pbig[] = {0, 1, 0, 0, 0, 0, 0, 1, 'a'};
        assert_int_equal(prewarm_parse_conn(pbig, sizeof pbig, &port, secret), -EINVAL);
        const unsigned char empty[] = {0, 0, 0x9c, 0x40, 0, 0, 0, 0};
        assert_int_equal(prewarm_parse_conn(empty, sizeof empty, &port, secret), -EINVAL);
        const unsigned char huge[] = {0, 0, 0x9c, 0x40, 0, 0, 1, 1, 'a'};
        assert_int_equal(prewarm_parse_conn(huge, sizeof huge, &port, secret), -EINVAL);
        const unsigned char ctl[] = {0, 0, 0x9c, 0x40, 0, 0, 0, 2, 'a', '\n'};
        assert_int_equal(prewarm_parse_conn(ctl, sizeof ctl, &port, secret), -EINVAL);
        assert_int_equal(port, 40000); /* untouched on failure */
}

static void test_mem(void **state) {
        (void)state;
        /* the rule: MemAvailable >= 2 x driver memory + 512 MiB */
        unsigned long long g = 1ull << 30, m = 1ull << 20;
        assert_true(prewarm_mem_ok(2 * g + 512 * m, g));
        assert_false(prewarm_mem_ok(2 * g + 511 * m, g));
        assert_true(prewarm_mem_ok(1712 * m, 600 * m));
        assert_false(prewarm_mem_ok(1711 * m, 600 * m));
        assert_false(prewarm_mem_ok(~0ull, ~0ull / 2));
}

static void test_jvm_level_keys(void **state) {
        (void)state;
        static const char *const yes[] = {"spark.driver.memory", "spark.driver.extraJavaOptions", "spark.jars",
                                          "spark.jars.packages", "spark.files", "spark.submit.pyFiles",
                                          "spark.master"};
        static const char *const no[] = {"spark.sql.shuffle.partitions", "spark.executor.memory",
                                         "spark.ui.showConsoleProgress", "spark.driverx", "spark.app.name"};
        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
                assert_true(prewarm_jvm_level_key(yes[i]));
        for (size_t i = 0; i < sizeof no / sizeof *no; i++)
                assert_false(prewarm_jvm_level_key(no[i]));
}

/* ---- proc_spawn_ex(PROC_STDIN_PIPE) and proc_set_owner ---- */

struct rec {
        int exits;
        int status;
};

static void rec_exit(void *data, struct proc *p, int status) {
        (void)p;
        struct rec *r = data;
        r->exits++;
        r->status = status;
}

static const struct proc_cbs rec_cbs = {.on_exit = rec_exit};

/* `cat` ends at EOF on stdin: at once with /dev/null, never with the pipe. */
static void test_stdin_pipe_keeps_child(void **state) {
        (void)state;
        char *argv[] = {"/bin/sh", "-c", "cat; exit 7", NULL};
        struct rec plain = {0}, piped = {0}, owner = {0};
        struct proc *p = NULL, *q = NULL;
        assert_int_equal(proc_spawn(EV_DEFAULT, argv, NULL, NULL, &rec_cbs, &plain, &p), 0);
        assert_int_equal(proc_spawn_ex(EV_DEFAULT, argv, NULL, NULL, PROC_STDIN_PIPE, &rec_cbs, &piped, &q), 0);
        unit_run_until(&plain.exits, 1, 10);
        assert_int_equal(plain.exits, 1);
        assert_int_equal(WEXITSTATUS(plain.status), 7);
        unit_run_until(&piped.exits, 1, 0.5);
        assert_int_equal(piped.exits, 0); /* still running */
        proc_set_owner(q, &rec_cbs, &owner);
        proc_stop(q, 5);
        unit_run_until(&owner.exits, 1, 10);
        assert_int_equal(owner.exits, 1);
        assert_int_equal(piped.exits, 0); /* the new owner got it */
        assert_true(WIFSIGNALED(owner.status) && WTERMSIG(owner.status) == SIGTERM);
        assert_int_equal(proc_count(), 0);
}

/* proc_close_stdin: the child reads EOF (the warm-up's "a start waits");
 * a second call, and a child without a pipe, are no-ops. */
static void test_close_stdin_ends_the_read(void **state) {
        (void)state;
        char *argv[] = {"/bin/sh", "-c", "cat; exit 3", NULL};
        struct rec piped = {0}, plain = {0};
        struct proc *q = NULL, *p = NULL;
        assert_int_equal(proc_spawn_ex(EV_DEFAULT, argv, NULL, NULL, PROC_STDIN_PIPE, &rec_cbs, &piped, &q), 0);
        unit_run_until(&piped.exits, 1, 0.3);
        assert_int_equal(piped.exits, 0); /* waits on its stdin */
        proc_close_stdin(q);
        proc_close_stdin(q);
        unit_run_until(&piped.exits, 1, 10);
        assert_int_equal(piped.exits, 1);
        assert_true(WIFEXITED(piped.status) && WEXITSTATUS(piped.status) == 3);
        assert_int_equal(proc_spawn(EV_DEFAULT, argv, NULL, NULL, &rec_cbs, &plain, &p), 0);
        proc_close_stdin(p); /* /dev/null: nothing to close */
        unit_run_until(&plain.exits, 1, 10);
        assert_int_equal(plain.exits, 1);
        assert_int_equal(proc_count(), 0);
}

int main(void) {
        signal(SIGPIPE, SIG_IGN);
        ev_default_loop(EVFLAG_AUTO);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_conn),
                cmocka_unit_test(test_mem),
                cmocka_unit_test(test_jvm_level_keys),
                cmocka_unit_test(test_stdin_pipe_keeps_child),
                cmocka_unit_test(test_close_stdin_ends_the_read),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
