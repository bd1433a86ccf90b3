"""The production inventory, run for real as far as it can be here: site.yml in check
mode against the local VPS with every production setting, logging in as production does
(the deploy user, with sudo), only the address, the SSH key and the vault's secrets
(generated, placeholder-free) replaced.

What check mode cannot run is skipped by Ansible and so untested here: the certificate
from Let's Encrypt itself and a release put in service. Nothing on the VPS changes."""

import json
import re
import secrets
import shlex
from pathlib import Path

import yaml
from ops import REPO, output, playbook, recap

PRODUCTION = str(REPO / "ansible" / "inventories" / "production")
# Every value the vault holds, as its example names them.
VAULT_NAMES = list(yaml.safe_load(
    (Path(PRODUCTION) / "group_vars" / "all" / "vault.yml.example").read_text()))
# Files the production settings differ on: a real run would rewrite them.
WATCHED = ("/srv/tdc/shared/.env /srv/tdc/shared/relay-hosts /etc/apt/apt.conf.d/01proxy "
           "/etc/letsencrypt/acme-ca.pem")


def vault_value(name: str) -> str | int:
    """A generated, placeholder-free value for the vault's NAME, of the kind it holds."""
    if name.endswith("_email"):
        return f"{name.removeprefix('vault_')}@thedreamerscave.club"
    if name.endswith("_smtp_host"):
        return "smtp.mailprovider.net"
    if name.endswith("_port"):
        return 587
    return secrets.token_urlsafe(36)


def task_result(stdout: str, task: str) -> str:
    """The first result (ok, changed, skipping, failed, fatal) of the task named TASK..."""
    _, found, tail = stdout.partition(f"TASK [{task}")
    assert found, f"no task {task} in the run"
    return re.search(r"^(ok|changed|skipping|failed|fatal):", tail, re.MULTILINE).group(1)


def test_site_in_check_mode_with_production_settings_fails_no_task(vps, tmp_path):
    settings = {name: vault_value(name) for name in VAULT_NAMES}
    # The relay's and the backup storage's addresses, which production states in its
    # vars.yml (documentation's).
    settings["app_smtp_relay_addresses"] = ["203.0.113.25"]
    settings["backup_storage_addresses"] = ["203.0.113.80"]
    # Production's way in: the deploy user with sudo, here by the local VPS's key (which
    # its deploy user takes), with the local VPS's SSH options (VPS_SSH less ssh and host).
    key = vps.ssh_prefix[vps.ssh_prefix.index("-i") + 1]
    settings.update(ansible_host=vps.address,
                    hardening_deploy_authorized_keys=[Path(f"{key}.pub").read_text().strip()],
                    ansible_ssh_common_args=shlex.join(vps.ssh_prefix[1:-1]))
    extra = tmp_path / "production-here.json"
    extra.write_text(json.dumps(settings))
    extra.chmod(0o600)
    before = vps.run(f"sha256sum {WATCHED}")

    run = playbook("site", "--check", "-e", f"@{extra}", inventory=PRODUCTION, timeout=900)
    assert run.returncode == 0, output(run)
    counts = recap(run)
    assert list(counts) == ["tdc-prod"], counts
    assert counts["tdc-prod"]["failed"] == 0 and counts["tdc-prod"]["unreachable"] == 0
    # Production's settings were the ones used: no apt proxy there, so its file would go;
    # and Let's Encrypt is not reached from here, so check mode skips certbot.
    assert task_result(run.stdout, "common : Ensure apt uses no proxy") == "changed"
    assert task_result(run.stdout, "tls : Ensure the certificate covers") == "skipping"
    assert vps.run(f"sha256sum {WATCHED}") == before, "check mode changed the VPS"
