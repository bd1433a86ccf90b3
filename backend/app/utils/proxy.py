"""Client address and scheme behind exactly one trusted reverse proxy (nginx)."""

from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxyFix:
    """Apply ProxyFix for one hop, but only to requests that come from a trusted peer.

    nginx appends the real client address to X-Forwarded-For, so the last value is the
    one to believe. A client that reaches the app directly could send any value, so its
    headers are ignored: only nginx's peer addresses (the unix socket or loopback) count.
    """

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        self.proxied = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=0)
        self.trusted = set(trusted)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR") or "unix"
        if peer in self.trusted:
            return self.proxied(environ, start_response)
        return self.app(environ, start_response)
