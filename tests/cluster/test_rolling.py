"""Releases roll over the web hosts under a client loop through the edge: a good one
reaches every host with no failed request; a broken one stops on the first host, which
rolls back, and leaves the others untouched; a rollback (rollback.yml) takes every host
back one release, losing no request either. The edge's upstream drains none after."""

import pytest
from edge import INVENTORY, assert_all_served, drained
from ops import Traffic, output, playbook
from test_releases import broken_commit, current_release, releases, workers_on

pytestmark = pytest.mark.disruptive

# Each web host is drained and put back: two nginx reloads per web host, each of which may
# close one idle keep-alive connection of the client loop unanswered (ops.Traffic).
RELOADS_PER_WEB_HOST = 2


def test_a_rolling_release_reaches_every_web_host_and_loses_no_request(cluster, vps, token):
    web = cluster.group("web")
    before = {host.name: current_release(host.vps) for host in web}
    with Traffic(vps, token, max_reconnects=RELOADS_PER_WEB_HOST * len(web)) as traffic:
        run = playbook("deploy", inventory=INVENTORY, timeout=1200)
    assert run.returncode == 0, output(run)
    after = {host.name: current_release(host.vps) for host in web}
    assert all(after[name] != before[name] for name in after), (before, after)
    # One release, one name, on every host.
    assert len({release.rsplit("/", 1)[-1] for release in after.values()}) == 1, after
    assert_all_served(cluster, traffic)
    assert drained(cluster.edge) == []


def test_a_broken_release_stops_on_the_first_web_host(cluster, vps, token):
    first, *rest = cluster.group("web")
    before = {host.name: (current_release(host.vps), releases(host.vps)) for host in rest}
    first_before = current_release(first.vps)
    with Traffic(vps, token, max_reconnects=RELOADS_PER_WEB_HOST) as traffic:
        run = playbook("deploy", "-e", f"app_source_ref={broken_commit()}",
                       "-e", "app_release_ready_retries=3", inventory=INVENTORY, timeout=1200)
    assert run.returncode != 0, "the broken release passed its check: " + output(run)
    assert "ROLLED BACK" in run.stdout, output(run)
    assert current_release(first.vps) == first_before
    # The others never saw the release: not even unpacked.
    assert {host.name: (current_release(host.vps), releases(host.vps)) for host in rest} == before
    assert_all_served(cluster, traffic)
    assert drained(cluster.edge) == []


def test_a_rollback_rolls_every_web_host_back_one_release_and_loses_no_request(cluster, vps, token):
    web = cluster.group("web")
    # The release before the current one; a failed release, newer, is never gone back to.
    previous = {host.name: [release for release in releases(host.vps)
                            if release < current_release(host.vps)] for host in web}
    assert all(previous.values()), f"no older release to roll back to: {previous}"
    with Traffic(vps, token, max_reconnects=RELOADS_PER_WEB_HOST * len(web)) as traffic:
        run = playbook("rollback", inventory=INVENTORY, timeout=1200)
    assert run.returncode == 0, output(run)
    for host in web:
        assert current_release(host.vps) == previous[host.name][-1], host.name
        assert workers_on(host.vps, previous[host.name][-1]), host.name
    assert_all_served(cluster, traffic)
    assert drained(cluster.edge) == []
