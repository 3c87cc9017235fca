/* prewarm.h — driver JVMs kept ready for `prewarm: true` configurations.
 *
 * For every loaded configuration with `prewarm: true`, no `launch` and a
 * local master (`local` or `local[...]`), the daemon keeps one driver JVM
 * ready: what PySpark's launch_gateway would run, with the settings in a
 * file instead of on the command line (where every user sees them),
 *   SPARK_HOME/bin/spark-submit --properties-file F pyspark-shell
 * where F (0600, in a private 0700 directory, removed once the JVM started)
 * holds spark.master, spark.app.name, the configuration's conf and the
 * driver bound to 127.0.0.1 with authenticated RPC; with the daemon's
 * environment plus the configuration's env, SPARK_LOCAL_IP=127.0.0.1 (the
 * UI's address), SPARK_CONNECT_MODE=0 and _PYSPARK_DRIVER_CONN_INFO_PATH (a
 * file in the same directory, read back without blocking once the JVM
 * writes it, then removed).  Its stdin is a pipe the daemon holds: the
 * gateway exits at EOF, so it also ends with the daemon.  The warm-up
 * (daemon/py/warmup_driver.py) keeps its throw-away UI on loopback behind
 * a key nobody holds.
 *
 * A configuration with `prewarm: true` and `launch: {type: connect}`
 * gets its Spark Connect server started the same way (cluster.h, with the
 * configuration's conf and master, before any click): a session start
 * takes it (prewarm_take_connect) and only attaches.  The rules below
 * hold for both kinds; the server's memory is its spark.driver.memory.
 *
 * A session start takes a ready JVM (prewarm_take): it then belongs to
 * that session and to no one else, and the next one starts in the
 * background.  Rules:
 *  - the first launch waits PREWARM_START_DELAY after the daemon starts
 *    (it starts with the user's server, which should have the cores first)
 *    or until the first prewarm_touch, whichever comes first;
 *  - at most opts.prewarm_max warm (untaken) JVMs in total; 0 disables;
 *  - an untaken JVM stops after opts.prewarm_idle seconds without
 *    prewarm_touch(); the next touch starts it again;
 *  - memory: none is started while MemAvailable (/proc/meminfo) is below
 *    2 × the configuration's spark.driver.memory (default 1g) + 512 MiB;
 *    the first refusal is logged, and the rule is checked again at every
 *    later attempt;
 *  - a JVM that dies (or never gets ready within PREWARM_READY_TIMEOUT) is
 *    logged and started again at most once per PREWARM_RETRY seconds;
 *    after PREWARM_MAX_FAILURES failures in a row only a touch retries;
 *  - a configuration whose master, app_name, conf or env changed gets a new
 *    JVM (prewarm_refresh, and prewarm_take checks again);
 *  - SPARK_HOME: opts.spark_home, else $SPARK_HOME, else the pyspark
 *    package of $SPARKD_PYTHON (or python3), found asynchronously.
 * Never blocks the loop (the loop must be the default loop: proc.c).
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "cluster.h"
#include "config.h"
#include "daemon.h"
#include "proc.h"

#define PREWARM_IDLE_DEFAULT  900.0 /* seconds */
#define PREWARM_MAX_DEFAULT   2u
#define PREWARM_MAX_LIMIT     16u
/* seconds of small practice jobs in a driver JVM's warm-up (throw-away
 * session, before the context made ahead): the JIT compiles what a
 * session's jobs run, so a user's first job takes about half as long */
#define PREWARM_PRACTICE_DEFAULT 10.0
#define PREWARM_PRACTICE_LIMIT   120.0
#define PREWARM_READY_TIMEOUT 120.0 /* seconds from launch to the connection file */
/* seconds the warm-up may take; past it (a machine too busy) the JVM is
 * replaced once and later ones are kept ready without a warm-up, instead
 * of being killed and restarted in a loop */
#define PREWARM_WARMUP_TIMEOUT 300.0
#define PREWARM_RETRY         60.0  /* seconds between launches after a failure */
#define PREWARM_MAX_FAILURES  3
#ifndef PREWARM_REFILL_DELAY
#define PREWARM_REFILL_DELAY  8.0   /* seconds from a handover to the next launch */
#endif
#ifndef PREWARM_START_DELAY
#define PREWARM_START_DELAY   6.0   /* seconds from the daemon's start to the first launch */
#endif
#define PREWARM_SECRET_MAX    256   /* bytes of the gateway's secret */

/* Creates d->prewarm (nothing starts until prewarm_refresh).  Returns 0
 * or -ENOMEM. */
int prewarm_init(struct sparkd *d);

