"""Celery spreads the work over the worker hosts: a web host's task runs on any of them,
on the others while one is stopped, and again when its worker was killed mid-task.

The readiness check (GET /api/v1/health/ready, answered from a 2 s cache per gunicorn
worker) queues a tdc.ping task and waits for its answer, so readiness requests through the
edge are tasks queued by the web hosts."""

import re
import time
import uuid
from contextlib import contextmanager

from ops import RELAY_DIR, wait_for

RELAY_HOLD = RELAY_DIR / "hold"
SUCCEEDED_PING = r"Task tdc\.ping\[[0-9a-f-]+\] succeeded"


def worker_lines(host, grep: str, since: str) -> list[str]:
    out = host.vps.run(f"journalctl -u tdc-celery-worker -o cat --no-pager --since '{since}' "
                       f"--grep '{grep}' || true")
    return [line for line in out.splitlines() if line and not line.startswith("-- ")]


def now_on(host) -> str:
    return host.vps.run("date -u '+%Y-%m-%d %H:%M:%S UTC'").strip()


def ask_ready(site, vps, seconds: float) -> list[int]:
    """Readiness through the edge for SECONDS, 5 a second: the statuses."""
    statuses = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses.append(site.get(vps.url("/api/v1/health/ready"), timeout=15).status_code)
        time.sleep(0.2)
    return statuses


def pings_per_worker(cluster, since: dict[str, str]) -> dict[str, int]:
    return {host.name: len(worker_lines(host, SUCCEEDED_PING, since[host.name]))
            for host in cluster.group("worker")}


def test_tasks_queued_through_the_edge_run_on_every_worker_host(cluster, site, vps):
    since = {host.name: now_on(host) for host in cluster.group("worker")}
    statuses = ask_ready(site, vps, 20)
    assert set(statuses) == {200}, statuses
    counts = pings_per_worker(cluster, since)
    assert all(count > 0 for count in counts.values()), counts


@contextmanager
def worker_stopped(host):
    host.vps.run("systemctl stop tdc-celery-worker.service", timeout=330)
    try:
        yield
    finally:
        host.vps.start("tdc-celery-worker.service")


def test_with_one_worker_host_stopped_tasks_still_run_on_the_other(cluster, site, vps):
    stopped, running = cluster.group("worker")[:2]
    with worker_stopped(stopped):
        since = {host.name: now_on(host) for host in cluster.group("worker")}
        statuses = ask_ready(site, vps, 15)
        counts = pings_per_worker(cluster, since)
    assert set(statuses) == {200}, statuses
    assert counts[stopped.name] == 0 and counts[running.name] > 0, counts


def call_task(host, name: str, *args: str) -> str:
    """Queue task NAME from HOST (`celery call`, as the app's user); its id."""
    quoted = ", ".join(f'"{arg}"' for arg in args)
    out = host.vps.run("cd /srv/tdc/current && runuser -u tdc -- env TDC_ENV_FILE=/srv/tdc/shared/.env "
                       f"venv/bin/celery -A app.tasks call {name} --args '[{quoted}]'")
    return out.strip().splitlines()[-1]


def test_a_task_whose_worker_is_killed_mid_task_is_delivered_again(cluster):
    """The test mail's send waits at the relay (its `hold` switch): meanwhile every pool
    process of the worker that runs it is killed with SIGKILL. acks_late with
    reject-on-worker-lost puts the message back, and a worker runs it again: the mail
    arrives once, sent by the second delivery."""
    to = f"killed-{uuid.uuid4().hex[:8]}@thedreamerscave.club"
    web = cluster.group("web")[0]
    since = {host.name: now_on(host) for host in cluster.group("worker")}
    RELAY_HOLD.touch()
    try:
        task_id = call_task(web, "tdc.send_test_email", to)
        assert re.fullmatch(r"[0-9a-f-]{36}", task_id), task_id
        received = f"Task tdc.send_test_email\\[{task_id}\\] received"

        def runner():
            return next((host for host in cluster.group("worker")
                         if worker_lines(host, received, since[host.name])), None)
        assert wait_for(runner, 30), "no worker received the task"
        host = runner()
        # Mid-task: the send is under way (the relay holds its data).
        time.sleep(3)
        host.vps.run("pkill -KILL -P \"$(systemctl show -p MainPID --value tdc-celery-worker)\"")
    finally:
        RELAY_HOLD.unlink(missing_ok=True)
    sent = f"mail_sent kind=test .*key=test:{task_id}"
    assert wait_for(lambda: any(worker_lines(h, sent, since[h.name]) for h in cluster.group("worker")), 60), \
        "the task was not run again to the end"
    deliveries = sum(len(worker_lines(h, received, since[h.name])) for h in cluster.group("worker"))
    lost = worker_lines(host, "WorkerLostError", since[host.name])
    assert deliveries == 2 and lost, (deliveries, lost)
