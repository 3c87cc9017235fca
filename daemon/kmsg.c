#include "kmsg.h"

#include <openssl/core_names.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "dl.h"

/* ---- owned bytes ---- */

/* Copies src into dst (dst->data NULL for an empty frame).  Returns 0 or
 * -ENOMEM; dst is untouched on failure. */
static int blob_copy(struct kmsg_blob *dst, const void *src, size_t len) {
        unsigned char *p = NULL;
        if (len) {
                p = malloc(len);
                if (!p)
                        return -ENOMEM;
                memcpy(p, src, len);
        }
        dst->data = p;
        dst->len = len;
        return 0;
}

/* Frees n blobs and the array holding them.  Accepts NULL. */
static void blobs_free(struct kmsg_blob *b, size_t n) {
        for (size_t i = 0; b && i < n; i++)
                free(b[i].data);
        free(b);
}

/* Copies frames[0..n) into a new array of owned blobs in *ret (NULL when n
 * is 0).  Returns 0 or -ENOMEM. */
static int blobs_copy(const struct kmsg_frame *frames, size_t n, struct kmsg_blob **ret) {
        struct kmsg_blob *b = NULL;
        if (n) {
                b = calloc(n, sizeof *b);
                if (!b)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (blob_copy(&b[i], frames[i].data, frames[i].len) < 0) {
                        blobs_free(b, i);
                        return -ENOMEM;
                }
        }
        *ret = b;
        return 0;
}

/* ---- messages ---- */

struct kmsg *kmsg_free(struct kmsg *m) {
        if (!m)
                return NULL;
        json_decref(m->header);
        json_decref(m->parent_header);
        json_decref(m->metadata);
        json_decref(m->content);
        blobs_free(m->idents, m->n_idents);
        blobs_free(m->buffers, m->n_buffers);
        free(m);
        return NULL;
}

void kmsg_uuid4(const unsigned char rnd[16], char out[KMSG_UUID_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char b[16];
        memcpy(b, rnd, sizeof b);
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
        char *o = out;
        for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *o++ = '-';
                *o++ = hex[b[i] >> 4];
                *o++ = hex[b[i] & 0x0f];
        }
        *o = '\0';
}

int kmsg_date(struct timespec t, char out[32]) {
        struct tm tm;
        if (!gmtime_r(&t.tv_sec, &tm) || tm.tm_year < 1000 - 1900 || tm.tm_year > 9999 - 1900)
                return -EOVERFLOW;
        long usec = (t.tv_nsec >= 0 && t.tv_nsec < 1000000000L) ? t.tv_nsec / 1000 : 0;
        size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + n, 32 - n, ".%06ldZ", usec);
        return 0;
}

int kmsg_stamp_init(struct kmsg_stamp *st, const char *session, const char *username) {
        unsigned char rnd[16];
        struct timespec now;
        size_t got = 0;
        while (got < sizeof rnd) {
                ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)r;
        }
        if (clock_gettime(CLOCK_REALTIME, &now) < 0)
                return -errno;
        memcpy(st->rnd, rnd, sizeof rnd);
        st->now = now;
        st->session = session;
        st->username = username;
        return 0;
}

/* The header jupyter_client writes, in its key order, into *ret.  Returns
 * 0, -EOVERFLOW for an unprintable time, or -ENOMEM. */
static int header_new(const char *msg_type, const struct kmsg_stamp *st, json_t **ret) {
        char id[KMSG_UUID_LEN + 1], date[32];
        kmsg_uuid4(st->rnd, id);
        int r = kmsg_date(st->now, date);
        if (r < 0)
                return r;
        json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id, "msg_type",
                              msg_type, "username", st->username, "session", st->session,
                              "date", date, "version", KMSG_VERSION);
        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

