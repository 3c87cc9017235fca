/* test_kmsg.c — the Jupyter wire format against jupyter_client's own vectors
 * (tests/data/kmsg/vectors.json, made by tests/unit/gen_kmsg_vectors.py),
 * connection files (tests/data/kmsg/conn.json), and one test per error. */
#include "unit.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "kmsg.h"

#define VECTORS "tests/data/kmsg/vectors.json"
#define CONN_CASES "tests/data/kmsg/conn.json"

static const char *const KEY = "b0e1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e";

/* ---- constant-time comparison: this definition interposes OpenSSL's, so
 * the test sees every call kmsg makes (and still compares correctly). ---- */

static unsigned memcmp_calls;

int CRYPTO_memcmp(const void *in_a, const void *in_b, size_t len) {
        const unsigned char *a = in_a, *b = in_b;
        unsigned char x = 0;
        memcmp_calls++;
        for (size_t i = 0; i < len; i++)
                x |= a[i] ^ b[i];
        return x;
}

/* ---- helpers ---- */

static json_t *load(const char *path) {
        json_error_t err;
        json_t *v = json_load_file(path, JSON_ALLOW_NUL, &err);
        if (!v)
                fail_msg("%s:%d: %s", path, err.line, err.text);
        return v;
}

static void set_key(struct kmsg_key *k, const char *s) {
        k->len = strlen(s);
        memcpy(k->data, s, k->len);
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        fail_msg("bad hex digit %c", c);
        return 0;
}

