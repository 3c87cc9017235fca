/* progress.c — polls each active session's Spark REST API (progress.h).
 *
 * One struct psess per kernel: its busy windows, the jobs seen (an object
 * id → compact job), the executors, the published answer and its version.
 * A tick is a chain of requests, one at a time, over a non-blocking
 * HTTP/1.0 connection to 127.0.0.1:<UI port>; the chain's end publishes
 * and schedules the next tick only while the kernel is busy or jobs run
 * (one final sweep after both ended), so an idle daemon has no timer. */
#include "progress.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kmsg.h"
#include "log.h"
#include "netown.h"
#include "session.h"
#include "strbuf.h"

#define PROGRESS_WINDOWS 32u /* busy windows kept for attribution */
#define PROGRESS_TODO    16u /* jobs/<id> asked at most per tick */
#define PROGRESS_PROBES  8u  /* ids past the highest seen asked in a final sweep */
#define PROGRESS_MSG_ID  96u
#define PROGRESS_FAILS   10u /* failed requests in a row after which running jobs are given up */

enum rkind { R_RUNNING, R_JOB, R_PROBE, R_STAGES, R_EXECUTORS };

struct pwin {
        char msg_id[PROGRESS_MSG_ID];
        double start, end; /* end 0: still busy */
};

struct psess {
        char kernel_id[KMSG_UUID_LEN + 1];
        struct sparkd *d;
        bool busy;
        struct pwin wins[PROGRESS_WINDOWS];
        unsigned nwin;
        char app_id[128];
        char ui_path[512];
        int port;
        json_t *jobs;      /* "id" → compact job (progress_job_from_spark) */
        json_t *executors; /* or NULL until fetched */
        json_int_t max_seen;
        unsigned failed;  /* jobs seen failing */
        char *answer;     /* the published answer, serialized without its version */
        unsigned long version;
        int running;
        bool active, polling, final, warned;
        bool ready;       /* the session was ready at the last change */
        bool answered;    /* its UI answered a request (its REST service is initialised) */
        unsigned ticks, fails;
        double polled_at; /* when the last tick began: running jobs' durations count to it */
        ev_timer tick;
        /* the tick's remaining work */
        json_int_t todo[PROGRESS_TODO];
        unsigned ntodo, probes_left;
        json_int_t probe;
        bool want_stages, want_executors;
        /* the request in flight (fd >= 0) */
        int fd;
        bool connected;
        enum rkind kind;
        json_int_t job_id;
        ev_io io;
        ev_timer rto;
        struct strbuf out, in;
        size_t out_off;
        struct psess *next;
};

/* d->progress */
struct progress {
        struct psess *list;
        unsigned long version;
        unsigned long polls, requests, failures;
        bool disabled;
};

static double wall_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int progress_init(struct sparkd *d) {
        d->progress = calloc(1, sizeof *d->progress);
        if (!d->progress)
                return -ENOMEM;
        const char *env = getenv("SPARKD_PROGRESS");
        d->progress->disabled = env && (!strcmp(env, "0") || !strcmp(env, "off"));
        if (d->progress->disabled)
                log_info("live job progress is off (SPARKD_PROGRESS=%s)", env);
        return 0;
}

static void psess_stop(struct psess *p);

