"""Fixtures: a throwaway MariaDB and Redis per test session, a real Celery worker.

pytest-mysql and pytest-redis start the servers from Debian's packages in pytest's temp
dir; nothing relies on a system service. The app connects as an unprivileged user over
TCP, like production's app user.
"""

import os
from collections.abc import Iterator

import mysql.connector
import pytest
from celery.contrib.testing.worker import start_worker
from pytest_mysql import factories as mysql_factories
from pytest_redis import factories as redis_factories

# A developer's backend/.env must not leak into the tests.
os.environ["TDC_ENV_FILE"] = os.devnull

from app import create_app
from app.config import TestingConfig as AppTestingConfig
from app.utils import migrate

DB_NAME = "tdc_test"
DB_USER = "tdc_app"
DB_PASSWORD = "test-only-password"

mysql_proc = mysql_factories.mysql_proc()
redis_proc = redis_factories.redis_proc()


def root_connection(proc) -> mysql.connector.MySQLConnection:
    """Connect as root over the unix socket (root has no TCP login)."""
    return mysql.connector.connect(unix_socket=proc.unixsocket, user="root", autocommit=True)


@pytest.fixture(scope="session")
def mariadb(mysql_proc):
    """The MariaDB server with the app's database and user, as a deployment makes them."""
    cnx = root_connection(mysql_proc)
    cursor = cnx.cursor()
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DB_NAME} CHARACTER SET utf8mb4 "
                   "COLLATE utf8mb4_unicode_ci")
    # install-db leaves anonymous users that would shadow the app user on localhost.
    cursor.execute("DELETE FROM mysql.global_priv WHERE User = ''")
    cursor.execute("FLUSH PRIVILEGES")
    for host in ("localhost", "127.0.0.1"):
        cursor.execute(f"CREATE USER IF NOT EXISTS '{DB_USER}'@'{host}' IDENTIFIED BY %s",
                       (DB_PASSWORD,))
        cursor.execute(f"GRANT ALL PRIVILEGES ON {DB_NAME}.* TO '{DB_USER}'@'{host}'")
    cnx.close()
    return mysql_proc


@pytest.fixture(scope="session")
def service_env(mariadb, redis_proc) -> Iterator[dict[str, str]]:
    """Environment variables pointing the app at the throwaway servers."""
    env = {
        "FLASK_ENV": "testing",
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(mariadb.port),
        "DB_NAME": DB_NAME,
        "DB_USER": DB_USER,
        "DB_PASSWORD": DB_PASSWORD,
        "DB_POOL_SIZE": "4",
        "DB_POOL_TIMEOUT": "1",
        "REDIS_URL": f"redis://127.0.0.1:{redis_proc.port}/0",
        "LOG_LEVEL": "WARNING",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("DB_UNIX_SOCKET", raising=False)
        yield env


@pytest.fixture(scope="session")
def app(service_env):
    """The app under test, its schema migrated once for the session."""
    application = create_app(AppTestingConfig)
    migrate.upgrade(application.config)
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield app


@pytest.fixture
def clean_tables(app, mariadb) -> Iterator[None]:
    """Empty the app's tables after a test that writes."""
    yield
    cnx = root_connection(mariadb)
    cursor = cnx.cursor()
    cursor.execute("SELECT table_name FROM information_schema.tables "
                   "WHERE table_schema = %s AND table_name <> 'schema_migrations'", (DB_NAME,))
    tables = [row[0] for row in cursor.fetchall()]
    cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
    for table in tables:
        cursor.execute(f"TRUNCATE TABLE {DB_NAME}.`{table}`")
    cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
    cnx.close()


@pytest.fixture
def celery_worker(app):
    """A real Celery worker thread consuming from the throwaway Redis."""
    celery = app.extensions["celery"]
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker
