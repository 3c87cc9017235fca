/* loadgen — a closed-loop HTTP/1.1 load client for a Unix socket (wrk cannot
 * use one).
 *
 * usage: loadgen -s SOCKET [-c CONNECTIONS] [-d SECONDS | -n REQUESTS]
 *                [-w WARMUP_SECONDS] PATH
 *
 * Opens CONNECTIONS keep-alive connections; each keeps exactly one GET PATH
 * in flight and sends the next as soon as the answer is complete.  Runs for
 * SECONDS (default 5) or until REQUESTS answers, after WARMUP_SECONDS whose
 * answers are not counted.  Every request's latency (send start to last
 * byte) is kept; the result is one JSON line:
 *   {"connections", "requests", "errors", "seconds", "rps", "p50_us",
 *    "p90_us", "p99_us", "max_us", "statuses": {"200": n, ...}}
 * An error is an answer other than 200, a malformed answer or a connection
 * the daemon closed (it is then reopened).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define RBUF      (256 * 1024)

struct lconn {
        int fd;
        size_t sent;
        char *rbuf;
        size_t rlen;
        uint64_t t_start;
};

struct lat {
        uint64_t *v;
        size_t n, cap;
};

static const char *sock_path;
static char req[2048];
static size_t req_len;
static unsigned long statuses[600];
static unsigned long errors;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int lat_add(struct lat *l, uint64_t ns) {
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 65536;
                uint64_t *v = realloc(l->v, cap * sizeof *v);
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = ns;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* The p-th percentile in microseconds (nearest rank on sorted values). */
static double pct_us(const struct lat *l, double p) {
        if (!l->n)
                return 0;
        size_t i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
        return (double)l->v[i] / 1000.0;
}

/* Opens a non-blocking connection and registers it; returns 0 or -errno. */
static int conn_open(int ep, struct lconn *c) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return -errno;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                int r = -errno;
                close(c->fd);
                return r;
        }
        c->sent = 0;
        c->rlen = 0;
        c->t_start = now_ns();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_reopen(int ep, struct lconn *c) {
        close(c->fd);
        errors++;
        if (conn_open(ep, c) < 0) {
                perror("loadgen: reconnect");
                exit(1);
        }
}

/* Length of a complete response at the start of c->rbuf with its status,
 * 0 when incomplete, -1 when malformed. */
