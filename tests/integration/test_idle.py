"""Idle release (issue 14, item 4): a ready session with an `idle_stop` stops
Spark after that long with no cell and no Spark job running — executors
released, the kernel kept, `spark` lazy again — and ends `stopped` with
reason "idle"; a running job is activity.  Users may choose their own
idle_stop within the configuration's bounds.  Real daemon, real ipykernel,
real PySpark; the configuration's durations are seconds so that the test
waits seconds."""
import shutil
import time

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
def test_idle_session_stops_after_its_timeout_but_not_during_a_job(env):
    k = env.kernel()
    # a user's own idle_stop within the bounds: 5 s instead of the configuration's 4 s
    r = env.post("/api/sessions", {"config": "idle", "kernel_id": k.id, "overrides": {"idle_stop": "5s"}})
    assert r.status == 202, r
    assert r.json()["idle_stop"] == 5 and r.json()["idle_deadline"] is None
    s = wait_state(env, k.id)
    assert s["state"] == "ready", s
    # idle_stop is the daemon's setting, not a Spark property
    assert k.run("print(spark.sparkContext.getConf().get('idle_stop', 'absent'))")[1].strip() == "absent"

    # a cell with a job longer than idle_stop: activity, so Spark stays
    msg_id = k.submit("print(spark.sparkContext.parallelize([1], 1)"
                      ".map(lambda x: __import__('time').sleep(8) or x).sum())")
    busy = wait_until(lambda: env.get(f"/api/sessions/{k.id}").json()["idle_deadline"] is None, 10)
    assert busy, env.get(f"/api/sessions/{k.id}").json()
    time.sleep(6)  # longer than idle_stop, shorter than the job
    s = env.get(f"/api/sessions/{k.id}").json()
    assert s["state"] == "ready" and s["idle_deadline"] is None, s
    reply = k.client.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.client.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]

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
