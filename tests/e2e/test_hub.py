"""Start Spark in a real JupyterHub (issue 4, tests 1-5): the hook starts a
sparkd per user with every server, the browser's path to it goes through the
hub's proxy and the user's server, and it ends with the server."""
import json
import os
import pwd
import re
import socket
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import requests

import hubenv
from hubenv import daemons_of, java_of, wait_until

A, B = "e2ealice", "e2ebob"


def sock_of(uid):
    # LocalProcessSpawner sets HOME but no XDG_RUNTIME_DIR (and the test users
    # have no /run/user/UID): the launcher's default is in the user's state dir
    return f"{pwd.getpwuid(uid).pw_dir}/.local/state/sparkd/run/sparkd.sock"


def ensure_running(hub, name):
    s = hub.server_state(name) if hub.api("GET", f"/users/{name}").status_code == 200 else None
    if not (s and s.get("ready")):
        hub.spawn(name)


def wait_session(hub, name, token, kid, states=("ready", "failed"), timeout=180):
    """Follows the session with long polls through the hub."""
    version = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = hub.user_get(name, f"sparkd/api/sessions/{kid}?wait=20&version={version}", token)
        assert r.status_code == 200, (r.status_code, r.text)
        s = r.json()
        if s["state"] in states:
            return s
        version = s["version"]
    raise AssertionError(f"session stuck: {s}")


def new_kernel(hub, name, token):
    r = hub.user_request("POST", name, "api/kernels", token, json={"name": "python3"})
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()["id"]


# 1 -------------------------------------------------------------------------

def test_spawn_starts_daemon_as_the_user(hub, users):
    pw = users[A]
    hub.spawn(A)
    daemons = daemons_of(pw.pw_uid)
    assert len(daemons) == 1, daemons
    d = daemons[0]
    assert d["uid"] == pw.pw_uid != 0
    server = hubenv.proc_info(d["ppid"])  # the launcher exec'd the server: same pid
    assert server and server["uid"] == pw.pw_uid
    assert any(a.endswith("jupyterhub-singleuser") for a in server["argv"]), server
    # socket 0600 in a 0700 dir, both the user's
    sock = sock_of(pw.pw_uid)
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == pw.pw_uid
    dst = os.stat(os.path.dirname(sock))
    assert stat.S_IMODE(dst.st_mode) == 0o700 and dst.st_uid == pw.pw_uid, oct(dst.st_mode)
    # the startup file was written before the server started: it is older
    # than the server's own runtime file (jpserver-PID.json)
    startup = Path(pw.pw_dir) / ".ipython/profile_default/startup/99-sparkd.py"
    assert startup.exists() and startup.stat().st_uid == pw.pw_uid
    assert "spark" in startup.read_text()
    jpserver = Path(pw.pw_dir) / f".local/share/jupyter/runtime/jpserver-{server['pid']}.json"
    assert jpserver.exists(), list(jpserver.parent.iterdir())
    assert startup.stat().st_mtime <= jpserver.stat().st_mtime


# 2 -------------------------------------------------------------------------

def check_location(name, url, location):
    """A redirect's target stays under /user/NAME/ with a single prefix."""
    target = urlparse(urljoin(url, location))
    assert target.path.startswith(f"/user/{name}/"), (url, location)
    assert target.path.count(f"/user/{name}/") == 1, f"double prefix: {url} -> {location}"
    assert target.netloc in ("", urlparse(url).netloc), location


def follow(hub, name, token, path, max_hops=5, check=True):
    """GETs path through the hub, following redirects by hand; checks each."""
    url = f"{hub.url}/user/{name}/{path}"
    hops = []
    for _ in range(max_hops):
        r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=60,
                         allow_redirects=False)
        if r.status_code not in (301, 302, 303, 307, 308):
            return r, hops
        loc = r.headers["Location"]
        hops.append((url, loc))
        if check:
            check_location(name, url, loc)
        url = urljoin(url, loc)
    raise AssertionError(f"redirect loop: {hops}")


@pytest.fixture(scope="module")
def alice(hub, users):
    ensure_running(hub, A)
    return hub.user_token(A)


