"""The one JSON envelope every API response uses.

Success: {"success": true, "data": ..., "meta": {...}}
Error:   {"success": false, "error": "message", "errors": {"field": ["message"]}}
"""

import math
from typing import Any

from flask import Response, jsonify


def _envelope(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def success(data: Any = None, status: int = 200, meta: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if meta:
        body["meta"] = meta
    return _envelope(body, status)


def created(data: Any = None) -> Response:
    return success(data, status=201)


def no_content() -> Response:
    return Response(status=204)


def paginated(items: list[Any], page: int, per_page: int, total: int) -> Response:
    pages = math.ceil(total / per_page) if per_page else 0
    pagination = {"page": page, "per_page": per_page, "total": total, "pages": pages}
    return success(items, meta={"pagination": pagination})


def error(message: str, status: int, errors: dict[str, list[str]] | None = None,
          headers: dict[str, str] | None = None, data: Any = None) -> Response:
    body: dict[str, Any] = {"success": False, "error": message}
    if errors:
        body["errors"] = errors
    if data is not None:
        body["data"] = data
    return _envelope(body, status, headers)


def bad_request(message: str = "Bad request",
                errors: dict[str, list[str]] | None = None) -> Response:
    return error(message, 400, errors)


def unauthorized(message: str = "Authentication required") -> Response:
    return error(message, 401, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def forbidden(message: str = "Permission denied") -> Response:
    return error(message, 403)


def not_found(message: str = "Resource not found") -> Response:
    return error(message, 404)


def conflict(message: str = "Conflict", errors: dict[str, list[str]] | None = None) -> Response:
    return error(message, 409, errors)


def payload_too_large(message: str = "Request body too large") -> Response:
    return error(message, 413)


def unprocessable(message: str = "Validation failed",
                  errors: dict[str, list[str]] | None = None) -> Response:
    return error(message, 422, errors)


def too_many_requests(message: str = "Too many requests",
                      retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error(message, 429, headers=headers)


def server_error(message: str = "Internal server error") -> Response:
    return error(message, 500)


def service_unavailable(message: str = "Service unavailable",
                        errors: dict[str, list[str]] | None = None, data: Any = None,
                        retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error(message, 503, errors, headers=headers, data=data)
