"""A victim and an attacker on one host (issue 10): for a pre-warmed JVM, a
local session, an ephemeral standalone session and a Spark Connect
session, the attacker can reach nothing of the victim's Spark, and nothing
the victim configured or any secret shows on a command line; a socket the
attacker plants receives nothing from the victim's clients.

Tests run in file order against one victim daemon (conftest.py)."""
import os
import re
import secrets
import socket
import subprocess
import time

import pytest

from conftest import (CANARY, LOOPBACK_ADDRS, PY, SPARKCTL, SPARKD, SPARKD_LAUNCH, cmdlines, environ_of,
                      http_status, http_statuses, listeners, pids_of, wait_until)

SECRET_ENV = (b"PYSPARK_GATEWAY_SECRET", b"_SPARK_AUTH_SECRET", b"SPARK_CONNECT_AUTHENTICATE_TOKEN")
JWS_KEY = "spark.org.apache.spark.ui.JWSFilter.param.secretKey"


def host_addresses():
    """The host's own non-loopback IPv4 addresses."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    return [a for a in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)", out) if not a.startswith("127.")]


def assert_listeners_loopback(uid):
    found = listeners(uid)
    assert found, "the victim has no listener at all: nothing was tested"
    bad = [(a, p) for a, p, _ in found if a not in LOOPBACK_ADDRS]
    assert not bad, f"victim listeners open beyond loopback: {bad}"


def victim_secrets(uid):
    """Every secret in the environment of the victim's processes."""
    found = set()
    for pid in pids_of(uid):
        env = environ_of(pid)
        for k in SECRET_ENV:
            if env.get(k):
                found.add(env[k])
    return found


def assert_not_on_any_command_line(values):
    values = [v if isinstance(v, bytes) else v.encode() for v in values if v]
    assert values
    me = os.getpid()
    for pid, argv in cmdlines().items():
        if pid == me:
            continue
        for v in values:
            assert v not in argv, f"{v[:12]!r}... is on the command line of pid {pid}: {argv[:300]!r}"


def java_listening_ports(uid, marker):
    """Ports the victim's JVMs whose command line contains marker listen on."""
    pids = [pid for pid, argv in cmdlines().items()
            if pid in set(pids_of(uid)) and b"java" in argv.split(b"\0")[0] and marker.encode() in argv]
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def assert_attacker_reaches_no_page(attacker, ports, ui_ports=()):
    """Every HTTP page on ports, on every address, is refused to the
    attacker; on ui_ports (web UIs and their REST API) with a 403, which
    must come (a UI too slow to answer is not counted as refusing)."""
    assert ports
    ports = sorted(set(ports) | set(ui_ports))
    pages = ("/", "/jobs/", "/api/v1/applications", "/json/", "/environment/")
    urls = [f"http://127.0.0.1:{port}{page}" for port in ports for page in pages]
    urls += [f"http://{addr}:{port}/" for port in ports for addr in host_addresses()]
    got = dict(zip(urls, http_statuses(attacker, urls)))
    opened = {u: st for u, st in got.items() if 200 <= st < 400}
    assert not opened, f"the attacker reached: {opened}"
    not_403 = {u: st for u, st in got.items()
               if u.startswith("http://127.0.0.1:") and int(u.split(":")[2].split("/")[0]) in ui_ports and st != 403}
    assert not not_403, f"UI pages not refused with 403: {not_403}"
    remote = {u: st for u, st in got.items() if not u.startswith("http://127.0.0.1:") and st not in (0, -1)}
    assert not remote, f"answers beyond loopback: {remote}"


def script(base, code):
    """code in a file every user can read (a background program's source)."""
    path = base / f"script-{secrets.token_hex(4)}.py"
    path.write_text(code)
    os.chmod(path, 0o644)
    return str(path)


def start_session(victim, kernel, config):
    status, body = victim.api("POST", "/api/sessions", {"config": config, "kernel_id": kernel.id})
    assert status == 202, body
    s = victim.session(kernel.id)
    assert s["state"] == "ready", s
    return s


def ui_port_of(kernel):
    url = kernel.value("spark.sparkContext.uiWebUrl")
    return int(url.rsplit(":", 1)[1])


# --- a pre-warmed driver JVM, before any click ---------------------------------

