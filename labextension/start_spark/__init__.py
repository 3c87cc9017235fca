"""Start Spark: the notebook toolbar extension and the sparkd proxy route.

The JupyterLab extension is prebuilt into ``labextension/`` and installed
under ``share/jupyter/labextensions/@start-spark/labextension``; the
jupyter-server-proxy route ``/sparkd`` is declared as an entry point
(see ``proxy.py``).
"""

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "@start-spark/labextension"}]
