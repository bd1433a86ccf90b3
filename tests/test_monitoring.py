"""Monitoring on the VPS: every target scraped, nothing of it reachable from outside, the
app's own counters following the traffic through nginx, /metrics not on the public site,
and alerts that reach a webhook (the test's own) and the operators' mailbox (through the
stand-in relay) when Redis or gunicorn stop, and resolve once they are back."""

import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from ops import (
    INVENTORY,
    RELAY_USER,
    AlertReceiver,
    output,
    playbook,
    prometheus_query,
    relay_mails,
    role_defaults,
    wait_for,
)

MONITORING = role_defaults("monitoring")
APP = role_defaults("app")
# Every job of prometheus.yml: the exporters, the servers, the app and the probe.
JOBS = {"prometheus", "alertmanager", "blackbox", "node", "mysqld", "redis", "nginx", "api",
        "worker", "site"}
# The ports of everything monitoring listens on, the app's metrics listeners included.
PORTS = sorted([*MONITORING["monitoring_ports"].values(),
                *(APP[name] for name in ("app_metrics_port", "app_worker_metrics_port"))])
# How long an alert may take to reach the receiver with `for:` shortened to FOR: a scrape
# (15 s), the rule's evaluation (15 s) and FOR, Alertmanager's group_wait, and slack for
# a loaded machine.
FOR = "10s"
ALERT_BOUND = 120
# Where the local inventory mails the alerts (the stand-in relay keeps every mail).
ALERT_EMAIL = yaml.safe_load(
    (Path(INVENTORY) / "group_vars" / "all" / "vars.yml").read_text())["monitoring_alert_email"]


def test_every_target_is_up(vps):
    def all_up():
        results = prometheus_query(vps, "up")
        return {r["metric"]["job"] for r in results if r["value"][1] == "1"} >= JOBS
    assert wait_for(all_up, 90, interval=5), prometheus_query(vps, "up == 0")
    probe = prometheus_query(vps, 'probe_success{job="site"}')
    assert [r["value"][1] for r in probe] == ["1"], probe
    days = prometheus_query(vps, '(probe_ssl_earliest_cert_expiry{job="site"} - time()) / 86400')
    assert days and float(days[0]["value"][1]) > 7, days


@pytest.mark.parametrize("port", PORTS)
def test_the_host_cannot_reach_the_monitoring_ports(vps, port):
    """They listen on loopback and the firewall drops the rest: from the host, nothing
    answers (refused, or no answer at all)."""
    with pytest.raises(OSError):
        socket.create_connection((vps.address, port), timeout=3).close()


def served(vps, address: str, name: str, **labels: str) -> float:
    """The sum of NAME's samples with LABELS that the metrics listener at ADDRESS serves
    right now (its own sum over its service's processes)."""
    text = vps.run(f"curl -sSf http://{address}/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{")
               and all(f'{key}="{value}"' in line for key, value in labels.items()))


def app_requests(vps, route: str) -> float:
    """The API's request count for ROUTE (every status), summed over gunicorn's workers."""
    return served(vps, f"127.0.0.1:{APP['app_metrics_port']}", "tdc_http_requests_total", route=route)


def test_the_request_counter_follows_the_traffic_through_nginx(site, vps, token):
    route = "/api/v1/locations"
    before = app_requests(vps, route)
    client = vps.session()
    # With a token, past the microcache: every one of them reaches gunicorn.
    client.headers["Authorization"] = f"Bearer {token}"
    for _ in range(30):
        assert client.get(vps.url(route), timeout=15).status_code == 200
    assert app_requests(vps, route) - before == 30
    assert wait_for(lambda: prometheus_query(
        vps, f'sum(tdc_http_requests_total{{job="api",route="{route}"}}) >= {before + 30}'), 60,
        interval=5), "Prometheus did not scrape the new count"


def test_the_worker_counts_its_tasks_over_the_pool_s_processes(site, vps):
    """Each readiness check pings the worker with a task (tdc.ping): the pool's processes
    count it, and the worker's main process serves the sum."""
    def pings() -> float:
        return served(vps, f"127.0.0.1:{APP['app_worker_metrics_port']}", "tdc_celery_tasks_total",
                      task="tdc.ping", state="SUCCESS")
    before = pings()
    # Past the readiness cache (2 s a process): at least one new ping.
    time.sleep(3)
    assert site.get(vps.url("/api/v1/health/ready"), timeout=15).status_code == 200
    assert wait_for(lambda: pings() > before, 10), before


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/metrics", "/api/metrics"])
def test_the_metrics_are_not_served_by_the_public_site(site, vps, path):
    answer = site.get(vps.url(path), timeout=15)
    assert answer.status_code == 404, (path, answer.status_code)
    assert "tdc_http_requests_total" not in answer.text


