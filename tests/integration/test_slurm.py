"""Spark across a Slurm allocation (issue 15), through the real daemon, real
kernels and real PySpark, against a real single-host Slurm cluster
(slurmenv.py: munged, slurmctld and slurmd from Debian's packages, in the
test's own directory).  The node has 2 CPUs: a session asking for both
holds it, so the next one queues behind it.

One module-wide cluster and daemon; the tests run in file order:
  a: a session holding the node becomes ready, a job runs on the worker
     the allocation started (its task's process carries the job's
     SLURM_JOB_ID);
  b: a second start queues (behind a job of the test's holding the node:
     reason Resources or Priority) and is cancelled while queued: its job
     leaves the queue;
  c: a third start queued behind it ends when its kernel dies: cancelled;
  d: a: an administrator shortens the allocation's time limit to 1 min
     (scontrol update): its end ends the session with that message, and no
     java is left;
  e: too many nodes: Slurm refuses the job, a clear failure at once;
  f: a new session is ready; Stop cancels its job and leaves no java;
  g: a daemon that exits cancels the jobs it submitted."""
import os
import time

import pytest

from conftest import daemons_in
from kernels import Kernel, java_children, wait_until
from slurmenv import SlurmCluster, have_slurm

pytestmark = [pytest.mark.jvm, pytest.mark.slurm]
TIMEOUT = 240


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    assert have_slurm(), "Slurm is not installed: make deps installs slurmctld slurmd slurm-client munge"
    base = tmp_path_factory.mktemp("slurm")
    os.chmod(base, 0o755)
    cluster = SlurmCluster(base / "cluster").start()
    runtime = base / "runtime"
    runtime.mkdir()
    kernels = []
    try:
        with daemons_in(base) as make:
            d = make(env={"SLURM_CONF": str(cluster.conf)},
                     extra_args=["--runtime-dir", str(runtime), "--start-timeout", str(TIMEOUT)]).start()

            def kernel():
                k = Kernel(runtime, d.ipython)
                kernels.append(k)
                return k

            d.kernel = kernel
            d.cluster = cluster
            d.shared = {}
            yield d
            for k in kernels:
                k.shutdown()
    finally:
        cluster.stop()


def follow(d, kid, pred, timeout=TIMEOUT):
    """Long-polls the session until pred(session) holds; returns it."""
    version, seen = 0, []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = d.get(f"/api/sessions/{kid}?wait=20&version={version}")
        assert r.status == 200, r
        s = r.json()
        seen.append((s["state"], s["waiting_for"]))
        if pred(s):
            return s, seen
        version = s["version"]
    raise AssertionError(f"session never got there: {seen[-10:]}\n{d.cluster.jobs()}")


def start(d, kid, **overrides):
    r = d.post("/api/sessions", {"config": "slurm", "kernel_id": kid, "overrides": overrides})
    assert r.status == 202, r
    return r.json()


