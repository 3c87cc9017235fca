"""The guide test: docs/admin-guide.md's install path for LocalProcessSpawner,
run verbatim on a fresh site (see guideblocks.py for the marking scheme).

The site, as an administrator would have it before Start Spark (made by this
file, not by the guide), all under a fresh /tmp/guide-XXXX:
  jupyterhub/    the hub's venv (/opt/jupyterhub in the guide): JupyterHub
  singleuser/    the servers' venv (/opt/singleuser): JupyterHub, JupyterLab,
                 PySpark, ipykernel
  usr-local/     the C part's PREFIX (/usr/local); the blocks and the hub run
                 with PATH=PREFIX/bin:/usr/sbin:/usr/bin:/sbin:/bin, the
                 Debian default with PREFIX/bin standing in for /usr/local/bin
  site/dist/     copies of the three files of `make dist`; the sh blocks run
                 in site/
  hub/           jupyterhub_config.py: the site's own lines (ports, database,
                 configurable-http-proxy from tests/e2e/node_modules, PAM —
                 JupyterHub's default — with the two users allowed), then the
                 guide's hub-config blocks
and two Unix users with passwords (PAM). pip installs come from
build/guide/wheels (GUIDE_WHEELS, `make guide-wheels`) without the index,
pinned by tests/requirements.txt (PIP_CONSTRAINT): the commands are the
guide's, the versions CI's.

As root (it creates users; LocalProcessSpawner switches to them)."""
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "admin-guide.md"
DIST = ROOT / "dist"
WHEELS = Path(os.environ.get("GUIDE_WHEELS", ROOT / "build" / "guide" / "wheels"))
ARTIFACTS = Path(os.environ.get("GUIDE_ARTIFACTS", ROOT / "artifacts" / "guide"))
USERS = ("guidealice", "guidebob")
SYSTEM_PYTHON = os.environ.get("GUIDE_PYTHON", "/usr/bin/python3")  # the site's venvs are made from it

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import guideblocks  # noqa: E402
import hubenv  # noqa: E402  (users, waiting, /proc, the hub's process and REST API)
from hubenv import wait_until  # noqa: E402,F401

DIST_FILES = ("sparkd-*.tar.gz", "start_spark-*-py3-none-any.whl", "sparkd_hub-*-py3-none-any.whl")


class Times:
    """Wall times of the setup's phases, written to ARTIFACTS/times.txt
    (information for the suite's budget; nothing asserts them)."""

    def __init__(self):
        self.rows = []

    def add(self, what, since):
        self.rows.append((what, time.monotonic() - since))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "times.txt").write_text("".join(f"{s:7.1f} s  {w}\n" for w, s in self.rows))


TIMES = Times()


def _precheck():
    if os.geteuid() != 0:
        pytest.fail("the guide test creates Unix users and runs the guide's commands as root: "
                    "run it as root (sudo make guide-test)", pytrace=False)
    for pattern in DIST_FILES:
        if len(list(DIST.glob(pattern))) != 1:
            pytest.fail(f"expected one dist/{pattern}: run make dist", pytrace=False)
    if not (WHEELS / ".done").exists():
        pytest.fail(f"no wheelhouse in {WHEELS}: run make guide-wheels", pytrace=False)
    if not os.access(hubenv.CHP, os.X_OK):
        pytest.fail(f"missing configurable-http-proxy ({hubenv.CHP}): make tests/e2e/node_modules/.done",
                    pytrace=False)


def constraints(path):
    """tests/requirements.txt as a constraints file (pip refuses extras there)."""
    text = (ROOT / "tests" / "requirements.txt").read_text()
    path.write_text(re.sub(r"\[[^\]]*\]", "", text))
    return path


class Site:
    def __init__(self, base):
        self.base = base
        self.paths = {"prefix": base / "usr-local", "server_venv": base / "singleuser",
                      "hub_venv": base / "jupyterhub"}
        self.prefix = self.paths["prefix"]
        self.server_venv = self.paths["server_venv"]
        self.hub_venv = self.paths["hub_venv"]
        self.dir = base / "site"
        self.path = f"{self.prefix}/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        self.env = {"PATH": self.path, "HOME": "/root", "LANG": "C.UTF-8",
                    "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELS),
                    "PIP_CONSTRAINT": str(constraints(base / "constraints.txt")),
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
        self.blocks = guideblocks.load(GUIDE, self.paths)
        self.outputs = {}  # guide line -> output of that block

    def run(self, argv, what, timeout=600, **kw):
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, **kw)
        assert p.returncode == 0, f"{what} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
        return p.stdout + p.stderr

    def environments(self):
        """The venvs the site had before Start Spark (two pip runs side by side)."""
        t0 = time.monotonic()
        jobs = {self.hub_venv: ["jupyterhub"],
                self.server_venv: ["jupyterhub", "jupyterlab", "pyspark", "ipykernel"]}
        procs = []
        for venv, pkgs in jobs.items():
            cmd = f"{SYSTEM_PYTHON} -m venv {venv} && {venv}/bin/pip install -q {' '.join(pkgs)}"
            procs.append((venv, subprocess.Popen(["bash", "-ec", cmd], env=self.env, stdout=subprocess.PIPE,
                                                 stderr=subprocess.STDOUT, text=True)))
        for venv, p in procs:
            out, _ = p.communicate(timeout=600)
            assert p.returncode == 0, f"making {venv} failed:\n{out[-4000:]}"
        TIMES.add("the site's two venvs (pip from the wheelhouse)", t0)

    def copy_dist(self):
        (self.dir / "dist").mkdir(parents=True)
        for pattern in DIST_FILES:
            shutil.copy(next(DIST.glob(pattern)), self.dir / "dist")

    def run_blocks(self, kind):
        for line, code in self.blocks[kind]:
            t0 = time.monotonic()
            self.outputs[line] = self.run(["bash", "-e", "-o", "pipefail", "-c", code],
                                          f"docs/admin-guide.md:{line} ({kind} block)\n{code}", cwd=self.dir)
            TIMES.add(f"guide block {kind} at line {line}", t0)
            record(kind, line, code, self.outputs[line])


