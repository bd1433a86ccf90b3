"""Mail sent on the member's behalf, outside the request that caused it."""

import smtplib
from email.message import EmailMessage

from flask import current_app

from app.services.users import get_user
from app.tasks import celery

WELCOME_TEXT = """Hello {username},

welcome to The Dreamer's Cave! Your account is ready: browse the locations and
the events at https://thedreamerscave.club and come dream with us.

The Dreamer's Cave
"""


@celery.task(name="tdc.send_welcome_email", bind=True,
             autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True,
             retry_backoff_max=600, retry_jitter=True, max_retries=8)
def send_welcome_email(self, user_id: int) -> str:
    """Send the welcome mail; an SMTP outage retries with growing delays."""
    user = get_user(user_id)
    if user is None:
        return "skipped: no such user"
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user["email"]
    message["Subject"] = "Welcome to The Dreamer's Cave"
    message.set_content(WELCOME_TEXT.format(username=user["username"]))
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        smtp.send_message(message)
    return "sent"
