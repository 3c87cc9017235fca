#include "session.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "dl.h"
#include "duration.h"
#include "kernel.h"
#include "log.h"
#include "netown.h"
#include "prewarm.h"
#include "progress.h"
#include "proc.h"
#include "pylit.h"
#include "sparkauth.h"
#include "sparkd_py.h"
#include "startup.h"
#include "strbuf.h"
#include "tmpl.h"
#include "utf8.h"
#include "util.h"

/* The execute_request code: installs the helpers module `_sparkd`
 * (daemon/py/sparkd_helpers.py, a Python literal in %s), then the call
 * that follows. */
static const char session_py_install[] =
        "__import__('sys').modules['_sparkd'] = __import__('types').ModuleType('_sparkd')\n"
        "exec(compile(%s, '<sparkd>', 'exec'), __import__('sys').modules['_sparkd'].__dict__)\n";

static const char session_py_info_expr[] = "__import__('_sparkd').info(globals())";

enum sstate { S_STARTING, S_READY, S_FAILED, S_STOPPING, S_STOPPED };
static const char *const state_names[] = {"starting", "ready", "failed", "stopping", "stopped"};

struct session {
        char kernel_id[KMSG_UUID_LEN + 1];
        char *config;
        json_t *overrides;
        enum sstate state;
        unsigned long version;
        json_t *info;           /* from the kernel: app_id, master, ... */
        char *error, *hint;
        char *reason;           /* why it stopped */
        json_t *log;            /* array of the last lines */
        double started_at, ready_at;
        const char *waiting_for;
        char waiting_buf[200];  /* what a Slurm job's start waits for (cluster on_waiting) */
        json_t *slurm;          /* launch type slurm: {nodes, cores_per_node, memory_per_node, time, ...} */
        int ui_port;
        char ui_path[512];
        struct kernel *k;
        struct cluster *cluster; /* what `launch` started, or NULL */
        struct proc *jvm;       /* the warm driver JVM handed to it (prewarm.h), or NULL */
        struct proc *old_jvm;   /* the replaced session's, until the new start code ran */
        json_t *handover;       /* what run() gets to connect to jvm, or NULL */
        int jvm_pid;            /* jvm's pid, 0 when the start is cold */
        bool warm_server;       /* cluster is a warm Connect server the daemon had ready */
        struct sparkauth auth;  /* the kernel driver's UI key and token */
        char start_msg[KMSG_UUID_LEN + 1];
        char stop_msg[KMSG_UUID_LEN + 1];
        char marker[PATH_MAX];
        bool stop_requested;    /* DELETE while the start code runs */
        bool lazy;              /* the kernel asked (its lazy `spark`): it reports back */
        bool waiting_warm;      /* waits for a warm JVM still starting (prewarm_wait) */
        json_t *hints;          /* the configuration's error_hints */
        json_t *summary;        /* the configuration's {master, cores, memory} */
        unsigned idle_stop;     /* seconds without activity before Spark stops; 0: never */
        bool active;            /* a cell or a Spark job runs (session_note_activity) */
        bool idle_stopping;     /* the stop under way is the idle release */
        double idle_deadline;   /* when the idle release is due (wall clock), 0: none due */
        ev_timer idle;          /* runs only while ready, idle_stop set and not active */
        char *message;          /* how it ended, for people ("Spark stopped after 30 min idle") */
        ev_timer timeout;
        struct sparkd *d;
        struct session *next;
};

/* d->sessions */
struct sessions {
        struct session *list;
        unsigned long version; /* of the list: the latest of any session's */
        unsigned long serial;  /* version changes and log lines: stales caches */
};

int sessions_init(struct sparkd *d) {
        d->sessions = calloc(1, sizeof *d->sessions);
        return d->sessions ? 0 : -ENOMEM;
}

void session_error_clear(struct session_error *e) {
        if (e) {
                free(e->message);
                e->message = NULL;
        }
}

/* Fills err; returns its fail. */
__attribute__((format(printf, 3, 4))) static enum session_fail set_err(struct session_error *err,
                                                                       enum session_fail fail,
                                                                       const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        err->fail = fail;
        err->message = vstrdupf(fmt, ap);
        va_end(ap);
        return fail;
}

static double wall_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct session *session_find(struct sparkd *d, const char *id) {
        for (struct session *s = d->sessions->list; s; s = s->next)
                if (!strcasecmp(s->kernel_id, id))
                        return s;
        return NULL;
}

/* The token the session's UI requires, NULL when it requires none (Spark
 * < 4.0, or a template that did not call _sparkd.prepare). */
static const char *session_ui_token(const struct session *s) {
        if (s->cluster && json_is_true(json_object_get(s->info, "connect")))
                return cluster_ui_token(s->cluster); /* the Connect server's driver */
        return json_is_true(json_object_get(s->info, "ui_protected")) ? s->auth.ui_token : NULL;
}

int session_ui_target(struct sparkd *d, const char *id, int *ret_port, const char **ret_token) {
        struct session *s = session_find(d, id);
        if (!s || s->state != S_READY || s->ui_port <= 0)
                return -ENOENT;
        *ret_port = s->ui_port;
        *ret_token = session_ui_token(s);
        return 0;
}

/* The session as the API shows it. */
static json_t *session_json(const struct session *s) {
        json_t *o = json_pack("{s:s, s:s, s:O, s:s, s:I, s:f}", "kernel_id", s->kernel_id, "config",
                              s->config, "overrides", s->overrides, "state", state_names[s->state],
                              "version", (json_int_t)s->version, "started_at", s->started_at);
        if (!o)
                return NULL;
        static const char *const info_keys[] = {"master", "app_id", "spark_version", "cores", "memory"};
        for (size_t i = 0; i < sizeof info_keys / sizeof *info_keys; i++) {
                json_t *v = s->info ? json_object_get(s->info, info_keys[i]) : NULL;
                if (json_is_null(v) || !v) /* what Spark does not tell, the configuration does */
                        v = s->summary ? json_object_get(s->summary, info_keys[i]) : NULL;
                if (!s->info && !strcmp(info_keys[i], "master"))
                        v = NULL; /* the real master is known once ready */
                json_object_set(o, info_keys[i], v ? v : json_null());
        }
        json_object_set_new(o, "connect", json_boolean(json_is_true(json_object_get(s->info, "connect"))));
        json_object_set_new(o, "prewarmed", json_boolean(s->jvm_pid > 0 || s->warm_server));
        json_object_set_new(o, "jvm_pid", s->jvm_pid > 0 ? json_integer(s->jvm_pid) : json_null());
        json_object_set_new(o, "context_ahead", json_boolean(json_is_true(json_object_get(s->info, "context_ahead"))));
        int spid = cluster_pid(s->cluster);
        json_object_set_new(o, "server_pid", spid > 0 ? json_integer(spid) : json_null());
        json_object_set_new(o, "ui_path", s->state == S_READY && s->ui_port > 0 ? json_string(s->ui_path)
                                                                                : json_null());
        json_object_set_new(o, "ui_protected", s->state == S_READY ? json_boolean(session_ui_token(s) != NULL)
                                                                   : json_null());
        json_object_set_new(o, "ready_at", s->ready_at > 0 ? json_real(s->ready_at) : json_null());
        json_object_set_new(o, "waiting_for", s->state == S_STARTING && s->waiting_for
                                                      ? json_string(s->waiting_for) : json_null());
        json_object_set_new(o, "error", s->error ? json_pack("{s:s, s:s?}", "message", s->error, "hint", s->hint)
                                                 : json_null());
        json_object_set_new(o, "reason", s->reason ? json_string(s->reason) : json_null());
        json_object_set_new(o, "message", s->message ? json_string(s->message) : json_null());
        json_object_set_new(o, "idle_stop", s->idle_stop ? json_integer(s->idle_stop) : json_null());
        json_object_set_new(o, "idle_deadline", s->idle_deadline > 0 ? json_real(s->idle_deadline) : json_null());
        json_object_set(o, "log_tail", s->log);
        json_object_set_new(o, "jobs_running", json_integer(progress_jobs_running(s->d, s->kernel_id)));
        if (s->slurm) { /* the job's id is kept in s->slurm once known (launch_on_waiting) */
                const char *jid = cluster_job_id(s->cluster);
                double ends = cluster_ends_at(s->cluster);
                json_t *sl = json_deep_copy(s->slurm);
                if (jid && *jid)
                        json_object_set_new(sl, "job_id", json_string(jid));
                else if (!json_object_get(sl, "job_id"))
                        json_object_set_new(sl, "job_id", json_null());
                json_object_set_new(sl, "ends_at", s->state == S_READY && ends > 0 ? json_real(ends) : json_null());
                json_object_set_new(o, "slurm", sl);
        } else {
                json_object_set_new(o, "slurm", json_null());
        }
        return o;
}

