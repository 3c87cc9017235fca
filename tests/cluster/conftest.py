"""Fixtures that run cluster_driver (cluster.c in a libev loop) against the
real Spark of the .venv's pyspark, and always stop what they started."""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = os.environ.get("CLUSTER_DRIVER", str(ROOT / "build" / "normal" / "cluster_driver"))
VENV_BIN = str(Path(sys.executable).parent)
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def driver_env(**extra):
    """The driver's environment: the .venv first on PATH (so SPARK_HOME is
    found through its python3), no SPARK_HOME of the caller's."""
    env = dict(os.environ)
    env.pop("SPARK_HOME", None)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


class Driver:
    """One cluster_driver process; its JSON lines arrive in a queue."""

    def __init__(self, work_dir, args, env=None):
        self.work_dir = str(work_dir)
        self.events = queue.Queue()
        self.seen = []
        self.output = []
        self.raw = []
        self.proc = subprocess.Popen(
            [DRIVER, "--work-dir", self.work_dir] + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=env or driver_env(), text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()
        self.started = self.wait_for("started", timeout=10)

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "raw", "line": line.rstrip("\n")}
                self.raw.append(ev["line"])
            if ev.get("event") == "output":
                self.output.append(ev["line"])
            self.events.put(ev)
        self.events.put({"event": "eof"})

    def wait_for(self, *names, timeout=120):
        """The next event named one of names (others are kept in self.seen)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {names} event within {timeout} s; last output:\n"
                                     + "\n".join(self.output[-30:]))
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if ev["event"] in names:
                return ev
            if ev["event"] == "eof":
                raise AssertionError(f"driver ended before {names}; last output:\n"
                                     + "\n".join(self.output[-30:]))

    def ready(self, timeout=120):
        ev = self.wait_for("ready", "failed", "exited", timeout=timeout)
        assert ev["event"] == "ready", ev
        return ev

    def command(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def stop(self, how="stop", timeout=60):
        """Stops the cluster; returns the driver's "stopped" event."""
        if how:
            self.command(how)
        ev = self.wait_for("stopped", timeout=timeout)
        self.finished()
        return ev

    def finished(self):
        """Waits for the driver's exit and checks that the sanitizers (in
        an ASan build) found nothing."""
        self.proc.wait(timeout=30)
        self.wait_for("eof", timeout=10)
        bad = [line for line in self.raw if any(m in line for m in SANITIZER_MARKERS)]
        assert not bad, "\n".join(self.raw[-60:])

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        kill_leftovers(self.work_dir)


def procs_in(work_dir, exclude=()):
    """Pids of processes whose working directory or command line is in
    work_dir (cluster.c runs every Spark process with cwd = work_dir),
    other than exclude (the driver itself names work_dir)."""
    work_dir = os.path.realpath(work_dir)
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid() or int(d) in exclude:
            continue
        try:
            cwd = os.readlink(f"/proc/{d}/cwd")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        if cwd == work_dir or cwd.startswith(work_dir + "/") or work_dir in cmd:
            found.append(int(d))
    return found


def java_procs_in(work_dir, exclude=()):
    out = []
    for pid in procs_in(work_dir, exclude):
        try:
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "java":
                out.append(pid)
        except OSError:
            pass
    return out


def wait_gone(work_dir, timeout, exclude=()):
    """Waits until no process is left in work_dir; returns those left."""
    end = time.monotonic() + timeout
    while procs_in(work_dir, exclude) and time.monotonic() < end:
        time.sleep(0.1)
    return procs_in(work_dir, exclude)


def kill_leftovers(work_dir):
    for pid in procs_in(work_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_python(code, timeout=180, env=None):
    """Runs code in the .venv's python (a PySpark client of its own)."""
    e = driver_env(**(env or {}))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    d = Driver(tmp_path_factory.mktemp("standalone"),
               ["--kind", "standalone", "--workers", "2", "--cores", "1", "--memory", "1g"])
    try:
        yield d
    finally:
        d.close()


@pytest.fixture(scope="module")
def connect(tmp_path_factory):
    ui_port = free_port()
    d = Driver(tmp_path_factory.mktemp("connect"),
               ["--kind", "connect", "--conf", "spark.master=local[2]",
                "--conf", f"spark.ui.port={ui_port}"])
    d.ui_port = ui_port
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def work_dir(tmp_path):
    yield tmp_path
    kill_leftovers(str(tmp_path))
