"""Admin: the member list, role changes and deactivation."""

from flask import Blueprint

from app.models.user import UserUpdateInput
from app.services import users
from app.utils.auth import admin_required
from app.utils.pagination import page_args
from app.utils.request_body import json_body
from app.utils.responses import conflict, not_found, paginated, success
from app.utils.validation import validate

bp = Blueprint("admin_users", __name__, url_prefix="/users")


@bp.get("")
@admin_required
def list_users():
    page, per_page = page_args()
    items, total = users.list_users(page, per_page)
    return paginated([user.to_dict() for user in items], page, per_page, total)


@bp.get("/<int:user_id>")
@admin_required
def get_user(user_id: int):
    user = users.get_user(user_id)
    return success(user.to_dict()) if user else not_found("No such user")


@bp.patch("/<int:user_id>")
@admin_required
def update_user(user_id: int):
    data = validate(UserUpdateInput, json_body())
    try:
        user = users.update_user(user_id, data.role, data.is_active)
    except users.LastAdminError as exc:
        return conflict(f"Refused: {exc}")
    return success(user.to_dict()) if user else not_found("No such user")
