"""Benchmark 3, template rendering: sparkd's engine (bench/tmpl_bench.c, linked
with libsparkd.a) against Jinja2, both compiling once and timing renders only.
Cases: the shipped template with each shipped configuration's context (as
tests/integration/test_templates.py builds it), the eager context of a
session start, and a synthetic context with 200 conf keys.  Every case's two
outputs must be identical byte for byte.  Rounds alternate C and Jinja2.
"""
import copy
import json
import subprocess
import time

from common import BUILD, ROOT, summary, tempdir

import jinja2
from markupsafe import Markup
import test_templates as tt  # tests/integration: context() and the escaping rule

NAME = "render"
TITLE = "3. Template rendering: sparkd's engine vs Jinja2 (compile once, render only)"
TEMPLATE = ROOT / "configs" / "templates" / "default.py.j2"
TMPL_BENCH = BUILD / "bench" / "tmpl_bench"


def jinja_template(src):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             finalize=tt.literal)
    env.filters["py"] = lambda v: Markup(tt.literal(v))
    return env.from_string(src)


def eager(ctx, kernel_id="123e4567-e89b-42d3-a456-426614174000"):
    """The context of a session start (daemon/session.c adds these)."""
    c = copy.deepcopy(ctx)
    path = f"/user/alice/sparkd/ui/{kernel_id}/"
    c["sparkd"].update({"eager": True, "kernel_id": kernel_id, "ui_port": 41234, "ui_path": path})
    c["conf"].update({"spark.ui.port": "41234", "spark.ui.proxyBase": path.rstrip("/")})
    return c


def synthetic(ctx, keys=200):
    """ctx with `keys` extra conf keys of every kind, some needing escapes."""
    c = copy.deepcopy(ctx)
    for i in range(keys):
        k = f"spark.bench.key{i:03d}"
        kind = i % 5
        c["conf"][k] = (f"value-{i}" if kind == 0 else i * 7 if kind == 1 else bool(i % 2)
                        if kind == 2 else f"quote\"s and \\back\nslash {i} é" if kind == 3 else i / 8)
    return c


def cases():
    out = []
    for path in tt.CONFIGS:
        out.append((f"shipped: {path.stem}", tt.context(path)))
    local = tt.context(ROOT / "configs" / "local.yaml")
    out.append(("shipped: local, eager (a session start)", eager(local)))
    out.append(("synthetic: local + 200 conf keys", synthetic(local)))
    return out


def run_c(ctx_file, n, out_file=None):
    cmd = [str(TMPL_BENCH), str(TEMPLATE), str(ctx_file), str(n)] + ([str(out_file)] if out_file else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"tmpl_bench failed: {p.stderr}")
    return json.loads(p.stdout)


def run_jinja(t, ctx, n):
    for _ in range(10):
        t.render(ctx)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        t.render(ctx)
    return (time.perf_counter_ns() - t0) / n


def run(quick=False):
    rounds = 3 if quick else 7
    n_c, n_j = (2000, 200) if quick else (20000, 2000)
    tmp = tempdir(NAME)
    src = TEMPLATE.read_text()
    t0 = time.perf_counter_ns()
    jt = jinja_template(src)
    jinja_compile_ns = time.perf_counter_ns() - t0
    res = {"template": str(TEMPLATE.relative_to(ROOT)), "rounds": rounds, "renders_per_round":
           {"sparkd": n_c, "jinja2": n_j}, "jinja2_compile_ns": jinja_compile_ns, "cases": []}
    for i, (label, ctx) in enumerate(cases()):
        ctx_file = tmp / f"ctx{i}.json"
        ctx_file.write_text(json.dumps(ctx, ensure_ascii=False))
        c_out = tmp / f"out{i}.py"
        first = run_c(ctx_file, 1, c_out)
        j_text = jt.render(ctx)
        identical = c_out.read_bytes() == j_text.encode()
        c_ns, j_ns = [], []
        for _ in range(rounds):  # alternating A and B
            c_ns.append(run_c(ctx_file, n_c)["ns_per_render"])
            j_ns.append(run_jinja(jt, ctx, n_j))
        cs, js = summary(c_ns), summary(j_ns)
        res["cases"].append({"case": label, "bytes": len(j_text.encode()), "identical": identical,
                             "sparkd_compile_ns": first["compile_ns"],
                             "sparkd_ns": cs, "jinja2_ns": js,
                             "ratio_jinja2_over_sparkd": js["p50"] / cs["p50"],
                             "samples": {"sparkd_ns": c_ns, "jinja2_ns": j_ns}})
    return res


def rows(res):
    out = []
    for c in res["cases"]:
        r = c["ratio_jinja2_over_sparkd"]
        ok = r >= 20 and c["identical"]
        out.append((c["case"], c["bytes"], c["sparkd_ns"]["p50"] / 1000, c["jinja2_ns"]["p50"] / 1000,
                    f"{r:.1f}x", "yes" if c["identical"] else "NO", ">= 20x, identical",
                    "met" if ok else "missed"))
    return out


HEADERS = ("case", "bytes", "sparkd µs/render p50", "Jinja2 µs/render p50", "Jinja2/sparkd",
           "identical", "target", "verdict")
