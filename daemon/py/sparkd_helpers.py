"""_sparkd: the helpers sparkd installs in a kernel.

sparkd puts this module into ``sys.modules['_sparkd']`` (never into the
user's namespace): the IPython startup file it writes installs it first,
and every execute_request the daemon sends installs it again before
calling ``run()`` or ``stop()``.  The rendered template calls
``prepare()`` before it builds the SparkSession, and ``connect_builder()``
for a Spark Connect URL.

What it guarantees on a host shared with other users (docs/admin-guide.md,
"Security model"):

- no configuration value or secret goes on a command line: the driver JVM
  is started with ``--properties-file`` (a 0600 file in a private
  directory, removed once the JVM has read it), never ``--conf k=v``;
- a driver of a local master listens on 127.0.0.1 only
  (``spark.driver.bindAddress``, ``spark.driver.host``, ``SPARK_LOCAL_IP``
  for the UI) and authenticates its RPC (``spark.authenticate``);
- the Spark UI needs a token signed with the session's key (Spark >= 4.0's
  ``org.apache.spark.ui.JWSFilter``): only the daemon, which proxies it
  under the user's hub URL, holds that token;
- a Spark Connect token is sent only to the literal address the server
  bound (127.0.0.1), in clear text over loopback, never to ``localhost``
  (which may resolve to another user's ``[::1]`` listener).

This file is plain Python (linted and tested as such); the build turns it
into a C string (daemon/py/py2h.py).
"""

import os
import re
import sys

# What the daemon gave for the current start: {"ui_key": base64url key of
# the UI's JWSFilter, "auth_secret": the cluster's RPC secret, "loopback":
# the master runs on this host}; empty for a lazy start from the startup file.
session = {}
handover = None  # the daemon's warm driver JVM {port, secret, pid, spark_home, pin_thread[, context]}
prewarmed = False
ahead = False       # the SparkContext was the one the warm-up created ahead (adopt_context)
cancelled = False
# What the startup file tells a lazy `spark` about its daemon: {"socket",
# "config", "overrides"}; None in the code a click sends.
daemon = None
managed = None      # the kernel id of a lazy session the daemon manages
start_log = []      # the driver JVM's start-up lines (kept out of the cell)
quiet = [False]     # the JVM's stderr is kept out of the cell while true
DAEMON_TIMEOUT = 3.0  # seconds a lazy start waits for the daemon's answer, then starts alone
DAEMON_LONG_WAIT = 100.0  # once it said "102 Processing": a warm JVM is almost ready
DAEMON_MAX_ANSWER = 1 << 20
PRELOAD_DELAY = 0.5  # seconds after the startup file before PySpark is imported ahead
PRELOAD_WAIT = 60.0  # at most this long an execution waits for that import to end
preloading = None   # {"timer", "done"} once PySpark is imported ahead

JWS_FILTER = "org.apache.spark.ui.JWSFilter"
JWS_KEY = "spark.org.apache.spark.ui.JWSFilter.param.secretKey"
LOOPBACK = "127.0.0.1"


def is_local(master):
    """True for the masters whose executors run in the driver's JVM."""
    return master == "local" or str(master).startswith("local[")


def spark_major():
    """The major version of the kernel's PySpark, 0 when unknown."""
    try:
        from pyspark.version import __version__

        return int(__version__.split(".")[0])
    except Exception:
        return 0