static void session_idle_sync(struct session *s);

static void session_changed(struct session *s) {
        struct sessions *ss = s->d->sessions;
        session_idle_sync(s);
        s->version = ++ss->version;
        ss->serial++;
        progress_session_changed(s->d, s->kernel_id);
        if (s->d->sessions_changed)
                s->d->sessions_changed(s->d);
}

static const char *session_find_hint(const struct session *s, const char *text);

/* Appends output to the log tail, a line at a time, bounded. */
static void session_log(struct session *s, const char *text) {
        const char *p = text;
        while (*p) {
                size_t n = strcspn(p, "\n");
                if (n > 0 && json_array_size(s->log) < 10000) {
                        /* valid UTF-8, cut on a character boundary: the list
                         * must always serialise */
                        char line[SESSION_LOG_LINE_MAX + 1];
                        size_t len = utf8_sanitize(p, n, line, sizeof line);
                        json_array_append_new(s->log, json_stringn_nocheck(line, len));
                        s->d->sessions->serial++;
                }
                p += n;
                if (*p == '\n')
                        p++;
        }
        while (json_array_size(s->log) > SESSION_LOG_LINES)
                json_array_remove(s->log, 0);
        /* Output can arrive after the failing reply (IOPub and shell race):
         * it may explain the failure better. */
        if (s->state == S_FAILED && !s->hint) {
                const char *h = session_find_hint(s, text);
                if (h) {
                        s->hint = strdup(h);
                        session_changed(s);
                }
        }
}

static void session_set_str(char **dst, const char *v) {
        free(*dst);
        *dst = v ? strdup(v) : NULL;
}

/* The marker file that tells a queued start code not to run. */
static void session_cancel_marker(struct session *s) {
        if (!s->marker[0])
                return;
        FILE *f = fopen(s->marker, "we");
        if (f)
                fclose(f);
}

static void session_drop_marker(struct session *s) {
        if (s->marker[0])
                unlink(s->marker);
        s->marker[0] = '\0';
}

/* Built-in advice for errors users meet; a configuration's error_hints are
 * tried first. */
static const struct {
        const char *re;
        const char *hint;
} builtin_hints[] = {
        {"JAVA_GATEWAY_EXITED|JAVA_HOME is not set|java: not found|No such file or directory: 'java'",
         "No Java was found for this kernel: install OpenJDK 17 (apt-get install openjdk-17-jre-headless) "
         "or set JAVA_HOME in the configuration's env."},
        {"pyspark is not installed",
         "Install PySpark into the kernel's environment (pip install pyspark) or pick a kernel that has it."},
        {"Could not parse Master URL|Invalid master URL|Master must either be",
         "The configuration's master URL is wrong: use local[N], spark://HOST:PORT, k8s://https://HOST, yarn or sc://HOST:PORT."},
        {"Failed to connect to master|All masters are unresponsive|Connection refused",
         "The Spark master does not answer: check that it runs and that the host and port are right."},
        {"did not start within",
         "The kernel may be busy with a long cell, or Spark is slow to start: try again, or raise the start timeout."},
        {"Cannot allocate memory|OutOfMemoryError|Java heap space",
         "Spark ran out of memory: lower spark.driver.memory or free memory on the machine."},
        {"kernel died",
         "The kernel stopped while Spark was starting: restart the kernel and try again; check the kernel's log for a crash."},
};

