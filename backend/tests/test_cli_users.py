"""`flask users create-admin` makes the first admin, from the environment or a prompt."""

import pytest

from app.services import users

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