def random_key():
    """A fresh 256-bit key, base64url without padding (what JWSFilter reads)."""
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def secure(master, conf, env):
    """Adds to conf and env (in place) what keeps this session private.

    A local master (or one the daemon runs on this host) binds to loopback
    and authenticates its RPC; the UI gets a JWSFilter with the session's
    key, or a random one nobody holds when the daemon gave none (a lazy
    start: its UI is not proxied).  Spark < 4.0 has no JWSFilter: the UI is
    then only bound to loopback, and info() says it is not protected.
    """
    if is_local(master) or session.get("loopback"):
        conf["spark.driver.bindAddress"] = LOOPBACK
        conf["spark.driver.host"] = LOOPBACK
        conf["spark.authenticate"] = "true"
        env["SPARK_LOCAL_IP"] = LOOPBACK
    if session.get("auth_secret"):
        conf["spark.authenticate"] = "true"
        conf["spark.authenticate.secret"] = session["auth_secret"]
    # progress belongs to the UI and the toolbar, not to the cell's output
    conf["spark.ui.showConsoleProgress"] = "false"
    if spark_major() >= 4:
        filters = [f for f in str(conf.get("spark.ui.filters") or "").split(",") if f.strip()]
        if JWS_FILTER not in filters:
            filters.append(JWS_FILTER)
        conf["spark.ui.filters"] = ",".join(filters)
        conf[JWS_KEY] = session.get("ui_key") or random_key()


def properties_escape(text, key=False):
    """text as java.util.Properties.load reads it back exactly."""
    out = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\f":
            out.append("\\f")
        elif ch in "=:#!" or (ch == " " and (key or i == 0)):
            out.append("\\" + ch)
        elif code < 0x20 or code > 0x7E:
            units = ch.encode("utf-16-be")  # two units for a character beyond U+FFFF
            out.extend("\\u%02x%02x" % (units[j], units[j + 1]) for j in range(0, len(units), 2))
        else:
            out.append(ch)
    return "".join(out)


