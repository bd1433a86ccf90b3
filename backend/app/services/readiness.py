"""Readiness checks of the API's dependencies, each timed."""

import time
from collections.abc import Callable
from typing import Any

from celery.exceptions import TimeoutError as ResultTimeout
from flask import current_app

from app.utils.db import fetch_one
from app.utils.redis_client import get_redis

CELERY_PING_TIMEOUT = 3.0
PING_TASK = "tdc.ping"  # app.tasks.health.ping


def _timed(check: Callable[[], None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure of a dependency means "not ready", reported
        result: dict[str, Any] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    else:
        result = {"ok": True}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _check_database() -> None:
    fetch_one("SELECT 1 AS ok")


def _check_redis() -> None:
    get_redis().ping()


def _check_celery() -> None:
    # Sent by name through the app's Celery: a service imports no task module.
    celery = current_app.extensions["celery"]
    result = celery.send_task(PING_TASK, expires=CELERY_PING_TIMEOUT, retry=False)
    try:
        if result.get(timeout=CELERY_PING_TIMEOUT) != "pong":
            raise RuntimeError("unexpected answer from the ping task")
    except ResultTimeout:
        raise TimeoutError(f"no worker answered within {CELERY_PING_TIMEOUT:g} s") from None
    finally:
        result.forget()


def check_readiness() -> dict[str, dict[str, Any]]:
    checks = {"database": _timed(_check_database), "redis": _timed(_check_redis)}
    if checks["redis"]["ok"]:
        checks["celery"] = _timed(_check_celery)
    else:
        # The worker is reached through Redis: with Redis down it cannot answer.
        checks["celery"] = {"ok": False, "error": "broker (redis) unavailable", "latency_ms": 0.0}
    return checks
