"""Locations: the public list and the admin's writes (deactivated, never deleted).

Like every service, it finds a location by the key in the URL (its slug), changes it by
id, and returns the API's form of a location, a plain dict.
"""

from typing import Any

from app.models.fields import is_slug, iso_utc
from app.models.location import LocationInput
from app.services.queries import fetch_page, slug_clash_is_conflict
from app.utils.db import execute, fetch_one, get_cursor

# Every column of a location: the select list every location query starts from.
SELECT_LOCATIONS = """
SELECT id, slug, name, description, capacity, sort_order, is_active, mood_category,
       theme_primary, theme_secondary, theme_accent, created_at, updated_at
FROM locations"""

LIST_LOCATIONS = SELECT_LOCATIONS + """
WHERE is_active OR %(include_inactive)s
ORDER BY sort_order, id
LIMIT %(limit)s OFFSET %(offset)s"""

COUNT_LOCATIONS = """
SELECT COUNT(*) AS total
FROM locations
WHERE is_active OR %(include_inactive)s"""

LOCATION_BY_SLUG = SELECT_LOCATIONS + """
WHERE slug = %(slug)s"""

LOCATION_BY_ID = SELECT_LOCATIONS + """
WHERE id = %(id)s"""

INSERT_LOCATION = """
INSERT INTO locations (slug, name, description, capacity, sort_order, is_active,
                       mood_category, theme_primary, theme_secondary, theme_accent)
VALUES (%(slug)s, %(name)s, %(description)s, %(capacity)s, %(sort_order)s, %(is_active)s,
        %(mood_category)s, %(theme_primary)s, %(theme_secondary)s, %(theme_accent)s)"""

UPDATE_LOCATION = """
UPDATE locations
SET slug = %(slug)s, name = %(name)s, description = %(description)s,
    capacity = %(capacity)s, sort_order = %(sort_order)s, is_active = %(is_active)s,
    mood_category = %(mood_category)s, theme_primary = %(theme_primary)s,
    theme_secondary = %(theme_secondary)s, theme_accent = %(theme_accent)s
WHERE id = %(id)s"""

DEACTIVATE_LOCATION = "UPDATE locations SET is_active = FALSE WHERE id = %(id)s"


def to_api(row: dict[str, Any]) -> dict[str, Any]:
    """The API's form of a locations row."""
    return {**row, "is_active": bool(row["is_active"]), "created_at": iso_utc(row["created_at"]),
            "updated_at": iso_utc(row["updated_at"])}


def as_input(location: dict[str, Any]) -> dict[str, Any]:
    """The LocationInput fields of a location, for merging a PATCH into."""
    return {name: location[name] for name in LocationInput.model_fields}


def list_locations(page: int, per_page: int, *,
                   include_inactive: bool = False) -> tuple[list[dict[str, Any]], int]:
    """One page of locations by sort order, and how many there are in all."""
    rows, total = fetch_page(LIST_LOCATIONS, COUNT_LOCATIONS,
                             {"include_inactive": include_inactive}, page, per_page)
    return [to_api(row) for row in rows], total


def get_location(slug: str, *, include_inactive: bool = False) -> dict[str, Any] | None:
    if not is_slug(slug):
        return None
    row = fetch_one(LOCATION_BY_SLUG, {"slug": slug})
    if row is None or (not include_inactive and not row["is_active"]):
        return None
    return to_api(row)


def create_location(data: LocationInput) -> dict[str, Any]:
    """Insert a location and return it; 409 when its slug is taken."""
    with get_cursor() as cursor, slug_clash_is_conflict():
        cursor.execute(INSERT_LOCATION, data.model_dump())
        cursor.execute(LOCATION_BY_ID, {"id": cursor.lastrowid})
        return to_api(cursor.fetchall()[0])


def update_location(location_id: int, data: LocationInput) -> dict[str, Any]:
    """Overwrite every writable column of a location and return it; 409 on a slug clash."""
    with get_cursor() as cursor, slug_clash_is_conflict():
        cursor.execute(UPDATE_LOCATION, {**data.model_dump(), "id": location_id})
        cursor.execute(LOCATION_BY_ID, {"id": location_id})
        return to_api(cursor.fetchall()[0])


def deactivate_location(location_id: int) -> None:
    """Hide a location from the public API; its events keep pointing at it."""
    execute(DEACTIVATE_LOCATION, {"id": location_id})
