"""GET /api/v1/openapi.json: valid OpenAPI 3.1, describing exactly the routes there are."""

import json
import re
import unicodedata
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from app.models.event import EventInput
from app.models.fields import EARLIEST, LATEST, Text, single_line
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


# --- request bodies: what the description allows is what the API takes -----------------

def body_errors(document, path: str, method: str, body: dict) -> list[str]:
    """Why the description of PATH's METHOD body (formats checked) refuses `body`, if so."""
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"][
        "schema"]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(body)]


LOCATIONS, EVENTS = "/api/v1/admin/locations", "/api/v1/admin/events"
NEW_LOCATION = {"slug": "rooftop", "name": "The Rooftop"}
NEW_EVENT = {"slug": "jam", "title": "Jam", "event_type": "jam-session",
             "location": "jazz-club", "starts_at": "2099-01-01T20:00:00Z",
             "ends_at": "2099-01-01T23:00:00Z"}


# (path, method, body, status): each body as the description has it and the API's answer;
# 2xx and 409 (a clash with what is stored) for an allowed body, 422 for a refused one.
@pytest.mark.parametrize(("path", "body", "status"), [
    # JSON Schema's integer is any number with no fraction: 5.0 as well as 5.
    (LOCATIONS, {**NEW_LOCATION, "sort_order": 1000000.0, "capacity": 5.0}, 201),
    (LOCATIONS, {**NEW_LOCATION, "sort_order": -1e6}, 201),
    (LOCATIONS, {**NEW_LOCATION, "sort_order": 1.5}, 422),
    (LOCATIONS, {**NEW_LOCATION, "capacity": 0.0}, 422),
    # one line: no control character, not blank (str.isspace() whitespace only)
    (LOCATIONS, {**NEW_LOCATION, "name": "Caf\u00e9 \u3000\U0001f3b8"}, 201),
    (LOCATIONS, {**NEW_LOCATION, "name": "a\u0085", "mood_category": "\ufeff"}, 201),
    (LOCATIONS, {**NEW_LOCATION, "name": "a\u0001"}, 422),
    (LOCATIONS, {**NEW_LOCATION, "name": "x\x7f"}, 422),
    (LOCATIONS, {**NEW_LOCATION, "name": " \u00a0\u2003\u3000"}, 422),
    (LOCATIONS, {**NEW_LOCATION, "mood_category": "\u0085\u2028"}, 422),
    # text: line breaks and tabs, but no other control character
    (LOCATIONS, {**NEW_LOCATION, "description": "one\ttwo\r\nthree"}, 201),
    (LOCATIONS, {**NEW_LOCATION, "description": "bell\x07"}, 422),
    (EVENTS, {**NEW_EVENT, "description": "\x1b[31m"}, 422),
    # RFC 3339, years 1970-9998 as written, whatever the offset
    (EVENTS, {**NEW_EVENT, "starts_at": "1970-01-01T00:00:00+23:59",
              "ends_at": "1970-01-01T00:00:01+23:59"}, 201),
    (EVENTS, {**NEW_EVENT, "starts_at": "9998-12-31T23:59:58-23:59",
              "ends_at": "9998-12-31T23:59:59.1234567-23:59"}, 201),
    (EVENTS, {**NEW_EVENT, "starts_at": "1969-12-31T23:59:59Z"}, 422),
    (EVENTS, {**NEW_EVENT, "ends_at": "9999-01-01T00:00:00+01:00"}, 422),
    (EVENTS, {**NEW_EVENT, "starts_at": "2099-01-01 20:00:00Z"}, 422),
    (EVENTS, {**NEW_EVENT, "starts_at": "2099-01-01T20:00Z"}, 422),
    (EVENTS, {**NEW_EVENT, "starts_at": "2099-01-01T20:00:00+0100"}, 422),
    (EVENTS, {**NEW_EVENT, "starts_at": "2099-01-01t20:00:00z"}, 422),
    (EVENTS, {**NEW_EVENT, "ends_at": "2099-01-01T23:59:60Z"}, 422),
    # valid as described; refused by what is stored, so 409
    (EVENTS, {**NEW_EVENT, "location": "atlantis"}, 409),
])
def test_request_bodies_are_taken_as_described(client, app, document, auth_headers, path,
                                               body, status):
    seed_the_locations(app)
    errors = body_errors(document, path, "post", body)
    assert (not errors) is (status != 422), f"the description: {errors}"
    response = client.post(path, json=body, headers=auth_headers("admin"))
    assert response.status_code == status, response.get_json()


