"""SQL plumbing shared by the venue and event services."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mysql.connector import errorcode
from mysql.connector.errors import IntegrityError

from app.utils.db import get_cursor
from app.utils.validation import ValidationFailed


def fetch_page(query: str, count_query: str, params: dict[str, Any], page: int,
               per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Return (rows, total) for `page`.

    `query` selects `COUNT(*) OVER () AS total` and ends in
    `LIMIT %(limit)s OFFSET %(offset)s`, so a page with rows costs one round trip. Only a
    page past the end, which has no row to carry the total, runs `count_query` (same WHERE,
    same `params`).
    """
    with get_cursor() as cursor:
        cursor.execute(query, {**params, "limit": per_page, "offset": (page - 1) * per_page})
        rows = cursor.fetchall()
        if rows:
            total = rows[0]["total"]
        else:
            cursor.execute(count_query, params)
            total = cursor.fetchall()[0]["total"]
    for row in rows:
        del row["total"]
    return rows, total


@contextmanager
def slug_clash_is_conflict() -> Iterator[None]:
    """Turn a duplicate-key error (the only unique key written is the slug) into a 409."""
    try:
        yield
    except IntegrityError as exc:
        if exc.errno != errorcode.ER_DUP_ENTRY:
            raise
        raise ValidationFailed({"slug": ["is already taken"]}, status=409,
                               message="Conflict") from None
