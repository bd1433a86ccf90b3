"""Admin: the member list, role changes and deactivation."""

from flask import Blueprint

from app.models.user import UserUpdateInput
from app.services import users
from app.utils.auth import admin_required
from app.utils.errors import get_or_404
from app.utils.pagination import page_args
from app.utils.request_body import json_body
from app.utils.responses import paginated, success
from app.utils.validation import validate

bp = Blueprint("admin_users", __name__, url_prefix="/users")


@bp.get("")
@admin_required
def list_users():
    page, per_page = page_args()
    items, total = users.list_users(page, per_page)
    return paginated(items, page, per_page, total)


@bp.get("/<int:user_id>")
@admin_required
def get_user(user_id: int):
    return success(get_or_404(users.get_user(user_id), "user"))


@bp.patch("/<int:user_id>")
@admin_required
def update_user(user_id: int):
    data = validate(UserUpdateInput, json_body())
    user = get_or_404(users.get_user(user_id), "user")
    return success(users.update_user(user["id"], data))