/* Unlinks and frees p. */
static void psess_free(struct psess *p) {
        for (struct psess **pp = &p->d->progress->list; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        psess_stop(p);
        json_decref(p->jobs);
        json_decref(p->executors);
        free(p->answer);
        free(p);
}

static struct psess *psess_find(struct sparkd *d, const char *id) {
        for (struct psess *p = d->progress ? d->progress->list : NULL; p; p = p->next)
                if (!strcasecmp(p->kernel_id, id))
                        return p;
        return NULL;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void rto_cb(struct ev_loop *loop, ev_timer *w, int revents);

static struct psess *psess_get(struct sparkd *d, const char *id) {
        struct psess *p = psess_find(d, id);
        if (p || !d->progress)
                return p;
        p = calloc(1, sizeof *p);
        if (!p || !(p->jobs = json_object())) {
                free(p);
                return NULL;
        }
        snprintf(p->kernel_id, sizeof p->kernel_id, "%s", id);
        p->d = d;
        p->fd = -1;
        p->max_seen = -1;
        ev_timer_init(&p->tick, tick_cb, 0., 0.);
        ev_timer_init(&p->rto, rto_cb, PROGRESS_TIMEOUT, 0.);
        p->next = d->progress->list;
        d->progress->list = p;
        return p;
}

/* Ends the request in flight, if any. */
static void req_close(struct psess *p) {
        if (p->fd < 0)
                return;
        ev_io_stop(p->d->loop, &p->io);
        ev_timer_stop(p->d->loop, &p->rto);
        close(p->fd);
        p->fd = -1;
        if (p->out.buf)
                explicit_bzero(p->out.buf, p->out.len); /* it holds the token */
        sb_free(&p->out);
        sb_free(&p->in);
}

/* Forgets the session's jobs (a new application, or no longer ready). */
static void psess_clear(struct psess *p) {
        json_object_clear(p->jobs);
        json_decref(p->executors);
        p->executors = NULL;
        p->max_seen = -1;
        p->failed = 0;
        p->running = 0;
        p->ticks = 0;
        p->answered = false;
        p->app_id[0] = '\0';
}

/* The busy window of msg_id that holds t, or NULL. */
static const char *window_of(const struct psess *p, double t) {
        unsigned n = p->nwin < PROGRESS_WINDOWS ? p->nwin : PROGRESS_WINDOWS;
        for (unsigned i = 0; i < n; i++) {
                const struct pwin *w = &p->wins[i];
                if (w->start - 0.05 <= t && (w->end == 0 || t <= w->end + 0.05))
                        return w->msg_id;
        }
        return NULL;
}

/* Adds or updates one compact job (taken). */
static void job_upsert(struct psess *p, json_t *job) {
        json_int_t id = json_integer_value(json_object_get(job, "id"));
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)id);
        json_t *old = json_object_get(p->jobs, key);
        if (json_is_null(json_object_get(job, "msg_id"))) {
                json_t *prev = old ? json_object_get(old, "msg_id") : NULL;
                const char *w = NULL;
                if (prev && !json_is_null(prev))
                        json_object_set(job, "msg_id", prev);
                else if (json_is_real(json_object_get(job, "submitted_at")) &&
                         (w = window_of(p, json_real_value(json_object_get(job, "submitted_at")))))
                        json_object_set_new(job, "msg_id", json_string(w));
        }
        if (old && json_is_null(json_object_get(job, "cell_id")))
                json_object_set(job, "cell_id", json_object_get(old, "cell_id"));
        if (old && json_object_get(old, "error"))
                json_object_set(job, "error", json_object_get(old, "error"));
        const char *st = json_string_value(json_object_get(job, "status"));
        const char *ost = old ? json_string_value(json_object_get(old, "status")) : NULL;
        if (!strcmp(st, "failed") && (!ost || strcmp(ost, "failed"))) {
                p->failed++;
                p->want_stages = true;
        }
        if (id > p->max_seen)
                p->max_seen = id;
        json_object_set_new(p->jobs, key, job);
}

/* Keeps the newest PROGRESS_MAX_JOBS jobs (running ones stay). */
static void jobs_prune(struct psess *p) {
        while (json_object_size(p->jobs) > PROGRESS_MAX_JOBS) {
                const char *key, *oldest = NULL;
                json_int_t min = 0;
                json_t *job;
                json_object_foreach(p->jobs, key, job) {
                        json_int_t id = json_integer_value(json_object_get(job, "id"));
                        if (strcmp(json_string_value(json_object_get(job, "status")), "running") &&
                            (!oldest || id < min))
                                oldest = key, min = id;
                }
                if (!oldest)
                        return;
                json_object_del(p->jobs, oldest);
        }
}

static int job_cmp(const void *a, const void *b) {
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
        return x < y ? 1 : x > y ? -1 : 0;
}

