"""Benchmark 5, footprint: the daemon's RSS idle, after 10 000 requests and
with 10 ready sessions (on fake kernels, bench/fakekernel.py); its wakeups per
second while idle (context switches of every thread, /proc/PID/task/*/status,
and run slices from /proc/PID/schedstat); and 200 daemons side by side, each
with its own socket and dirs: total VmRSS and total Pss (smaps_rollup).
"""
import subprocess
import time
from pathlib import Path

from common import Daemon, pss_kib, proc_status, tempdir
from fakekernels import FakeKernels
from b_share import one_start
from b_load import LOADGEN

NAME = "footprint"
TITLE = "5. Footprint (RSS, idle wakeups, 200 daemons)"


def schedstat_slices(pid):
    """Timeslices run on a CPU, summed over threads (/proc/PID/task/*/schedstat, 3rd field)."""
    n = 0
    for t in Path(f"/proc/{pid}/task").iterdir():
        try:
            n += int((t / "schedstat").read_text().split()[2])
        except (OSError, IndexError):
            pass
    return n


def wakeups(pid, seconds):
    a, sa = proc_status(pid), schedstat_slices(pid)
    time.sleep(seconds)
    b, sb = proc_status(pid), schedstat_slices(pid)
    switches = (b["voluntary"] + b["nonvoluntary"]) - (a["voluntary"] + a["nonvoluntary"])
    return {"seconds": seconds, "ctxt_switches": switches, "per_second": switches / seconds,
            "schedstat_slices": sb - sa, "threads": b["threads"]}


def many_daemons(count):
    bases = [tempdir(f"{NAME}-many") for _ in range(count)]
    t0 = time.monotonic()
    ds = [Daemon(b).start(wait=False) for b in bases]
    try:
        for d in ds:
            d.wait_ready()
        started = time.monotonic() - t0
        time.sleep(1)
        rss = [proc_status(d.pid)["rss_kib"] for d in ds]
        pss = [pss_kib(d.pid) for d in ds]
    finally:
        for d in ds:
            d.stop()
    return {"daemons": count, "start_all_s": started, "total_rss_mib": sum(rss) / 1024,
            "total_pss_mib": (sum(pss) / 1024) if all(p is not None for p in pss) else None,
            "mean_rss_kib": sum(rss) / len(rss)}


def run(quick=False):
    idle_s = 5 if quick else 30
    count = 20 if quick else 200
    base = tempdir(NAME)
    d = Daemon(base, ["--max-connections", "256"]).start()
    res = {}
    fk = None
    try:
        time.sleep(1)
        res["idle"] = {"rss_kib": proc_status(d.pid)["rss_kib"], "pss_kib": pss_kib(d.pid)}
        res["idle_wakeups"] = wakeups(d.pid, idle_s)
        p = subprocess.run([str(LOADGEN), "-s", d.sock, "-c", "1", "-n", "10000", "/api/configs"],
                           capture_output=True, text=True, timeout=120)
        res["after_10000_requests"] = {"rss_kib": proc_status(d.pid)["rss_kib"],
                                       "pss_kib": pss_kib(d.pid), "loadgen": p.stdout.strip()}
        res["idle_wakeups_after_requests"] = wakeups(d.pid, min(idle_s, 10))
        fk = FakeKernels(d.runtime, 10)
        h = d.http()
        for kid in fk.ids:
            one_start(h, fk, kid, restart=False)
        h.close()
        time.sleep(1)
        res["with_10_sessions"] = {"rss_kib": proc_status(d.pid)["rss_kib"], "pss_kib": pss_kib(d.pid),
                                   "note": "sessions on fake kernels (bench/fakekernel.py)"}
        res["wakeups_with_10_sessions"] = wakeups(d.pid, min(idle_s, 10))
    finally:
        if fk:
            fk.stop()
        d.stop()
    res["many"] = many_daemons(count)
    return res


def rows(res):
    mib = lambda kib: kib / 1024
    idle = res["idle"]["rss_kib"]
    w = res["idle_wakeups"]
    m = res["many"]
    return [
        ("RSS idle", f"{mib(idle):.2f} MiB", "<= 3 MiB", "met" if idle <= 3 * 1024 else "missed"),
        ("RSS after 10 000 requests", f"{mib(res['after_10000_requests']['rss_kib']):.2f} MiB", "", ""),
        ("RSS with 10 sessions (fake kernels)", f"{mib(res['with_10_sessions']['rss_kib']):.2f} MiB", "", ""),
        (f"wakeups/s idle ({w['seconds']} s)", f"{w['per_second']:.2f} ({w['ctxt_switches']} switches)",
         "0", "met" if w["ctxt_switches"] == 0 else "missed"),
        ("wakeups/s idle after the requests", f"{res['idle_wakeups_after_requests']['per_second']:.2f}", "0",
         "met" if res["idle_wakeups_after_requests"]["ctxt_switches"] == 0 else "missed"),
        ("wakeups/s with 10 sessions (heartbeats)", f"{res['wakeups_with_10_sessions']['per_second']:.2f}",
         "", ""),
        (f"{m['daemons']} daemons: total RSS", f"{m['total_rss_mib']:.1f} MiB", "<= 600 MiB",
         "met" if m["total_rss_mib"] <= 600 else "missed"),
        (f"{m['daemons']} daemons: total PSS", f"{m['total_pss_mib']:.1f} MiB" if m["total_pss_mib"] else "-",
         "", ""),
    ]


HEADERS = ("measure", "value", "target", "verdict")
