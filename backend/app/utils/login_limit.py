"""Failed logins per account, from any address (RATELIMIT_LOGIN_ACCOUNT).

After that many failures (401) within its window, the account's logins answer 429 with
Retry-After until the window ends; the password is not even checked meanwhile, so the
lock tells an attacker nothing. It never lasts longer than the window: refused attempts
are not counted, so nobody can extend it. A successful login clears the count.

The key is the normalised e-mail of the request (hashed), registered or not: an unknown
address is limited exactly like a known one, and the 429 reveals nothing. Counted by the
limiter's own strategy and storage (Redis, or its in-memory fallback while Redis is down).
"""

import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, make_response
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from app.utils.rate_limit import KEY_PREFIX, limiter, request_account_key

SETTING = "RATELIMIT_LOGIN_ACCOUNT"
SCOPE = "login-failures"
TOO_MANY_FAILURES = "Too many failed logins for this account; retry later"


def _limits() -> list[RateLimitItem]:
    return parse_many(current_app.config[SETTING])


def refuse_while_limited(account_key: str) -> None:
    """Raise 429 with Retry-After when the account's failures reached a limit."""
    strategy = limiter.limiter
    for item in _limits():
        if not strategy.test(item, KEY_PREFIX, SCOPE, account_key):
            reset_at = strategy.get_window_stats(item, KEY_PREFIX, SCOPE, account_key).reset_time
            raise TooManyRequests(TOO_MANY_FAILURES,
                                  retry_after=max(1, math.ceil(reset_at - time.time())))


def count_failure(account_key: str) -> None:
    for item in _limits():
        limiter.limiter.hit(item, KEY_PREFIX, SCOPE, account_key)


def clear_failures(account_key: str) -> None:
    for item in _limits():
        limiter.limiter.clear(item, KEY_PREFIX, SCOPE, account_key)


def limit_failed_logins(view: Callable) -> Callable:
    """Apply the per-account failure limit to a login view: its 401 counts, its 200 clears."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        account_key = request_account_key()
        if not account_key:  # no e-mail in the body: the view refuses it
            return view(*args, **kwargs)
        refuse_while_limited(account_key)
        response = make_response(view(*args, **kwargs))
        if response.status_code == 401:
            count_failure(account_key)
        elif response.status_code == 200:
            clear_failures(account_key)
        return response

    return wrapped
