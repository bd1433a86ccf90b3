"""The public site through nginx: TLS, redirects, the API and the static root."""

import socket
import ssl

import pytest
import requests
from conftest import SITE


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


def test_acme_challenge_path_is_served_over_http(site, vps):
    response = site.get(vps.url("/.well-known/acme-challenge/nonexistent", scheme="http"),
                        allow_redirects=False, timeout=10)
    assert response.status_code == 404  # answered by the webroot, not redirected


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
    # Plain HTTP: nginx closes the connection without an answer (444).
    with pytest.raises(requests.ConnectionError):
        site.get(f"http://{vps.address}/", headers={"Host": "evil.example"}, timeout=10)
    # HTTPS: the handshake for an unknown name is refused.
    context = ssl.create_default_context(cafile=vps.ca_bundle)
    with socket.create_connection((vps.address, 443), timeout=10) as raw, \
            pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="evil.example")
