#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "sdnotify.h"

#define SRV_READ_CHUNK   16384u
#define SRV_MAX_INPUT    (HTTP_MAX_HEAD + HTTP_MAX_BODY + SRV_READ_CHUNK)
#define SRV_SHUTDOWN_GRACE 5.0
/* At the cap (max_connections), a new client takes the place of the
 * connection idle the longest, if one has been idle SRV_IDLE_MIN (a
 * younger one may be about to send its request); else it is answered 503
 * once its head is in (SRV_OVER_CAP_TIMEOUT at most), or at once past
 * SRV_OVER_CAP_SLACK such clients.  Past max + SRV_CEILING_SLACK sockets
 * in all (closing ones included) accepting pauses: clients wait in the
 * listen queue instead of being reset, and the fds stay bounded. */
#define SRV_IDLE_MIN         0.5
#define SRV_OVER_CAP_SLACK   16u
#define SRV_OVER_CAP_TIMEOUT 2.0
#define SRV_CEILING_SLACK    64u
/* A connection that closes after its response first shuts its side and
 * reads what the client still sends until the client closes, for at most
 * this long and this much: a Unix socket closed with unread bytes resets
 * the client, whose send then fails (EPIPE) before it reads our answer,
 * and whose recv ends in ECONNRESET instead of an end of file. */
#define SRV_LINGER_TIME  2.0
#define SRV_LINGER_BYTES (4u * 1024u * 1024u)

struct conn {
        ev_io io;          /* first: the watcher's data pointer is the conn */
        ev_timer timer;    /* idle timeout, re-armed on every read or write */
        ev_tstamp request_start; /* first byte of the current request, or 0 */
        ev_tstamp idle_since; /* accepted, or its last response written */
        int fd;
        unsigned id;
        char *in;
        size_t in_len, in_cap;
        char *out;
        size_t out_len, out_off;
        bool close_after;  /* close once out is written */
        bool deferred;     /* a handler will answer with srv_reply */
        void (*on_hangup)(void *data); /* while deferred: the client went away */
        void *hangup_data;
        bool keep_alive;   /* of the deferred request */
        bool continued;    /* "100 Continue" sent for the current request */
        bool over_cap;     /* opened past max_connections: answered 503 */
        bool lingering;    /* response written, our side shut: reading until EOF */
        size_t drained;    /* bytes read and dropped while lingering */
        struct sparkd *d;
        struct conn *prev, *next;
};

/* d->srv */
struct srv {
        int fd;
        bool owned;        /* created by us (not systemd's): unlink at exit */
        int spare_fd;      /* kept open so EMFILE can still be answered */
        ev_io io;
        ev_timer grace;
        bool stopping;
        bool paused;       /* not accepting: too many sockets (SRV_CEILING_SLACK) */
        struct conn *conns;
        unsigned n_conns;  /* all of them; of which: */
        unsigned n_over;   /*   over the cap, not lingering */
        unsigned n_lingering;
        unsigned next_id;
};

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);


