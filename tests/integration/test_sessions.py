"""Start Spark in real ipykernels through the real daemon, with real PySpark."""
import json
import os
import re
import subprocess
import time
from urllib.parse import urljoin

import pytest

from kernels import Kernel, java_children, wait_until

import pyspark  # the .venv has it (make venv); a missing one fails loudly

pytestmark = pytest.mark.jvm


@pytest.fixture
def env(daemon_factory, tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    d = daemon_factory(extra_args=["--runtime-dir", str(runtime), "--start-timeout", "150",
                                   "--public-prefix", "/user/alice/sparkd"]).start()
    kernels = []

    def kernel(**kw):
        k = Kernel(runtime, d.ipython, **kw)
        kernels.append(k)
        return k

    d.kernel = kernel
    yield d
    for k in kernels:
        k.shutdown()


def wait_state(d, kid, states=("ready", "failed"), timeout=150):
    """Follows the session with long polls until it reaches one of states."""
    version = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = d.get(f"/api/sessions/{kid}?wait=20&version={version}")
        assert r.status == 200, r
        s = r.json()
        if s["state"] in states:
            return s
        version = s["version"]
    raise AssertionError(f"session stuck in {s['state']}: {s}")


def start(d, kid, config="local", **extra):
    r = d.post("/api/sessions", dict({"config": config, "kernel_id": kid}, **extra))
    assert r.status == 202, r
    assert r.json()["state"] == "starting"
    return r.json()


def test_local_start_run_ui_stop(env):
    k = env.kernel()
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    assert s["master"].startswith("local")
    assert s["app_id"]
    assert s["spark_version"] == pyspark.__version__
    assert s["cores"] >= 1 and s["memory"]
    assert s["ui_path"] == f"/user/alice/sparkd/ui/{k.id}/"
    assert s["ready_at"] >= s["started_at"]
    status, out, _ = k.run("print(spark.range(10**6).count())")
    assert status == "ok" and out.strip() == "1000000"
    # the Spark UI through the daemon, every page under the prefix
    jobs = env.get(f"/ui/{k.id}/jobs/")
    assert jobs.status == 200
    assert "Spark Jobs" in jobs.text
    assert "local - Spark Jobs" in jobs.text  # names the app (app_name defaults to the config's name)
    assert f"/user/alice/sparkd/ui/{k.id}/" in jobs.text  # links stay under the prefix
    ex = env.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/executors")
    assert ex.status == 200
    assert any(e["id"] == "driver" for e in json.loads(ex.text))
    # redirects are relative (a proxy in front prefixes absolute paths) and resolve under the prefix
    base = f"http://hub/user/alice/sparkd/ui/{k.id}/"
    for page, want in (("", "jobs/"), ("jobs", "jobs/"), ("executors", "executors/")):
        r = env.get(f"/ui/{k.id}/{page}")
        assert r.status == 302, (page, r)
        loc = re.search(r"(?im)^location: (\S+)", r.headers).group(1)
        assert not loc.startswith("/") and "://" not in loc, loc
        assert urljoin(base + page, loc) == base + want
    r = env.get(f"/ui/{k.id}")
    assert r.status == 301
    assert urljoin(f"http://hub/user/alice/sparkd/ui/{k.id}", re.search(r"(?im)^location: (\S+)", r.headers).group(1)) == base
    for page in ("executors/", "environment/", "SQL/", "stages/", "storage/"):
        assert env.get(f"/ui/{k.id}/{page}").status == 200, page
    # stop without restarting the kernel
    jvms = java_children(k.pid)
    assert jvms
    r = env.request("DELETE", f"/api/sessions/{k.id}")
    assert r.status == 202
    s = wait_state(env, k.id, ("stopped",))
    assert s["reason"] == "stopped"
    status, out, ename = k.run("spark")
    assert ename == "NameError"
    assert k.alive()
    status, out, _ = k.run("print(6 * 7)")
    assert status == "ok" and out.strip() == "42"  # the kernel still runs cells
    assert wait_until(lambda: not java_children(k.pid), 30)
    assert env.get(f"/ui/{k.id}/jobs/").status == 404


def test_ui_kill_link_works_through_the_proxy(env):
    """The UI needs the session's token (the daemon adds it); its kill links
    still work for the owner, through the proxy."""
    k = env.kernel()
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "ready" and s["ui_protected"] is True, s
    port = int(k.run("print(spark.sparkContext.uiWebUrl)")[1].strip().rsplit(":", 1)[1])
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/jobs/", timeout=10)
        raise AssertionError("the UI answered without the token")
    except urllib.error.HTTPError as e:
        assert e.code == 403
    k.submit("spark.sparkContext.setJobGroup('g', 'slow', interruptOnCancel=True)\n"
             "spark.sparkContext.parallelize(range(2), 2).map(lambda x: __import__('time').sleep(120)).count()")
    jobs_url = f"/ui/{k.id}/api/v1/applications/{s['app_id']}/jobs"

    def running():
        r = env.get(jobs_url + "?status=running")
        return r.status == 200 and r.json() and r.json()[0]  # a dict: job 0 counts

    job = wait_until(running, 60)
    assert job, "no running job"
    job = job["jobId"]
    r = env.get(f"/ui/{k.id}/jobs/job/kill/?id={job}")
    assert r.status == 302, r
    assert wait_until(lambda: next(j for j in env.get(jobs_url).json() if j["jobId"] == job)["status"] == "FAILED",
                      60)


def test_conflict_and_restart_with_new_memory(env):
    k = env.kernel()
    start(env, k.id)
    assert wait_state(env, k.id)["state"] == "ready"
    r = env.post("/api/sessions", {"config": "local", "kernel_id": k.id})
    assert r.status == 409 and r.json()["error"]["code"] == "session_exists"
    start(env, k.id, overrides={"spark.driver.memory": "768m"}, restart=True)
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    status, out, _ = k.run("print(spark.conf.get('spark.driver.memory'))")
    assert out.strip() == "768m"


def test_errors_before_start(env):
    k = env.kernel()
    r = env.post("/api/sessions", {"config": "local", "kernel_id": "not-a-uuid"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_kernel_id"
    r = env.post("/api/sessions", {"config": "local", "kernel_id": "123e4567-e89b-42d3-a456-426614174000"})
    assert r.status == 404 and r.json()["error"]["code"] == "kernel_not_found"
    r = env.post("/api/sessions", {"config": "nope", "kernel_id": k.id})
    assert r.status == 404
    r = env.post("/api/sessions", {"config": "local", "kernel_id": k.id,
                                   "overrides": {"spark.driver.memory": "99g"}})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_override"
    assert env.get("/api/sessions/123e4567-e89b-42d3-a456-426614174000").status == 404
    assert env.get("/api/sessions/nope").status == 400
    assert env.get(f"/ui/{k.id}/jobs/").status == 404
    assert env.get("/ui/../etc/passwd").status in (400, 404)


def test_bad_master_fails_with_message_and_hint(env):
    env.request("PUT", "/api/configs/badmaster", {
        "master": "nonsense://nowhere",
        "error_hints": [{"pattern": "Master must", "hint": "Ask your admin (custom hint)."}]})
    k = env.kernel()
    start(env, k.id, config="badmaster")
    s = wait_state(env, k.id)
    assert s["state"] == "failed"
    assert "Master must either be" in s["error"]["message"]
    assert s["error"]["message"].count("\n") == 0
    assert s["error"]["hint"] == "Ask your admin (custom hint)."
    assert k.alive()
    status, out, _ = k.run("print('still here')")
    assert out.strip() == "still here"


def test_no_pyspark_in_kernel(env, tmp_path):
    site = tmp_path / "nopyspark"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['pyspark'] = None\n")
    k = env.kernel(env={"PYTHONPATH": str(site)})
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "failed"
    assert "pyspark is not installed" in s["error"]["message"]
    assert s["error"]["hint"] and "pip install pyspark" in s["error"]["hint"]


def test_busy_kernel_waits_then_ready(env):
    k = env.kernel()
    k.submit("import time; time.sleep(8)")
    time.sleep(0.5)
    s = start(env, k.id)
    r = env.get(f"/api/sessions/{k.id}")
    assert r.json()["state"] == "starting"
    assert "running cell" in r.json()["waiting_for"]
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    assert s["ready_at"] - s["started_at"] >= 6


def test_kernel_killed_mid_start(env):
    k = env.kernel()
    start(env, k.id)
    time.sleep(1.0)
    pid = k.pid
    k.kill()
    s = wait_state(env, k.id, ("failed", "stopped"), timeout=30)
    assert s["state"] == "failed"
    assert "kernel died" in s["error"]["message"]
    assert wait_until(lambda: not java_children(pid), 30)


def test_kernel_shutdown_ends_session(env):
    k = env.kernel()
    start(env, k.id)
    assert wait_state(env, k.id)["state"] == "ready"
    t0 = time.monotonic()
    k.shutdown()
    s = wait_state(env, k.id, ("stopped",), timeout=15)
    assert time.monotonic() - t0 < 10.5
    assert "kernel" in s["reason"]


def test_lazy_spark_in_fresh_kernel(env):
    # the daemon wrote the default configuration at start: a new kernel gets a lazy spark
    k = env.kernel()
    time.sleep(1)
    assert java_children(k.pid) == []
    status, out, _ = k.run("print(type(spark).__name__)")
    assert status == "ok"
    assert java_children(k.pid) == []  # naming it costs no JVM
    status, out, _ = k.run("print(spark.range(3).count())")
    assert out.strip() == "3"
    jvms = java_children(k.pid)
    assert jvms
    # started as securely as a click: on loopback, authenticated, the UI
    # locked, its settings in a file and not on the JVM's command line
    status, out, _ = k.run("import json; c = spark.sparkContext.getConf(); print(json.dumps(["
                           "c.get('spark.driver.bindAddress'), c.get('spark.authenticate'), "
                           "c.get('spark.ui.filters'), spark.sparkContext.uiWebUrl]))")
    bind, auth, filters, ui = json.loads(out)
    assert bind == "127.0.0.1" and auth == "true" and "org.apache.spark.ui.JWSFilter" in filters, out
    assert ui.startswith("http://127.0.0.1:")
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen(ui + "/jobs/", timeout=10)
        raise AssertionError("the lazy session's UI answered without a token")
    except urllib.error.HTTPError as e:
        assert e.code == 403
    with open(f"/proc/{jvms[0]}/cmdline", "rb") as f:
        argv = f.read()
    assert b"--properties-file" in argv and b"spark.driver.memory" not in argv and b"spark.master" not in argv


def test_two_kernels_two_uis(env):
    a, b = env.kernel(), env.kernel()
    start(env, a.id)
    start(env, b.id)
    sa, sb = wait_state(env, a.id), wait_state(env, b.id)
    assert sa["state"] == sb["state"] == "ready"
    assert sa["app_id"] != sb["app_id"] or sa["ui_path"] != sb["ui_path"]
    for kid, s in ((a.id, sa), (b.id, sb)):
        r = env.get(f"/ui/{kid}/api/v1/applications")
        assert r.status == 200
        assert [x["id"] for x in json.loads(r.text)] == [s["app_id"]]
    lst = env.get("/api/sessions").json()
    assert {x["kernel_id"] for x in lst["sessions"]} >= {a.id, b.id}


def test_long_poll_returns_on_change_and_timeout(env):
    r = env.get("/api/sessions")
    v = r.json()["version"]
    t0 = time.monotonic()
    r = env.get(f"/api/sessions?wait=1&version={v}")
    assert r.status == 200 and r.json()["version"] == v
    assert time.monotonic() - t0 >= 0.9
    assert env.get("/api/sessions?wait=999").status == 400


def test_no_java_fails_with_hint(env):
    k = env.kernel(env={"JAVA_HOME": "/nonexistent/jdk"})
    start(env, k.id)
    s = wait_state(env, k.id)
    assert s["state"] == "failed"
    assert "JAVA_GATEWAY_EXITED" in s["error"]["message"] or "java" in s["error"]["message"].lower()
    assert "OpenJDK" in s["error"]["hint"]


def test_timeout_and_cancel_while_kernel_busy(daemon_factory, tmp_path):
    runtime = tmp_path / "rt"
    runtime.mkdir()
    d = daemon_factory(extra_args=["--runtime-dir", str(runtime), "--start-timeout", "2"]).start()
    a = Kernel(runtime, d.ipython)
    b = Kernel(runtime, d.ipython)
    try:
        # a: the start times out behind a long cell, and never runs afterwards
        a.submit("import time; time.sleep(6)")
        b.submit("import time; time.sleep(6)")
        time.sleep(0.5)
        start(d, a.id)
        start(d, b.id)
        # b: cancelled by DELETE while it waits
        r = d.request("DELETE", f"/api/sessions/{b.id}")
        assert r.status == 202 and r.json()["state"] == "stopped"
        assert r.json()["reason"] == "cancelled"
        s = wait_state(d, a.id, ("failed",), timeout=20)
        assert "did not start within 2 s" in s["error"]["message"]
        assert "busy" in s["error"]["message"]
        for k in (a, b):
            status, out, _ = k.run("print(type(globals().get('spark')).__name__)", timeout=30)
            assert out.strip() != "SparkSession"
            assert java_children(k.pid) == []
    finally:
        a.shutdown()
        b.shutdown()


def daemon_java(d):
    """java processes the daemon started (cluster processes)."""
    return java_children(d.proc.pid)


def test_standalone_ephemeral_two_workers(env):
    k = env.kernel()
    before = daemon_java(env)
    start(env, k.id, config="standalone-ephemeral")
    s = wait_state(env, k.id, timeout=240)
    assert s["state"] == "ready", s
    assert s["master"].startswith("spark://127.0.0.1:")
    assert len(daemon_java(env)) >= len(before) + 3  # a master, two workers (and their executors)
    status, out, _ = k.run("print(spark.range(10**5).repartition(4).count())")
    assert out.strip() == "100000"
    ex = env.get(f"/ui/{k.id}/api/v1/applications/{s['app_id']}/executors")
    workers = [e for e in json.loads(ex.text) if e["id"] != "driver"]
    assert len(workers) >= 1
    assert all(e["hostPort"].startswith("127.0.0.1:") for e in workers)
    assert sum(e["totalTasks"] for e in workers) > 0  # the job ran on the workers
    env.request("DELETE", f"/api/sessions/{k.id}")
    wait_state(env, k.id, ("stopped",))
    assert wait_until(lambda: daemon_java(env) == before, 30), daemon_java(env)
    assert wait_until(lambda: not java_children(k.pid), 30)


def test_connect_session(env):
    # work dirs (logs) of 10 clusters that ended long ago: the newest stay
    clusters = env.state / "clusters"
    for i in range(10):
        old = clusters / f"old-{i}"
        (old / "sub").mkdir(parents=True)
        (old / "connect.log").write_text("x\n")
        os.utime(old, (1_700_000_000 - i * 60, 1_700_000_000 - i * 60))
    k = env.kernel()
    start(env, k.id, config="connect")
    s = wait_state(env, k.id, timeout=240)
    assert s["state"] == "ready", s
    left = sorted(p.name for p in clusters.iterdir())
    assert left == sorted([k.id] + [f"old-{i}" for i in range(7)]), left
    assert daemon_java(env)  # the Connect server runs beside the kernel ...
    assert java_children(k.pid) == []  # ... and the kernel holds no JVM
    status, out, _ = k.run("print(spark.range(100).count())")
    assert status == "ok" and out.strip() == "100"
    status, out, ename = k.run("print(sc)")  # (a bare `sc` is IPython's %sc magic)
    assert ename == "NameError"  # Spark Connect has no SparkContext
    ui = env.get(f"/ui/{k.id}/jobs/")
    assert ui.status == 200
    env.request("DELETE", f"/api/sessions/{k.id}")
    wait_state(env, k.id, ("stopped",))
    left = wait_until(lambda: not daemon_java(env), 60)
    assert left, (daemon_java(env), subprocess.run(["ps", "-ef", "--forest"], capture_output=True,
                                                   text=True).stdout[-3000:], env.output()[-3000:])


def test_daemon_exit_stops_clusters(daemon_factory, tmp_path):
    runtime = tmp_path / "rt"
    runtime.mkdir()
    d = daemon_factory(extra_args=["--runtime-dir", str(runtime)]).start()
    k = Kernel(runtime, d.ipython)
    try:
        start(d, k.id, config="standalone-ephemeral")
        assert wait_state(d, k.id, timeout=240)["state"] == "ready"
        pids = daemon_java(d)
        assert len(pids) >= 3
        d.stop()
        for pid in pids:
            assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    finally:
        k.shutdown()


PAYLOADS = [
    "'); import os; os.system('touch SENTINEL') #",
    '"); open("SENTINEL", "w").close() #',
    "a\nimport os\nos.system('touch SENTINEL')",
    "{{ conf }} {% raw %}",
    '\\"\"\"\'\'\' tricky',
    " lead=key: #!\\ \t\u00e9\u20ac\U0001F600 trail ",  # what a properties file must escape
]


def test_injection_stays_literal(env, tmp_path):
    sentinel = tmp_path / "SENTINEL"
    payloads = [p.replace("SENTINEL", str(sentinel)) for p in PAYLOADS]
    conf = {f"spark.sparkd.test.c{i}": p for i, p in enumerate(payloads)}
    r = env.request("PUT", "/api/configs/evil", {
        "master": "local[1]", "app_name": payloads[0], "conf": dict(conf, **{"spark.sparkd.test.o": "x"}),
        "overridable": {"spark.sparkd.test.o": {"type": "string"}}})
    assert r.status == 200, r
    k = env.kernel()
    start(env, k.id, config="evil", overrides={"spark.sparkd.test.o": payloads[1]})
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    code = "import json; print(json.dumps({k: spark.conf.get(k) for k in %r}))" % (
        sorted(list(conf) + ["spark.sparkd.test.o"]),)
    status, out, _ = k.run(code)
    got = json.loads(out)
    for key, value in conf.items():
        assert got[key] == value
    assert got["spark.sparkd.test.o"] == payloads[1]
    status, out, _ = k.run("print(spark.sparkContext.appName == %r)" % payloads[0])
    assert out.strip() == "True"
    # the JVM read them from its properties file (not its command line): its
    # system properties hold each value exactly
    code = ("import json; sysprops = spark.sparkContext._jvm.java.lang.System; "
            "print(json.dumps({k: sysprops.getProperty(k) for k in %r}))" % (sorted(conf),))
    status, out, _ = k.run(code)
    assert status == "ok", out

    def spark_trim(v):  # Spark trims what it reads from a properties file (but CR and LF)
        ends = "".join(chr(c) for c in range(33) if chr(c) not in "\r\n")
        return v.strip(ends)

    assert json.loads(out) == {key: spark_trim(value) for key, value in conf.items()}
    with open(f"/proc/{java_children(k.pid)[0]}/cmdline", "rb") as f:
        argv = f.read()
    assert b"spark.sparkd.test" not in argv and b"--properties-file" in argv
    assert not sentinel.exists()


def test_nul_bytes_refused_clearly(env):
    """NUL cannot travel through C strings: refused with a clear error, nothing written."""
    r = env.request("PUT", "/api/configs/nul", {"master": "local[1]", "conf": {"spark.x": "a\x00b"}})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_json"
    assert "\\u0000" in r.json()["error"]["message"]
    assert env.get("/api/configs/nul").status == 404
    r = env.post("/api/configs/local/render", {"overrides": {"spark.driver.memory": "1g\x00"}})
    assert r.status == 400


def test_log_lines_cut_on_a_character_boundary(daemon_factory, tmp_path):
    """A start's output line longer than the 1000 bytes kept, with a two-byte
    character across the cut: the session list still serialises (it used to
    close the connection without an answer)."""
    admin = tmp_path / "admin"
    (admin / "templates").mkdir(parents=True)
    (admin / "templates" / "long.py.j2").write_text(
        'print("x" * 999 + "\\u00e9" + "tail")\n'
        'print("\\u20ac" * 400)\n'
        'raise RuntimeError("template says no")\n')
    (admin / "longline.yaml").write_text("master: local[1]\ntemplate: long.py.j2\ndefault: true\n")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    d = daemon_factory(admin_dirs=[admin], extra_args=["--runtime-dir", str(runtime)]).start()
    k = Kernel(runtime, d.ipython)
    try:
        start(d, k.id, config="longline")
        s = wait_state(d, k.id)
        assert s["state"] == "failed" and "template says no" in s["error"]["message"], s
        r = d.get("/api/sessions")
        assert r.status == 200, r
        line = next(l for l in r.json()["sessions"][0]["log_tail"] if l.startswith("xxx"))
        assert line == "x" * 999  # the é did not fit whole: cut before it
        euros = next(l for l in r.json()["sessions"][0]["log_tail"] if l.startswith("\u20ac"))
        assert euros == "\u20ac" * 333  # 999 bytes, not a third of a character more
    finally:
        k.shutdown()
