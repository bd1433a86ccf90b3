"""The admin audit trail: who changed what, when, in which request.

The admin routes make each change and its `record` inside one `audited()` block, a
transaction: the change and its row are committed together or not at all.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from flask import g, has_request_context

from app.models.audit import TARGET_TYPES
from app.models.fields import iso_utc
from app.services.queries import fetch_page
from app.utils.db import execute, get_cursor

INSERT_ENTRY = """
INSERT INTO admin_audit (actor_id, action, target_type, target_id, changes, request_id)
VALUES (%(actor_id)s, %(action)s, %(target_type)s, %(target_id)s, %(changes)s,
        %(request_id)s)"""

# Every filter is a parameter that is NULL when unused, so each query is one fixed text.
FILTERS = """
WHERE (%(actor_id)s IS NULL OR actor_id = %(actor_id)s)
  AND (%(target_type)s IS NULL OR target_type = %(target_type)s)
  AND (%(target_id)s IS NULL OR target_id = %(target_id)s)"""

LIST_ENTRIES = """
SELECT id, actor_id, action, target_type, target_id, changes, request_id, created_at
FROM admin_audit""" + FILTERS + """
ORDER BY id DESC
LIMIT %(limit)s OFFSET %(offset)s"""

COUNT_ENTRIES = """
SELECT COUNT(*) AS total
FROM admin_audit""" + FILTERS


@contextmanager
def audited() -> Iterator[None]:
    """One transaction for a change and its audit rows."""
    with get_cursor():
        yield


def record(actor_id: int, action: str, target_type: str, target_id: int,
           changes: Mapping[str, Any]) -> None:
    """Add one row to the trail (inside the change's `audited()` block)."""
    if target_type not in TARGET_TYPES:
        raise ValueError(f"unknown audit target type {target_type!r}")
    request_id = g.get("request_id") if has_request_context() else None
    execute(INSERT_ENTRY, {
        "actor_id": actor_id, "action": action, "target_type": target_type,
        "target_id": target_id, "request_id": request_id,
        "changes": json.dumps(changes, separators=(",", ":"), sort_keys=True, default=str),
    })


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any],
                   fields: Sequence[str]) -> dict[str, list[Any]]:
    """{field: [before, after]} for each of FIELDS whose value differs."""
    return {name: [before.get(name), after.get(name)] for name in fields
            if before.get(name) != after.get(name)}


def list_entries(page: int, per_page: int, *, actor_id: int | None = None,
                 target_type: str | None = None,
                 target_id: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the trail, newest first, and how many rows match in all."""
    params = {"actor_id": actor_id, "target_type": target_type, "target_id": target_id}
    rows, total = fetch_page(LIST_ENTRIES, COUNT_ENTRIES, params, page, per_page)
    return [to_api(row) for row in rows], total


def to_api(row: dict[str, Any]) -> dict[str, Any]:
    """The API's form of an admin_audit row (MySQL returns JSON as text or bytes)."""
    changes = row["changes"]
    if isinstance(changes, bytes | bytearray):
        changes = changes.decode()
    return {**row, "changes": json.loads(changes) if isinstance(changes, str) else changes,
            "created_at": iso_utc(row["created_at"])}
