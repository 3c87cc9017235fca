"""The jupyter-server-proxy route (labextension/start_spark/proxy.py): the
default socket path chain, the same as the C side's, and the check of the
socket's directory that keeps browser requests (with the hub cookie and the
_xsrf token) away from a socket another user planted."""
import importlib.util
import logging
import os
import stat
import subprocess

import pytest

from conftest import ROOT, SANITIZER_MARKERS, SPARKCTL

_spec = importlib.util.spec_from_file_location(
    "start_spark_proxy", ROOT / "labextension" / "start_spark" / "proxy.py")
proxy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(proxy)

UID = os.getuid()
OTHER = 65534 if UID != 65534 else 65533  # nobody, or someone else
LONG = "/" + "d" * 110
CHAIN_VARS = ("SPARKD_SOCKET", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "HOME")


def give_away(path, monkeypatch):
    """Makes path another uid's: really as root, else as proxy's lstat sees it."""
    if UID == 0:
        os.chown(path, OTHER, OTHER)
        return
    real = os.lstat

    def lstat(p, *a, **kw):
        st = real(p, *a, **kw)
        if os.fspath(p) != str(path):
            return st
        fields = list(st)
        fields[stat.ST_UID] = OTHER
        return os.stat_result(fields)
    monkeypatch.setattr(proxy.os, "lstat", lstat)


# --- the chain -------------------------------------------------------------------

@pytest.mark.parametrize("env,run_user,want", [
    ({"SPARKD_SOCKET": "/x/s.sock", "XDG_RUNTIME_DIR": "/xdg", "HOME": "/h"}, "mine", "/x/s.sock"),
    ({"SPARKD_SOCKET": "", "XDG_RUNTIME_DIR": "/xdg"}, None, "/xdg/sparkd/sparkd.sock"),
    ({"XDG_RUNTIME_DIR": "/xdg", "HOME": "/h"}, "mine", "/xdg/sparkd/sparkd.sock"),
    ({"XDG_RUNTIME_DIR": "relative", "HOME": "/h"}, None, "/h/.local/state/sparkd/run/sparkd.sock"),
    ({"HOME": "/h"}, "mine", "RU/sparkd/sparkd.sock"),
    ({"HOME": "/h"}, "link", "/h/.local/state/sparkd/run/sparkd.sock"),
    ({"HOME": "/h"}, "foreign", "/h/.local/state/sparkd/run/sparkd.sock"),
    ({"HOME": "/h"}, None, "/h/.local/state/sparkd/run/sparkd.sock"),
    ({"HOME": "/h", "XDG_STATE_HOME": "/st"}, None, "/st/sparkd/run/sparkd.sock"),
    ({"HOME": "/h", "XDG_STATE_HOME": ""}, None, "/h/.local/state/sparkd/run/sparkd.sock"),
    ({}, None, f"/tmp/sparkd-{UID}/sparkd.sock"),
    ({"HOME": ""}, None, f"/tmp/sparkd-{UID}/sparkd.sock"),
    ({"HOME": LONG}, None, f"/tmp/sparkd-{UID}/sparkd.sock"),
    ({"HOME": "/h", "XDG_STATE_HOME": LONG}, None, f"/tmp/sparkd-{UID}/sparkd.sock"),
])
def test_socket_path_chain(tmp_path, monkeypatch, env, run_user, want):
    root = tmp_path / "run-user"
    root.mkdir()
    mine = root / str(UID)
    if run_user == "mine":
        mine.mkdir(mode=0o700)
    elif run_user == "link":
        (tmp_path / "elsewhere").mkdir()
        mine.symlink_to(tmp_path / "elsewhere")
    elif run_user == "foreign":
        mine.mkdir()
        give_away(mine, monkeypatch)
    assert proxy.socket_path(env, run_user=str(root)) == want.replace("RU", str(mine))


def test_socket_path_reads_the_environment(monkeypatch):
    for var in CHAIN_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/xdg-env")
    assert proxy.socket_path() == "/xdg-env/sparkd/sparkd.sock"


