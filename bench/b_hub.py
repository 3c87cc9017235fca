"""Benchmark 6, the hub: time from the spawn request to the single-user
server's `ready`, with and without the sparkd hook, median of 5.

Not yet measured: it needs the hub hook's end-to-end harness (issue 4).  When
it lands, replace run() with: start a JupyterHub (tests/hub fixtures) with and
without the hook in the same run, alternate spawns A/B, 5 each, and report
the medians and the difference against the target (hook adds <= 100 ms).
"""
NAME = "hub"
TITLE = "6. Hub spawn with and without the hook"


def run(quick=False):
    return {"status": "not yet measured", "target": "the hook adds <= 100 ms to spawn (median of 5)"}


def rows(res):
    return [("spawn -> ready, without the hook", "not yet measured", "", ""),
            ("spawn -> ready, with the hook", "not yet measured", "hook adds <= 100 ms", "not yet measured")]


HEADERS = ("measure", "median", "target", "verdict")
