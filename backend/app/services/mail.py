"""Outgoing mail: the relay connection, what a failure means, and the record of each mail.

The relay is an authenticated submission server (a transactional-mail provider):
STARTTLS on 587 or implicit TLS on 465, its certificate verified against the system's
store or SMTP_CA_FILE, then AUTH. Every mail has a key (`welcome:<user id>`); a row of
`mail_deliveries` records it right after the relay accepted it (or after it finally
failed), and a mail whose key is recorded as sent is never handed over again.
"""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from mysql.connector.errors import InterfaceError, OperationalError, PoolError

from app.utils.db import DatabaseUnavailable, execute, fetch_one

# Failures of the database that pass: the task retries as it does for the relay's.
DATABASE_TRANSIENT = (DatabaseUnavailable, InterfaceError, OperationalError, PoolError)


@dataclass(frozen=True)
class Failure:
    """Why a send failed, in one line for the log, and whether trying later may work."""

    transient: bool
    reason: str


def _context(config: dict[str, Any]) -> ssl.SSLContext:
    # cafile alone replaces the system's store: the stand-in relay's CA and nothing else.
    context = ssl.create_default_context(cafile=config["SMTP_CA_FILE"] or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def send(config: dict[str, Any], message: EmailMessage) -> str:
    """Hand MESSAGE to the relay; return its answer to the data. Raises on any failure."""
    security, host, port = config["SMTP_SECURITY"], config["SMTP_HOST"], config["SMTP_PORT"]
    timeout = config["SMTP_TIMEOUT"]
    if security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                              context=_context(config))
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if security == "starttls":
            # Raises SMTPNotSupportedError when the relay offers no STARTTLS: the
            # password never goes out in the clear.
            smtp.starttls(context=_context(config))
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        return _transfer(smtp, message)
    finally:
        _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    # Once the data is accepted the mail is the relay's: a QUIT that fails must not make
    # it look unsent (and so sent again).
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _transfer(smtp: smtplib.SMTP, message: EmailMessage) -> str:
    # MAIL, RCPT and DATA one by one, as sendmail does, to keep the relay's answer to the
    # data (its queue id) for the record.
    smtp.ehlo_or_helo_if_needed()
    sender, recipient = parseaddr(message["From"])[1], parseaddr(message["To"])[1]
    code, answer = smtp.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    code, answer = smtp.rcpt(recipient)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
    code, answer = smtp.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
    if code != 250:
        raise smtplib.SMTPDataError(code, answer)
    return f"{code} {_text(answer)}"


def classify(exc: BaseException) -> Failure | None:
    """What EXC means for a mail: transient (4xx, the connection, a timeout), permanent
    (5xx, the relay's certificate or a capability it lacks), or None when it is no
    mail failure at all (a bug: let it raise)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return Failure(all(400 <= code < 500 for code in codes),
                       f"recipient refused: {_answers(exc.recipients.values())}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(400 <= exc.smtp_code < 500,
                       f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Failure(True, f"SMTPServerDisconnected: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        # No STARTTLS, no AUTH, no usable AUTH mechanism: the relay will not change.
        return Failure(False, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure(False, f"relay certificate refused: {exc.verify_message}")
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return Failure(True, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ssl.SSLError):
        # A handshake the relay cannot complete (TLS on a STARTTLS port, old protocols).
        return Failure(False, f"TLS failed: {exc.reason or exc}")
    if isinstance(exc, OSError):  # refused, reset, unreachable, a timeout, no DNS answer
        return Failure(True, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, DATABASE_TRANSIENT):
        return Failure(True, f"database: {type(exc).__name__}")
    return None


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:200]


def _answers(answers) -> str:
    return "; ".join(f"{code} {_text(text)}" for code, text in answers)


# --- the record of each mail ---------------------------------------------------------

MAIL_STATUS = """SELECT status
FROM mail_deliveries
WHERE message_key = %s"""

RECORD_MAIL = """INSERT INTO mail_deliveries (message_key, kind, user_id, status, attempts, detail)
VALUES (%s, %s, %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE
    status = VALUES(status),
    attempts = VALUES(attempts),
    detail = VALUES(detail)"""

FAILED_COUNT = """SELECT COUNT(*) AS failed
FROM mail_deliveries
WHERE status = 'failed'"""


def was_sent(key: str) -> bool:
    """Whether the relay accepted the mail of KEY already."""
    row = fetch_one(MAIL_STATUS, (key,))
    return row is not None and row["status"] == "sent"


def record(key: str, kind: str, user_id: int | None, status: str, attempts: int,
           detail: str) -> None:
    """Record the outcome of KEY's mail: `sent` (the relay accepted it) or `failed`."""
    execute(RECORD_MAIL, (key, kind, user_id, status, attempts, detail[:255]))


def failed_count() -> int:
    """How many mails finally failed (and were not sent since)."""
    return int(fetch_one(FAILED_COUNT)["failed"])
