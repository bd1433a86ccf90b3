"""MariaDB/MySQL access: the `tdc_pool` connection pool and raw, parameterized SQL helpers.

A request (or task, or CLI command) takes one pooled connection the first time it needs
one and gives it back at teardown. Pooled connections run in autocommit: a single
statement (`fetch_one`, `fetch_all`, `execute`) is its own transaction and costs one
round trip, with no COMMIT after it and no snapshot left open between requests.
Statements that must succeed or fail together run inside `get_cursor()`, a transaction
that commits when its block succeeds and rolls back when it raises.
"""

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import mysql.connector
from flask import Flask, current_app, g
from mysql.connector import pooling
from mysql.connector.errors import Error as MySQLError

log = logging.getLogger(__name__)

POOL_NAME = "tdc_pool"
EXTENSION_KEY = "tdc_db"

Params = Sequence[Any] | dict[str, Any] | None


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached, or no pooled connection freed up in time."""


class DriverPool(pooling.MySQLConnectionPool):
    """mysql-connector's pool, plus the one thing it offers only in private: closing it.

    The one place that touches mysql-connector's internals. It relies on one private
    name, checked by tests/test_db.py::test_driver_internals_are_there so that a driver
    upgrade that drops or renames it fails the tests rather than production:

    - `MySQLConnectionPool._remove_connections()`: disconnect every idle connection and
      return how many there were.

    Checkouts are the stock ones: each pings its connection and reconnects a dead one
    (after a database restart). Skipping that ping for a connection healthy moments ago,
    handing connections out last in, first out, and building the C extension's cursor
    without its own ping were measured with `make bench-api` and did not pay.
    """

    def close_idle(self) -> int:
        """Close every idle connection; return how many there were."""
        return self._remove_connections()


class ConnectionPool:
    """A lazily created MySQLConnectionPool with a bounded wait for a free connection.

    mysql-connector's pool fails at once when it is empty; the semaphore makes callers
    wait up to `timeout` seconds instead, then give up (the API answers 503).
    """

    def __init__(self, settings: dict[str, Any], size: int, timeout: float) -> None:
        self.settings = settings
        self.size = size
        self.timeout = timeout
        self._pool: DriverPool | None = None
        self._create_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def _get_pool(self) -> DriverPool:
        # Created on first use so that workers start even while the database is down.
        # No session reset on return: it costs a reset and four SET round trips per
        # request, and the app keeps no session state (release() ends any transaction).
        # make bench-api: the location list at 0.75 of the health check's rate without
        # it, 0.52 with it (medians of three alternating runs); MariaDB 0.17 ms of CPU a
        # request against 0.27.
        if self._pool is None:
            with self._create_lock:
                if self._pool is None:
                    self._pool = DriverPool(
                        pool_name=POOL_NAME, pool_size=self.size, pool_reset_session=False,
                        **self.settings)
        return self._pool

    def acquire(self) -> pooling.PooledMySQLConnection:
        if not self._slots.acquire(timeout=self.timeout):
            raise DatabaseUnavailable("all database connections are busy")
        try:
            # The pool pings the connection and reconnects it when dead (after a
            # database restart), so callers do not see a stale connection.
            return self._get_pool().get_connection()
        except MySQLError as exc:
            self._slots.release()
            raise DatabaseUnavailable(f"database unreachable: {exc.msg or exc}") from exc
        except BaseException:
            self._slots.release()
            raise

    def close(self) -> None:
        """Close every idle pooled connection (used when an app is discarded)."""
        if self._pool is not None:
            self._pool.close_idle()
            self._pool = None

    def release(self, cnx: pooling.PooledMySQLConnection) -> None:
        """Give `cnx` back to the pool."""
        try:
            if cnx.in_transaction:  # a transaction cut short (e.g. a worker timeout)
                cnx.rollback()
            cnx.close()  # back to the pool
        except MySQLError as exc:
            log.warning("pooled connection returned broken: %s", exc)
        finally:
            self._slots.release()


def connection_settings(config: dict[str, Any], autocommit: bool = True) -> dict[str, Any]:
    """Translate the app's DB_* settings into mysql-connector arguments."""
    settings: dict[str, Any] = {
        "database": config["DB_NAME"],
        "user": config["DB_USER"],
        "password": config["DB_PASSWORD"],
        "charset": "utf8mb4",
        "collation": "utf8mb4_unicode_ci",
        "time_zone": "+00:00",
        "autocommit": autocommit,
        "connection_timeout": config["DB_CONNECT_TIMEOUT"],
    }
    if config.get("DB_UNIX_SOCKET"):
        settings["unix_socket"] = config["DB_UNIX_SOCKET"]
    else:
        settings["host"] = config["DB_HOST"]
        settings["port"] = config["DB_PORT"]
    if config.get("DB_SSL_CA"):
        # A server on another host: TLS, its certificate verified against the CA and its
        # name (or address) against DB_HOST, or no connection.
        settings.update(ssl_ca=config["DB_SSL_CA"], ssl_verify_cert=True,
                        ssl_verify_identity=True, ssl_disabled=False)
    return settings


