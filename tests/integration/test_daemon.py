"""The real sparkd over its real socket: every endpoint, every error status,
signals, the socket's protection and the startup file."""
import ast
import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SPARKD, raw_request, status_of

SHIPPED = {"local", "local-large", "standalone", "kubernetes", "yarn"}


def error_code(r):
    return r.json()["error"]["code"]


def compile_ok(code, name="<startup>"):
    compile(code, name, "exec")


# --- read-only endpoints -------------------------------------------------

def test_health(daemon):
    r = daemon.get("/api/health")
    assert r.status == 200
    assert r.json()["status"] == "ok"
    assert r.json()["version"]
    assert "application/json" in r.headers


def test_configs_lists_shipped_with_default(daemon):
    r = daemon.get("/api/configs")
    assert r.status == 200
    body = r.json()
    names = {c["name"] for c in body["configs"]}
    assert SHIPPED <= names
    assert body["default"] == "local"
    local = next(c for c in body["configs"] if c["name"] == "local")
    assert local["source"] == "system"
    assert local["locked"] is False
    assert set(local["summary"]) == {"master", "cores", "memory"}
    assert local["summary"]["master"].startswith("local")
    assert "spark.driver.memory" in local["overridable"]
    assert "error" not in local


def test_config_get_and_errors(daemon):
    r = daemon.get("/api/configs/local")
    assert r.status == 200
    doc = r.json()
    assert doc["name"] == "local"
    assert doc["default"] is True
    assert isinstance(doc["conf"], dict)
    r = daemon.get("/api/configs/nope")
    assert r.status == 404 and error_code(r) == "config_not_found"
    r = daemon.get("/api/configs/bad%20name")
    assert r.status == 400 and error_code(r) == "invalid_name"
    r = daemon.get("/api/configs/" + "a" * 65)
    assert r.status == 400


def test_unknown_endpoint_and_method(daemon):
    r = daemon.get("/api/nothing")
    assert r.status == 404 and error_code(r) == "not_found"
    r = daemon.request("DELETE", "/api/health")
    assert r.status == 405 and error_code(r) == "method_not_allowed"
    assert "Allow: GET" in r.headers


# --- rendering and overrides -------------------------------------------

def test_render_preview_compiles(daemon):
    r = daemon.post("/api/configs/local/render", {"overrides": {"spark.driver.memory": "2g"}})
    assert r.status == 200, r
    code = r.json()["code"]
    compile_ok(code)
    assert '"2g"' in code


@pytest.mark.parametrize("overrides,needle", [
    ({"spark.driver.memory": "64g"}, "spark.driver.memory"),
    ({"spark.driver.memory": "lots"}, "spark.driver.memory"),
    ({"spark.executor.memory": "1g"}, "spark.executor.memory"),
    ({"spark.sql.shuffle.partitions": 100000}, "spark.sql.shuffle.partitions"),
])
def test_render_bad_override_names_key(daemon, overrides, needle):
    r = daemon.post("/api/configs/local/render", {"overrides": overrides})
    assert r.status == 400, r
    assert error_code(r) == "invalid_override"
    assert needle in r.json()["error"]["message"]


def test_render_overrides_must_be_object(daemon):
    r = daemon.post("/api/configs/local/render", {"overrides": [1]})
    assert r.status == 400 and error_code(r) == "invalid_request"


def user_config(extra=None):
    cfg = {
        "display_name": "Mine",
        "description": "a personal configuration",
        "master": "local[2]",
        "conf": {"spark.driver.memory": "1g", "spark.app.note": "x"},
        "overridable": {"spark.app.note": {"type": "string"}},
    }
    cfg.update(extra or {})
    return cfg


def test_values_cannot_break_out_of_literals(daemon):
    assert daemon.request("PUT", "/api/configs/mine", user_config()).status == 200
    evil = '"); import os; os.system("touch /tmp/pwned") #\'\'\'\\\n"""'
    r = daemon.post("/api/configs/mine/render", {"overrides": {"spark.app.note": evil}})
    assert r.status == 200, r
    code = r.json()["code"]
    tree = ast.parse(code)
    consts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert evil in consts
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "system"]
    assert not calls


