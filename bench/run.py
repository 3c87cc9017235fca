#!/usr/bin/env python3
"""Runs the benchmark suite: prints one table per benchmark and writes
bench/results/NAME.json (machine, versions, command, date, runs, medians,
percentiles, ratios) and bench/results/latest.md (the tables, for
docs/performance.md).  Nothing here asserts a time.

usage: bench/run.py [--quick] [--list] [NAME...]     (default: all)
       make bench [BENCH="share render"] [BENCH_ARGS=--quick]

Each benchmark is a module bench/b_NAME.py with NAME, TITLE, HEADERS,
run(quick) -> dict and rows(dict) -> table rows; add one by listing it in
MODULES.
"""
import argparse
import datetime
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, cleanup, machine, print_table, versions, write_result, fmt  # noqa: E402

MODULES = ["b_click", "b_share", "b_render", "b_load", "b_footprint", "b_hub", "b_progress", "b_slurm"]


def markdown(title, headers, rows):
    out = [f"### {title}", "", "| " + " | ".join(headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="benchmarks to run (click share render load footprint hub progress slurm)")
    ap.add_argument("--quick", action="store_true", help="fewer runs, for trying the suite out")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    mods = [importlib.import_module(m) for m in MODULES]
    if a.list:
        for m in mods:
            print(f"{m.NAME:10} {m.TITLE}")
        return 0
    unknown = set(a.names) - {m.NAME for m in mods}
    if unknown:
        ap.error(f"unknown benchmark(s): {' '.join(sorted(unknown))}")
    chosen = [m for m in mods if not a.names or m.NAME in a.names]
    meta = {"command": " ".join(["bench/run.py"] + sys.argv[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "versions": versions(), "quick": a.quick}
    print(f"machine: {json.dumps(meta['machine'])}\nversions: {json.dumps(meta['versions'])}", flush=True)
    tables, failed = [], []
    t_all = time.monotonic()
    for m in chosen:
        print(f"== {m.TITLE}", flush=True)
        t0 = time.monotonic()
        try:
            res = m.run(quick=a.quick)
        except Exception:
            failed.append(m.NAME)
            traceback.print_exc()
            continue
        finally:
            cleanup()
        dt = time.monotonic() - t0
        rows = m.rows(res)
        path = write_result(m.NAME + ("-quick" if a.quick else ""), dict(meta, benchmark=m.NAME, title=m.TITLE, seconds=dt,
                                         table={"headers": list(m.HEADERS), "rows": rows}, results=res))
        tables.append((m, rows, dt, path))
    total = time.monotonic() - t_all
    print()
    md = [f"Command: `{meta['command']}` — {meta['date']} — {total:.0f} s\n",
          f"Machine: {json.dumps(meta['machine'])}\n", f"Versions: {json.dumps(meta['versions'])}\n"]
    for m, rows, dt, path in tables:
        print(f"== {m.TITLE}  ({dt:.0f} s, {path.relative_to(RESULTS.parent.parent)})")
        print_table(rows, m.HEADERS)
        print()
        md.append(markdown(m.TITLE, m.HEADERS, rows))
    RESULTS.mkdir(parents=True, exist_ok=True)  # when every benchmark failed, nothing made it yet
    if len(chosen) == len(mods):
        (RESULTS / "latest.md").write_text("\n".join(md))
    else:
        (RESULTS / ("latest-" + "-".join(m.NAME for m in chosen) + ".md")).write_text("\n".join(md))
    print(f"total {total:.0f} s" + (f"; FAILED: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
