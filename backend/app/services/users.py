"""Members: creation, lookup, login bookkeeping and the admin's changes.

Like every service, it finds a member by the key in the URL (here the id) and returns the
API's form of a member, a plain dict; `load_user` alone returns the `User` that
Flask-Login keeps as the request's current user.
"""

from datetime import UTC, datetime
from typing import Any

from mysql.connector.errors import IntegrityError

from app.models.user import PUBLIC_COLUMNS, User, UserUpdateInput
from app.services.passwords import hash_password
from app.services.queries import fetch_page
from app.utils.db import execute, fetch_all, fetch_one, get_cursor
from app.utils.validation import ConflictError

EMAIL_TAKEN = {"email": ["is already registered"]}
USERNAME_TAKEN = {"username": ["is already taken"]}

# A member's public columns: the select list every query of members starts from.
SELECT_USERS = f"""
SELECT {PUBLIC_COLUMNS}
FROM users"""  # noqa: S608 (a constant column list)

USER_BY_ID = SELECT_USERS + """
WHERE id = %s"""

USER_BY_EMAIL = SELECT_USERS + """
WHERE email = %s"""

LOGIN_RECORD = f"""
SELECT {PUBLIC_COLUMNS}, password_hash
FROM users
WHERE email = %s"""  # noqa: S608 (a constant column list)

LIST_USERS = SELECT_USERS + """
ORDER BY id
LIMIT %(limit)s OFFSET %(offset)s"""

COUNT_USERS = "SELECT COUNT(*) AS total FROM users"


def create_user(email: str, username: str, password: str, role: str = "user",
                verified: bool = True) -> dict[str, Any]:
    """Insert a member and return it; 409 naming the field when the email or name is taken.

    A sign-up through the API is unverified (`verified=False`) until its mail's link is
    followed; the first admin and the tests' members are created verified.
    """
    taken = fetch_all(
        "SELECT email, username FROM users WHERE email = %s OR username = %s",
        (email, username))
    errors = _clash_errors(taken, email, username)
    if errors:
        raise ConflictError("Already registered", errors)
    try:
        user_id = execute(
            "INSERT INTO users (email, username, password_hash, role, email_verified_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            (email, username, hash_password(password), role,
             utc_now().replace(microsecond=0) if verified else None))
    except IntegrityError as exc:
        # Another request took the name between our check and the insert.
        raise ConflictError("Already registered",
                            EMAIL_TAKEN if "email" in str(exc) else USERNAME_TAKEN) from None
    return get_user(user_id)


def _clash_errors(rows: list[dict[str, Any]], email: str, username: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for row in rows:
        if row["email"].lower() == email.lower():
            errors.update(EMAIL_TAKEN)
        if row["username"].lower() == username.lower():
            errors.update(USERNAME_TAKEN)
    return errors


def load_user(user_id: int) -> User | None:
    """The member as the request's current user (Flask-Login's user object)."""
    row = fetch_one(USER_BY_ID, (user_id,))
    return User.from_row(row) if row else None


def get_user(user_id: int) -> dict[str, Any] | None:
    user = load_user(user_id)
    return user.to_dict() if user else None


def find_user_by_email(email: str) -> dict[str, Any] | None:
    row = fetch_one(USER_BY_EMAIL, (email,))
    return User.from_row(row).to_dict() if row else None


def username_taken(username: str) -> bool:
    """Whether a member has USERNAME (the collation ignores case)."""
    return fetch_one("SELECT id FROM users WHERE username = %s", (username,)) is not None


def get_login_record(email: str) -> dict[str, Any] | None:
    """The user and password hash for a login attempt."""
    return fetch_one(LOGIN_RECORD, (email,))


def record_login(user_id: int, new_hash: str | None = None) -> None:
    if new_hash:
        execute("UPDATE users SET last_login_at = UTC_TIMESTAMP(), password_hash = %s "
                "WHERE id = %s", (new_hash, user_id))
    else:
        execute("UPDATE users SET last_login_at = UTC_TIMESTAMP() WHERE id = %s", (user_id,))


def list_users(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of members by id, and how many there are in all."""
    rows, total = fetch_page(LIST_USERS, COUNT_USERS, {}, page, per_page)
    return [User.from_row(row).to_dict() for row in rows], total


def update_user(user_id: int, data: UserUpdateInput) -> dict[str, Any]:
    """Change a member's role or active flag and return it; never remove the last admin."""
    with get_cursor() as cursor:
        # Lock the admins' rows so two concurrent demotions cannot both pass the check.
        cursor.execute("SELECT id FROM users WHERE role = 'admin' AND is_active FOR UPDATE")
        active_admins = {row["id"] for row in cursor.fetchall()}
        loses_admin = (data.role is not None and data.role != "admin") or data.is_active is False
        if loses_admin and active_admins == {user_id}:
            raise ConflictError(
                "Refused: the last active admin cannot be demoted or deactivated")
        cursor.execute(
            "UPDATE users SET role = COALESCE(%s, role), is_active = COALESCE(%s, is_active) "
            "WHERE id = %s", (data.role, data.is_active, user_id))
        if data.is_active is False:
            # Re-activating the account later must not bring back the tokens it had: its
            # access tokens are cut off, its open verify and reset links retired (spent).
            from app.services import account_tokens  # it imports this module

            cursor.execute("UPDATE users SET tokens_valid_after = %s WHERE id = %s",
                           (utc_now(), user_id))
            account_tokens.retire(cursor, user_id)
    return get_user(user_id)


def utc_now() -> datetime:
    """Now in UTC, naive, to the microsecond: how the database keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)
