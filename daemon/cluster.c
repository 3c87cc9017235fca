#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "netown.h"
#include "proc.h"
#include "props.h"
#include "sparkauth.h"
#include "slurm.h"
#include "sparkhome.h"
#include "strbuf.h"
#include "util.h"

extern char **environ;

#define CLUSTER_POLL_INTERVAL 0.2
#define CLUSTER_CONF_MAX 100
#define CLUSTER_ENV_MAX 100
#define CLUSTER_LOG_MAX (64L << 20) /* bytes kept per process log file */
#define CLUSTER_CORES_MAX 256

enum cluster_state {
        CL_DISCOVER, /* looking for SPARK_HOME */
        CL_MASTER,   /* master (or Connect server) started, waiting for its port */
        CL_WORKERS,  /* workers started, waiting for them to register */
        CL_READY,
        CL_DONE,     /* failed, exited or stopped: processes stopped, no more callbacks */
};

struct member {
        struct cluster *c;
        struct proc *p;     /* NULL once reaped or detached */
        char name[24];      /* "master", "worker-1", "connect": log prefix and file */
        char label[32];     /* "Spark master", "Spark worker 1", "Spark Connect server" */
        int log_fd;
        long log_bytes;
        bool registered;    /* worker: registered with the master */
        char *error;        /* first error-looking line */
};

struct cluster {
        struct cluster *prev, *next;
        struct ev_loop *loop;
        enum cluster_kind kind;
        enum cluster_state state;
        struct cluster_cbs cbs;
        void *data;
        char *spark_home;
        char *work_dir;
        char *worker_memory;
        int workers, worker_cores;
        json_t *conf, *env;
        int port;                  /* master RPC or Connect gRPC */
        int ui_port;               /* master web UI or Connect driver UI */
        int worker_ui[CLUSTER_WORKERS_MAX];
        char token[33];            /* connect: the server's bearer token */
        struct sparkauth auth;     /* RPC secret (standalone), UI key and its token */
        bool ui_protected;         /* Spark >= 4.0: the UIs need auth.ui_token */
        char props[PATH_MAX];      /* the --properties-file, until ready */
        char ui_url[40];
        struct member members[1 + CLUSTER_WORKERS_MAX];
        int nmembers;
        struct sparkhome_wait *discover; /* while looking for SPARK_HOME */
        char *script;              /* slurm: the batch script's text */
        int nodes;
        double time_limit;
        struct slurm_job *job;     /* slurm: the submitted job */
        ev_timer timeout;
        ev_timer poll;
        int poll_fd;               /* a connect() in progress, or -1 */
        int busy;                  /* depth of entry points on the stack */
        bool freed;                /* cluster_stop ran while busy */
};

static struct cluster *clusters;

/* ---- small helpers ---- */

/* Finds n distinct free TCP ports on 127.0.0.1 (all sockets held until
 * every port is known).  Returns 0 or -errno. */
static int cl_alloc_ports(int *ports, int n) {
        int fds[2 + CLUSTER_WORKERS_MAX];
        int r = 0, i;
        for (i = 0; i < n; i++) {
                struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                socklen_t len = sizeof(a);
                fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
                    getsockname(fds[i], (struct sockaddr *)&a, &len) < 0) {
                        r = -errno;
                        if (fds[i] >= 0)
                                close(fds[i]);
                        break;
                }
                ports[i] = ntohs(a.sin_port);
        }
        while (i-- > 0)
                close(fds[i]);
        return r;
}

static int cl_make_token(char token[33]) {
        unsigned char raw[16];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return -EIO;
        for (int i = 0; i < 16; i++)
                snprintf(token + 2 * i, 3, "%02x", raw[i]);
        return 0;
}

/* A line that reads like an error (log4j INFO/WARN/DEBUG lines do not). */
static bool cl_is_error_line(const char *l) {
        if (strstr(l, " INFO ") || strstr(l, " WARN ") || strstr(l, " DEBUG "))
                return false;
        static const char *const marks[] = {"ERROR", "Exception", "Error", "error:", "FATAL",
                                            "Caused by", "not found", "No such file"};
        for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
                if (strstr(l, marks[i]))
                        return true;
        return false;
}

/* ---- callbacks into the owner, guarded against cluster_stop inside them ---- */

static void cl_enter(struct cluster *c) {
        c->busy++;
}

static void cl_free(struct cluster *c);

/* Leaves an entry point; frees c when cluster_stop ran meanwhile.
 * Returns true when c is gone. */
