"""Each service runs on the hosts of its inventory group, and nowhere else."""

import pytest
from cluster_info import UNIT_GROUP


def states(host, units) -> dict[str, tuple[str, str]]:
    """UNIT -> (is-active, is-enabled) on HOST; a unit it does not have reads inactive."""
    names = " ".join(units)
    active = host.vps.run(f"systemctl is-active {names} || true").split()
    enabled = host.vps.run(f"for u in {names}; do systemctl is-enabled $u 2>/dev/null || echo absent; done").split()
    return dict(zip(units, zip(active, enabled)))


def test_the_cluster_has_the_hosts_the_issue_asks_for(cluster):
    assert len(cluster.group("web")) >= 2 and len(cluster.group("worker")) >= 2
    assert len(cluster.group("db")) == 1 and len(cluster.group("edge")) >= 1
    assert any(len(host.groups - {"monitor"}) > 1 for host in cluster.hosts), "no host shares groups"


@pytest.mark.parametrize("unit", sorted(UNIT_GROUP))
def test_each_unit_runs_where_its_group_says_and_nowhere_else(cluster, unit):
    group = UNIT_GROUP[unit]
    found = {host.name: states(host, [unit])[unit] for host in cluster.hosts}
    for host in cluster.hosts:
        active, enabled = found[host.name]
        if group in host.groups:
            assert (active, enabled) == ("active", "enabled"), (host.name, found)
        else:
            assert active != "active" and enabled != "enabled", (host.name, found)


def test_exactly_one_beat_runs(cluster):
    running = [host.name for host in cluster.hosts
               if host.vps.run("systemctl is-active tdc-celery-beat.service || true").strip() == "active"]
    assert running == [host.name for host in cluster.group("beat")] and len(running) == 1, running


def test_only_the_edge_answers_on_80_and_443(cluster):
    for host in cluster.hosts:
        listening = host.vps.run("ss -Htln '( sport = :443 or sport = :80 )'")
        assert bool(listening.strip()) == ("edge" in host.groups), (host.name, listening)
