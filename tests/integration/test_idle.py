"""Idle release (issue 14, item 4): a ready session with an `idle_stop` stops
Spark after that long with no cell and no Spark job running — executors
released, the kernel kept, `spark` lazy again — and ends `stopped` with
reason "idle"; a running job is activity.  Users may choose their own
idle_stop within the configuration's bounds.  Real daemon, real ipykernel,
real PySpark; the configuration's durations are seconds so that the test
waits seconds.  A running job also counts as activity of the Jupyter server
(start_spark's server extension, in a real jupyter_server), so that
JupyterHub's culler never culls a server in the middle of a job."""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from conftest import ROOT
from kernels import Kernel, java_children, wait_until
from test_sessions import wait_state

import pyspark  # noqa: F401  (the .venv has it: make venv; a missing one fails loudly)

CONFIG = """\
master: local[1]
idle_stop: 4s
overridable:
  idle_stop: {type: duration, min: 2s, max: 1h, description: Stop Spark when idle}
"""
KERNEL = "00000000-0000-4000-8000-000000000014"


class JupyterServer:
    """A real jupyter_server with the start_spark server extension of this
    tree (enabled by the shipped config file), following the daemon at
    sock."""

    def __init__(self, base, sock):
        conf = base / "jupyter-config" / "jupyter_server_config.d"
        conf.mkdir(parents=True)
        shutil.copy(ROOT / "labextension" / "jupyter-config" / "server-config" / "start_spark.json", conf)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.token = os.urandom(8).hex()
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(conf.parent), JUPYTER_RUNTIME_DIR=str(base / "jupyter-rt"),
                   JUPYTER_TOKEN=self.token, SPARKD_SOCKET=sock, PYTHONPATH=str(ROOT / "labextension"))
        self.log_path = base / "jupyter.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={base}", "--debug"]
            + (["--allow-root"] if os.getuid() == 0 else []),
            stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT, env=env)

    def last_activity(self):
        """/api/status's last_activity (a request that is not activity itself)."""
        req = urllib.request.Request(self.url + "/api/status", headers={"Authorization": "token " + self.token})
        with urllib.request.urlopen(req, timeout=10) as r:
            return datetime.datetime.fromisoformat(json.loads(r.read())["last_activity"])

    def wait_ready(self, timeout=90):
        def up():
            assert self.proc.poll() is None, self.log()
            try:
                return self.last_activity()
            except OSError:
                return None
        assert wait_until(up, timeout, 0.2), self.log()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """SIGTERM: the server stops its extensions (ours cancels its long poll) and exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("the Jupyter server did not stop on SIGTERM:\n" + self.log()[-6000:])


@pytest.fixture
def env(daemon_factory, tmp_path):
    admin = tmp_path / "admin"
    (admin / "templates").mkdir(parents=True)
    shutil.copy(ROOT / "configs" / "templates" / "default.py.j2", admin / "templates")
    (admin / "idle.yaml").write_text(CONFIG)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    d = daemon_factory(admin_dirs=[admin], extra_args=[
        "--runtime-dir", str(runtime), "--start-timeout", "150"]).start()
    kernels = []

    def kernel():
        k = Kernel(runtime, d.ipython)
        kernels.append(k)
        return k

    d.kernel = kernel
    yield d
    for k in kernels:
        k.shutdown()


def test_configs_show_idle_stop_and_overrides_are_bounded(env):
    """No kernel needed: the overrides are checked before the kernel is
    touched."""
    item = next(c for c in env.get("/api/configs").json()["configs"] if c["name"] == "idle")
    assert item["idle_stop"] == "4s"
    assert item["overridable"]["idle_stop"] == {
        "type": "duration", "min": "2s", "max": "1h", "description": "Stop Spark when idle"}
    for value, message in (
            ("2h", "idle_stop: 2h is above the maximum 1h"),
            ("1s", "idle_stop: 1s is below the minimum 2s"),
            ("off", "idle_stop: off (never) is not allowed: the maximum is 1h"),
            ("soon", "idle_stop: soon is not a duration such as 90s, 30m, 2h or 1h30m, or off: "
                     "\"s\" where a number was expected")):
        r = env.post("/api/sessions", {"config": "idle", "kernel_id": KERNEL, "overrides": {"idle_stop": value}})
        assert r.status == 400, r
        assert r.json()["error"] == {"code": "invalid_override", "message": message}, r


@pytest.mark.jvm
def test_idle_session_stops_after_its_timeout_but_not_during_a_job(env, tmp_path):
    server = JupyterServer(tmp_path, env.sock)  # starts meanwhile
    try:
        check_idle_release(env, server)
    finally:
        server.stop()
    log = server.log()
    assert "start_spark | extension was successfully loaded" in log, log
    assert "Traceback" not in log and "Task was destroyed" not in log and "cannot follow sparkd" not in log, log


def check_idle_release(env, server):
    k = env.kernel()
    # a user's own idle_stop within the bounds: 5 s instead of the configuration's 4 s
    r = env.post("/api/sessions", {"config": "idle", "kernel_id": k.id, "overrides": {"idle_stop": "5s"}})
    assert r.status == 202, r
    assert r.json()["idle_stop"] == 5 and r.json()["idle_deadline"] is None
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    # idle_stop is the daemon's setting, not a Spark property
    assert k.run("print(spark.sparkContext.getConf().get('idle_stop', 'absent'))")[1].strip() == "absent"

    server.wait_ready()
    before = server.last_activity()

    # a cell with a job longer than idle_stop: activity, so Spark stays
    msg_id = k.submit("print(spark.sparkContext.parallelize([1], 1)"
                      ".map(lambda x: __import__('time').sleep(16) or x).sum())")
    session = lambda: env.get(f"/api/sessions/{k.id}").json()  # noqa: E731
    assert wait_until(lambda: session()["idle_deadline"] is None, 10), session()
    assert wait_until(lambda: session()["jobs_running"] == 1, 15), session()
    # ... and of the Jupyter server, for JupyterHub's culler
    assert wait_until(lambda: server.last_activity() > before, 10), server.log()
    reply = k.client.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.client.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    s = session()  # the job outlasted idle_stop: had it not counted, Spark would be stopping by now
    assert s["state"] == "ready", s

    # idle again: Spark stops
    s = wait_state(env, k.id, ("stopped", "failed"), timeout=60)
    assert s["state"] == "stopped" and s["reason"] == "idle", s
    assert s["message"] == "Spark stopped after 5 s idle", s
    assert s["idle_deadline"] is None and s["ui_path"] is None, s
    assert "no Spark activity for 5 s: stopping Spark" in env.output()
    # the driver JVM went; the kernel stays, with the lazy `spark` of the same selection back
    assert wait_until(lambda: not java_children(k.pid), 30)
    assert k.alive()
    status, out, ename = k.run("print(repr(spark))")
    assert status == "ok", (ename, out)
    assert "Spark configuration idle (master local[1]), started on first use" in out, out
    first_app = s["app_id"]

    # the next use starts a new session of the daemon, with the same overrides
    status, out, ename = k.run("print(spark.range(3).count())")
    assert status == "ok" and out.strip() == "3", (ename, out)
    s = wait_state(env, k.id, timeout=60)
    assert s["state"] == "ready" and s["app_id"] != first_app, s
    assert s["overrides"] == {"idle_stop": "5s"} and s["idle_stop"] == 5, s
    assert env.request("DELETE", f"/api/sessions/{k.id}").status == 202
    s = wait_state(env, k.id, ("stopped",))
    assert s["reason"] == "stopped" and s["message"] is None, s
