"""Failed logins per account, from any address (RATELIMIT_LOGIN_ACCOUNT).

After that many failures (401) within its window, the account's logins answer 429 with
Retry-After until the window ends; the password is not even checked meanwhile, so the
lock tells an attacker nothing. It never lasts longer than the window: refused attempts
are not counted, so nobody can extend it. A successful login clears the count.

The key is the normalised e-mail of the request (hashed), registered or not: an unknown
address is limited exactly like a known one, and the 429 reveals nothing. It is a
flask-limiter limit (so its 429 and headers are the limiter's, in Redis or its in-memory
fallback) that only tests before the view and counts only a 401 after it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, make_response
from limits import parse_many

from app.utils.rate_limit import KEY_PREFIX, limiter, request_account_key, setting

SETTING = "RATELIMIT_LOGIN_ACCOUNT"
SCOPE = "login-failures"
TOO_MANY_FAILURES = "Too many failed logins for this account; retry later"

_failures = limiter.shared_limit(
    setting(SETTING), scope=SCOPE, key_func=request_account_key,
    exempt_when=lambda: not request_account_key(),
    deduct_when=lambda response: response.status_code == 401,
    error_message=TOO_MANY_FAILURES)


def clear_failures(account_key: str) -> None:
    """Forget the account's failures (the identifiers as flask-limiter builds them for a
    shared limit: prefix, key, scope; tests/test_account_limits.py checks the reset)."""
    for item in parse_many(current_app.config[SETTING]):
        limiter.limiter.clear(item, KEY_PREFIX, account_key, SCOPE)


def limit_failed_logins(view: Callable) -> Callable:
    """Apply the per-account failure limit to a login view: its 401 counts, its 200 clears."""

    @wraps(view)
    def cleared_on_success(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        account_key = request_account_key()
        if response.status_code == 200 and account_key:
            clear_failures(account_key)
        return response

    return _failures(cleared_on_success)
