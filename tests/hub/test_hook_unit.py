"""The hub hook with the real spawner classes: the command each spawner will
run, the environment, idempotence, composition with another hook, the
settings and the package build."""
import asyncio
import shlex
import subprocess
import sys
from types import SimpleNamespace

import pytest
from traitlets.config import Config

import sparkd_hub
from conftest import ROOT

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner  # noqa: E402
from systemdspawner import SystemdSpawner  # noqa: E402
from batchspawner import SlurmSpawner, TorqueSpawner  # noqa: E402
import kubespawner.spawner as kube_module  # noqa: E402

LAUNCH = "sparkd-launch"
SINGLEUSER = "jupyterhub-singleuser"


def user(name="alice"):
    return SimpleNamespace(name=name, url=f"/user/{name}/", id=1, escaped_name=name,
                           settings={}, db=None, orm_user=None)


def make(cls, config=None, name="alice", **kw):
    return cls(user=user(name), config=config or Config(), **kw)


@pytest.fixture
def kube(monkeypatch):
    """KubeSpawner without a cluster: no kube config, no API client."""
    monkeypatch.setattr(kube_module, "load_config", lambda **kw: None)
    monkeypatch.setattr(kube_module, "shared_client", lambda name: None)

    def build(config=None, **kw):
        return kube_module.KubeSpawner(user=user(), config=config or Config(), _mock=True, **kw)
    return build


# --- the command each spawner runs -------------------------------------------

@pytest.mark.parametrize("cls", [LocalProcessSpawner, SimpleLocalProcessSpawner, SystemdSpawner])
def test_default_cmd_is_wrapped(cls):
    s = make(cls)
    assert s.cmd == [SINGLEUSER]
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd == [LAUNCH, "--", SINGLEUSER]


def test_custom_list_cmd_is_kept_whole():
    c = Config()
    c.Spawner.cmd = ["/opt/conda/bin/jupyterhub-singleuser", "--SingleUserNotebookApp.foo=1"]
    s = make(LocalProcessSpawner, c)
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd == [LAUNCH, "--", "/opt/conda/bin/jupyterhub-singleuser", "--SingleUserNotebookApp.foo=1"]


def test_string_cmd_stays_one_word():
    # JupyterHub's Command trait turns a string into a one-element list; the
    # hook keeps exactly what the spawner would have run.
    c = Config()
    c.Spawner.cmd = "/opt/jupyter/bin/jupyterhub-singleuser"
    s = make(LocalProcessSpawner, c)
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd == [LAUNCH, "--", "/opt/jupyter/bin/jupyterhub-singleuser"]


def test_local_process_spawner_shell_cmd_quotes_the_wrapped_command():
    # With shell_cmd the spawner joins cmd + args into one shell word: the
    # launcher must come first in it and `--` must survive.
    c = Config()
    c.LocalProcessSpawner.shell_cmd = ["bash", "-l", "-c"]
    s = make(LocalProcessSpawner, c)
    sparkd_hub.pre_spawn_hook(s)
    joined = " ".join(shlex.quote(a) for a in s.cmd + s.get_args())
    assert shlex.split(joined)[:3] == [LAUNCH, "--", SINGLEUSER]


def test_systemd_spawner_expands_user_vars_after_wrapping():
    c = Config()
    c.SystemdSpawner.cmd = ["/home/{USERNAME}/venv/bin/jupyterhub-singleuser"]
    s = make(SystemdSpawner, c)
    sparkd_hub.pre_spawn_hook(s)
    assert [s._expand_user_vars(a) for a in s.cmd] == [
        LAUNCH, "--", "/home/alice/venv/bin/jupyterhub-singleuser"]


def test_kubespawner_none_cmd_uses_image_cmd_setting(kube):
    s = kube()
    assert s.cmd is None  # "the image's CMD"
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd == [LAUNCH, "--", SINGLEUSER]

    c = Config()
    c.SparkdHub.image_cmd = ["start-notebook.py"]
    s = kube(config=c)
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd == [LAUNCH, "--", "start-notebook.py"]


def test_kubespawner_pod_runs_the_launcher(kube):
    c = Config()
    c.KubeSpawner.cmd = [SINGLEUSER]
    c.KubeSpawner.args = ["--debug"]
    s = kube(config=c)
    sparkd_hub.pre_spawn_hook(s)
    s.hub.base_url = "/hub/"
    pod = asyncio.run(s.get_pod_manifest())
    container = pod.spec.containers[0]
    assert container.args[:3] == [LAUNCH, "--", SINGLEUSER]
    assert "--debug" in container.args
    env = {e.name: e.value for e in container.env}
    assert env["SPARKD_PUBLIC_PREFIX"] == "/user/alice/sparkd/"


