"""Fixtures of the end-to-end suite: the test's Unix users, a real JupyterHub
with the sparkd hook (hubenv.Hub), and a headless Debian Chromium driven by
Playwright.  Needs root (LocalProcessSpawner switches to the users' uids)."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import hubenv  # noqa: E402

USERS = ("e2ealice", "e2ebob", "e2ecarol")
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


def pytest_configure(config):
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    config.addinivalue_line("markers", "browser: drives Debian's Chromium through Playwright")


def _precheck():
    if os.geteuid() != 0:
        pytest.fail("the end-to-end suite creates Unix users and switches uids: "
                    "run the tests as root (sudo make test)", pytrace=False)
    for path, what in ((hubenv.CHP, "configurable-http-proxy (cd tests/e2e && npm ci)"),
                       (hubenv.SPARKD, "daemon/sparkd (make)"),
                       (hubenv.SPARKD_LAUNCH, "tools/sparkd-launch (make)"),
                       (hubenv.VENV / "bin" / "jupyterhub-singleuser", "the e2e venv (make e2e-venv)")):
        if not os.access(path, os.X_OK):
            pytest.fail(f"missing {what}: {path}")


@pytest.fixture(scope="session")
def e2e_base():
    _precheck()
    d = Path(tempfile.mkdtemp(prefix="e2e-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def users(e2e_base):
    made = {name: hubenv.ensure_user(name) for name in USERS}
    # the users' servers run the e2e venv's Python: it must be theirs to execute
    probe = hubenv.subprocess.run(
        ["runuser", "-u", USERS[0], "--", str(hubenv.VENV / "bin" / "python"), "-c", "import jupyterhub"],
        capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail("the test users cannot run the e2e venv's Python "
                    f"({hubenv.VENV}); build it from /usr/bin/python3 (make e2e-venv):\n{probe.stderr}")
    yield made
    for name in USERS:
        hubenv.remove_user(name)


@pytest.fixture(scope="session")
def hub(e2e_base, users):
    h = hubenv.Hub(e2e_base / "hub").start()
    yield h
    h.stop()
    hubenv.save_log(h, "hub")


@pytest.fixture(scope="session")
def artifacts():
    hubenv.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return hubenv.ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make deps)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        # launch() gives every run a fresh temporary user-data-dir
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
