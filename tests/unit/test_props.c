/* test_props.c — Spark configuration as a Java properties file: escaping
 * (what java.util.Properties.load reads back), value texts, rendering and
 * the 0600 file. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "props.h"

static const struct {
        const char *in;
        bool key;
        const char *want; /* NULL: -EILSEQ */
} escapes[] = {
        {"spark.master", true, "spark.master"},
        {"local[*]", false, "local[*]"},
        {"a=b:c#d!e", false, "a\\=b\\:c\\#d\\!e"},
        {"back\\slash", false, "back\\\\slash"},
        {"two\nlines\r\t\f", false, "two\\nlines\\r\\t\\f"},
        {" lead and inner ", false, "\\ lead and inner "},
        {"a key", true, "a\\ key"},
        {"caf\xc3\xa9", false, "caf\\u00e9"},
        {"\xe2\x82\xac", false, "\\u20ac"},
        {"\xf0\x9f\x98\x80", false, "\\ud83d\\ude00"},           /* beyond U+FFFF: a surrogate pair */
        {"\x01\x7f", false, "\\u0001\\u007f"},
        {"-Dx=\"$(id)\" `id`;", false, "-Dx\\=\"$(id)\" `id`;"}, /* shell has no say in a file */
        {"\xc3", false, NULL},                                   /* truncated */
        {"\xc0\xaf", false, NULL},                               /* overlong */
        {"\xed\xa0\x80", false, NULL},                           /* a surrogate */
        {"\xf4\x90\x80\x80", false, NULL},                       /* past U+10FFFF */
        {"\x80", false, NULL},                                   /* stray continuation */
};

static void test_escape_table(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
                struct strbuf sb = STRBUF_INIT;
                int r = props_escape(&sb, escapes[i].in, strlen(escapes[i].in), escapes[i].key);
                if (!escapes[i].want) {
                        if (r != -EILSEQ)
                                fail_msg("case %zu: got %d, wanted -EILSEQ", i, r);
                } else if (r != 0 || strcmp(sb.buf ? sb.buf : "", escapes[i].want)) {
                        fail_msg("case %zu: got %d '%s', wanted '%s'", i, r, sb.buf ? sb.buf : "", escapes[i].want);
                }
                sb_free(&sb);
        }
        struct strbuf sb = STRBUF_INIT;
        assert_int_equal(props_escape(&sb, "a\0b", 3, false), -EILSEQ); /* an embedded NUL */
        sb_free(&sb);
}

static void test_value_text(void **state) {
        (void)state;
        static const struct {
                const char *json, *want;
        } cases[] = {
                {"\"1g\"", "1g"}, {"16", "16"}, {"-3", "-3"}, {"true", "true"}, {"false", "false"},
                {"2.0", "2.0"}, {"0.1", "0.1"}, {"1e+300", "1e+300"}, {"null", NULL}, {"[1]", NULL}, {"{}", NULL},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
                assert_non_null(v);
                char *t = props_value_text(v);
                if (!cases[i].want)
                        assert_null(t);
                else
                        assert_string_equal(t, cases[i].want);
                free(t);
                json_decref(v);
        }
}

static void test_render(void **state) {
        (void)state;
        json_t *conf = json_pack("{s:s, s:i, s:b, s:n, s:s}", "spark.master", "local[2]", "spark.sql.shuffle.partitions",
                                 16, "spark.ui.enabled", 1, "spark.skipped", "spark.app.name", "my app = \"x\"\n");
        struct strbuf sb = STRBUF_INIT;
        assert_int_equal(props_render(&sb, conf), 0);
        assert_string_equal(sb.buf, "spark.master=local[2]\nspark.sql.shuffle.partitions=16\nspark.ui.enabled=true\n"
                                    "spark.app.name=my app \\= \"x\"\\n\n");
        sb_free(&sb);
        json_object_set_new(conf, "bad", json_array());
        assert_int_equal(props_render(&sb, conf), -EINVAL);
        sb_free(&sb);
        json_decref(conf);
        conf = json_pack("{s:s}", "", "empty key");
        assert_int_equal(props_render(&sb, conf), -EINVAL);
        sb_free(&sb);
        json_decref(conf);
        conf = json_object();
        for (int i = 0; i <= PROPS_MAX_ENTRIES; i++) {
                char k[32];
                snprintf(k, sizeof k, "k%d", i);
                json_object_set_new(conf, k, json_integer(i));
        }
        assert_int_equal(props_render(&sb, conf), -E2BIG);
        sb_free(&sb);
        json_decref(conf);
        assert_int_equal(props_render(&sb, NULL), -EINVAL);
}

static void test_write_is_private(void **state) {
        (void)state;
        char dir[] = "/tmp/props-test-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[64];
        snprintf(path, sizeof path, "%s/spark.properties", dir);
        mode_t old = umask(0);
        json_t *conf = json_pack("{s:s}", "spark.org.apache.spark.ui.JWSFilter.param.secretKey", "k3y");
        int r = props_write(path, conf);
        umask(old);
        assert_int_equal(r, 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        FILE *f = fopen(path, "r");
        char line[128] = "";
        assert_non_null(fgets(line, sizeof line, f));
        fclose(f);
        assert_string_equal(line, "spark.org.apache.spark.ui.JWSFilter.param.secretKey=k3y\n");
        json_decref(conf);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_table),
                cmocka_unit_test(test_value_text),
                cmocka_unit_test(test_render),
                cmocka_unit_test(test_write_is_private),
        };
        return cmocka_run_group_tests_name("props", tests, NULL, NULL);
}
