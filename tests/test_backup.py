"""The backups, as the timers run them, against the stand-in off-host storage (vps.sh's
`rclone serve restic`): encrypted, append-only for the db host, a failure that shows,
and restores (`make restore`, latest, AT= or SNAPSHOT=) that bring back exactly the data
of the moment asked for, in maintenance, with a safety backup first."""

import json
import re
import shlex
import time
import uuid

import pytest
from ops import (
    STORAGE_DIR,
    Traffic,
    is_envelope,
    new_member,
    output,
    playbook,
    register_member,
    role_defaults,
    storage_down,
    wait_for,
)

DATABASE = role_defaults("mysql")["mysql_app_database"]
BACKUP = role_defaults("backup")
UNITS = ("tdc-backup.service", "tdc-backup-binlog.service")
# What a restore changes on purpose: every account's token cut-off (and so the time of
# the row's last update).
CUT_OFF_COLUMNS = ("tokens_valid_after", "updated_at")
DRILL_TABLE = "backup_drill"


def sql(vps, statement: str) -> str:
    return vps.run(f"mysql -N -B {DATABASE} -e {shlex.quote(statement)}")


def vps_now(vps) -> str:
    """The VPS's clock, UTC, as AT= takes it."""
    return vps.run("date -u '+%Y-%m-%d %H:%M:%S'").strip()


def between(vps) -> str:
    """A moment strictly between what came before and what comes after (the binary log
    counts whole seconds)."""
    time.sleep(1.2)
    moment = vps_now(vps)
    time.sleep(1.2)
    return moment


def run_unit(vps, unit: str) -> str:
    """Start UNIT as its timer does (a oneshot: start waits) and return the result of
    this run: "success", or the one systemd logged for its failure. Not the unit's Result
    property: its timer may start it again right after, which resets that."""
    return start_unit(vps, unit)[0]


def assert_runs(vps, unit: str) -> None:
    """Start UNIT as run_unit does; fail with what the run logged unless it succeeded."""
    result, logged = start_unit(vps, unit)
    assert result == "success", f"{unit}: {result}\n{logged}"


def start_unit(vps, unit: str) -> tuple[str, str]:
    """Start UNIT and return its result with what this run logged (empty on success)."""
    # The whole journal's cursor: one unit's has none before its first run (journalctl
    # then says "-- No entries --" and exits 1).
    cursor = vps.run("journalctl -n 0 --show-cursor --no-pager").split("cursor: ")[-1].strip()
    if vps.run(f"systemctl start {unit} >/dev/null 2>&1; echo $?", timeout=300).strip() == "0":
        return "success", ""
    logged = vps.run(f"journalctl -u {unit} --after-cursor={shlex.quote(cursor)} -o cat --no-pager")
    failed = re.search(r"Failed with result '([\w-]+)'", logged)
    assert failed, logged
    return failed.group(1), logged


def snapshots(vps, tag: str) -> list[dict]:
    found = json.loads(vps.run(f"/usr/local/sbin/tdc-restic snapshots --json --tag {tag}"))
    return sorted(found, key=lambda s: s["time"])


def fingerprint(vps) -> dict[str, str | list[str]]:
    """Every table's CHECKSUM TABLE; the users' over every column but CUT_OFF_COLUMNS."""
    tables = sql(vps, "SHOW TABLES").split()
    assert tables, "the app database has no tables"
    result = {}
    for table in tables:
        if table == "users":
            columns = sql(vps, "SELECT column_name FROM information_schema.columns WHERE "
                               f"table_schema = '{DATABASE}' AND table_name = 'users' "
                               f"AND column_name NOT IN {CUT_OFF_COLUMNS}").split()
            listed = ", ".join(f"IFNULL(`{c}`, 'NULL')" for c in columns)
            # One checksum per account, so that a difference names the account.
            result[table] = sql(vps, f"SELECT id, CRC32(CONCAT_WS(0x1f, {listed})) FROM users "
                                     "ORDER BY id").split("\n")
        else:
            result[table] = sql(vps, f"CHECKSUM TABLE `{table}`").split()[-1]
    return result


def labels(vps) -> list[str]:
    return sql(vps, f"SELECT label FROM {DRILL_TABLE} ORDER BY id").split()


def registered(vps, members: list[dict]) -> list[bool]:
    """Whether each member's account is in the database."""
    found = set(sql(vps, "SELECT email FROM users").split())
    return [m["email"] in found for m in members]


