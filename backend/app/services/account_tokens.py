"""The single-use tokens of the verification and password-reset links.

A token is `secrets.token_urlsafe(32)` (256 random bits); only its SHA-256 is stored, so
the table alone opens no account. Each has a purpose (`verify` 24 h, `reset` 1 h by
default), expires, and is spent once: the first request that uses it marks `used_at`
under a row lock, and any later one finds it gone. Rows spent or expired longer ago than
ACCOUNT_TOKEN_RETENTION_DAYS are purged (daily by beat, or `flask users purge-tokens`);
until then a late click on the link hears "used or expired" (410), not "unknown" (404).
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app

from app.services.users import utc_now
from app.utils.db import execute, fetch_one, get_cursor

PURPOSES = ("verify", "reset")
LINK_PATHS = {"verify": "/account/verify", "reset": "/account/reset"}
# Rows one purge statement deletes at most: short transactions, so a purge of a table
# left to grow never holds its locks for long against sign-ups and resets.
PURGE_BATCH = 1000


class TokenUnknown(Exception):
    """No token of this purpose has that value (404)."""


class TokenGone(Exception):
    """The token was used already, retired or has expired (410)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime(purpose: str) -> timedelta:
    config = current_app.config
    if purpose == "verify":
        return timedelta(hours=config["VERIFY_TOKEN_HOURS"])
    return timedelta(minutes=config["RESET_TOKEN_MINUTES"])


def create(user_id: int, purpose: str) -> tuple[int, str]:
    """A new token of PURPOSE for USER_ID: its row id (the mail's key) and its value."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    token = secrets.token_urlsafe(32)
    token_id = execute(
        "INSERT INTO account_tokens (user_id, purpose, token_hash, expires_at) "
        "VALUES (%s, %s, %s, %s)",
        (user_id, purpose, digest(token), utc_now().replace(microsecond=0) + lifetime(purpose)))
    return token_id, token


def link(purpose: str, token: str) -> str:
    """The page the mail links to, the token in the fragment (no server or log sees it)."""
    return f"{current_app.config['SITE_URL']}{LINK_PATHS[purpose]}#token={token}"


def is_usable(token_id: int, token: str, user_id: int) -> bool:
    """Whether row TOKEN_ID is TOKEN's, of USER_ID, unspent and unexpired: a mail for a
    dead token is moot, and a task older than the row (queued before a restore reused
    the id) must not mail its token to whoever the id names now."""
    row = fetch_one("SELECT used_at, expires_at FROM account_tokens "
                    "WHERE id = %s AND token_hash = %s AND user_id = %s",
                    (token_id, digest(token), user_id))
    return row is not None and row["used_at"] is None and row["expires_at"] > utc_now()


def spend(cursor: Any, token: str, purpose: str) -> int:
    """Mark TOKEN of PURPOSE used inside the caller's transaction; return its user's id.

    Raises TokenUnknown (no such token for this purpose: a verify token is no reset
    token) or TokenGone (used, retired or expired).
    """
    cursor.execute(
        "SELECT id, user_id, expires_at, used_at FROM account_tokens "
        "WHERE token_hash = %s AND purpose = %s FOR UPDATE", (digest(token), purpose))
    row = cursor.fetchone()
    if row is None:
        raise TokenUnknown
    if row["used_at"] is not None or row["expires_at"] <= utc_now():
        raise TokenGone
    cursor.execute("UPDATE account_tokens SET used_at = %s WHERE id = %s",
                   (utc_now(), row["id"]))
    return int(row["user_id"])


def retire(cursor: Any, user_id: int, *purposes: str) -> None:
    """Spend every open token of USER_ID of PURPOSES, or of every purpose when none is
    named (a reset retires the other reset links, a deactivation all of them)."""
    chosen = purposes or PURPOSES
    marks = ", ".join(["%s"] * len(chosen))
    cursor.execute("UPDATE account_tokens SET used_at = %s "  # noqa: S608 - placeholders only
                   f"WHERE user_id = %s AND purpose IN ({marks}) AND used_at IS NULL",
                   (utc_now(), user_id, *chosen))


def use(token: str, purpose: str) -> int:
    """Spend TOKEN in a transaction of its own; return its user's id."""
    with get_cursor() as cursor:
        return spend(cursor, token, purpose)


def purge(retention: timedelta) -> int:
    """Delete the tokens spent, retired or expired more than RETENTION ago; return how
    many. Live tokens stay whatever their age. Each condition is a range on its own
    index (used_at, expires_at), deleted in batches."""
    cutoff = utc_now() - retention
    purged = 0
    for column in ("used_at", "expires_at"):
        while True:
            deleted = execute(f"DELETE FROM account_tokens WHERE {column} < %s "  # noqa: S608
                              f"LIMIT {PURGE_BATCH}", (cutoff,))
            purged += deleted
            if deleted < PURGE_BATCH:
                break
    return purged


def purge_old() -> int:
    """purge() with the retention of the settings."""
    return purge(timedelta(days=current_app.config["ACCOUNT_TOKEN_RETENTION_DAYS"]))