/* The first hint whose regex matches text: the configuration's first. */
static const char *session_find_hint(const struct session *s, const char *text) {
        size_t i;
        json_t *h;
        json_array_foreach(s->hints, i, h) {
                const char *re = json_string_value(json_object_get(h, "pattern"));
                regex_t rx;
                if (!re || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
                        continue;
                int m = regexec(&rx, text, 0, NULL, 0);
                regfree(&rx);
                if (m == 0)
                        return json_string_value(json_object_get(h, "hint"));
        }
        for (i = 0; i < sizeof builtin_hints / sizeof *builtin_hints; i++) {
                regex_t rx;
                if (regcomp(&rx, builtin_hints[i].re, REG_EXTENDED | REG_NOSUB) != 0)
                        continue;
                int m = regexec(&rx, text, 0, NULL, 0);
                regfree(&rx);
                if (m == 0)
                        return builtin_hints[i].hint;
        }
        return NULL;
}

static void session_stop_timer(struct session *s) { ev_timer_stop(s->d->loop, &s->timeout); }

/* Stops a driver JVM a session owns; *pp becomes NULL. */
static void jvm_stop(struct proc **pp) {
        if (*pp) {
                proc_detach(*pp);
                proc_stop(*pp, CLUSTER_STOP_GRACE);
                *pp = NULL;
        }
}

/* Ends a start that will not become ready. */
static void session_fail(struct session *s, const char *message) {
        session_stop_timer(s);
        if (s->waiting_warm)
                prewarm_wait_cancel(s->d, s);
        s->waiting_warm = false;
        s->cluster = cluster_stop(s->cluster);
        jvm_stop(&s->jvm);
        s->state = S_FAILED;
        session_set_str(&s->error, message);
        struct strbuf all = STRBUF_INIT;
        sb_puts(&all, message);
        size_t i;
        json_t *line;
        json_array_foreach(s->log, i, line) {
                sb_putc(&all, '\n');
                sb_puts(&all, json_string_value(line));
        }
        session_set_str(&s->hint, all.buf ? session_find_hint(s, all.buf) : NULL);
        sb_free(&all);
        log_info("session %s failed: %s", s->kernel_id, message);
        session_changed(s);
}

/* A one-line message from a Python error: for Java exceptions the first
 * line of the Java exception, else "ename: first line of evalue". */
static char *error_message(json_t *content) {
        const char *ename = json_string_value(json_object_get(content, "ename")) ?: "Error";
        const char *evalue = json_string_value(json_object_get(content, "evalue")) ?: "";
        const char *java = strstr(evalue, "\n: ");
        const char *line = java ? java + 3 : evalue;
        size_t n = strcspn(line, "\n");
        if (n > 500)
                n = 500;
        char *out = NULL;
        if (java || !strcmp(ename, "RuntimeError") || !strcmp(ename, "PySparkRuntimeError"))
                return asprintf(&out, "%.*s", (int)n, line) < 0 ? NULL : out;
        return asprintf(&out, "%s: %.*s", ename, (int)n, line) < 0 ? NULL : out;
}

static void start_on_busy(void *data) {
        struct session *s = data;
        if (s->state == S_STARTING) {
                s->waiting_for = "Spark to start";
                session_changed(s);
        }
}

static void start_on_output(void *data, const char *text) { session_log(data, text); }

static void session_run_stop_code(struct session *s);

/* Reads the JSON info the user expression returned. */
static int parse_info(json_t *content, json_t **ret, char **ret_err) {
        json_t *ue = json_object_get(json_object_get(content, "user_expressions"), "sparkd");
        const char *st = json_string_value(json_object_get(ue, "status"));
        if (!st || strcmp(st, "ok")) {
                *ret_err = ue ? error_message(ue) : strdup("the kernel returned no session information");
                return -EINVAL;
        }
        const char *text = json_string_value(json_object_get(json_object_get(ue, "data"), "text/plain"));
        json_t *info = text ? json_loads(text, 0, NULL) : NULL;
        if (!json_is_object(info)) {
                json_decref(info);
                *ret_err = strdup("the kernel returned unreadable session information");
                return -EINVAL;
        }
        *ret = info;
        return 0;
}

/* The UI port from info.ui_url ("http://host:PORT"), else the one we set. */
static int info_ui_port(json_t *info, int fallback) {
        const char *url = json_string_value(json_object_get(info, "ui_url"));
        const char *colon = url ? strrchr(url, ':') : NULL;
        int port = colon ? atoi(colon + 1) : 0;
        return port > 0 && port < 65536 ? port : fallback;
}

static void session_stop_in_kernel(struct session *s);

/* True (with a sentence in why) when the session's UI port is held by
 * another user: Spark moved away from the port it was given, or someone
 * took it after Spark ended.  The proxy would serve that user's pages on
 * the hub's origin, so the session does not become ready. */
static bool session_ui_port_unsafe(const struct session *s, char *why, size_t n) {
        uid_t other = 0;
        int r = s->ui_port > 0 ? netown_check(s->ui_port, geteuid(), &other) : 0;
        if (r == 0 || r == -ENOENT) /* no UI (spark.ui.enabled false) is not a danger */
                return false;
        if (r == -EPERM)
                snprintf(why, n, "the Spark UI port %d is held by another user (uid %ld), not by this Spark: "
                         "Spark was stopped", s->ui_port, (long)other);
        else
                snprintf(why, n, "cannot tell who holds the Spark UI port %d (%s): Spark was stopped", s->ui_port,
                         strerror(-r));
        return true;
}

static void session_started(struct session *s);

static void start_on_reply(void *data, json_t *content) {
        struct session *s = data;
        session_drop_marker(s);
        if (s->state != S_STARTING && !s->stop_requested)
                return;
        const char *status = json_string_value(json_object_get(content, "status"));
        char *err = NULL;
        json_t *info = NULL;
        if (!status || strcmp(status, "ok"))
                err = error_message(content);
        else if (parse_info(content, &info, &err) == 0) {
                json_decref(s->info);
                s->info = info;
        }
        if (s->stop_requested) {
                free(err);
                session_run_stop_code(s);
                return;
        }
        if (err) {
                session_fail(s, err);
                free(err);
                return;
        }
        session_started(s);
}

/* Spark runs in the kernel and s->info describes it: ready, unless its UI
 * port is another user's (then failed, and Spark is stopped again). */
static void session_started(struct session *s) {
        session_stop_timer(s);
        if (s->jvm_pid > 0 && !json_is_true(json_object_get(s->info, "prewarmed"))) {
                log_info("session %s: the kernel could not use the warm driver JVM: started its own",
                         s->kernel_id);
                jvm_stop(&s->jvm);
                s->jvm_pid = 0;
        }
        s->ui_port = info_ui_port(s->info, s->ui_port);
        char why[200];
        if (session_ui_port_unsafe(s, why, sizeof why)) {
                session_fail(s, why);
                session_stop_in_kernel(s); /* its Spark is up: take it down again */
                return;
        }
        s->state = S_READY;
        s->active = false; /* the idle release's clock starts */
        s->ready_at = wall_now();
        log_info("session %s ready in %.2f s (%s)", s->kernel_id, s->ready_at - s->started_at,
                 json_string_value(json_object_get(s->info, "app_id")) ?: "no app id");
        session_changed(s);
}

static void start_on_done(void *data) {
        struct session *s = data;
        s->start_msg[0] = '\0';
        jvm_stop(&s->old_jvm); /* the start code stopped its Spark first */
}

static const struct kernel_exec_cbs start_cbs = {
        .on_busy = start_on_busy,
        .on_output = start_on_output,
        .on_reply = start_on_reply,
        .on_done = start_on_done,
};

static void stop_on_reply(void *data, json_t *content) {
        struct session *s = data;
        const char *status = json_string_value(json_object_get(content, "status"));
        if (status && strcmp(status, "ok")) {
                char *err = error_message(content);
                session_log(s, err ? err : "stopping failed");
                free(err);
        }
}

/* The end of a stop: reason "stopped", or after the idle release "idle"
 * with a sentence for people. */
static void session_set_stopped(struct session *s) {
        s->state = S_STOPPED;
        if (!s->idle_stopping) {
                session_set_str(&s->reason, "stopped");
                return;
        }
        char human[DURATION_BUF];
        duration_human(s->idle_stop, human);
        session_set_str(&s->reason, "idle");
        free(s->message);
        s->message = strdupf("Spark stopped after %s idle", human);
}

static void stop_on_done(void *data) {
        struct session *s = data;
        s->stop_msg[0] = '\0';
        s->cluster = cluster_stop(s->cluster);
        jvm_stop(&s->jvm);
        if (s->state == S_FAILED) /* stopped because it could not be trusted */
                return;
        session_set_stopped(s);
        log_info("session %s stopped%s", s->kernel_id, s->idle_stopping ? " (idle)" : "");
        session_changed(s);
}

static const struct kernel_exec_cbs stop_cbs = {
        .on_output = start_on_output,
        .on_reply = stop_on_reply,
        .on_done = stop_on_done,
};

/* The execute_request code: install the helpers, then `call`. */
static char *session_code(const char *call) {
        struct strbuf sb = STRBUF_INIT;
        json_t *helpers = json_string(sparkd_py_sparkd_helpers);
        struct strbuf lit = STRBUF_INIT;
        int r = helpers ? pylit_append(&lit, helpers, (size_t)-1, NULL, 0) : -ENOMEM;
        json_decref(helpers);
        if (r == 0)
                r = sb_printf(&sb, session_py_install, lit.buf);
        if (r == 0)
                r = sb_puts(&sb, call);
        sb_free(&lit);
        if (r < 0) {
                sb_free(&sb);
                return NULL;
        }
        return sb_take(&sb, NULL);
}

/* Sends the stop code, then `after` (code run once Spark stopped, or
 * NULL); returns 0, or -errno when it could not be sent. */
static int session_send_stop_then(struct session *s, const char *after) {
        struct strbuf call = STRBUF_INIT;
        int r = sb_puts(&call, "__import__('_sparkd').stop(globals())\n");
        if (r == 0 && after)
                r = sb_puts(&call, after);
        char *code = r == 0 ? session_code(call.buf) : NULL;
        sb_free(&call);
        r = code && s->k ? kernel_execute(s->k, code, NULL, &stop_cbs, s, s->stop_msg) : -ENOMEM;
        free(code);
        return r;
}

static int session_send_stop(struct session *s) { return session_send_stop_then(s, NULL); }

static void session_run_stop_code_then(struct session *s, const char *after) {
        s->stop_requested = false;
        s->state = S_STOPPING;
        session_changed(s);
        if (session_send_stop_then(s, after) < 0) {
                jvm_stop(&s->jvm);
                s->cluster = cluster_stop(s->cluster);
                session_set_stopped(s);
                session_changed(s);
        }
}

static void session_run_stop_code(struct session *s) { session_run_stop_code_then(s, NULL); }

/* For a failed session whose Spark did start: ends it in the kernel, the
 * state stays failed. */
static void session_stop_in_kernel(struct session *s) {
        if (session_send_stop(s) < 0)
                log_warnx("session %s: cannot stop Spark in the kernel", s->kernel_id);
}

static void session_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        struct session *s = (struct session *)((char *)w - offsetof(struct session, timeout));
        if (s->state != S_STARTING)
                return;
        session_cancel_marker(s);
        char msg[160];
        snprintf(msg, sizeof msg, "Spark did not start within %.0f s%s", s->d->opts.start_timeout,
                 s->waiting_for && !strcmp(s->waiting_for, "the kernel to finish its running cell")
                         ? " (the kernel was busy running a cell)" : "");
        session_fail(s, msg);
}

