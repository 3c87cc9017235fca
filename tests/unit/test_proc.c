/* test_proc.c — proc.c against real children (/bin/sh, sleep). */
#include "unit.h"
#include "unit_loop.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

struct rec {
        char lines[64][PROC_LINE_MAX + 1];
        int nlines;
        int exits;
        int status;
};

static void rec_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct rec *r = data;
        if (r->nlines < 64)
                snprintf(r->lines[r->nlines++], sizeof(r->lines[0]), "%s", line);
}

static void rec_exit(void *data, struct proc *p, int status) {
        (void)p;
        struct rec *r = data;
        r->exits++;
        r->status = status;
}

static const struct proc_cbs rec_cbs = {rec_line, rec_exit};

/* Gone: no such process, or a zombie nobody reaps yet. */
static bool pid_gone(pid_t pid) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return true;
        char path[64], buf[256] = "";
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static bool pid_gone_within(pid_t pid, double timeout) {
        double end = unit_now() + timeout;
        while (!pid_gone(pid)) {
                if (unit_now() > end)
                        return false;
                usleep(20000);
        }
        return true;
}

static struct proc *spawn_sh(const char *script, struct rec *r) {
        char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
        struct proc *p = NULL;
        assert_int_equal(proc_spawn(EV_DEFAULT, argv, NULL, NULL, &rec_cbs, r, &p), 0);
        assert_non_null(p);
        return p;
}

static void test_output_and_exit_status(void **state) {
        (void)state;
        struct rec r = {0};
        spawn_sh("echo hi; echo err >&2; printf 'no newline'; exit 3", &r);
        assert_int_equal(proc_count(), 1);
        unit_run_until(&r.exits, 1, 10);
        assert_int_equal(r.exits, 1);
        assert_true(WIFEXITED(r.status));
        assert_int_equal(WEXITSTATUS(r.status), 3);
        assert_int_equal(r.nlines, 3);
        assert_string_equal(r.lines[0], "hi");
        assert_string_equal(r.lines[1], "err");
        assert_string_equal(r.lines[2], "no newline");
        assert_int_equal(proc_count(), 0);
}

static void test_env_and_cwd(void **state) {
        (void)state;
        struct rec r = {0};
        char *argv[] = {"sh", "-c", "echo \"$FOO\"; pwd", NULL};
        char *envp[] = {"FOO=bar baz", NULL};
        struct proc *p = NULL;
        assert_int_equal(proc_spawn(EV_DEFAULT, argv, envp, "/tmp", &rec_cbs, &r, &p), 0);
        unit_run_until(&r.exits, 1, 10);
        assert_int_equal(r.nlines, 2);
        assert_string_equal(r.lines[0], "bar baz");
        assert_string_equal(r.lines[1], "/tmp");
}

static void test_long_line_split_and_tail(void **state) {
        (void)state;
        struct rec r = {0};
        struct proc *p = spawn_sh("head -c 5000 /dev/zero | tr '\\0' x; echo; seq 1 40; sleep 5", &r);
        unit_run_until(&r.nlines, 42, 10);
        assert_int_equal(r.nlines, 42);
        assert_int_equal(strlen(r.lines[0]), PROC_LINE_MAX);
        assert_int_equal(strlen(r.lines[1]), 5000 - PROC_LINE_MAX);
        char *tail = proc_tail(p);
        assert_non_null(tail);
        /* 42 lines seen, the last 32 kept: "9" .. "40" */
        assert_true(strncmp(tail, "9\n10\n", 5) == 0);
        assert_non_null(strstr(tail, "\n40"));
        assert_null(strstr(tail, "xxx"));
        free(tail);
        proc_stop(p, 5);
        unit_run_until(&r.exits, 1, 10);
        assert_int_equal(r.exits, 1);
}

static void test_stop_kills_the_group(void **state) {
        (void)state;
        struct rec r = {0};
        struct proc *p = spawn_sh("sleep 100 & echo $!; sleep 100 & wait", &r);
        pid_t leader = proc_pid(p);
        unit_run_until(&r.nlines, 1, 10);
        assert_int_equal(r.nlines, 1);
        pid_t grandchild = atoi(r.lines[0]);
        assert_true(grandchild > 1);
        assert_false(pid_gone(grandchild));
        double t0 = unit_now();
        proc_stop(p, 10);
        unit_run_until(&r.exits, 1, 10);
        assert_int_equal(r.exits, 1);
        assert_true(unit_now() - t0 < 5); /* TERM did it, not the KILL after grace */
        assert_true(WIFSIGNALED(r.status));
        assert_int_equal(WTERMSIG(r.status), SIGTERM);
        assert_true(pid_gone_within(grandchild, 3));
        assert_true(pid_gone(leader));
        assert_int_equal(proc_count(), 0);
}

static void test_kill_after_grace(void **state) {
        (void)state;
        struct rec r = {0};
        struct proc *p = spawn_sh("trap '' TERM; echo ready; while :; do sleep 1; done", &r);
        unit_run_until(&r.nlines, 1, 10);
        assert_string_equal(r.lines[0], "ready");
        double t0 = unit_now();
        proc_stop(p, 0.3);
        proc_stop(p, 100); /* a second stop does not extend the grace */
        unit_run_until(&r.exits, 1, 10);
        assert_int_equal(r.exits, 1);
        assert_true(unit_now() - t0 >= 0.29);
        assert_true(unit_now() - t0 < 5);
        assert_true(WIFSIGNALED(r.status));
        assert_int_equal(WTERMSIG(r.status), SIGKILL);
}