/* Ensures dir exists, is ours and is 0700.  Returns 0 or -errno. */
static int srv_private_dir(const char *dir) {
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        struct stat st;
        if (lstat(dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
                return -EPERM;
        if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0)
                return -errno;
        return 0;
}

/* Returns 1 when a live daemon answers on path, 0 when nothing does (and
 * a stale socket file was removed), or -errno. */
static int srv_probe_existing(const struct sockaddr_un *sa) {
        struct stat st;
        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
        int e = errno;
        close(fd);
        if (r == 0)
                return 1;
        if (e != ECONNREFUSED && e != ENOENT)
                return -e;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return -errno;
        log_info("removed stale socket %s", sa->sun_path);
        return 0;
}

/* Creates, binds (umask 0177 around bind) and listens on path. */
static int srv_bind(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        char dir[sizeof sa.sun_path];
        strcpy(dir, path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int r = srv_private_dir(dir);
                if (r < 0)
                        return log_errno(r, "socket directory %s", dir);
        }
        int r = srv_probe_existing(&sa);
        if (r == 1) {
                log_warnx("another sparkd is already listening on %s", path);
                return -EADDRINUSE;
        }
        if (r < 0)
                return log_errno(r, "cannot use %s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_errno(-errno, "socket");
        mode_t old = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
        umask(old);
        if (r == 0 && chmod(path, 0600) < 0)
                r = -errno;
        if (r == 0 && listen(fd, 128) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return log_errno(r, "cannot listen on %s", path);
        }
        return fd;
}

int srv_listen(struct sparkd *d) {
        struct srv *srv = d->srv = calloc(1, sizeof *d->srv);
        if (!srv)
                return log_errno(-ENOMEM, "the listener");
        srv->fd = srv->spare_fd = -1;
        int n = sdn_listen_fds();
        if (n < 0)
                log_warnx("ignoring a malformed LISTEN_FDS/LISTEN_PID from the environment");
        if (n > 1)
                log_warnx("systemd passed %d sockets; using the first", n);
        if (n >= 1) {
                srv->fd = SDN_LISTEN_FDS_START;
                srv->owned = false;
                int fl = fcntl(srv->fd, F_GETFL);
                if (fl < 0 || fcntl(srv->fd, F_SETFL, fl | O_NONBLOCK) < 0)
                        return log_errno(-errno, "socket from systemd");
                log_info("listening on the socket passed by systemd");
        } else {
                int fd = srv_bind(d->opts.socket_path);
                if (fd < 0)
                        return fd;
                srv->fd = fd;
                srv->owned = true;
                log_info("listening on %s", d->opts.socket_path);
        }
        srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return 0;
}

/* Sockets open at most (served, over the cap and closing): past it,
 * accepting pauses until half the slack is free again. */
static unsigned srv_ceiling(const struct sparkd *d) {
        return d->opts.max_connections + SRV_CEILING_SLACK;
}

/* Unlinks the conn and frees it with its watchers stopped; a handler
 * waiting to answer it hears of it first. */
static void conn_close(struct conn *c) {
        struct srv *srv = c->d->srv;
        struct sparkd *d = c->d;
        if (c->deferred && c->on_hangup)
                c->on_hangup(c->hangup_data);
        struct ev_loop *loop = d->loop;
        ev_io_stop(loop, &c->io);
        ev_timer_stop(loop, &c->timer);
        if (c->fd >= 0)
                close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                srv->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        srv->n_conns--;
        if (c->lingering)
                srv->n_lingering--;
        else if (c->over_cap)
                srv->n_over--;
        free(c->in);
        free(c->out);
        free(c);
        if (srv->stopping && srv->n_conns == 0)
                ev_break(loop, EVBREAK_ALL);
        if (srv->paused && !srv->stopping && srv->n_conns < srv_ceiling(d) - SRV_CEILING_SLACK / 2) {
                srv->paused = false;
                ev_io_start(loop, &srv->io);
        }
}

/* Connections served (neither over the cap nor closing). */
static unsigned srv_active(const struct srv *srv) { return srv->n_conns - srv->n_over - srv->n_lingering; }

/* Switches the io watcher between reading and writing. */
static void conn_watch(struct conn *c, int events) {
        if (c->io.events == events && ev_is_active(&c->io))
                return;
        ev_io_stop(c->d->loop, &c->io);
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(c->d->loop, &c->io);
}

/* Shuts our side once the response is out and keeps reading (and
 * dropping) what the client sends until it closes, at most
 * SRV_LINGER_TIME and SRV_LINGER_BYTES; conn_drain and conn_timer_cb
 * close it.  Also how an idle connection is closed to make room: a
 * request crossing the close then meets an end of file, not a reset. */
static void conn_linger(struct conn *c) {
        struct srv *srv = c->d->srv;
        if (shutdown(c->fd, SHUT_WR) < 0) {
                conn_close(c); /* the client is gone */
                return;
        }
        if (c->over_cap)
                srv->n_over--;
        srv->n_lingering++;
        c->lingering = true;
        free(c->in);
        c->in = NULL;
        c->in_len = c->in_cap = 0;
        conn_watch(c, EV_READ);
        c->timer.repeat = SRV_LINGER_TIME;
        ev_timer_again(c->d->loop, &c->timer);
}

/* Reads and drops what a lingering client sends; closes at its end of
 * file, on an error, or past SRV_LINGER_BYTES. */
static void conn_drain(struct conn *c) {
        static char sink[4 * SRV_READ_CHUNK];
        ssize_t n = read(c->fd, sink, sizeof sink);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0 && (c->drained += (size_t)n) < SRV_LINGER_BYTES)
                return;
        conn_close(c);
}

/* Queues a complete response and starts writing it. */
static void conn_send(struct conn *c, char *data, size_t len, bool close_after) {
        struct srv *srv = c->d->srv;
        free(c->out);
        c->out = data;
        c->out_len = len;
        c->out_off = 0;
        c->close_after = close_after || srv->stopping;
        conn_watch(c, EV_WRITE);
}

/* Answers with a JSON error and closes afterwards. */
static void conn_fail(struct conn *c, int status, const char *code, const char *msg) {
        struct api_response resp = {.status = status, .body = api_error_body(code, "%s", msg)};
        size_t len;
        char *data = api_serialize(&resp, false, &len);
        api_response_clear(&resp);
        if (!data) {
                conn_close(c);
                return;
        }
        conn_send(c, data, len, true);
}

/* Answers a connection over the cap. */
static void conn_refuse(struct conn *c) {
        conn_fail(c, 503, "too_many_connections", "too many open connections; try again");
}

static const char *status_code_name(int status) {
        switch (status) {
        case 413: return "body_too_large";
        case 431: return "headers_too_large";
        case 501: return "not_implemented";
        case 505: return "http_version_not_supported";
        default: return "bad_request";
        }
}

/* Logs a handled request without headers (never Cookie/Authorization). */
static void conn_log_request(struct conn *c, const struct http_request *req, int status) {
        log_debug("conn %u: %s %s -> %d", c->id, req->method, req->path, status);
}

/* Tries to parse and answer one request from the input buffer.  Returns
 * true when a response was queued (or the conn closed). */
static bool conn_process(struct conn *c) {
        struct srv *srv = c->d->srv;
        static struct http_request req; /* large; the loop is single-threaded */
        const char *err = NULL;
        int n = http_parse(c->in, c->in_len, &req, &err);
        if (n == 0)
                return false;
        if (n < 0) {
                log_warnx("conn %u: bad request (%d): %s", c->id, -n, err ? err : "?");
                conn_fail(c, -n, status_code_name(-n), err ? err : http_reason(-n));
                return true;
        }
        struct api_response resp;
        struct sparkd *d = c->d;
        d->requests++;
        api_handle(d, c, &req, &resp);
        if (resp.status == API_DETACHED)
                return true; /* c is gone */
        conn_log_request(c, &req, resp.status);
        bool keep = req.keep_alive && !srv->stopping;
        memmove(c->in, c->in + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
        c->request_start = c->in_len ? ev_now(d->loop) : 0;
        c->continued = false;
        if (resp.status == API_DEFERRED) { /* srv_defer ran: keep reading, for a hang-up */
                c->keep_alive = keep;
                ev_timer_stop(d->loop, &c->timer);
                return true;
        }
        size_t len;
        char *data = api_serialize(&resp, keep, &len);
        api_response_clear(&resp);
        if (!data) {
                conn_close(c);
                return true;
        }
        conn_send(c, data, len, !keep);
        return true;
}

/* Answers "Expect: 100-continue" (curl sends it before large bodies) once
 * the head of the current request is in. */
static void conn_maybe_continue(struct conn *c) {
        if (c->continued)
                return;
        const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
                return;
        for (const char *p = c->in; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
                if (*p == '\n')
                        p++;
                if (!strncasecmp(p, "expect:", 7) && end - p > 7) {
                        const char *v = p + 7;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        if (!strncasecmp(v, "100-continue", 12)) {
                                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                                (void)!send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                                break;
                        }
                }
        }
        c->continued = true;
}

/* Reads what is available; processes a request when one is complete. */
static void conn_read(struct conn *c) {
        if (c->lingering) {
                conn_drain(c);
                return;
        }
        if (c->in_cap - c->in_len < SRV_READ_CHUNK) {
                size_t cap = c->in_cap ? c->in_cap * 2 : SRV_READ_CHUNK * 2;
                if (cap > SRV_MAX_INPUT)
                        cap = SRV_MAX_INPUT;
                if (cap <= c->in_len && c->deferred) { /* a flood behind a long poll */
                        conn_close(c);
                        return;
                }
                if (cap <= c->in_len) {
                        conn_fail(c, 413, "body_too_large", "the request is too large");
                        return;
                }
                char *p = realloc(c->in, cap);
                if (!p) {
                        conn_close(c);
                        return;
                }
                c->in = p;
                c->in_cap = cap;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                conn_close(c);
                return;
        }
        if (c->in_len == 0)
                c->request_start = ev_now(c->d->loop);
        c->in_len += (size_t)n;
        if (c->deferred) /* kept for after the answer (a pipelined request) */
                return;
        if (c->over_cap) {
                /* the 503 answers the request once its head is in; its
                 * deadline is not extended (conn_timer_cb answers then) */
                if (memmem(c->in, c->in_len, "\r\n\r\n", 4) || c->in_len >= HTTP_MAX_HEAD)
                        conn_refuse(c);
                return;
        }
        ev_timer_again(c->d->loop, &c->timer);
        if (conn_process(c))
                return;
        conn_maybe_continue(c);
        /* A trickling client still has request_timeout in all. */
        if (ev_now(c->d->loop) - c->request_start >= c->d->opts.request_timeout) {
                log_warnx("conn %u: request not complete in time; dropped", c->id);
                conn_fail(c, 408, "request_timeout", "the request was not received in time");
        }
}

/* Writes pending output; on completion either closes or goes back to
 * reading (answering a pipelined request already buffered). */
static void conn_write(struct conn *c) {
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n < 0) {
                        conn_close(c);
                        return;
                }
                c->out_off += (size_t)n;
        }
        ev_timer_again(c->d->loop, &c->timer);
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = 0;
        if (c->close_after) {
                conn_linger(c);
                return;
        }
        c->idle_since = ev_now(c->d->loop);
        conn_watch(c, EV_READ);
        if (c->in_len)
                conn_process(c);
}

