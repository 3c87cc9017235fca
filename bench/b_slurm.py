"""Benchmark 8, a Spark cluster on Slurm (issue 15): click -> ready and
click -> `spark` usable for a 1-node `slurm` session, side by side with
`standalone-ephemeral` (the daemon's own master and workers on this host),
on real ipykernels with real PySpark, through one real sparkd.

Slurm is a private single-host cluster (tests/integration/slurmenv.py:
Debian's munged, slurmctld and slurmd, 2 CPUs) on this machine, so the
figures show what Start Spark adds to a Slurm start, not a real site's
queue: the job is scheduled at once here.  Each run: a fresh kernel open
OPEN_S, POST /api/sessions, long-poll until ready (`ready`), then
spark.range(1).count() (`usable`); then DELETE and wait until the job and
every JVM are gone.  Variants alternate (A, B, A, B, ...), 3 runs each
(1 with --quick).  Also recorded per Slurm run: submit -> running (the
job's status file first seen) from the session's waiting_for changes.
"""
import os
import time

from common import Daemon, summary, tempdir
from kernels import Kernel, java_children, wait_until
from slurmenv import SlurmCluster, have_slurm

NAME = "slurm"
TITLE = "8. Slurm: click -> ready, 1-node Slurm cluster vs standalone-ephemeral (real sparkd, kernel, PySpark)"
COUNT = "print(\"USABLE\", spark.range(1).count())"
OPEN_S = 2.0
HEADERS = ("variant", "runs", "ready p50 s", "usable p50 s", "usable p90 s", "ratio to standalone (usable p50)")
VARIANTS = (("standalone", "standalone-ephemeral (2 local workers)", "standalone-ephemeral", {}),
            ("slurm", "slurm, 1 node x 2 cores (sbatch, master + srun worker)", "slurm",
             {"slurm.cores_per_node": 2, "slurm.memory_per_node": "2g"}))


def one(d, config, overrides):
    k = Kernel(d.runtime, d.ipython)
    h = d.http()
    try:
        time.sleep(OPEN_S)
        waits = []
        t0 = time.perf_counter()
        st, s = h.request("POST", "/api/sessions", {"config": config, "kernel_id": k.id, "overrides": overrides})
        if st != 202:
            raise RuntimeError(f"POST /api/sessions: {st} {s}")
        while s["state"] not in ("ready", "failed"):
            if s.get("waiting_for") and (not waits or waits[-1][1] != s["waiting_for"]):
                waits.append((time.perf_counter() - t0, s["waiting_for"]))
            st, s = h.request("GET", f"/api/sessions/{k.id}?wait=30&version={s['version']}")
        t_ready = time.perf_counter()
        if s["state"] != "ready":
            raise RuntimeError(f"{config} failed: {s.get('error')}")
        status, out, err = k.run(COUNT)
        t1 = time.perf_counter()
        if status != "ok" or "USABLE 1" not in out:
            raise RuntimeError(f"count failed: {status} {err} {out[-500:]}")
        h.close()  # the daemon closed the idle keep-alive connection meanwhile
        h = d.http()
        h.request("DELETE", f"/api/sessions/{k.id}")
        running = next((t for t, w in waits if w.startswith("starting the Spark master")), None)
        return {"ready_s": t_ready - t0, "usable_s": t1 - t0, "job_running_s": running}
    finally:
        h.close()
        pid = k.pid
        k.shutdown()
        wait_until(lambda: not java_children(pid) and not java_children(d.pid), 60)


def run(quick=False):
    if not have_slurm():
        raise RuntimeError("Slurm is not installed (make deps installs slurmctld slurmd slurm-client munge)")
    runs = 1 if quick else 3
    base = tempdir(NAME)
    os.chmod(base, 0o755)
    cluster = SlurmCluster(base / "slurm").start()
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    d = None
    try:
        d = Daemon(base / "daemon", ["--start-timeout", "240"]).start()
        samples = {key: [] for key, *_ in VARIANTS}
        for _ in range(runs):
            for key, _, config, overrides in VARIANTS:
                samples[key].append(one(d, config, overrides))
                wait_until(lambda: not cluster.jobs("PENDING", "RUNNING", "COMPLETING"), 60)
    finally:
        if d:
            d.stop()
        cluster.stop()
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
    res = {"runs_each": runs, "variants": []}
    base_p50 = summary([r["usable_s"] for r in samples["standalone"]])["p50"]
    for key, label, config, overrides in VARIANTS:
        u = summary([r["usable_s"] for r in samples[key]])
        res["variants"].append({"key": key, "label": label, "config": config, "overrides": overrides,
                                "usable_s": u, "ready_s": summary([r["ready_s"] for r in samples[key]]),
                                "ratio_to_standalone_p50": u["p50"] / base_p50, "runs": samples[key]})
    return res


def rows(res):
    return [(v["label"], v["usable_s"]["runs"], v["ready_s"]["p50"], v["usable_s"]["p50"], v["usable_s"]["p90"],
             v["ratio_to_standalone_p50"]) for v in res["variants"]]
