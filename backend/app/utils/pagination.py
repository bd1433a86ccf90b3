"""`?page=&per_page=` for every list endpoint: parsed, bounded, errors per field."""

from flask import request

from app.utils.validation import ValidationFailed

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def page_args(default_per_page: int = DEFAULT_PER_PAGE,
              max_per_page: int = MAX_PER_PAGE) -> tuple[int, int]:
    """Return (page, per_page) from the query string; 400 naming the bad parameter.

    per_page above the cap is lowered to it (meta.pagination shows the value used).
    """
    errors: dict[str, list[str]] = {}
    page = _positive_int("page", 1, errors)
    per_page = min(_positive_int("per_page", default_per_page, errors), max_per_page)
    if errors:
        raise ValidationFailed(errors, status=400, message="Invalid pagination")
    return page, per_page


def _positive_int(name: str, default: int, errors: dict[str, list[str]]) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # At most 9 digits: a page number beyond that is a typo or an attack, not a page.
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        errors[name] = ["must be a positive whole number"]
        return default
    return int(raw)
