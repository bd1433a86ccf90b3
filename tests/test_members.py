"""A member's path through the deployed site: register, welcome email, log in."""

import json
import shlex
import uuid

import pytest
from ops import new_member, wait_for

# An SMTP server that takes every message and prints it, commands and all, to the journal
# (Python 3.12, Ubuntu 24.04's, has no smtpd module any more).
SMTP_SINK = r"""
import socketserver


class Sink(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 e2e mail sink")
        for raw in self.rfile:
            command = raw.decode(errors="replace").strip()
            print(command, flush=True)
            verb = command[:4].upper()
            if verb == "DATA":
                self.reply("354 end with a line of a single dot")
                for line in self.rfile:
                    if line.rstrip(b"\r\n") == b".":
                        break
                    print(line.decode(errors="replace").rstrip(), flush=True)
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            self.reply("250 ok")


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", 25), Sink).serve_forever()
"""


@pytest.fixture
def mail_sink(vps):
    """A throwaway SMTP server on the VPS at localhost:25, where the app sends mail."""
    vps.run("systemctl stop tdc-e2e-smtp 2>/dev/null; systemctl reset-failed tdc-e2e-smtp "
            "2>/dev/null; systemd-run --unit=tdc-e2e-smtp --description='e2e mail sink' --collect "
            f"python3 -u -c {shlex.quote(SMTP_SINK)}", check=True)
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
