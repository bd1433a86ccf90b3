"""Outgoing mail through the stand-in relay: TLS and AUTH, the record of each mail, what
is retried and what is not, how a final failure shows, no mail sent twice."""

import email
import email.policy
import logging
import os
import signal
import smtplib
import subprocess
import sys
import time

import pytest
from aiosmtpd.controller import Controller
from celery.signals import task_retry

from app.config import BACKEND_DIR
from app.services import mail
from app.tasks import flask_app
from app.tasks.email import message, send_test_email, send_welcome_email
from app.utils.db import fetch_one
from tests.conftest import _free_port
from tests.logs import captured_logs
from tests.waits import wait_for

pytestmark = pytest.mark.usefixtures("clean_tables")


def mails_to(relay, address):
    return [m for m in relay.messages if m["to"] == [address]]


def delivery(app, key):
    with app.app_context():
        return fetch_one("SELECT status, attempts, detail FROM mail_deliveries "
                         "WHERE message_key = %s", (key,))


def queue_welcome(app, user):
    """Queue USER's welcome mail for the worker, as a registration does; return USER."""
    with app.app_context():
        send_welcome_email.delay(user["id"])
    return user


@pytest.fixture
def retries():
    """(task id, reason) of each retry Celery schedules meanwhile (in-process worker)."""
    seen = []

    def count(request=None, reason=None, **_):
        seen.append((request.id, repr(reason)))

    task_retry.connect(count, weak=False)
    yield seen
    task_retry.disconnect(count)


@pytest.fixture
def mail_config(monkeypatch):
    """Change the app's mail settings for one test: mail_config(SMTP_PORT=...)."""
    def change(**settings):
        for name, value in settings.items():
            monkeypatch.setitem(flask_app().config, name, value)

    return change


@pytest.fixture
def relay_switch(relay):
    """Turn one of the relay's refusals on for one test."""
    def on(name):
        setattr(relay.handler, name, True)

    yield on
    relay.handler.refuse_auth = relay.handler.tempfail = relay.handler.reject = False


def test_the_welcome_mail_goes_through_starttls_and_auth_and_is_recorded(app, make_user,
                                                                         relay):
    user = make_user()
    with app.app_context():
        assert send_welcome_email.apply(args=(user["id"],)).get() == "sent"
    [sent] = mails_to(relay, user["email"])
    assert (sent["tls"], sent["tls_version"], sent["login"]) == (
        "starttls", "TLSv1.3", "tdc-relay-user")
    assert "Hello " + user["username"] in sent["body"]
    row = delivery(app, f"welcome:{user['id']}")
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert row["detail"].startswith("250 2.0.0 Ok: queued as")


def test_implicit_tls_on_its_own_port(app, make_user, relay, mail_config):
    mail_config(SMTP_SECURITY="tls", SMTP_PORT=relay.tls_port)
    user = make_user()
    with app.app_context():
        assert send_welcome_email.apply(args=(user["id"],)).get() == "sent"
    [sent] = mails_to(relay, user["email"])
    assert (sent["tls"], sent["login"]) == ("tls", "tdc-relay-user")


def test_a_mail_recorded_as_sent_is_never_sent_again(app, make_user, relay):
    user = make_user()
    with app.app_context():
        results = [send_welcome_email.apply(args=(user["id"],)).get() for _ in range(3)]
    assert results == ["sent", "skipped: sent already", "skipped: sent already"]
    assert len(mails_to(relay, user["email"])) == 1


def test_the_message_id_follows_from_the_key(app):
    with app.app_context():
        first = message("welcome:7", "a@b.test", "s", "t")["Message-ID"]
        assert first == message("welcome:7", "a@b.test", "s", "t")["Message-ID"]
        assert first != message("welcome:8", "a@b.test", "s", "t")["Message-ID"]
        assert first.endswith("@thedreamerscave.club>")


