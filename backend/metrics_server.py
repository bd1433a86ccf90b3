"""Serve the API's and the worker's metrics: the sum over each service's processes.

gunicorn's workers and the Celery pool's processes each count into their own files in
their service's PROMETHEUS_MULTIPROC_DIR (app/utils/metrics.py). This process reads those
directories and serves each one's sum on a listener of its own:

  python metrics_server.py /run/tdc-gunicorn/metrics=127.0.0.1:9501 \\
                           /run/tdc-celery-worker=127.0.0.1:9502

It runs as its own unit (tdc-app-metrics.service), so that neither gunicorn's master nor
the Celery worker's main process runs a listener thread: a process that forks while one
of its threads holds a lock (an import's, while the listener resolves its address) hands
its children that lock held forever, and the child hangs on it. Only prometheus-client and
the standard library are imported here, never the app.

A directory that does not exist answers 503: systemd removes it when its service stops,
and Prometheus then sees that target down.
"""

import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess
from prometheus_client.exposition import ThreadingWSGIServer

USAGE = "usage: metrics_server.py DIRECTORY=HOST:PORT [DIRECTORY=HOST:PORT ...]"


def sum_of(directory: str):
    """A WSGI app serving the sum of the multiprocess files in DIRECTORY, read anew at
    every scrape; 503 while the directory does not exist."""

    def app(environ, start_response):
        registry = CollectorRegistry()
        try:
            multiprocess.MultiProcessCollector(registry, path=directory)
        # Raised when the directory is missing: its service is not running.
        except ValueError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [f"{directory} does not exist: its service is not running\n".encode()]
        return make_wsgi_app(registry)(environ, start_response)

    return app


class QuietHandler(WSGIRequestHandler):
    """No line per scrape in the journal."""

    def log_message(self, *_args) -> None:
        pass


def listen(directory: str, address: str) -> WSGIServer:
    """A server of DIRECTORY's sum bound to ADDRESS ("host:port"), not yet serving."""
    host, _, port = address.rpartition(":")
    return make_server(host or "127.0.0.1", int(port), sum_of(directory),
                       server_class=ThreadingWSGIServer, handler_class=QuietHandler)


def parse(arguments: list[str]) -> list[tuple[str, str]]:
    pairs = [argument.rpartition("=")[::2] for argument in arguments]
    if not pairs or not all(directory and address for directory, address in pairs):
        sys.exit(USAGE)
    return pairs


def main(arguments: list[str]) -> None:
    # Every listener bound before any serves: a port taken fails the unit at once.
    servers = [listen(directory, address) for directory, address in parse(arguments)]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    # Until systemd's SIGTERM ends the process.
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