def record(kind, line, code, output):
    """Appends a block and what it printed to ARTIFACTS/blocks.log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "blocks.log", "a") as f:
        f.write(f"== docs/admin-guide.md:{line} ({kind})\n{code}-- output:\n{output}\n")


@pytest.fixture(scope="session")
def site():
    _precheck()
    (ARTIFACTS / "blocks.log").unlink(missing_ok=True)
    base = Path(tempfile.mkdtemp(prefix="guide-", dir="/tmp"))
    os.chmod(base, 0o755)  # the users run the servers' venv
    try:
        s = Site(base)
        s.copy_dist()
        s.environments()
        s.run_blocks("server")
        s.run_blocks("hub")
        yield s
    finally:
        shutil.rmtree(base, ignore_errors=True)


SITE_CONFIG = '''\
# The site's own lines (tests/guide/conftest.py): where the hub listens, its
# database and proxy; PAM (JupyterHub's default) with the test's two users.
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_bind_url = {hub_bind_url!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api_url!r}
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.ConfigurableHTTPProxy.pid_file = {base!r} + "/proxy.pid"
c.JupyterHub.pid_file = {base!r} + "/hub.pid"
c.JupyterHub.db_url = "sqlite:///" + {base!r} + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = {base!r} + "/cookie_secret"
c.Authenticator.allowed_users = {users!r}
c.Spawner.http_timeout = 90
c.Spawner.start_timeout = 120

# Start Spark: the guide's hub-config blocks (docs/admin-guide.md), verbatim
'''


class GuideHub(hubenv.Hub):
    """hubenv.Hub (ports, the process, the REST API) running the site's hub
    venv with the site's configuration and the guide's lines."""

    def __init__(self, base, site, users):
        super().__init__(base, hook=False)
        st = self.settings
        text = SITE_CONFIG.format(
            bind_url=self.url, hub_bind_url=f"http://127.0.0.1:{st['hub_port']}",
            proxy_api_url=f"http://127.0.0.1:{st['proxy_api_port']}", chp=hubenv.CHP,
            proxy_token=st["proxy_token"], base=str(self.base), users=set(users))
        for line, code in site.blocks["hub-config"]:
            text += f"# docs/admin-guide.md:{line}\n{code}"
        self.config_text = text
        self.site = site

    def start(self, timeout=60):
        conf = self.base / "jupyterhub_config.py"
        conf.write_text(self.config_text)
        self.log = open(self.log_path, "ab")
        env = {"PATH": self.site.path, "HOME": "/root", "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen([str(self.site.hub_venv / "bin" / "jupyterhub"), "-f", str(conf)],
                                     cwd=self.base, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        wait_until(self._up, timeout, 0.2, "the hub to answer")
        return self


class Person:
    """A Unix user with a password, who logs in through the hub's REST API."""

    def __init__(self, pw, password):
        self.name, self.uid, self.home = pw.pw_name, pw.pw_uid, pw.pw_dir
        self.password = password
        self.token = None

    def login(self, hub):
        """A token for the hub's API and the user's server, asked for with
        the user's name and password (PAM)."""
        r = requests.post(f"{hub.url}/hub/api/users/{self.name}/tokens", timeout=60,
                          json={"auth": {"username": self.name, "password": self.password},
                                "note": "guide test", "expires_in": 3600})
        assert r.status_code in (200, 201), (r.status_code, r.text[:500])
        self.token = r.json()["token"]
        return self.token


@pytest.fixture(scope="session")
def people(site):
    made = {}
    for name in USERS:
        pw = hubenv.ensure_user(name)
        password = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        made[name] = Person(pw, password)
    yield made
    for name in USERS:
        hubenv.remove_user(name)


@pytest.fixture(scope="session")
def hub(site, people):
    h = GuideHub(site.base / "hub", site, people)
    t0 = time.monotonic()
    h.start()
    TIMES.add("the hub's start", t0)
    yield h
    h.stop()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if h.log_path.exists():
        shutil.copy(h.log_path, ARTIFACTS / "hub.log")
    (ARTIFACTS / "jupyterhub_config.py").write_text(h.config_text)
