"""The warm-up of a warm Spark Connect server (daemon/prewarm.c): the same
two small jobs through a Spark Connect client.  Runs as ``python -c``
after the helpers (sparkd_helpers.py) in the same namespace; the server's
URL, with its token, is in the environment (never on a command line).  The
client's own session is released at the end; the server stays.  (`os`
and `connect_builder` come from the helpers.)
"""

warm = connect_builder(os.environ.pop("SPARKD_WARMUP_REMOTE")).getOrCreate()
try:
    warm.range(1).count()
    warm.range(100).selectExpr("id % 7 AS k").groupBy("k").count().collect()
finally:
    warm.stop()
