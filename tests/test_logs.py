"""Every log the stack writes is bounded: the journal by journald's limits, the files
under /var/log by a logrotate rule each."""

import re

from ops import role_defaults

# Files under /var/log no rotation is for: fixed-size records per account (lastlog,
# faillog) and debootstrap's one-off record of the image build.
NOT_ROTATED = {"/var/log/lastlog", "/var/log/faillog", "/var/log/bootstrap.log"}
# Rotated copies: name.1, name.2.gz, name-20261201, eipp.log.xz ...
ROTATED_COPY = re.compile(r"(\.\d+(\.gz)?|-\d{8}(\.gz)?|\.gz|\.xz)$")


def test_the_journal_is_held_to_the_roles_bounds(vps):
    common = role_defaults("common")
    config = vps.run("systemd-analyze cat-config systemd/journald.conf")
    assert f"SystemMaxUse={common['common_journal_max_use']}" in config
    assert f"MaxRetentionSec={common['common_journal_max_retention']}" in config
    # What journald itself applies, as it says when it (re)opens the journal.
    said = vps.run("journalctl -b -u systemd-journald -o cat --no-pager | grep 'max' | tail -1")
    wanted = common["common_journal_max_use"].rstrip("M")
    assert re.search(rf"max {wanted}(\.0)?M", said), said


def test_every_log_file_has_a_rotation_rule(vps):
    assert vps.run("systemctl is-enabled logrotate.timer", check=False).strip() == "enabled"
    # logrotate's dry run: it reads every rule and names each log it would consider.
    dry_run = vps.run("logrotate --debug /etc/logrotate.conf 2>&1")
    considered = set(re.findall(r"considering log (\S+)", dry_run))
    files = vps.run("find /var/log -path /var/log/journal -prune -o -type f -print").split()
    unruled = [path for path in files if path not in NOT_ROTATED
               and not ROTATED_COPY.search(path) and path not in considered]
    assert considered, dry_run[-2000:]
    assert not unruled, f"no logrotate rule for {unruled}"
