"""Wrong passwords per account, from any address (RATELIMIT_LOGIN_ACCOUNT).

After that many wrong passwords within its window (a login's 401, a password change's
403 for the current one), the account's logins and password changes answer 429 with
Retry-After until the window ends; the password is not even checked meanwhile, so the
lock tells an attacker nothing. It never lasts longer than the window: refused attempts
are not counted, so nobody can extend it. A success clears the count.

A login's key is the normalised e-mail of the request (hashed), registered or not: an
unknown address is limited exactly like a known one, and the 429 reveals nothing. A
password change's is the logged-in member's (a stolen token is no way to guess the
password it would need to keep the account), never an e-mail in its body. It is one
flask-limiter limit (so its 429 and headers are the limiter's, in Redis or its in-memory
fallback) that only tests before the view and counts only a refusal after it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, make_response
from flask_login import current_user
from limits import parse_many

from app.utils.rate_limit import KEY_PREFIX, account_key, limiter, request_account_key, setting

SETTING = "RATELIMIT_LOGIN_ACCOUNT"
SCOPE = "login-failures"
TOO_MANY_FAILURES = "Too many wrong passwords for this account; retry later"


def member_account_key() -> str:
    """The logged-in member's account ("" for a request without a valid token)."""
    return account_key(current_user.email) if current_user.is_authenticated else ""


def clear_failures(key: str) -> None:
    """Forget the account's failures (the identifiers as flask-limiter builds them for a
    shared limit: prefix, key, scope; tests/test_account_limits.py checks the reset)."""
    for item in parse_many(current_app.config[SETTING]):
        limiter.limiter.clear(item, KEY_PREFIX, key, SCOPE)


def _limit_wrong_passwords(key: Callable[[], str], refused: int) -> Callable:
    """A decorator: the view's REFUSED status counts against KEY's account, its 200
    clears the count. Every use shares SCOPE, so logins and password changes add up."""
    failures = limiter.shared_limit(
        setting(SETTING), scope=SCOPE, key_func=key, exempt_when=lambda: not key(),
        deduct_when=lambda response: response.status_code == refused,
        error_message=TOO_MANY_FAILURES)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def cleared_on_success(*args: Any, **kwargs: Any) -> Any:
            response = make_response(view(*args, **kwargs))
            account = key()
            if response.status_code == 200 and account:
                clear_failures(account)
            return response

        return failures(cleared_on_success)

    return decorate


# A login: its 401 is a wrong password (its 403, an unverified address, is not).
limit_failed_logins = _limit_wrong_passwords(request_account_key, 401)
# A password change: its 403 is a wrong current password.
limit_failed_password_changes = _limit_wrong_passwords(member_account_key, 403)
