"""Pre-warmed driver JVMs (issue 6): real daemon, real ipykernels, real PySpark."""
import re
import shutil
import signal
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT
from kernels import Kernel, java_children, wait_until
from test_sessions import start, wait_state

import pyspark  # noqa: F401  (the .venv has it: make venv; a missing one fails loudly)

# the JVM pass runs these beside the sessions suite (make test: integration-warm)
pytestmark = [pytest.mark.jvm, pytest.mark.warm]

CONFIG = """\
name: local
default: true
master: local[2]
conf:
  spark.driver.memory: 600m
  spark.sql.shuffle.partitions: 4
  spark.ui.showConsoleProgress: false
overridable:
  spark.driver.memory:
    type: memory
    min: 512m
    max: 2g
  spark.sql.shuffle.partitions:
    type: int
    min: 1
    max: 100
  spark.task.maxFailures:
    type: int
    min: 1
    max: 8
prewarm: true
"""

READY = re.compile(r"prewarm: local: driver JVM ready in [0-9.]+ s \(pid (\d+)\)")

CONNECT = """\
name: connect
default: true
master: local[2]
launch:
  type: connect
conf:
  spark.driver.memory: 600m
  spark.sql.shuffle.partitions: 4
overridable:
  spark.sql.shuffle.partitions:
    type: int
    min: 1
    max: 100
prewarm: true
"""

CONNECT_READY = re.compile(r"prewarm: connect: Spark Connect server ready in [0-9.]+ s \(pid (\d+)\)")


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def make_env(daemon_factory, tmp_path, *args, configs=None):
    admin = tmp_path / "admin"
    (admin / "templates").mkdir(parents=True)
    shutil.copy(ROOT / "configs" / "templates" / "default.py.j2", admin / "templates")
    for name, text in (configs or {"local.yaml": CONFIG}).items():
        (admin / name).write_text(text)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    d = daemon_factory(admin_dirs=[admin], extra_args=[
        "--runtime-dir", str(runtime), "--start-timeout", "150",
        "--public-prefix", "/user/alice/sparkd", "--prewarm-max", "2", *args]).start()
    kernels = []

    def kernel(**kw):
        k = Kernel(runtime, d.ipython, **kw)
        kernels.append(k)
        return k

    d.kernel = kernel
    d.kernels = kernels
    return d


@pytest.fixture
def env(daemon_factory, tmp_path):
    d = make_env(daemon_factory, tmp_path)
    yield d
    for k in d.kernels:
        k.shutdown()


def warm_pids(d):
    """PIDs of the warm JVMs that became ready, in order."""
    return [int(p) for p in READY.findall(d.output())]


def wait_warm(d, n=1, timeout=90):
    """Waits until n warm JVMs became ready; returns the n-th one's pid."""
    assert wait_until(lambda: len(warm_pids(d)) >= n, timeout), d.output()
    return warm_pids(d)[n - 1]


def run_ok(k, code):
    status, out, ename = k.run(code)
    assert status == "ok", (ename, out)
    return out.strip()


AHEAD = re.compile(r"prewarm: local: the session's SparkContext is created ahead \(UI http://127\.0\.0\.1:\d+\)")


def kernel_in(env, tmp_path, name, lines):
    """A kernel whose working directory is tmp_path/name, holding rel.txt."""
    k = env.kernel()
    work = tmp_path / name
    work.mkdir()
    (work / "rel.txt").write_text("".join(f"{line}\n" for line in lines))
    run_ok(k, f"import os; os.chdir({str(work)!r})")
    return k, work


