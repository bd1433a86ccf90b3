"""The local cluster as `local-vps/cluster.sh info` describes it: its edge, its CA and
its hosts, each with its groups, private address and a way in over SSH (ops.Vps)."""

import shlex
import subprocess
from dataclasses import dataclass

from ops import REPO, Vps

CLUSTER_SH = REPO / "local-vps" / "cluster.sh"

# The group whose hosts, and only they, run each unit (group_vars' tdc_app_units_by_group,
# and the servers' own).
UNIT_GROUP = {
    "tdc-gunicorn.service": "web",
    "tdc-celery-worker.service": "worker",
    "tdc-celery-beat.service": "beat",
    "mariadb.service": "db",
    "redis-server.service": "redis",
    "nginx.service": "edge",
    "prometheus.service": "monitor",
    "prometheus-mysqld-exporter.service": "db",
    "prometheus-redis-exporter.service": "redis",
    "prometheus-nginx-exporter.service": "edge",
}


@dataclass(frozen=True)
class ClusterHost:
    name: str
    groups: frozenset[str]
    private_address: str
    # Its management address (the controller's way in), the cluster's CA, its ssh prefix.
    vps: Vps


@dataclass(frozen=True)
class Cluster:
    edge_address: str  # the site's public address
    ca_bundle: str  # the ACME roots that verify the site (a PEM file)
    hosts: tuple[ClusterHost, ...]

    def group(self, name: str) -> list[ClusterHost]:
        """The hosts of the inventory group NAME."""
        return [host for host in self.hosts if name in host.groups]

    @property
    def edge(self) -> ClusterHost:
        """The host whose management address is the site's."""
        return next(host for host in self.hosts if host.vps.address == self.edge_address)


def parse_cluster_info(text: str) -> Cluster:
    """A Cluster from the lines `cluster.sh info` prints."""
    settings: dict[str, str] = {}
    rows: list[list[str]] = []
    private: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "CLUSTER_HOST":
            rows.append(value.split(" ", 3))
        elif key == "CLUSTER_PRIVATE":
            name, address = value.split()
            private[name] = address
        elif key:
            settings[key] = value
    ca_bundle = settings["CLUSTER_CA_BUNDLE"]
    hosts = tuple(ClusterHost(name, frozenset(groups.split(",")), private[name],
                              Vps(address, ca_bundle, shlex.split(ssh)))
                  for name, address, groups, ssh in rows)
    return Cluster(settings["CLUSTER_EDGE"], ca_bundle, hosts)


def local_cluster() -> Cluster:
    """The cluster `make cluster-up` left running."""
    info = subprocess.run([str(CLUSTER_SH), "info"], capture_output=True, text=True, check=True)
    return parse_cluster_info(info.stdout)