def test_configs_session_and_spark_ui_through_the_hub(hub, alice, artifacts):
    token = alice
    r = hub.user_get(A, "sparkd/api/configs", token)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    configs = r.json()
    names = {c["name"] for c in configs["configs"]}
    assert {"local", "standalone-ephemeral"} <= names, names
    assert configs["default"] == "local"

    kid = new_kernel(hub, A, token)
    # no cookie, a token header: the daemon asks for no XSRF token
    r = hub.user_request("POST", A, "sparkd/api/sessions", token,
                         json={"config": "local", "kernel_id": kid})
    assert r.status_code == 202, (r.status_code, r.text)
    s = wait_session(hub, A, token, kid)
    assert s["state"] == "ready", s
    assert s["ui_path"] == f"/user/{A}/sparkd/ui/{kid}/"
    app = s["app_id"]

    jobs, hops = follow(hub, A, token, f"sparkd/ui/{kid}/jobs/")
    assert jobs.status_code == 200 and not hops
    assert "Spark Jobs" in jobs.text
    conf = hub.user_get(A, "sparkd/api/configs/local", token).json()
    assert conf.get("app_name", "local") in jobs.text  # the page names the app
    hrefs = re.findall(r'href="(/[^"]*)"', jobs.text)
    ui_links = [h for h in hrefs if "/jobs" in h or "/executors" in h]
    assert ui_links and all(h.startswith(f"/user/{A}/sparkd/ui/{kid}/") for h in ui_links), hrefs

    ex, _ = follow(hub, A, token, f"sparkd/ui/{kid}/api/v1/applications/{app}/executors")
    assert ex.status_code == 200, ex.text[:300]
    assert any(e["id"] == "driver" for e in ex.json())

    r = hub.user_request("DELETE", A, f"sparkd/api/sessions/{kid}", token)
    assert r.status_code == 202, r.text
    assert wait_session(hub, A, token, kid, ("stopped",))["state"] == "stopped"
    assert hub.user_request("DELETE", A, f"api/kernels/{kid}", token).status_code == 204


UI_PAGES = ("", "jobs", "jobs/", "executors", "executors/", "stages", "storage", "environment",
            "SQL", "SQL/")


# jupyter-server-proxy 4.6 prefixes every root-relative Location of a
# redirect with the route's path (handlers.py, _rewrite_location_header);
# had sparkd sent absolute paths carrying SPARKD_PUBLIC_PREFIX, the browser
# would land on /user/NAME/sparkd/user/NAME/sparkd/ui/... (404); sparkd sends
# Locations relative to the page asked for, which the proxy leaves alone.
def test_spark_ui_redirects_stay_under_the_prefix(hub, alice, artifacts):
    token = alice
    kid = new_kernel(hub, A, token)
    r = hub.user_request("POST", A, "sparkd/api/sessions", token,
                         json={"config": "local", "kernel_id": kid})
    assert r.status_code == 202, r.text
    assert wait_session(hub, A, token, kid)["state"] == "ready"
    report, bad = {}, []
    try:
        for page in UI_PAGES:
            r, hops = follow(hub, A, token, f"sparkd/ui/{kid}/{page}", check=False)
            report[page or "(root)"] = {"status": r.status_code, "hops": hops}
            for url, loc in hops:
                try:
                    check_location(A, url, loc)
                except AssertionError as e:
                    bad.append(str(e))
            if r.status_code != 200:
                bad.append(f"{page}: {r.status_code} after {hops}")
    finally:
        (artifacts / "ui-redirects.json").write_text(json.dumps(report, indent=1))
        hub.user_request("DELETE", A, f"sparkd/api/sessions/{kid}", token)
        wait_session(hub, A, token, kid, ("stopped",))
        hub.user_request("DELETE", A, f"api/kernels/{kid}", token)
    assert not bad, "\n".join(bad)


# 3 -------------------------------------------------------------------------

def login(hub, name):
    """A requests session logged in through the hub's form, with the cookies
    of NAME's server (after the OAuth dance)."""
    s = requests.Session()
    page = s.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    form = {"username": name, "password": hubenv.PASSWORD}
    if xsrf:
        form["_xsrf"] = xsrf.group(1)
    r = s.post(f"{hub.url}/hub/login", data=form, timeout=30)
    assert r.status_code == 200, r.status_code
    r = s.get(f"{hub.url}/user/{name}/api/status", timeout=60)
    assert r.status_code == 200 and r.url.endswith("/api/status"), (r.status_code, r.url)
    return s


def server_xsrf(s, name):
    for c in s.cookies:
        if c.name == "_xsrf" and c.path.startswith(f"/user/{name}"):
            return c.value
    raise AssertionError(f"no _xsrf cookie for /user/{name}/: {[(c.name, c.path) for c in s.cookies]}")


def test_access_needs_the_users_credentials(hub, alice, users):
    url = f"{hub.url}/user/{A}/sparkd/api/configs"
    r = requests.get(url, allow_redirects=False, timeout=30)
    assert r.status_code in (302, 403), r.status_code
    if r.status_code == 302:
        assert "/hub/" in r.headers["Location"] and "oauth" in r.headers["Location"] or \
            "login" in r.headers["Location"], r.headers["Location"]
    bob_token = hub.user_token(B)
    r = requests.get(url, headers={"Authorization": f"token {bob_token}"},
                     allow_redirects=False, timeout=30)
    assert r.status_code in (302, 403), r.status_code
    assert '"configs"' not in r.text
    r = requests.post(f"{hub.url}/user/{A}/sparkd/api/select", json={"config": "local"},
                      headers={"Authorization": f"token {bob_token}"},
                      allow_redirects=False, timeout=30)
    assert r.status_code in (302, 403), r.status_code

    # a logged-in browser: the cookie alone does not make a mutating request
    s = login(hub, A)
    r = s.get(url, timeout=30)
    assert r.status_code == 200 and r.json()["default"] == "local"
    r = s.post(f"{hub.url}/user/{A}/sparkd/api/select", json={"config": "local"}, timeout=30,
               allow_redirects=False)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    r = s.post(f"{hub.url}/user/{A}/sparkd/api/select", json={"config": "local"}, timeout=30,
               headers={"X-XSRFToken": "not-the-cookie"}, allow_redirects=False)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    r = s.post(f"{hub.url}/user/{A}/sparkd/api/select", json={"config": "local"}, timeout=30,
               headers={"X-XSRFToken": server_xsrf(s, A)}, allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:300])


