#include "prewarm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "fsutil.h"
#include "log.h"
#include "progress.h"
#include "props.h"
#include "sparkauth.h"
#include "sparkd_py.h"
#include "sparkhome.h"
#include "util.h"

extern char **environ;

#define PREWARM_POLL 0.05       /* seconds between looks for the connection file */
#define PREWARM_STOP_GRACE 10.0 /* seconds between SIGTERM and SIGKILL */
#define MIB (1ull << 20)

enum wstate { W_COLD, W_STARTING, W_WARMING, W_READY };

/* One configuration that wants a warm JVM, and that JVM when there is one. */
struct warm {
        struct prewarm *pw;
        struct warm *next;
        char *config;
        bool connect;           /* a Spark Connect server (launch: connect), not a driver JVM */
        char *key;              /* {master, app_name, conf, env} as sorted JSON */
        json_t *spec;           /* the same as an object */
        unsigned long long mem; /* spark.driver.memory in bytes */
        enum wstate state;
        bool asleep;            /* stopped for idleness: waits for a touch */
        bool mem_logged;        /* "short of memory" said once */
        int failures;           /* in a row, without getting ready */
        double launched_at;     /* ev_now of the last launch, 0: never */
        struct proc *p;
        struct cluster *cl;     /* connect: the server, while starting or ready */
        char *url;              /* connect: sc://127.0.0.1:P/;token=T once ready */
        struct proc *warmer;    /* the warm-up, while W_WARMING */
        /* a local master's SparkContext created ahead by the warm-up, and
         * the UI secrets it was created with (the session's, once taken) */
        bool context;
        struct sparkauth ctx_auth;
        char practice[64];      /* the warm-up's "N practice jobs in S s", or "" */
        bool practising;        /* between its "practice begins" and its end */
        pid_t pid;
        char conn_path[PATH_MAX];
        char props_path[PATH_MAX]; /* its --properties-file, until it started */
        int port;
        char secret[PREWARM_SECRET_MAX + 1];
        /* a start waits for this JVM (prewarm_wait): it gets it once ready */
        void (*wait_cb)(void *data, struct proc *p, json_t *handover);
        void *wait_data;
        const struct proc_cbs *wait_cbs;
        ev_timer poll;          /* the connection file, while starting */
        ev_timer idle;          /* while ready */
        ev_timer retry;         /* after a failure */
};

/* d->prewarm */
struct prewarm {
        struct sparkd *d;
        struct warm *warms;
        const char *spark_home;         /* sparkhome.h's, once known */
        struct sparkhome_wait *discover;
        bool discover_failed;
        char problem[512];              /* why nothing can be pre-warmed, for GET /api/health */
        unsigned long conn_seq;
        bool shut;                      /* prewarm_stop_all ran: the daemon is stopping */
        bool warmup_off;                /* a warm-up failed: JVMs are kept ready without it */
        bool connect_warmup_off;        /* the same for Connect servers (the client may lack grpc) */
        ev_timer start_delay;           /* after the daemon's start, until PREWARM_START_DELAY */
        bool start_delay_done;
        bool synced;                    /* warm_sync ran ... */
        unsigned long synced_gen;       /* ... for this configuration generation */
};

static void warm_fill(struct prewarm *pw);
static void warm_fill_slots(struct prewarm *pw);
static void warm_release_cold_waiters(struct prewarm *pw);

/* ---- pure helpers ---- */

bool prewarm_jvm_level_key(const char *key) {
        static const char *const prefixes[] = {"spark.driver.", "spark.jars", "spark.files",
                                               "spark.submit.", "spark.master"};
        for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
                if (!strncmp(key, prefixes[i], strlen(prefixes[i])))
                        return true;
        return false;
}