def wipe(vps) -> None:
    """Drop every table of the app database: the data is gone."""
    vps.run(f"mysql -N -B -e \"SELECT CONCAT('DROP TABLE \\`', table_name, '\\`;') FROM "
            f"information_schema.tables WHERE table_schema = '{DATABASE}'\" | "
            f"(echo 'SET FOREIGN_KEY_CHECKS=0;'; cat) | mysql {DATABASE}")
    assert sql(vps, "SHOW TABLES").strip() == ""


def restore(at: str = "", snapshot: str = ""):
    """`make restore [AT=...] [SNAPSHOT=...]`; the caller checks the result."""
    return playbook("restore", "-e", json.dumps({"backup_restore_at": at,
                                                 "backup_restore_snapshot": snapshot}))


def test_timers_run_the_full_backup_nightly_and_ship_the_binary_log(vps):
    for timer in ("tdc-backup.timer", "tdc-backup-binlog.timer"):
        assert vps.run(f"systemctl is-enabled {timer}").strip() == "enabled"
        assert vps.run(f"systemctl is-active {timer}").strip() == "active"
    timer = vps.run("systemctl cat tdc-backup-binlog.timer")
    assert f"OnCalendar={BACKUP['backup_binlog_on_calendar']}" in timer
    assert BACKUP["backup_binlog_on_calendar"] == "*:0/5"


def test_each_success_leaves_its_time_for_the_node_exporter(vps):
    textfiles = BACKUP["backup_textfile_dir"]
    made = vps.run(f"[ -d {textfiles} ] && echo there || (mkdir -p {textfiles} && echo made)").strip()
    try:
        before = int(vps.run("date +%s"))
        for unit, kind in zip(UNITS, ("full", "binlog"), strict=True):
            assert_runs(vps, unit)
            text = vps.run(f"cat {textfiles}/tdc_backup_{kind}.prom")
            found = re.findall(r'^tdc_backup_last_success_timestamp_seconds\{kind="(\w+)"\} (\d+)$',
                               text, re.MULTILINE)
            assert len(found) == 1 and found[0][0] == kind, text
            assert int(found[0][1]) >= before
        assert vps.run(f"stat -c %a {textfiles}/tdc_backup_full.prom").strip() == "644"
    finally:
        if made == "made":
            vps.run(f"rm -rf {textfiles}")


def test_the_repository_holds_no_readable_data(vps):
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    sql(vps, f"CREATE TABLE IF NOT EXISTS backup_sentinel (note VARCHAR(80)); "
             f"INSERT INTO backup_sentinel VALUES ('{sentinel}')")
    try:
        assert_runs(vps, "tdc-backup.service")
        assert_runs(vps, "tdc-backup-binlog.service")
        # The check could fail: the sentinel is in the data, and the data was sent.
        assert sentinel in vps.run(f"/usr/local/sbin/tdc-restic dump latest /{DATABASE}.sql "
                                   "--tag full", timeout=120)
        files = [p for p in STORAGE_DIR.joinpath("repo").rglob("*") if p.is_file()]
        assert len(files) > 5
        assert not [p for p in files if sentinel.encode() in p.read_bytes()]
    finally:
        sql(vps, "DROP TABLE IF EXISTS backup_sentinel")


def test_the_db_host_cannot_delete_a_snapshot(vps):
    newest = snapshots(vps, "full")[-1]["id"]
    # restic 0.16 retries the refused DELETE for about a minute before it gives up; an
    # interrupt, not a kill, if it ever went on, so that it removes its exclusive lock.
    refused = vps.run(f"timeout --signal=INT 150 /usr/local/sbin/tdc-restic forget {newest} "
                      "2>&1; echo rc=$?", timeout=180)
    assert "rc=0" not in refused, refused
    assert newest in [s["id"] for s in snapshots(vps, "full")]


def test_the_repository_checks_with_a_read_of_its_data(vps):
    checked = vps.run("/usr/local/sbin/tdc-restic check --read-data-subset=1/4 2>&1; echo rc=$?",
                      timeout=300)
    assert "rc=0" in checked and "no errors were found" in checked, checked


