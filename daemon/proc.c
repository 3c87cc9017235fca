#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"

extern char **environ;

#define PROC_ARGV_MAX 256
#define PROC_READS_PER_EVENT 16

struct proc {
        struct proc *prev, *next;   /* the list of live children */
        struct ev_loop *loop;
        ev_child child;
        ev_io out;
        ev_timer kill_timer;
        pid_t pid;
        int fd;                     /* read end of the output pipe, -1 once closed */
        int in_fd;                  /* write end of the stdin pipe (PROC_STDIN_PIPE), or -1 */
        const struct proc_cbs *cbs; /* NULL once detached */
        void *data;
        bool stopping;
        bool reaped;
        int status;
        size_t len;                 /* bytes of the current partial line */
        char line[PROC_LINE_MAX + 1];
        char *tail[PROC_TAIL_LINES];
        int tail_next;
};

static struct proc *procs;
static int nprocs;

static const char *setpriv_path(void) {
        static const char *const candidates[] = {"/usr/bin/setpriv", "/bin/setpriv"};
        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

static void proc_link(struct proc *p) {
        p->next = procs;
        if (procs)
                procs->prev = p;
        procs = p;
        nprocs++;
}

static void proc_unlink(struct proc *p) {
        if (p->prev)
                p->prev->next = p->next;
        else
                procs = p->next;
        if (p->next)
                p->next->prev = p->prev;
        p->prev = p->next = NULL;
        nprocs--;
}

/* Keeps line in the tail ring and hands it to on_line. */
static void proc_deliver(struct proc *p, const char *line) {
        char *copy = strdup(line);
        if (copy) {
                free(p->tail[p->tail_next]);
                p->tail[p->tail_next] = copy;
                p->tail_next = (p->tail_next + 1) % PROC_TAIL_LINES;
        }
        if (p->cbs && p->cbs->on_line)
                p->cbs->on_line(p->data, p, line);
}

static void proc_flush_line(struct proc *p) {
        if (p->len > 0 && p->line[p->len - 1] == '\r')
                p->len--;
        p->line[p->len] = '\0';
        p->len = 0;
        proc_deliver(p, p->line);
}

static void proc_feed(struct proc *p, const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                        proc_flush_line(p);
                        continue;
                }
                p->line[p->len++] = buf[i];
                if (p->len == PROC_LINE_MAX)
                        proc_flush_line(p);
        }
}

static void proc_close_output(struct proc *p) {
        if (p->fd < 0)
                return;
        ev_io_stop(p->loop, &p->out);
        close(p->fd);
        p->fd = -1;
        if (p->len > 0)
                proc_flush_line(p);
}

/* Reads what the pipe holds (at most max reads); closes it at EOF or on
 * error.  Returns true when the pipe is closed. */
static bool proc_read(struct proc *p, int max) {
        char buf[4096];
        for (int i = 0; i < max && p->fd >= 0; i++) {
                ssize_t n = read(p->fd, buf, sizeof(buf));
                if (n > 0) {
                        proc_feed(p, buf, (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return false;
                proc_close_output(p);
        }
        return p->fd < 0;
}

static void proc_out_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop;
        (void)revents;
        struct proc *p = (struct proc *)((char *)w - offsetof(struct proc, out));
        proc_read(p, PROC_READS_PER_EVENT);
}

static void proc_free(struct proc *p) {
        if (p->in_fd >= 0)
                close(p->in_fd);
        for (int i = 0; i < PROC_TAIL_LINES; i++)
                free(p->tail[i]);
        free(p);
}

/* The child is gone: kill what is left of its group (no orphans), deliver
 * its last output, tell the owner, free it. */
static void proc_finish(struct proc *p, int status) {
        p->reaped = true;
        p->status = status;
        ev_child_stop(p->loop, &p->child);
        ev_timer_stop(p->loop, &p->kill_timer);
        kill(-p->pid, SIGKILL);
        proc_read(p, 1 << 20);
        proc_close_output(p);
        proc_unlink(p);
        if (p->cbs && p->cbs->on_exit)
                p->cbs->on_exit(p->data, p, status);
        proc_free(p);
}

static void proc_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        (void)loop;
        (void)revents;
        struct proc *p = (struct proc *)((char *)w - offsetof(struct proc, child));
        proc_finish(p, w->rstatus);
}

static void proc_kill_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        struct proc *p = (struct proc *)((char *)w - offsetof(struct proc, kill_timer));
        kill(-p->pid, SIGKILL);
}

