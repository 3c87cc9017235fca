"""How the daemon watches a kernel it holds a session for (kernel.c): the
heartbeat rests once the kernel answered with IOPub connected — an idle
daemon does not wake — and IOPub's connection dropping (the kernel process
exited: killed, shut down, or restarted by JupyterLab with the same ports)
ends the session at once.  Real daemon, real ipykernels, no JVM: the
session's start code just sleeps, so the kernel stays busy with it."""
import time

from kernels import Kernel, wait_until
from test_sessions import start, wait_state

SLEEPER = """\
name: sleeper
default: true
master: local[1]
template: sleep.py.j2
"""


def make(daemon_factory, tmp_path):
    admin = tmp_path / "admin"
    (admin / "templates").mkdir(parents=True)
    (admin / "templates" / "sleep.py.j2").write_text(  # the lazy startup file does nothing
        "{% if sparkd.eager %}import time\ntime.sleep(600)\n{% endif %}\n")
    (admin / "sleeper.yaml").write_text(SLEEPER)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    d = daemon_factory(admin_dirs=[admin], extra_args=["--runtime-dir", str(runtime)]).start()
    return d, runtime


def voluntary_switches(pid):
    """How often the process's main thread went to sleep and was woken."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))


def test_heartbeat_rests_then_a_killed_kernel_ends_its_session(daemon_factory, tmp_path):
    d, runtime = make(daemon_factory, tmp_path)
    k = Kernel(runtime, d.ipython)
    try:
        start(d, k.id, config="sleeper")
        assert wait_until(lambda: d.get(f"/api/sessions/{k.id}").json()["waiting_for"] == "Spark to start", 30)
        time.sleep(3)  # the first heartbeat (2 s after the kernel was opened) answered
        w0 = voluntary_switches(d.proc.pid)
        time.sleep(5)
        w1 = voluntary_switches(d.proc.pid)
        assert w1 - w0 == 0, f"the daemon woke {w1 - w0} times in 5 s while its kernel was quiet"
        k.kill()
        s = wait_state(d, k.id, ("failed", "stopped"), timeout=30)
        assert s["state"] == "failed" and "kernel died" in s["error"]["message"], s
        assert "the kernel's process exited" in d.output()
    finally:
        k.shutdown()


def test_a_restarted_kernel_ends_its_session(daemon_factory, tmp_path):
    """The same id, connection file and ports after the restart: without
    the disconnect the daemon would keep a session whose Spark is gone."""
    d, runtime = make(daemon_factory, tmp_path)
    k = Kernel(runtime, d.ipython)
    try:
        start(d, k.id, config="sleeper")
        assert wait_until(lambda: d.get(f"/api/sessions/{k.id}").json()["waiting_for"] == "Spark to start", 30)
        time.sleep(3)
        k.restart()
        s = wait_state(d, k.id, ("failed", "stopped"), timeout=30)
        assert s["state"] == "failed" and "kernel died" in s["error"]["message"], s
        assert k.run("print(6 * 7)")[1].strip() == "42"  # the new process is fine
        # a new start on the restarted kernel is watched again
        start(d, k.id, config="sleeper", restart=True)
        assert wait_until(lambda: d.get(f"/api/sessions/{k.id}").json()["waiting_for"] == "Spark to start", 30)
        k.shutdown()
        s = wait_state(d, k.id, ("failed", "stopped"), timeout=30)
        assert s["state"] == "failed", s
    finally:
        k.shutdown()