@pytest.mark.parametrize("cls", [SlurmSpawner, TorqueSpawner])
def test_batchspawner_wraps_the_batch_wrapper(cls):
    s = make(cls)
    sparkd_hub.pre_spawn_hook(s)
    # cmd stays, the launcher goes in front of batchspawner-singleuser, which
    # runs its first argument as a Python script.
    assert s.cmd == [SINGLEUSER]
    line = s.cmd_formatted_for_batch()
    assert line.split()[:4] == [LAUNCH, "--", "batchspawner-singleuser", SINGLEUSER]


def test_batchspawner_keepvars_carry_the_sparkd_environment():
    # The job script exports only req_keepvars; its default is computed
    # from get_env(), after the hook ran.
    s = make(SlurmSpawner, name="root")  # user_env() looks the user up
    s.hub = SimpleNamespace(public_host="h", api_url="http://h/hub/api", url="http://h/hub/",
                            base_url="/hub/")
    sparkd_hub.pre_spawn_hook(s)
    keep = s.req_keepvars.split(",")
    assert {"SPARKD_PUBLIC_PREFIX", "SPARKD_PREFER_SYSTEMD", "SPARKD_LAUNCH_TIMEOUT"} <= set(keep)


def test_launcher_path_setting():
    c = Config()
    c.SparkdHub.launcher = "/opt/sparkd/bin/sparkd-launch"
    s = make(LocalProcessSpawner, c)
    sparkd_hub.pre_spawn_hook(s)
    assert s.cmd[:2] == ["/opt/sparkd/bin/sparkd-launch", "--"]


# --- idempotence and composition ------------------------------------------------

@pytest.mark.parametrize("cls", [LocalProcessSpawner, SystemdSpawner, SlurmSpawner])
def test_second_spawn_does_not_wrap_twice(cls):
    s = make(cls)
    sparkd_hub.pre_spawn_hook(s)
    first = (list(s.cmd), getattr(s, "batchspawner_singleuser_cmd", None))
    sparkd_hub.pre_spawn_hook(s)
    assert (list(s.cmd), getattr(s, "batchspawner_singleuser_cmd", None)) == first


def test_configure_sets_the_hook_and_settings():
    c = Config()
    hook = sparkd_hub.configure(c, prefer_systemd=True, sparkd="/opt/bin/sparkd")
    assert c.Spawner.pre_spawn_hook is hook
    s = make(LocalProcessSpawner, c)
    assert s.pre_spawn_hook is hook
    s.run_pre_spawn_hook()
    assert s.cmd == [LAUNCH, "--", SINGLEUSER]
    assert s.environment["SPARKD_PREFER_SYSTEMD"] == "1"
    assert s.environment["SPARKD_BIN"] == "/opt/bin/sparkd"


def test_configure_rejects_unknown_settings():
    with pytest.raises(TypeError, match="unknown setting"):
        sparkd_hub.configure(Config(), prefer_sytemd=True)


def test_configure_runs_an_existing_sync_hook_first():
    c = Config()
    seen = []

    def mine(spawner):
        seen.append(list(spawner.cmd))
        spawner.cmd = ["jupyter-labhub"]
        spawner.environment["MINE"] = "1"
    c.Spawner.pre_spawn_hook = mine
    sparkd_hub.configure(c)
    s = make(LocalProcessSpawner, c)
    assert s.run_pre_spawn_hook() is None
    assert seen == [[SINGLEUSER]]
    assert s.cmd == [LAUNCH, "--", "jupyter-labhub"]
    assert s.environment["MINE"] == "1"


def test_configure_composes_with_an_async_hook():
    c = Config()

    async def mine(spawner):
        await asyncio.sleep(0)
        spawner.environment["MINE"] = "async"
    c.Spawner.pre_spawn_hook = mine
    sparkd_hub.configure(c)
    s = make(LocalProcessSpawner, c)
    result = s.run_pre_spawn_hook()
    assert s.cmd == [SINGLEUSER]  # not yet: the previous hook has not finished
    asyncio.run(result)
    assert s.environment["MINE"] == "async"
    assert s.cmd == [LAUNCH, "--", SINGLEUSER]


def test_configure_twice_does_not_chain_itself():
    c = Config()
    calls = []
    c.Spawner.pre_spawn_hook = lambda spawner: calls.append(1)
    sparkd_hub.configure(c)
    sparkd_hub.configure(c)
    s = make(LocalProcessSpawner, c)
    s.run_pre_spawn_hook()
    assert calls == [1]
    assert s.cmd == [LAUNCH, "--", SINGLEUSER]


# --- environment ---------------------------------------------------------------

