"""The hook's settings: ``c.SparkdHub.*`` in ``jupyterhub_config.py``."""
from traitlets import Bool, Float, List, Unicode
from traitlets.config import Configurable


class SparkdHub(Configurable):
    """Where Start Spark lives on the hosts that run single-user servers, and how
    the launcher starts the per-user ``sparkd``.

    Every path here is a path on the host (or in the image) where the user's
    server runs, which need not be the hub's host: the hook only changes the
    spawner's command and environment.
    """

    launcher = Unicode(
        "sparkd-launch",
        help="""Path of ``sparkd-launch`` where the single-user server runs.

        The spawner's command becomes ``[launcher, "--", *cmd]``. A bare name is
        looked up in the server's ``PATH``; give the full path
        (e.g. ``/usr/local/bin/sparkd-launch``) when that ``PATH`` may not have it.
        """,
    ).tag(config=True)

    sparkd = Unicode(
        "",
        help="""Path of the ``sparkd`` daemon where the single-user server runs
        (exported as ``SPARKD_BIN``). Empty: the launcher runs the ``sparkd``
        beside itself, else ``sparkd`` from the server's ``PATH``.
        """,
    ).tag(config=True)

    config_dirs = List(
        Unicode(),
        default_value=[],
        help="""Administrator configuration directories on the server's host,
        earliest first (an earlier directory's configuration of the same name
        wins). Exported as ``SPARKD_CONFIG_DIRS`` (':'-separated). Empty: the
        daemon's defaults, ``/etc/sparkd/configs`` then
        ``PREFIX/share/sparkd/configs``.
        """,
    ).tag(config=True)

    prefer_systemd = Bool(
        False,
        help="""Use the daemon of the user's own systemd manager when there is
        one (``systemctl --user is-active sparkd.socket`` succeeds on the
        server's host) instead of starting one beside the server (exported as
        ``SPARKD_PREFER_SYSTEMD``). That daemon outlives the server; without a
        user manager the launcher starts one as usual.
        """,
    ).tag(config=True)

    launch_timeout = Float(
        10.0,
        help="""Seconds the launcher waits for ``sparkd`` to answer before it
        starts the server anyway (exported as ``SPARKD_LAUNCH_TIMEOUT``).
        A server never fails to start because of Spark.
        """,
    ).tag(config=True)

    socket_path = Unicode(
        "",
        help="""Template of the daemon's socket path (exported as
        ``SPARKD_SOCKET``), with ``{username}``, ``{servername}`` and, for
        spawners that know it (SimpleLocalProcessSpawner), ``{home}``.

        Empty (the default) leaves ``SPARKD_SOCKET`` unset: the launcher, on the
        server's host, uses the daemon's default —
        ``$XDG_RUNTIME_DIR/sparkd/sparkd.sock``, else
        ``/run/user/UID/sparkd/sparkd.sock`` when that directory is the user's,
        else ``~/.local/state/sparkd/run/sparkd.sock`` (a path no other user
        can create) — and exports it to the server, so the
        daemon and the server's proxy route always agree. The hub cannot know
        the uid on another host, so this is the right choice for every spawner
        that runs each user under their own uid. SimpleLocalProcessSpawner,
        whose users all share the hub's uid, gets
        ``{home}/.sparkd/sparkd.sock`` when this is empty.
        """,
    ).tag(config=True)

    proxy_path = Unicode(
        "sparkd",
        help="""The jupyter-server-proxy route under which the user's server
        reaches the daemon: ``/user/NAME/<proxy_path>/``. It must match the
        route the ``start-spark`` package registers (``sparkd``). The daemon
        learns it through ``SPARKD_PUBLIC_PREFIX``, for the Spark UI links.
        """,
    ).tag(config=True)

    image_cmd = List(
        Unicode(),
        default_value=["jupyterhub-singleuser"],
        help="""The command to wrap when the spawner's ``cmd`` is empty or
        ``None`` — KubeSpawner's default, meaning "the image's CMD". The
        launcher must know what to exec, so the image's command has to be
        spelled out here: ``["jupyterhub-singleuser"]`` (the default, what
        Zero to JupyterHub uses) or, for jupyter/docker-stacks images that need
        their start script, ``["start-notebook.py"]``.
        """,
    ).tag(config=True)
