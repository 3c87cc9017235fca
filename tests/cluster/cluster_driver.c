/* cluster_driver.c — runs one cluster.c cluster in a libev loop for the
 * pytest suite in this directory.
 *
 *   cluster_driver --kind standalone|connect --work-dir DIR [--spark-home DIR]
 *                  [--workers N] [--cores N] [--memory M] [--conf K=V]... [--env K=V]...
 *                  [--stop-on ready|failed|exited]...
 *
 * Prints one JSON object per line on stdout: started {pid}, ready {url, ui,
 * seconds}, output {line}, failed {message, seconds}, exited {message},
 * procs {count}, stopped {procs, seconds}.  Reads commands on stdin:
 * "stop" (cluster_stop, then wait until every child is reaped), "sync"
 * (cluster_stop_all_sync), "procs"; EOF, SIGTERM and SIGINT mean "stop".
 * With --stop-on EVENT the cluster is stopped from inside that callback,
 * as a session might.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "proc.h"

static struct cluster *cluster;
static double t_start;
static ev_timer reap_timer;
static ev_io stdin_watcher;
static char cmd_buf[256];
static size_t cmd_len;
static bool stop_on_ready, stop_on_failed, stop_on_exited;

static void stop_async(struct ev_loop *loop);

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void emit(json_t *ev) {
        char *s = json_dumps(ev, JSON_COMPACT);
        if (s) {
                printf("%s\n", s);
                fflush(stdout);
        }
        free(s);
        json_decref(ev);
}

static void on_ready(void *data, const char *url) {
        (void)data;
        /* the test prints what only the daemon holds, to act as a session would */
        emit(json_pack("{s:s, s:s, s:s, s:f, s:s?, s:s?}", "event", "ready", "url", url, "ui",
                       cluster_ui_url(cluster), "seconds", now() - t_start, "ui_token",
                       cluster_ui_token(cluster), "rpc_secret", cluster_rpc_secret(cluster)));
        if (stop_on_ready)
                stop_async(EV_DEFAULT);
}

static void on_failed(void *data, const char *message) {
        (void)data;
        emit(json_pack("{s:s, s:s, s:f}", "event", "failed", "message", message, "seconds",
                       now() - t_start));
        if (stop_on_failed)
                stop_async(EV_DEFAULT);
}

static void on_exit_cb(void *data, const char *message) {
        (void)data;
        emit(json_pack("{s:s, s:s}", "event", "exited", "message", message));
        if (stop_on_exited)
                stop_async(EV_DEFAULT);
}

static void on_output(void *data, const char *line) {
        (void)data;
        emit(json_pack("{s:s, s:s%}", "event", "output", "line", line, strlen(line)));
}

static const struct cluster_cbs cbs = {on_ready, on_failed, on_exit_cb, on_output, NULL};

static void finish(struct ev_loop *loop) {
        emit(json_pack("{s:s, s:i, s:f}", "event", "stopped", "procs", proc_count(), "seconds",
                       now() - t_start));
        ev_break(loop, EVBREAK_ALL);
}

static void reap_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)w;
        (void)revents;
        if (proc_count() == 0)
                finish(loop);
}

static void stop_async(struct ev_loop *loop) {
        if (ev_is_active(&reap_timer))
                return;
        cluster = cluster_stop(cluster);
        ev_timer_init(&reap_timer, reap_cb, 0, 0.05);
        ev_timer_start(loop, &reap_timer);
}

static void command(struct ev_loop *loop, const char *cmd) {
        if (strcmp(cmd, "stop") == 0) {
                stop_async(loop);
        } else if (strcmp(cmd, "sync") == 0) {
                cluster_stop_all_sync(10);
                cluster = cluster_stop(cluster);
                finish(loop);
        } else if (strcmp(cmd, "procs") == 0) {
                emit(json_pack("{s:s, s:i}", "event", "procs", "count", proc_count()));
        }
}

