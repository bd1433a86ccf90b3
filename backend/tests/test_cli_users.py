"""`flask users create-admin` makes the first admin, from the environment or a prompt."""

import pytest

from app.services import password_policy, users

pytestmark = pytest.mark.usefixtures("clean_tables")


def test_create_admin_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("TDC_ADMIN_EMAIL", "Owner@TheDreamersCave.club")
    monkeypatch.setenv("TDC_ADMIN_USERNAME", "owner")
    monkeypatch.setenv("TDC_ADMIN_PASSWORD", "a long admin passphrase")
    result = app.test_cli_runner().invoke(args=["users", "create-admin"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = users.find_user_by_email("owner@thedreamerscave.club")
    assert admin["role"] == "admin"
    assert "a long admin passphrase" not in result.output
    # Running it again (every deploy does) changes nothing and succeeds.
    again = app.test_cli_runner().invoke(args=["users", "create-admin"])
    assert again.exit_code == 0
    assert "exists already" in again.output


def test_create_admin_prompts_for_what_is_missing(app, monkeypatch):
    for name in ("TDC_ADMIN_EMAIL", "TDC_ADMIN_USERNAME", "TDC_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    answers = "boss@example.com\nboss\nsecret passphrase\nsecret passphrase\n"
    result = app.test_cli_runner().invoke(args=["users", "create-admin"], input=answers)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert users.find_user_by_email("boss@example.com")["role"] == "admin"


def test_create_admin_refuses_a_weak_password(app, monkeypatch):
    monkeypatch.setenv("TDC_ADMIN_EMAIL", "weak@example.com")
    monkeypatch.setenv("TDC_ADMIN_USERNAME", "weak")
    monkeypatch.setenv("TDC_ADMIN_PASSWORD", "short")
    result = app.test_cli_runner().invoke(args=["users", "create-admin"])
    assert result.exit_code != 0
    assert "password" in result.output
    with app.app_context():
        assert users.find_user_by_email("weak@example.com") is None


@pytest.mark.parametrize(("email", "username", "password"), [
    # Long enough, but among the first guesses of any cracker.
    ("owner@example.com", "owner", "password123456"),
    ("owner@example.com", "owner", "qwertyuiop1!"),
    # The account's own address, its local part, its username.
    ("grand.master@example.com", "gmaster", "grand.master@example.com"),
    ("grandmaster@example.com", "gmaster", "GrandMaster"),
    ("owner@example.com", "cave.keeper.2026", "cave.keeper.2026"),
])
def test_create_admin_applies_the_sign_up_password_rule(app, monkeypatch, email, username,
                                                        password):
    monkeypatch.setenv("TDC_ADMIN_EMAIL", email)
    monkeypatch.setenv("TDC_ADMIN_USERNAME", username)
    monkeypatch.setenv("TDC_ADMIN_PASSWORD", password)
    result = app.test_cli_runner().invoke(args=["users", "create-admin"])
    assert result.exit_code == 1, result.output
    assert "cannot create the admin: password: " in result.output
    assert any(problem in result.output
               for problem in (password_policy.TOO_COMMON, password_policy.IS_IDENTITY))
    assert password not in result.output
    with app.app_context():
        assert users.find_user_by_email(email) is None


def test_create_admin_refuses_a_weak_password_typed_at_the_prompt(app, monkeypatch):
    for name in ("TDC_ADMIN_EMAIL", "TDC_ADMIN_USERNAME", "TDC_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    answers = "typist@example.com\ntypist\nSummer2024!\nSummer2024!\n"
    result = app.test_cli_runner().invoke(args=["users", "create-admin"], input=answers)
    assert result.exit_code == 1
    assert password_policy.TOO_COMMON in result.output
    with app.app_context():
        assert users.find_user_by_email("typist@example.com") is None