def test_a_shipment_with_the_storage_down_fails_visibly_and_the_next_catches_up(vps):
    since = vps.run("date '+%Y-%m-%d %H:%M:%S'").strip()
    with storage_down():
        assert run_unit(vps, "tdc-backup-binlog.service") == "exit-code"
        stranded = vps.run("ls /var/backups/tdc/binlog | tail -n 1").strip()
        assert wait_for(lambda: "TDC BACKUP FAILED: tdc-backup-binlog.service failed" in vps.run(
            f"journalctl -t tdc-backup-alert --since '{since}' -o cat --no-pager"), seconds=30)
    assert_runs(vps, "tdc-backup-binlog.service")
    newest = snapshots(vps, "binlog")[-1]["id"]
    shipped = vps.run(f"/usr/local/sbin/tdc-restic ls {newest}")
    assert f"/{stranded}" in shipped


@pytest.mark.disruptive
@pytest.mark.restores
def test_the_drill_restores_each_moment_exactly(vps):
    """Rows A, a full backup, rows B at T1, rows C at T2, a table dropped at T3; the data
    wiped; a restore to between T2 and T3 has A, B and C (identical checksums), one to
    between T1 and T2 A and B only. Then the RPO under a steady write loop."""
    sql(vps, f"DROP TABLE IF EXISTS {DRILL_TABLE}; CREATE TABLE {DRILL_TABLE} "
             "(id INT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(20) NOT NULL)")
    sql(vps, f"INSERT INTO {DRILL_TABLE} (label) VALUES ('A1'), ('A2')")
    members = [new_member("drill") for _ in range(3)]
    register_member(vps, members[0])
    assert_runs(vps, "tdc-backup.service")
    sql(vps, f"INSERT INTO {DRILL_TABLE} (label) VALUES ('B1'), ('B2')")
    register_member(vps, members[1])
    after_t1 = between(vps)
    sql(vps, f"INSERT INTO {DRILL_TABLE} (label) VALUES ('C1')")
    register_member(vps, members[2])
    at_t2 = fingerprint(vps)
    after_t2 = between(vps)
    sql(vps, f"DROP TABLE {DRILL_TABLE}")
    assert_runs(vps, "tdc-backup-binlog.service")
    wipe(vps)

    started = time.monotonic()
    run = restore(at=after_t2)
    rto = time.monotonic() - started
    assert run.returncode == 0, output(run)
    assert labels(vps) == ["A1", "A2", "B1", "B2", "C1"]
    assert fingerprint(vps) == at_t2
    assert registered(vps, members) == [True, True, True]

    run = restore(at=after_t1)
    assert run.returncode == 0, output(run)
    assert labels(vps) == ["A1", "A2", "B1", "B2"]
    assert registered(vps, members) == [True, True, False]
    vps.wait_until_ready(seconds=60)

    # RPO: rows written every 0.2 s; the binary log shipped as the timer would; the
    # disaster a while later; how old is the newest row the restore brings back?
    sql(vps, "CREATE TABLE backup_rpo (id INT AUTO_INCREMENT PRIMARY KEY, "
             "written DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")
    writer = vps.run(f"nohup sh -c 'while :; do mysql {DATABASE} -e \"INSERT INTO backup_rpo () "
                     "VALUES ()\" 2>/dev/null; sleep 0.2; done' >/dev/null 2>&1 & echo $!").strip()
    try:
        time.sleep(10)
        shipped = time.monotonic()
        assert_runs(vps, "tdc-backup-binlog.service")
        shipment = time.monotonic() - shipped
        time.sleep(10)
        disaster = sql(vps, "SELECT NOW(6)").strip()
        run = restore()
    finally:
        vps.run(f"kill {writer} || true")
    assert run.returncode == 0, output(run)
    # The loop kept writing into the restored table after the swap: rows after the
    # disaster are not what the restore brought back.
    rpo = float(sql(vps, f"SELECT TIMESTAMPDIFF(MICROSECOND, MAX(written), '{disaster}') / 1e6 "
                         f"FROM backup_rpo WHERE written <= '{disaster}'"))
    sql(vps, "DROP TABLE backup_rpo")
    interval = 300
    print(f"\nRPO measured: the newest row restored was written {rpo:.1f} s before the disaster "
          f"(the last shipment ~10 s before it); with the {interval // 60}-minute timer, at most "
          f"{interval} s + a shipment ({shipment:.1f} s here). RTO: a restore to a moment took "
          f"{rto:.1f} s (make restore AT=, safety backup included).")
    assert 0 < rpo < interval + 60