def test_prewarmed_start_uses_the_daemons_jvm(env, tmp_path):
    """A click takes the warm JVM and the SparkContext its warm-up made
    ahead: the user's settings hold (a runtime SQL override too), relative
    paths are the kernel's, the UI is the session's — behind the key only
    the daemon's proxy holds — and shows no job of the warm-up."""
    pid = wait_warm(env)
    assert pid in java_children(env.proc.pid)
    assert AHEAD.search(env.output()), env.output()
    k, work = kernel_in(env, tmp_path, "notebooks", ["a", "b"])
    start(env, k.id, overrides={"spark.sql.shuffle.partitions": 7})
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    assert s["prewarmed"] is True and s["jvm_pid"] == pid
    assert s["context_ahead"] is True and s["ui_protected"] is True, s
    # the UI: nothing ran in it yet (the warm-up's jobs were in another context)
    r = env.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/jobs")
    assert r.status == 200 and r.json() == [], r.text
    assert run_ok(k, "print(spark.conf.get('spark.app.name'))") == "local"
    assert run_ok(k, "print(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())") == str(pid)
    assert run_ok(k, "print(spark.conf.get('spark.driver.memory'))") == "600m"
    assert run_ok(k, "print(spark.conf.get('spark.sql.shuffle.partitions'))") == "7"
    assert run_ok(k, "print(spark.range(10).count())") == "10"
    assert run_ok(k, "print(sc.parallelize(range(6), 2).map(lambda x: x * x).sum())") == "55"
    # relative paths resolve against the kernel's directory, as with its own JVM
    assert run_ok(k, "print(spark.read.text('rel.txt').count())") == "2"
    assert run_ok(k, "print(spark.conf.get('spark.sql.warehouse.dir'))").endswith(
        str(work / "spark-warehouse"))
    assert java_children(k.pid) == []  # the kernel launched no JVM
    assert "PYSPARK_GATEWAY_PORT" not in run_ok(k, "import os; print(sorted(os.environ))")
    # the Spark UI under the prefix
    jobs = env.get(f"/ui/{k.id}/jobs/")
    assert jobs.status == 200 and "Spark Jobs" in jobs.text
    assert f"/user/alice/sparkd/ui/{k.id}/" in jobs.text
    assert env.get(f"/ui/{k.id}/executors/").status == 200
    r = env.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/jobs")
    assert r.status == 200 and len(r.json()) >= 2 and all(j["status"] == "SUCCEEDED" for j in r.json()), r.text
    # the UI itself refuses a request without the daemon's token
    url = run_ok(k, "print(sc.uiWebUrl)")
    assert url.startswith("http://127.0.0.1:"), url
    try:
        status = urllib.request.urlopen(url + "/jobs/", timeout=20).status
    except urllib.error.HTTPError as e:
        status = e.code
    assert status == 403
    # the next warm JVM starts in the background
    nxt = wait_warm(env, 2)
    assert nxt != pid and nxt in java_children(env.proc.pid)
    # Stop ends the session's JVM; the kernel lives on
    assert env.request("DELETE", f"/api/sessions/{k.id}").status == 202
    assert wait_state(env, k.id, ("stopped",))["reason"] == "stopped"
    assert wait_until(lambda: not pid_alive(pid), 30) and k.alive()


PRACTICE = re.compile(r"prewarm: local: driver JVM ready in [0-9.]+ s \(pid (\d+)\) and warmed up: "
                      r"(\d+) practice jobs in ([0-9.]+) s(, ended early)?")


def test_the_warm_up_practises_until_a_start_waits_or_a_cell_runs(daemon_factory, tmp_path):
    """--prewarm-practice: the warm-up runs small jobs in its throw-away
    session (never in the session's context: the user's UI lists only the
    user's jobs); a click while it practises ends the practice after the job
    it runs and gets that JVM, with the SparkContext made ahead; so does a
    cell running in a session's kernel (the practice never competes with
    the user's work)."""
    d = make_env(daemon_factory, tmp_path, "--prewarm-practice", "120")
    try:
        k, work = kernel_in(d, tmp_path, "notebooks", ["x"])
        assert wait_until(lambda: "warm-up: practice begins" in d.output(), 120), d.output()
        time.sleep(1.5)  # a few practice jobs
        assert not warm_pids(d)  # still practising (for up to 120 s)
        start(d, k.id)
        s = wait_state(d, k.id)
        assert s["state"] == "ready" and s["prewarmed"] is True, s
        m = PRACTICE.search(d.output())
        assert m and m.group(4), d.output()  # ended early, for the waiting start
        assert int(m.group(2)) >= 1 and float(m.group(3)) < 120, m.group(0)
        assert s["jvm_pid"] == int(m.group(1)) and s["context_ahead"] is True, s
        assert "a start waits for the warming driver JVM" in d.output()
        assert d.get("/api/health").json()["prewarm"]["practice"] == 120
        r = d.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/jobs")
        assert r.status == 200 and r.json() == [], r.text
        assert run_ok(k, "print(spark.read.text('rel.txt').count())") == "1"
        r = d.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/jobs")
        # the user's cell's jobs, nothing else
        assert r.status == 200 and r.json() and all(
            any(t.startswith("sparkd-msg-") for t in j["jobTags"]) for j in r.json()), r.text
        # the next warm JVM (a refill) practises until the user runs a cell
        assert wait_until(lambda: d.output().count("warm-up: practice begins") == 2, 150), d.output()
        assert run_ok(k, "import time; time.sleep(0.5); print('done')") == "done"
        nxt = wait_warm(d, 2, 150)
        assert "a session's kernel runs a cell: the warm-up ends its practice" in d.output()
        found = PRACTICE.findall(d.output())
        assert len(found) == 2 and int(found[1][0]) == nxt and found[1][3], found
        assert float(found[1][2]) < 120, found
    finally:
        for kk in d.kernels:
            kk.shutdown()


