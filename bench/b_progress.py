"""Benchmark: live job progress (issue 14), on real ipykernels with real
PySpark.  Two daemons side by side, each with one kernel holding a ready
`local` session: one with progress on (the default), one with
SPARKD_PROGRESS=0.  A CPU-bound spark.range job sized to JOB_S seconds
runs in the kernels alternately (on, off, on, off, ...).

Measured:
  - the job's duration with progress on and off (p50 of each, the difference);
  - the daemon's CPU while the job runs (utime + stime from /proc/<pid>/stat
    over the job's wall time), and its Spark requests per second;
  - job start -> progress answer holding the job (Spark's submissionTime to
    the long poll's answer: what a browser would get first) and the gap
    between two answers while the job runs (the update lag);
  - the daemon's wakeups per second while the session is ready and idle
    (voluntary context switches of its main thread over IDLE_S seconds),
    for both daemons — 0: progress arms no timer then, and the kernel
    heartbeat rests while IOPub's connection holds (kernel.c) — and
    progress's polls and requests while idle (GET /api/health).

Knobs: BENCH_PROGRESS_JOB_S (default 30; --quick: 8), BENCH_PROGRESS_RUNS
(pairs, default 2; --quick: 1), BENCH_PROGRESS_IDLE_S (default 10).
"""
import os
import time

from common import Daemon, Http, summary, tempdir
from kernels import Kernel, java_children, wait_until

NAME = "progress"
TITLE = "Issue 14. Live job progress: daemon cost and job overhead (real ipykernel, real PySpark)"
HEADERS = ("measure", "runs", "p50", "p90", "target", "verdict")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICKS  # utime, stime


