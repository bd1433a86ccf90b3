"""Accounts: register, log in, log out, who am I."""

from flask import Blueprint, current_app
from flask_login import current_user

from app.models.user import LoginInput, RegisterInput
from app.services import tokens, users
from app.services.passwords import hash_password, needs_rehash, verify_password
from app.utils.auth import current_token_claims, login_required
from app.utils.rate_limit import limiter, login_limit, register_limit
from app.utils.request_body import json_body
from app.utils.responses import created, error, no_content, success, unauthorized
from app.utils.validation import validate

bp = Blueprint("auth", __name__, url_prefix="/auth")

BAD_CREDENTIALS = "Invalid email or password"


@bp.post("/register")
@limiter.limit(register_limit)
def register():
    data = validate(RegisterInput, json_body())
    user = users.create_user(data.email, data.username, data.password)
    _queue_welcome_email(user["id"])
    return created(user)


def _queue_welcome_email(user_id: int) -> None:
    from app.tasks.email import send_welcome_email

    try:
        send_welcome_email.apply_async((user_id,), retry=False)
    except Exception:  # the broker is down: the account exists, the email is a courtesy
        current_app.logger.exception("could not queue the welcome email for user %s", user_id)


@bp.post("/login")
@limiter.limit(login_limit)
def login():
    data = validate(LoginInput, json_body())
    record = users.get_login_record(data.email.lower())
    # Unknown email and wrong password take the same path, time and answer.
    if not verify_password(record["password_hash"] if record else None, data.password):
        return unauthorized(BAD_CREDENTIALS)
    if not record["is_active"]:
        return error("Account is deactivated", 403)
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
