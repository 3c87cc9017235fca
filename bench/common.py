"""Shared pieces of the benchmark suite: machine facts, statistics, a daemon
with its own dirs, a keep-alive HTTP client for the Unix socket, results.

Benchmarks never assert times: they measure, print and record.
"""
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BUILD = ROOT / "build" / "normal"
SPARKD = os.environ.get("SPARKD", str(ROOT / "daemon" / "sparkd"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))  # kernels.py, test_templates.py


# ---------------------------------------------------------------- statistics

def percentile(values, p):
    """The p-th percentile (0..100) by linear interpolation; None when empty."""
    if not values:
        return None
    v = sorted(values)
    if len(v) == 1:
        return v[0]
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(values):
    """runs, median (p50), p90, p99, min, max of a list of numbers."""
    return {"runs": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "min": min(values) if values else None,
            "max": max(values) if values else None}


def ratio(a, b):
    return a / b if a is not None and b else None


# ---------------------------------------------------------------- machine and versions

def _first(path, key):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def fs_type(path):
    """The filesystem type holding path (fsync costs depend on it)."""
    best, kind = "", None
    path = os.path.realpath(path)
    for line in Path("/proc/mounts").read_text().splitlines():
        dev, mnt, typ = line.split()[:3]
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, kind = mnt, f"{typ} ({dev} on {mnt})"
    return kind


def machine():
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "kernel": platform.release(),
        "memory": _first("/proc/meminfo", "MemTotal"),
        "hostname": platform.node(),
        "tmp_fs": fs_type(tempfile.gettempdir()),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def versions():
    v = {"python": platform.python_version()}
    try:
        v["sparkd"] = subprocess.run([SPARKD, "--version"], capture_output=True, text=True,
                                     timeout=5).stdout.strip()
    except OSError as e:
        v["sparkd"] = f"unavailable ({e})"
    try:
        import pyspark
        v["pyspark"] = pyspark.__version__
    except ImportError:
        v["pyspark"] = None
    for mod in ("jinja2", "zmq"):
        try:
            v[mod] = __import__(mod).__version__
        except ImportError:
            v[mod] = None
    try:
        import zmq
        v["libzmq"] = zmq.zmq_version()
    except ImportError:
        pass
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20).stderr
        v["java"] = out.splitlines()[0] if out else None
    except OSError:
        v["java"] = None
    return v


# ---------------------------------------------------------------- /proc readings

def proc_status(pid):
    """VmRSS (KiB) and context switches summed over every thread."""
    rss = int((_first(f"/proc/{pid}/status", "VmRSS") or "0 kB").split()[0])
    vol = nonvol = 0
    threads = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{t}/status").read_text()
        except OSError:
            continue
        threads += 1
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                nonvol += int(line.split()[1])
    return {"rss_kib": rss, "voluntary": vol, "nonvoluntary": nonvol, "threads": threads}


def pss_kib(pid):
    """Pss from smaps_rollup, or None."""
    v = _first(f"/proc/{pid}/smaps_rollup", "Pss")
    return int(v.split()[0]) if v else None


# ---------------------------------------------------------------- HTTP over the Unix socket

