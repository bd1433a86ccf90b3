"""The db helpers against a real MariaDB: commit, rollback, pooling, outages."""

import inspect
import threading

import pytest
from flask import current_app
from mysql.connector import pooling

from app.config import TestingConfig as AppTestingConfig
from app.utils.db import (
    DatabaseUnavailable,
    DriverPool,
    connection_settings,
    execute,
    execute_many,
    fetch_all,
    fetch_one,
    get_cursor,
)
from tests.conftest import DB_NAME, root_connection
from tests.probe import create_probe_app

pytestmark = pytest.mark.usefixtures("clean_tables")

INSERT_LOCATION = "INSERT INTO locations (slug, name, sort_order) VALUES (%s, %s, %s)"


def test_execute_returns_new_id_and_fetch_reads_it_back(app_context):
    first = execute(INSERT_LOCATION, ("jazz-club", "Jazz Club", 2))
    second = execute(INSERT_LOCATION, ("the-lounge", "The Lounge", 1))
    assert second == first + 1
    row = fetch_one("SELECT slug, name FROM locations WHERE id = %s", (first,))
    assert row == {"slug": "jazz-club", "name": "Jazz Club"}
    rows = fetch_all("SELECT slug FROM locations ORDER BY sort_order")
    assert [r["slug"] for r in rows] == ["the-lounge", "jazz-club"]


def test_fetch_one_returns_none_when_nothing_matches(app_context):
    assert fetch_one("SELECT id FROM locations WHERE slug = %s", ("nowhere",)) is None


def test_execute_returns_affected_rows_for_updates(app_context):
    execute_many(INSERT_LOCATION, [("a", "A", 1), ("b", "B", 2), ("c", "C", 3)])
    assert execute("UPDATE locations SET is_active = FALSE WHERE sort_order >= %s", (2,)) == 2
    assert fetch_one("SELECT COUNT(*) AS n FROM locations WHERE is_active")["n"] == 1


def test_execute_many_inserts_all_rows(app_context):
    count = execute_many(INSERT_LOCATION, [("x", "X", 1), ("y", "Y", 2)])
    assert count == 2
    assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 2


def test_parameters_are_never_interpolated(app_context):
    hostile = "x'); DROP TABLE locations; --"
    new_id = execute(INSERT_LOCATION, ("hostile", hostile, 1))
    assert fetch_one("SELECT name FROM locations WHERE id = %s", (new_id,))["name"] == hostile


def test_get_cursor_commits_a_successful_block(app, app_context):
    with get_cursor() as cursor:
        cursor.execute(INSERT_LOCATION, ("kept", "Kept", 1))
        cursor.execute(INSERT_LOCATION, ("kept-too", "Kept too", 2))
    # Seen from another connection: it was committed, not just visible to ours.
    with app.app_context():
        assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 2


def test_get_cursor_rolls_back_a_failing_block(app, app_context):
    with pytest.raises(ZeroDivisionError), get_cursor() as cursor:
        cursor.execute(INSERT_LOCATION, ("lost", "Lost", 1))
        raise ZeroDivisionError
    with app.app_context():
        assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 0


def test_nested_block_joins_the_outer_transaction(app, app_context):
    with pytest.raises(ZeroDivisionError), get_cursor() as outer:
        outer.execute(INSERT_LOCATION, ("outer", "Outer", 1))
        with get_cursor() as inner:
            inner.execute(INSERT_LOCATION, ("inner", "Inner", 2))
        raise ZeroDivisionError
    assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 0


def test_reads_hold_no_snapshot_between_statements(app_context, mariadb):
    # One app context (a Celery task, a CLI command) reads, then sees what others commit.
    assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 0
    other = root_connection(mariadb)
    other.cursor().execute(f"INSERT INTO {DB_NAME}.locations (slug, name) VALUES (%s, %s)",  # noqa: S608 (a constant)
                           ("new", "New"))
    other.close()
    assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 1


def test_failing_batch_leaves_nothing_behind(app_context):
    with pytest.raises(Exception, match="Duplicate entry"):
        execute_many(INSERT_LOCATION, [("dup", "One", 1), ("dup", "Two", 2)])
    assert fetch_one("SELECT COUNT(*) AS n FROM locations")["n"] == 0


@pytest.fixture
def probe(service_env):
    app = create_probe_app(AppTestingConfig)
    yield app
    app.extensions["tdc_db"].close()


def test_exhausted_pool_answers_503_after_a_short_wait(probe):
    pool = probe.extensions["tdc_db"]
    held = [pool.acquire() for _ in range(pool.size)]
    try:
        response = probe.test_client().get("/api/v1/_probe/db")
        assert response.status_code == 503
        assert response.get_json()["success"] is False
        assert response.headers["Retry-After"] == "1"
    finally:
        for cnx in held:
            pool.release(cnx)
    assert probe.test_client().get("/api/v1/_probe/db").get_json()["data"] == {"answer": 42}


def test_waiting_request_gets_a_connection_freed_in_time(probe):
    pool = probe.extensions["tdc_db"]
    held = [pool.acquire() for _ in range(pool.size)]
    threading.Timer(0.3, lambda: [pool.release(c) for c in held]).start()
    assert probe.test_client().get("/api/v1/_probe/db").status_code == 200


def test_pool_survives_a_mariadb_restart(probe, mariadb):
    client = probe.test_client()
    assert client.get("/api/v1/_probe/db").status_code == 200
    mariadb.stop()
    try:
        down = client.get("/api/v1/_probe/db")
        assert down.status_code == 503
        assert down.get_json()["error"] == "Service temporarily unavailable"
    finally:
        mariadb.start()
    # The pooled connections died with the server; the next request must not notice.
    for _ in range(probe.config["DB_POOL_SIZE"] + 1):
        response = client.get("/api/v1/_probe/db")
        assert response.status_code == 200, response.get_json()


def test_acquire_outside_any_server_reports_unavailable(service_env, monkeypatch):
    monkeypatch.setenv("DB_PORT", "1")  # nothing listens there
    app = create_probe_app(AppTestingConfig)
    with app.app_context(), pytest.raises(DatabaseUnavailable):
        fetch_one("SELECT 1")


def test_driver_internals_are_there(app_context):
    """The private part of mysql-connector that DriverPool relies on, as it relies on it.

    A driver upgrade that renames, drops or changes it fails here.
    """
    assert list(inspect.signature(pooling.MySQLConnectionPool._remove_connections).parameters) \
        == ["self"]
    pool = DriverPool(pool_name="tdc_internals", pool_size=2,
                      **connection_settings(current_app.config))
    pooled = pool.get_connection()
    server_side = fetch_one("SELECT COUNT(*) AS n FROM information_schema.processlist "
                            "WHERE user = %s", (current_app.config["DB_USER"],))["n"]
    pooled.close()
    assert pool.close_idle() == 2
    assert pool.close_idle() == 0
    after = fetch_one("SELECT COUNT(*) AS n FROM information_schema.processlist "
                      "WHERE user = %s", (current_app.config["DB_USER"],))["n"]
    assert after == server_side - 2  # both were disconnected on the server too
