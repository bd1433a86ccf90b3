"""Locations: the input model of the admin's writes."""

from app.models.fields import HexColour, Slug, Text, integer, single_line
from app.utils.validation import Input

CAPACITY_MAX = 1_000_000
SORT_ORDER_LIMIT = 1_000_000

Name = single_line(100)
MoodCategory = single_line(40)
Capacity = integer(gt=0, le=CAPACITY_MAX)
SortOrder = integer(ge=-SORT_ORDER_LIMIT, le=SORT_ORDER_LIMIT)


class LocationInput(Input):
    """A location as an admin creates it (POST) or replaces it (PUT)."""

    slug: Slug
    name: Name
    description: Text | None = None
    capacity: Capacity | None = None
    sort_order: SortOrder = 0
    is_active: bool = True
    mood_category: MoodCategory | None = None
    theme_primary: HexColour | None = None
    theme_secondary: HexColour | None = None
    theme_accent: HexColour | None = None