/* One job as the API shows it (a new reference). */
static json_t *job_view(const struct psess *p, json_t *job, double now) {
        json_t *v = json_deep_copy(job);
        if (!v)
                return NULL;
        json_object_del(v, "stage_ids");
        json_t *sub = json_object_get(job, "submitted_at"), *done = json_object_get(job, "completed_at");
        double end = json_is_real(done) ? json_real_value(done) : now;
        json_object_set_new(v, "duration", json_is_real(sub) ? json_real(end > json_real_value(sub)
                                                                         ? end - json_real_value(sub) : 0.)
                                                           : json_null());
        if (!json_object_get(v, "error"))
                json_object_set_new(v, "error", json_null());
        char path[600];
        snprintf(path, sizeof path, "%sjobs/job/?id=%lld", p->ui_path,
                 (long long)json_integer_value(json_object_get(job, "id")));
        json_object_set_new(v, "ui_path", p->ui_path[0] ? json_string(path) : json_null());
        return v;
}

/* The answer of p without its version (a new reference), or NULL. */
static json_t *psess_answer(const struct psess *p, const char *state) {
        size_t n = json_object_size(p->jobs), i = 0;
        json_t **all = n ? calloc(n, sizeof *all) : NULL;
        const char *key;
        json_t *job;
        json_object_foreach(p->jobs, key, job) all[i++] = job;
        if (n)
                qsort(all, n, sizeof *all, job_cmp);
        json_t *jobs = json_array();
        json_int_t running = 0, done = 0, total = 0;
        double now = p->polled_at; /* not the clock: publishing again changes nothing */
        for (i = 0; i < n && jobs; i++) {
                json_array_append_new(jobs, job_view(p, all[i], now));
                if (strcmp(json_string_value(json_object_get(all[i], "status")), "running"))
                        continue;
                json_t *t = json_object_get(all[i], "tasks");
                running++;
                total += json_integer_value(json_object_get(t, "total"));
                done += json_integer_value(json_object_get(t, "done")) + json_integer_value(json_object_get(t, "skipped"));
        }
        free(all);
        json_int_t percent = total > 0 ? (done >= total ? 100 : done * 100 / total) : 0;
        return json_pack("{s:s, s:s, s:b, s:o, s:O?, s:{s:I, s:I, s:I, s:I, s:I}}", "kernel_id", p->kernel_id,
                         "state", state ? state : "stopped", "polling", p->polling, "jobs", jobs ? jobs : json_array(),
                         "executors", p->executors, "summary", "running", running, "failed", (json_int_t)p->failed,
                         "tasks_done", done, "tasks_total", total, "percent", percent);
}

/* Republishes p's answer: a change bumps its version and answers the
 * long polls waiting for it. */
static void publish(struct psess *p) {
        struct sparkd *d = p->d;
        const char *state = session_progress_info(d, p->kernel_id, NULL, NULL);
        json_t *a = psess_answer(p, state);
        char *text = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(a);
        if (!text || (p->answer && !strcmp(text, p->answer))) {
                free(text);
                return;
        }
        free(p->answer);
        p->answer = text;
        p->version = ++d->progress->version;
        if (d->sessions_changed)
                d->sessions_changed(d);
}

/* Tells the session (jobs_running) and idle release (activity) what changed. */
static void psess_notify(struct psess *p, bool ready) {
        int running = 0;
        const char *key;
        json_t *job;
        json_object_foreach(p->jobs, key, job) running +=
                !strcmp(json_string_value(json_object_get(job, "status")), "running");
        bool active = ready && (p->busy || running > 0);
        bool touch = running != p->running;
        p->running = running;
        if (active != p->active) {
                p->active = active;
                session_note_activity(p->d, p->kernel_id, active);
        }
        if (touch)
                session_touch(p->d, p->kernel_id);
}

/* The delay of a tick that starts polling: PROGRESS_COLD_DELAY while the
 * session's UI has never been asked (see progress.h). */
static double start_delay(struct psess *p) {
        if (!p->answered && session_ui_asked(p->d, p->kernel_id))
                p->answered = true;
        return p->answered ? 0. : PROGRESS_COLD_DELAY;
}

