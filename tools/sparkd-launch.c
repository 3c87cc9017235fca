/* sparkd-launch — starts the user's sparkd beside a command, then becomes
 * that command.
 *
 *   sparkd-launch [--sparkd PATH] [--timeout SECS] [--socket PATH] -- CMD [ARG]...
 *
 * The hub hook wraps the single-user server's command with this.  The daemon
 * is forked as our child with PR_SET_PDEATHSIG, then we execvp CMD in this
 * same process: the server keeps the pid its spawner knows, and the daemon,
 * a child of that pid, gets SIGTERM when the server dies however it dies.
 * Spark never keeps a server from starting: every failure here is one line
 * on stderr, and CMD runs anyway.
 *
 * The daemon gets the server's Python as SPARKD_PYTHON (unless the admin
 * set it): the interpreter that runs CMD, so that it finds the PySpark the
 * kernels will use (a venv's, say) for its warm JVMs.  Once it answers, one
 * line says whether pre-warming is on, and why not. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <jansson.h>
#include <unistd.h>

#include "uhttp.h"

extern char **environ;

#define PROG "sparkd-launch"

static const char usage_text[] =
        "Usage: sparkd-launch [OPTION]... -- COMMAND [ARG]...\n"
        "Start the user's sparkd (or use the one systemd runs), wait until it answers,\n"
        "then run COMMAND in this process.  sparkd gets SIGTERM when COMMAND exits.\n"
        "\n"
        "      --sparkd PATH     the daemon to run          [SPARKD_BIN] (default: the sparkd\n"
        "                        beside sparkd-launch, else sparkd in PATH)\n"
        "      --socket PATH     the daemon's socket        [SPARKD_SOCKET]\n"
        "                        (default $XDG_RUNTIME_DIR/sparkd/sparkd.sock, else\n"
        "                        /run/user/UID/sparkd/sparkd.sock when that is yours, else\n"
        "                        ${XDG_STATE_HOME:-~/.local/state}/sparkd/run/sparkd.sock)\n"
        "      --timeout SECS    wait at most this long for the daemon (default 10)\n"
        "                        [SPARKD_LAUNCH_TIMEOUT]\n"
        "  -h, --help            print this help and exit\n"
        "\n"
        "The daemon gets SPARKD_PYTHON (unless set): the Python that runs COMMAND (COMMAND\n"
        "itself, or the interpreter of its #! line), whose PySpark it pre-warms.\n"
        "With SPARKD_PREFER_SYSTEMD=1 and an active 'systemctl --user' sparkd.socket, that\n"
        "daemon is used instead of starting one.  See sparkd-launch(8).\n";

struct launch {
        const char *sparkd;
        char sparkd_beside[4096];
        char python[4096]; /* for the daemon's SPARKD_PYTHON; "" to leave it */
        char socket[UHTTP_MAX_PATH];
        int timeout_ms;
        char **cmd;
};

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

static const char *env(const char *name) {
        const char *v = getenv(name);
        return v && *v ? v : NULL;
}

/* Parses seconds in (0, 3600] into milliseconds; -1 when invalid. */
static int parse_timeout(const char *s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !(v > 0) || v > 3600)
                return -1;
        return (int)(v * 1000);
}

static void usage_error(const char *msg, const char *arg) {
        fprintf(stderr, PROG ": %s%s%s\nTry 'sparkd-launch --help'.\n", msg, arg ? " " : "",
                arg ? arg : "");
        exit(2);
}