void srv_interim(struct conn *c, const char *head) {
        (void)!send(c->fd, head, strlen(head), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void srv_defer(struct conn *c, void (*on_hangup)(void *data), void *data) {
        c->deferred = true;
        c->on_hangup = on_hangup;
        c->hangup_data = data;
}

void srv_reply(struct conn *c, struct api_response *resp) {
        struct srv *srv = c->d->srv;
        c->deferred = false;
        c->on_hangup = NULL;
        bool keep = c->keep_alive && !srv->stopping;
        size_t len;
        char *data = api_serialize(resp, keep, &len);
        api_response_clear(resp);
        log_debug("conn %u: deferred answer %d", c->id, resp->status);
        if (!data) {
                conn_close(c);
                return;
        }
        ev_timer_again(c->d->loop, &c->timer);
        conn_send(c, data, len, !keep);
}

int srv_detach(struct conn *c, char **ret_buf, size_t *ret_len) {
        int fd = c->fd;
        *ret_buf = c->in;
        *ret_len = c->in_len;
        c->in = NULL;
        c->fd = -1;
        conn_close(c);
        return fd;
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop;
        struct conn *c = (struct conn *)w;
        if (revents & EV_WRITE)
                conn_write(c);
        else if (revents & EV_READ)
                conn_read(c);
}

/* Idle or slow: a client silent for idle_timeout, or one whose request
 * takes longer than request_timeout in all, is answered 408 and dropped;
 * one over the cap is answered 503 once SRV_OVER_CAP_TIMEOUT is over; a
 * lingering one is closed. */
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)revents;
        struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, timer));
        ev_tstamp now = ev_now(loop);
        bool slow = c->request_start && now - c->request_start >= c->d->opts.request_timeout;
        if (c->lingering) {
                conn_close(c);
        } else if (c->over_cap && !c->out) {
                conn_refuse(c);
        } else if (c->out) {
                log_warnx("conn %u: client does not read its response; dropped", c->id);
                conn_close(c);
        } else if (c->in_len || slow) {
                log_warnx("conn %u: request not complete in time; dropped", c->id);
                conn_fail(c, 408, "request_timeout", "the request was not received in time");
        } else {
                conn_close(c);
        }
}