static long parse_response(struct lconn *c, int *status) {
        c->rbuf[c->rlen] = '\0';
        char *end = strstr(c->rbuf, "\r\n\r\n");
        if (!end)
                return c->rlen > RBUF / 2 ? -1 : 0;
        if (strncmp(c->rbuf, "HTTP/1.", 7) || c->rlen < 12)
                return -1;
        *status = atoi(c->rbuf + 9);
        long body = 0;
        for (char *p = strstr(c->rbuf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
                if (!strncasecmp(p + 2, "Content-Length:", 15))
                        body = strtol(p + 17, NULL, 10);
        long total = (long)(end + 4 - c->rbuf) + body;
        if (total >= RBUF)
                return -1;
        return (size_t)total <= c->rlen ? total : 0;
}

static bool send_more(struct lconn *c) {
        while (c->sent < req_len) {
                ssize_t w = write(c->fd, req + c->sent, req_len - c->sent);
                if (w < 0)
                        return errno == EAGAIN;
                c->sent += (size_t)w;
        }
        return true;
}

static void usage(void) {
        fprintf(stderr, "usage: loadgen -s SOCKET [-c CONNECTIONS] [-d SECONDS | -n REQUESTS] "
                        "[-w WARMUP_SECONDS] PATH\n");
        exit(2);
}

int main(int argc, char **argv) {
        int nconns = 1, opt;
        double seconds = 5, warmup = 0;
        unsigned long max_req = 0;
        while ((opt = getopt(argc, argv, "s:c:d:n:w:")) != -1) {
                switch (opt) {
                case 's': sock_path = optarg; break;
                case 'c': nconns = atoi(optarg); break;
                case 'd': seconds = atof(optarg); break;
                case 'n': max_req = strtoul(optarg, NULL, 10); break;
                case 'w': warmup = atof(optarg); break;
                default: usage();
                }
        }
        if (!sock_path || optind != argc - 1 || nconns < 1 || nconns > MAX_CONNS)
                usage();
        req_len = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: sparkd\r\n\r\n", argv[optind]);
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct lconn *conns = calloc((size_t)nconns, sizeof *conns);
        if (ep < 0 || !conns)
                return perror("loadgen"), 1;
        for (int i = 0; i < nconns; i++) {
                conns[i].rbuf = malloc(RBUF + 1);
                if (!conns[i].rbuf || conn_open(ep, &conns[i]) < 0)
                        return perror("loadgen: connect"), 1;
        }
        struct lat lat = {0};
        uint64_t t_begin = now_ns();
        uint64_t t_measure = t_begin + (uint64_t)(warmup * 1e9);
        uint64_t t_end = t_measure + (uint64_t)(seconds * 1e9);
        unsigned long done = 0;
        struct epoll_event evs[256];
        for (;;) {
                uint64_t now = now_ns();
                if (max_req ? done >= max_req : now >= t_end)
                        break;
                int n = epoll_wait(ep, evs, 256, 100);
                for (int i = 0; i < n; i++) {
                        struct lconn *c = evs[i].data.ptr;
                        if (evs[i].events & EPOLLOUT) {
                                if (!send_more(c)) {
                                        conn_reopen(ep, c);
                                        continue;
                                }
                                if (c->sent == req_len) {
                                        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                                }
                        }
                        if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                                continue;
                        ssize_t r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
                        if (r <= 0) {
                                if (r < 0 && errno == EAGAIN)
                                        continue;
                                conn_reopen(ep, c);
                                continue;
                        }
                        c->rlen += (size_t)r;
                        int status = 0;
                        long len = parse_response(c, &status);
                        if (len == 0)
                                continue;
                        uint64_t t = now_ns();
                        if (len < 0 || (size_t)len != c->rlen) { /* malformed or unasked bytes */
                                conn_reopen(ep, c);
                                continue;
                        }
                        if (c->t_start >= t_measure) {
                                if (status == 200)
                                        lat_add(&lat, t - c->t_start);
                                else
                                        errors++;
                                if (status > 0 && status < 600)
                                        statuses[status]++;
                                done++;
                        }
                        c->rlen = 0;
                        c->sent = 0;
                        c->t_start = t;
                        if (!send_more(c)) {
                                conn_reopen(ep, c);
                                continue;
                        }
                        struct epoll_event ev = {.events = c->sent == req_len ? EPOLLIN : EPOLLIN | EPOLLOUT,
                                                 .data.ptr = c};
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
        }
        double elapsed = (double)(now_ns() - (t_measure > t_begin ? t_measure : t_begin)) / 1e9;
        if (lat.n)
                qsort(lat.v, lat.n, sizeof *lat.v, cmp_u64);
        printf("{\"connections\": %d, \"requests\": %lu, \"errors\": %lu, \"seconds\": %.3f, "
               "\"rps\": %.1f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, "
               "\"statuses\": {",
               nconns, done, errors, elapsed, (double)done / elapsed, pct_us(&lat, 50), pct_us(&lat, 90),
               pct_us(&lat, 99), lat.n ? (double)lat.v[lat.n - 1] / 1000.0 : 0.0);
        const char *sep = "";
        for (int s = 0; s < 600; s++)
                if (statuses[s]) {
                        printf("%s\"%d\": %lu", sep, s, statuses[s]);
                        sep = ", ";
                }
        printf("}}\n");
        for (int i = 0; i < nconns; i++) {
                close(conns[i].fd);
                free(conns[i].rbuf);
        }
        free(conns);
        free(lat.v);
        close(ep);
        return 0;
}
