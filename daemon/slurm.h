/* slurm.h — one Slurm batch job that runs a Spark standalone cluster.
 *
 * The cluster module (cluster.h, CLUSTER_SLURM) renders the batch script
 * and the job's files; this module submits it (`sbatch --parsable`, the
 * script's path the only argument), follows it and cancels it (`scancel`).
 *
 * The job reports how far it got in WORK_DIR/status, one line replaced
 * atomically (configs/templates/slurm-job.sh.j2):
 *   starting master | workers N/M URL | ready URL | failed SENTENCE | ended CODE
 * which is watched with ev_stat (inotify on a local filesystem: no timer;
 * elsewhere libev stats it every SLURM_STAT_INTERVAL s).  While the job is
 * pending or starting, `squeue` says why it waits and where it is in the
 * queue, asked at a backing-off rate (SLURM_POLL_MIN doubling to
 * SLURM_POLL_MAX); once ready only every SLURM_POLL_READY s, to notice an
 * allocation that ended without its script saying so (a node failure).
 * When it ended, `scontrol show job` says why (time limit, preemption,
 * cancel, node failure).  Nothing else runs: no busy polling.
 */
#pragma once
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#define SLURM_POLL_MIN 0.5
#define SLURM_POLL_MAX 15.0
#define SLURM_POLL_READY 120.0
#define SLURM_STAT_INTERVAL 2.0
#define SLURM_STATUS_MAX 1024u   /* bytes of the status file read */
#define SLURM_LINE_MAX 512u      /* bytes of one squeue / scontrol line parsed */

struct slurm_cbs {
        void (*on_waiting)(void *data, const char *what); /* "queued (reason: Priority, position 2)" */
        void (*on_ready)(void *data, const char *url);    /* spark://HOST:PORT */
        void (*on_failed)(void *data, const char *message);
        void (*on_ended)(void *data, const char *message); /* after ready */
};

struct slurm_job;

/* Submits script (a path; run in work_dir) for a cluster of nodes nodes.
 * Exactly one of on_ready / on_failed follows (on_waiting any number of
 * times before); after on_ready, on_ended when the allocation ends.
 * Returns 0 and *ret, or -errno. */
int slurm_submit(struct ev_loop *loop, const char *work_dir, const char *script, int nodes, double time_limit,
                 const struct slurm_cbs *cbs, void *data, struct slurm_job **ret);

/* Cancels the job (`scancel`, not waited for) and frees j; no callback
 * follows.  Accepts NULL; returns NULL. */
struct slurm_job *slurm_cancel(struct slurm_job *j);

/* The job id ("" until sbatch answered). */
const char *slurm_job_id(const struct slurm_job *j);

/* Wall-clock seconds when the allocation ends at the latest (started +
 * time limit), 0 until known. */
double slurm_ends_at(const struct slurm_job *j);

/* At daemon exit: `scancel` for every job still known, waited for at most
 * timeout seconds in all. */
void slurm_cancel_all_sync(double timeout);

/* ---- pure parsers (unit tested, fuzzed) ---- */

enum slurm_status_kind { SLURM_ST_STARTING, SLURM_ST_WORKERS, SLURM_ST_READY, SLURM_ST_FAILED, SLURM_ST_ENDED };

struct slurm_status {
        enum slurm_status_kind kind;
        int workers, nodes;      /* SLURM_ST_WORKERS */
        int code;                /* SLURM_ST_ENDED: the script's exit status */
        char url[256];           /* WORKERS, READY: spark://HOST:PORT */
        char text[256];          /* FAILED: the sentence (printable ASCII/UTF-8, control bytes dropped) */
};

/* Parses the status file's text (len bytes, at most SLURM_STATUS_MAX; one
 * line, a trailing newline allowed).  Returns 0, or -EINVAL with a reason
 * in why (a static string). */
int slurm_status_parse(const char *text, size_t len, struct slurm_status *st, const char **why);

/* sbatch --parsable's line: "ID" or "ID;CLUSTER".  Copies ID (digits, at
 * most 31) into id.  Returns 0 or -EINVAL. */
int slurm_jobid_parse(const char *line, char id[32]);

struct slurm_queue {
        char state[32];  /* PENDING, RUNNING, CONFIGURING, COMPLETING, ... */
        char reason[96]; /* Priority, Resources, None, ... */
};

/* squeue -h -o '%T|%r' for one job.  Returns 0 or -EINVAL. */
int slurm_squeue_parse(const char *line, struct slurm_queue *q);

/* From `scontrol show job -o ID`: JobState= and Reason= into q.  Returns 0
 * or -EINVAL when neither is there. */
int slurm_scontrol_parse(const char *line, struct slurm_queue *q);

/* For a pending job's reason that will never change by waiting (the
 * partition's limits, an account or QOS not allowed): a sentence; NULL for
 * reasons that pass (Priority, Resources, ...). */
const char *slurm_hopeless(const char *reason);

/* A sentence for a job that ended in state/reason (q), e.g. "the time limit
 * of the allocation was reached".  Static or in buf. */
const char *slurm_end_sentence(const struct slurm_queue *q, int code, char *buf, size_t size);