static bool cl_leave(struct cluster *c) {
        if (--c->busy > 0 || !c->freed)
                return false;
        cl_free(c);
        return true;
}

/* ---- stopping ---- */

static void cl_member_release(struct member *m) {
        if (m->p) {
                proc_detach(m->p);
                proc_stop(m->p, CLUSTER_STOP_GRACE);
                m->p = NULL;
        }
        if (m->log_fd >= 0)
                close(m->log_fd);
        m->log_fd = -1;
}

/* Removes the properties file (read by every process once started). */
static void cl_drop_props(struct cluster *c) {
        if (c->props[0])
                (void)unlink(c->props);
        c->props[0] = '\0';
}

/* Stops timers and every process; no callback can follow. */
static void cl_halt(struct cluster *c) {
        c->state = CL_DONE;
        ev_timer_stop(c->loop, &c->timeout);
        ev_timer_stop(c->loop, &c->poll);
        if (c->poll_fd >= 0)
                close(c->poll_fd);
        c->poll_fd = -1;
        c->discover = sparkhome_cancel(c->discover);
        c->job = slurm_cancel(c->job);
        for (int i = 0; i < c->nmembers; i++)
                cl_member_release(&c->members[i]);
        cl_drop_props(c);
}

static void cl_free(struct cluster *c) {
        sparkauth_clear(&c->auth);
        explicit_bzero(c->token, sizeof c->token);
        for (int i = 0; i < c->nmembers; i++)
                free(c->members[i].error);
        free(c->spark_home);
        free(c->work_dir);
        free(c->worker_memory);
        free(c->script);
        json_decref(c->conf);
        json_decref(c->env);
        free(c);
}

/* Ends a cluster that never became ready: sentence + ": " + detail. */
static void cl_fail(struct cluster *c, const char *sentence, const char *detail) {
        if (c->state == CL_DONE)
                return;
        cl_halt(c);
        char *msg = detail && *detail ? strdupf("%s: %s", sentence, detail) : NULL;
        c->cbs.on_failed(c->data, msg ? msg : sentence);
        free(msg);
}

static void cl_ready(struct cluster *c, const char *url) {
        c->state = CL_READY;
        cl_drop_props(c);
        ev_timer_stop(c->loop, &c->timeout);
        c->cbs.on_ready(c->data, url);
}

/* ---- members: one Spark process each ---- */

static const char *cl_member_error(struct member *m, struct proc *p, char **owned) {
        *owned = NULL;
        if (m->error)
                return m->error;
        char *tail = proc_tail(p);
        if (!tail)
                return NULL;
        char *last = strrchr(tail, '\n');
        *owned = tail;
        return last ? last + 1 : tail;
}

static void cl_member_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct member *m = data;
        struct cluster *c = m->c;
        if (m->log_fd >= 0 && m->log_bytes < CLUSTER_LOG_MAX) {
                size_t n = strlen(line);
                if (write(m->log_fd, line, n) == (ssize_t)n && write(m->log_fd, "\n", 1) == 1)
                        m->log_bytes += (long)n + 1;
        }
        if (!m->error && cl_is_error_line(line))
                m->error = strdup(line);
        cl_enter(c);
        if (c->cbs.on_output) {
                char *out = strdupf("%s: %s", m->name, line);
                if (out)
                        c->cbs.on_output(c->data, out);
                free(out);
        }
        if (c->state == CL_WORKERS && !m->registered &&
            strstr(line, "Successfully registered with master")) {
                m->registered = true;
                int n = 0;
                for (int i = 1; i < c->nmembers; i++)
                        n += c->members[i].registered;
                if (n == c->workers) {
                        char url[64];
                        snprintf(url, sizeof(url), "spark://127.0.0.1:%d", c->port);
                        cl_ready(c, url);
                }
        }
        cl_leave(c);
}

static void cl_member_exit(void *data, struct proc *p, int status) {
        struct member *m = data;
        struct cluster *c = m->c;
        m->p = NULL;
        if (c->state == CL_DONE)
                return;
        char how[64], *owned, *sentence;
        proc_status_str(status, how, sizeof(how));
        const char *detail = cl_member_error(m, p, &owned);
        bool ready = c->state == CL_READY;
        if (ready)
                sentence = strdupf("The %s exited (%s)", m->label, how);
        else
                sentence = strdupf("The %s exited (%s) before it was ready", m->label, how);
        char *msg = sentence && detail && *detail ? strdupf("%s: %s", sentence, detail) : NULL;
        const char *text = msg ? msg : sentence ? sentence : "A Spark process exited";
        cl_enter(c);
        if (ready) {
                cl_halt(c);
                c->cbs.on_exit(c->data, text);
        } else {
                cl_fail(c, text, NULL);
        }
        free(msg);
        free(sentence);
        free(owned);
        cl_leave(c);
}

