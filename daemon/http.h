/* http.h — HTTP/1.1 requests from bytes, responses to bytes, with limits.
 *
 * Pure module: no I/O, never logs.  The parser works on the bytes received
 * so far and is called again when more arrive; the request it fills points
 * into (a copy of the head inside) the request struct, so the caller's
 * buffer may move between calls.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEAD     (16u * 1024u)   /* request line + headers: else 431 */
#define HTTP_MAX_BODY     (1024u * 1024u) /* else 413 */
#define HTTP_MAX_HEADERS  64u             /* else 431 */

struct http_header {
        const char *name;  /* as sent; compare case-insensitively */
        const char *value; /* leading/trailing spaces and tabs trimmed */
};

struct http_request {
        /* private copy of the head, NUL-split, then the decoded path */
        char head[2 * HTTP_MAX_HEAD + 2];
        const char *method;           /* "GET", "POST", ... */
        const char *target;           /* raw request-target, e.g. "/api/configs?x=1" */
        const char *path;             /* percent-decoded path, no query (NUL-free: %00 is 400) */
        const char *query;            /* raw query after '?', or "" */
        int minor;                    /* HTTP/1.<minor> */
        struct http_header headers[HTTP_MAX_HEADERS];
        size_t n_headers;
        size_t content_length;        /* 0 without a body */
        bool keep_alive;              /* per version and Connection header */
        const char *body;             /* points into the caller's buffer; valid until it changes */
        size_t body_len;
};

/* Parses one request from buf[0..len).  Returns:
 *   0          more bytes are needed (never returned once len exceeds the
 *              limits: those are errors),
 *   n > 0      a complete request of n bytes (head + body) is in *req,
 *   -status    the request is bad; status is the HTTP status to answer:
 *              400 malformed, 413 body too large, 431 head too large,
 *              501 Transfer-Encoding (chunked bodies are not accepted),
 *              505 not HTTP/1.x.
 * When err is not NULL it gets a short human sentence for errors.  *req is
 * scratch space unless n > 0.  Lines end with CRLF or a bare LF; complete
 * lines are checked as they arrive, so a bad request fails early. */
int http_parse(const char *buf, size_t len, struct http_request *req, const char **err);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* Copies the value of cookie `name` from a Cookie header value into out
 * (outsz bytes, NUL-terminated).  Returns the value's length, -ENOENT when
 * absent, -E2BIG when it does not fit. */
int http_cookie(const char *cookie_header, const char *name, char *out, size_t outsz);

/* The value of query parameter `name` (percent-decoded) into out; same
 * returns as http_cookie, and -EINVAL when the value decodes to a NUL. */
int http_query_param(const char *query, const char *name, char *out, size_t outsz);

/* The reason phrase for a status ("Not Found"), "Unknown" for others. */
const char *http_reason(int status);

/* Builds a complete response: status line, Content-Type (when ctype is
 * not NULL), Content-Length, Connection: keep-alive|close, any extra
 * header lines (each "Name: value\r\n", may be NULL), the blank line and
 * the body.  Returns a malloc'd buffer and its length in *ret_len, or NULL
 * on allocation failure. */
char *http_response(int status, const char *ctype, const char *extra_headers,
                    const char *body, size_t body_len, bool keep_alive, size_t *ret_len);
