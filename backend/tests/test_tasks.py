"""Celery on a real worker: tasks run, in the Flask app context, with the settings asked."""

import os
import subprocess
import sys

from app.config import BACKEND_DIR
from app.tasks import celery
from app.tasks.health import ping


def test_ping_runs_on_the_worker(celery_worker):
    assert ping.delay().get(timeout=10) == "pong"


def test_reliability_settings(app):
    conf = app.extensions["celery"].conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert conf.broker_url == app.config["REDIS_URL"]


def test_tasks_run_inside_the_app_context(app):
    from flask import current_app

    @celery.task(name="tests.app_name")
    def app_name() -> str:
        return current_app.name

    # Run the task body as the worker would (through the task class's __call__).
    assert app_name() == app.name


def test_a_celery_process_gets_its_settings_from_the_factory(service_env, tmp_path):
    """`celery -A app.tasks`: importing configures nothing; the first read of the settings
    makes the Flask app with the factory, whose settings Celery then has."""
    script = (
        "import app.tasks as tasks\n"
        "assert not tasks.celery.configured and 'app' not in tasks._bound\n"
        "print(tasks.celery.conf.broker_url)\n"
        "assert tasks.flask_app().extensions['celery'] is tasks.celery\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=BACKEND_DIR, env=os.environ,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == service_env["REDIS_URL"]
