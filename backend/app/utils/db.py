"""MariaDB/MySQL access: the `tdc_pool` connection pool and raw, parameterized SQL helpers.

A request (or task, or CLI command) takes one pooled connection the first time it needs
one and gives it back at teardown. Pooled connections run in autocommit: a single
statement (`fetch_one`, `fetch_all`, `execute`) is its own transaction and costs one
round trip, with no COMMIT after it and no snapshot left open between requests.
Statements that must succeed or fail together run inside `get_cursor()`, a transaction
that commits when its block succeeds and rolls back when it raises.
"""

import logging
import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import mysql.connector
from flask import Flask, current_app, g
from mysql.connector import pooling
from mysql.connector.errors import Error as MySQLError
from mysql.connector.errors import InterfaceError, PoolError

try:
    from mysql.connector.connection_cext import CMySQLConnection
    from mysql.connector.cursor_cext import CMySQLCursorDict
except ImportError:  # the C extension is optional; cursors then come from cursor()
    CMySQLConnection = CMySQLCursorDict = None

log = logging.getLogger(__name__)

POOL_NAME = "tdc_pool"
EXTENSION_KEY = "tdc_db"

Params = Sequence[Any] | dict[str, Any] | None


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached, or no pooled connection freed up in time."""


# A connection given back without error this recently is handed out again without a ping.
ALIVE_WINDOW_SECONDS = 0.5


class DriverPool(pooling.MySQLConnectionPool):
    """mysql-connector's pool, with the shortcuts that save a round trip per request.

    The one place that touches mysql-connector's internals. It relies on these private
    names, each checked by tests/test_db.py::test_driver_internals_are_there, so that a
    driver upgrade that drops or renames one fails the tests rather than production:

    - `pooling.CONNECTION_POOL_LOCK`: the module lock the stock pool holds around its queue;
    - `MySQLConnectionPool._cnx_queue`: the `queue.Queue` of idle connections;
    - `MySQLConnectionPool._cnx_config`, `._config_version`: the settings a connection is
      (re)configured with, and their version;
    - `MySQLConnectionPool._queue_connection(cnx)`: put a connection back, lock already held;
    - `MySQLConnectionPool._remove_connections()`: close every idle connection;
    - `pool_config_version`: set by the pool on each real connection, the settings'
      version it was made with;
    - `PooledMySQLConnection._cnx`: the real connection behind a pooled one;
    - `cursor_cext.CMySQLCursorDict(cnx)`: the C extension's dict cursor, built directly.

    The shortcuts: the stock `get_connection` pings every connection it hands out, a round
    trip per request as costly under load as the query itself. A connection given back
    healthy within ALIVE_WINDOW_SECONDS is handed out as it is (HikariCP's alive-bypass
    window); any other is pinged and, when dead (a database restart), reconnected, as the
    stock pool does. A restart shorter than the window could cost one request per
    connection. Idle connections are handed out last in, first out: a worker reuses its
    most recent one, still alive by the window, rather than cycling through all.
    And the C extension's `cursor()` pings the server again before it builds a cursor;
    `dict_cursor` builds it directly, the pool having vouched for the connection.
    """

    _ALIVE_AT = "tdc_alive_at"  # set on the real connection: when it last proved healthy

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lifo: queue.LifoQueue = queue.LifoQueue(self._cnx_queue.maxsize)
        while not self._cnx_queue.empty():
            lifo.put(self._cnx_queue.get())
        self._cnx_queue = lifo

    def get_connection(self) -> pooling.PooledMySQLConnection:
        with pooling.CONNECTION_POOL_LOCK:
            try:
                cnx = self._cnx_queue.get(block=False)
            except queue.Empty as err:
                raise PoolError("Failed getting connection; pool exhausted") from err
            recently_alive = (time.monotonic() - getattr(cnx, self._ALIVE_AT, -math.inf)
                              < ALIVE_WINDOW_SECONDS)
            current = cnx.pool_config_version == self._config_version
            if not current or not (recently_alive or cnx.is_connected()):
                cnx.config(**self._cnx_config)
                try:
                    cnx.reconnect()
                except InterfaceError:
                    self._queue_connection(cnx)  # keep the slot; the next checkout retries
                    raise
                cnx.pool_config_version = self._config_version
            return pooling.PooledMySQLConnection(self, cnx)

    @classmethod
    def mark(cls, cnx: pooling.PooledMySQLConnection, healthy: bool) -> None:
        """Record, before `cnx` goes back, whether it may skip the next checkout's ping."""
        setattr(cnx._cnx, cls._ALIVE_AT, time.monotonic() if healthy else -math.inf)

    @staticmethod
    def dict_cursor(cnx: pooling.PooledMySQLConnection) -> Any:
        """A cursor whose rows are dicts, without the C extension's ping before it."""
        raw = cnx._cnx
        if CMySQLCursorDict is not None and isinstance(raw, CMySQLConnection):
            return CMySQLCursorDict(raw)
        return cnx.cursor(dictionary=True)

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
            # A connection not known to be alive is pinged and reconnected when dead
            # (after a database restart), so callers do not see a stale connection.
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

    def release(self, cnx: pooling.PooledMySQLConnection, healthy: bool = True) -> None:
        """Give `cnx` back; `healthy` when none of its statements failed."""
        try:
            if cnx.in_transaction:  # a transaction cut short (e.g. a worker timeout)
                cnx.rollback()
            DriverPool.mark(cnx, healthy)
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
        _pool().release(cnx, healthy=not g.pop("db_failed", False))


@contextmanager
def _statement_cursor() -> Iterator[Any]:
    """Yield a dict cursor for statements that each commit on their own (autocommit)."""
    cursor = DriverPool.dict_cursor(get_connection())
    try:
        yield cursor
    except MySQLError:
        g.db_failed = True  # have the connection pinged before its next use
        raise
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
    cursor = DriverPool.dict_cursor(cnx)
    try:
        yield cursor
        cnx.commit()
    except BaseException as exc:
        if isinstance(exc, MySQLError):
            g.db_failed = True
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
