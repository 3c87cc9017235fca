/* uhttp.c — a tiny HTTP/1.1 client over a Unix socket (see uhttp.h). */
#include "uhttp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int uhttp_default_socket(char *buf, size_t n) {
        const char *s = getenv("SPARKD_SOCKET");
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        int len;
        if (s && *s)
                len = snprintf(buf, n, "%s", s);
        else if (xdg && *xdg)
                len = snprintf(buf, n, "%s/sparkd/sparkd.sock", xdg);
        else
                len = snprintf(buf, n, "/tmp/sparkd-%ld/sparkd.sock", (long)geteuid());
        if (len < 0 || (size_t)len >= n || (size_t)len >= UHTTP_MAX_PATH)
                return -ENAMETOOLONG;
        return 0;
}

void uhttp_response_free(struct uhttp_response *r) {
        if (!r)
                return;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes.  Returns 0,
 * -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline) {
        for (;;) {
                long long left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = fd, .events = events};
                int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Connects a non-blocking stream socket to path.  Returns the fd or -errno. */
static int connect_unix(const char *path, long long deadline) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A full backlog answers EAGAIN on a non-blocking Unix socket:
         * retry until the deadline. */
        while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                int e = errno;
                if (e != EAGAIN && e != EINTR) {
                        close(fd);
                        return -e;
                }
                if (now_ms() >= deadline) {
                        close(fd);
                        return -ETIMEDOUT;
                }
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        return fd;
}

static int write_all(int fd, const char *p, size_t n, long long deadline) {
        while (n) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                return -errno;
                        int r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* Finds "\r\n\r\n"; returns the head's length including it, or 0. */
static size_t head_length(const char *buf, size_t len) {
        for (size_t i = 0; i + 4 <= len; i++)
                if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
                        return i + 4;
        return 0;
}

/* The value of Content-Length in head, -1 when absent, -2 when malformed. */
static long long content_length(const char *head, size_t head_len) {
        static const char name[] = "\r\ncontent-length:";
        size_t nl = sizeof name - 1;
        for (size_t i = 0; i + nl <= head_len; i++) {
                if (strncasecmp(head + i, name, nl) != 0)
                        continue;
                size_t j = i + nl;
                while (j < head_len && (head[j] == ' ' || head[j] == '\t'))
                        j++;
                long long v = 0;
                size_t digits = 0;
                for (; j < head_len && head[j] >= '0' && head[j] <= '9'; j++, digits++) {
                        if (v > (long long)UHTTP_MAX_RESPONSE)
                                return -2;
                        v = v * 10 + (head[j] - '0');
                }
                return digits ? v : -2;
        }
        return -1;
}

int uhttp_parse(const char *buf, size_t len, int eof, struct uhttp_response *ret) {
        size_t hl = head_length(buf, len);
        if (!hl)
                return eof ? -EPROTO : 0;
        if (hl < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
                return -EPROTO;
        int status = 0;
        for (int i = 9; i < 12; i++) {
                if (buf[i] < '0' || buf[i] > '9')
                        return -EPROTO;
                status = status * 10 + (buf[i] - '0');
        }
        if ((buf[12] != ' ' && buf[12] != '\r') || status < 100 || status > 599)
                return -EPROTO;
        long long cl = content_length(buf, hl);
        if (cl == -2)
                return -EPROTO;
        int no_body = status == 204 || status == 304 || status < 200;
        size_t body_len;
        if (no_body)
                body_len = 0;
        else if (cl >= 0 && len - hl >= (size_t)cl)
                body_len = (size_t)cl;
        else if (cl >= 0)
                return eof ? -EPROTO : 0;
        else if (eof)
                body_len = len - hl;
        else
                return 0;
        char *body = malloc(body_len + 1);
        if (!body)
                return -ENOMEM;
        memcpy(body, buf + hl, body_len);
        body[body_len] = '\0';
        ret->status = status;
        ret->body = body;
        ret->body_len = body_len;
        return 1;
}

/* Reads from fd into a growing buffer until uhttp_parse says complete. */
static int read_response(int fd, long long deadline, struct uhttp_response *ret) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int r;
        for (;;) {
                if (cap - len < 4096) {
                        size_t ncap = cap ? cap * 2 : 16384;
                        if (ncap > UHTTP_MAX_RESPONSE + 1) {
                                r = -EFBIG;
                                goto out;
                        }
                        char *nb = realloc(buf, ncap);
                        if (!nb) {
                                r = -ENOMEM;
                                goto out;
                        }
                        buf = nb;
                        cap = ncap;
                }
                ssize_t n = recv(fd, buf + len, cap - len, 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        r = wait_fd(fd, POLLIN, deadline);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                len += (size_t)n;
                r = uhttp_parse(buf, len, n == 0, ret);
                if (r != 0)
                        goto out;
        }
out:
        free(buf);
        return r < 0 ? r : 0;
}

int uhttp_request(const char *sock, const char *method, const char *path, const char *body,
                  int timeout_ms, struct uhttp_response *ret) {
        long long deadline = now_ms() + timeout_ms;
        char *req = NULL;
        int n = body ? asprintf(&req,
                                "%s %s HTTP/1.1\r\nHost: sparkd\r\nConnection: close\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                method, path, strlen(body), body)
                     : asprintf(&req, "%s %s HTTP/1.1\r\nHost: sparkd\r\nConnection: close\r\n\r\n",
                                method, path);
        if (n < 0)
                return -ENOMEM;
        int fd = connect_unix(sock, deadline);
        if (fd < 0) {
                free(req);
                return fd;
        }
        struct uhttp_response resp = {0};
        int r = write_all(fd, req, (size_t)n, deadline);
        if (r >= 0)
                r = read_response(fd, deadline, &resp);
        close(fd);
        free(req);
        if (r < 0)
                return r;
        *ret = resp;
        return 0;
}