static unsigned long be32(const unsigned char *b) {
        return (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 | (unsigned long)b[2] << 8 | b[3];
}

int prewarm_parse_conn(const unsigned char *buf, size_t len, int *ret_port,
                       char ret_secret[PREWARM_SECRET_MAX + 1]) {
        if (len < 8)
                return -EAGAIN;
        unsigned long port = be32(buf), n = be32(buf + 4);
        if (port == 0 || port > 65535 || n == 0 || n > PREWARM_SECRET_MAX)
                return -EINVAL;
        if (len < 8 + n)
                return -EAGAIN;
        if (len > 8 + n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (buf[8 + i] <= ' ' || buf[8 + i] > '~')
                        return -EINVAL;
        memcpy(ret_secret, buf + 8, n);
        ret_secret[n] = '\0';
        *ret_port = (int)port;
        return 0;
}

bool prewarm_mem_ok(unsigned long long avail, unsigned long long mem) {
        return mem <= (ULLONG_MAX - 512 * MIB) / 2 && avail >= 2 * mem + 512 * MIB;
}

/* MemAvailable in bytes; false when /proc/meminfo cannot tell. */
static bool mem_available(unsigned long long *ret) {
        FILE *f = fopen("/proc/meminfo", "re");
        if (!f)
                return false;
        char line[256];
        bool found = false;
        while (!found && fgets(line, sizeof line, f)) {
                unsigned long long kb;
                if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                        *ret = kb * 1024;
                        found = true;
                }
        }
        fclose(f);
        return found;
}

/* ---- which configurations, with what ---- */

static bool master_is_local(const char *m) {
        return m && (!strcmp(m, "local") || !strncmp(m, "local[", 6));
}

/* launch: {type: connect} */
static bool is_connect(const struct cfg_entry *e) {
        const char *type = json_string_value(json_object_get(json_object_get(e->doc, "launch"), "type"));
        return type && !strcmp(type, "connect");
}

static bool wanted(const struct cfg_entry *e) {
        if (e->error || !e->doc || !json_is_true(json_object_get(e->doc, "prewarm")))
                return false;
        if (json_is_object(json_object_get(e->doc, "launch")))
                return is_connect(e);
        return master_is_local(json_string_value(json_object_get(e->doc, "master")));
}

enum prewarm_preload prewarm_preload_of(struct sparkd *d, const struct cfg_entry *e) {
        if (!e || d->opts.prewarm_max == 0 || !wanted(e))
                return PREWARM_PRELOAD_NONE;
        return is_connect(e) ? PREWARM_PRELOAD_CONNECT : PREWARM_PRELOAD_DRIVER;
}

/* {master, app_name, conf, env, connect} of e (a new object). */
static json_t *spec_of(const struct cfg_entry *e) {
        json_t *conf = json_object_get(e->doc, "conf"), *env = json_object_get(e->doc, "env");
        return json_pack("{s:O, s:O?, s:o, s:o, s:b}", "master", json_object_get(e->doc, "master"), "app_name",
                         json_object_get(e->doc, "app_name"), "conf",
                         json_is_object(conf) ? json_incref(conf) : json_object(), "env",
                         json_is_object(env) ? json_incref(env) : json_object(), "connect", is_connect(e));
}

static char *key_of(json_t *spec) {
        return spec ? json_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
}

/* What the warm JVM reads from its --properties-file (never from its
 * command line): the configuration's master, app name and conf, the driver
 * bound to loopback with authenticated RPC (every pre-warmed master is
 * local).  The kernel's SparkContext adds the session's UI settings. */
static json_t *warm_props(json_t *spec) {
        json_t *p = json_deep_copy(json_object_get(spec, "conf"));
        if (!p)
                return NULL;
        const char *app = json_string_value(json_object_get(spec, "app_name"));
        json_object_set(p, "spark.master", json_object_get(spec, "master"));
        json_object_set_new(p, "spark.app.name", json_string(app ? app : "sparkd"));
        json_object_set_new(p, "spark.driver.bindAddress", json_string("127.0.0.1"));
        json_object_set_new(p, "spark.driver.host", json_string("127.0.0.1"));
        json_object_set_new(p, "spark.authenticate", json_string("true"));
        return p;
}

/* spark-submit --properties-file PATH [--load-spark-defaults] pyspark-shell
 * (malloc'd strings; Spark >= 4.0 reads spark-defaults.conf too only when
 * told, as it does without a properties file). */
static int warm_argv(struct prewarm *pw, const char *props_path, char ***ret) {
        char submit[PATH_MAX];
        if (snprintf(submit, sizeof submit, "%s/bin/spark-submit", pw->spark_home) >= (int)sizeof submit)
                return -ENAMETOOLONG;
        *ret = sparkhome_major(pw->spark_home) >= 4
                       ? strv_new(5, submit, "--properties-file", props_path, "--load-spark-defaults", "pyspark-shell")
                       : strv_new(4, submit, "--properties-file", props_path, "pyspark-shell");
        return *ret ? 0 : -ENOMEM;
}

static int env_dropped(const char *name, size_t len) {
        static const char *const dropped[] = {"PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET",
                                              "_PYSPARK_DRIVER_CONN_INFO_PATH", "SPARK_CONNECT_MODE",
                                              "PYSPARK_SUBMIT_ARGS", "SPARK_HOME"};
        for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++)
                if (strlen(dropped[i]) == len && !strncmp(name, dropped[i], len))
                        return true;
        return false;
}

/* The daemon's environment with env applied, the gateway's own variables
 * set (as PySpark sets them; conn_path may be NULL) and SPARK_HOME fixed. */
static int warm_envp(struct prewarm *pw, json_t *env, const char *conn_path, char ***ret) {
        json_t *map = env_object(environ, env_dropped);
        if (!map)
                return -ENOMEM;
        json_object_update(map, env);
        json_object_set_new(map, "SPARK_HOME", json_string(pw->spark_home));
        json_object_set_new(map, "SPARK_LOCAL_IP", json_string("127.0.0.1")); /* the UI's address */
        json_object_set_new(map, "SPARK_CONNECT_MODE", json_string("0"));
        if (conn_path)
                json_object_set_new(map, "_PYSPARK_DRIVER_CONN_INFO_PATH", json_string(conn_path));
        int r = env_list(map, ret);
        json_decref(map);
        return r;
}

/* "true" or "false": what PYSPARK_PIN_THREAD makes of the gateway. */
static const char *pin_thread(const json_t *env) {
        const char *v = json_string_value(json_object_get(env, "PYSPARK_PIN_THREAD"));
        if (!v)
                v = getenv("PYSPARK_PIN_THREAD");
        return !v || !strcasecmp(v, "true") ? "true" : "false";
}

/* ---- one warm JVM ---- */

static struct warm *warm_find(struct prewarm *pw, const char *config) {
        for (struct warm *w = pw->warms; w; w = w->next)
                if (!strcmp(w->config, config))
                        return w;
        return NULL;
}

static int warm_count(struct prewarm *pw) {
        int n = 0;
        for (struct warm *w = pw->warms; w; w = w->next)
                n += w->state != W_COLD;
        return n;
}

/* Removes the JVM's properties file (read once at its start). */
static void warm_drop_props(struct warm *w) {
        if (w->props_path[0])
                (void)unlink(w->props_path);
        w->props_path[0] = '\0';
}

/* A start waiting for this JVM will not get it: it goes on without
 * (cb with NULL), once. */
static void warm_release_waiter(struct warm *w) {
        void (*cb)(void *, struct proc *, json_t *) = w->wait_cb;
        void *data = w->wait_data;
        w->wait_cb = NULL;
        w->wait_data = NULL;
        if (cb)
                cb(data, NULL, NULL);
}

