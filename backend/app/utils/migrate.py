"""A small SQL migration runner: `migrations/NNN_name.sql`, applied once each, in order.

Why our own: the common Python runners speak to MySQL through PyMySQL or mysqlclient,
not mysql-connector; this one is a few dozen lines on the driver the app already uses.

Each applied file is recorded in `schema_migrations` with its SHA-256. Running again
applies only new files; a file changed after it was applied stops the run (fix it with a
new migration instead). A named lock keeps two deploys from migrating at once.
MariaDB commits DDL implicitly, so a migration that fails halfway is not undone: keep
each file to one concern and make it safe to fix forward.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import BACKEND_DIR
from app.utils.db import connect_direct

MIGRATIONS_DIR = BACKEND_DIR / "migrations"
FILENAME_RE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
LOCK_NAME = "tdc_schema_migrations"
LOCK_TIMEOUT_SECONDS = 60

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INT UNSIGNED NOT NULL PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    checksum    CHAR(64)     NOT NULL,
    applied_at  DATETIME     NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree, or one failed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Return the migration files in version order; refuse a malformed or duplicate name."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILENAME_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, path.name, path)
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a file into statements at semicolons that end a line (no procedures here)."""
    statements, current = [], []
    for line in sql.splitlines():
        if not current and (not line.strip() or line.strip().startswith("--")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if "".join(current).strip():
        statements.append("\n".join(current))
    return statements


def _applied(cursor: Any) -> dict[int, dict[str, Any]]:
    cursor.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    return {row["version"]: row for row in cursor.fetchall()}


def status(config: dict[str, Any], directory: Path = MIGRATIONS_DIR) -> list[dict[str, Any]]:
    """Describe each migration on disk: applied, pending or edited since applied."""
    cnx = connect_direct(config)
    try:
        cursor = cnx.cursor(dictionary=True)
        cursor.execute(CREATE_TABLE)
        applied = _applied(cursor)
    finally:
        cnx.close()
    rows = []
    for migration in discover(directory):
        record = applied.get(migration.version)
        state = "pending" if record is None else (
            "applied" if record["checksum"] == migration.checksum else "edited")
        rows.append({"version": migration.version, "name": migration.name, "state": state})
    return rows


def upgrade(config: dict[str, Any], directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations in order and return the names applied."""
    migrations = discover(directory)
    cnx = connect_direct(config)
    cursor = cnx.cursor(dictionary=True)
    try:
        cursor.execute("SELECT GET_LOCK(%s, %s) AS got", (LOCK_NAME, LOCK_TIMEOUT_SECONDS))
        if cursor.fetchone()["got"] != 1:
            raise MigrationError("another migration run holds the lock; try again later")
        cursor.execute(CREATE_TABLE)
        applied = _applied(cursor)
        for migration in migrations:
            record = applied.get(migration.version)
            if record and record["checksum"] != migration.checksum:
                raise MigrationError(
                    f"{migration.name} was edited after it was applied (checksum differs); "
                    "restore it and put the change in a new migration")
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            try:
                for statement in split_statements(migration.sql):
                    cursor.execute(statement)
                cursor.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum))
                cnx.commit()
            except Exception as exc:
                cnx.rollback()
                raise MigrationError(f"{migration.name} failed: {exc}") from exc
            done.append(migration.name)
        return done
    finally:
        try:
            cursor.execute("DO RELEASE_LOCK(%s)", (LOCK_NAME,))
        finally:
            cnx.close()
