"""The Celery app: `celery -A app.tasks worker` (and `beat`) from backend/.

Redis is broker and result store. Every task runs inside a Flask app context, so tasks
use the same db helpers and config as the API. Importing this module configures nothing:
the factory calls init_celery, which binds its Flask app and hands Celery its settings.
A worker, beat or `celery call` has no Flask app yet when Celery first reads its settings
(Celery's `on_configure`): then, and only then, it makes one with the factory, as wsgi.py
does for gunicorn. Every client in it connects lazily, so a prefork worker's children
share no database or Redis connection.
"""

from typing import Any

from celery import Celery, Task
from flask import Flask

# Connects the task outcome counters (a Celery signal).
from app.utils import metrics  # noqa: F401
from app.utils.redis_tls import redis_tls_options

TASK_MODULES = ["app.tasks.health", "app.tasks.email", "app.tasks.account_mail",
                "app.tasks.maintenance"]

# Periodic tasks run by beat.
BEAT_SCHEDULE = {
    "purge-expired": {"task": "tdc.purge_expired", "schedule": 15 * 60},
    "purge-account-tokens": {"task": "tdc.purge_account_tokens", "schedule": 24 * 60 * 60},
}


class FlaskTask(Task):
    """A task whose body runs inside the Flask app's context."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with flask_app().app_context():
            return self.run(*args, **kwargs)


celery = Celery("tdc", task_cls=FlaskTask, include=TASK_MODULES)
_bound: dict[str, Flask] = {}


def celery_settings(config: Any) -> dict[str, Any]:
    """Celery settings derived from the Flask config (a mapping or a config object)."""
    get = config.get if hasattr(config, "get") else lambda key: getattr(config, key)
    return {
        "broker_url": get("CELERY_BROKER_URL"),
        "result_backend": get("CELERY_RESULT_BACKEND"),
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        # A task is acknowledged when it finished: a crash or kill -9 mid-task leaves it
        # queued for another worker instead of lost.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": 120,
        "task_time_limit": 180,
        "task_ignore_result": True,
        "result_expires": 3600,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": 3600},
        "worker_hijack_root_logger": False,
        "beat_schedule": BEAT_SCHEDULE,
        # rediss:// URLs: the server's certificate and name verified (kombu, unlike
        # redis-py, does not read this from the broker's URL).
        "broker_use_ssl": redis_tls_options(get("CELERY_BROKER_URL")),
        "redis_backend_use_ssl": redis_tls_options(get("CELERY_RESULT_BACKEND")),
    }


def init_celery(app: Flask) -> Celery:
    """Configure the Celery app from `app` and run tasks in its context."""
    celery.conf.update(celery_settings(app.config))
    _bound["app"] = app
    app.extensions["celery"] = celery
    return celery


def flask_app() -> Flask:
    """The Flask app tasks run in (bound by init_celery)."""
    return _bound["app"]


@celery.on_configure.connect
def _make_flask_app(sender: Celery, **_kwargs: Any) -> None:
    # A process started by the celery command: its Flask app is made the way gunicorn's
    # is. create_app calls init_celery, whose settings Celery applies once this returns.
    if "app" not in _bound:
        from app import create_app

        create_app()