static const struct proc_cbs cl_member_cbs = {cl_member_line, cl_member_exit};

/* Environment: the daemon's, then spec->env, then the cluster's own, then
 * the member's (extra, may be NULL).  Secrets go here, never on argv. */
static int cl_env_build(struct cluster *c, const json_t *extra, char ***ret) {
        json_t *map = env_object(environ, NULL);
        char *log_dir = strdupf("%s/logs", c->work_dir);
        char *worker_dir = strdupf("%s/work", c->work_dir);
        int r = map && log_dir && worker_dir ? 0 : -ENOMEM;
        if (r == 0) {
                if (c->env)
                        json_object_update(map, c->env);
                json_object_set_new(map, "SPARK_HOME", json_string(c->spark_home));
                json_object_set_new(map, "SPARK_LOCAL_IP", json_string("127.0.0.1"));
                json_object_set_new(map, "SPARK_LOG_DIR", json_string(log_dir));
                json_object_set_new(map, "SPARK_WORKER_DIR", json_string(worker_dir));
                if (c->kind == CLUSTER_CONNECT)
                        json_object_set_new(map, "SPARK_CONNECT_AUTHENTICATE_TOKEN", json_string(c->token));
                else
                        json_object_set_new(map, "_SPARK_AUTH_SECRET", json_string(c->auth.rpc_secret));
                if (extra)
                        json_object_update(map, (json_t *)extra);
                r = env_list(map, ret); /* the caller frees it with strv_free, which wipes the secrets */
        }
        free(log_dir);
        free(worker_dir);
        json_decref(map);
        return r;
}

/* Spawns one member with argv (a NULL-terminated list of malloc'd strings,
 * freed here) and extra environment (may be NULL).  Returns 0 or -errno. */
static int cl_spawn(struct cluster *c, const char *name, const char *label, char **argv, const json_t *extra) {
        struct member *m = &c->members[c->nmembers];
        char **envp = NULL;
        char *log = strdupf("%s/%s.log", c->work_dir, name);
        int r = log ? cl_env_build(c, extra, &envp) : -ENOMEM;
        if (r < 0)
                goto out;
        *m = (struct member){.c = c, .log_fd = -1};
        snprintf(m->name, sizeof(m->name), "%s", name);
        snprintf(m->label, sizeof(m->label), "%s", label);
        m->log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        r = proc_spawn(c->loop, argv, envp, c->work_dir, &cl_member_cbs, m, &m->p);
        if (r < 0) {
                if (m->log_fd >= 0)
                        close(m->log_fd);
                goto out;
        }
        c->nmembers++;
out:
        free(log);
        strv_free(envp);
        strv_free(argv);
        return r;
}

/* The master and the workers read their settings from c->props
 * (authentication, the UI filter and its key) and the RPC secret from
 * _SPARK_AUTH_SECRET; their command lines carry only the address, ports
 * and that file's name. */
static int cl_spawn_master(struct cluster *c) {
        char cls[4200], port[16], ui[16];
        snprintf(cls, sizeof(cls), "%s/bin/spark-class", c->spark_home);
        snprintf(port, sizeof(port), "%d", c->port);
        snprintf(ui, sizeof(ui), "%d", c->ui_port);
        char **argv = strv_new(10, cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                              "--port", port, "--webui-port", ui, "--properties-file", c->props);
        return argv ? cl_spawn(c, "master", "Spark master", argv, NULL) : -ENOMEM;
}

static int cl_spawn_worker(struct cluster *c, int i) {
        char cls[4200], ui[16], master[48], name[24], dir[4200];
        snprintf(cls, sizeof(cls), "%s/bin/spark-class", c->spark_home);
        snprintf(ui, sizeof(ui), "%d", c->worker_ui[i]);
        snprintf(master, sizeof(master), "spark://127.0.0.1:%d", c->port);
        char label[32];
        snprintf(name, sizeof(name), "worker-%d", i + 1);
        snprintf(label, sizeof(label), "Spark worker %d", i + 1);
        snprintf(dir, sizeof(dir), "%s/%s", c->work_dir, name);
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        /* sizes and directories from the environment, not argv */
        json_t *extra = json_pack("{s:o, s:s, s:s}", "SPARK_WORKER_CORES", json_sprintf("%d", c->worker_cores),
                                  "SPARK_WORKER_MEMORY", c->worker_memory, "SPARK_WORKER_DIR", dir);
        char **argv = extra ? strv_new(9, cls, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                      "--webui-port", ui, "--properties-file", c->props, master)
                            : NULL;
        r = argv ? cl_spawn(c, name, label, argv, extra) : -ENOMEM;
        json_decref(extra);
        return r;
}

