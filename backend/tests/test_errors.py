"""Errors always leave as the JSON envelope; production hides internals."""


import pytest

from app.config import ProductionConfig
from tests.logs import captured_logs
from tests.probe import create_probe_app

STRONG = {"SECRET_KEY": "k" * 40 + "1", "JWT_SECRET_KEY": "j" * 40 + "2"}


@pytest.fixture
def production_probe(service_env, monkeypatch):
    for key, value in STRONG.items():
        monkeypatch.setenv(key, value)
    app = create_probe_app(ProductionConfig)
    yield app
    app.extensions["tdc_db"].close()


def assert_envelope(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503])
def test_aborts_become_envelopes(probe, code):
    assert_envelope(probe.test_client().get(f"/api/v1/_probe/abort/{code}"), code)


def test_unknown_route_is_json_404(probe):
    body = assert_envelope(probe.test_client().get("/no/such/page"), 404)
    assert body["error"] == "Resource not found"


def test_wrong_method_is_json_405_with_allow(probe):
    response = probe.test_client().delete("/api/v1/health")
    assert_envelope(response, 405)
    assert "GET" in response.headers["Allow"]


def test_body_over_the_limit_is_json_413(probe):
    big = b'{"x": "' + b"a" * (probe.config["MAX_CONTENT_LENGTH"] + 10) + b'"}'
    response = probe.test_client().post("/api/v1/_probe/echo", data=big,
                                        content_type="application/json")
    assert_envelope(response, 413)


@pytest.mark.parametrize(("data", "content_type", "message"), [
    ('{"a": ', "application/json", "Request body is not valid JSON"),
    ("a=1", "application/x-www-form-urlencoded", "Content-Type must be application/json"),
    ('{"a": 1}', "text/plain", "Content-Type must be application/json"),
    ("[1, 2]", "application/json", "Request body must be a JSON object"),
    ('"text"', "application/json", "Request body must be a JSON object"),
])
def test_malformed_writes_are_json_400(probe, data, content_type, message):
    response = probe.test_client().post("/api/v1/_probe/echo", data=data,
                                        content_type=content_type)
    assert assert_envelope(response, 400)["error"] == message


def test_missing_body_on_a_write_that_needs_one_is_400(probe):
    assert_envelope(probe.test_client().post("/api/v1/_probe/echo"), 400)


def test_valid_json_write_reaches_the_view(probe):
    response = probe.test_client().post("/api/v1/_probe/echo", json={"name": "Noah's Ark"})
    assert response.get_json() == {"success": True, "data": {"name": "Noah's Ark"}}


def test_production_500_is_generic_and_the_traceback_is_logged(production_probe):
    with captured_logs("tdc.errors") as records:
        response = production_probe.test_client().get(
            "/api/v1/_probe/boom", headers={"X-Request-ID": "trace-me-123"})
    body = assert_envelope(response, 500)
    assert body["error"] == "Internal server error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == "trace-me-123"
    [record] = records
    assert record.exc_info[0] is RuntimeError
    assert record.fields["request_id"] == "trace-me-123"


def test_production_404_message_is_generic(production_probe):
    body = assert_envelope(production_probe.test_client().get("/nowhere"), 404)
    assert body["error"] == "Resource not found"
