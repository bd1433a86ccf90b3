"""GET /api/v1/openapi.json: valid OpenAPI 3.1, describing exactly the routes there are."""

import json
import re
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from app.models.event import EventInput
from app.models.location import LocationInput
from app.models.user import RegisterInput
from app.utils.validation import ValidationFailed, validate
from tests.club import seed_the_locations

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
    seed_the_locations(app)
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


def allows(schema, raw: str) -> bool:
    """Does `schema` (with formats checked) allow a query value sent as the text `raw`?"""
    value: object = raw
    if schema.get("type") == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw):
            return False
        value = int(raw)
    return Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(value)


# The values the description allows are exactly the ones the API takes (the contract
# schemathesis' positive_data_acceptance and negative_data_rejection checks hold it to).
@pytest.mark.parametrize(("name", "raw", "valid"), [
    ("page", "1", True), ("page", "999999999", True), ("page", "1000000000", False),
    ("page", "0", False), ("page", "-1", False), ("page", "1.5", False),
    ("page", "\u00b2", False), ("page", "\uff11", False),
    ("per_page", "1", True), ("per_page", "100", True), ("per_page", "999999999", True),
    ("per_page", "1000000000", False), ("per_page", "0", False),
    ("location", "jazz-club", True), ("location", "atlantis", True),
    ("location", "Jazz", False), ("location", "", False), ("location", "a" * 65, False),
    ("location", "\u00f3pera", False), ("location", "jazz--club", False),
    ("from", "2026-05-01T20:00:00Z", True), ("from", "2026-05-01T20:00:00.123456+05:30", True),
    ("from", "0001-01-01T00:00:00+01:00", True), ("from", "1969-07-20T20:17:40Z", True),
    ("to", "9999-12-31T23:59:59-05:00", True), ("to", "9999-12-31T23:59:59+23:59", True),
    ("from", "2024-01-01T12:99:00Z", False), ("from", "yesterday", False),
    ("to", "2026-05-01T20:00:00", False), ("to", "1767225600", False),
])
def test_query_parameters_are_taken_as_described(client, document, name, raw, valid):
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/events"]["get"]["parameters"]}
    assert allows(parameters[name]["schema"], raw) is valid, "the description"
    response = client.get("/api/v1/events?" + urlencode({name: raw}))
    assert response.status_code == (200 if valid else 400), response.get_json()


@pytest.mark.parametrize(("email", "valid"), [
    ("luna@example.com", True), ("Luna.Moon+tag@mail.Example.ORG", True),
    ("#!$%&'*/=?^_`{|}~-@0.example", True), ("a@b.testing", True),
    ("l1@444m5f.ktrpth.test", False), ("a@b.localhost", False), ("a@x.ONION", False),
    ("a@1.0.0.127.in-addr.arpa", False), ("a@corp.internal", False),
    ("a..b@example.com", False), ("a@example", False), ("luna@ex\u00e4mple.com", False),
    ("useratexample.com", False), ("l" * 65 + "@example.com", False),
])
def test_register_emails_are_taken_as_described(document, email, valid):
    body = document["paths"]["/api/v1/auth/register"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]["properties"]["email"]
    assert allows(schema, email) is valid, "the description"
    body = {"email": email, "username": "luna", "password": "correct horse battery"}
    try:
        validate(RegisterInput, body)
        accepted = True
    except ValidationFailed as exc:
        assert set(exc.errors) == {"email"}
        accepted = False
    assert accepted is valid, "the API"


def test_locations_go_by_one_word(document):
    """The URLs say "locations": so do the tags, summaries and descriptions."""
    assert "venue" not in json.dumps(document).lower()


def test_the_document_is_assembled_from_the_blueprints(app):
    from app.routes.api.openapi import _described_modules

    names = {module.__name__ for module in _described_modules(app)}
    assert {"app.routes.api.auth", "app.routes.admin.users", "app.routes.api.openapi"} <= names
