"""A running Spark job is activity: the Jupyter server extension that tells
JupyterHub's idle culler so.

JupyterHub culls a single-user server whose last activity is older than
its timeout; jupyterhub-singleuser reports the server's last activity, the
latest of its kernels', terminals' and API requests' and of every
``*_last_activity`` setting of the web application.  A cell that waits on
a two-hour Spark job sends nothing through the server, so without this the
server could be culled in the middle of the job.

While the server runs, ``SparkActivity`` follows the user's sparkd with
long polls (``GET /api/sessions?wait=60&version=N``: an answer at once when
a session changed, else after 60 s): while any session has
``jobs_running > 0`` it sets the web application's ``api_last_activity``
to now (also at the answer that shows the last job ended).  No polling of
its own: one request waits in the daemon at a time.  When the daemon
cannot be reached, that is logged once and retried with a growing delay
(1 s up to a minute; the first request after that does not wait, so the
log says soon that the daemon is back); the task is cancelled when the
server stops.

The socket is found and checked as for the proxy route (``proxy.py``):
its directory must be this uid's alone, and the peer of every connection
must be this uid (``SO_PEERCRED``).
"""

import asyncio
import datetime
import json
import os
import socket
import struct

WAIT = 60  # seconds the daemon holds an unchanged answer
TIMEOUT = WAIT + 30  # a request that takes longer failed
MAX_ANSWER = 4 << 20  # bytes of an answer at most
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


class DaemonError(Exception):
    """Why the daemon could not be asked (one short sentence)."""


def parse_answer(raw):
    """(status, JSON body) of an HTTP/1.1 answer in raw bytes; interim (1xx)
    answers are skipped."""
    while raw.startswith(b"HTTP/1.1 1") and b"\r\n\r\n" in raw:
        raw = raw.partition(b"\r\n\r\n")[2]
    head, sep, payload = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(payload.decode()) if sep and payload else None
    except (IndexError, ValueError) as e:
        raise DaemonError("the daemon's answer is not HTTP with JSON (%s)" % e) from None


async def daemon_get(path, target, timeout=TIMEOUT):
    """One GET to the daemon's socket at path; returns (status, body).  The
    timeout aborts the connection (no asyncio.wait_for: before Python 3.12
    it may swallow the cancellation that stops the server)."""
    try:
        reader, writer = await asyncio.open_unix_connection(path)
    except OSError as e:
        raise DaemonError("no daemon at %s (%s)" % (path, e.strerror or e)) from None
    expired = []

    def expire():
        expired.append(True)
        writer.transport.abort()

    timer = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        sock = writer.get_extra_info("socket")
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            raise DaemonError("refusing %s: another user answers on it" % path)
        writer.write(("GET %s HTTP/1.1\r\nHost: sparkd\r\nConnection: close\r\n\r\n" % target).encode())
        await writer.drain()
        raw = b""
        while len(raw) <= MAX_ANSWER:
            chunk = await reader.read(65536)
            if not chunk:
                break
            raw += chunk
        if expired:
            raise DaemonError("the daemon did not answer within %g s" % timeout)
        return parse_answer(raw)
    except OSError as e:
        raise DaemonError("talking to the daemon at %s failed (%s)" % (path, e.strerror or e)) from None
    finally:
        timer.cancel()
        writer.close()


def jobs_running(body):
    """The running Spark jobs of all sessions in a GET /api/sessions answer."""
    return sum(int(s.get("jobs_running") or 0) for s in (body or {}).get("sessions") or [])


class SparkActivity:
    """Follows the daemon at socket_path and marks settings' activity while
    a Spark job runs (see the module's comment).  problem: why the socket
    is not to be used (from proxy.check_socket_dir), or None."""

    def __init__(self, settings, socket_path, log, problem=None):
        self.settings = settings
        self.path = socket_path
        self.log = log
        self.problem = problem
        self.task = None
        self.stopping = False
        self.touches = 0  # for tests and the log

    def touch(self):
        self.settings["api_last_activity"] = datetime.datetime.now(datetime.timezone.utc)
        self.touches += 1

    async def follow(self):
        """The loop: until cancelled."""
        if self.problem:
            self.log.error("Start Spark: not following sparkd at %s: %s; a running Spark job does not "
                           "count as server activity", self.path, self.problem)
            return
        version, running, failing, delay = 0, 0, False, BACKOFF_FIRST
        while not self.stopping:
            try:
                # after a failure, an answer at once: the daemon is back
                wait = 0 if failing else WAIT
                status, body = await daemon_get(self.path, "/api/sessions?wait=%d&version=%d" % (wait, version))
                if status != 200 or not isinstance(body, dict):
                    raise DaemonError("the daemon answered HTTP %d" % status)
            except DaemonError as e:
                if not failing:
                    self.log.warning("Start Spark: cannot follow sparkd (%s): a running Spark job does not "
                                     "count as server activity until it answers; retrying", e)
                    failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if failing:
                self.log.info("Start Spark: following sparkd at %s again", self.path)
                failing, delay = False, BACKOFF_FIRST
            before, running = running, jobs_running(body)
            if running or before:
                self.touch()
            version = int(body.get("version") or 0)

    def start(self):
        self.task = asyncio.get_running_loop().create_task(self.follow())

    async def stop(self):
        """Ends the loop: cancels it where it waits (a long poll, a retry's
        sleep), and the flag ends it should a cancellation be lost."""
        self.stopping = True
        if self.task is not None:
            self.task.cancel()
            done, _ = await asyncio.wait({self.task}, timeout=5)
            if not done:
                self.log.warning("Start Spark: the activity task did not end within 5 s")
            self.task = None


def _extension_app():
    """The ExtensionApp class (jupyter_server is imported only by a server)."""
    from jupyter_server.extension.application import ExtensionApp

    from . import proxy

    class StartSparkApp(ExtensionApp):
        """Start Spark's server extension: a running Spark job is server activity."""

        name = "start_spark"
        load_other_extensions = True

        def initialize_settings(self):
            path = proxy.socket_path()
            problem = proxy.check_socket_dir(os.path.dirname(path) or ".")
            self.activity = SparkActivity(self.serverapp.web_app.settings, path, self.log, problem)

        async def _start_jupyter_server_extension(self, serverapp):
            self.activity.start()

        async def stop_extension(self):
            await self.activity.stop()

    return StartSparkApp
