"""SQL plumbing shared by the services."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mysql.connector import errorcode
from mysql.connector.errors import IntegrityError

from app.utils.db import fetch_all, fetch_one
from app.utils.validation import ConflictError


def fetch_page(query: str, count_query: str, params: dict[str, Any], page: int,
               per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Return (rows, total) for `page`.

    `query` ends in `LIMIT %(limit)s OFFSET %(offset)s`. A page with fewer rows than
    `per_page` is the last one, so its rows give the total and the list costs one query;
    only a full page or one past the end runs `count_query` (same WHERE, same `params`).
    A separate COUNT is cheaper for the server than `COUNT(*) OVER ()` on every row.
    """
    offset = (page - 1) * per_page
    rows = fetch_all(query, {**params, "limit": per_page, "offset": offset})
    if 0 < len(rows) < per_page or (page == 1 and not rows):
        return rows, offset + len(rows)
    return rows, fetch_one(count_query, params)["total"]


@contextmanager
def slug_clash_is_conflict() -> Iterator[None]:
    """Turn a duplicate-key error (the only unique key written is the slug) into a 409."""
    try:
        yield
    except IntegrityError as exc:
        if exc.errno != errorcode.ER_DUP_ENTRY:
            raise
        raise ConflictError(errors={"slug": ["is already taken"]}) from None
