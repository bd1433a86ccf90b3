"""The OpenAPI description of the member routes: auth (/auth) and user admin (/admin/users).

Kept apart from their views so the two can be written side by side; the request bodies
still come from the same pydantic models the views validate with.
"""

from app.models.user import ROLES, LoginInput, RegisterInput, UserUpdateInput
from app.utils.openapi import (
    NO_CONTENT,
    PAGE_PARAMETERS,
    body_schema,
    data_response,
    operation,
    page_response,
    ref,
)

_timestamp = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601"}
OPENAPI_SCHEMAS = {
    "User": {
        "type": "object",
        "description": "A member (never with the password hash).",
        "required": ["id", "email", "username", "role", "is_active"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string", "format": "email"},
            "username": {"type": "string"},
            "role": {"type": "string", "enum": list(ROLES)},
            "is_active": {"type": "boolean"},
            "last_login_at": {**_timestamp, "type": ["string", "null"]},
            "created_at": _timestamp,
            "updated_at": _timestamp,
        },
    },
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "user"],
        "properties": {
            "access_token": {"type": "string", "description": "A JWT (HS256)"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "description": "Seconds until it expires"},
            "user": ref("User"),
        },
    },
}

_user = {"200": data_response("The member", ref("User"))}
_user_id = [{"name": "user_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1}}]
OPENAPI_PATHS = {
    "/api/v1/auth/register": {
        "post": operation(
            "Become a member", "Auth",
            {"201": data_response("The new member", ref("User"))},
            description="Email and username must be free (409). A welcome email follows. "
                        "Rate limited per client address.",
            errors=(409, 429), body=body_schema(RegisterInput)),
    },
    "/api/v1/auth/login": {
        "post": operation(
            "Log in for a bearer token", "Auth",
            {"200": data_response("A token for the Authorization header", ref("Token"))},
            description="An unknown email and a wrong password get the same 401; a "
                        "deactivated account gets 403. Rate limited per client address.",
            errors=(401, 403, 429), body=body_schema(LoginInput)),
    },
    "/api/v1/auth/logout": {
        "post": operation("Revoke the token of this request", "Auth",
                          {"204": NO_CONTENT}, role="user", errors=(429,),
                          description="Rate limited per client address by nginx, as all "
                                      "of /auth."),
    },
    "/api/v1/auth/me": {
        "get": operation("Get the member of this token", "Auth", _user, role="user",
                         errors=(429,),
                         description="Rate limited per client address by nginx, as all "
                                     "of /auth."),
    },
    "/api/v1/admin/users": {
        "get": operation(
            "List the members", "Admin: members",
            {"200": page_response("Members by id", ref("User"))}, role="admin",
            errors=(400,), parameters=PAGE_PARAMETERS),
    },
    "/api/v1/admin/users/{user_id}": {
        "get": operation("Get a member", "Admin: members", _user, role="admin",
                         errors=(404,), parameters=_user_id),
        "patch": operation(
            "Change a member's role or deactivate them", "Admin: members", _user,
            role="admin",
            description="Refused (409) when it would leave no active admin.",
            errors=(404, 409), parameters=_user_id,
            body=body_schema(UserUpdateInput, partial=True)),
    },
}
