/* test_sparkauth.c — base64url, the HS256 JWS against RFC 7515's example
 * A.1, and fresh secrets. */
#include "unit.h"

#include <errno.h>

#include "sparkauth.h"

static void test_b64url(void **state) {
        (void)state;
        static const struct {
                const char *in, *want;
        } cases[] = {
                {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
                {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}, {"\xfb\xef\xbe", "----"},
        };
        char out[32];
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                int n = sparkauth_b64url((const unsigned char *)cases[i].in, strlen(cases[i].in), out, sizeof out);
                assert_int_equal(n, (int)strlen(cases[i].want));
                assert_string_equal(out, cases[i].want);
        }
        assert_int_equal(sparkauth_b64url((const unsigned char *)"foobar", 6, out, 8), -ENOSPC);
        assert_int_equal(sparkauth_b64url((const unsigned char *)"foobar", 6, out, 9), 8);
}

static void test_jws_rfc7515_a1(void **state) {
        (void)state;
        static const unsigned char key[] = {
                0x03, 0x23, 0x35, 0x4b, 0x2b, 0x0f, 0xa5, 0xbc, 0x83, 0x7e, 0x06, 0x65, 0x77, 0x7b, 0xa6, 0x8f,
                0x5a, 0xb3, 0x28, 0xe6, 0xf0, 0x54, 0xc9, 0x28, 0xa9, 0x0f, 0x84, 0xb2, 0xd2, 0x50, 0x2e, 0xbf,
                0xd3, 0xfb, 0x5a, 0x92, 0xd2, 0x06, 0x47, 0xef, 0x96, 0x8a, 0xb4, 0xc3, 0x77, 0x62, 0x3d, 0x22,
                0x3d, 0x2e, 0x21, 0x72, 0x05, 0x2e, 0x4f, 0x08, 0xc0, 0xcd, 0x9a, 0xf5, 0x67, 0xd0, 0x80, 0xa3};
        const char *want = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
                           "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
                           "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        char out[SPARKAUTH_TOKEN_MAX + 1];
        int n = sparkauth_jws(key, sizeof key, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
                              "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}", out,
                              sizeof out);
        assert_int_equal(n, (int)strlen(want));
        assert_string_equal(out, want);
        assert_int_equal(sparkauth_jws(key, sizeof key, "{}", "{}", out, 20), -ENOSPC);
}

static void test_new_is_fresh_and_well_formed(void **state) {
        (void)state;
        struct sparkauth a, b;
        assert_int_equal(sparkauth_new(&a), 0);
        assert_int_equal(sparkauth_new(&b), 0);
        assert_int_equal(strlen(a.rpc_secret), SPARKAUTH_SECRET_LEN);
        assert_int_equal(strspn(a.rpc_secret, "0123456789abcdef"), SPARKAUTH_SECRET_LEN);
        assert_int_equal(strlen(a.ui_key), SPARKAUTH_KEY_LEN);
        assert_string_not_equal(a.rpc_secret, b.rpc_secret);
        assert_string_not_equal(a.ui_key, b.ui_key);
        assert_string_not_equal(a.ui_token, b.ui_token);
        /* header.payload.signature, all base64url */
        const char *dot1 = strchr(a.ui_token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        assert_non_null(dot2);
        assert_null(strchr(dot2 + 1, '.'));
        assert_int_equal(strlen(dot2 + 1), 43);
        size_t n = strlen(a.ui_token);
        assert_int_equal(strspn(a.ui_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."), n);
        sparkauth_clear(&a);
        assert_int_equal(a.rpc_secret[0], 0);
        sparkauth_clear(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_b64url),
                cmocka_unit_test(test_jws_rfc7515_a1),
                cmocka_unit_test(test_new_is_fresh_and_well_formed),
        };
        return cmocka_run_group_tests_name("sparkauth", tests, NULL, NULL);
}
