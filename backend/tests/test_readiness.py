"""Liveness and readiness against the real MariaDB, Redis and a Celery worker."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from app.services import readiness
from tests.conftest import DB_NAME, root_connection
from tests.logs import captured_logs


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
    assert data["mail"] == {"failed": 0}


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
    assert body["data"]["mail"] == {"failed": None}  # not counted, not a second failure
    assert wait_until_ready(client).status_code == 200


def test_missing_worker_is_named(client):
    # No celery_worker fixture here: nobody consumes the ping.
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert set(body["errors"]) == {"celery"}
    assert "no worker answered" in body["errors"]["celery"][0]


def test_down_dependency_is_named_but_not_its_driver_message(client, celery_worker, mariadb):
    mariadb.stop()
    try:
        with captured_logs("tdc.health", level=logging.WARNING) as records:
            response = client.get("/api/v1/health/ready", headers={"X-Request-ID": "ready-1"})
    finally:
        mariadb.start()
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "Not ready: database down"
    assert body["errors"] == {"database": ["unavailable"]}
    assert body["data"]["checks"]["database"]["error"] == "unavailable"
    # The driver's message (host, port, user) is in the log line, with the request id.
    [record] = records
    assert record.fields["request_id"] == "ready-1"
    detail = record.fields["details"]["database"]
    assert str(mariadb.port) in detail or "MySQL" in detail, detail
    assert detail not in response.get_data(as_text=True)
    assert wait_until_ready(client).status_code == 200


def test_one_result_serves_requests_for_the_cache_seconds(app, client, celery_worker,
                                                          redis_proc, monkeypatch):
    assert wait_until_ready(client).status_code == 200
    monkeypatch.setitem(app.config, "READINESS_CACHE_SECONDS", 1)
    monkeypatch.delitem(app.extensions, "tdc_readiness", raising=False)
    assert client.get("/api/v1/health/ready").status_code == 200
    redis_proc.stop()
    try:
        # Within the second the last result answers; after it, a fresh check does.
        cached = client.get("/api/v1/health/ready")
        time.sleep(1.1)
        fresh = client.get("/api/v1/health/ready")
    finally:
        redis_proc.start()
    assert cached.status_code == 200
    assert fresh.status_code == 503
    monkeypatch.setitem(app.config, "READINESS_CACHE_SECONDS", 0)
    assert wait_until_ready(client).status_code == 200


def test_concurrent_requests_share_one_run(app, celery_worker, monkeypatch):
    queries = []
    check_database = readiness._check_database

    def slow_check_database():
        queries.append(1)
        time.sleep(0.3)
        check_database()

    monkeypatch.setattr(readiness, "_check_database", slow_check_database)
    monkeypatch.setitem(app.config, "READINESS_CACHE_SECONDS", 2)
    monkeypatch.delitem(app.extensions, "tdc_readiness", raising=False)
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: app.test_client().get("/api/v1/health/ready")
                                 .status_code, range(4)))
    assert statuses == [200] * 4
    assert len(queries) == 1


def test_a_schema_behind_the_release_is_not_ready(client, celery_worker, mariadb):
    """A migration on disk that the database lacks (a restore of an older backup, a
    deploy that did not migrate) makes the app unready, naming it."""
    assert wait_until_ready(client).status_code == 200
    cnx = root_connection(mariadb)
    cnx.database = DB_NAME
    cursor = cnx.cursor(dictionary=True)
    cursor.execute("SELECT version, name, checksum FROM schema_migrations "
                   "ORDER BY version DESC LIMIT 1")
    newest = cursor.fetchone()
    cursor.execute("DELETE FROM schema_migrations WHERE version = %s", (newest["version"],))
    try:
        response = client.get("/api/v1/health/ready")
    finally:
        cursor.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES "
                       "(%(version)s, %(name)s, %(checksum)s)", newest)
        cnx.close()
    assert response.status_code == 503
    body = response.get_json()
    assert set(body["errors"]) == {"database"}
    assert body["errors"]["database"] == [f"schema is not this release's: pending {newest['name']}"]
    assert wait_until_ready(client).status_code == 200
