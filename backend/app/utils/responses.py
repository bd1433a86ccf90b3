"""The one JSON envelope every API response uses.

Success: {"success": true, "data": ..., "meta": {...}}
Error:   {"success": false, "error": "message", "errors": {"field": ["message"]}}
"""

import math
from typing import Any

from flask import Response, jsonify

# The message of each error status, unless a caller has a more precise one.
MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Permission denied",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


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


def accepted(data: Any = None) -> Response:
    return success(data, status=202)


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


def bad_request(message: str = MESSAGES[400],
                errors: dict[str, list[str]] | None = None) -> Response:
    return error(message, 400, errors)


def unauthorized(message: str = MESSAGES[401]) -> Response:
    return error(message, 401, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def forbidden(message: str = MESSAGES[403]) -> Response:
    return error(message, 403)


def not_found(message: str = MESSAGES[404]) -> Response:
    return error(message, 404)


def conflict(message: str = MESSAGES[409], errors: dict[str, list[str]] | None = None) -> Response:
    return error(message, 409, errors)


def payload_too_large(message: str = MESSAGES[413]) -> Response:
    return error(message, 413)


def unprocessable(message: str = MESSAGES[422],
                  errors: dict[str, list[str]] | None = None) -> Response:
    return error(message, 422, errors)


def too_many_requests(message: str = MESSAGES[429],
                      retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error(message, 429, headers=headers)


def server_error(message: str = MESSAGES[500]) -> Response:
    return error(message, 500)


def service_unavailable(message: str = MESSAGES[503],
                        errors: dict[str, list[str]] | None = None, data: Any = None,
                        retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error(message, 503, errors, headers=headers, data=data)