def test_environment_defaults_leave_the_socket_to_the_launcher():
    s = make(LocalProcessSpawner)
    s.environment["KEEP"] = "me"
    sparkd_hub.pre_spawn_hook(s)
    assert s.environment == {
        "KEEP": "me",
        "SPARKD_PUBLIC_PREFIX": "/user/alice/sparkd/",
        "SPARKD_PREFER_SYSTEMD": "0",
        "SPARKD_LAUNCH_TIMEOUT": "10",
    }


def test_public_prefix_follows_the_server_base_url():
    s = make(LocalProcessSpawner)
    s.server = SimpleNamespace(base_url="/prefix/user/alice/lab1/")
    sparkd_hub.pre_spawn_hook(s)
    assert s.environment["SPARKD_PUBLIC_PREFIX"] == "/prefix/user/alice/lab1/sparkd/"


def named(cls, server_name, config=None, name="alice"):
    orm = SimpleNamespace(name=server_name, server=None, display_name=server_name)
    return make(cls, config, name=name, orm_spawner=orm)


def test_public_prefix_of_a_named_server_without_server_object():
    s = named(LocalProcessSpawner, "gpu", name="bob")
    sparkd_hub.pre_spawn_hook(s)
    assert s.environment["SPARKD_PUBLIC_PREFIX"] == "/user/bob/gpu/sparkd/"


def test_settings_become_environment():
    c = Config()
    c.SparkdHub.config_dirs = ["/etc/sparkd/configs", "/srv/spark/configs"]
    c.SparkdHub.launch_timeout = 2.5
    c.SparkdHub.proxy_path = "/spark/"
    c.SparkdHub.socket_path = "/run/sparkd/{username}-{servername}.sock"
    s = named(SystemdSpawner, "lab", c)
    sparkd_hub.pre_spawn_hook(s)
    env = s.environment
    assert env["SPARKD_CONFIG_DIRS"] == "/etc/sparkd/configs:/srv/spark/configs"
    assert env["SPARKD_LAUNCH_TIMEOUT"] == "2.5"
    assert env["SPARKD_PUBLIC_PREFIX"].endswith("/spark/")
    assert env["SPARKD_SOCKET"] == "/run/sparkd/alice-lab.sock"
    assert "SPARKD_BIN" not in env


def test_simple_local_process_spawner_gets_a_socket_per_user():
    # All its users share the hub's uid: the daemon's default socket would be
    # the same for everyone.
    a, b = make(SimpleLocalProcessSpawner, name="alice"), make(SimpleLocalProcessSpawner, name="bob")
    sparkd_hub.pre_spawn_hook(a)
    sparkd_hub.pre_spawn_hook(b)
    assert a.environment["SPARKD_SOCKET"] == "/tmp/alice/.sparkd/sparkd.sock"
    assert b.environment["SPARKD_SOCKET"] == "/tmp/bob/.sparkd/sparkd.sock"


def test_environment_reaches_the_process_env():
    s = make(SimpleLocalProcessSpawner)
    s.api_token = "t"
    s.hub = SimpleNamespace(public_host="h", api_url="http://h/hub/api", url="http://h/hub/",
                            base_url="/hub/")
    s.server = SimpleNamespace(base_url="/user/alice/", bind_url="http://127.0.0.1:9999/user/alice/",
                               ip="127.0.0.1", port=9999, url="http://127.0.0.1:9999/user/alice/")
    sparkd_hub.pre_spawn_hook(s)
    env = s.get_env()
    assert env["SPARKD_PUBLIC_PREFIX"] == "/user/alice/sparkd/"
    assert env["SPARKD_SOCKET"] == "/tmp/alice/.sparkd/sparkd.sock"


# --- settings and package ----------------------------------------------------

def test_every_setting_is_documented():
    traits = sparkd_hub.SparkdHub.class_traits(config=True)
    assert set(traits) >= {"launcher", "sparkd", "config_dirs", "prefer_systemd", "launch_timeout",
                           "socket_path", "proxy_path", "image_cmd"}
    for name, trait in traits.items():
        assert len(trait.help) > 40, name


def test_settings_docs_in_admin_guide():
    guide = (ROOT / "docs" / "admin-guide.md").read_text()
    for name in sparkd_hub.SparkdHub.class_traits(config=True):
        assert f"c.SparkdHub.{name}" in guide, name


def test_package_builds_a_wheel(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(tmp_path), str(ROOT / "hub-hook")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    wheels = list(tmp_path.glob("sparkd_hub-*.whl"))
    assert len(wheels) == 1
    import zipfile
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "sparkd_hub/__init__.py" in names and "sparkd_hub/hook.py" in names