static void psess_schedule(struct psess *p, double delay) {
        if (p->d->progress->disabled || p->fd >= 0 || ev_is_active(&p->tick))
                return;
        p->polling = true;
        ev_timer_set(&p->tick, delay, 0.);
        ev_timer_start(p->d->loop, &p->tick);
}

/* Polling ends (the session is not ready, or nothing is active). */
static void psess_stop(struct psess *p) {
        req_close(p);
        ev_timer_stop(p->d->loop, &p->tick);
        p->polling = false;
}

static void tick_end(struct psess *p);
static void req_start(struct psess *p, enum rkind kind, json_int_t job_id);

/* The next request of the tick, or its end. */
static void tick_next(struct psess *p) {
        if (p->ntodo > 0)
                req_start(p, R_JOB, p->todo[--p->ntodo]);
        else if (p->probe >= 0 && p->probes_left > 0)
                p->probes_left--, req_start(p, R_PROBE, p->probe);
        else if (p->want_stages)
                p->want_stages = false, req_start(p, R_STAGES, -1);
        else if (p->want_executors)
                p->want_executors = false, req_start(p, R_EXECUTORS, -1);
        else
                tick_end(p);
}

static bool app_id_valid(const char *s) {
        if (!s || !*s || strlen(s) >= 128)
                return false;
        for (; *s; s++)
                if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
                      strchr("_.-", *s)))
                        return false;
        return true;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        struct psess *p = (struct psess *)((char *)w - offsetof(struct psess, tick));
        struct sparkd *d = p->d;
        const char *app = NULL, *ui_path = NULL, *token = NULL;
        const char *state = session_progress_info(d, p->kernel_id, &app, &ui_path);
        int port = 0;
        if (!state || strcmp(state, "ready") || session_ui_target(d, p->kernel_id, &port, &token) < 0 ||
            !app_id_valid(app)) {
                psess_stop(p);
                publish(p);
                return;
        }
        if (strcmp(app, p->app_id)) {
                psess_clear(p);
                snprintf(p->app_id, sizeof p->app_id, "%s", app);
        }
        snprintf(p->ui_path, sizeof p->ui_path, "%s", ui_path ? ui_path : "");
        p->port = port;
        uid_t other = 0;
        int r = netown_check(port, geteuid(), &other);
        if (r < 0) {
                if (!p->warned)
                        log_warnx("session %s: no job progress: the Spark UI port %d is %s", p->kernel_id, port,
                                  r == -EPERM ? "another user's" : "not listening");
                p->warned = true;
                psess_stop(p);
                publish(p);
                return;
        }
        d->progress->polls++;
        p->ticks++;
        p->polled_at = wall_now();
        p->final = !p->busy && p->running == 0;
        p->want_executors = !p->executors || p->final || p->ticks % PROGRESS_EXECUTORS_EVERY == 1;
        p->ntodo = 0;
        p->probe = p->final ? p->max_seen + 1 : -1;
        p->probes_left = PROGRESS_PROBES;
        req_start(p, R_RUNNING, -1);
}

static void tick_end(struct psess *p) {
        if (p->fails >= PROGRESS_FAILS && !p->busy) { /* Spark is gone: its running jobs will not end */
                const char *key;
                json_t *job;
                json_object_foreach(p->jobs, key, job) {
                        if (!strcmp(json_string_value(json_object_get(job, "status")), "running"))
                                json_object_set_new(job, "status", json_string("unknown"));
                }
                p->fails = 0;
        }
        jobs_prune(p);
        psess_notify(p, true);
        if (p->busy || p->running > 0 || !p->final) {
                p->polling = true;
                ev_timer_set(&p->tick, PROGRESS_TICK, 0.);
                ev_timer_start(p->d->loop, &p->tick);
        } else {
                p->polling = false; /* the final sweep is done: no timer until the next busy */
        }
        publish(p);
}