class Http:
    """One keep-alive HTTP/1.1 connection to the daemon's socket."""

    def __init__(self, path, timeout=30):
        self.path = path
        self.timeout = timeout
        self.s = None
        self.buf = b""

    def connect(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(self.timeout)
        self.s.connect(self.path)
        self.buf = b""

    def encode(self, method, path, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: sparkd\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        return (head + "\r\n").encode() + data

    def send(self, raw):
        if self.s is None:
            self.connect()
        self.s.sendall(raw)

    def receive(self):
        """(status, body bytes) of the next response."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        close = False
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.lower() == "content-length":
                length = int(v)
            elif k.lower() == "connection" and v.strip().lower() == "close":
                close = True
        self.buf = rest
        while len(self.buf) < length:
            self._more()
        body, self.buf = self.buf[:length], self.buf[length:]
        if close:
            self.close()
        return status, body

    def _more(self):
        b = self.s.recv(65536)
        if not b:
            raise ConnectionError("the daemon closed the connection")
        self.buf += b

    def request(self, method, path, body=None):
        self.send(self.encode(method, path, body))
        status, data = self.receive()
        return status, (json.loads(data) if data else None)

    def close(self):
        if self.s:
            self.s.close()
        self.s = None


# ---------------------------------------------------------------- a daemon with its own dirs

class Daemon:
    """sparkd on its own socket, with its own config, state, IPython and runtime dirs."""

    def __init__(self, base, extra_args=(), verbose=False):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.sock = str(self.base / "run" / "sparkd.sock")
        self.admin = self.base / "admin"
        if not self.admin.exists():
            shutil.copytree(ROOT / "configs", self.admin)
        self.ipython = self.base / "ipython"
        self.runtime = self.base / "runtime"
        self.runtime.mkdir(exist_ok=True)
        self.state = self.base / "state"
        self.extra_args = list(extra_args)
        self.verbose = verbose
        self.proc = None

    def args(self):
        a = [SPARKD, "--socket", self.sock, "--config-dir", str(self.admin),
             "--user-config-dir", str(self.base / "user-configs"),
             "--ipython-dir", str(self.ipython), "--state-dir", str(self.state),
             "--runtime-dir", str(self.runtime)]
        # no warm JVMs unless a benchmark asks: they are child processes that
        # would compete for the cores and wake the daemon mid-measurement
        prewarm = [] if "--prewarm-max" in self.extra_args else ["--prewarm-max", "0"]
        return a + (["-v"] if self.verbose else []) + prewarm + self.extra_args

    def start(self, wait=True):
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID"):
            env.pop(k, None)
        env.setdefault("SPARKD_PYTHON", sys.executable)  # Spark for launched clusters and warm JVMs
        self.log = open(self.base / "sparkd.log", "wb")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, stdin=subprocess.DEVNULL)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sparkd exited {self.proc.returncode}: "
                                   + (self.base / "sparkd.log").read_text(errors="replace"))
            try:
                h = Http(self.sock, timeout=5)
                st, _ = h.request("GET", "/api/health")
                h.close()
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("sparkd did not answer in time")

    @property
    def pid(self):
        return self.proc.pid

    def http(self):
        return Http(self.sock)

    def wait_prewarmed(self, configs, timeout=180):
        """Waits until each of configs has its warm JVM or server ready
        (GET /api/health); raises with the daemon's reason when it cannot
        pre-warm, or with the states at the timeout."""
        h = self.http()
        deadline = time.monotonic() + timeout
        states = {}
        try:
            while time.monotonic() < deadline:
                _, health = h.request("GET", "/api/health")
                pw = health.get("prewarm", {})
                if pw.get("error"):
                    raise RuntimeError(f"the daemon cannot pre-warm: {pw['error']}")
                states = {j["config"]: j["state"] for j in pw.get("jvms", [])}
                if all(states.get(c) == "ready" for c in configs):
                    return
                time.sleep(0.2)
        finally:
            h.close()
        raise RuntimeError(f"warm JVMs not ready after {timeout} s: {states}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


TEMPDIRS = []


def tempdir(prefix):
    """A fresh directory, removed by cleanup() (bench/run.py calls it at exit)."""
    p = Path(tempfile.mkdtemp(prefix=f"sparkd-bench-{prefix}-"))
    TEMPDIRS.append(p)
    return p


def cleanup():
    while TEMPDIRS:
        shutil.rmtree(TEMPDIRS.pop(), ignore_errors=True)


# ---------------------------------------------------------------- results

def write_result(name, data):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return str(v)


def print_table(rows, headers):
    cols = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cols) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(c.ljust(w) for c, w in zip(cols[0], widths)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cols[1:]]
    print("\n".join(out))
