#include "ui.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel.h"
#include "log.h"
#include "netown.h"
#include "sparkauth.h"
#include "server.h"
#include "session.h"
#include "strbuf.h"

struct uiproxy {
        int cfd, ufd;             /* client (browser side), upstream (Spark) */
        ev_io cio, uio;
        ev_timer timer;
        struct strbuf up;         /* request bytes for Spark */
        size_t up_off;
        struct strbuf down;       /* response bytes for the client */
        size_t down_off;
        bool head_done;           /* response head parsed and rewritten */
        bool upstream_eof;
        bool connected;
        int port;
        char token[SPARKAUTH_TOKEN_MAX + 1]; /* the UI's bearer token, "" when it needs none */
        char base[512];           /* the session's public path, no trailing '/' */
        char from[1024];          /* the path asked for, in Spark's space (without /ui/<id>) */
        struct ev_loop *loop;
        struct ui_proxies *owner;
        struct uiproxy *prev, *next;
};

/* d->ui: the requests in flight */
struct ui_proxies {
        struct uiproxy *list;
};


static void ui_free(struct uiproxy *p) {
        ev_io_stop(p->loop, &p->cio);
        ev_io_stop(p->loop, &p->uio);
        ev_timer_stop(p->loop, &p->timer);
        explicit_bzero(p->token, sizeof p->token);
        if (p->up.buf) /* the request to Spark holds the token too */
                explicit_bzero(p->up.buf, p->up.len);
        if (p->cfd >= 0)
                close(p->cfd);
        if (p->ufd >= 0)
                close(p->ufd);
        sb_free(&p->up);
        sb_free(&p->down);
        if (p->prev)
                p->prev->next = p->next;
        else
                p->owner->list = p->next;
        if (p->next)
                p->next->prev = p->prev;
        free(p);
}

int ui_init(struct sparkd *d) {
        d->ui = calloc(1, sizeof *d->ui);
        return d->ui ? 0 : -ENOMEM;
}

void ui_free_all(struct sparkd *d) {
        if (!d->ui)
                return;
        while (d->ui->list)
                ui_free(d->ui->list);
        free(d->ui);
        d->ui = NULL;
}

/* A Location value as a browser reads it (WHATWG URL parsing): C0
 * controls and spaces around it stripped, tab, CR and LF inside removed,
 * and backslashes before any query or fragment read as '/', as in every
 * http(s) URL.  Returns a malloc'd string, or NULL when out of memory. */
static char *ui_location_normalize(const char *value) {
        size_t len = strlen(value);
        while (len && (unsigned char)value[len - 1] <= ' ')
                len--;
        while (len && (unsigned char)*value <= ' ')
                value++, len--;
        char *s = malloc(len + 1);
        if (!s)
                return NULL;
        size_t o = 0;
        bool query = false;
        for (size_t i = 0; i < len; i++) {
                char ch = value[i];
                if (ch == '\t' || ch == '\r' || ch == '\n')
                        continue;
                query = query || ch == '?' || ch == '#';
                s[o++] = ch == '\\' && !query ? '/' : ch;
        }
        s[o] = '\0';
        return s;
}

/* The path of an absolute URL on Spark's own address (http or https,
 * 127.0.0.1 or localhost, port; any case): "" or from its '/'.  NULL for
 * any other value. */
static const char *ui_location_own(const char *v, int port) {
        static const char *const hosts[] = {"127.0.0.1", "localhost"};
        for (size_t i = 0; i < 2; i++) {
                for (int https = 0; https < 2; https++) {
                        char pre[64];
                        int n = snprintf(pre, sizeof pre, "%s://%s:%d", https ? "https" : "http", hosts[i], port);
                        if (!strncasecmp(v, pre, (size_t)n) && (v[n] == '/' || v[n] == '\0'))
                                return v + n;
                }
        }
        return NULL;
}

/* path (in Spark's space, from its '/'; maybe still under base) as a
 * reference relative to the page `from`: one "../" per directory level of
 * `from`, then the path without its '/'; "./" first when what follows
 * could read as a scheme, an absolute path or the page itself.  Returns 0
 * with *ret a malloc'd string, or -ENOMEM. */