/* Fails the request in flight: the tick ends with what it has. */
static void req_fail(struct psess *p, const char *why) {
        p->d->progress->failures++;
        p->fails++;
        log_debug("session %s: progress request to port %d: %s", p->kernel_id, p->port, why);
        req_close(p);
        p->ntodo = 0;
        p->probe = -1;
        p->want_stages = p->want_executors = false;
        tick_end(p);
}

/* A job that left the running list, or an id between the seen ones. */
static void todo_add(struct psess *p, json_int_t id) {
        for (unsigned i = 0; i < p->ntodo; i++)
                if (p->todo[i] == id)
                        return;
        if (p->ntodo < PROGRESS_TODO)
                p->todo[p->ntodo++] = id;
}

static void on_running(struct psess *p, json_t *list) {
        json_int_t top = p->max_seen;
        size_t i;
        json_t *job;
        const char *key;
        json_object_foreach(p->jobs, key, job) { /* running before, not now: ask how it ended */
                if (strcmp(json_string_value(json_object_get(job, "status")), "running"))
                        continue;
                json_int_t id = json_integer_value(json_object_get(job, "id"));
                bool still = false;
                json_t *j;
                json_array_foreach(list, i, j) still |= json_integer_value(json_object_get(j, "id")) == id;
                if (!still)
                        todo_add(p, id);
        }
        json_array_foreach(list, i, job) {
                json_int_t id = json_integer_value(json_object_get(job, "id"));
                json_int_t from = id - top > (json_int_t)PROGRESS_TODO ? id - (json_int_t)PROGRESS_TODO : top + 1;
                for (json_int_t g = from; g < id; g++) /* ran and ended between two polls */
                        todo_add(p, g);
                if (id > top)
                        top = id;
                job_upsert(p, json_incref(job));
        }
}

/* Failed stages: each failed job's first one becomes its error. */
static void on_stages(struct psess *p, json_t *stages) {
        const char *key;
        json_t *job;
        json_object_foreach(p->jobs, key, job) {
                if (strcmp(json_string_value(json_object_get(job, "status")), "failed") ||
                    json_object_get(job, "error"))
                        continue;
                size_t i, k;
                json_t *st, *sid;
                json_array_foreach(stages, i, st) {
                        json_int_t s = json_integer_value(json_object_get(st, "stage"));
                        bool mine = false;
                        json_array_foreach(json_object_get(job, "stage_ids"), k, sid) mine |=
                                json_integer_value(sid) == s;
                        if (mine) {
                                json_object_set(job, "error", st);
                                break;
                        }
                }
        }
}

