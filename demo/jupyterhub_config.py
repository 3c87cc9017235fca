# The `make demo` hub: JupyterHub on 127.0.0.1 with Start Spark, for trying it
# out on one machine.  demo/run.py starts it with these variables set:
#   DEMO_DIR       state (database, cookie secret, users' homes) — build/demo
#   DEMO_PORT      the public port (8000)
#   DEMO_PASSWORD  the shared password (random, printed by run.py)
#   DEMO_VENV      the Python environment with jupyterhub, jupyterlab,
#                  start-spark and pyspark (.venv)
# NOT for production: every user runs under the uid of whoever started the
# demo (SimpleLocalProcessSpawner), so users are not isolated from each other.
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIR = Path(os.environ.get("DEMO_DIR", ROOT / "build" / "demo"))
VENV = Path(os.environ.get("DEMO_VENV", ROOT / ".venv"))
PORT = int(os.environ.get("DEMO_PORT", "8000"))

c = get_config()  # noqa: F821 (given by jupyterhub)

c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:" + os.environ.get("DEMO_HUB_PORT", "8081")
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:" + os.environ.get("DEMO_PROXY_API_PORT", "8001")
c.ConfigurableHTTPProxy.command = [str(ROOT / "tests/e2e/node_modules/.bin/configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(DIR / "proxy.pid")
c.JupyterHub.pid_file = str(DIR / "hub.pid")
c.JupyterHub.db_url = f"sqlite:///{DIR}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = str(DIR / "cookie_secret")

# Any user name, one shared password (JupyterHub's successor of
# DummyAuthenticator.password).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["DEMO_PASSWORD"]
c.Authenticator.allow_all = True

# Everyone under the demo's uid, homes under DEMO_DIR/home: no Unix users needed.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(DIR / "home" / "{username}")
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 90
c.Spawner.environment = {
    "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
    "PYSPARK_PYTHON": str(VENV / "bin" / "python"),
}
if os.geteuid() == 0:
    c.Spawner.args = ["--ServerApp.allow_root=True"]

# Start Spark: the hook wraps every server's command with sparkd-launch.
sys.path.insert(0, str(ROOT / "hub-hook"))
import sparkd_hub  # noqa: E402

sparkd_hub.configure(
    c,
    launcher=str(ROOT / "tools" / "sparkd-launch"),
    sparkd=str(ROOT / "daemon" / "sparkd"),
    config_dirs=[str(ROOT / "demo" / "configs")],  # Spark in local mode only
)