static bool cl_master_is_local(const char *m) {
        return m && (!strcmp(m, "local") || !strncmp(m, "local[", 6));
}

/* What every process of c reads from its properties file.  Connect: the
 * spec's conf, then what the daemon enforces: gRPC on 127.0.0.1 at the
 * allocated port without retries (a port taken meanwhile is a failure, not
 * a move), the UI port; for a local master the driver bound to loopback
 * with authenticated RPC.  Standalone: authentication (the secret itself
 * is in the environment) and no REST submission server.  Both: the UI
 * filter and its key when Spark has it (>= 4.0). */
static json_t *cl_props_conf(struct cluster *c) {
        json_t *p = c->kind == CLUSTER_CONNECT ? json_deep_copy(c->conf) : json_object();
        if (!p)
                return NULL;
        char port[16], ui[16];
        snprintf(port, sizeof port, "%d", c->port);
        snprintf(ui, sizeof ui, "%d", c->ui_port);
        if (c->kind == CLUSTER_CONNECT) {
                json_object_set_new(p, "spark.connect.grpc.binding.address", json_string("127.0.0.1"));
                json_object_set_new(p, "spark.connect.grpc.binding.port", json_string(port));
                json_object_set_new(p, "spark.connect.grpc.port.maxRetries", json_string("0"));
                json_object_set_new(p, "spark.port.maxRetries", json_string("0"));
                if (!json_object_get(c->conf, "spark.ui.port"))
                        json_object_set_new(p, "spark.ui.port", json_string(ui));
                if (cl_master_is_local(json_string_value(json_object_get(c->conf, "spark.master")))) {
                        json_object_set_new(p, "spark.driver.bindAddress", json_string("127.0.0.1"));
                        json_object_set_new(p, "spark.driver.host", json_string("127.0.0.1"));
                        json_object_set_new(p, "spark.authenticate", json_string("true"));
                }
        } else {
                json_object_set_new(p, "spark.authenticate", json_string("true"));
                json_object_set_new(p, "spark.master.rest.enabled", json_string("false"));
        }
        if (c->ui_protected) {
                const char *have = json_string_value(json_object_get(p, "spark.ui.filters"));
                json_t *filters = have && *have ? json_sprintf("%s,%s", have, SPARK_UI_JWS_FILTER)
                                                : json_string(SPARK_UI_JWS_FILTER);
                json_object_set_new(p, "spark.ui.filters", filters);
                json_object_set_new(p, SPARK_UI_JWS_KEY, json_string(c->auth.ui_key));
        }
        return p;
}

/* Writes c->props (0600, in the 0700 work dir).  Returns 0 or -errno. */
static int cl_write_props(struct cluster *c) {
        if (snprintf(c->props, sizeof c->props, "%s/spark.properties", c->work_dir) >= (int)sizeof c->props)
                return -ENAMETOOLONG;
        json_t *p = cl_props_conf(c);
        int r = p ? props_write(c->props, p) : -ENOMEM;
        json_decref(p);
        if (r < 0)
                c->props[0] = '\0';
        return r;
}

static void cl_poll_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- slurm: the job reports through slurm.c ---- */

static void cl_job_waiting(void *data, const char *what) {
        struct cluster *c = data;
        cl_enter(c);
        if (c->cbs.on_output) {
                char *line = strdupf("slurm: %s", what);
                if (line)
                        c->cbs.on_output(c->data, line);
                free(line);
        }
        if (c->cbs.on_waiting && c->state != CL_DONE)
                c->cbs.on_waiting(c->data, what);
        cl_leave(c);
}

static void cl_job_ready(void *data, const char *url) {
        struct cluster *c = data;
        cl_enter(c);
        if (c->state != CL_DONE)
                cl_ready(c, url);
        cl_leave(c);
}

static void cl_job_failed(void *data, const char *message) {
        struct cluster *c = data;
        cl_enter(c);
        cl_fail(c, message, NULL); /* cl_halt hands the job back to slurm_cancel */
        cl_leave(c);
}

static void cl_job_ended(void *data, const char *message) {
        struct cluster *c = data;
        cl_enter(c);
        if (c->state != CL_DONE) {
                cl_halt(c);
                c->cbs.on_exit(c->data, message);
        }
        cl_leave(c);
}

