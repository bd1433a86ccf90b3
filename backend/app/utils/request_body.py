"""JSON request bodies: one check for every write, one accessor for views."""

from typing import Any

from flask import g, request
from werkzeug.exceptions import BadRequest

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def check_json_body() -> None:
    """Refuse a write whose body is not a JSON object (400), before any view runs.

    An empty body is allowed (e.g. logout); views that need data call json_body().
    """
    # An unknown route or method answers 404/405 whatever the body holds.
    if request.method not in WRITE_METHODS or request.routing_exception is not None:
        return
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw:
        g.json_body = None
        return
    if not request.is_json:
        raise BadRequest("Content-Type must be application/json")
    # Every body the app's StrictJSONProvider refuses raises ValueError: silent gives None.
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("Request body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    g.json_body = body


def json_body() -> dict[str, Any]:
    """Return the validated JSON object of this write request (400 when there is none)."""
    body = g.get("json_body")
    if body is None:
        raise BadRequest("Request body must be a JSON object")
    return body