/* Stops the JVM (if any); the slot becomes cold. */
static void warm_stop(struct warm *w) {
        struct prewarm *pw = w->pw;
        ev_timer_stop(pw->d->loop, &w->poll);
        ev_timer_stop(pw->d->loop, &w->idle);
        if (w->warmer) {
                proc_detach(w->warmer);
                proc_stop(w->warmer, 1);
                w->warmer = NULL;
        }
        if (w->p) {
                proc_detach(w->p);
                proc_stop(w->p, PREWARM_STOP_GRACE);
                w->p = NULL;
        }
        w->cl = cluster_stop(w->cl);
        free(w->url);
        w->url = NULL;
        if (w->conn_path[0])
                unlink(w->conn_path);
        w->conn_path[0] = '\0';
        warm_drop_props(w);
        w->state = W_COLD;
        w->pid = 0;
        explicit_bzero(w->secret, sizeof w->secret);
        w->context = false;
        sparkauth_clear(&w->ctx_auth);
}

static struct warm *warm_free(struct warm *w) {
        struct prewarm *pw = w->pw;
        warm_stop(w);
        warm_release_waiter(w);
        ev_timer_stop(pw->d->loop, &w->retry);
        free(w->config);
        free(w->key);
        json_decref(w->spec);
        free(w);
        return NULL;
}

/* A failure: logged; the next launch waits PREWARM_RETRY from the last. */
static void warm_failed(struct warm *w, const char *what, const char *detail) {
        struct prewarm *pw = w->pw;
        log_warnx("prewarm: %s: %s%s%s", w->config, what, detail && *detail ? ": " : "", detail ? detail : "");
        warm_stop(w);
        warm_release_waiter(w);
        if (++w->failures >= PREWARM_MAX_FAILURES) {
                log_warnx("prewarm: %s: %d failures in a row; trying again on the next user activity",
                          w->config, w->failures);
                w->asleep = true;
        }
        double wait = w->launched_at + PREWARM_RETRY - ev_now(pw->d->loop);
        ev_timer_stop(pw->d->loop, &w->retry);
        ev_timer_set(&w->retry, wait > 0 ? wait : 0, 0);
        if (!w->asleep)
                ev_timer_start(pw->d->loop, &w->retry);
}

/* The last non-empty output line of p (malloc'd), or NULL. */
static char *last_line(const struct proc *p) {
        char *tail = proc_tail(p);
        if (!tail)
                return NULL;
        char *nl;
        while ((nl = strrchr(tail, '\n')) && !nl[1])
                *nl = '\0';
        char *out = strdup(nl ? nl + 1 : tail);
        free(tail);
        return out;
}

static void warm_on_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct warm *w = data;
        log_debug("prewarm %s: %s", w->config, line);
}

static void warm_on_exit(void *data, struct proc *p, int status) {
        struct warm *w = data;
        char how[64];
        proc_status_str(status, how, sizeof how);
        char *line = last_line(p);
        char what[128];
        snprintf(what, sizeof what, "the warm driver JVM (pid %d) exited (%s)", (int)w->pid, how);
        w->p = NULL;
        warm_failed(w, what, line);
        free(line);
        warm_fill(w->pw);
}

static const struct proc_cbs warm_cbs = {.on_line = warm_on_line, .on_exit = warm_on_exit};

/* Reads the connection file: 1 ready, 0 not yet, < 0 unusable. */
static int warm_read_conn(struct warm *w) {
        int fd = open(w->conn_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        unsigned char buf[8 + PREWARM_SECRET_MAX + 1];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        if (n < 0)
                return -errno;
        int r = prewarm_parse_conn(buf, (size_t)n, &w->port, w->secret);
        explicit_bzero(buf, sizeof buf);
        if (r == -EAGAIN)
                return 0;
        unlink(w->conn_path);
        w->conn_path[0] = '\0';
        warm_drop_props(w); /* the JVM has read it */
        return r < 0 ? r : 1;
}

static void warm_give_to_waiter(struct warm *w);

static void warm_ready(struct warm *w) {
        struct prewarm *pw = w->pw;
        w->state = W_READY;
        w->failures = 0;
        ev_timer_stop(pw->d->loop, &w->poll);
        ev_timer_set(&w->idle, pw->d->opts.prewarm_idle, 0);
        ev_timer_start(pw->d->loop, &w->idle);
        log_info("prewarm: %s: %s ready in %.1f s (pid %d)%s%s%s", w->config,
                 w->connect ? "Spark Connect server" : "driver JVM", ev_now(pw->d->loop) - w->launched_at,
                 (int)w->pid, w->warmer ? " and warmed up" : "", w->warmer && w->practice[0] ? ": " : "",
                 w->warmer ? w->practice : "");
        if (w->wait_cb)
                warm_give_to_waiter(w);
}

/* ---- a warm Spark Connect server (cluster.h) ---- */

static int warm_start_warmup(struct warm *w);

static void warm_cl_ready(void *data, const char *url) {
        struct warm *w = data;
        struct prewarm *pw = w->pw;
        free(w->url);
        w->url = strdup(url);
        if (!w->url) {
                warm_failed(w, "out of memory", NULL);
                return;
        }
        w->pid = cluster_pid(w->cl);
        int r = pw->connect_warmup_off ? 0 : warm_start_warmup(w);
        if (pw->connect_warmup_off || r < 0) {
                if (r < 0)
                        log_errno(r, "prewarm: %s: cannot start the warm-up", w->config);
                warm_ready(w);
                return;
        }
        w->state = W_WARMING; /* the poll timer bounds the warm-up */
        ev_timer_set(&w->poll, PREWARM_WARMUP_TIMEOUT, 0);
        ev_timer_start(pw->d->loop, &w->poll);
}

static void warm_cl_failed(void *data, const char *message) {
        struct warm *w = data;
        warm_failed(w, "the Spark Connect server did not start", message);
        warm_fill(w->pw);
}

static void warm_cl_exit(void *data, const char *message) {
        struct warm *w = data;
        warm_failed(w, "the warm Spark Connect server exited", message);
        warm_fill(w->pw);
}

static void warm_cl_output(void *data, const char *line) {
        log_debug("prewarm %s: %s", ((struct warm *)data)->config, line);
}

static const struct cluster_cbs warm_cl_cbs = {
        .on_ready = warm_cl_ready,
        .on_failed = warm_cl_failed,
        .on_exit = warm_cl_exit,
        .on_output = warm_cl_output,
};

/* Starts w's Connect server: the configuration's conf and master, as a
 * cold session's launch would, minus the session's UI path (the UI proxy
 * tells Spark its public path per request). */
static int warm_launch_connect(struct warm *w, const char *dir) {
        struct prewarm *pw = w->pw;
        char work[PATH_MAX];
        if (snprintf(work, sizeof work, "%s/connect-%s-%ld-%lu", dir, w->config, (long)getpid(), ++pw->conn_seq) >=
            (int)sizeof work)
                return -ENAMETOOLONG;
        json_t *conf = json_deep_copy(json_object_get(w->spec, "conf"));
        if (!conf || json_object_set(conf, "spark.master", json_object_get(w->spec, "master")) < 0) {
                json_decref(conf);
                return -ENOMEM;
        }
        struct cluster_spec spec = {
                .kind = CLUSTER_CONNECT,
                .spark_home = pw->spark_home,
                .work_dir = work,
                .conf = conf,
                .env = json_object_get(w->spec, "env"),
        };
        char *err = NULL;
        int r = cluster_start(pw->d->loop, &spec, &warm_cl_cbs, w, &w->cl, &err);
        json_decref(conf);
        if (r == 0 && (r = cluster_prune_dirs(dir, CLUSTER_KEEP_DIRS)) < 0) {
                log_errno(r, "prewarm: cannot remove old server directories in %s", dir);
                r = 0;
        }
        if (r < 0) {
                log_warnx("prewarm: %s: %s", w->config, err ? err : strerror(-r));
                free(err);
                return r;
        }
        w->pid = cluster_pid(w->cl);
        w->state = W_STARTING;
        w->launched_at = ev_now(pw->d->loop);
        log_info("prewarm: %s: starting a Spark Connect server (pid %d)", w->config, (int)w->pid);
        return 0;
}

#define CONTEXT_LINE "sparkd-context: "
#define PRACTICE_LINE "sparkd-practice: "

static void warmer_on_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct warm *w = data;
        if (!strncmp(line, CONTEXT_LINE, strlen(CONTEXT_LINE)) && w->ctx_auth.ui_key[0]) {
                w->context = true;
                log_info("prewarm: %s: the session's SparkContext is created ahead (UI %s)", w->config,
                         line + strlen(CONTEXT_LINE));
                return;
        }
        if (!strncmp(line, PRACTICE_LINE, strlen(PRACTICE_LINE))) {
                snprintf(w->practice, sizeof w->practice, "%s", line + strlen(PRACTICE_LINE));
                w->practising = false;
                return;
        }
        if (!strcmp(line, "practice begins")) {
                w->practising = true;
                if (progress_any_busy(w->pw->d))
                        prewarm_user_busy(w->pw->d); /* the user is already at work: no practice */
        }
        log_debug("prewarm %s: warm-up: %s", w->config, line);
}

