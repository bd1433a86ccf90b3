"""The API's and the worker's Prometheus metrics: requests by route and status, latency,
task outcomes; summed over gunicorn's workers in multiprocess mode by metrics_server.py,
a process of its own (nothing listens in gunicorn's master)."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.utils import metrics
from tests.test_gunicorn import free_port
from tests.waits import wait_for

BACKEND = Path(__file__).resolve().parent.parent
# gunicorn's own control socket server runs a thread in the master (it stops it around
# each fork); any other thread there would be one of ours.
CONTROL_SOCKET_THREADS = 1


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
    # Celery stores the result before task_postrun fires: the count follows a moment later.
    assert wait_for(lambda: REGISTRY.get_sample_value("tdc_celery_tasks_total", labels)
                    == before + 1, 5)

    def last_success():
        return REGISTRY.get_sample_value("tdc_celery_task_last_success_timestamp_seconds",
                                         {"task": "tdc.ping"})

    assert wait_for(lambda: last_success() is not None, 5)
    last = last_success()
    assert time.time() - 60 < last <= time.time()


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200, answer.text
    text = answer.text
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


@contextmanager
def metrics_server(*pairs: tuple[Path, int]):
    """metrics_server.py serving each (directory, port) pair, until the block ends."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    server = subprocess.Popen(
        [sys.executable, "metrics_server.py",
         *(f"{directory}=127.0.0.1:{port}" for directory, port in pairs)],
        cwd=BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _, port in pairs:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None, server.stderr.read().decode()
                    assert time.monotonic() < deadline, f"nothing listens on {port}"
                    time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def count_in(directory: Path, task: str, times: int) -> None:
    """A process of its own counts TIMES successes of TASK into DIRECTORY, as a Celery
    pool process does, and exits."""
    script = ("from app.utils import metrics\n"
              f"for _ in range({times}): metrics._count_task(task=None, sender=type('T', (), "
              f"{{'name': {task!r}}}), state='SUCCESS')\n")
    subprocess.run([sys.executable, "-c", script], cwd=BACKEND, check=True,
                   env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)})


def test_the_server_sums_each_directory_on_its_own_address(tmp_path):
    api, worker = tmp_path / "api", tmp_path / "worker"
    api.mkdir()
    worker.mkdir()
    count_in(worker, "tdc.ping", 2)
    count_in(worker, "tdc.ping", 3)
    count_in(api, "tdc.other", 1)
    api_port, worker_port = free_port(), free_port()
    key = ("tdc_celery_tasks_total", frozenset({"task": "tdc.ping", "state": "SUCCESS"}.items()))
    with metrics_server((api, api_port), (worker, worker_port)):
        assert scrape(worker_port)[key] == 5
        assert key not in scrape(api_port)
        # Read anew at every scrape.
        count_in(worker, "tdc.ping", 1)
        assert scrape(worker_port)[key] == 6


def test_a_directory_that_does_not_exist_answers_503(tmp_path):
    """systemd removes a service's runtime directory when it stops: Prometheus must see
    that target down, not an empty sum."""
    port = free_port()
    with metrics_server((tmp_path / "stopped", port)):
        answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert answer.status_code == 503
        (tmp_path / "stopped").mkdir()
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200


def test_the_server_refuses_to_start_without_a_directory_and_an_address():
    run = subprocess.run([sys.executable, "metrics_server.py", "127.0.0.1:9"], cwd=BACKEND,
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode != 0 and "usage:" in run.stderr


def test_gunicorn_s_workers_are_summed_and_dead_workers_keep_their_counts(service_env, tmp_path):
    """Three workers count into the multiprocess directory; the metrics server serves the
    sum, and workers killed and replaced lose none of what they counted. gunicorn's
    master listens on nothing but the app's own socket."""
    port, metrics_port = free_port(), free_port()
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "3",
           "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    master = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=BACKEND,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = ("tdc_http_requests_total",
           frozenset({"method": "GET", "route": "/api/v1/health", "status": "200"}.items()))
    try:
        wait_for_port(port)
        assert len(os.listdir(f"/proc/{master.pid}/task")) <= 1 + CONTROL_SOCKET_THREADS, \
            "a thread of ours runs in gunicorn's master"
        with metrics_server((directory, metrics_port)):
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
