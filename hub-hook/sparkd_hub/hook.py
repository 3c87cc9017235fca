"""The pre_spawn_hook: wraps the server's command with sparkd-launch and sets
the daemon's environment. It runs in the hub process, possibly on another host
than the server: it changes ``spawner.cmd`` (or BatchSpawner's
``batchspawner_singleuser_cmd``) and ``spawner.environment``, nothing else."""
import inspect
import shlex

from .config import SparkdHub

SIMPLE_SOCKET = "{home}/.sparkd/sparkd.sock"


def _is_batch(spawner):
    # BatchSpawner puts `batchspawner_singleuser_cmd` in front of cmd inside
    # its job script; that wrapper runs its argument as a Python script, so
    # the launcher has to go in front of the wrapper, not behind it.
    return isinstance(getattr(spawner, "batchspawner_singleuser_cmd", None), str)


def _is_simple_local(spawner):
    return any(k.__name__ == "SimpleLocalProcessSpawner" for k in type(spawner).__mro__)


def _wrap_cmd(spawner, settings):
    cmd = list(spawner.cmd or [])
    if not cmd:
        cmd = list(settings.image_cmd)
    if cmd[:1] == [settings.launcher]:
        return  # already wrapped: a spawner object is reused for every start
    spawner.cmd = [settings.launcher, "--", *cmd]


def _wrap_batch(spawner, settings):
    launcher = shlex.quote(settings.launcher)
    current = spawner.batchspawner_singleuser_cmd
    if current.split(" ", 1)[0] == launcher:
        return
    spawner.batchspawner_singleuser_cmd = f"{launcher} -- {current}"


def public_prefix(spawner, settings):
    """The URL path at which the browser reaches this user's daemon:
    the server's prefix (``/user/NAME/`` or ``/user/NAME/SERVER/``) plus the
    proxy route."""
    server = getattr(spawner, "server", None)
    base = getattr(server, "base_url", None) if server is not None else None
    if not base:
        base = spawner.user.url
        if not base.endswith("/"):
            base += "/"
        if getattr(spawner, "name", ""):
            base += spawner.name + "/"
    if not base.endswith("/"):
        base += "/"
    return f"{base}{settings.proxy_path.strip('/')}/"


def _socket_template(spawner, settings):
    if settings.socket_path:
        return settings.socket_path
    if _is_simple_local(spawner):
        return SIMPLE_SOCKET
    return ""


def sparkd_environment(spawner, settings):
    """The variables the hook adds to the server's environment."""
    env = {
        "SPARKD_PUBLIC_PREFIX": public_prefix(spawner, settings),
        "SPARKD_PREFER_SYSTEMD": "1" if settings.prefer_systemd else "0",
        "SPARKD_LAUNCH_TIMEOUT": f"{settings.launch_timeout:g}",
    }
    if settings.sparkd:
        env["SPARKD_BIN"] = settings.sparkd
    if settings.config_dirs:
        env["SPARKD_CONFIG_DIRS"] = ":".join(settings.config_dirs)
    template = _socket_template(spawner, settings)
    if template:
        env["SPARKD_SOCKET"] = template.format(
            username=spawner.user.name,
            servername=getattr(spawner, "name", "") or "",
            home=getattr(spawner, "home_dir", "") or "",
        )
    return env


def apply(spawner, settings=None):
    """Wraps the spawner's command and sets its environment. Idempotent."""
    if settings is None:
        settings = SparkdHub(parent=spawner)
    if _is_batch(spawner):
        _wrap_batch(spawner, settings)
    else:
        _wrap_cmd(spawner, settings)
    spawner.environment.update(sparkd_environment(spawner, settings))
    log = getattr(spawner, "log", None)
    if log is not None:
        log.info("sparkd_hub: %s starts with sparkd (%s)", spawner.user.name,
                 spawner.environment["SPARKD_PUBLIC_PREFIX"])


def make_hook(previous=None):
    """A pre_spawn_hook that runs ``previous`` (sync or async) first, then
    :func:`apply`, so an existing hook may still change ``cmd``."""
    if previous is None:
        return apply

    def hook(spawner):
        result = previous(spawner)
        if inspect.isawaitable(result):
            async def finish():
                await result
                apply(spawner)
            return finish()
        apply(spawner)
        return None

    return hook


def configure(c, **settings):
    """One line in jupyterhub_config.py: ``sparkd_hub.configure(c)``.

    Installs the hook as ``c.Spawner.pre_spawn_hook``, after any hook already
    set there, and sets ``c.SparkdHub.<name> = value`` for each keyword.
    """
    previous = c.Spawner.get("pre_spawn_hook") if "Spawner" in c else None
    if getattr(previous, "__sparkd_hub__", False):
        previous = previous.__sparkd_hub_previous__
    hook = make_hook(previous)
    if hook is apply:
        def hook(spawner):  # a distinct function we can mark as ours
            apply(spawner)
    hook.__sparkd_hub__ = True
    hook.__sparkd_hub_previous__ = previous
    c.Spawner.pre_spawn_hook = hook
    for name, value in settings.items():
        if not SparkdHub.class_traits(config=True).get(name):
            raise TypeError(f"sparkd_hub.configure: unknown setting {name!r}")
        setattr(c.SparkdHub, name, value)
    return hook


pre_spawn_hook = apply
