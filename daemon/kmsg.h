/* kmsg.h — the Jupyter messaging protocol (5.3) wire format, pure.
 *
 * A message on the wire is a list of frames:
 *
 *   [ident..., "<IDS|MSG>", signature, header, parent_header, metadata,
 *    content, buffer...]
 *
 * where signature is the lowercase hex HMAC-SHA256, keyed with the
 * connection file's key, over the four JSON frames exactly as sent (an empty
 * key means no signing: the signature frame is empty).  Buffers are not
 * signed (as in jupyter_client).
 *
 * Pure module: no sockets, no logging.  The only system calls are
 * getrandom and clock_gettime in kmsg_stamp_init; everything else takes its
 * inputs as arguments, so tests can fix msg_id and date.  kernel.c maps
 * frames to and from zmq_msg_t.
 */
#pragma once
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define KMSG_DELIM          "<IDS|MSG>"
#define KMSG_VERSION        "5.3"
#define KMSG_MAX_FRAMES     64u                  /* whole message, idents included */
#define KMSG_MAX_FRAME      (16u * 1024u * 1024u) /* any one frame */
#define KMSG_MAX_KEY        1024u                /* HMAC key bytes */
#define KMSG_MAX_CONN_FILE  (64u * 1024u)        /* connection file bytes */
#define KMSG_UUID_LEN       36u                  /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define KMSG_SIG_LEN        64u                  /* hex HMAC-SHA256 */

/* kmsg_decode's failures, each distinct (all negative errno values). */
#define KMSG_ENODELIM   (-ENOMSG)       /* no "<IDS|MSG>" frame */
#define KMSG_ESHORT     (-EPROTO)       /* fewer than 5 frames after the delimiter */
#define KMSG_ETOOBIG    (-E2BIG)        /* > KMSG_MAX_FRAMES frames, or one > KMSG_MAX_FRAME */
#define KMSG_EUNSIGNED  (-ENOKEY)       /* key set, signature frame empty */
#define KMSG_EBADSIG    (-EKEYREJECTED) /* key set, signature does not match */
#define KMSG_EJSON      (-EBADMSG)      /* a JSON frame does not parse (or is not UTF-8) */
#define KMSG_ENOTOBJ    (-EINVAL)       /* a JSON frame is not an object */
#define KMSG_EHEADER    (-ENODATA)      /* header lacks a NUL-free string msg_id or msg_type */

/* A view of one frame (the caller owns the bytes). */
struct kmsg_frame {
        const void *data;
        size_t len;
};

/* Bytes owned by whoever holds the struct (malloc'd; data may be NULL when
 * len is 0). */
struct kmsg_blob {
        unsigned char *data;
        size_t len;
};

/* The HMAC key; len 0 means "no authentication" (no signing, no checks). */
struct kmsg_key {
        unsigned char data[KMSG_MAX_KEY];
        size_t len;
};

/* A message.  The four dicts are owned references (NULL counts as {} when
 * encoding); idents (the routing prefix before the delimiter: ROUTER ids,
 * or the IOPub topic) and buffers are owned copies. */
struct kmsg {
        json_t *header;
        json_t *parent_header;
        json_t *metadata;
        json_t *content;
        struct kmsg_blob *idents;
        size_t n_idents;
        struct kmsg_blob *buffers;
        size_t n_buffers;
};

/* What kmsg_encode produces: n owned frames, in send order. */
struct kmsg_wire {
        struct kmsg_blob *frames;
        size_t n;
};

/* Who sends and when: the per-daemon session and user, fresh random bytes
 * for the next msg_id and the current time.  Fill it with kmsg_stamp_init
 * (or by hand, in tests) before each message. */
struct kmsg_stamp {
        const char *session;     /* borrowed; one UUID per daemon */
        const char *username;    /* borrowed */
        unsigned char rnd[16];
        struct timespec now;     /* CLOCK_REALTIME */
};

/* ---- messages ---- */

/* Frees m and everything it owns.  Accepts NULL; returns NULL. */
struct kmsg *kmsg_free(struct kmsg *m);

/* Creates a message of type msg_type with a fresh header
 * {msg_id, session, username, date, msg_type, version} from st, and empty
 * parent_header, metadata and content.  Returns 0, -EINVAL for a NULL or
 * empty msg_type/session or a NULL username, or -ENOMEM. */
int kmsg_new(const char *msg_type, const struct kmsg_stamp *st, struct kmsg **ret);

/* An execute_request for code: silent false, store_history false,
 * allow_stdin false, stop_on_error false (true would cancel the user's
 * queued cells), and user_expressions (borrowed; NULL for {}), which must be
 * an object of strings.  Returns 0, -EINVAL, or -ENOMEM. */
int kmsg_execute_request(const struct kmsg_stamp *st, const char *code,
                         json_t *user_expressions, struct kmsg **ret);

