"""The warm-up of a warm driver JVM (daemon/prewarm.c), run once against a
new gateway before any kernel gets it: a throw-away SparkSession and two
small jobs load and JIT-compile what a kernel's session needs (its
SparkSession and first job then take ~0.3 s each instead of ~3 s).

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

from pyspark.sql import SparkSession

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
finally:
    warm.stop()

warmup_context = os.environ.pop("SPARKD_WARMUP_CONTEXT", None)
if warmup_context:
    print("sparkd-context: %s" % create_context(json.loads(warmup_context)), flush=True)
