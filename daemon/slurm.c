#include "slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "proc.h"
#include "util.h"

extern char **environ;

enum job_state { J_SUBMIT, J_QUEUED, J_READY, J_DONE };

struct slurm_job {
        struct slurm_job *prev, *next;
        struct ev_loop *loop;
        struct slurm_cbs cbs;
        void *data;
        enum job_state state;
        char id[32];
        char *work_dir, *script, *status_path;
        int nodes;
        double time_limit;            /* seconds */
        struct proc *sbatch, *squeue, *scontrol;
        char sbatch_error[256];       /* its first "error" line */
        struct slurm_queue q;         /* the last squeue line */
        bool q_seen;                  /* squeue printed the job */
        bool q_unknown;               /* squeue said the job id is not known (any more) */
        bool ended;                   /* the job is known to be over */
        int end_code;
        double interval;              /* the next squeue wait */
        double ends_at;
        ev_timer poll;
        ev_stat st;
        char last[SLURM_STATUS_MAX + 1];
        int busy;
        bool freed, cancel_pending;
};

static struct slurm_job *jobs;

static double wall_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- pure parsers ------------------------------------------------------- */

static bool is_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* The value of n decimal digits (n <= 9, checked by the caller). */
static int digits_value(const char *s, size_t n) {
        int v = 0;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (s[i] - '0');
        return v;
}

