/* dl.h — libzmq, libcrypto and libm, loaded on first use.
 *
 * An idle daemon talks to no kernel, so it does not map libzmq (with
 * libstdc++, libsodium, krb5, pgm, norm) nor libcrypto: they are dlopen'd
 * when the first kernel is opened or the first message signed, and stay
 * loaded.  libm likewise waits for the first template doing float //, %
 * or ** (its IFUNC resolvers alone would make a third of a megabyte of it
 * resident at start).  Calls go through the tables below, whose members have the
 * names and the exact types of the library functions: dlz.zmq_send(...),
 * dlc.EVP_MAC_init(...), dlm.pow(...).  A missing library or symbol is an error of the
 * operation that needed it (-ELIBACC, the reason in dl_error()), never a
 * failure to start.  Not thread-safe: the daemon has one thread. */
#pragma once
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stddef.h>
#include <zmq.h>

#define DL_FN(f) __typeof__(f) *f

struct dl_zmq {
        DL_FN(zmq_ctx_new);
        DL_FN(zmq_ctx_term);
        DL_FN(zmq_socket);
        DL_FN(zmq_close);
        DL_FN(zmq_setsockopt);
        DL_FN(zmq_getsockopt);
        DL_FN(zmq_connect);
        DL_FN(zmq_send);
        DL_FN(zmq_msg_init);
        DL_FN(zmq_msg_recv);
        DL_FN(zmq_msg_close);
        DL_FN(zmq_msg_more);
        DL_FN(zmq_msg_data);
        DL_FN(zmq_msg_size);
        DL_FN(zmq_socket_monitor);
};

struct dl_crypto {
        DL_FN(EVP_MAC_fetch);
        DL_FN(EVP_MAC_free);
        DL_FN(EVP_MAC_CTX_new);
        DL_FN(EVP_MAC_CTX_free);
        DL_FN(EVP_MAC_init);
        DL_FN(EVP_MAC_update);
        DL_FN(EVP_MAC_final);
        DL_FN(OSSL_PARAM_construct_utf8_string);
        DL_FN(OSSL_PARAM_construct_end);
        DL_FN(CRYPTO_memcmp);
};

struct dl_libm {
        DL_FN(pow);
        DL_FN(fmod);
        DL_FN(floor);
};

/* Usable after dl_zmq_load() / dl_crypto_load() / dl_libm_load() returned 0. */
extern struct dl_zmq dlz;
extern struct dl_crypto dlc;
extern struct dl_libm dlm;

/* Loads the library and fills its table (once; a failure is retried on the
 * next call).  Returns 0 or -ELIBACC. */
int dl_zmq_load(void);
int dl_crypto_load(void);
int dl_libm_load(void);

/* Why the last load failed: "cannot load libzmq.so.5 (...): <dlerror>". */
const char *dl_error(void);

/* The loader behind both, for the tests: opens soname (what says what it is
 * for) and resolves names[0..n) into the function pointers at the offsets
 * offs[0..n) of table.  Returns 0 with the handle in *ret_handle, or
 * -ELIBACC with nothing changed.  A definition in the program or in an
 * already loaded library comes first, as it would with the library linked. */
int dl_resolve(const char *soname, const char *what, const char *const *names, const size_t *offs, size_t n,
               void *table, void **ret_handle);
