"""sparkctl against the real sparkd: every subcommand, human and --json output,
the daemon's errors passed through with a non-zero exit, usage errors, and the
client's limits (against a scripted socket for what a healthy daemon never
does)."""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, SANITIZER_MARKERS, SPARKCTL, SPARKD, Daemon

SHIPPED = {"local", "local-large", "standalone", "kubernetes", "yarn"}
NO_KERNEL = "6f1b2a3c-0000-4000-8000-000000000000"


def ctl(*args, sock=None, env=None, timeout=30):
    e = dict(os.environ)
    e.pop("SPARKD_SOCKET", None)
    e.update(env or {})
    cmd = [SPARKCTL] + (["--socket", sock] if sock else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    return p


# --- configs -------------------------------------------------------------------

def test_configs_table(hub_daemon):
    p = ctl("configs", sock=hub_daemon.sock)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "MASTER", "CORES", "MEMORY", "NOTE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {c["name"] for c in hub_daemon.get("/api/configs").json()["configs"]}
    assert SHIPPED <= set(rows)
    assert re.match(r"local\s+system\s+local\[\*\]\s+\*\s+1g\s+default$", rows["local"])
    # Columns line up.
    starts = {line.index("system") for line in lines[1:]}
    assert starts == {lines[0].index("SOURCE")}


def test_configs_json_is_the_daemons(hub_daemon):
    p = ctl("--json", "configs", sock=hub_daemon.sock)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == hub_daemon.get("/api/configs").json()


def test_configs_show_a_broken_file(hub_daemon_factory, short_tmp):
    admin = short_tmp / "admin"
    shutil.copytree(ROOT / "configs", admin)
    (admin / "broken.yaml").write_text("name: broken\nspark: [1,\n")
    d = hub_daemon_factory(admin_dirs=[admin]).start()
    p = ctl("configs", sock=d.sock)
    assert p.returncode == 0, p.stderr
    row = next(line for line in p.stdout.splitlines() if line.startswith("broken "))
    assert re.search(r"error: .*broken\.yaml:\d+:\d+: ", row), row


# --- status, start, stop, logs without a kernel ----------------------------------

def test_status_without_sessions(hub_daemon):
    p = ctl("status", sock=hub_daemon.sock)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == (
        f"sparkd {hub_daemon.get('/api/health').json()['version']} on {hub_daemon.sock}: "
        f"ok, {hub_daemon.get('/api/health').json()['configs']} configuration(s)")
    assert "no sessions" in p.stdout
    # the test daemons run with max 0
    assert "pre-warming off: --prewarm-max is 0 (or SPARKD_PREWARM_MAX=0)" in p.stdout.splitlines()
    j = json.loads(ctl("--json", "status", sock=hub_daemon.sock).stdout)
    assert j["health"]["status"] == "ok" and j["sessions"] == []


@pytest.mark.parametrize("args,code,message", [
    (["status", NO_KERNEL], "session_not_found", f"no Spark session for kernel {NO_KERNEL}"),
    (["logs", NO_KERNEL], "session_not_found", "no Spark session"),
    (["stop", NO_KERNEL], "session_not_found", "no Spark session"),
    (["start", "nosuch", "--kernel", NO_KERNEL], "config_not_found", "no configuration named 'nosuch'"),
    (["start", "local", "--kernel", NO_KERNEL], "kernel_not_found", f"no running kernel {NO_KERNEL}"),
    (["start", "local", "--kernel", "not-a-uuid"], "invalid_kernel_id", "kernel id"),
    (["start", "local", "--kernel", NO_KERNEL, "--set", "no.such.key=1"], "invalid_override", "no.such.key"),
    (["start", "local", "--kernel", NO_KERNEL, "--set", "spark.driver.memory=99t"], "invalid_override",
     "spark.driver.memory"),
])
def test_daemon_errors_exit_1_with_its_message(hub_daemon, args, code, message):
    p = ctl(*args, sock=hub_daemon.sock)
    assert p.returncode == 1
    assert p.stdout == ""
    line = p.stderr.strip()
    assert line.startswith("sparkctl: ") and f"({code}, HTTP " in line, line
    assert message in line


def test_kernel_id_cannot_leave_its_path_segment(hub_daemon):
    for bad in ("../configs", "..", "a/b", "x?wait=1"):
        p = ctl("status", bad, sock=hub_daemon.sock)
        assert p.returncode == 1, bad
        assert p.stdout == "" and re.search(r"\(\w+, HTTP 4\d\d\)", p.stderr), (bad, p.stderr)


# --- check ------------------------------------------------------------------------

def test_check_ok():
    p = ctl("check", "--config-dir", str(ROOT / "configs"), env={"SPARKD_BIN": SPARKD,
                                                               "SPARKD_USER_CONFIG_DIR": ""})
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("configuration OK")
    j = json.loads(ctl("--json", "check", "--config-dir", str(ROOT / "configs"), "--sparkd", SPARKD,
                       env={"SPARKD_USER_CONFIG_DIR": ""}).stdout)
    assert j == {"ok": True, "errors": []}


def test_check_reports_file_line_column(short_tmp):
    (short_tmp / "bad.yaml").write_text("name: bad\nspark: [1,\n")
    args = ["check", "--config-dir", str(short_tmp), "--sparkd", SPARKD]
    env = {"SPARKD_USER_CONFIG_DIR": ""}
    p = ctl(*args, env=env)
    assert p.returncode == 1
    assert re.search(rf"{re.escape(str(short_tmp))}/bad\.yaml:\d+:\d+: ", p.stdout), p.stdout
    j = json.loads(ctl("--json", *args, env=env).stdout)
    assert j["ok"] is False and len(j["errors"]) >= 1 and "bad.yaml:" in j["errors"][0]


def test_check_without_the_daemon_binary():
    p = ctl("check", "--sparkd", "/nonexistent/sparkd")
    assert p.returncode == 1
    assert "sparkctl: could not run '/nonexistent/sparkd --check-config'" in p.stderr


def installed_pair(base, with_sparkd=True):
    """sparkctl (and sparkd) copied into base/bin, as `make install` puts them."""
    bindir = base / "bin"
    bindir.mkdir(parents=True)
    shutil.copy2(SPARKCTL, bindir / "sparkctl")
    if with_sparkd:
        shutil.copy2(SPARKD, bindir / "sparkd")
    return bindir


def run_installed(bindir, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("SPARKD_BIN", "SPARKD_SOCKET")}
    env.update(PATH="/usr/bin:/bin", SPARKD_USER_CONFIG_DIR="")  # no sparkd on PATH
    return subprocess.run([str(bindir / "sparkctl"), *args], capture_output=True, text=True, env=env)


def test_check_runs_the_sparkd_beside_sparkctl(short_tmp):
    bindir = installed_pair(short_tmp / "prefix")
    assert shutil.which("sparkd", path="/usr/bin:/bin") is None
    p = run_installed(bindir, "check", "--config-dir", str(ROOT / "configs"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("configuration OK (8 configurations")


def test_check_says_where_it_looked_for_sparkd(short_tmp):
    bindir = installed_pair(short_tmp / "prefix", with_sparkd=False)
    p = run_installed(bindir, "check")
    assert p.returncode == 1
    assert p.stderr.strip() == (f"sparkctl: cannot find sparkd: not beside sparkctl ({bindir}/sparkd) and "
                                "not on PATH; pass --sparkd PATH or set SPARKD_BIN")


@pytest.mark.parametrize("layout", ["yaml-only", "empty", "no-default", "broken"])
def test_check_and_check_config_agree(short_tmp, layout):
    """One checker: the same verdict and the same lines from sparkctl check and
    sparkd --check-config on every directory (a directory of YAML files alone
    uses the shipped templates: it failed in sparkctl check before)."""
    d = short_tmp / layout
    d.mkdir()
    if layout == "yaml-only":
        shutil.copy2(ROOT / "configs" / "local.yaml", d / "site.yaml")
    elif layout == "no-default":
        (d / "mine.yaml").write_text("master: local[2]\n")
    elif layout == "broken":
        (d / "bad.yaml").write_text("master: [\n")
    prefix = short_tmp / "prefix"
    bindir = installed_pair(prefix)
    shutil.copytree(ROOT / "configs", prefix / "share" / "sparkd" / "configs")
    for sub in ("", "share", "share/sparkd", "share/sparkd/configs"):
        (prefix / sub).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("SPARKD_BIN", "SPARKD_SOCKET")}
    env.update(PATH="/usr/bin:/bin", SPARKD_USER_CONFIG_DIR="")
    direct = subprocess.run([str(bindir / "sparkd"), "--check-config", "--config-dir", str(d)],
                            capture_output=True, text=True, env=env)
    via = run_installed(bindir, "check", "--config-dir", str(d))
    assert (via.returncode, via.stdout) == (direct.returncode, direct.stdout)
    assert direct.returncode == (0 if layout == "yaml-only" else 1), direct.stdout


# --- the socket ---------------------------------------------------------------------

def test_no_daemon(short_tmp):
    sock = str(short_tmp / "none.sock")
    p = ctl("configs", sock=sock)
    assert p.returncode == 1
    assert p.stderr.strip() == (f"sparkctl: cannot reach sparkd at {sock}: No such file or directory "
                                "(is sparkd running?)")


def test_default_socket_follows_the_daemon(hub_daemon, short_tmp):
    # $SPARKD_SOCKET first, then $XDG_RUNTIME_DIR/sparkd/sparkd.sock.
    assert ctl("configs", env={"SPARKD_SOCKET": hub_daemon.sock}).returncode == 0
    p = ctl("status", env={"SPARKD_SOCKET": hub_daemon.sock})
    assert re.match(rf"sparkd \S+ on {re.escape(hub_daemon.sock)}: ok, \d+ configuration\(s\) "
                    r"\(socket via \$SPARKD_SOCKET\)$", p.stdout.splitlines()[0]), p.stdout
    runtime = Path(hub_daemon.sock).parent.parent  # the daemon's is RUNTIME/sparkd/sparkd.sock
    p = ctl("status", env={"XDG_RUNTIME_DIR": str(runtime)})
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].endswith("(socket via $XDG_RUNTIME_DIR)"), p.stdout
    assert f" on {hub_daemon.sock}: ok" in p.stdout
    p = ctl("configs", env={"XDG_RUNTIME_DIR": str(short_tmp / "elsewhere"), "HOME": str(short_tmp)})
    assert f"{short_tmp}/elsewhere/sparkd/sparkd.sock" in p.stderr


def chain_env(home, **more):
    """The environment of a daemon the hub started without XDG_RUNTIME_DIR."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARKD_SOCKET", "XDG_RUNTIME_DIR", "XDG_STATE_HOME")}
    env.update(HOME=str(home), **more)
    return env


def default_socket(home):
    """What the chain gives without XDG_RUNTIME_DIR: /run/user/UID when the
    host has it for us, else the state directory under home."""
    run_user = f"/run/user/{os.getuid()}"
    st = os.lstat(run_user) if os.path.lexists(run_user) else None
    if st and stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
        return f"{run_user}/sparkd/sparkd.sock"
    return f"{home}/.local/state/sparkd/run/sparkd.sock"


class ChainDaemon(Daemon):
    """A daemon started without --socket, with env as its whole environment."""

    def __init__(self, base, env):
        super().__init__(base)
        self.env.clear()
        self.env.update(env, SPARKD_PREWARM_MAX="0",
                        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
        self.sock = default_socket(env["HOME"])

    def args(self):
        a = super().args()
        i = a.index("--socket")
        return a[:i] + a[i + 2:]


def test_default_chain_without_xdg_runtime_dir(short_tmp):
    home = short_tmp / "home"
    home.mkdir()
    env = chain_env(home)
    (short_tmp / "d").mkdir()
    d = ChainDaemon(short_tmp / "d", env)
    try:
        d.start()
        sock = Path(d.sock)
        if sock.is_relative_to(home):  # created with its parents, each 0700
            for p in (home / ".local", home / ".local" / "state", sock.parent.parent, sock.parent):
                assert stat.S_IMODE(os.lstat(p).st_mode) == 0o700, p
            via = "your state directory"
        else:
            via = "/run/user"
        p = ctl("status", env=env)
        assert p.returncode == 0, p.stderr
        assert re.match(rf"sparkd \S+ on {re.escape(str(sock))}: ok, \d+ configuration\(s\) "
                        rf"\(socket via {re.escape(via)}\)$", p.stdout.splitlines()[0]), p.stdout
        # A terminal with XDG_RUNTIME_DIR, where the daemon has none: the next
        # place of the chain where a socket exists.
        runtime = short_tmp / "xdg"
        runtime.mkdir(mode=0o700)
        p = ctl("status", env=chain_env(home, XDG_RUNTIME_DIR=str(runtime)))
        assert p.returncode == 0, p.stderr
        assert p.stdout.splitlines()[0].endswith(f" (socket via {via})"), p.stdout
        assert f" on {sock}: ok" in p.stdout
    finally:
        d.stop()
        d.kill()


# --- a socket someone else may have planted ---------------------------------------

REFUSED_DIR_OWNER = ("sparkctl: refusing {sock}: its directory belongs to uid {found}, not you "
                     "(uid {you}); another user may be trying to intercept Start Spark. Remove {dir} "
                     "(ask an administrator if you cannot) or set SPARKD_SOCKET or XDG_RUNTIME_DIR to "
                     "a directory of your own")


def test_directory_open_to_others_is_refused(short_tmp, listener):
    d = short_tmp / "sparkd-open"
    d.mkdir()
    d.chmod(0o755)
    lst = listener(d / "sparkd.sock")
    p = ctl("status", sock=str(d / "sparkd.sock"))
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == (f"sparkctl: refusing {d}/sparkd.sock: its directory {d} has mode 0755, open to "
                        f"other users (it must be 0700); run 'chmod 700 {d}', or remove it and let "
                        "sparkd create it again\n")
    assert lst.events() == []  # not even a connection


def test_directory_of_another_user_is_refused(shared_tmp, listener):
    # Another user (uid 65534) made the directory and listens in it.
    d = shared_tmp / "sparkd-planted"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    lst = listener(d / "sparkd.sock", uid=65534)
    for args in (["status"], ["start", "local", "--kernel", NO_KERNEL], ["--json", "configs"]):
        p = ctl(*args, env={"SPARKD_SOCKET": str(d / "sparkd.sock")})
        assert p.returncode == 1 and p.stdout == "", args
        assert p.stderr == REFUSED_DIR_OWNER.format(sock=f"{d}/sparkd.sock", found=65534,
                                                    you=os.getuid(), dir=d) + "\n"
    assert lst.events() == []


def test_symlinked_directory_is_refused(short_tmp, listener):
    real = short_tmp / "real"
    real.mkdir(mode=0o700)
    lst = listener(real / "sparkd.sock")
    link = short_tmp / "link"
    link.symlink_to(real)
    p = ctl("configs", sock=str(link / "sparkd.sock"))
    assert p.returncode == 1
    assert p.stderr.startswith(f"sparkctl: refusing {link}/sparkd.sock: its directory {link} is a "
                               f"symbolic link (owned by uid {os.getuid()}), not a directory; ")
    assert lst.events() == []


def test_socket_of_another_user_is_refused(short_tmp, listener):
    d = short_tmp / "run"
    d.mkdir(mode=0o700)
    lst = listener(d / "sparkd.sock", owner=65534)
    p = ctl("configs", sock=str(d / "sparkd.sock"))
    assert p.returncode == 1
    assert p.stderr.startswith(f"sparkctl: refusing {d}/sparkd.sock: the socket belongs to uid 65534, "
                               f"not you (uid {os.getuid()}); another user may be trying to intercept")
    assert lst.events() == []


def test_listener_running_as_another_user_gets_nothing(short_tmp, listener):
    # Directory and socket file are ours, but the process that listens is not.
    d = short_tmp / "run"
    d.mkdir(mode=0o700)
    lst = listener(d / "sparkd.sock", listen_as=65534)
    p = ctl("start", "local", "--kernel", NO_KERNEL, sock=str(d / "sparkd.sock"))
    assert p.returncode == 1
    assert p.stderr == (f"sparkctl: refusing {d}/sparkd.sock: the process listening on it runs as uid "
                        f"65534, not you (uid {os.getuid()}); another user may be trying to intercept "
                        "Start Spark. Remove the socket and start sparkd again; if it comes back, tell "
                        "an administrator\n")
    events = lst.events()
    assert lst.received() == [] and events in ([], ["connection"]), events


def test_root_is_not_trusted_by_a_user(shared_tmp, listener):
    # A user's sparkctl refuses a socket served by root's process, though the
    # directory and the socket file look like the user's own.
    user = 65533
    d = shared_tmp / "run"
    d.mkdir(mode=0o700)
    os.chown(d, user, user)
    lst = listener(d / "sparkd.sock", owner=user)
    p = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
                        SPARKCTL, "--socket", str(d / "sparkd.sock"), "configs"],
                       capture_output=True, text=True, timeout=30, env={"PATH": os.environ["PATH"]})
    assert p.returncode == 1
    assert p.stderr.startswith(f"sparkctl: refusing {d}/sparkd.sock: the process listening on it runs as "
                               f"uid 0, not you (uid {user}); "), p.stderr
    assert lst.received() == []


# --- usage ------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    ([], "no command given"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["start", "local"], "start needs --kernel KERNEL_ID"),
    (["start"], "usage: sparkctl start CONFIG"),
    (["status", "a", "b"], "usage: sparkctl status [KERNEL_ID]"),
    (["stop"], "usage: sparkctl stop KERNEL_ID"),
    (["logs"], "usage: sparkctl logs KERNEL_ID"),
    (["configs", "--kernel", NO_KERNEL], "go with 'start', not 'configs'"),
    (["status", "--set", "a=1"], "go with 'start', not 'status'"),
    (["logs", "x", "--wait"], "--wait goes with 'start' and 'stop'"),
    (["configs", "--config-dir", "/x"], "--config-dir goes with 'check'"),
    (["start", "local", "--kernel", "k", "--set", "novalue"], "--set wants KEY=VALUE, not 'novalue'"),
    (["start", "local", "--kernel", "k", "--set", "=1"], "--set wants KEY=VALUE"),
    (["configs", "--timeout", "0"], "--timeout: '0' is not a number of seconds"),
    (["configs", "--socket", "/" + "x" * 200], "too long for a Unix socket"),
    (["--bogus"], "unrecognized option"),
])
def test_usage_errors_exit_2(args, message):
    p = ctl(*args)
    assert p.returncode == 2
    assert message in p.stderr


def test_help_and_version():
    p = ctl("--help")
    assert p.returncode == 0 and "Usage: sparkctl" in p.stdout
    for sub in ("configs", "status", "start", "stop", "logs", "check"):
        assert f"  {sub}" in p.stdout
    p = ctl("--version")
    assert p.returncode == 0 and re.match(r"sparkctl \d+\.\d+\.\d+$", p.stdout.strip())


# --- the client against a scripted socket ----------------------------------------------

class Scripted:
    """A Unix socket that records one request and answers with fixed bytes."""

    def __init__(self, path, answer, delay=0.0, close_early=False):
        self.path = str(path)
        self.answer = answer
        self.delay = delay
        self.close_early = close_early
        self.requests = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            data = b""
            conn.settimeout(5)
            try:
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", head, re.I)
                while m and len(body) < int(m.group(1)):
                    body += conn.recv(65536)
                self.requests.append((head.decode(), body))
                time.sleep(self.delay)
                if not self.close_early:
                    conn.sendall(self.answer)
            except OSError:
                pass
            conn.close()

    def close(self):
        self.srv.close()


@pytest.fixture
def scripted(short_tmp):
    made = []

    def make(answer, **kw):
        s = Scripted(short_tmp / f"s{len(made)}.sock", answer, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def http(status, body, extra=""):
    b = body.encode() if isinstance(body, str) else body
    return (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(b)}\r\n\r\n").encode() + b


def test_start_sends_numbers_and_strings(scripted):
    session = {"kernel_id": NO_KERNEL, "config": "local", "state": "starting", "version": 1,
               "overrides": {}, "error": None}
    s = scripted(http(202, json.dumps(session)))
    p = ctl("start", "local", "--kernel", NO_KERNEL, "--set", "spark.executor.instances=4",
            "--set", "spark.driver.memory=2g", "--set", "n=-3", "--set", "f=1.5", "--set", "e=",
            "--restart", sock=s.path)
    assert p.returncode == 0, p.stderr
    head, body = s.requests[0]
    assert head.startswith("POST /api/sessions HTTP/1.1\r\n")
    assert "Content-Type: application/json" in head
    assert json.loads(body) == {
        "config": "local", "kernel_id": NO_KERNEL, "restart": True,
        "overrides": {"spark.executor.instances": 4, "spark.driver.memory": "2g", "n": -3,
                      "f": "1.5", "e": ""}}
    assert re.search(r"^state\s+starting$", p.stdout, re.M)


def test_status_shows_pre_warming(scripted):
    # one answer serves both requests (health and sessions)
    doc = {"status": "ok", "version": "9.9", "configs": 2, "sessions": [],
           "prewarm": {"max": 2, "idle": 900.0, "jvms": [
               {"config": "local", "kind": "driver", "state": "ready", "pid": 4242},
               {"config": "connect", "kind": "connect", "state": "waiting", "pid": None}]}}
    s = scripted(http(200, json.dumps(doc)))
    p = ctl("status", sock=s.path)
    assert p.returncode == 0, p.stderr
    assert ("pre-warming (max 2, idle 900 s): local driver ready (pid 4242), connect connect waiting"
            in p.stdout.splitlines()), p.stdout
    doc["prewarm"]["jvms"] = []
    s2 = scripted(http(200, json.dumps(doc)))
    p = ctl("status", sock=s2.path)
    assert "pre-warming (max 2, idle 900 s): no configuration asks for it" in p.stdout.splitlines()


@pytest.mark.parametrize("state, reason, line", [
    ("off", "no PySpark for /usr/bin/python3 (set SPARKD_PYTHON to a Python with pyspark, or SPARK_HOME)",
     "pre-warming off: no PySpark for /usr/bin/python3 (set SPARKD_PYTHON to a Python with pyspark, or "
     "SPARK_HOME)"),
    ("checking", None, "pre-warming (max 2, idle 900 s): looking for PySpark with /opt/venv/bin/python3"),
    ("on", None, "pre-warming (max 2, idle 900 s): local driver ready (pid 4242)"),
])
def test_status_says_whether_pre_warming_works(scripted, state, reason, line):
    doc = {"status": "ok", "version": "9.9", "configs": 2, "sessions": [],
           "prewarm": {"max": 2, "idle": 900.0, "state": state, "reason": reason,
                       "python": "/opt/venv/bin/python3",
                       "jvms": [{"config": "local", "kind": "driver", "state": "ready", "pid": 4242}]}}
    p = ctl("status", sock=scripted(http(200, json.dumps(doc))).path)
    assert p.returncode == 0, p.stderr
    assert line in p.stdout.splitlines(), p.stdout


def test_error_without_json_body(scripted):
    s = scripted(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad")
    p = ctl("configs", sock=s.path)
    assert p.returncode == 1
    assert p.stderr.strip() == "sparkctl: sparkd answered HTTP 502"


def test_not_http(scripted):
    s = scripted(b"SSH-2.0-OpenSSH\r\n\r\n")
    p = ctl("configs", sock=s.path)
    assert p.returncode == 1
    assert "did not answer HTTP" in p.stderr


def test_connection_closed_before_the_answer(scripted):
    s = scripted(b"", close_early=True)
    p = ctl("configs", sock=s.path)
    assert p.returncode == 1
    assert "did not answer HTTP" in p.stderr


def test_truncated_body(scripted):
    s = scripted(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}")
    p = ctl("configs", sock=s.path)
    assert p.returncode == 1
    assert "did not answer HTTP" in p.stderr


def test_invalid_json_body(scripted):
    s = scripted(http(200, "{nope"))
    p = ctl("configs", sock=s.path)
    assert p.returncode == 1
    assert "sparkctl: sparkd sent invalid JSON" in p.stderr


def test_slow_daemon_times_out(scripted):
    s = scripted(http(200, "{}"), delay=5)
    t0 = time.monotonic()
    p = ctl("configs", "--timeout", "0.5", sock=s.path)
    assert time.monotonic() - t0 < 4
    assert p.returncode == 1
    assert "Connection timed out" in p.stderr


def test_answer_over_the_limit(scripted):
    big = b"x" * (9 << 20)
    s = scripted(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big)
    p = ctl("configs", sock=s.path)
    assert p.returncode == 1
    assert "File too large" in p.stderr


def test_body_until_close_without_content_length(scripted):
    s = scripted(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                 b'{"default": "a", "configs": [{"name": "a", "source": "user", "summary": {}}]}')
    p = ctl("configs", sock=s.path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1].split()[:2] == ["a", "user"]


# --- with a real kernel (sessions) ---------------------------------------------------------

@pytest.fixture
def kernel(short_tmp):
    """A real ipykernel whose connection file is where the daemon looks."""
    import jupyter_client
    runtime = short_tmp / "jrt"
    runtime.mkdir()
    kid = str(uuid.uuid4())
    km = jupyter_client.KernelManager(connection_file=str(runtime / f"kernel-{kid}.json"))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kid, runtime
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.mark.jvm
def test_start_status_logs_stop_with_a_kernel(hub_daemon_factory, kernel):
    kid, runtime = kernel
    d = hub_daemon_factory(extra_args=["--runtime-dir", str(runtime)]).start()
    p = ctl("start", "local", "--kernel", kid, "--set", "spark.driver.memory=1g", "--wait",
            "--timeout", "240", sock=d.sock, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^state\s+ready$", p.stdout, re.M)
    assert re.search(r"^app_id\s+\S+", p.stdout, re.M)

    table = ctl("status", sock=d.sock).stdout
    assert re.search(rf"^{kid}\s+local\s+ready\s+local", table, re.M)
    one = json.loads(ctl("--json", "status", kid, sock=d.sock).stdout)
    assert one["state"] == "ready" and one["kernel_id"] == kid

    p = ctl("start", "local", "--kernel", kid, sock=d.sock)
    assert p.returncode == 1 and "(session_exists, HTTP 409)" in p.stderr

    logs = ctl("logs", kid, sock=d.sock)
    assert logs.returncode == 0
    assert json.loads(ctl("--json", "logs", kid, sock=d.sock).stdout) == one["log_tail"]

    p = ctl("stop", kid, "--wait", sock=d.sock, timeout=120)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^state\s+stopped$", p.stdout, re.M)


@pytest.mark.jvm
def test_start_failure_exits_1_with_the_message(hub_daemon_factory, kernel, short_tmp):
    kid, runtime = kernel
    admin = short_tmp / "admin"
    shutil.copytree(ROOT / "configs", admin)
    d = hub_daemon_factory(admin_dirs=[admin], extra_args=["--runtime-dir", str(runtime)]).start()
    # A master nobody listens on: Spark fails to start in the kernel.
    p = ctl("start", "standalone", "--kernel", kid, "--wait", "--timeout", "240", sock=d.sock, timeout=300)
    assert p.returncode == 1
    assert re.search(r"^state\s+failed$", p.stdout, re.M)
    assert p.stderr.startswith("sparkctl: ")
