"""The `api` blueprint (/api/v1) and the blueprints nested under it."""

from flask import Blueprint, Flask

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _nest_blueprints() -> None:
    # Nested once, at import: one blueprint tree serves every app the factory makes.
    from app.routes import admin
    from app.routes.api import account, auth, events, health, locations, openapi

    api_bp.register_blueprint(health.bp)
    api_bp.register_blueprint(auth.bp)
    api_bp.register_blueprint(account.bp)
    api_bp.register_blueprint(locations.bp)
    api_bp.register_blueprint(events.bp)
    api_bp.register_blueprint(openapi.bp)
    api_bp.register_blueprint(admin.bp)


_nest_blueprints()


def register_api_routes(app: Flask) -> None:
    app.register_blueprint(api_bp)