/* The idle release: Spark stops as on DELETE (its executors and
 * clusters go, the kernel stays), then the kernel gets the lazy `spark`
 * of the same configuration and overrides back, so that its next use
 * starts a new session. */
static void session_idle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        struct session *s = (struct session *)((char *)w - offsetof(struct session, idle));
        if (s->state != S_READY || s->active)
                return;
        char human[DURATION_BUF], *lazy = NULL, *why = NULL;
        duration_human(s->idle_stop, human);
        log_info("session %s: no Spark activity for %s: stopping Spark", s->kernel_id, human);
        if (startup_lazy_code(s->d, s->config, s->overrides, &lazy, &why) != STARTUP_OK)
                log_warnx("session %s: `spark` is not put back after the idle stop: %s", s->kernel_id,
                          why ? why : "out of memory");
        s->idle_stopping = true;
        session_run_stop_code_then(s, lazy);
        free(lazy);
        free(why);
}

/* Arms the idle release while the session is ready, has an idle_stop and
 * nothing runs; disarms it otherwise.  Called before every version bump:
 * idle_deadline changes only with these transitions. */
static void session_idle_sync(struct session *s) {
        bool want = s->state == S_READY && s->idle_stop > 0 && !s->active;
        if (want && !ev_is_active(&s->idle)) {
                ev_timer_set(&s->idle, (double)s->idle_stop, 0.);
                ev_timer_start(s->d->loop, &s->idle);
                s->idle_deadline = wall_now() + s->idle_stop;
        } else if (!want) {
                ev_timer_stop(s->d->loop, &s->idle);
                s->idle_deadline = 0;
        }
}

void session_note_activity(struct sparkd *d, const char *id, bool active) {
        struct session *s = session_find(d, id);
        if (!s || s->state != S_READY || s->active == active)
                return;
        s->active = active;
        if (s->idle_stop > 0) /* the deadline comes or goes */
                session_changed(s);
}

static void session_on_dead(void *data, const char *why) {
        struct session *s = data;
        log_info("session %s: %s", s->kernel_id, why);
        session_cancel_marker(s);
        session_drop_marker(s);
        s->k = kernel_close(s->k);
        s->cluster = cluster_stop(s->cluster);
        jvm_stop(&s->jvm);
        jvm_stop(&s->old_jvm);
        if (s->state == S_STARTING) {
                session_fail(s, "the kernel died while Spark was starting");
                return;
        }
        if (s->state != S_FAILED)
                s->state = S_STOPPED;
        session_set_str(&s->reason, "the kernel died or was shut down");
        session_changed(s);
}

/* Every execute_request's busy/idle (any client's): job progress. */
static void session_on_status(void *data, bool busy, const char *msg_id) {
        struct session *s = data;
        progress_kernel_status(s->d, s->kernel_id, busy, msg_id);
        if (busy)
                prewarm_user_busy(s->d); /* no warm-up's practice beside the user's work */
}

static const struct kernel_cbs kernel_callbacks = {.on_dead = session_on_dead, .on_status = session_on_status};

/* The handed-over driver JVM's output goes to the session's log (the
 * kernel does not see it); its death ends the session. */
static void jvm_on_line(void *data, struct proc *p, const char *line) {
        (void)p;
        session_log(data, line);
}

static void jvm_on_exit(void *data, struct proc *p, int status) {
        (void)p;
        struct session *s = data;
        char how[64], msg[128];
        s->jvm = NULL;
        proc_status_str(status, how, sizeof how);
        snprintf(msg, sizeof msg, "the Spark driver JVM exited (%s)", how);
        session_log(s, msg);
        if (s->state == S_STARTING || s->state == S_READY)
                session_fail(s, msg);
}

static const struct proc_cbs jvm_cbs = {.on_line = jvm_on_line, .on_exit = jvm_on_exit};

static void old_jvm_on_exit(void *data, struct proc *p, int status) {
        (void)p, (void)status;
        ((struct session *)data)->old_jvm = NULL;
}

static const struct proc_cbs old_jvm_cbs = {.on_exit = old_jvm_on_exit};

/* A free TCP port on 127.0.0.1 (bound and released: Spark retries the
 * next ports itself should it be taken meanwhile). */
static int free_port(void) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        int r = 0;
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
                r = -errno;
        close(fd);
        return r < 0 ? r : ntohs(sa.sin_port);
}

static struct session *session_free(struct session *s) {
        if (!s)
                return NULL;
        if (s->waiting_warm)
                prewarm_wait_cancel(s->d, s);
        ev_timer_stop(s->d->loop, &s->timeout);
        ev_timer_stop(s->d->loop, &s->idle);
        free(s->message);
        session_drop_marker(s);
        kernel_close(s->k);
        cluster_stop(s->cluster);
        jvm_stop(&s->jvm);
        jvm_stop(&s->old_jvm);
        json_decref(s->handover);
        free(s->config);
        json_decref(s->overrides);
        json_decref(s->info);
        json_decref(s->log);
        json_decref(s->hints);
        json_decref(s->summary);
        json_decref(s->slurm);
        free(s->error);
        free(s->hint);
        free(s->reason);
        sparkauth_clear(&s->auth);
        free(s);
        return NULL;
}

/* Drops the oldest ended sessions past SESSION_MAX. */
static void session_prune(struct sparkd *d) {
        size_t n = 0;
        for (struct session *s = d->sessions->list; s; s = s->next)
                n++;
        for (struct session **pp = &d->sessions->list; *pp && n > SESSION_MAX;) {
                struct session *s = *pp;
                if (s->state == S_STOPPED || s->state == S_FAILED) {
                        *pp = s->next;
                        session_free(s);
                        n--;
                } else {
                        pp = &s->next;
                }
        }
}

