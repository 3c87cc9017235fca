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
import sys

# What the daemon gave for the current start: {"ui_key": base64url key of
# the UI's JWSFilter, "auth_secret": the cluster's RPC secret, "loopback":
# the master runs on this host}; empty for a lazy start from the startup file.
session = {}
handover = None  # the daemon's warm driver JVM {port, secret, pid, spark_home, pin_thread}
prewarmed = False
cancelled = False

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
    for name in ("spark", "sc"):
        ns.pop(name, None)


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
        with os.fdopen(rfd, "rb", buffering=0) as f:
            for line in iter(f.readline, b""):
                tail.append(line.decode("utf-8", "replace").rstrip())
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


def prepare(master, app_name, conf, env):
    """Called by the template before it builds the SparkSession: adds the
    session's security settings to conf and env (in place, see secure()),
    then starts the driver JVM (or takes the daemon's warm one), so that
    the builder's getOrCreate() only creates the SparkContext in it.
    Nothing to do for Spark Connect (the daemon started the server)."""
    global handover, prewarmed
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
    if gateway is not None:
        prewarmed = True
    else:
        gateway = launch(sconf)
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm


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

    d = {}
    if cancelled:
        d["cancelled"] = True
        return Info()
    s = ns.get("spark")
    if s is None:
        raise RuntimeError("the start code did not define spark")

    def get(key, f):
        try:
            d[key] = f()
        except Exception:
            d[key] = None

    d["prewarmed"] = prewarmed
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
    return Info()
