"""The backup drill, as the timer runs it: data created through the API, a dump by
tdc-backup.service (with its sandbox), the database destroyed, `make restore FILE=` of
that dump, and every table is back identical. And the rotation keeps what it promises."""

import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from ops import output, playbook, register_member, role_defaults

pytestmark = pytest.mark.disruptive

DATABASE = role_defaults("mysql")["mysql_app_database"]
BACKUP = role_defaults("backup")
BACKUP_DIR = BACKUP["backup_dir"]
KEEP_DAYS = BACKUP["backup_keep_days"]


def dumps(vps) -> list[str]:
    return sorted(vps.run(f"ls {BACKUP_DIR}/{DATABASE}-*.sql.gz 2>/dev/null || true").split())


def run_backup_service(vps) -> str:
    """Start tdc-backup.service as the timer does (a oneshot: start waits for it) and
    return the one dump it wrote."""
    before = set(dumps(vps))
    vps.run("systemctl start tdc-backup.service", timeout=300)
    assert vps.run("systemctl show -p Result --value tdc-backup.service").strip() == "success"
    new = sorted(set(dumps(vps)) - before)
    assert len(new) == 1, f"the service wrote {new}"
    return new[0]


def snapshot(vps) -> dict[str, tuple[int, int]]:
    """Row count and CHECKSUM TABLE of every table of the app database."""
    tables = vps.run(f"mysql -N -B -e 'SHOW TABLES' {DATABASE}").split()
    assert tables, "the app database has no tables"
    result = {}
    for table in tables:
        count = int(vps.run(f"mysql -N -B -e 'SELECT COUNT(*) FROM `{table}`' {DATABASE}"))
        checksum = vps.run(f"mysql -N -B -e 'CHECKSUM TABLE `{table}`' {DATABASE}").split()[-1]
        result[table] = (count, checksum)
    return result


def test_timer_dumps_nightly(vps):
    assert vps.run("systemctl is-enabled tdc-backup.timer").strip() == "enabled"
    assert vps.run("systemctl is-active tdc-backup.timer").strip() == "active"


def test_backup_destroy_restore_gives_the_same_data(site, vps):
    tag = uuid.uuid4().hex[:10]
    member = {"email": f"drill-{tag}@example.com", "username": f"drill_{tag}",
              "password": "a backup drill passphrase"}
    register_member(vps, member)

    before = snapshot(vps)
    assert before["users"][0] > 0
    dump = run_backup_service(vps)
    assert vps.run(f"stat -c '%a %U' {dump}").split() == ["600", "root"]
    local = Path(tempfile.mkdtemp()) / Path(dump).name
    local.write_bytes(subprocess.run([*vps.ssh_prefix, f"cat {dump}"], capture_output=True,
                                     check=True, timeout=120).stdout)

    vps.run(f"mysql -N -B -e \"SELECT CONCAT('DROP TABLE \\`', table_name, '\\`;') FROM "
            f"information_schema.tables WHERE table_schema = '{DATABASE}'\" | "
            f"(echo 'SET FOREIGN_KEY_CHECKS=0;'; cat) | mysql {DATABASE}")
    assert vps.run(f"mysql -N -B -e 'SHOW TABLES' {DATABASE}").strip() == ""

    restore = playbook("restore", "-e", f"backup_restore_file={local}")
    assert restore.returncode == 0, output(restore)
    assert snapshot(vps) == before
    vps.wait_until_ready(seconds=60)
    login = site.post(vps.url("/api/v1/auth/login"), timeout=15,
                      json={"email": member["email"], "password": member["password"]})
    assert login.status_code == 200, login.text


def test_the_rotation_removes_exactly_the_dumps_older_than_the_retention(vps):
    """Dumps older than backup_keep_days go when the service runs; the younger stay."""
    day = 24 * 3600
    ages = {"just-too-old": KEEP_DAYS * day + 3600, "much-too-old": (KEEP_DAYS + 30) * day,
            "just-young-enough": KEEP_DAYS * day - 3600, "a-day-old": day}
    planted = {name: f"{BACKUP_DIR}/{DATABASE}-rotation-{name}.sql.gz" for name in ages}
    vps.run(" && ".join(f"echo planted | gzip > {path} && touch -d @$(( $(date +%s) - {ages[name]} ))"
                        f" {path}" for name, path in planted.items()))
    try:
        new = run_backup_service(vps)
        left = set(dumps(vps))
        assert new in left
        gone = {name for name, path in planted.items() if path not in left}
        assert gone == {"just-too-old", "much-too-old"}
    finally:
        vps.run(f"rm -f {' '.join(planted.values())}")
