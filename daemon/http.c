/* http.c — HTTP/1.1 requests from bytes, responses to bytes, with limits.
 *
 * http_parse is stateless: each call copies the first HTTP_MAX_HEAD bytes
 * into req->head and checks every complete line in order, so the first bad
 * line decides the error whatever the split of the bytes, and a valid
 * request gives the same result however it arrives.  Only origin-form
 * targets, Content-Length bodies and HTTP/1.x are accepted.
 */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"

#define HTTP_MAX_METHOD 15

/* What the header lines taught us so far. */
struct http_parse_state {
        struct http_request *req;
        const char *err;
        bool have_request_line;
        bool have_length;
        bool conn_close;
        bool conn_keep_alive;
        char *spare; /* where the decoded path goes: after the copied head */
};

static int http_fail(struct http_parse_state *st, int status, const char *msg) {
        st->err = msg;
        return -status;
}

static bool is_tchar(unsigned char c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* 0..15 for a hex digit, -1 otherwise. */
static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Percent-decodes the path src[0..n) into dst (n + 1 bytes suffice) and
 * checks it: no bad escapes, no NUL or other control bytes, no ".."
 * segment.  Returns 0 or -400. */
static int http_decode_path(struct http_parse_state *st, const char *src, size_t n, char *dst) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)src[i];
                if (c == '%') {
                        int hi = i + 2 < n ? hex_value(src[i + 1]) : -1;
                        int lo = hi >= 0 ? hex_value(src[i + 2]) : -1;
                        if (lo < 0)
                                return http_fail(st, 400, "bad percent-escape in the request path");
                        c = (unsigned char)(hi * 16 + lo);
                        i += 2;
                        if (c == 0)
                                return http_fail(st, 400, "%00 in the request path");
                }
                if (c < 0x20 || c == 0x7f)
                        return http_fail(st, 400, "control character in the request path");
                dst[o++] = (char)c;
        }
        dst[o] = '\0';
        if (strstr(dst, "/../") || (o >= 3 && strcmp(dst + o - 3, "/..") == 0))
                return http_fail(st, 400, "'..' segments are not allowed in the request path");
        return 0;
}

/* Checks the request-target t[0..n) (origin-form only) and fills target,
 * path and query.  Returns 0 or -400. */
static int http_parse_target(struct http_parse_state *st, char *t, size_t n) {
        if (n == 0 || t[0] != '/')
                return http_fail(st, 400, "the request target must be a path starting with '/'");
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)t[i];
                if (c <= 0x20 || c >= 0x7f || c == '#')
                        return http_fail(st, 400, "invalid character in the request target");
        }
        t[n] = '\0';
        char *q = memchr(t, '?', n);
        size_t path_len = q ? (size_t)(q - t) : n;
        int r = http_decode_path(st, t, path_len, st->spare);
        if (r < 0)
                return r;
        st->req->target = t;
        st->req->path = st->spare;
        st->req->query = q ? q + 1 : t + n; /* "" */
        return 0;
}

/* Checks "HTTP/1.x" in v[0..n) and sets minor.  Returns 0, -400 or -505. */
static int http_parse_version(struct http_parse_state *st, const char *v, size_t n) {
        if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' ||
            !is_digit(v[7]))
                return http_fail(st, 400, "malformed HTTP version in the request line");
        if (v[5] != '1')
                return http_fail(st, 505, "only HTTP/1.x is supported");
        st->req->minor = v[7] - '0';
        return 0;
}

/* Parses "METHOD SP target SP HTTP/1.x" in line[0..n) (NUL-terminated at
 * n).  Returns 0 or -status. */
