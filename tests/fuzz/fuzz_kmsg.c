/* fuzz_kmsg.c — kmsg_decode (and kmsg_conn_parse) on arbitrary bytes.
 *
 * Input: one mode byte, then frames separated by 0xff (a byte that never
 * occurs in UTF-8, so JSON frames keep their meaning).  Modes (byte % 4):
 *   0  decode without a key
 *   1  decode with a fixed key, signature as given (almost always refused)
 *   2  decode with a fixed key after re-signing the parts, so the JSON
 *      parsing behind a valid signature is reached
 *   3  the rest is a connection file for kmsg_conn_parse
 * Every message that decodes is encoded again and must decode to the same
 * thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmsg.h"

#define MAX_SPLIT (KMSG_MAX_FRAMES + 8)

static const char fuzz_key[] = "b0e1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e";

static size_t split(const uint8_t *p, size_t n, struct kmsg_frame *f) {
        size_t k = 0, start = 0;
        for (size_t i = 0; i < n && k < MAX_SPLIT - 1; i++) {
                if (p[i] == 0xff) {
                        f[k++] = (struct kmsg_frame){p + start, i - start};
                        start = i + 1;
                }
        }
        f[k++] = (struct kmsg_frame){p + start, n - start};
        return k;
}

/* Replaces the signature frame with the right one for the parts. */
static void resign(struct kmsg_frame *f, size_t n, const struct kmsg_key *key, char *sig) {
        size_t dl = strlen(KMSG_DELIM);
        for (size_t i = 0; i < n; i++) {
                if (f[i].len == dl && memcmp(f[i].data, KMSG_DELIM, dl) == 0) {
                        if (n - i - 1 >= 5 && kmsg_sign(key, &f[i + 2], sig) == 0)
                                f[i + 1] = (struct kmsg_frame){sig, KMSG_SIG_LEN};
                        return;
                }
        }
}

static int same_blobs(const struct kmsg_blob *a, const struct kmsg_blob *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i].len != b[i].len || (a[i].len && memcmp(a[i].data, b[i].data, a[i].len)))
                        return 0;
        return 1;
}

/* Encodes m and decodes the result; both must succeed and agree. */
static void roundtrip(const struct kmsg *m, const struct kmsg_key *key) {
        struct kmsg_wire w = {0};
        struct kmsg_frame f[MAX_SPLIT];
        struct kmsg *back = NULL;
        if (kmsg_encode(m, key, &w) < 0)
                abort();
        for (size_t i = 0; i < w.n; i++)
                f[i] = (struct kmsg_frame){w.frames[i].data, w.frames[i].len};
        if (kmsg_decode(f, w.n, key, &back, NULL) < 0)
                abort();
        if (!json_equal(m->header, back->header) ||
            !json_equal(m->parent_header, back->parent_header) ||
            !json_equal(m->metadata, back->metadata) || !json_equal(m->content, back->content) ||
            m->n_idents != back->n_idents || m->n_buffers != back->n_buffers ||
            !same_blobs(m->idents, back->idents, m->n_idents) ||
            !same_blobs(m->buffers, back->buffers, m->n_buffers))
                abort();
        kmsg_free(back);
        kmsg_wire_clear(&w);
}

static void fuzz_conn(const uint8_t *data, size_t size) {
        struct kmsg_conn c;
        char ep[512];
        if (kmsg_conn_parse((const char *)data, size, &c, NULL) < 0)
                return;
        for (int ch = 0; ch < KMSG_N_CHANNELS; ch++)
                if (kmsg_conn_endpoint(&c, ch, ep, sizeof ep) < 0)
                        abort(); /* ip is < 256 bytes: every endpoint fits */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kmsg_frame f[MAX_SPLIT];
        struct kmsg_key key;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        const char *err = NULL;
        if (size < 1)
                return 0;
        int mode = data[0] % 4;
        if (mode == 3) {
                fuzz_conn(data + 1, size - 1);
                return 0;
        }
        key.len = strlen(fuzz_key);
        memcpy(key.data, fuzz_key, key.len);
        size_t n = split(data + 1, size - 1, f);
        if (mode == 2)
                resign(f, n, &key, sig);
        const struct kmsg_key *k = mode == 0 ? NULL : &key;
        int r = kmsg_decode(f, n, k, &m, &err);
        if (r < 0) {
                if (m || !err)
                        abort();
                return 0;
        }
        if (!kmsg_id(m) || !kmsg_type(m))
                abort();
        (void)kmsg_parent_id(m);
        roundtrip(m, k);
        kmsg_free(m);
        return 0;
}