static void parse_args(int argc, char **argv, struct launch *l) {
        static const struct option longopts[] = {
                {"sparkd", required_argument, NULL, 'S'},
                {"socket", required_argument, NULL, 's'},
                {"timeout", required_argument, NULL, 't'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *socket = NULL, *timeout = env("SPARKD_LAUNCH_TIMEOUT");
        l->sparkd = env("SPARKD_BIN") ? env("SPARKD_BIN")
                    : tool_beside_self("sparkd", l->sparkd_beside, sizeof l->sparkd_beside) == 0 ? l->sparkd_beside
                                                                                                 : "sparkd";
        int ch;
        /* '+': stop at the first non-option, COMMAND's options are its own. */
        while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
                switch (ch) {
                case 'S': l->sparkd = optarg; break;
                case 's': socket = optarg; break;
                case 't': timeout = optarg; break;
                case 'h': fputs(usage_text, stdout); exit(0);
                default: fputs("Try 'sparkd-launch --help'.\n", stderr); exit(2);
                }
        }
        if (optind >= argc)
                usage_error("no command to run (put it after --)", NULL);
        l->cmd = argv + optind;
        l->timeout_ms = 10000;
        if (timeout && (l->timeout_ms = parse_timeout(timeout)) < 0)
                usage_error("--timeout: not a number of seconds from 0 to 3600:", timeout);
        if (socket) {
                if (strlen(socket) >= sizeof l->socket)
                        usage_error("--socket: path too long for a Unix socket:", socket);
                strcpy(l->socket, socket);
        }
}

/* A user manager's socket lives in /run/user/UID even when the spawner did
 * not pass XDG_RUNTIME_DIR; pam_systemd would have set it to that. */
static void default_runtime_dir(void) {
        char dir[64];
        struct stat st;
        if (env("XDG_RUNTIME_DIR"))
                return;
        snprintf(dir, sizeof dir, "/run/user/%ld", (long)getuid());
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
                setenv("XDG_RUNTIME_DIR", dir, 1);
}

/* Runs argv and waits at most timeout_ms.  Returns its exit status, or -1
 * when it could not run, died of a signal or took too long (then killed). */
static int run_bounded(char *const argv[], int timeout_ms) {
        pid_t pid;
        if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
                return -1;
        long long deadline = now_ms() + timeout_ms;
        int st;
        for (;;) {
                pid_t w = waitpid(pid, &st, WNOHANG);
                if (w == pid)
                        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                if (w < 0 && errno != EINTR)
                        return -1;
                if (now_ms() >= deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &st, 0);
                        return -1;
                }
                sleep_ms(10);
        }
}

/* True when the user's systemd manager has sparkd.socket active. */
static bool systemd_socket_active(void) {
        char *argv[] = {"systemctl", "--user", "--quiet", "is-active", "sparkd.socket", NULL};
        return run_bounded(argv, 5000) == 0;
}

/* In the child: die with the parent, then become sparkd.  Never returns. */
static void exec_daemon(const struct launch *l, pid_t parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
                fprintf(stderr, PROG ": prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
                _exit(1);
        }
        /* The parent may have died before prctl: then no signal will come. */
        if (getppid() != parent)
                _exit(0);
        if (l->python[0] && setenv("SPARKD_PYTHON", l->python, 1) < 0)
                _exit(1);
        char *argv[] = {(char *)l->sparkd, NULL};
        execvp(l->sparkd, argv);
        fprintf(stderr, PROG ": cannot run %s: %s\n", l->sparkd, strerror(errno));
        _exit(127);
}

/* Forks sparkd.  Returns its pid or -errno. */
static pid_t start_daemon(const struct launch *l) {
        pid_t parent = getpid();
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                exec_daemon(l, parent);
        return pid;
}

/* Prints why sock is not trusted, and that the server starts without sparkd. */
static void print_refusal(const char *sock, const struct uhttp_refusal *refusal) {
        char msg[1024];
        uhttp_refusal_message(refusal, sock, msg, sizeof msg);
        fprintf(stderr, PROG ": %s; starting without sparkd\n", msg);
}

/* 1 when GET /api/health answers 200 now, 0 when not (yet), -EPERM when
 * the socket is not trusted (then nothing was sent and *refusal says why). */
static int healthy(const char *sock, int timeout_ms, struct uhttp_refusal *refusal) {
        struct uhttp_response r = {0};
        int e = uhttp_request(sock, "GET", "/api/health", NULL, timeout_ms, &r, refusal);
        if (e < 0)
                return e == -EPERM ? e : 0;
        uhttp_response_free(&r);
        return r.status == 200;
}

/* Waits until the daemon answers, it exits (pid > 0), the socket turns out
 * not to be trusted or the time is up.  Returns 0 when it answers; prints
 * why not otherwise. */
static int wait_ready(const struct launch *l, pid_t pid) {
        long long deadline = now_ms() + l->timeout_ms;
        for (;;) {
                long long left = deadline - now_ms();
                struct uhttp_refusal refusal;
                int h = healthy(l->socket, left > 1000 ? 1000 : left > 0 ? (int)left : 1, &refusal);
                if (h == -EPERM) {
                        print_refusal(l->socket, &refusal);
                        return -1;
                }
                if (h == 1)
                        return 0;
                int st;
                if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid) {
                        if (WIFEXITED(st))
                                fprintf(stderr, PROG ": sparkd exited with status %d; starting without it\n",
                                        WEXITSTATUS(st));
                        else
                                fprintf(stderr, PROG ": sparkd died of signal %d; starting without it\n",
                                        WTERMSIG(st));
                        return -1;
                }
                if (now_ms() >= deadline) {
                        fprintf(stderr, PROG ": sparkd did not answer on %s within %.1f s; starting anyway\n",
                                l->socket, l->timeout_ms / 1000.0);
                        return -1;
                }
                sleep_ms(20);
        }
}

