"""Benchmark 2, the daemon's own share of a start: from the client sending
POST /api/sessions to the execute_request arriving at the kernel (render +
write + fsync + connect + sign + send), against fake kernels that run a no-op
(bench/fakekernel.py: no PySpark).  Alongside, interleaved in the same loop:
POST /api/configs/local/render (render only) and POST /api/select (render +
write + fsync + rename).
"""
import time

from common import Daemon, summary, tempdir
from fakekernels import FakeKernels

NAME = "share"
TITLE = "2. Daemon's own share of a start (fake kernel, no PySpark)"


def wait_ready(h, kid, version, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, s = h.request("GET", f"/api/sessions/{kid}?wait=5&version={version}")
        if st != 200:
            raise RuntimeError(f"GET session: {st} {s}")
        if s["state"] in ("ready", "failed"):
            return s
        version = s["version"]
    raise RuntimeError("session did not become ready")


def one_start(h, fk, kid, restart):
    body = {"config": "local", "kernel_id": kid, "restart": restart}
    raw = h.encode("POST", "/api/sessions", body)
    t0 = time.perf_counter_ns()
    h.send(raw)
    st, data = h.receive()
    t_resp = time.perf_counter_ns()
    if st != 202:
        raise RuntimeError(f"POST /api/sessions: {st} {data[:300]!r}")
    got, t_exec = fk.next_exec()
    if got != kid:
        raise RuntimeError(f"execute_request for {got}, expected {kid}")
    import json
    s = wait_ready(h, kid, json.loads(data)["version"])
    if s["state"] != "ready":
        raise RuntimeError(f"session failed: {s}")
    return (t_exec - t0) / 1e6, (t_resp - t0) / 1e6


def timed(h, method, path, body):
    raw = h.encode(method, path, body)
    t0 = time.perf_counter_ns()
    h.send(raw)
    st, data = h.receive()
    t1 = time.perf_counter_ns()
    if st != 200:
        raise RuntimeError(f"{method} {path}: {st} {data[:300]!r}")
    return (t1 - t0) / 1e6


def run(quick=False):
    n = 100 if quick else 1000
    fresh = 20 if quick else 100
    warm = 10
    base = tempdir(NAME)
    d = Daemon(base, ["--max-connections", "256"]).start()
    fk = FakeKernels(d.runtime, 1 + fresh)
    try:
        h = d.http()
        same, fresh_ids = fk.ids[0], fk.ids[1:]
        start_ms, resp_ms, render_ms, select_ms = [], [], [], []
        for i in range(warm + n):
            r = timed(h, "POST", "/api/configs/local/render", {})
            s = timed(h, "POST", "/api/select", {"config": "local"})
            e, p = one_start(h, fk, same, restart=True)
            if i >= warm:
                render_ms.append(r)
                select_ms.append(s)
                start_ms.append(e)
                resp_ms.append(p)
        first_ms, first_resp = [], []
        for kid in fresh_ids:
            e, p = one_start(h, fk, kid, restart=False)
            first_ms.append(e)
            first_resp.append(p)
        h.close()
    finally:
        fk.stop()
        d.stop()
    res = {
        "start_same_kernel_restart": {"unit": "ms", **summary(start_ms),
                                      "what": "POST /api/sessions (restart=true, same kernel) -> execute_request arrives"},
        "start_response": {"unit": "ms", **summary(resp_ms),
                           "what": "POST /api/sessions -> 202 response received"},
        "start_first_per_kernel": {"unit": "ms", **summary(first_ms),
                                   "what": "first start on a kernel the daemon never talked to"},
        "select": {"unit": "ms", **summary(select_ms),
                   "what": "POST /api/select (render + write + fsync + rename)"},
        "render": {"unit": "ms", **summary(render_ms), "what": "POST /api/configs/local/render"},
        "samples_ms": {"start_same_kernel_restart": start_ms, "start_first_per_kernel": first_ms},
    }
    return res


def rows(res):
    """Table rows: (metric, runs, p50, p90, p99, unit, target, verdict)."""
    out = []
    for key in ("start_same_kernel_restart", "start_first_per_kernel", "start_response", "select", "render"):
        r = res[key]
        target, verdict = "", ""
        if key == "start_same_kernel_restart":  # the measure: render ... send to a kernel
            target = "p99 <= 2 ms"
            verdict = "met" if r["p99"] <= 2.0 else "missed"
        elif key == "start_first_per_kernel":  # + ZeroMQ connections and the IOPub subscription
            verdict = "info (connects first)"
        out.append((r["what"], r["runs"], r["p50"], r["p90"], r["p99"], r["unit"], target, verdict))
    return out


HEADERS = ("measure", "runs", "p50", "p90", "p99", "unit", "target", "verdict")