static const struct slurm_cbs cl_job_cbs = {cl_job_waiting, cl_job_ready, cl_job_failed, cl_job_ended};

/* Writes work_dir/NAME (mode) with text; returns 0 or -errno. */
static int cl_write_file(struct cluster *c, const char *name, const char *text, mode_t mode) {
        char *path = strdupf("%s/%s", c->work_dir, name);
        int r = path ? write_file_atomic_nosync(path, text, strlen(text), mode) : -ENOMEM;
        free(path);
        return r;
}

/* The job's files, then sbatch. */
static int cl_submit(struct cluster *c) {
        char *secret = strdupf("%s\n", c->auth.rpc_secret), *home = strdupf("%s\n", c->spark_home);
        char *script = strdupf("%s/job.sh", c->work_dir), *logs = strdupf("%s/logs", c->work_dir);
        int r = secret && home && script && logs ? cl_write_file(c, "secret", secret, 0600) : -ENOMEM;
        if (r == 0)
                r = cl_write_file(c, "spark-home", home, 0600);
        if (r == 0)
                r = cl_write_file(c, "job.sh", c->script, 0700);
        if (r == 0)
                r = mkdir_p(logs, 0700);
        if (r == 0) {
                char status[PATH_MAX];
                snprintf(status, sizeof status, "%s/status", c->work_dir);
                (void)unlink(status);
                r = slurm_submit(c->loop, c->work_dir, script, c->nodes, c->time_limit, &cl_job_cbs, c, &c->job);
        }
        if (secret)
                explicit_bzero(secret, strlen(secret));
        free(secret);
        free(home);
        free(script);
        free(logs);
        if (r == 0)
                c->state = CL_WORKERS;
        return r;
}

/* Starts the first process (master or Connect server) and polls its port. */
static int cl_launch(struct cluster *c) {
        int r;
        c->ui_protected = sparkhome_major(c->spark_home) >= 4; /* JWSFilter came with 4.0 */
        r = cl_write_props(c);
        if (r < 0)
                return r;
        if (c->kind == CLUSTER_SLURM)
                return cl_submit(c);
        if (c->kind == CLUSTER_STANDALONE) {
                r = cl_spawn_master(c);
        } else {
                char submit[4200];
                snprintf(submit, sizeof submit, "%s/bin/spark-submit", c->spark_home);
                /* Spark >= 4.0 reads spark-defaults.conf besides --properties-file only when told */
                char **argv = c->ui_protected
                                      ? strv_new(7, submit, "--properties-file", c->props, "--load-spark-defaults",
                                                "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
                                                "spark-internal")
                                      : strv_new(6, submit, "--properties-file", c->props, "--class",
                                                "org.apache.spark.sql.connect.service.SparkConnectServer",
                                                "spark-internal");
                r = argv ? cl_spawn(c, "connect", "Spark Connect server", argv, NULL) : -ENOMEM;
        }
        if (r < 0)
                return r;
        c->state = CL_MASTER;
        ev_timer_init(&c->poll, cl_poll_cb, CLUSTER_POLL_INTERVAL, CLUSTER_POLL_INTERVAL);
        ev_timer_start(c->loop, &c->poll);
        return 0;
}

/* ---- readiness: a non-blocking connect() every CLUSTER_POLL_INTERVAL ---- */

/* The standalone master is polled on its web UI port, bound after its RPC
 * port and right before it elects itself leader (workers that register
 * with a master not yet leader wait 5-15 s to retry). */
static int cl_poll_port(const struct cluster *c) {
        return c->kind == CLUSTER_STANDALONE ? c->ui_port : c->port;
}

/* Returns 1 when the port accepted the connection, 0 when not yet. */
static int cl_poll_once(struct cluster *c) {
        if (c->poll_fd >= 0) {
                struct pollfd pfd = {.fd = c->poll_fd, .events = POLLOUT};
                int err = 0;
                socklen_t len = sizeof(err);
                bool done = poll(&pfd, 1, 0) == 1 &&
                            getsockopt(c->poll_fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0;
                if (done || pfd.revents) {
                        close(c->poll_fd);
                        c->poll_fd = -1;
                        return done && err == 0;
                }
                return 0;
        }
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return 0;
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)cl_poll_port(c)),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
                close(fd);
                return 1;
        }
        if (errno == EINPROGRESS)
                c->poll_fd = fd;
        else
                close(fd);
        return 0;
}