/* Copies a word of at most size-1 printable bytes; control bytes become '?'. */
static void copy_text(char *dst, size_t size, const char *src, size_t n) {
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < size; i++) {
                unsigned char c = (unsigned char)src[i];
                dst[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        dst[k] = '\0';
}

/* A spark://HOST:PORT URL of printable, space-free bytes. */
static bool url_ok(const char *s, size_t n) {
        if (n < 10 || n >= 256 || strncmp(s, "spark://", 8) != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
                        return false;
        const char *colon = memrchr(s + 8, ':', n - 8);
        return colon && colon > s + 8 && is_digits(colon + 1, (size_t)(s + n - colon - 1)) &&
               s + n - colon - 1 <= 5;
}

int slurm_status_parse(const char *text, size_t len, struct slurm_status *st, const char **why) {
        static const char *const e_size = "the status is empty or longer than the limit";
        memset(st, 0, sizeof *st);
        if (len == 0 || len > SLURM_STATUS_MAX)
                return *why = e_size, -EINVAL;
        if (text[len - 1] == '\n')
                len--;
        if (memchr(text, '\n', len) || memchr(text, '\0', len))
                return *why = "the status is not one line", -EINVAL;
        const char *sp = memchr(text, ' ', len);
        size_t wlen = sp ? (size_t)(sp - text) : len;
        const char *rest = sp ? sp + 1 : text + len;
        size_t rlen = (size_t)(text + len - rest);
        if (wlen == 8 && !memcmp(text, "starting", 8)) {
                st->kind = SLURM_ST_STARTING;
                return 0;
        }
        if (wlen == 5 && !memcmp(text, "ready", 5)) {
                if (!url_ok(rest, rlen))
                        return *why = "ready without a spark:// URL", -EINVAL;
                st->kind = SLURM_ST_READY;
                memcpy(st->url, rest, rlen);
                return 0;
        }
        if (wlen == 7 && !memcmp(text, "workers", 7)) {
                const char *slash = memchr(rest, '/', rlen), *sp2 = memchr(rest, ' ', rlen);
                if (!slash || !sp2 || slash > sp2 || !is_digits(rest, (size_t)(slash - rest)) ||
                    !is_digits(slash + 1, (size_t)(sp2 - slash - 1)) || slash - rest > 6 || sp2 - slash - 1 > 6)
                        return *why = "workers without N/M", -EINVAL;
                st->workers = digits_value(rest, (size_t)(slash - rest));
                st->nodes = digits_value(slash + 1, (size_t)(sp2 - slash - 1));
                if (!url_ok(sp2 + 1, (size_t)(rest + rlen - sp2 - 1)))
                        return *why = "workers without a spark:// URL", -EINVAL;
                st->kind = SLURM_ST_WORKERS;
                memcpy(st->url, sp2 + 1, (size_t)(rest + rlen - sp2 - 1));
                return 0;
        }
        if (wlen == 6 && !memcmp(text, "failed", 6)) {
                st->kind = SLURM_ST_FAILED;
                copy_text(st->text, sizeof st->text, rest, rlen);
                if (!st->text[0])
                        snprintf(st->text, sizeof st->text, "no reason given");
                return 0;
        }
        if (wlen == 5 && !memcmp(text, "ended", 5)) {
                if (!is_digits(rest, rlen) || rlen > 3)
                        return *why = "ended without an exit status", -EINVAL;
                st->kind = SLURM_ST_ENDED;
                st->code = digits_value(rest, rlen);
                return 0;
        }
        return *why = "unknown status word", -EINVAL;
}

int slurm_jobid_parse(const char *line, char id[32]) {
        size_t n = strcspn(line, ";");
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r'))
                n--;
        if (!is_digits(line, n) || n > 31)
                return -EINVAL;
        memcpy(id, line, n);
        id[n] = '\0';
        return 0;
}

int slurm_squeue_parse(const char *line, struct slurm_queue *q) {
        memset(q, 0, sizeof *q);
        size_t n = strnlen(line, SLURM_LINE_MAX + 1);
        if (n == 0 || n > SLURM_LINE_MAX)
                return -EINVAL;
        const char *bar = memchr(line, '|', n);
        if (!bar || bar == line || (size_t)(bar - line) >= sizeof q->state)
                return -EINVAL;
        for (const char *s = line; s < bar; s++)
                if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
                        return -EINVAL;
        memcpy(q->state, line, (size_t)(bar - line));
        const char *end = memchr(bar + 1, '|', (size_t)(line + n - bar - 1));
        copy_text(q->reason, sizeof q->reason, bar + 1, (size_t)((end ? end : line + n) - bar - 1));
        return 0;
}

/* The value of KEY= in a `scontrol -o` line (space-separated KEY=VALUE). */
static bool kv_get(const char *line, size_t n, const char *key, char *out, size_t size) {
        size_t kl = strlen(key);
        for (size_t i = 0; i + kl < n; i++) {
                if ((i == 0 || line[i - 1] == ' ') && !strncmp(line + i, key, kl) && line[i + kl] == '=') {
                        const char *v = line + i + kl + 1;
                        size_t vl = strcspn(v, " ");
                        if (v + vl > line + n)
                                vl = (size_t)(line + n - v);
                        copy_text(out, size, v, vl);
                        return true;
                }
        }
        return false;
}

int slurm_scontrol_parse(const char *line, struct slurm_queue *q) {
        memset(q, 0, sizeof *q);
        size_t n = strnlen(line, 8 * SLURM_LINE_MAX + 1);
        if (n == 0 || n > 8 * SLURM_LINE_MAX)
                return -EINVAL;
        bool a = kv_get(line, n, "JobState", q->state, sizeof q->state);
        bool b = kv_get(line, n, "Reason", q->reason, sizeof q->reason);
        return a || b ? 0 : -EINVAL;
}

const char *slurm_hopeless(const char *reason) {
        static const char *const map[][2] = {
                {"PartitionNodeLimit", "it asks for more nodes than the partition allows"},
                {"PartitionConfig", "the partition cannot hold it (too many nodes, cores or too much memory)"},
                {"PartitionTimeLimit", "it asks for more time than the partition allows"},
                {"BadConstraints", "no node has what it asks for (cores or memory per node)"},
                {"InvalidAccount", "the account may not be used"},
                {"InvalidQOS", "the QOS may not be used"},
                {"AccountNotAllowed", "the partition does not take this account"},
                {"QOSNotAllowed", "the partition does not take this QOS"},
        };
        for (size_t i = 0; i < sizeof map / sizeof *map; i++)
                if (!strcmp(reason, map[i][0]))
                        return map[i][1];
        return NULL;
}

const char *slurm_end_sentence(const struct slurm_queue *q, int code, char *buf, size_t size) {
        const char *s = q->state;
        if (!strcmp(s, "TIMEOUT") || !strcmp(q->reason, "TimeLimit"))
                return "the time limit of the allocation was reached";
        if (!strcmp(s, "PREEMPTED"))
                return "the allocation was preempted";
        if (!strcmp(s, "NODE_FAIL"))
                return "a node of the allocation failed";
        if (!strcmp(s, "CANCELLED"))
                return "the job was cancelled outside Start Spark (scancel)";
        if (!strcmp(s, "OUT_OF_MEMORY"))
                return "the job ran out of memory (raise the memory per node)";
        if (!strcmp(s, "BOOT_FAIL") || !strcmp(s, "DEADLINE"))
                return "Slurm ended the job";
        if (code >= 0)
                snprintf(buf, size, "the Spark workers exited (exit status %d)", code);
        else
                snprintf(buf, size, "the job ended%s%s", s[0] ? " in state " : "", s);
        return buf;
}

/* ---- the job ---------------------------------------------------------------- */

static void job_free(struct slurm_job *j) {
        ev_timer_stop(j->loop, &j->poll);
        if (ev_is_active(&j->st))
                ev_stat_stop(j->loop, &j->st);
        struct proc **ps[] = {&j->sbatch, &j->squeue, &j->scontrol};
        for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
                if (*ps[i]) {
                        proc_detach(*ps[i]);
                        *ps[i] = NULL;
                }
        if (j->prev)
                j->prev->next = j->next;
        else if (jobs == j)
                jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        free(j->work_dir);
        free(j->script);
        free(j->status_path);
        free(j);
}

static void enter(struct slurm_job *j) { j->busy++; }

/* Returns true when j is gone. */
static bool leave(struct slurm_job *j) {
        if (--j->busy > 0 || !j->freed)
                return false;
        job_free(j);
        return true;
}

/* scancels under way: at daemon exit slurm_cancel_all_sync runs them again,
 * synchronously, before the daemon's children are killed. */
struct pending_cancel {
        struct pending_cancel *next;
        char id[32];
};
static struct pending_cancel *cancels;

static void scancel_exit(void *data, struct proc *p, int status) {
        (void)p, (void)status;
        for (struct pending_cancel **pp = &cancels; *pp; pp = &(*pp)->next)
                if (*pp == data) {
                        *pp = (*pp)->next;
                        break;
                }
        free(data);
}

static const struct proc_cbs scancel_cbs = {NULL, scancel_exit};

static void run_scancel(struct slurm_job *j) {
        if (!j->id[0])
                return;
        struct pending_cancel *pc = calloc(1, sizeof *pc);
        char *argv[] = {"scancel", j->id, NULL};
        struct proc *p = NULL;
        int r = pc ? proc_spawn(j->loop, argv, NULL, j->work_dir, &scancel_cbs, pc, &p) : -ENOMEM;
        if (r < 0) {
                log_errno(r, "cannot run scancel %s", j->id);
                free(pc);
                return;
        }
        memcpy(pc->id, j->id, sizeof pc->id);
        pc->next = cancels;
        cancels = pc;
        log_info("slurm job %s cancelled", j->id);
}

/* Ends j for good: no callback after this. */
static void job_done(struct slurm_job *j) {
        j->state = J_DONE;
        ev_timer_stop(j->loop, &j->poll);
        if (ev_is_active(&j->st))
                ev_stat_stop(j->loop, &j->st);
}

static void fail(struct slurm_job *j, const char *msg) {
        if (j->state == J_DONE)
                return;
        job_done(j);
        run_scancel(j);
        j->cbs.on_failed(j->data, msg);
}

static void waiting(struct slurm_job *j, const char *what) {
        if (j->cbs.on_waiting && j->state != J_DONE)
                j->cbs.on_waiting(j->data, what);
}

static void poll_later(struct slurm_job *j, double after) {
        ev_timer_stop(j->loop, &j->poll);
        ev_timer_set(&j->poll, after, 0.);
        ev_timer_start(j->loop, &j->poll);
}

/* The job is over: why, from scontrol, then on_ended or on_failed. */
static void scontrol_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct slurm_job *j = data;
        struct slurm_queue q;
        if (slurm_scontrol_parse(line, &q) == 0 && q.state[0])
                j->q = q;
}

static void report_end(struct slurm_job *j) {
        char buf[160], msg[320];
        const char *why = slurm_end_sentence(&j->q, j->end_code, buf, sizeof buf);
        snprintf(msg, sizeof msg, "the Slurm job %s ended: %s", j->id, why);
        bool was_ready = j->state == J_READY;
        job_done(j);
        if (was_ready)
                j->cbs.on_ended(j->data, msg);
        else
                j->cbs.on_failed(j->data, msg);
}

static void scontrol_exit(void *data, struct proc *p, int status) {
        (void)p, (void)status;
        struct slurm_job *j = data;
        j->scontrol = NULL;
        enter(j);
        if (j->state != J_DONE)
                report_end(j);
        leave(j);
}

static const struct proc_cbs scontrol_cbs = {scontrol_line, scontrol_exit};

static void job_ended(struct slurm_job *j, int code) {
        if (j->ended || j->state == J_DONE)
                return;
        j->ended = true;
        j->end_code = code;
        memset(&j->q, 0, sizeof j->q); /* scontrol says how it ended, if it still knows */
        ev_timer_stop(j->loop, &j->poll);
        char *argv[] = {"scontrol", "show", "job", "-o", j->id, NULL};
        int r = proc_spawn(j->loop, argv, NULL, j->work_dir, &scontrol_cbs, j, &j->scontrol);
        if (r < 0)
                report_end(j);
}

/* ---- squeue ---- */

static void squeue_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct slurm_job *j = data;
        struct slurm_queue q;
        if (strstr(line, "Invalid job id"))
                j->q_unknown = true;
        else if (!j->q_seen && slurm_squeue_parse(line, &q) == 0) {
                j->q = q;
                j->q_seen = true;
        }
}

