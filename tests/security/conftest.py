"""The shared-host suite: two real Unix users on one machine, a victim who
runs sparkd, kernels and Spark, and an attacker who tries what any other
user of a JupyterHub host can try (docs/admin-guide.md, "Security model").

Needs root (it creates the users and switches to their uids) and the e2e
venv (.venv-e2e, built from /usr/bin/python3 so that the users can run
it: `make e2e-venv`), with PySpark, ipykernel, jupyter_server and the
start-spark package (the proxy route)."""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("E2E_VENV", ROOT / ".venv-e2e"))
PY = str(VENV / "bin" / "python")
SPARKD = os.environ.get("SPARKD", str(ROOT / "daemon" / "sparkd"))
SPARKCTL = os.environ.get("SPARKCTL", str(ROOT / "tools" / "sparkctl"))
SPARKD_LAUNCH = os.environ.get("SPARKD_LAUNCH", str(ROOT / "tools" / "sparkd-launch"))
VICTIM, ATTACKER = "ssvictim", "ssattacker"
PATH = f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin"
CANARY = "CANARY" + secrets.token_hex(6)

# the e2e suite's helpers for Unix users and waiting
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from hubenv import ensure_user, kill_all_of, remove_user, wait_until  # noqa: E402


class User:
    """A test user: runs commands as itself with a clean environment."""

    def __init__(self, pw):
        self.name, self.uid, self.gid, self.home = pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir

    def env(self, **extra):
        e = {"HOME": self.home, "USER": self.name, "PATH": PATH, "LANG": "C.UTF-8"}
        e.update({k: str(v) for k, v in extra.items() if v is not None})
        return e

    def argv(self, cmd, env):
        return ["runuser", "-u", self.name, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + list(cmd)

    def run(self, cmd, timeout=120, env=None, input=None, **kw):
        return subprocess.run(self.argv(cmd, env or self.env()), capture_output=True, text=True,
                              timeout=timeout, input=input, **kw)

    def popen(self, cmd, env=None, **kw):
        return subprocess.Popen(self.argv(cmd, env or self.env()), **kw)

    def python(self, code, timeout=120, env=None):
        """Runs code in the venv's Python as this user; the code on stdin,
        so that nothing of it is on a command line."""
        return self.run([PY, "-"], timeout=timeout, env=env, input=code)


# --- what the host shows ---------------------------------------------------

def listeners(uid=None):
    """[(address, port, uid)] of every TCP listener (ss -ltnHe)."""
    out = subprocess.run(["ss", "-ltnHe"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        local = fields[3]
        addr, _, port = local.rpartition(":")
        owner = next((int(f[4:]) for f in fields if f.startswith("uid:")), 0)
        if uid is None or owner == uid:
            found.append((addr.strip("[]"), int(port), owner))
    return found


LOOPBACK_ADDRS = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def cmdlines():
    """{pid: argv bytes} of every live process."""
    out = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/cmdline", "rb") as f:
                    out[int(e)] = f.read()
            except OSError:
                pass
    return out


def environ_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return dict(x.split(b"=", 1) for x in f.read().split(b"\0") if b"=" in x)
    except OSError:
        return {}


def pids_of(uid):
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                if os.stat(f"/proc/{e}").st_uid == uid:
                    out.append(int(e))
            except OSError:
                pass
    return out


HTTP_PROBE = """
import concurrent.futures, json, socket, sys, urllib.error, urllib.request
urls, timeout = json.loads(sys.stdin.read())

def status(url):
    try:
        return urllib.request.urlopen(url, timeout=timeout).status
    except urllib.error.HTTPError as e:
        return e.code
    except (TimeoutError, socket.timeout):
        return -1  # connected, no HTTP answer in time (not HTTP, or too slow)
    except urllib.error.URLError as e:
        return -1 if isinstance(e.reason, (TimeoutError, socket.timeout)) else 0
    except Exception:
        return 0  # refused, reset, or not HTTP

with concurrent.futures.ThreadPoolExecutor(32) as pool:
    print(json.dumps(list(pool.map(status, urls))))
"""

# one slow answer on a loaded CI host must not pass for "nothing answers":
# every url is asked at once, each given this long
PROBE_TIMEOUT = 20


def http_statuses(user, urls):
    """GET each url as user (one process, concurrently); their HTTP
    statuses: 0 where nothing HTTP answers (refused, reset, not HTTP), -1
    where a connection was taken but no answer came in PROBE_TIMEOUT s."""
    p = user.run([PY, "-c", HTTP_PROBE], timeout=60 + PROBE_TIMEOUT * (1 + len(urls) // 32),
                 input=json.dumps([list(urls), PROBE_TIMEOUT]))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def http_status(user, url):
    return http_statuses(user, [url])[0]


# --- the victim's daemon and kernels -----------------------------------------

class Victim:
    """sparkd running as the victim, with dirs it owns and admin + user configs."""

    def __init__(self, user, base):
        self.user = user
        self.base = Path(base)
        self.dir = self.base / "victim"
        for sub in ("", "runtime", "state", "ipython", "user-configs", "run"):
            d = self.dir / sub
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, user.uid, user.gid)
            os.chmod(d, 0o700)
        self.admin = self.base / "admin"
        shutil.copytree(ROOT / "configs", self.admin)
        # the one warm JVM of the cap (--prewarm-max 1) goes to canary-warm
        local = self.admin / "local.yaml"
        local.write_text(local.read_text().replace("prewarm: true", "prewarm: false"))
        for p in [self.admin, *self.admin.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        self.sock = str(self.dir / "run" / "sparkd.sock")
        self.runtime = self.dir / "runtime"
        self.log_path = self.base / "sparkd.log"
        self.proc = None
        self.kernels = []

    def add_user_config(self, name, text):
        p = self.dir / "user-configs" / f"{name}.yaml"
        p.write_text(text)
        os.chown(p, self.user.uid, self.user.gid)
        os.chmod(p, 0o600)

    def env(self, **extra):
        return self.user.env(SPARKD_PYTHON=PY, PYSPARK_PYTHON=PY, IPYTHONDIR=str(self.dir / "ipython"),
                             **extra)

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = self.user.popen(
            [SPARKD, "--socket", self.sock, "--config-dir", str(self.admin),
             "--user-config-dir", str(self.dir / "user-configs"), "--ipython-dir", str(self.dir / "ipython"),
             "--state-dir", str(self.dir / "state"), "--runtime-dir", str(self.runtime),
             "--start-timeout", "240", "--prewarm-max", "1", "--prewarm-practice", "2", "-v"],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.api("GET", "/api/health")[0] == 200, 30, what="sparkd")
        return self

    def api(self, method, path, body=None):
        """A request as the victim over the daemon's socket: (status, json)."""
        cmd = ["curl", "-sS", "--unix-socket", self.sock, "-X", method, "-o", "-", "-w", "\n%{http_code}",
               f"http://sparkd{path}"]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        p = self.user.run(cmd, timeout=60, input=json.dumps(body) if body is not None else None)
        text, _, code = p.stdout.rpartition("\n")
        try:
            data = json.loads(text) if text.strip().startswith(("{", "[")) else text
        except ValueError:
            data = text
        return int(code or 0), data

    def session(self, kid, states=("ready", "failed"), timeout=240):
        version = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, s = self.api("GET", f"/api/sessions/{kid}?wait=20&version={version}")
            assert status == 200, (status, s)
            if s["state"] in states:
                return s
            version = s["version"]
        raise AssertionError(f"session stuck: {s}")

    def kernel(self):
        k = VictimKernel(self)
        self.kernels.append(k)
        return k

    def stop(self):
        for k in self.kernels:
            k.close()
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class VictimKernel:
    """An ipykernel running as the victim; the test (root) is its client."""

    def __init__(self, victim):
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        self.id = str(uuid.uuid4())
        self.conn = str(victim.runtime / f"kernel-{self.id}.json")
        write_connection_file(self.conn, ip="127.0.0.1", key=secrets.token_hex(16).encode())
        os.chown(self.conn, victim.user.uid, victim.user.gid)
        os.chmod(self.conn, 0o600)
        cwd = victim.dir / "work"
        cwd.mkdir(exist_ok=True)
        os.chown(cwd, victim.user.uid, victim.user.gid)
        self.proc = victim.user.popen([PY, "-m", "ipykernel_launcher", "-f", self.conn], env=victim.env(),
                                      cwd=str(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = BlockingKernelClient(connection_file=self.conn)
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=90)

    def run(self, code, timeout=240):
        """(status, text output) of code run in the kernel."""
        out = []

        def hook(msg):
            c = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(c["text"])
            elif msg["msg_type"] in ("execute_result", "display_data"):
                out.append(c["data"].get("text/plain", ""))
            elif msg["msg_type"] == "error":
                out.append(c["ename"] + ": " + c["evalue"])

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook, store_history=False)
        return reply["content"]["status"], "".join(out)

    def value(self, expr):
        status, out = self.run(f"print(repr({expr}))")
        assert status == "ok", out
        import ast
        return ast.literal_eval(out.strip().splitlines()[-1])

    def close(self):
        try:
            self.client.shutdown()
            self.client.stop_channels()
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _precheck():
    if os.geteuid() != 0:
        pytest.fail("the shared-host suite creates Unix users and switches uids: run it as root "
                    "(make security-test, as root or with sudo)")
    for path, what in ((SPARKD, "daemon/sparkd (make)"), (SPARKCTL, "tools/sparkctl (make)"),
                       (SPARKD_LAUNCH, "tools/sparkd-launch (make)"), (PY, "the e2e venv (make e2e-venv)")):
        if not os.access(path, os.X_OK):
            pytest.fail(f"missing {what}: {path}")
    if shutil.which("ss") is None:
        pytest.fail("ss is missing: apt-get install iproute2")


@pytest.fixture(scope="session")
def users():
    _precheck()
    made = {n: User(ensure_user(n)) for n in (VICTIM, ATTACKER)}
    probe = made[VICTIM].run([PY, "-c", "import pyspark, ipykernel, jupyter_server_proxy, start_spark"])
    if probe.returncode != 0:
        pytest.fail(f"the test users cannot run the venv's Python with PySpark and start_spark ({VENV}); "
                    f"build it from /usr/bin/python3 (make e2e-venv):\n{probe.stderr}")
    yield made
    for n in (VICTIM, ATTACKER):
        remove_user(n)


@pytest.fixture(scope="session")
def base():
    d = Path(tempfile.mkdtemp(prefix="sec-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


CANARY_CONFIGS = {
    # a pre-warmed local configuration: its warm JVM starts at the daemon's start
    "canary-warm": f"""
display_name: Canary (pre-warmed)
master: local[2]
app_name: app-{CANARY}
conf:
  spark.driver.memory: 512m
  spark.sparkd.canary: "{CANARY} with spaces = and: colons"
prewarm: true
""",
    "canary-local": f"""
display_name: Canary (cold)
master: local[2]
app_name: app-{CANARY}
conf:
  spark.driver.memory: 512m
  spark.sparkd.canary: "{CANARY}"
""",
    "canary-standalone": f"""
display_name: Canary (standalone)
master: spark://127.0.0.1:7077
app_name: app-{CANARY}
launch:
  type: standalone
  workers: 1
  worker_cores: 1
  worker_memory: 1g
conf:
  spark.driver.memory: 512m
  spark.executor.memory: 512m
  spark.cores.max: 1
  spark.sparkd.canary: "{CANARY}"
""",
    "canary-connect": f"""
display_name: Canary (Spark Connect)
master: local[2]
app_name: app-{CANARY}
launch:
  type: connect
conf:
  spark.driver.memory: 512m
  spark.sparkd.canary: "{CANARY}"
""",
}


@pytest.fixture(scope="session")
def victim(users, base):
    v = Victim(users[VICTIM], base)
    for name, text in CANARY_CONFIGS.items():
        v.add_user_config(name, text)
    v.start()
    yield v
    v.stop()
    kill_all_of(users[VICTIM].uid)
    log = v.log_path.read_text(errors="replace") if v.log_path.exists() else ""
    artifacts = Path(os.environ.get("SECURITY_ARTIFACTS", ROOT / "artifacts" / "security"))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "sparkd.log").write_text(log)


@pytest.fixture(scope="session")
def attacker(users):
    return users[ATTACKER]