def test_an_event_stored_a_day_past_the_years_can_be_patched(client, app, auth_headers):
    """Written in 1970 at +23:59, it is stored in 1969 (UTC); a PATCH merges it back."""
    seed_the_locations(app)
    staff = auth_headers("staff")
    early = {**NEW_EVENT, "starts_at": "1970-01-01T00:00:00+23:59",
             "ends_at": "1970-01-01T01:00:00+23:59"}
    assert client.post(EVENTS, json=early, headers=staff).status_code == 201
    assert client.get(f"{EVENTS}/jam", headers=staff).get_json()["data"]["starts_at"] == \
        "1969-12-31T00:01:00Z"
    response = client.patch(f"{EVENTS}/jam", json={"title": "Early jam"}, headers=staff)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["starts_at"] == "1969-12-31T00:01:00Z"
    late = {**NEW_EVENT, "slug": "late", "starts_at": "9998-12-31T23:00:00-23:59",
            "ends_at": "9998-12-31T23:30:00-23:59"}
    assert client.post(EVENTS, json=late, headers=staff).status_code == 201
    assert client.patch(f"{EVENTS}/late", json={"title": "Late"}, headers=staff).status_code \
        == 200
    # and a search from the earliest or to the latest time still finds them
    found = client.get(f"{EVENTS}?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
                       headers=staff).get_json()["data"]
    assert [event["slug"] for event in found] == ["jam", "late"]


def test_ends_at_after_starts_at_is_stated_in_words(document):
    """The one rule of a body JSON Schema cannot state (the audit's hook keeps to it)."""
    for method in ("post", "patch"):
        path = EVENTS if method == "post" else f"{EVENTS}/{{slug}}"
        schema = document["paths"][path][method]["requestBody"]["content"][
            "application/json"]["schema"]
        assert "after starts_at" in schema["properties"]["ends_at"]["description"].lower()


def characters_to_check() -> list[str]:
    """Every control, format, separator and whitespace character, and a few others."""
    return [chr(c) for c in range(0x10000)
            if unicodedata.category(chr(c)) in {"Cc", "Cf", "Zs", "Zl", "Zp"}
            or chr(c).isspace()] + ["a", "\u00e9", "\U0001f3b8", "\U000e0001"]


@pytest.mark.parametrize("model_type", [single_line(10), Text])
def test_the_string_patterns_are_what_the_validators_check(model_type):
    """Each character alone and beside a letter: the published pattern decides as the
    validator does, so the description and the API cannot drift apart."""
    adapter = TypeAdapter(model_type)
    # JSON Schema's patterns are ECMA 262's: `$` is the end, never before a last "\n".
    pattern = re.compile(adapter.json_schema()["pattern"].removesuffix("$") + r"\Z")
    for character in characters_to_check():
        for value in (character, f"x{character}", f"{character}{character}"):
            try:
                adapter.validate_python(value)
                accepted = True
            except PydanticValidationError:
                accepted = False
            assert (pattern.search(value) is not None) is accepted, repr(value)


def test_the_date_time_pattern_takes_the_years_the_api_does():
    pattern = re.compile(EventInput.model_json_schema()["properties"]["starts_at"]["pattern"])
    years = [year for year in range(10000)
             if pattern.search(f"{year:04d}-06-15T12:00:00Z") is not None]
    assert years == list(range(EARLIEST.year, LATEST.year))


def test_the_event_writes_say_an_unknown_location_is_a_409(document):
    assert "refused by what is stored" in document["components"]["responses"]["Conflict"][
        "description"]
    for path, method in [(EVENTS, "post"), (f"{EVENTS}/{{slug}}", "put"),
                         (f"{EVENTS}/{{slug}}", "patch")]:
        operation = document["paths"][path][method]
        assert "409" in operation["responses"]
        assert "location that does not exist or is inactive" in operation["description"]
