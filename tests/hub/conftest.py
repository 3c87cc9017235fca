"""Fixtures for the hub-side pieces: the hook (imported from hub-hook/), the
launcher, sparkctl and the systemd units, against the real sparkd.

Tests marked ``needs_sessions`` drive a real kernel through the sessions API;
they are deselected unless ``--run-sessions`` (or SPARKD_TEST_SESSIONS=1) is
given, because they need ipykernel and PySpark in the environment."""
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hub-hook"))

SPARKD = os.environ.get("SPARKD", str(ROOT / "daemon" / "sparkd"))
SPARKCTL = os.environ.get("SPARKCTL", str(ROOT / "tools" / "sparkctl"))
SPARKD_LAUNCH = os.environ.get("SPARKD_LAUNCH", str(ROOT / "tools" / "sparkd-launch"))

# The daemon helpers of the integration suite, loaded under another name (its
# file is also called conftest.py).
_spec = importlib.util.spec_from_file_location(
    "sparkd_integration_helpers", ROOT / "tests" / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)
integration.SPARKD = SPARKD
Daemon = integration.Daemon
curl = integration.curl
SANITIZER_MARKERS = integration.SANITIZER_MARKERS


def pytest_addoption(parser):
    parser.addoption("--run-sessions", action="store_true", default=False,
                     help="also run the tests marked needs_sessions (real kernels, PySpark)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_sessions: drives a real kernel through /api/sessions; "
        "deselected unless --run-sessions or SPARKD_TEST_SESSIONS=1")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-sessions") or os.environ.get("SPARKD_TEST_SESSIONS") == "1":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("needs_sessions") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def short_tmp():
    """A short directory under /tmp: socket paths must fit in 108 bytes."""
    d = tempfile.mkdtemp(prefix="sh-", dir="/tmp")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def hub_daemon_factory(short_tmp):
    made = []

    def make(**kw):
        base = short_tmp / f"d{len(made)}"
        base.mkdir()
        d = Daemon(base, **kw)
        made.append(d)
        return d

    yield make
    errors = []
    for d in made:
        try:
            d.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            d.kill()
    assert not errors, "\n".join(errors)


@pytest.fixture
def hub_daemon(hub_daemon_factory):
    return hub_daemon_factory().start()
