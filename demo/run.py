#!/usr/bin/env python3
"""Runs the Start Spark demo hub (demo/jupyterhub_config.py) until Ctrl-C.

`make demo` builds everything first, then runs this with the .venv's Python.
It prints where to go and what to click; on SIGINT or SIGTERM it stops the
hub (which stops the users' servers; each server's sparkd stops its Spark),
then makes sure that no process of the demo is left: any process whose
environment points into the demo's directory is ended."""
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIR = Path(os.environ.setdefault("DEMO_DIR", str(ROOT / "build" / "demo")))
VENV = Path(os.environ.setdefault("DEMO_VENV", str(ROOT / ".venv")))
PORT = os.environ.setdefault("DEMO_PORT", "8000")
PASSWORD = os.environ.setdefault("DEMO_PASSWORD", secrets.token_urlsafe(9))
URL = f"http://127.0.0.1:{PORT}"

BANNER = f"""
  Start Spark demo — JupyterHub on {URL} (this machine only)

  1. Open {URL}/ and log in with any user name and the password
         {PASSWORD}
  2. JupyterLab opens: click "Python 3 (ipykernel)" under Notebook.
  3. In the notebook's toolbar, next to the Spark logo: pick a configuration,
     click "Start", wait for the chip to say "Ready".
  4. Run a cell:   spark.range(1000).count()
  5. "Spark UI" opens Spark's web UI in a new tab; the gear changes the
     memory; "Stop" ends Spark and keeps the kernel.
  New notebooks get `spark` without a click.  Ctrl-C here stops everything.
"""


def ancestors():
    """This process and those above it (make, the shell): never swept."""
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return out


def demo_processes():
    """Pids of processes started for the demo: their environment names DIR
    (the hub's, and the users' servers, daemons, kernels and JVMs: their
    homes are under DIR/home)."""
    mine = ancestors()
    key = str(DIR).encode()
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) in mine:
            continue
        try:
            with open(f"/proc/{e}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if b"DEMO_DIR=" + key in env or b"HOME=" + key + b"/" in env:
            found.append(int(e))
    return found


def sweep(timeout=10.0):
    """SIGTERM, then SIGKILL, whatever of the demo is still running."""
    pids = demo_processes()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = demo_processes()
        if not pids:
            return 0
    return len(pids)


def main():
    DIR.mkdir(parents=True, exist_ok=True)
    (DIR / "home").mkdir(exist_ok=True)
    left = sweep()  # a demo killed hard last time
    if left:
        print(f"demo: {left} processes of an earlier demo are still running", file=sys.stderr)
    log = open(DIR / "jupyterhub.log", "ab")
    env = dict(os.environ, PATH=f"{VENV}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}")
    hub = subprocess.Popen([str(VENV / "bin" / "jupyterhub"), "-f",
                            str(ROOT / "demo" / "jupyterhub_config.py")],
                           cwd=DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)  # Ctrl-C reaches us, we stop it
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"demo: starting JupyterHub (log: {DIR / 'jupyterhub.log'}) …", flush=True)
    import urllib.request
    up = False
    while not stopping and hub.poll() is None and not up:
        try:
            with urllib.request.urlopen(f"{URL}/hub/api/", timeout=2) as r:
                up = r.status == 200
        except OSError:
            time.sleep(0.3)
    if up:
        print(BANNER, flush=True)
    while not stopping and hub.poll() is None:
        time.sleep(0.2)
    if hub.poll() is None:
        print("\ndemo: stopping (the users' servers, their daemons and Spark) …", flush=True)
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()
        rc = 0
    else:
        rc = hub.returncode or 1
        log.flush()
        tail = (DIR / "jupyterhub.log").read_text(errors="replace").splitlines()[-30:]
        print("demo: JupyterHub exited:\n  " + "\n  ".join(tail), file=sys.stderr)
    left = sweep()
    print("demo: stopped" + (f"; {left} processes would not stop" if left else
                             ", no process left"), flush=True)
    return rc or (1 if left else 0)


if __name__ == "__main__":
    sys.exit(main())