def test_a_refused_auth_fails_once_without_retry_and_is_counted(app, client, make_user, relay,
                                                                relay_switch, retries):
    relay_switch("refuse_auth")
    user = make_user()
    with captured_logs("tdc", level=logging.WARNING) as records, app.app_context():
        outcome = send_welcome_email.apply(args=(user["id"],)).get()
    assert outcome.startswith("failed: SMTPAuthenticationError: 535")
    assert retries == []
    lines = [r.getMessage() for r in records]
    assert [line for line in lines if line.startswith("mail_failed")] == [
        f"mail_failed kind=welcome user_id={user['id']} key=welcome:{user['id']} attempts=1 "
        f"reason={outcome.removeprefix('failed: ')!r}"]
    assert not [line for line in lines if line.startswith("mail_retry")]
    assert mails_to(relay, user["email"]) == []
    assert delivery(app, f"welcome:{user['id']}")["status"] == "failed"
    ready = client.get("/api/v1/health/ready").get_json()
    assert ready["data"]["mail"] == {"failed": 1}


def test_a_permanent_refusal_of_the_data_is_not_retried(app, make_user, relay, relay_switch,
                                                        celery_worker, retries):
    relay_switch("reject")
    user = queue_welcome(app, make_user())
    assert wait_for(lambda: delivery(app, f"welcome:{user['id']}"))
    row = delivery(app, f"welcome:{user['id']}")
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["detail"].startswith("SMTPDataError: 554")
    time.sleep(0.5)
    assert retries == []


def test_a_temporary_refusal_is_retried_then_delivered_once(app, make_user, relay, relay_switch,
                                                            celery_worker, retries):
    relay_switch("tempfail")
    user = queue_welcome(app, make_user())
    assert wait_for(lambda: retries), "no retry after a 451"
    relay.handler.tempfail = False
    assert wait_for(lambda: mails_to(relay, user["email"]))
    time.sleep(1)
    assert len(mails_to(relay, user["email"])) == 1
    assert all("451" in why for _, why in retries), retries
    row = delivery(app, f"welcome:{user['id']}")
    assert row["status"] == "sent" and row["attempts"] == len(retries) + 1


def test_a_relay_down_for_good_fails_after_the_last_retry_visibly(app, make_user, relay,
                                                                  celery_worker, retries):
    limit = app.config["MAIL_RETRY_LIMIT"]
    user = make_user()
    relay.stop()
    try:
        with captured_logs("tdc", level=logging.ERROR) as records:
            queue_welcome(app, user)
            assert wait_for(lambda: delivery(app, f"welcome:{user['id']}"), seconds=30)
    finally:
        relay.start()
    assert len(retries) == limit
    row = delivery(app, f"welcome:{user['id']}")
    assert (row["status"], row["attempts"]) == ("failed", limit + 1)
    assert "ConnectionRefusedError" in row["detail"]
    failed = [r.getMessage() for r in records if r.getMessage().startswith("mail_failed")]
    assert len(failed) == 1 and f"attempts={limit + 1}" in failed[0]


def test_retries_wait_longer_each_time_up_to_the_cap(app):
    from app.tasks.email import backoff

    with app.app_context():
        delays = [backoff(n) for n in range(8)]
    assert 0.1 <= delays[0] <= 0.2 and 0.2 <= delays[1] <= 0.4
    assert all(0.5 <= d <= 1 for d in delays[3:])


def test_a_certificate_from_another_ca_is_refused_for_good(app, make_user, relay, mail_config,
                                                          tmp_path):
    from tests.conftest import standin

    standin.make_certificates(tmp_path, "localhost", "127.0.0.1")
    mail_config(SMTP_CA_FILE=str(tmp_path / "ca.pem"))
    user = make_user()
    auth_attempts = len(relay.handler.auth_attempts)
    with app.app_context():
        outcome = send_welcome_email.apply(args=(user["id"],)).get()
    assert outcome.startswith("failed: relay certificate refused")
    assert len(relay.handler.auth_attempts) == auth_attempts  # the password stayed home
    assert mails_to(relay, user["email"]) == []


def test_a_relay_without_starttls_never_gets_the_password(app, make_user, mail_config):
    class Plain:
        seen = []

        async def handle_DATA(self, server, session, envelope):
            self.seen.append(envelope)
            return "250 OK"

    port = _free_port()
    plain = Controller(Plain(), hostname="127.0.0.1", port=port)
    plain.start()
    try:
        mail_config(SMTP_PORT=port)
        user = make_user()
        with app.app_context():
            outcome = send_welcome_email.apply(args=(user["id"],)).get()
    finally:
        plain.stop()
    assert outcome == "failed: SMTPNotSupportedError: STARTTLS extension not supported by server."
    assert Plain.seen == []


