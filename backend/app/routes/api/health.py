"""Health endpoints: liveness for the process, readiness for its dependencies."""

import logging

from flask import Blueprint, g

from app.services.readiness import check_readiness
from app.utils.openapi import data_response, operation
from app.utils.responses import service_unavailable, success

bp = Blueprint("health", __name__, url_prefix="/health")
log = logging.getLogger("tdc.health")


@bp.get("")
def liveness():
    """Answer as long as the process serves requests; touches no dependency."""
    return success({"status": "ok"})


@bp.get("/ready")
def readiness():
    """Check MariaDB, Redis and a Celery worker; 503 naming what is down."""
    result = check_readiness()
    failing = result.failing
    if failing:
        # The drivers' messages go to the log only: they name sockets, hosts and users.
        log.warning("not ready: %s down", ", ".join(failing),
                    extra={"fields": {"request_id": g.get("request_id"),
                                      "details": result.details}})
        return service_unavailable(f"Not ready: {', '.join(failing)} down",
                                   errors={name: [text] for name, text in failing.items()},
                                   data={"status": "unavailable", "checks": result.checks,
                                         "mail": {"failed": result.mail_failed}})
    return success({"status": "ready", "checks": result.checks,
                    "mail": {"failed": result.mail_failed}})


OPENAPI_PATHS = {
    "/api/v1/health": {
        "get": operation(
            "Liveness: the process serves requests", "Health",
            {"200": data_response("Alive", {"type": "object",
                                            "properties": {"status": {"const": "ok"}}})}),
    },
    "/api/v1/health/ready": {
        "get": operation(
            "Readiness: MariaDB, Redis and a Celery worker answer", "Health",
            {"200": data_response("Ready; each check with its latency", {"type": "object"})},
            description="503 names the dependencies that are down (`errors`) and carries "
                        "every check in `data`; the causes are logged, never shown. "
                        "`mail.failed` counts the mails that finally failed (null while the "
                        "database is down); it never makes the site unready. Each "
                        "process reuses a result for `READINESS_CACHE_SECONDS` (2)."),
    },
}
