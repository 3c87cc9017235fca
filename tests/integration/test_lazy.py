"""The lazy `spark` as a full session (issue 12): first use in a new kernel
asks the daemon for a session (a warm JVM when one is ready, the UI's port
and path, the secrets) and reports back; without a daemon it still starts,
after one line.  Real daemon, real ipykernels, real PySpark."""
import os
import re
import socket
import threading
import time

import pytest

from kernels import java_children, wait_until
from test_prewarm import env, make_env, wait_warm  # noqa: F401 (env: the same fixture)
from test_sessions import wait_state

import pyspark  # noqa: F401  (the .venv has it: make venv; a missing one fails loudly)

# the JVM pass runs these beside the sessions suite (make test: integration-warm)
pytestmark = [pytest.mark.jvm, pytest.mark.warm]

# What a JVM prints while it starts: none of it belongs in a cell.
JVM_NOISE = re.compile(r"WARNING: Using incubator|log4j|NativeCodeLoader|Setting default log level|"
                       r"setLogLevel|hostname resolves|\[Stage \d")


def test_lazy_first_use_is_a_session_of_the_daemon(env):
    pid = wait_warm(env)
    k = env.kernel()
    status, out, ename = k.run("print(spark.range(3).count())")
    assert status == "ok", (ename, out)
    assert out.strip() == "3", out  # the answer and nothing else: no JVM noise, no progress bar
    s = wait_state(env, k.id, timeout=30)
    assert s["state"] == "ready" and s["prewarmed"] is True and s["jvm_pid"] == pid, s
    assert s["context_ahead"] is True, s  # the warm-up's SparkContext, wrapped
    assert s["ui_path"] == f"/user/alice/sparkd/ui/{k.id}/" and s["ui_protected"] is True, s
    # the UI through the daemon lists the job
    r = env.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/jobs")
    assert r.status == 200 and any(j["status"] == "SUCCEEDED" for j in r.json()), r
    assert env.get(f"/ui/{k.id}/jobs/").status == 200
    # Stop works as for a clicked start; the kernel lives on
    assert env.request("DELETE", f"/api/sessions/{k.id}").status == 202
    assert wait_state(env, k.id, ("stopped",))["reason"] == "stopped"
    assert k.run("print(6 * 7)")[1].strip() == "42"
    assert wait_until(lambda: pid not in java_children(env.proc.pid), 30)


def test_lazy_first_use_during_the_warm_up_waits_for_that_jvm(env):
    """A first use before the warm JVM is ready (it starts with that first
    activity): the kernel waits for it rather than starting a second one."""
    k = env.kernel()
    assert java_children(env.proc.pid) == []  # nothing warm yet (the start delay)
    status, out, ename = k.run("print(spark.range(3).count())")
    assert status == "ok" and out.strip() == "3", (ename, out)
    s = wait_state(env, k.id, timeout=30)
    assert s["state"] == "ready" and s["prewarmed"] is True, s
    assert java_children(k.pid) == []  # the kernel started no JVM of its own
    assert "a start waits for the starting driver JVM" in env.output()


def test_lazy_cold_start_is_quiet_and_listed(daemon_factory, tmp_path):
    """No warm JVM at all: a cold JVM started by the kernel, its start-up
    lines in the session's log, not in the cell."""
    env = make_env(daemon_factory, tmp_path, "--prewarm-max", "0")
    k = env.kernel()
    status, out, ename = k.run("print(spark.range(5).count())")
    assert status == "ok", (ename, out)
    assert not JVM_NOISE.search(out), out
    assert out.strip().splitlines()[-1] == "5"
    s = wait_state(env, k.id, timeout=30)
    assert s["state"] == "ready" and s["prewarmed"] is False, s
    assert any(JVM_NOISE.search(line) for line in s["log_tail"]), s["log_tail"]
    assert env.get(f"/ui/{k.id}/jobs/").status == 200
    # a kernel that dies ends the session
    k.kill()
    s = wait_state(env, k.id, ("stopped", "failed"), timeout=30)
    assert s["reason"] == "the kernel died or was shut down", s
    for other in env.kernels:
        other.shutdown()