/* Allocates the UI port and the public UI path of s. */
static enum session_fail session_ui_setup(struct session *s, struct session_error *err) {
        int port = free_port();
        if (port < 0)
                return set_err(err, SESSION_NO_PORT, "no free port for the Spark UI: %s", strerror(-port));
        s->ui_port = port;
        const char *prefix = s->d->opts.public_prefix ? s->d->opts.public_prefix : "";
        snprintf(s->ui_path, sizeof s->ui_path, "%s/ui/%s/", prefix, s->kernel_id);
        return SESSION_OK;
}

/* spark.ui.port and spark.ui.proxyBase for s (a new object). */
static json_t *session_ui_conf(const struct session *s) {
        char port[16];
        snprintf(port, sizeof port, "%d", s->ui_port);
        json_t *c = json_pack("{s:s, s:s%}", "spark.ui.port", port, "spark.ui.proxyBase", s->ui_path,
                              strlen(s->ui_path) - 1);
        return c;
}

/* Python literal of a string, appended. */
static int append_lit(struct strbuf *sb, const char *str) {
        json_t *j = json_string(str);
        int r = j ? pylit_append(sb, j, (size_t)-1, NULL, 0) : -ENOMEM;
        json_decref(j);
        return r;
}

/* What run() gets for _sparkd.secure(): the UI key, the cluster's RPC
 * secret (a launched standalone cluster), and whether the master runs on
 * this host (then the driver binds to loopback). */
static json_t *session_secrets(const struct session *s) {
        const char *rpc = cluster_rpc_secret(s->cluster);
        json_t *o = json_pack("{s:s, s:b}", "ui_key", s->auth.ui_key, "loopback", s->cluster != NULL && !s->slurm);
        if (o && rpc)
                json_object_set_new(o, "auth_secret", json_string(rpc));
        return o;
}

/* The call that runs the rendered code: _sparkd.run(marker, code, name, ns,
 * gateway=..., secrets=...). */
static char *session_run_call(const struct session *s, const char *code) {
        struct strbuf call = STRBUF_INIT;
        char fname[128];
        snprintf(fname, sizeof fname, "<sparkd: start %s>", s->config);
        int r = sb_puts(&call, "__import__('_sparkd').run(");
        if (r == 0)
                r = append_lit(&call, s->marker);
        if (r == 0)
                r = sb_puts(&call, ", ");
        if (r == 0)
                r = append_lit(&call, code);
        if (r == 0)
                r = sb_puts(&call, ", ");
        if (r == 0)
                r = append_lit(&call, fname);
        if (r == 0)
                r = sb_puts(&call, ", globals()");
        if (r == 0 && s->handover) {
                r = sb_puts(&call, ", gateway=");
                if (r == 0)
                        r = pylit_append(&call, s->handover, (size_t)-1, NULL, 0);
        }
        json_t *secrets = r == 0 ? session_secrets(s) : NULL;
        if (r == 0)
                r = secrets ? sb_puts(&call, ", secrets=") : -ENOMEM;
        if (r == 0)
                r = pylit_append(&call, secrets, (size_t)-1, NULL, 0);
        json_decref(secrets);
        if (r == 0)
                r = sb_puts(&call, ")\n");
        char *full = r == 0 ? session_code(call.buf) : NULL;
        sb_free(&call);
        return full;
}

/* Renders the eager code for s (master replaces the configuration's when
 * not NULL; remote makes it a Spark Connect session) and sends it. */
static enum session_fail session_send_start(struct session *s, const char *master, const char *remote,
                                            struct session_error *err) {
        struct sparkd *d = s->d;
        json_t *vars = json_pack("{s:b, s:s, s:i, s:s}", "eager", 1, "kernel_id", s->kernel_id, "ui_port",
                                 s->ui_port, "ui_path", s->ui_path);
        if (vars && remote)
                json_object_set_new(vars, "remote", json_string(remote));
        json_t *patch = json_pack("{s:o}", "conf", remote ? json_object() : session_ui_conf(s));
        if (patch && master)
                json_object_set_new(patch, "master", json_string(master));
        char *code = NULL;
        enum startup_fail f = startup_render_ex(d, s->config, s->overrides, vars, patch, &code, &err->message);
        json_decref(vars);
        json_decref(patch);
        if (f != STARTUP_OK) {
                err->startup = f;
                return err->fail = SESSION_STARTUP;
        }
        snprintf(s->marker, sizeof s->marker, "%s/cancel-%s", d->opts.state_dir, s->kernel_id);
        unlink(s->marker);
        char *full = session_run_call(s, code);
        free(code);
        json_t *ue = json_pack("{s:s}", "sparkd", session_py_info_expr);
        int r = full ? kernel_execute(s->k, full, ue, &start_cbs, s, s->start_msg) : -ENOMEM;
        json_decref(ue);
        explicit_bzero(full, full ? strlen(full) : 0); /* it holds the session's secrets */
        free(full);
        if (r < 0)
                return set_err(err, SESSION_KERNEL_SEND, "cannot send the start request: %s", strerror(-r));
        s->waiting_for = "the kernel to finish its running cell";
        return SESSION_OK;
}

/* The same, for a start that continues after a launch: failures end the
 * session instead of answering a request. */
static void session_send_start_async(struct session *s, const char *master, const char *remote) {
        struct session_error err = {0};
        if (session_send_start(s, master, remote, &err) != SESSION_OK)
                session_fail(s, err.message ? err.message : "cannot send the start request");
        else
                session_changed(s);
        session_error_clear(&err);
}

static void launch_on_ready(void *data, const char *url) {
        struct session *s = data;
        if (s->state != S_STARTING)
                return;
        session_log(s, "sparkd: the cluster is ready");
        if (!strncmp(url, "sc://", 5))
                session_send_start_async(s, NULL, url);
        else
                session_send_start_async(s, url, NULL);
}

static void launch_on_failed(void *data, const char *message) {
        struct session *s = data;
        if (s->state == S_STARTING)
                session_fail(s, message);
}

static void launch_on_exit(void *data, const char *message) {
        struct session *s = data;
        session_log(s, message);
        if (s->state == S_STARTING || s->state == S_READY) {
                char msg[512];
                snprintf(msg, sizeof msg, "the Spark cluster stopped: %s", message);
                session_fail(s, msg);
        }
}

static void launch_on_output(void *data, const char *line) { session_log(data, line); }

static void launch_on_waiting(void *data, const char *what) {
        struct session *s = data;
        if (s->state != S_STARTING)
                return;
        snprintf(s->waiting_buf, sizeof s->waiting_buf, "%s", what);
        const char *jid = cluster_job_id(s->cluster);
        if (s->slurm && jid && *jid)
                json_object_set_new(s->slurm, "job_id", json_string(jid));
        s->waiting_for = s->waiting_buf;
        session_changed(s);
}

static const struct cluster_cbs launch_cbs = {
        .on_ready = launch_on_ready,
        .on_failed = launch_on_failed,
        .on_exit = launch_on_exit,
        .on_output = launch_on_output,
        .on_waiting = launch_on_waiting,
};

/* Renders the batch script of a `launch: {type: slurm}` configuration
 * (launch.script) with the session's choices: {job: {kernel_id, config,
 * nodes, cores_per_node, memory_mb, worker_memory_mb, time_minutes,
 * partition, account, qos, dir}}.  Returns the text or NULL with *why. */
