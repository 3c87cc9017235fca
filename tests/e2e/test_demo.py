"""`make demo`'s hub (demo/run.py + demo/jupyterhub_config.py): it comes up
on loopback, a user logs in with the printed password, gets a server with
sparkd and can start Spark; SIGINT (Ctrl-C) stops everything and leaves no
process behind."""
import os
import re
import signal
import subprocess
import sys
import time

import requests

import hubenv
from hubenv import ROOT, free_port, processes, wait_until

NAME = "demouser"


def demo_leftovers(demo_dir):
    """Processes whose environment points into the demo's directory."""
    out = []
    for p in processes():
        try:
            with open(f"/proc/{p['pid']}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if f"DEMO_DIR={demo_dir}".encode() in env or f"HOME={demo_dir}/".encode() in env:
            out.append(p)
    return out


def test_demo_starts_serves_and_stops_clean(e2e_base, artifacts):
    demo_dir = e2e_base / "demo"
    port = free_port()
    env = dict(os.environ, DEMO_DIR=str(demo_dir), DEMO_PORT=str(port),
               DEMO_HUB_PORT=str(free_port()), DEMO_PROXY_API_PORT=str(free_port()),
               DEMO_VENV=str(hubenv.VENV), PYTHONUNBUFFERED="1")
    env.pop("DEMO_PASSWORD", None)
    log = open(artifacts / "demo-run.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "demo" / "run.py")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    try:
        password = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and password is None:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            log.write(line)
            m = re.search(r"password\s*$", line)
            if m:
                password = proc.stdout.readline().strip()
                out.append("(password)\n")
        assert password, "".join(out)
        url = f"http://127.0.0.1:{port}"
        assert f"Open {url}/" in "".join(out)
        # loopback only
        hub_conf = (ROOT / "demo" / "jupyterhub_config.py").read_text()
        assert 'bind_url = f"http://127.0.0.1:' in hub_conf

        s = requests.Session()
        page = s.get(f"{url}/hub/login", timeout=30)
        assert page.status_code == 200 and "password" in page.text.lower()
        form = {"username": NAME, "password": password}
        x = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        if x:
            form["_xsrf"] = x.group(1)
        r = s.post(f"{url}/hub/login", data=form, timeout=120)
        assert r.status_code == 200, r.status_code  # the spawn (or spawn-pending) page
        # the hub spawns the server; once it is up, the OAuth dance gives its cookies
        wait_until(lambda: (lambda r: r.status_code == 200 and f"/user/{NAME}/lab" in r.url)(
            s.get(f"{url}/user/{NAME}/lab", timeout=30)), 120, 0.5, "the server")
        xsrf = next(c.value for c in s.cookies if c.name == "_xsrf" and c.path.startswith("/user/"))
        h = {"X-XSRFToken": xsrf}
        configs = s.get(f"{url}/user/{NAME}/sparkd/api/configs", timeout=30).json()
        assert {c["name"] for c in configs["configs"]} == {"local", "local-small"}
        # Spark running too, so that Ctrl-C has a JVM to stop
        kid = s.post(f"{url}/user/{NAME}/api/kernels", json={"name": "python3"}, headers=h,
                     timeout=60).json()["id"]
        r = s.post(f"{url}/user/{NAME}/sparkd/api/sessions", headers=h, timeout=30,
                   json={"config": "local-small", "kernel_id": kid})
        assert r.status_code == 202, r.text
        version, state = 0, "starting"
        deadline = time.monotonic() + 180
        while state == "starting" and time.monotonic() < deadline:
            j = s.get(f"{url}/user/{NAME}/sparkd/api/sessions/{kid}?wait=20&version={version}",
                      timeout=60).json()
            version, state = j["version"], j["state"]
        assert state == "ready", j
        running = {os.path.basename(p["argv"][0]) for p in demo_leftovers(demo_dir) if p["argv"]}
        assert {"sparkd", "java"} <= running, running

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = proc.communicate(timeout=120)
        log.write(rest)
        assert proc.returncode == 0, rest
        assert "no process left" in rest
        assert not demo_leftovers(demo_dir)
        for pidfile in ("hub.pid", "proxy.pid"):
            p = demo_dir / pidfile
            if p.exists():
                assert hubenv.proc_info(int(p.read_text().strip() or 0)) is None
        with requests.Session() as t:
            try:
                t.get(url, timeout=3)
                raise AssertionError("the demo still answers")
            except requests.ConnectionError:
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in demo_leftovers(demo_dir):
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
        hub_log = demo_dir / "jupyterhub.log"
        if hub_log.exists():
            (artifacts / "demo-jupyterhub.log").write_bytes(hub_log.read_bytes())
