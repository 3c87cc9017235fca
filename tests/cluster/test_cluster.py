"""cluster.c with real Spark: an ephemeral standalone cluster and a Spark
Connect server, started, used from PySpark, and stopped without a trace.
Tests within a module fixture run in file order: the stop test is last."""
import json
import os
import re
import signal
import stat
import time

from conftest import (ROOT, Driver, driver_env, free_port, java_procs_in, procs_in, run_python,
                      wait_gone)

STANDALONE_JOB = r"""
import json, os, time, urllib.request
from pyspark.sql import SparkSession
ui = {ui}
builder = (SparkSession.builder.master({url!r}).appName("cluster-test")
           .config("spark.driver.host", "127.0.0.1")
           .config("spark.driver.bindAddress", "127.0.0.1")
           .config("spark.ui.port", str(ui))
           .config("spark.executor.memory", "512m"))
if os.environ.get("TEST_RPC_SECRET"):  # what a session's kernel gets (never on argv)
    builder = (builder.config("spark.authenticate", "true")
               .config("spark.authenticate.secret", os.environ["TEST_RPC_SECRET"]))
spark = builder.getOrCreate()
app = spark.sparkContext.applicationId
end = time.time() + 60
while True:  # both executors (one per worker) registered
    ex = json.load(urllib.request.urlopen(
        f"http://127.0.0.1:{{ui}}/api/v1/applications/{{app}}/executors"))
    if sum(e["id"] != "driver" for e in ex) >= 2 or time.time() > end:
        break
    time.sleep(0.5)
n = spark.range(1000).count()
ex = json.load(urllib.request.urlopen(
    f"http://127.0.0.1:{{ui}}/api/v1/applications/{{app}}/executors"))
print("RESULT " + json.dumps({{"count": n, "app": app,
      "executors": [{{"id": e["id"], "host": e["hostPort"], "tasks": e["totalTasks"]}} for e in ex]}}))
spark.stop()
"""

# The kernels' Spark Connect client: sparkd_helpers.py's connect_builder
HELPERS = (ROOT / "daemon" / "py" / "sparkd_helpers.py").read_text()

CONNECT_JOB = HELPERS + r"""
import os
spark = connect_builder(os.environ["TEST_CONNECT_URL"]).getOrCreate()
print("RESULT", spark.range(100).count())
"""


