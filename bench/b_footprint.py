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


def rss_by_mapping(pid, top=16):
    """KiB of Rss and of Private memory per mapped file ([heap], libraries...)."""
    rss, priv, name = {}, {}, None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        f = line.split()
        if "-" in f[0] and len(f) >= 5 and ":" in f[3]:
            name = f[5] if len(f) > 5 else "[anon]"
        elif f[0] == "Rss:":
            rss[name] = rss.get(name, 0) + int(f[1])
        elif f[0] in ("Private_Clean:", "Private_Dirty:"):
            priv[name] = priv.get(name, 0) + int(f[1])
    names = sorted(rss, key=lambda n: -rss[n])[:top]
    return [{"mapping": n, "rss_kib": rss[n], "private_kib": priv.get(n, 0)} for n in names]


def memory(pid):
    st = Path(f"/proc/{pid}/status").read_text().splitlines()
    kv = {l.split(":")[0]: int(l.split()[1]) for l in st if l.startswith(("VmRSS", "RssAnon", "RssFile"))}
    roll = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    for l in roll:
        if l.startswith(("Private_Clean", "Private_Dirty")):
            kv["Private"] = kv.get("Private", 0) + int(l.split()[1])
    return {"rss_kib": kv["VmRSS"], "anon_kib": kv.get("RssAnon"), "file_kib": kv.get("RssFile"),
            "private_kib": kv.get("Private"), "pss_kib": pss_kib(pid)}


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
        mem = [memory(d.pid) for d in ds]
        rss = [m["rss_kib"] for m in mem]
        pss = [m["pss_kib"] for m in mem]
        priv = [m["private_kib"] for m in mem]
    finally:
        for d in ds:
            d.stop()
    return {"daemons": count, "start_all_s": started, "total_rss_mib": sum(rss) / 1024,
            "total_pss_mib": (sum(pss) / 1024) if all(p is not None for p in pss) else None,
            "total_private_mib": sum(priv) / 1024, "mean_rss_kib": sum(rss) / len(rss)}


def run(quick=False):
    idle_s = 5 if quick else 30
    count = 20 if quick else 200
    base = tempdir(NAME)
    d = Daemon(base, ["--max-connections", "256"]).start()
    res = {}
    fk = None
    try:
        time.sleep(1)
        res["idle"] = memory(d.pid)
        res["idle_by_mapping"] = rss_by_mapping(d.pid)
        res["idle_wakeups"] = wakeups(d.pid, idle_s)
        p = subprocess.run([str(LOADGEN), "-s", d.sock, "-c", "1", "-n", "10000", "/api/configs"],
                           capture_output=True, text=True, timeout=120)
        res["after_10000_requests"] = dict(memory(d.pid), loadgen=p.stdout.strip())
        res["idle_wakeups_after_requests"] = wakeups(d.pid, min(idle_s, 10))
        fk = FakeKernels(d.runtime, 10)
        h = d.http()
        for kid in fk.ids:
            one_start(h, fk, kid, restart=False)
        h.close()
        time.sleep(3)  # each kernel's first heartbeat answered (2 s): then the heartbeat rests
        res["with_10_sessions"] = dict(memory(d.pid), note="sessions on fake kernels (bench/fakekernel.py)")
        res["wakeups_with_10_sessions"] = wakeups(d.pid, min(idle_s, 10))
    finally:
        if fk:
            fk.stop()
        d.stop()
    res["warm_jvm_ready"] = warm_idle(base / "warm", min(idle_s, 10))
    res["many"] = many_daemons(count)
    return res


def warm_idle(base, seconds):
    """A daemon keeping `local`'s driver JVM ready (prewarm: true, as
    shipped): once the JVM is ready, does the daemon stay asleep?"""
    d = Daemon(base, ["--prewarm-max", "1"]).start()
    try:
        h = d.http()
        h.request("GET", "/api/configs")  # user activity: no start delay
        h.close()
        try:
            d.wait_prewarmed(["local"])
        except RuntimeError as e:
            return {"status": str(e)}
        time.sleep(1)
        return dict(wakeups(d.pid, seconds), status="measured", rss_kib=memory(d.pid)["rss_kib"])
    finally:
        d.stop()


def rows(res):
    mib = lambda kib: kib / 1024
    idle = res["idle"]["rss_kib"]
    w = res["idle_wakeups"]
    m = res["many"]
    i = res["idle"]
    return [
        ("RSS idle", f"{mib(idle):.2f} MiB", "<= 3 MiB", "met" if idle <= 3 * 1024 else "missed"),
        ("  of which private (anon + dirty)", f"{mib(i['private_kib']):.2f} MiB", "", ""),
        ("  of which shared libraries (file)", f"{mib(i['file_kib']):.2f} MiB", "", ""),
        ("RSS after 10 000 requests", f"{mib(res['after_10000_requests']['rss_kib']):.2f} MiB", "", ""),
        ("RSS with 10 sessions (fake kernels)", f"{mib(res['with_10_sessions']['rss_kib']):.2f} MiB", "", ""),
        (f"wakeups/s idle ({w['seconds']} s)", f"{w['per_second']:.2f} ({w['ctxt_switches']} switches)",
         "0", "met" if w["ctxt_switches"] == 0 else "missed"),
        ("wakeups/s idle after the requests", f"{res['idle_wakeups_after_requests']['per_second']:.2f}", "0",
         "met" if res["idle_wakeups_after_requests"]["ctxt_switches"] == 0 else "missed"),
        ("wakeups/s with 10 ready sessions, idle", f"{res['wakeups_with_10_sessions']['per_second']:.2f} "
         f"({res['wakeups_with_10_sessions']['ctxt_switches']} switches)", "0",
         "met" if res["wakeups_with_10_sessions"]["ctxt_switches"] == 0 else "missed"),
        warm_row(res.get("warm_jvm_ready")),
        (f"{m['daemons']} daemons: total RSS", f"{m['total_rss_mib']:.1f} MiB", "<= 600 MiB",
         "met" if m["total_rss_mib"] <= 600 else "missed"),
        (f"{m['daemons']} daemons: total PSS", f"{m['total_pss_mib']:.1f} MiB" if m["total_pss_mib"] else "-",
         "", ""),
        (f"{m['daemons']} daemons: total private", f"{m['total_private_mib']:.1f} MiB", "", ""),
        (f"{m['daemons']} daemons: started and answering in", f"{m['start_all_s']:.2f} s", "", ""),
    ]


def warm_row(w):
    label = "wakeups/s idle, a warm driver JVM ready"
    if not w or w.get("status") != "measured":
        return (label, (w or {}).get("status", "not measured"), "0", "")
    return (f"{label} ({w['seconds']} s)", f"{w['per_second']:.2f} ({w['ctxt_switches']} switches)", "0",
            "met" if w["ctxt_switches"] == 0 else "missed")


HEADERS = ("measure", "value", "target", "verdict")
