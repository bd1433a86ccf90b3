"""gunicorn settings, read from the environment (see .env.example).

Under systemd, tdc-gunicorn.socket hands over the listening socket (LISTEN_FDS) and
gunicorn uses it instead of `bind`; Type=notify units are told when workers are up.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:9500").split(",")
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak never grows unbounded.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1000)
# Accept request lines as long as nginx passes them (its 8k header buffers): gunicorn's
# default of 4094 answered longer ones with an HTML 414 the API does not describe.
limit_request_line = 8190
# The app logs each request itself (JSON, with request id); gunicorn logs only errors.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No preloading: each worker opens its own database pool after the fork.
preload_app = False
proc_name = "tdc-gunicorn"