static int http_parse_request_line(struct http_parse_state *st, char *line, size_t n) {
        char *sp1 = memchr(line, ' ', n);
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line)) : NULL;
        if (!sp2)
                return http_fail(st, 400, "malformed request line");
        char *version = sp2 + 1;
        int r = http_parse_version(st, version, n - (size_t)(version - line));
        if (r < 0)
                return r;
        size_t mlen = (size_t)(sp1 - line);
        if (mlen == 0 || mlen > HTTP_MAX_METHOD)
                return http_fail(st, 400, "the method must be 1 to 15 uppercase letters");
        for (size_t i = 0; i < mlen; i++)
                if (line[i] < 'A' || line[i] > 'Z')
                        return http_fail(st, 400, "the method must be 1 to 15 uppercase letters");
        *sp1 = '\0';
        st->req->method = line;
        return http_parse_target(st, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

/* Content-Length: digits only, equal duplicates, at most HTTP_MAX_BODY.
 * Returns 0, -400 or -413. */
static int http_content_length(struct http_parse_state *st, const char *v) {
        size_t n = 0;
        bool big = false;
        if (!*v)
                return http_fail(st, 400, "Content-Length must be a decimal number");
        for (const char *p = v; *p; p++) {
                if (!is_digit(*p))
                        return http_fail(st, 400, "Content-Length must be a decimal number");
                n = n * 10 + (size_t)(*p - '0');
                if (n > HTTP_MAX_BODY) {
                        big = true;
                        n = HTTP_MAX_BODY + 1; /* saturates: no overflow */
                }
        }
        if (st->have_length && n != st->req->content_length)
                return http_fail(st, 400, "conflicting Content-Length headers");
        if (big)
                return http_fail(st, 413, "the request body is larger than 1 MiB");
        st->have_length = true;
        st->req->content_length = n;
        return 0;
}

/* Connection: a comma-separated token list; "close" and "keep-alive" count. */
static void http_connection(struct http_parse_state *st, const char *v) {
        while (*v) {
                while (*v == ',' || is_ows(*v))
                        v++;
                size_t n = 0;
                while (v[n] && v[n] != ',' && !is_ows(v[n]))
                        n++;
                if (n == 5 && strncasecmp(v, "close", 5) == 0)
                        st->conn_close = true;
                else if (n == 10 && strncasecmp(v, "keep-alive", 10) == 0)
                        st->conn_keep_alive = true;
                v += n;
        }
}

/* What a header means to the parser itself.  Returns 0 or -status. */
static int http_header_semantics(struct http_parse_state *st, const struct http_header *h) {
        if (strcasecmp(h->name, "Content-Length") == 0)
                return http_content_length(st, h->value);
        if (strcasecmp(h->name, "Transfer-Encoding") == 0)
                return http_fail(st, 501, "Transfer-Encoding is not supported: chunked request "
                                          "bodies are not accepted, send a Content-Length");
        if (strcasecmp(h->name, "Connection") == 0)
                http_connection(st, h->value);
        return 0;
}

/* Parses "name: value" in line[0..n) (NUL-terminated at n) into the next
 * header.  Returns 0 or -status. */
static int http_parse_header_line(struct http_parse_state *st, char *line, size_t n) {
        struct http_request *req = st->req;
        if (is_ows(line[0]))
                return http_fail(st, 400, "obsolete header line folding is not accepted");
        if (req->n_headers == HTTP_MAX_HEADERS)
                return http_fail(st, 431, "more than 64 header fields");
        size_t i = 0;
        while (i < n && is_tchar((unsigned char)line[i]))
                i++;
        if (i == n)
                return http_fail(st, 400, "header line without a colon");
        if (is_ows(line[i]))
                return http_fail(st, 400, "whitespace before the colon in a header line");
        if (line[i] != ':' || i == 0)
                return http_fail(st, 400, "invalid header name");
        size_t v = i + 1, e = n;
        while (v < e && is_ows(line[v]))
                v++;
        while (e > v && is_ows(line[e - 1]))
                e--;
        for (size_t k = v; k < e; k++) {
                unsigned char c = (unsigned char)line[k];
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return http_fail(st, 400, "control character in a header value");
        }
        line[i] = '\0';
        line[e] = '\0';
        struct http_header *h = &req->headers[req->n_headers++];
        h->name = line;
        h->value = line + v;
        return http_header_semantics(st, h);
}

/* One complete line of the head, line[0..n), NUL-terminated at n.  Sets
 * *end_of_head on the blank line that ends it.  Returns 0 or -status. */
static int http_parse_line(struct http_parse_state *st, char *line, size_t n, bool *end_of_head) {
        if (!st->have_request_line) {
                if (n == 0)
                        return 0; /* RFC 9112 2.2: empty lines before a request are ignored */
                st->have_request_line = true;
                return http_parse_request_line(st, line, n);
        }
        if (n == 0) {
                *end_of_head = true;
                return 0;
        }
        return http_parse_header_line(st, line, n);
}

/* Finds and checks the head in the first min(len, HTTP_MAX_HEAD) bytes.
 * Returns its length, 0 when it is not complete yet, or -status. */
static int http_parse_head(struct http_parse_state *st, const char *buf, size_t len) {
        struct http_request *req = st->req;
        size_t scan = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
        if (scan)
                memcpy(req->head, buf, scan); /* buf may be NULL when len is 0 */
        req->head[scan] = '\0';
        st->spare = req->head + scan + 1;
        size_t pos = 0;
        while (pos < scan) {
                char *line = req->head + pos;
                char *nl = memchr(line, '\n', scan - pos);
                if (!nl)
                        break;
                size_t n = (size_t)(nl - line);
                if (n > 0 && line[n - 1] == '\r')
                        n--;
                line[n] = '\0';
                pos = (size_t)(nl - req->head) + 1;
                bool end_of_head = false;
                int r = http_parse_line(st, line, n, &end_of_head);
                if (r < 0)
                        return r;
                if (end_of_head)
                        return (int)pos;
        }
        if (len >= HTTP_MAX_HEAD)
                return http_fail(st, 431, "the request head is larger than 16 KiB");
        return 0;
}

int http_parse(const char *buf, size_t len, struct http_request *req, const char **err) {
        struct http_parse_state st = {.req = req};
        req->n_headers = 0;
        req->content_length = 0;
        req->body = NULL;
        req->body_len = 0;
        int r = http_parse_head(&st, buf, len);
        if (r <= 0) {
                if (r < 0 && err)
                        *err = st.err;
                return r;
        }
        size_t head_len = (size_t)r;
        if (len - head_len < req->content_length)
                return 0;
        req->keep_alive = !st.conn_close && (req->minor >= 1 || st.conn_keep_alive);
        req->body = buf + head_len;
        req->body_len = req->content_length;
        return (int)(head_len + req->content_length);
}

const char *http_header(const struct http_request *req, const char *name) {
        for (size_t i = 0; i < req->n_headers; i++)
                if (strcasecmp(req->headers[i].name, name) == 0)
                        return req->headers[i].value;
        return NULL;
}

/* Copies v[0..n) and a NUL into out.  Returns n or -E2BIG. */
static int http_copy_out(const char *v, size_t n, char *out, size_t outsz) {
        if (n >= outsz || n > INT_MAX)
                return -E2BIG;
        memcpy(out, v, n);
        out[n] = '\0';
        return (int)n;
}

int http_cookie(const char *cookie_header, const char *name, char *out, size_t outsz) {
        size_t name_len = strlen(name);
        const char *p = cookie_header ? cookie_header : "";
        while (*p) {
                const char *end = strchr(p, ';');
                if (!end)
                        end = p + strlen(p);
                const char *s = p, *e = end;
                p = *end ? end + 1 : end;
                while (s < e && is_ows(*s))
                        s++;
                while (e > s && is_ows(e[-1]))
                        e--;
                const char *eq = memchr(s, '=', (size_t)(e - s));
                if (!eq)
                        continue;
                const char *k = eq;
                while (k > s && is_ows(k[-1]))
                        k--;
                if ((size_t)(k - s) != name_len || memcmp(s, name, name_len) != 0)
                        continue;
                const char *v = eq + 1;
                while (v < e && is_ows(*v))
                        v++;
                if (e - v >= 2 && *v == '"' && e[-1] == '"') {
                        v++;
                        e--;
                }
                return http_copy_out(v, (size_t)(e - v), out, outsz);
        }
        return -ENOENT;
}

/* Decodes one byte of a form-encoded string at s[*i] (s has n bytes): '+'
 * is a space, "%XX" a byte, anything else (a bad escape too) itself. */
static unsigned char http_form_byte(const char *s, size_t n, size_t *i) {
        char c = s[*i];
        if (c == '+')
                return ' ';
        if (c == '%' && *i + 2 < n) {
                int hi = hex_value(s[*i + 1]);
                int lo = hi >= 0 ? hex_value(s[*i + 2]) : -1;
                if (lo >= 0) {
                        *i += 2;
                        return (unsigned char)(hi * 16 + lo);
                }
        }
        return (unsigned char)c;
}

/* Whether the form-encoded key k[0..n) decodes to name. */
static bool http_form_key_is(const char *k, size_t n, const char *name) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++, j++) {
                unsigned char c = http_form_byte(k, n, &i);
                if (!name[j] || (unsigned char)name[j] != c)
                        return false;
        }
        return name[j] == '\0';
}

