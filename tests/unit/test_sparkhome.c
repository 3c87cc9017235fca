/* test_sparkhome.c — sparkhome.c with real directories and a real child
 * standing in for the Python interpreter (SPARKD_PYTHON). */
#include "unit.h"
#include "unit_loop.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "sparkhome.h"

static char base[64];

static void put(const char *rel, const char *text, mode_t mode) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", base, rel);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state) {
        (void)state;
        snprintf(base, sizeof base, "/tmp/sparkhome-test-XXXXXX");
        assert_non_null(mkdtemp(base));
        char d[PATH_MAX + 16];
        snprintf(d, sizeof d, "%s/home", base);
        assert_int_equal(mkdir(d, 0700), 0);
        snprintf(d, sizeof d, "%s/home/bin", base);
        assert_int_equal(mkdir(d, 0700), 0);
        snprintf(d, sizeof d, "%s/half", base);
        assert_int_equal(mkdir(d, 0700), 0);
        snprintf(d, sizeof d, "%s/half/bin", base);
        assert_int_equal(mkdir(d, 0700), 0);
        put("home/bin/spark-submit", "#!/bin/sh\n", 0755);
        put("home/bin/spark-class", "#!/bin/sh\n", 0755);
        put("half/bin/spark-submit", "#!/bin/sh\n", 0755);
        put("half/bin/spark-class", "#!/bin/sh\n", 0644); /* not executable */
        unsetenv("SPARK_HOME");
        unsetenv("SPARKD_PYTHON");
        return 0;
}

