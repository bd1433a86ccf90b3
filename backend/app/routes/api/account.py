"""The member's own account: sign up, verify the address, recover and change the
password, log out everywhere.

Nothing here tells whether an address has an account: register, resend and reset-request
answer the same 202 for any address (the mail, if any, goes to the address's owner).
Usernames are public, so a taken one is a 409.
"""

from flask import Blueprint
from flask_login import current_user

from app.models.user import (
    EmailInput,
    PasswordChangeInput,
    RegisterInput,
    ResetInput,
    VerifyInput,
)
from app.services import accounts
from app.services.account_tokens import TokenGone, TokenUnknown
from app.utils.auth import login_required
from app.utils.login_limit import limit_failed_password_changes
from app.utils.openapi import NO_CONTENT, body_schema, data_response, operation, ref
from app.utils.rate_limit import per_client_and_account
from app.utils.request_body import json_body
from app.utils.responses import accepted, error, no_content, success
from app.utils.validation import validate

bp = Blueprint("account", __name__, url_prefix="/auth")

SIGNED_UP = ("Thank you. If the address can take a new account, a mail with a link to "
             "confirm it is on its way; the link works for 24 hours.")
RESENT = "If the address has an account waiting for its confirmation, a new link is on its way."
RESET_SENT = ("If the address has an account, a mail with a link to set a new password is on "
              "its way.")
# Answers about a link, no secrets.
UNKNOWN_TOKEN = "Unknown link token"  # noqa: S105
GONE_TOKEN = "This link was used already or has expired"  # noqa: S105


def _neutral(message: str):
    return accepted({"message": message})


@bp.post("/register")
@per_client_and_account("RATELIMIT_REGISTER", "RATELIMIT_REGISTER_ACCOUNT")
def register():
    data = validate(RegisterInput, json_body())
    accounts.check_password(data.password, data.email, data.username)
    accounts.sign_up(data.email, data.username, data.password)
    return _neutral(SIGNED_UP)


@bp.post("/verify")
def verify():
    data = validate(VerifyInput, json_body())
    try:
        return success(accounts.verify(data.token))
    except TokenUnknown:
        return error(UNKNOWN_TOKEN, 404)
    except TokenGone:
        return error(GONE_TOKEN, 410)


@bp.post("/verify/resend")
@per_client_and_account("RATELIMIT_RESEND", "RATELIMIT_RESEND_ACCOUNT")
def resend_verification():
    data = validate(EmailInput, json_body())
    accounts.resend_verification(data.email)
    return _neutral(RESENT)


@bp.post("/reset-request")
@per_client_and_account("RATELIMIT_RESET", "RATELIMIT_RESET_ACCOUNT")
def reset_request():
    data = validate(EmailInput, json_body())
    accounts.request_reset(data.email)
    return _neutral(RESET_SENT)


@bp.post("/reset")
def reset():
    data = validate(ResetInput, json_body())
    try:
        accounts.reset_password(data.token, data.password)
    except TokenUnknown:
        return error(UNKNOWN_TOKEN, 404)
    except TokenGone:
        return error(GONE_TOKEN, 410)
    return success({"message": "Password set: every session was logged out; log in with it."})


@bp.post("/password")
@login_required
@limit_failed_password_changes
def change_password():
    data = validate(PasswordChangeInput, json_body())
    try:
        token, lifetime = accounts.change_password(
            current_user.id, current_user.email, current_user.username, data.current_password,
            data.password)
    except accounts.WrongPassword:
        # A credential refused, as login's 401 is, not a malformed body: 403.
        return error("The current password is wrong", 403)
    return success({"access_token": token, "token_type": "Bearer", "expires_in": lifetime,
                    "user": current_user.to_dict()})


@bp.post("/logout-all")
@login_required
def logout_all():
    accounts.logout_everywhere(current_user.id)
    return no_content()


OPENAPI_SCHEMAS = {
    "Notice": {
        "type": "object",
        "description": "What happens next, for people; the same whatever the address.",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
    },
}

