/* test_dl.c — libzmq, libcrypto and libm loaded on first use (dl.c): the tables
 * are filled and usable, and a missing library or function is an error
 * that says which. */
#include "unit.h"

#include <errno.h>

#include "dl.h"

static void test_zmq_loads(void **state) {
        (void)state;
        assert_int_equal(dl_zmq_load(), 0);
        assert_int_equal(dl_zmq_load(), 0); /* once */
        assert_non_null(dlz.zmq_socket_monitor); /* kernel.c watches IOPub's connection with it */
        void *ctx = dlz.zmq_ctx_new();
        assert_non_null(ctx);
        void *s = dlz.zmq_socket(ctx, ZMQ_DEALER);
        assert_non_null(s);
        assert_int_equal(dlz.zmq_close(s), 0);
        assert_int_equal(dlz.zmq_ctx_term(ctx), 0);
}

static void test_crypto_loads(void **state) {
        (void)state;
        assert_int_equal(dl_crypto_load(), 0);
        assert_int_equal(dlc.CRYPTO_memcmp("abc", "abc", 3), 0);
        assert_int_not_equal(dlc.CRYPTO_memcmp("abc", "abd", 3), 0);
        EVP_MAC *mac = dlc.EVP_MAC_fetch(NULL, "HMAC", NULL);
        assert_non_null(mac);
        dlc.EVP_MAC_free(mac);
}

static void test_libm_loads(void **state) {
        (void)state;
        assert_int_equal(dl_libm_load(), 0);
        assert_true(dlm.pow(2.0, 10.0) == 1024.0);
        assert_true(dlm.fmod(7.5, 2.0) == 1.5);
        assert_true(dlm.floor(-0.5) == -1.0);
}

struct two {
        double (*cos)(double);
        double (*other)(double);
};

static void test_missing_library(void **state) {
        (void)state;
        static const char *const names[] = {"cos", "sin"};
        static const size_t offs[] = {offsetof(struct two, cos), offsetof(struct two, other)};
        struct two t = {NULL, NULL};
        void *h = NULL;
        assert_int_equal(dl_resolve("libsparkd-no-such.so.9", "a test", names, offs, 2, &t, &h), -ELIBACC);
        assert_non_null(strstr(dl_error(), "cannot load libsparkd-no-such.so.9 (a test): "));
        assert_null(t.cos);
        assert_null(h);
}

static void test_missing_function(void **state) {
        (void)state;
        static const char *const names[] = {"cos", "sparkd_no_such_function"};
        static const size_t offs[] = {offsetof(struct two, cos), offsetof(struct two, other)};
        struct two t = {NULL, NULL};
        void *h = NULL;
        assert_int_equal(dl_resolve("libm.so.6", "maths", names, offs, 2, &t, &h), -ELIBACC);
        assert_string_equal(dl_error(), "libm.so.6 (maths) has no sparkd_no_such_function");
        assert_null(t.cos); /* nothing is filled in on failure */
        assert_null(h);
}

static void test_resolves(void **state) {
        (void)state;
        static const char *const names[] = {"cos", "sin"};
        static const size_t offs[] = {offsetof(struct two, cos), offsetof(struct two, other)};
        struct two t = {NULL, NULL};
        void *h = NULL;
        assert_int_equal(dl_resolve("libm.so.6", "maths", names, offs, 2, &t, &h), 0);
        assert_non_null(h);
        assert_true(t.cos(0.0) == 1.0);
        assert_true(t.other(0.0) == 0.0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_zmq_loads),       cmocka_unit_test(test_crypto_loads),
                cmocka_unit_test(test_libm_loads),
                cmocka_unit_test(test_missing_library), cmocka_unit_test(test_missing_function),
                cmocka_unit_test(test_resolves),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
