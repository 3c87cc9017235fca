#!/usr/bin/env python3
"""Renders every case of DIR/*.test with sparkd and with Jinja2; both must
print the case's expected output byte for byte, or both must fail.

usage: SPARKD=path/to/sparkd tests/jinja_compare.py DIR

The case format is described in tests/data/templates/README.  Jinja2 runs
with the reference environment the template engine is specified against
(daemon/tmpl.h): StrictUndefined, keep_trailing_newline, a finalize that
writes Python literals and passes Markup through, and a `py` filter.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup


def literal(x):
    """The Python literal of a JSON value (what sparkd's pylit writes)."""
    if isinstance(x, bool):
        return "True" if x else "False"
    if x is None:
        return "None"
    if isinstance(x, int):
        return str(int(x))
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError("NaN and infinity have no Python literal")
        return repr(float(x))
    if isinstance(x, str):
        return json.dumps(str(x), ensure_ascii=False)
    if isinstance(x, list):
        return "[" + ", ".join(literal(i) for i in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(literal(k) + ": " + literal(v) for k, v in x.items()) + "}"
    raise TypeError(f"no Python literal for {type(x).__name__}")


def finalize(x):
    return x if isinstance(x, Markup) else Markup(literal(x))


def reference_env():
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True, finalize=finalize)
    env.filters["py"] = lambda x: Markup(literal(x))
    return env


MARKER = re.compile(r"^%%(TEMPLATE|CONTEXT|OUTPUT|ERROR|LIMIT|END)(-NONL)?(?:[ \t]+(.*))?$")


class Case:
    def __init__(self, path, line, name):
        self.path, self.line, self.name = path, line, name
        self.template = None
        self.context = "{}"
        self.output = None
        self.error = None  # (message substring or None, "LINE:COL" or None)
        self.limit = False

    def where(self):
        label = f" ({self.name})" if self.name else ""
        return f"{self.path}:{self.line}{label}"


def parse_error_block(text):
    msg, pos = None, None
    for ln in text.splitlines():
        ln = ln.strip()
        if not ln:
            continue
        if re.fullmatch(r"\d+:\d+", ln):
            pos = ln
        else:
            msg = ln
    return msg, pos


def parse_file(path):
    """Splits a .test file into cases; raises ValueError on a malformed file."""
    data = path.read_bytes().decode("utf-8")
    parts = data.split("\n")  # only \n ends a line (templates may hold \r, \f, U+2028)
    lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    cases, case, block, buf, nonl = [], None, None, [], False

    def close_block():
        text = "".join(buf)
        if nonl and text.endswith("\n"):
            text = text[:-1]
        if block == "TEMPLATE":
            case.template = text
        elif block == "CONTEXT":
            case.context = text
        elif block == "OUTPUT":
            case.output = text
        elif block in ("ERROR", "LIMIT"):
            case.error = parse_error_block(text)
            case.limit = block == "LIMIT"

    for no, raw in enumerate(lines, 1):
        m = MARKER.match(raw.rstrip("\n"))
        if not m:
            if block is not None:
                buf.append(raw)
            elif raw.strip() and not raw.startswith("#"):
                raise ValueError(f"{path}:{no}: text outside a case")
            continue
        kind, flag, rest = m.group(1), m.group(2), m.group(3)
        if block is not None:
            close_block()
        if kind == "TEMPLATE":
            if case is not None:
                raise ValueError(f"{path}:{no}: %%TEMPLATE before %%END")
            case = Case(path, no, (rest or "").strip())
        elif case is None:
            raise ValueError(f"{path}:{no}: %%{kind} outside a case")
        if kind == "END":
            if case.template is None or (case.output is None) == (case.error is None):
                raise ValueError(f"{case.where()}: a case needs a template and one of OUTPUT/ERROR/LIMIT")
            cases.append(case)
            case, block = None, None
        else:
            block, buf, nonl = kind, [], flag is not None
    if case is not None or block is not None:
        raise ValueError(f"{path}: unterminated case at end of file")
    return cases


def run_sparkd(sparkd, tmpdir, case):
    tpl = Path(tmpdir, "case.j2")
    ctx = Path(tmpdir, "case.json")
    tpl.write_bytes(case.template.encode("utf-8"))
    ctx.write_bytes(case.context.encode("utf-8"))
    p = subprocess.run([sparkd, "--render-template", str(tpl), "--context", str(ctx)],
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), str(tpl)


def run_jinja(env, case):
    """(True, output bytes) or (False, error text)."""
    try:
        ctx = json.loads(case.context)
        out = env.from_string(case.template).render(ctx)
        return True, out.encode("utf-8")
    except Exception as e:  # every Jinja2 failure counts as "fails"
        return False, f"{type(e).__name__}: {e}"


def check_error(case, rc, stderr, tplname):
    if rc != 1:
        return f"sparkd exit {rc}, expected 1"
    m = re.match(re.escape(tplname) + r":(\d+):(\d+): (.*)", stderr)
    if not m:
        return f"stderr is not FILE:LINE:COL: message: {stderr!r}"
    want_msg, want_pos = case.error
    if want_pos and f"{m.group(1)}:{m.group(2)}" != want_pos:
        return f"error at {m.group(1)}:{m.group(2)}, expected {want_pos} ({m.group(3)})"
    if want_msg and want_msg not in m.group(3):
        return f"error message {m.group(3)!r} lacks {want_msg!r}"
    return None


def check_case(sparkd, env, tmpdir, case):
    """None when the case passes, else what went wrong."""
    rc, out, err, tplname = run_sparkd(sparkd, tmpdir, case)
    if case.error is not None:
        problem = check_error(case, rc, err, tplname)
        if problem:
            return problem
        if case.limit:
            return None  # Jinja2 has no such limit
        ok, jout = run_jinja(env, case)
        return f"Jinja2 succeeded where sparkd failed: {jout!r}" if ok else None
    want = case.output.encode("utf-8")
    if rc != 0:
        return f"sparkd failed (exit {rc}): {err.strip()}"
    if out != want:
        return f"sparkd printed {out!r}, expected {want!r}"
    ok, jout = run_jinja(env, case)
    if not ok:
        return f"Jinja2 failed: {jout}"
    if jout != want:
        return f"Jinja2 printed {jout!r}, expected {want!r}"
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    sparkd = os.environ.get("SPARKD")
    if not sparkd:
        print("jinja-compare: set SPARKD to the sparkd binary", file=sys.stderr)
        return 2
    files = sorted(Path(argv[1]).glob("*.test"))
    if not files:
        print(f"jinja-compare: no *.test files in {argv[1]}", file=sys.stderr)
        return 2
    env = reference_env()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="jinja-compare.") as tmpdir:
        for f in files:
            try:
                cases = parse_file(f)
            except ValueError as e:
                print(f"FAIL {e}")
                failed += 1
                continue
            for case in cases:
                problem = check_case(sparkd, env, tmpdir, case)
                if problem:
                    failed += 1
                    print(f"FAIL {case.where()}: {problem}")
                else:
                    passed += 1
    print(f"jinja-compare: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
