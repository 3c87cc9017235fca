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
"""

import os

SOCKET_NAME = "sparkd.sock"


def socket_path(environ=None):
    """The daemon's socket: $SPARKD_SOCKET, else
    $XDG_RUNTIME_DIR/sparkd/sparkd.sock, else /tmp/sparkd-UID/sparkd.sock
    (the same defaults as sparkd itself)."""
    env = os.environ if environ is None else environ
    explicit = env.get("SPARKD_SOCKET")
    if explicit:
        return explicit
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "sparkd", SOCKET_NAME)
    return os.path.join("/tmp", "sparkd-%d" % os.getuid(), SOCKET_NAME)


def setup_sparkd():
    """The ServerProcess configuration for jupyter-server-proxy (>= 4.2)."""
    return {
        "command": [],
        "unix_socket": socket_path(),
        "absolute_url": False,
        "launcher_entry": {"enabled": False},
        "new_browser_tab": False,
    }