/* Decodes the form-encoded value v[0..n) into out.  Returns its length,
 * -EINVAL for a NUL, -E2BIG when it does not fit. */
static int http_form_value(const char *v, size_t n, char *out, size_t outsz) {
        size_t len = 0;
        for (size_t i = 0; i < n; i++, len++)
                if (http_form_byte(v, n, &i) == 0)
                        return -EINVAL;
        if (len >= outsz || len > INT_MAX)
                return -E2BIG;
        len = 0;
        for (size_t i = 0; i < n; i++)
                out[len++] = (char)http_form_byte(v, n, &i);
        out[len] = '\0';
        return (int)len;
}

int http_query_param(const char *query, const char *name, char *out, size_t outsz) {
        const char *p = query ? query : "";
        while (*p) {
                const char *end = strchr(p, '&');
                if (!end)
                        end = p + strlen(p);
                const char *s = p;
                p = *end ? end + 1 : end;
                const char *eq = memchr(s, '=', (size_t)(end - s));
                const char *k_end = eq ? eq : end;
                if (!http_form_key_is(s, (size_t)(k_end - s), name))
                        continue;
                const char *v = eq ? eq + 1 : end;
                return http_form_value(v, (size_t)(end - v), out, outsz);
        }
        return -ENOENT;
}

