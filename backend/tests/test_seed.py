"""`flask --app wsgi db seed`: the eight locations, idempotent, never overwriting an admin."""

import pytest

from app.utils.db import execute, fetch_all

pytestmark = pytest.mark.usefixtures("clean_tables")

NAMES = ["The Dreamer's Cave", "DreamVision", "Evanescence", "The Lounge", "Live Magic",
         "Noah's Ark", "Jazz Club", "Arquipélago"]


def seed(app):
    result = app.test_cli_runner().invoke(args=["db", "seed"])
    assert result.exit_code == 0, result.output
    return result.output


def locations(app):
    with app.app_context():
        return fetch_all("SELECT slug, name, sort_order, capacity, mood_category, "
                         "theme_primary, theme_secondary, theme_accent, is_active "
                         "FROM locations ORDER BY sort_order")


def test_seed_loads_the_eight_locations(app):
    assert seed(app).strip() == "locations: 8 added, 0 already present"
    rows = locations(app)
    assert [row["name"] for row in rows] == NAMES
    assert len({row["slug"] for row in rows}) == 8
    for row in rows:
        assert row["capacity"] > 0 and row["mood_category"] and row["is_active"]
        for colour in ("theme_primary", "theme_secondary", "theme_accent"):
            assert len(row[colour]) == 7 and row[colour].startswith("#")


def test_seeding_again_changes_nothing(app):
    seed(app)
    first = locations(app)
    assert seed(app).strip() == "locations: 0 added, 8 already present"
    assert locations(app) == first


def test_an_admins_edits_survive_a_reseed(app):
    seed(app)
    with app.app_context():
        execute("UPDATE locations SET name = 'The Big Lounge', is_active = FALSE "
                "WHERE slug = 'the-lounge'")
        execute("DELETE FROM locations WHERE slug = 'jazz-club'")
    assert seed(app).strip() == "locations: 1 added, 7 already present"
    by_slug = {row["slug"]: row for row in locations(app)}
    assert by_slug["the-lounge"]["name"] == "The Big Lounge"
    assert not by_slug["the-lounge"]["is_active"]
    assert by_slug["jazz-club"]["name"] == "Jazz Club"
    assert len(by_slug) == 8
