"""Events: the input model of the staff's writes and the filters of the lists."""

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from app.models.fields import SLUG_MAX, SLUG_PATTERN, Slug, Text, UtcBound, UtcDatetime, single_line
from app.utils.validation import Input, ValidationFailed, field_errors

EVENT_TYPES = ("concert", "dj-set", "live-session", "jam-session", "listening-party", "talk",
               "other")
EventType = Literal[EVENT_TYPES]
Title = single_line(200)


class EventInput(Input):
    """An event as staff create it (POST) or replace it (PUT); unpublished until published."""

    slug: Slug
    title: Title
    description: Text | None = None
    event_type: EventType
    location: Slug  # the location's slug
    starts_at: UtcDatetime
    ends_at: UtcDatetime = Field(description="After starts_at (in a PATCH, after the start "
                                             "it leaves or sets)")

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")  # absent when starts_at itself was refused
        if starts_at is not None and value <= starts_at:
            raise ValueError("must be after starts_at")
        return value


class EventFilters(BaseModel):
    """The query string of the event lists: `?location=<slug>&from=&to=` (ISO 8601)."""

    # Query strings are text: parse "2026-05-01T20:00:00Z" leniently, ignore page/per_page.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    location: Slug | None = None
    # Two independent bounds, as the OpenAPI description has them: events ending at or
    # after `from` and starting before `to`. A `to` at or before `from` is no mistake the
    # description could state; it asks for the events running throughout [to, from].
    ends_from: UtcBound | None = Field(None, alias="from")
    starts_before: UtcBound | None = Field(None, alias="to")

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> "EventFilters":
        """Parse a query string; 400 naming each bad parameter."""
        try:
            return cls.model_validate(dict(args))
        except ValidationError as exc:
            raise ValidationFailed(field_errors(exc), status=400,
                                   message="Invalid query parameters") from None


# The OpenAPI parameters of what EventFilters takes: a slug (anything else is a 400), and
# two independent date-time bounds (any year; one before 1970 or after 9998 matches as that
# end of the range would).
FILTER_PARAMETERS = [
    {"name": "location", "in": "query", "required": False,
     "description": "A location's slug. An unknown location matches no event: the list is "
                    "empty.",
     "schema": {"type": "string", "minLength": 1, "maxLength": SLUG_MAX,
                "pattern": SLUG_PATTERN}},
    {"name": "from", "in": "query", "required": False,
     "description": "ISO 8601 with a time zone (`Z` or an offset, `+` sent as `%2B`): "
                    "events ending at or after it.",
     "schema": {"type": "string", "format": "date-time"}},
    {"name": "to", "in": "query", "required": False,
     "description": "ISO 8601 with a time zone: events starting before it. At or before "
                    "`from`, the events running throughout that span.",
     "schema": {"type": "string", "format": "date-time"}},
]
