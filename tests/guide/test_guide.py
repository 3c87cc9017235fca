"""docs/admin-guide.md, followed to the letter (issue 13): its marked install
commands and jupyterhub_config.py lines for LocalProcessSpawner set up a
fresh site (conftest.py), then a user logs in through the hub's REST API,
starts their server and Spark through the hub, and runs a Spark job in a
kernel; the second user cannot reach the first one's daemon."""
import json
import os
import re
import subprocess
import time
import uuid

import pytest
import websocket

import guideblocks
from conftest import GUIDE, TIMES, USERS, record
from hubenv import daemons_of, java_of, processes, wait_until

ALICE, BOB = USERS


# --- the guide's text ------------------------------------------------------------

def test_the_install_path_is_marked():
    found = {k: 0 for k in guideblocks.LANGUAGE}
    text = GUIDE.read_text()
    for kind, _, code in guideblocks.blocks(text):
        found[kind] += 1
    assert found["server"] >= 3 and found["hub"] >= 1 and found["hub-config"] >= 1 and found["user"] >= 1, found
    # nothing tells admins to take our names from an index (they are not published there)
    assert not re.search(r"pip install\s+(start-spark|sparkd-hub)\b", text)


def test_the_marking_scheme_catches_mistakes():
    with pytest.raises(guideblocks.GuideError, match="unknown guide-test kind"):
        guideblocks.blocks("<!-- guide-test: servr -->\n```sh\ntrue\n```\n")
    with pytest.raises(guideblocks.GuideError, match="followed at once"):
        guideblocks.blocks("<!-- guide-test: server -->\n\n```sh\ntrue\n```\n")
    with pytest.raises(guideblocks.GuideError, match="followed at once"):
        guideblocks.blocks("<!-- guide-test: hub-config -->\n```sh\ntrue\n```\n")
    with pytest.raises(guideblocks.GuideError, match="malformed"):
        guideblocks.blocks("<!-- guide-test server -->\n```sh\ntrue\n```\n")
    got = guideblocks.blocks("x\n<!-- guide-test: hub -->\n```sh\n/opt/jupyterhub/bin/pip x\n```\n")
    assert got == [("hub", 2, "/opt/jupyterhub/bin/pip x\n")]
    paths = {"prefix": "/P", "server_venv": "/S", "hub_venv": "/H"}
    assert guideblocks.substitute("/usr/local/bin /opt/singleuser/bin /opt/jupyterhub/bin", paths) == \
        "/P/bin /S/bin /H/bin"


# --- the install ---------------------------------------------------------------------

def test_the_install_commands_installed_everything(site):
    for name in ("sparkd", "sparkd-launch", "sparkctl"):
        assert os.access(site.prefix / "bin" / name, os.X_OK), name
    assert (site.prefix / "share" / "sparkd" / "configs" / "local.yaml").exists()
    assert (site.prefix / "share" / "man" / "man8" / "sparkd.8").exists()
    checks = [out for out in site.outputs.values() if "configuration OK" in out]
    assert checks and re.search(r"configuration OK \((\d+) configurations, default: local\)", checks[0]), \
        site.outputs
    # the wheel brought the prebuilt toolbar: no node on the servers' side
    ext = site.server_venv / "share" / "jupyter" / "labextensions" / "@start-spark" / "labextension"
    assert (ext / "package.json").exists() and list((ext / "static").glob("remoteEntry.*.js"))
    p = subprocess.run([str(site.server_venv / "bin" / "jupyter"), "labextension", "list"],
                       capture_output=True, text=True, env=site.env)
    listed = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout + p.stderr)
    assert re.search(r"@start-spark/labextension v\S+ enabled OK", listed), listed
    p = subprocess.run([str(site.hub_venv / "bin" / "python"), "-c", "import sparkd_hub"], env=site.env)
    assert p.returncode == 0


# --- a user, through the hub -----------------------------------------------------------

def spawn(hub, person, timeout=150):
    r = hub.api("POST", f"/users/{person.name}/server", token=person.token, json={})
    assert r.status_code in (201, 202), (r.status_code, r.text)
    t0 = time.monotonic()
    while True:
        r = hub.api("GET", f"/users/{person.name}", token=person.token)
        assert r.status_code == 200, r.text
        s = r.json()["servers"].get("")
        if s and s.get("ready"):
            return
        assert s, f"the spawn of {person.name} failed:\n{hub.output()[-6000:]}"
        assert time.monotonic() - t0 < timeout, f"the spawn of {person.name} timed out:\n{hub.output()[-6000:]}"
        time.sleep(0.1)


def sparkd_get(hub, person, path, owner=None):
    return hub.user_request("GET", owner or person.name, f"sparkd/{path.lstrip('/')}", person.token)


def wait_session(hub, person, kid, states=("ready", "failed"), timeout=240):
    version, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = sparkd_get(hub, person, f"api/sessions/{kid}?wait=20&version={version}")
        assert r.status_code == 200, (r.status_code, r.text)
        s = r.json()
        if s["state"] in states:
            return s
        version = s["version"]
    raise AssertionError(f"session stuck: {s}")


def execute(hub, person, kid, code, timeout=240):
    """Runs code in the kernel through the hub (the kernel's websocket, as
    the notebook does); its text output, or an AssertionError with the
    traceback."""
    url = f"ws://127.0.0.1:{hub.port}/user/{person.name}/api/kernels/{kid}/channels"
    ws = websocket.create_connection(url, header=[f"Authorization: token {person.token}"], timeout=timeout)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": person.name,
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    out, reply, idle = [], None, False
    deadline = time.monotonic() + timeout
    try:
        while not (reply and idle):
            assert time.monotonic() < deadline, f"no answer from the kernel: {''.join(out)}"
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            t, c = m["msg_type"], m["content"]
            if t == "stream":
                out.append(c["text"])
            elif t == "error":
                out.append("\n".join(c["traceback"]))
            elif t == "execute_reply":
                reply = c
            elif t == "status" and c["execution_state"] == "idle":
                idle = True
    finally:
        ws.close()
    text = "".join(out)
    assert reply["status"] == "ok", re.sub(r"\x1b\[[0-9;]*m", "", text)
    return text