/* A whole response arrived: hands its body to the tick. */
static void req_done(struct psess *p) {
        struct progress_http h;
        int r = progress_http_parse(p->in.buf ? p->in.buf : "", p->in.len, &h);
        if (r < 0) {
                req_fail(p, strerror(-r));
                return;
        }
        enum rkind kind = p->kind;
        if (kind == R_PROBE && h.status == 404) {
                req_close(p);
                p->probe = -1;
                tick_next(p);
                return;
        }
        if (kind == R_JOB && h.status == 404) { /* Spark dropped it (spark.ui.retainedJobs): no longer running */
                char key[32];
                snprintf(key, sizeof key, "%lld", (long long)p->job_id);
                json_t *job = json_object_get(p->jobs, key);
                if (job && !strcmp(json_string_value(json_object_get(job, "status")), "running"))
                        json_object_set_new(job, "status", json_string("unknown"));
                req_close(p);
                tick_next(p);
                return;
        }
        if (h.status != 200) {
                char why[64];
                snprintf(why, sizeof why, "HTTP status %d", h.status);
                req_fail(p, why);
                return;
        }
        p->fails = 0;
        p->answered = true;
        json_t *v = NULL;
        r = kind == R_STAGES      ? progress_parse_failed_stages(h.body, h.body_len, &v)
            : kind == R_EXECUTORS ? progress_parse_executors(h.body, h.body_len, &v)
                                  : progress_parse_jobs(h.body, h.body_len, &v);
        req_close(p);
        if (r < 0) {
                req_fail(p, r == -EBADMSG ? "not JSON" : "unexpected JSON");
                return;
        }
        size_t i;
        json_t *job;
        switch (kind) {
        case R_RUNNING:
                on_running(p, v);
                break;
        case R_JOB:
        case R_PROBE:
                json_array_foreach(v, i, job) job_upsert(p, json_incref(job));
                if (kind == R_PROBE)
                        p->probe++;
                break;
        case R_STAGES:
                on_stages(p, v);
                break;
        case R_EXECUTORS:
                json_decref(p->executors);
                p->executors = json_incref(v);
                break;
        }
        json_decref(v);
        tick_next(p);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct psess *p = (struct psess *)((char *)w - offsetof(struct psess, io));
        if (!p->connected && (revents & EV_WRITE)) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                        req_fail(p, strerror(err));
                        return;
                }
                p->connected = true;
        }
        if (revents & EV_WRITE) {
                ssize_t n = send(p->fd, p->out.buf + p->out_off, p->out.len - p->out_off, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        req_fail(p, strerror(errno));
                        return;
                }
                if (n > 0)
                        p->out_off += (size_t)n;
                if (p->out_off == p->out.len) {
                        ev_io_stop(loop, &p->io);
                        ev_io_set(&p->io, p->fd, EV_READ);
                        ev_io_start(loop, &p->io);
                }
                return;
        }
        char buf[16384];
        ssize_t n = recv(p->fd, buf, sizeof buf, 0);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        req_fail(p, strerror(errno));
                return;
        }
        if (n == 0) {
                req_done(p);
                return;
        }
        if (p->in.len + (size_t)n > PROGRESS_MAX_HEAD + PROGRESS_MAX_BODY) {
                req_fail(p, "the answer is too large");
                return;
        }
        if (sb_append(&p->in, buf, (size_t)n) < 0)
                req_fail(p, "out of memory");
}

static void rto_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        req_fail((struct psess *)((char *)w - offsetof(struct psess, rto)), "no answer in time");
}

/* Sends one GET to the session's UI: the token is fetched afresh. */
static void req_start(struct psess *p, enum rkind kind, json_int_t job_id) {
        int port = 0;
        const char *token = NULL;
        if (session_ui_target(p->d, p->kernel_id, &port, &token) < 0 || port != p->port) {
                psess_stop(p);
                publish(p);
                return;
        }
        p->kind = kind;
        p->job_id = job_id;
        char path[256];
        const char *base = "/api/v1/applications";
        if (kind == R_RUNNING)
                snprintf(path, sizeof path, "%s/%s/jobs?status=running", base, p->app_id);
        else if (kind == R_STAGES)
                snprintf(path, sizeof path, "%s/%s/stages?status=failed", base, p->app_id);
        else if (kind == R_EXECUTORS)
                snprintf(path, sizeof path, "%s/%s/allexecutors", base, p->app_id);
        else
                snprintf(path, sizeof path, "%s/%s/jobs/%lld", base, p->app_id, (long long)job_id);
        int r = sb_printf(&p->out, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n", path,
                          port);
        if (r == 0 && token)
                r = sb_printf(&p->out, "Authorization: Bearer %s\r\n", token);
        if (r == 0)
                r = sb_puts(&p->out, "\r\n");
        int fd = r < 0 ? r : socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        p->d->progress->requests++;
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                close(fd);
                fd = -1;
        }
        if (fd < 0) {
                p->fd = -1;
                sb_free(&p->out);
                p->d->progress->failures++;
                p->fails++;
                p->ntodo = 0, p->probe = -1, p->want_stages = p->want_executors = false;
                tick_end(p);
                return;
        }
        p->fd = fd;
        p->connected = false;
        p->out_off = 0;
        ev_io_init(&p->io, io_cb, fd, EV_WRITE);
        ev_io_start(p->d->loop, &p->io);
        ev_timer_set(&p->rto, PROGRESS_TIMEOUT, 0.);
        ev_timer_start(p->d->loop, &p->rto);
}

