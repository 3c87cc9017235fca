"""daemon/py/sparkd_helpers.py (the module `_sparkd` in kernels) as Python:
the properties file it writes, the security settings it adds, the Spark
Connect channel it opens.  No JVM here: the sessions suite runs it for real."""
import importlib.util
import os
import stat
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def helpers():
    spec = importlib.util.spec_from_file_location("_sparkd_test", ROOT / "daemon" / "py" / "sparkd_helpers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def java_load_value(text):
    """What java.util.Properties.load reads for one escaped value."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        i += 1
        if c != "\\":
            out.append(c)
            continue
        c = text[i]
        i += 1
        if c == "u":
            out.append(chr(int(text[i:i + 4], 16)))
            i += 4
        else:
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(c, c))
    # UTF-16 surrogate pairs from \\uXXXX\\uXXXX back to one character
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


@pytest.mark.parametrize("value", [
    "local[*]", "a=b:c#d!e", "back\\slash", "two\nlines\r\t\f", " lead and trail ", "caf\u00e9 \u20ac \U0001F600",
    "\x01\x7f", "-Dx=\"$(id)\" `id`;", "",
])
def test_properties_escape_reads_back(helpers, value):
    escaped = helpers.properties_escape(value)
    assert all(" " <= ch <= "~" for ch in escaped), escaped  # one line of ASCII
    assert not escaped.startswith((" ", "#", "!"))
    assert java_load_value(escaped) == value


def test_properties_escape_keys_escape_every_space(helpers):
    assert helpers.properties_escape("a b=c", key=True) == "a\\ b\\=c"


def test_write_properties_is_private_and_new(helpers, tmp_path):
    path = tmp_path / "spark.properties"
    old = os.umask(0)
    try:
        helpers.write_properties(str(path), {"spark.app.name": "x = y", "spark.ui.enabled": True, "n": 3})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "spark.app.name=x \\= y\nspark.ui.enabled=true\nn=3\n"
    with pytest.raises(FileExistsError):  # never over an existing file (or a planted link)
        helpers.write_properties(str(path), {})


@pytest.mark.parametrize("master,loopback", [("local[2]", True), ("local", True),
                                             ("spark://cluster:7077", False), ("yarn", False)])
def test_secure_binds_local_masters_to_loopback(helpers, monkeypatch, master, loopback):
    monkeypatch.setattr(helpers, "spark_major", lambda: 4)
    conf, env = {"spark.ui.filters": "com.example.Mine"}, {}
    helpers.secure(master, conf, env)
    assert (conf.get("spark.driver.bindAddress") == "127.0.0.1") is loopback
    assert (env.get("SPARK_LOCAL_IP") == "127.0.0.1") is loopback
    assert (conf.get("spark.authenticate") == "true") is loopback
    # the UI filter is added to the configuration's own, with a fresh key (a lazy start)
    assert conf["spark.ui.filters"] == "com.example.Mine," + helpers.JWS_FILTER
    assert len(conf[helpers.JWS_KEY]) == 43


def test_secure_uses_the_daemons_secrets(helpers, monkeypatch):
    monkeypatch.setattr(helpers, "spark_major", lambda: 4)
    helpers.session = {"ui_key": "K" * 43, "auth_secret": "s3cr3t", "loopback": True}
    conf, env = {}, {}
    helpers.secure("spark://127.0.0.1:7077", conf, env)
    assert conf[helpers.JWS_KEY] == "K" * 43
    assert conf["spark.authenticate.secret"] == "s3cr3t" and conf["spark.authenticate"] == "true"
    assert conf["spark.driver.host"] == "127.0.0.1"  # the daemon's own cluster is on this host


def test_secure_leaves_the_filter_out_before_spark_4(helpers, monkeypatch):
    monkeypatch.setattr(helpers, "spark_major", lambda: 3)
    conf = {}
    helpers.secure("local[*]", conf, {})
    assert "spark.ui.filters" not in conf and helpers.JWS_KEY not in conf  # Spark 3 would not start
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_spark_defaults_are_read(helpers, monkeypatch, tmp_path):
    (tmp_path / "spark-defaults.conf").write_text(
        "# comment\n! also\nspark.a   1\nspark.b=two words\nspark.c: x\n\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert helpers.spark_defaults() == {"spark.a": "1", "spark.b": "two words", "spark.c": "x"}
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "missing"))
    assert helpers.spark_defaults() == {}


def test_connect_builder_talks_to_loopback_in_clear_with_the_token(helpers, monkeypatch):
    import grpc
    seen = {}

    def secure_channel(target, creds, options=None, **kw):
        seen["target"], seen["creds"] = target, creds
        return object()

    monkeypatch.setattr(grpc, "secure_channel", secure_channel)
    local = []
    real_local = grpc.local_channel_credentials
    monkeypatch.setattr(grpc, "local_channel_credentials", lambda kind: local.append(kind) or real_local(kind))
    builder = helpers.connect_builder("sc://127.0.0.1:15002/;token=abc")
    builder._channel_builder.toChannel()
    assert seen["target"] == "127.0.0.1:15002"
    assert local == [grpc.LocalConnectionType.LOCAL_TCP]  # plain text, loopback peers only
    # another host: PySpark's own rule (TLS for a token)
    local.clear()
    builder = helpers.connect_builder("sc://example.org:15002/;token=abc")
    builder._channel_builder.toChannel()
    assert seen["target"] == "example.org:15002" and local == []


class FakeShell:
    def __init__(self, parent):
        self.parent_header = parent


@pytest.mark.parametrize("parent,tags", [
    ({"header": {"msg_id": "m-1"}, "metadata": {"cellId": "c-1"}}, ["sparkd-cell-c-1", "sparkd-msg-m-1"]),
    ({"header": {"msg_id": "m,2"}, "metadata": {}}, ["sparkd-msg-m2"]),  # Spark refuses commas
    ({"header": {"msg_id": 3}, "metadata": {"cellId": None}}, []),
    ({}, []),
])
def test_job_tags_name_the_cell_and_the_request(helpers, parent, tags):
    assert helpers.job_tags(FakeShell(parent)) == tags


def test_tag_jobs_tags_each_cell_once_and_stop_removes_it(helpers, monkeypatch):
    """The pre_run_cell hook on a real IPython shell, for a session whose
    type lives in pyspark.sql.connect (Spark Connect's addTag API)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    calls = []
    Connect = type("SparkSession", (), {
        "__module__": "pyspark.sql.connect.session",
        "clearTags": lambda self: calls.append("clear"),
        "addTag": lambda self, tag: calls.append(tag),
    })
    shell.parent_header = {"header": {"msg_id": "first"}, "metadata": {}}
    helpers.tag_jobs(Connect())
    helpers.tag_jobs(Connect())  # a second session replaces the hook
    assert calls == ["clear", "sparkd-msg-first"] * 2
    calls.clear()
    shell.parent_header = {"header": {"msg_id": "second"}, "metadata": {"cellId": "abc"}}
    shell.run_cell("1 + 1")
    assert calls == ["clear", "sparkd-cell-abc", "sparkd-msg-second"]
    calls.clear()
    helpers.untag_jobs()
    shell.run_cell("2 + 2")
    assert calls == []
