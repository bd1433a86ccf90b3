"""The edge's nginx balances over the web hosts: both serve, a stopped one costs no
request (retried on the next, then left out once nginx marks it failed), every one down
is the API's JSON envelope, the app sees the real client, and gunicorn's private port
takes only the edge."""

import time

import pytest
import yaml
from edge import (
    FAIL_TIMEOUT,
    MAX_FAILS,
    assert_all_served,
    edge_clock,
    gunicorn_stopped,
    served_by,
    upstream_failures,
)
from ops import REPO, Traffic, is_envelope, wait_for

pytestmark = pytest.mark.disruptive

GUNICORN_PORT = yaml.safe_load((REPO / "ansible" / "group_vars" / "all.yml").read_text())["tdc_gunicorn_port"]


def test_requests_through_the_edge_reach_every_web_host(cluster, vps, token):
    with Traffic(vps, token, max_requests=300) as traffic:
        assert wait_for(lambda: traffic.total >= 300, 30, 0.5)
    counts = assert_all_served(cluster, traffic)
    assert len(counts) >= 2 and all(counts.values()), counts


def test_a_stopped_web_host_costs_no_request_and_is_left_out(cluster, vps, token):
    """With one web host's gunicorn stopped (connections refused), every GET is retried on
    the next host (proxy_next_upstream error), and nginx tries the stopped one at most
    max_fails times per fail_timeout: the bound on what it costs is a retry, never a
    failed request."""
    edge, [served, stopped, *_] = cluster.edge, cluster.group("web")
    since = edge_clock(edge)
    seconds = 3 * FAIL_TIMEOUT
    with gunicorn_stopped(stopped), Traffic(vps, token, max_seconds=seconds) as traffic:
        # Writes whose connection failed were never sent: nginx sends them to the next
        # host too. A wrong password is a write the API answers 401 without a change.
        logins = [vps.session().post(vps.url("/api/v1/auth/login"), timeout=15,
                                     json={"email": "nobody@example.com", "password": "x" * 12})
                  for _ in range(4)]
        time.sleep(seconds)
    counts = assert_all_served(cluster, traffic)
    assert counts[stopped.name] == 0 and counts[served.name] == traffic.total, counts
    assert [answer.status_code for answer in logins] == [401] * 4, [a.text for a in logins]
    tries = upstream_failures(edge, stopped, since)
    # Tried, and left out: at most max_fails tries per fail_timeout window of the loop.
    windows = seconds // FAIL_TIMEOUT + 2
    assert 1 <= tries <= MAX_FAILS * windows, f"{tries} tries of the stopped host in {seconds} s"
    print(f"the stopped host was tried {tries} times in {seconds} s, every request retried")


def test_every_web_host_down_is_the_api_envelope(cluster, vps, token):
    client = vps.session()
    client.headers["Authorization"] = f"Bearer {token}"
    with gunicorn_stopped(*cluster.group("web")):
        answer = client.get(vps.url("/api/v1/locations"), timeout=30)
    assert answer.status_code == 503 and is_envelope(answer), (answer.status_code, answer.text)
    assert answer.headers.get("Retry-After"), answer.headers
    vps.wait_until_ready(seconds=60)


def test_the_app_sees_the_client_and_not_a_forged_address(cluster, vps, token):
    """The edge replaces X-Forwarded-For with the client's address; the web host believes
    the edge's, for that one hop: what the app logs is the controller's address on the
    edge's link, whatever the client claimed."""
    client_address = vps.address.rsplit(".", 1)[0] + ".1"
    tag = f"client-{time.monotonic_ns()}"
    client = vps.session()
    client.headers["Authorization"] = f"Bearer {token}"
    for n in range(4):
        answer = client.get(vps.url("/api/v1/locations"), timeout=15,
                            headers={"X-Request-ID": f"{tag}-{n}", "X-Forwarded-For": "6.6.6.6"})
        assert answer.status_code == 200, answer.text
    assert sum(served_by(cluster, tag).values()) == 4
    for host in cluster.group("web"):
        logged = host.vps.run(f"journalctl -u tdc-gunicorn -o cat --no-pager --grep {tag} || true")
        for line in logged.splitlines():
            assert f'"remote_addr": "{client_address}"' in line, line


def test_gunicorn_on_a_web_host_takes_only_the_edge(cluster):
    """gunicorn's private port answers the edge and no other host (its socket unit's
    IPAddressAllow): a connection from anywhere else times out."""
    behind = [web for web in cluster.group("web") if "edge" not in web.groups]
    assert behind, "no web host behind the edge in this cluster"
    for web in behind:
        url = f"http://{web.private_address}:{GUNICORN_PORT}/api/v1/health"
        probe = f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 3 {url}; true"
        assert cluster.edge.vps.run(probe, timeout=20) == "200", web.name
        # Another host; the web host's own processes reach it over loopback anyway.
        for other in (host for host in cluster.hosts if "edge" not in host.groups and host != web):
            code = other.vps.run(probe, timeout=20)
            assert code == "000", f"{other.name} reached {web.name}'s gunicorn: HTTP {code}"
