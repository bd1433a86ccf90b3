"""Health endpoints: liveness for the process, readiness for its dependencies."""

from flask import Blueprint

from app.services.readiness import check_readiness
from app.utils.openapi import data_response, operation
from app.utils.responses import service_unavailable, success

bp = Blueprint("health", __name__, url_prefix="/health")


@bp.get("")
def liveness():
    """Answer as long as the process serves requests; touches no dependency."""
    return success({"status": "ok"})


@bp.get("/ready")
def readiness():
    """Check MariaDB, Redis and a Celery worker; 503 naming what is down."""
    checks = check_readiness()
    failing = {name: [check["error"]] for name, check in checks.items() if not check["ok"]}
    if failing:
        return service_unavailable(f"Not ready: {', '.join(failing)} down", errors=failing,
                                   data={"status": "unavailable", "checks": checks})
    return success({"status": "ready", "checks": checks})


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
                        "every check in `data`."),
    },
}