def init_pool(app: Flask) -> None:
    """Attach the connection pool to the app and return connections after each request."""
    app.extensions[EXTENSION_KEY] = ConnectionPool(
        connection_settings(app.config), app.config["DB_POOL_SIZE"], app.config["DB_POOL_TIMEOUT"])
    app.teardown_appcontext(_release_connection)


def _pool() -> ConnectionPool:
    return current_app.extensions[EXTENSION_KEY]


def get_connection() -> pooling.PooledMySQLConnection:
    """Return this app context's connection, taking one from the pool the first time."""
    if "db_connection" not in g:
        g.db_connection = _pool().acquire()
    return g.db_connection


def _release_connection(_exc: BaseException | None = None) -> None:
    cnx = g.pop("db_connection", None)
    if cnx is not None:
        _pool().release(cnx)


@contextmanager
def _statement_cursor() -> Iterator[Any]:
    """Yield a dict cursor for statements that each commit on their own (autocommit)."""
    cursor = get_connection().cursor(dictionary=True)
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def get_cursor() -> Iterator[Any]:
    """Yield a dict cursor in a transaction: commit when the block succeeds, roll back
    when it raises. Inside another `get_cursor()` block it joins that transaction."""
    cnx = get_connection()
    if cnx.in_transaction:
        with _statement_cursor() as cursor:
            yield cursor
        return
    cnx.start_transaction()
    cursor = cnx.cursor(dictionary=True)
    try:
        yield cursor
        cnx.commit()
    except BaseException:
        try:
            cnx.rollback()
        except MySQLError:
            log.warning("rollback failed; the connection is gone and will be replaced")
        raise
    finally:
        cursor.close()


def fetch_one(query: str, params: Params = None) -> dict[str, Any] | None:
    """Run a query and return its first row as a dict, or None."""
    with _statement_cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
        cursor.fetchall()  # drain the rest so the connection is reusable
        return row


def fetch_all(query: str, params: Params = None) -> list[dict[str, Any]]:
    """Run a query and return every row as a dict."""
    with _statement_cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def execute(query: str, params: Params = None) -> int:
    """Run one INSERT/UPDATE/DELETE (committed: a statement is its own transaction).

    Returns the new AUTO_INCREMENT id for an insert that made one, else the number of
    affected rows.
    """
    with _statement_cursor() as cursor:
        cursor.execute(query, params)
        return cursor.lastrowid or cursor.rowcount


def execute_many(query: str, params_list: Sequence[Params]) -> int:
    """Run one statement for each parameter set in a single transaction; return rows affected."""
    with get_cursor() as cursor:
        cursor.executemany(query, list(params_list))
        return cursor.rowcount


def connect_direct(config: dict[str, Any]) -> mysql.connector.MySQLConnection:
    """Open an unpooled connection (migrations hold it for a lock and many statements)."""
    return mysql.connector.connect(**connection_settings(config, autocommit=False))