static char *session_slurm_script(struct session *s, const struct cfg_entry *e, json_t *launch, const char *dir,
                                  char **why) {
        unsigned long long bytes = 0;
        unsigned secs = 0;
        char dwhy[96];
        memsize_parse(json_string_value(json_object_get(launch, "memory_per_node")), &bytes);
        duration_of_json(json_object_get(launch, "time"), &secs, dwhy, sizeof dwhy);
        long long mb = (long long)(bytes >> 20), worker = mb - 1024 < 512 ? (mb > 1024 ? mb / 2 : 512) : mb - 1024;
        json_t *job = json_pack("{s:s, s:s, s:O, s:O, s:I, s:I, s:I, s:O, s:O, s:O, s:s}", "kernel_id", s->kernel_id,
                                "config", s->config, "nodes", json_object_get(launch, "nodes"), "cores_per_node",
                                json_object_get(launch, "cores_per_node"), "memory_mb", (json_int_t)mb,
                                "worker_memory_mb", (json_int_t)worker, "time_minutes",
                                (json_int_t)((secs + 59) / 60), "partition", json_object_get(launch, "partition"),
                                "account", json_object_get(launch, "account"), "qos", json_object_get(launch, "qos"),
                                "dir", dir);
        json_t *ctx = job ? json_pack("{s:o}", "job", job) : NULL;
        struct tmpl_err terr = {0};
        char *out = NULL;
        int r = ctx ? tmpl_render(e->job_tmpl, ctx, &out, NULL, &terr) : -ENOMEM;
        json_decref(ctx);
        if (r < 0) {
                *why = strdupf("the batch script %s did not render: %d:%d: %s",
                               json_string_value(json_object_get(launch, "script")), terr.line, terr.col,
                               r == -ENOMEM ? "out of memory" : terr.msg);
                return NULL;
        }
        return out;
}

/* Starts what the configuration's `launch` asks for; the start code
 * follows in launch_on_ready. */
static enum session_fail session_launch(struct session *s, const struct cfg_entry *e, json_t *launch,
                                        struct session_error *err) {
        const char *type = json_string_value(json_object_get(launch, "type"));
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/clusters/%s", s->d->opts.state_dir, s->kernel_id);
        bool slurm = !strcmp(type, "slurm");
        char *script = NULL, *swhy = NULL;
        json_t *sl = slurm ? cfg_launch_of(e, s->overrides) : NULL;
        if (slurm) {
                script = sl && e->job_tmpl ? session_slurm_script(s, e, sl, dir, &swhy) : NULL;
                if (!script) {
                        set_err(err, SESSION_LAUNCH_FAILED, "%s", swhy ? swhy : "cannot render the batch script");
                        free(swhy);
                        json_decref(sl);
                        return err->fail;
                }
                json_object_del(sl, "type");
                json_object_del(sl, "script");
                json_decref(s->slurm);
                s->slurm = sl;
        }
        unsigned tl = 0;
        char dwhy[96];
        if (slurm)
                duration_of_json(json_object_get(sl, "time"), &tl, dwhy, sizeof dwhy);
        struct cluster_spec spec = {
                .kind = slurm ? CLUSTER_SLURM : !strcmp(type, "connect") ? CLUSTER_CONNECT : CLUSTER_STANDALONE,
                .script = script,
                .nodes = slurm ? (int)json_integer_value(json_object_get(sl, "nodes")) : 0,
                .time_limit = tl,
                .spark_home = s->d->opts.spark_home,
                .work_dir = dir,
                .workers = (int)json_integer_value(json_object_get(launch, "workers")),
                .worker_cores = (int)json_integer_value(json_object_get(launch, "worker_cores")),
                .worker_memory = json_string_value(json_object_get(launch, "worker_memory")),
                .env = json_object_get(e->doc, "env"),
        };
        json_t *conf = NULL;
        if (spec.kind == CLUSTER_CONNECT) {
                /* the server holds the driver: its UI is the session's UI */
                conf = json_deep_copy(json_object_get(e->doc, "conf"));
                json_object_update(conf, s->overrides);
                json_object_del(conf, CFG_IDLE_STOP); /* the daemon's, not the server's */
                json_t *ui = session_ui_conf(s);
                json_object_update(conf, ui);
                json_decref(ui);
                json_object_set(conf, "spark.master", json_object_get(e->doc, "master"));
                spec.conf = conf;
        }
        char *why = NULL;
        int r = cluster_start(s->d->loop, &spec, &launch_cbs, s, &s->cluster, &why);
        json_decref(conf);
        free(script);
        if (r == 0) { /* the logs of the last few ended clusters stay for the admin */
                char parent[PATH_MAX];
                snprintf(parent, sizeof parent, "%s/clusters", s->d->opts.state_dir);
                int pr = cluster_prune_dirs(parent, CLUSTER_KEEP_DIRS);
                if (pr < 0)
                        log_errno(pr, "cannot remove old cluster directories in %s", parent);
        }
        if (r < 0) {
                set_err(err, SESSION_LAUNCH_FAILED, "%s", why ? why : "cannot start the Spark cluster");
                free(why);
                return err->fail;
        }
        s->waiting_for = spec.kind == CLUSTER_CONNECT ? "the Spark Connect server to start"
                         : slurm                      ? "the Slurm job to be submitted"
                                                      : "the Spark cluster to start";
        return SESSION_OK;
}

