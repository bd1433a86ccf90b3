"""GET /api/v1/openapi.json: the route modules' own descriptions, merged into one document.

Each blueprint's module describes its routes (OPENAPI_PATHS, OPENAPI_SCHEMAS); the
document is assembled from the blueprints the app has registered, so a new route module
is described as soon as its blueprint is nested into the tree.
"""

import sys
from functools import cache
from types import ModuleType
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from app.utils.openapi import components, operation

bp = Blueprint("openapi", __name__)

TITLE = "The Dreamer's Cave API"
VERSION = "1"


@bp.get("/openapi.json")
def openapi_document():
    # The bare document, not the envelope: tools read it as it is.
    return jsonify(build_document(current_app._get_current_object()))


OPENAPI_PATHS = {
    "/api/v1/openapi.json": {
        "get": operation(
            "This description (OpenAPI 3.1), as a bare document without the envelope", "Meta",
            {"200": {"description": "The OpenAPI document",
                     "content": {"application/json": {"schema": {"type": "object"}}}}}),
    },
}


def _described_modules(app: Flask) -> list[ModuleType]:
    """The modules of the app's blueprints that describe routes, in registration order."""
    modules = [sys.modules[blueprint.import_name] for blueprint in app.blueprints.values()]
    return [module for module in modules if hasattr(module, "OPENAPI_PATHS")]


@cache
def build_document(app: Flask) -> dict[str, Any]:
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
    for module in _described_modules(app):
        for path, operations in module.OPENAPI_PATHS.items():
            if path in document["paths"]:
                raise RuntimeError(f"{path} is described twice (again in {module.__name__})")
            document["paths"][path] = operations
        document["components"]["schemas"].update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return document
