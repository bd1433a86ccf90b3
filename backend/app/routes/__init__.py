"""HTTP routes: the public API and its admin part, all under /api/v1."""