static void cl_start_workers(struct cluster *c) {
        c->state = CL_WORKERS;
        for (int i = 0; i < c->workers; i++) {
                int r = cl_spawn_worker(c, i);
                if (r < 0) {
                        cl_fail(c, "Could not start a Spark worker", strerror(-r));
                        return;
                }
        }
}

/* After the polled port answered: 0 when the RPC (or gRPC) port and the
 * UI port are held by our uid, 1 when one has no listener yet, or -1 when
 * the cluster failed (another user holds one: nothing may be sent there). */
static int cl_ports_ours(struct cluster *c) {
        const int ports[] = {c->port, c->ui_port};
        for (size_t i = 0; i < sizeof ports / sizeof *ports; i++) {
                uid_t other = 0;
                int r = netown_check(ports[i], geteuid(), &other);
                if (r == -ENOENT)
                        return 1;
                if (r == 0)
                        continue;
                char *msg = r == -EPERM ? strdupf("port %d on 127.0.0.1 is held by another user (uid %ld), not "
                                                     "by this Spark; nothing was sent to it",
                                                     ports[i], (long)other)
                                        : strdupf("cannot tell who holds port %d on 127.0.0.1: %s", ports[i],
                                                     strerror(-r));
                cl_fail(c, "Spark could not be started safely", msg);
                free(msg);
                return -1;
        }
        return 0;
}

static void cl_poll_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        struct cluster *c = (struct cluster *)((char *)w - offsetof(struct cluster, poll));
        if (!cl_poll_once(c))
                return;
        cl_enter(c);
        int own = cl_ports_ours(c);
        if (own != 0) { /* not yet (poll again), or failed */
                cl_leave(c);
                return;
        }
        ev_timer_stop(c->loop, &c->poll);
        if (c->kind == CLUSTER_STANDALONE) {
                cl_start_workers(c);
        } else {
                /* the address the server bound, never "localhost" (which may be
                 * another user's [::1] listener): the kernel's client sends the
                 * token in clear text to exactly this loopback address */
                char url[96];
                snprintf(url, sizeof(url), "sc://127.0.0.1:%d/;token=%s", c->port, c->token);
                cl_ready(c, url);
                explicit_bzero(url, sizeof url);
        }
        cl_leave(c);
}

static void cl_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        struct cluster *c = (struct cluster *)((char *)w - offsetof(struct cluster, timeout));
        const char *detail = NULL;
        for (int i = 0; i < c->nmembers && !detail; i++)
                detail = c->members[i].error;
        char *sentence = strdupf("Spark did not become ready within %g s", CLUSTER_READY_TIMEOUT);
        cl_enter(c);
        cl_fail(c, sentence ? sentence : "Spark did not become ready in time", detail);
        free(sentence);
        cl_leave(c);
}

/* ---- SPARK_HOME (sparkhome.h) ---- */

static void cl_found(void *data, const char *home, const char *detail) {
        struct cluster *c = data;
        c->discover = NULL;
        cl_enter(c);
        if (home) {
                c->spark_home = strdup(home);
                int r = c->spark_home ? cl_launch(c) : -ENOMEM;
                if (r < 0)
                        cl_fail(c, "Could not start Spark", strerror(-r));
        } else {
                char *sentence = strdupf("No usable pyspark found by %s (set SPARK_HOME or SPARKD_PYTHON)",
                                            sparkhome_python());
                cl_fail(c, sentence ? sentence : "No usable pyspark found", detail);
                free(sentence);
        }
        cl_leave(c);
}

/* ---- the public API ---- */

static int cl_check_env(const json_t *env, char **err) {
        if (!env)
                return 0;
        if (!json_is_object(env) || json_object_size(env) > CLUSTER_ENV_MAX) {
                *err = strdupf("env must be an object of at most %d strings", CLUSTER_ENV_MAX);
                return -EINVAL;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)env, k, v) {
                bool ok = json_is_string(v) && (k[0] == '_' || (k[0] >= 'A' && k[0] <= 'Z') ||
                                                (k[0] >= 'a' && k[0] <= 'z'));
                for (const char *s = k; ok && *s; s++)
                        ok = *s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                             (*s >= '0' && *s <= '9');
                if (!ok) {
                        *err = strdupf("bad environment variable '%.64s' (a name of "
                                          "[A-Za-z0-9_] with a string value)", k);
                        return -EINVAL;
                }
        }
        return 0;
}

