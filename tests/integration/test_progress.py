"""Live Spark job progress (GET /api/sessions/KERNEL/progress): the real
daemon polls the real Spark REST API of a real PySpark session in a real
ipykernel, and attributes jobs to the cells that started them."""
import os
import signal
import time

import pytest

from kernels import wait_until
from test_sessions import env, start, wait_state  # noqa: F401,F811 (env is a fixture)

pytestmark = pytest.mark.jvm


def execute(k, code, cell_id=None):
    """Sends an execute_request as JupyterLab does (metadata.cellId); returns its msg_id."""
    c = k.client
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": False}
    msg = c.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
    c.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def reply_of(k, msg_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = k.client.get_shell_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id:
            return m["content"]
    raise AssertionError("no execute_reply")


def follow(d, kid, until, version=0, timeout=120):
    """Long-polls progress until until(answer) holds; returns every answer seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = d.get(f"/api/sessions/{kid}/progress?wait=10&version={version}")
        assert r.status == 200, r
        a = r.json()
        assert a["version"] >= version
        seen.append(a)
        if until(a):
            return seen
        version = a["version"]
    raise AssertionError(f"progress never got there: {seen[-1] if seen else None}")


def job_of(a, msg_id):
    return next((j for j in a["jobs"] if j["msg_id"] == msg_id), None)


def voluntary_switches(pid):
    """How often the process's main thread went to sleep and was woken."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))


def counters(d):
    return d.get("/api/health").json()["progress"]


# 8 partitions on 2 cores, 1 s per element: ~8 s, so it still runs when the
# first poll of a cold session (PROGRESS_COLD_DELAY, 4 s) comes
SLOW_JOB = """
import time
def slow(x):
    time.sleep(1.0)
    return x
print(spark.sparkContext.parallelize(range(16), 8).map(slow).map(lambda x: (x % 2, x)).groupByKey().mapValues(len).collect())
"""

FAILING_JOB = """
def boom(x):
    raise ValueError("boom %d" % x)
spark.sparkContext.parallelize(range(2), 2).map(boom).collect()
"""


def test_jobs_stages_cells_failures_and_no_idle_polling(env):
    """One session, started by the lazy `spark` of a new kernel in the first
    cell, which then runs a job: the cell that started Spark is followed too."""
    k = env.kernel()
    r = env.get(f"/api/sessions/{k.id}/progress")
    assert r.status == 404 and r.json()["error"]["code"] == "session_not_found"

    # a two-stage job: running, then succeeded, done counts only grow
    mid = execute(k, SLOW_JOB, cell_id="cell-A")
    assert wait_until(lambda: env.get(f"/api/sessions/{k.id}/progress").status == 200, 60)
    saw_running = []

    def finished(a):
        j = job_of(a, mid)
        if j and j["status"] == "running" and not saw_running:
            saw_running.append(env.get(f"/api/sessions/{k.id}").json()["jobs_running"])
        return j is not None and j["status"] != "running" and not a["polling"]

    seen = follow(env, k.id, finished)
    assert reply_of(k, mid)["status"] == "ok"
    assert wait_state(env, k.id, ("ready",))["jobs_running"] == 0
    states = [job_of(a, mid) for a in seen if job_of(a, mid)]
    assert [j["status"] for j in states][0] == "running"
    assert states[-1]["status"] == "succeeded"
    assert saw_running and saw_running[0] >= 1  # the session showed the running job
    done = [j["tasks"]["done"] for j in states]
    assert done == sorted(done) and len(set(done)) >= 2, done  # grew while it ran
    last = states[-1]
    assert last["cell_id"] == "cell-A"
    assert last["tasks"] == {"total": 16, "done": 16, "active": 0, "failed": 0, "skipped": 0}
    assert last["stages"] == {"total": 2, "done": 2, "active": 0, "failed": 0, "skipped": 0}
    assert last["completed_at"] >= last["submitted_at"] and last["duration"] > 0
    assert last["error"] is None
    assert last["ui_path"] == f"/user/alice/sparkd/ui/{k.id}/jobs/job/?id={last['id']}"
    assert seen[-1]["executors"]["alive"] == 1  # local mode: the driver
    assert seen[-1]["executors"]["cores"] >= 1
    assert env.get(f"/api/sessions/{k.id}").json()["jobs_running"] == 0

    # two cells' quick jobs, and one without sparkd's tags (by its busy window)
    mb = execute(k, "spark.range(100).count()", cell_id="cell-B")
    assert reply_of(k, mb)["status"] == "ok"
    mc = execute(k, "spark.range(50).count()", cell_id="cell-C")
    assert reply_of(k, mc)["status"] == "ok"
    md = execute(k, "spark.sparkContext.clearJobTags()\nspark.range(10).count()", cell_id="cell-D")
    assert reply_of(k, md)["status"] == "ok"
    seen = follow(env, k.id, lambda a: all(job_of(a, m) for m in (mb, mc, md)) and not a["polling"],
                  seen[-1]["version"])
    a = seen[-1]
    assert job_of(a, mb)["cell_id"] == "cell-B" and job_of(a, mc)["cell_id"] == "cell-C"
    assert job_of(a, md)["cell_id"] is None  # no tag: the request's window, no cell
    assert all(job_of(a, m)["status"] == "succeeded" for m in (mb, mc, md))
    ids = [j["id"] for j in a["jobs"]]
    assert ids == sorted(ids, reverse=True)  # newest first

    # a failing job: its stage and the error's line
    mf = execute(k, FAILING_JOB, cell_id="cell-F")
    assert reply_of(k, mf)["status"] == "error"
    seen = follow(env, k.id, lambda a: job_of(a, mf) and job_of(a, mf)["status"] == "failed"
                  and job_of(a, mf)["error"] and not a["polling"], a["version"])
    j = job_of(seen[-1], mf)
    assert j["cell_id"] == "cell-F"
    assert isinstance(j["error"]["stage"], int)
    assert j["error"]["message"].startswith("ValueError: boom"), j["error"]
    assert seen[-1]["summary"]["failed"] == 1

    # ready and idle: no polls, no requests
    before = counters(env)
    assert before["polls"] > 0 and before["requests"] > 0
    time.sleep(3)
    assert counters(env) == before
    assert env.get(f"/api/sessions/{k.id}/progress").json()["polling"] is False
    # ready and idle: the daemon does not wake at all (no heartbeat while
    # the kernel holds IOPub's connection; this counts the main loop's thread)
    time.sleep(0.5)
    w0 = voluntary_switches(env.proc.pid)
    time.sleep(6)
    w1 = voluntary_switches(env.proc.pid)
    assert w1 - w0 == 0, f"{w1 - w0} wakeups in 6 s while idle"

    # stopped: no jobs
    env.request("DELETE", f"/api/sessions/{k.id}")
    wait_state(env, k.id, ("stopped",))
    a = env.get(f"/api/sessions/{k.id}/progress").json()
    assert a["state"] == "stopped" and a["jobs"] == [] and a["polling"] is False


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_lost_executor_counts_dead(env):
    """A worker (and its executor) of an ephemeral standalone cluster killed: executors.dead grows."""
    k = env.kernel()
    start(env, k.id, config="standalone-ephemeral")
    s = wait_state(env, k.id, timeout=240)
    assert s["state"] == "ready", s
    mid = execute(k, "spark.range(10**5).repartition(4).count()")
    assert reply_of(k, mid)["status"] == "ok"
    a = follow(env, k.id, lambda a: a["executors"] and a["executors"]["alive"] >= 1 and not a["polling"])[-1]
    assert a["executors"]["dead"] == 0
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    executors = [p for p in pids if "CoarseGrainedExecutorBackend" in cmdline(p) and k.id in cmdline(p) or
                 "CoarseGrainedExecutorBackend" in cmdline(p) and s["app_id"] in cmdline(p)]
    assert executors, "no executor process found"
    os.kill(executors[0], signal.SIGKILL)
    mid = execute(k, "spark.range(1000).count()")
    assert reply_of(k, mid)["status"] == "ok"
    a = follow(env, k.id, lambda a: a["executors"]["dead"] >= 1 and not a["polling"], a["version"], timeout=60)
    assert a[-1]["executors"]["dead"] >= 1
    env.request("DELETE", f"/api/sessions/{k.id}")
    wait_state(env, k.id, ("stopped",))


def test_a_cold_sessions_ui_is_first_asked_after_the_cold_delay(env):
    """The first request to a Spark UI initialises its REST service (about
    1 s of CPU in a JVM that just started): for a session whose UI nobody
    asked yet (a cold start), the first poll waits PROGRESS_COLD_DELAY (4 s)
    so that a short first cell does not share the cores with it; once the UI
    has answered, a busy kernel is polled at once."""
    k = env.kernel()
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "ready" and s["context_ahead"] is False, s
    before = counters(env)["requests"]
    status, out, _ = k.run("import time; time.sleep(2); print('slept')")
    assert status == "ok" and "slept" in out
    assert counters(env)["requests"] == before  # a 2 s cell right after the start: not polled
    assert wait_until(lambda: counters(env)["requests"] > before, 30)  # then the sweep, idle
    assert wait_until(lambda: not env.get(f"/api/sessions/{k.id}/progress").json()["polling"], 30)
    n = counters(env)["requests"]
    status, out, _ = k.run("import time; time.sleep(2); print('slept')")
    assert status == "ok"
    assert counters(env)["requests"] > n  # polled while the cell ran