@pytest.mark.parametrize("env", [
    {"HOME": "H"},
    {"HOME": "H", "XDG_RUNTIME_DIR": "H/xdg"},
    {"HOME": "H", "XDG_STATE_HOME": "H/st"},
])
def test_the_same_chain_as_sparkctl(short_tmp, env):
    # With no socket anywhere, sparkctl names the default in its error.
    env = {k: v.replace("H", str(short_tmp)) for k, v in env.items()}
    full = {k: v for k, v in os.environ.items() if k not in CHAIN_VARS}
    full.update(env)
    p = subprocess.run([SPARKCTL, "configs"], capture_output=True, text=True, env=full, timeout=30)
    assert not any(m in p.stderr for m in SANITIZER_MARKERS), p.stderr
    want = proxy.socket_path(env)
    assert p.stderr.strip() == (f"sparkctl: cannot reach sparkd at {want}: No such file or directory "
                                "(is sparkd running?)")


# --- the directory check at start-up ----------------------------------------------

@pytest.fixture
def route(monkeypatch, caplog):
    """setup_sparkd() with SPARKD_SOCKET at sock; returns (route, error lines)."""
    caplog.set_level(logging.ERROR, logger=proxy.__name__)

    def run(sock):
        monkeypatch.setenv("SPARKD_SOCKET", str(sock))
        caplog.clear()
        r = proxy.setup_sparkd()
        return r, [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR]
    return run


def assert_refused(r, errors, sock):
    """The route points into a fresh private directory where nothing listens."""
    assert r["unix_socket"] != str(sock)
    elsewhere = os.path.dirname(r["unix_socket"])
    st = os.lstat(elsewhere)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == UID and stat.S_IMODE(st.st_mode) == 0o700
    assert os.listdir(elsewhere) == []
    assert len(errors) == 1, errors
    assert f"refusing {sock}: its directory {os.path.dirname(sock)} " in errors[0]
    os.rmdir(elsewhere)
    return errors[0]


def test_private_directory_is_used(route, short_tmp):
    d = short_tmp / "run"
    d.mkdir(mode=0o700)
    r, errors = route(d / "sparkd.sock")
    assert r["unix_socket"] == str(d / "sparkd.sock") and errors == []
    assert r["command"] == [] and r["absolute_url"] is False


def test_missing_directory_is_created_private(route, short_tmp):
    sock = short_tmp / "state" / "sparkd" / "run" / "sparkd.sock"
    r, errors = route(sock)
    assert r["unix_socket"] == str(sock) and errors == []
    for d in (short_tmp / "state", short_tmp / "state" / "sparkd", sock.parent):
        st = os.lstat(d)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == UID and stat.S_IMODE(st.st_mode) == 0o700, d


def test_directory_open_to_others_is_refused(route, short_tmp):
    d = short_tmp / "open"
    d.mkdir()
    d.chmod(0o755)
    r, errors = route(d / "sparkd.sock")
    line = assert_refused(r, errors, d / "sparkd.sock")
    assert f"has mode 0755, open to other users (owned by uid {UID}; it must be 0700)" in line


def test_symlinked_directory_is_refused(route, short_tmp):
    target = short_tmp / "target"
    target.mkdir(mode=0o700)
    link = short_tmp / "link"
    link.symlink_to(target)
    r, errors = route(link / "sparkd.sock")
    line = assert_refused(r, errors, link / "sparkd.sock")
    assert f"is a symbolic link (owned by uid {UID}), not a directory" in line
    assert "another user may be trying to intercept Start Spark" in line


def test_directory_of_another_uid_is_refused(route, short_tmp, monkeypatch):
    d = short_tmp / "planted"
    d.mkdir(mode=0o700)
    give_away(d, monkeypatch)
    r, errors = route(d / "sparkd.sock")
    line = assert_refused(r, errors, d / "sparkd.sock")
    assert f"belongs to uid {OTHER}, not to this server's uid {UID}" in line
    assert "Remove " + str(d) in line and "SPARKD_SOCKET" in line


def test_directory_that_cannot_be_created_is_refused(route, short_tmp):
    f = short_tmp / "file"
    f.write_text("")
    r, errors = route(f / "sub" / "sparkd.sock")
    line = assert_refused(r, errors, f / "sub" / "sparkd.sock")
    assert "cannot be created or read (Not a directory)" in line
