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
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockpath.h"

int uhttp_default_socket(char *buf, size_t n) {
        struct sockpath_env e;
        struct sockpath def;
        sockpath_env_get(&e);
        int r = sockpath_default(&e, &def);
        if (r < 0)
                return r;
        if (strlen(def.path) >= n)
                return -ENAMETOOLONG;
        strcpy(buf, def.path);
        return 0;
}

/* Fills *ret (when not NULL) with f and why; returns -EPERM. */
static int refuse(struct uhttp_refusal *ret, struct uhttp_refusal *f, enum uhttp_distrust why,
                  const struct stat *st) {
        f->why = why;
        if (st) {
                f->found = st->st_uid;
                f->mode = st->st_mode;
        }
        if (ret)
                *ret = *f;
        return -EPERM;
}

/* The directory part of sock into dir (UHTTP_MAX_PATH bytes): "." for a
 * bare name, "/" for a socket in the root. */
static void socket_dir(const char *sock, char *dir) {
        const char *slash = strrchr(sock, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == sock)
                strcpy(dir, "/");
        else
                snprintf(dir, UHTTP_MAX_PATH, "%.*s", (int)(slash - sock), sock);
}

int uhttp_check_socket(const char *sock, struct uhttp_refusal *ret) {
        struct uhttp_refusal f = {.you = getuid()};
        struct stat st;
        if (strlen(sock) >= UHTTP_MAX_PATH)
                return -ENAMETOOLONG;
        socket_dir(sock, f.dir);
        if (lstat(f.dir, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return refuse(ret, &f, UHTTP_DIR_SYMLINK, &st);
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (st.st_uid != f.you)
                return refuse(ret, &f, UHTTP_DIR_NOT_OWNED, &st);
        if (st.st_mode & 077)
                return refuse(ret, &f, UHTTP_DIR_OPEN, &st);
        if (lstat(sock, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return refuse(ret, &f, UHTTP_SOCK_NOT_SOCKET, &st);
        if (st.st_uid != f.you)
                return refuse(ret, &f, UHTTP_SOCK_NOT_OWNED, &st);
        return 0;
}

/* Accepts the connected fd only when its peer runs as getuid() (root's
 * processes too are someone else, unless we are root). */
static int check_peer(int fd, const char *sock, struct uhttp_refusal *ret) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.uid == getuid())
                return 0;
        struct uhttp_refusal f = {.you = getuid(), .found = cred.uid};
        socket_dir(sock, f.dir);
        return refuse(ret, &f, UHTTP_PEER_NOT_OWNER, NULL);
}

#define INTERCEPT  "another user may be trying to intercept Start Spark"
#define ELSEWHERE  "or set SPARKD_SOCKET or XDG_RUNTIME_DIR to a directory of your own"
#define REMOVE_DIR "Remove %s (ask an administrator if you cannot) " ELSEWHERE

void uhttp_refusal_message(const struct uhttp_refusal *r, const char *sock, char *buf, size_t n) {
        unsigned found = (unsigned)r->found, you = (unsigned)r->you;
        switch (r->why) {
        case UHTTP_DIR_SYMLINK:
                snprintf(buf, n,
                         "refusing %s: its directory %s is a symbolic link (owned by uid %u), "
                         "not a directory; " INTERCEPT ". " REMOVE_DIR,
                         sock, r->dir, found, r->dir);
                break;
        case UHTTP_DIR_NOT_OWNED:
                snprintf(
                        buf, n,
                        "refusing %s: its directory belongs to uid %u, not you (uid %u); " INTERCEPT
                        ". " REMOVE_DIR,
                        sock, found, you, r->dir);
                break;
        case UHTTP_DIR_OPEN:
                snprintf(buf, n,
                         "refusing %s: its directory %s has mode %04o, open to other users "
                         "(it must be 0700); run 'chmod 700 %s', or remove it and let sparkd "
                         "create it again",
                         sock, r->dir, (unsigned)(r->mode & 07777), r->dir);
                break;
        case UHTTP_SOCK_NOT_SOCKET:
                snprintf(buf, n,
                         "refusing %s: it is %s, not a socket; remove it and start sparkd again",
                         sock, S_ISLNK(r->mode) ? "a symbolic link" : "another kind of file");
                break;
        case UHTTP_SOCK_NOT_OWNED:
                snprintf(buf, n,
                         "refusing %s: the socket belongs to uid %u, not you (uid %u); " INTERCEPT
                         ". Remove it and start sparkd again",
                         sock, found, you);
                break;
        case UHTTP_PEER_NOT_OWNER:
                snprintf(buf, n,
                         "refusing %s: the process listening on it runs as uid %u, not you "
                         "(uid %u); " INTERCEPT ". Remove the socket and start sparkd again; if it "
                         "comes back, tell an administrator",
                         sock, found, you);
                break;
        }
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
                  int timeout_ms, struct uhttp_response *ret, struct uhttp_refusal *refusal) {
        long long deadline = now_ms() + timeout_ms;
        int r = uhttp_check_socket(sock, refusal);
        if (r < 0)
                return r;
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
        r = check_peer(fd, sock, refusal);
        if (r >= 0)
                r = write_all(fd, req, (size_t)n, deadline);
        if (r >= 0)
                r = read_response(fd, deadline, &resp);
        close(fd);
        free(req);
        if (r < 0)
                return r;
        *ret = resp;
        return 0;
}

/* ---- finding programs ---- */

static int is_exe_file(const char *p) {
        struct stat st;
        return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static int copy_out(const char *s, char *out, size_t n) {
        if (strlen(s) >= n)
                return -ENAMETOOLONG;
        strcpy(out, s);
        return 0;
}

int tool_which(const char *name, const char *path, char *out, size_t n) {
        if (!*name)
                return -ENOENT;
        if (strchr(name, '/'))
                return is_exe_file(name) ? copy_out(name, out, n) : -ENOENT;
        for (const char *p = path; p && *p;) {
                const char *colon = strchr(p, ':');
                size_t len = colon ? (size_t)(colon - p) : strlen(p);
                char cand[4096];
                /* an empty entry is the current directory, as for execvp */
                int w = snprintf(cand, sizeof cand, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
                if (w > 0 && (size_t)w < sizeof cand && is_exe_file(cand))
                        return copy_out(cand, out, n);
                if (!colon)
                        break;
                p = colon + 1;
        }
        return -ENOENT;
}

int tool_beside(const char *exe, const char *name, char *out, size_t n) {
        const char *slash = exe ? strrchr(exe, '/') : NULL;
        if (!exe || exe[0] != '/' || !slash)
                return -EINVAL;
        char cand[4096];
        int w = snprintf(cand, sizeof cand, "%.*s/%s", (int)(slash - exe), exe, name);
        if (w < 0 || (size_t)w >= sizeof cand)
                return -ENAMETOOLONG;
        return is_exe_file(cand) ? copy_out(cand, out, n) : -ENOENT;
}

int tool_beside_self(const char *name, char *out, size_t n) {
        char exe[4096];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len <= 0)
                return -ENOENT;
        exe[len] = '\0';
        return tool_beside(exe, name, out, n);
}

int tool_is_python_name(const char *s) {
        const char *base = strrchr(s, '/');
        base = base ? base + 1 : s;
        if (strncmp(base, "python", 6) != 0)
                return 0;
        /* python, python3, python3.12: digits and dots, starting with a digit */
        base += 6;
        if (*base && (*base < '0' || *base > '9'))
                return 0;
        return strspn(base, "0123456789.") == strlen(base);
}

/* The next whitespace-separated word of *p (NUL-terminated in place). */
static char *next_word(char **p) {
        char *s = *p + strspn(*p, " \t");
        if (!*s)
                return NULL;
        char *e = s + strcspn(s, " \t");
        if (*e)
                *e++ = '\0';
        *p = e;
        return s;
}

/* The interpreter of the "#!" line in line (modified): its path, or for
 * env the program it runs (options and NAME=VALUE skipped). */
static const char *shebang_program(char *line) {
        char *p = line + 2, *interp = next_word(&p), *w;
        if (!interp)
                return NULL;
        const char *base = strrchr(interp, '/');
        if (strcmp(base ? base + 1 : interp, "env") != 0)
                return interp;
        while ((w = next_word(&p)) && (w[0] == '-' || strchr(w, '=')))
                ;
        return w;
}

/* pip's launcher for paths a "#!" line cannot hold:
 *   #!/bin/sh
 *   '''exec' "/long path/bin/python" "$0" "$@"
 * Returns the quoted (or bare) interpreter in line (modified), or NULL. */
static const char *pip_sh_program(char *line) {
        static const char tag[] = "'''exec' ";
        if (strncmp(line, tag, sizeof tag - 1) != 0)
                return NULL;
        char *s = line + sizeof tag - 1;
        if (*s == '"') {
                char *e = strchr(++s, '"');
                if (!e)
                        return NULL;
                *e = '\0';
                return s;
        }
        char *p = s;
        return next_word(&p);
}

/* The Python a script's first bytes name (head: len bytes, then a NUL;
 * modified): the "#!" line's interpreter, or pip's "'''exec'" line under
 * "#!/bin/sh".  NULL when there is none or it is not a Python.  Pure: the
 * fuzz target (tests/fuzz/fuzz_uhttp.c) feeds it any bytes. */
static const char *head_python(char *head, size_t len) {
        if (len < 2 || head[0] != '#' || head[1] != '!')
                return NULL;
        char *nl = strchr(head, '\n');
        if (!nl)
                return NULL;
        *nl = '\0';
        char *second = nl + 1, *nl2 = strchr(second, '\n');
        if (nl2)
                *nl2 = '\0';
        const char *prog = shebang_program(head);
        if (prog && (!strcmp(prog, "/bin/sh") || !strcmp(prog, "/usr/bin/sh")))
                prog = pip_sh_program(second);
        return prog && tool_is_python_name(prog) ? prog : NULL;
}

int tool_python_of(const char *cmd, const char *path, char *out, size_t n) {
        char exe[4096];
        int r = tool_which(cmd, path, exe, sizeof exe);
        if (r < 0)
                return r;
        if (tool_is_python_name(exe))
                return copy_out(exe, out, n);
        char head[1024];
        int fd = open(exe, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t len = read(fd, head, sizeof head - 1);
        close(fd);
        if (len < 0)
                return -EIO;
        head[len] = '\0';
        const char *prog = head_python(head, (size_t)len);
        if (!prog)
                return -ENOEXEC;
        if (!strchr(prog, '/'))
                return tool_which(prog, path, out, n) < 0 ? -ENOEXEC : 0;
        return copy_out(prog, out, n);
}
