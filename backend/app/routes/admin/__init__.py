"""The `admin` blueprint (/api/v1/admin): staff and admin routes register here."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