def conf_text(value):
    """A conf value as Spark reads it (booleans lower-case, like PySpark)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def spark_defaults():
    """The entries of the kernel's spark-defaults.conf ($SPARK_CONF_DIR, else
    $SPARK_HOME/conf): spark-submit skips that file when given
    --properties-file, unless (Spark >= 4.0) --load-spark-defaults."""
    import re

    from pyspark.find_spark_home import _find_spark_home

    try:
        conf_dir = os.environ.get("SPARK_CONF_DIR") or os.path.join(_find_spark_home(), "conf")
        with open(os.path.join(conf_dir, "spark-defaults.conf"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, ValueError):
        return {}
    out = {}
    for line in lines:
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            m = re.match(r"(\S+?)\s*[=:\s]\s*(.*)$", line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def write_properties(path, conf):
    """Writes conf as a Java properties file of mode 0600 (a new file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        for key, value in conf.items():
            f.write("%s=%s\n" % (properties_escape(str(key), key=True), properties_escape(conf_text(value))))


def stop(ns):
    """Ends Spark in the kernel (the JVM too) without restarting it."""
    if "pyspark" in sys.modules:
        s = ns.get("spark")
        if s is not None and type(s).__module__.startswith("pyspark.sql.connect"):
            try:
                s.stop()
            except Exception as e:
                print("sparkd: stopping Spark Connect failed: %s" % (e,))
        try:
            from pyspark import SparkContext
            from pyspark.sql import SparkSession

            if getattr(SparkSession, "_instantiatedSession", None) is not None:
                SparkSession._instantiatedSession.stop()
            if SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.stop()
            gw = SparkContext._gateway
            if gw is not None:
                proc = getattr(gw, "proc", None)
                try:
                    gw.shutdown()
                except Exception:
                    pass
                if proc is not None:
                    try:
                        proc.stdin.close()
                        proc.wait(timeout=20)
                    except Exception:
                        proc.kill()
                        proc.wait()
                SparkContext._gateway = None
                SparkContext._jvm = None
        except Exception as e:
            print("sparkd: stopping Spark failed: %s" % (e,))
    untag_jobs()
    for name in ("spark", "sc"):
        ns.pop(name, None)


def note(text):
    """A line about the start: into the session's log while the JVM's
    start-up lines are kept out of the cell (a lazy start), else printed
    (a click's output goes to the session's log)."""
    if quiet[0]:
        start_log.append(text)
    else:
        print(text)


# Settings a SparkContext created ahead may differ in: the daemon gives
# the session that context's UI port, and the UI's public path is a system
# property Spark reads per request (take_gateway).
CONTEXT_OWN = ("spark.ui.port", "spark.ui.proxyBase")


def create_context(spec):
    """(The daemon's warm-up, in its own process.)  Creates in the warm JVM
    the SparkContext and SparkSession a start of spec's configuration
    ({master, app_name, conf, ui_key, ui_token}) will get, as PySpark's
    builder would create them — the JVM's spark.* system properties, conf,
    master, app name, PySpark's defaults — with secure()'s settings and the
    UI key the daemon hands to that session; the UI on a free port, asked
    once (warm_ui).  No job runs in them.  Returns the UI's URL."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    try:
        from pyspark.core.context import DEFAULT_CONFIGS
    except ImportError:  # PySpark 3
        from pyspark.context import DEFAULT_CONFIGS
    session["ui_key"] = spec["ui_key"]
    conf = dict(spec["conf"])
    secure(spec["master"], conf, {})
    conf["spark.ui.port"] = "0"
    jvm = SparkContext._jvm
    jconf = jvm.org.apache.spark.SparkConf(True)
    for key, value in conf.items():
        jconf.set(key, conf_text(value))
    jconf.setMaster(spec["master"]).setAppName(spec["app_name"])
    for key, value in DEFAULT_CONFIGS.items():
        jconf.setIfMissing(key, str(value))
    jsc = jvm.org.apache.spark.api.java.JavaSparkContext(jconf)
    cls = SparkSession._get_j_spark_session_class(jvm)
    cls.setDefaultSession(cls(jsc.sc(), {}))
    url = jsc.sc().uiWebUrl()
    if not url.isDefined():
        return "no UI"
    if spec.get("ui_token"):
        warm_ui(url.get(), jsc.sc().applicationId(), spec["ui_token"])
    return url.get()


def warm_ui(url, app_id, token):
    """(The warm-up.)  Asks the UI created ahead — ours: our JVM holds its
    port — what the daemon's job progress and the user's first look ask,
    so that the first of those does not initialise the UI's REST service
    while the user's first job runs beside it on the same cores."""
    import urllib.request

    for path in ("/api/v1/applications/%s/jobs?status=running" % app_id,
                 "/api/v1/applications/%s/allexecutors" % app_id, "/jobs/"):
        req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
        except Exception:
            pass  # only a warm-up


def adopt_context(gateway, master, app_name, conf):
    """(The kernel, on a warm JVM whose handover says "context".)  Makes
    the SparkContext and SparkSession created ahead (create_context) this
    kernel's, when they were created with this start's master, app name
    and conf (after secure()): the builder's getOrCreate() then finds them
    and only wraps them.  A context with other settings (the user's
    overrides) is stopped, and the builder creates one as usual.  Returns
    True when adopted."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    jvm = gateway.jvm
    cls = SparkSession._get_j_spark_session_class(jvm)
    found = cls.getDefaultSession()
    if not found.isDefined():
        return False
    jsc = found.get().sparkContext()
    jconf = jsc.getConf()
    have = {}
    for line in jconf.toDebugString().split("\n"):  # one call for all; secrets are redacted in it
        key, sep, value = line.partition("=")
        if sep:
            have[key] = value
    want = {key: conf_text(value) for key, value in conf.items() if key not in CONTEXT_OWN}
    want["spark.master"] = master
    want["spark.app.name"] = app_name
    for key in want:
        if "(redacted)" in have.get(key, ""):
            have[key] = jconf.get(key)
    sqlconf = jvm.org.apache.spark.sql.internal.SQLConf
    # runtime SQL settings may differ: the builder sets them in the session
    differ = sorted(key for key, value in want.items() if have.get(key) != value
                    and not (key.startswith("spark.sql.") and not sqlconf.isStaticConfigKey(key)))
    if differ or jsc.isStopped():
        drop_context(gateway)
        note("sparkd: this start's settings differ from the SparkContext made ahead (%s): "
             "a new one is created" % ", ".join(differ[:8]))
        return False
    cwd = os.getcwd()
    if "spark.sql.warehouse.dir" not in conf:  # as for a context created here (take_gateway)
        jsc.conf().set("spark.sql.warehouse.dir", os.path.join(cwd, "spark-warehouse"))
    # relative paths resolve against the kernel's directory: the local file
    # system the context cached while created in the JVM's directory is moved
    fs = jvm.org.apache.hadoop.fs
    fs.FileSystem.getLocal(jsc.hadoopConfiguration()).setWorkingDirectory(fs.Path(cwd))
    SparkContext(master, app_name, gateway=gateway, jsc=jvm.org.apache.spark.api.java.JavaSparkContext(jsc))
    global ahead
    ahead = True
    return True


def drop_context(gateway):
    """Stops a SparkContext made ahead that was not adopted, so that the
    builder can create one."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    try:
        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        cls = SparkSession._get_j_spark_session_class(gateway.jvm)
        found = cls.getDefaultSession()
        cls.clearDefaultSession()
        if found.isDefined():
            found.get().sparkContext().stop()
        # file systems it cached resolve relative paths against the JVM's directory
        gateway.jvm.org.apache.hadoop.fs.FileSystem.closeAll()
    except Exception as e:
        note("sparkd: could not stop the SparkContext made ahead (%s)" % (e,))


def take_gateway(h, sconf, conf):
    """Connects to the driver JVM the daemon started for this kernel
    (daemon/prewarm.h), or returns None when this kernel cannot use it."""
    from pyspark.find_spark_home import _find_spark_home
    from pyspark.java_gateway import launch_gateway

    try:
        same = os.path.realpath(_find_spark_home()) == os.path.realpath(h["spark_home"])
    except Exception:
        same = False
    pin = os.environ.get("PYSPARK_PIN_THREAD", "true").lower()
    if (not same or pin != h["pin_thread"] or "PYSPARK_SUBMIT_ARGS" in os.environ
            or "PYSPARK_GATEWAY_PORT" in os.environ):
        return None
    os.environ["PYSPARK_GATEWAY_PORT"] = str(h["port"])
    os.environ["PYSPARK_GATEWAY_SECRET"] = h["secret"]
    gateway = None
    try:
        gateway = launch_gateway(sconf)
        system = gateway.jvm.java.lang.System
        # Spark's UI reads proxyBase from the system properties; relative
        # paths resolve against the kernel's directory as with its own JVM:
        # Hadoop's against user.dir (file systems cached meanwhile, e.g. by
        # the daemon's warm-up, are dropped), the warehouse's is set here
        base = conf.get("spark.ui.proxyBase")
        if base:
            system.setProperty("spark.ui.proxyBase", str(base))
        cwd = os.getcwd()
        system.setProperty("user.dir", cwd)
        if "spark.sql.warehouse.dir" not in conf and system.getProperty("spark.sql.warehouse.dir") is None:
            system.setProperty("spark.sql.warehouse.dir", os.path.join(cwd, "spark-warehouse"))
        if not h.get("context"):  # a live context may hold them (adopt_context)
            gateway.jvm.org.apache.hadoop.fs.FileSystem.closeAll()
        return gateway
    except Exception as e:
        print("sparkd: the prepared Spark driver could not be used (%s); starting a new one" % (e,))
        if gateway is not None:
            try:
                gateway.shutdown()
            except Exception:
                pass
        return None
    finally:
        os.environ.pop("PYSPARK_GATEWAY_PORT", None)
        os.environ.pop("PYSPARK_GATEWAY_SECRET", None)


def java_error(lines):
    """The first line of a Java exception among lines, or None."""
    import re

    for line in lines:
        m = (re.match(r"^Exception in thread \S+ (.*)$", line)
             or re.match(r"^((?:[a-z]\w*\.)+\w*(?:Exception|Error)\b.*)$", line))
        if m:
            return m.group(1)
    return None


def launch(sconf):
    """Starts the driver JVM with sconf in a 0600 properties file (never on
    its command line) and its stderr captured, so that a failure raises the
    Java exception's first line instead of "Java gateway process exited"."""
    import collections
    import shlex
    import shutil
    import tempfile
    import threading

    from pyspark.java_gateway import launch_gateway

    tail = collections.deque(maxlen=200)
    rfd, wfd = os.pipe()

    def pump():
        # start-up lines are kept (for the session's log and a failure's
        # message) while quiet[0]; later ones (Spark's warnings while jobs
        # run) go to the kernel's stderr, i.e. the running cell
        with os.fdopen(rfd, "rb", buffering=0) as f:
            for line in iter(f.readline, b""):
                text = line.decode("utf-8", "replace").rstrip()
                tail.append(text)
                if quiet[0]:
                    if len(start_log) < 200:
                        start_log.append(text)
                    continue
                try:
                    os.write(2, line)
                except OSError:
                    pass

    pumper = threading.Thread(target=pump, name="sparkd-jvm-stderr", daemon=True)
    pumper.start()
    private = tempfile.mkdtemp(prefix="sparkd-")  # 0700
    props = os.path.join(private, "spark.properties")
    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS")
    try:
        settings = dict(sconf.getAll())
        args = ["--properties-file", shlex.quote(props)]
        if spark_major() >= 4:
            args.append("--load-spark-defaults")  # as without --properties-file
        else:
            settings = dict(spark_defaults(), **settings)
        write_properties(props, settings)
        os.environ["PYSPARK_SUBMIT_ARGS"] = " ".join(args + shlex.split(submit_args or "pyspark-shell"))
        gateway = launch_gateway(None, popen_kwargs={"stderr": wfd})
    except Exception as e:
        os.close(wfd)
        pumper.join(5)
        first = java_error(tail)
        if first:
            raise RuntimeError(first) from None
        detail = " / ".join(line for line in tail if line and not line.startswith(("WARNING", "Using ")))
        raise RuntimeError("%s%s" % (e, (" (" + detail[-300:] + ")") if detail else "")) from None
    finally:
        if submit_args is None:
            os.environ.pop("PYSPARK_SUBMIT_ARGS", None)
        else:
            os.environ["PYSPARK_SUBMIT_ARGS"] = submit_args
        shutil.rmtree(private, ignore_errors=True)
    os.close(wfd)
    return gateway


def preload(remote=False):
    """Imports PySpark ahead, in a thread, once the kernel has been idle for
    PRELOAD_DELAY (the startup file calls this when the daemon keeps a warm
    JVM or Connect server for the configuration): a click or a first use
    then finds it imported instead of paying ~0.3 s (Connect: ~1 s) for it,
    and ~0.4 s more for what the first call into the JVM imports.

    Two threads must never import PySpark at once (a half-imported package
    seen from the other thread raises "partially initialized module"), so
    every execution first waits for an import under way, or holds back one
    not begun yet (IPython's pre_execute event, preload_wait()); after the
    execution (post_execute) the wait for an idle kernel starts again,
    unless the cell imported PySpark itself.  Outside IPython: nothing."""
    global preloading
    import threading

    if preloading is not None or "pyspark.sql" in sys.modules:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    done = threading.Event()

    def work():
        import importlib

        try:
            importlib.import_module("pyspark.sql")
            if remote:
                importlib.import_module("pyspark.sql.connect.session")
            else:
                # what PySpark's py4j argument converters import at the first
                # call into the JVM (NumpyArrayConverter: numpy and pandas,
                # when installed; ~0.4 s)
                importlib.import_module("pyspark.testing.utils")
        except Exception:  # an unusable PySpark says so at first use, in the cell
            pass
        finally:
            done.set()

    def arm():
        timer = threading.Timer(PRELOAD_DELAY, work)
        timer.name, timer.daemon = "sparkd-preload", True
        preloading["timer"] = timer
        timer.start()

    def rearm():
        if done.is_set():
            return
        if "pyspark.sql" in sys.modules and (not remote or "pyspark.sql.connect.session" in sys.modules):
            done.set()  # the cell imported it
            return
        arm()

    preloading = {"timer": None, "done": done}
    shell.events.register("pre_execute", preload_wait)
    shell.events.register("post_execute", rearm)
    arm()


def preload_wait():
    """Waits for the import preload() started, or holds it back when it
    has not begun: after this the calling thread may import PySpark."""
    p = preloading
    if p is None or p["done"].is_set() or p["timer"] is None:
        return
    p["timer"].cancel()  # too late once it fired: then join waits for the import
    p["timer"].join(PRELOAD_WAIT)


def prepare(master, app_name, conf, env):
    """Called by the template before it builds the SparkSession: adds the
    session's security settings to conf and env (in place, see secure()),
    then starts the driver JVM (or takes the daemon's warm one), so that
    the builder's getOrCreate() only creates the SparkContext in it.
    Nothing to do for Spark Connect (the daemon started the server)."""
    global handover, prewarmed, ahead
    ahead = False
    if not session and daemon is not None:
        register(conf)  # a lazy start: the daemon's session, or an unmanaged one
    h, handover = handover, None
    secure(master, conf, env)
    os.environ.update(env)
    from pyspark import SparkConf, SparkContext

    if SparkContext._gateway is not None:
        return
    sconf = SparkConf(loadDefaults=False).setMaster(master).setAppName(app_name)
    for key, value in conf.items():
        sconf.set(key, conf_text(value))
    gateway = take_gateway(h, sconf, conf) if h else None
    took = gateway is not None
    if took:
        prewarmed = True
    else:
        gateway = launch(sconf)
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm
    if took and h.get("context"):
        try:
            adopt_context(gateway, master, app_name, conf)
        except Exception as e:
            note("sparkd: the SparkContext made ahead could not be used (%s): a new one is created" % (e,))
            drop_context(gateway)


def connect_builder(url):
    """A Spark Connect session builder for url.  For a server on the
    loopback address (the daemon's), the token goes in clear text to that
    literal address only: PySpark's own builder would switch to TLS for
    127.0.0.1 and send a clear-text token only to "localhost"."""
    import grpc
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession

    class LoopbackChannelBuilder(DefaultChannelBuilder):
        def toChannel(self):
            if self.host not in (LOOPBACK, "[::1]", "::1") or self.use_ssl:
                return super().toChannel()
            creds = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
            if self.token is not None:
                creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(self.token))
            return self._secure_channel(self.endpoint, creds)

    return SparkSession.builder.channelBuilder(LoopbackChannelBuilder(url))


