"""Public location routes: the active locations, in the club's own order."""

from flask import Blueprint

from app.models.location import LocationInput
from app.services import locations
from app.utils.errors import get_or_404
from app.utils.openapi import (
    PAGE_PARAMETERS,
    data_response,
    operation,
    page_response,
    ref,
    slug_parameter,
)
from app.utils.pagination import page_args
from app.utils.responses import paginated, success

bp = Blueprint("locations", __name__, url_prefix="/locations")


@bp.get("")
def list_locations():
    page, per_page = page_args()
    items, total = locations.list_locations(page, per_page)
    return paginated(items, page, per_page, total)


@bp.get("/<slug>")
def get_location(slug: str):
    return success(get_or_404(locations.get_location(slug), "location"))


_writable = LocationInput.model_json_schema()["properties"]
OPENAPI_SCHEMAS = {
    "Location": {
        "type": "object",
        "description": "A location of the club, where its events take place.",
        "required": ["id", *_writable, "created_at", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            **_writable,
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
}

OPENAPI_PATHS = {
    "/api/v1/locations": {
        "get": operation(
            "List the active locations", "Locations",
            {"200": page_response("Active locations by sort_order", ref("Location"))},
            errors=(400,), parameters=PAGE_PARAMETERS),
    },
    "/api/v1/locations/{slug}": {
        "get": operation(
            "Get an active location", "Locations",
            {"200": data_response("The location", ref("Location"))},
            errors=(404,), parameters=[slug_parameter("The location's slug")]),
    },
}