static int ui_location_relative(const char *path, const char *base, const char *from, char **ret) {
        size_t bl = strlen(base);
        if (!strncmp(path, base, bl) && (path[bl] == '/' || path[bl] == '\0' || path[bl] == '?'))
                path += bl; /* Spark prefixed it with proxyBase: back to Spark's own path */
        struct strbuf sb = STRBUF_INIT;
        int r = 0;
        for (const char *q = from + 1; r == 0 && *q && (q = strchr(q, '/')); q++)
                r = sb_puts(&sb, "../");
        const char *target = *path == '/' ? path + 1 : path;
        bool dot = !*target || strchr("/?#", *target) || memchr(target, ':', strcspn(target, "/?#"));
        if (r == 0 && sb.len == 0 && dot)
                r = sb_puts(&sb, "./"); /* "", "/x" (from "//x"), "?q" and "a:b/" need it */
        if (r == 0)
                r = sb_puts(&sb, target);
        char *s = r == 0 ? sb_take(&sb, NULL) : NULL;
        if (!s) {
                sb_free(&sb);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

int ui_rewrite_location(const char *value, int port, const char *base, const char *from,
                        char **ret_location) {
        char *v = ui_location_normalize(value);
        if (!v)
                return -ENOMEM;
        const char *own = ui_location_own(v, port);
        /* a scheme: a letter, then letters, digits, '+', '-' or '.', then ':' */
        size_t sl = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.");
        bool scheme = sl && v[sl] == ':' && !strchr("0123456789+-.", v[0]);
        int r;
        if (own)
                r = ui_location_relative(*own ? own : "/", base, from, ret_location);
        else if (scheme || (v[0] == '/' && v[1] == '/'))
                r = -EPERM; /* another scheme, host or port */
        else if (v[0] == '/')
                r = ui_location_relative(v, base, from, ret_location);
        else {
                *ret_location = v; /* already relative */
                return 0;
        }
        free(v);
        return r;
}

/* Writes a JSON error to a detached client and closes (used once the
 * connection is ours). */
static void ui_fail_detached(struct uiproxy *p, int status, const char *msg) {
        struct api_response r = {.status = status, .body = api_error_body("bad_gateway", "%s", msg)};
        size_t len;
        char *data = api_serialize(&r, false, &len);
        json_decref(r.body);
        if (data && !p->head_done) {
                (void)!send(p->cfd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        free(data);
        ui_free(p);
}

static bool hop_by_hop(const char *name) {
        static const char *const drop[] = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
                                           "te", "trailer", "upgrade", "host", "cookie", "authorization",
                                           "x-xsrftoken", "content-length", "transfer-encoding",
                                           "x-forwarded-context"};
        for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
                if (!strcasecmp(name, drop[i]))
                        return true;
        return false;
}

/* The request Spark gets: the path without /ui/<id>, the client's headers
 * minus hop-by-hop ones and the Jupyter credentials, X-Forwarded-Context
 * with the session's public path (Spark's UI prefixes its links with it
 * when no spark.ui.proxyBase is set: a Connect server started before the
 * session existed), Connection: close. */
static int ui_build_request(struct uiproxy *p, const struct http_request *req, const char *target) {
        int r = sb_printf(&p->up, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", req->method, target, p->port);
        for (size_t i = 0; r == 0 && i < req->n_headers; i++)
                if (!hop_by_hop(req->headers[i].name))
                        r = sb_printf(&p->up, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
        if (r == 0)
                r = sb_printf(&p->up, "X-Forwarded-Context: %s\r\n", p->base);
        if (r == 0 && p->token[0]) /* the client's own Authorization was dropped above */
                r = sb_printf(&p->up, "Authorization: Bearer %s\r\n", p->token);
        if (r == 0 && req->body_len)
                r = sb_printf(&p->up, "Content-Length: %zu\r\n", req->body_len);
        if (r == 0)
                r = sb_puts(&p->up, "Connection: close\r\n\r\n");
        if (r == 0 && req->body_len)
                r = sb_append(&p->up, req->body, req->body_len);
        return r;
}

/* Rewrites the response head in p->down (Location, Connection): a
 * Location that names another site is dropped, with one warning.  Returns
 * 1 when done, 0 when more bytes are needed, -1 on a bad head. */
static int ui_rewrite_head(struct uiproxy *p) {
        char *end = memmem(p->down.buf, p->down.len, "\r\n\r\n", 4);
        if (!end)
                return p->down.len > UI_MAX_RESPONSE_HEAD ? -1 : 0;
        size_t head_len = (size_t)(end - p->down.buf) + 4;
        struct strbuf out = STRBUF_INIT;
        char *line = p->down.buf;
        int r = 0;
        bool first = true, dropped = false;
        while (r == 0 && line < end) {
                char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
                size_t n = (size_t)(eol - line);
                char *colon = first ? NULL : memchr(line, ':', n);
                size_t nlen = colon ? (size_t)(colon - line) : 0;
                if (colon && nlen == 8 && !strncasecmp(line, "Location", 8)) {
                        char *v = strndup(colon + 1, n - nlen - 1), *nv = NULL;
                        r = v ? ui_rewrite_location(v, p->port, p->base, p->from, &nv) : -ENOMEM;
                        if (r == 0)
                                r = sb_printf(&out, "Location: %s\r\n", nv);
                        else if (r == -EPERM) {
                                r = 0; /* a redirect without Location goes nowhere */
                                dropped = true;
                        }
                        free(nv);
                        free(v);
                } else if (colon && ((nlen == 10 && !strncasecmp(line, "Connection", 10)) ||
                                     (nlen == 10 && !strncasecmp(line, "Keep-Alive", 10)))) {
                        /* replaced below */
                } else {
                        r = sb_append(&out, line, n);
                        if (r == 0)
                                r = sb_puts(&out, "\r\n");
                }
                first = false;
                line = eol + 2;
        }
        if (dropped)
                log_warnx("the Spark UI on port %d redirected to another site; Location dropped", p->port);
        if (r == 0)
                r = sb_puts(&out, "Connection: close\r\n\r\n");
        if (r == 0)
                r = sb_append(&out, p->down.buf + head_len, p->down.len - head_len);
        if (r < 0) {
                sb_free(&out);
                return -1;
        }
        sb_free(&p->down);
        p->down = out;
        p->head_done = true;
        return 1;
}

static void ui_update_watchers(struct uiproxy *p) {
        int uev = 0, cev = 0;
        if (!p->connected || p->up_off < p->up.len)
                uev |= EV_WRITE;
        if (p->connected && !p->upstream_eof && p->down.len - p->down_off < UI_BUFFER)
                uev |= EV_READ;
        if (p->head_done && p->down_off < p->down.len)
                cev |= EV_WRITE;
        ev_io_stop(p->loop, &p->uio);
        if (uev) {
                ev_io_set(&p->uio, p->ufd, uev);
                ev_io_start(p->loop, &p->uio);
        }
        ev_io_stop(p->loop, &p->cio);
        if (cev) {
                ev_io_set(&p->cio, p->cfd, cev);
                ev_io_start(p->loop, &p->cio);
        }
}

/* Everything sent and Spark closed: done. */
static bool ui_finished(struct uiproxy *p) {
        return p->upstream_eof && (!p->head_done || p->down_off == p->down.len);
}

static void ui_upstream_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct uiproxy *p = (struct uiproxy *)((char *)w - offsetof(struct uiproxy, uio));
        ev_timer_again(loop, &p->timer);
        if (!p->connected && (revents & EV_WRITE)) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(p->ufd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                        ui_fail_detached(p, 502, "the Spark UI does not answer (is Spark still running?)");
                        return;
                }
                p->connected = true;
        }
        if (p->connected && (revents & EV_WRITE) && p->up_off < p->up.len) {
                ssize_t n = send(p->ufd, p->up.buf + p->up_off, p->up.len - p->up_off, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        ui_fail_detached(p, 502, "the Spark UI closed the connection");
                        return;
                }
                if (n > 0)
                        p->up_off += (size_t)n;
        }
        if (revents & EV_READ) {
                char buf[16384];
                ssize_t n = recv(p->ufd, buf, sizeof buf, 0);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        ui_fail_detached(p, 502, "reading from the Spark UI failed");
                        return;
                }
                if (n == 0)
                        p->upstream_eof = true;
                if (n > 0 && sb_append(&p->down, buf, (size_t)n) < 0) {
                        ui_free(p);
                        return;
                }
                if (!p->head_done) {
                        int r = ui_rewrite_head(p);
                        if (r < 0 || (r == 0 && p->upstream_eof)) {
                                ui_fail_detached(p, 502, "the Spark UI sent a malformed response");
                                return;
                        }
                }
        }
        if (ui_finished(p)) {
                ui_free(p);
                return;
        }
        ui_update_watchers(p);
}

static void ui_client_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)revents;
        struct uiproxy *p = (struct uiproxy *)((char *)w - offsetof(struct uiproxy, cio));
        ev_timer_again(loop, &p->timer);
        ssize_t n = send(p->cfd, p->down.buf + p->down_off, p->down.len - p->down_off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                ui_free(p); /* the browser went away */
                return;
        }
        if (n > 0)
                p->down_off += (size_t)n;
        if (p->down_off == p->down.len) {
                sb_free(&p->down); /* keep memory flat on long pages */
                p->down_off = 0;
        }
        if (ui_finished(p)) {
                ui_free(p);
                return;
        }
        ui_update_watchers(p);
}

