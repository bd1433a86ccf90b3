"""The API's and the worker's Prometheus metrics: requests by route and status, latency,
task outcomes; summed over gunicorn's workers in multiprocess mode."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.utils import metrics
from tests.test_gunicorn import free_port

BACKEND = Path(__file__).resolve().parent.parent


def requests_counted(method: str, route: str, status: int) -> float:
    return REGISTRY.get_sample_value(
        "tdc_http_requests_total", {"method": method, "route": route, "status": str(status)}) or 0


@pytest.mark.parametrize(("path", "route", "status"), [
    ("/api/v1/health", "/api/v1/health", 200),
    # The route's rule, whatever the slug: one series per route.
    ("/api/v1/locations/no-such-venue", "/api/v1/locations/<slug>", 404),
    # No route: one label value for every unknown path.
    ("/api/v1/no/such/path", metrics.UNMATCHED, 404),
])
def test_each_request_is_counted_by_route_and_status(client, path, route, status):
    before = requests_counted("GET", route, status)
    assert client.get(path).status_code == status
    assert requests_counted("GET", route, status) == before + 1


def test_an_unknown_method_does_not_add_a_label_value(client):
    before = requests_counted("other", metrics.UNMATCHED, 405)
    answer = client.open("/api/v1/no/such/path", method="BREW")
    assert requests_counted("other", metrics.UNMATCHED, answer.status_code) == before + 1


def test_each_request_is_timed(client):
    labels = {"method": "GET", "route": "/api/v1/health"}
    before = REGISTRY.get_sample_value("tdc_http_request_duration_seconds_count", labels) or 0
    client.get("/api/v1/health")
    count = REGISTRY.get_sample_value("tdc_http_request_duration_seconds_count", labels)
    assert count == before + 1
    assert REGISTRY.get_sample_value("tdc_http_request_duration_seconds_sum", labels) > 0


def test_task_outcomes_are_counted(app, celery_worker):
    from app.tasks.health import ping

    labels = {"task": "tdc.ping", "state": "SUCCESS"}
    before = REGISTRY.get_sample_value("tdc_celery_tasks_total", labels) or 0
    assert ping.delay().get(timeout=10) == "pong"
    assert REGISTRY.get_sample_value("tdc_celery_tasks_total", labels) == before + 1
    last = REGISTRY.get_sample_value("tdc_celery_task_last_success_timestamp_seconds",
                                     {"task": "tdc.ping"})
    assert time.time() - 60 < last <= time.time()


def test_the_metrics_listener_serves_this_process_s_figures(client):
    client.get("/api/v1/health")
    host, port = metrics.serve(f"127.0.0.1:{free_port()}")
    text = requests.get(f"http://{host}:{port}/metrics", timeout=5).text
    assert 'tdc_http_requests_total{method="GET",route="/api/v1/health",status="200"}' in text


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def get(port: int, path: str) -> int:
    # A new connection each time, so that any worker may take it.
    return requests.get(f"http://127.0.0.1:{port}{path}", headers={"Connection": "close"},
                        timeout=10).status_code


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port} within {seconds} s")


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def test_gunicorn_serves_the_sum_over_its_workers_and_keeps_dead_workers_counts(
        service_env, tmp_path):
    """Three workers count into the multiprocess directory; the master's listener serves
    the sum, and workers killed and replaced lose none of what they counted."""
    port, metrics_port = free_port(), free_port()
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "3",
           "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    master = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=BACKEND,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = ("tdc_http_requests_total",
           frozenset({"method": "GET", "route": "/api/v1/health", "status": "200"}.items()))
    try:
        wait_for_port(port)
        for _ in range(20):
            assert get(port, "/api/v1/health") == 200
        # The readiness poll above counted too.
        first = scrape(metrics_port)[key]
        assert first >= 20
        for pid in workers_of(master.pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(1)
        wait_for_port(port)
        for _ in range(20):
            assert get(port, "/api/v1/health") == 200
        assert scrape(metrics_port)[key] >= first + 20
        assert len(list(directory.glob("counter_*.db"))) >= 2, "one process counted everything"
    finally:
        master.terminate()
        master.wait(timeout=30)