@pytest.fixture(scope="module")
def alerts(vps):
    """A receiver on the host where the local inventory sends alerts, and the rules'
    `for:` and Alertmanager's waits shortened for the module; put back after it."""
    shortened = ("-e", f"monitoring_rules_for={FOR}", "-e", "monitoring_group_wait=5s",
                 "-e", "monitoring_group_interval=10s")
    with AlertReceiver(vps) as receiver:
        run = playbook("site", "--tags", "monitoring", *shortened)
        assert run.returncode == 0, output(run)
        try:
            yield receiver
        finally:
            run = playbook("site", "--tags", "monitoring")
            assert run.returncode == 0, output(run)


# (alert, its labels, command that causes it, command that ends it)
OUTAGES = [
    ("RedisDown", {}, "systemctl stop redis-server", "systemctl start redis-server"),
    # The socket too: a request on it would start gunicorn again.
    ("TargetDown", {"job": "api"}, "systemctl stop tdc-gunicorn.socket tdc-gunicorn.service",
     "systemctl start tdc-gunicorn.socket tdc-gunicorn.service"),
]


@pytest.mark.disruptive
@pytest.mark.parametrize(("alert", "labels", "stop", "start"), OUTAGES,
                         ids=[outage[0] for outage in OUTAGES])
def test_an_outage_alerts_the_webhook_and_the_mailbox_and_resolves(vps, alerts, alert, labels,
                                                                   stop, start):
    mailed_before = len(alert_mails(alert, "FIRING"))
    started = time.monotonic()
    vps.run(stop)
    try:
        fired = alerts.wait_for(alert, "firing", ALERT_BOUND, since=started, **labels)
        print(f"{alert} reached the webhook {fired:.0f} s after `{stop}`")
        # The same notification, mailed through the relay with STARTTLS and its AUTH.
        assert wait_for(lambda: len(alert_mails(alert, "FIRING")) > mailed_before, 60), \
            f"no mail of the firing {alert} at the relay"
        mail = alert_mails(alert, "FIRING")[-1]
        assert mail["X-Relay-TLS"].startswith("starttls TLSv1."), mail["X-Relay-TLS"]
        assert mail["X-Relay-Auth"] == RELAY_USER
        assert mail["X-Relay-Peer"] == vps.address
    finally:
        restarted = time.monotonic()
        vps.run(start)
    resolved = alerts.wait_for(alert, "resolved", ALERT_BOUND, since=restarted, **labels)
    print(f"{alert} resolved {resolved:.0f} s after `{start}`")
    vps.wait_until_ready(seconds=60)


def alert_mails(alert: str, status: str) -> list:
    """The alert mails of ALERT with STATUS (FIRING, RESOLVED) at the relay, oldest first:
    Alertmanager's subject names both ("[FIRING:1] RedisDown (critical)")."""
    return [mail for mail in relay_mails(ALERT_EMAIL)
            if f"[{status}" in mail["Subject"] and f" {alert} " in mail["Subject"] + " "]


def forwarded(vps, port: int) -> str:
    """What an HTTP request through an SSH forward to 127.0.0.1:PORT on the VPS gets
    (ssh -W: the forwarding `make monitor` uses), or ssh's complaint."""
    run = subprocess.run([vps.ssh_prefix[0], "-W", f"127.0.0.1:{port}", *vps.ssh_prefix[1:]],
                         input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=30,
                         check=False)
    return (run.stdout + run.stderr).decode(errors="replace")


def test_ssh_forwards_to_prometheus_and_alertmanager_only(vps):
    ports = MONITORING["monitoring_ports"]
    for name in ("prometheus", "alertmanager"):
        assert forwarded(vps, ports[name]).startswith("HTTP/1."), name
    # sshd refuses the channel ("administratively prohibited", quiet at LogLevel=ERROR).
    for name in ("node", "redis", "mysqld"):
        answer = forwarded(vps, ports[name])
        assert "forwarding failed" in answer and "HTTP/1." not in answer, (name, answer)
