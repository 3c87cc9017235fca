"""Fixtures that run the real sparkd on a temporary socket with temporary dirs."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPARKD = os.environ.get("SPARKD", str(ROOT / "daemon" / "sparkd"))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Response:
    def __init__(self, status, body, headers=""):
        self.status = status
        self.text = body
        self.headers = headers

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<Response {self.status} {self.text[:200]!r}>"


def curl(sock, method, path, body=None, headers=None, raw_body=None):
    """One request through `curl --unix-socket`; returns a Response."""
    cmd = ["curl", "-sS", "--unix-socket", sock, "-X", method, "-D", "-",
           "-o", "-", "-w", "\n%{http_code}", f"http://sparkd{path}"]
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        cmd += ["-H", "Content-Type: application/json"]
    if raw_body is not None:
        data = raw_body
    if data is not None:
        cmd += ["--data-binary", "@-"]
    for h in headers or []:
        cmd += ["-H", h]
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"curl failed ({p.returncode}): {p.stderr.decode()}")
    out = p.stdout.decode()
    out, _, code = out.rpartition("\n")
    head, _, body_text = out.partition("\r\n\r\n")
    return Response(int(code), body_text, head)


def raw_request(sock, data, timeout=10, shutdown=False):
    """Sends raw bytes and returns everything the daemon answers until it closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(data)
    if shutdown:
        s.shutdown(socket.SHUT_WR)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    return b"".join(chunks)


def status_of(raw):
    """The status code of the first response in raw bytes."""
    line = raw.split(b"\r\n", 1)[0].decode()
    return int(line.split()[1])


class Daemon:
    """A running sparkd with its own dirs."""

    def __init__(self, base, admin_dirs=None, extra_args=(), env=None):
        self.base = Path(base)
        self.sock_dir = self.base / "run" / "sparkd"
        self.sock = str(self.sock_dir / "sparkd.sock")
        self.admin = self.base / "admin"
        if admin_dirs is None:
            shutil.copytree(ROOT / "configs", self.admin)
            admin_dirs = [self.admin]
        self.admin_dirs = [Path(a) for a in admin_dirs]
        self.user = self.base / "user-configs"
        self.ipython = self.base / "ipython"
        self.state = self.base / "state"
        self.startup = self.ipython / "profile_default" / "startup" / "99-sparkd.py"
        self.extra_args = list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("LISTEN_FDS", None)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        # clusters the daemon launches use the pyspark of the tests' Python
        self.env.setdefault("SPARKD_PYTHON", sys.executable)
        # no warm driver JVMs unless a test asks (test_prewarm.py passes --prewarm-max)
        self.env.setdefault("SPARKD_PREWARM_MAX", "0")
        # and warm-ups without the practice jobs (10 s of both cores each):
        # test_prewarm.py's practice test runs them
        self.env.setdefault("SPARKD_PREWARM_PRACTICE", "0")
        self.proc = None
        self.log_path = self.base / f"sparkd-{time.monotonic_ns()}.log"

    def args(self):
        a = [SPARKD, "--socket", self.sock, "--user-config-dir", str(self.user),
             "--ipython-dir", str(self.ipython), "--state-dir", str(self.state), "-v"]
        for d in self.admin_dirs:
            a += ["--config-dir", str(d)]
        return a + self.extra_args

    def start(self, wait=True):
        self.log_path = self.base / f"sparkd-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sparkd exited {self.proc.returncode}:\n{self.output()}")
            try:
                if self.get("/api/health").status == 200:
                    return
            except (RuntimeError, OSError):
                pass
            time.sleep(0.02)
        raise RuntimeError("sparkd did not answer in time:\n" + self.output())

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def request(self, method, path, body=None, headers=None, raw_body=None):
        return curl(self.sock, method, path, body, headers, raw_body)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body if body is not None else {}, **kw)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM; asserts a clean exit 0 with sanitizers silent."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=15)
        self.log.close()
        out = self.log_path.read_text(errors="replace")
        for m in SANITIZER_MARKERS:
            assert m not in out, out
        assert rc == 0, out
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def daemons_in(base):
    """make(**kw) -> a Daemon in a new directory under base; every daemon
    made is stopped at the end, and a sanitizer report or a bad exit of any
    fails the test.  The one daemon fixture of tests/integration and
    tests/hub (whose sockets need a short base)."""
    made = []

    def make(**kw):
        d_base = Path(base) / f"d{len(made)}"
        d_base.mkdir()
        d = Daemon(d_base, **kw)
        made.append(d)
        return d

    yield make
    errors = []
    for d in made:
        try:
            d.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            d.kill()
    assert not errors, "\n".join(errors)


@pytest.fixture
def daemon_factory(tmp_path):
    with daemons_in(tmp_path) as make:
        yield make


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory().start()
