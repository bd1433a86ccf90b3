"""Business logic: plain functions over the db helpers, returning dicts."""
