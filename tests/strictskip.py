"""A pytest plugin for `make test`: a test that did not run is a failure.

Loaded with `-p strictskip` (the Makefile puts tests/ on PYTHONPATH).  Any
skipped test (a skip() call, skipif, importorskip, an xfail) and any
deselected test fails the run, with the list printed at the end, unless the
test is marked `@pytest.mark.optional(reason="...")`: those skips are
allowed and their reasons are printed in the summary.  A session with no
test at all fails too.  A missing dependency (PySpark, Java, root,
Chromium) must fail the test with what to install, never skip it.
"""
_not_run = []
_optional = []
_deselected_here = []  # by -m in a split run (--deselect-ok): they run in the other pass


_config = None


def pytest_addoption(parser):
    parser.addoption("--deselect-ok", action="store_true", default=False,
                     help="this run is one side of a split by -m (e.g. -m jvm / -m 'not jvm'): "
                          "the tests it deselects run in another pass of make test")


def pytest_configure(config):
    global _config
    _config = config
    config.addinivalue_line(
        "markers", "optional(reason): this test may be skipped in `make test`; the reason is printed")
    config.addinivalue_line(
        "markers", "jvm: starts Spark (a JVM); the ASan pass leaves these to the normal pass")
    config.addinivalue_line(
        "markers", "warm: a jvm test of pre-warming or lazy starts (make test runs them in their own suite)")
    config.addinivalue_line(
        "markers", "slurm: a jvm test against a private Slurm cluster (make test runs them in their own suite)")


def pytest_deselected(items):
    split = _config is not None and _config.getoption("--deselect-ok") and _config.getoption("-m")
    for item in items:
        if item.get_closest_marker("optional") is not None:
            continue
        if split:
            _deselected_here.append(item.nodeid)
            continue
        _not_run.append((item.nodeid, "deselected"))


def pytest_runtest_logreport(report):
    if not report.skipped:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if "optional" in report.keywords:
        _optional.append((report.nodeid, reason))
    else:
        _not_run.append((report.nodeid, "xfail" if hasattr(report, "wasxfail") else reason))


def pytest_terminal_summary(terminalreporter):
    if _deselected_here:
        terminalreporter.write_line(f"{len(_deselected_here)} test(s) deselected by -m here: "
                                    "they run in the other pass of make test")
    for nodeid, reason in _optional:
        terminalreporter.write_line(f"OPTIONAL, not run: {nodeid}: {reason}")
    for nodeid, reason in _not_run:
        terminalreporter.write_line(f"NOT RUN (a failure in make test): {nodeid}: {reason}", red=True)


def pytest_sessionfinish(session, exitstatus):
    if _not_run and session.exitstatus == 0:
        session.exitstatus = 1
    if session.testscollected == 0 and session.exitstatus == 0:
        session.exitstatus = 1
