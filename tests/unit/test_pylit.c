/* Unit tests for pylit.c: JSON values as Python literals (expected strings
 * are what CPython's json.dumps(ensure_ascii=False) and repr() print). */
#include "unit.h"

#include <errno.h>
#include <math.h>

#include "pylit.h"
#include "strbuf.h"

static void expect_float(double d, const char *want) {
        struct strbuf sb = STRBUF_INIT;
        assert_int_equal(pylit_float(&sb, d), 0);
        if (strcmp(sb.buf, want) != 0)
                fail_msg("repr(%.17g): got %s, expected %s", d, sb.buf, want);
        sb_free(&sb);
}

static void test_float_repr(void **state) {
        (void)state;
        static const struct {
                double d;
                const char *want;
        } cases[] = {
                {0.1, "0.1"},
                {1.0, "1.0"},
                {0.0, "0.0"},
                {-0.0, "-0.0"},
                {1e16, "1e+16"},
                {1e15, "1000000000000000.0"},
                {1e-5, "1e-05"},
                {1e-4, "0.0001"},
                {0.00012345, "0.00012345"},
                {123456789012345678.0, "1.2345678901234568e+17"},
                {5e-324, "5e-324"},
                {1.7976931348623157e308, "1.7976931348623157e+308"},
                {2.2250738585072014e-308, "2.2250738585072014e-308"},
                {0.1 + 0.2, "0.30000000000000004"},
                {1.0 / 3, "0.3333333333333333"},
                {-2.5, "-2.5"},
                {100.0, "100.0"},
                {1234.5, "1234.5"},
                {9007199254740993.0, "9007199254740992.0"},
                {1.5e300, "1.5e+300"},
                {-1e-7, "-1e-07"},
                {12345678901234567.0, "1.2345678901234568e+16"},
                {3.14159, "3.14159"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                expect_float(cases[i].d, cases[i].want);
}

/* tests/data/pylit/floats.txt: each line a C99 hex float and CPython's
 * repr() of it (random bit patterns, short decimals, edge cases). */
static void test_float_repr_file(void **state) {
        (void)state;
        FILE *f = fopen("tests/data/pylit/floats.txt", "re");
        char line[128], want[64];
        int cases = 0;
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                char *sp = strchr(line, ' ');
                if (line[0] == '#' || !sp)
                        continue;
                double d = strtod(line, NULL);
                snprintf(want, sizeof want, "%s", sp + 1);
                want[strcspn(want, "\n")] = '\0';
                expect_float(d, want);
                cases++;
        }
        fclose(f);
        assert_true(cases > 1000);
}

/* The literal of the JSON text json (decoded with jansson). */
static void expect_lit(const char *json, const char *want, size_t want_len) {
        json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        assert_non_null(v);
        struct strbuf sb = STRBUF_INIT;
        assert_int_equal(pylit_append(&sb, v, 1 << 20, NULL, 0), 0);
        if (sb.len != want_len || memcmp(sb.buf, want, want_len) != 0)
                fail_msg("literal of %s: got [%s], expected [%s]", json, sb.buf, want);
        sb_free(&sb);
        json_decref(v);
}

#define LIT(json, want) expect_lit(json, want, sizeof(want) - 1)

static void test_scalars(void **state) {
        (void)state;
        LIT("true", "True");
        LIT("false", "False");
        LIT("null", "None");
        LIT("0", "0");
        LIT("-42", "-42");
        LIT("9223372036854775807", "9223372036854775807");
        LIT("-9223372036854775808", "-9223372036854775808");
        LIT("2.5", "2.5");
        LIT("1E2", "100.0");
}

static void test_string_escapes(void **state) {
        (void)state;
        LIT("\"plain\"", "\"plain\"");
        LIT("\"\"", "\"\"");
        LIT("\"a\\\"b\"", "\"a\\\"b\"");
        LIT("\"back\\\\slash\"", "\"back\\\\slash\"");
        LIT("\"it's\"", "\"it's\"");
        LIT("\"\\n\\r\\t\\b\\f\"", "\"\\n\\r\\t\\b\\f\"");
        LIT("\"\\u0000\\u0001\\u000b\\u001b\\u001f\"", "\"\\u0000\\u0001\\u000b\\u001b\\u001f\"");
        LIT("\" \\u007f\"", "\" \x7f\"");              /* DEL is not escaped */
        LIT("\"caf\\u00e9 \\u65e5\"", "\"caf\xc3\xa9 \xe6\x97\xa5\""); /* non-ASCII kept */
        LIT("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
        LIT("\"\\u2028\\u2029\\u0085\"", "\"\xe2\x80\xa8\xe2\x80\xa9\xc2\x85\"");
        LIT("\"\\\"\\\"\\\"\"", "\"\\\"\\\"\\\"\"");
        LIT("\"</script>\"", "\"</script>\"");
}

static void test_containers(void **state) {
        (void)state;
        LIT("[]", "[]");
        LIT("{}", "{}");
        LIT("[1, \"a\", null, [true, 2.0]]", "[1, \"a\", None, [True, 2.0]]");
        LIT("{\"z\": 1, \"a\": {\"k\\\"\": [false]}}", "{\"z\": 1, \"a\": {\"k\\\"\": [False]}}");
}

static void test_limit(void **state) {
        (void)state;
        json_t *v = json_pack("[sss]", "aaaa", "bbbb", "cccc");
        struct strbuf sb = STRBUF_INIT;
        char err[64] = "";
        assert_int_equal(pylit_append(&sb, v, 10, err, sizeof err), -E2BIG);
        assert_string_equal(err, "output exceeds 10 bytes");
        sb_free(&sb);
        assert_int_equal(pylit_append(&sb, v, 24, err, sizeof err), 0);
        assert_string_equal(sb.buf, "[\"aaaa\", \"bbbb\", \"cccc\"]");
        sb_free(&sb);
        json_decref(v);
}

static void test_appends(void **state) {
        (void)state;
        struct strbuf sb = STRBUF_INIT;
        json_t *v = json_integer(7);
        assert_int_equal(sb_puts(&sb, "x = "), 0);
        assert_int_equal(pylit_append(&sb, v, 100, NULL, 0), 0);
        assert_string_equal(sb.buf, "x = 7");
        sb_free(&sb);
        json_decref(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_float_repr),   cmocka_unit_test(test_float_repr_file),
                cmocka_unit_test(test_scalars),
                cmocka_unit_test(test_string_escapes), cmocka_unit_test(test_containers),
                cmocka_unit_test(test_limit),        cmocka_unit_test(test_appends),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