def test_without_practice_the_warm_up_runs_none(env):
    """--prewarm-practice 0 (the tests' default, SPARKD_PREWARM_PRACTICE=0):
    the warm-up says so, and the JVM is ready without it."""
    wait_warm(env)
    m = PRACTICE.search(env.output())
    assert m and m.group(2) == "0" and not m.group(4), env.output()
    assert "practice begins" not in env.output()
    assert env.get("/api/health").json()["prewarm"]["practice"] == 0


def test_other_settings_get_a_new_context_in_the_warm_jvm(env, tmp_path):
    """An override the context made ahead was not created with (not a
    runtime SQL setting, not the JVM's): that context is stopped and the
    start creates its own in the same warm JVM, with the override."""
    pid = wait_warm(env)
    k, _ = kernel_in(env, tmp_path, "nb", ["x"])
    start(env, k.id, overrides={"spark.task.maxFailures": 3})
    s = wait_state(env, k.id)
    assert s["state"] == "ready" and s["jvm_pid"] == pid and s["prewarmed"] is True, s
    assert s["context_ahead"] is False, s
    assert "differ from the SparkContext made ahead (spark.task.maxFailures)" in "\n".join(s["log_tail"]), s
    assert run_ok(k, "print(sc.getConf().get('spark.task.maxFailures'))") == "3"
    assert run_ok(k, "print(spark.read.text('rel.txt').count())") == "1"
    assert run_ok(k, "print(spark.range(4).count())") == "4"
    assert env.get(f"/ui/{k.id}/jobs/").status == 200
    assert java_children(k.pid) == []


def test_kernel_restart_or_death_ends_the_session_and_its_jvm(env):
    """JupyterLab's Restart keeps the kernel's id, connection file and ports:
    the daemon sees IOPub's connection drop (the old process exited) and ends
    the session — the warm JVM it was given goes too — and the restarted
    kernel gets a lazy `spark` that starts a new session.  A killed kernel
    ends its session the same way."""
    pid = wait_warm(env)
    k = env.kernel()
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "ready" and s["jvm_pid"] == pid, s
    time.sleep(3)  # the heartbeat rests once the kernel answered
    k.restart()
    s = wait_state(env, k.id, ("stopped",), timeout=30)
    assert s["reason"] == "the kernel died or was shut down", s
    assert wait_until(lambda: not pid_alive(pid), 30)
    assert "the kernel's process exited" in env.output()
    second = wait_warm(env, 2)
    assert run_ok(k, "print(spark.range(3).count())") == "3"  # the lazy spark of the new process
    s = wait_state(env, k.id, timeout=60)
    assert s["state"] == "ready" and s["jvm_pid"] == second, s
    time.sleep(3)
    k.kill()
    s = wait_state(env, k.id, ("stopped",), timeout=30)
    assert s["reason"] == "the kernel died or was shut down", s
    assert wait_until(lambda: not pid_alive(second), 30)


def test_second_kernel_gets_another_jvm_and_stop_ends_it(env):
    first = wait_warm(env)
    k1 = env.kernel()
    start(env, k1.id)
    s1 = wait_state(env, k1.id)
    assert s1["state"] == "ready" and s1["jvm_pid"] == first
    second = wait_warm(env, 2)
    k2 = env.kernel()
    start(env, k2.id)
    s2 = wait_state(env, k2.id)
    assert s2["state"] == "ready" and s2["prewarmed"], s2
    assert s2["jvm_pid"] == second != first
    assert run_ok(k2, "print(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())") == str(second)
    assert run_ok(k1, "print(spark.range(5).count())") == "5"
    # stop: the handed-over JVM goes, the kernel stays
    assert env.request("DELETE", f"/api/sessions/{k1.id}").status == 202
    assert wait_state(env, k1.id, ("stopped",))["reason"] == "stopped"
    assert wait_until(lambda: not pid_alive(first), 30)
    assert k1.alive() and run_ok(k2, "print(spark.range(3).count())") == "3"
    # a new start in the same kernel works again (a new JVM)
    start(env, k1.id)
    s = wait_state(env, k1.id)
    assert s["state"] == "ready", s
    assert run_ok(k1, "print(spark.range(4).count())") == "4"
    # the daemon stops: no JVM of its own is left
    wait_warm(env, 3)
    pids = set(warm_pids(env))
    env.stop()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 20)
    assert java_children(env.proc.pid) == []