def voluntary(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("voluntary_ctxt_switches"):
            return int(line.split()[1])
    return 0


def session(d, k):
    h = Http(d.sock, timeout=180)
    status, s = h.request("POST", "/api/sessions", {"config": "local", "kernel_id": k.id})
    assert status == 202, s
    version = 0
    while s["state"] not in ("ready", "failed"):
        status, s = h.request("GET", f"/api/sessions/{k.id}?wait=30&version={version}")
        version = s["version"]
    assert s["state"] == "ready", s
    h.close()


def job_code(n):
    return (f"spark.range(0, {n}, 1, 16).selectExpr('sum(crc32(cast(id * 7 as string)))').collect()")


def calibrate(k, seconds):
    """Rows for a job of about `seconds` on this machine (after a warm-up)."""
    n = 10**6
    for _ in range(2):
        k.run(job_code(n))
    while True:
        t0 = time.monotonic()
        k.run(job_code(n))
        dt = time.monotonic() - t0
        if dt > 3 or n > 10**11:
            return int(n * seconds / dt)
        n *= 4


def timed_job(d, k, n, watch):
    """Runs the job; returns its wall time and, with watch, what the daemon did meanwhile."""
    pid = d.proc.pid
    h = Http(d.sock, timeout=60)
    status, a = h.request("GET", f"/api/sessions/{k.id}/progress")
    version = a["version"]
    _, health0 = h.request("GET", "/api/health")
    c0, t0 = cpu_s(pid), time.monotonic()
    msg_id = k.client.execute(job_code(n), store_history=False)
    first = None
    gaps, last = [], None
    done = False
    while watch and not done:  # long polls, as the front end follows them
        status, a = h.request("GET", f"/api/sessions/{k.id}/progress?wait=5&version={version}")
        now = time.time()
        version = a["version"]
        job = next((j for j in a["jobs"] if j["msg_id"] == msg_id), None)
        if job and job["status"] == "running":
            if first is None:
                first = now - job["submitted_at"]
            if last is not None:
                gaps.append(now - last)
            last = now
        done = job is not None and job["status"] != "running"
    while True:
        m = k.client.get_shell_msg(timeout=600)
        if m["parent_header"].get("msg_id") == msg_id:
            break
    wall = time.monotonic() - t0
    cpu = cpu_s(pid) - c0
    h.close()  # (a connection silent for the daemon's idle timeout is closed: a new one)
    h = Http(d.sock, timeout=60)
    _, health1 = h.request("GET", "/api/health")
    h.close()
    reqs = health1["progress"]["requests"] - health0["progress"]["requests"]
    return {"wall_s": wall, "daemon_cpu_s": cpu, "cpu_pct": 100 * cpu / wall, "requests_per_s": reqs / wall,
            "first_answer_s": first, "update_gap_s": (sum(gaps) / len(gaps)) if gaps else None}


def idle_wakeups(daemons, seconds):
    """Wakeups/s of each daemon over the same idle seconds, and the on daemon's progress polls meanwhile."""
    def health():
        h = Http(daemons[0].sock)
        p = h.request("GET", "/api/health")[1]["progress"]
        h.close()
        time.sleep(0.5)  # the connection's close is handled before the window
        return p

    p0 = health()
    v0 = [voluntary(d.proc.pid) for d in daemons]
    time.sleep(seconds)
    v1 = [voluntary(d.proc.pid) for d in daemons]
    p1 = health()
    return {"wakeups_per_s": [(b - a) / seconds for a, b in zip(v0, v1)],
            "polls": p1["polls"] - p0["polls"], "requests": p1["requests"] - p0["requests"]}


def run(quick=False):
    job_s = float(os.environ.get("BENCH_PROGRESS_JOB_S", 8 if quick else 30))
    pairs = int(os.environ.get("BENCH_PROGRESS_RUNS", 1 if quick else 2))
    idle_s = float(os.environ.get("BENCH_PROGRESS_IDLE_S", 5 if quick else 10))
    base = tempdir(NAME)
    on = Daemon(base / "on", ["--start-timeout", "150"]).start()
    os.environ["SPARKD_PROGRESS"] = "0"
    try:
        off = Daemon(base / "off", ["--start-timeout", "150"]).start()
    finally:
        del os.environ["SPARKD_PROGRESS"]
    kernels = []
    try:
        for d in (on, off):
            k = Kernel(d.runtime, d.ipython)
            kernels.append(k)
            session(d, k)
        n = calibrate(kernels[0], job_s)
        kernels[1].run(job_code(n // 100))  # the same warm-up for both JVMs
        kernels[0].run(job_code(n // 100))
        time.sleep(2)  # the final sweep ends
        idle = idle_wakeups((on, off), idle_s)
        runs_on, runs_off = [], []
        for _ in range(pairs):
            runs_on.append(timed_job(on, kernels[0], n, True))
            runs_off.append(timed_job(off, kernels[1], n, False))
        time.sleep(2)
        idle_after = idle_wakeups((on, off), idle_s)
    finally:
        for k in kernels:
            pid = k.pid
            k.shutdown()
            wait_until(lambda: not java_children(pid), 30)
        on.stop()
        off.stop()
    p_on = summary([r["wall_s"] for r in runs_on])["p50"]
    p_off = summary([r["wall_s"] for r in runs_off])["p50"]
    return {"job_rows": n, "job_s_target": job_s, "pairs": pairs, "idle_s": idle_s,
            "idle": [idle, idle_after], "runs_on": runs_on, "runs_off": runs_off,
            "duration_on": summary([r["wall_s"] for r in runs_on]),
            "duration_off": summary([r["wall_s"] for r in runs_off]),
            "difference_pct": 100 * (p_on - p_off) / p_off}


def rows(res):
    on, off = res["runs_on"], res["runs_off"]

    def s(key, runs):
        vals = [r[key] for r in runs if r[key] is not None]
        return summary(vals)

    cpu, first, gap, rps = s("cpu_pct", on), s("first_answer_s", on), s("update_gap_s", on), s("requests_per_s", on)
    d = res["difference_pct"]
    idle_on = max(i["wakeups_per_s"][0] for i in res["idle"])
    idle_off = max(i["wakeups_per_s"][1] for i in res["idle"])
    polls = sum(i["polls"] + i["requests"] for i in res["idle"])
    return [
        ("job duration, progress on (s)", res["duration_on"]["runs"], res["duration_on"]["p50"],
         res["duration_on"]["p90"], "", ""),
        ("job duration, progress off (s)", res["duration_off"]["runs"], res["duration_off"]["p50"],
         res["duration_off"]["p90"], "", ""),
        ("difference on vs off (%)", res["pairs"], f"{d:+.2f}", "", "<= +2 %", "met" if d <= 2 else "missed"),
        ("daemon CPU while the job runs (% of a core)", cpu["runs"], cpu["p50"], cpu["p90"], "<= 1 %",
         "met" if cpu["p90"] is not None and cpu["p90"] <= 1 else "missed"),
        ("... the same, progress off", s("cpu_pct", off)["runs"], s("cpu_pct", off)["p50"], s("cpu_pct", off)["p90"],
         "", ""),
        ("Spark requests per second while it runs", rps["runs"], rps["p50"], rps["p90"], "a few", ""),
        ("job submitted -> first answer with it (s)", first["runs"], first["p50"], first["p90"], "<= 1 s p50",
         "met" if first["p50"] is not None and first["p50"] <= 1 else "missed"),
        ("gap between two answers while it runs (s)", gap["runs"], gap["p50"], gap["p90"], "<= 1 s",
         "met" if gap["p50"] is not None and gap["p50"] <= 1 else "missed"),
        ("daemon wakeups/s, ready and idle: progress on", 2, idle_on, "", "0", "met" if idle_on == 0 else "missed"),
        ("daemon wakeups/s, ready and idle: progress off", 2, idle_off, "", "0",
         "met" if idle_off == 0 else "missed"),
        ("progress polls + Spark requests while idle", 2, polls, "", "0", "met" if polls == 0 else "missed"),
    ]
