"""How Ansible gets in: the deploy user, by key, with sudo; root over SSH only where the
inventory keeps it (the local VPS), never in production."""

import json
import subprocess
import sys
from pathlib import Path

from ops import REPO, role_defaults

PRODUCTION = REPO / "ansible" / "inventories" / "production"


def as_deploy_user(vps, command: str) -> subprocess.CompletedProcess:
    """COMMAND over SSH as the deploy user, with the key the local inventory gives it."""
    user = role_defaults("hardening")["hardening_deploy_user"]
    ssh = [part for part in vps.ssh_prefix if not part.startswith("root@")]
    return subprocess.run([*ssh, f"{user}@{vps.address}", command], capture_output=True,
                          text=True, timeout=30, check=False)


def test_the_deploy_user_logs_in_by_key_and_becomes_root_without_a_password(vps):
    login = as_deploy_user(vps, "sudo -n id -u")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == "0"
    user = role_defaults("hardening")["hardening_deploy_user"]
    # No password to guess or to type: the account is locked for passwords.
    assert vps.run(f"passwd -S {user}").split()[1] == "L"


def test_root_may_log_in_over_ssh_only_where_the_inventory_says_so(vps):
    effective = vps.run("sshd -T -C user=root,host=client,addr=192.0.2.9 | grep -i '^permitrootlogin'")
    assert effective.split()[1] == "without-password"  # sshd's name for prohibit-password
    # Production: Ansible logs in as the deploy user and keeps the role's default, "no".
    assert role_defaults("hardening")["hardening_ssh_permit_root_login"] == "no"
    production = json.loads(subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(PRODUCTION), "--list"],
        capture_output=True, text=True, check=True).stdout)
    hosts = production["_meta"]["hostvars"]
    assert hosts, "no host in the production inventory"
    for name, host in hosts.items():
        assert host.get("ansible_user") == role_defaults("hardening")["hardening_deploy_user"], name
        assert "hardening_ssh_permit_root_login" not in host, f"{name} lets root log in"
