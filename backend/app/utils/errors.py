"""Error handlers: every error leaves as the JSON envelope, never an HTML page."""

import logging
from typing import TypeVar

from flask import Flask, current_app, g
from mysql.connector.errors import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, NotFound

from app.utils import responses
from app.utils.db import DatabaseUnavailable
from app.utils.validation import ValidationFailed

log = logging.getLogger("tdc.errors")

T = TypeVar("T")


def get_or_404(found: T | None, what: str) -> T:
    """`found` (what a service's lookup returned), or a 404 saying "No such `what`"."""
    if found is None:
        raise NotFound(f"No such {what}")
    return found

def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ValidationFailed, handle_validation_failed)
    app.register_error_handler(DatabaseUnavailable, handle_database_unavailable)
    # Lost connections mid-query (database restarted or gone) are an outage, not a bug.
    app.register_error_handler(InterfaceError, handle_database_unavailable)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    # Token revocation is checked in Redis: without it, fail closed with 503.
    app.register_error_handler(RedisConnectionError, handle_database_unavailable)
    app.register_error_handler(RedisTimeoutError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_exception)


def _message(exc: HTTPException) -> str:
    generic = responses.MESSAGES.get(exc.code or 500, exc.name)
    # Werkzeug's default descriptions are long HTML-era sentences: prefer the short name,
    # but keep a description that a view set on purpose (abort(400, "...")).
    default = type(exc).description
    if exc.description and exc.description != default and (exc.code or 500) < 500:
        return exc.description
    return generic


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    headers = {}
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    errors = getattr(exc, "errors", None)
    return responses.error(_message(exc), status, errors, headers=headers or None)


def handle_validation_failed(exc: ValidationFailed):
    return responses.error(exc.message, exc.status, exc.errors)


def handle_database_unavailable(exc: Exception):
    log.warning("dependency unavailable: %s", exc)
    return responses.service_unavailable("Service temporarily unavailable", retry_after=1)


def handle_exception(exc: Exception):
    # Anything unexpected: the traceback goes to the log with the request id, never to
    # the client.
    log.exception("unhandled exception", extra={"fields": {"request_id": g.get("request_id")}})
    if current_app.debug:
        return responses.server_error(f"{type(exc).__name__}: {exc}")
    return responses.server_error()
