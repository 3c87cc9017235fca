/* sparkhome.h — where Spark is, for the processes the daemon launches
 * (launched clusters, warm driver JVMs).
 *
 * In order: a configured path (--spark-home), $SPARK_HOME, else the
 * directory of the pyspark package of $SPARKD_PYTHON (or python3 on PATH;
 * sparkd-launch sets SPARKD_PYTHON to the server's own interpreter), found
 * by running PYTHON -c with importlib.util.find_spec('pyspark') (where the
 * package is, without importing it) without blocking the loop.  A home is usable when it is absolute and has
 * bin/spark-submit and bin/spark-class.  A found home is kept for the
 * daemon's life; a failed search is not (the next request searches again).
 * Requests made while a search runs share it.  The loop must be the
 * default loop (proc.c).
 */
#pragma once
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

/* True when home is absolute with executable bin/spark-submit and
 * bin/spark-class. */
bool sparkhome_ok(const char *home);

/* The major version of the Spark in home, read from the name of its
 * jars/spark-core_SCALA-VERSION.jar; 0 when unknown.  Reads a directory:
 * call it once per launch, not per request. */
int sparkhome_major(const char *home);

/* The major version in a jar file name "spark-core_2.13-4.0.1.jar" (any
 * Scala version; "-SNAPSHOT" and the like after the version allowed), 0
 * for any other name.  Pure. */
int sparkhome_core_jar_major(const char *name);

/* $SPARKD_PYTHON, or "python3". */
const char *sparkhome_python(void);

/* sparkhome_python() as a path, for messages: a bare name looked up in
 * $PATH (left as it is when not found). */
void sparkhome_python_path(char *out, size_t n);

/* The home known without a search: configured (when usable), else
 * $SPARK_HOME (when usable), else what an earlier search found; NULL when
 * a search is needed.  Every string returned lives until sparkhome_reset. */
const char *sparkhome_known(const char *configured);

/* Called once per request, never inside sparkhome_find: home on success
 * (valid until sparkhome_reset), else NULL and detail (the interpreter's
 * last error line, or another reason). */
typedef void (*sparkhome_cb)(void *data, const char *home, const char *detail);

struct sparkhome_wait;

/* Starts (or joins) a search.  Returns 0 and *ret, or -errno (nothing
 * will be called back). */
int sparkhome_find(struct ev_loop *loop, sparkhome_cb cb, void *data, struct sparkhome_wait **ret);

/* Withdraws a request (no call back).  Accepts NULL; returns NULL. */
struct sparkhome_wait *sparkhome_cancel(struct sparkhome_wait *w);

/* Stops a running search (its requests are dropped) and forgets what was
 * found.  For the daemon's exit. */
void sparkhome_reset(void);
