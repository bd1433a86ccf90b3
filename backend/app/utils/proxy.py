"""Client address and scheme behind exactly one trusted reverse proxy (nginx)."""

from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxyFix:
    """Apply ProxyFix for one hop, but only to requests that come from a trusted peer.

    nginx appends the real client address to X-Forwarded-For, so the last value is the
    one to believe. A client that reaches the app directly could send any value, so its
    headers are ignored: only nginx's peer addresses (the unix socket or loopback) count.

    Only the headers nginx sets and overwrites are believed (For, Proto, Host): it never
    sets X-Forwarded-Port or X-Forwarded-Prefix, so those pass through from the client
    unchanged and would let it choose the URLs the app builds.
    """

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        self.proxied = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=0, x_prefix=0)
        self.trusted = set(trusted)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR") or "unix"
        if peer in self.trusted:
            return self.proxied(environ, start_response)
        return self.app(environ, start_response)