static int cl_check_conf(const json_t *conf, char **err) {
        if (!conf)
                return 0;
        if (!json_is_object(conf) || json_object_size(conf) > CLUSTER_CONF_MAX) {
                *err = strdupf("conf must be an object of at most %d values", CLUSTER_CONF_MAX);
                return -EINVAL;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)conf, k, v) {
                bool ok = *k && (json_is_string(v) || json_is_number(v) || json_is_boolean(v) ||
                                 json_is_null(v));
                for (const char *s = k; ok && *s; s++)
                        ok = *s > ' ' && *s != '=' && *s != 0x7f;
                if (!ok) {
                        *err = strdupf("bad Spark conf entry '%.64s' (a name without "
                                          "spaces or '=' with a scalar value)", k);
                        return -EINVAL;
                }
        }
        return 0;
}

/* "1g", "512m", "2048": a memory size Spark reads (SPARK_WORKER_MEMORY). */
static bool cl_memory_ok(const char *m) {
        unsigned long long bytes;
        return memsize_parse(m, &bytes) == 0 && bytes >= (1ull << 20);
}

static int cl_check_spec(const struct cluster_spec *s, char **err) {
        if (s->kind == CLUSTER_SLURM && (!s->script || !*s->script))
                *err = strdupf("a Slurm cluster needs its batch script");
        else if (s->kind == CLUSTER_SLURM && (s->nodes < 1 || s->nodes > 4096))
                *err = strdupf("nodes must be between 1 and 4096");
        else if (s->kind == CLUSTER_SLURM && s->work_dir && s->work_dir[0] == '/')
                return cl_check_env(s->env, err);
        else if (s->kind != CLUSTER_STANDALONE && s->kind != CLUSTER_CONNECT)
                *err = strdupf("unknown cluster kind %d", (int)s->kind);
        else if (!s->work_dir || s->work_dir[0] != '/' || strlen(s->work_dir) > 3000)
                *err = strdupf("work_dir must be an absolute path");
        else if (s->spark_home && !sparkhome_ok(s->spark_home))
                *err = strdupf("'%.200s' has no bin/spark-submit and bin/spark-class: not a Spark home",
                                  s->spark_home);
        else if (s->kind == CLUSTER_STANDALONE && (s->workers < 1 || s->workers > CLUSTER_WORKERS_MAX))
                *err = strdupf("workers must be between 1 and %d", CLUSTER_WORKERS_MAX);
        else if (s->kind == CLUSTER_STANDALONE && (s->worker_cores < 1 || s->worker_cores > CLUSTER_CORES_MAX))
                *err = strdupf("worker_cores must be between 1 and %d", CLUSTER_CORES_MAX);
        else if (s->kind == CLUSTER_STANDALONE && !cl_memory_ok(s->worker_memory))
                *err = strdupf("worker_memory must look like 512m or 2g");
        else if (s->kind == CLUSTER_CONNECT)
                return cl_check_conf(s->conf, err) < 0 ? -EINVAL : cl_check_env(s->env, err);
        else
                return cl_check_env(s->env, err);
        return -EINVAL;
}

static int cl_copy_spec(struct cluster *c, const struct cluster_spec *s) {
        c->kind = s->kind;
        c->workers = s->kind == CLUSTER_STANDALONE ? s->workers : 0;
        c->worker_cores = s->worker_cores;
        c->nodes = s->nodes;
        c->time_limit = s->time_limit;
        if (s->kind == CLUSTER_SLURM && !(c->script = strdup(s->script)))
                return -ENOMEM;
        c->work_dir = strdup(s->work_dir);
        c->worker_memory = s->worker_memory ? strdup(s->worker_memory) : NULL;
        c->conf = s->conf ? json_deep_copy(s->conf) : json_object();
        c->env = s->env ? json_deep_copy(s->env) : NULL;
        if (s->spark_home)
                c->spark_home = strdup(s->spark_home);
        if (!c->work_dir || !c->conf || (s->env && !c->env) || (s->spark_home && !c->spark_home) ||
            (s->worker_memory && !c->worker_memory))
                return -ENOMEM;
        return 0;
}

/* The Connect server's spark.ui.port when conf sets one, else 0. */
static int cl_conf_ui_port(const json_t *conf) {
        const json_t *v = json_object_get(conf, "spark.ui.port");
        long port = json_is_integer(v)  ? (long)json_integer_value(v)
                    : json_is_string(v) ? strtol(json_string_value(v), NULL, 10)
                                        : 0;
        return port > 0 && port < 65536 ? (int)port : 0;
}

