"""Access tokens: HS256 JWTs with required claims, revocable one by one (their `jti`)
and per account (a cut-off time: every token issued before it is refused)."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app

from app.models.user import User
from app.services.users import load_user, utc_now
from app.utils.auth import AuthenticationFailed
from app.utils.db import execute, fetch_all
from app.utils.redis_client import get_redis

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "jti", "sub"]
REVOKED_KEY = "tdc:revoked:{jti}"


class InvalidToken(Exception):
    """The token is malformed, forged, expired, not yet valid or revoked."""


def issue_token(user_id: int) -> tuple[str, int]:
    """Return a new access token for `user_id` and its lifetime in seconds."""
    lifetime = current_app.config["JWT_ACCESS_TOKEN_MINUTES"] * 60
    issued = time.time()
    now = int(issued)
    # `iat` to the microsecond (RFC 7519 allows a fraction): a token issued right after a
    # cut-off, in the same second, is still newer than it.
    claims = {"sub": str(user_id), "iat": round(issued, 6), "nbf": now, "exp": now + lifetime,
              "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, current_app.config["JWT_SECRET_KEY"], algorithm=ALGORITHM)
    return token, lifetime


def decode_token(token: str) -> dict[str, Any]:
    """Verify `token` and return its claims; raise InvalidToken for any defect."""
    try:
        # The algorithm is pinned: a token saying "none" or RS256 is refused outright.
        claims = jwt.decode(token, current_app.config["JWT_SECRET_KEY"], algorithms=[ALGORITHM],
                            options={"require": REQUIRED_CLAIMS})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    if not str(claims["sub"]).isdigit() or not isinstance(claims["jti"], str):
        raise InvalidToken("malformed subject or token id")
    if is_revoked(claims["jti"]):
        raise InvalidToken("token has been revoked")
    return claims


def authenticate(token: str) -> tuple[User, dict[str, Any]]:
    """The active member `token` stands for, and its claims; AuthenticationFailed otherwise."""
    try:
        claims = decode_token(token)
    except InvalidToken:
        raise AuthenticationFailed("Invalid or expired token") from None
    user = load_user(int(claims["sub"]))
    if user is None or not user.is_active:
        raise AuthenticationFailed("Account is not active")
    if issued_before_cutoff(claims, user.tokens_valid_after):
        raise AuthenticationFailed("Invalid or expired token")
    return user, claims


EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def issued_before_cutoff(claims: dict[str, Any], cutoff: datetime | None) -> bool:
    """True when the token was issued before the account's cut-off (UTC, naive)."""
    if cutoff is None:
        return False
    return round(float(claims["iat"]) * 1_000_000) < (cutoff - EPOCH) // MICROSECOND


def cut_off_tokens(user_id: int | None = None) -> int:
    """Refuse every token issued until now: one account's, or everyone's when None.

    The time is the app's clock, the one `iat` is read from. Returns the accounts changed.
    """
    now = utc_now()
    if user_id is None:
        return execute("UPDATE users SET tokens_valid_after = %s", (now,))
    return execute("UPDATE users SET tokens_valid_after = %s WHERE id = %s", (now, user_id))


def is_revoked(jti: str) -> bool:
    return bool(get_redis().exists(REVOKED_KEY.format(jti=jti)))


def revoke(claims: dict[str, Any]) -> None:
    """Refuse this token from now until it would have expired anyway."""
    remaining = max(1, int(claims["exp"] - time.time()))
    get_redis().set(REVOKED_KEY.format(jti=claims["jti"]), "1", ex=remaining)
    execute(
        "INSERT IGNORE INTO revoked_tokens (jti, user_id, expires_at) VALUES (%s, %s, %s)",
        (claims["jti"], int(claims["sub"]),
         datetime.fromtimestamp(claims["exp"], UTC).replace(tzinfo=None)))


def purge_and_restore_revocations() -> dict[str, int]:
    """Delete expired revocations; put live ones back into Redis (after a Redis loss)."""
    purged = execute("DELETE FROM revoked_tokens WHERE expires_at < UTC_TIMESTAMP()")
    live = fetch_all(
        "SELECT jti, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), expires_at) AS remaining "
        "FROM revoked_tokens")
    pipe = get_redis().pipeline()
    for row in live:
        pipe.set(REVOKED_KEY.format(jti=row["jti"]), "1", ex=max(1, row["remaining"]))
    pipe.execute()
    return {"purged": purged, "restored": len(live)}