def job_java(job_id):
    """java processes whose environment carries SLURM_JOB_ID=job_id."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"java" not in f.read().split(b"\0")[0]:
                    continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"SLURM_JOB_ID={job_id}".encode() in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_session_runs_on_the_allocation(env):
    k = env.kernel()
    start(env, k.id, **{"slurm.cores_per_node": 2, "slurm.memory_per_node": "2g", "slurm.time": "10m"})
    s, seen = follow(env, k.id, lambda s: s["state"] != "starting")
    assert s["state"] == "ready", (s, seen)
    waits = [w for st, w in seen if w]
    assert any(w.startswith("submitted as Slurm job ") for w in waits), waits
    assert "starting the Spark master on the first node" in waits, waits
    job = s["slurm"]["job_id"]
    assert s["slurm"]["nodes"] == 1 and s["slurm"]["time"] == "10m", s
    assert s["slurm"]["ends_at"] > time.time(), s
    assert s["master"].startswith("spark://") and s["master"] != "spark://slurm:7077", s
    assert env.cluster.job(job)["JobState"] == "RUNNING"
    assert env.cluster.job(job)["JobName"] == f"sparkd-{k.id}"
    # the task runs in a process of the allocation: its environment has the job id
    status, out, _ = k.run("import os\n"
                           "print(spark.range(10**6).count())\n"
                           "print(spark.sparkContext.parallelize([0], 1).map("
                           "lambda _: os.environ.get('SLURM_JOB_ID')).collect()[0])")
    assert status == "ok" and out.split() == ["1000000", job], out
    assert len(job_java(job)) >= 3, "a master, a worker and an executor run in the job"
    assert java_children(k.pid), "the driver's JVM stays in the kernel"
    # the cluster's secret is in a 0600 file, not on any command line
    secret = (env.state / "clusters" / k.id / "secret")
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    word = secret.read_text().strip().encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                assert word not in open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                pass
    env.shared["a"] = (k, job)


def test_b_a_queued_start_can_be_cancelled(env):
    # whether or not a's allocation still runs, this job keeps the node busy
    holder = env.cluster.run("sbatch", "--parsable", "-c", "2", "--mem=100M", "-o", "/dev/null",
                             "--wrap", "sleep 600")
    assert holder.returncode == 0, holder.stderr
    env.shared["holder"] = holder.stdout.strip()
    k = env.kernel()
    start(env, k.id, **{"slurm.cores_per_node": 2, "slurm.memory_per_node": "2g"})
    s, seen = follow(env, k.id, lambda s: "(reason: " in (s["waiting_for"] or ""), timeout=60)
    job = s["slurm"]["job_id"]
    assert s["waiting_for"] in (f"queued as Slurm job {job} (reason: Resources)",
                                f"queued as Slurm job {job} (reason: Priority)"), s
    job = s["slurm"]["job_id"]
    assert [j for j in env.cluster.jobs("PENDING") if j.startswith(f"{job}|")], env.cluster.jobs()
    r = env.request("DELETE", f"/api/sessions/{k.id}")
    assert r.status == 202 and r.json()["state"] == "stopped", r.json()
    assert wait_until(lambda: not [j for j in env.cluster.jobs("PENDING", "RUNNING") if j.startswith(f"{job}|")],
                      20), env.cluster.jobs()


def test_c_a_dead_kernel_cancels_its_job(env):
    k = env.kernel()
    start(env, k.id, **{"slurm.cores_per_node": 2, "slurm.memory_per_node": "2g"})
    s, _ = follow(env, k.id, lambda s: (s["waiting_for"] or "").startswith("queued as Slurm job"), timeout=60)
    job = s["slurm"]["job_id"]
    k.kill()
    s, _ = follow(env, k.id, lambda s: s["state"] not in ("starting", "ready"), timeout=60)
    assert s["state"] in ("stopped", "failed"), s
    assert wait_until(lambda: not [j for j in env.cluster.jobs("PENDING", "RUNNING") if j.startswith(f"{job}|")],
                      20), env.cluster.jobs()
    assert env.cluster.run("scancel", env.shared["holder"]).returncode == 0


def test_d_the_time_limit_ends_the_session(env):
    k, job = env.shared["a"]
    p = env.cluster.run("scontrol", "update", f"JobId={job}", "TimeLimit=1")
    assert p.returncode == 0, p.stderr
    s, _ = follow(env, k.id, lambda s: s["state"] != "ready", timeout=240)
    assert s["state"] == "failed", s
    assert s["error"]["message"] == (f"the Spark cluster stopped: the Slurm job {job} ended: the time limit of "
                                     "the allocation was reached"), s
    assert s["error"]["hint"] == "Start Spark again, with a longer time (the gear's slurm.time).", s
    assert wait_until(lambda: env.cluster.job(job).get("JobState") != "COMPLETING", 60)
    assert env.cluster.job(job).get("JobState") == "TIMEOUT", env.cluster.job(job)
    assert wait_until(lambda: not job_java(job), 30), job_java(job)


def test_e_too_many_nodes_is_a_clear_failure(env):
    k = env.kernel()
    start(env, k.id, **{"slurm.nodes": 3})
    s, _ = follow(env, k.id, lambda s: s["state"] != "starting", timeout=60)
    assert s["state"] == "failed", s
    job = s["slurm"]["job_id"]
    assert s["error"]["message"] == (f"Slurm cannot run job {job}: the partition cannot hold it (too many nodes, "
                                     "cores or too much memory) (reason: PartitionConfig)"), s
    assert s["error"]["hint"].startswith("The cluster has no nodes like this"), s
    assert wait_until(lambda: not [j for j in env.cluster.jobs("PENDING", "RUNNING") if j.startswith(f"{job}|")],
                      20), env.cluster.jobs()
    # more memory than any node has: sbatch itself refuses, nothing is queued
    k2 = env.kernel()
    start(env, k2.id, **{"slurm.memory_per_node": "64g"})
    s, _ = follow(env, k2.id, lambda s: s["state"] != "starting", timeout=60)
    assert s["state"] == "failed" and s["slurm"]["job_id"] is None, s
    assert s["error"]["message"] == "Slurm refused the job: Memory specification can not be satisfied", s
    assert s["error"]["hint"].startswith("The cluster has no nodes like this"), s


def test_f_stop_cancels_the_job_and_leaves_no_java(env):
    k = env.kernel()
    start(env, k.id, **{"slurm.cores_per_node": 1, "slurm.memory_per_node": "2g"})
    s, _ = follow(env, k.id, lambda s: s["state"] != "starting")
    assert s["state"] == "ready", s
    job = s["slurm"]["job_id"]
    status, out, _ = k.run("print(spark.range(1000).count())")
    assert out.strip() == "1000"
    r = env.request("DELETE", f"/api/sessions/{k.id}")
    assert r.status == 202
    s, _ = follow(env, k.id, lambda s: s["state"] == "stopped", timeout=60)
    assert wait_until(lambda: not [j for j in env.cluster.jobs("PENDING", "RUNNING", "COMPLETING")
                                   if j.startswith(f"{job}|")], 30), env.cluster.jobs()
    assert wait_until(lambda: not job_java(job), 30), job_java(job)
    assert wait_until(lambda: not java_children(k.pid), 30)


def test_g_the_daemons_exit_cancels_its_jobs(env, tmp_path):
    holder = env.cluster.run("sbatch", "--parsable", "-c", "2", "--mem=100M", "-o", "/dev/null",
                             "--wrap", "sleep 600")
    assert holder.returncode == 0, holder.stderr
    try:
        runtime = tmp_path / "rt"
        runtime.mkdir()
        with daemons_in(tmp_path) as make:
            d = make(env={"SLURM_CONF": str(env.cluster.conf)}, extra_args=["--runtime-dir", str(runtime)]).start()
            k = Kernel(runtime, d.ipython)
            try:
                start(d, k.id)
                s, _ = follow(d, k.id, lambda s: (s["waiting_for"] or "").startswith("queued as Slurm job"),
                              timeout=60)
                job = s["slurm"]["job_id"]
                assert [j for j in env.cluster.jobs("PENDING") if j.startswith(f"{job}|")]
                d.stop()  # SIGTERM: a clean exit
                assert wait_until(lambda: not [j for j in env.cluster.jobs("PENDING", "RUNNING")
                                               if j.startswith(f"{job}|")], 20), env.cluster.jobs()
            finally:
                k.shutdown()
    finally:
        env.cluster.run("scancel", holder.stdout.strip())