void progress_kernel_status(struct sparkd *d, const char *kernel_id, bool busy, const char *msg_id) {
        const char *state = session_progress_info(d, kernel_id, NULL, NULL);
        bool ready = state && !strcmp(state, "ready");
        struct psess *p = ready || (state && !strcmp(state, "starting")) ? psess_get(d, kernel_id)
                                                                         : psess_find(d, kernel_id);
        if (!p || !msg_id)
                return;
        double now = wall_now();
        if (busy) {
                struct pwin *w = &p->wins[p->nwin++ % PROGRESS_WINDOWS];
                snprintf(w->msg_id, sizeof w->msg_id, "%s", msg_id);
                w->start = now;
                w->end = 0;
                p->busy = true;
        } else {
                for (unsigned i = 0; i < PROGRESS_WINDOWS; i++) /* one execution at a time */
                        if (p->wins[i].end == 0 && p->wins[i].start > 0)
                                p->wins[i].end = now;
                p->busy = false;
        }
        psess_notify(p, ready);
        if (ready && busy)
                psess_schedule(p, start_delay(p));
}

bool progress_any_busy(struct sparkd *d) {
        for (struct psess *p = d->progress ? d->progress->list : NULL; p; p = p->next)
                if (p->ready && (p->busy || p->running > 0))
                        return true;
        return false;
}

void progress_session_changed(struct sparkd *d, const char *kernel_id) {
        const char *state = session_progress_info(d, kernel_id, NULL, NULL);
        bool ready = state && !strcmp(state, "ready");
        struct psess *p = ready ? psess_get(d, kernel_id) : psess_find(d, kernel_id);
        if (!p)
                return;
        if (!ready) {
                psess_stop(p);
                psess_clear(p);
                p->active = p->ready = false;
                publish(p); /* jobs: [] for the long polls */
                if (!state || (strcmp(state, "starting") && strcmp(state, "stopping")))
                        psess_free(p); /* stopped, failed, gone: a restart begins anew */
                return;
        }
        if (!p->ready && p->nwin == 0)
                p->busy = true; /* a lazy start: ready inside the user's running cell, whose busy came
                                 * before the daemon followed this kernel; its idle ends it */
        p->ready = true;
        psess_notify(p, true);
        if (p->busy || p->running > 0)
                psess_schedule(p, start_delay(p));
        publish(p);
}

int progress_jobs_running(struct sparkd *d, const char *kernel_id) {
        struct psess *p = psess_find(d, kernel_id);
        return p ? p->running : 0;
}

unsigned long progress_version(struct sparkd *d, const char *kernel_id) {
        struct psess *p = psess_find(d, kernel_id);
        return p ? p->version : 0;
}

json_t *progress_json(struct sparkd *d, const char *kernel_id) {
        struct psess *p = psess_find(d, kernel_id);
        json_t *a = NULL;
        if (p && p->answer)
                a = json_loads(p->answer, 0, NULL);
        else
                a = json_pack("{s:s, s:s, s:b, s:[], s:n, s:{s:i, s:i, s:i, s:i, s:i}}", "kernel_id", kernel_id,
                              "state", session_progress_info(d, kernel_id, NULL, NULL) ?: "stopped", "polling", 0,
                              "jobs", "executors", "summary", "running", 0, "failed", 0, "tasks_done", 0,
                              "tasks_total", 0, "percent", 0);
        if (a)
                json_object_set_new(a, "version", json_integer((json_int_t)(p ? p->version : 0)));
        return a;
}

json_t *progress_health(struct sparkd *d) {
        struct progress *pr = d->progress;
        return json_pack("{s:b, s:I, s:I, s:I}", "enabled", pr && !pr->disabled, "polls",
                         (json_int_t)(pr ? pr->polls : 0), "requests", (json_int_t)(pr ? pr->requests : 0),
                         "failures", (json_int_t)(pr ? pr->failures : 0));
}

void progress_free_all(struct sparkd *d) {
        if (!d->progress)
                return;
        while (d->progress->list)
                psess_free(d->progress->list);
        free(d->progress);
        d->progress = NULL;
}