/* Unlinks s from the list (if there) and frees it. */
static void session_remove(struct session *s) {
        for (struct session **pp = &s->d->sessions->list; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        session_free(s);
}

static struct session *session_new(struct sparkd *d, const char *kid, const char *config, json_t *ov,
                                   const struct cfg_entry *e) {
        struct session *s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        s->d = d;
        snprintf(s->kernel_id, sizeof s->kernel_id, "%s", kid);
        s->config = strdup(config);
        s->overrides = ov ? json_deep_copy(ov) : json_object();
        s->log = json_array();
        s->hints = json_incref(json_object_get(e->doc, "error_hints"));
        s->summary = cfg_summary(e);
        s->state = S_STARTING;
        s->started_at = wall_now();
        ev_timer_init(&s->timeout, session_timeout_cb, d->opts.start_timeout, 0.);
        s->idle_stop = cfg_idle_stop(e, s->overrides);
        ev_timer_init(&s->idle, session_idle_cb, 0., 0.);
        if (!s->config || !s->overrides || !s->log)
                return session_free(s);
        return s;
}

/* The session's kernel: the old session's connection when it had one
 * (a restart keeps it: no new slow-joiner wait), else a new one. */
static enum session_fail session_attach_kernel(struct session *s, struct session *old,
                                               struct session_error *err) {
        struct sparkd *d = s->d;
        if (old && old->k && !kernel_is_dead(old->k)) {
                s->k = old->k;
                old->k = NULL;
                if (old->start_msg[0])
                        kernel_forget(s->k, old->start_msg);
                if (old->stop_msg[0])
                        kernel_forget(s->k, old->stop_msg);
                kernel_set_owner(s->k, &kernel_callbacks, s);
                if (old->jvm) { /* the start code stops its Spark first: then it goes */
                        s->old_jvm = old->jvm;
                        old->jvm = NULL;
                        proc_set_owner(s->old_jvm, &old_jvm_cbs, s);
                }
                return SESSION_OK;
        }
        char *why = NULL;
        int r = kernel_open(d->loop, d->opts.runtime_dir, s->kernel_id, &kernel_callbacks, s, &s->k, &why);
        if (r == 0)
                return SESSION_OK;
        set_err(err, r == -ENOENT ? SESSION_KERNEL_NOT_FOUND : r == -ELIBACC ? SESSION_LIBRARY_MISSING
                                                                            : SESSION_KERNEL_UNUSABLE,
                "%s", why ? why : "cannot connect to the kernel");
        free(why);
        return err->fail;
}

/* A warm JVM whose SparkContext was created ahead (its handover's
 * "context": the UI secrets it was created with) gives s those secrets:
 * the UI proxy's token must be the one that context's UI filter accepts.
 * The kernel learns only that there is a context (adopt_context in
 * daemon/py/sparkd_helpers.py); it gets the key with the session's secrets. */
static void session_adopt_context(struct session *s) {
        json_t *c = json_object_get(s->handover, "context");
        if (!json_is_object(c))
                return;
        const char *key = json_string_value(json_object_get(c, "ui_key"));
        const char *token = json_string_value(json_object_get(c, "ui_token"));
        if (key && token && strlen(key) < sizeof s->auth.ui_key && strlen(token) < sizeof s->auth.ui_token) {
                snprintf(s->auth.ui_key, sizeof s->auth.ui_key, "%s", key);
                snprintf(s->auth.ui_token, sizeof s->auth.ui_token, "%s", token);
                json_object_set_new(s->handover, "context", json_true());
        } else {
                json_object_del(s->handover, "context"); /* the kernel creates its own */
        }
}

/* The warm JVM a start waited for arrived (p), or will not (NULL): the
 * start goes on — a click sends its start code, a lazy start's kernel
 * gets its answer (the API layer follows the change). */
static void session_warm_arrived(void *data, struct proc *p, json_t *handover) {
        struct session *s = data;
        s->waiting_warm = false;
        if (s->state != S_STARTING) { /* stopped meanwhile: not wanted */
                jvm_stop(&p);
                json_decref(handover);
                return;
        }
        if (p) {
                s->jvm = p;
                s->handover = handover;
                s->jvm_pid = (int)proc_pid(p);
                session_adopt_context(s);
        }
        if (s->lazy) {
                s->waiting_for = "Spark to start";
                session_changed(s);
        } else {
                session_send_start_async(s, NULL, NULL);
        }
}

/* A warm driver JVM for s: a ready one now, or one still starting later
 * (s->waiting_warm) rather than a second JVM beside it. */
static void session_take_jvm(struct session *s, const struct cfg_entry *e) {
        s->jvm = prewarm_take(s->d, e, s->overrides, &jvm_cbs, s, &s->handover);
        s->jvm_pid = s->jvm ? (int)proc_pid(s->jvm) : 0;
        session_adopt_context(s);
        if (!s->jvm && prewarm_wait(s->d, e, s->overrides, &jvm_cbs, s, session_warm_arrived)) {
                s->waiting_warm = true;
                s->waiting_for = "the warm Spark driver to be ready";
        }
}

/* A lazy start: a warm JVM when one is ready, the UI port and path; the
 * kernel gets them in the answer (session_lazy_start) and reports back. */
static enum session_fail session_begin_lazy(struct session *s, const struct cfg_entry *e,
                                            struct session_error *err) {
        struct sparkd *d = s->d;
        if (json_is_object(json_object_get(e->doc, "launch")))
                return set_err(err, SESSION_INVALID_REQUEST,
                               "configuration %s starts its own cluster: it has no lazy spark (click Start Spark)",
                               s->config);
        s->lazy = true;
        prewarm_touch(d); /* first: a warm JVM not yet launched (the start delay) starts now */
        session_take_jvm(s, e);
        enum session_fail f = session_ui_setup(s, err);
        if (f == SESSION_OK && !s->waiting_warm)
                s->waiting_for = "Spark to start";
        return f;
}

/* What a lazy start's kernel needs (see session_start), or NULL. */
static json_t *session_lazy_start(const struct session *s) {
        return json_pack("{s:i, s:s, s:o, s:o, s:O?}", "ui_port", s->ui_port, "ui_path", s->ui_path, "conf",
                         session_ui_conf(s), "secrets", session_secrets(s), "gateway", s->handover);
}

/* Takes a warm JVM or Connect server when one is ready, then sends the
 * start code or launches the configuration's cluster. */
static enum session_fail session_begin(struct session *s, const struct cfg_entry *e,
                                       struct session_error *err) {
        struct sparkd *d = s->d;
        json_t *launch = json_object_get(e->doc, "launch");
        char *warm_url = NULL;
        prewarm_touch(d); /* first: a warm JVM not yet launched (the start delay) starts now */
        if (!json_is_object(launch)) { /* a warm driver JVM: a ready one, or one almost */
                session_take_jvm(s, e);
        } else { /* a warm Connect server, when the configuration has one ready */
                s->cluster = prewarm_take_connect(d, e, s->overrides, &launch_cbs, s, &warm_url);
                s->warm_server = s->cluster != NULL;
        }
        enum session_fail f = session_ui_setup(s, err);
        if (f == SESSION_OK && s->warm_server) { /* the server's UI is the session's */
                s->ui_port = cluster_ui_port(s->cluster);
                log_info("session %s: attaching to the warm Spark Connect server", s->kernel_id);
        }
        if (f == SESSION_OK && !s->waiting_warm) /* else session_warm_arrived sends it */
                f = s->warm_server             ? session_send_start(s, NULL, warm_url, err)
                    : json_is_object(launch) ? session_launch(s, e, launch, err)
                                               : session_send_start(s, NULL, NULL, err);
        if (warm_url) {
                explicit_bzero(warm_url, strlen(warm_url));
                free(warm_url);
        }
        return f;
}

enum session_fail session_start(struct sparkd *d, const struct session_start_req *req, json_t **ret,
                                struct session_error *err) {
        memset(err, 0, sizeof *err);
        if (!req->config || !cfg_name_valid(req->config))
                return set_err(err, SESSION_INVALID_NAME, "'config' must be a configuration name");
        if (!req->kernel_id || !kernel_id_valid(req->kernel_id))
                return set_err(err, SESSION_INVALID_KERNEL, "'kernel_id' must be a kernel id (a UUID)");
        if (req->overrides && !json_is_object(req->overrides))
                return set_err(err, SESSION_INVALID_REQUEST, "'overrides' must be an object");
        struct session *old = session_find(d, req->kernel_id);
        if (old && (old->state == S_STARTING || old->state == S_READY || old->state == S_STOPPING) &&
            !req->restart)
                return set_err(err, SESSION_EXISTS,
                               "kernel %s already has a Spark session; stop it or start with \"restart\": true",
                               req->kernel_id);
        /* Validate (the configuration, the overrides, the template) before
         * touching the kernel; the lazy code is written once the click's
         * request has left. */
        char *lazy = NULL;
        enum startup_fail sf = startup_render(d, req->config, req->overrides, &lazy, &err->message);
        if (sf != STARTUP_OK) {
                err->startup = sf;
                return err->fail = SESSION_STARTUP;
        }
        const struct cfg_entry *e = cfg_find(d->cfgs, req->config);
        struct session *s = session_new(d, req->kernel_id, req->config, req->overrides, e);
        if (!s) {
                free(lazy);
                return set_err(err, SESSION_NOMEM, "out of memory");
        }
        int r = sparkauth_new(&s->auth);
        enum session_fail f = r == 0 ? SESSION_OK
                              : set_err(err, r == -ELIBACC ? SESSION_LIBRARY_MISSING : SESSION_NO_SECRETS,
                                        "cannot make the session's secrets: %s",
                                        r == -ELIBACC ? dl_error() : strerror(-r));
        if (f == SESSION_OK)
                f = session_attach_kernel(s, old, err);
        if (f != SESSION_OK) {
                session_free(s);
                free(lazy);
                return f;
        }
        if (old)
                session_remove(old); /* its processes stop; run() stops its Spark first */
        s->next = d->sessions->list;
        d->sessions->list = s;
        f = req->lazy ? session_begin_lazy(s, e, err) : session_begin(s, e, err);
        if (f != SESSION_OK) {
                session_remove(s);
                free(lazy);
                return f;
        }
        /* New kernels get this selection too.  Written after the request
         * left: the running kernel does not read the file, and the fsyncs
         * would delay its start.  (A lazy start came from that file.) */
        char *why = NULL;
        if (!req->lazy && startup_select_rendered(d, req->config, req->overrides, lazy, &why) != STARTUP_OK) {
                log_warnx("session %s: the startup file was not updated: %s", s->kernel_id, why ? why : "?");
                free(why);
        }
        free(lazy);
        session_prune(d);
        ev_timer_start(d->loop, &s->timeout);
        log_info("session %s: %s configuration '%s'", s->kernel_id,
                 req->lazy ? "the kernel's lazy spark starts" : "starting", req->config);
        session_changed(s);
        *ret = session_json(s);
        if (*ret && req->lazy && !s->waiting_warm &&
            json_object_set_new(*ret, "start", session_lazy_start(s)) < 0) {
                json_decref(*ret);
                *ret = NULL;
        }
        return *ret ? SESSION_OK : set_err(err, SESSION_NOMEM, "out of memory");
}

json_t *session_list_json(struct sparkd *d) {
        json_t *arr = json_array();
        for (struct session *s = d->sessions->list; arr && s; s = s->next)
                json_array_append_new(arr, session_json(s));
        return arr ? json_pack("{s:I, s:o}", "version", (json_int_t)d->sessions->version, "sessions", arr) : NULL;
}

json_t *session_json_of(struct sparkd *d, const char *id) {
        struct session *s = session_find(d, id);
        return s ? session_json(s) : NULL;
}

unsigned long session_version(struct sparkd *d, const char *id) {
        if (!id)
                return d->sessions->version;
        struct session *s = session_find(d, id);
        return s ? s->version : 0;
}

unsigned long session_list_serial(struct sparkd *d) {
        return d->sessions->serial;
}

/* The session of kernel id for a request on it, or NULL with err set
 * (an id that is not a kernel's, or no session). */
static struct session *session_lookup(struct sparkd *d, const char *id, struct session_error *err) {
        memset(err, 0, sizeof *err);
        if (!kernel_id_valid(id)) {
                set_err(err, SESSION_INVALID_KERNEL, "a session id is its kernel's id (a UUID)");
                return NULL;
        }
        struct session *s = session_find(d, id);
        if (!s)
                set_err(err, SESSION_NOT_FOUND, "no Spark session for kernel %s", id);
        return s;
}

enum session_fail session_stop(struct sparkd *d, const char *id, json_t **ret, struct session_error *err) {
        struct session *s = session_lookup(d, id, err);
        if (!s)
                return err->fail;
        switch (s->state) {
        case S_STARTING:
                session_stop_timer(s);
                if (s->waiting_for && !strcmp(s->waiting_for, "Spark to start")) {
                        /* the start code runs: stop right after it */
                        s->stop_requested = true;
                        s->state = S_STOPPING;
                } else {
                        session_cancel_marker(s);
                        if (s->waiting_warm)
                                prewarm_wait_cancel(d, s);
                        s->waiting_warm = false;
                        s->cluster = cluster_stop(s->cluster);
                        jvm_stop(&s->jvm);
                        s->state = S_STOPPED;
                        session_set_str(&s->reason, "cancelled");
                }
                session_changed(s);
                break;
        case S_READY:
                session_run_stop_code(s);
                break;
        default:
                break; /* stopping, stopped or failed: nothing more to do */
        }
        *ret = session_json(s);
        return *ret ? SESSION_OK : set_err(err, SESSION_NOMEM, "out of memory");
}

json_t *session_lazy_answer(struct sparkd *d, const char *id) {
        struct session *s = session_find(d, id);
        if (!s || (s->state == S_STARTING && s->waiting_warm))
                return NULL;
        json_t *o = session_json(s);
        if (o && s->lazy && s->state == S_STARTING)
                json_object_set_new(o, "start", session_lazy_start(s));
        return o;
}

enum session_fail session_report(struct sparkd *d, const char *id, json_t *body, json_t **ret,
                                 struct session_error *err) {
        struct session *s = session_lookup(d, id, err);
        if (!s)
                return err->fail;
        if (!s->lazy || s->state != S_STARTING)
                return set_err(err, SESSION_NOT_STARTING,
                               "the session of kernel %s is %s, not a lazy start waiting for its report", id,
                               state_names[s->state]);
        json_t *info = json_object_get(body, "info"), *log = json_object_get(body, "log");
        const char *error = json_string_value(json_object_get(body, "error"));
        if (!json_is_object(info) == !error || (log && !json_is_array(log)))
                return set_err(err, SESSION_INVALID_REQUEST,
                               "a report has either 'info' (an object) or 'error' (a sentence), and 'log' (lines)");
        size_t i;
        json_t *line;
        json_array_foreach(log, i, line) {
                if (json_is_string(line))
                        session_log(s, json_string_value(line));
        }
        if (error) {
                session_fail(s, error);
        } else {
                json_decref(s->info);
                s->info = json_incref(info);
                session_started(s);
        }
        *ret = session_json(s);
        return *ret ? SESSION_OK : set_err(err, SESSION_NOMEM, "out of memory");
}

void session_shutdown(struct sparkd *d) {
        for (struct session *s = d->sessions ? d->sessions->list : NULL; s; s = s->next) {
                session_cancel_marker(s);
                s->k = kernel_close(s->k);
                s->cluster = cluster_stop(s->cluster);
                jvm_stop(&s->jvm);
                jvm_stop(&s->old_jvm);
        }
}

void sessions_free(struct sparkd *d) {
        if (!d->sessions)
                return;
        while (d->sessions->list) {
                struct session *s = d->sessions->list;
                d->sessions->list = s->next;
                session_free(s);
        }
        free(d->sessions);
        d->sessions = NULL;
}

const char *session_progress_info(struct sparkd *d, const char *id, const char **ret_app_id,
                                  const char **ret_ui_path) {
        struct session *s = session_find(d, id);
        if (!s)
                return NULL;
        if (ret_app_id)
                *ret_app_id = s->state == S_READY ? json_string_value(json_object_get(s->info, "app_id")) : NULL;
        if (ret_ui_path)
                *ret_ui_path = s->state == S_READY && s->ui_port > 0 ? s->ui_path : NULL;
        return state_names[s->state];
}

bool session_ui_asked(struct sparkd *d, const char *id) {
        struct session *s = session_find(d, id);
        return s && s->state == S_READY && json_is_true(json_object_get(s->info, "context_ahead"));
}

void session_touch(struct sparkd *d, const char *id) {
        struct session *s = session_find(d, id);
        if (s)
                session_changed(s);
}

