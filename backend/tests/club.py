"""Helpers for the location and event tests: seeding, counting queries, hostile input."""

from typing import Any

from app.services.seed import seed_locations
from app.utils.db import fetch_one
from tests.conftest import root_connection

# Strings an attacker (or an unlucky user) sends: each must be refused with 422 or stored
# and returned exactly as sent.
HOSTILE_STRINGS = [
    "O'Brien \"the\" `DJ`",
    "'; DROP TABLE events; --",
    "1' OR '1'='1",
    "%s %(name)s {0} \\x00",
    "<script>alert(1)</script>",
    "Noite de Fado 🎸🌙 — açaí ✨",
    "مساء الموسيقى في الكهف",  # right-to-left
    "\u202eevil\u202c",  # an RTL override
    "Ζ̸̢a̴l̵g̷o̶",
    "\x00nul",
    "tab\there",
    "line\nbreak",
    "x" * 10_000,
]
# Which of them each kind of field refuses: a slug, a closed choice, a colour or a time
# takes none of them; a one-line field (a name, a title) none with a control character
# or a line break, nor one past its length; a text (a description) only the NUL.
# The others are kept exactly as sent.
REFUSED_BY_KIND = {
    "closed": set(HOSTILE_STRINGS),
    "one line": {"\x00nul", "tab\there", "line\nbreak", "x" * 10_000},
    "text": {"\x00nul"},
}


def seed_the_locations(app) -> None:
    with app.app_context():
        seed_locations()


def count_rows(app, table: str) -> int:
    with app.app_context():
        return fetch_one(f"SELECT COUNT(*) AS n FROM {table}")["n"]  # noqa: S608 (a test's own table name)


def selects_run(mariadb, action) -> tuple[Any, int]:
    """Run `action` and return its result and how many SELECT statements the server ran."""
    cnx = root_connection(mariadb)
    cursor = cnx.cursor()

    def com_select() -> int:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
        return int(cursor.fetchone()[1])

    before = com_select()
    result = action()
    count = com_select() - before
    cnx.close()
    return result, count


def assert_error_envelope(response, status: int, *fields: str) -> dict[str, Any]:
    """The response is an error envelope with `status`, naming exactly `fields` (if any)."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    if fields:
        assert set(body["errors"]) == set(fields), body["errors"]
    if "errors" in body:
        assert all(isinstance(messages, list) and messages
                   for messages in body["errors"].values())
    return body