/* Ports: [0] master RPC / gRPC, [1] master UI / driver UI, [2..] worker UIs. */
static int cl_prepare(struct cluster *c) {
        int ports[2 + CLUSTER_WORKERS_MAX] = {0};
        int r = mkdir_p(c->work_dir, 0700);
        if (r < 0)
                return r;
        r = cl_alloc_ports(ports, 2 + c->workers);
        if (r < 0)
                return r;
        c->port = ports[0];
        c->ui_port = cl_conf_ui_port(c->conf);
        if (c->ui_port == 0)
                c->ui_port = ports[1];
        for (int i = 0; i < c->workers; i++)
                c->worker_ui[i] = ports[2 + i];
        snprintf(c->ui_url, sizeof(c->ui_url), "http://127.0.0.1:%d", c->ui_port);
        r = sparkauth_new(&c->auth);
        return r < 0 ? r : cl_make_token(c->token);
}

/* Launches now when SPARK_HOME is known, else starts the discovery. */
static int cl_begin(struct cluster *c) {
        if (!c->spark_home) {
                const char *known = sparkhome_known(NULL);
                if (known && !(c->spark_home = strdup(known)))
                        return -ENOMEM;
        }
        if (c->spark_home)
                return cl_launch(c);
        c->state = CL_DISCOVER;
        return sparkhome_find(c->loop, cl_found, c, &c->discover);
}

/* True for the work directory of a cluster that still runs. */
static int cl_dir_live(const char *path, void *data) {
        (void)data;
        for (struct cluster *c = clusters; c; c = c->next)
                if (!strcmp(c->work_dir, path))
                        return 1;
        return 0;
}

int cluster_prune_dirs(const char *parent, size_t keep) {
        return prune_dirs(parent, keep, cl_dir_live, NULL);
}

int cluster_start(struct ev_loop *loop, const struct cluster_spec *spec, const struct cluster_cbs *cbs,
                  void *data, struct cluster **ret, char **ret_err) {
        char *err = NULL;
        int r = cl_check_spec(spec, &err);
        if (r < 0)
                goto fail;
        struct cluster *c = calloc(1, sizeof(*c));
        if (!c) {
                r = -ENOMEM;
                goto fail;
        }
        c->loop = loop;
        c->cbs = *cbs;
        c->data = data;
        c->poll_fd = -1;
        ev_init(&c->poll, cl_poll_cb);
        ev_timer_init(&c->timeout, cl_timeout_cb, CLUSTER_READY_TIMEOUT, 0);
        r = cl_copy_spec(c, spec);
        if (r >= 0)
                r = cl_prepare(c);
        if (r >= 0)
                r = cl_begin(c);
        if (r < 0) {
                err = strdupf("Could not start Spark in %s: %s", spec->work_dir, strerror(-r));
                cl_halt(c);
                cl_free(c);
                goto fail;
        }
        if (c->kind != CLUSTER_SLURM) /* a job may wait in the queue for long */
                ev_timer_start(loop, &c->timeout);
        c->next = clusters;
        if (clusters)
                clusters->prev = c;
        clusters = c;
        *ret = c;
        return 0;
fail:
        if (ret_err)
                *ret_err = err;
        else
                free(err);
        return r;
}

struct cluster *cluster_stop(struct cluster *c) {
        if (!c || c->freed)
                return NULL;
        cl_halt(c);
        if (c->prev)
                c->prev->next = c->next;
        else
                clusters = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->freed = true;
        if (c->busy == 0)
                cl_free(c);
        return NULL;
}

void cluster_set_owner(struct cluster *c, const struct cluster_cbs *cbs, void *data) {
        c->cbs = *cbs;
        c->data = data;
}

int cluster_ui_port(const struct cluster *c) {
        return c ? c->ui_port : 0;
}

const char *cluster_ui_token(const struct cluster *c) {
        return c && c->ui_protected && c->auth.ui_token[0] ? c->auth.ui_token : NULL;
}

const char *cluster_rpc_secret(const struct cluster *c) {
        return c && c->kind != CLUSTER_CONNECT ? c->auth.rpc_secret : NULL;
}

const char *cluster_job_id(const struct cluster *c) {
        return c && c->job ? slurm_job_id(c->job) : "";
}

double cluster_ends_at(const struct cluster *c) {
        return c && c->job ? slurm_ends_at(c->job) : 0;
}

int cluster_pid(const struct cluster *c) {
        return c && c->nmembers > 0 && c->members[0].p ? (int)proc_pid(c->members[0].p) : 0;
}

const char *cluster_ui_url(const struct cluster *c) {
        return c ? c->ui_url : NULL;
}

void cluster_stop_all_sync(double timeout) {
        slurm_cancel_all_sync(timeout / 2);
        for (struct cluster *c = clusters; c; c = c->next)
                cl_halt(c);
        proc_stop_all_sync(timeout);
}
