"""Periodic housekeeping, scheduled by `celery -A app.tasks beat`."""

from app.services.tokens import purge_and_restore_revocations
from app.tasks import celery


@celery.task(name="tdc.purge_expired")
def purge_expired() -> dict[str, int]:
    """Drop expired token revocations and re-arm live ones in Redis."""
    return purge_and_restore_revocations()