static void warmer_on_exit(void *data, struct proc *p, int status) {
        struct warm *w = data;
        struct prewarm *pw = w->pw;
        if (status == 0) {
                warm_ready(w);
                w->warmer = NULL;
                return;
        }
        w->warmer = NULL;
        char how[64], *line = last_line(p);
        proc_status_str(status, how, sizeof how);
        log_warnx("prewarm: %s: the warm-up failed (%s)%s%s; %s are kept ready without it", w->config, how,
                  line && *line ? ": " : "", line ? line : "",
                  w->connect ? "Spark Connect servers" : "driver JVMs");
        free(line);
        if (w->connect) { /* the server itself is fine: its first query is slower, that is all */
                pw->connect_warmup_off = true;
                warm_ready(w);
                return;
        }
        pw->warmup_off = true;
        warm_stop(w); /* it may hold the warm-up's SparkContext */
        warm_fill(pw);
}

static const struct proc_cbs warmer_cbs = {.on_line = warmer_on_line, .on_exit = warmer_on_exit};


/* True for the masters whose executors run in the driver's JVM: a
 * SparkContext created ahead holds no cluster's resources. */
static bool master_local(const char *m) {
        return m && (!strcmp(m, "local") || !strncmp(m, "local[", 6));
}

/* What the warm-up needs to create the session's SparkContext ahead
 * (daemon/py/sparkd_helpers.py create_context), with fresh UI secrets in
 * w->ctx_auth; NULL when the master is not local (its context would hold a
 * cluster's executors while nobody uses them) or without secrets. */
static char *warm_context_spec(struct warm *w) {
        const char *master = json_string_value(json_object_get(w->spec, "master"));
        if (!master_local(master) || sparkauth_new(&w->ctx_auth) < 0) {
                sparkauth_clear(&w->ctx_auth);
                return NULL;
        }
        json_t *o = json_pack("{s:s, s:O, s:O, s:s, s:s}", "master", master, "app_name",
                              json_object_get(w->spec, "app_name"), "conf", json_object_get(w->spec, "conf"),
                              "ui_key", w->ctx_auth.ui_key, "ui_token", w->ctx_auth.ui_token);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!text)
                sparkauth_clear(&w->ctx_auth);
        return text;
}

