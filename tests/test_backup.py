"""The backup drill: data created through the API, `make backup`, the database
destroyed, `make restore FILE=`, and every table is back identical."""

import re
import uuid

import pytest
from ops import output, playbook, role_defaults

pytestmark = pytest.mark.disruptive

DATABASE = role_defaults("mysql")["mysql_app_database"]


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
    assert site.post(vps.url("/api/v1/auth/register"), json=member,
                     timeout=15).status_code == 201

    before = snapshot(vps)
    assert before["users"][0] > 0
    backup = playbook("backup")
    assert backup.returncode == 0, output(backup)
    dump = re.search(r"BACKUP (\S+\.sql\.gz)", backup.stdout).group(1)
    mode = vps.run(f"stat -c %a /var/backups/tdc/{dump.rsplit('/', 1)[-1]}").strip()
    assert mode == "600"

    vps.run(f"mysql -N -B -e \"SELECT CONCAT('DROP TABLE \\`', table_name, '\\`;') FROM "
            f"information_schema.tables WHERE table_schema = '{DATABASE}'\" | "
            f"(echo 'SET FOREIGN_KEY_CHECKS=0;'; cat) | mysql {DATABASE}")
    assert vps.run(f"mysql -N -B -e 'SHOW TABLES' {DATABASE}").strip() == ""

    restore = playbook("restore", "-e", f"backup_restore_file={dump}")
    assert restore.returncode == 0, output(restore)
    assert snapshot(vps) == before
    vps.wait_until_ready(seconds=60)
    login = site.post(vps.url("/api/v1/auth/login"), timeout=15,
                      json={"email": member["email"], "password": member["password"]})
    assert login.status_code == 200, login.text