static void squeue_exit(void *data, struct proc *p, int status) {
        (void)p;
        struct slurm_job *j = data;
        j->squeue = NULL;
        enter(j);
        if (j->state == J_DONE || j->ended) {
                leave(j);
                return;
        }
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!j->q_seen && (ok || j->q_unknown)) {
                /* no line, or "Invalid job id": the job left the queue */
                job_ended(j, -1);
        } else if (j->q_seen) {
                const char *hopeless = !strcmp(j->q.state, "PENDING") ? slurm_hopeless(j->q.reason) : NULL;
                if (hopeless) {
                        char msg[300];
                        snprintf(msg, sizeof msg, "Slurm cannot run job %s: %s (reason: %s)", j->id, hopeless,
                                 j->q.reason);
                        fail(j, msg);
                } else if (!strcmp(j->q.state, "PENDING")) {
                        char what[160];
                        if (!j->q.reason[0] || !strcmp(j->q.reason, "None")) /* not scheduled yet */
                                snprintf(what, sizeof what, "queued as Slurm job %s", j->id);
                        else
                                snprintf(what, sizeof what, "queued as Slurm job %s (reason: %s)", j->id,
                                         j->q.reason);
                        waiting(j, what);
                } else if (j->state == J_QUEUED && j->last[0] == '\0' && strcmp(j->q.state, "COMPLETING")) {
                        char what[160];
                        snprintf(what, sizeof what, "Slurm job %s is %s: starting the job", j->id, j->q.state);
                        for (char *c = what; *c; c++) /* RUNNING -> running */
                                if (*c >= 'A' && *c <= 'Z' && c > what + 10)
                                        *c = (char)(*c + 32);
                        waiting(j, what);
                }
                if (j->state != J_DONE) {
                        double next = j->state == J_READY ? SLURM_POLL_READY : j->interval;
                        j->interval = j->interval * 2 > SLURM_POLL_MAX ? SLURM_POLL_MAX : j->interval * 2;
                        poll_later(j, next);
                }
        } else {
                poll_later(j, j->interval);
        }
        leave(j);
}

