"""The `admin` blueprint (/api/v1/admin): staff and admin routes register here."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _nest_blueprints() -> None:
    # Nested once, at import, like the api blueprint tree above it.
    from app.routes.admin import audit, events, locations, users

    bp.register_blueprint(users.bp)
    bp.register_blueprint(events.bp)
    bp.register_blueprint(locations.bp)
    bp.register_blueprint(audit.bp)


_nest_blueprints()