def test_a_click_during_the_warm_up_waits_for_that_jvm(env):
    """The first click comes before the warm JVM is ready (it starts with
    that activity): the start waits for it, no second JVM beside it."""
    k = env.kernel()
    assert java_children(env.proc.pid) == []  # nothing warm yet (the start delay)
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "ready" and s["prewarmed"] is True, s
    assert s["jvm_pid"] == warm_pids(env)[0]
    assert java_children(k.pid) == []  # the kernel started no JVM of its own
    assert "a start waits for the starting driver JVM" in env.output()
    assert run_ok(k, "print(spark.range(5).count())") == "5"


def test_restart_in_same_kernel_replaces_the_jvm(env):
    first = wait_warm(env)
    k = env.kernel()
    start(env, k.id)
    assert wait_state(env, k.id)["jvm_pid"] == first
    second = wait_warm(env, 2)
    start(env, k.id, restart=True)
    s = wait_state(env, k.id)
    assert s["state"] == "ready" and s["jvm_pid"] == second, s
    assert run_ok(k, "print(spark.range(6).count())") == "6"
    assert wait_until(lambda: not pid_alive(first), 30)


def test_jvm_override_starts_cold(env):
    pid = wait_warm(env)
    k = env.kernel()
    start(env, k.id, overrides={"spark.driver.memory": "700m"})
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    assert s["prewarmed"] is False and s["jvm_pid"] is None
    assert run_ok(k, "print(spark.conf.get('spark.driver.memory'))") == "700m"
    own = java_children(k.pid)
    assert own and pid not in own
    assert pid_alive(pid)  # still warm for the next start
    k2 = env.kernel()  # the same value as the configuration's is no override
    start(env, k2.id, overrides={"spark.driver.memory": "600m"})
    s2 = wait_state(env, k2.id)
    assert s2["state"] == "ready" and s2["jvm_pid"] == pid, s2


def test_idle_warm_jvm_is_reaped_then_rewarmed(daemon_factory, tmp_path):
    d = make_env(daemon_factory, tmp_path, "--prewarm-idle", "3")
    try:
        pid = wait_warm(d)
        assert wait_until(lambda: not pid_alive(pid), 20), d.output()
        assert "not used for 3 s" in d.output()
        time.sleep(1)
        assert java_children(d.proc.pid) == []
        assert len(warm_pids(d)) == 1  # not restarted by itself
        # a start brings it back and waits for it (no second, cold JVM)
        k = d.kernel()
        start(d, k.id)
        s = wait_state(d, k.id)
        assert s["state"] == "ready" and s["prewarmed"] is True and s["jvm_pid"] == warm_pids(d)[1], s
        assert java_children(k.pid) == []
        third = wait_warm(d, 3)  # the refill after the handover
        # idle again; opening a toolbar (GET /api/configs) also counts as activity
        assert wait_until(lambda: not pid_alive(third), 20), d.output()
        time.sleep(1)
        assert len(warm_pids(d)) == 3
        assert d.get("/api/configs").status == 200
        wait_warm(d, 4)
    finally:
        for k in d.kernels:
            k.shutdown()


def test_prewarm_max_zero_keeps_none(daemon_factory, tmp_path):
    d = make_env(daemon_factory, tmp_path, "--prewarm-max", "0")
    time.sleep(4)
    assert java_children(d.proc.pid) == []
    assert "prewarm: local" not in d.output()


def test_daemon_killed_leaves_no_warm_jvm(daemon_factory, tmp_path):
    d = make_env(daemon_factory, tmp_path)
    pid = wait_warm(d)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    assert wait_until(lambda: not pid_alive(pid), 20)


