"""`make restore` on several hosts, whose db host runs no app: meanwhile the edge answers
the API with 503 envelopes and the Celery units of the app hosts are stopped; the first
web host migrates the restored data and cuts off every token; then every host serves and
works as placed again."""

import time
import uuid

import pytest
from cluster_info import UNIT_GROUP
from ops import Traffic, is_envelope, member_token, output
from test_backup import assert_runs, restore, sql

pytestmark = [pytest.mark.disruptive, pytest.mark.restores]

MAINTENANCE_FLAG = "/run/tdc-maintenance"


def main_pid(host, unit: str) -> str:
    return host.vps.run(f"systemctl show -p MainPID --value {unit}").strip()


def celery_units(host) -> list[str]:
    return [unit for unit, group in UNIT_GROUP.items() if unit.startswith("tdc-celery-") and group in host.groups]


def test_a_restore_keeps_the_site_in_maintenance_and_the_workers_stopped_on_every_host(
        cluster, site, vps):
    db = cluster.group("db")[0]
    assert not db.groups & {"web", "worker", "beat"}, "the cluster's db host runs the app"
    app_hosts = [host for host in cluster.hosts if celery_units(host)]
    before = {(host.name, unit): main_pid(host, unit) for host in app_hosts for unit in celery_units(host)}
    token = member_token(vps, "restore")
    sql(db.vps, "CREATE TABLE IF NOT EXISTS backup_marker (note VARCHAR(40))")
    # A full backup to restore (a new cluster has none before its nightly one), then the
    # binary log shipped up to here.
    assert_runs(db.vps, "tdc-backup.service")
    assert_runs(db.vps, "tdc-backup-binlog.service")
    # Written after the last shipment: the latest backup cannot have it.
    marker = f"unshipped-{uuid.uuid4().hex[:8]}"
    sql(db.vps, f"INSERT INTO backup_marker VALUES ('{marker}')")

    with Traffic(vps, token=None, max_rate=20, max_seconds=300) as traffic:
        run = restore()
        time.sleep(2)
    assert run.returncode == 0, output(run)
    assert "the migrations and the token cut-off follow from a web host" in run.stdout, output(run)
    # The edge answered for the API while the data was being replaced, and only then.
    assert traffic.statuses[503] > 0, traffic.statuses
    assert set(traffic.statuses) <= {200, 503}, traffic.statuses
    assert traffic.refusals == {(503, True): traffic.statuses[503]}, traffic.refusals
    assert not traffic.errors, traffic.errors[:3]
    assert cluster.edge.vps.run(f"test -e {MAINTENANCE_FLAG} && echo set || echo gone").strip() == "gone"

    assert marker not in sql(db.vps, "SELECT note FROM backup_marker")
    sql(db.vps, "DROP TABLE backup_marker")
    # The first web host cut the tokens off: one issued before the restore is refused.
    me = site.get(vps.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert me.status_code == 401 and is_envelope(me), me.text
    # Every Celery unit was stopped and started again where its group places it.
    for (name, unit), pid in before.items():
        host = next(host for host in cluster.hosts if host.name == name)
        assert host.vps.run(f"systemctl is-active {unit}", check=False).strip() == "active", (name, unit)
        assert main_pid(host, unit) != pid, f"{unit} on {name} ran through the restore"
    after = site.get(vps.url("/api/v1/locations"), timeout=15)
    assert after.status_code == 200 and not is_envelope(after)
