"""Staff's event routes: drafts, writes, publishing, and every way a write is refused."""

import pytest

from app.utils.db import fetch_all
from tests.club import (
    HOSTILE_STRINGS,
    REFUSED_BY_KIND,
    assert_error_envelope,
    count_rows,
    seed_the_locations,
)

BASE = "/api/v1/admin/events"
EVENT = {
    "slug": "fado-night",
    "title": "Fado night",
    "description": "Guitars and saudade.",
    "event_type": "concert",
    "location": "arquipelago",
    "starts_at": "2099-05-01T21:00:00+01:00",
    "ends_at": "2099-05-01T23:30:00+01:00",
}


@pytest.fixture
def staff(app, auth_headers):
    seed_the_locations(app)
    return auth_headers("staff")


@pytest.fixture
def fado(client, staff):
    response = client.post(BASE, json=EVENT, headers=staff)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def stored_events(app):
    with app.app_context():
        return fetch_all("SELECT slug, title, description, event_type, location_id, starts_at, "
                         "ends_at, is_published FROM events ORDER BY id")


# --- who may ------------------------------------------------------------------------------

WRITES = [("get", ""), ("post", ""), ("get", "/fado-night"), ("put", "/fado-night"),
          ("patch", "/fado-night"), ("delete", "/fado-night"), ("post", "/fado-night/publish"),
          ("post", "/fado-night/unpublish")]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_every_route_needs_a_token(client, app, clean_tables, method, path):
    response = getattr(client, method)(BASE + path, json=EVENT)
    assert_error_envelope(response, 401)
    bad = getattr(client, method)(BASE + path, json=EVENT,
                                  headers={"Authorization": "Bearer not.a.token"})
    assert_error_envelope(bad, 401)


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_member_is_not_staff(client, app, auth_headers, method, path):
    seed_the_locations(app)
    response = getattr(client, method)(BASE + path, json=EVENT, headers=auth_headers("user"))
    assert_error_envelope(response, 403)
    assert count_rows(app, "events") == 0


def test_an_admin_is_staff_too(client, app, auth_headers):
    seed_the_locations(app)
    assert client.post(BASE, json=EVENT, headers=auth_headers("admin")).status_code == 201


# --- create -------------------------------------------------------------------------------

def test_create_makes_an_unpublished_event_by_the_caller(client, app, staff, fado):
    assert fado["slug"] == "fado-night"
    assert fado["is_published"] is False
    assert fado["starts_at"] == "2099-05-01T20:00:00Z"
    assert fado["ends_at"] == "2099-05-01T22:30:00Z"
    assert fado["location"]["slug"] == "arquipelago"
    me = client.get("/api/v1/auth/me", headers=staff).get_json()["data"]
    assert fado["created_by"] == me["id"]
    assert_error_envelope(client.get("/api/v1/events/fado-night"), 404)


@pytest.mark.parametrize(("change", "field"), [
    ({"surprise": True}, "surprise"),
    ({"is_published": True}, "is_published"),
    ({"created_by": 1}, "created_by"),
    ({"title": 5}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": None}, "title"),
    ({"title": ["Fado"]}, "title"),
    ({"description": 3.5}, "description"),
    ({"description": "x" * 10_001}, "description"),
    ({"event_type": "rave"}, "event_type"),
    ({"event_type": "CONCERT"}, "event_type"),
    ({"location": "Arquipélago"}, "location"),
    ({"location": 1}, "location"),
    ({"starts_at": "2099-05-01T21:00:00"}, "starts_at"),  # naive
    ({"starts_at": "next friday"}, "starts_at"),
    ({"starts_at": 4102444800}, "starts_at"),
    ({"starts_at": "2099-02-30T21:00:00Z"}, "starts_at"),
    ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),
    ({"ends_at": "9999-12-31T23:00:00-05:00"}, "ends_at"),
    ({"ends_at": "2099-05-01T20:59:59+01:00"}, "ends_at"),  # before start
    ({"ends_at": "2099-05-01T20:00:00Z"}, "ends_at"),  # equal to start
])
def test_bad_fields_are_422_and_nothing_is_written(client, app, staff, change, field):
    response = client.post(BASE, json={**EVENT, **change}, headers=staff)
    assert_error_envelope(response, 422, field)
    assert count_rows(app, "events") == 0


@pytest.mark.parametrize("slug", ["", "Fado", "fado night", "-fado", "fado-", "fado--night",
                                  "fado_night", "fadó", "x" * 65, "a/b", "../etc"])
def test_slug_format(client, app, staff, slug):
    assert_error_envelope(client.post(BASE, json={**EVENT, "slug": slug}, headers=staff), 422,
                          "slug")


def test_every_missing_field_is_named(client, staff):
    body = assert_error_envelope(client.post(BASE, json={}, headers=staff), 422)
    assert set(body["errors"]) == {"slug", "title", "event_type", "location", "starts_at",
                                   "ends_at"}


def test_an_unknown_location_is_409_and_nothing_is_written(client, app, staff):
    """A valid body (as the description states it) that what is stored refuses: 409."""
    response = client.post(BASE, json={**EVENT, "location": "atlantis"}, headers=staff)
    assert_error_envelope(response, 409, "location")
    assert count_rows(app, "events") == 0


def test_an_inactive_location_takes_no_new_events(client, app, staff, auth_headers):
    client.delete("/api/v1/admin/locations/jazz-club", headers=auth_headers("admin"))
    response = client.post(BASE, json={**EVENT, "location": "jazz-club"}, headers=staff)
    assert_error_envelope(response, 409, "location")


