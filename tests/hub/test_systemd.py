"""The user units: `systemd-analyze verify --user` silent, and a real
`systemd --user` in a private mount namespace (a tmpfs on /run, so the host's
/run is untouched) that socket-activates sparkd."""
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

from conftest import ROOT, SPARKCTL, SPARKD, SPARKD_LAUNCH

UNITS = ROOT / "systemd"
FAKE_SERVER = str(Path(__file__).with_name("fake_server.py"))
SYSTEMD = next((p for p in ("/lib/systemd/systemd", "/usr/lib/systemd/systemd") if os.path.exists(p)), None)


def install_units(dest, drop_in=None):
    """Copies the units as `make install` would, with ExecStart at SPARKD."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(UNITS / "sparkd.socket", dest)
    service = (UNITS / "sparkd.service").read_text()
    assert "ExecStart=/usr/local/bin/sparkd\n" in service
    (dest / "sparkd.service").write_text(service.replace("/usr/local/bin/sparkd", SPARKD))
    if drop_in:
        (dest / "sparkd.service.d").mkdir(exist_ok=True)
        (dest / "sparkd.service.d" / "test.conf").write_text(drop_in)


def man_tree(base):
    """The project's man pages where man(1) finds them (verify checks Documentation=)."""
    for page in (ROOT / "docs" / "man").iterdir():
        section = base / f"man{page.suffix[1:]}"
        section.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, section)
    return base


def test_units_verify_without_warnings(short_tmp):
    units = short_tmp / "units"
    install_units(units)
    runtime = short_tmp / "rt"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), MANPATH=str(man_tree(short_tmp / "man")))
    p = subprocess.run(["systemd-analyze", "verify", "--user", str(units / "sparkd.socket"),
                        str(units / "sparkd.service")], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", p.stderr


def test_verify_catches_a_broken_unit(short_tmp):
    # The check above can fail: a misspelt directive is reported on stderr.
    units = short_tmp / "units"
    install_units(units)
    service = units / "sparkd.service"
    service.write_text(service.read_text().replace("UMask=0077", "UMaks=0077"))
    runtime = short_tmp / "rt"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), MANPATH=str(man_tree(short_tmp / "man")))
    p = subprocess.run(["systemd-analyze", "verify", "--user", str(service)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert "UMaks" in p.stderr


def test_unit_contents():
    sock = (UNITS / "sparkd.socket").read_text()
    for line in ("ListenStream=%t/sparkd/sparkd.sock", "SocketMode=0600", "DirectoryMode=0700"):
        assert line in sock.splitlines()
    svc = (UNITS / "sparkd.service").read_text().splitlines()
    for line in ("Type=notify", "Restart=on-failure", "NoNewPrivileges=yes", "UMask=0077",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK", "ProtectSystem=strict"):
        assert line in svc
    # JVMs need W+X memory for their JIT.
    assert not any(line.startswith("MemoryDenyWriteExecute") for line in svc)


class UserManager:
    """systemd --user as root in a private mount namespace with /run on tmpfs."""

    RUNTIME = "/run/user/0"

    def __init__(self, base):
        self.base = base
        self.home = base / "home"
        self.units = self.home / ".config" / "systemd" / "user"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("XDG_", "DBUS_", "SPARKD_", "NOTIFY_", "LISTEN_"))}
        self.env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                        XDG_RUNTIME_DIR=self.RUNTIME)
        self.log = open(base / "systemd.log", "wb")
        script = ("set -e; mount -t tmpfs -o mode=0755 tmpfs /run; "
                  f"mkdir -p /run/systemd/system {self.RUNTIME}; chmod 0700 {self.RUNTIME}; "
                  f"exec {SYSTEMD} --user")
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def run(self, *cmd, check=True, timeout=60, env=None):
        """Runs cmd inside the manager's mount namespace."""
        full = ["nsenter", "-t", str(self.proc.pid), "-m", *cmd]
        p = subprocess.run(full, capture_output=True, text=True, env=dict(self.env, **(env or {})),
                           timeout=timeout)
        if check:
            assert p.returncode == 0, f"{cmd}: {p.stdout}{p.stderr}\n{self.output()}"
        return p

    def systemctl(self, *args, **kw):
        return self.run("systemctl", "--user", *args, **kw)

    def path(self, inside):
        """A path of the namespace, reachable from outside through /proc."""
        return f"/proc/{self.proc.pid}/root{inside}"

    def output(self):
        self.log.flush()
        return (self.base / "systemd.log").read_text(errors="replace")

    def wait_running(self, timeout=30):
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"systemd --user exited {self.proc.returncode}:\n{self.output()}"
            state = self.systemctl("is-system-running", check=False, timeout=10).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)
        raise AssertionError(f"user manager not running ({state!r}):\n{self.output()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def user_manager(short_tmp):
    if os.geteuid() != 0:
        pytest.fail("the systemd tests need root for unshare --mount: %s" % "run the tests as root (sudo make test)", pytrace=False)
    assert SYSTEMD, "systemd is not installed"
    m = UserManager(short_tmp)
    try:
        yield m
    finally:
        m.stop()


def test_socket_activation_under_a_real_user_manager(user_manager):
    m = user_manager
    install_units(m.units, drop_in=(
        "[Service]\n"
        f"Environment=SPARKD_CONFIG_DIRS={ROOT / 'configs'}\n"
        "Environment=ASAN_OPTIONS=detect_leaks=1:abort_on_error=0\n"))
    m.wait_running()
    m.systemctl("enable", "--now", "sparkd.socket")

    sock = f"{m.RUNTIME}/sparkd/sparkd.sock"
    st = os.stat(m.path(sock))
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(m.path(f"{m.RUNTIME}/sparkd")).st_mode) == 0o700
    assert m.systemctl("is-active", "sparkd.service", check=False).stdout.strip() == "inactive"

    # The first connection starts the daemon; it answers once it sent READY=1.
    p = m.run("curl", "-sS", "--unix-socket", sock, "http://sparkd/api/health")
    assert json.loads(p.stdout)["status"] == "ok"
    assert m.systemctl("is-active", "sparkd.service").stdout.strip() == "active"
    show = m.systemctl("show", "sparkd.service", "-p", "Type,StatusText,NRestarts").stdout
    assert "Type=notify" in show and "StatusText=serving" in show, show
    assert (m.home / ".ipython" / "profile_default" / "startup" / "99-sparkd.py").exists()

    # sparkctl finds the socket from XDG_RUNTIME_DIR alone.
    p = m.run(SPARKCTL, "status")
    assert f"on {sock}: ok" in p.stdout

    # The launcher, told to prefer systemd, uses that daemon and starts none.
    report = m.base / "report.json"
    p = m.run(SPARKD_LAUNCH, "--", sys.executable, FAKE_SERVER, str(report), "--exit", "0",
              env={"SPARKD_PREFER_SYSTEMD": "1", "SPARKD_BIN": "/nonexistent/sparkd"})
    r = json.loads(report.read_text())
    assert r["socket"] == sock and r["health"] == 200 and r["children"] == [], (r, p.stderr)

    m.systemctl("stop", "sparkd.socket", "sparkd.service")
    assert not os.path.exists(m.path(sock))
    assert m.systemctl("is-active", "sparkd.service", check=False).stdout.strip() == "inactive"
    journal = m.systemctl("status", "sparkd.service", "--no-pager", check=False).stdout
    assert "Result: exit-code" not in journal and "failed" not in journal.lower(), journal