/* A kernel_info_request (empty content).  Returns 0, -EINVAL or -ENOMEM. */
int kmsg_kernel_info_request(const struct kmsg_stamp *st, struct kmsg **ret);

/* header.msg_type, header.msg_id, parent_header.msg_id: the string, or NULL
 * when absent, not a string or holding a NUL.  Valid while m lives. */
const char *kmsg_type(const struct kmsg *m);
const char *kmsg_id(const struct kmsg *m);
const char *kmsg_parent_id(const struct kmsg *m);

/* ---- wire ---- */

/* Serializes m (compact JSON, insertion order) and signs it with key (NULL
 * or len 0: empty signature).  Returns 0, -EINVAL when a part is not an
 * object or there are more than KMSG_MAX_FRAMES frames, or -ENOMEM. */
int kmsg_encode(const struct kmsg *m, const struct kmsg_key *key, struct kmsg_wire *ret);

/* Frees the frames and zeroes w.  Accepts NULL. */
void kmsg_wire_clear(struct kmsg_wire *w);

/* Parses frames[0..n) into a message.  The first delimiter frame ends the
 * idents; the five frames after it are the signature and the four dicts;
 * the rest are buffers.  With a key (len > 0) the signature must be present
 * and match, compared in constant time (CRYPTO_memcmp); without one it is
 * ignored.  Each dict must be a JSON object (strings may hold \u0000;
 * nesting is bounded by jansson's JSON_PARSER_MAX_DEPTH, 2048; invalid
 * UTF-8, NaN and integers past 64 bits are refused as KMSG_EJSON, where
 * Python would be lenient).  Duplicate signatures (replays) are not
 * tracked here: that needs state, see kernel.c.  Returns 0, one of the
 * KMSG_E* codes above, or -ENOMEM; when err is not NULL it gets a short
 * sentence for every failure. */
int kmsg_decode(const struct kmsg_frame *frames, size_t n, const struct kmsg_key *key,
                struct kmsg **ret, const char **err);

/* The hex HMAC-SHA256 of parts[0..3] concatenated, keyed with key (len > 0),
 * into out (KMSG_SIG_LEN chars + NUL).  Returns 0 or -ENOMEM / -EIO on an
 * OpenSSL failure, -ELIBACC when libcrypto cannot be loaded (see dl.h). */
int kmsg_sign(const struct kmsg_key *key, const struct kmsg_frame parts[4],
              char out[KMSG_SIG_LEN + 1]);

/* ---- ids and time ---- */

/* Fills st->rnd from getrandom and st->now from CLOCK_REALTIME, and sets
 * session and username (borrowed).  Returns 0 or -errno. */
int kmsg_stamp_init(struct kmsg_stamp *st, const char *session, const char *username);

/* Formats 16 random bytes as a lowercase RFC 4122 version-4 UUID
 * (version and variant bits forced) into out (KMSG_UUID_LEN + NUL). */
void kmsg_uuid4(const unsigned char rnd[16], char out[KMSG_UUID_LEN + 1]);

/* Formats t as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, microseconds), the form
 * jupyter_client writes and parses.  Returns 0, or -EOVERFLOW for a time
 * outside the years 1000..9999. */
int kmsg_date(struct timespec t, char out[32]);

/* ---- connection files ---- */

enum kmsg_channel {
        KMSG_SHELL,
        KMSG_IOPUB,
        KMSG_STDIN,
        KMSG_CONTROL,
        KMSG_HB,
        KMSG_N_CHANNELS
};

/* A kernel's connection file. */
struct kmsg_conn {
        bool ipc;                     /* transport "ipc" (else "tcp") */
        char ip[256];                 /* tcp: address or host; ipc: absolute path prefix */
        int ports[KMSG_N_CHANNELS];   /* 1..65535 each */
        struct kmsg_key key;          /* len 0: the kernel does not sign */
};

/* Parses a connection file's JSON (json[0..len), at most
 * KMSG_MAX_CONN_FILE bytes): transport "tcp" (default) or "ipc", ip, the
 * five *_port integers, key (a string, "" allowed) and signature_scheme,
 * which must be "hmac-sha256" (the default when absent).  Returns 0;
 * -ENOTSUP for another transport or scheme; -EINVAL for anything else
 * malformed (missing or bad field, relative ipc path, key too long).  When
 * err is not NULL it gets a sentence naming the field. */
int kmsg_conn_parse(const char *json, size_t len, struct kmsg_conn *ret, const char **err);

/* The ZeroMQ endpoint of channel ch: "tcp://IP:PORT" (a wildcard ip —
 * "0.0.0.0", "*" or "" — becomes 127.0.0.1; an IPv6 address is bracketed,
 * "::" becomes ::1, and needs ZMQ_IPV6 on the socket) or "ipc://PATH-PORT".  Returns the
 * length, -EINVAL for a bad channel, or -ENAMETOOLONG when out is too
 * small. */
int kmsg_conn_endpoint(const struct kmsg_conn *c, enum kmsg_channel ch, char *out, size_t outsz);
