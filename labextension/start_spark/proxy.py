"""The jupyter-server-proxy route to the per-user sparkd daemon.

Registered as the ``jupyter_serverproxy_servers`` entry point ``sparkd``:
requests to ``<base_url>/sparkd/...`` are authenticated by the Jupyter
server (a logged-in user only), then forwarded over the daemon's Unix
socket with the prefix removed (``absolute_url`` False), so the daemon
sees ``/api/...`` and ``/ui/...``.  No process is launched (``command`` is
empty): sparkd is started beside the server by the hub hook or by
``systemctl --user``.

jupyter-server-proxy does not check XSRF on proxied routes (its handlers
defer that to the proxied application), and forwards the ``Cookie`` and
``X-XSRFToken`` headers: sparkd compares them itself.

Who is behind the socket.  Every browser request through this route
carries the user's hub cookie and ``_xsrf`` token, so it must reach the
user's own daemon and nothing else.  ``setup_sparkd()`` runs once, when the
Jupyter server starts, and checks the socket's directory: a real directory
(not a symbolic link) owned by this process's uid, with no group or other
permissions.  A directory that does not exist yet is created 0700 (with
its missing parents) right then, so nobody else can take the name later.
Checking the directory once is enough: only its owner (and root) can
create, replace or remove entries in a 0700 directory, so whatever listens
on the socket later — a restarted daemon too — was put there by this user;
and another user cannot rename the directory away where its parent is
theirs or sticky (``/tmp``).  When the check fails, the error is logged and
the route points into a fresh private directory where nothing listens: the
toolbar says sparkd cannot be reached, and no request is ever sent to the
stranger.  The C clients (sparkctl, sparkd-launch) check the same before
every connection, and the peer's uid after it.
"""

import logging
import os
import stat
import tempfile

SOCKET_NAME = "sparkd.sock"
SOCKADDR_MAX = 108  # sizeof(sun_path), the NUL included
RUN_USER = "/run/user"

log = logging.getLogger(__name__)


def _absolute(value):
    """value when it is an absolute path, else None (the XDG rule)."""
    return value if value and value.startswith("/") else None


def _owned_dir(path, uid):
    """True when path is a directory (not a link) owned by uid."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid


def socket_path(environ=None, run_user=RUN_USER):
    """The daemon's socket, the same chain as sparkd and its clients
    (daemon/sockpath.c): $SPARKD_SOCKET; else
    $XDG_RUNTIME_DIR/sparkd/sparkd.sock; else /run/user/UID/sparkd/sparkd.sock
    when /run/user/UID is a directory owned by UID; else
    ${XDG_STATE_HOME:-$HOME/.local/state}/sparkd/run/sparkd.sock; else (HOME
    unset, or that path too long for a socket address)
    /tmp/sparkd-UID/sparkd.sock.  Empty variables, and relative XDG ones or
    HOME, count as unset.  run_user stands for /run/user in tests."""
    env = os.environ if environ is None else environ
    uid = os.getuid()
    explicit = env.get("SPARKD_SOCKET")
    if explicit:
        return explicit
    runtime = _absolute(env.get("XDG_RUNTIME_DIR"))
    if runtime:
        return runtime + "/sparkd/" + SOCKET_NAME
    mine = "%s/%d" % (run_user, uid)
    if _owned_dir(mine, uid):
        return mine + "/sparkd/" + SOCKET_NAME
    state = _absolute(env.get("XDG_STATE_HOME"))
    home = _absolute(env.get("HOME"))
    if state or home:
        path = (state or home + "/.local/state") + "/sparkd/run/" + SOCKET_NAME
        if len(os.fsencode(path)) < SOCKADDR_MAX:
            return path
    return "/tmp/sparkd-%d/%s" % (uid, SOCKET_NAME)


def _make_private_dirs(directory):
    """Creates directory and its missing parents, each 0700."""
    parent = os.path.dirname(directory)
    if parent and parent != directory and not os.path.lexists(parent):
        _make_private_dirs(parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass  # someone was quicker: the check that follows decides


def check_socket_dir(directory):
    """None when only this uid can have put a socket in directory (creating
    it 0700 when missing), else why not, as the end of a sentence that
    starts with the directory's name."""
    uid = os.getuid()
    try:
        if not os.path.lexists(directory):
            _make_private_dirs(directory)
        st = os.lstat(directory)
    except OSError as e:
        return "cannot be created or read (%s)" % (e.strerror or e)
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link (owned by uid %d), not a directory" % st.st_uid
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory (owned by uid %d)" % st.st_uid
    if st.st_uid != uid:
        return "belongs to uid %d, not to this server's uid %d" % (st.st_uid, uid)
    if st.st_mode & 0o077:
        return "has mode %04o, open to other users (owned by uid %d; it must be 0700)" % (
            stat.S_IMODE(st.st_mode), st.st_uid)
    return None


def setup_sparkd():
    """The ServerProcess configuration for jupyter-server-proxy (>= 4.2)."""
    path = socket_path()
    directory = os.path.dirname(path) or "."
    problem = check_socket_dir(directory)
    if problem:
        log.error(
            "Start Spark: refusing %s: its directory %s %s; another user may be trying to "
            "intercept Start Spark, so the /sparkd route is disabled. Remove %s (ask an "
            "administrator if you cannot) or set SPARKD_SOCKET or XDG_RUNTIME_DIR to a directory "
            "of your own, then restart the server", path, directory, problem, directory)
        path = os.path.join(tempfile.mkdtemp(prefix="sparkd-refused-"), SOCKET_NAME)
    return {
        "command": [],
        "unix_socket": path,
        "absolute_url": False,
        "launcher_entry": {"enabled": False},
        "new_browser_tab": False,
    }
