"""The warm-up of a warm driver JVM (daemon/prewarm.c), run once against a
new gateway before any kernel gets it: a throw-away SparkSession and two
small jobs load what a kernel's session needs (its SparkSession and first
job then take ~0.3 s each instead of ~3 s).  Then practice: small jobs of
the shapes first cells have (a count, an aggregation, a show) for at most
SPARKD_WARMUP_PRACTICE seconds (the daemon's --prewarm-practice), so that
the JIT compiles the scheduler's and the SQL engine's hot paths: a user's
jobs then take about half as long.  The practice ends early when the
daemon closes our stdin: a start waits for this JVM, or a session's kernel
runs a cell (the practice never competes with the user's work).

Runs as ``python -c`` after the helpers (sparkd_helpers.py) in the same
namespace; the gateway's port and secret are in the environment.  Nothing
of the throw-away stays: the session is stopped, it writes no event log
and informs no listener the configuration names, and its UI (on loopback,
behind a key nobody holds) goes with it.

Then, for a local master, when the daemon asks for it
(``SPARKD_WARMUP_CONTEXT``: the configuration's master, app name and conf
and the key of the UI it will hand to the session), the session's own
SparkContext and SparkSession are created ahead, in the JVM only — exactly
as PySpark would create them from that conf, with the security settings of
secure() — so that a click or a first use only wraps them
(adopt_context()).  Nothing runs in them: the Spark UI a user opens shows
no job of ours.  The line ``sparkd-context: <UI URL>`` tells the daemon.
"""

import json
import select
import time

from pyspark import SparkContext
from pyspark.sql import SparkSession

PRACTICE_JOBS = 400  # at most, whatever the time allows


def start_waits():
    """True once the daemon closed our stdin: a start waits for this JVM,
    or the user runs a cell."""
    try:
        return bool(select.select([0], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def practice(spark, seconds):
    """Small jobs for at most seconds; returns (jobs, elapsed, interrupted)."""
    shapes = (
        lambda: spark.range(1).count(),
        lambda: spark.range(100).selectExpr("id % 7 AS k").groupBy("k").count().collect(),
        lambda: spark.range(20).selectExpr("id", "CAST(id AS STRING) AS s")._jdf.showString(20, 20, False),
    )
    began = time.monotonic()
    done = 0
    if seconds > 0:
        print("practice begins", flush=True)
    while done < PRACTICE_JOBS and time.monotonic() - began < seconds:
        if start_waits():
            return done, time.monotonic() - began, True
        shapes[done % len(shapes)]()
        done += 1
    return done, time.monotonic() - began, False


warmup_conf = {
    "spark.ui.port": "0",
    "spark.eventLog.enabled": "false",
    "spark.extraListeners": "",
    "spark.sql.queryExecutionListeners": "",
    "spark.sql.streaming.streamingQueryListeners": "",
}
secure("local[*]", warmup_conf, {})
builder = SparkSession.builder.appName("sparkd-warmup")
for warmup_key, warmup_value in warmup_conf.items():
    builder = builder.config(warmup_key, warmup_value)
warm = builder.getOrCreate()
try:
    warm.range(1).count()
    warm.range(100).selectExpr("id % 7 AS k").groupBy("k").count().collect()
    jobs, took, waited = practice(warm, float(os.environ.get("SPARKD_WARMUP_PRACTICE") or 0))
    print("sparkd-practice: %d practice jobs in %.1f s%s" % (jobs, took, ", ended early" if waited else ""),
          flush=True)
finally:
    warm.stop()

warmup_context = os.environ.pop("SPARKD_WARMUP_CONTEXT", None)
if warmup_context:
    print("sparkd-context: %s" % create_context(json.loads(warmup_context)), flush=True)
# the throw-away session's garbage is collected now, not in a user's first job
SparkContext._jvm.java.lang.System.gc()
