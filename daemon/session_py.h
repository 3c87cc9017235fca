/* session_py.h — the Python the daemon runs in a kernel around a template.
 *
 * It lives in a private module `_sparkd` (in sys.modules, not in the user's
 * namespace): run() executes the rendered code in the user namespace unless
 * the session was cancelled meanwhile (its marker file exists), stop()
 * ends Spark without restarting the kernel, info() reports the session for
 * user_expressions (its repr is JSON).
 */
#pragma once

static const char session_py_helpers[] =
        "import os, sys\n"
        "\n"
        "def stop(ns):\n"
        "    if 'pyspark' in sys.modules:\n"
        "        s = ns.get('spark')\n"
        "        if s is not None and type(s).__module__.startswith('pyspark.sql.connect'):\n"
        "            try:\n"
        "                s.stop()\n"
        "            except Exception as e:\n"
        "                print('sparkd: stopping Spark Connect failed: %s' % (e,))\n"
        "        try:\n"
        "            from pyspark import SparkContext\n"
        "            from pyspark.sql import SparkSession\n"
        "            if getattr(SparkSession, '_instantiatedSession', None) is not None:\n"
        "                SparkSession._instantiatedSession.stop()\n"
        "            if SparkContext._active_spark_context is not None:\n"
        "                SparkContext._active_spark_context.stop()\n"
        "            gw = SparkContext._gateway\n"
        "            if gw is not None:\n"
        "                proc = getattr(gw, 'proc', None)\n"
        "                try:\n"
        "                    gw.shutdown()\n"
        "                except Exception:\n"
        "                    pass\n"
        "                if proc is not None:\n"
        "                    try:\n"
        "                        proc.stdin.close()\n"
        "                        proc.wait(timeout=20)\n"
        "                    except Exception:\n"
        "                        proc.kill()\n"
        "                        proc.wait()\n"
        "                SparkContext._gateway = None\n"
        "                SparkContext._jvm = None\n"
        "        except Exception as e:\n"
        "            print('sparkd: stopping Spark failed: %s' % (e,))\n"
        "    for name in ('spark', 'sc'):\n"
        "        ns.pop(name, None)\n"
        "\n"
        "def run(marker, code, filename, ns):\n"
        "    if os.path.exists(marker):\n"
        "        return\n"
        "    stop(ns)\n"
        "    exec(compile(code, filename, 'exec'), ns)\n"
        "\n"
        "def info(ns):\n"
        "    import json\n"
        "    s = ns.get('spark')\n"
        "    if s is None:\n"
        "        raise RuntimeError('the start code did not define spark')\n"
        "    d = {}\n"
        "    def get(key, f):\n"
        "        try:\n"
        "            d[key] = f()\n"
        "        except Exception:\n"
        "            d[key] = None\n"
        "    get('spark_version', lambda: s.version)\n"
        "    if type(s).__module__.startswith('pyspark.sql.connect'):\n"
        "        d['connect'] = True\n"
        "        get('app_id', lambda: s.conf.get('spark.app.id'))\n"
        "        get('master', lambda: s.conf.get('spark.master'))\n"
        "        get('memory', lambda: s.conf.get('spark.driver.memory'))\n"
        "    else:\n"
        "        sc = s.sparkContext\n"
        "        conf = sc.getConf()\n"
        "        get('app_id', lambda: sc.applicationId)\n"
        "        get('master', lambda: sc.master)\n"
        "        get('ui_url', lambda: sc.uiWebUrl)\n"
        "        get('cores', lambda: sc.defaultParallelism)\n"
        "        key = 'spark.driver.memory' if sc.master.startswith('local') else 'spark.executor.memory'\n"
        "        get('memory', lambda: conf.get(key, '1g'))\n"
        "        get('driver_memory', lambda: conf.get('spark.driver.memory', '1g'))\n"
        "    class Info:\n"
        "        def __repr__(self):\n"
        "            return json.dumps(d)\n"
        "    return Info()\n";

/* The execute_request code: installs the helpers, then %s is the call. */
static const char session_py_install[] =
        "__import__('sys').modules['_sparkd'] = __import__('types').ModuleType('_sparkd')\n"
        "exec(compile(%s, '<sparkd>', 'exec'), __import__('sys').modules['_sparkd'].__dict__)\n";

static const char session_py_info_expr[] = "__import__('_sparkd').info(globals())";