int kmsg_new(const char *msg_type, const struct kmsg_stamp *st, struct kmsg **ret) {
        if (!msg_type || !*msg_type || !st || !st->session || !*st->session || !st->username)
                return -EINVAL;
        struct kmsg *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        int r = header_new(msg_type, st, &m->header);
        if (r < 0)
                goto err;
        r = -ENOMEM;
        m->parent_header = json_object();
        m->metadata = json_object();
        m->content = json_object();
        if (!m->parent_header || !m->metadata || !m->content)
                goto err;
        *ret = m;
        return 0;
err:
        kmsg_free(m);
        return r;
}

/* True when v is NULL or an object whose values are all strings. */
static bool is_string_map(json_t *v) {
        const char *k;
        json_t *e;
        if (!v)
                return true;
        if (!json_is_object(v))
                return false;
        json_object_foreach(v, k, e) {
                if (!json_is_string(e))
                        return false;
        }
        return true;
}

int kmsg_execute_request(const struct kmsg_stamp *st, const char *code,
                         json_t *user_expressions, struct kmsg **ret) {
        struct kmsg *m = NULL;
        if (!code || !is_string_map(user_expressions))
                return -EINVAL;
        int r = kmsg_new("execute_request", st, &m);
        if (r < 0)
                return r;
        json_t *ue = user_expressions ? json_incref(user_expressions) : json_object();
        json_t *c = json_pack("{s:s, s:b, s:b, s:o, s:b, s:b}", "code", code, "silent", 0,
                              "store_history", 0, "user_expressions", ue, "allow_stdin", 0,
                              "stop_on_error", 0);
        if (!c) {
                kmsg_free(m);
                return -ENOMEM;
        }
        json_decref(m->content);
        m->content = c;
        *ret = m;
        return 0;
}

int kmsg_kernel_info_request(const struct kmsg_stamp *st, struct kmsg **ret) {
        return kmsg_new("kernel_info_request", st, ret);
}

/* obj[key] as a NUL-free string, or NULL. */
static const char *get_str(const json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        if (!json_is_string(v))
                return NULL;
        const char *s = json_string_value(v);
        return strlen(s) == json_string_length(v) ? s : NULL;
}

const char *kmsg_type(const struct kmsg *m) { return get_str(m->header, "msg_type"); }

const char *kmsg_id(const struct kmsg *m) { return get_str(m->header, "msg_id"); }

const char *kmsg_parent_id(const struct kmsg *m) { return get_str(m->parent_header, "msg_id"); }

/* ---- signatures ---- */

int kmsg_sign(const struct kmsg_key *key, const struct kmsg_frame parts[4],
              char out[KMSG_SIG_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char md[32];
        size_t mdlen = 0;
        int r = dl_crypto_load();
        if (r < 0)
                return r;
        r = -EIO;
        EVP_MAC *mac = dlc.EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *ctx = mac ? dlc.EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[] = {
                dlc.OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                dlc.OSSL_PARAM_construct_end(),
        };
        if (!ctx)
                goto out;
        if (!dlc.EVP_MAC_init(ctx, key->data, key->len, params))
                goto out;
        for (int i = 0; i < 4; i++) {
                if (parts[i].len && !dlc.EVP_MAC_update(ctx, parts[i].data, parts[i].len))
                        goto out;
        }
        if (!dlc.EVP_MAC_final(ctx, md, &mdlen, sizeof md) || mdlen != sizeof md)
                goto out;
        for (size_t i = 0; i < sizeof md; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 0x0f];
        }
        out[KMSG_SIG_LEN] = '\0';
        r = 0;
out:
        dlc.EVP_MAC_CTX_free(ctx);
        dlc.EVP_MAC_free(mac);
        return r;
}

/* True when a key is configured. */
static bool has_key(const struct kmsg_key *key) { return key && key->len > 0; }

/* ---- encode ---- */

void kmsg_wire_clear(struct kmsg_wire *w) {
        if (!w)
                return;
        blobs_free(w->frames, w->n);
        w->frames = NULL;
        w->n = 0;
}

/* Serializes v (NULL: {}) compactly into b.  Returns 0, -EINVAL for a
 * non-object, or -ENOMEM. */
