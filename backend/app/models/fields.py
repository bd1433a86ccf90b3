"""Field types shared by the request models of locations and events."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 64
TEXT_MAX = 10_000
# The years a time may be written in: ones MariaDB's DATETIME holds and a club plausibly
# schedules; beyond them is a typo. The rule is on the year as written, so the OpenAPI
# description can state it as a pattern; in UTC a stored time may lie up to a day (the
# largest offset, 23:59) before EARLIEST or after LATEST.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(9999, 1, 1)
_STORED_EARLIEST, _STORED_LATEST = EARLIEST - timedelta(days=1), LATEST + timedelta(days=1)

# The rules of the one-line and text fields as JSON Schema patterns (ECMA 262, read the
# same by Python's re): the description publishes them and the validators check them.
_LINE_CONTROLS = r"\x00-\x1f\x7f"
_TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
# What str.isspace() calls whitespace, less the control characters: a line of only these
# is blank.
_BLANKS = r" \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SINGLE_LINE_PATTERN = rf"^[^{_LINE_CONTROLS}]*[^{_LINE_CONTROLS}{_BLANKS}][^{_LINE_CONTROLS}]*$"
TEXT_PATTERN = rf"^[^{_TEXT_CONTROLS}]*$"
# RFC 3339's date-time (`format: date-time`) with an upper-case T and Z, in the years
# EARLIEST.year to LATEST.year - 1 (1970-9998). Matched whole (fullmatch), Python's re
# reads these patterns as ECMA 262 does.
_DATETIME = (r"^YEAR-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
             r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
             r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
_YEARS = r"(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
DATETIME_PATTERN = _DATETIME.replace("YEAR", _YEARS)

_SLUG_RE = re.compile(SLUG_PATTERN)
_CONTROL_IN_LINE = re.compile(f"[{_LINE_CONTROLS}]")
_SINGLE_LINE_RE = re.compile(SINGLE_LINE_PATTERN)
_TEXT_RE = re.compile(TEXT_PATTERN)
_ANY_YEAR_DATETIME_RE = re.compile(_DATETIME.replace("YEAR", "[0-9]{4}"))
_DATETIME_RE = re.compile(DATETIME_PATTERN)


def _single_line(value: str) -> str:
    # A title or name is shown on one line: control characters only ever garble it.
    if _CONTROL_IN_LINE.search(value):
        raise ValueError("must not contain control characters or line breaks")
    if not _SINGLE_LINE_RE.fullmatch(value):
        raise ValueError("must not be blank")
    return value


def _text(value: str) -> str:
    if not _TEXT_RE.fullmatch(value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


def _integral(value: object) -> object:
    # JSON does not tell 5 from 5.0, nor does JSON Schema's "integer": the API takes both.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# pydantic alone would also read numbers as Unix timestamps ("0.5"): the API takes
# ISO 8601 text only.
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_NOT_A_TIME = "must be an ISO 8601 date and time with a time zone"


def _iso_8601(value: object) -> object:
    if not isinstance(value, str):
        return value  # a datetime from code, or a wrong type pydantic reports
    if not _ISO_DATETIME.match(value):
        raise ValueError(_NOT_A_TIME)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(_NOT_A_TIME) from None


def _rfc_3339(value: object) -> object:
    """A time to store, as written: exactly DATETIME_PATTERN, on a real calendar day."""
    if isinstance(value, str):
        if not _ANY_YEAR_DATETIME_RE.fullmatch(value):
            raise ValueError(f"{_NOT_A_TIME}, e.g. 2026-05-01T20:00:00Z")
        if not _DATETIME_RE.fullmatch(value):
            raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return _iso_8601(value)


def _utc_naive(value: datetime) -> datetime:
    """Convert to UTC and drop the zone and microseconds: the form DATETIME columns store."""
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _utc_naive_bound(value: datetime) -> datetime:
    """A search bound (`?from=`, `?to=`) in the stored form, clamped to the stored range.

    No event lies outside that range (a day past either end of EARLIEST..LATEST), so a
    bound beyond it selects exactly what the range's own end would: any RFC 3339 date-time
    (years 0001-9999, as the OpenAPI description allows) is a valid bound, where a time
    to store is refused outside its years.
    """
    try:
        utc = value.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    except OverflowError:  # year 1 or 9999 shifted past datetime's range by its offset
        return _STORED_EARLIEST if value.year <= EARLIEST.year else _STORED_LATEST
    return min(max(utc, _STORED_EARLIEST), _STORED_LATEST)


def is_slug(value: str) -> bool:
    """True for a well-formed slug (the collation would match "JAZZ-CLUB" to "jazz-club")."""
    return len(value) <= SLUG_MAX and _SLUG_RE.fullmatch(value) is not None


def integer(*, gt: int | None = None, ge: int | None = None, le: int | None = None) -> type[int]:
    """A JSON integer within the bounds given, 5.0 included (see _integral).

    The bounds come before the validator, or pydantic would leave them out of the JSON
    schema's vocabulary (`gt` where JSON Schema says `exclusiveMinimum`).
    """
    return Annotated[int, Field(gt=gt, ge=ge, le=le), BeforeValidator(_integral)]


def single_line(max_length: int) -> type[str]:
    """A non-blank one-line string of at most `max_length` characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length,
                                json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
                     AfterValidator(_single_line)]


Slug = Annotated[str, Field(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)]
Text = Annotated[str, Field(max_length=TEXT_MAX, json_schema_extra={"pattern": TEXT_PATTERN}),
                 AfterValidator(_text)]
HexColour = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$", examples=["#6B3FA0"])]
# RFC 3339 with a time zone in (DATETIME_PATTERN); naive UTC out to the service.
UtcDatetime = Annotated[AwareDatetime, Field(json_schema_extra={"pattern": DATETIME_PATTERN}),
                        BeforeValidator(_rfc_3339), AfterValidator(_utc_naive)]
# ISO 8601 with a time zone in, as a bound of a search: never out of range (see
# _utc_naive_bound).
UtcBound = Annotated[AwareDatetime, BeforeValidator(_iso_8601),
                     AfterValidator(_utc_naive_bound)]


def iso_utc(value: datetime | None) -> str | None:
    """Format a stored (naive UTC) DATETIME for the API."""
    return value.isoformat() + "Z" if value else None


def as_written(stored: str) -> str:
    """A time in the API's form (iso_utc) as UtcDatetime takes it back, for a PATCH.

    In UTC, unless that falls a day outside the years a time may be written in: then at
    the largest offset, which brings it back into them (it was written so).
    """
    value = datetime.fromisoformat(stored).replace(tzinfo=None)
    if value < EARLIEST:
        return (value + timedelta(hours=23, minutes=59)).isoformat() + "+23:59"
    if value >= LATEST:
        return (value - timedelta(hours=23, minutes=59)).isoformat() + "-23:59"
    return value.isoformat() + "Z"
