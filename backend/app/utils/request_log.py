"""JSON log lines, one per request, tagged with a request id (and the member's id when
the request carried a valid token).

The id comes from the client's (or nginx's) X-Request-ID when it looks like an id,
otherwise a new one is made; it is returned in the response and set on every log line
written while the request runs, so a traceback can be found from a client's report.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

REQUEST_ID_HEADER = "X-Request-ID"
# Only plain ids are echoed back and logged: nothing that could forge a log line or header.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_log = logging.getLogger("tdc.request")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(app: Flask) -> None:
    """Send the app's logs as JSON lines to stderr (journald under systemd)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("tdc", "app", app.logger.name):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(app.config["LOG_LEVEL"])
        logger.propagate = False


def init_request_logging(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)


def _start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def _finish_request(response: Response) -> Response:
    # A request rejected before before_request ran (e.g. routing) still gets an id.
    if "request_id" not in g:
        _start_request()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    duration_ms = (time.perf_counter() - g.request_started) * 1000
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(duration_ms, 2),
        "remote_addr": request.remote_addr,
        "request_id": g.request_id,
    }
    # Set when the request's token was checked and stood for a member (app.utils.auth).
    if "authenticated_user_id" in g:
        fields["user_id"] = g.authenticated_user_id
    request_log.info("request", extra={"fields": fields})
    return response
