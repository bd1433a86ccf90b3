"""Fixtures: a throwaway MariaDB, Redis and mail relay per test session, a real Celery worker.

pytest-mysql and pytest-redis start the servers from Debian's packages in pytest's temp
dir; nothing relies on a system service. The app connects as an unprivileged user over
TCP, like production's app user.
"""

import gc
import importlib.util
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

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

REPO_DIR = Path(__file__).resolve().parents[2]
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


def _load_relay_module():
    """local-vps/relay.py, the stand-in relay the local VPS runs too."""
    path = REPO_DIR / "local-vps" / "relay.py"
    spec = importlib.util.spec_from_file_location("standin_relay", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


standin = _load_relay_module()
RELAY_USER = "tdc-relay-user"
RELAY_PASSWORD = "test-only-relay-password"


class StandInRelay:
    """The stand-in of the mail provider on loopback: STARTTLS and implicit TLS, AUTH
    required, a certificate from a CA made for the session. Stopped and started again on
    the same ports to make an outage; its handler's switches refuse AUTH or the data."""

    def __init__(self, directory) -> None:
        standin.make_certificates(directory, "localhost", "127.0.0.1")
        self.ca_file = str(directory / "ca.pem")
        self.handler = standin.RelayHandler(RELAY_USER, RELAY_PASSWORD)
        self.starttls_port, self.tls_port = _free_port(), _free_port()
        self._relay = standin.Relay(self.handler, "127.0.0.1", self.starttls_port,
                                    self.tls_port, directory / "cert.pem", directory / "key.pem")

    @property
    def messages(self) -> list[dict[str, object]]:
        return self.handler.messages

    def start(self) -> None:
        self._relay.start()

    def stop(self) -> None:
        self._relay.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def relay(tmp_path_factory) -> Iterator[StandInRelay]:
    """The relay the app sends its mail through."""
    stand_in = StandInRelay(tmp_path_factory.mktemp("relay"))
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="session")
def service_env(mariadb, redis_proc, relay) -> Iterator[dict[str, str]]:
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
        # The production path: STARTTLS, the relay's certificate verified, AUTH.
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(relay.starttls_port),
        "SMTP_SECURITY": "starttls",
        "SMTP_USERNAME": RELAY_USER,
        "SMTP_PASSWORD": RELAY_PASSWORD,
        "SMTP_CA_FILE": relay.ca_file,
        "SMTP_TIMEOUT": "5",
        # Retries within a test's patience: 0.1-0.2 s, 0.2-0.4 s, ... up to 0.5-1 s.
        "MAIL_RETRY_LIMIT": "5",
        "MAIL_RETRY_DELAY": "0.2",
        "MAIL_RETRY_DELAY_MAX": "1",
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
    yield application
    # An AsyncResult left in a reference cycle unsubscribes from Redis when it is
    # collected: collect now, while the session's Redis runs, not after it stopped.
    gc.collect()


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
