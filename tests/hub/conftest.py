"""Fixtures for the hub-side pieces: the hook (imported from hub-hook/), the
launcher, sparkctl and the systemd units, against the real sparkd.

Tests marked ``jvm`` drive a real kernel and Spark through the sessions API
(ipykernel and PySpark from the .venv); the ASan pass leaves them to the
normal pass (`-m "not jvm"`)."""
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hub-hook"))

SPARKD = os.environ.get("SPARKD", str(ROOT / "daemon" / "sparkd"))
SPARKCTL = os.environ.get("SPARKCTL", str(ROOT / "tools" / "sparkctl"))
SPARKD_LAUNCH = os.environ.get("SPARKD_LAUNCH", str(ROOT / "tools" / "sparkd-launch"))

# The daemon helpers of the integration suite, loaded under another name (its
# file is also called conftest.py).
_spec = importlib.util.spec_from_file_location(
    "sparkd_integration_helpers", ROOT / "tests" / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)
integration.SPARKD = SPARKD
Daemon = integration.Daemon
curl = integration.curl
SANITIZER_MARKERS = integration.SANITIZER_MARKERS


@pytest.fixture
def short_tmp():
    """A short directory under /tmp: socket paths must fit in 108 bytes."""
    d = tempfile.mkdtemp(prefix="sh-", dir="/tmp")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def hub_daemon_factory(short_tmp):
    with integration.daemons_in(short_tmp) as make:
        yield make


@pytest.fixture
def hub_daemon(hub_daemon_factory):
    return hub_daemon_factory().start()


class Listener:
    """A stranger's socket: a forked process listening on path that records
    every connection and every byte it receives (read with events()).

    uid: the process runs as that uid (setuid after fork; needs root).
    owner: chown the socket file to that uid before listening.
    listen_as: call listen() as that uid, after binding as the caller —
    a socket file of ours whose peer credentials are someone else's."""

    def __init__(self, path, uid=None, owner=None, listen_as=None):
        self.path = str(path)
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.close(r)
            try:
                self._serve(w, uid, owner, listen_as)
            except BaseException as e:
                os.write(w, f"listener failed: {e!r}\n".encode())
            finally:
                os._exit(0)
        os.close(w)
        self.pipe = os.fdopen(r, "rb")
        line = self.pipe.readline()
        assert line == b"ready\n", line

    def _serve(self, w, uid, owner, listen_as):
        def become(u):
            os.setgroups([])
            os.setgid(u)
            os.setuid(u)
        if uid is not None:
            become(uid)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.path)
        if owner is not None:
            os.chown(self.path, owner, owner)
        if listen_as is not None:
            become(listen_as)
        srv.listen(8)
        os.write(w, b"ready\n")
        while True:
            conn, _ = srv.accept()
            os.write(w, b"connection\n")
            conn.settimeout(5)
            try:
                while data := conn.recv(65536):
                    os.write(w, b"received %d bytes\n" % len(data))
            except OSError:
                pass
            conn.close()

    def events(self):
        """Stops the listener; the lines it wrote (connections, bytes)."""
        if self.pid:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            self.pid = 0
            self.lines = self.pipe.read().decode().splitlines()
            self.pipe.close()
        return self.lines

    def received(self):
        return [e for e in self.events() if e.startswith("received")]


@pytest.fixture
def listener():
    made = []

    def make(path, **kw):
        made.append(Listener(path, **kw))
        return made[-1]
    yield make
    for lst in made:
        lst.events()


@pytest.fixture
def shared_tmp(short_tmp):
    """short_tmp that other uids may traverse (0711), for a stranger's files."""
    short_tmp.chmod(0o711)
    return short_tmp
