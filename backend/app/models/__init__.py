"""Plain data classes for rows and the request models that validate input."""
