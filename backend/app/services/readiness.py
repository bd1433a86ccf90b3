"""Readiness checks of the API's dependencies, each timed, at most one run per few seconds.

What the checks report publicly names the dependency and never its driver's message
(socket paths, user names); the driver's message is kept in `details` for the log.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import TimeoutError as ResultTimeout
from flask import Flask, current_app

from app.services.mail import failed_count
from app.utils.db import fetch_all
from app.utils.migrate import discover
from app.utils.redis_client import get_redis

CELERY_PING_TIMEOUT = 3.0
PING_TASK = "tdc.ping"  # app.tasks.health.ping
UNAVAILABLE = "unavailable"


class NotReady(Exception):
    """A failure whose message is ours and safe to show (no driver text in it)."""


@dataclass(frozen=True)
class Readiness:
    """The checks as the API shows them, and the driver's message of each failing one."""

    checks: dict[str, dict[str, Any]]
    details: dict[str, str] = field(default_factory=dict)
    # Mails that finally failed (app.tasks.email), or None while the database is down.
    mail_failed: int | None = None
    checked_at: float = field(default_factory=time.monotonic)

    @property
    def failing(self) -> dict[str, str]:
        return {name: check["error"] for name, check in self.checks.items() if not check["ok"]}


def _timed(check: Callable[[], None]) -> tuple[dict[str, Any], str | None]:
    """Run `check`: its public result, and the driver's message when it failed."""
    started = time.perf_counter()
    detail = None
    try:
        check()
    except NotReady as exc:
        result: dict[str, Any] = {"ok": False, "error": str(exc)}
    except Exception as exc:  # any failure of a dependency means "not ready"
        result = {"ok": False, "error": UNAVAILABLE}
        detail = f"{type(exc).__name__}: {exc}"
    else:
        result = {"ok": True}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result, detail


def _check_database() -> None:
    # Reachable, and its schema is this release's: every migration on disk applied as it
    # is (a restore or a deploy that did not migrate leaves it behind). A database ahead
    # of the release (after a rollback) is the rollback's to refuse, not readiness's.
    applied = {row["version"]: row["checksum"]
               for row in fetch_all("SELECT version, checksum FROM schema_migrations")}
    pending = [m.name for m in discover() if m.version not in applied]
    edited = [m.name for m in discover() if applied.get(m.version, m.checksum) != m.checksum]
    if pending or edited:
        raise NotReady("schema is not this release's: "
                       + "; ".join(filter(None, [pending and f"pending {', '.join(pending)}",
                                                 edited and f"edited {', '.join(edited)}"])))


def _check_redis() -> None:
    get_redis().ping()


def _check_celery() -> None:
    # Sent by name through the app's Celery: a service imports no task module.
    celery = current_app.extensions["celery"]
    result = celery.send_task(PING_TASK, expires=CELERY_PING_TIMEOUT, retry=False)
    try:
        if result.get(timeout=CELERY_PING_TIMEOUT) != "pong":
            raise NotReady("unexpected answer from the ping task")
    except ResultTimeout:
        raise NotReady(f"no worker answered within {CELERY_PING_TIMEOUT:g} s") from None
    finally:
        result.forget()


def _run_checks() -> Readiness:
    checks, details = {}, {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        checks[name], details[name] = _timed(check)
    if checks["redis"]["ok"]:
        checks["celery"], details["celery"] = _timed(_check_celery)
    else:
        # The worker is reached through Redis: with Redis down it cannot answer.
        checks["celery"] = {"ok": False, "error": "broker (redis) unavailable", "latency_ms": 0.0}
    return Readiness(checks, {name: text for name, text in details.items() if text},
                     mail_failed=_mail_failed() if checks["database"]["ok"] else None)


def _mail_failed() -> int | None:
    # Reported, never a reason to be unready: the site serves while mail fails.
    try:
        return failed_count()
    except Exception:  # the database went away since its check: no count this time
        return None


class _ReadinessCache:
    """The last result of one app in this process; the lock lets one request run the
    checks while concurrent ones wait for its result instead of repeating them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: Readiness | None = None


def _cache(app: Flask) -> _ReadinessCache:
    return app.extensions.setdefault("tdc_readiness", _ReadinessCache())


def check_readiness() -> Readiness:
    """The dependencies' state, reused for READINESS_CACHE_SECONDS (0: checked every time).

    The checks cost a query, a ping and a Celery round trip of up to 3 s, so a public
    endpoint must not run them per request. Safe for the deploy's check after a release:
    the new release's workers are new processes with an empty cache, and the deploy polls
    (2 s apart) until it gets 200, so a stale answer costs it at most one more try.
    """
    max_age = current_app.config["READINESS_CACHE_SECONDS"]
    if max_age <= 0:
        return _run_checks()
    cache = _cache(current_app)
    with cache.lock:
        if cache.last is None or time.monotonic() - cache.last.checked_at >= max_age:
            cache.last = _run_checks()
        return cache.last