/* A frame from the vector file (text, or {"hex": ...}) into owned bytes. */
static struct kmsg_blob blob_from(json_t *v) {
        struct kmsg_blob b = {NULL, 0};
        if (json_is_string(v)) {
                b.len = json_string_length(v);
                b.data = malloc(b.len + 1);
                memcpy(b.data, json_string_value(v), b.len);
                return b;
        }
        const char *h = json_string_value(json_object_get(v, "hex"));
        assert_non_null(h);
        b.len = strlen(h) / 2;
        b.data = malloc(b.len + 1);
        for (size_t i = 0; i < b.len; i++)
                b.data[i] = (unsigned char)(hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
        return b;
}

struct frames {
        struct kmsg_blob b[KMSG_MAX_FRAMES + 8];
        struct kmsg_frame f[KMSG_MAX_FRAMES + 8];
        size_t n;
};

static void frames_from(struct frames *fr, json_t *arr) {
        size_t i;
        json_t *v;
        fr->n = json_array_size(arr);
        assert_true(fr->n <= KMSG_MAX_FRAMES);
        json_array_foreach(arr, i, v) {
                fr->b[i] = blob_from(v);
                fr->f[i] = (struct kmsg_frame){fr->b[i].data, fr->b[i].len};
        }
}

static void frames_free(struct frames *fr) {
        for (size_t i = 0; i < fr->n; i++)
                free(fr->b[i].data);
        fr->n = 0;
}

/* Builds [DELIM, sig, p0..p3] with a correct signature for key (NULL: no
 * signature).  The parts point at the caller's strings. */
static void signed_frames(struct frames *fr, const char *const p[4], const struct kmsg_key *key,
                          char sig[KMSG_SIG_LEN + 1]) {
        fr->n = 6;
        fr->f[0] = (struct kmsg_frame){KMSG_DELIM, strlen(KMSG_DELIM)};
        for (int i = 0; i < 4; i++)
                fr->f[2 + i] = (struct kmsg_frame){p[i], strlen(p[i])};
        sig[0] = '\0';
        if (key)
                assert_int_equal(kmsg_sign(key, &fr->f[2], sig), 0);
        fr->f[1] = (struct kmsg_frame){sig, strlen(sig)};
}

static void assert_blobs(const struct kmsg_blob *got, size_t n, json_t *want) {
        size_t i;
        json_t *v;
        assert_int_equal(n, json_array_size(want));
        json_array_foreach(want, i, v) {
                struct kmsg_blob w = blob_from(v);
                assert_int_equal(got[i].len, w.len);
                if (w.len)
                        assert_memory_equal(got[i].data, w.data, w.len);
                free(w.data);
        }
}

static void assert_json(json_t *got, json_t *want, const char *what, const char *name) {
        if (!json_equal(got, want)) {
                char *g = json_dumps(got, JSON_ENCODE_ANY), *w = json_dumps(want, JSON_ENCODE_ANY);
                print_error("%s: %s differs:\n got  %s\n want %s\n", name, what, g, w);
                free(g);
                free(w);
                fail();
        }
}

static const struct kmsg_stamp fixed_stamp = {
        .session = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3f4e5d6c",
        .username = "sparkd",
        .rnd = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
        .now = {1715938212, 345678901},
};

/* ---- vectors from jupyter_client ---- */

static void check_decode_vector(json_t *c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        struct kmsg_key key;
        struct frames fr;
        struct kmsg *m = NULL;
        const char *err = NULL;
        set_key(&key, json_string_value(json_object_get(c, "key")));
        frames_from(&fr, json_object_get(c, "frames"));
        int r = kmsg_decode(fr.f, fr.n, &key, &m, &err);
        if (r < 0)
                fail_msg("%s: kmsg_decode: %d %s", name, r, err);
        assert_json(m->header, json_object_get(c, "header"), "header", name);
        assert_json(m->parent_header, json_object_get(c, "parent_header"), "parent_header", name);
        assert_json(m->metadata, json_object_get(c, "metadata"), "metadata", name);
        assert_json(m->content, json_object_get(c, "content"), "content", name);
        assert_blobs(m->idents, m->n_idents, json_object_get(c, "idents"));
        assert_blobs(m->buffers, m->n_buffers, json_object_get(c, "buffers"));
        assert_string_equal(kmsg_id(m), json_string_value(json_object_get(
                                                json_object_get(c, "header"), "msg_id")));
        if (key.len) {
                char sig[KMSG_SIG_LEN + 1];
                size_t d = m->n_idents;
                assert_int_equal(kmsg_sign(&key, &fr.f[d + 2], sig), 0);
                assert_string_equal(sig, json_string_value(json_object_get(c, "signature")));
        }
        kmsg_free(m);
        /* Without a key the signature is not looked at. */
        assert_int_equal(kmsg_decode(fr.f, fr.n, NULL, &m, NULL), 0);
        kmsg_free(m);
        frames_free(&fr);
}

/* The vectors, loaded once for the group (a failing test does not leak
 * them: the teardown frees them). */
static json_t *vectors;

static int load_vectors(void **state) {
        (void)state;
        vectors = load(VECTORS);
        return vectors ? 0 : -1;
}

static int free_vectors(void **state) {
        (void)state;
        json_decref(vectors);
        vectors = NULL;
        return 0;
}

static void test_decode_vectors(void **state) {
        (void)state;
        json_t *c;
        size_t i;
        assert_true(json_array_size(json_object_get(vectors, "decode")) >= 8);
        json_array_foreach(json_object_get(vectors, "decode"), i, c) check_decode_vector(c);
}

/* Builds the request a vector describes from its fixed stamp. */
static struct kmsg *request_from(json_t *c, json_t *v) {
        struct kmsg_stamp st = {0};
        const char *hex = json_string_value(json_object_get(c, "rnd"));
        const char *kind = json_string_value(json_object_get(c, "kind"));
        struct kmsg *m = NULL;
        st.session = json_string_value(json_object_get(v, "session"));
        st.username = json_string_value(json_object_get(v, "username"));
        for (int i = 0; i < 16; i++)
                st.rnd[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        st.now.tv_sec = json_integer_value(json_object_get(c, "sec"));
        st.now.tv_nsec = json_integer_value(json_object_get(c, "nsec"));
        if (strcmp(kind, "execute_request") == 0) {
                json_t *ue = json_object_get(c, "user_expressions");
                assert_int_equal(kmsg_execute_request(&st,
                                                      json_string_value(json_object_get(c, "code")),
                                                      json_is_null(ue) ? NULL : ue, &m),
                                 0);
        } else {
                assert_string_equal(kind, "kernel_info_request");
                assert_int_equal(kmsg_kernel_info_request(&st, &m), 0);
        }
        return m;
}

static void check_encode_vector(json_t *c, json_t *v) {
        const char *name = json_string_value(json_object_get(c, "name"));
        struct kmsg_key key;
        struct kmsg_wire w = {0};
        struct frames want;
        set_key(&key, json_string_value(json_object_get(c, "key")));
        struct kmsg *m = request_from(c, v);
        assert_int_equal(kmsg_encode(m, &key, &w), 0);
        frames_from(&want, json_object_get(c, "frames"));
        assert_int_equal(w.n, want.n);
        for (size_t i = 0; i < w.n; i++) {
                if (w.frames[i].len != want.f[i].len ||
                    (w.frames[i].len && memcmp(w.frames[i].data, want.f[i].data, w.frames[i].len)))
                        fail_msg("%s: frame %zu differs:\n got  %.*s\n want %.*s", name, i,
                                 (int)w.frames[i].len, (const char *)w.frames[i].data,
                                 (int)want.f[i].len, (const char *)want.f[i].data);
        }
        frames_free(&want);
        kmsg_wire_clear(&w);
        kmsg_free(m);
}

static void test_encode_vectors(void **state) {
        (void)state;
        json_t *c;
        size_t i;
        assert_true(json_array_size(json_object_get(vectors, "encode")) >= 4);
        json_array_foreach(json_object_get(vectors, "encode"), i, c) check_encode_vector(c, vectors);
}

static int error_code(const char *name) {
        if (strcmp(name, "EBADSIG") == 0)
                return KMSG_EBADSIG;
        if (strcmp(name, "EUNSIGNED") == 0)
                return KMSG_EUNSIGNED;
        fail_msg("unknown error %s", name);
        return 0;
}

static void test_reject_vectors(void **state) {
        (void)state;
        json_t *c;
        size_t i;
        struct kmsg_key key;
        assert_true(json_array_size(json_object_get(vectors, "reject")) >= 4);
        json_array_foreach(json_object_get(vectors, "reject"), i, c) {
                struct frames fr;
                struct kmsg *m = NULL;
                set_key(&key, json_string_value(json_object_get(c, "key")));
                frames_from(&fr, json_object_get(c, "frames"));
                int want = error_code(json_string_value(json_object_get(c, "error")));
                int r = kmsg_decode(fr.f, fr.n, &key, &m, NULL);
                if (r != want)
                        fail_msg("%s: got %d, want %d",
                                 json_string_value(json_object_get(c, "name")), r, want);
                assert_null(m);
                frames_free(&fr);
        }
}

/* ---- encode/decode ---- */

static void test_roundtrip_with_idents_and_buffers(void **state) {
        (void)state;
        struct kmsg_key key;
        struct kmsg *m = NULL, *back = NULL;
        struct kmsg_wire w = {0};
        unsigned char bin[] = {0, 1, 2, 0xff};
        set_key(&key, KEY);
        assert_int_equal(kmsg_kernel_info_request(&fixed_stamp, &m), 0);
        m->idents = calloc(2, sizeof *m->idents);
        m->n_idents = 2;
        m->idents[0].data = (unsigned char *)strdup("router-id");
        m->idents[0].len = 9;
        m->buffers = calloc(2, sizeof *m->buffers);
        m->n_buffers = 2;
        m->buffers[0].data = malloc(sizeof bin);
        memcpy(m->buffers[0].data, bin, sizeof bin);
        m->buffers[0].len = sizeof bin;
        json_object_set_new(m->content, "text", json_string("Grüße \"x\"\n"));
        json_object_set_new(m->parent_header, "msg_id", json_string("parent-1"));

        assert_int_equal(kmsg_encode(m, &key, &w), 0);
        assert_int_equal(w.n, 2 + 6 + 2);
        assert_int_equal(w.frames[1].len, 0);
        assert_memory_equal(w.frames[2].data, KMSG_DELIM, strlen(KMSG_DELIM));
        assert_int_equal(w.frames[3].len, KMSG_SIG_LEN);

        struct kmsg_frame f[16];
        for (size_t i = 0; i < w.n; i++)
                f[i] = (struct kmsg_frame){w.frames[i].data, w.frames[i].len};
        assert_int_equal(kmsg_decode(f, w.n, &key, &back, NULL), 0);
        assert_true(json_equal(back->header, m->header));
        assert_true(json_equal(back->parent_header, m->parent_header));
        assert_true(json_equal(back->content, m->content));
        assert_int_equal(back->n_idents, 2);
        assert_memory_equal(back->idents[0].data, "router-id", 9);
        assert_int_equal(back->idents[1].len, 0);
        assert_int_equal(back->n_buffers, 2);
        assert_memory_equal(back->buffers[0].data, bin, sizeof bin);
        assert_int_equal(back->buffers[1].len, 0);
        assert_string_equal(kmsg_parent_id(back), "parent-1");
        assert_string_equal(kmsg_type(back), "kernel_info_request");
        kmsg_free(back);
        kmsg_wire_clear(&w);
        assert_null(w.frames);
        kmsg_free(m);
}

static void test_encode_without_key_leaves_signature_empty(void **state) {
        (void)state;
        struct kmsg *m = NULL;
        struct kmsg_wire w = {0};
        assert_int_equal(kmsg_kernel_info_request(&fixed_stamp, &m), 0);
        assert_int_equal(kmsg_encode(m, NULL, &w), 0);
        assert_int_equal(w.n, 6);
        assert_int_equal(w.frames[1].len, 0);
        assert_memory_equal(w.frames[3].data, "{}", 2);
        kmsg_wire_clear(&w);
        kmsg_free(m);
}

static void test_encode_null_parts_are_empty_objects(void **state) {
        (void)state;
        struct kmsg *m = NULL;
        struct kmsg_wire w = {0};
        assert_int_equal(kmsg_kernel_info_request(&fixed_stamp, &m), 0);
        json_decref(m->metadata);
        json_decref(m->content);
        m->metadata = m->content = NULL;
        assert_int_equal(kmsg_encode(m, NULL, &w), 0);
        assert_int_equal(w.frames[4].len, 2);
        assert_memory_equal(w.frames[5].data, "{}", 2);
        kmsg_wire_clear(&w);
        kmsg_free(m);
}

static void test_encode_rejects_non_object(void **state) {
        (void)state;
        struct kmsg *m = NULL;
        struct kmsg_wire w = {0};
        assert_int_equal(kmsg_kernel_info_request(&fixed_stamp, &m), 0);
        json_decref(m->content);
        m->content = json_array();
        assert_int_equal(kmsg_encode(m, NULL, &w), -EINVAL);
        assert_null(w.frames);
        kmsg_free(m);
}

static void test_encode_rejects_too_many_frames(void **state) {
        (void)state;
        struct kmsg *m = NULL;
        struct kmsg_wire w = {0};
        assert_int_equal(kmsg_kernel_info_request(&fixed_stamp, &m), 0);
        m->n_buffers = KMSG_MAX_FRAMES - 5;
        m->buffers = calloc(m->n_buffers, sizeof *m->buffers);
        assert_int_equal(kmsg_encode(m, NULL, &w), -EINVAL);
        m->n_buffers--;
        assert_int_equal(kmsg_encode(m, NULL, &w), 0);
        assert_int_equal(w.n, KMSG_MAX_FRAMES);
        kmsg_wire_clear(&w);
        kmsg_free(m);
}

/* ---- one test per decode error ---- */

static const char *const good[4] = {
        "{\"msg_id\":\"a\",\"msg_type\":\"status\"}", "{}", "{}",
        "{\"execution_state\":\"idle\"}"};

static int decode_parts(const char *const p[4], const struct kmsg_key *key, const char **err) {
        struct frames fr;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        signed_frames(&fr, p, key, sig);
        int r = kmsg_decode(fr.f, fr.n, key, &m, err);
        assert_true(r < 0 ? m == NULL : m != NULL);
        kmsg_free(m);
        return r;
}

static void test_decode_good(void **state) {
        (void)state;
        struct kmsg_key key;
        set_key(&key, KEY);
        assert_int_equal(decode_parts(good, &key, NULL), 0);
        assert_int_equal(decode_parts(good, NULL, NULL), 0);
}

static void test_decode_no_delimiter(void **state) {
        (void)state;
        struct kmsg_frame f[6] = {{"<IDS|MSG", 8}, {"", 0},     {"{}", 2},
                                  {"{}", 2},       {"{}", 2}, {"{}", 2}};
        struct kmsg *m = NULL;
        const char *err = NULL;
        assert_int_equal(kmsg_decode(f, 6, NULL, &m, &err), KMSG_ENODELIM);
        assert_non_null(strstr(err, "delimiter"));
        assert_int_equal(kmsg_decode(f, 0, NULL, &m, &err), KMSG_ENODELIM);
        assert_null(m);
}

static void test_decode_too_few_frames(void **state) {
        (void)state;
        struct frames fr;
        struct kmsg *m = NULL;
        const char *err = NULL;
        char sig[KMSG_SIG_LEN + 1];
        signed_frames(&fr, good, NULL, sig);
        assert_int_equal(kmsg_decode(fr.f, 5, NULL, &m, &err), KMSG_ESHORT);
        assert_non_null(strstr(err, "fewer than 5"));
        assert_int_equal(kmsg_decode(fr.f, 1, NULL, &m, &err), KMSG_ESHORT);
        assert_null(m);
}

static void test_decode_too_many_frames(void **state) {
        (void)state;
        struct frames fr;
        struct kmsg *m = NULL;
        const char *err = NULL;
        char sig[KMSG_SIG_LEN + 1];
        signed_frames(&fr, good, NULL, sig);
        for (size_t i = 6; i < KMSG_MAX_FRAMES + 1; i++)
                fr.f[i] = (struct kmsg_frame){"b", 1};
        assert_int_equal(kmsg_decode(fr.f, KMSG_MAX_FRAMES + 1, NULL, &m, &err), KMSG_ETOOBIG);
        assert_non_null(strstr(err, "too many"));
        assert_int_equal(kmsg_decode(fr.f, KMSG_MAX_FRAMES, NULL, &m, &err), 0);
        assert_int_equal(m->n_buffers, KMSG_MAX_FRAMES - 6);
        kmsg_free(m);
}

static void test_decode_frame_too_large(void **state) {
        (void)state;
        struct frames fr;
        struct kmsg *m = NULL;
        const char *err = NULL;
        char sig[KMSG_SIG_LEN + 1];
        signed_frames(&fr, good, NULL, sig);
        /* The length is checked before any byte is read. */
        fr.f[6] = (struct kmsg_frame){"x", (size_t)KMSG_MAX_FRAME + 1};
        assert_int_equal(kmsg_decode(fr.f, 7, NULL, &m, &err), KMSG_ETOOBIG);
        assert_non_null(strstr(err, "too large"));
        assert_null(m);
}

static void test_decode_unsigned_with_key(void **state) {
        (void)state;
        struct kmsg_key key;
        const char *err = NULL;
        struct frames fr;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        set_key(&key, KEY);
        signed_frames(&fr, good, NULL, sig);
        assert_int_equal(kmsg_decode(fr.f, fr.n, &key, &m, &err), KMSG_EUNSIGNED);
        assert_non_null(strstr(err, "not signed"));
        assert_null(m);
        /* Without a key, an unsigned message is fine. */
        assert_int_equal(kmsg_decode(fr.f, fr.n, NULL, &m, &err), 0);
        kmsg_free(m);
}

static void test_decode_bad_signature(void **state) {
        (void)state;
        struct kmsg_key key, other;
        const char *err = NULL;
        struct frames fr;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        set_key(&key, KEY);
        set_key(&other, "another key");
        signed_frames(&fr, good, &other, sig);
        assert_int_equal(kmsg_decode(fr.f, fr.n, &key, &m, &err), KMSG_EBADSIG);
        assert_non_null(strstr(err, "signature"));
        /* Right key, one hex digit changed at either end. */
        signed_frames(&fr, good, &key, sig);
        for (size_t i = 0; i < KMSG_SIG_LEN; i += KMSG_SIG_LEN - 1) {
                char was = sig[i];
                sig[i] = was == '0' ? '1' : '0';
                assert_int_equal(kmsg_decode(fr.f, fr.n, &key, &m, &err), KMSG_EBADSIG);
                sig[i] = was;
        }
        /* A valid prefix is not enough. */
        fr.f[1].len = 32;
        assert_int_equal(kmsg_decode(fr.f, fr.n, &key, &m, &err), KMSG_EBADSIG);
        fr.f[1].len = 64;
        assert_int_equal(kmsg_decode(fr.f, fr.n, &key, &m, &err), 0);
        kmsg_free(m);
}

static void test_decode_signature_covers_every_part(void **state) {
        (void)state;
        struct kmsg_key key;
        struct frames fr;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        set_key(&key, KEY);
        for (int i = 0; i < 4; i++) {
                signed_frames(&fr, good, &key, sig);
                fr.f[2 + i] = (struct kmsg_frame){"{\"msg_id\":\"a\",\"msg_type\":\"b\"}", 30};
                assert_int_equal(kmsg_decode(fr.f, fr.n, &key, &m, NULL), KMSG_EBADSIG);
        }
        assert_null(m);
}

static void test_decode_compares_in_constant_time(void **state) {
        (void)state;
        struct kmsg_key key;
        set_key(&key, KEY);
        memcmp_calls = 0;
        assert_int_equal(decode_parts(good, &key, NULL), 0);
        assert_int_equal(memcmp_calls, 1);
        assert_int_equal(decode_parts(good, NULL, NULL), 0);
        assert_int_equal(memcmp_calls, 1);
}

static void test_decode_bad_json(void **state) {
        (void)state;
        struct kmsg_key key;
        const char *err = NULL;
        static const char *const want[4] = {"header", "parent_header", "metadata", "content"};
        set_key(&key, KEY);
        for (int i = 0; i < 4; i++) {
                const char *p[4] = {good[0], good[1], good[2], good[3]};
                p[i] = "{\"a\": ";
                assert_int_equal(decode_parts(p, &key, &err), KMSG_EJSON);
                assert_int_equal(strncmp(err, want[i], strlen(want[i])), 0);
                assert_non_null(strstr(err, "not valid JSON"));
        }
        const char *p[4] = {good[0], good[1], good[2], ""};
        assert_int_equal(decode_parts(p, &key, &err), KMSG_EJSON);
        p[3] = "{} trailing";
        assert_int_equal(decode_parts(p, &key, &err), KMSG_EJSON);
        p[3] = "{\"t\": \"\xff\xfe\"}"; /* not UTF-8 */
        assert_int_equal(decode_parts(p, &key, &err), KMSG_EJSON);
        p[3] = "{\"t\": NaN}";
        assert_int_equal(decode_parts(p, &key, &err), KMSG_EJSON);
}

static void test_decode_deep_json_is_bounded(void **state) {
        (void)state;
        size_t depth = 100000;
        char *deep = malloc(2 * depth + 16);
        size_t n = 0;
        n += (size_t)sprintf(deep, "{\"a\":");
        for (size_t i = 0; i < depth; i++)
                deep[n++] = '[';
        for (size_t i = 0; i < depth; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        const char *p[4] = {good[0], good[1], good[2], deep};
        assert_int_equal(decode_parts(p, NULL, NULL), KMSG_EJSON);
        free(deep);
}

static void test_decode_not_an_object(void **state) {
        (void)state;
        const char *err = NULL;
        static const char *const values[] = {"[]", "\"s\"", "1", "null", "true"};
        for (int i = 0; i < 4; i++) {
                for (size_t j = 0; j < sizeof values / sizeof *values; j++) {
                        const char *p[4] = {good[0], good[1], good[2], good[3]};
                        p[i] = values[j];
                        assert_int_equal(decode_parts(p, NULL, &err), KMSG_ENOTOBJ);
                        assert_non_null(strstr(err, "not a JSON object"));
                }
        }
}

static void test_decode_header_fields(void **state) {
        (void)state;
        const char *err = NULL;
        static const char *const headers[] = {
                "{\"msg_type\":\"status\"}",
                "{\"msg_id\":\"a\"}",
                "{\"msg_id\":1,\"msg_type\":\"status\"}",
                "{\"msg_id\":\"a\",\"msg_type\":null}",
                "{\"msg_id\":\"a\\u0000b\",\"msg_type\":\"status\"}",
                "{\"msg_id\":\"a\",\"msg_type\":\"st\\u0000atus\"}",
                "{}"};
        for (size_t j = 0; j < sizeof headers / sizeof *headers; j++) {
                const char *p[4] = {headers[j], good[1], good[2], good[3]};
                assert_int_equal(decode_parts(p, NULL, &err), KMSG_EHEADER);
                assert_non_null(strstr(err, "msg_id"));
        }
}

static void test_decode_uses_first_delimiter(void **state) {
        (void)state;
        struct frames fr;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        signed_frames(&fr, good, NULL, sig);
        /* A buffer that happens to equal the delimiter is just a buffer. */
        fr.f[6] = (struct kmsg_frame){KMSG_DELIM, strlen(KMSG_DELIM)};
        assert_int_equal(kmsg_decode(fr.f, 7, NULL, &m, NULL), 0);
        assert_int_equal(m->n_idents, 0);
        assert_int_equal(m->n_buffers, 1);
        kmsg_free(m);
}

static void test_decode_nul_in_content(void **state) {
        (void)state;
        struct frames fr;
        struct kmsg *m = NULL;
        char sig[KMSG_SIG_LEN + 1];
        const char *p[4] = {good[0], good[1], good[2], "{\"text\":\"a\\u0000b\"}"};
        signed_frames(&fr, p, NULL, sig);
        assert_int_equal(kmsg_decode(fr.f, fr.n, NULL, &m, NULL), 0);
        assert_int_equal(json_string_length(json_object_get(m->content, "text")), 3);
        kmsg_free(m);
}

/* ---- requests, ids, dates ---- */

static void test_execute_request_content(void **state) {
        (void)state;
        struct kmsg *m = NULL;
        json_t *ue = json_pack("{s:s}", "app", "spark.sparkContext.applicationId");
        assert_int_equal(kmsg_execute_request(&fixed_stamp, "x = 1", ue, &m), 0);
        assert_string_equal(kmsg_type(m), "execute_request");
        assert_string_equal(json_string_value(json_object_get(m->content, "code")), "x = 1");
        assert_true(json_is_false(json_object_get(m->content, "silent")));
        assert_true(json_is_false(json_object_get(m->content, "store_history")));
        assert_true(json_is_false(json_object_get(m->content, "allow_stdin")));
        assert_true(json_is_false(json_object_get(m->content, "stop_on_error")));
        assert_true(json_equal(json_object_get(m->content, "user_expressions"), ue));
        assert_string_equal(json_string_value(json_object_get(m->header, "version")), "5.3");
        assert_string_equal(json_string_value(json_object_get(m->header, "date")),
                            "2024-05-17T09:30:12.345678Z");
        assert_string_equal(kmsg_id(m), "01020304-0506-4708-890a-0b0c0d0e0f10");
        assert_null(kmsg_parent_id(m));
        kmsg_free(m);
        json_decref(ue);
}

static void test_execute_request_rejects_bad_arguments(void **state) {
        (void)state;
        struct kmsg *m = NULL;
        json_t *ints = json_pack("{s:i}", "a", 1), *arr = json_array();
        assert_int_equal(kmsg_execute_request(&fixed_stamp, "x", ints, &m), -EINVAL);
        assert_int_equal(kmsg_execute_request(&fixed_stamp, "x", arr, &m), -EINVAL);
        assert_int_equal(kmsg_execute_request(&fixed_stamp, NULL, NULL, &m), -EINVAL);
        struct kmsg_stamp st = fixed_stamp;
        st.session = "";
        assert_int_equal(kmsg_execute_request(&st, "x", NULL, &m), -EINVAL);
        st = fixed_stamp;
        st.username = NULL;
        assert_int_equal(kmsg_kernel_info_request(&st, &m), -EINVAL);
        assert_int_equal(kmsg_new("", &fixed_stamp, &m), -EINVAL);
        st = fixed_stamp;
        st.now.tv_sec = 253402300800; /* year 10000 */
        assert_int_equal(kmsg_new("status", &st, &m), -EOVERFLOW);
        assert_null(m);
        json_decref(ints);
        json_decref(arr);
}

static void assert_uuid4(const char *s) {
        assert_int_equal(strlen(s), KMSG_UUID_LEN);
        for (int i = 0; i < (int)KMSG_UUID_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        assert_int_equal(s[i], '-');
                else
                        assert_non_null(strchr("0123456789abcdef", s[i]));
        }
        assert_int_equal(s[14], '4');
        assert_non_null(strchr("89ab", s[19]));
}

static void test_uuid4_format(void **state) {
        (void)state;
        unsigned char zero[16] = {0}, ones[16];
        char a[KMSG_UUID_LEN + 1], b[KMSG_UUID_LEN + 1];
        memset(ones, 0xff, sizeof ones);
        kmsg_uuid4(zero, a);
        assert_string_equal(a, "00000000-0000-4000-8000-000000000000");
        kmsg_uuid4(ones, a);
        assert_string_equal(a, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        struct kmsg_stamp s1, s2;
        assert_int_equal(kmsg_stamp_init(&s1, "sess", "user"), 0);
        assert_int_equal(kmsg_stamp_init(&s2, "sess", "user"), 0);
        kmsg_uuid4(s1.rnd, a);
        kmsg_uuid4(s2.rnd, b);
        assert_uuid4(a);
        assert_uuid4(b);
        assert_string_not_equal(a, b);
        assert_string_equal(s1.session, "sess");
        assert_true(s1.now.tv_sec > 1700000000);
}

static void test_date_format(void **state) {
        (void)state;
        char d[32];
        assert_int_equal(kmsg_date((struct timespec){0, 0}, d), 0);
        assert_string_equal(d, "1970-01-01T00:00:00.000000Z");
        assert_int_equal(kmsg_date((struct timespec){1715938212, 999999999}, d), 0);
        assert_string_equal(d, "2024-05-17T09:30:12.999999Z");
        assert_int_equal(kmsg_date((struct timespec){253402300799, 1000}, d), 0);
        assert_string_equal(d, "9999-12-31T23:59:59.000001Z");
        assert_int_equal(kmsg_date((struct timespec){253402300800, 0}, d), -EOVERFLOW);
        assert_int_equal(kmsg_date((struct timespec){-30610224001, 0}, d), -EOVERFLOW);
}

/* ---- connection files ---- */

static int errno_named(const char *name) {
        if (strcmp(name, "ENOTSUP") == 0)
                return -ENOTSUP;
        if (strcmp(name, "EINVAL") == 0)
                return -EINVAL;
        fail_msg("unknown errno name %s", name);
        return 0;
}

static void check_conn_case(json_t *c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *file = json_object_get(c, "file");
        char *text = file ? json_dumps(file, JSON_ENCODE_ANY)
                          : strdup(json_string_value(json_object_get(c, "text")));
        struct kmsg_conn conn;
        const char *err = NULL;
        int r = kmsg_conn_parse(text, strlen(text), &conn, &err);
        json_t *eps = json_object_get(c, "endpoints");
        if (eps) {
                if (r < 0)
                        fail_msg("%s: %d %s", name, r, err);
                for (int ch = 0; ch < KMSG_N_CHANNELS; ch++) {
                        char ep[512];
                        const char *want = json_string_value(json_array_get(eps, (size_t)ch));
                        assert_int_equal(kmsg_conn_endpoint(&conn, ch, ep, sizeof ep),
                                         (int)strlen(want));
                        assert_string_equal(ep, want);
                }
                const char *key = json_string_value(json_object_get(c, "key"));
                assert_int_equal(conn.key.len, strlen(key));
                assert_memory_equal(conn.key.data, key, conn.key.len);
        } else {
                int want = errno_named(json_string_value(json_object_get(c, "error")));
                const char *msg = json_string_value(json_object_get(c, "message"));
                if (r != want || !err || !strstr(err, msg))
                        fail_msg("%s: got %d \"%s\", want %d \"...%s...\"", name, r, err, want,
                                 msg);
        }
        free(text);
}

static void test_conn_cases(void **state) {
        (void)state;
        json_t *v = load(CONN_CASES), *c;
        size_t i;
        assert_true(json_array_size(json_object_get(v, "cases")) >= 20);
        json_array_foreach(json_object_get(v, "cases"), i, c) check_conn_case(c);
        json_decref(v);
}

static void test_conn_limits(void **state) {
        (void)state;
        struct kmsg_conn c;
        const char *err = NULL;
        char *big = malloc(KMSG_MAX_CONN_FILE + 2);
        memset(big, ' ', KMSG_MAX_CONN_FILE + 1);
        big[0] = '{';
        big[KMSG_MAX_CONN_FILE] = '}';
        big[KMSG_MAX_CONN_FILE + 1] = '\0';
        assert_int_equal(kmsg_conn_parse(big, KMSG_MAX_CONN_FILE + 1, &c, &err), -EINVAL);
        assert_non_null(strstr(err, "too large"));
        free(big);

        char keyed[2 * KMSG_MAX_KEY + 200];
        char longkey[KMSG_MAX_KEY + 2];
        memset(longkey, 'k', sizeof longkey - 1);
        longkey[sizeof longkey - 1] = '\0';
        snprintf(keyed, sizeof keyed,
                 "{\"shell_port\":1,\"iopub_port\":2,\"stdin_port\":3,\"control_port\":4,"
                 "\"hb_port\":5,\"ip\":\"127.0.0.1\",\"key\":\"%s\"}",
                 longkey);
        assert_int_equal(kmsg_conn_parse(keyed, strlen(keyed), &c, &err), -EINVAL);
        assert_non_null(strstr(err, "key is too long"));
        longkey[KMSG_MAX_KEY] = '\0'; /* exactly the limit */
        snprintf(keyed, sizeof keyed,
                 "{\"shell_port\":1,\"iopub_port\":2,\"stdin_port\":3,\"control_port\":4,"
                 "\"hb_port\":5,\"ip\":\"127.0.0.1\",\"key\":\"%s\"}",
                 longkey);
        assert_int_equal(kmsg_conn_parse(keyed, strlen(keyed), &c, &err), 0);
        assert_int_equal(c.key.len, KMSG_MAX_KEY);
}

static void test_conn_endpoint_errors(void **state) {
        (void)state;
        struct kmsg_conn c = {.ipc = false, .ip = "127.0.0.1", .ports = {50001, 2, 3, 4, 5}};
        char small[21], ok[22];
        assert_int_equal(kmsg_conn_endpoint(&c, KMSG_SHELL, small, sizeof small), -ENAMETOOLONG);
        assert_int_equal(kmsg_conn_endpoint(&c, KMSG_SHELL, ok, sizeof ok), 21);
        assert_int_equal(kmsg_conn_endpoint(&c, KMSG_N_CHANNELS, ok, sizeof ok), -EINVAL);
        assert_int_equal(kmsg_conn_endpoint(&c, (enum kmsg_channel) - 1, ok, sizeof ok), -EINVAL);
}

static void test_free_accepts_null(void **state) {
        (void)state;
        assert_null(kmsg_free(NULL));
        kmsg_wire_clear(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_vectors),
                cmocka_unit_test(test_encode_vectors),
                cmocka_unit_test(test_reject_vectors),
                cmocka_unit_test(test_roundtrip_with_idents_and_buffers),
                cmocka_unit_test(test_encode_without_key_leaves_signature_empty),
                cmocka_unit_test(test_encode_null_parts_are_empty_objects),
                cmocka_unit_test(test_encode_rejects_non_object),
                cmocka_unit_test(test_encode_rejects_too_many_frames),
                cmocka_unit_test(test_decode_good),
                cmocka_unit_test(test_decode_no_delimiter),
                cmocka_unit_test(test_decode_too_few_frames),
                cmocka_unit_test(test_decode_too_many_frames),
                cmocka_unit_test(test_decode_frame_too_large),
                cmocka_unit_test(test_decode_unsigned_with_key),
                cmocka_unit_test(test_decode_bad_signature),
                cmocka_unit_test(test_decode_signature_covers_every_part),
                cmocka_unit_test(test_decode_compares_in_constant_time),
                cmocka_unit_test(test_decode_bad_json),
                cmocka_unit_test(test_decode_deep_json_is_bounded),
                cmocka_unit_test(test_decode_not_an_object),
                cmocka_unit_test(test_decode_header_fields),
                cmocka_unit_test(test_decode_uses_first_delimiter),
                cmocka_unit_test(test_decode_nul_in_content),
                cmocka_unit_test(test_execute_request_content),
                cmocka_unit_test(test_execute_request_rejects_bad_arguments),
                cmocka_unit_test(test_uuid4_format),
                cmocka_unit_test(test_date_format),
                cmocka_unit_test(test_conn_cases),
                cmocka_unit_test(test_conn_limits),
                cmocka_unit_test(test_conn_endpoint_errors),
                cmocka_unit_test(test_free_accepts_null),
        };
        return cmocka_run_group_tests_name("kmsg", tests, load_vectors, free_vectors);
}
