"""The mails of the account links: verification, password reset, and the notice to an
address's owner that someone tried to sign up with it.

Resend and reset-request only queue the address: the look-up (is there such a member,
may it get the mail?) runs here, so the request's time is the same for every address.
A look-up run twice (a worker lost mid-task) mails two links, each valid on its own.

Each is keyed by its token's row (`verify:<token id>`, ...), so a task run twice mails
once (app.tasks.email.deliver); a token spent or expired by the time the worker gets to
it (an outage's retries) is no longer mailed. The token itself travels in the task's
arguments: the database keeps only its hash.
"""

from email.message import EmailMessage

from celery import Task
from flask import current_app

from app.services import account_tokens, accounts
from app.services.users import get_user
from app.tasks import celery
from app.tasks.email import deliver, message

VERIFY_TEXT = """Hello {username},

please confirm that this address is yours, to finish your sign-up at The Dreamer's Cave:

{link}

The link works once, for {hours} hours. If you did not sign up, ignore this mail: no
account is opened without this confirmation.

The Dreamer's Cave
"""

RESET_TEXT = """Hello {username},

someone (you, we hope) asked to set a new password for your account at The Dreamer's
Cave. Choose it here:

{link}

The link works once, for {minutes} minutes, and logs out every session of the account.
If you did not ask, ignore this mail: your password stays as it is.

The Dreamer's Cave
"""

SIGNUP_NOTICE_TEXT = """Hello {username},

someone just tried to sign up at The Dreamer's Cave with this address, which already has
an account (yours). Nothing was changed and no second account was opened.

If it was you and you have forgotten your password, set a new one here:

{link}

The link works once, for {minutes} minutes. If it was not you, ignore this mail.

The Dreamer's Cave
"""

# purpose of the token -> (key prefix, subject, text)
MAILS = {
    "verify": ("verify", "Confirm your e-mail address", VERIFY_TEXT),
    "reset": ("reset", "Set a new password", RESET_TEXT),
    "signup_notice": ("signup-notice", "Someone tried to sign up with your address",
                      SIGNUP_NOTICE_TEXT),
}


def _send(task: Task, kind: str, purpose: str, user_id: int, token_id: int, token: str) -> str:
    prefix, subject, text = MAILS[kind]
    key = f"{prefix}:{int(token_id)}"
    config = current_app.config

    def compose() -> EmailMessage | None:
        user = get_user(user_id)
        if user is None or not account_tokens.is_usable(token_id, token, user_id):
            return None
        body = text.format(username=user["username"], link=account_tokens.link(purpose, token),
                           hours=config["VERIFY_TOKEN_HOURS"],
                           minutes=config["RESET_TOKEN_MINUTES"])
        # 7bit (ASCII, lines under 998): the link stays whole, not quoted-printable.
        return message(key, user["email"], subject, body, cte="7bit")

    return deliver(task, key, kind, user_id, compose, config["MAIL_RETRY_LIMIT"])


@celery.task(name="tdc.send_verification_email", bind=True)
def send_verification_email(self: Task, user_id: int, token_id: int, token: str) -> str:
    """Mail the verification link of TOKEN_ID to USER_ID once."""
    return _send(self, "verify", "verify", user_id, token_id, token)


@celery.task(name="tdc.send_reset_email", bind=True)
def send_reset_email(self: Task, user_id: int, token_id: int, token: str) -> str:
    """Mail the password-reset link of TOKEN_ID to USER_ID once."""
    return _send(self, "reset", "reset", user_id, token_id, token)


@celery.task(name="tdc.send_signup_notice", bind=True)
def send_signup_notice(self: Task, user_id: int, token_id: int, token: str) -> str:
    """Tell USER_ID that its address was used to sign up again, with a reset link."""
    return _send(self, "signup_notice", "reset", user_id, token_id, token)


@celery.task(name="tdc.mail_verification_link")
def mail_verification_link(email: str) -> str:
    """Queue a new verification mail when EMAIL names an active, unverified member."""
    return "mail queued" if accounts.mail_verification_if_due(email) else "no mail due"


@celery.task(name="tdc.mail_reset_link")
def mail_reset_link(email: str) -> str:
    """Queue a reset mail when EMAIL names an active member."""
    return "mail queued" if accounts.mail_reset_if_member(email) else "no mail due"
