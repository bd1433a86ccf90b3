"""Admin: the audit trail of every admin and staff write, newest first."""

from flask import Blueprint

from app.models.audit import FILTER_PARAMETERS, TARGET_TYPES, AuditFilters
from app.services import audit
from app.utils.auth import admin_required
from app.utils.openapi import PAGE_PARAMETERS, TIMESTAMP, operation, page_response, ref
from app.utils.pagination import page_args
from app.utils.responses import paginated

bp = Blueprint("admin_audit", __name__, url_prefix="/audit")


@bp.get("")
@admin_required
def list_audit():
    page, per_page = page_args()
    filters = AuditFilters.from_query()
    items, total = audit.list_entries(page, per_page, actor_id=filters.actor_id,
                                      target_type=filters.target_type,
                                      target_id=filters.target_id)
    return paginated(items, page, per_page, total)


OPENAPI_SCHEMAS = {
    "AuditEntry": {
        "type": "object",
        "description": "One admin or staff write.",
        "required": ["id", "actor_id", "action", "target_type", "target_id", "changes",
                     "request_id", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "actor_id": {"type": ["integer", "null"],
                         "description": "The member who made it (null once deleted)"},
            "action": {"type": "string",
                       "description": "`<target_type>.<verb>`: user.role_change, "
                                      "user.deactivate, user.reactivate, user.update; "
                                      "event.create, .update, .publish, .unpublish, "
                                      ".delete; location.create, .update, .deactivate"},
            "target_type": {"type": "string", "enum": list(TARGET_TYPES)},
            "target_id": {"type": "integer"},
            "changes": {"type": "object",
                        "description": "`{field: [before, after]}` for a change; the "
                                       "fields of what was created; what identified "
                                       "what was deleted"},
            "request_id": {"type": ["string", "null"],
                           "description": "The X-Request-ID of the request, as logged"},
            "created_at": TIMESTAMP,
        },
    },
}

OPENAPI_PATHS = {
    "/api/v1/admin/audit": {
        "get": operation(
            "List the audit trail", "Admin: audit",
            {"200": page_response("Admin and staff writes, newest first", ref("AuditEntry"))},
            role="admin", errors=(400,), parameters=PAGE_PARAMETERS + FILTER_PARAMETERS),
    },
}