const char *http_reason(int status) {
        switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 415: return "Unsupported Media Type";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
        }
}

/* 1xx, 204 and 304 responses carry neither a body nor (for 1xx and 204,
 * RFC 9110 8.6) a Content-Length. */
static bool http_status_has_body(int status) {
        return !(status >= 100 && status < 200) && status != 204 && status != 304;
}

char *http_response(int status, const char *ctype, const char *extra_headers,
                    const char *body, size_t body_len, bool keep_alive, size_t *ret_len) {
        struct strbuf sb = STRBUF_INIT;
        bool has_body = http_status_has_body(status);
        int r = sb_printf(&sb, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
        if (r >= 0 && ctype)
                r = sb_printf(&sb, "Content-Type: %s\r\n", ctype);
        if (r >= 0 && has_body)
                r = sb_printf(&sb, "Content-Length: %zu\r\n", body_len);
        if (r >= 0)
                r = sb_printf(&sb, "Connection: %s\r\n", keep_alive ? "keep-alive" : "close");
        if (r >= 0 && extra_headers)
                r = sb_puts(&sb, extra_headers);
        if (r >= 0)
                r = sb_puts(&sb, "\r\n");
        if (r >= 0 && has_body && body_len)
                r = sb_append(&sb, body, body_len);
        if (r < 0) {
                sb_free(&sb);
                return NULL;
        }
        return sb_take(&sb, ret_len);
}
