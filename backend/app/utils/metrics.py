"""Prometheus metrics of the API and its worker: requests by route, method and status,
their latency, and the outcome of every Celery task.

Under gunicorn (several workers) and Celery's prefork pool each process counts into its
own files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode): a tmpfs
directory the systemd unit owns, empty at each start. A process of its own serves the
sum of each directory on loopback, where nginx never proxies (metrics_server.py, run by
tdc-app-metrics.service): no service here runs a listener thread beside the processes it
forks. Without the directory (`make run`, the tests) each process counts in memory.
"""

import time

from celery.signals import task_postrun
from flask import Flask, g, request
from flask.wrappers import Response
from prometheus_client import Counter, Gauge, Histogram

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