def test_a_taken_slug_is_409_and_changes_nothing(client, app, staff, fado):
    before = stored_events(app)
    response = client.post(BASE, json={**EVENT, "title": "Another"}, headers=staff)
    assert_error_envelope(response, 409, "slug")
    assert stored_events(app) == before


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null", '"text"'])
def test_a_body_that_is_not_an_object_is_400(client, staff, body):
    response = client.post(BASE, data=body, headers={**staff, "Content-Type": "application/json"})
    assert_error_envelope(response, 400)


# --- hostile strings ----------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE_STRINGS)
@pytest.mark.parametrize(("field", "kind"), [("slug", "closed"), ("title", "one line"),
                                             ("description", "text"), ("event_type", "closed"),
                                             ("location", "closed"), ("starts_at", "closed")])
def test_hostile_strings_are_refused_or_kept_verbatim(client, app, staff, field, kind, value):
    response = client.post(BASE, json={**EVENT, field: value}, headers=staff)
    expected = 422 if value in REFUSED_BY_KIND[kind] else 201
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected == 422:
        assert_error_envelope(response, 422, field)
        assert count_rows(app, "events") == 0
    else:
        assert response.get_json()["data"][field] == value
        fetched = client.get(f"{BASE}/{EVENT['slug']}", headers=staff).get_json()["data"]
        assert fetched[field] == value


# --- read, update, publish, delete --------------------------------------------------------

def test_staff_see_drafts(client, staff, fado):
    listed = client.get(BASE, headers=staff).get_json()
    assert [e["slug"] for e in listed["data"]] == ["fado-night"]
    assert client.get(f"{BASE}/fado-night", headers=staff).get_json()["data"] == fado


def test_put_replaces_the_event(client, staff, fado):
    body = {**EVENT, "title": "Fado & friends", "location": "the-lounge"}
    del body["description"]
    response = client.put(f"{BASE}/fado-night", json=body, headers=staff)
    assert response.status_code == 200
    event = response.get_json()["data"]
    assert event["title"] == "Fado & friends"
    assert event["description"] is None
    assert event["location"]["slug"] == "the-lounge"
    assert event["created_by"] == fado["created_by"]


def test_put_needs_every_required_field(client, app, staff, fado):
    before = stored_events(app)
    response = client.put(f"{BASE}/fado-night", json={"title": "Only this"}, headers=staff)
    assert_error_envelope(response, 422)
    assert stored_events(app) == before


def test_patch_changes_only_what_it_names(client, staff, fado):
    response = client.patch(f"{BASE}/fado-night", json={"title": "Fado at midnight"},
                            headers=staff)
    assert response.status_code == 200
    event = response.get_json()["data"]
    assert event["title"] == "Fado at midnight"
    assert {k: v for k, v in event.items() if k not in ("title", "updated_at")} == \
        {k: v for k, v in fado.items() if k not in ("title", "updated_at")}


def test_patch_can_rename_the_slug(client, staff, fado):
    response = client.patch(f"{BASE}/fado-night", json={"slug": "fado-nights"}, headers=staff)
    assert response.get_json()["data"]["slug"] == "fado-nights"
    assert_error_envelope(client.get(f"{BASE}/fado-night", headers=staff), 404)


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"ends_at": "2099-05-01T19:00:00Z"}, 422, "ends_at"),  # before the stored start
    ({"starts_at": "2099-05-02T00:00:00Z"}, 422, "ends_at"),  # after the stored end
    ({"location": "atlantis"}, 409, "location"),
    ({"bogus": 1}, 422, "bogus"),
    ({"title": None}, 422, "title"),
    ({"slug": "other-night"}, 409, "slug"),
])
def test_a_refused_patch_changes_nothing(client, app, staff, fado, change, status, field):
    other = client.post(BASE, json={**EVENT, "slug": "other-night"}, headers=staff)
    assert other.status_code == 201
    before = stored_events(app)
    response = client.patch(f"{BASE}/fado-night", json=change, headers=staff)
    assert_error_envelope(response, status, field)
    assert stored_events(app) == before


def test_an_event_may_stay_at_a_location_that_closed(client, staff, fado, auth_headers):
    client.delete("/api/v1/admin/locations/arquipelago", headers=auth_headers("admin"))
    response = client.patch(f"{BASE}/fado-night", json={"title": "Last fado"}, headers=staff)
    assert response.status_code == 200
    assert response.get_json()["data"]["location"]["is_active"] is False


def test_publish_and_unpublish(client, staff, fado):
    for _ in range(2):  # repeating either is harmless
        published = client.post(f"{BASE}/fado-night/publish", headers=staff)
        assert published.status_code == 200
        assert published.get_json()["data"]["is_published"] is True
    public = client.get("/api/v1/events/fado-night")
    assert public.status_code == 200
    assert "fado-night" in [e["slug"] for e in client.get("/api/v1/events").get_json()["data"]]
    for _ in range(2):
        unpublished = client.post(f"{BASE}/fado-night/unpublish", headers=staff)
        assert unpublished.get_json()["data"]["is_published"] is False
    assert_error_envelope(client.get("/api/v1/events/fado-night"), 404)


def test_delete(client, app, staff, fado):
    assert client.delete(f"{BASE}/fado-night", headers=staff).status_code == 204
    assert count_rows(app, "events") == 0
    assert_error_envelope(client.delete(f"{BASE}/fado-night", headers=staff), 404)


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/nope"), ("put", "/nope"), ("patch", "/nope"), ("delete", "/nope"),
    ("post", "/nope/publish"), ("post", "/nope/unpublish"), ("get", "/NOPE'--"),
])
def test_unknown_event_is_404(client, staff, method, path):
    assert_error_envelope(getattr(client, method)(BASE + path, json=EVENT, headers=staff), 404)