@pytest.fixture(scope="module")
def alice(hub, people):
    p = people[ALICE]
    p.login(hub)
    t0 = time.monotonic()
    spawn(hub, p)
    TIMES.add(f"{ALICE}'s server start", t0)
    return p


def test_spark_through_the_hub(hub, alice, site):
    # the daemon runs as the user, started by the guide's lines
    daemons = daemons_of(alice.uid)
    assert daemons, hub.output()[-4000:]
    assert "sparkd-launch: pre-warming on: " in hub.output(), hub.output()[-4000:]

    r = sparkd_get(hub, alice, "api/configs")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    default = r.json()["default"]
    assert default == "local"

    # pre-warming works with the guide's setup: the server's venv has PySpark
    t0 = time.monotonic()

    def warm():
        h = sparkd_get(hub, alice, "api/health").json()["prewarm"]
        assert h.get("state") != "off", h
        return any(j["config"] == default and j["state"] == "ready" for j in h["jvms"]) and h
    health = wait_until(warm, 180, 0.5, "a warm driver JVM")
    # the Python of jupyterhub-singleuser's #! line (pip writes bin/python3 there)
    assert health["state"] == "on" and health["python"] == str(site.server_venv / "bin" / "python3"), health
    TIMES.add("the warm JVM ready, after the server", t0)

    r = hub.user_request("POST", ALICE, "api/kernels", alice.token, json={"name": "python3"})
    assert r.status_code == 201, (r.status_code, r.text)
    kid = r.json()["id"]
    t0 = time.monotonic()
    r = hub.user_request("POST", ALICE, "sparkd/api/sessions", alice.token, json={"config": default, "kernel_id": kid})
    assert r.status_code == 202, (r.status_code, r.text)
    s = wait_session(hub, alice, kid)
    assert s["state"] == "ready", s
    assert s["prewarmed"] is True and s["ui_protected"] is True, s
    TIMES.add("Start Spark (through the hub) until ready", t0)

    # a Spark job in the kernel, with Python workers too
    t0 = time.monotonic()
    out = execute(hub, alice, kid, "import sys\n"
                  "print(sys.executable)\n"
                  "print(spark.range(1000000).selectExpr('sum(id) AS s').first()['s'])\n"
                  "print(sc.parallelize(range(100), 2).map(lambda x: x * x).sum())\n")
    TIMES.add("a Spark job in the kernel", t0)
    lines = out.split()
    assert lines[0].startswith(str(site.server_venv / "bin" / "python")), out
    assert lines[1:3] == ["499999500000", "328350"], out
    jvm = next(j for j in java_of(alice.uid) if j["pid"] == s["jvm_pid"])
    assert jvm["uid"] == alice.uid

    # the Spark UI link works through the hub
    r = hub.user_request("GET", ALICE, f"sparkd/ui/{kid}/jobs/", alice.token)
    assert r.status_code == 200 and "Spark Jobs" in r.text, (r.status_code, r.text[:300])


def test_the_users_terminal(hub, alice, site):
    """The guide's user block, as the user, with their server's environment
    (what a terminal of that server gets)."""
    server = next(p for p in processes() if p["uid"] == alice.uid
                  and any(a.endswith("jupyterhub-singleuser") for a in p["argv"]))
    with open(f"/proc/{server['pid']}/environ", "rb") as f:
        env = dict(x.decode().split("=", 1) for x in f.read().split(b"\0") if b"=" in x)
    assert env["SPARKD_SOCKET"]
    for line, code in site.blocks["user"]:
        argv = ["runuser", "-u", alice.name, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + \
            ["bash", "-e", "-o", "pipefail", "-c", code]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=alice.home)
        record("user", line, code, p.stdout + p.stderr)
        assert p.returncode == 0, f"docs/admin-guide.md:{line}: {p.stdout}{p.stderr}"
        if "sparkctl status" in code:
            assert "pre-warming (" in p.stdout and "pre-warming off" not in p.stdout, p.stdout


def test_the_other_user_cannot_reach_it(hub, alice, people):
    bob = people[BOB]
    bob.login(hub)
    # not through the hub: bob's token is not for alice's server
    for method, path, body in (("GET", "sparkd/api/configs", None), ("GET", "sparkd/api/sessions", None),
                               ("POST", "sparkd/api/select", {"config": "local"})):
        r = hub.user_request(method, ALICE, path, bob.token, json=body)
        assert r.status_code in (302, 403), (method, path, r.status_code)
        assert '"configs"' not in r.text and '"sessions"' not in r.text
    # his own server has his own daemon, which knows nothing of alice's
    spawn(hub, bob)
    assert daemons_of(bob.uid) and not set(d["pid"] for d in daemons_of(bob.uid)) & \
        set(d["pid"] for d in daemons_of(alice.uid))
    r = sparkd_get(hub, bob, "api/sessions")
    assert r.status_code == 200 and r.json()["sessions"] == [], r.text
    mine = sparkd_get(hub, alice, "api/sessions").json()["sessions"]
    assert mine and all(sparkd_get(hub, bob, f"api/sessions/{s['kernel_id']}").status_code == 404 for s in mine)
