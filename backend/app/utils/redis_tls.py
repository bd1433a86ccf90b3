"""TLS to Redis: a rediss:// URL must verify the server, its CA and its name.

redis-py (the app's client, flask-limiter's storage) reads ssl_cert_reqs and ssl_ca_certs
from the URL itself; Celery's broker does not (kombu falls back to no verification at
all), so its settings get these options explicitly (app/tasks/__init__.py).
"""

import os
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

SCHEMES = ("redis", "rediss", "unix")
# What redis-py's URL parser reads as false (redis.connection.FALSE_STRINGS).
FALSE_STRINGS = ("0", "F", "FALSE", "N", "NO")


def redis_tls_options(url: str) -> dict[str, Any] | None:
    """The TLS options of a rediss:// URL, None for redis:// and unix:// (no TLS).

    Raises ValueError, saying what to fix, for another scheme and for a rediss:// URL
    that would not verify the server.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"must be a redis://, rediss:// or unix:// URL, got {parts.scheme or 'none'}://")
    if parts.scheme != "rediss":
        return None
    if not parts.hostname:
        raise ValueError("names no host: rediss://user:password@host:port/db")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if query.get("ssl_cert_reqs", "").lower() != "required":
        raise ValueError("must verify the server's certificate: add ssl_cert_reqs=required")
    ca_file = query.get("ssl_ca_certs")
    if not ca_file:
        raise ValueError("must name the CA that verifies the server: add ssl_ca_certs=<PEM file>")
    if not os.path.isfile(ca_file):
        raise ValueError(f"names a CA file that does not exist: ssl_ca_certs={ca_file}")
    if query.get("ssl_check_hostname", "true").upper() in FALSE_STRINGS:
        raise ValueError("must verify the server's name: drop ssl_check_hostname=false")
    return {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": ca_file,
            "ssl_check_hostname": True}
