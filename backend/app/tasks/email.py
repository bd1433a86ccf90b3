"""Mail sent on the member's behalf, outside the request that caused it.

Each task delivers one mail by its key (app.services.mail): nothing is sent when the key
is recorded as sent, so a task run twice (redelivered after its worker was killed, or
when its acknowledgement was lost to a Redis blip) mails once. A transient failure (a
4xx answer, a connection error, a timeout) retries with growing delays, MAIL_RETRY_LIMIT
times at most; a permanent one (a 5xx, AUTH refused, a certificate that does not verify)
is not retried. A mail that finally fails is recorded as failed and logged once, as

    mail_failed kind=welcome user_id=42 key=welcome:42 attempts=1 reason="..."

the line an alert matches; GET /api/v1/health/ready counts the failed mails.
"""

import logging
import random
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr

from celery import Task
from flask import current_app

from app.services import mail
from app.services.users import get_user
from app.tasks import celery

log = logging.getLogger("tdc.mail")

WELCOME_TEXT = """Hello {username},

welcome to The Dreamer's Cave! Your account is ready: browse the locations and
the events at https://thedreamerscave.club and come dream with us.

The Dreamer's Cave
"""

TEST_TEXT = """This is a test mail of The Dreamer's Cave (key {key}).

It left the site's Celery worker through the relay {relay}: mail works.
"""


@celery.task(name="tdc.send_welcome_email", bind=True)
def send_welcome_email(self: Task, user_id: int) -> str:
    """Send the welcome mail of USER_ID once."""

    def compose() -> EmailMessage | None:
        user = get_user(user_id)
        if user is None:
            return None
        return message(f"welcome:{user_id}", user["email"], "Welcome to The Dreamer's Cave",
                       WELCOME_TEXT.format(username=user["username"]))

    retry_limit = current_app.config["MAIL_RETRY_LIMIT"]
    return deliver(self, f"welcome:{user_id}", "welcome", user_id, compose, retry_limit)


@celery.task(name="tdc.send_test_email", bind=True, ignore_result=False)
def send_test_email(self: Task, to: str) -> str:
    """Send one test mail to TO now (`flask mail test`): no retry, the answer is the point."""
    key = f"test:{self.request.id}"
    relay = f"{current_app.config['SMTP_HOST']}:{current_app.config['SMTP_PORT']}"

    def compose() -> EmailMessage:
        return message(key, to, "The Dreamer's Cave: test mail",
                       TEST_TEXT.format(key=key, relay=relay))

    return deliver(self, key, "test", None, compose, retry_limit=0)


def message(key: str, to: str, subject: str, text: str, cte: str | None = None) -> EmailMessage:
    """A plain-text mail from MAIL_FROM whose Message-ID follows from KEY, so that a copy
    the relay got twice (a worker killed between its answer and the record) reads as one."""
    sender = current_app.config["MAIL_FROM"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid5(uuid.NAMESPACE_URL, key)}@{domain}>"
    msg.set_content(text, cte=cte)
    return msg


def deliver(task: Task, key: str, kind: str, user_id: int | None,
            compose: Callable[[], EmailMessage | None], retry_limit: int) -> str:
    """Send the mail COMPOSE makes unless KEY's is recorded as sent; retry, record, log."""
    attempt = task.request.retries + 1
    fields = {"kind": kind, "user_id": user_id, "key": key, "attempt": attempt}
    try:
        if mail.was_sent(key):
            log.info("mail_skipped kind=%s user_id=%s key=%s: sent already", kind, user_id, key,
                     extra={"fields": fields})
            return "skipped: sent already"
        msg = compose()
        if msg is None:
            return "skipped: no such user"
        answer = mail.send(current_app.config, msg)
    except Exception as exc:
        failure = mail.classify(exc)
        if failure is None:
            raise
        if failure.transient and task.request.retries < retry_limit:
            _retry(task, exc, failure, fields, retry_limit)
        _failed(key, kind, user_id, attempt, failure.reason)
        return f"failed: {failure.reason}"
    log.info("mail_sent kind=%s user_id=%s key=%s attempt=%d relay=%r", kind, user_id, key,
             attempt, answer, extra={"fields": fields})
    try:
        mail.record(key, kind, user_id, "sent", attempt, answer)
    except mail.DATABASE_TRANSIENT:
        # Not retried: the relay has the mail, and a retry would send it again.
        log.exception("mail_unrecorded kind=%s user_id=%s key=%s: sent, but not recorded",
                      kind, user_id, key, extra={"fields": fields})
    return "sent"


def backoff(retries: int) -> float:
    """Seconds before retry number RETRIES + 1: doubling from MAIL_RETRY_DELAY up to
    MAIL_RETRY_DELAY_MAX, jittered down to half so that a relay's outage does not end in a
    burst of every mail at once."""
    config = current_app.config
    delay = min(config["MAIL_RETRY_DELAY_MAX"], config["MAIL_RETRY_DELAY"] * 2 ** retries)
    return random.uniform(delay / 2, delay)  # noqa: S311 (jitter, not a secret)


def _retry(task: Task, exc: Exception, failure: mail.Failure, fields: dict,
           retry_limit: int) -> None:
    countdown = backoff(task.request.retries)
    log.warning("mail_retry kind=%s user_id=%s key=%s attempt=%d in=%.1fs reason=%s",
                fields["kind"], fields["user_id"], fields["key"], fields["attempt"], countdown,
                failure.reason, extra={"fields": {**fields, "reason": failure.reason}})
    try:
        retry = task.retry(exc=exc, countdown=countdown, max_retries=retry_limit, throw=False)
    except Exception:  # the broker did not take the retry: the mail would be lost unseen
        log.exception("could not queue the retry of %s", fields["key"])
        return
    raise retry


def _failed(key: str, kind: str, user_id: int | None, attempts: int, reason: str) -> None:
    log.error("mail_failed kind=%s user_id=%s key=%s attempts=%d reason=%r", kind, user_id, key,
              attempts, reason, extra={"fields": {"kind": kind, "user_id": user_id, "key": key,
                                                  "attempts": attempts, "reason": reason}})
    try:
        mail.record(key, kind, user_id, "failed", attempts, reason)
    except mail.DATABASE_TRANSIENT:
        log.exception("mail_unrecorded kind=%s user_id=%s key=%s: failed, not counted",
                      kind, user_id, key)
