"""Runs bench/fakekernel.py as a child process and collects its timestamps."""
import queue
import subprocess
import sys
import threading

from common import BENCH


class FakeKernels:
    def __init__(self, runtime_dir, count=1):
        self.proc = subprocess.Popen([sys.executable, str(BENCH / "fakekernel.py"), str(runtime_dir),
                                      str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.ids = []
        for line in self.proc.stdout:
            if line.startswith("kernel "):
                self.ids.append(line.split()[1])
            elif line.strip() == "ready":
                break
        if len(self.ids) != count:
            raise RuntimeError("the fake kernels did not start")
        self.execs = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            parts = line.split()
            if parts and parts[0] == "exec":
                self.execs.put((parts[1], int(parts[2])))

    def next_exec(self, timeout=10):
        """(kernel id, arrival perf_counter_ns) of the next execute_request."""
        return self.execs.get(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