# 4 -------------------------------------------------------------------------

def test_stopping_the_server_ends_the_daemon_and_spark(hub, alice, users):
    uid = users[A].pw_uid
    token = alice
    kid = new_kernel(hub, A, token)
    r = hub.user_request("POST", A, "sparkd/api/sessions", token,
                         json={"config": "local", "kernel_id": kid})
    assert r.status_code == 202, r.text
    assert wait_session(hub, A, token, kid)["state"] == "ready"
    assert java_of(uid), "Spark's JVM should run before the stop"
    daemons = daemons_of(uid)
    assert len(daemons) == 1
    hub.stop_server(A)
    wait_until(lambda: hubenv.proc_info(daemons[0]["pid"]) is None, 30, what="the daemon to exit")
    wait_until(lambda: not os.path.exists(sock_of(uid)), 10, what="the socket to go")
    wait_until(lambda: not java_of(uid), 60, what="Spark's JVMs to exit")
    assert not daemons_of(uid)


# 5 -------------------------------------------------------------------------

CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
    s.sendall(b"GET /api/health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    data = s.recv(100)
    print("ANSWER" if data.startswith(b"HTTP/1.1 200") else "CLOSED" if not data else "OTHER")
except PermissionError:
    print("EACCES")
except ConnectionError as e:
    print("REFUSED", e)
"""


def connect_as(user, path):
    p = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", CONNECT, path],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.strip() or p.stderr.strip()


def test_two_users_each_their_own_daemon(hub, users):
    ua, ub = users[A].pw_uid, users[B].pw_uid
    ensure_running(hub, A)
    ensure_running(hub, B)
    try:
        check_two_users(hub, users, ua, ub)
    finally:  # whatever happened, the next tests start from stopped servers
        hub.stop_server(A)
        hub.stop_server(B)
        wait_until(lambda: not daemons_of(ua) and not daemons_of(ub), 30, what="the daemons to exit")


def check_two_users(hub, users, ua, ub):
    da, db = daemons_of(ua), daemons_of(ub)
    assert len(da) == 1 and len(db) == 1
    assert da[0]["pid"] != db[0]["pid"]
    assert os.stat(sock_of(ua)).st_uid == ua and os.stat(sock_of(ub)).st_uid == ub
    # each reaches their own, B is refused at A's
    assert connect_as(B, sock_of(ub)) == "ANSWER"
    assert connect_as(A, sock_of(ua)) == "ANSWER"
    assert connect_as(B, sock_of(ua)) == "EACCES"
    assert connect_as(A, sock_of(ub)) == "EACCES"
    # past the directory's mode (root may pass it), the peer-uid check: closed
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock_of(ua))
    try:  # the daemon may close before the request is even sent
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(100)
    except (BrokenPipeError, ConnectionResetError):
        data = b""
    s.close()
    assert not data.startswith(b"HTTP/1.1 200"), data
    # through the hub, each user's prefix reaches that user's daemon
    for name, uid in ((A, ua), (B, ub)):
        tok = hub.user_token(name)
        r = hub.user_get(name, "sparkd/api/select", tok)
        assert r.status_code == 200
        assert r.json()["path"].startswith(users[name].pw_dir + "/"), r.json()


# SimpleLocalProcessSpawner -------------------------------------------------

def test_simple_local_process_spawner(e2e_base):
    h = hubenv.Hub(e2e_base / "hub-simple", spawner="simple").start()
    try:
        name = "e2esimple"
        h.spawn(name)
        home = e2e_base / "hub-simple" / "home" / name
        sock = home / ".sparkd" / "sparkd.sock"
        assert stat.S_ISSOCK(os.stat(sock).st_mode)
        assert (home / ".ipython/profile_default/startup/99-sparkd.py").exists()
        token = h.user_token(name)
        r = h.user_get(name, "sparkd/api/configs", token)
        assert r.status_code == 200 and r.json()["default"] == "local"
        pid = [p for p in daemons_of(0) if f"{home}/" in open(f"/proc/{p['pid']}/environ", "rb")
               .read().decode(errors="replace")]
        assert len(pid) == 1
        h.stop_server(name)
        wait_until(lambda: hubenv.proc_info(pid[0]["pid"]) is None, 30, what="the daemon to exit")
        assert not sock.exists()
    finally:
        h.stop()
        hubenv.save_log(h, "hub-simple")