static int dump_part(const json_t *v, struct kmsg_blob *b) {
        if (!v) {
                b->data = (unsigned char *)strdup("{}");
                b->len = 2;
                return b->data ? 0 : -ENOMEM;
        }
        if (!json_is_object(v))
                return -EINVAL;
        char *s = json_dumps(v, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        b->data = (unsigned char *)s;
        b->len = strlen(s);
        return 0;
}

int kmsg_encode(const struct kmsg *m, const struct kmsg_key *key, struct kmsg_wire *ret) {
        const json_t *parts[4] = {m->header, m->parent_header, m->metadata, m->content};
        struct kmsg_frame view[4];
        char sig[KMSG_SIG_LEN + 1] = "";
        size_t d = m->n_idents, n = d + 6 + m->n_buffers, i;
        int r = -ENOMEM;
        if (n > KMSG_MAX_FRAMES || !m->header)
                return -EINVAL;
        struct kmsg_blob *f = calloc(n, sizeof *f);
        if (!f)
                return -ENOMEM;
        for (i = 0; i < d; i++)
                if ((r = blob_copy(&f[i], m->idents[i].data, m->idents[i].len)) < 0)
                        goto err;
        for (i = 0; i < 4; i++) {
                if ((r = dump_part(parts[i], &f[d + 2 + i])) < 0)
                        goto err;
                view[i] = (struct kmsg_frame){f[d + 2 + i].data, f[d + 2 + i].len};
        }
        if (has_key(key) && (r = kmsg_sign(key, view, sig)) < 0)
                goto err;
        if ((r = blob_copy(&f[d], KMSG_DELIM, strlen(KMSG_DELIM))) < 0 ||
            (r = blob_copy(&f[d + 1], sig, strlen(sig))) < 0)
                goto err;
        for (i = 0; i < m->n_buffers; i++)
                if ((r = blob_copy(&f[d + 6 + i], m->buffers[i].data, m->buffers[i].len)) < 0)
                        goto err;
        ret->frames = f;
        ret->n = n;
        return 0;
err:
        blobs_free(f, n);
        return r;
}

/* ---- decode ---- */

/* Sets *err (when wanted) and returns code. */
static int fail(const char **err, int code, const char *msg) {
        if (err)
                *err = msg;
        return code;
}

/* Index of the first delimiter frame, or -1. */
static ssize_t find_delim(const struct kmsg_frame *frames, size_t n) {
        size_t dl = strlen(KMSG_DELIM);
        for (size_t i = 0; i < n; i++)
                if (frames[i].len == dl && memcmp(frames[i].data, KMSG_DELIM, dl) == 0)
                        return (ssize_t)i;
        return -1;
}

/* Checks sig against the HMAC of parts in constant time.  Returns 0 or a
 * KMSG_E* code (-ENOMEM/-EIO when OpenSSL fails). */
static int verify(const struct kmsg_key *key, const struct kmsg_frame *sig,
                  const struct kmsg_frame parts[4], const char **err) {
        char want[KMSG_SIG_LEN + 1];
        if (sig->len == 0)
                return fail(err, KMSG_EUNSIGNED, "message is not signed");
        int r = kmsg_sign(key, parts, want);
        if (r < 0)
                return fail(err, r, "cannot compute the HMAC");
        if (sig->len != KMSG_SIG_LEN || dlc.CRYPTO_memcmp(sig->data, want, KMSG_SIG_LEN) != 0)
                return fail(err, KMSG_EBADSIG, "signature does not match");
        return 0;
}

/* Parses part i (0..3) into an object in *ret.  Returns 0 or a KMSG_E* code. */
static int parse_part(const struct kmsg_frame *f, int i, json_t **ret, const char **err) {
        static const char *const bad_json[4] = {
                "header is not valid JSON", "parent_header is not valid JSON",
                "metadata is not valid JSON", "content is not valid JSON"};
        static const char *const not_obj[4] = {
                "header is not a JSON object", "parent_header is not a JSON object",
                "metadata is not a JSON object", "content is not a JSON object"};
        json_error_t jerr;
        json_t *v = json_loadb(f->len ? f->data : "", f->len, JSON_ALLOW_NUL | JSON_DECODE_ANY,
                               &jerr);
        if (!v)
                return fail(err, json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM
                                                                                    : KMSG_EJSON,
                            bad_json[i]);
        if (!json_is_object(v)) {
                json_decref(v);
                return fail(err, KMSG_ENOTOBJ, not_obj[i]);
        }
        *ret = v;
        return 0;
}

/* Checks the limits on the frame list.  Returns 0 or KMSG_ETOOBIG. */
static int check_limits(const struct kmsg_frame *frames, size_t n, const char **err) {
        if (n > KMSG_MAX_FRAMES)
                return fail(err, KMSG_ETOOBIG, "too many frames");
        for (size_t i = 0; i < n; i++)
                if (frames[i].len > KMSG_MAX_FRAME)
                        return fail(err, KMSG_ETOOBIG, "frame too large");
        return 0;
}

int kmsg_decode(const struct kmsg_frame *frames, size_t n, const struct kmsg_key *key,
                struct kmsg **ret, const char **err) {
        json_t **dst[4];
        int r = check_limits(frames, n, err);
        if (r < 0)
                return r;
        ssize_t d = find_delim(frames, n);
        if (d < 0)
                return fail(err, KMSG_ENODELIM, "no <IDS|MSG> delimiter");
        size_t nd = (size_t)d;
        if (n - nd - 1 < 5)
                return fail(err, KMSG_ESHORT, "fewer than 5 frames after the delimiter");
        const struct kmsg_frame *parts = &frames[nd + 2];
        if (has_key(key) && (r = verify(key, &frames[nd + 1], parts, err)) < 0)
                return r;
        struct kmsg *m = calloc(1, sizeof *m);
        if (!m)
                return fail(err, -ENOMEM, "out of memory");
        dst[0] = &m->header;
        dst[1] = &m->parent_header;
        dst[2] = &m->metadata;
        dst[3] = &m->content;
        for (int i = 0; i < 4; i++)
                if ((r = parse_part(&parts[i], i, dst[i], err)) < 0)
                        goto err;
        if (!kmsg_id(m) || !kmsg_type(m)) {
                r = fail(err, KMSG_EHEADER, "header lacks a string msg_id or msg_type");
                goto err;
        }
        if (blobs_copy(frames, nd, &m->idents) < 0) {
                r = fail(err, -ENOMEM, "out of memory");
                goto err;
        }
        m->n_idents = nd;
        if (blobs_copy(&frames[nd + 6], n - nd - 6, &m->buffers) < 0) {
                r = fail(err, -ENOMEM, "out of memory");
                goto err;
        }
        m->n_buffers = n - nd - 6;
        *ret = m;
        return 0;
err:
        kmsg_free(m);
        return r;
}

/* ---- connection files ---- */

static const char *const port_keys[KMSG_N_CHANNELS] = {
        "shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"};

/* Reads the five ports.  Returns 0 or -EINVAL with *err naming the key. */
static int conn_ports(json_t *root, int ports[KMSG_N_CHANNELS], const char **err) {
        static const char *const bad[KMSG_N_CHANNELS] = {
                "shell_port is missing or not an integer in 1..65535",
                "iopub_port is missing or not an integer in 1..65535",
                "stdin_port is missing or not an integer in 1..65535",
                "control_port is missing or not an integer in 1..65535",
                "hb_port is missing or not an integer in 1..65535"};
        for (int i = 0; i < KMSG_N_CHANNELS; i++) {
                json_t *v = json_object_get(root, port_keys[i]);
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 65535)
                        return fail(err, -EINVAL, bad[i]);
                ports[i] = (int)json_integer_value(v);
        }
        return 0;
}

