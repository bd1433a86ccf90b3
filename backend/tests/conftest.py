"""Fixtures: a throwaway MariaDB and Redis per test session, a real Celery worker.

pytest-mysql and pytest-redis start the servers from Debian's packages in pytest's temp
dir; nothing relies on a system service. The app connects as an unprivileged user over
TCP, like production's app user.
"""

import itertools
import os
import socket
from collections.abc import Callable, Iterator

import mysql.connector
import pytest
from aiosmtpd.controller import Controller
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


class MailSink:
    """A real SMTP server on loopback that keeps what it receives; can be stopped and
    started again on the same port to simulate an outage."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        self.port = _free_port()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"to": envelope.rcpt_tos,
                              "body": envelope.content.decode("utf-8", "replace")})
        return "250 Message accepted for delivery"

    def start(self) -> None:
        # A stopped aiosmtpd Controller cannot start again: make a new one.
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[MailSink]:
    """The SMTP server the welcome email goes to."""
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def service_env(mariadb, redis_proc, smtp_sink) -> Iterator[dict[str, str]]:
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
        # Tests stop and start the servers: each readiness check must see the state now.
        "READINESS_CACHE_SECONDS": "0",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_sink.port),
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


@pytest.fixture(scope="module")
def probe(service_env):
    """The app with the extra routes of tests/probe.py, one per test module."""
    from tests.probe import create_probe_app

    application = create_probe_app(AppTestingConfig)
    yield application
    application.extensions["tdc_db"].close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Each test of the app starts with empty rate-limit counters (they live in Redis)."""
    if "app" not in request.fixturenames:
        return
    from app.utils.rate_limit import limiter

    with request.getfixturevalue("app").app_context():
        limiter.reset()


_user_numbers = itertools.count(1)


@pytest.fixture
def make_user(app, clean_tables) -> Callable[..., dict[str, object]]:
    """Create a member directly in the database: make_user(role="staff", **fields)."""
    from app.models.user import UserUpdateInput
    from app.services import users

    def make(role: str = "user", password: str = "correct horse battery", **fields):  # noqa: S107
        number = next(_user_numbers)
        email = fields.get("email", f"member{number}@example.com")
        username = fields.get("username", f"member{number}")
        with app.app_context():
            user = users.create_user(email, username, password, role=role)
            if fields.get("is_active") is False:
                users.update_user(user["id"], UserUpdateInput(is_active=False))
        return {"id": user["id"], "email": email, "username": username, "password": password,
                "role": role}

    return make


@pytest.fixture
def auth_headers(app, make_user) -> Callable[..., dict[str, str]]:
    """auth_headers(role="user") -> headers with a valid bearer token for a new member."""
    from app.services.tokens import issue_token

    def headers(role: str = "user") -> dict[str, str]:
        user = make_user(role=role)
        with app.app_context():
            token, _ = issue_token(user["id"])
        return {"Authorization": f"Bearer {token}"}

    return headers


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
