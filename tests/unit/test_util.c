/* test_util.c — the shared helpers: formatted strings, argv lists,
 * environments and JVM memory sizes. */
#include "unit.h"

#include <errno.h>

#include "util.h"

static void test_strdupf_and_strv(void **state) {
        (void)state;
        char *s = strdupf("%s-%d", "a", 7);
        assert_string_equal(s, "a-7");
        free(s);
        char **v = strv_new(3, "spark-submit", "--properties-file", "/x");
        assert_non_null(v);
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[2], "/x");
        assert_null(v[3]);
        assert_null(strv_free(v));
        assert_null(strv_free(NULL));
        v = strv_new(0);
        assert_non_null(v);
        assert_int_equal(strv_length(v), 0);
        strv_free(v);
}

static int drop_secret(const char *name, size_t len) {
        return len == 6 && !strncmp(name, "SECRET", 6);
}

static void test_env(void **state) {
        (void)state;
        char *list[] = {"A=1", "B=two=2", "SECRET=x", "A=ignored", "=noname", "NOEQ", "BAD=\xff", NULL};
        json_t *env = env_object(list, drop_secret);
        assert_non_null(env);
        assert_int_equal(json_object_size(env), 2);
        assert_string_equal(json_string_value(json_object_get(env, "A")), "1");
        assert_string_equal(json_string_value(json_object_get(env, "B")), "two=2");
        json_object_set_new(env, "N", json_integer(3)); /* not a string: skipped */
        char **out = NULL;
        assert_int_equal(env_list(env, &out), 0);
        assert_int_equal(strv_length(out), 2);
        assert_string_equal(out[0], "A=1");
        assert_string_equal(out[1], "B=two=2");
        strv_free(out);
        json_decref(env);
}

static void test_memsize(void **state) {
        (void)state;
        static const struct {
                const char *in;
                unsigned long long out;
        } ok[] = {{"600m", 600ull << 20}, {"1g", 1ull << 30}, {"1G", 1ull << 30}, {"512", 512ull << 20},
                  {"2gb", 2ull << 30}, {"1024k", 1ull << 20}, {"100b", 100}, {"1t", 1ull << 40},
                  {"1p", 1ull << 50}, {"3PB", 3ull << 50}};
        for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
                unsigned long long v = 0;
                assert_int_equal(memsize_parse(ok[i].in, &v), 0);
                assert_true(v == ok[i].out);
        }
        static const char *const bad[] = {"", "g", "1x", "1gg", "1bb", "-1g", "1 g", "9999999999999999g",
                                          "999999999999999p", "1e3"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                unsigned long long v = 7;
                if (memsize_parse(bad[i], &v) != -EINVAL || v != 7)
                        fail_msg("'%s' accepted or *ret changed", bad[i]);
        }
        assert_int_equal(memsize_parse(NULL, &(unsigned long long){0}), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strdupf_and_strv),
                cmocka_unit_test(test_env),
                cmocka_unit_test(test_memsize),
        };
        return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