/* True when s may be a tcp host: a name, IPv4 or IPv6 address, or "*". */
static bool host_ok(const char *s) {
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || strchr(".-:_*%", *s)))
                        return false;
        return true;
}

/* Reads transport and ip.  Returns 0, -ENOTSUP or -EINVAL. */
static int conn_where(json_t *root, struct kmsg_conn *c, const char **err) {
        json_t *t = json_object_get(root, "transport");
        const char *tr = t ? get_str(root, "transport") : "tcp";
        const char *ip = get_str(root, "ip");
        if (!tr)
                return fail(err, -EINVAL, "transport is not a string");
        if (strcmp(tr, "tcp") != 0 && strcmp(tr, "ipc") != 0)
                return fail(err, -ENOTSUP, "transport must be tcp or ipc");
        c->ipc = strcmp(tr, "ipc") == 0;
        if (!ip)
                return fail(err, -EINVAL, "ip is missing or not a string");
        if (strlen(ip) >= sizeof c->ip)
                return fail(err, -EINVAL, "ip is too long");
        if (c->ipc && ip[0] != '/')
                return fail(err, -EINVAL, "ip must be an absolute path with transport ipc");
        if (!c->ipc && !host_ok(ip))
                return fail(err, -EINVAL, "ip is not a host name or address");
        memcpy(c->ip, ip, strlen(ip) + 1);
        return 0;
}

