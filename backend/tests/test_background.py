"""Work done by the Celery worker: the account mails and the periodic purge."""

import time

import pytest
from celery.signals import task_retry

from app.services import tokens
from app.tasks.email import send_welcome_email
from app.tasks.maintenance import purge_expired
from app.utils.db import execute, fetch_one
from app.utils.redis_client import get_redis
from tests.waits import wait_for

pytestmark = pytest.mark.usefixtures("clean_tables")


def test_registration_sends_the_verification_mail_through_the_worker(client, celery_worker,
                                                                     relay):
    before = len(relay.messages)
    response = client.post("/api/v1/auth/register", json={
        "email": "nova@example.com", "username": "nova", "password": "long enough pw"})
    assert response.status_code == 202
    assert wait_for(lambda: len(relay.messages) > before)
    message = relay.messages[-1]
    assert message["to"] == ["nova@example.com"]
    assert (message["tls"], message["login"]) == ("starttls", "tdc-relay-user")
    assert "Subject: Confirm your e-mail address" in message["body"]
    assert "Hello nova" in message["body"]
    assert "https://thedreamerscave.club/account/verify#token=" in message["body"]


def test_registration_succeeds_while_the_broker_is_down(client, redis_proc):
    redis_proc.stop()
    try:
        response = client.post("/api/v1/auth/register", json={
            "email": "orion@example.com", "username": "orion", "password": "long enough pw"})
    finally:
        redis_proc.start()
    assert response.status_code == 202


def test_an_smtp_outage_is_retried_until_the_mail_goes_out(app, make_user, celery_worker, relay):
    user = make_user()
    before = len(relay.messages)
    retries = []  # (task id, why) of each retry Celery schedules; the worker runs in-process

    def count_retry(request=None, reason=None, **_):
        retries.append((request.id, repr(reason)))

    task_retry.connect(count_retry, weak=False)
    relay.stop()
    try:
        with app.app_context():
            task_id = send_welcome_email.delay(user["id"]).id
        assert wait_for(lambda: retries, seconds=10), "no retry while the SMTP port was closed"
        assert len(relay.messages) == before
    finally:
        relay.start()
    try:
        assert wait_for(lambda: len(relay.messages) > before, seconds=30)
    finally:
        task_retry.disconnect(count_retry)
    assert relay.messages[-1]["to"] == [user["email"]]
    assert {task for task, _ in retries} == {task_id}, retries
    assert all("Connection refused" in why or "ConnectionRefused" in why for _, why in retries)


def test_purge_drops_expired_revocations_and_restores_live_ones(app, make_user):
    user = make_user()
    now = int(time.time())
    live = {"jti": "b" * 32, "sub": str(user["id"]), "exp": now + 600}
    with app.app_context():
        tokens.revoke(live)
        execute("INSERT INTO revoked_tokens (jti, user_id, expires_at) "
                "VALUES (%s, %s, UTC_TIMESTAMP() - INTERVAL 1 HOUR)", ("c" * 32, user["id"]))
        get_redis().delete(tokens.REVOKED_KEY.format(jti=live["jti"]))  # as after a Redis loss
        assert not tokens.is_revoked(live["jti"])
        result = purge_expired.apply().get()
        assert result == {"purged": 1, "restored": 1}
        assert tokens.is_revoked(live["jti"])
        assert fetch_one("SELECT COUNT(*) AS n FROM revoked_tokens")["n"] == 1


def test_beat_schedules_the_purge(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert any(entry["task"] == "tdc.purge_expired" for entry in schedule.values())


def test_authenticated_requests_fail_closed_without_redis(client, auth_headers, redis_proc):
    headers = auth_headers()
    redis_proc.stop()
    try:
        response = client.get("/api/v1/auth/me", headers=headers)
    finally:
        redis_proc.start()
    assert response.status_code == 503
    assert response.get_json()["success"] is False
