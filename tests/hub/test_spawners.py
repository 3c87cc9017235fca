"""The hook with real spawners starting real processes: LocalProcessSpawner and
SimpleLocalProcessSpawner start the wrapped command (the launcher, then a stand-in
server), the daemon answers before the server runs, and the spawner's own stop()
— which signals the server's pid only — ends the daemon too."""
import asyncio
import json
import os
import pwd
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

import sparkd_hub
from conftest import ROOT, SPARKD, SPARKD_LAUNCH
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

FAKE_SERVER = str(Path(__file__).with_name("fake_server.py"))


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def spawner(cls, base, username, config=None):
    c = config or Config()
    c.Spawner.cmd = [sys.executable, FAKE_SERVER, str(base / f"report-{username}.json")]
    c.Spawner.args = ["--flag-from-hub"]
    c.Spawner.env_keep = ["PATH", "ASAN_OPTIONS"]
    c.Spawner.environment = {"SPARKD_CONFIG_DIRS": str(ROOT / "configs")}
    c.SparkdHub.sparkd = SPARKD
    c.SparkdHub.launcher = SPARKD_LAUNCH
    user = SimpleNamespace(name=username, url=f"/user/{username}/", id=1, escaped_name=username,
                           settings={}, db=None, orm_user=None)
    s = cls(user=user, config=c)
    s.hub = SimpleNamespace(public_host="h", api_url="http://127.0.0.1:1/hub/api",
                            url="http://127.0.0.1:1/hub/", base_url="/hub/")
    s.server = SimpleNamespace(base_url=f"/user/{username}/", ip="127.0.0.1", port=0, proto="http",
                               bind_url=f"http://127.0.0.1:0/user/{username}/", host="http://127.0.0.1:0",
                               url=f"http://127.0.0.1:0/user/{username}/")
    s.api_token = "token"
    return s


async def run_and_stop(s, report_path):
    await s.start()
    deadline = time.monotonic() + 20
    while not report_path.exists():
        assert time.monotonic() < deadline, "the server did not start"
        assert await s.poll() is None, "the server exited"
        await asyncio.sleep(0.05)
    report = json.loads(report_path.read_text())
    assert report["pid"] == s.pid
    await s.stop()
    assert await s.poll() is not None
    return report


def check(report, s):
    assert report["health"] == 200
    assert report["startup_exists"] is True
    assert report["argv"] == ["--flag-from-hub"]
    assert report["env"]["SPARKD_PUBLIC_PREFIX"] == f"/user/{s.user.name}/sparkd/"
    assert report["env"]["SPARKD_SOCKET"] == report["socket"]
    kids = [k["pid"] for k in report["children"] if Path(k["argv0"]).name == Path(SPARKD).name]
    assert len(kids) == 1, report
    deadline = time.monotonic() + 15
    while not gone(kids[0]):
        assert time.monotonic() < deadline, "the daemon outlived its server"
        time.sleep(0.05)
    deadline = time.monotonic() + 5
    while os.path.exists(report["socket"]):
        assert time.monotonic() < deadline, "the socket was left behind"
        time.sleep(0.05)


def test_simple_local_process_spawner_two_users(short_tmp):
    c = Config()
    c.SimpleLocalProcessSpawner.home_dir_template = str(short_tmp / "home-{username}")
    reports = {}
    for name in ("alice", "bob"):
        s = spawner(SimpleLocalProcessSpawner, short_tmp, name, c)
        s.pre_spawn_hook = sparkd_hub.pre_spawn_hook  # as c.Spawner.pre_spawn_hook would
        s.run_pre_spawn_hook()
        reports[name] = asyncio.run(run_and_stop(s, short_tmp / f"report-{name}.json"))
        check(reports[name], s)
    assert reports["alice"]["socket"] == str(short_tmp / "home-alice" / ".sparkd" / "sparkd.sock")
    assert reports["bob"]["socket"] == str(short_tmp / "home-bob" / ".sparkd" / "sparkd.sock")


def test_local_process_spawner(short_tmp):
    if os.geteuid() != 0:
        pytest.fail("LocalProcessSpawner switches to the user's uid: run the tests as root (sudo make test)", pytrace=False)
    me = pwd.getpwuid(os.getuid()).pw_name
    s = spawner(LocalProcessSpawner, short_tmp, me)
    runtime = short_tmp / "xdg"
    runtime.mkdir(mode=0o700)
    # The server's environment is the spawner's: give it a runtime dir so the
    # test does not use the machine's /tmp/sparkd-0.
    s.environment["XDG_RUNTIME_DIR"] = str(runtime)
    s.environment["IPYTHONDIR"] = str(short_tmp / "ipython")
    s.environment["SPARKD_STATE_DIR"] = str(short_tmp / "state")
    s.environment["SPARKD_USER_CONFIG_DIR"] = str(short_tmp / "user-configs")
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd[:2] == [SPARKD_LAUNCH, "--"]
    report = asyncio.run(run_and_stop(s, short_tmp / f"report-{me}.json"))
    assert report["socket"] == str(runtime / "sparkd" / "sparkd.sock")
    check(report, s)
