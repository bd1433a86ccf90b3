"""gunicorn settings, read from the environment (see .env.example).

Under systemd, tdc-gunicorn.socket hands over the listening socket (LISTEN_FDS) and
gunicorn uses it instead of `bind`; Type=notify units are told when workers are up.
"""

import json
import multiprocessing
import os

from gunicorn import util as gunicorn_util


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


# Metrics: every worker counts into PROMETHEUS_MULTIPROC_DIR (app/utils/metrics.py), and
# tdc-app-metrics.service (metrics_server.py) serves their sum. Nothing of it runs in the
# master: a thread there (a listener) could hold a lock at the moment the master forks a
# worker, and the worker would inherit that lock held, with no thread left to release it.
def child_exit(server, worker) -> None:
    # A dead worker's live gauges leave the sum; its counters stay in it.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# gunicorn answers a request it refuses to parse (a control character in a header value,
# a raw non-ASCII byte in the path, a line past limit_request_line over HTTP/2, more than
# 100 headers: nginx passes all of these) with an HTML page of its own. The API answers
# only in its JSON envelope, and gunicorn has no setting for that page: its workers call
# gunicorn.util.write_error, replaced here (this file runs in the master, before the fork).
GUNICORN_ERRORS = {
    400: "Bad request",
    403: "Permission denied",
    414: "Request URI too long",
    417: "Expectation failed",
    431: "Request headers too large",
    500: "Internal server error",
    501: "Not implemented",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    # `mesg` echoes the refused input: gunicorn logs it (a warning); the answer does not.
    body = json.dumps({"success": False, "error": GUNICORN_ERRORS.get(status_int, reason)})
    body += "\n"
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    gunicorn_util.write_nonblock(sock, (head + body).encode("latin-1"))


gunicorn_util.write_error = write_json_error
