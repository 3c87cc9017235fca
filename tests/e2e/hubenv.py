"""A real JupyterHub for the end-to-end tests: configurable-http-proxy from
tests/e2e/node_modules (npm ci), DummyAuthenticator with a fixed password,
LocalProcessSpawner (real Unix users) or SimpleLocalProcessSpawner, the
sparkd_hub hook, all on 127.0.0.1 with free ports, in a temporary directory.

Also: the Unix users the tests create, and /proc helpers."""
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("E2E_VENV", ROOT / ".venv"))
SPARKD = os.environ.get("SPARKD", str(ROOT / "daemon" / "sparkd"))
SPARKD_LAUNCH = os.environ.get("SPARKD_LAUNCH", str(ROOT / "tools" / "sparkd-launch"))
CHP = os.environ.get("E2E_CHP", str(ROOT / "tests" / "e2e" / "node_modules" / ".bin"
                                    / "configurable-http-proxy"))
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "artifacts" / "e2e"))
PASSWORD = "e2e-password"
SERVER_PATH = f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=30, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# --- processes -------------------------------------------------------------

def proc_info(pid):
    """{pid, ppid, uid, argv} of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        if stat[0] == "Z":
            return None
        with open(f"/proc/{pid}/status") as f:
            uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except (OSError, StopIteration):
        return None
    return {"pid": pid, "ppid": int(stat[1]), "uid": uid, "argv": argv}


def processes():
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            p = proc_info(int(e))
            if p:
                out.append(p)
    return out


def daemons_of(uid):
    """Live sparkd processes running as uid."""
    name = Path(SPARKD).name
    return [p for p in processes()
            if p["uid"] == uid and p["argv"] and Path(p["argv"][0]).name == name]


def java_of(uid):
    return [p for p in processes()
            if p["uid"] == uid and p["argv"] and Path(p["argv"][0]).name == "java"]


def kill_all_of(uid):
    """SIGKILL every process of a test user (by pid; the users are ours)."""
    for p in processes():
        if p["uid"] == uid:
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- Unix users ------------------------------------------------------------

def ensure_user(name):
    """Creates the Unix user NAME with a home under /home (as root)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    return pwd.getpwnam(name)


def remove_user(name):
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return
    kill_all_of(pw.pw_uid)
    time.sleep(0.2)
    subprocess.run(["userdel", "--remove", name], capture_output=True)
    shutil.rmtree(f"/tmp/sparkd-{pw.pw_uid}", ignore_errors=True)


# --- the hub ---------------------------------------------------------------

CONFIG = '''\
# Written by tests/e2e/hubenv.py
import json, sys
s = json.load(open({settings!r}))
c.JupyterHub.bind_url = "http://127.0.0.1:%d" % s["port"]
c.JupyterHub.hub_bind_url = "http://127.0.0.1:%d" % s["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % s["proxy_api_port"]
c.ConfigurableHTTPProxy.command = [s["chp"]]
c.ConfigurableHTTPProxy.auth_token = s["proxy_token"]
c.ConfigurableHTTPProxy.pid_file = s["base"] + "/proxy.pid"
c.JupyterHub.pid_file = s["base"] + "/hub.pid"
c.JupyterHub.db_url = "sqlite:///" + s["base"] + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = s["base"] + "/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = s["password"]
c.Authenticator.allow_all = True
c.Authenticator.admin_users = set()
c.JupyterHub.services = [{{"name": "e2e", "api_token": s["service_token"]}}]
c.JupyterHub.load_roles = [{{"name": "e2e", "services": ["e2e"],
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"]}}]
c.JupyterHub.spawner_class = s["spawner"]
c.Spawner.cmd = [s["venv"] + "/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 90
c.Spawner.start_timeout = 120
c.Spawner.environment = s["environment"]
c.Spawner.args = s["args"]
if s["spawner"] == "simple":
    c.SimpleLocalProcessSpawner.home_dir_template = s["base"] + "/home/{{username}}"
if s["hook"]:
    sys.path.insert(0, s["root"] + "/hub-hook")
    import sparkd_hub
    sparkd_hub.configure(c, launcher=s["launcher"], sparkd=s["sparkd"],
                         config_dirs=s["config_dirs"], launch_timeout=20)
'''