/* Reads key and signature_scheme.  Returns 0, -ENOTSUP or -EINVAL. */
static int conn_key(json_t *root, struct kmsg_key *key, const char **err) {
        json_t *k = json_object_get(root, "key");
        json_t *s = json_object_get(root, "signature_scheme");
        if (s && (!json_is_string(s) || strcmp(json_string_value(s), "hmac-sha256") != 0 ||
                  json_string_length(s) != strlen("hmac-sha256")))
                return fail(err, -ENOTSUP, "signature_scheme must be hmac-sha256");
        if (!json_is_string(k))
                return fail(err, -EINVAL, "key is missing or not a string");
        if (json_string_length(k) > sizeof key->data)
                return fail(err, -EINVAL, "key is too long");
        memcpy(key->data, json_string_value(k), json_string_length(k));
        key->len = json_string_length(k);
        return 0;
}

int kmsg_conn_parse(const char *json, size_t len, struct kmsg_conn *ret, const char **err) {
        struct kmsg_conn c;
        json_error_t jerr;
        int r;
        if (len > KMSG_MAX_CONN_FILE)
                return fail(err, -EINVAL, "connection file too large");
        json_t *root = json_loadb(json, len, 0, &jerr);
        if (!root)
                return fail(err, -EINVAL, "connection file is not valid JSON");
        memset(&c, 0, sizeof c);
        if (!json_is_object(root))
                r = fail(err, -EINVAL, "connection file is not a JSON object");
        else if ((r = conn_where(root, &c, err)) >= 0 && (r = conn_ports(root, c.ports, err)) >= 0)
                r = conn_key(root, &c.key, err);
        json_decref(root);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

int kmsg_conn_endpoint(const struct kmsg_conn *c, enum kmsg_channel ch, char *out, size_t outsz) {
        int n;
        if ((int)ch < 0 || ch >= KMSG_N_CHANNELS)
                return -EINVAL;
        if (c->ipc) {
                n = snprintf(out, outsz, "ipc://%s-%d", c->ip, c->ports[ch]);
        } else {
                const char *ip = c->ip;
                if (!*ip || strcmp(ip, "*") == 0 || strcmp(ip, "0.0.0.0") == 0)
                        ip = "127.0.0.1";
                else if (strcmp(ip, "::") == 0)
                        ip = "::1";
                if (strchr(ip, ':'))
                        n = snprintf(out, outsz, "tcp://[%s]:%d", ip, c->ports[ch]);
                else
                        n = snprintf(out, outsz, "tcp://%s:%d", ip, c->ports[ch]);
        }
        if (n < 0 || (size_t)n >= outsz)
                return -ENAMETOOLONG;
        return n;
}