static const struct proc_cbs squeue_cbs = {squeue_line, squeue_exit};

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        struct slurm_job *j = (struct slurm_job *)((char *)w - offsetof(struct slurm_job, poll));
        if (j->squeue || j->state == J_DONE || j->ended)
                return;
        j->q_seen = j->q_unknown = false;
        char *argv[] = {"squeue", "-h", "-j", j->id, "-o", "%T|%r", NULL};
        int r = proc_spawn(j->loop, argv, NULL, j->work_dir, &squeue_cbs, j, &j->squeue);
        if (r < 0) {
                log_errno(r, "cannot run squeue for job %s", j->id);
                poll_later(j, SLURM_POLL_MAX);
        }
}

/* ---- the status file ---- */

static void status_cb(struct ev_loop *loop, ev_stat *w, int revents) {
        (void)loop, (void)revents;
        struct slurm_job *j = (struct slurm_job *)((char *)w - offsetof(struct slurm_job, st));
        char *text = NULL;
        size_t len = 0;
        if (j->state == J_DONE || j->ended)
                return;
        if (read_file(j->status_path, SLURM_STATUS_MAX, &text, &len) < 0)
                return; /* not written yet, or being replaced */
        if (len <= SLURM_STATUS_MAX && len == strlen(j->last) && !memcmp(text, j->last, len)) {
                free(text);
                return;
        }
        if (!j->last[0] && j->time_limit > 0) /* the job runs: its clock started about now */
                j->ends_at = wall_now() + j->time_limit;
        memcpy(j->last, text, len);
        j->last[len] = '\0';
        struct slurm_status s;
        const char *why = NULL;
        int r = slurm_status_parse(text, len, &s, &why);
        free(text);
        enter(j);
        if (r < 0) {
                char msg[200];
                snprintf(msg, sizeof msg, "the Slurm job %s wrote a status sparkd cannot read (%s)", j->id, why);
                fail(j, msg);
        } else if (s.kind == SLURM_ST_STARTING) {
                waiting(j, "starting the Spark master on the first node");
        } else if (s.kind == SLURM_ST_WORKERS) {
                char what[96];
                snprintf(what, sizeof what, "starting workers %d/%d", s.workers, s.nodes);
                waiting(j, what);
        } else if (s.kind == SLURM_ST_READY && j->state == J_QUEUED) {
                j->state = J_READY;
                poll_later(j, SLURM_POLL_READY);
                log_info("slurm job %s ready: %s", j->id, s.url);
                j->cbs.on_ready(j->data, s.url);
        } else if (s.kind == SLURM_ST_FAILED) {
                char msg[400];
                snprintf(msg, sizeof msg, "the Slurm job %s could not start Spark: %s", j->id, s.text);
                fail(j, msg);
        } else if (s.kind == SLURM_ST_ENDED) {
                job_ended(j, s.code);
        }
        leave(j);
}

