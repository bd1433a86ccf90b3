"""CORS, the trusted proxy hop and request ids."""

import json
import logging

import pytest

from app.utils.request_log import JsonFormatter

ALLOWED = "https://thedreamerscave.club"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "Authorization, Content-Type"}


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://localhost:3000",
                                    "https://thedreamerscave.club",
                                    "https://www.thedreamerscave.club"])
def test_preflight_from_a_listed_origin_is_allowed(client, origin):
    response = client.options("/api/v1/health", headers={"Origin": origin, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    allowed = response.headers["Access-Control-Allow-Headers"].split(",")
    headers = {h.strip().lower() for h in allowed}
    assert headers == {"authorization", "content-type"}


@pytest.mark.parametrize("origin", ["https://evil.example", "https://thedreamerscave.club.evil.example",
                                    "http://thedreamerscave.club"])
def test_unlisted_origin_gets_no_cors_headers(client, origin):
    preflight = client.options("/api/v1/health", headers={"Origin": origin, **PREFLIGHT})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    simple = client.get("/api/v1/health", headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in simple.headers


def test_simple_request_from_listed_origin(client):
    response = client.get("/api/v1/health", headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_forwarded_for_is_believed_only_from_the_proxy(client):
    forged = "6.6.6.6, 203.0.113.9"
    # nginx on loopback: the last hop it appended is the client.
    assert _logged_addr(client, "127.0.0.1", forged) == "203.0.113.9"
    # So does nginx on the unix socket (no peer address at all).
    assert _logged_addr(client, "", forged) == "203.0.113.9"
    # A client reaching the app directly cannot choose its address.
    assert _logged_addr(client, "198.51.100.7", forged) == "198.51.100.7"


class _Grab(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _requests_logged(client, path, headers, **kwargs):
    """Make a request and return the request-log records it wrote."""
    logger = logging.getLogger("tdc.request")
    grab, level = _Grab(), logger.level
    logger.addHandler(grab)
    logger.setLevel(logging.INFO)
    try:
        client.get(path, headers=headers, **kwargs)
    finally:
        logger.removeHandler(grab)
        logger.setLevel(level)
    return grab.records


def _logged_addr(client, peer, forwarded):
    """The client address the app saw (its request log records it)."""
    [record] = _requests_logged(client, "/api/v1/health", {"X-Forwarded-For": forwarded},
                                environ_base={"REMOTE_ADDR": peer})
    return record.fields["remote_addr"]


def test_request_id_is_echoed_or_generated(client):
    given = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/api/v1/health")
    assert len(made.headers["X-Request-ID"]) == 32
    for hostile in ('"><script>', "a b", "x" * 129, "ids;drop"):
        answered = client.get("/api/v1/health", headers={"X-Request-ID": hostile})
        assert answered.headers["X-Request-ID"] != hostile
        assert len(answered.headers["X-Request-ID"]) == 32


def test_each_request_logs_one_json_line(client):
    [record] = _requests_logged(client, "/api/v1/health", {"X-Request-ID": "log-me-1"})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "request"
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/v1/health"
    assert entry["status"] == 200
    assert entry["request_id"] == "log-me-1"
    assert entry["duration_ms"] >= 0


NGINX_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "thedreamerscave.club",
                 "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("peer", ["127.0.0.1", ""])
def test_urls_follow_only_the_headers_nginx_sets(probe, peer):
    # nginx overwrites For, Proto and Host, but passes a client's Port and Prefix through.
    forged = {**NGINX_HEADERS, "X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/evil"}
    response = probe.test_client().get("/api/v1/_probe/urls", headers=forged,
                                       environ_base={"REMOTE_ADDR": peer})
    assert response.get_json()["data"] == {
        "host": "thedreamerscave.club",
        "root": "https://thedreamerscave.club/",
        "liveness": "https://thedreamerscave.club/api/v1/health",
    }


@pytest.mark.parametrize("origin", [None, ALLOWED, "https://evil.example"],
                         ids=["no origin", "listed origin", "unlisted origin"])
@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/api/v1/health", 200),
    ("get", "/api/v1/locations", 200),
    ("get", "/api/v1/locations/no-such-location", 404),
    ("get", "/api/v1/no/such/route", 404),
    ("post", "/api/v1/auth/login", 400),
    ("options", "/api/v1/events", 200),
])
def test_every_api_answer_varies_on_origin(client, method, path, status, origin):
    # nginx's microcache keys on the URL only: an answer cached for one Origin (or none)
    # must tell every cache that another Origin may get other headers.
    headers = {"Origin": origin} if origin else {}
    if method == "options":
        headers.update(PREFLIGHT)
    body = "{" if method == "post" else None  # not JSON: a 400
    response = client.open(path, method=method.upper(), headers=headers, data=body,
                           content_type="application/json")
    assert response.status_code == status
    varies = [v.strip() for value in response.headers.getlist("Vary") for v in value.split(",")]
    assert varies.count("Origin") == 1, response.headers


def test_a_web_host_behind_the_edge_believes_the_edge_for_one_hop_only():
    """TRUSTED_PROXIES on a web host behind an edge host (the app role's .env): the
    edge's private address is believed, for its one hop; any other peer is not."""
    from app.utils.proxy import TrustedProxyFix

    def seen(environ, start_response):
        start_response("200 OK", [])
        return [environ["REMOTE_ADDR"].encode()]

    app = TrustedProxyFix(seen, ["unix", "127.0.0.1", "::1", "169.254.80.10"])

    def remote_addr(peer: str) -> str:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REMOTE_ADDR": peer,
                   "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9", "wsgi.url_scheme": "http",
                   "SERVER_NAME": "x", "SERVER_PORT": "80", "HTTP_HOST": "x"}
        return b"".join(app(environ, lambda *args: None)).decode()

    assert remote_addr("169.254.80.10") == "203.0.113.9"
    # Another host of the private network (a worker, another web host) is a client.
    assert remote_addr("169.254.80.12") == "169.254.80.12"
