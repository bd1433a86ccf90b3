"""GET /api/v1/openapi.json: the route modules' own descriptions, merged into one document."""

from functools import cache
from types import ModuleType
from typing import Any

from flask import Blueprint, jsonify

from app.utils.openapi import components, operation

bp = Blueprint("openapi", __name__)

TITLE = "The Dreamer's Cave API"
VERSION = "1"


@bp.get("/openapi.json")
def openapi_document():
    # The bare document, not the envelope: tools read it as it is.
    return jsonify(build_document())


OPENAPI_PATHS = {
    "/api/v1/openapi.json": {
        "get": operation(
            "This description (OpenAPI 3.1), as a bare document without the envelope", "Meta",
            {"200": {"description": "The OpenAPI document",
                     "content": {"application/json": {"schema": {"type": "object"}}}}}),
    },
}


def _described_modules() -> list[ModuleType]:
    # Imported here: the route modules import the blueprint tree this module is part of.
    from app.routes.admin import events as admin_events
    from app.routes.admin import locations as admin_locations
    from app.routes.api import auth_openapi, events, health, locations, openapi

    return [health, auth_openapi, locations, events, admin_events, admin_locations, openapi]


@cache
def build_document() -> dict[str, Any]:
    """Merge every module's OPENAPI_PATHS and OPENAPI_SCHEMAS; a path described twice fails."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "The club's locations, events and members. Every JSON answer is an "
                           "envelope: `{success, data, meta?}` or `{success: false, error, "
                           "errors?}`. Times are ISO 8601: sent with a time zone, returned "
                           "in UTC.",
        },
        "servers": [{"url": "/"}],
        "paths": {},
        "components": components(),
    }
    for module in _described_modules():
        for path, operations in module.OPENAPI_PATHS.items():
            if path in document["paths"]:
                raise RuntimeError(f"{path} is described twice (again in {module.__name__})")
            document["paths"][path] = operations
        document["components"]["schemas"].update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return document