/* argv behind `setpriv --pdeathsig TERM --`, in a malloc'd array. */
static int proc_wrap_argv(const char *setpriv, char *const argv[], char ***ret) {
        size_t n = 0;
        while (argv[n])
                if (++n > PROC_ARGV_MAX)
                        return -E2BIG;
        if (n == 0)
                return -EINVAL;
        char **w = calloc(n + 5, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w[0] = (char *)setpriv;
        w[1] = (char *)"--pdeathsig";
        w[2] = (char *)"TERM";
        w[3] = (char *)"--";
        memcpy(w + 4, argv, n * sizeof(*w));
        *ret = w;
        return 0;
}

/* Own process group, default dispositions and an empty mask (the daemon
 * ignores SIGPIPE; its children should not). */
static int proc_attr_init(posix_spawnattr_t *attr) {
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        int r = posix_spawnattr_init(attr);
        if (r)
                return -r;
        r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                                   POSIX_SPAWN_SETSIGMASK);
        if (!r)
                r = posix_spawnattr_setpgroup(attr, 0);
        if (!r)
                r = posix_spawnattr_setsigdefault(attr, &all);
        if (!r)
                r = posix_spawnattr_setsigmask(attr, &none);
        if (r)
                posix_spawnattr_destroy(attr);
        return -r;
}

/* stdin: in (a pipe's read end) or /dev/null when in < 0. */
static int proc_actions_init(posix_spawn_file_actions_t *fa, int in, int out, const char *cwd) {
        int r = posix_spawn_file_actions_init(fa);
        if (r)
                return -r;
        r = in >= 0 ? posix_spawn_file_actions_adddup2(fa, in, 0)
                    : posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
        if (!r)
                r = posix_spawn_file_actions_adddup2(fa, out, 1);
        if (!r)
                r = posix_spawn_file_actions_adddup2(fa, out, 2);
        if (!r && cwd)
                r = posix_spawn_file_actions_addchdir_np(fa, cwd);
        if (r)
                posix_spawn_file_actions_destroy(fa);
        return -r;
}

static int proc_start(char *const argv[], char *const envp[], const char *cwd, int in, int out,
                      pid_t *ret_pid) {
        const char *setpriv = setpriv_path();
        if (!setpriv)
                return -ENOENT;
        char **wargv = NULL;
        int r = proc_wrap_argv(setpriv, argv, &wargv);
        if (r < 0)
                return r;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_t fa;
        r = proc_attr_init(&attr);
        if (r < 0)
                goto out_argv;
        r = proc_actions_init(&fa, in, out, cwd);
        if (r < 0)
                goto out_attr;
        pid_t pid;
        r = -posix_spawn(&pid, setpriv, &fa, &attr, wargv, envp ? envp : environ);
        if (r == 0)
                *ret_pid = pid;
        posix_spawn_file_actions_destroy(&fa);
out_attr:
        posix_spawnattr_destroy(&attr);
out_argv:
        free(wargv);
        return r;
}

int proc_spawn(struct ev_loop *loop, char *const argv[], char *const envp[], const char *cwd,
               const struct proc_cbs *cbs, void *data, struct proc **ret) {
        return proc_spawn_ex(loop, argv, envp, cwd, 0, cbs, data, ret);
}

