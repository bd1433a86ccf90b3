"""Building blocks for the OpenAPI description each route module keeps next to its routes.

A route module exposes `OPENAPI_PATHS` (OpenAPI path -> method -> operation) and, when it
returns a resource of its own, `OPENAPI_SCHEMAS`; `app.routes.api.openapi` merges them.
Request bodies come from the pydantic input models, so validation and documentation
cannot drift apart.
"""

from typing import Any

from pydantic import BaseModel

from app.utils.pagination import DEFAULT_PER_PAGE, MAX_PAGE_ARGUMENT, MAX_PER_PAGE

Schema = dict[str, Any]

TIMESTAMP: Schema = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601"}

# Each error status, its component name and when it happens.
ERRORS = {
    400: ("BadRequest", "Malformed request: a bad query parameter, or a body that is not one "
                        "JSON object in UTF-8 (NaN, Infinity and a key repeated within an "
                        "object are refused too)"),
    401: ("Unauthorized", "No token, or an invalid, expired or revoked one"),
    403: ("Forbidden", "The token's user lacks the role this needs"),
    404: ("NotFound", "No such resource (or not visible to the caller)"),
    409: ("Conflict", "Valid, but refused by what is stored (e.g. a taken slug, an unknown "
                      "location)"),
    410: ("Gone", "The link's token was used already, retired by a later reset, or has "
                  "expired: ask for a new one"),
    414: ("URITooLong", "The request line (path and query) is longer than the site takes; "
                        "answered by nginx, before the API"),
    422: ("ValidationFailed", "The body failed validation; `errors` names each field"),
    429: ("TooManyRequests", "Rate limit hit; retry after `Retry-After` seconds"),
    503: ("ServiceUnavailable", "A dependency (database, Redis) is down; retry shortly"),
}
# Every operation can meet these: a query string past nginx's buffers, the database or
# Redis down.
ALWAYS = (414, 503)

ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {"type": "string", "description": "What went wrong, for people"},
        "errors": {
            "type": "object",
            "description": "Messages per field (`body` for the request as a whole)",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "data": {"description": "Details, where an error has some (readiness checks)"},
    },
}

PAGINATION_SCHEMA: Schema = {
    "type": "object",
    "required": ["page", "per_page", "total", "pages"],
    "properties": {
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0},
        "pages": {"type": "integer", "minimum": 0},
    },
}

# The bounds app.utils.pagination enforces: what is allowed here is accepted, the rest 400.
PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "required": False,
     "description": "Page number; past the last page the list is empty",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_ARGUMENT, "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "description": f"Items per page; above {MAX_PER_PAGE} it is lowered to {MAX_PER_PAGE}",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_ARGUMENT,
                "default": DEFAULT_PER_PAGE}},
]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def slug_parameter(description: str) -> dict[str, Any]:
    return {"name": "slug", "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "maxLength": 64}}


def data_response(description: str, data: Schema) -> dict[str, Any]:
    """A success envelope whose `data` is `data`."""
    return _json(description, {
        "type": "object",
        "required": ["success", "data"],
        "properties": {"success": {"const": True}, "data": data},
    })


def page_response(description: str, item: Schema) -> dict[str, Any]:
    """A success envelope with a list of `item` and `meta.pagination`."""
    return _json(description, {
        "type": "object",
        "required": ["success", "data", "meta"],
        "properties": {
            "success": {"const": True},
            "data": {"type": "array", "items": item},
            "meta": {"type": "object", "required": ["pagination"],
                     "properties": {"pagination": ref("Pagination")}},
        },
    })


NO_CONTENT = {"description": "Done; no body"}


def body_schema(model: type[BaseModel], partial: bool = False) -> dict[str, Any]:
    """A request body described by `model`'s JSON schema (every field optional if partial)."""
    schema = model.model_json_schema()
    if partial:
        schema.pop("required", None)
        schema["description"] = "Only the fields to change; the rest stay as they are."
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def operation(summary: str, tag: str, responses: dict[str, Any], *, role: str | None = None,
              errors: tuple[int, ...] = (), description: str | None = None,
              parameters: list[dict[str, Any]] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One operation; `role` (user, staff, admin) adds bearer auth and its 401/403."""
    codes = set(errors) | set(ALWAYS)
    if body is not None:
        codes |= {400, 422}
    if role is not None:
        codes |= {401} if role == "user" else {401, 403}
    op: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if description or role:
        needs = f"Needs a bearer token of a {role} (or higher)." if role else ""
        op["description"] = " ".join(part for part in (description, needs) if part)
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    if role is not None:
        op["security"] = [{"bearerAuth": []}]
    op["responses"] = {**responses, **{str(code): {"$ref": f"#/components/responses/"
                                                          f"{ERRORS[code][0]}"}
                                       for code in sorted(codes)}}
    return op


def components() -> dict[str, Any]:
    """The schemas, responses and security scheme every module's operations refer to."""
    responses = {
        name: {"description": text,
               "content": {"application/json": {"schema": ref("Error")}}}
        for name, text in ERRORS.values()
    }
    return {
        "schemas": {"Error": ERROR_SCHEMA, "Pagination": PAGINATION_SCHEMA},
        "responses": responses,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The access_token from POST /api/v1/auth/login"},
        },
    }


def _json(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
