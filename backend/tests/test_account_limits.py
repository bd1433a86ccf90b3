"""Limits per account (the e-mail a request names, or the member a token is of), from any
address: logins, password changes, sign-ups."""

import time

import pytest

from app.config import ConfigError
from app.config import TestingConfig as AppTestingConfig
from app.utils.login_limit import TOO_MANY_FAILURES

pytestmark = pytest.mark.usefixtures("clean_tables")

# Small enough to hit in a test, short enough to wait out.
FAILURES, WINDOW = 3, 2


@pytest.fixture
def small_account_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ACCOUNT", f"{FAILURES} per {WINDOW} seconds")
    monkeypatch.setitem(app.config, "RATELIMIT_REGISTER_ACCOUNT", f"2 per {WINDOW} seconds")


_addresses = iter(range(1, 10_000))


def login(client, email, password):
    """A login from a new client address each time: only the per-account limit applies."""
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": f"2001:db8:{next(_addresses):x}::1"})


def fail(client, email, times):
    return [login(client, email, "wrong password!").status_code for _ in range(times)]


def assert_account_limited(response):
    assert response.status_code == 429
    assert response.get_json() == {"success": False, "error": TOO_MANY_FAILURES}
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW


@pytest.mark.usefixtures("small_account_limits")
def test_failures_from_any_address_limit_the_account(client, make_user):
    user = make_user()
    assert fail(client, user["email"], FAILURES) == [401] * FAILURES
    # Even the right password waits: while limited, no password is checked.
    assert_account_limited(login(client, user["email"], user["password"]))
    # The e-mail is normalised: another spelling is the same account.
    assert_account_limited(login(client, user["email"].upper(), user["password"]))
    # Another account is not affected.
    other = make_user()
    assert login(client, other["email"], other["password"]).status_code == 200


@pytest.mark.usefixtures("small_account_limits")
def test_an_unknown_address_is_limited_exactly_like_an_account(client, make_user):
    user = make_user()
    known = fail(client, user["email"], FAILURES + 1)
    unknown = fail(client, "nobody-here@example.com", FAILURES + 1)
    assert known == unknown == [401] * FAILURES + [429]
    limited = [login(client, email, "wrong password!")
               for email in (user["email"], "nobody-here@example.com")]
    for response in limited:
        assert_account_limited(response)
    assert limited[0].get_json() == limited[1].get_json()


@pytest.mark.usefixtures("small_account_limits")
def test_the_limit_ends_with_its_window_and_refusals_do_not_extend_it(client, make_user):
    user = make_user()
    fail(client, user["email"], FAILURES)
    started = time.monotonic()
    # Attempts while limited are refused, not counted: they cannot prolong the lock.
    assert fail(client, user["email"], 5) == [429] * 5
    time.sleep(max(0.0, WINDOW + 0.2 - (time.monotonic() - started)))
    assert login(client, user["email"], user["password"]).status_code == 200


@pytest.mark.usefixtures("small_account_limits")
def test_a_successful_login_clears_the_count(client, make_user):
    user = make_user()
    assert fail(client, user["email"], FAILURES - 1) == [401] * (FAILURES - 1)
    assert login(client, user["email"], user["password"]).status_code == 200
    # A fresh count: as many failures again before the limit.
    assert fail(client, user["email"], FAILURES) == [401] * FAILURES
    assert_account_limited(login(client, user["email"], user["password"]))


@pytest.mark.usefixtures("small_account_limits")
def test_a_deactivated_account_counts_no_failure_for_the_right_password(client, make_user):
    user = make_user(is_active=False)
    for _ in range(FAILURES + 1):
        assert login(client, user["email"], user["password"]).status_code == 403


def change_password(client, app, user, current):
    """A password change with a fresh token of USER's, from a new client address each time."""
    from app.services.tokens import issue_token

    with app.app_context():
        token, _ = issue_token(user["id"])
    body = {"current_password": current, "password": "a brand new passphrase 7"}
    return client.post("/api/v1/auth/password", json=body,
                       headers={"Authorization": f"Bearer {token}"},
                       environ_base={"REMOTE_ADDR": f"2001:db8:{next(_addresses):x}::1"})


@pytest.mark.usefixtures("small_account_limits")
def test_wrong_current_passwords_limit_the_account_with_its_failed_logins(client, app, make_user):
    user = make_user()
    other = make_user()
    statuses = [change_password(client, app, user, "wrong password!").status_code
                for _ in range(FAILURES - 1)]
    assert statuses == [403] * (FAILURES - 1)
    # The same count as the logins': one failed login more and the account is limited.
    assert fail(client, user["email"], 1) == [401]
    assert_account_limited(change_password(client, app, user, user["password"]))
    assert_account_limited(login(client, user["email"], user["password"]))
    # Another account is not affected.
    assert login(client, other["email"], other["password"]).status_code == 200


@pytest.mark.usefixtures("small_account_limits")
def test_a_password_change_clears_the_count(client, app, make_user):
    user = make_user()
    assert fail(client, user["email"], FAILURES - 1) == [401] * (FAILURES - 1)
    assert change_password(client, app, user, user["password"]).status_code == 200
    assert fail(client, user["email"], FAILURES) == [401] * FAILURES


def test_a_body_without_an_email_is_refused_not_counted(client):
    for _ in range(25):
        response = client.post("/api/v1/auth/login", json={"password": "x"},
                               environ_base={"REMOTE_ADDR": f"2001:db8:{next(_addresses):x}::1"})
        assert response.status_code == 422


@pytest.mark.usefixtures("small_account_limits")
def test_register_is_limited_per_email_from_any_address(client):
    def register(email, n):
        body = {"email": email, "username": f"sign{n}", "password": "correct horse battery"}
        return client.post("/api/v1/auth/register", json=body,
                           environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})

    assert register("twice@example.com", 1).status_code == 202
    assert register("Twice@Example.com", 2).status_code == 202  # taken: the same answer
    blocked = register("twice@example.com", 3)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert blocked.get_json()["success"] is False
    assert register("another@example.com", 4).status_code == 202


@pytest.mark.parametrize(("path", "setting"), [("verify/resend", "RATELIMIT_RESEND_ACCOUNT"),
                                               ("reset-request", "RATELIMIT_RESET_ACCOUNT")])
def test_the_mail_asking_routes_are_limited_per_email_from_any_address(client, app,
                                                                      monkeypatch, path,
                                                                      setting):
    monkeypatch.setitem(app.config, setting, f"2 per {WINDOW} seconds")

    def ask(email, n):
        return client.post(f"/api/v1/auth/{path}", json={"email": email},
                           environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})

    assert [ask("twice@example.com", n).status_code for n in (1, 2, 3)] == [202, 202, 429]
    assert ask("another@example.com", 4).status_code == 202


@pytest.mark.parametrize("name", ["RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT",
                                  "RATELIMIT_RESEND", "RATELIMIT_RESET_ACCOUNT"])
def test_a_limit_that_does_not_parse_stops_the_app(monkeypatch, name):
    monkeypatch.setenv(name, "ten a minute")
    with pytest.raises(ConfigError, match=name):
        AppTestingConfig().validate()


def test_each_limit_has_a_default():
    from app.config import RATE_LIMIT_SETTINGS

    config = AppTestingConfig()
    for name in RATE_LIMIT_SETTINGS:
        assert getattr(config, name)
