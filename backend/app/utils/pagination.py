"""`?page=&per_page=` for every list endpoint: parsed, bounded, errors per field."""

from flask import request

from app.utils.validation import ValidationFailed

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# The largest page and per_page taken (nine digits): a number beyond that is a typo or an
# attack, not a page. The OpenAPI description states the same bounds (PAGE_PARAMETERS).
MAX_PAGE_ARGUMENT = 999_999_999


def page_args(default_per_page: int = DEFAULT_PER_PAGE,
              max_per_page: int = MAX_PER_PAGE) -> tuple[int, int]:
    """Return (page, per_page) from the query string; 400 naming the bad parameter.

    per_page above the cap is lowered to it (meta.pagination shows the value used).
    """
    errors: dict[str, list[str]] = {}
    page = positive_int_arg("page", 1, errors)
    per_page = min(positive_int_arg("per_page", default_per_page, errors), max_per_page)
    if errors:
        raise ValidationFailed(errors, status=400, message="Invalid pagination")
    return page, per_page


def positive_int_arg(name: str, default: int | None,
                     errors: dict[str, list[str]]) -> int | None:
    """Query parameter NAME as a whole number from 1 to MAX_PAGE_ARGUMENT (DEFAULT when
    absent); a bad value adds its message to ERRORS and gives DEFAULT."""
    raw = request.args.get(name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() is also true of "²" (which int() refuses) and of
    # other scripts' digits. Leading zeros are still the same number, so only the digits
    # after them reach int(): it refuses strings of over 4300 digits, zeros included.
    digits = raw.lstrip("0")
    if (not (raw.isascii() and raw.isdigit()) or len(digits) > len(str(MAX_PAGE_ARGUMENT))
            or not 1 <= int(digits or "0") <= MAX_PAGE_ARGUMENT):
        errors[name] = [f"must be a whole number from 1 to {MAX_PAGE_ARGUMENT}"]
        return default
    return int(digits)