/* Starts the warm-up against w's gateway (its secret in the environment). */
static int warm_start_warmup(struct warm *w) {
        struct prewarm *pw = w->pw;
        char **envp = NULL, port[16];
        snprintf(port, sizeof port, "%d", w->port);
        json_t *env = json_deep_copy(json_object_get(w->spec, "env"));
        if (!env)
                return -ENOMEM;
        w->context = false;
        w->practice[0] = '\0';
        w->practising = false;
        if (w->connect) {
                json_object_set_new(env, "SPARKD_WARMUP_REMOTE", json_string(w->url));
        } else {
                json_object_set_new(env, "PYSPARK_GATEWAY_PORT", json_string(port));
                json_object_set_new(env, "PYSPARK_GATEWAY_SECRET", json_string(w->secret));
                char practice[32];
                snprintf(practice, sizeof practice, "%g", pw->d->opts.prewarm_practice);
                json_object_set_new(env, "SPARKD_WARMUP_PRACTICE", json_string(practice));
                char *ctx = warm_context_spec(w);
                if (ctx) {
                        json_object_set_new(env, "SPARKD_WARMUP_CONTEXT", json_string(ctx));
                        explicit_bzero(ctx, strlen(ctx));
                        free(ctx);
                }
        }
        int r = warm_envp(pw, env, NULL, &envp);
        json_decref(env);
        /* the helpers, then the warm-up, in one program (no value in it) */
        char *code = r == 0 ? strdupf("%s\n%s", sparkd_py_sparkd_helpers,
                                      w->connect ? sparkd_py_warmup_connect : sparkd_py_warmup_driver)
                            : NULL;
        char *argv[] = {(char *)sparkhome_python(), "-c", code, NULL};
        /* stdin a pipe: closed when a start waits (prewarm_wait) or a session's kernel
         * runs a cell (prewarm_user_busy), which ends the practice */
        if (r == 0)
                r = code ? proc_spawn_ex(pw->d->loop, argv, envp, NULL, PROC_STDIN_PIPE, &warmer_cbs, w, &w->warmer)
                         : -ENOMEM;
        free(code);
        strv_free(envp);
        return r;
}

static void warm_poll_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        (void)revents;
        struct warm *w = (struct warm *)((char *)t - offsetof(struct warm, poll));
        struct prewarm *pw = w->pw;
        if (w->state == W_WARMING) { /* PREWARM_WARMUP_TIMEOUT passed */
                ev_timer_stop(loop, t);
                log_warnx("prewarm: %s: the warm-up did not finish within %.0f s (a busy machine): %s are "
                          "kept ready without it from now on", w->config, PREWARM_WARMUP_TIMEOUT,
                          w->connect ? "Spark Connect servers" : "driver JVMs");
                if (w->connect)
                        pw->connect_warmup_off = true;
                else
                        pw->warmup_off = true;
                warm_failed(w, "the warm-up did not finish in time", NULL);
                warm_fill(pw);
                return;
        }
        int r = warm_read_conn(w);
        if (r == 0 && ev_now(loop) - w->launched_at < PREWARM_READY_TIMEOUT)
                return;
        ev_timer_stop(loop, t);
        if (r <= 0) {
                char *line = w->p ? last_line(w->p) : NULL;
                warm_failed(w, r < 0 ? "the warm driver JVM wrote an unreadable connection file"
                                     : "the warm driver JVM did not start in time",
                            line);
                free(line);
                warm_fill(pw);
                return;
        }
        if (w->wait_cb) { /* a start waits: it gets the JVM now, without the warm-up */
                warm_ready(w);
                return;
        }
        if (pw->warmup_off || (r = warm_start_warmup(w)) < 0) {
                if (!pw->warmup_off)
                        log_errno(r, "prewarm: %s: cannot start the warm-up", w->config);
                warm_ready(w);
                return;
        }
        w->state = W_WARMING;
        ev_timer_set(t, PREWARM_WARMUP_TIMEOUT, 0);
        ev_timer_start(loop, t);
}

static void warm_idle_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        (void)loop, (void)revents;
        struct warm *w = (struct warm *)((char *)t - offsetof(struct warm, idle));
        struct prewarm *pw = w->pw;
        log_info("prewarm: %s: not used for %.0f s: stopping its driver JVM (pid %d)", w->config,
                 pw->d->opts.prewarm_idle, (int)w->pid);
        warm_stop(w);
        w->asleep = true;
}

static void warm_retry_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        (void)loop, (void)revents;
        struct warm *w = (struct warm *)((char *)t - offsetof(struct warm, retry));
        warm_fill(w->pw);
}

/* Starts w's JVM.  Returns 0 or -errno (logged by the caller). */
static int warm_launch(struct warm *w) {
        struct prewarm *pw = w->pw;
        char dir[PATH_MAX];
        if (snprintf(dir, sizeof dir, "%s/prewarm", pw->d->opts.state_dir) >= (int)sizeof dir)
                return -ENAMETOOLONG;
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if (w->connect)
                return warm_launch_connect(w, dir);
        if (snprintf(w->conn_path, sizeof w->conn_path, "%s/conn-%ld-%lu", dir, (long)getpid(), ++pw->conn_seq) >=
            (int)sizeof w->conn_path)
                return -ENAMETOOLONG;
        unlink(w->conn_path);
        if (snprintf(w->props_path, sizeof w->props_path, "%s/props-%ld-%lu", dir, (long)getpid(), pw->conn_seq) >=
            (int)sizeof w->props_path)
                return -ENAMETOOLONG;
        char **argv = NULL, **envp = NULL;
        json_t *props = warm_props(w->spec);
        r = props ? props_write(w->props_path, props) : -ENOMEM;
        json_decref(props);
        if (r == 0)
                r = warm_argv(pw, w->props_path, &argv);
        if (r == 0)
                r = warm_envp(pw, json_object_get(w->spec, "env"), w->conn_path, &envp);
        if (r == 0)
                r = proc_spawn_ex(pw->d->loop, argv, envp, NULL, PROC_STDIN_PIPE, &warm_cbs, w, &w->p);
        strv_free(argv);
        strv_free(envp);
        if (r < 0) {
                w->conn_path[0] = '\0';
                warm_drop_props(w);
                return r;
        }
        w->pid = proc_pid(w->p);
        w->state = W_STARTING;
        w->launched_at = ev_now(pw->d->loop);
        ev_timer_set(&w->poll, PREWARM_POLL, PREWARM_POLL);
        ev_timer_start(pw->d->loop, &w->poll);
        log_info("prewarm: %s: starting a driver JVM (pid %d)", w->config, (int)w->pid);
        return 0;
}