/* After the configurations were (re)loaded (start-up, SIGHUP): starts the
 * missing warm JVMs, replaces those whose configuration changed and stops
 * those no longer wanted. */
void prewarm_refresh(struct sparkd *d);

/* The user is active (GET /api/configs, a session start): idle timers
 * restart, JVMs stopped for idleness start again, and a reload made
 * meanwhile is picked up.  Cheap when nothing is to do. */
void prewarm_touch(struct sparkd *d);

/* What a kernel of configuration e should import ahead (the startup file
 * calls _sparkd.preload): PREWARM_PRELOAD_DRIVER or _CONNECT when this
 * daemon keeps a warm JVM or Connect server for e, else PREWARM_PRELOAD_NONE
 * (no warm JVM: the kernel's start-up stays as light as it was). */
enum prewarm_preload { PREWARM_PRELOAD_NONE, PREWARM_PRELOAD_DRIVER, PREWARM_PRELOAD_CONNECT };
enum prewarm_preload prewarm_preload_of(struct sparkd *d, const struct cfg_entry *e);

/* True for properties only a new JVM can apply: spark.driver.*,
 * spark.jars*, spark.files*, spark.submit.*, spark.master. */
bool prewarm_jvm_level_key(const char *key);

/* Hands the ready warm JVM of configuration e to a session, unless none
 * is ready or overrides (may be NULL) change a JVM-level property.  The
 * process then reports to cbs/data (static cbs; its stdin pipe stays with
 * the daemon) and the caller stops it (proc_detach + proc_stop).  Stores
 * in *ret_handover the kernel's part: {"port", "secret", "pid",
 * "spark_home", "pin_thread"}.  Returns the process, or NULL. */
struct proc *prewarm_take(struct sparkd *d, const struct cfg_entry *e, json_t *overrides,
                          const struct proc_cbs *cbs, void *data, json_t **ret_handover);

/* A start that found the warm JVM of e still starting or warming (not
 * ready: prewarm_take gave nothing) waits for it rather than starting a
 * second JVM beside it: returns true, and cb(data, p, handover) follows
 * once the JVM is ready (as prewarm_take's; a JVM still starting skips its
 * warm-up), or cb(data, NULL, NULL) when it fails or is replaced.  False
 * when there is nothing to wait for (no such JVM, one waiter already, the
 * overrides change the JVM).  One waiter per JVM. */
bool prewarm_wait(struct sparkd *d, const struct cfg_entry *e, json_t *overrides, const struct proc_cbs *cbs,
                  void *data, void (*cb)(void *data, struct proc *p, json_t *handover));

/* The start of data no longer waits (it was stopped): no callback. */
void prewarm_wait_cancel(struct sparkd *d, void *data);

/* A session's kernel began running a cell: warm-ups end their practice
 * after the job they run, so that it never competes with the user's work. */
void prewarm_user_busy(struct sparkd *d);

/* Hands the ready warm Spark Connect server of configuration e (a
 * `launch: connect` configuration) to a session, unless none is ready or
 * overrides change a JVM-level property.  Later callbacks go to cbs/data;
 * the caller owns the cluster (cluster_stop).  Stores the server's URL
 * (sc://127.0.0.1:P/;token=T, malloc'd) in *ret_url.  Returns the
 * cluster, or NULL. */
struct cluster *prewarm_take_connect(struct sparkd *d, const struct cfg_entry *e, json_t *overrides,
                                     const struct cluster_cbs *cbs, void *data, char **ret_url);

/* {"max", "idle", "jvms": [{"config", "kind": "driver"|"connect", "state":
 * "starting"|"warming"|"ready"|"idle"|"waiting", "pid" (or null)}]} for
 * GET /api/health. */
json_t *prewarm_json(struct sparkd *d);

/* The daemon stops: every warm JVM is stopped (SIGTERM; reaped by
 * proc_stop_all_sync) and none starts again.  Idempotent. */
void prewarm_stop_all(struct sparkd *d);

/* Frees d->prewarm (after the loop; stops what still runs). */
void prewarm_free(struct sparkd *d);

/* Pure helpers, exposed for the unit tests. */

/* Parses the gateway's connection file (4-byte big-endian port, 4-byte
 * big-endian length, that many secret bytes, printable ASCII).  Returns 0,
 * -EAGAIN when incomplete, or -EINVAL. */
int prewarm_parse_conn(const unsigned char *buf, size_t len, int *ret_port,
                       char ret_secret[PREWARM_SECRET_MAX + 1]);

/* True when a JVM of mem bytes may start with avail bytes available. */
bool prewarm_mem_ok(unsigned long long avail, unsigned long long mem);
