"""Who is calling: Flask-Login loads the user from `Authorization: Bearer <JWT>`.

The API keeps no session: every request carries its token. Decorators guard the routes:
`login_required` (401 without a valid token), `staff_required` and `admin_required`
(403 when the role is too low). Which member a token stands for is the services' to say:
the factory hands `init_auth` the function that tells.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Request, current_app, g
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import LoginManager, current_user
from flask_login import login_required as _flask_login_required
from werkzeug.exceptions import Forbidden, Unauthorized

login_manager = LoginManager()
EXTENSION_KEY = "tdc_authenticate"

# Takes a bearer token; returns its member (Flask-Login's user) and the token's claims.
Authenticate = Callable[[str], tuple[Any, dict[str, Any]]]


class AuthenticationFailed(Exception):
    """The token stands for no active member; the message says why, for the client."""


class NoCookieSessions(SecureCookieSessionInterface):
    """Every request gets Flask's empty, read-only null session.

    Tokens are the only credential, so a session cookie is never read, verified or set.
    Flask-Login still looks into the session on each request; with a real one that
    look costs a signer per request and adds `Vary: Cookie` to every answer, public
    lists included, which caches then keep apart per cookie.
    """

    def open_session(self, app: Flask, request: Request) -> SessionMixin:
        return self.make_null_session(app)


def init_auth(app: Flask, authenticate: Authenticate) -> None:
    app.extensions[EXTENSION_KEY] = authenticate
    login_manager.init_app(app)
    # No cookie sessions: tokens only, so nothing to protect or remember.
    login_manager.session_protection = None
    app.session_interface = NoCookieSessions()
    # Flask-Login looks for its remember-me cookie before it calls the request loader,
    # and while that cookie is present it never calls it: a stray `remember_token` cookie
    # would make every token count for nothing. No cookie name can hold a ";".
    app.config["REMEMBER_COOKIE_NAME"] = "tdc;no-remember-me-cookie"


@login_manager.user_loader
def _no_session_users(_user_id: str) -> None:
    return None


@login_manager.request_loader
def load_user_from_token(req: Any) -> Any:
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        g.auth_error = "Authorization header must be 'Bearer <token>'"
        return None
    try:
        user, claims = current_app.extensions[EXTENSION_KEY](token.strip())
    except AuthenticationFailed as exc:
        g.auth_error = str(exc)
        return None
    g.token_claims = claims
    # The request's log line names the member (app.utils.request_log).
    g.authenticated_user_id = user.id
    return user


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    raise Unauthorized(g.get("auth_error", "Authentication required"))


def login_required(view: Callable) -> Callable:
    """Require a valid bearer token (401 otherwise)."""
    return _flask_login_required(view)


def role_required(role: str) -> Callable[[Callable], Callable]:
    """Require a valid token of a user whose role is `role` or higher."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                raise Forbidden(f"This needs the {role} role")
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required("staff")
admin_required = role_required("admin")


def current_token_claims() -> dict[str, Any]:
    """The verified claims of this request's token (inside a login_required view)."""
    return g.token_claims
