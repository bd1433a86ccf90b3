"""The query string of the audit trail: `?actor_id=&target_type=&target_id=`."""

from dataclasses import dataclass

from flask import request

from app.utils.pagination import MAX_PAGE_ARGUMENT, positive_int_arg
from app.utils.validation import ValidationFailed

# What an audit row's target may be.
TARGET_TYPES = ("user", "event", "location")


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    target_type: str | None = None
    target_id: int | None = None

    @classmethod
    def from_query(cls) -> "AuditFilters":
        """Parse this request's query string; 400 naming each bad parameter."""
        errors: dict[str, list[str]] = {}
        actor_id = positive_int_arg("actor_id", None, errors)
        target_id = positive_int_arg("target_id", None, errors)
        target_type = request.args.get("target_type")
        if target_type is not None and target_type not in TARGET_TYPES:
            errors["target_type"] = [f"must be one of {', '.join(TARGET_TYPES)}"]
        if errors:
            raise ValidationFailed(errors, status=400, message="Invalid query parameters")
        return cls(actor_id, target_type, target_id)


_ID = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_ARGUMENT}
# The OpenAPI parameters of what AuditFilters takes; anything else is a 400.
FILTER_PARAMETERS = [
    {"name": "actor_id", "in": "query", "required": False,
     "description": "Only the changes made by this member's id", "schema": _ID},
    {"name": "target_type", "in": "query", "required": False,
     "description": "Only the changes to this kind of thing",
     "schema": {"type": "string", "enum": list(TARGET_TYPES)}},
    {"name": "target_id", "in": "query", "required": False,
     "description": "Only the changes to the thing of this id (with target_type, one "
                    "member, event or location)", "schema": _ID},
]
