"""What the cluster's edge and rolling-release tests share: the web hosts' gunicorn
journals, the edge's upstream, and a gunicorn stopped on one web host meanwhile."""

import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ops import REPO, requests_logged, role_defaults

INVENTORY = str(REPO / "ansible" / "inventories" / "local-cluster")
UPSTREAM = "/etc/nginx/conf.d/tdc-upstream.conf"
NGINX = role_defaults("nginx")
FAIL_TIMEOUT = int(NGINX["nginx_upstream_fail_timeout"].rstrip("s"))
MAX_FAILS = NGINX["nginx_upstream_max_fails"]
GUNICORN_UNITS = "tdc-gunicorn.socket tdc-gunicorn.service"


def served_by(cluster, tag: str) -> dict[str, int]:
    """How many requests tagged TAG each web host's gunicorn logged."""
    return {host.name: requests_logged(host.vps, tag) for host in cluster.group("web")}


def assert_all_served(cluster, traffic) -> dict[str, int]:
    """Every request of TRAFFIC answered 2xx past the cache, and logged by exactly one
    web host's gunicorn; returns the count per host."""
    assert traffic.total > 50, f"too few requests to prove anything: {traffic.total}"
    assert not traffic.failed["non_2xx"] and not traffic.errors, \
        f"lost of {traffic.total}: {traffic.failed}"
    assert traffic.cache == {"BYPASS": traffic.total}, traffic.cache
    counts = served_by(cluster, traffic.tag)
    assert sum(counts.values()) == traffic.total, f"logged {counts} of {traffic.total}"
    print(f"{traffic.total} requests, all answered 2xx: {counts}")
    return counts


def upstream_failures(edge, host, since: str) -> int:
    """Connections the edge's nginx failed to make to HOST's gunicorn since SINCE (an
    error-log time stamp, `date '+%Y/%m/%d %H:%M:%S'` on the edge)."""
    script = (f"awk -v since={shlex.quote(since)} '($1 \" \" $2) >= since' /var/log/nginx/error.log"
              f" | grep -c 'upstream: \"http://{host.private_address}:' || true")
    return int(edge.vps.run(script).strip() or 0)


def edge_clock(edge) -> str:
    return edge.vps.run("date '+%Y/%m/%d %H:%M:%S'").strip()


@contextmanager
def gunicorn_stopped(*hosts) -> Iterator[float]:
    """gunicorn and its socket stopped on HOSTS meanwhile (connections to them refused);
    yields the time.monotonic() of the stop."""
    for host in hosts:
        host.vps.run(f"systemctl stop {GUNICORN_UNITS}")
    try:
        yield time.monotonic()
    finally:
        for host in hosts:
            host.vps.start(GUNICORN_UNITS)


def drained(edge) -> list[str]:
    """The web hosts the edge's upstream marks down."""
    return [line.rsplit("#", 1)[-1].strip() for line in edge.vps.run(f"cat {UPSTREAM}").splitlines()
            if line.strip().startswith("server ") and " down;" in line]
