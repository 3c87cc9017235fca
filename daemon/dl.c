/* dl.c — libzmq and libcrypto on first use (see dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define DL_ZMQ_SONAME "libzmq.so.5"
#define DL_CRYPTO_SONAME "libcrypto.so." STR(OPENSSL_VERSION_MAJOR)
#define DL_LIBM_SONAME "libm.so.6"

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function pointers must fit in a void *");

struct dl_zmq dlz;
struct dl_crypto dlc;
struct dl_libm dlm;

static char dl_why[512];
static void *zmq_handle, *crypto_handle, *libm_handle;

const char *dl_error(void) { return dl_why; }

int dl_resolve(const char *soname, const char *what, const char *const *names, const size_t *offs, size_t n,
               void *table, void **ret_handle) {
        void *fns[32];
        if (n > sizeof fns / sizeof *fns) {
                snprintf(dl_why, sizeof dl_why, "%s (%s): too many functions", soname, what);
                return -ELIBACC;
        }
        void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                snprintf(dl_why, sizeof dl_why, "cannot load %s (%s): %s", soname, what, dlerror());
                return -ELIBACC;
        }
        for (size_t i = 0; i < n; i++) {
                if (!(fns[i] = dlsym(RTLD_DEFAULT, names[i])) && !(fns[i] = dlsym(h, names[i]))) {
                        snprintf(dl_why, sizeof dl_why, "%s (%s) has no %s", soname, what, names[i]);
                        dlclose(h);
                        return -ELIBACC;
                }
        }
        for (size_t i = 0; i < n; i++)
                memcpy((char *)table + offs[i], &fns[i], sizeof fns[i]);
        *ret_handle = h;
        return 0;
}

#define DL_ENTRY(type, f) #f
#define DL_OFF(type, f) offsetof(type, f)

#define ZMQ_FNS(X)                                                                                          \
        X(struct dl_zmq, zmq_ctx_new), X(struct dl_zmq, zmq_ctx_term), X(struct dl_zmq, zmq_socket),      \
                X(struct dl_zmq, zmq_close), X(struct dl_zmq, zmq_setsockopt),                              \
                X(struct dl_zmq, zmq_getsockopt), X(struct dl_zmq, zmq_connect), X(struct dl_zmq, zmq_send), \
                X(struct dl_zmq, zmq_msg_init), X(struct dl_zmq, zmq_msg_recv),                             \
                X(struct dl_zmq, zmq_msg_close), X(struct dl_zmq, zmq_msg_more),                            \
                X(struct dl_zmq, zmq_msg_data), X(struct dl_zmq, zmq_msg_size),                             \
                X(struct dl_zmq, zmq_socket_monitor)

#define CRYPTO_FNS(X)                                                                                       \
        X(struct dl_crypto, EVP_MAC_fetch), X(struct dl_crypto, EVP_MAC_free),                              \
                X(struct dl_crypto, EVP_MAC_CTX_new), X(struct dl_crypto, EVP_MAC_CTX_free),                \
                X(struct dl_crypto, EVP_MAC_init), X(struct dl_crypto, EVP_MAC_update),                     \
                X(struct dl_crypto, EVP_MAC_final), X(struct dl_crypto, OSSL_PARAM_construct_utf8_string), \
                X(struct dl_crypto, OSSL_PARAM_construct_end), X(struct dl_crypto, CRYPTO_memcmp)

#define LIBM_FNS(X) X(struct dl_libm, pow), X(struct dl_libm, fmod), X(struct dl_libm, floor)

int dl_zmq_load(void) {
        static const char *const names[] = {ZMQ_FNS(DL_ENTRY)};
        static const size_t offs[] = {ZMQ_FNS(DL_OFF)};
        _Static_assert(sizeof names / sizeof *names == sizeof(struct dl_zmq) / sizeof(void *), "every member");
        if (zmq_handle)
                return 0;
        return dl_resolve(DL_ZMQ_SONAME, "ZeroMQ, to talk to kernels", names, offs, sizeof names / sizeof *names,
                          &dlz, &zmq_handle);
}

int dl_crypto_load(void) {
        static const char *const names[] = {CRYPTO_FNS(DL_ENTRY)};
        static const size_t offs[] = {CRYPTO_FNS(DL_OFF)};
        _Static_assert(sizeof names / sizeof *names == sizeof(struct dl_crypto) / sizeof(void *), "every member");
        if (crypto_handle)
                return 0;
        return dl_resolve(DL_CRYPTO_SONAME, "OpenSSL, to sign kernel messages", names, offs,
                          sizeof names / sizeof *names, &dlc, &crypto_handle);
}

int dl_libm_load(void) {
        static const char *const names[] = {LIBM_FNS(DL_ENTRY)};
        static const size_t offs[] = {LIBM_FNS(DL_OFF)};
        _Static_assert(sizeof names / sizeof *names == sizeof(struct dl_libm) / sizeof(void *), "every member");
        if (libm_handle)
                return 0;
        return dl_resolve(DL_LIBM_SONAME, "the maths library, for float //, % and **", names, offs,
                          sizeof names / sizeof *names, &dlm, &libm_handle);
}
