"""The member's own account: sign-up without enumeration, verification, password reset
and change, logging out everywhere.

Every mail is queued to the Celery worker (app.tasks.account_mail); a broker that is
down loses the mail, never the request: the member asks for another (resend, reset).
"""

from collections.abc import Callable
from typing import Any

from flask import current_app

from app.services import account_tokens, tokens
from app.services.password_policy import password_problems
from app.services.passwords import hash_password, verify_password
from app.services.users import (
    USERNAME_TAKEN,
    create_user,
    get_login_record,
    get_user,
    username_taken,
    utc_now,
)
from app.utils.db import fetch_one, get_cursor
from app.utils.validation import ConflictError, ValidationFailed


class WrongPassword(Exception):
    """The current password given with a change is not the member's (403)."""


def check_password(password: str, email: str, username: str, field: str = "password") -> None:
    """422 naming FIELD when the club refuses PASSWORD for this member."""
    problems = password_problems(password, email, username)
    if problems:
        raise ValidationFailed({field: problems})


def sign_up(email: str, username: str, password: str) -> None:
    """Create an unverified member and mail the link, or, when the address has an account
    already, mail its owner instead: the caller's answer is the same either way.

    A taken username is a 409 (usernames are public on the club's pages): it is checked
    first and whatever the address, so the 409 tells nothing about addresses.
    """
    if username_taken(username):
        raise ConflictError("Already registered", USERNAME_TAKEN)
    existing = get_login_record(email)
    if existing is None:
        try:
            user = create_user(email, username, password, verified=False)
        except ConflictError as exc:
            # Taken between the check and the insert: the username's clash is public, an
            # address's is answered as if it were new.
            if "username" in exc.errors:
                raise
            existing = get_login_record(email)
        else:
            _mail_verification(user["id"])
            return
    # The same argon2 work as a new account's, so that the time tells nothing either.
    hash_password(password)
    if existing is not None and existing["is_active"]:
        token_id, token = account_tokens.create(existing["id"], "reset")
        _queue("send_signup_notice", existing["id"], token_id, token)


def verify(token: str) -> dict[str, Any]:
    """Spend a verification token and mark its member's address verified; the welcome
    mail follows the first verification."""
    with get_cursor() as cursor:
        user_id = account_tokens.spend(cursor, token, "verify")
        cursor.execute("UPDATE users SET email_verified_at = %s "
                       "WHERE id = %s AND email_verified_at IS NULL",
                       (utc_now().replace(microsecond=0), user_id))
        newly_verified = cursor.rowcount == 1
    if newly_verified:
        _queue_welcome(user_id)
    return get_user(user_id)


def resend_verification(email: str) -> None:
    """Queue the look-up of EMAIL for a new verification mail (mail_verification_if_due).
    The request does no more for any address, so its time tells none of them apart."""
    _queue_look_up("mail_verification_link", email)


def request_reset(email: str) -> None:
    """Queue the look-up of EMAIL for a reset mail (mail_reset_if_member), as above."""
    _queue_look_up("mail_reset_link", email)


def mail_verification_if_due(email: str) -> bool:
    """In the worker: a new verification mail when EMAIL names an active, unverified
    member; else nothing. Whether it mailed."""
    record = get_login_record(email.lower())
    if record and record["is_active"] and record["email_verified_at"] is None:
        _mail_verification(record["id"])
        return True
    return False


def mail_reset_if_member(email: str) -> bool:
    """In the worker: a reset mail when EMAIL names an active member. Whether it mailed."""
    record = get_login_record(email.lower())
    if record and record["is_active"]:
        token_id, token = account_tokens.create(record["id"], "reset")
        _queue("send_reset_email", record["id"], token_id, token)
        return True
    return False


def reset_password(token: str, password: str) -> None:
    """Set the password of the reset token's member, spend the token, retire the member's
    other reset links and cut off every access token. A refused password leaves the
    token unspent (the transaction rolls back), so the member can choose another."""
    with get_cursor() as cursor:
        user_id = account_tokens.spend(cursor, token, "reset")
        cursor.execute("SELECT email, username FROM users WHERE id = %s", (user_id,))
        member = cursor.fetchone()
        check_password(password, member["email"], member["username"])
        # The reset link came by mail: the address is proven, as a verification would.
        now = utc_now()
        cursor.execute(
            "UPDATE users SET password_hash = %s, tokens_valid_after = %s, "
            "email_verified_at = COALESCE(email_verified_at, %s) WHERE id = %s",
            (hash_password(password), now, now.replace(microsecond=0), user_id))
        account_tokens.retire(cursor, user_id, "reset")


def change_password(user_id: int, email: str, username: str, current: str,
                    password: str) -> tuple[str, int]:
    """Change the member's password (the current one required), cut off its other tokens
    and return a fresh one for this session, with its lifetime."""
    row = fetch_one("SELECT password_hash FROM users WHERE id = %s", (user_id,))
    if not verify_password(row["password_hash"] if row else None, current):
        raise WrongPassword
    check_password(password, email, username)
    with get_cursor() as cursor:
        cursor.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                       (hash_password(password), user_id))
        tokens.cut_off_tokens(user_id)
    return tokens.issue_token(user_id)


def logout_everywhere(user_id: int) -> None:
    tokens.cut_off_tokens(user_id)


def _mail_verification(user_id: int) -> None:
    token_id, token = account_tokens.create(user_id, "verify")
    _queue("send_verification_email", user_id, token_id, token)


def _queue_welcome(user_id: int) -> None:
    from app.tasks.email import send_welcome_email

    _apply(send_welcome_email.apply_async, (user_id,), f"welcome mail of user {user_id}")


def _queue(task_name: str, user_id: int, token_id: int, token: str) -> None:
    from app.tasks import account_mail

    task = getattr(account_mail, task_name)
    _apply(task.apply_async, (user_id, token_id, token), f"{task_name} of user {user_id}")


def _queue_look_up(task_name: str, email: str) -> None:
    from app.tasks import account_mail

    _apply(getattr(account_mail, task_name).apply_async, (email,), task_name)


def _apply(apply_async: Callable[..., Any], args: tuple, what: str) -> None:
    try:
        apply_async(args, retry=False)
    except Exception:  # the broker is down: the member asks for the mail again
        current_app.logger.exception("could not queue the %s", what)