# --- user configurations -------------------------------------------------

def test_put_get_delete_user_config(daemon):
    r = daemon.request("PUT", "/api/configs/mine", user_config())
    assert r.status == 200, r
    lst = {c["name"]: c for c in daemon.get("/api/configs").json()["configs"]}
    assert lst["mine"]["source"] == "user"
    assert lst["mine"]["display_name"] == "Mine"
    written = daemon.user / "mine.yaml"
    assert written.exists()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    got = daemon.get("/api/configs/mine").json()
    assert got["master"] == "local[2]"
    assert got["conf"]["spark.driver.memory"] == "1g"
    r = daemon.request("DELETE", "/api/configs/mine")
    assert r.status == 204
    assert not written.exists()
    assert daemon.get("/api/configs/mine").status == 404
    assert daemon.request("DELETE", "/api/configs/mine").status == 404


def test_put_invalid_config_is_400_with_reason(daemon):
    r = daemon.request("PUT", "/api/configs/mine", {"master": 5})
    assert r.status == 400 and error_code(r) == "invalid_config"
    assert "master" in r.json()["error"]["message"]
    r = daemon.request("PUT", "/api/configs/mine", {"bogus_key": 1})
    assert r.status == 400 and "bogus_key" in r.json()["error"]["message"]
    r = daemon.request("PUT", "/api/configs/mine", {"name": "other"})
    assert r.status == 400
    assert daemon.get("/api/configs/mine").status == 404


def test_delete_system_config_refused(daemon):
    r = daemon.request("DELETE", "/api/configs/local")
    assert r.status == 403 and error_code(r) == "not_a_user_config"


def test_user_config_shadows_unlocked_but_not_locked(daemon_factory, tmp_path):
    admin = tmp_path / "admin-locked"
    (admin / "templates").mkdir(parents=True)
    root = Path(__file__).resolve().parents[2]
    for t in (root / "configs" / "templates").iterdir():
        (admin / "templates" / t.name).write_text(t.read_text())
    (admin / "open.yaml").write_text("master: local[1]\ndefault: true\n")
    (admin / "fixed.yaml").write_text("master: local[1]\nlocked: true\n")
    d = daemon_factory(admin_dirs=[admin]).start()
    r = d.request("PUT", "/api/configs/open", user_config())
    assert r.status == 200, r
    assert d.get("/api/configs/open").json()["master"] == "local[2]"
    r = d.request("PUT", "/api/configs/fixed", user_config())
    assert r.status == 403 and error_code(r) == "config_locked"
    assert d.get("/api/configs/fixed").json()["master"] == "local[1]"


# --- the startup file ----------------------------------------------------

def test_default_written_at_start(daemon):
    assert daemon.startup.exists()
    assert stat.S_IMODE(daemon.startup.stat().st_mode) == 0o600
    for p in (daemon.startup.parent, daemon.startup.parent.parent):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700
    code = daemon.startup.read_text()
    compile_ok(code)
    assert "local" in code


def test_select_writes_atomically_and_is_remembered(daemon):
    before = daemon.startup.stat().st_ino
    r = daemon.post("/api/select", {"config": "local-large", "overrides": {}})
    assert r.status == 200, r
    assert r.json()["path"] == str(daemon.startup)
    after = daemon.startup.stat().st_ino
    assert before != after  # replaced by rename, not rewritten in place
    leftovers = [p.name for p in daemon.startup.parent.iterdir() if p.name != "99-sparkd.py"]
    assert leftovers == []
    compile_ok(daemon.startup.read_text())
    sel = daemon.get("/api/select").json()
    assert sel["config"] == "local-large"
    # A restarted daemon renders the remembered selection, not the default.
    daemon.stop()
    daemon.startup.unlink()
    daemon.start()
    assert "local-large" in daemon.startup.read_text()


def test_select_errors(daemon):
    assert daemon.post("/api/select", {}).status == 400
    r = daemon.post("/api/select", {"config": "nope"})
    assert r.status == 404
    r = daemon.post("/api/select", {"config": "../etc"})
    assert r.status == 400 and error_code(r) == "invalid_name"
    r = daemon.post("/api/select", {"config": "local", "overrides": {"spark.driver.memory": "1t"}})
    assert r.status == 400 and error_code(r) == "invalid_override"


