/* config_paths.c: the shipped data found beside the binary, not frozen at
 * build time. */
#include "unit.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_paths.h"

static void test_data_from_exe(void **state) {
        (void)state;
        static const struct {
                const char *exe, *want;
                int r;
        } cases[] = {
                {"/usr/local/bin/sparkd", "/usr/local/share/sparkd", 0},
                {"/tmp/somewhere/bin/sparkd", "/tmp/somewhere/share/sparkd", 0},
                {"/opt/a b/sbin/sparkd", "/opt/a b/share/sparkd", 0},
                {"/bin/sparkd", "/share/sparkd", 0},
                {"/sparkd", NULL, -EINVAL},
                {"//sparkd", NULL, -EINVAL},
                {"bin/sparkd", NULL, -EINVAL},
                {"", NULL, -EINVAL},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char out[PATH_MAX] = "";
                int r = cfgpath_data_from_exe(cases[i].exe, out, sizeof out);
                if (r != cases[i].r || (cases[i].want && strcmp(out, cases[i].want)))
                        fail_msg("%s: got %d '%s', want %d '%s'", cases[i].exe, r, out, cases[i].r,
                                 cases[i].want ? cases[i].want : "");
        }
        assert_int_equal(cfgpath_data_from_exe(NULL, (char[8]){0}, 8), -EINVAL);
        char small[10];
        assert_int_equal(cfgpath_data_from_exe("/usr/local/bin/sparkd", small, sizeof small), -ENAMETOOLONG);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
        (void)st, (void)flag, (void)f;
        return remove(p);
}

static void mkdir_mode(const char *base, const char *rel, mode_t mode) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", base, rel);
        assert_int_equal(mkdir(p, 0700), 0);
        assert_int_equal(chmod(p, mode), 0); /* past the umask */
}

/* An install tree copied to root/x: bin/sparkd and share/sparkd/configs. */
static void test_datadir_beside_the_binary(void **state) {
        (void)state;
        char root[] = "/tmp/sparkd-test-paths-XXXXXX";
        assert_non_null(mkdtemp(root));
        mkdir_mode(root, "bin", 0755);
        mkdir_mode(root, "share", 0755);
        char exe[PATH_MAX], want[PATH_MAX], out[PATH_MAX], configs[PATH_MAX + 16];
        snprintf(exe, sizeof exe, "%s/bin/sparkd", root);
        snprintf(want, sizeof want, "%s/share/sparkd", root);
        snprintf(configs, sizeof configs, "%s/configs", want);

        /* nothing beside it: the compiled-in directory */
        assert_int_equal(cfgpath_datadir(exe, "/compiled/share/sparkd", out, sizeof out), 0);
        assert_string_equal(out, "/compiled/share/sparkd");
        /* share/sparkd without configs/: still the compiled-in one */
        mkdir_mode(root, "share/sparkd", 0755);
        assert_int_equal(cfgpath_datadir(exe, "/compiled/share/sparkd", out, sizeof out), 0);
        assert_string_equal(out, "/compiled/share/sparkd");
        /* with configs/: the one beside the binary */
        mkdir_mode(root, "share/sparkd/configs", 0755);
        assert_true(cfgpath_trusted_dir(configs));
        assert_int_equal(cfgpath_datadir(exe, "/compiled/share/sparkd", out, sizeof out), 0);
        assert_string_equal(out, want);
        /* writable by others (either level): not trusted, not used */
        assert_int_equal(chmod(configs, 0777), 0);
        assert_false(cfgpath_trusted_dir(configs));
        assert_int_equal(cfgpath_datadir(exe, "/compiled/share/sparkd", out, sizeof out), 0);
        assert_string_equal(out, "/compiled/share/sparkd");
        assert_int_equal(chmod(configs, 0755), 0);
        assert_int_equal(chmod(want, 0775), 0);
        assert_int_equal(cfgpath_datadir(exe, "/compiled/share/sparkd", out, sizeof out), 0);
        assert_string_equal(out, "/compiled/share/sparkd");
        assert_int_equal(chmod(want, 0755), 0);
        /* unknown exe: the compiled-in one; too small a buffer: an error */
        assert_int_equal(cfgpath_datadir(NULL, "/compiled/share/sparkd", out, sizeof out), 0);
        assert_string_equal(out, "/compiled/share/sparkd");
        assert_int_equal(cfgpath_datadir(exe, "/compiled/share/sparkd", out, 8), -ENAMETOOLONG);
        assert_false(cfgpath_trusted_dir(exe)); /* not even there */
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_data_from_exe),
                cmocka_unit_test(test_datadir_beside_the_binary),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
