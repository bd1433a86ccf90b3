"""Members: creation, lookup, login bookkeeping and the admin's changes."""

from typing import Any

from mysql.connector.errors import IntegrityError

from app.models.user import PUBLIC_COLUMNS, User
from app.services.passwords import hash_password
from app.services.queries import fetch_page
from app.utils.db import execute, fetch_all, fetch_one, get_cursor


class UserConflict(Exception):
    """Email or username already taken; `errors` names the field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("already taken")
        self.errors = errors


class LastAdminError(Exception):
    """The change would leave the site without an active admin."""


def create_user(email: str, username: str, password: str, role: str = "user") -> User:
    taken = fetch_all(
        "SELECT email, username FROM users WHERE email = %s OR username = %s",
        (email, username))
    errors = _clash_errors(taken, email, username)
    if errors:
        raise UserConflict(errors)
    try:
        user_id = execute(
            "INSERT INTO users (email, username, password_hash, role) VALUES (%s, %s, %s, %s)",
            (email, username, hash_password(password), role))
    except IntegrityError as exc:
        # Another request took the name between our check and the insert.
        raise UserConflict({"email": ["is already registered"]} if "email" in str(exc)
                           else {"username": ["is already taken"]}) from None
    return get_user(user_id)


def _clash_errors(rows: list[dict[str, Any]], email: str, username: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for row in rows:
        if row["email"].lower() == email.lower():
            errors["email"] = ["is already registered"]
        if row["username"].lower() == username.lower():
            errors["username"] = ["is already taken"]
    return errors


def get_user(user_id: int) -> User | None:
    row = fetch_one(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE id = %s", (user_id,))  # noqa: S608 (a constant column list)
    return User.from_row(row) if row else None


def get_login_record(email: str) -> dict[str, Any] | None:
    """The user and password hash for a login attempt."""
    return fetch_one(f"SELECT {PUBLIC_COLUMNS}, password_hash FROM users WHERE email = %s",  # noqa: S608 (a constant column list)
                     (email,))


def record_login(user_id: int, new_hash: str | None = None) -> None:
    if new_hash:
        execute("UPDATE users SET last_login_at = UTC_TIMESTAMP(), password_hash = %s "
                "WHERE id = %s", (new_hash, user_id))
    else:
        execute("UPDATE users SET last_login_at = UTC_TIMESTAMP() WHERE id = %s", (user_id,))


def find_user_by_email(email: str) -> User | None:
    row = fetch_one(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE email = %s", (email,))  # noqa: S608 (a constant column list)
    return User.from_row(row) if row else None


LIST_USERS = f"""
SELECT {PUBLIC_COLUMNS}
FROM users
ORDER BY id
LIMIT %(limit)s OFFSET %(offset)s"""  # noqa: S608 (a constant column list)

COUNT_USERS = "SELECT COUNT(*) AS total FROM users"


def list_users(page: int, per_page: int) -> tuple[list[User], int]:
    rows, total = fetch_page(LIST_USERS, COUNT_USERS, {}, page, per_page)
    return [User.from_row(row) for row in rows], total


def update_user(user_id: int, role: str | None, is_active: bool | None) -> User | None:
    """Change a member's role or active flag; never remove the last active admin."""
    with get_cursor() as cursor:
        # Lock the admins' rows so two concurrent demotions cannot both pass the check.
        cursor.execute("SELECT id FROM users WHERE role = 'admin' AND is_active FOR UPDATE")
        active_admins = {row["id"] for row in cursor.fetchall()}
        cursor.execute(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE id = %s FOR UPDATE",  # noqa: S608 (a constant column list)
                       (user_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        loses_admin = (role is not None and role != "admin") or is_active is False
        if loses_admin and active_admins == {user_id}:
            raise LastAdminError("the last active admin cannot be demoted or deactivated")
        cursor.execute(
            "UPDATE users SET role = COALESCE(%s, role), is_active = COALESCE(%s, is_active) "
            "WHERE id = %s", (role, is_active, user_id))
    return get_user(user_id)
