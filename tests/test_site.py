"""The public site through nginx: TLS, redirects, the API and the static root."""

import json
import socket
import ssl
import uuid

import pytest
from ops import SITE, role_defaults

ACME_WEBROOT = role_defaults("nginx")["nginx_acme_webroot"]


def test_readiness_through_nginx_with_a_verified_certificate(site, vps):
    response = site.get(vps.url("/api/v1/health/ready"), timeout=10)
    assert response.status_code == 200
    checks = response.json()["data"]["checks"]
    assert {name for name, check in checks.items() if check["ok"]} == {
        "database", "redis", "celery"}


def test_certificate_covers_both_names(vps):
    context = ssl.create_default_context(cafile=vps.ca_bundle)
    for name in (SITE, f"www.{SITE}"):
        with socket.create_connection((vps.address, 443), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls:
            sans = {value for kind, value in tls.getpeercert()["subjectAltName"]}
            assert {SITE, f"www.{SITE}"} <= sans
            assert tls.version() in {"TLSv1.2", "TLSv1.3"}


@pytest.mark.parametrize(("url", "location"), [
    (f"http://{SITE}/", f"https://{SITE}/"),
    (f"http://{SITE}/api/v1/health?x=1", f"https://{SITE}/api/v1/health?x=1"),
    # HTTP on www goes to HTTPS on www first, so browsers see its HSTS header too.
    (f"http://www.{SITE}/events", f"https://www.{SITE}/events"),
    (f"https://www.{SITE}/api/v1/locations", f"https://{SITE}/api/v1/locations"),
])
def test_redirects_to_the_bare_https_site(site, url, location):
    response = site.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == location


def test_acme_challenge_files_are_served_from_the_webroot_over_http(site, vps):
    # A token file as certbot writes it: served as it is over plain HTTP, not redirected.
    # certbot makes it world-readable whatever the umask (Ubuntu's PAM gives root's SSH
    # sessions login.defs' 027): so does this one.
    token = f"e2e-{uuid.uuid4().hex}"
    path = f"{ACME_WEBROOT}/.well-known/acme-challenge/{token}"
    vps.run(f"umask 022 && mkdir -p {ACME_WEBROOT}/.well-known/acme-challenge && echo {token}.key > {path}")
    try:
        url = vps.url(f"/.well-known/acme-challenge/{token}", scheme="http")
        served = site.get(url, allow_redirects=False, timeout=10)
    finally:
        vps.run(f"rm -f {path}")
    assert served.status_code == 200
    assert served.text == f"{token}.key\n"
    missing = site.get(vps.url(f"/.well-known/acme-challenge/{token}-none", scheme="http"),
                       allow_redirects=False, timeout=10)
    assert missing.status_code == 404 and "Location" not in missing.headers


def test_static_root_serves_the_site_page(site, vps):
    response = site.get(vps.url("/"), timeout=10)
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    assert "Dreamer" in response.text


def test_api_errors_are_the_envelope_through_nginx(site, vps):
    response = site.get(vps.url("/api/v1/no-such-thing"), timeout=10)
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Resource not found"}
    assert response.headers["X-Request-ID"]


def test_request_id_passes_through_nginx(site, vps):
    response = site.get(vps.url("/api/v1/health"), headers={"X-Request-ID": "e2e-trace-42"},
                        timeout=10)
    assert response.headers["X-Request-ID"] == "e2e-trace-42"


def test_unknown_host_gets_no_site(site, vps):
    # Plain HTTP: nginx accepts the connection and closes it without an answer (444); a
    # connection refused or timed out would be a firewall or a dead nginx, not this.
    with socket.create_connection((vps.address, 80), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        assert raw.recv(65536) == b"", "nginx answered a request for an unknown host"
    # HTTPS: the handshake for an unknown name is refused.
    context = ssl.create_default_context(cafile=vps.ca_bundle)
    with socket.create_connection((vps.address, 443), timeout=10) as raw, \
            pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="evil.example")


# nginx's own refusals: the API's JSON envelope with the API's headers, never nginx's
# HTML page (nginx/snippets/tdc-api-errors.conf).
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_nginx_envelope(response, status, error):
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"success": False, "error": error}
    assert response.headers["Content-Security-Policy"] == API_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/health", "GET, HEAD, OPTIONS"),
    ("/api/v1/admin/events", "GET, HEAD, OPTIONS, POST"),
    ("/api/v1/admin/events/some-event", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
])
def test_trace_on_the_api_is_the_apps_405_with_allow(site, vps, path, allow):
    # nginx refuses TRACE before it picks a location; the app answers it for the path.
    response = site.request("TRACE", vps.url(path), data=b'{"probe": 1}',
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert_nginx_envelope(response, 405, "Method not allowed")
    assert response.headers["Allow"] == allow
    assert response.headers["X-Request-ID"]


def test_trace_on_an_unknown_api_path_is_404(site, vps):
    response = site.request("TRACE", vps.url("/api/v1/no-such-thing"), timeout=10)
    assert_nginx_envelope(response, 404, "Resource not found")


@pytest.mark.parametrize(("method", "path"), [("TRACE", "/"), ("POST", "/index.html")])
def test_methods_the_static_site_refuses_are_405_with_allow(site, vps, method, path):
    response = site.request(method, vps.url(path), timeout=10)
    assert_nginx_envelope(response, 405, "Method not allowed")
    assert response.headers["Allow"] == "GET, HEAD"


def test_an_over_long_url_is_a_json_414(site, vps):
    response = site.get(vps.url("/api/v1/events?location=" + "a" * 10_000), timeout=10)
    assert_nginx_envelope(response, 414, "Request URI too long")


def test_an_over_long_header_is_a_json_431(site, vps):
    response = site.get(vps.url("/api/v1/health"), headers={"X-Padding": "a" * 10_000},
                        timeout=10)
    assert_nginx_envelope(response, 431, "Request headers too large")


def raw_exchange(vps, request: bytes) -> tuple[bytes, bytes, bytes]:
    """Send bytes no HTTP client would over TLS for the site; (status line, head, body)."""
    context = ssl.create_default_context(cafile=vps.ca_bundle)
    with socket.create_connection((vps.address, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=SITE) as tls:
        tls.sendall(request)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], head, body


HOST = f"Host: {SITE}\r\nConnection: close\r\n".encode()


@pytest.mark.parametrize(("request_bytes", "status", "error"), [
    # nginx: a malformed header, a missing or foreign Host, an HTTP version it lacks.
    (b"GET /api/v1/health HTTP/1.1\r\n" + HOST + b"Bad Header: x\r\n\r\n", 400,
     "Bad request"),
    (b"GET /api/v1/health HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "Bad request"),
    (b"GET /api/v1/health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
     421, "Misdirected request"),
    (b"GET /api/v1/health HTTP/2.0\r\n" + HOST + b"\r\n", 505, "HTTP version not supported"),
    # gunicorn, behind nginx: what nginx passes and gunicorn's parser refuses.
    (b"GET /api/v1/health HTTP/1.1\r\n" + HOST + b"X-A: a\x01b\r\n\r\n", 400, "Bad request"),
    (b"GET /api/v1/locations/\xc3\xb3pera HTTP/1.1\r\n" + HOST + b"\r\n", 400, "Bad request"),
    (b"GET /api/v1/health HTTP/1.1\r\n" + HOST
     + b"".join(b"X-P%d: a\r\n" % i for i in range(110)) + b"\r\n", 431,
     "Request headers too large"),
])
def test_malformed_requests_are_json(vps, request_bytes, status, error):
    line, head, body = raw_exchange(vps, request_bytes)
    assert line.startswith(b"HTTP/1.1 %d " % status), line
    assert b"\r\nContent-Type: application/json" in head
    assert b"\r\nX-Request-ID: " in head
    assert json.loads(body) == {"success": False, "error": error}


def test_an_over_large_body_is_a_json_413(site, vps):
    response = site.post(vps.url("/api/v1/auth/login"), data=b"x" * (2 * 1024 * 1024),
                         headers={"Content-Type": "application/json"}, timeout=30)
    assert_nginx_envelope(response, 413, "Request body too large")


def test_the_error_pages_are_not_reachable_from_outside(site, vps):
    assert site.get(vps.url("/.tdc-error/414"), timeout=10).status_code == 404
