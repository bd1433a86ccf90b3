"""Rate limits per client address, counted in Redis so every gunicorn worker shares them.

The address is the real client's: TrustedProxyFix has already applied nginx's
X-Forwarded-For, and a direct client cannot forge it.
"""

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(
    key_func=get_remote_address,
    headers_enabled=True,
    # If Redis is unreachable, count in memory per worker rather than fail the request.
    in_memory_fallback_enabled=True,
    key_prefix="tdc:ratelimit",
)


def init_rate_limit(app: Flask) -> None:
    limiter.init_app(app)


def login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


def resend_limit() -> str:
    return current_app.config["RATELIMIT_RESEND"]


def reset_limit() -> str:
    return current_app.config["RATELIMIT_RESET"]
