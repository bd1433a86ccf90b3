"""A member's path through the deployed site: register, welcome email, log in."""

import json
import uuid

import pytest
from ops import new_member, wait_for


@pytest.fixture
def mail_sink(vps):
    """A throwaway SMTP server on the VPS at localhost:25, where the app sends mail."""
    vps.run("systemctl stop tdc-e2e-smtp 2>/dev/null; systemctl reset-failed tdc-e2e-smtp "
            "2>/dev/null; systemd-run --unit=tdc-e2e-smtp --collect python3 -u -W ignore "
            "-m smtpd -n -c DebuggingServer 127.0.0.1:25", check=True)
    yield
    vps.run("systemctl stop tdc-e2e-smtp", check=False)


def test_registration_runs_the_welcome_email_task(site, vps, mail_sink):
    member = new_member()
    response = site.post(vps.url("/api/v1/auth/register"), json=member, timeout=15)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["email"] == member["email"]

    def delivered():
        return member["email"] in vps.run("journalctl -u tdc-e2e-smtp -o cat --no-pager")

    assert wait_for(delivered, 60), "the welcome email never reached the mail sink"
    worker_log = vps.run("journalctl -u tdc-celery-worker -o cat --no-pager --since -5min")
    assert "tdc.send_welcome_email" in worker_log


def test_member_logs_in_and_the_app_sees_the_real_client(site, vps):
    member = new_member()
    assert site.post(vps.url("/api/v1/auth/register"), json=member,
                     timeout=15).status_code == 201
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
