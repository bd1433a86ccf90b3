"""Input validation: pydantic models in, `{"field": ["message"]}` out.

Models derive from `Input`: unknown fields are refused and types are strict (JSON's
types, no coercion of "5" to 5 or "true" to True), so a client learns of every mistake
instead of having it silently fixed.
"""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from app.utils.responses import MESSAGES as STATUS_MESSAGES

M = TypeVar("M", bound=BaseModel)

# Plainer words for the pydantic error types clients meet most.
MESSAGES = {
    "extra_forbidden": "Unknown field",
    "missing": "This field is required",
}


class Input(BaseModel):
    """Base of every request model."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ValidationFailed(Exception):
    """Input was refused; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]], status: int = 422,
                 message: str = STATUS_MESSAGES[422]) -> None:
        super().__init__(message)
        self.errors = errors
        self.status = status
        self.message = message


class ConflictError(ValidationFailed):
    """The request clashes with what is stored (409): a taken slug, email or username, or
    a change the site's rules refuse; `errors` names the fields where there are some."""

    def __init__(self, message: str = STATUS_MESSAGES[409],
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(errors or {}, status=409, message=message)


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = MESSAGES.get(error["type"], error["msg"])
        # pydantic prefixes custom validator messages with "Value error, ".
        message = message.removeprefix("Value error, ")
        errors.setdefault(field, []).append(message)
    return errors


def validate(model: type[M], data: Any, status: int = 422) -> M:
    """Return `data` parsed as `model`, or raise ValidationFailed with field errors."""
    try:
        return model.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc), status=status) from None


def validate_update(model: type[M], current: dict[str, Any], body: dict[str, Any],
                    partial: bool) -> M:
    """The new state a PUT (`partial` False) or PATCH asks for, validated as a whole.

    A PUT's body is the whole new state; a PATCH's replaces some of `current`'s fields,
    and the result is validated together (so a PATCHed end time is checked against the
    stored start time).
    """
    return validate(model, {**current, **body} if partial else body)
