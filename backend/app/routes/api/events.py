"""Public event routes: the published programme, upcoming first."""

from datetime import UTC, datetime

from flask import Blueprint, request

from app.models.event import EVENT_TYPES, FILTER_PARAMETERS, EventFilters
from app.services import events
from app.utils.errors import get_or_404
from app.utils.openapi import (
    PAGE_PARAMETERS,
    TIMESTAMP,
    data_response,
    operation,
    page_response,
    ref,
    slug_parameter,
)
from app.utils.pagination import page_args
from app.utils.responses import paginated, success

bp = Blueprint("events", __name__, url_prefix="/events")


@bp.get("")
def list_events():
    page, per_page = page_args()
    filters = EventFilters.from_query(request.args)
    # Without `from`, the programme starts now: events still running, then upcoming ones.
    ends_from = filters.ends_from or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    items, total = events.list_events(
        page, per_page, published_only=True, location=filters.location, ends_from=ends_from,
        starts_before=filters.starts_before)
    return paginated(items, page, per_page, total)


@bp.get("/<slug>")
def get_event(slug: str):
    return success(get_or_404(events.get_event(slug), "event"))


OPENAPI_SCHEMAS = {
    "LocationSummary": {
        "type": "object",
        "description": "The location of an event.",
        "required": ["id", "slug", "name", "is_active"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "capacity": {"type": ["integer", "null"]},
            "mood_category": {"type": ["string", "null"]},
            "theme_primary": {"type": ["string", "null"]},
            "theme_secondary": {"type": ["string", "null"]},
            "theme_accent": {"type": ["string", "null"]},
            "is_active": {"type": "boolean"},
        },
    },
    "Event": {
        "type": "object",
        "description": "An event at one of the locations.",
        "required": ["id", "slug", "title", "description", "event_type", "starts_at",
                     "ends_at", "is_published", "created_by", "created_at", "updated_at",
                     "location"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "event_type": {"type": "string", "enum": list(EVENT_TYPES)},
            "starts_at": TIMESTAMP,
            "ends_at": TIMESTAMP,
            "is_published": {"type": "boolean"},
            "created_by": {"type": ["integer", "null"],
                           "description": "The staff member's user id (null once deleted)"},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "location": ref("LocationSummary"),
        },
    },
}

OPENAPI_PATHS = {
    "/api/v1/events": {
        "get": operation(
            "List the published events", "Events",
            {"200": page_response("Published events by start time", ref("Event"))},
            description="Without `from`, only events that have not ended yet.",
            errors=(400,), parameters=PAGE_PARAMETERS + FILTER_PARAMETERS),
    },
    "/api/v1/events/{slug}": {
        "get": operation(
            "Get a published event with its location", "Events",
            {"200": data_response("The event", ref("Event"))},
            errors=(404,), parameters=[slug_parameter("The event's slug")]),
    },
}