/* The server's interpreter for the daemon, unless the admin set
 * SPARKD_PYTHON (then the daemon inherits that). */
static void find_python(struct launch *l) {
        if (env("SPARKD_PYTHON"))
                return;
        if (tool_python_of(l->cmd[0], getenv("PATH"), l->python, sizeof l->python) < 0)
                l->python[0] = '\0'; /* the daemon's default, python3 on PATH */
}

/* GET /api/health's "prewarm", or NULL. */
static json_t *prewarm_state(const char *sock, int timeout_ms) {
        struct uhttp_response r = {0};
        struct uhttp_refusal refusal;
        if (uhttp_request(sock, "GET", "/api/health", NULL, timeout_ms, &r, &refusal) < 0)
                return NULL;
        json_t *doc = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        uhttp_response_free(&r);
        json_t *pw = json_incref(json_object_get(doc, "prewarm"));
        json_decref(doc);
        return pw;
}

/* One line on whether the daemon pre-warms, and why not: waits (within
 * the launch timeout, at most PREWARM_WAIT_MS) while it looks for PySpark,
 * which takes one short Python start. */
#define PREWARM_WAIT_MS 5000
static void report_prewarm(const struct launch *l) {
        long long deadline = now_ms() + (l->timeout_ms < PREWARM_WAIT_MS ? l->timeout_ms : PREWARM_WAIT_MS);
        json_t *pw;
        const char *state;
        for (;;) {
                long long left = deadline - now_ms();
                pw = prewarm_state(l->socket, left > 1000 ? 1000 : left > 0 ? (int)left : 1);
                state = json_string_value(json_object_get(pw, "state"));
                if (!state || strcmp(state, "checking") != 0 || now_ms() >= deadline)
                        break;
                json_decref(pw);
                sleep_ms(20);
        }
        const char *reason = json_string_value(json_object_get(pw, "reason"));
        const char *python = json_string_value(json_object_get(pw, "python"));
        const char *home = json_string_value(json_object_get(pw, "spark_home"));
        if (!state)
                ; /* an older daemon: it does not say */
        else if (!strcmp(state, "off"))
                fprintf(stderr, PROG ": pre-warming off: %s\n", reason ? reason : "no reason given");
        else if (!strcmp(state, "checking"))
                fprintf(stderr, PROG ": pre-warming: still looking for PySpark with %s\n", python ? python : "python3");
        else
                fprintf(stderr, PROG ": pre-warming on: Spark in %s (the PySpark of %s)\n", home ? home : "?",
                        python ? python : "python3");
        json_decref(pw);
}

static bool prefer_systemd(void) {
        const char *v = env("SPARKD_PREFER_SYSTEMD");
        return v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0 && strcmp(v, "no") != 0;
}

int main(int argc, char **argv) {
        struct launch l = {0};
        parse_args(argc, argv, &l);
        bool systemd = prefer_systemd();
        if (systemd)
                default_runtime_dir();
        if (!l.socket[0] && uhttp_default_socket(l.socket, sizeof l.socket) < 0) {
                fprintf(stderr, PROG ": the default socket path is too long; starting without sparkd\n");
                goto exec;
        }
        /* The daemon, the server and its proxy route must agree on it. */
        setenv("SPARKD_SOCKET", l.socket, 1);
        /* Another user's directory or socket there: no daemon of ours could
         * listen on it, and nothing may be sent to whoever does. */
        struct uhttp_refusal refusal;
        if (uhttp_check_socket(l.socket, &refusal) == -EPERM) {
                print_refusal(l.socket, &refusal);
                goto exec;
        }
        if (systemd && systemd_socket_active()) {
                if (wait_ready(&l, 0) == 0)
                        report_prewarm(&l);
                goto exec;
        }
        find_python(&l);
        pid_t pid = start_daemon(&l);
        if (pid < 0)
                fprintf(stderr, PROG ": cannot fork sparkd: %s; starting without it\n", strerror(-pid));
        else if (wait_ready(&l, pid) == 0)
                report_prewarm(&l);
exec:
        fflush(NULL);
        execvp(l.cmd[0], l.cmd);
        fprintf(stderr, PROG ": cannot run %s: %s\n", l.cmd[0], strerror(errno));
        return 127;
}