def test_clicked_start_leaves_no_jvm_lines_in_cells(env):
    """A click's start-up output is the daemon's (the session's log); the
    next cell shows only what it prints."""
    from test_sessions import start
    k = env.kernel()
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    status, out, _ = k.run("print(spark.range(10).count())")
    assert status == "ok" and out.strip() == "10", out


# what the first call into the JVM imports is imported ahead too (pyspark.testing.utils)
PRELOADED = ("import sys; print(sorted(m for m in ('pyspark', 'pyspark.sql', 'pyspark.testing.utils') "
             "if m in sys.modules))")


def test_pyspark_is_imported_ahead_where_a_jvm_is_kept_warm(env, daemon_factory, tmp_path):
    """With a warm JVM for the configuration the kernel imports PySpark in
    the background after its start (a click or first use does not pay for
    it); a first cell right away waits for that import instead of racing it
    (no "partially initialized module"); without pre-warming nothing is
    imported ahead."""
    assert "modules['_sparkd'].preload()" in open(env.startup).read()
    k = env.kernel()  # idle a while, then a cell that imports nothing finds PySpark imported
    time.sleep(2)  # PRELOAD_DELAY is 0.5 s; an import still under way is waited for by the cell
    status, out, ename = k.run(PRELOADED)
    assert status == "ok" and out.strip() == "['pyspark', 'pyspark.sql', 'pyspark.testing.utils']", (ename, out)
    k2 = env.kernel()  # a first cell importing PySpark at once: no race with the preload
    status, out, ename = k2.run("from pyspark.sql import functions as F, SparkSession\n"
                                "from pyspark import SparkConf\nprint(SparkSession.__name__, SparkConf.__name__, F.lit.__name__)")
    assert status == "ok" and out.strip() == "SparkSession SparkConf lit", (ename, out)

    cold = make_env(daemon_factory, tmp_path / "cold", "--prewarm-max", "0")
    try:
        assert "modules['_sparkd'].preload(" not in open(cold.startup).read()
        kc = cold.kernel()
        time.sleep(2)  # longer than the preload delay: an import would have begun
        assert kc.run(PRELOADED)[1].strip() == "[]"
    finally:
        for kk in cold.kernels:
            kk.shutdown()


def test_without_a_daemon_spark_starts_after_one_line(env):
    k = env.kernel()
    env.stop()  # the socket goes with it
    status, out, ename = k.run("print(spark.range(4).count())")
    assert status == "ok", (ename, out)
    lines = out.strip().splitlines()
    assert lines[-1] == "4", out
    notes = [line for line in lines if line.startswith("sparkd:")]
    assert len(notes) == 1 and "without Start Spark" in notes[0] and "no daemon" in notes[0], out
    assert "Traceback" not in out


def test_a_daemon_that_does_not_answer_is_not_waited_for(env, tmp_path):
    """The socket answers nothing: after the short bound, a cold start."""
    k = env.kernel()
    env.stop()
    sock_path = env.sock
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(sock_path)
    os.chmod(sock_path, 0o600)
    silent.listen(4)
    held = []
    stop = threading.Event()

    def accept():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])  # never answered
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        status, out, ename = k.run("print(spark.range(2).count())")
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        silent.close()
    assert status == "ok", (ename, out)
    assert out.strip().splitlines()[-1] == "2", out
    assert any("did not answer within" in line for line in out.splitlines()), out
    assert held, "the lazy start did not even ask the daemon"


def test_a_lazy_start_is_refused_through_the_browser(env):
    """The answer holds the session's secrets: only the kernel may ask."""
    r = env.post("/api/sessions", {"config": "local", "kernel_id": "123e4567-e89b-42d3-a456-426614174000",
                                   "lazy": True}, headers=["Cookie: _xsrf=x", "X-XSRFToken: x"])
    assert r.status == 403 and r.json()["error"]["code"] == "lazy_from_browser", r
    r = env.post("/api/sessions/123e4567-e89b-42d3-a456-426614174000/report", {"info": {}},
                 headers=["Cookie: _xsrf=x", "X-XSRFToken: x"])
    assert r.status == 403, r
    r = env.post("/api/sessions/123e4567-e89b-42d3-a456-426614174000/report", {"info": {}})
    assert r.status == 404 and r.json()["error"]["code"] == "session_not_found", r
