"""Converging again changes nothing; a reboot brings everything back with the data."""

import os
import re
import subprocess
import time
import uuid

import pytest
from conftest import REPO

pytestmark = pytest.mark.disruptive

INVENTORY = os.environ.get("E2E_INVENTORY", str(REPO / "ansible" / "inventories" / "local"))


def test_second_site_run_reports_no_change():
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg")}
    playbook = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(REPO / "ansible" / "site.yml")],
        capture_output=True, text=True, env=env, timeout=900, check=False)
    assert playbook.returncode == 0, playbook.stdout[-3000:] + playbook.stderr[-2000:]
    recap = re.findall(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+).*failed=(\d+)", playbook.stdout,
                       re.MULTILINE)
    assert recap, playbook.stdout[-2000:]
    changed = [line for line in playbook.stdout.splitlines() if line.startswith("changed:")]
    assert all(c == "0" and f == "0" for c, f in recap), "\n".join(changed)


def test_reboot_brings_every_service_back_with_the_data(site, vps):
    member = {"email": f"reboot-{uuid.uuid4().hex[:8]}@example.com",
              "username": f"reboot_{uuid.uuid4().hex[:8]}", "password": "survives a reboot"}
    assert site.post(vps.url("/api/v1/auth/register"), json=member,
                     timeout=15).status_code == 201
    boot_id = vps.run("cat /proc/sys/kernel/random/boot_id").strip()

    vps.run("systemctl reboot", check=False)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            new_boot = vps.run("cat /proc/sys/kernel/random/boot_id", timeout=10).strip()
            if new_boot != boot_id and vps.run("systemctl is-system-running --wait",
                                               check=False, timeout=120).strip():
                break
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        time.sleep(2)
    else:
        raise AssertionError("the VPS did not come back from the reboot")

    vps.wait_until_ready(seconds=120)
    for unit in ("tdc-gunicorn.socket", "tdc-gunicorn", "tdc-celery-worker", "tdc-celery-beat",
                 "nginx", "mariadb", "redis-server"):
        assert vps.run(f"systemctl is-active {unit}", check=False).strip() == "active", unit
    login = site.post(vps.url("/api/v1/auth/login"), timeout=15,
                      json={"email": member["email"], "password": member["password"]})
    assert login.status_code == 200, login.text