@pytest.mark.parametrize(("exc", "transient"), [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), False),
    (smtplib.SMTPAuthenticationError(454, b"4.7.0 try later"), True),
    (smtplib.SMTPSenderRefused(421, b"busy", "a@b"), True),
    (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no such user")}), False),
    (smtplib.SMTPRecipientsRefused({"a@b": (452, b"mailbox full")}), True),
    (smtplib.SMTPServerDisconnected("gone"), True),
    (smtplib.SMTPNotSupportedError("no AUTH"), False),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (TimeoutError("timed out"), True),
    (OSError(-3, "Temporary failure in name resolution"), True),
])
def test_what_is_retried(exc, transient):
    assert mail.classify(exc).transient is transient


def test_a_bug_is_no_mail_failure():
    assert mail.classify(KeyError("SMTP_HOST")) is None


def test_the_test_mail_task_answers_with_its_outcome(app, relay, celery_worker):
    with app.app_context():
        result = send_test_email.delay("operator@thedreamerscave.club")
        assert result.get(timeout=15) == "sent"
    [sent] = mails_to(relay, "operator@thedreamerscave.club")
    text = email.message_from_string(sent["body"], policy=email.policy.default).get_content()
    assert f"test:{result.id}" in text


def test_the_mail_test_command_reports_the_outcome(app, relay, celery_worker, relay_switch):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "test", "--to", "ops@thedreamerscave.club",
                                 "--timeout", "15"])
    assert result.exit_code == 0, result.output
    assert "sent (task" in result.output
    relay_switch("refuse_auth")
    result = runner.invoke(args=["mail", "test", "--to", "ops@thedreamerscave.club",
                                 "--timeout", "15"])
    assert result.exit_code == 1
    assert "failed: SMTPAuthenticationError: 535" in result.output
    assert "mails failed so far: 1" in result.output


# A worker of its own (solo pool, so the task runs in the process that acknowledges it)
# that hangs once the task has returned and before its acknowledgement: killed there, the
# task stays unacknowledged in Redis, and a second worker (a visibility timeout of 2 s)
# gets it again (sweeping for such tasks every second).
WORKER = """
import sys, time
import app.tasks as tasks
from celery.signals import task_success
tasks.celery.conf.broker_url  # read: the factory configures Celery, then this changes it
tasks.celery.conf.broker_transport_options = {
    "visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
hang = sys.argv[1] == "hang"
@task_success.connect
def _hang(sender=None, **_):
    if hang and sender.name == "tdc.send_welcome_email":
        print("MAIL-TASK-DONE", flush=True)
        time.sleep(120)
tasks.celery.worker_main(["worker", "--pool=solo", "--without-gossip", "--without-mingle",
                          "--without-heartbeat", "--loglevel=INFO", "-n", sys.argv[2]])
"""


def _worker(mode, name, log_path):
    return subprocess.Popen([sys.executable, "-c", WORKER, mode, name], cwd=BACKEND_DIR,
                            env={**os.environ, "LOG_LEVEL": "INFO"}, stdout=log_path.open("w"),
                            stderr=subprocess.STDOUT)


def test_a_worker_killed_after_the_relay_accepted_does_not_send_twice(app, make_user, relay,
                                                                      tmp_path):
    user = make_user()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _worker("hang", f"first-{os.getpid()}@%h", first_log)
    second = None
    try:
        with app.app_context():
            send_welcome_email.delay(user["id"])
        assert wait_for(lambda: "MAIL-TASK-DONE" in first_log.read_text(), seconds=60), \
            first_log.read_text()
        assert len(mails_to(relay, user["email"])) == 1
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _worker("run", f"second-{os.getpid()}@%h", second_log)
        assert wait_for(lambda: "mail_skipped" in second_log.read_text(), seconds=60), \
            second_log.read_text()
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(20)
    assert len(mails_to(relay, user["email"])) == 1
    assert f"mail_skipped kind=welcome user_id={user['id']}" in second_log.read_text()