/* Returns the peer's uid or -errno. */
static long peer_uid(int fd) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        return (long)cred.uid;
}

/* Accepts when EMFILE: frees the spare fd, accepts and closes at once. */
static void srv_shed(struct srv *srv) {
        if (srv->spare_fd < 0)
                return;
        close(srv->spare_fd);
        int fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
                close(fd);
        srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        log_warnx("out of file descriptors: a connection was refused");
}

/* Makes the conn of an accepted socket (closed when out of memory). */
static struct conn *conn_new(struct sparkd *d, int fd, bool over_cap) {
        struct srv *srv = d->srv;
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return NULL;
        }
        c->fd = fd;
        c->d = d;
        c->over_cap = over_cap;
        c->id = ++srv->next_id;
        c->idle_since = ev_now(d->loop);
        c->next = srv->conns;
        if (srv->conns)
                srv->conns->prev = c;
        srv->conns = c;
        srv->n_conns++;
        srv->n_over += over_cap;
        ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
        ev_io_start(d->loop, &c->io);
        double t = d->opts.idle_timeout < d->opts.request_timeout ? d->opts.idle_timeout
                                                                  : d->opts.request_timeout;
        ev_timer_init(&c->timer, conn_timer_cb, 0., over_cap ? SRV_OVER_CAP_TIMEOUT : t);
        ev_timer_again(d->loop, &c->timer);
        return c;
}

