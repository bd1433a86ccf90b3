"""Rate limits, counted in Redis so every gunicorn worker shares them.

Two kinds of key:
- the client: an IPv4 address, or the /64 of an IPv6 one (one subscriber gets a whole
  /64 and may use any address in it), the same key nginx's limit_req uses. The address is
  the real client's: TrustedProxyFix has already applied nginx's X-Forwarded-For.
- the account: the normalised e-mail a request names, whether or not it is registered,
  so that a 429 never tells which addresses have accounts. Stored hashed: no address in
  Redis keys.

Each limit's value is a setting (app.config, RATELIMIT_*), read per request.
"""

import hashlib
import ipaddress
from collections.abc import Callable

from flask import Flask, current_app, g, request
from flask_limiter import Limiter

IPV6_CLIENT_PREFIX = 64
KEY_PREFIX = "tdc:ratelimit"


def client_key(address: str | None) -> str:
    """The rate-limit key of a client address: IPv4 as it is, IPv6 as its /64.

    An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 client it maps. What does
    not parse as an address (a unix socket peer in development) is its own key.
    """
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # From the address's integer: its scope (fe80::1%eth0) is no part of the network.
        network = ipaddress.IPv6Network((int(ip), IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(ip)


def request_client_key() -> str:
    return client_key(request.remote_addr)


def normalised_email(value: object) -> str | None:
    """The e-mail as accounts are looked up (lower case, no surrounding blanks), or None."""
    if not isinstance(value, str) or "@" not in value:
        return None
    return value.strip().lower()


def account_key(value: object) -> str:
    """The hashed, normalised e-mail VALUE ("" when it is none)."""
    email = normalised_email(value)
    return hashlib.sha256(email.encode()).hexdigest() if email else ""


def request_account_key() -> str:
    """The account this request's JSON body names by its e-mail ("" when it names none)."""
    return account_key((g.get("json_body") or {}).get("email"))


def _names_no_account() -> bool:
    return not request_account_key()


limiter = Limiter(
    key_func=request_client_key,
    headers_enabled=True,
    # If Redis is unreachable, count in memory per worker rather than fail the request.
    in_memory_fallback_enabled=True,
    key_prefix=KEY_PREFIX,
)


def init_rate_limit(app: Flask) -> None:
    limiter.init_app(app)


def setting(name: str) -> Callable[[], str]:
    """The limit named by setting NAME (e.g. "RATELIMIT_LOGIN"), read per request."""

    def value() -> str:
        return current_app.config[name]

    value.__name__ = name.lower()
    return value


def per_client(name: str) -> Callable:
    """Limit a route per client address (IPv4, or IPv6 /64) by setting NAME."""
    return limiter.limit(setting(name))


def per_account(name: str) -> Callable:
    """Limit a route per e-mail of its JSON body by setting NAME: every request counts.

    A body without an e-mail is not counted (the route refuses it anyway).
    """
    return limiter.limit(setting(name), key_func=request_account_key,
                         exempt_when=_names_no_account)


def per_client_and_account(client_setting: str, account_setting: str) -> Callable:
    """Both limits at once, for a route that takes an e-mail: one line per route."""

    def decorate(view: Callable) -> Callable:
        return per_client(client_setting)(per_account(account_setting)(view))

    return decorate
