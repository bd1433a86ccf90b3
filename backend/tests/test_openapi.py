"""GET /api/v1/openapi.json: valid OpenAPI 3.1, describing exactly the routes there are."""

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from app.models.event import EventInput
from app.models.location import LocationInput
from tests.club import seed_venues

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def openapi_path(rule: str) -> str:
    """/api/v1/events/<slug> -> /api/v1/events/{slug}; <int:user_id> -> {user_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def served(app) -> set[tuple[str, str]]:
    return {(openapi_path(rule.rule), method.lower())
            for rule in app.url_map.iter_rules()
            for method in rule.methods - IGNORED_METHODS}


def described(document) -> set[tuple[str, str]]:
    return {(path, method) for path, operations in document["paths"].items()
            for method in operations}


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate_spec(document)


def test_every_route_is_described(app, document):
    missing = served(app) - described(document)
    assert not missing, f"routes without a description: {sorted(missing)}"


def test_every_description_is_a_route(app, document):
    stale = described(document) - served(app)
    assert not stale, f"descriptions of routes that do not exist: {sorted(stale)}"


def test_path_parameters_match_the_routes(document):
    for path, operations in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}"


def test_protected_routes_declare_bearer_auth_and_its_errors(document):
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/admin/"):
                assert operation["security"] == [{"bearerAuth": []}], f"{method} {path}"
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            if "requestBody" in operation:
                assert {"400", "422"} <= set(operation["responses"]), f"{method} {path}"


def test_error_responses_are_the_envelope(document):
    responses = document["components"]["responses"]
    assert set(responses) >= {"BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                              "ValidationFailed", "TooManyRequests", "ServiceUnavailable"}
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["success", "error"]


@pytest.mark.parametrize(("path", "method", "model", "partial"), [
    ("/api/v1/admin/events", "post", EventInput, False),
    ("/api/v1/admin/events/{slug}", "put", EventInput, False),
    ("/api/v1/admin/events/{slug}", "patch", EventInput, True),
    ("/api/v1/admin/locations", "post", LocationInput, False),
    ("/api/v1/admin/locations/{slug}", "patch", LocationInput, True),
])
def test_request_bodies_are_the_validation_models(document, path, method, model, partial):
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"][
        "schema"]
    expected = model.model_json_schema()
    assert schema["properties"] == expected["properties"]
    assert schema.get("required") == (None if partial else expected["required"])


def test_real_answers_match_their_description(client, app, document, auth_headers):
    seed_venues(app)
    staff = auth_headers("staff")
    event = {"slug": "jam", "title": "Jam", "event_type": "jam-session", "location": "jazz-club",
             "starts_at": "2099-01-01T20:00:00Z", "ends_at": "2099-01-01T23:00:00Z"}
    client.post("/api/v1/admin/events", json=event, headers=staff)
    client.post("/api/v1/admin/events/jam/publish", headers=staff)
    checks = [
        ("/api/v1/locations", "/api/v1/locations", "200"),
        ("/api/v1/locations/jazz-club", "/api/v1/locations/{slug}", "200"),
        ("/api/v1/events", "/api/v1/events", "200"),
        ("/api/v1/events/jam", "/api/v1/events/{slug}", "200"),
        ("/api/v1/events/nope", "/api/v1/events/{slug}", "404"),
        ("/api/v1/locations?page=0", "/api/v1/locations", "400"),
        ("/api/v1/health", "/api/v1/health", "200"),
    ]
    for url, path, status in checks:
        response = client.get(url)
        assert str(response.status_code) == status, url
        schema = document["paths"][path]["get"]["responses"][status]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = document["components"]["responses"][name]
        body_schema = schema["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**body_schema, "components": document["components"]})
        errors = [e.message for e in validator.iter_errors(response.get_json())]
        assert not errors, f"{url}: {errors}"