def ui_get(url, token=None):
    """GET url; returns the HTTP status (errors included)."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def result_of(p):
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return line[len("RESULT "):]
    raise AssertionError(f"no result (exit {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, ::ffff:127.0.0.1


def listeners(port):
    """Local addresses listening on TCP port (hex, as in /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                addr, hexport = fields[1].rsplit(":", 1)
                if int(hexport, 16) == port and fields[3] == "0A":
                    found.append(addr)
    return found


# ---- standalone ----

def test_standalone_ready_with_two_alive_workers(standalone):
    ev = standalone.ready()
    print(f"\nstandalone, 2 workers: ready after {ev['seconds']:.1f} s")
    m = re.fullmatch(r"spark://127\.0\.0\.1:(\d+)", ev["url"])
    assert m, ev
    assert listeners(int(m.group(1))) and set(listeners(int(m.group(1)))) <= LOOPBACK
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", ev["ui"])
    assert re.fullmatch(r"[0-9a-f]{64}", ev["rpc_secret"]) and ev["ui_token"].count(".") == 2
    import urllib.request
    # the master's UI answers only with the token (JWSFilter); so do the workers'
    assert ui_get(ev["ui"] + "/json/") == 403
    req = urllib.request.Request(ev["ui"] + "/json/", headers={"Authorization": "Bearer " + ev["ui_token"]})
    info = json.load(urllib.request.urlopen(req, timeout=10))
    alive = [w for w in info["workers"] if w["state"] == "ALIVE"]
    assert info["aliveworkers"] == 2 and len(alive) == 2, info
    assert all(w["cores"] == 1 and w["host"] == "127.0.0.1" for w in alive), alive
    for w in alive:
        assert ui_get(w["webuiaddress"] + "/") == 403, w
        assert ui_get(w["webuiaddress"] + "/", ev["ui_token"]) == 200, w
    # nothing secret, and no configuration value, on a command line; the
    # properties file is gone once ready
    for pid in procs_in(standalone.work_dir, [standalone.proc.pid]):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read()
        assert ev["rpc_secret"].encode() not in argv and ev["ui_token"].split(".")[2].encode() not in argv
        assert b"--cores" not in argv and b"--memory" not in argv
    assert not os.path.exists(os.path.join(standalone.work_dir, "spark.properties"))
    assert stat.S_IMODE(os.stat(standalone.work_dir).st_mode) == 0o700
    for name in ("master.log", "worker-1.log", "worker-2.log"):
        assert os.path.getsize(os.path.join(standalone.work_dir, name)) > 0
    assert any(line.startswith("worker-2: ") for line in standalone.output)


def test_standalone_refuses_a_driver_without_the_secret(standalone):
    ev = next(e for e in standalone.seen if e["event"] == "ready")
    for secret in ("", "0" * 64):
        p = run_python(STANDALONE_JOB.format(url=ev["url"], ui=free_port()), timeout=240,
                       env={"SPARK_LOCAL_IP": "127.0.0.1", "TEST_RPC_SECRET": secret,
                            "PYSPARK_SUBMIT_ARGS": "--conf spark.network.timeout=20s "
                                                   "--conf spark.rpc.askTimeout=20s pyspark-shell"})
        assert p.returncode != 0 and "RESULT" not in p.stdout, p.stdout[-2000:]


def test_standalone_job_runs_on_the_workers(standalone):
    ev = next(e for e in standalone.seen if e["event"] == "ready")
    p = run_python(STANDALONE_JOB.format(url=ev["url"], ui=free_port()),
                   env={"SPARK_LOCAL_IP": "127.0.0.1", "TEST_RPC_SECRET": ev["rpc_secret"]})
    res = json.loads(result_of(p))
    assert res["count"] == 1000
    executors = [e for e in res["executors"] if e["id"] != "driver"]
    assert len(executors) == 2, res
    assert all(e["host"].startswith("127.0.0.1:") for e in executors), res
    assert sum(e["tasks"] for e in executors) > 0, res


def test_standalone_stop_leaves_no_process(standalone):
    assert len(java_procs_in(standalone.work_dir, [standalone.proc.pid])) >= 3
    t0 = time.monotonic()
    ev = standalone.stop()
    print(f"\nstandalone stop: {time.monotonic() - t0:.1f} s")
    assert ev["procs"] == 0
    assert wait_gone(standalone.work_dir, 5) == []
    assert standalone.proc.returncode == 0


# ---- connect ----

def test_connect_ready_and_usable(connect):
    ev = connect.ready()
    print(f"\nconnect: ready after {ev['seconds']:.1f} s")
    m = re.fullmatch(r"sc://127\.0\.0\.1:(\d+)/;token=([0-9a-f]{32})", ev["url"])
    assert m, ev
    assert listeners(int(m.group(1))) and set(listeners(int(m.group(1)))) <= LOOPBACK
    p = run_python(CONNECT_JOB, env={"TEST_CONNECT_URL": ev["url"]})
    assert result_of(p) == "100"
    # the server's driver UI is on the spark.ui.port the caller chose, behind the token
    assert ev["ui"] == f"http://127.0.0.1:{connect.ui_port}"
    assert ui_get(ev["ui"] + "/api/v1/applications") == 403
    import urllib.request
    req = urllib.request.Request(ev["ui"] + "/api/v1/applications",
                                 headers={"Authorization": "Bearer " + ev["ui_token"]})
    apps = json.load(urllib.request.urlopen(req, timeout=10))
    assert len(apps) == 1 and "SparkConnectServer" in apps[0]["name"], apps
    # the token never appears on a command line
    for pid in procs_in(connect.work_dir, [connect.proc.pid]):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert m.group(2).encode() not in f.read()


def test_connect_refuses_a_wrong_or_missing_token(connect):
    ev = next(e for e in connect.seen if e["event"] == "ready")
    good = ev["url"].rsplit("=", 1)[1]
    for url in (ev["url"].replace(good, "0" * 32), ev["url"].split("/;")[0]):
        p = run_python(CONNECT_JOB, timeout=120, env={"TEST_CONNECT_URL": url})
        assert p.returncode != 0 and "RESULT" not in p.stdout, p.stdout
        assert "UNAUTHENTICATED" in p.stderr or "authentication" in p.stderr.lower(), p.stderr[-2000:]


def test_connect_stop_all_sync_leaves_no_process(connect):
    assert len(java_procs_in(connect.work_dir, [connect.proc.pid])) >= 1
    ev = connect.stop("sync")
    assert ev["procs"] == 0
    assert wait_gone(connect.work_dir, 5) == []


def test_stop_inside_on_ready(work_dir):
    d = Driver(work_dir, ["--kind", "connect", "--stop-on", "ready"])
    try:
        d.ready()
        assert d.stop(how=None)["procs"] == 0
        assert wait_gone(str(work_dir), 5) == []
    finally:
        d.close()


# ---- the daemon dies: its children die with it ----

def test_children_die_with_a_killed_driver(work_dir):
    d = Driver(work_dir, ["--kind", "standalone", "--workers", "1"])
    try:
        d.ready()
        assert len(java_procs_in(str(work_dir), [d.proc.pid])) == 2
        t0 = time.monotonic()
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait(timeout=10)
        assert wait_gone(str(work_dir), 15) == []
        print(f"\nall children gone {time.monotonic() - t0:.1f} s after SIGKILL")
    finally:
        d.close()


# ---- a process dies after ready: on_exit, and the others are stopped ----

def test_dead_worker_ends_the_cluster(work_dir):
    d = Driver(work_dir, ["--kind", "standalone", "--workers", "1", "--stop-on", "exited"])
    try:
        d.ready()
        worker = [pid for pid in java_procs_in(str(work_dir), [d.proc.pid])
                  if "deploy.worker.Worker" in open(f"/proc/{pid}/cmdline").read()]
        assert len(worker) == 1
        os.kill(worker[0], signal.SIGKILL)
        ev = d.wait_for("exited", timeout=30)
        assert ev["message"].startswith("The Spark worker 1 exited (signal 9"), ev
        assert d.stop(how=None)["procs"] == 0
        assert wait_gone(str(work_dir), 5) == []
    finally:
        d.close()


# ---- failures ----

def test_missing_java_fails_with_the_error(work_dir):
    d = Driver(work_dir, ["--kind", "standalone", "--workers", "1", "--stop-on", "failed",
                          "--env", "JAVA_HOME=/nonexistent/jdk"])
    try:
        ev = d.wait_for("failed", "ready", timeout=60)
        assert ev["event"] == "failed"
        assert ev["message"].startswith("The Spark master exited (exit status"), ev
        assert "/nonexistent/jdk/bin/java" in ev["message"], ev
        assert d.stop(how=None)["procs"] == 0
    finally:
        d.close()


def test_no_pyspark_fails_naming_the_python(work_dir, tmp_path_factory):
    py = tmp_path_factory.mktemp("py") / "python-without-site"
    py.write_text("#!/bin/sh\nexec python3 -S \"$@\"\n")
    py.chmod(0o755)
    d = Driver(work_dir, ["--kind", "connect"], env=driver_env(SPARKD_PYTHON=str(py)))
    try:
        ev = d.wait_for("failed", "ready", timeout=60)
        assert ev["event"] == "failed"
        assert ev["message"].startswith(f"No usable pyspark found by {py}"), ev
        assert "No module named 'pyspark'" in ev["message"], ev
        assert d.stop()["procs"] == 0
    finally:
        d.close()


def test_bad_specs_are_refused_at_once(work_dir):
    cases = [
        (["--kind", "standalone", "--workers", "0"], "workers must be between 1 and 16"),
        (["--kind", "standalone", "--workers", "17"], "workers must be between 1 and 16"),
        (["--kind", "standalone", "--memory", "lots"], "worker_memory"),
        (["--kind", "standalone", "--cores", "0"], "worker_cores"),
        (["--kind", "connect", "--spark-home", "/nonexistent"], "not a Spark home"),
        (["--kind", "connect", "--env", "BAD-NAME=1"], "bad environment variable"),
        (["--kind", "connect", "--conf", "a b=1"], "bad Spark conf entry"),
    ]
    for args, message in cases:
        d = Driver(work_dir, args)
        try:
            ev = d.wait_for("error", "ready", "failed", timeout=10)
            assert ev["event"] == "error" and message in ev["message"], (args, ev)
            d.finished()
            assert d.proc.returncode == 1
        finally:
            d.close()
