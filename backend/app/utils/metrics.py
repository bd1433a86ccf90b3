"""Prometheus metrics of the API and its worker: requests by route, method and status,
their latency, and the outcome of every Celery task.

Under gunicorn (several workers) and Celery's prefork pool each process counts into its
own files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode): a tmpfs
directory the systemd unit owns, empty at each start. One process of each service
serves the sum of them all on METRICS_ADDRESS ("127.0.0.1:9501"), a listener of its
own that nginx never proxies: gunicorn's master (gunicorn.conf.py) and the Celery
worker's main process (serve_worker_metrics). Without the directory (`make run`, the
tests) each process counts in memory.
"""

import os
import time

from celery.signals import task_postrun, worker_init
from flask import Flask, g, request
from flask.wrappers import Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import start_http_server

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
ADDRESS_VARIABLE = "METRICS_ADDRESS"
# Methods counted by name; anything else is "other", so a client cannot add label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A path no route matched (a 404 or a 405 before routing): one label value for them all.
UNMATCHED = "unmatched"

REQUESTS = Counter("tdc_http_requests_total", "HTTP requests the API answered.",
                   ["method", "route", "status"])
LATENCY = Histogram("tdc_http_request_duration_seconds",
                    "Time the API took to answer a request, by route.", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
TASKS = Counter("tdc_celery_tasks_total", "Celery tasks that finished, by outcome.",
                ["task", "state"])
# The largest over the pool's processes: when each task last succeeded (beat's schedule
# shows as its tasks' timestamps moving on).
TASK_LAST_SUCCESS = Gauge("tdc_celery_task_last_success_timestamp_seconds",
                          "When a task of this name last succeeded (Unix time).", ["task"],
                          multiprocess_mode="max")


def init_metrics(app: Flask) -> None:
    """Count and time every request the app answers."""
    app.before_request(_start_timer)
    app.after_request(_count_request)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    # The route's rule, not the path: one series per route whatever the slugs.
    rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "other"
    REQUESTS.labels(method, rule, str(response.status_code)).inc()
    if "metrics_started" in g:
        LATENCY.labels(method, rule).observe(time.perf_counter() - g.metrics_started)
    return response


@task_postrun.connect
def _count_task(sender=None, task=None, state: str | None = None, **_kwargs) -> None:
    name = getattr(task, "name", None) or getattr(sender, "name", "unknown")
    TASKS.labels(name, state or "UNKNOWN").inc()
    if state == "SUCCESS":
        TASK_LAST_SUCCESS.labels(name).set(time.time())


def registry() -> CollectorRegistry:
    """What to serve: the sum over every process's files, or this process's own."""
    if not os.environ.get(MULTIPROC_DIR_VARIABLE):
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def serve(address: str | None = None) -> tuple[str, int] | None:
    """Serve the metrics on ADDRESS ("host:port", default METRICS_ADDRESS) from a thread;
    nothing when neither names one. Returns the address it listens on."""
    address = address or os.environ.get(ADDRESS_VARIABLE, "")
    if not address:
        return None
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=registry())
    return server.server_address[:2]


@worker_init.connect
def serve_worker_metrics(**_kwargs) -> None:
    # The worker's main process, before the pool forks: the pool's processes count into
    # the shared directory and this one serves the sum.
    serve()