def test_startup_file_runs_without_pyspark(daemon, tmp_path):
    """The rendered file never raises at kernel start: without pyspark it
    prints one line and leaves the namespace usable."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\nsys.modules['pyspark'] = None\n"
        f"ns = {{}}\nexec(compile(open({str(daemon.startup)!r}).read(), 'startup', 'exec'), ns)\n"
        "print('AFTER-OK')\n")
    p = subprocess.run(["python3", str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "AFTER-OK" in p.stdout
    assert "pyspark" in (p.stdout + p.stderr)
    assert "Traceback" not in p.stderr


# --- HTTP errors: each hurts only itself ----------------------------------

def test_wrong_content_type_is_415(daemon):
    r = daemon.request("POST", "/api/select", raw_body=b"config=local",
                       headers=["Content-Type: application/x-www-form-urlencoded"])
    assert r.status == 415 and error_code(r) == "unsupported_media_type"


def test_invalid_json_is_400(daemon):
    r = daemon.request("POST", "/api/select", raw_body=b'{"config": ',
                       headers=["Content-Type: application/json"])
    assert r.status == 400 and error_code(r) == "invalid_json"
    r = daemon.request("POST", "/api/select", raw_body=b'[1]',
                       headers=["Content-Type: application/json"])
    assert r.status == 400
    r = daemon.request("POST", "/api/select", raw_body=b'{"a":1,"a":2}',
                       headers=["Content-Type: application/json"])
    assert r.status == 400


def test_deep_json_is_400(daemon):
    body = b'{"config": ' + b"[" * 100 + b"]" * 100 + b"}"
    r = daemon.request("POST", "/api/select", raw_body=body, headers=["Content-Type: application/json"])
    assert r.status == 400 and "deeper" in r.json()["error"]["message"]


def test_large_body_is_413(daemon):
    raw = (b"POST /api/select HTTP/1.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2000000\r\n\r\n")
    out = raw_request(daemon.sock, raw)
    assert status_of(out) == 413
    assert daemon.get("/api/health").status == 200


def test_large_body_is_413_without_reset(daemon):
    # a naive client sends the whole body before it reads: the daemon
    # answers after the head, then reads and drops the rest so that the
    # client sees the 413, not a broken pipe or a reset
    out = raw_request(daemon.sock, post_select_request(b"x" * 2_000_000))
    status, body = whole_response(out)
    assert status == 413 and body["error"]["code"] == "body_too_large"
    assert daemon.get("/api/health").status == 200


def test_large_headers_are_431(daemon):
    raw = b"GET /api/health HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    out = raw_request(daemon.sock, raw)
    assert status_of(out) == 431
    assert b'"headers_too_large"' in out
    assert daemon.get("/api/health").status == 200


def test_garbage_is_400(daemon):
    out = raw_request(daemon.sock, b"\x00\x01 nonsense\r\n\r\n")
    assert status_of(out) == 400
    out = raw_request(daemon.sock, b"GET /api/health HTTP/2.0\r\n\r\n")
    assert status_of(out) == 505
    assert daemon.get("/api/health").status == 200


def test_chunked_is_501(daemon):
    raw = (b"POST /api/select HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: application/json\r\n\r\n0\r\n\r\n")
    assert status_of(raw_request(daemon.sock, raw)) == 501


def test_cookie_without_xsrf_is_403(daemon):
    cookie = "Cookie: _xsrf=2|abc|def|123; other=1"
    r = daemon.post("/api/select", {"config": "local"}, headers=[cookie])
    assert r.status == 403 and error_code(r) == "xsrf"
    r = daemon.post("/api/select", {"config": "local"}, headers=[cookie, "X-XSRFToken: wrong"])
    assert r.status == 403
    r = daemon.post("/api/select", {"config": "local"}, headers=[cookie, "X-XSRFToken: 2|abc|def|123"])
    assert r.status == 200
    # reads need no token
    assert daemon.get("/api/configs", headers=[cookie]).status == 200


def test_secrets_never_logged(daemon):
    daemon.post("/api/select", {"config": "local"},
                headers=["Cookie: _xsrf=SECRETCOOKIE", "Authorization: token SECRETAUTH"])
    daemon.get("/api/configs", headers=["Cookie: _xsrf=SECRETCOOKIE", "Authorization: token SECRETAUTH"])
    out = daemon.output()
    assert "GET /api/configs" in out  # -v logs requests ...
    assert "SECRETCOOKIE" not in out and "SECRETAUTH" not in out  # ... never their secrets


def test_keepalive_and_pipelining(daemon):
    req = b"GET /api/health HTTP/1.1\r\n\r\n"
    out = raw_request(daemon.sock, req + req + b"GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200 OK") == 3


def test_slow_client_dropped_with_408(daemon_factory):
    d = daemon_factory(extra_args=["--request-timeout", "1", "--idle-timeout", "1"]).start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(d.sock)
    s.sendall(b"GET /api/health HTTP/1.1\r\n")
    data = s.recv(4096)
    s.close()
    assert status_of(data) == 408
    assert d.get("/api/health").status == 200


def connect(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    return s


def read_to_end(s):
    """Everything until end-of-file: a reset (ConnectionResetError) fails the test."""
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def whole_response(raw):
    """(status, JSON body) of raw, asserting it is one complete response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, raw
    length = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
              if line.lower().startswith(b"content-length:")]
    assert length == [len(body)], raw
    return status_of(raw), json.loads(body)


