"""The migration runner against a real MariaDB, in a database of its own."""

import shutil

import pytest

from app.utils import migrate
from app.utils.db import connect_direct
from tests.conftest import DB_USER, root_connection

SCRATCH_DB = "tdc_migrate_test"


@pytest.fixture
def scratch(app, mariadb, tmp_path):
    """A copy of the migrations and an empty database to apply them to."""
    cnx = root_connection(mariadb)
    cursor = cnx.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
    cursor.execute(f"CREATE DATABASE {SCRATCH_DB}")
    for host in ("localhost", "127.0.0.1"):
        cursor.execute(f"GRANT ALL PRIVILEGES ON {SCRATCH_DB}.* TO '{DB_USER}'@'{host}'")
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, directory)
    config = {**app.config, "DB_NAME": SCRATCH_DB}
    yield config, directory
    cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
    cnx.close()


def tables(config):
    cnx = connect_direct(config)
    cursor = cnx.cursor()
    cursor.execute("SHOW TABLES")
    names = {row[0] for row in cursor.fetchall()}
    cnx.close()
    return names


def test_upgrade_applies_everything_once(scratch):
    config, directory = scratch
    applied = migrate.upgrade(config, directory)
    assert applied == [m.name for m in migrate.discover(directory)]
    assert {"users", "locations", "schema_migrations"} <= tables(config)
    assert migrate.upgrade(config, directory) == []
    assert {row["state"] for row in migrate.status(config, directory)} == {"applied"}


def test_new_migration_is_applied_after_the_old_ones(scratch):
    config, directory = scratch
    migrate.upgrade(config, directory)
    (directory / "999_add_probe.sql").write_text(
        "-- a later change\nCREATE TABLE probe (\n  id INT PRIMARY KEY\n);\n"
        "INSERT INTO probe (id) VALUES (1);\n")
    assert migrate.upgrade(config, directory) == ["999_add_probe.sql"]
    assert "probe" in tables(config)


def test_edited_migration_is_refused(scratch):
    config, directory = scratch
    migrate.upgrade(config, directory)
    first = sorted(directory.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- sneaky edit\n")
    (directory / "999_add_probe.sql").write_text("CREATE TABLE probe (id INT PRIMARY KEY);\n")
    with pytest.raises(migrate.MigrationError, match="was edited after it was applied"):
        migrate.upgrade(config, directory)
    assert "probe" not in tables(config)  # nothing after the refusal ran
    assert "edited" in {row["state"] for row in migrate.status(config, directory)}


def test_failing_migration_is_not_recorded(scratch):
    config, directory = scratch
    (directory / "999_broken.sql").write_text("CREATE TABLE broken (id INT PRIMARY KEY;\n")
    with pytest.raises(migrate.MigrationError, match=r"999_broken\.sql failed"):
        migrate.upgrade(config, directory)
    states = {row["name"]: row["state"] for row in migrate.status(config, directory)}
    assert states["999_broken.sql"] == "pending"


@pytest.mark.parametrize("name", ["1_short.sql", "001-Bad-Name.sql", "abc_x.sql"])
def test_badly_named_files_are_refused(tmp_path, name):
    (tmp_path / name).write_text("SELECT 1;\n")
    with pytest.raises(migrate.MigrationError, match="NNN_lower_snake"):
        migrate.discover(tmp_path)


def test_duplicate_versions_are_refused(tmp_path):
    (tmp_path / "001_a.sql").write_text("SELECT 1;\n")
    (tmp_path / "001_b.sql").write_text("SELECT 1;\n")
    with pytest.raises(migrate.MigrationError, match="used twice"):
        migrate.discover(tmp_path)


def test_split_statements_keeps_multiline_statements_whole():
    sql = "-- comment\nCREATE TABLE a (\n  id INT\n);\n\nINSERT INTO a VALUES (1);\nSELECT 2"
    assert migrate.split_statements(sql) == [
        "CREATE TABLE a (\n  id INT\n)", "INSERT INTO a VALUES (1)", "SELECT 2"]


def test_cli_upgrade_and_status(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    status = runner.invoke(args=["db", "status"])
    assert "applied  001_users_and_locations.sql" in status.output


def test_accounts_that_exist_count_as_verified_after_006(scratch):
    """The first admin and the members before verified sign-ups can still log in."""
    config, directory = scratch
    later = sorted(path for path in directory.glob("*.sql") if path.name >= "006")
    held = {path: path.read_text() for path in later}
    for path in later:
        path.unlink()
    migrate.upgrade(config, directory)
    cnx = connect_direct(config)
    cursor = cnx.cursor()
    cursor.execute("INSERT INTO users (email, username, password_hash) "
                   "VALUES ('old@example.com', 'old', 'x')")
    cnx.commit()
    for path, text in held.items():
        path.write_text(text)
    migrate.upgrade(config, directory)
    cursor.execute("SELECT email_verified_at IS NOT NULL FROM users WHERE username = 'old'")
    assert cursor.fetchone() == (1,)
    cnx.close()
