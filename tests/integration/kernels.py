"""Real ipykernels with connection files in a runtime dir the daemon reads."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from jupyter_client import KernelManager


class Kernel:
    def __init__(self, runtime_dir, ipython_dir, env=None):
        self.id = str(uuid.uuid4())
        self.conn_file = str(Path(runtime_dir) / f"kernel-{self.id}.json")
        self.km = KernelManager(connection_file=self.conn_file, kernel_name="python3")
        self.km.kernel_spec.argv[0] = sys.executable  # the .venv's Python
        kenv = dict(os.environ, IPYTHONDIR=str(ipython_dir), **(env or {}))
        self.km.start_kernel(env=kenv)
        self.client = self.km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    @property
    def pid(self):
        return self.km.provisioner.process.pid

    def run(self, code, timeout=180):
        """Runs code; returns (status, text output, error name)."""
        out = []
        err = []

        def hook(msg):
            t = msg["msg_type"]
            c = msg["content"]
            if t == "stream":
                out.append(c["text"])
            elif t in ("execute_result", "display_data"):
                out.append(c["data"].get("text/plain", ""))
            elif t == "error":
                err.append(c["ename"])
                out.append(c["evalue"])

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook,
                                                store_history=False)
        return reply["content"]["status"], "".join(out), (err[0] if err else None)

    def submit(self, code):
        """Sends code without waiting (e.g. to make the kernel busy)."""
        return self.client.execute(code, store_history=False)

    def alive(self):
        return self.km.is_alive()

    def restart(self):
        """Restarts the kernel as JupyterLab's Restart does: a new process
        with the same id, connection file and ports."""
        self.km.restart_kernel(now=True)
        self.client.wait_for_ready(timeout=60)

    def kill(self):
        """SIGKILL, as a crash would (jupyter_client's own kill is async)."""
        os.kill(self.pid, 9)

    def shutdown(self):
        try:
            self.client.stop_channels()
        finally:
            if self.km.is_alive():
                self.km.shutdown_kernel(now=True)


def java_children(pid):
    """PIDs of java processes descending from pid."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], capture_output=True, text=True).stdout
    procs = {}
    for line in out.splitlines():
        p, pp, comm = line.split(None, 2)
        procs[int(p)] = (int(pp), comm.strip())
    found = []
    for p, (pp, comm) in procs.items():
        if comm != "java":
            continue
        q = pp
        while q and q in procs:
            if q == pid:
                found.append(p)
                break
            q = procs[q][0]
    return found


def wait_until(pred, timeout=30, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
