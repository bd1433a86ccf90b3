"""Events: the public programme and the staff's writes, each event with its location.

Like every service, it finds an event by the key in the URL (its slug), changes it by id,
and returns the API's form of an event, a plain dict.
"""

from datetime import datetime
from typing import Any

from app.models.event import EventInput
from app.models.fields import as_written, is_slug, iso_utc
from app.services.queries import fetch_page, slug_clash_is_conflict
from app.utils.db import execute, fetch_one, get_cursor
from app.utils.validation import ConflictError

# The location's columns an event carries, read as `location_<column>` in the join.
LOCATION_FIELDS = ("id", "slug", "name", "capacity", "mood_category", "theme_primary",
                   "theme_secondary", "theme_accent", "is_active")

# An event with its location: the select list and join every event query starts from.
SELECT_EVENTS = """
SELECT e.id, e.slug, e.title, e.description, e.event_type, e.starts_at, e.ends_at,
       e.is_published, e.created_by, e.created_at, e.updated_at,
       """ + ",\n       ".join(f"l.{name} AS location_{name}" for name in LOCATION_FIELDS) + """
FROM events e
JOIN locations l ON l.id = e.location_id"""

# Every filter is a parameter that is NULL when unused, so each query is one fixed text.
FILTERS = """
WHERE (e.is_published OR NOT %(published_only)s)
  AND (%(location)s IS NULL OR l.slug = %(location)s)
  AND (%(ends_from)s IS NULL OR e.ends_at >= %(ends_from)s)
  AND (%(starts_before)s IS NULL OR e.starts_at < %(starts_before)s)"""

LIST_EVENTS = SELECT_EVENTS + FILTERS + """
ORDER BY e.starts_at, e.id
LIMIT %(limit)s OFFSET %(offset)s"""

COUNT_EVENTS = """
SELECT COUNT(*) AS total
FROM events e
JOIN locations l ON l.id = e.location_id""" + FILTERS

EVENT_BY_SLUG = SELECT_EVENTS + """
WHERE e.slug = %(slug)s"""

EVENT_BY_ID = SELECT_EVENTS + """
WHERE e.id = %(id)s"""

# The location an event may be placed at: an active one, or the one it is at already.
LOCATION_FOR_EVENT = """
SELECT id, is_active OR id = (SELECT location_id FROM events WHERE id = %(event_id)s) AS usable
FROM locations
WHERE slug = %(slug)s"""

INSERT_EVENT = """
INSERT INTO events (slug, title, description, event_type, location_id, starts_at, ends_at,
                    created_by)
VALUES (%(slug)s, %(title)s, %(description)s, %(event_type)s, %(location_id)s,
        %(starts_at)s, %(ends_at)s, %(created_by)s)"""

UPDATE_EVENT = """
UPDATE events
SET slug = %(slug)s, title = %(title)s, description = %(description)s,
    event_type = %(event_type)s, location_id = %(location_id)s,
    starts_at = %(starts_at)s, ends_at = %(ends_at)s
WHERE id = %(id)s"""

SET_PUBLISHED = "UPDATE events SET is_published = %(published)s WHERE id = %(id)s"
DELETE_EVENT = "DELETE FROM events WHERE id = %(id)s"


def to_api(row: dict[str, Any]) -> dict[str, Any]:
    """The API's form of an events row joined with its location's columns."""
    location = {name: row[f"location_{name}"] for name in LOCATION_FIELDS}
    location["is_active"] = bool(location["is_active"])
    return {
        "id": row["id"],
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "event_type": row["event_type"],
        "starts_at": iso_utc(row["starts_at"]),
        "ends_at": iso_utc(row["ends_at"]),
        "is_published": bool(row["is_published"]),
        "created_by": row["created_by"],
        "created_at": iso_utc(row["created_at"]),
        "updated_at": iso_utc(row["updated_at"]),
        "location": location,
    }


def as_input(event: dict[str, Any]) -> dict[str, Any]:
    """The EventInput fields of an event (API form), for merging a PATCH into."""
    fields = {name: event[name] for name in EventInput.model_fields if name != "location"}
    return {**fields, "location": event["location"]["slug"],
            "starts_at": as_written(event["starts_at"]), "ends_at": as_written(event["ends_at"])}


def list_events(page: int, per_page: int, *, published_only: bool, location: str | None = None,
                ends_from: datetime | None = None,
                starts_before: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of events by start time: those at `location` overlapping the time window."""
    params = {"published_only": published_only, "location": location,
              "ends_from": ends_from, "starts_before": starts_before}
    rows, total = fetch_page(LIST_EVENTS, COUNT_EVENTS, params, page, per_page)
    return [to_api(row) for row in rows], total


def get_event(slug: str, *, published_only: bool = True) -> dict[str, Any] | None:
    if not is_slug(slug):
        return None
    row = fetch_one(EVENT_BY_SLUG, {"slug": slug})
    if row is None or (published_only and not row["is_published"]):
        return None
    return to_api(row)


def create_event(data: EventInput, created_by: int) -> dict[str, Any]:
    """Insert an unpublished event and return it; 409 for an unknown location or a clash."""
    with get_cursor() as cursor, slug_clash_is_conflict():
        location_id = _location_id(cursor, data.location)
        cursor.execute(INSERT_EVENT, {**data.model_dump(), "location_id": location_id,
                                      "created_by": created_by})
        return _read(cursor, cursor.lastrowid)


def update_event(event_id: int, data: EventInput) -> dict[str, Any]:
    """Overwrite the event's writable fields with `data` and return it."""
    with get_cursor() as cursor, slug_clash_is_conflict():
        # An event may stay at a location that has closed since; it may not move to one.
        location_id = _location_id(cursor, data.location, event_id)
        cursor.execute(UPDATE_EVENT, {**data.model_dump(), "location_id": location_id,
                                      "id": event_id})
        return _read(cursor, event_id)


def set_published(event_id: int, published: bool) -> dict[str, Any]:
    """Publish or unpublish the event (repeating either is harmless) and return it."""
    with get_cursor() as cursor:
        cursor.execute(SET_PUBLISHED, {"published": published, "id": event_id})
        return _read(cursor, event_id)


def delete_event(event_id: int) -> None:
    execute(DELETE_EVENT, {"id": event_id})


def _read(cursor: Any, event_id: int) -> dict[str, Any]:
    cursor.execute(EVENT_BY_ID, {"id": event_id})
    return to_api(cursor.fetchall()[0])


def _location_id(cursor: Any, slug: str, event_id: int | None = None) -> int:
    """The id of the location `slug`, active or event `event_id`'s own; 409 otherwise.

    A 409, not a 422: the body is valid as the description states it; what refuses it is
    the stored state, as with a taken slug.
    """
    cursor.execute(LOCATION_FOR_EVENT, {"slug": slug, "event_id": event_id})
    rows = cursor.fetchall()
    if not rows or not rows[0]["usable"]:
        raise ConflictError(errors={"location": ["Unknown or inactive location"]})
    return rows[0]["id"]