def test_a_warm_jvm_listens_on_loopback_only(victim, attacker):
    def warm():
        status, h = victim.api("GET", "/api/health")
        jvm = next((j for j in h["prewarm"]["jvms"] if j["config"] == "canary-warm"), None)
        return jvm if jvm and jvm["state"] == "ready" else None

    jvm = wait_until(warm, 240, 1, "the warm JVM of canary-warm")
    assert_listeners_loopback(victim.user.uid)
    ports = java_listening_ports(victim.user.uid, "pyspark-shell")
    assert ports, "the warm JVM listens on nothing?"
    # the gateway (Py4J, its own secret) and nothing else that speaks HTTP to a stranger
    assert_attacker_reaches_no_page(attacker, ports)
    assert_not_on_any_command_line([CANARY] + list(victim_secrets(victim.user.uid)))
    assert jvm["pid"]


# --- local sessions: the warm JVM handed over, and a cold one ------------------

@pytest.mark.parametrize("config,prewarmed", [("canary-warm", True), ("canary-local", False)])
def test_b_local_session_is_private(victim, attacker, config, prewarmed):
    k = victim.kernel()
    s = start_session(victim, k, config)
    assert s["prewarmed"] is prewarmed, s
    assert s["ui_protected"] is True, s
    status, out = k.run("print(spark.range(1000).count())")
    assert status == "ok" and out.strip().endswith("1000"), out
    conf = k.value("dict(spark.sparkContext.getConf().getAll())")
    assert conf["spark.driver.bindAddress"] == "127.0.0.1" and conf["spark.authenticate"] == "true"
    assert conf["spark.sparkd.canary"].startswith(CANARY)
    key = conf[JWS_KEY]
    port = ui_port_of(k)
    # the Spark UI and its REST API: refused to the attacker on every address ...
    assert_attacker_reaches_no_page(attacker, [port], ui_ports=[port])
    # ... and to the victim too without the token (only the daemon holds it) ...
    assert http_status(victim.user, f"http://127.0.0.1:{port}/jobs/") == 403
    # ... while the page through the daemon works, REST API included
    assert victim.api("GET", f"/ui/{k.id}/jobs/")[0] == 200
    status, apps = victim.api("GET", f"/ui/{k.id}/api/v1/applications")
    assert status == 200 and apps[0]["id"] == s["app_id"], apps
    assert_listeners_loopback(victim.user.uid)
    assert_not_on_any_command_line([CANARY, key] + list(victim_secrets(victim.user.uid)))
    assert victim.api("DELETE", f"/api/sessions/{k.id}")[0] == 202
    victim.session(k.id, ("stopped",))


# --- an ephemeral standalone cluster ---------------------------------------------

ATTACK = """
import os
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master(os.environ["MASTER"]).appName("attack")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.executor.memory", "512m")
         # an impatient attacker: a refused registration fails in seconds
         .config("spark.network.timeout", "20s").config("spark.rpc.askTimeout", "20s").getOrCreate())
target = os.environ["TARGET"]

def pwn(_):
    open(target, "w").write("written by %d" % os.getuid())
    return 1

print("RAN", spark.sparkContext.parallelize([1], 1).map(pwn).collect())
"""


