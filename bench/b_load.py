"""Benchmark 4, the API under load: GET /api/configs and GET /api/sessions at
1, 16 and 64 concurrent keep-alive connections over the Unix socket, driven
by bench/loadgen.c (closed loop: one request in flight per connection).
The daemon runs with --max-connections 1024 and holds 10 ready sessions on
fake kernels, so that /api/sessions has something to list.
"""
import json
import subprocess

from common import BUILD, Daemon, tempdir
from fakekernels import FakeKernels
from b_share import one_start

NAME = "load"
TITLE = "4. API under load (Unix socket, keep-alive, closed loop)"
LOADGEN = BUILD / "bench" / "loadgen"
CONCURRENCY = (1, 16, 64)
PATHS = ("/api/configs", "/api/sessions")


def loadgen(sock, conns, path, seconds, warmup):
    p = subprocess.run([str(LOADGEN), "-s", sock, "-c", str(conns), "-d", str(seconds),
                        "-w", str(warmup), path], capture_output=True, text=True,
                       timeout=seconds + warmup + 60)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen failed: {p.stderr}")
    return json.loads(p.stdout)


def run(quick=False):
    seconds, warmup, rounds = (2, 0.5, 1) if quick else (5, 1, 2)
    base = tempdir(NAME)
    d = Daemon(base, ["--max-connections", "1024"]).start()
    fk = FakeKernels(d.runtime, 10)
    res = {"seconds_per_run": seconds, "warmup_seconds": warmup, "rounds": rounds, "runs": []}
    try:
        h = d.http()
        for kid in fk.ids:
            one_start(h, fk, kid, restart=False)
        h.close()
        for c in CONCURRENCY:
            for rnd in range(rounds):  # the two paths alternate
                for path in PATHS:
                    r = loadgen(d.sock, c, path, seconds, warmup)
                    r.update({"path": path, "round": rnd})
                    res["runs"].append(r)
    finally:
        fk.stop()
        d.stop()
    return res


def best(res, path, conns):
    """The median-throughput run of a (path, connections) pair."""
    runs = sorted((r for r in res["runs"] if r["path"] == path and r["connections"] == conns),
                  key=lambda r: r["rps"])
    return runs[len(runs) // 2] if runs else None


def rows(res):
    out = []
    for c in CONCURRENCY:
        for path in PATHS:
            r = best(res, path, c)
            errors = sum(x["errors"] for x in res["runs"] if x["path"] == path and x["connections"] == c)
            target, verdict = "errors = 0", "met" if errors == 0 else "missed"
            if c == 64:
                target = "p99 <= 1 ms, >= 20 000 req/s, errors = 0"
                ok = r["p99_us"] <= 1000 and r["rps"] >= 20000 and errors == 0
                verdict = "met" if ok else "missed"
            out.append((path, c, r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000, errors, target, verdict))
    return out


HEADERS = ("path", "connections", "req/s", "p50 ms", "p99 ms", "errors", "target", "verdict")
