"""A private single-host Slurm cluster for tests (issue 15): munged,
slurmctld and slurmd from Debian's packages (slurmctld slurmd slurm-client
munge), run in the foreground in the test's own directory with their own
key, ports, state and spool; no system service or file is touched.
Everything started is stopped at the end.

Every Slurm command finds this cluster through SLURM_CONF (env())."""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

CPUS = 2


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def have_slurm():
    return all(shutil.which(b) for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel"))


class SlurmCluster:
    def __init__(self, base, cpus=CPUS, memory_mb=6000, kill_wait=2):
        self.base = Path(base)
        self.host = socket.gethostname()
        self.cpus = cpus
        self.procs = []
        b = self.base
        for d in ("munge", "state", "spool", "log"):
            (b / d).mkdir(parents=True, exist_ok=True)
        os.chmod(b / "munge", 0o700)
        os.chmod(b, 0o755)
        key = b / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        self.munge_socket = b / "munge" / "munge.socket.2"
        ctld, slurmd = free_ports(2)
        self.conf = b / "slurm.conf"
        self.conf.write_text(f"""ClusterName=sparkdtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={ctld}
SlurmdPort={slurmd}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={b}/slurmctld.pid
SlurmdPidFile={b}/slurmd.pid
SlurmctldLogFile={b}/log/slurmctld.log
SlurmdLogFile={b}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait={kill_wait}
OverTimeLimit=0
MinJobAge=300
InactiveLimit=0
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")

    def env(self, base=None):
        e = dict(base if base is not None else os.environ)
        e["SLURM_CONF"] = str(self.conf)
        return e

    def _spawn(self, argv, name):
        log = open(self.base / "log" / f"{name}.out", "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        self.procs.append((name, p, log))
        return p

    def start(self):
        b = self.base
        self._spawn(["munged", "-F", "-f", "-S", str(self.munge_socket), f"--key-file={b}/munge/munge.key",
                     f"--log-file={b}/log/munged.log", f"--pid-file={b}/munge/munged.pid",
                     f"--seed-file={b}/munge/seed"], "munged")
        self.wait(lambda: self.munge_socket.exists(), 10, "munged's socket")
        self._spawn(["slurmctld", "-D", "-i", "-f", str(self.conf)], "slurmctld")
        self.wait(lambda: self.run("sinfo", "-h").returncode == 0, 30, "slurmctld")
        self._spawn(["slurmd", "-D", "-f", str(self.conf)], "slurmd")
        self.wait(lambda: self.run("sinfo", "-h", "-o", "%t").stdout.strip() == "idle", 30, "the node idle")
        return self

    def run(self, *argv, timeout=30):
        return subprocess.run(list(argv), capture_output=True, text=True, env=self.env(), timeout=timeout)

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, p, _ in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited {p.returncode}: {self.logs()}")
            if pred():
                return
            time.sleep(0.1)
        raise RuntimeError(f"no {what} within {timeout} s: {self.logs()}")

    def logs(self):
        out = []
        for f in sorted((self.base / "log").iterdir()):
            out.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-2000:])
        return "\n".join(out)

    def jobs(self, *states):
        """squeue's lines for this cluster: 'ID|STATE|REASON|NAME'."""
        argv = ["squeue", "-h", "-o", "%i|%T|%r|%j"]
        if states:
            argv += ["-t", ",".join(states)]
        return [line for line in self.run(*argv).stdout.splitlines() if line.strip()]

    def job(self, job_id):
        """scontrol's KEY=VALUE of one job, {} when unknown."""
        p = self.run("scontrol", "show", "job", "-o", str(job_id))
        return dict(kv.split("=", 1) for kv in p.stdout.split() if "=" in kv) if p.returncode == 0 else {}

    def stop(self):
        subprocess.run(["scancel", "--full", "-u", str(os.getuid())], env=self.env(), capture_output=True)
        for name, p, log in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    p.wait()
            log.close()
        self.procs = []
