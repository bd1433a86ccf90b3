"""Releases roll over the web hosts under a client loop through the edge: a good one
reaches every host with no failed request; a broken one stops on the first host, which
rolls back, and leaves the others untouched. The edge's upstream drains none after."""

import pytest
from edge import INVENTORY, assert_all_served, drained
from ops import Traffic, output, playbook
from test_releases import broken_commit, current_release, releases

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
