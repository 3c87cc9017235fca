"""Start Spark for JupyterHub: a pre_spawn_hook that starts the user's sparkd
with every single-user server.

    import sparkd_hub
    sparkd_hub.configure(c)
"""
from .config import SparkdHub
from .hook import apply, configure, make_hook, pre_spawn_hook, public_prefix, sparkd_environment

__version__ = "0.1.0"
__all__ = ["SparkdHub", "apply", "configure", "make_hook", "pre_spawn_hook", "public_prefix",
           "sparkd_environment"]
