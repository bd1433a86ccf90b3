"""The public location list and location pages."""

import pytest

from app.services.seed import LOCATIONS
from app.utils.db import execute
from tests.club import assert_error_envelope, seed_the_locations, selects_run

pytestmark = pytest.mark.usefixtures("clean_tables")


@pytest.fixture
def locations(app, clean_tables):
    seed_the_locations(app)


def deactivate(app, slug):
    with app.app_context():
        execute("UPDATE locations SET is_active = FALSE WHERE slug = %s", (slug,))


def test_lists_the_active_locations_in_sort_order(client, locations):
    response = client.get("/api/v1/locations")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert [v["slug"] for v in body["data"]] == [location[0] for location in LOCATIONS]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 20, "total": 8, "pages": 1}
    first = body["data"][0]
    assert first["name"] == "The Dreamer's Cave"
    assert first["theme_primary"].startswith("#")
    assert first["is_active"] is True
    assert first["created_at"].endswith("Z")


def test_an_inactive_location_is_hidden(client, app, locations):
    deactivate(app, "jazz-club")
    body = client.get("/api/v1/locations").get_json()
    assert "jazz-club" not in [v["slug"] for v in body["data"]]
    assert body["meta"]["pagination"]["total"] == 7
    assert_error_envelope(client.get("/api/v1/locations/jazz-club"), 404)


def test_location_page(client, locations):
    response = client.get("/api/v1/locations/arquipelago")
    assert response.status_code == 200
    assert response.get_json()["data"]["name"] == "Arquipélago"


@pytest.mark.parametrize("slug", ["nowhere", "THE-LOUNGE", "the-lounge'--", "%F0%9F%8E%B8",
                                  "x" * 300])
def test_unknown_location_is_404(client, locations, slug):
    assert_error_envelope(client.get(f"/api/v1/locations/{slug}"), 404)


@pytest.mark.parametrize(("query", "slugs", "pagination"), [
    ("per_page=3", ["the-dreamers-cave", "dreamvision", "evanescence"],
     {"page": 1, "per_page": 3, "total": 8, "pages": 3}),
    ("page=3&per_page=3", ["jazz-club", "arquipelago"],
     {"page": 3, "per_page": 3, "total": 8, "pages": 3}),
    ("page=4&per_page=3", [], {"page": 4, "per_page": 3, "total": 8, "pages": 3}),
    ("page=2&per_page=4", ["live-magic", "noahs-ark", "jazz-club", "arquipelago"],
     {"page": 2, "per_page": 4, "total": 8, "pages": 2}),
    ("per_page=8", [v[0] for v in LOCATIONS], {"page": 1, "per_page": 8, "total": 8, "pages": 1}),
    ("page=999999999", [], {"page": 999999999, "per_page": 20, "total": 8, "pages": 1}),
    ("per_page=1000", [v[0] for v in LOCATIONS], {"page": 1, "per_page": 100, "total": 8,
                                               "pages": 1}),
    # The description's maximum is accepted (and lowered to the cap); leading zeros are
    # the same number.
    ("per_page=999999999", [v[0] for v in LOCATIONS], {"page": 1, "per_page": 100,
                                                    "total": 8, "pages": 1}),
    ("page=0002&per_page=007", ["arquipelago"], {"page": 2, "per_page": 7, "total": 8,
                                                 "pages": 2}),
    ("page=" + "0" * 5000 + "2&per_page=7", ["arquipelago"],
     {"page": 2, "per_page": 7, "total": 8, "pages": 2}),
    ("page=2&per_page=7&sort=name", ["arquipelago"],
     {"page": 2, "per_page": 7, "total": 8, "pages": 2}),
])
def test_pagination(client, locations, query, slugs, pagination):
    body = client.get(f"/api/v1/locations?{query}").get_json()
    assert [v["slug"] for v in body["data"]] == slugs
    assert body["meta"]["pagination"] == pagination


@pytest.mark.parametrize(("query", "field"), [
    ("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"), ("page=1.5", "page"),
    ("page=", "page"), ("page=1e3", "page"), ("page=99999999999999999999", "page"),
    ("per_page=0", "per_page"), ("per_page=-5", "per_page"), ("per_page=ten", "per_page"),
    ("page=%27%3B--", "page"),
    # Past the description's maximum, and digits int() or the description do not take.
    ("page=1000000000", "page"), ("per_page=1000000000", "per_page"),
    ("per_page=1005157306176180017582991688597504", "per_page"),
    ("page=%C2%B2", "page"), ("page=%EF%BC%91", "page"), ("per_page=%D9%A3", "per_page"),
    ("page=" + "0" * 5000, "page"),
])
def test_bad_pagination_is_400_naming_the_parameter(client, locations, query, field):
    assert_error_envelope(client.get(f"/api/v1/locations?{query}"), 400, field)


def test_no_locations_is_an_empty_first_page(client):
    body = client.get("/api/v1/locations").get_json()
    assert body["data"] == []
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 20, "total": 0, "pages": 0}


def test_the_list_costs_one_query(client, locations, mariadb):
    response, selects = selects_run(mariadb, lambda: client.get("/api/v1/locations"))
    assert response.status_code == 200
    assert selects == 1


def test_needs_no_token(client, locations):
    response = client.get("/api/v1/locations", headers={"Authorization": "Bearer nonsense"})
    # A public route ignores a bad token rather than refusing the request.
    assert response.status_code == 200
