"""Liveness and readiness against the real MariaDB, Redis and a Celery worker."""

import time


def wait_until_ready(client, seconds=30.0):
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/api/v1/health/ready")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_liveness_touches_nothing(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "data": {"status": "ok"}}


def test_ready_when_everything_answers(client, celery_worker):
    response = wait_until_ready(client)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["status"] == "ready"
    assert set(data["checks"]) == {"database", "redis", "celery"}
    for check in data["checks"].values():
        assert check["ok"] is True
        assert check["latency_ms"] >= 0


def test_redis_down_is_named(client, celery_worker, redis_proc):
    redis_proc.stop()
    try:
        response = client.get("/api/v1/health/ready")
    finally:
        redis_proc.start()
    assert response.status_code == 503
    body = response.get_json()
    assert body["success"] is False
    assert set(body["errors"]) == {"redis", "celery"}
    assert body["data"]["checks"]["database"]["ok"] is True
    assert "redis" in body["error"]
    # Back up: the app and the worker reconnect by themselves.
    assert wait_until_ready(client).status_code == 200


def test_mariadb_down_is_named(client, celery_worker, mariadb):
    mariadb.stop()
    try:
        response = client.get("/api/v1/health/ready")
    finally:
        mariadb.start()
    assert response.status_code == 503
    body = response.get_json()
    assert set(body["errors"]) == {"database"}
    assert body["data"]["checks"]["redis"]["ok"] is True
    assert wait_until_ready(client).status_code == 200


def test_missing_worker_is_named(client):
    # No celery_worker fixture here: nobody consumes the ping.
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert set(body["errors"]) == {"celery"}
    assert "no worker answered" in body["errors"]["celery"][0]
