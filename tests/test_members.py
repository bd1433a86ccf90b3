"""A member's path through the deployed site: register, verify, welcome email, log in
(tests/test_accounts.py: the account flows in detail)."""

import json
import uuid

from ops import WELCOME_SUBJECT, new_member, register_member, relay_mails, wait_for


def test_a_verified_registration_runs_the_welcome_email_task(site, vps):
    # Through the verification mail's link (ops.register_member); the stand-in relay on
    # the host side (tests/test_mail.py: how it came there).
    member = register_member(vps, new_member())
    assert wait_for(lambda: relay_mails(member["email"], WELCOME_SUBJECT), 60), \
        "the welcome email never reached the relay"
    worker_log = vps.run("journalctl -u tdc-celery-worker -o cat --no-pager --since -5min")
    assert "tdc.send_verification_email" in worker_log
    assert "tdc.send_welcome_email" in worker_log


def test_member_logs_in_and_the_app_sees_the_real_client(site, vps):
    member = register_member(vps, new_member())
    request_id = f"e2e-{uuid.uuid4().hex}"
    login = site.post(vps.url("/api/v1/auth/login"), timeout=15,
                      json={"email": member["email"], "password": member["password"]},
                      headers={"X-Request-ID": request_id, "X-Forwarded-For": "6.6.6.6"})
    assert login.status_code == 200, login.text
    token = login.json()["data"]["access_token"]
    me = site.get(vps.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {token}"},
                  timeout=15)
    assert me.json()["data"]["username"] == member["username"]

    # The request log line of that login names this test's own address, not nginx's and
    # not the forged one.
    lines = vps.run(f"journalctl -u tdc-gunicorn -o cat --no-pager --grep {request_id}")
    entries = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
    addresses = {entry.get("remote_addr") for entry in entries if entry.get("path")}
    client_address = vps.run("echo $SSH_CLIENT").split()[0]
    assert addresses == {client_address}
