"""Fixtures for the tests of the local cluster (`make cluster-up`): its hosts as
`local-vps/cluster.sh info` names them (CLUSTER_EDGE, CLUSTER_CA_BUNDLE, a CLUSTER_HOST
and a CLUSTER_PRIVATE line per host), each reached over SSH like the one VPS (ops.Vps).

The `vps` fixture is the edge here, so the fixtures of tests/conftest.py that build on
it (`site`, `token`) speak to the cluster's site through the edge."""

import pytest
from cluster_info import Cluster, local_cluster
from ops import Vps, resolve_site_to


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    return local_cluster()


@pytest.fixture(scope="session")
def vps(cluster) -> Vps:
    """The edge, as the site's clients see it: the site's names resolve to it."""
    resolve_site_to(cluster.edge_address)
    return cluster.edge.vps