static int teardown(void **state) {
        (void)state;
        sparkhome_reset();
        proc_stop_all_sync(2);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *in_base(const char *rel) {
        static char path[4][PATH_MAX];
        static int i;
        i = (i + 1) % 4;
        snprintf(path[i], sizeof path[i], "%s/%s", base, rel);
        return path[i];
}

static void test_ok(void **state) {
        (void)state;
        assert_true(sparkhome_ok(in_base("home")));
        assert_false(sparkhome_ok(in_base("half")));    /* spark-class not executable */
        assert_false(sparkhome_ok(in_base("nothing")));
        assert_false(sparkhome_ok("relative/home"));
        assert_false(sparkhome_ok(""));
        assert_false(sparkhome_ok(NULL));
}

static void test_spark_major(void **state) {
        (void)state;
        static const struct {
                const char *name;
                int major;
        } cases[] = {
                {"spark-core_2.13-4.0.1.jar", 4}, {"spark-core_2.12-3.5.3.jar", 3},
                {"spark-core_2.13-4.1.0-SNAPSHOT.jar", 4}, {"spark-core_2.13-10.0.0.jar", 10},
                {"spark-core_2.13-4.0.1-tests.jar", 4}, {"spark-core_2.13.jar", 0}, {"spark-core_2.13-x.jar", 0},
                {"spark-core_2.13-0.9.jar", 0}, {"spark-core_2.13-4.jar", 0}, {"spark-sql_2.13-4.0.1.jar", 0},
                {"spark-core_2.13-4.0.1.jar.bak", 0}, {"", 0},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                if (sparkhome_core_jar_major(cases[i].name) != cases[i].major)
                        fail_msg("%s: got %d, wanted %d", cases[i].name, sparkhome_core_jar_major(cases[i].name),
                                 cases[i].major);
        assert_int_equal(sparkhome_major(in_base("home")), 0); /* no jars/ */
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s/home/jars", base);
        assert_int_equal(mkdir(d, 0700), 0);
        put("home/jars/jjwt-api-0.12.6.jar", "", 0644);
        assert_int_equal(sparkhome_major(in_base("home")), 0);
        put("home/jars/spark-core_2.13-4.0.1.jar", "", 0644);
        assert_int_equal(sparkhome_major(in_base("home")), 4);
        assert_int_equal(sparkhome_major(NULL), 0);
}

static void test_known_order(void **state) {
        (void)state;
        assert_null(sparkhome_known(NULL));
        assert_null(sparkhome_known(in_base("half"))); /* unusable configured path: not taken */
        const char *a = sparkhome_known(in_base("home"));
        assert_non_null(a);
        assert_string_equal(a, in_base("home"));
        setenv("SPARK_HOME", in_base("home"), 1);
        const char *b = sparkhome_known(NULL);
        assert_ptr_equal(a, b); /* one copy per value: earlier pointers stay valid */
        setenv("SPARK_HOME", in_base("half"), 1);
        assert_null(sparkhome_known(NULL));
        unsetenv("SPARK_HOME");
        assert_string_equal(a, in_base("home"));
}

struct got {
        int calls;
        char home[PATH_MAX];
        char detail[512];
};

static void got_cb(void *data, const char *home, const char *detail) {
        struct got *g = data;
        g->calls++;
        snprintf(g->home, sizeof g->home, "%s", home ? home : "");
        snprintf(g->detail, sizeof g->detail, "%s", detail ? detail : "");
}

static void test_search_fails_with_the_error_line(void **state) {
        (void)state;
        put("py-bad", "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                      "echo '  File \"<string>\", line 1, in <module>' >&2\n"
                      "echo \"ModuleNotFoundError: No module named 'pyspark'\" >&2\nexit 1\n", 0755);
        setenv("SPARKD_PYTHON", in_base("py-bad"), 1);
        assert_string_equal(sparkhome_python(), in_base("py-bad"));
        struct got g1 = {0}, g2 = {0};
        struct sparkhome_wait *w1 = NULL, *w2 = NULL;
        assert_int_equal(sparkhome_find(EV_DEFAULT, got_cb, &g1, &w1), 0);
        assert_int_equal(sparkhome_find(EV_DEFAULT, got_cb, &g2, &w2), 0); /* joins the same search */
        assert_int_equal(g1.calls + g2.calls, 0);                           /* never inside find */
        unit_run_until(&g2.calls, 1, 10);
        assert_int_equal(g1.calls, 1);
        assert_int_equal(g2.calls, 1);
        assert_string_equal(g1.home, "");
        assert_string_equal(g1.detail, "ModuleNotFoundError: No module named 'pyspark'");
        assert_null(sparkhome_known(NULL)); /* a failure is not kept */
}

static void test_search_prints_a_non_home(void **state) {
        (void)state;
        put("py-odd", "#!/bin/sh\necho /nonexistent/pyspark\n", 0755);
        setenv("SPARKD_PYTHON", in_base("py-odd"), 1);
        struct got g = {0};
        struct sparkhome_wait *w = NULL;
        assert_int_equal(sparkhome_find(EV_DEFAULT, got_cb, &g, &w), 0);
        unit_run_until(&g.calls, 1, 10);
        assert_int_equal(g.calls, 1);
        assert_string_equal(g.detail, "'/nonexistent/pyspark' is not a Spark home");
}

static void test_search_finds_and_keeps_it_cancel_drops(void **state) {
        (void)state;
        char script[PATH_MAX + 64];
        snprintf(script, sizeof script, "#!/bin/sh\nsleep 0.2\necho '%s'\n", in_base("home"));
        put("py-good", script, 0755);
        setenv("SPARKD_PYTHON", in_base("py-good"), 1);
        struct got g = {0}, cancelled = {0};
        struct sparkhome_wait *w = NULL, *wc = NULL;
        assert_int_equal(sparkhome_find(EV_DEFAULT, got_cb, &cancelled, &wc), 0);
        assert_int_equal(sparkhome_find(EV_DEFAULT, got_cb, &g, &w), 0);
        assert_null(sparkhome_cancel(wc));
        unit_run_until(&g.calls, 1, 10);
        assert_int_equal(g.calls, 1);
        assert_int_equal(cancelled.calls, 0);
        assert_string_equal(g.home, in_base("home"));
        assert_string_equal(g.detail, "");
        const char *k = sparkhome_known(NULL); /* kept for the daemon's life */
        assert_non_null(k);
        assert_string_equal(k, in_base("home"));
        assert_null(sparkhome_cancel(NULL));
        sparkhome_reset();
        assert_null(sparkhome_known(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ok),
                cmocka_unit_test(test_spark_major),
                cmocka_unit_test(test_known_order),
                cmocka_unit_test(test_search_fails_with_the_error_line),
                cmocka_unit_test(test_search_prints_a_non_home),
                cmocka_unit_test(test_search_finds_and_keeps_it_cancel_drops),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
