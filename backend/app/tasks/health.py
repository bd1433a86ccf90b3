"""Tasks that prove the worker is alive."""

from app.tasks import celery


@celery.task(name="tdc.ping", ignore_result=False, acks_late=False)
def ping() -> str:
    """Answer the readiness check."""
    return "pong"
