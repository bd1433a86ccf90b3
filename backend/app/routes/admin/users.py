"""Admin: the member list, role changes and deactivation."""

from flask import Blueprint
from flask_login import current_user

from app.models.user import UserUpdateInput
from app.services import audit, users
from app.utils.auth import admin_required
from app.utils.errors import get_or_404
from app.utils.openapi import (
    PAGE_PARAMETERS,
    body_schema,
    data_response,
    operation,
    page_response,
    ref,
)
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
    with audit.audited():
        updated = users.update_user(user["id"], data)
        changes = audit.changed_fields(user, updated, ("role", "is_active"))
        audit.record(current_user.id, _action(changes), "user", user["id"], changes)
    return success(updated)


def _action(changes: dict) -> str:
    """The audit action of a member's change: what it did to the account."""
    if "is_active" in changes:
        return "user.reactivate" if changes["is_active"][1] else "user.deactivate"
    return "user.role_change" if "role" in changes else "user.update"


_one = {"200": data_response("The member", ref("User"))}
_user_id = [{"name": "user_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1}}]
OPENAPI_PATHS = {
    "/api/v1/admin/users": {
        "get": operation(
            "List the members", "Admin: members",
            {"200": page_response("Members by id", ref("User"))}, role="admin",
            errors=(400,), parameters=PAGE_PARAMETERS),
    },
    "/api/v1/admin/users/{user_id}": {
        "get": operation("Get a member", "Admin: members", _one, role="admin",
                         errors=(404,), parameters=_user_id),
        "patch": operation(
            "Change a member's role or deactivate them", "Admin: members", _one,
            role="admin",
            description="Refused (409) when it would leave no active admin. A "
                        "deactivation cuts off the member's access tokens and retires its "
                        "open verify and reset links: a reactivation brings neither back.",
            errors=(404, 409), parameters=_user_id,
            body=body_schema(UserUpdateInput, partial=True)),
    },
}