/* The served connection idle the longest (the oldest of equals), for at
 * least SRV_IDLE_MIN: no request in progress or pending in its socket, no
 * output, no deferred answer (a long poll).  NULL when there is none. */
static struct conn *srv_longest_idle(struct srv *srv, ev_tstamp now) {
        struct conn *best = NULL;
        for (struct conn *c = srv->conns; c; c = c->next) { /* newest first */
                if (c->lingering || c->over_cap || c->deferred || c->out || c->in_len)
                        continue;
                if (now - c->idle_since < SRV_IDLE_MIN)
                        continue; /* may be about to send its request */
                if (best && c->idle_since > best->idle_since)
                        continue;
                char b;
                if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
                        continue; /* a request is arriving */
                best = c;
        }
        return best;
}

/* Serves a new connection, making room at the cap by closing the one idle
 * the longest; without one, answers 503 (after the head, or at once past
 * SRV_OVER_CAP_SLACK of them). */
static void srv_admit(struct sparkd *d, int fd) {
        struct srv *srv = d->srv;
        unsigned max = d->opts.max_connections;
        struct conn *idle = srv_active(srv) >= max ? srv_longest_idle(srv, ev_now(d->loop)) : NULL;
        if (idle) {
                log_debug("conn %u: idle, closed to make room (limit %u)", idle->id, max);
                conn_linger(idle);
        }
        bool over = srv_active(srv) >= max;
        if (over && srv->n_over == 0)
                log_warnx("connection limit (%u) reached: new connections are answered 503", max);
        struct conn *c = conn_new(d, fd, over);
        if (c && over && srv->n_over > SRV_OVER_CAP_SLACK)
                conn_refuse(c);
}

static void srv_accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)revents;
        struct sparkd *d = w->data;
        struct srv *srv = d->srv;
        for (int i = 0; i < 16; i++) {
                if (srv->n_conns >= srv_ceiling(d)) {
                        log_warnx("%u connections open: not accepting for a moment", srv->n_conns);
                        ev_io_stop(loop, &srv->io);
                        srv->paused = true;
                        return;
                }
                int fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE)
                                srv_shed(srv);
                        else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warn("accept");
                        return;
                }
                long uid = peer_uid(fd);
                if (uid != (long)geteuid()) {
                        log_warnx("refused a connection from uid %ld (only uid %ld may connect)",
                                  uid, (long)geteuid());
                        close(fd);
                        continue;
                }
                srv_admit(d, fd);
        }
}

void srv_start(struct sparkd *d) {
        struct srv *srv = d->srv;
        ev_io_init(&srv->io, srv_accept_cb, srv->fd, EV_READ);
        srv->io.data = d;
        ev_io_start(d->loop, &srv->io);
}

static void srv_unlink(struct sparkd *d) {
        struct srv *srv = d->srv;
        if (srv->owned && d->opts.socket_path) {
                unlink(d->opts.socket_path);
                srv->owned = false;
        }
}

static void srv_grace_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)revents;
        struct srv *srv = (struct srv *)((char *)w - offsetof(struct srv, grace));
        log_warnx("%u connection(s) still open after %.0f s; closing them", srv->n_conns,
                  SRV_SHUTDOWN_GRACE);
        ev_break(loop, EVBREAK_ALL);
}

void srv_shutdown(struct sparkd *d) {
        struct srv *srv = d->srv;
        if (srv->stopping)
                return;
        srv->stopping = true;
        ev_io_stop(d->loop, &srv->io);
        srv_unlink(d);
        for (struct conn *c = srv->conns, *next; c; c = next) {
                next = c->next;
                if (!c->out && c->in_len == 0 && !c->deferred && !c->lingering)
                        conn_close(c);
        }
        if (srv->n_conns == 0) {
                ev_break(d->loop, EVBREAK_ALL);
                return;
        }
        ev_timer_init(&srv->grace, srv_grace_cb, SRV_SHUTDOWN_GRACE, 0.);
        ev_timer_start(d->loop, &srv->grace);
}

void srv_free(struct sparkd *d) {
        struct srv *srv = d->srv;
        if (!srv)
                return;
        while (srv->conns)
                conn_close(srv->conns);
        ev_timer_stop(d->loop, &srv->grace);
        ev_io_stop(d->loop, &srv->io);
        if (srv->fd >= 0 && srv->owned)
                close(srv->fd);
        srv_unlink(d);
        if (srv->spare_fd >= 0)
                close(srv->spare_fd);
        free(srv);
        d->srv = NULL;
}
