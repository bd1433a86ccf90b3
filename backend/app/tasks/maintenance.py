"""Periodic housekeeping, scheduled by `celery -A app.tasks beat`."""

from app.services import account_tokens
from app.services.tokens import purge_and_restore_revocations
from app.tasks import celery


@celery.task(name="tdc.purge_expired")
def purge_expired() -> dict[str, int]:
    """Drop expired token revocations and re-arm live ones in Redis."""
    return purge_and_restore_revocations()


@celery.task(name="tdc.purge_account_tokens")
def purge_account_tokens() -> dict[str, int]:
    """Delete the link tokens spent or expired longer ago than the retention."""
    return {"purged": account_tokens.purge_old()}
