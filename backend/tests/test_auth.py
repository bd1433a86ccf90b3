"""Register, log in, tokens and their attacks, log out, rate limits."""

import base64
import json
import statistics
import time

import jwt
import pytest
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import encode_cookie

pytestmark = pytest.mark.usefixtures("clean_tables")

PASSWORD = "correct horse battery"


def register(client, **fields):
    body = {"email": "luna@example.com", "username": "luna", "password": PASSWORD, **fields}
    return client.post("/api/v1/auth/register", json=body)


def login(client, email, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def stored_user(app, username):
    from app.utils.db import fetch_one

    with app.app_context():
        return fetch_one("SELECT email, username, role, is_active, email_verified_at "
                         "FROM users WHERE username = %s", (username,))


def test_register_answers_a_neutral_202_and_stores_an_unverified_member(client, app):
    response = register(client)
    assert response.status_code == 202
    body = response.get_json()
    assert body["success"] is True
    assert set(body["data"]) == {"message"}
    assert "password" not in json.dumps(body)
    assert "argon2" not in response.get_data(as_text=True)
    user = stored_user(app, "luna")
    assert (user["email"], user["role"], user["is_active"]) == ("luna@example.com", "user", 1)
    assert user["email_verified_at"] is None


def test_password_is_stored_as_argon2id(client, app):
    register(client)
    from app.utils.db import fetch_one

    with app.app_context():
        stored = fetch_one("SELECT password_hash FROM users WHERE username = 'luna'")
    assert stored["password_hash"].startswith("$argon2id$")


def test_a_taken_username_is_a_409_whatever_the_address(client):
    """Usernames are public: the clash is said, and said alike for a new or taken address."""
    assert register(client).status_code == 202
    answers = [register(client, email=email, username="LUNA")
               for email in ("sol@example.com", "luna@example.com")]
    assert [answer.status_code for answer in answers] == [409, 409]
    assert answers[0].get_json() == answers[1].get_json()
    assert set(answers[0].get_json()["errors"]) == {"username"}


def test_a_taken_address_opens_no_second_account_ignoring_case(client, app):
    assert register(client).status_code == 202
    again = register(client, email="LUNA@example.com", username="sol")
    assert again.status_code == 202
    assert stored_user(app, "sol") is None


@pytest.mark.parametrize(("body", "field"), [
    ({"password": "short9char"[:9]}, "password"),
    ({"password": 1234567890123}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@" + "b" * 260 + ".com"}, "email"),
    ({"username": "x"}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": "'; DROP TABLE users; --"}, "username"),
    ({"username": "a" * 33}, "username"),
    ({"role": "admin"}, "role"),
])
def test_register_refuses_bad_fields(client, body, field):
    response = register(client, **body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["success"] is False
    assert field in payload["errors"]


@pytest.mark.parametrize("email", [
    "luna+club@mail.example.org", "Luna.Moon@Example.COM", "o'hara@example.ie",
    "x@a.io", "#!$%&*/=?^_`{|}~-@0.example", "a@xn--p1ai.xn--p1ai", "a@b.testing",
    "l" * 64 + "@example.com",
])
def test_register_takes_any_address_the_description_allows(client, app, email):
    response = register(client, email=email)
    assert response.status_code == 202, response.get_json()
    assert stored_user(app, "luna")["email"] == email.lower()


@pytest.mark.parametrize("email", [
    # Special-use domains (documented in the pattern): no mail is delivered there.
    "l1@444m5f.ktrpth.test", "a@b.localhost", "a@host.LOCAL", "a@x.onion",
    "a@1.0.0.127.in-addr.arpa", "a@corp.internal", "a@x.invalid",
    # Not a dot-atom, no TLD, a bad label, not ASCII, too long a local part.
    "a..b@example.com", ".a@example.com", "a.@example.com", "a@example", "a@-x.com",
    "a@x.123", "luna@exämple.com", "ünï@example.com", "a b@example.com",
    "l" * 65 + "@example.com", "a@example.com\n", "\"quoted\"@example.com", "a@[127.0.0.1]",
])
def test_register_refuses_addresses_outside_the_description(client, email):
    response = register(client, email=email)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"email"}


def test_register_requires_every_field(client):
    response = client.post("/api/v1/auth/register", json={})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"email", "username", "password"}


def test_login_returns_a_bearer_token(client, make_user):
    user = make_user()
    response = login(client, user["email"])
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["user"]["id"] == user["id"]
    assert data["user"]["last_login_at"] is not None
    me = client.get("/api/v1/auth/me", headers=bearer(data["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["data"]["username"] == user["username"]


def test_login_email_is_case_insensitive(client, make_user):
    user = make_user()
    assert login(client, user["email"].upper()).status_code == 200


def test_unknown_email_and_wrong_password_look_the_same(client, make_user):
    user = make_user()
    wrong = login(client, user["email"], "not the password")
    unknown = login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json() == {
        "success": False, "error": "Invalid email or password"}


def test_unknown_email_costs_a_password_hash_too(client, make_user):
    """Both paths verify an argon2 hash: the unknown one is not answered instantly."""
    user = make_user()

    def median(email, password):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            login(client, email, password)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    wrong = median(user["email"], "not the password")
    unknown = median("nobody@example.com", "not the password")
    assert unknown > wrong / 3, (unknown, wrong)


def test_deactivated_member_cannot_log_in_or_use_a_token(client, app, make_user):
    user = make_user()
    token = login(client, user["email"]).get_json()["data"]["access_token"]
    from app.models.user import UserUpdateInput
    from app.services import users

    with app.app_context():
        users.update_user(user["id"], UserUpdateInput(is_active=False))
    assert login(client, user["email"]).status_code == 403
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"] == "Account is not active"


def test_reactivating_a_member_does_not_bring_back_its_old_tokens(client, app, make_user):
    user = make_user()
    token = login(client, user["email"]).get_json()["data"]["access_token"]
    from app.models.user import UserUpdateInput
    from app.services import users

    with app.app_context():
        users.update_user(user["id"], UserUpdateInput(is_active=False))
        users.update_user(user["id"], UserUpdateInput(is_active=True))
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    fresh = login(client, user["email"]).get_json()["data"]["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(fresh)).status_code == 200


def test_a_cut_off_refuses_older_tokens_and_takes_the_next_at_once(client, app, make_user):
    user, other = make_user(), make_user()
    old = login(client, user["email"]).get_json()["data"]["access_token"]
    others = login(client, other["email"]).get_json()["data"]["access_token"]
    from app.services import tokens

    with app.app_context():
        assert tokens.cut_off_tokens(user["id"]) == 1
    response = client.get("/api/v1/auth/me", headers=bearer(old))
    assert response.status_code == 401
    assert response.get_json()["error"] == "Invalid or expired token"
    # Issued within the same second as the cut-off, but after it.
    new = login(client, user["email"]).get_json()["data"]["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(new)).status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(others)).status_code == 200


def test_cut_off_tokens_command_for_one_member_or_everyone(client, app, make_user):
    first, second = make_user(), make_user()
    tokens_of = [login(client, u["email"]).get_json()["data"]["access_token"]
                 for u in (first, second)]

    def me_status(token):
        return client.get("/api/v1/auth/me", headers=bearer(token)).status_code

    runner = app.test_cli_runner()
    one = runner.invoke(args=["users", "cut-off-tokens", "--email", first["email"].upper()])
    assert one.exit_code == 0, one.output
    assert [me_status(token) for token in tokens_of] == [401, 200]
    everyone = runner.invoke(args=["users", "cut-off-tokens", "--all"])
    assert everyone.exit_code == 0, everyone.output
    assert "all 2 members" in everyone.output
    assert [me_status(token) for token in tokens_of] == [401, 401]


@pytest.mark.parametrize("args", [[], ["--all", "--email", "a@example.com"],
                                  ["--email", "nobody@example.com"]])
def test_cut_off_tokens_command_refuses_an_unclear_target(app, make_user, args):
    result = app.test_cli_runner().invoke(args=["users", "cut-off-tokens", *args])
    assert result.exit_code != 0
    assert "--email" in result.output or "no account" in result.output


def test_logout_revokes_the_token(client, make_user):
    user = make_user()
    token = login(client, user["email"]).get_json()["data"]["access_token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    again = client.get("/api/v1/auth/me", headers=bearer(token))
    assert again.status_code == 401
    assert again.get_json()["error"] == "Invalid or expired token"
    # Another session of the same member is unaffected.
    other = login(client, user["email"]).get_json()["data"]["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(other)).status_code == 200


def test_logout_needs_a_token(client):
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- token attacks ----------------------------------------------------------------------

def claims_for(user_id, **overrides):
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "nbf": now, "exp": now + 600,
              "jti": "a" * 32}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def unsigned(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("attack", [
    "alg_none", "hs512", "bad_signature", "expired", "not_yet_valid", "missing_jti",
    "missing_exp", "missing_sub", "text_subject", "garbage", "empty",
])
def test_forged_or_defective_tokens_are_refused(client, app, make_user, attack):
    user = make_user()
    key = app.config["JWT_SECRET_KEY"]
    now = int(time.time())
    tokens = {
        "alg_none": lambda: unsigned(claims_for(user["id"])),
        "hs512": lambda: jwt.encode(claims_for(user["id"]), key, algorithm="HS512"),
        "bad_signature": lambda: jwt.encode(claims_for(user["id"]), "another-key" * 4,
                                            algorithm="HS256"),
        "expired": lambda: jwt.encode(claims_for(user["id"], iat=now - 7200, nbf=now - 7200,
                                                 exp=now - 3600), key, algorithm="HS256"),
        "not_yet_valid": lambda: jwt.encode(claims_for(user["id"], nbf=now + 3600), key,
                                            algorithm="HS256"),
        "missing_jti": lambda: jwt.encode(claims_for(user["id"], jti=None), key,
                                          algorithm="HS256"),
        "missing_exp": lambda: jwt.encode(claims_for(user["id"], exp=None), key,
                                          algorithm="HS256"),
        "missing_sub": lambda: jwt.encode(claims_for(user["id"], sub=None), key,
                                          algorithm="HS256"),
        "text_subject": lambda: jwt.encode(claims_for("1 OR 1=1"), key, algorithm="HS256"),
        "garbage": lambda: "not.a.token",
        "empty": lambda: "",
    }
    headers = {"Authorization": f"Bearer {tokens[attack]()}"}
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["success"] is False


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "bearer "])
def test_other_authorization_schemes_are_refused(client, header):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_valid_token_for_a_deleted_user_is_refused(client, app, make_user):
    user = make_user()
    token = login(client, user["email"]).get_json()["data"]["access_token"]
    from app.utils.db import execute

    with app.app_context():
        execute("DELETE FROM users WHERE id = %s", (user["id"],))
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


# --- rate limits --------------------------------------------------------------------------

def test_login_is_rate_limited_per_client_address(client, make_user):
    user = make_user()
    limit = 10
    for _ in range(limit):
        assert login(client, user["email"], "wrong password!").status_code == 401
    blocked = login(client, user["email"])
    assert blocked.status_code == 429
    assert blocked.get_json()["success"] is False
    assert int(blocked.headers["Retry-After"]) > 0
    # Another client address still gets through.
    good = {"email": user["email"], "password": PASSWORD}
    other = client.post("/api/v1/auth/login", json=good,
                        environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert other.status_code == 200


def test_register_is_rate_limited(client):
    statuses = [register(client, email=f"rate{i}@example.com", username=f"rate{i}").status_code
                for i in range(6)]
    assert statuses == [202] * 5 + [429]


def test_rate_limit_follows_the_real_client_behind_the_proxy(client, make_user):
    user = make_user()
    via_nginx = {"REMOTE_ADDR": "127.0.0.1"}
    for _ in range(10):
        client.post("/api/v1/auth/login", json={"email": user["email"], "password": "nope nope"},
                    headers={"X-Forwarded-For": "203.0.113.5"}, environ_base=via_nginx)
    # Same nginx, another real client: not limited by the first one's attempts.
    good = {"email": user["email"], "password": PASSWORD}
    response = client.post("/api/v1/auth/login", json=good,
                           headers={"X-Forwarded-For": "203.0.113.6"}, environ_base=via_nginx)
    assert response.status_code == 200
    blocked = client.post("/api/v1/auth/login", json=good,
                          headers={"X-Forwarded-For": "203.0.113.5"}, environ_base=via_nginx)
    assert blocked.status_code == 429


def test_no_session_cookie_is_read_or_set(client, app, make_user):
    """Tokens only: validly signed session and remember-me cookies naming a member log
    nobody in, no answer sets a cookie, and no answer varies on Cookie."""
    user = make_user()
    token = login(client, user["email"]).get_json()["data"]["access_token"]
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    client.set_cookie("session", signer.dumps({"_user_id": str(user["id"]), "_fresh": True}))
    with app.app_context():
        client.set_cookie("remember_token", encode_cookie(str(user["id"])))
    responses = {"list": client.get("/api/v1/locations"),
                 "cookie only": client.get("/api/v1/auth/me"),
                 "token": client.get("/api/v1/auth/me", headers=bearer(token))}
    assert responses["cookie only"].status_code == 401
    assert responses["token"].status_code == 200
    for response in responses.values():
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers.get("Vary", "")