def capped_daemon(daemon_factory):
    d = daemon_factory(extra_args=["--max-connections", "4"]).start()
    time.sleep(0.6)  # the readiness probe's connection is closed, or idle long enough to give way
    return d


def post_select_request(body):
    return (b"POST /api/select HTTP/1.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def test_connection_cap_makes_room_by_closing_an_idle_one(daemon_factory):
    d = capped_daemon(daemon_factory)
    held = [connect(d.sock) for _ in range(4)]
    time.sleep(1)  # idle long enough to give way to a newcomer
    out = raw_request(d.sock, b"GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status_of(out) == 200
    # the one idle the longest was closed cleanly; the others still work
    assert read_to_end(held[0]) == b""
    held[1].sendall(b"GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status_of(read_to_end(held[1])) == 200
    for s in held:
        s.close()


def test_connection_cap_answers_503_never_a_reset(daemon_factory):
    d = capped_daemon(daemon_factory)
    busy = [connect(d.sock) for _ in range(4)]
    for s in busy:  # each holds an unfinished request: none is idle
        s.sendall(b"GET /api/health HTTP/1.1\r\n")
    time.sleep(0.2)
    req = post_select_request(json.dumps({"config": "local", "pad": "x" * 100 * 1024}).encode())
    clients = [connect(d.sock) for _ in range(20)]  # more than the cap's slack
    for s in clients:
        s.sendall(req)
    for s in clients:
        status, body = whole_response(read_to_end(s))
        assert status == 503 and body["error"]["code"] == "too_many_connections"
        s.close()
    for s in busy:
        s.close()
    time.sleep(0.2)
    assert d.get("/api/health").status == 200


def test_connection_flood_waits_rather_than_reset(daemon_factory):
    d = capped_daemon(daemon_factory)
    busy = [connect(d.sock) for _ in range(4)]
    for s in busy:
        s.sendall(b"GET /api/health HTTP/1.1\r\n")
    time.sleep(0.2)
    # past the hard ceiling the daemon stops accepting for a moment: these
    # wait in the listen queue and are answered once others are gone
    clients = [connect(d.sock) for _ in range(100)]
    for s in clients:
        s.sendall(b"GET /api/health HTTP/1.1\r\n\r\n")
    for s in clients:
        assert whole_response(read_to_end(s))[0] == 503
        s.close()
    for s in busy:
        s.close()
    time.sleep(0.2)
    assert d.get("/api/health").status == 200


# --- the socket: only the owner gets in ------------------------------------

def test_socket_modes(daemon):
    assert stat.S_IMODE(os.stat(daemon.sock_dir).st_mode) == 0o700
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600


def test_other_uid_refused(daemon):
    if os.geteuid() != 0:
        pytest.fail("a client as another uid needs root: run the tests as root (sudo make test)", pytrace=False)
    # Layer 1: the 0700 directory keeps other users out.
    base = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
            "curl", "-sS", "--unix-socket", daemon.sock, "http://sparkd/api/health"]
    p = subprocess.run(base, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and '"ok"' not in p.stdout
    # Layer 2: even with the file modes opened up, SO_PEERCRED refuses them.
    d = Path(daemon.sock_dir)
    while str(d) != "/tmp" and d != d.parent:  # the test's own temp dirs
        os.chmod(d, os.stat(d).st_mode | 0o755)
        d = d.parent
    os.chmod(daemon.sock, 0o666)
    p = subprocess.run(base, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and '"ok"' not in p.stdout
    assert "refused a connection from uid 65534" in daemon.output()
    assert daemon.get("/api/health").status == 200


# --- lifecycle -------------------------------------------------------------

def test_sighup_reloads_and_bad_file_is_reported(daemon):
    (daemon.admin / "extra.yaml").write_text("display_name: Extra\nmaster: local[1]\n")
    (daemon.admin / "broken.yaml").write_text("master: [unclosed\n")
    daemon.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = {c["name"]: c for c in daemon.get("/api/configs").json()["configs"]}
        if "extra" in names:
            break
        time.sleep(0.05)
    assert names["extra"]["display_name"] == "Extra"
    assert "error" in names["broken"]
    assert "broken.yaml:" in names["broken"]["error"]
    assert SHIPPED <= set(names)  # the others still load
    r = daemon.post("/api/select", {"config": "broken"})
    assert r.status == 422 and error_code(r) == "config_invalid"


def test_sigterm_clean_exit_removes_socket(daemon):
    assert daemon.stop() == 0
    assert not os.path.exists(daemon.sock)


def test_second_instance_refused_and_stale_socket_replaced(daemon, daemon_factory):
    p = subprocess.run(daemon.args(), capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "already listening" in p.stderr
    assert daemon.get("/api/health").status == 200
    daemon.kill()  # SIGKILL leaves a stale socket behind
    assert os.path.exists(daemon.sock)
    daemon.start()
    assert daemon.get("/api/health").status == 200
    assert "removed stale socket" in daemon.output()


def test_check_config(daemon_factory, tmp_path):
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run([SPARKD, "--check-config", "--config-dir", str(root / "configs"),
                        "--user-config-dir", ""], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "configuration OK" in p.stdout
    assert "warning:" not in p.stdout  # the shipped remote configurations authenticate
    bad = tmp_path / "bad"
    (bad / "templates").mkdir(parents=True)
    (bad / "one.yaml").write_text("master: local\nconf:\n  spark.x: [1, 2]\n")
    (bad / "two.yaml").write_text("master: local\nunknown_key: 1\n")
    p = subprocess.run([SPARKD, "--check-config", "--config-dir", str(bad),
                        "--config-dir", str(root / "configs"), "--user-config-dir", ""],
                       capture_output=True, text=True)
    assert p.returncode == 1
    lines = p.stdout.strip().splitlines()
    assert any(l.startswith(str(bad / "one.yaml") + ":3:") for l in lines), lines
    assert any(l.startswith(str(bad / "two.yaml") + ":2:1:") and "unknown_key" in l for l in lines), lines


def test_render_template_cli(tmp_path):
    t = tmp_path / "t.j2"
    t.write_text('x = {{ v }}\n{{ bad.name }}\n')
    c = tmp_path / "c.json"
    c.write_text(json.dumps({"v": 'a"b'}))
    p = subprocess.run([SPARKD, "--render-template", str(t), "--context", str(c)],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stderr.startswith(f"{t}:2:")
    t.write_text('x = {{ v }}\n')
    p = subprocess.run([SPARKD, "--render-template", str(t), "--context", str(c)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == 'x = "a\\"b"\n'


def test_help_and_version():
    p = subprocess.run([SPARKD, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("sparkd ")
    p = subprocess.run([SPARKD, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--check-config" in p.stdout and "SPARKD_SOCKET" in p.stdout
    p = subprocess.run([SPARKD, "--bogus"], capture_output=True, text=True)
    assert p.returncode == 2



@pytest.mark.parametrize("value", ["-1", "121", "ten", "", "1e9", "nan"])
def test_bad_prewarm_practice_is_refused(value):
    message = f"'{value}' is not a number of seconds from 0 to 120"
    p = subprocess.run([SPARKD, "--prewarm-practice", value, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.strip() == f"sparkd: --prewarm-practice: {message}", p.stderr
    if value:  # an empty variable is an unset one
        env = dict(os.environ, SPARKD_PREWARM_PRACTICE=value)
        p = subprocess.run([SPARKD, "--check-config"], capture_output=True, text=True, env=env)
        assert p.returncode == 1 and f"SPARKD_PREWARM_PRACTICE: {message}" in p.stderr, p.stderr


def test_prewarm_practice_in_help_and_health(daemon_factory):
    p = subprocess.run([SPARKD, "--help"], capture_output=True, text=True)
    assert "--prewarm-practice SECS" in p.stdout and "SPARKD_PREWARM_PRACTICE" in p.stdout
    d = daemon_factory(extra_args=["--prewarm-practice", "0.5"]).start()
    assert d.get("/api/health").json()["prewarm"]["practice"] == 0.5


@pytest.mark.parametrize("prefix, message", [
    ("user/alice", "--public-prefix must be a URL path starting with '/': user/alice"),
    ("/user/al ice", "--public-prefix must not contain spaces or control characters"),
    ("/user/alice\r\nX-Evil: 1", "--public-prefix must not contain spaces or control characters"),
])
def test_bad_public_prefix_is_refused(prefix, message):
    # it goes into an HTTP header (X-Forwarded-Context) and into links
    p = subprocess.run([SPARKD, "--public-prefix", prefix, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.strip() == f"sparkd: {message}", p.stderr
    env = dict(os.environ, SPARKD_PUBLIC_PREFIX=prefix)
    p = subprocess.run([SPARKD, "--check-config"], capture_output=True, text=True, env=env)
    assert p.returncode == 1 and message in p.stderr


# --- systemd ------------------------------------------------------------------

def test_socket_activation_and_notify(daemon_factory, tmp_path):
    """LISTEN_FDS from systemd-socket-activate, READY=1 on NOTIFY_SOCKET,
    <N> priorities when JOURNAL_STREAM is set."""
    d = daemon_factory()
    notify_path = str(tmp_path / "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify_path)
    ns.settimeout(15)
    os.makedirs(d.sock_dir, mode=0o700)
    env = dict(d.env, NOTIFY_SOCKET=notify_path, JOURNAL_STREAM="8:1234")
    # systemd-socket-activate passes on only the variables named with -E
    args = ["systemd-socket-activate", "-l", d.sock, "-E", "NOTIFY_SOCKET", "-E", "JOURNAL_STREAM",
            "-E", "ASAN_OPTIONS", "-E", "UBSAN_OPTIONS", "-E", "HOME"] + d.args()
    d.log = open(d.log_path, "wb")
    d.proc = subprocess.Popen(args, stdout=d.log, stderr=subprocess.STDOUT, env=env)
    try:
        # socket activation: the daemon starts on the first connection
        deadline = time.monotonic() + 10
        while not os.path.exists(d.sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert d.get("/api/health").status == 200
        msg = ns.recv(4096).decode()
        assert "READY=1" in msg
        assert "passed by systemd" in d.output()
        assert any(l.startswith("<6>sparkd:") for l in d.output().splitlines())
    finally:
        ns.close()


def test_check_config_warns_about_unauthenticated_clusters(tmp_path):
    """A master the daemon does not start, without spark.authenticate: a
    warning naming the file (the configuration still loads); local masters,
    launched clusters and authenticated ones: none."""
    d = tmp_path / "configs"
    (d / "templates").mkdir(parents=True)
    (d / "open.yaml").write_text("master: spark://cluster:7077\n")
    (d / "yarnopen.yaml").write_text("master: yarn\nconf:\n  spark.authenticate: false\n")
    (d / "closed.yaml").write_text("master: spark://cluster:7077\nconf:\n  spark.authenticate: true\n")
    (d / "closedstr.yaml").write_text("master: yarn\nconf:\n  spark.authenticate: \"TRUE\"\n")
    (d / "local.yaml").write_text("master: local[2]\ndefault: true\n")
    (d / "connect.yaml").write_text("master: local[*]\nlaunch:\n  type: connect\n")
    (d / "remote.yaml").write_text("master: sc://server:15002\n")
    root = Path(__file__).resolve().parents[2]
    (d / "templates" / "default.py.j2").write_text((root / "configs" / "templates" / "default.py.j2").read_text())
    p = subprocess.run([SPARKD, "--check-config", "--config-dir", str(d), "--user-config-dir", ""],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    warnings = [l for l in p.stdout.splitlines() if l.startswith("warning:")]
    assert len(warnings) == 2, p.stdout
    assert any(str(d / "open.yaml") in w and "spark://cluster:7077" in w and "spark.authenticate" in w
               for w in warnings), warnings
    assert any(str(d / "yarnopen.yaml") in w for w in warnings), warnings
    assert "configuration OK (7 configurations" in p.stdout


def test_a_long_poll_that_hangs_up_frees_its_slot_at_once(daemon_factory):
    """A long poll keeps its connection read: when the client goes away the
    daemon forgets the poll and frees the connection now, not when the
    wait ends (30 s here)."""
    d = daemon_factory(extra_args=["--max-connections", "3"]).start()
    poll = b"GET /api/sessions?wait=30&version=999999 HTTP/1.1\r\n\r\n"

    def long_poll():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(d.sock)
        s.sendall(poll)
        return s

    first = [long_poll(), long_poll()]
    time.sleep(0.3)
    for s in first:
        s.close()
    time.sleep(0.3)
    poll = b"GET /api/sessions?wait=2&version=999999 HTTP/1.1\r\n\r\n"
    held = [long_poll(), long_poll()]
    time.sleep(0.3)
    # 2 polls held, under the cap of 3: served (the 2 that hung up are gone)
    assert status_of(raw_request(d.sock, b"GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")) == 200
    for s in held:  # answered when their wait ends
        assert status_of(s.recv(65536)) == 200
        s.close()


def test_session_list_and_unknown_session(daemon):
    r = daemon.get("/api/sessions")
    assert r.status == 200 and r.json() == {"version": 0, "sessions": []}, r
    r = daemon.get("/api/sessions/123e4567-e89b-42d3-a456-426614174000")
    assert r.status == 404 and r.json()["error"]["code"] == "session_not_found"
    r = daemon.get("/api/sessions?wait=0.2&version=0")  # nothing changes: answered when the wait ends
    assert r.status == 200 and r.json()["sessions"] == []
    r = daemon.get("/api/sessions?wait=61")
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_request"
    r = daemon.request("DELETE", "/api/sessions/123e4567-e89b-42d3-a456-426614174000")
    assert r.status == 404 and r.json()["error"]["code"] == "session_not_found"
    r = daemon.post("/api/sessions", {"config": "local", "kernel_id": "not-a-uuid"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_kernel_id"
    r = daemon.post("/api/sessions", {"config": "../x", "kernel_id": "123e4567-e89b-42d3-a456-426614174000"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_name"
    r = daemon.post("/api/sessions", {"config": "local", "kernel_id": "123e4567-e89b-42d3-a456-426614174000",
                                      "restart": "yes"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_request"
    r = daemon.post("/api/sessions", {"config": "nope", "kernel_id": "123e4567-e89b-42d3-a456-426614174000"})
    assert r.status == 404 and r.json()["error"]["code"] == "config_not_found"
    r = daemon.post("/api/sessions", {"config": "local", "kernel_id": "123e4567-e89b-42d3-a456-426614174000"})
    assert r.status == 404 and r.json()["error"]["code"] == "kernel_not_found"
