"""The installed daemon finds its shipped data beside itself, however the
install tree was made (built for another PREFIX, copied, moved), and
--check-config is an honest verdict: no configuration or no default is a
failure that names where it looked.  /api/health says when pre-warming is
off and why."""
import os
import shutil
import subprocess
import time
from pathlib import Path

from conftest import ROOT, SPARKD


def install_tree(prefix):
    """What `make install PREFIX=prefix` lays out, with the daemon built for
    another PREFIX (the test binary's SPARKD_DATADIR is not prefix)."""
    (prefix / "bin").mkdir(parents=True)
    shutil.copy2(SPARKD, prefix / "bin" / "sparkd")
    data = prefix / "share" / "sparkd" / "configs"
    shutil.copytree(ROOT / "configs", data, ignore=shutil.ignore_patterns("*.json"))
    for d in (prefix, prefix / "bin", prefix / "share", prefix / "share" / "sparkd", data, data / "templates"):
        d.chmod(0o755)
    return prefix / "bin" / "sparkd"


def check(sparkd, *args, home):
    env = dict(os.environ, HOME=str(home))
    for k in ("SPARKD_CONFIG_DIRS", "SPARKD_USER_CONFIG_DIR", "XDG_CONFIG_HOME"):
        env.pop(k, None)
    return subprocess.run([str(sparkd), "--check-config", *args], capture_output=True, text=True, env=env)