/* Whether the machine has the memory for w now (logs the first refusal). */
static bool warm_mem_ok(struct warm *w) {
        unsigned long long avail;
        if (!mem_available(&avail) || prewarm_mem_ok(avail, w->mem))
                return true;
        if (!w->mem_logged)
                log_warnx("prewarm: %s: not keeping a driver JVM ready: %llu MiB available, %llu MiB "
                          "needed (2 x spark.driver.memory + 512 MiB)",
                          w->config, avail / MIB, (2 * w->mem) / MIB + 512);
        w->mem_logged = true;
        return false;
}

/* ---- SPARK_HOME ---- */

static void found_cb(void *data, const char *home, const char *detail) {
        struct prewarm *pw = data;
        pw->discover = NULL;
        if (home) {
                pw->spark_home = home;
                warm_fill(pw);
                return;
        }
        char py[PATH_MAX];
        sparkhome_python_path(py, sizeof py);
        if (!detail || !*detail)
                detail = "no output";
        if (strstr(detail, "No module named 'pyspark'"))
                detail = NULL; /* "no PySpark" says it */
        snprintf(pw->problem, sizeof pw->problem, "no PySpark for %.200s (%.200s%sset SPARKD_PYTHON to a Python "
                 "with pyspark, or SPARK_HOME)", py, detail ? detail : "", detail ? "; " : "");
        log_warnx("prewarm: %s: no driver is kept ready until the configurations are reloaded", pw->problem);
        pw->discover_failed = true;
        warm_release_cold_waiters(pw);
}

/* True when SPARK_HOME is known; else starts looking (once). */
static bool spark_home_known(struct prewarm *pw) {
        pw->spark_home = sparkhome_known(pw->d->opts.spark_home);
        if (pw->spark_home) {
                pw->problem[0] = '\0';
                return true;
        }
        if (pw->discover || pw->discover_failed)
                return false;
        int r = sparkhome_find(pw->d->loop, found_cb, pw, &pw->discover);
        if (r < 0) {
                snprintf(pw->problem, sizeof pw->problem, "cannot run %.200s to find PySpark: %s (set "
                         "SPARKD_PYTHON, or SPARK_HOME)", sparkhome_python(), strerror(-r));
                log_warnx("prewarm: %s", pw->problem);
                pw->discover_failed = true;
        }
        return false;
}

/* ---- the set ---- */

/* Starts what is missing, within the cap, the memory rule and the retry
 * pacing. */
/* A start waits only for a JVM on its way: one still cold once SPARK_HOME
 * is known did not launch (cap, memory, retry pacing) and will not soon. */
static void warm_release_cold_waiters(struct prewarm *pw) {
        if (pw->discover)
                return; /* the launch follows the search */
        for (struct warm *w = pw->warms; w; w = w->next)
                if (w->wait_cb && w->state == W_COLD)
                        warm_release_waiter(w);
}

static void warm_fill(struct prewarm *pw) {
        warm_fill_slots(pw);
        warm_release_cold_waiters(pw);
}

static void warm_fill_slots(struct prewarm *pw) {
        if (pw->shut || pw->d->opts.prewarm_max == 0 || ev_is_active(&pw->start_delay))
                return;
        int n = warm_count(pw);
        for (struct warm *w = pw->warms; w && n < (int)pw->d->opts.prewarm_max; w = w->next) {
                if (w->state != W_COLD || w->asleep || ev_is_active(&w->retry))
                        continue;
                double wait = w->failures ? w->launched_at + PREWARM_RETRY - ev_now(pw->d->loop) : 0;
                if (wait > 0) {
                        ev_timer_set(&w->retry, wait, 0);
                        ev_timer_start(pw->d->loop, &w->retry);
                        continue;
                }
                if (!spark_home_known(pw))
                        return; /* discovery calls back */
                if (!warm_mem_ok(w))
                        continue;
                int r = warm_launch(w);
                if (r < 0) {
                        w->launched_at = ev_now(pw->d->loop);
                        warm_failed(w, "cannot start a driver JVM", strerror(-r));
                        continue;
                }
                w->mem_logged = false;
                n++;
        }
}

static struct warm *warm_new(struct prewarm *pw, const struct cfg_entry *e, json_t *spec, char *key) {
        struct warm *w = calloc(1, sizeof *w);
        if (!w)
                return NULL;
        w->pw = pw;
        w->config = strdup(e->name);
        w->connect = json_is_true(json_object_get(spec, "connect"));
        w->spec = spec;
        w->key = key;
        const char *mem = json_string_value(json_object_get(json_object_get(spec, "conf"), "spark.driver.memory"));
        if (!mem || memsize_parse(mem, &w->mem) < 0)
                w->mem = 1ull << 30;
        ev_init(&w->poll, warm_poll_cb);
        ev_init(&w->idle, warm_idle_cb);
        ev_init(&w->retry, warm_retry_cb);
        if (!w->config) {
                free(w);
                return NULL;
        }
        return w;
}

/* Updates (or creates) the slot of e; returns it, detached from the list. */
static struct warm *warm_update(struct prewarm *pw, const struct cfg_entry *e) {
        json_t *spec = spec_of(e);
        char *key = key_of(spec);
        if (!key) {
                json_decref(spec);
                return NULL;
        }
        struct warm *w = warm_find(pw, e->name);
        if (w) {
                for (struct warm **pp = &pw->warms; *pp; pp = &(*pp)->next)
                        if (*pp == w) {
                                *pp = w->next;
                                break;
                        }
                w->next = NULL;
                if (!strcmp(w->key, key)) {
                        json_decref(spec);
                        free(key);
                        return w;
                }
                log_info("prewarm: %s: configuration changed: replacing its %s", w->config,
                         w->connect ? "Spark Connect server" : "driver JVM");
                w = warm_free(w);
        }
        w = warm_new(pw, e, spec, key);
        if (!w) {
                json_decref(spec);
                free(key);
        }
        return w;
}

/* Makes the slots follow d's configurations: new ones, changed ones
 * replaced, unwanted ones stopped. */
