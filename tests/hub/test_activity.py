"""start_spark's server extension (labextension/start_spark/activity.py)
against the real sparkd: it follows the daemon with long polls (one request
waiting at a time, no polling of its own), says once that the daemon cannot
be reached and finds it again with a growing delay, refuses a socket
directory that is not the user's alone, and stops at once when cancelled.
That a running job marks the server active is tested with a real job and a
real jupyter_server in tests/integration/test_idle.py."""
import asyncio
import importlib.util
import logging
import os

from conftest import ROOT

_spec = importlib.util.spec_from_file_location(
    "start_spark.activity", ROOT / "labextension" / "start_spark" / "activity.py",
    submodule_search_locations=None)
activity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(activity)


class Log:
    """Records what the extension logs, by level."""

    def __init__(self):
        self.lines = []

    def _add(self, level, fmt, *args):
        self.lines.append((level, fmt % args if args else fmt))

    def error(self, fmt, *args):
        self._add(logging.ERROR, fmt, *args)

    def warning(self, fmt, *args):
        self._add(logging.WARNING, fmt, *args)

    def info(self, fmt, *args):
        self._add(logging.INFO, fmt, *args)

    def at(self, level):
        return [text for lv, text in self.lines if lv == level]


async def until(pred, timeout=20):
    for _ in range(int(timeout / 0.05)):
        if pred():
            return True
        await asyncio.sleep(0.05)
    return pred()


def polls(d):
    return d.output().count("GET /api/sessions ")


def test_follows_the_daemon_with_long_polls_and_stops_at_once(hub_daemon):
    d = hub_daemon
    settings, log = {}, Log()
    a = activity.SparkActivity(settings, d.sock, log)

    async def run():
        a.start()
        assert await until(lambda: polls(d) >= 1), d.output()
        await asyncio.sleep(1)
        waiting = polls(d)
        await a.stop()  # cancels the request waiting in the daemon
        return waiting

    waiting = asyncio.run(asyncio.wait_for(run(), 30))
    assert waiting == 1, d.output()  # one long poll waits; nothing else is asked meanwhile
    assert a.task is None and settings == {} and a.touches == 0  # no session, no job: no activity
    assert log.lines == []


def test_an_absent_daemon_is_logged_once_and_found_again(hub_daemon_factory, monkeypatch):
    monkeypatch.setattr(activity, "BACKOFF_FIRST", 0.05)
    monkeypatch.setattr(activity, "BACKOFF_MAX", 0.2)
    d = hub_daemon_factory()  # not started yet: no socket
    log = Log()
    a = activity.SparkActivity({}, d.sock, log)

    async def run():
        a.start()
        assert await until(lambda: len(log.lines) >= 1)
        await asyncio.sleep(1)  # several retries meanwhile
        d.start()
        assert await until(lambda: log.at(logging.INFO)), log.lines
        assert await until(lambda: polls(d) >= 1), d.output()
        await a.stop()

    asyncio.run(asyncio.wait_for(run(), 60))
    warnings = log.at(logging.WARNING)
    assert len(warnings) == 1, log.lines
    assert warnings[0].startswith(f"Start Spark: cannot follow sparkd (no daemon at {d.sock} ("), warnings
    assert log.at(logging.INFO) == [f"Start Spark: following sparkd at {d.sock} again"]


def test_a_refused_socket_directory_is_never_asked(hub_daemon):
    log = Log()
    a = activity.SparkActivity({}, hub_daemon.sock, log, problem="belongs to uid 4242, not to this server's uid 0")

    async def run():
        a.start()
        await a.task  # ends at once
        await a.stop()

    asyncio.run(asyncio.wait_for(run(), 10))
    assert log.at(logging.ERROR) == [
        f"Start Spark: not following sparkd at {hub_daemon.sock}: belongs to uid 4242, not to this server's "
        "uid 0; a running Spark job does not count as server activity"]
    assert polls(hub_daemon) == 0


def test_answers_and_job_counts():
    assert activity.parse_answer(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n{\"version\": 3}") == (200, {"version": 3})
    assert activity.parse_answer(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n") == (404, None)
    for bad in (b"", b"garbage", b"HTTP/1.1 200 OK\r\n\r\n{not json"):
        try:
            activity.parse_answer(bad)
        except activity.DaemonError:
            continue
        raise AssertionError(bad)
    assert activity.jobs_running({"sessions": [{"jobs_running": 2}, {"jobs_running": 0}, {}]}) == 2
    assert activity.jobs_running({"sessions": []}) == 0 and activity.jobs_running(None) == 0


def test_the_shipped_config_enables_the_extension():
    import json
    conf = json.loads((ROOT / "labextension" / "jupyter-config" / "server-config" / "start_spark.json").read_text())
    assert conf == {"ServerApp": {"jpserver_extensions": {"start_spark": True}}}
    assert '"jupyter-config/server-config" = "etc/jupyter/jupyter_server_config.d"' in \
        (ROOT / "labextension" / "pyproject.toml").read_text()
    assert os.path.exists(ROOT / "labextension" / "start_spark" / "activity.py")


def test_a_daemon_that_does_not_answer_times_out(short_tmp):
    """A socket that accepts and never answers: the request ends at its
    timeout (the connection is aborted), as a DaemonError."""
    import socket
    path = str(short_tmp / "silent.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    try:
        async def ask():
            try:
                await activity.daemon_get(path, "/api/sessions", timeout=0.3)
            except activity.DaemonError as e:
                return str(e)
        assert asyncio.run(asyncio.wait_for(ask(), 10)) == "the daemon did not answer within 0.3 s"
    finally:
        listener.close()
