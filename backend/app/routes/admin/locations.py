"""Admin routes for locations: every location (inactive too) and writes; DELETE deactivates."""

from flask import Blueprint
from flask_login import current_user

from app.models.location import LocationInput
from app.services import audit, locations
from app.utils.auth import admin_required
from app.utils.errors import get_or_404
from app.utils.openapi import (
    NO_CONTENT,
    PAGE_PARAMETERS,
    body_schema,
    data_response,
    operation,
    page_response,
    ref,
    slug_parameter,
)
from app.utils.pagination import page_args
from app.utils.request_body import json_body
from app.utils.responses import created, no_content, paginated, success
from app.utils.validation import validate, validate_update

bp = Blueprint("admin_locations", __name__, url_prefix="/locations")


# What the audit trail records of a location: its writable fields.
AUDITED_FIELDS = tuple(LocationInput.model_fields)


def _location(slug: str) -> dict:
    return get_or_404(locations.get_location(slug, include_inactive=True), "location")


def _record(action: str, location_id: int, changes: dict) -> None:
    audit.record(current_user.id, f"location.{action}", "location", location_id, changes)


@bp.get("")
@admin_required
def list_locations():
    page, per_page = page_args()
    items, total = locations.list_locations(page, per_page, include_inactive=True)
    return paginated(items, page, per_page, total)


@bp.post("")
@admin_required
def create_location():
    data = validate(LocationInput, json_body())
    with audit.audited():
        location = locations.create_location(data)
        _record("create", location["id"], {name: location[name] for name in AUDITED_FIELDS})
    return created(location)


@bp.get("/<slug>")
@admin_required
def get_location(slug: str):
    return success(_location(slug))


@bp.put("/<slug>")
@admin_required
def replace_location(slug: str):
    return _update(slug, partial=False)


@bp.patch("/<slug>")
@admin_required
def patch_location(slug: str):
    return _update(slug, partial=True)


def _update(slug: str, partial: bool):
    location = _location(slug)
    data = validate_update(LocationInput, locations.as_input(location), json_body(), partial)
    with audit.audited():
        updated = locations.update_location(location["id"], data)
        _record("update", location["id"],
                audit.changed_fields(location, updated, AUDITED_FIELDS))
    return success(updated)


@bp.delete("/<slug>")
@admin_required
def deactivate_location(slug: str):
    location = _location(slug)
    with audit.audited():
        locations.deactivate_location(location["id"])
        _record("deactivate", location["id"], {"slug": location["slug"],
                                               "is_active": [location["is_active"], False]})
    return no_content()


_slug = [slug_parameter("The location's slug")]
_one = {"200": data_response("The location", ref("Location"))}
OPENAPI_PATHS = {
    "/api/v1/admin/locations": {
        "get": operation(
            "List every location, inactive ones too", "Admin: locations",
            {"200": page_response("Locations by sort_order", ref("Location"))}, role="admin",
            errors=(400,), parameters=PAGE_PARAMETERS),
        "post": operation(
            "Create a location", "Admin: locations",
            {"201": data_response("The new location", ref("Location"))}, role="admin",
            errors=(409,), body=body_schema(LocationInput)),
    },
    "/api/v1/admin/locations/{slug}": {
        "get": operation("Get any location", "Admin: locations", _one, role="admin",
                         errors=(404,), parameters=_slug),
        "put": operation("Replace a location", "Admin: locations", _one, role="admin",
                         description="Omitted optional fields take their defaults.",
                         errors=(404, 409), parameters=_slug, body=body_schema(LocationInput)),
        "patch": operation("Change some fields of a location", "Admin: locations", _one,
                           role="admin", description="`is_active: true` reactivates it.",
                           errors=(404, 409), parameters=_slug,
                           body=body_schema(LocationInput, partial=True)),
        "delete": operation("Deactivate a location", "Admin: locations", {"204": NO_CONTENT},
                            role="admin",
                            description="Hides it from the public API; its events stay. "
                                        "Idempotent.",
                            errors=(404,), parameters=_slug),
    },
}