def test_c_standalone_cluster_is_private(victim, attacker, base):
    k = victim.kernel()
    s = start_session(victim, k, "canary-standalone")
    argv = next(a for pid, a in cmdlines().items()
                if pid in set(pids_of(victim.user.uid)) and b"deploy.master.Master" in a).split(b"\0")
    master_port = int(argv[argv.index(b"--port") + 1])
    assert s["master"] == f"spark://127.0.0.1:{master_port}", s
    # the attacker submits to the victim's master while the rest is checked
    target = f"/tmp/pwned-{secrets.token_hex(6)}"
    attack = attacker.popen([PY, script(base, ATTACK)],
                            env=attacker.env(MASTER=f"spark://127.0.0.1:{master_port}", TARGET=target),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status, out = k.run("print(spark.range(100).count())")
    assert status == "ok" and out.strip().endswith("100"), out
    conf = k.value("dict(spark.sparkContext.getConf().getAll())")
    worker = next(a for pid, a in cmdlines().items()
                  if pid in set(pids_of(victim.user.uid)) and b"deploy.worker.Worker" in a).split(b"\0")
    uis = [int(argv[argv.index(b"--webui-port") + 1]), int(worker[worker.index(b"--webui-port") + 1]),
           ui_port_of(k)]
    every = java_listening_ports(victim.user.uid, "deploy.master.Master") + \
        java_listening_ports(victim.user.uid, "deploy.worker.Worker")
    assert_attacker_reaches_no_page(attacker, every, ui_ports=uis)
    assert victim.api("GET", f"/ui/{k.id}/jobs/")[0] == 200  # the driver's UI, through the daemon
    assert_listeners_loopback(victim.user.uid)
    assert_not_on_any_command_line([CANARY, conf[JWS_KEY], conf["spark.authenticate.secret"]]
                                   + list(victim_secrets(victim.user.uid)))
    try:
        out, err = attack.communicate(timeout=240)
    except subprocess.TimeoutExpired:  # still waiting for resources it never gets: refused as well
        attack.kill()
        out, err = attack.communicate()
    assert "RAN" not in out, out
    assert attack.returncode != 0, out + err[-3000:]
    assert not os.path.exists(target), open(target).read()
    assert victim.api("DELETE", f"/api/sessions/{k.id}")[0] == 202
    victim.session(k.id, ("stopped",))


# --- a Spark Connect server --------------------------------------------------------

LISTEN_V6 = """
import os, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::1", int(os.environ["PORT"])))
s.listen(16)
print("LISTENING", flush=True)
s.settimeout(1.0)
got = 0
while not os.path.exists(os.environ["DONE"]):
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.settimeout(2)
    try:
        got += len(c.recv(65536)) + 1
    except OSError:
        got += 1
    c.close()
print("RECEIVED", got, flush=True)
"""


def test_d_connect_token_only_reaches_the_server(victim, attacker, base):
    k = victim.kernel()
    s = start_session(victim, k, "canary-connect")
    assert s["connect"] is True and s["ui_protected"] is True, s
    endpoint = k.value("spark.client._builder.endpoint")
    assert endpoint.startswith("127.0.0.1:"), endpoint
    port = int(endpoint.rsplit(":", 1)[1])
    token = environ_of(s["server_pid"]).get(b"SPARK_CONNECT_AUTHENTICATE_TOKEN")
    assert token
    # the attacker takes [::1] at the server's port: a client that said
    # "localhost" could give it the token; ours must not go there
    done = base / f"done-{secrets.token_hex(4)}"
    spy = attacker.popen([PY, script(base, LISTEN_V6)], env=attacker.env(PORT=port, DONE=done),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert spy.stdout.readline().startswith("LISTENING"), spy.stderr.read()
    status, out = k.run(
        "print(spark.range(5).count())\n"
        "fresh = __import__('_sparkd').connect_builder('sc' + spark.client._builder.url.geturl()[4:]).create()\n"
        "print(fresh.range(7).count()); fresh.stop()")
    assert status == "ok" and out.split() == ["5", "7"], out
    done.touch()
    out, err = spy.communicate(timeout=30)
    assert "RECEIVED 0" in out, (out, err)
    ui = int(k.value("spark.conf.get('spark.ui.port')"))
    every = [p for p in java_listening_ports(victim.user.uid, "SparkConnectServer") if p != port]
    assert ui in every
    assert_attacker_reaches_no_page(attacker, every, ui_ports=[ui])
    assert victim.api("GET", f"/ui/{k.id}/jobs/")[0] == 200
    assert_listeners_loopback(victim.user.uid)
    assert_not_on_any_command_line([CANARY, token] + list(victim_secrets(victim.user.uid)))
    assert victim.api("DELETE", f"/api/sessions/{k.id}")[0] == 202
    victim.session(k.id, ("stopped",))


# --- a socket planted where the victim's clients look ---------------------------

RECORDER = """
import os, socket
path = os.environ["SOCK"]
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
os.chmod(os.path.dirname(path), 0o700)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
s.listen(16)
print("LISTENING", flush=True)
s.settimeout(1.0)
got = conns = 0
while not os.path.exists(os.environ["DONE"]):
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    conns += 1
    c.settimeout(2)
    try:
        got += len(c.recv(65536))
    except OSError:
        pass
    c.close()
print("RECEIVED", conns, got, flush=True)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_e_planted_socket_receives_nothing(victim, attacker, base):
    uid = victim.user.uid
    planted = f"/tmp/sparkd-{uid}/sparkd.sock"
    done = base / f"done-{secrets.token_hex(4)}"
    spy = attacker.popen([PY, script(base, RECORDER)], env=attacker.env(SOCK=planted, DONE=done),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert spy.stdout.readline().startswith("LISTENING"), spy.stderr.read()
        # sparkctl, told to use it, and with no HOME (the /tmp fallback)
        for env in (victim.user.env(SPARKD_SOCKET=planted), {"PATH": "/usr/bin:/bin"}):
            p = victim.user.run([SPARKCTL, "status"], env=env, timeout=30)
            assert p.returncode != 0, p.stdout
            assert planted in p.stderr and "refus" in p.stderr.lower(), p.stderr
        # the launcher: the server starts at once, without sparkd
        t0 = time.monotonic()
        p = victim.user.run([SPARKD_LAUNCH, "--sparkd", SPARKD, "--", "/bin/echo", "server started"],
                            env=victim.user.env(SPARKD_SOCKET=planted), timeout=60)
        assert p.returncode == 0 and "server started" in p.stdout, (p.stdout, p.stderr)
        assert "refus" in p.stderr.lower(), p.stderr
        assert time.monotonic() - t0 < 10
        # the proxy route of a real Jupyter server, with the browser's cookie and token
        port = free_port()
        token = secrets.token_hex(16)
        server = victim.user.popen(
            [PY, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
            env=victim.user.env(SPARKD_SOCKET=planted, JUPYTER_RUNTIME_DIR=str(victim.dir / "jrt")),
            cwd=victim.user.home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import urllib.error
            import urllib.request

            def api_status():
                try:
                    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                                 headers={"Authorization": f"token {token}"})
                    return urllib.request.urlopen(req, timeout=5).status
                except (urllib.error.URLError, OSError):
                    return None

            wait_until(api_status, 60, 0.3, "the victim's Jupyter server")
            req = urllib.request.Request(f"http://127.0.0.1:{port}/sparkd/api/health",
                                         headers={"Authorization": f"token {token}",
                                                  "Cookie": "_xsrf=abc; hub-session=secret-cookie",
                                                  "X-XSRFToken": "abc"})
            try:
                status = urllib.request.urlopen(req, timeout=30).status
            except urllib.error.HTTPError as e:
                status = e.code
            assert status >= 400, status
        finally:
            server.terminate()
            server.wait(30)
    finally:
        done.touch()
        out, err = spy.communicate(timeout=30)
    assert "RECEIVED 0 0" in out, (out, err)


# --- the UI port taken over by another user ---------------------------------------

SQUAT = """
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(16)
print("LISTENING", flush=True)
s.settimeout(1.0)
got = 0
while not os.path.exists(os.environ["DONE"]):
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.settimeout(2)
    try:
        got += len(c.recv(65536)) + 1
        c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 13\\r\\n\\r\\nattacker page")
    except OSError:
        got += 1
    c.close()
print("RECEIVED", got, flush=True)
"""


def test_f_a_ui_port_taken_over_is_not_proxied(victim, attacker, base):
    """Spark's UI goes away while the session is ready and another user
    binds its port: the daemon's proxy answers 502 and sends that user
    nothing (no request, no token), never their page on the hub's origin."""
    k = victim.kernel()
    start_session(victim, k, "canary-local")
    port = ui_port_of(k)
    assert victim.api("GET", f"/ui/{k.id}/jobs/")[0] == 200
    status, out = k.run("spark.sparkContext._jsc.sc().ui().get().stop()")  # the UI only; the daemon does not know
    assert status == "ok", out
    done = base / f"done-{secrets.token_hex(4)}"
    squat = attacker.popen([PY, script(base, SQUAT)], env=attacker.env(PORT=port, DONE=done),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert squat.stdout.readline().startswith("LISTENING"), squat.stderr.read()
        status, body = victim.api("GET", f"/ui/{k.id}/jobs/")
        assert status == 502 and body["error"]["code"] == "ui_port_foreign", (status, body)
    finally:
        done.touch()
        out, err = squat.communicate(timeout=30)
    assert "RECEIVED 0" in out, (out, err)
    assert victim.api("DELETE", f"/api/sessions/{k.id}")[0] == 202