class Hub:
    """One JupyterHub + configurable-http-proxy, started with start()."""

    def __init__(self, base, spawner="localprocess", hook=True, config_dirs=None,
                 environment=None):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service_token = secrets.token_hex(16)
        env = {"PATH": SERVER_PATH, "LANG": "C.UTF-8",
               "PYSPARK_PYTHON": f"{VENV}/bin/python",
               "SPARKD_VERBOSE": "1",
               # warm-ups practise 2 s, not the default 10 s: the browser
               # tests share two cores with the other lane's suites
               "SPARKD_PREWARM_PRACTICE": "2"}
        env.update(environment or {})
        self.settings = {
            "port": self.port, "hub_port": free_port(), "proxy_api_port": free_port(),
            "chp": CHP, "proxy_token": secrets.token_hex(16), "base": str(self.base),
            "password": PASSWORD, "service_token": self.service_token,
            "spawner": spawner, "venv": str(VENV), "root": str(ROOT), "hook": hook,
            "launcher": SPARKD_LAUNCH, "sparkd": SPARKD,
            "config_dirs": [str(d) for d in (config_dirs or [ROOT / "configs"])],
            "environment": env,
            # as root, jupyter_server refuses to run without allow_root
            "args": ["--ServerApp.allow_root=True"] if spawner == "simple" else [],
        }
        self.proc = None
        self.log_path = self.base / "hub.log"

    # lifecycle
    def start(self, timeout=60):
        settings = self.base / "settings.json"
        settings.write_text(json.dumps(self.settings))
        conf = self.base / "jupyterhub_config.py"
        conf.write_text(CONFIG.format(settings=str(settings)))
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, PATH=f"{VENV}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}")
        self.proc = subprocess.Popen(
            [f"{VENV}/bin/jupyterhub", "-f", str(conf)], cwd=self.base,
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_until(self._up, timeout, 0.2, "the hub to answer")
        return self

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"jupyterhub exited {self.proc.returncode}:\n{self.output()}")
        try:
            return requests.get(self.url + "/hub/api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """SIGTERM: the hub stops the servers and the proxy, then exits."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # the proxy runs in the hub's session: anything left there is ours
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()

    # the REST API
    def api(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        headers["Authorization"] = f"token {token or self.service_token}"
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers,
                                timeout=kw.pop("timeout", 30), **kw)

    def user_token(self, name):
        self.api("POST", "/users", json={"usernames": [name]})  # 201, or 409 when known
        r = self.api("POST", f"/users/{name}/tokens", json={"note": "e2e", "expires_in": 7200})
        assert r.status_code in (200, 201), r.text
        return r.json()["token"]

    def server_state(self, name):
        r = self.api("GET", f"/users/{name}")
        assert r.status_code == 200, r.text
        return r.json()["servers"].get("")

    def spawn(self, name, timeout=120):
        """Starts NAME's server through the REST API and waits until the hub
        reports it ready; returns the seconds from the request to ready."""
        self.api("POST", "/users", json={"usernames": [name]})
        t0 = time.monotonic()
        r = self.api("POST", f"/users/{name}/server", json={})
        assert r.status_code in (201, 202), f"{r.status_code} {r.text}\n{self.output()[-4000:]}"
        while True:
            s = self.server_state(name)
            if s and s.get("ready"):
                return time.monotonic() - t0
            if not s:
                raise AssertionError(f"spawn of {name} failed:\n{self.output()[-6000:]}")
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"spawn of {name} timed out:\n{self.output()[-6000:]}")
            time.sleep(0.05)

    def stop_server(self, name, timeout=60):
        r = self.api("DELETE", f"/users/{name}/server")
        assert r.status_code in (202, 204), r.text
        wait_until(lambda: self.server_state(name) is None, timeout, 0.1,
                   f"{name}'s server to stop")

    def user_get(self, name, path, token, **kw):
        return requests.get(f"{self.url}/user/{name}/{path.lstrip('/')}",
                            headers={"Authorization": f"token {token}"},
                            timeout=kw.pop("timeout", 60), allow_redirects=False, **kw)

    def user_request(self, method, name, path, token, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"token {token}"
        return requests.request(method, f"{self.url}/user/{name}/{path.lstrip('/')}",
                                headers=headers, timeout=kw.pop("timeout", 60),
                                allow_redirects=kw.pop("allow_redirects", False), **kw)


def save_log(hub, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if hub.log_path.exists():
        shutil.copy(hub.log_path, ARTIFACTS / f"{name}-hub.log")


def make_notebook(hub, user, token, path):
    """An empty Python 3 notebook at path in user's server (the contents API)."""
    nb = {"cells": [], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                   "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    r = hub.user_request("PUT", user, f"api/contents/{path}", token,
                         json={"type": "notebook", "format": "json", "content": nb})
    assert r.status_code in (200, 201), r.text