def test_installed_tree_finds_its_shipped_configurations(tmp_path):
    sparkd = install_tree(tmp_path / "somewhere")
    p = check(sparkd, home=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().endswith("configuration OK (8 configurations, default: local)"), p.stdout
    # moved elsewhere, the tree still works
    moved = tmp_path / "elsewhere"
    (tmp_path / "somewhere").rename(moved)
    p = check(moved / "bin" / "sparkd", home=tmp_path)
    assert p.returncode == 0 and "configuration OK (8 configurations, default: local)" in p.stdout, p.stdout


def test_shipped_data_writable_by_others_is_not_used(tmp_path):
    sparkd = install_tree(tmp_path / "x")
    data = tmp_path / "x" / "share" / "sparkd"
    (data / "configs").chmod(0o777)
    p = check(sparkd, home=tmp_path)
    assert p.returncode == 1, p.stdout
    assert f"{data} beside this sparkd is not used" in p.stdout, p.stdout
    assert str(data / "configs") not in p.stdout.split("looked in")[1].split(")")[0]


def test_no_configuration_is_a_failure_naming_the_directories(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run([SPARKD, "--check-config", "--config-dir", str(empty), "--user-config-dir",
                        str(tmp_path / "mine")], capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stdout.strip() == f"no configuration found (looked in {empty} and {tmp_path / 'mine'} (yours))"


def test_no_default_is_a_failure(tmp_path):
    d = tmp_path / "configs"
    (d / "templates").mkdir(parents=True)
    shutil.copy2(ROOT / "configs" / "templates" / "default.py.j2", d / "templates")
    (d / "mine.yaml").write_text("master: local[2]\n")
    p = subprocess.run([SPARKD, "--check-config", "--config-dir", str(d), "--user-config-dir", ""],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stdout.strip() == (f"no default configuration: none of the 1 found says `default: true` "
                                f"(looked in {d})"), p.stdout


def test_yaml_only_directory_uses_the_shipped_templates(tmp_path):
    """/etc/sparkd/configs with YAML files and no templates/: the shipped
    default template serves them (it did not when --config-dir was given)."""
    sparkd = install_tree(tmp_path / "prefix")
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy2(ROOT / "configs" / "local.yaml", etc / "site.yaml")
    p = check(sparkd, "--config-dir", str(etc), home=tmp_path)
    assert p.returncode == 0, p.stdout
    assert "configuration OK (1 configurations, default: local)" in p.stdout


def health_prewarm(d, want_state, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        pw = d.get("/api/health").json()["prewarm"]
        if pw["state"] == want_state or time.monotonic() > deadline:
            return pw
        time.sleep(0.05)


def test_health_says_why_pre_warming_is_off(daemon_factory, tmp_path):
    # a Python without pyspark (sys.executable of the tests has it)
    nopy = tmp_path / "bin" / "python3"
    nopy.parent.mkdir()
    nopy.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pyspark'\" >&2\nexit 1\n")
    nopy.chmod(0o755)
    d = daemon_factory(env={"SPARKD_PREWARM_MAX": "2", "SPARKD_PYTHON": str(nopy)}).start()
    pw = health_prewarm(d, "off")
    assert pw["state"] == "off", pw
    assert pw["reason"] == (f"no PySpark for {nopy} (set SPARKD_PYTHON to a Python with pyspark, "
                            "or SPARK_HOME)"), pw
    assert pw["python"] == str(nopy)


def test_health_says_pre_warming_is_turned_off(daemon_factory):
    d = daemon_factory().start()  # the test daemons run with SPARKD_PREWARM_MAX=0
    pw = d.get("/api/health").json()["prewarm"]
    assert pw["state"] == "off" and pw["reason"] == "--prewarm-max is 0 (or SPARKD_PREWARM_MAX=0)", pw


def test_health_names_the_python_it_found_spark_with(daemon_factory, tmp_path):
    """A Python named by a bare name is shown as the path found on PATH;
    a Python with pyspark turns pre-warming on (no JVM is asked for here:
    the only configuration is not local)."""
    import sys
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "pyspark-python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bindir / "pyspark-python").chmod(0o755)
    admin = tmp_path / "admin"
    (admin / "templates").mkdir(parents=True)
    shutil.copy2(ROOT / "configs" / "templates" / "default.py.j2", admin / "templates")
    (admin / "warm.yaml").write_text("master: local[1]\nprewarm: true\ndefault: true\n")
    d = daemon_factory(admin_dirs=[admin], extra_args=["--prewarm-idle", "1"],
                       env={"SPARKD_PREWARM_MAX": "1", "SPARKD_PYTHON": "pyspark-python",
                            "PATH": f"{bindir}:{os.environ['PATH']}"}).start()
    pw = health_prewarm(d, "on")
    assert pw["state"] == "on", pw
    assert pw["python"] == str(bindir / "pyspark-python")
    assert pw["spark_home"].endswith("/pyspark"), pw
    assert pw["reason"] is None


def test_make_install_lays_out_what_the_docs_name(tmp_path):
    """`make install DESTDIR=… PREFIX=/usr/local` (nothing rebuilt): the
    binaries, shipped configurations and templates, the configuration
    schema, man pages and user units; the installed sparkd, staged away
    from PREFIX, finds its shipped configurations beside itself."""
    dest = tmp_path / "stage"
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "install", f"DESTDIR={dest}", "PREFIX=/usr/local",
                        "-o", "daemon/sparkd", "-o", "tools/sparkctl", "-o", "tools/sparkd-launch"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    root = dest / "usr" / "local"
    want = ["bin/sparkd", "bin/sparkctl", "bin/sparkd-launch", "share/sparkd/schema.json",
            "share/sparkd/configs/local.yaml", "share/sparkd/configs/templates/default.py.j2",
            "share/man/man8/sparkd.8", "share/man/man1/sparkctl.1", "share/man/man8/sparkd-launch.8",
            "lib/systemd/user/sparkd.socket", "lib/systemd/user/sparkd.service"]
    missing = [w for w in want if not (root / w).is_file()]
    assert not missing, missing
    import json
    schema = json.loads((root / "share/sparkd/schema.json").read_text())
    assert schema["type"] == "object" and "master" in schema["properties"]
    assert not list((root / "share/sparkd/configs").glob("*.json")), "the schema is not a configuration"
    assert "ExecStart=/usr/local/bin/" in (root / "lib/systemd/user/sparkd.service").read_text()
    for d in [root, *[x for x in root.rglob("*") if x.is_dir()]]:
        d.chmod(0o755)
    for d in (tmp_path, dest, dest / "usr"):
        d.chmod(0o755)
    p = check(root / "bin" / "sparkd", home=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "configuration OK (8 configurations, default: local)" in p.stdout, p.stdout