/* ---- sbatch ---- */

static void sbatch_line(void *data, struct proc *p, const char *line) {
        (void)p;
        struct slurm_job *j = data;
        if (!j->id[0] && slurm_jobid_parse(line, j->id) == 0)
                return;
        if (!j->sbatch_error[0] && strstr(line, "error")) {
                const char *m = strstr(line, "error: ");
                m = m ? m + 7 : line;
                if (!strncmp(m, "Batch job submission failed: ", 29))
                        m += 29;
                copy_text(j->sbatch_error, sizeof j->sbatch_error, m, strlen(m));
        }
}

static void sbatch_exit(void *data, struct proc *p, int status) {
        struct slurm_job *j = data;
        char *tail = proc_tail(p);
        j->sbatch = NULL;
        enter(j);
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && j->id[0];
        if (j->cancel_pending) {
                run_scancel(j);
                j->freed = true; /* nobody holds it any more */
        } else if (!ok) {
                char msg[400], how[64];
                proc_status_str(status, how, sizeof how);
                if (j->sbatch_error[0])
                        snprintf(msg, sizeof msg, "Slurm refused the job: %s", j->sbatch_error);
                else
                        snprintf(msg, sizeof msg, "sbatch failed (%s)%s%.200s", how, tail && *tail ? ": " : "",
                                 tail ? tail : "");
                j->id[0] = '\0';
                fail(j, msg);
        } else {
                log_info("slurm job %s submitted (%s)", j->id, j->script);
                j->state = J_QUEUED;
                ev_stat_start(j->loop, &j->st);
                char what[96];
                snprintf(what, sizeof what, "submitted as Slurm job %s", j->id);
                waiting(j, what);
                poll_later(j, SLURM_POLL_MIN);
                status_cb(j->loop, &j->st, 0); /* a status written before the watch */
        }
        free(tail);
        leave(j);
}

