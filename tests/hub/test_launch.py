"""sparkd-launch with the real sparkd: it starts the daemon, waits until it
answers (the startup file is in place by then), becomes the server in the same
process, and the daemon dies with the server however the server dies."""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SANITIZER_MARKERS, SPARKD, SPARKD_LAUNCH

FAKE_SERVER = str(Path(__file__).with_name("fake_server.py"))


def gone(pid):
    """True once pid has exited (reaped, or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(pred, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Launch:
    """sparkd-launch running fake_server.py, with the daemon's dirs in base."""

    def __init__(self, base, socket=True, env=None):
        self.base = Path(base)
        self.report_path = self.base / "report.json"
        self.ipython = self.base / "ipython"
        self.startup = self.ipython / "profile_default" / "startup" / "99-sparkd.py"
        self.sock = str(self.base / "run" / "sparkd.sock")
        self.env = dict(os.environ)
        for k in ("SPARKD_SOCKET", "XDG_RUNTIME_DIR", "SPARKD_PREFER_SYSTEMD", "SPARKD_BIN",
                  "SPARKD_LAUNCH_TIMEOUT", "NOTIFY_SOCKET", "LISTEN_FDS", "SPARKD_PYTHON"):
            self.env.pop(k, None)
        self.env.update({
            "SPARKD_CONFIG_DIRS": str(ROOT / "configs"),
            "SPARKD_USER_CONFIG_DIR": str(self.base / "user"),
            "SPARKD_STATE_DIR": str(self.base / "state"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "jrt"),
            "IPYTHONDIR": str(self.ipython),
            "SPARKD_BIN": SPARKD,
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
            # no warm driver JVMs unless a test asks
            "SPARKD_PREWARM_MAX": "0",
        })
        if socket:
            self.env["SPARKD_SOCKET"] = self.sock
        self.env.update(env or {})
        self.log_path = self.base / "launch.log"
        self.proc = None

    def start(self, *launch_args, server_args=(), server=None):
        """server: the command that runs fake_server.py (default: this Python)."""
        cmd = [SPARKD_LAUNCH, *launch_args, "--", *(server or [sys.executable, FAKE_SERVER]),
               str(self.report_path), *server_args]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def report(self, timeout=20):
        wait_for(lambda: self.report_path.exists() or self.proc.poll() is not None, timeout,
                 "the server's report")
        assert self.report_path.exists(), self.output()
        return json.loads(self.report_path.read_text())

    def daemon_pid(self, report):
        kids = [k for k in report["children"] if Path(k["argv0"]).name == Path(SPARKD).name]
        assert len(kids) == 1, (report, self.output())
        return kids[0]["pid"]

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def launch(short_tmp):
    made = []

    def make(**kw):
        base = short_tmp / f"l{len(made)}"
        base.mkdir()
        launch = Launch(base, **kw)
        made.append(launch)
        return launch

    yield make
    for launch in made:
        launch.close()
        out = launch.log_path.read_text(errors="replace")
        for marker in SANITIZER_MARKERS:
            assert marker not in out, out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_daemon_starts_first_and_dies_with_the_server(launch, sig):
    ln = launch().start()
    report = ln.report()
    # The server is the launcher's process: the spawner's pid is the server's.
    assert report["pid"] == ln.proc.pid
    assert report["socket"] == ln.sock
    assert report["startup_exists"] is True
    assert report["health"] == 200
    daemon = ln.daemon_pid(report)
    mode = os.stat(ln.sock).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(Path(ln.sock).parent).st_mode) == 0o700

    # The spawner signals only the server's pid (LocalProcessSpawner: SIGINT,
    # SIGTERM, then SIGKILL).
    ln.proc.send_signal(sig)
    ln.proc.wait(timeout=10)
    wait_for(lambda: gone(daemon), 15, "the daemon to exit")
    wait_for(lambda: not os.path.exists(ln.sock), 5, "the socket to be removed")
    assert "signal 15: stopping" in ln.output()


def test_default_socket_is_exported_to_the_server(launch, short_tmp):
    runtime = short_tmp / "xdg"
    runtime.mkdir(mode=0o700)
    ln = launch(socket=False, env={"XDG_RUNTIME_DIR": str(runtime)}).start()
    report = ln.report()
    assert report["socket"] == str(runtime / "sparkd" / "sparkd.sock")
    assert report["health"] == 200