static void warm_sync(struct sparkd *d) {
        struct prewarm *pw = d->prewarm;
        if (pw->shut || (pw->synced && pw->synced_gen == d->cfg_generation))
                return; /* every change of the set is a reload (a new generation) */
        pw->synced = true;
        pw->synced_gen = d->cfg_generation;
        struct warm *list = NULL, **tail = &list;
        const struct cfg_set *s = d->cfgs;
        /* the default configuration first: it gets a JVM when the cap is reached */
        for (int pass = 0; pass < 2 && s && d->opts.prewarm_max > 0; pass++)
                for (size_t i = 0; i < s->n; i++) {
                        const struct cfg_entry *e = &s->entries[i];
                        bool is_def = s->default_name && !strcmp(s->default_name, e->name);
                        if (is_def != (pass == 0) || !wanted(e))
                                continue;
                        struct warm *w = warm_update(pw, e);
                        if (w) {
                                *tail = w;
                                tail = &w->next;
                        }
                }
        while (pw->warms) { /* no longer wanted */
                struct warm *w = pw->warms;
                pw->warms = w->next;
                if (w->state != W_COLD)
                        log_info("prewarm: %s: no longer pre-warmed: stopping its driver JVM", w->config);
                warm_free(w);
        }
        pw->warms = list;
}

static void start_delay_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        (void)loop, (void)revents;
        warm_fill((struct prewarm *)((char *)t - offsetof(struct prewarm, start_delay)));
}

void prewarm_refresh(struct sparkd *d) {
        struct prewarm *pw = d->prewarm;
        pw->discover_failed = false;
        warm_sync(d);
        if (!pw->start_delay_done) {
                /* the daemon starts with the user's server: let the server
                 * have the cores first (the first user activity ends the
                 * wait early, see prewarm_touch) */
                pw->start_delay_done = true;
                if (PREWARM_START_DELAY > 0 && pw->warms) {
                        ev_timer_init(&pw->start_delay, start_delay_cb, PREWARM_START_DELAY, 0);
                        ev_timer_start(d->loop, &pw->start_delay);
                        log_debug("prewarm: first launch in %.0f s or at the first user activity",
                                  PREWARM_START_DELAY);
                }
        }
        /* look for Spark now, not after the delay: /api/health (and the
         * launcher's line) can then say at once whether pre-warming works */
        if (pw->warms && d->opts.prewarm_max > 0 && !pw->shut)
                spark_home_known(pw);
        warm_fill(pw);
}

void prewarm_touch(struct sparkd *d) {
        struct prewarm *pw = d->prewarm;
        warm_sync(d); /* configurations may have changed through the API */
        ev_timer_stop(d->loop, &pw->start_delay);
        for (struct warm *w = pw->warms; w; w = w->next) {
                if (w->asleep && w->failures >= PREWARM_MAX_FAILURES)
                        w->failures = PREWARM_MAX_FAILURES - 1; /* one more try */
                w->asleep = false;
                if (w->state == W_READY) {
                        ev_timer_stop(d->loop, &w->idle);
                        ev_timer_set(&w->idle, d->opts.prewarm_idle, 0);
                        ev_timer_start(d->loop, &w->idle);
                }
        }
        warm_fill(pw);
}

/* True when overrides change a JVM-level property of e's configuration. */
static bool overrides_jvm(json_t *conf, json_t *overrides) {
        const char *k;
        json_t *v;
        json_object_foreach(overrides, k, v) {
                if (!prewarm_jvm_level_key(k))
                        continue;
                char *a = props_value_text(v), *b = props_value_text(json_object_get(conf, k));
                bool same = a && b && !strcmp(a, b);
                free(a);
                free(b);
                if (!same)
                        return true;
        }
        return false;
}

/* The ready warm slot of e of the given kind, unless overrides change a
 * JVM-level property; NULL otherwise. */
static struct warm *warm_takeable(struct sparkd *d, const struct cfg_entry *e, json_t *overrides, bool connect) {
        struct prewarm *pw = d->prewarm;
        if (pw->shut)
                return NULL;
        warm_sync(d); /* a configuration changed since its JVM started: not that one */
        struct warm *w = warm_find(pw, e->name);
        if (!w || w->connect != connect || w->state != W_READY || !(connect ? w->cl && w->url : w->p != NULL))
                return NULL;
        if (overrides && overrides_jvm(json_object_get(w->spec, "conf"), overrides)) {
                log_debug("prewarm: %s: the overrides change the JVM: not using the warm one", w->config);
                return NULL;
        }
        return w;
}

/* After w's JVM or server went to a session: the slot is cold, and the
 * next one starts in the background once the session's start (on the same
 * cores) is likely done. */
static void warm_handed_over(struct sparkd *d, struct warm *w) {
        log_info("prewarm: %s: %s (pid %d) handed to a session", w->config,
                 w->connect ? "Spark Connect server" : "driver JVM", (int)w->pid);
        warm_stop(w);
        ev_timer_stop(d->loop, &w->retry);
        ev_timer_set(&w->retry, PREWARM_REFILL_DELAY, 0);
        ev_timer_start(d->loop, &w->retry);
}

/* Hands w's ready JVM to cbs/data; its handover in *ret.  NULL when out
 * of memory (w keeps it). */
static struct proc *warm_hand_over(struct warm *w, const struct proc_cbs *cbs, void *data, json_t **ret) {
        json_t *h = json_pack("{s:i, s:s, s:i, s:s, s:s}", "port", w->port, "secret", w->secret, "pid", (int)w->pid,
                              "spark_home", w->pw->spark_home, "pin_thread",
                              pin_thread(json_object_get(w->spec, "env")));
        if (h && w->context &&
            json_object_set_new(h, "context", json_pack("{s:s, s:s}", "ui_key", w->ctx_auth.ui_key, "ui_token",
                                                        w->ctx_auth.ui_token)) < 0) {
                json_decref(h);
                h = NULL;
        }
        if (!h)
                return NULL;
        struct proc *p = w->p;
        w->p = NULL;
        proc_set_owner(p, cbs, data);
        warm_handed_over(w->pw->d, w);
        *ret = h;
        return p;
}