int proc_spawn_ex(struct ev_loop *loop, char *const argv[], char *const envp[], const char *cwd,
                  unsigned flags, const struct proc_cbs *cbs, void *data, struct proc **ret) {
        int fds[2], in[2] = {-1, -1};
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        struct proc *p = calloc(1, sizeof(*p));
        int r = -ENOMEM;
        if (!p)
                goto err;
        if ((flags & PROC_STDIN_PIPE) && pipe2(in, O_CLOEXEC) < 0) {
                r = -errno;
                goto err;
        }
        r = proc_start(argv, envp, cwd, in[0], fds[1], &p->pid);
        if (r < 0)
                goto err;
        close(fds[1]);
        if (in[0] >= 0)
                close(in[0]);
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        p->loop = loop;
        p->fd = fds[0];
        p->in_fd = in[1];
        p->cbs = cbs;
        p->data = data;
        ev_io_init(&p->out, proc_out_cb, p->fd, EV_READ);
        ev_io_start(loop, &p->out);
        ev_child_init(&p->child, proc_child_cb, p->pid, 0);
        ev_child_start(loop, &p->child);
        ev_init(&p->kill_timer, proc_kill_cb);
        proc_link(p);
        *ret = p;
        return 0;
err:
        free(p);
        close(fds[0]);
        close(fds[1]);
        if (in[0] >= 0) {
                close(in[0]);
                close(in[1]);
        }
        return r;
}

void proc_stop(struct proc *p, double grace) {
        if (p->stopping || p->reaped)
                return;
        p->stopping = true;
        kill(-p->pid, SIGTERM);
        ev_timer_set(&p->kill_timer, grace > 0 ? grace : 0, 0);
        ev_timer_start(p->loop, &p->kill_timer);
}

void proc_detach(struct proc *p) {
        p->cbs = NULL;
        p->data = NULL;
}

void proc_set_owner(struct proc *p, const struct proc_cbs *cbs, void *data) {
        p->cbs = cbs;
        p->data = data;
}

pid_t proc_pid(const struct proc *p) {
        return p->pid;
}

void proc_close_stdin(struct proc *p) {
        if (p->in_fd >= 0) {
                close(p->in_fd);
                p->in_fd = -1;
        }
}

char *proc_tail(const struct proc *p) {
        struct strbuf sb = STRBUF_INIT;
        bool first = true;
        for (int i = 0; i < PROC_TAIL_LINES; i++) {
                const char *l = p->tail[(p->tail_next + i) % PROC_TAIL_LINES];
                if (!l)
                        continue;
                if ((!first && sb_putc(&sb, '\n') < 0) || sb_puts(&sb, l) < 0) {
                        sb_free(&sb);
                        return NULL;
                }
                first = false;
        }
        return sb_take(&sb, NULL);
}

int proc_count(void) {
        return nprocs;
}

/* Reaps p without blocking; true when it is gone. */
static bool proc_try_reap(struct proc *p) {
        int status = 0;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
                return false;
        if (r < 0) /* libev reaped it already: its status waits in the watcher */
                status = ev_is_pending(&p->child) ? p->child.rstatus : 0;
        p->reaped = true;
        p->status = status;
        return true;
}

/* Reaps every live child until the deadline; true when none is left. */
static bool proc_reap_until(double deadline) {
        for (;;) {
                bool left = false;
                for (struct proc *p = procs; p; p = p->next)
                        if (!p->reaped && !proc_try_reap(p))
                                left = true;
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (!left || now.tv_sec + now.tv_nsec / 1e9 >= deadline)
                        return !left;
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
}

void proc_stop_all_sync(double timeout) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (struct proc *p = procs; p; p = p->next) {
                p->stopping = true;
                kill(-p->pid, SIGTERM);
        }
        if (!proc_reap_until(now.tv_sec + now.tv_nsec / 1e9 + timeout)) {
                for (struct proc *p = procs; p; p = p->next)
                        if (!p->reaped)
                                kill(-p->pid, SIGKILL);
                proc_reap_until(now.tv_sec + now.tv_nsec / 1e9 + timeout + 5);
        }
        struct proc *p = procs;
        while (p) {
                struct proc *next = p->next;
                if (p->reaped)
                        proc_finish(p, p->status);
                p = next;
        }
}

void proc_status_str(int status, char *buf, size_t size) {
        if (WIFEXITED(status))
                snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "wait status %d", status);
}