static void test_detach_no_callbacks(void **state) {
        (void)state;
        struct rec r = {0};
        struct proc *p = spawn_sh("echo one; sleep 100", &r);
        unit_run_until(&r.nlines, 1, 10);
        proc_detach(p);
        proc_stop(p, 5);
        int zero = 0;
        double end = unit_now() + 10;
        while (proc_count() > 0 && unit_now() < end)
                unit_run_until(&zero, 1, 0.1);
        assert_int_equal(proc_count(), 0);
        assert_int_equal(r.exits, 0);
        assert_int_equal(r.nlines, 1);
}

static void test_stop_all_sync(void **state) {
        (void)state;
        static struct rec r[3];
        memset(r, 0, sizeof(r));
        pid_t pids[3];
        pids[0] = proc_pid(spawn_sh("echo x; exec sleep 100", &r[0]));
        pids[1] = proc_pid(spawn_sh("trap '' TERM; echo x; while :; do sleep 1; done", &r[1]));
        pids[2] = proc_pid(spawn_sh("sleep 100 & echo $!; wait", &r[2]));
        for (int i = 0; i < 3; i++)
                unit_run_until(&r[i].nlines, 1, 10);
        pid_t grandchild = atoi(r[2].lines[0]);
        assert_int_equal(proc_count(), 3);
        double t0 = unit_now();
        proc_stop_all_sync(0.5);
        assert_true(unit_now() - t0 < 5);
        assert_int_equal(proc_count(), 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(r[i].exits, 1);
                assert_true(pid_gone(pids[i]));
        }
        assert_int_equal(WTERMSIG(r[1].status), SIGKILL);
        assert_true(pid_gone_within(grandchild, 3));
}

/* A daemon that dies takes its children along: an intermediate process
 * spawns `sleep` through proc_spawn, reports its pid and exits at once. */
static void test_pdeathsig(void **state) {
        (void)state;
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t mid = fork();
        assert_true(mid >= 0);
        if (mid == 0) {
                close(fds[0]);
                ev_loop_fork(EV_DEFAULT);
                struct rec r = {0};
                char *argv[] = {"/bin/sh", "-c", "echo $$; exec sleep 100", NULL};
                struct proc *p = NULL;
                if (proc_spawn(EV_DEFAULT, argv, NULL, NULL, &rec_cbs, &r, &p) < 0)
                        _exit(1);
                unit_run_until(&r.nlines, 1, 10);
                dprintf(fds[1], "%s\n", r.nlines ? r.lines[0] : "0");
                _exit(0);
        }
        close(fds[1]);
        char buf[32] = "";
        ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
        close(fds[0]);
        assert_true(n > 0);
        pid_t child = atoi(buf);
        int st;
        assert_int_equal(waitpid(mid, &st, 0), mid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_true(child > 1);
        bool gone = pid_gone_within(child, 3);
        if (!gone)
                kill(child, SIGKILL);
        assert_true(gone);
}

static void test_spawn_errors(void **state) {
        (void)state;
        struct rec r = {0};
        struct proc *p = NULL;
        char *empty[] = {NULL};
        assert_int_equal(proc_spawn(EV_DEFAULT, empty, NULL, NULL, &rec_cbs, &r, &p), -EINVAL);
        assert_null(p);
        char *missing[] = {"/nonexistent/program", NULL};
        assert_int_equal(proc_spawn(EV_DEFAULT, missing, NULL, NULL, &rec_cbs, &r, &p), 0);
        unit_run_until(&r.exits, 1, 10);
        assert_int_equal(r.exits, 1);
        assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0);
        assert_true(r.nlines >= 1);
        assert_non_null(strstr(r.lines[0], "/nonexistent/program"));
        char *bad_cwd[] = {"true", NULL};
        p = NULL;
        assert_true(proc_spawn(EV_DEFAULT, bad_cwd, NULL, "/nonexistent", &rec_cbs, &r, &p) < 0);
        assert_null(p);
        assert_int_equal(proc_count(), 0);
}

static void test_status_str(void **state) {
        (void)state;
        char buf[64];
        proc_status_str(3 << 8, buf, sizeof(buf));
        assert_string_equal(buf, "exit status 3");
        proc_status_str(SIGKILL, buf, sizeof(buf));
        assert_string_equal(buf, "signal 9 (Killed)");
}

int main(void) {
        signal(SIGPIPE, SIG_IGN);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_exit_status),
                cmocka_unit_test(test_env_and_cwd),
                cmocka_unit_test(test_long_line_split_and_tail),
                cmocka_unit_test(test_stop_kills_the_group),
                cmocka_unit_test(test_kill_after_grace),
                cmocka_unit_test(test_detach_no_callbacks),
                cmocka_unit_test(test_stop_all_sync),
                cmocka_unit_test(test_pdeathsig),
                cmocka_unit_test(test_spawn_errors),
                cmocka_unit_test(test_status_str),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