def test_default_socket_without_xdg_runtime_dir_is_in_the_state_dir(launch, short_tmp):
    home = short_tmp / "home"
    home.mkdir()
    ln = launch(socket=False, env={"HOME": str(home)})
    ln.env.pop("XDG_STATE_HOME", None)
    report = ln.start().report()
    run_user = f"/run/user/{os.getuid()}"
    if os.path.isdir(run_user) and not os.path.islink(run_user) and os.stat(run_user).st_uid == os.getuid():
        want = f"{run_user}/sparkd/sparkd.sock"  # the host has one for us
    else:
        want = f"{home}/.local/state/sparkd/run/sparkd.sock"
    assert report["socket"] == want
    assert report["health"] == 200
    assert stat.S_IMODE(os.stat(Path(want).parent).st_mode) == 0o700


# A stand-in server that does not talk to the socket (fake_server.py probes
# it): it only says that it runs and how many children it has.
QUIET_SERVER = """
import os
kids = 0
for e in os.listdir("/proc"):
    try:
        kids += e.isdigit() and open(f"/proc/{e}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid())
    except OSError:
        pass
print("server started with", kids, "children", flush=True)
"""


def launch_quietly(base, sock, timeout="10"):
    """sparkd-launch with SPARKD_SOCKET=sock running QUIET_SERVER, the
    daemon's dirs in base; returns (stdout, stderr, seconds)."""
    env = Launch(base, socket=False, env={"SPARKD_SOCKET": str(sock)}).env
    t0 = time.monotonic()
    p = subprocess.run([SPARKD_LAUNCH, "--timeout", timeout, "--", sys.executable, "-c", QUIET_SERVER],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not any(m in p.stderr for m in SANITIZER_MARKERS), p.stderr
    return p.stdout, p.stderr, time.monotonic() - t0


def test_planted_directory_open_to_others(short_tmp, listener):
    # No daemon is started (it could not listen there), nothing is sent.
    d = short_tmp / "sparkd-open"
    d.mkdir()
    d.chmod(0o755)
    lst = listener(d / "sparkd.sock")
    out, err, seconds = launch_quietly(short_tmp, d / "sparkd.sock")
    assert seconds < 5
    assert err == (f"sparkd-launch: refusing {d}/sparkd.sock: its directory {d} has mode 0755, open to "
                   f"other users (it must be 0700); run 'chmod 700 {d}', or remove it and let sparkd "
                   "create it again; starting without sparkd\n")
    assert out == "server started with 0 children\n"
    assert lst.events() == []


def test_planted_directory_of_another_user(shared_tmp, listener):
    d = shared_tmp / "sparkd-planted"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    lst = listener(d / "sparkd.sock", uid=65534)
    out, err, seconds = launch_quietly(shared_tmp, d / "sparkd.sock")
    assert seconds < 5
    assert err == (f"sparkd-launch: refusing {d}/sparkd.sock: its directory belongs to uid 65534, not you "
                   f"(uid {os.getuid()}); another user may be trying to intercept Start Spark. Remove {d} "
                   "(ask an administrator if you cannot) or set SPARKD_SOCKET or XDG_RUNTIME_DIR to a "
                   "directory of your own; starting without sparkd\n")
    assert out == "server started with 0 children\n"
    assert lst.events() == []


def test_listener_of_another_user_is_not_waited_for(short_tmp, listener):
    # The directory and socket file are ours, but another uid listens: the
    # health probe connects, sends nothing, and does not wait the timeout.
    d = short_tmp / "run"
    d.mkdir(mode=0o700)
    lst = listener(d / "sparkd.sock", listen_as=65534)
    out, err, seconds = launch_quietly(short_tmp, d / "sparkd.sock", timeout="30")
    assert seconds < 10, err
    assert (f"sparkd-launch: refusing {d}/sparkd.sock: the process listening on it runs as uid 65534, "
            f"not you (uid {os.getuid()}); another user may be trying to intercept Start Spark. Remove "
            "the socket and start sparkd again; if it comes back, tell an administrator; starting "
            "without sparkd\n") in err
    assert out.startswith("server started")
    assert lst.received() == []


def test_command_arguments_pass_through(launch):
    ln = launch().start(server_args=["--", "--port=1234", "-h"])
    assert ln.report()["argv"] == ["--", "--port=1234", "-h"]


def test_server_exit_status_is_the_launchers(launch):
    ln = launch().start(server_args=["--exit", "7"])
    assert ln.proc.wait(timeout=20) == 7
    daemon = ln.daemon_pid(ln.report())
    wait_for(lambda: gone(daemon), 15, "the daemon to exit")


def test_daemon_that_never_answers_does_not_block_the_server(launch, short_tmp):
    fake = short_tmp / "silent-sparkd"
    fake.write_text("#!/bin/sh\nexec sleep 300\n")
    fake.chmod(0o755)
    ln = launch().start("--sparkd", str(fake), "--timeout", "0.5")
    t0 = time.monotonic()
    report = ln.report()
    assert time.monotonic() - t0 < 10
    out = ln.output()
    assert f"sparkd-launch: sparkd did not answer on {ln.sock} within 0.5 s; starting anyway" in out
    assert report["health"] != 200
    # Still its child, and still killed with the server.
    daemon = [k["pid"] for k in report["children"] if k["argv0"] in ("sleep", "/usr/bin/sleep", "/bin/sleep")]
    assert len(daemon) == 1, report
    ln.proc.kill()
    ln.proc.wait()
    wait_for(lambda: gone(daemon[0]), 10, "the silent daemon to get SIGTERM")


def test_missing_daemon_binary_still_starts_the_server(launch):
    ln = launch().start("--sparkd", "/nonexistent/sparkd")
    report = ln.report()
    out = ln.output()
    assert "sparkd-launch: cannot run /nonexistent/sparkd: No such file or directory" in out
    assert "sparkd-launch: sparkd exited with status 127; starting without it" in out
    assert report["children"] == []


def test_daemon_that_fails_at_start_still_starts_the_server(launch):
    ln = launch(env={"SPARKD_CONFIG_DIRS": str(ROOT / "configs"), "SPARKD_LAUNCH_TIMEOUT": "5"})
    # A socket directory that is a file: the daemon cannot listen and exits 1.
    (ln.base / "run").write_text("")
    ln.start()
    report = ln.report()
    assert "sparkd-launch: sparkd exited with status 1; starting without it" in ln.output()
    assert report["health"] != 200


def test_uses_a_daemon_already_answering(launch, hub_daemon):
    ln = launch(env={"SPARKD_SOCKET": hub_daemon.sock}).start()
    report = ln.report()
    assert report["health"] == 200
    ln.proc.kill()
    ln.proc.wait()
    # The daemon that was already there is not ours to stop.
    assert hub_daemon.get("/api/health").status == 200


def test_prefer_systemd_without_a_user_manager_starts_the_daemon(launch, short_tmp):
    ln = launch(env={"SPARKD_PREFER_SYSTEMD": "1", "XDG_RUNTIME_DIR": str(short_tmp),
                     "DBUS_SESSION_BUS_ADDRESS": f"unix:path={short_tmp}/no-bus"}).start()
    report = ln.report()
    assert report["health"] == 200
    ln.daemon_pid(report)


def test_command_not_found(launch):
    ln = launch()
    ln.log = open(ln.log_path, "wb")
    p = subprocess.run([SPARKD_LAUNCH, "--timeout", "5", "--", "/nonexistent/server"], env=ln.env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 127
    assert "sparkd-launch: cannot run /nonexistent/server: No such file or directory" in p.stderr
    # The daemon was started, then got SIGTERM when the launcher exited.
    wait_for(lambda: not os.path.exists(ln.sock), 10, "the socket to be removed")


@pytest.mark.parametrize("args,message", [
    ([], "sparkd-launch: no command to run (put it after --)"),
    (["--"], "sparkd-launch: no command to run (put it after --)"),
    (["--timeout", "0", "--", "true"], "sparkd-launch: --timeout: not a number of seconds"),
    (["--timeout", "x", "--", "true"], "sparkd-launch: --timeout: not a number of seconds"),
    (["--socket", "/" + "x" * 200, "--", "true"], "sparkd-launch: --socket: path too long"),
    (["--bogus", "--", "true"], "unrecognized option"),
])
def test_usage_errors(args, message):
    p = subprocess.run([SPARKD_LAUNCH, *args], capture_output=True, text=True, timeout=10)
    assert not any(m in p.stderr for m in SANITIZER_MARKERS), p.stderr
    assert p.returncode == 2
    assert message in p.stderr


def test_help():
    p = subprocess.run([SPARKD_LAUNCH, "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert "Usage: sparkd-launch" in p.stdout and "SPARKD_PREFER_SYSTEMD" in p.stdout


# --- the server's Python, for pre-warming ---------------------------------------------

def server_script(path, shebang):
    """An installed console script (like a venv's bin/jupyterhub-singleuser)
    that runs fake_server.py, with the given #! line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{shebang}\nimport runpy, sys\nsys.argv[0] = {FAKE_SERVER!r}\n"
                    f"runpy.run_path({FAKE_SERVER!r}, run_name='__main__')\n")
    path.chmod(0o755)
    return path


def launch_lines(ln):
    return [l for l in ln.output().splitlines() if l.startswith("sparkd-launch:")]


NO_PYSPARK = "/usr/bin/python3"  # Debian's: no pyspark (the tests' venv has it)


def test_no_pyspark_python_on_path():
    p = subprocess.run([NO_PYSPARK, "-c", "import pyspark"], capture_output=True)
    assert p.returncode != 0  # what the tests below rely on


def test_the_daemon_gets_the_servers_venv_python(launch, short_tmp):
    """The admin guide's LocalProcessSpawner case: c.Spawner.cmd in a venv
    (its #! names the venv's Python) and a PATH whose python3 has no
    PySpark: the daemon pre-warms with the venv's, and says so once."""
    script = server_script(short_tmp / "venv" / "bin" / "jupyterhub-singleuser", f"#!{sys.executable}")
    ln = launch(env={"PATH": "/usr/bin:/bin", "SPARKD_PREWARM_MAX": "2"}).start(server=[str(script)])
    report = ln.report()
    assert report["health"] == 200
    assert "SPARKD_PYTHON" not in report["env"]  # the daemon's, not the server's
    lines = launch_lines(ln)
    assert len(lines) == 1, ln.output()
    assert lines[0].startswith("sparkd-launch: pre-warming on: Spark in /"), lines
    assert lines[0].endswith(f"/pyspark (the PySpark of {sys.executable})"), lines


def test_env_python_found_on_path_without_pyspark_is_reported(launch, short_tmp):
    """#!/usr/bin/env python3 resolves through PATH, to a Python without
    PySpark: pre-warming is off, and the one line says why and what to set."""
    script = server_script(short_tmp / "bin" / "jupyterhub-singleuser", "#!/usr/bin/env python3")
    ln = launch(env={"PATH": "/usr/bin:/bin", "SPARKD_PREWARM_MAX": "2"}).start(server=[str(script)])
    report = ln.report()
    assert report["health"] == 200
    assert launch_lines(ln) == [
        f"sparkd-launch: pre-warming off: no PySpark for {NO_PYSPARK} (set SPARKD_PYTHON to a Python "
        "with pyspark, or SPARK_HOME)"], ln.output()


def test_admins_sparkd_python_wins(launch, short_tmp):
    script = server_script(short_tmp / "venv" / "bin" / "jupyterhub-singleuser", f"#!{sys.executable}")
    ln = launch(env={"PATH": "/usr/bin:/bin", "SPARKD_PREWARM_MAX": "2", "SPARKD_PYTHON": NO_PYSPARK})
    ln.start(server=[str(script)])
    report = ln.report()
    assert report["env"]["SPARKD_PYTHON"] == NO_PYSPARK  # the admin's setting, left as it is
    assert launch_lines(ln) == [
        f"sparkd-launch: pre-warming off: no PySpark for {NO_PYSPARK} (set SPARKD_PYTHON to a Python "
        "with pyspark, or SPARK_HOME)"], ln.output()


def test_pre_warming_turned_off_is_said_once(launch):
    ln = launch().start()  # SPARKD_PREWARM_MAX=0
    ln.report()
    assert launch_lines(ln) == ["sparkd-launch: pre-warming off: --prewarm-max is 0 (or SPARKD_PREWARM_MAX=0)"]


def test_the_sparkd_beside_the_launcher_is_run(launch, short_tmp):
    bindir = short_tmp / "prefix" / "bin"
    bindir.mkdir(parents=True)
    shutil.copy2(SPARKD_LAUNCH, bindir / "sparkd-launch")
    shutil.copy2(SPARKD, bindir / "sparkd")
    ln = launch(env={"PATH": "/usr/bin:/bin"})
    del ln.env["SPARKD_BIN"]
    cmd = [str(bindir / "sparkd-launch"), "--", sys.executable, FAKE_SERVER, str(ln.report_path)]
    ln.log = open(ln.log_path, "wb")
    ln.proc = subprocess.Popen(cmd, env=ln.env, stdout=ln.log, stderr=subprocess.STDOUT)
    report = ln.report()
    assert report["health"] == 200
    assert [k["argv0"] for k in report["children"]] == [str(bindir / "sparkd")], report
