"""Bodies the JSON parser cannot take, or the API refuses, are a 400 before any view runs."""

import json
import logging

import pytest

from tests.logs import captured_logs

NOT_JSON = "Request body is not valid JSON"

REFUSED = {
    "nested arrays": b"[" * 50_000,
    "nested objects": b'{"a":' * 50_000,
    "an integer past the int-digits limit": b'{"a": ' + b"7" * 5000 + b"}",
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "UTF-16": '{"name": "x"}'.encode("utf-16"),
    "a UTF-8 byte order mark": b'\xef\xbb\xbf{"name": "x"}',
    "NaN": b'{"a": NaN}',
    "Infinity": b'{"a": Infinity}',
    "-Infinity": b'{"a": [-Infinity]}',
    "a float overflowing to infinity": b'{"a": 1e400}',
    "a repeated key": b'{"email": "a@example.com", "email": "b@example.com"}',
    "a repeated key deep inside": b'{"a": [{"b": 1, "b": 1}]}',
}

# Before authentication and before validation: the refusal comes first.
ROUTES = ["/api/v1/_probe/echo", "/api/v1/auth/login", "/api/v1/admin/events"]


@pytest.fixture
def warnings_logged():
    """What the app logs at WARNING or above meanwhile (a traceback would show here)."""
    with captured_logs("tdc", "app", level=logging.WARNING) as records:
        yield records


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
def test_refused_body_is_a_400_envelope_without_traceback(probe, warnings_logged, route, body):
    response = probe.test_client().post(route, data=body, content_type="application/json")
    assert warnings_logged == []
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json() == {"success": False, "error": NOT_JSON}


@pytest.mark.parametrize("body", [
    {"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]},  # the same key in different objects
    {"a": 1.5, "b": -2e-3, "c": 10**4000, "d": "caf\u00e9 \U0001f3b5"},
    json.loads("[" * 200 + "]" * 200),  # deep, but within the limit
], ids=["same key in different objects", "numbers and non-ASCII", "moderate nesting"])
def test_plain_json_is_still_accepted(probe, body):
    payload = {"value": body}
    response = probe.test_client().post("/api/v1/_probe/echo", json=payload)
    assert response.status_code == 200
    assert response.get_json()["data"] == payload