def run(marker, code, filename, ns, gateway=None, secrets=None):
    """Runs the rendered start code in the user namespace, unless the start
    was cancelled meanwhile (its marker file exists)."""
    global cancelled, handover, session
    handover = gateway
    session = dict(secrets or {})
    quiet[0] = False  # the click's output goes to the daemon's session log, not a cell
    if os.path.exists(marker):
        cancelled = True
        return
    stop(ns)
    exec(compile(code, filename, "exec"), ns)


def info(ns):
    """The session for the daemon's user_expressions: its repr is JSON."""
    import json

    class Info:
        def __repr__(self):
            return json.dumps(d)

    if cancelled:
        d = {"cancelled": True}
        return Info()
    s = ns.get("spark")
    if s is None:
        raise RuntimeError("the start code did not define spark")
    d = describe(s)
    tag_jobs(s)
    return Info()


def describe(s):
    """What the daemon shows of the SparkSession s (a dict)."""
    d = {}

    def get(key, f):
        try:
            d[key] = f()
        except Exception:
            d[key] = None

    d["prewarmed"] = prewarmed
    d["context_ahead"] = ahead
    get("spark_version", lambda: s.version)
    if type(s).__module__.startswith("pyspark.sql.connect"):
        d["connect"] = True
        get("app_id", lambda: s.conf.get("spark.app.id"))
        get("master", lambda: s.conf.get("spark.master"))
        get("memory", lambda: s.conf.get("spark.driver.memory", None))
    else:
        sc = s.sparkContext
        conf = sc.getConf()
        get("app_id", lambda: sc.applicationId)
        get("master", lambda: sc.master)
        get("ui_url", lambda: sc.uiWebUrl)
        get("cores", lambda: sc.defaultParallelism)
        key = "spark.driver.memory" if sc.master.startswith("local") else "spark.executor.memory"
        get("memory", lambda: conf.get(key, "1g"))
        get("driver_memory", lambda: conf.get("spark.driver.memory", "1g"))
        get("ui_protected", lambda: JWS_FILTER in (conf.get("spark.ui.filters", "") or "").split(","))
        get("loopback", lambda: conf.get("spark.driver.bindAddress", "") == LOOPBACK)
    return d