static const struct proc_cbs sbatch_cbs = {sbatch_line, sbatch_exit};

int slurm_submit(struct ev_loop *loop, const char *work_dir, const char *script, int nodes, double time_limit,
                 const struct slurm_cbs *cbs, void *data, struct slurm_job **ret) {
        struct slurm_job *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->loop = loop;
        j->cbs = *cbs;
        j->data = data;
        j->nodes = nodes;
        j->time_limit = time_limit;
        j->interval = SLURM_POLL_MIN;
        j->work_dir = strdup(work_dir);
        j->script = strdup(script);
        j->status_path = strdupf("%s/status", work_dir);
        if (!j->work_dir || !j->script || !j->status_path) {
                job_free(j);
                return -ENOMEM;
        }
        ev_init(&j->poll, poll_cb);
        ev_stat_init(&j->st, status_cb, j->status_path, SLURM_STAT_INTERVAL);
        char *argv[] = {"sbatch", "--parsable", "--output=/dev/null", j->script, NULL};
        int r = proc_spawn(loop, argv, NULL, work_dir, &sbatch_cbs, j, &j->sbatch);
        if (r < 0) {
                job_free(j);
                return r;
        }
        j->next = jobs;
        if (jobs)
                jobs->prev = j;
        jobs = j;
        *ret = j;
        return 0;
}

struct slurm_job *slurm_cancel(struct slurm_job *j) {
        if (!j || j->freed || j->cancel_pending)
                return NULL;
        bool live = j->state != J_DONE && !j->ended; /* else it ended, or fail() cancelled it */
        job_done(j);
        if (j->sbatch) { /* the id comes when sbatch answers: cancel then */
                j->cancel_pending = true;
                return NULL;
        }
        if (live)
                run_scancel(j);
        j->freed = true;
        if (j->busy == 0)
                job_free(j);
        return NULL;
}

const char *slurm_job_id(const struct slurm_job *j) {
        return j ? j->id : "";
}

double slurm_ends_at(const struct slurm_job *j) {
        return j ? j->ends_at : 0;
}

/* Starts `scancel id`; returns its pid or -1. */
static pid_t scancel_now(const char *id) {
        char idc[32];
        snprintf(idc, sizeof idc, "%s", id);
        char *argv[] = {"scancel", idc, NULL};
        pid_t pid;
        return posix_spawnp(&pid, "scancel", NULL, NULL, argv, environ) == 0 ? pid : -1;
}

void slurm_cancel_all_sync(double timeout) {
        pid_t pids[128];
        int n = 0;
        for (struct slurm_job *j = jobs; j && n < 64; j = j->next)
                if (j->id[0] && !j->ended && (pids[n] = scancel_now(j->id)) > 0)
                        n++;
        for (struct pending_cancel *pc = cancels; pc && n < 128; pc = pc->next)
                if ((pids[n] = scancel_now(pc->id)) > 0)
                        n++;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < n; i++) {
                for (;;) {
                        if (waitpid(pids[i], NULL, WNOHANG) != 0)
                                break;
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 > timeout) {
                                kill(pids[i], SIGKILL);
                                waitpid(pids[i], NULL, 0);
                                break;
                        }
                        usleep(20000);
                }
        }
}
