/* test_fsutil.c — prune_dirs against a real directory tree. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

static char base[64];

static void mk(const char *rel, long age) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", base, rel);
        assert_int_equal(mkdir(path, 0700), 0);
        /* something inside, nested, so that removal has to recurse */
        char sub[PATH_MAX + 16];
        snprintf(sub, sizeof sub, "%s/sub", path);
        assert_int_equal(mkdir(sub, 0700), 0);
        snprintf(sub, sizeof sub, "%s/sub/x.log", path);
        int fd = open(sub, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        close(fd);
        struct timespec t[2] = {{.tv_sec = 1700000000 - age}, {.tv_sec = 1700000000 - age}};
        assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static bool exists(const char *rel) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", base, rel);
        struct stat st;
        return lstat(path, &st) == 0;
}

static int spare_d9(const char *path, void *data) {
        int *calls = data;
        (*calls)++;
        size_t n = strlen(path);
        return n >= 3 && !strcmp(path + n - 3, "/d9");
}

static int setup(void **state) {
        (void)state;
        snprintf(base, sizeof base, "/tmp/fsutil-test-XXXXXX");
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_prune_keeps_the_newest_and_spared(void **state) {
        (void)state;
        char parent[256], outside[256], link[PATH_MAX];
        snprintf(parent, sizeof parent, "%s/p", base);
        assert_int_equal(mkdir(parent, 0700), 0);
        snprintf(outside, sizeof outside, "%s/outside", base);
        assert_int_equal(mkdir(outside, 0700), 0);
        for (int i = 0; i < 10; i++) { /* d0 newest ... d9 oldest */
                char rel[16];
                snprintf(rel, sizeof rel, "p/d%d", i);
                mk(rel, i * 100);
        }
        /* a file and a symbolic link to a directory: neither is a candidate */
        char f[PATH_MAX + 8];
        snprintf(f, sizeof f, "%s/conn-1", parent);
        int fd = open(f, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        close(fd);
        snprintf(link, sizeof link, "%s/lnk", parent);
        assert_int_equal(symlink(outside, link), 0);

        int calls = 0;
        assert_int_equal(prune_dirs(parent, 4, spare_d9, &calls), 5); /* d4..d8 */
        assert_int_equal(calls, 6);                                    /* asked for d4..d9 */
        for (int i = 0; i < 10; i++) {
                char rel[16];
                snprintf(rel, sizeof rel, "p/d%d", i);
                assert_int_equal(exists(rel), i < 4 || i == 9);
        }
        assert_true(exists("p/conn-1"));
        assert_true(exists("p/lnk"));
        assert_true(exists("outside"));
        /* nothing more to do */
        assert_int_equal(prune_dirs(parent, 4, spare_d9, &calls), 0);
        assert_int_equal(prune_dirs(parent, 0, NULL, NULL), 5);
        assert_false(exists("p/d9"));
        assert_true(exists("p/conn-1"));
}

static void test_prune_missing_parent_is_nothing(void **state) {
        (void)state;
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s/none", base);
        assert_int_equal(prune_dirs(parent, 0, NULL, NULL), 0);
        snprintf(parent, sizeof parent, "%s/file", base);
        int fd = open(parent, O_WRONLY | O_CREAT, 0600);
        close(fd);
        assert_int_equal(prune_dirs(parent, 0, NULL, NULL), -ENOTDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prune_keeps_the_newest_and_spared),
                cmocka_unit_test(test_prune_missing_parent_is_nothing),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
