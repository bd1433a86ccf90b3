"""Field types shared by the request models of locations and events."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 64
TEXT_MAX = 10_000
# Dates MariaDB's DATETIME holds and a club plausibly schedules; beyond them is a typo.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(9999, 1, 1)

_SLUG_RE = re.compile(SLUG_PATTERN)
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _single_line(value: str) -> str:
    # A title or name is shown on one line: control characters only ever garble it.
    if _CONTROL_IN_LINE.search(value):
        raise ValueError("must not contain control characters or line breaks")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


# pydantic alone would also read numbers as Unix timestamps ("0.5"): the API takes
# ISO 8601 text only.
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    if not isinstance(value, str):
        return value  # a datetime from code, or a wrong type pydantic reports
    if not _ISO_DATETIME.match(value):
        raise ValueError("must be an ISO 8601 date and time with a time zone")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date and time with a time zone") from None


def _utc_naive(value: datetime) -> datetime:
    """Convert to UTC and drop the zone and microseconds: the form DATETIME columns store."""
    try:
        utc = value.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    except OverflowError:  # e.g. year 9999 at a negative offset is past datetime.max in UTC
        raise ValueError("is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return utc


def _utc_naive_bound(value: datetime) -> datetime:
    """A search bound (`?from=`, `?to=`) in the stored form, clamped to [EARLIEST, LATEST].

    No event lies outside that range, so a bound beyond it selects exactly what the range's
    own end would: any RFC 3339 date-time (years 0001-9999, as the OpenAPI description
    allows) is a valid bound, where a stored time outside the range is refused.
    """
    try:
        utc = value.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    except OverflowError:  # year 1 or 9999 shifted past datetime's range by its offset
        return EARLIEST if value.year <= EARLIEST.year else LATEST
    return min(max(utc, EARLIEST), LATEST)


def is_slug(value: str) -> bool:
    """True for a well-formed slug (the collation would match "JAZZ-CLUB" to "jazz-club")."""
    return len(value) <= SLUG_MAX and _SLUG_RE.fullmatch(value) is not None


def single_line(max_length: int) -> type[str]:
    """A non-blank one-line string of at most `max_length` characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length),
                     AfterValidator(_single_line)]


Slug = Annotated[str, Field(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)]
Text = Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(_text)]
HexColour = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$", examples=["#6B3FA0"])]
# ISO 8601 with a time zone in; naive UTC out to the service (see _utc_naive).
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(_utc_naive)]
# The same text in, as a bound of a search: never out of range (see _utc_naive_bound).
UtcBound = Annotated[AwareDatetime, BeforeValidator(_iso_8601),
                     AfterValidator(_utc_naive_bound)]


def iso_utc(value: datetime | None) -> str | None:
    """Format a stored (naive UTC) DATETIME for the API."""
    return value.isoformat() + "Z" if value else None