def test_prewarmed_connect_server_is_attached(daemon_factory, tmp_path):
    """`prewarm: true` on a `launch: connect` configuration: the daemon
    starts the Connect server before any click; a start only attaches, the
    server belongs to that session, the next one starts in the background."""
    d = make_env(daemon_factory, tmp_path, configs={"connect.yaml": CONNECT})
    try:
        pids = lambda: [int(p) for p in CONNECT_READY.findall(d.output())]  # noqa: E731
        assert wait_until(lambda: pids(), 120), d.output()
        pid = pids()[0]
        assert pid in java_children(d.proc.pid)
        # a throw-away client ran a first query before the server counted as ready
        assert re.search(rf"Spark Connect server ready in [0-9.]+ s \(pid {pid}\) and warmed up", d.output())
        health = d.get("/api/health").json()["prewarm"]["jvms"]
        assert health == [{"config": "connect", "kind": "connect", "state": "ready", "pid": pid}], health
        k = d.kernel()
        start(d, k.id, config="connect", overrides={"spark.sql.shuffle.partitions": 9})
        s = wait_state(d, k.id)
        assert s["state"] == "ready", s
        assert s["prewarmed"] is True and s["server_pid"] == pid and s["jvm_pid"] is None, s
        assert s["connect"] is True
        assert "attaching to the warm Spark Connect server" in d.output()
        assert run_ok(k, "print(spark.range(100).count())") == "100"
        assert run_ok(k, "print(spark.conf.get('spark.sql.shuffle.partitions'))") == "9"
        assert java_children(k.pid) == []  # the kernel holds no JVM
        # the server's UI under the session's public path, although the
        # server started before the session existed (X-Forwarded-Context)
        jobs = d.get(f"/ui/{k.id}/jobs/")
        assert jobs.status == 200 and "Spark Jobs" in jobs.text
        assert f'href="/user/alice/sparkd/ui/{k.id}/jobs/"' in jobs.text
        # a client cannot choose that path: its own header is dropped
        evil = d.get(f"/ui/{k.id}/jobs/", headers=["X-Forwarded-Context: /evil"])
        assert evil.status == 200 and "/evil" not in evil.text
        # the next warm server, for the next notebook
        assert wait_until(lambda: len(pids()) >= 2, 120), d.output()
        nxt = pids()[1]
        assert nxt != pid
        # stopping the session stops its server, not the next one
        assert d.request("DELETE", f"/api/sessions/{k.id}").status == 202
        assert wait_state(d, k.id, ("stopped",))["reason"] == "stopped"
        assert wait_until(lambda: not pid_alive(pid), 30)
        assert pid_alive(nxt)
        d.stop()
        assert wait_until(lambda: not pid_alive(nxt), 20)
    finally:
        for k in d.kernels:
            k.shutdown()


def test_first_launch_waits_for_the_server_or_the_first_activity(daemon_factory, tmp_path):
    """The daemon starts with the user's server: its first warm JVM waits a
    few seconds (the server gets the cores first), unless the user is
    already active (a toolbar asks for the configurations)."""
    d = make_env(daemon_factory, tmp_path)
    time.sleep(2)
    assert java_children(d.proc.pid) == []
    jvms = d.get("/api/health").json()["prewarm"]["jvms"]
    assert jvms == [{"config": "local", "kind": "driver", "state": "waiting", "pid": None}], jvms
    assert d.get("/api/configs").status == 200  # activity: no more waiting
    assert wait_until(lambda: java_children(d.proc.pid), 5), d.output()
    assert d.get("/api/health").json()["prewarm"]["jvms"][0]["state"] in ("starting", "warming", "ready")
    wait_warm(d)


def test_cap_keeps_the_default_warm_first(daemon_factory, tmp_path):
    """--prewarm-max 1 with two `prewarm: true` configurations: one JVM,
    the default configuration's; the other waits."""
    other = CONFIG.replace("name: local\ndefault: true\n", "name: other\n")
    d = make_env(daemon_factory, tmp_path, "--prewarm-max", "1",
                 configs={"local.yaml": CONFIG, "other.yaml": other})
    try:
        assert d.get("/api/configs").status == 200  # activity: no start delay
        pid = wait_warm(d)
        time.sleep(2)
        jvms = {j["config"]: j for j in d.get("/api/health").json()["prewarm"]["jvms"]}
        assert jvms["local"]["state"] == "ready" and jvms["local"]["pid"] == pid, jvms
        assert jvms["other"]["state"] == "waiting" and jvms["other"]["pid"] is None, jvms
        assert java_children(d.proc.pid) == [pid]
    finally:
        for k in d.kernels:
            k.shutdown()