# ---- job tags: which cell started a Spark job --------------------------------


def job_tags(shell, info=None):
    """The tags of the cell the kernel runs now: "sparkd-cell-<cellId>"
    (when the front end sent a cellId in the execute_request's metadata)
    and "sparkd-msg-<msg_id>" (the execute_request's).  Spark refuses a
    comma in a tag: such characters are dropped."""
    parent = getattr(shell, "parent_header", None) or {}
    header = parent.get("header") or {}
    cell_id = getattr(info, "cell_id", None) or (parent.get("metadata") or {}).get("cellId")
    tags = []
    for kind, value in (("cell", cell_id), ("msg", header.get("msg_id"))):
        if isinstance(value, str):
            value = re.sub(r"[^A-Za-z0-9_.:-]", "", value)[:200]
            if value:
                tags.append("sparkd-%s-%s" % (kind, value))
    return tags


def tag_jobs(s):
    """Once `spark` exists (a click, a lazy first use, a warm driver,
    Connect): an IPython pre_run_cell hook tags the jobs of every cell
    (job_tags) so that the daemon's progress (docs/architecture.md) knows
    the cell that started each job.  The cell running now is tagged at
    once (a lazy start's).  Installed once per kernel: a later call (a new
    session, a re-installed _sparkd) replaces the hook.  Never raises."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return
    if shell is None or not hasattr(shell, "events"):
        return
    untag_jobs()
    connect = type(s).__module__.startswith("pyspark.sql.connect")
    try:
        target = s if connect else s.sparkContext
    except Exception:
        return

    def tagger(info=None):
        try:
            if not connect:
                from pyspark import SparkContext

                if SparkContext._active_spark_context is not target:
                    return  # stopped: never start a JVM call on a dead gateway
            (target.clearTags if connect else target.clearJobTags)()
            for tag in job_tags(shell, info):
                (target.addTag if connect else target.addJobTag)(tag)
        except Exception:
            pass  # a tag never breaks a cell

    shell._sparkd_tagger = tagger
    shell.events.register("pre_run_cell", tagger)
    tagger()


def untag_jobs():
    """Removes the hook tag_jobs installed (Spark stops)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        old = getattr(shell, "_sparkd_tagger", None)
        if old is not None:
            shell._sparkd_tagger = None
            shell.events.unregister("pre_run_cell", old)
    except Exception:
        pass