static void ui_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        struct uiproxy *p = (struct uiproxy *)((char *)w - offsetof(struct uiproxy, timer));
        log_warnx("Spark UI request on port %d made no progress for %.0f s; closed", p->port, UI_TIMEOUT);
        ui_fail_detached(p, 504, "the Spark UI did not answer in time");
}

/* Starts a non-blocking connect to 127.0.0.1:port. */
static int ui_connect(int port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

void ui_handle(struct sparkd *d, struct conn *c, const struct http_request *req,
               struct api_response *resp) {
        const char *id = req->path + 4;
        char kid[KMSG_UUID_LEN + 1];
        size_t idlen = strcspn(id, "/");
        if (idlen != KMSG_UUID_LEN) {
                api_fail(resp, 404, "not_found", "no such Spark UI");
                return;
        }
        memcpy(kid, id, idlen);
        kid[idlen] = '\0';
        int port = 0;
        const char *token = NULL;
        if (!kernel_id_valid(kid) || session_ui_target(d, kid, &port, &token) < 0) {
                api_fail(resp, 404, "ui_not_found", "no running Spark session with a UI for this kernel");
                return;
        }
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
                api_fail(resp, 405, "method_not_allowed", "the Spark UI is read-only here");
                snprintf(resp->extra_headers, sizeof resp->extra_headers, "Allow: GET, HEAD\r\n");
                return;
        }
        size_t pre = 4 + KMSG_UUID_LEN;
        if (strncmp(req->target, req->path, pre) != 0) {
                api_fail(resp, 404, "not_found", "no such Spark UI");
                return;
        }
        const char *target = req->target + pre;
        if (*target != '/') {
                /* /ui/<id> → /ui/<id>/ so that relative links resolve (a
                 * relative Location: a proxy in front may add its prefix) */
                resp->status = 301;
                resp->body = json_pack("{s:s}", "location", kid);
                snprintf(resp->extra_headers, sizeof resp->extra_headers, "Location: %s/\r\n", kid);
                return;
        }
        if (!c) {
                api_fail(resp, 500, "no_connection", "cannot proxy without a connection");
                return;
        }
        /* Another user may have taken the port since Spark bound it (Spark
         * ended, or moved): never show their page on the hub's origin, nor
         * send them the token. */
        uid_t other = 0;
        int own = netown_check(port, geteuid(), &other);
        if (own < 0) {
                if (own == -EPERM)
                        log_warnx("Spark UI of kernel %s: port %d is held by uid %ld, not by this Spark: refused",
                                  kid, port, (long)other);
                api_fail(resp, 502, own == -EPERM ? "ui_port_foreign" : "bad_gateway", "%s",
                        own == -EPERM  ? "the Spark UI's port is held by another user: not proxied"
                        : own == -ENOENT ? "the Spark UI does not answer (is Spark still running?)"
                                         : "cannot tell who holds the Spark UI's port: not proxied");
                return;
        }
        struct uiproxy *p = calloc(1, sizeof *p);
        if (p) {
                snprintf(p->base, sizeof p->base, "%s/ui/%s", d->opts.public_prefix ? d->opts.public_prefix : "",
                         kid);
                snprintf(p->token, sizeof p->token, "%s", token ? token : "");
        }
        if (!p || ui_build_request((p->port = port, p), req, target) < 0) {
                if (p)
                        sb_free(&p->up);
                free(p);
                api_fail(resp, 500, "out_of_memory", "out of memory");
                return;
        }
        p->ufd = ui_connect(port);
        if (p->ufd < 0) {
                sb_free(&p->up);
                free(p);
                api_fail(resp, 502, "bad_gateway", "the Spark UI does not answer (is Spark still running?)");
                return;
        }
        char *rest = NULL;
        size_t rest_len = 0;
        snprintf(p->base, sizeof p->base, "%s/ui/%s", d->opts.public_prefix ? d->opts.public_prefix : "", kid);
        snprintf(p->from, sizeof p->from, "%s", req->path + pre);
        p->cfd = srv_detach(c, &rest, &rest_len);
        free(rest);
        p->loop = d->loop;
        ev_io_init(&p->uio, ui_upstream_cb, p->ufd, EV_WRITE);
        ev_io_init(&p->cio, ui_client_cb, p->cfd, EV_WRITE);
        ev_timer_init(&p->timer, ui_timeout_cb, 0., UI_TIMEOUT);
        ev_timer_again(d->loop, &p->timer);
        p->owner = d->ui;
        p->next = d->ui->list;
        if (d->ui->list)
                d->ui->list->prev = p;
        d->ui->list = p;
        ui_update_watchers(p);
        resp->status = API_DETACHED;
}
