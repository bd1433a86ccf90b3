"""Sessions: log in, log out, who am I (sign-up and recovery: app.routes.api.account)."""

from flask import Blueprint
from flask_login import current_user

from app.models.user import ROLES, LoginInput
from app.services import tokens, users
from app.services.passwords import hash_password, needs_rehash, verify_password
from app.utils.auth import current_token_claims, login_required
from app.utils.login_limit import limit_failed_logins
from app.utils.openapi import NO_CONTENT, TIMESTAMP, body_schema, data_response, operation, ref
from app.utils.rate_limit import per_client
from app.utils.request_body import json_body
from app.utils.responses import error, no_content, success, unauthorized
from app.utils.validation import validate

bp = Blueprint("auth", __name__, url_prefix="/auth")

BAD_CREDENTIALS = "Invalid email or password"
# Said only to whoever knows the password: it reveals nothing the owner does not know.
NOT_VERIFIED = ("E-mail address not verified: follow the link in the mail the club sent, "
                "or ask for a new one (POST /api/v1/auth/verify/resend)")


@bp.post("/login")
@per_client("RATELIMIT_LOGIN")
@limit_failed_logins
def login():
    data = validate(LoginInput, json_body())
    record = users.get_login_record(data.email.lower())
    # Unknown email and wrong password take the same path, time and answer.
    if not verify_password(record["password_hash"] if record else None, data.password):
        return unauthorized(BAD_CREDENTIALS)
    if not record["is_active"]:
        return error("Account is deactivated", 403)
    if record["email_verified_at"] is None:
        return error(NOT_VERIFIED, 403)
    new_hash = hash_password(data.password) if needs_rehash(record["password_hash"]) else None
    users.record_login(record["id"], new_hash)
    token, lifetime = tokens.issue_token(record["id"])
    return success({"access_token": token, "token_type": "Bearer", "expires_in": lifetime,
                    "user": users.get_user(record["id"])})


@bp.post("/logout")
@login_required
def logout():
    tokens.revoke(current_token_claims())
    return no_content()


@bp.get("/me")
@login_required
def me():
    return success(current_user.to_dict())


OPENAPI_SCHEMAS = {
    "User": {
        "type": "object",
        "description": "A member (never with the password hash).",
        "required": ["id", "email", "username", "role", "is_active", "email_verified_at"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string", "format": "email"},
            "username": {"type": "string"},
            "role": {"type": "string", "enum": list(ROLES)},
            "is_active": {"type": "boolean"},
            "email_verified_at": {**TIMESTAMP, "type": ["string", "null"],
                                  "description": "When the address was verified (null: "
                                                 "not yet; the member cannot log in)"},
            "last_login_at": {**TIMESTAMP, "type": ["string", "null"]},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
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
OPENAPI_PATHS = {
    "/api/v1/auth/login": {
        "post": operation(
            "Log in for a bearer token", "Auth",
            {"200": data_response("A token for the Authorization header", ref("Token"))},
            description="An unknown email and a wrong password get the same 401; a "
                        "deactivated account, or one whose address is not verified yet, "
                        "gets 403 (said only after the right password). Rate limited per "
                        "client address (an IPv6 client per /64), and per account: after too "
                        "many failed logins from anywhere the e-mail gets 429 until the "
                        "window ends (registered or not); a successful login clears the "
                        "count.",
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
}
