#!/usr/bin/env python3
"""Lints the kernel-side Python with pyflakes, as it runs: the helpers and
py2c.py alone, each warm-up after the helpers (they run as one `python -c`
program, so a warm-up may use the helpers' names).  Exits 1 on any message.

    python -m ... daemon/py/lint.py
"""
import sys
from pathlib import Path

from pyflakes.api import check
from pyflakes.reporter import Reporter

HERE = Path(__file__).resolve().parent


def main():
    reporter = Reporter(sys.stdout, sys.stderr)
    helpers = (HERE / "sparkd_helpers.py").read_text()
    problems = check(helpers, "daemon/py/sparkd_helpers.py", reporter)
    problems += check((HERE / "py2c.py").read_text(), "daemon/py/py2c.py", reporter)
    for warmup in sorted(HERE.glob("warmup_*.py")):
        program = helpers + "\n" + warmup.read_text()
        problems += check(program, f"sparkd_helpers.py + daemon/py/{warmup.name}", reporter)
    print(f"py-lint: {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