@pytest.mark.disruptive
@pytest.mark.restores
def test_a_restore_under_load_is_maintenance_then_service_and_the_safety_backup_undoes_it(
        site, vps):
    """The API answers 503 in the envelope during a restore and 200 after; what the
    restore replaced comes back from the safety backup it named."""
    sql(vps, "CREATE TABLE IF NOT EXISTS backup_marker (note VARCHAR(40))")
    assert_runs(vps, "tdc-backup-binlog.service")
    marker = f"unshipped-{uuid.uuid4().hex[:8]}"
    # Written after the last shipment: a restore of the latest backup cannot have it, the
    # safety backup does.
    sql(vps, f"INSERT INTO backup_marker VALUES ('{marker}')")
    with Traffic(vps, token=None, max_rate=20, max_seconds=240) as traffic:
        run = restore()
        time.sleep(2)
    assert run.returncode == 0, output(run)
    assert traffic.statuses[503] > 0, traffic.statuses
    assert set(traffic.statuses) <= {200, 503}, traffic.statuses
    assert traffic.refusals == {(503, True): traffic.statuses[503]}, traffic.refusals
    assert not traffic.errors, traffic.errors[:3]
    after = site.get(vps.url("/api/v1/locations"), timeout=15)
    assert after.status_code == 200 and not is_envelope(after)
    assert marker not in sql(vps, "SELECT note FROM backup_marker")

    safety = re.search(r"make restore SNAPSHOT=(\w+)", run.stdout)
    assert safety, output(run)
    back = restore(snapshot=safety.group(1))
    assert back.returncode == 0, output(back)
    assert marker in sql(vps, "SELECT note FROM backup_marker")
    sql(vps, "DROP TABLE backup_marker")
    vps.wait_until_ready(seconds=60)


def test_a_restore_to_a_malformed_time_changes_nothing(vps):
    run = restore(at="yesterday at noon")
    assert run.returncode != 0
    assert 'give it as AT="YYYY-MM-DD HH:MM:SS" (UTC)' in run.stdout
    assert not vps.run("ls /run/tdc-maintenance 2>/dev/null || true").strip()


@pytest.mark.disruptive
def test_a_deploy_with_a_migration_to_apply_backs_up_first_and_readiness_waits_for_it(site, vps):
    """A migration undone by hand (005, one column): readiness says the schema is not
    the release's; a deploy takes a full backup before it migrates, then serves ready."""
    sql(vps, "ALTER TABLE users DROP COLUMN tokens_valid_after; "
             "DELETE FROM schema_migrations WHERE name = '005_token_cutoff.sql'")
    fulls = len(snapshots(vps, "full"))

    def unready_on_schema() -> bool:
        answer = site.get(vps.url("/api/v1/health/ready"), timeout=15)
        return answer.status_code == 503 and "pending 005_token_cutoff.sql" in answer.text

    assert wait_for(unready_on_schema, seconds=30)
    run = playbook("deploy")
    assert run.returncode == 0, output(run)
    assert "backed up before migrating: 1 migrations pending" in run.stdout
    assert len(snapshots(vps, "full")) == fulls + 1
    assert sql(vps, "SELECT COUNT(*) FROM schema_migrations WHERE name = '005_token_cutoff.sql'"
               ).strip() == "1"
    vps.wait_until_ready(seconds=60)


@pytest.mark.disruptive
def test_a_rollback_to_a_release_older_than_the_schema_stops_unless_told(vps):
    """A migration applied that the previous release does not know: the rollback says so,
    names the way to go on, and changes nothing."""
    current = vps.run("readlink -f /srv/tdc/current").strip()
    if int(vps.run("ls -1d /srv/tdc/releases/*/ | wc -l")) < 2:
        assert playbook("deploy").returncode == 0
        current = vps.run("readlink -f /srv/tdc/current").strip()
    sql(vps, "INSERT INTO schema_migrations (version, name, checksum) "
             "VALUES (999, '999_from_the_future.sql', REPEAT('0', 64))")
    try:
        run = playbook("rollback")
    finally:
        sql(vps, "DELETE FROM schema_migrations WHERE version = 999")
    assert run.returncode != 0
    assert "older than the database's schema (applied after it: 999_from_the_future.sql)" \
        in " ".join(run.stdout.split())
    assert "-e app_rollback_allow_older_schema=true" in run.stdout
    assert vps.run("readlink -f /srv/tdc/current").strip() == current
