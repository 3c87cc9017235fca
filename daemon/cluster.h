/* cluster.h — the Spark processes a session may launch and supervise.
 *
 * CLUSTER_STANDALONE: a standalone master and N workers, all bound to
 * 127.0.0.1 on ports the daemon allocates, with Spark's RPC authentication
 * on (a fresh secret in their environment); ready when every worker has
 * registered with the master.  CLUSTER_CONNECT: a Spark Connect server
 * (SparkConnectServer via spark-submit) bound to 127.0.0.1 with a random
 * authentication token (in its environment); for a local master its driver
 * binds to 127.0.0.1 and authenticates its RPC too.  Ready when its gRPC
 * port accepts connections.
 *
 * On a host shared with other users: no configuration value or secret is
 * on a command line (settings in a 0600 --properties-file in the work dir,
 * removed once ready; secrets in the environment); every web UI needs a
 * bearer token (Spark >= 4.0's JWSFilter, cluster_ui_token); a port counts
 * as ready only when its listener belongs to the daemon's uid (netown.h),
 * so no token is ever sent to another user's listener.
 *
 * Processes come from proc.c: own process groups, dying with the daemon,
 * output captured line by line (also written to work_dir/<name>.log).
 * Callbacks never run inside cluster_start; they may call cluster_stop.
 * The loop must be the default loop (ev_child).
 */
#pragma once
#include <ev.h>
#include <jansson.h>

#define CLUSTER_READY_TIMEOUT 90.0 /* seconds from cluster_start to ready */
#define CLUSTER_STOP_GRACE 10.0    /* seconds between SIGTERM and SIGKILL */
#define CLUSTER_WORKERS_MAX 16
#define CLUSTER_KEEP_DIRS 8        /* work dirs (logs) of ended clusters the daemon keeps per parent */

/* CLUSTER_SLURM: a standalone master and one worker per node inside one
 * Slurm batch job (slurm.h): the daemon writes the job's files in work_dir
 * (the rendered script job.sh, the RPC secret in a 0600 file, the
 * properties file, the Spark home's path) and submits it; ready when every
 * worker registered.  No ready timeout: a job may wait in the queue. */
enum cluster_kind { CLUSTER_STANDALONE, CLUSTER_CONNECT, CLUSTER_SLURM };

struct cluster_spec {
        enum cluster_kind kind;
        const char *spark_home;    /* the pyspark package dir (has bin/spark-class, jars/), or NULL: discover */
        const char *work_dir;      /* private dir for logs, worker dirs, pid-less state (created 0700) */
        int workers;               /* standalone: number of workers (1..16) */
        int worker_cores;          /* standalone: cores per worker */
        const char *worker_memory; /* standalone: e.g. "1g" */
        json_t *conf;              /* connect: Spark conf for the Connect server (borrowed), may be NULL;
                                      null values are skipped; spark.ui.port, when set, is kept */
        json_t *env;               /* extra environment (borrowed), may be NULL */
        const char *script;        /* slurm: the rendered batch script (work_dir must be on a filesystem
                                      the nodes share) */
        int nodes;                 /* slurm: nodes of the allocation (workers) */
        double time_limit;         /* slurm: seconds */
};

struct cluster_cbs {
        /* spark://127.0.0.1:P  or  sc://127.0.0.1:P/;token=T (the address bound;
         * kernels connect with sparkd_helpers.py's connect_builder, which sends
         * the token in clear text to that loopback address only) */
        void (*on_ready)(void *data, const char *url);
        /* never became ready: a clear sentence + the log's first error line */
        void (*on_failed)(void *data, const char *message);
        /* a process died after ready; the cluster stops the others */
        void (*on_exit)(void *data, const char *message);
        /* each log line ("master: ...", "worker-1: ...", "connect: ..."), may be NULL */
        void (*on_output)(void *data, const char *line);
        /* slurm: what the start waits for ("queued as Slurm job 12 (reason:
         * Priority)", "starting workers 1/4"), may be NULL */
        void (*on_waiting)(void *data, const char *what);
};

struct cluster;

/* Validates spec, creates work_dir and starts the processes (after finding
 * SPARK_HOME asynchronously when spec->spark_home is NULL: $SPARK_HOME, else
 * the pyspark package of $SPARKD_PYTHON or python3).  Exactly one of
 * on_ready or on_failed follows, within CLUSTER_READY_TIMEOUT.  Returns 0
 * and *ret, or -errno with a malloc'd sentence in *ret_err (when ret_err is
 * not NULL; -EINVAL for a bad spec). */
int cluster_start(struct ev_loop *loop, const struct cluster_spec *spec, const struct cluster_cbs *cbs,
                  void *data, struct cluster **ret, char **ret_err);

/* Stops every process of c (SIGTERM, SIGKILL after CLUSTER_STOP_GRACE; the
 * processes are reaped later by proc.c) and frees c; no callback afterwards.
 * Accepts NULL; returns NULL. */
struct cluster *cluster_stop(struct cluster *c);

/* Hands c to another owner: later callbacks go to cbs/data (a warm
 * Connect server taken by a session, prewarm.h).  Callbacks are copied. */
void cluster_set_owner(struct cluster *c, const struct cluster_cbs *cbs, void *data);

/* Removes the subdirectories of parent (a directory holding only work
 * dirs) beyond the keep most recently modified, never the work dir of a
 * running cluster.  Returns the number removed or -errno. */
int cluster_prune_dirs(const char *parent, size_t keep);

/* The port of cluster_ui_url(c); 0 for NULL. */
int cluster_ui_port(const struct cluster *c);

/* The bearer token the UIs of c (master and workers, or the Connect
 * server's driver) require, NULL when its Spark has no UI filter (< 4.0). */
const char *cluster_ui_token(const struct cluster *c);

/* A standalone cluster's RPC secret (the driver's spark.authenticate.secret),
 * NULL for a Connect server. */
const char *cluster_rpc_secret(const struct cluster *c);

/* slurm: the job id ("" until known), and when the allocation ends at the
 * latest (wall clock, 0 until the job runs); "" and 0 for other kinds. */
const char *cluster_job_id(const struct cluster *c);
double cluster_ends_at(const struct cluster *c);

/* The pid of the master or Connect server process, 0 when none runs. */
int cluster_pid(const struct cluster *c);

/* The web UI of the master (standalone) or of the Connect server's driver
 * (connect: conf's spark.ui.port, else one the daemon allocated):
 * http://127.0.0.1:P.  Never NULL for a started cluster. */
const char *cluster_ui_url(const struct cluster *c);

/* At daemon exit, outside the loop: every cluster's processes are stopped
 * and reaped (SIGKILL after timeout seconds); no callback follows.  The
 * clusters still have to be freed with cluster_stop. */
void cluster_stop_all_sync(double timeout);