_notice = {"202": data_response("Accepted; a mail follows if the address qualifies",
                                ref("Notice"))}
STRENGTH_RULES = (
    "A new password of 10 to 1024 characters that is not common, breached or easy to "
    "guess (zxcvbn, offline) and not the member's e-mail address or username; a refused "
    "one is a 422 naming `password`.")
OPENAPI_PATHS = {
    "/api/v1/auth/register": {
        "post": operation(
            "Become a member", "Auth", _notice,
            description="The same 202 whether or not the address has an account (no "
                        "enumeration): a new address gets a link to verify it (24 h) and "
                        "the account logs in once verified; an address with an account "
                        "gets a mail telling its owner, with a reset link. A taken "
                        "username (public anyway) is a 409 naming `username`. "
                        + STRENGTH_RULES + " Rate limited per client address (an IPv6 "
                        "client per /64) and per e-mail.",
            errors=(409, 429), body=body_schema(RegisterInput)),
    },
    "/api/v1/auth/verify": {
        "post": operation(
            "Verify an address with the token of its mail's link", "Auth",
            {"200": data_response("The address is verified; the member may log in",
                                  ref("User"))},
            description="The link is https://<site>/account/verify#token=...; the token "
                        "works once. An unknown token (or one of another purpose) is a "
                        "404, a used or expired one a 410. Rate limited per client address "
                        "by nginx, as all of /auth.",
            errors=(404, 410, 429), body=body_schema(VerifyInput)),
    },
    "/api/v1/auth/verify/resend": {
        "post": operation(
            "Mail a new verification link", "Auth", _notice,
            description="The same 202 for any address; a mail goes only to an active "
                        "account not verified yet. Rate limited per client address (an "
                        "IPv6 client per /64) and per e-mail (RATELIMIT_RESEND, "
                        "RATELIMIT_RESEND_ACCOUNT).",
            errors=(429,), body=body_schema(EmailInput)),
    },
    "/api/v1/auth/reset-request": {
        "post": operation(
            "Mail a link to set a new password", "Auth", _notice,
            description="The same 202 for any address; a mail goes only to an active "
                        "account. Its link (https://<site>/account/reset#token=...) works "
                        "once, for an hour. Rate limited per client address (an IPv6 "
                        "client per /64) and per e-mail (RATELIMIT_RESET, "
                        "RATELIMIT_RESET_ACCOUNT).",
            errors=(429,), body=body_schema(EmailInput)),
    },
    "/api/v1/auth/reset": {
        "post": operation(
            "Set a new password with the token of a reset link", "Auth",
            {"200": data_response("Password set", ref("Notice"))},
            description="Spends the token, retires the account's other reset links and "
                        "logs out every session (every access token is refused). An "
                        "unknown token is a 404, a used or expired one a 410; a refused "
                        "password leaves the token usable. " + STRENGTH_RULES
                        + " Rate limited per client address by nginx, as all of /auth.",
            errors=(404, 410, 429), body=body_schema(ResetInput)),
    },
    "/api/v1/auth/password": {
        "post": operation(
            "Change the password", "Auth",
            {"200": data_response("A fresh token for this session", ref("Token"))},
            role="user",
            description="Needs the current password: a wrong one is a 403 (the request "
                        "is well formed, its credential refused). Every other token of the "
                        "account is refused "
                        "from then on. " + STRENGTH_RULES + " Wrong current passwords "
                        "count against the account with its failed logins "
                        "(RATELIMIT_LOGIN_ACCOUNT); rate limited per client address by "
                        "nginx, as all of /auth.",
            errors=(403, 429), body=body_schema(PasswordChangeInput)),
    },
    "/api/v1/auth/logout-all": {
        "post": operation(
            "Log out everywhere", "Auth", {"204": NO_CONTENT}, role="user",
            description="Every token of the account, this one included, is refused from "
                        "now on. Rate limited per client address by nginx, as all of "
                        "/auth.",
            errors=(429,)),
    },
}