# ---- a lazy start managed by the daemon -----------------------------------


class DaemonUnavailable(Exception):
    """Why a lazy start is not managed (one short sentence)."""


def trusted_socket(path):
    """Refuses a socket another user could have put there: its directory
    must be ours, a real directory, closed to others; the socket ours."""
    import stat

    uid = os.getuid()
    directory = os.path.dirname(path) or "."
    try:
        d, s = os.lstat(directory), os.lstat(path)
    except OSError as e:
        raise DaemonUnavailable("no daemon at %s (%s)" % (path, e.strerror)) from None
    if not stat.S_ISDIR(d.st_mode) or d.st_uid != uid or d.st_mode & 0o077:
        raise DaemonUnavailable("refusing %s: its directory is not yours alone" % path)
    if not stat.S_ISSOCK(s.st_mode) or s.st_uid != uid:
        raise DaemonUnavailable("refusing %s: not a socket of yours" % path)


def daemon_request(method, target, body=None, timeout=DAEMON_TIMEOUT):
    """One request to the daemon over its Unix socket (checked first, and
    its peer's uid after connecting).  Returns (status, JSON body)."""
    import json
    import socket
    import struct

    path = daemon["socket"]
    trusted_socket(path)
    data = json.dumps(body).encode() if body is not None else b""
    head = ("%s %s HTTP/1.1\r\nHost: sparkd\r\nConnection: close\r\nContent-Length: %d\r\n"
            "%s\r\n" % (method, target, len(data), "Content-Type: application/json\r\n" if body is not None
                         else "")).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as e:
            raise DaemonUnavailable("no daemon at %s (%s)" % (path, e.strerror or e)) from None
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            raise DaemonUnavailable("refusing %s: another user answers on it" % path)
        try:
            sock.sendall(head + data)
            raw = b""
            while len(raw) <= DAEMON_MAX_ANSWER:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
                while raw.startswith(b"HTTP/1.1 1") and b"\r\n\r\n" in raw:
                    raw = raw.partition(b"\r\n\r\n")[2]  # interim: the answer takes longer
                    sock.settimeout(DAEMON_LONG_WAIT)
        except socket.timeout:
            raise DaemonUnavailable("the daemon did not answer within %g s" % sock.gettimeout()) from None
    head, _, payload = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(payload.decode()) if payload else None
    except (IndexError, ValueError):
        raise DaemonUnavailable("the daemon's answer is not HTTP with JSON") from None


