"""Staff routes for events: every event (drafts too), writes, publishing."""

from flask import Blueprint, request
from flask_login import current_user

from app.models.event import FILTER_PARAMETERS, EventFilters, EventInput
from app.services import audit, events
from app.utils.auth import staff_required
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

bp = Blueprint("admin_events", __name__, url_prefix="/events")


# What the audit trail records of an event: its writable fields, the location by slug.
AUDITED_FIELDS = ("slug", "title", "description", "event_type", "location", "starts_at",
                  "ends_at", "is_published")


def _event(slug: str) -> dict:
    return get_or_404(events.get_event(slug, published_only=False), "event")


def _audited_view(event: dict) -> dict:
    return {name: event["location"]["slug"] if name == "location" else event[name]
            for name in AUDITED_FIELDS}


def _record(action: str, event_id: int, changes: dict) -> None:
    audit.record(current_user.id, f"event.{action}", "event", event_id, changes)


@bp.get("")
@staff_required
def list_events():
    page, per_page = page_args()
    filters = EventFilters.from_query(request.args)
    items, total = events.list_events(
        page, per_page, published_only=False, location=filters.location,
        ends_from=filters.ends_from, starts_before=filters.starts_before)
    return paginated(items, page, per_page, total)


@bp.post("")
@staff_required
def create_event():
    data = validate(EventInput, json_body())
    with audit.audited():
        event = events.create_event(data, created_by=current_user.id)
        _record("create", event["id"], _audited_view(event))
    return created(event)


@bp.get("/<slug>")
@staff_required
def get_event(slug: str):
    return success(_event(slug))


@bp.put("/<slug>")
@staff_required
def replace_event(slug: str):
    return _update(slug, partial=False)


@bp.patch("/<slug>")
@staff_required
def patch_event(slug: str):
    return _update(slug, partial=True)


def _update(slug: str, partial: bool):
    event = _event(slug)
    data = validate_update(EventInput, events.as_input(event), json_body(), partial)
    with audit.audited():
        updated = events.update_event(event["id"], data)
        _record("update", event["id"], audit.changed_fields(
            _audited_view(event), _audited_view(updated), AUDITED_FIELDS))
    return success(updated)


@bp.post("/<slug>/publish")
@staff_required
def publish_event(slug: str):
    return _set_published(slug, True)


@bp.post("/<slug>/unpublish")
@staff_required
def unpublish_event(slug: str):
    return _set_published(slug, False)


def _set_published(slug: str, published: bool):
    event = _event(slug)
    with audit.audited():
        updated = events.set_published(event["id"], published)
        _record("publish" if published else "unpublish", event["id"], audit.changed_fields(
            event, updated, ("is_published",)))
    return success(updated)


@bp.delete("/<slug>")
@staff_required
def delete_event(slug: str):
    event = _event(slug)
    with audit.audited():
        events.delete_event(event["id"])
        _record("delete", event["id"], {"slug": event["slug"], "title": event["title"]})
    return no_content()


_slug = [slug_parameter("The event's slug")]
_CLASH = ("409 for a slug another event has, or a location that does not exist or is "
          "inactive (an event may stay at its own location once that closes).")
_one = {"200": data_response("The event", ref("Event"))}
OPENAPI_PATHS = {
    "/api/v1/admin/events": {
        "get": operation(
            "List every event, drafts included", "Admin: events",
            {"200": page_response("Events by start time", ref("Event"))}, role="staff",
            description="Filters as on the public list, but no default time window.",
            errors=(400,), parameters=PAGE_PARAMETERS + FILTER_PARAMETERS),
        "post": operation(
            "Create an event (unpublished)", "Admin: events",
            {"201": data_response("The new event", ref("Event"))}, role="staff",
            description="`created_by` is the caller. Publish it with .../publish. " + _CLASH,
            errors=(409,), body=body_schema(EventInput)),
    },
    "/api/v1/admin/events/{slug}": {
        "get": operation("Get any event", "Admin: events", _one, role="staff",
                         errors=(404,), parameters=_slug),
        "put": operation("Replace an event", "Admin: events", _one, role="staff",
                         description="Omitted optional fields become null. " + _CLASH,
                         errors=(404, 409), parameters=_slug, body=body_schema(EventInput)),
        "patch": operation("Change some fields of an event", "Admin: events", _one,
                           role="staff", description=_CLASH, errors=(404, 409),
                           parameters=_slug,
                           body=body_schema(EventInput, partial=True)),
        "delete": operation("Delete an event", "Admin: events", {"204": NO_CONTENT},
                            role="staff", errors=(404,), parameters=_slug),
    },
    "/api/v1/admin/events/{slug}/publish": {
        "post": operation("Publish an event", "Admin: events", _one, role="staff",
                          description="Idempotent.", errors=(404,), parameters=_slug),
    },
    "/api/v1/admin/events/{slug}/unpublish": {
        "post": operation("Unpublish an event", "Admin: events", _one, role="staff",
                          description="Idempotent.", errors=(404,), parameters=_slug),
    },
}
