"""Converging again changes nothing; a reboot brings everything back with the data."""

import subprocess
import time
import uuid

import pytest
from ops import output, playbook, recap, register_member

pytestmark = pytest.mark.disruptive


def test_second_site_run_reports_no_change():
    run = playbook("site", timeout=900)
    assert run.returncode == 0, output(run)
    changed = [line for line in run.stdout.splitlines() if line.startswith("changed:")]
    assert all(counts["changed"] == 0 and counts["failed"] == 0
               for counts in recap(run).values()), "\n".join(changed)


def test_reboot_brings_every_service_back_with_the_data(site, vps):
    member = {"email": f"reboot-{uuid.uuid4().hex[:8]}@example.com",
              "username": f"reboot_{uuid.uuid4().hex[:8]}", "password": "survives a reboot"}
    register_member(vps, member)
    boot_id = vps.run("cat /proc/sys/kernel/random/boot_id").strip()

    vps.run("systemctl reboot", check=False)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            new_boot = vps.run("cat /proc/sys/kernel/random/boot_id", timeout=10).strip()
            if new_boot != boot_id:
                break
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        time.sleep(2)
    else:
        raise AssertionError("the VPS did not come back from the reboot")

    # Every unit up, none failed: "degraded" (a failed unit) is no recovery.
    state = vps.run("systemctl is-system-running --wait", check=False, timeout=150).strip()
    failed = vps.run("systemctl --failed --plain --no-legend", check=False).strip()
    assert state == "running", f"system {state} after the reboot: {failed}"
    vps.wait_until_ready(seconds=120)
    for unit in ("tdc-gunicorn.socket", "tdc-gunicorn", "tdc-celery-worker", "tdc-celery-beat",
                 "nginx", vps.database.unit, "redis-server"):
        assert vps.run(f"systemctl is-active {unit}", check=False).strip() == "active", unit
    login = site.post(vps.url("/api/v1/auth/login"), timeout=15,
                      json={"email": member["email"], "password": member["password"]})
    assert login.status_code == 200, login.text