def kernel_id():
    """This kernel's id, from its connection file's name."""
    import re

    from ipykernel.connect import get_connection_file

    m = re.fullmatch(r"kernel-([0-9a-fA-F-]{36})\.json", os.path.basename(get_connection_file()))
    if not m:
        raise DaemonUnavailable("this kernel's connection file does not name its id")
    return m.group(1)


def register(conf):
    """A lazy start asks the daemon for a session: the UI port and path,
    the session's secrets and, when one is ready, a warm driver JVM — all
    in the answer; nothing is sent back into this busy kernel.  conf gets
    the UI settings.  Without a daemon (or with one that does not answer
    soon) Spark starts here all the same, after one line saying why it is
    not managed."""
    global managed, session, handover
    quiet[0] = True
    try:
        kid = kernel_id()
        status, body = daemon_request("POST", "/api/sessions", {
            "config": daemon["config"], "overrides": daemon.get("overrides") or {}, "kernel_id": kid,
            "lazy": True, "restart": True})
        if status != 202:
            message = ((body or {}).get("error") or {}).get("message") or "HTTP %d" % status
            raise DaemonUnavailable("the daemon refused: %s" % message)
        start = body.get("start")
        if start is None:
            raise DaemonUnavailable("the daemon's session ended before Spark started (%s)"
                                    % (body.get("reason") or body.get("state")))
    except DaemonUnavailable as e:
        print("sparkd: Spark starts without Start Spark (%s): no Spark UI link or Stop in the toolbar" % e)
        return
    except Exception as e:  # an old daemon, a broken answer: never a traceback here
        print("sparkd: Spark starts without Start Spark (%s: %s)" % (type(e).__name__, e))
        return
    managed = kid
    session = dict(start.get("secrets") or {})
    handover = start.get("gateway")
    conf.update(start.get("conf") or {})


def report(spark=None, error=None):
    """Called by the template once getOrCreate() returned (spark) or
    failed (error): a lazy session the daemon manages becomes ready or
    failed there, with the JVM's start-up lines in its log.  Returns the
    daemon's hint for a failure, or None."""
    global managed
    quiet[0] = False
    kid, managed = managed, None
    if kid is None:
        return None
    body = {"log": start_log[-40:]}
    if spark is not None:
        body["info"] = describe(spark)
        tag_jobs(spark)
    else:
        body["error"] = str(error).strip().splitlines()[0][:500] if str(error).strip() else type(error).__name__
    del start_log[:]
    try:
        status, answer = daemon_request("POST", "/api/sessions/%s/report" % kid, body)
    except Exception as e:
        print("sparkd: could not tell Start Spark that Spark %s (%s)" % ("started" if spark else "failed", e))
        return None
    if status != 200:
        message = ((answer or {}).get("error") or {}).get("message") or "HTTP %d" % status
        print("sparkd: Start Spark did not take this Spark: %s" % message)
        return None
    return ((answer or {}).get("error") or {}).get("hint")
