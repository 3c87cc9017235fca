"""Start Spark: the notebook toolbar extension and the sparkd proxy route.

The JupyterLab extension is prebuilt into ``labextension/`` and installed
under ``share/jupyter/labextensions/@start-spark/labextension``; the
jupyter-server-proxy route ``/sparkd`` is declared as an entry point
(see ``proxy.py``); the server extension ``start_spark`` (enabled by
``etc/jupyter/jupyter_server_config.d/start_spark.json``) makes a running
Spark job count as server activity for JupyterHub (see ``activity.py``).
"""

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "@start-spark/labextension"}]


def _jupyter_server_extension_points():
    from .activity import _extension_app

    return [{"module": "start_spark", "app": _extension_app()}]
