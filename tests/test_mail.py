"""Outgoing mail of the deployed site, through the stand-in relay on the host side of the
VPS (local-vps/relay.py), which insists on TLS and AUTH as the provider's does: the
production code path, the worker's sandbox and its allow-list included."""

import uuid

import pytest
from ops import (
    RELAY_USER,
    RESET_SUBJECT,
    WELCOME_SUBJECT,
    new_member,
    output,
    playbook,
    post_within_limits,
    queue_welcome,
    register_member,
    relay_mails,
    relay_refusing,
    vps_sh,
    wait_for,
    worker_journal,
)


def register(vps) -> dict:
    """A verified member (its welcome mail on the way), with its id."""
    return register_member(vps, new_member("mail"))


def request_reset(vps, member) -> None:
    """Ask for a reset mail: one more mail of MEMBER's, queued while the test watches."""
    answer = post_within_limits(vps, "/api/v1/auth/reset-request", {"email": member["email"]})
    assert answer.status_code == 202, answer.text


def mail_failed_count(site, vps) -> int | None:
    return site.get(vps.url("/api/v1/health/ready"), timeout=15).json()["data"]["mail"]["failed"]


@pytest.fixture
def relay_outage():
    """relay_outage(True) stops the relay (its port refuses connections), (False) starts
    it again; it runs again after the test in any case."""
    yield lambda down: vps_sh("relay-stop" if down else "relay-start")
    vps_sh("relay-start")


def test_the_worker_may_reach_the_relay_and_nothing_else(vps):
    allowed = vps.run("systemctl show -p IPAddressAllow --value tdc-celery-worker").split()
    relay_address = vps.address.rpartition(".")[0] + ".1"
    assert sorted(allowed) == sorted(["127.0.0.0/8", "::1/128", f"{relay_address}/32"])
    # systemd lists the denied prefixes in no fixed order.
    denied = vps.run("systemctl show -p IPAddressDeny --value tdc-celery-worker").split()
    assert sorted(denied) == ["0.0.0.0/0", "::/0"]


@pytest.fixture(scope="module")
def welcomed(site, vps) -> dict:
    """A member registered through the API whose welcome mail reached the relay."""
    member = register(vps)
    assert wait_for(lambda: relay_mails(member["email"], WELCOME_SUBJECT), 60), \
        "no welcome mail at the relay"
    return member


def test_the_welcome_mail_arrives_through_starttls_and_auth(vps, welcomed):
    [mail] = relay_mails(welcomed["email"], WELCOME_SUBJECT)
    assert mail["X-Relay-TLS"].startswith("starttls TLSv1.")
    assert mail["X-Relay-Auth"] == RELAY_USER
    assert mail["X-Relay-Peer"] == vps.address
    assert mail["Subject"] == "Welcome to The Dreamer's Cave"
    assert f"Hello {welcomed['username']}" in mail.get_content()
    # The worker logs the delivery once the relay's answer is in: a moment after the mail.
    assert wait_for(lambda: worker_journal(vps, f"mail_sent kind=welcome user_id={welcomed['id']} "),
                    15)


def test_a_relay_outage_is_retried_and_the_mail_delivered_once(vps, welcomed, relay_outage):
    """A reset mail queued while the relay is down (tests/test_accounts.py: the
    verification mail of a sign-up, the same way)."""
    relay_outage(True)
    request_reset(vps, welcomed)
    retried = f"mail_retry kind=reset user_id={welcomed['id']} "
    assert wait_for(lambda: worker_journal(vps, retried), 60), "no retry while the relay was down"
    assert "ConnectionRefusedError" in worker_journal(vps, retried)[0]
    assert relay_mails(welcomed["email"], RESET_SUBJECT) == []
    relay_outage(False)
    assert wait_for(lambda: relay_mails(welcomed["email"], RESET_SUBJECT), 90), \
        "not delivered after the outage"
    assert wait_for(lambda: worker_journal(vps, f"mail_sent kind=reset user_id={welcomed['id']} "),
                    15)
    assert len(relay_mails(welcomed["email"], RESET_SUBJECT)) == 1
    assert not worker_journal(vps, f"mail_failed kind=reset user_id={welcomed['id']} ")


def test_a_refused_auth_fails_once_without_retry_and_is_counted(site, vps):
    member = register(vps)
    assert wait_for(lambda: relay_mails(member["email"], WELCOME_SUBJECT), 60)
    before = mail_failed_count(site, vps)
    with relay_refusing("refuse-auth"):
        request_reset(vps, member)
        failed = f"mail_failed kind=reset user_id={member['id']} "
        assert wait_for(lambda: worker_journal(vps, failed), 60), "no mail_failed line"
    [line] = worker_journal(vps, failed)
    assert "SMTPAuthenticationError: 535" in line
    assert not worker_journal(vps, f"mail_retry kind=reset user_id={member['id']} ")
    assert relay_mails(member["email"], RESET_SUBJECT) == []
    assert wait_for(lambda: mail_failed_count(site, vps) == before + 1, 10)


def test_a_welcome_task_run_twice_sends_one_mail(vps, welcomed):
    """A redelivered task (its worker killed after the relay's answer, before the
    acknowledgement) is the same message queued again: the worker's record stops it."""
    queue_welcome(vps, welcomed["id"])
    skipped = f"mail_skipped kind=welcome user_id={welcomed['id']} "
    assert wait_for(lambda: worker_journal(vps, skipped), 30), "the second run did not skip"
    assert len(relay_mails(welcomed["email"], WELCOME_SUBJECT)) == 1


def test_make_mail_test_sends_through_the_worker_and_reports_the_outcome(vps):
    to = f"ops-{uuid.uuid4().hex[:8]}@thedreamerscave.club"
    run = playbook("mail-test", "-e", f"app_mail_test_to={to}", timeout=180)
    assert run.returncode == 0, output(run)
    assert "sent (task" in run.stdout
    [mail] = relay_mails(to)
    assert mail["Subject"] == "The Dreamer's Cave: test mail"
    assert mail["X-Relay-Auth"] == RELAY_USER
    with relay_refusing("refuse-auth"):
        run = playbook("mail-test", "-e", f"app_mail_test_to={to}", timeout=180)
    assert run.returncode != 0
    assert "failed: SMTPAuthenticationError: 535" in run.stdout + run.stderr
