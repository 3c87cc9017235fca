/* uhttp.h — a tiny HTTP/1.1 client over a Unix socket, for sparkctl and
 * sparkd-launch.  One request per connection, bounded in size and time.
 * Never logs, never exits. */
#pragma once
#include <stddef.h>

#define UHTTP_MAX_RESPONSE (8u << 20) /* bytes of head + body at most */
#define UHTTP_MAX_PATH 108            /* sizeof(sun_path) */

struct uhttp_response {
        int status;
        char *body; /* malloc'd, NUL-terminated */
        size_t body_len;
};

/* Writes the socket path sparkd uses by default into buf: $SPARKD_SOCKET,
 * else $XDG_RUNTIME_DIR/sparkd/sparkd.sock, else /tmp/sparkd-UID/sparkd.sock.
 * Returns 0, or -ENAMETOOLONG when it does not fit a Unix socket address. */
int uhttp_default_socket(char *buf, size_t n);

/* Sends `method path` (with body as application/json when body != NULL) to
 * the daemon at sock and reads the whole answer within timeout_ms.
 * Returns 0 and fills *ret (free it with uhttp_response_free), or -errno:
 * -ENAMETOOLONG for a path too long, -ETIMEDOUT, -EFBIG for an answer over
 * UHTTP_MAX_RESPONSE, -EPROTO for something that is not HTTP, or the
 * errno of socket/connect/read/write. */
int uhttp_request(const char *sock, const char *method, const char *path, const char *body,
                  int timeout_ms, struct uhttp_response *ret);

/* Frees what uhttp_request filled; accepts a zeroed struct. */
void uhttp_response_free(struct uhttp_response *r);

/* Parses a complete response held in buf (head, then body up to
 * Content-Length or the end of buf).  Returns 1 and fills *ret when complete,
 * 0 when more bytes are needed (eof = 0), -EPROTO when malformed.  Pure. */
int uhttp_parse(const char *buf, size_t len, int eof, struct uhttp_response *ret);