static void stdin_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)revents;
        ssize_t n = read(w->fd, cmd_buf + cmd_len, sizeof(cmd_buf) - 1 - cmd_len);
        if (n < 0 && errno == EINTR)
                return;
        if (n <= 0) {
                ev_io_stop(loop, w);
                stop_async(loop);
                return;
        }
        cmd_len += (size_t)n;
        cmd_buf[cmd_len] = '\0';
        char *nl;
        while ((nl = strchr(cmd_buf, '\n'))) {
                *nl = '\0';
                command(loop, cmd_buf);
                cmd_len -= (size_t)(nl + 1 - cmd_buf);
                memmove(cmd_buf, nl + 1, cmd_len + 1);
        }
        if (cmd_len == sizeof(cmd_buf) - 1)
                cmd_len = 0;
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        (void)w;
        (void)revents;
        stop_async(loop);
}

static int set_pair(json_t *obj, const char *kv) {
        const char *eq = strchr(kv, '=');
        if (!eq)
                return -1;
        char *k = strndup(kv, (size_t)(eq - kv));
        int r = json_object_set_new(obj, k, json_string(eq + 1));
        free(k);
        return r;
}

static void usage(void) {
        fprintf(stderr, "usage: cluster_driver --kind standalone|connect --work-dir DIR "
                        "[--spark-home DIR] [--workers N] [--cores N] [--memory M] "
                        "[--conf K=V]... [--env K=V]...\n");
        exit(2);
}

int main(int argc, char **argv) {
        struct cluster_spec spec = {.kind = CLUSTER_STANDALONE, .workers = 1, .worker_cores = 1,
                                    .worker_memory = "1g", .conf = json_object(), .env = json_object()};
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!v)
                        usage();
                i++;
                if (strcmp(a, "--kind") == 0)
                        spec.kind = strcmp(v, "connect") == 0 ? CLUSTER_CONNECT : CLUSTER_STANDALONE;
                else if (strcmp(a, "--work-dir") == 0)
                        spec.work_dir = v;
                else if (strcmp(a, "--spark-home") == 0)
                        spec.spark_home = v;
                else if (strcmp(a, "--workers") == 0)
                        spec.workers = atoi(v);
                else if (strcmp(a, "--cores") == 0)
                        spec.worker_cores = atoi(v);
                else if (strcmp(a, "--stop-on") == 0 && strcmp(v, "ready") == 0)
                        stop_on_ready = true;
                else if (strcmp(a, "--stop-on") == 0 && strcmp(v, "failed") == 0)
                        stop_on_failed = true;
                else if (strcmp(a, "--stop-on") == 0 && strcmp(v, "exited") == 0)
                        stop_on_exited = true;
                else if (strcmp(a, "--memory") == 0)
                        spec.worker_memory = v;
                else if (strcmp(a, "--conf") == 0 && set_pair(spec.conf, v) == 0)
                        continue;
                else if (strcmp(a, "--env") == 0 && set_pair(spec.env, v) == 0)
                        continue;
                else
                        usage();
        }
        signal(SIGPIPE, SIG_IGN);
        struct ev_loop *loop = ev_default_loop(0);
        t_start = now();
        emit(json_pack("{s:s, s:i}", "event", "started", "pid", (int)getpid()));
        char *err = NULL;
        int r = cluster_start(loop, &spec, &cbs, NULL, &cluster, &err);
        json_decref(spec.conf);
        json_decref(spec.env);
        if (r < 0) {
                emit(json_pack("{s:s, s:s, s:i}", "event", "error", "message", err ? err : "?", "errno", -r));
                free(err);
                return 1;
        }
        ev_signal sigterm, sigint;
        ev_signal_init(&sigterm, signal_cb, SIGTERM);
        ev_signal_start(loop, &sigterm);
        ev_signal_init(&sigint, signal_cb, SIGINT);
        ev_signal_start(loop, &sigint);
        ev_io_init(&stdin_watcher, stdin_cb, 0, EV_READ);
        ev_io_start(loop, &stdin_watcher);
        ev_run(loop, 0);
        ev_loop_destroy(loop);
        return 0;
}