struct proc *prewarm_take(struct sparkd *d, const struct cfg_entry *e, json_t *overrides,
                          const struct proc_cbs *cbs, void *data, json_t **ret_handover) {
        struct warm *w = warm_takeable(d, e, overrides, false);
        return w ? warm_hand_over(w, cbs, data, ret_handover) : NULL;
}

/* The slot became ready with a start waiting: it gets the JVM. */
static void warm_give_to_waiter(struct warm *w) {
        void (*cb)(void *, struct proc *, json_t *) = w->wait_cb;
        void *data = w->wait_data;
        const struct proc_cbs *cbs = w->wait_cbs;
        w->wait_cb = NULL;
        w->wait_data = NULL;
        json_t *h = NULL;
        struct proc *p = warm_hand_over(w, cbs, data, &h);
        cb(data, p, h);
}

bool prewarm_wait(struct sparkd *d, const struct cfg_entry *e, json_t *overrides, const struct proc_cbs *cbs,
                  void *data, void (*cb)(void *data, struct proc *p, json_t *handover)) {
        struct prewarm *pw = d->prewarm;
        if (pw->shut)
                return false;
        warm_sync(d);
        struct warm *w = warm_find(pw, e->name);
        bool coming = w && (w->state == W_STARTING || w->state == W_WARMING ||
                            (w->state == W_COLD && pw->discover)); /* launched once Spark is found */
        if (!w || w->connect || w->wait_cb || !coming)
                return false;
        if (overrides && overrides_jvm(json_object_get(w->spec, "conf"), overrides))
                return false;
        w->wait_cb = cb;
        w->wait_data = data;
        w->wait_cbs = cbs;
        log_info("prewarm: %s: a start waits for the %s driver JVM (pid %d)", w->config,
                 w->state == W_WARMING ? "warming" : "starting", (int)w->pid);
        if (w->state == W_WARMING && w->warmer) {
                w->practising = false;
                proc_close_stdin(w->warmer); /* the warm-up ends its practice after the job it runs */
        }
        return true;
}

void prewarm_user_busy(struct sparkd *d) {
        for (struct warm *w = d->prewarm ? d->prewarm->warms : NULL; w; w = w->next)
                if (w->state == W_WARMING && w->warmer && w->practising) {
                        w->practising = false;
                        log_info("prewarm: %s: a session's kernel runs a cell: the warm-up ends its practice",
                                 w->config);
                        proc_close_stdin(w->warmer);
                }
}

void prewarm_wait_cancel(struct sparkd *d, void *data) {
        for (struct warm *w = d->prewarm ? d->prewarm->warms : NULL; w; w = w->next)
                if (w->wait_cb && w->wait_data == data) {
                        w->wait_cb = NULL;
                        w->wait_data = NULL;
                }
}

struct cluster *prewarm_take_connect(struct sparkd *d, const struct cfg_entry *e, json_t *overrides,
                                     const struct cluster_cbs *cbs, void *data, char **ret_url) {
        struct warm *w = warm_takeable(d, e, overrides, true);
        if (!w)
                return NULL;
        struct cluster *c = w->cl;
        *ret_url = w->url;
        w->cl = NULL;
        w->url = NULL;
        cluster_set_owner(c, cbs, data);
        warm_handed_over(d, w);
        return c;
}

json_t *prewarm_json(struct sparkd *d) {
        struct prewarm *pw = d->prewarm;
        json_t *arr = json_array();
        for (struct warm *w = pw->warms; w; w = w->next) {
                const char *st = w->state == W_READY      ? "ready"
                                 : w->state == W_STARTING ? "starting"
                                 : w->state == W_WARMING  ? "warming"
                                 : w->asleep              ? "idle"
                                                          : "waiting";
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "config", w->config, "kind",
                                                     w->connect ? "connect" : "driver", "state", st, "pid",
                                                     w->state != W_COLD && w->pid > 0 ? json_integer(w->pid)
                                                                                      : json_null()));
        }
        const char *error = pw->discover_failed && pw->problem[0] ? pw->problem : NULL;
        const char *state = "on", *reason = NULL;
        if (d->opts.prewarm_max == 0)
                state = "off", reason = "--prewarm-max is 0 (or SPARKD_PREWARM_MAX=0)";
        else if (!pw->warms)
                state = "off", reason = "no configuration asks for it (prewarm: true with a local master or "
                                        "launch: {type: connect})";
        else if (error)
                state = "off", reason = error;
        else if (!pw->spark_home)
                state = "checking"; /* the search for Spark runs */
        char py[PATH_MAX];
        sparkhome_python_path(py, sizeof py);
        return json_pack("{s:i, s:f, s:f, s:o, s:s?, s:s?, s:s, s:s?, s:s}", "max", (int)d->opts.prewarm_max, "idle",
                         d->opts.prewarm_idle, "practice", d->opts.prewarm_practice, "jvms", arr, "spark_home",
                         pw->spark_home, "error", error, "state", state, "reason", reason, "python", py);
}

int prewarm_init(struct sparkd *d) {
        struct prewarm *pw = d->prewarm = calloc(1, sizeof *d->prewarm);
        if (!pw)
                return -ENOMEM;
        pw->d = d;
        ev_init(&pw->start_delay, start_delay_cb); /* stopped before it ever starts: harmless */
        return 0;
}

void prewarm_stop_all(struct sparkd *d) {
        struct prewarm *pw = d->prewarm;
        if (!pw)
                return;
        pw->shut = true;
        ev_timer_stop(d->loop, &pw->start_delay);
        while (pw->warms) {
                struct warm *w = pw->warms;
                pw->warms = w->next;
                warm_free(w);
        }
        pw->discover = sparkhome_cancel(pw->discover);
        pw->spark_home = NULL;
}

void prewarm_free(struct sparkd *d) {
        prewarm_stop_all(d);
        free(d->prewarm);
        d->prewarm = NULL;
}
