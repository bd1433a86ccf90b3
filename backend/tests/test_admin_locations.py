"""Admin location routes: create, update, deactivate, and the refusals."""

import pytest

from app.utils.db import fetch_all
from tests.club import (
    HOSTILE_STRINGS,
    REFUSED_BY_KIND,
    assert_error_envelope,
    count_rows,
    seed_the_locations,
)

BASE = "/api/v1/admin/locations"
LOCATION = {
    "slug": "rooftop",
    "name": "The Rooftop",
    "description": "Open air, under the stars.",
    "capacity": 80,
    "sort_order": 90,
    "mood_category": "starry",
    "theme_primary": "#101820",
    "theme_secondary": "#FEE715",
    "theme_accent": "#ff6f61",
}


@pytest.fixture
def admin(app, auth_headers):
    seed_the_locations(app)
    return auth_headers("admin")


@pytest.fixture
def rooftop(client, admin):
    response = client.post(BASE, json=LOCATION, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def stored_locations(app):
    with app.app_context():
        return fetch_all("SELECT slug, name, description, capacity, sort_order, is_active, "
                         "mood_category, theme_primary, theme_secondary, theme_accent "
                         "FROM locations ORDER BY id")


ROUTES = [("get", ""), ("post", ""), ("get", "/rooftop"), ("put", "/rooftop"),
          ("patch", "/rooftop"), ("delete", "/rooftop")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_token(client, clean_tables, method, path):
    assert_error_envelope(getattr(client, method)(BASE + path, json=LOCATION), 401)


@pytest.mark.parametrize("role", ["user", "staff"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_only_admins_run_locations(client, app, auth_headers, role, method, path):
    seed_the_locations(app)
    before = stored_locations(app)
    response = getattr(client, method)(BASE + path, json=LOCATION, headers=auth_headers(role))
    assert_error_envelope(response, 403)
    assert stored_locations(app) == before


def test_create(client, rooftop):
    assert {k: rooftop[k] for k in LOCATION} == LOCATION
    assert rooftop["is_active"] is True
    assert client.get("/api/v1/locations/rooftop").get_json()["data"] == rooftop


def test_create_with_only_the_required_fields(client, admin):
    response = client.post(BASE, json={"slug": "bare", "name": "Bare"}, headers=admin)
    assert response.status_code == 201
    location = response.get_json()["data"]
    assert location["capacity"] is None
    assert location["sort_order"] == 0
    assert location["theme_primary"] is None


@pytest.mark.parametrize(("change", "field"), [
    ({"surprise": 1}, "surprise"),
    ({"id": 99}, "id"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "Two\nlines"}, "name"),
    ({"name": 7}, "name"),
    ({"description": "x" * 10_001}, "description"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": -5}, "capacity"),
    ({"capacity": 1.5}, "capacity"),
    ({"capacity": "80"}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"capacity": 10**12}, "capacity"),
    ({"sort_order": 10**7}, "sort_order"),
    ({"sort_order": "1"}, "sort_order"),
    ({"is_active": "yes"}, "is_active"),
    ({"is_active": 1}, "is_active"),
    ({"mood_category": "x" * 41}, "mood_category"),
    ({"theme_primary": "#FFF"}, "theme_primary"),
    ({"theme_primary": "red"}, "theme_primary"),
    ({"theme_secondary": "#GGGGGG"}, "theme_secondary"),
    ({"theme_accent": "FF6F61"}, "theme_accent"),
    ({"theme_accent": "#FF6F611"}, "theme_accent"),
    ({"slug": "Roof Top"}, "slug"),
    ({"slug": "x" * 65}, "slug"),
])
def test_bad_fields_are_422_and_nothing_is_written(client, app, admin, change, field):
    before = stored_locations(app)
    assert_error_envelope(client.post(BASE, json={**LOCATION, **change}, headers=admin), 422, field)
    assert stored_locations(app) == before


def test_a_taken_slug_is_409(client, app, admin):
    before = stored_locations(app)
    response = client.post(BASE, json={**LOCATION, "slug": "jazz-club"}, headers=admin)
    assert_error_envelope(response, 409, "slug")
    assert stored_locations(app) == before


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
@pytest.mark.parametrize(("field", "kind"), [("slug", "closed"), ("name", "one line"),
                                             ("description", "text"),
                                             ("mood_category", "one line"),
                                             ("theme_primary", "closed")])
def test_hostile_strings_are_refused_or_kept_verbatim(client, app, admin, field, kind, value):
    response = client.post(BASE, json={**LOCATION, field: value}, headers=admin)
    expected = 422 if value in REFUSED_BY_KIND[kind] else 201
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected == 422:
        assert_error_envelope(response, 422, field)
        assert count_rows(app, "locations") == 8
    else:
        assert response.get_json()["data"][field] == value
        fetched = client.get(f"{BASE}/{LOCATION['slug']}", headers=admin).get_json()["data"]
        assert fetched[field] == value


def test_put_replaces_the_location(client, rooftop, admin):
    response = client.put(f"{BASE}/rooftop", json={"slug": "rooftop", "name": "Roof"},
                          headers=admin)
    location = response.get_json()["data"]
    assert location["name"] == "Roof"
    assert location["capacity"] is None  # omitted: back to its default
    assert location["id"] == rooftop["id"]


def test_patch_changes_only_what_it_names(client, rooftop, admin):
    response = client.patch(f"{BASE}/rooftop", json={"capacity": 120, "theme_accent": None},
                            headers=admin)
    location = response.get_json()["data"]
    assert location["capacity"] == 120
    assert location["theme_accent"] is None
    assert location["name"] == LOCATION["name"]


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"slug": "jazz-club"}, 409, "slug"),
    ({"capacity": 0}, 422, "capacity"),
    ({"name": None}, 422, "name"),
    ({"colour": "#000000"}, 422, "colour"),
])
def test_a_refused_update_changes_nothing(client, app, rooftop, admin, change, status, field):
    before = stored_locations(app)
    assert_error_envelope(client.patch(f"{BASE}/rooftop", json=change, headers=admin), status,
                          field)
    assert_error_envelope(client.put(f"{BASE}/rooftop", json={**LOCATION, **change},
                                     headers=admin), status, field)
    assert stored_locations(app) == before


def test_delete_deactivates_and_patch_reactivates(client, rooftop, admin):
    for _ in range(2):  # deactivating twice is harmless
        assert client.delete(f"{BASE}/rooftop", headers=admin).status_code == 204
    assert_error_envelope(client.get("/api/v1/locations/rooftop"), 404)
    kept = client.get(f"{BASE}/rooftop", headers=admin).get_json()["data"]
    assert kept["is_active"] is False
    listed = client.get(f"{BASE}?per_page=100", headers=admin).get_json()
    assert listed["meta"]["pagination"]["total"] == 9
    client.patch(f"{BASE}/rooftop", json={"is_active": True}, headers=admin)
    assert client.get("/api/v1/locations/rooftop").status_code == 200


@pytest.mark.parametrize(("method", "path"), [("get", "/nope"), ("put", "/nope"),
                                              ("patch", "/nope"), ("delete", "/nope")])
def test_unknown_location_is_404(client, admin, method, path):
    assert_error_envelope(getattr(client, method)(BASE + path, json=LOCATION, headers=admin), 404)
