"""Configuration: the class per FLASK_ENV, and production's refusal of weak secrets."""

import pytest

from app import create_app
from app.config import (
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    get_config,
)
from app.config import TestingConfig as AppTestingConfig

GOOD_SECRET = "9f2c1e7a4b8d0f3e6a5c2b1d8e7f4a3c"  # 32 characters, random-looking
GOOD_JWT = "1d4e7a0b3c6f9e2d5a8b1c4f7e0d3a6b9c"
# A production relay as a provider names it.
RELAY = {"SMTP_HOST": "smtp.mailprovider.net", "SMTP_SECURITY": "starttls",
         "SMTP_USERNAME": "tdc-sender", "SMTP_PASSWORD": "relay-password-for-these-tests"}


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("TDC_ENV_FILE", "/nonexistent")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("JWT_SECRET_KEY", GOOD_JWT)
    monkeypatch.setenv("DB_PASSWORD", "a-generated-database-password")
    for name, value in RELAY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMTP_PORT", raising=False)
    monkeypatch.delenv("SMTP_CA_FILE", raising=False)
    return monkeypatch


@pytest.mark.parametrize(("name", "cls"), [("development", DevelopmentConfig),
                                           ("production", ProductionConfig),
                                           ("testing", AppTestingConfig),
                                           (" Production ", ProductionConfig)])
def test_flask_env_picks_the_class(monkeypatch, name, cls):
    monkeypatch.setenv("FLASK_ENV", name)
    assert get_config() is cls


def test_production_is_the_default(monkeypatch):
    monkeypatch.delenv("FLASK_ENV", raising=False)
    assert get_config() is ProductionConfig


def test_unknown_flask_env_is_refused(monkeypatch):
    monkeypatch.setenv("FLASK_ENV", "staging")
    with pytest.raises(ConfigError, match="FLASK_ENV"):
        get_config()


def test_production_accepts_strong_secrets(production_env):
    ProductionConfig().validate()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SECRET_KEY", "", "SECRET_KEY is not set"),
    ("JWT_SECRET_KEY", "", "JWT_SECRET_KEY is not set"),
    ("SECRET_KEY", "short-but-random-7d2", "SECRET_KEY is too short"),
    ("JWT_SECRET_KEY", "x" * 31, "JWT_SECRET_KEY is too short"),
    ("SECRET_KEY", "change-me-change-me-change-me-change-me", "SECRET_KEY is a placeholder"),
    ("JWT_SECRET_KEY", "PLACEHOLDER-jwt-secret-for-the-example-file",
     "JWT_SECRET_KEY is a placeholder"),
    ("DB_PASSWORD", "", "DB_PASSWORD is not set"),
    ("DB_PASSWORD", "changeme", "DB_PASSWORD is a placeholder"),
])
def test_production_refuses_weak_secrets(production_env, name, value, message):
    production_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        ProductionConfig().validate()


def test_production_refuses_the_same_key_twice(production_env):
    production_env.setenv("JWT_SECRET_KEY", GOOD_SECRET)
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY must differ"):
        ProductionConfig().validate()


def test_the_factory_refuses_to_start_with_a_weak_secret(production_env):
    production_env.setenv("SECRET_KEY", "tooshort")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_development_runs_without_secrets(monkeypatch):
    monkeypatch.setenv("TDC_ENV_FILE", "/nonexistent")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = DevelopmentConfig()
    config.validate()
    assert config.SECRET_KEY


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("DB_UNIX_SOCKET", "/run/mysqld/mysqld.sock")
    config = AppTestingConfig()
    assert config.DB_POOL_SIZE == 7
    assert config.CORS_ORIGINS == ["https://a.example", "https://b.example"]
    assert config.DB_UNIX_SOCKET == "/run/mysqld/mysqld.sock"


def test_env_file_fills_only_what_is_unset(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DB_NAME=from_file\nDB_USER=from_file\n")
    monkeypatch.setenv("TDC_ENV_FILE", str(env_file))
    monkeypatch.delenv("DB_NAME", raising=False)
    monkeypatch.setenv("DB_USER", "from_environment")
    config = AppTestingConfig()
    assert config.DB_NAME == "from_file"
    assert config.DB_USER == "from_environment"


def test_a_non_numeric_setting_is_named(monkeypatch):
    monkeypatch.setenv("DB_PORT", "three-three-o-six")
    with pytest.raises(ConfigError, match="DB_PORT must be an integer"):
        AppTestingConfig()


def test_readiness_is_reused_for_two_seconds_unless_set(monkeypatch):
    monkeypatch.delenv("READINESS_CACHE_SECONDS", raising=False)
    assert AppTestingConfig().READINESS_CACHE_SECONDS == 2
    monkeypatch.setenv("READINESS_CACHE_SECONDS", "0")
    assert AppTestingConfig().READINESS_CACHE_SECONDS == 0


def test_production_sends_through_the_relay_with_tls_and_auth(production_env):
    config = ProductionConfig()
    config.validate()
    assert (config.SMTP_HOST, config.SMTP_PORT, config.SMTP_SECURITY) == (
        "smtp.mailprovider.net", 587, "starttls")
    production_env.setenv("SMTP_SECURITY", "TLS")
    assert ProductionConfig().SMTP_PORT == 465


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SMTP_HOST", "", "SMTP_HOST is not set"),
    ("SMTP_HOST", "smtp.example.com", "SMTP_HOST is a placeholder"),
    ("SMTP_USERNAME", "", "SMTP_USERNAME is not set"),
    ("SMTP_USERNAME", "CHANGE-ME", "SMTP_USERNAME is a placeholder"),
    ("SMTP_PASSWORD", "", "SMTP_PASSWORD is not set"),
    ("SMTP_PASSWORD", "short", "SMTP_PASSWORD is too short"),
    ("SMTP_PASSWORD", "change-me-relay-password", "SMTP_PASSWORD is a placeholder"),
    ("SMTP_SECURITY", "plain", "SMTP_SECURITY must be one of starttls, tls in production"),
    ("SMTP_SECURITY", "ssl", "SMTP_SECURITY must be one of"),
    ("SMTP_PORT", "0", "SMTP_PORT must be a TCP port"),
    ("SMTP_CA_FILE", "/nonexistent/ca.pem", "SMTP_CA_FILE names no file"),
    ("MAIL_FROM", "Club <no-reply@example.org>", "MAIL_FROM is a placeholder"),
])
def test_production_refuses_a_missing_or_unsafe_relay(production_env, name, value, message):
    production_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        ProductionConfig().validate()


def test_development_may_send_plain_to_localhost(monkeypatch):
    monkeypatch.setenv("TDC_ENV_FILE", "/nonexistent")
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    config = DevelopmentConfig()
    config.validate()
    assert (config.SMTP_HOST, config.SMTP_PORT, config.SMTP_SECURITY) == ("localhost", 25, "plain")


def test_a_relay_user_without_its_password_is_refused(monkeypatch):
    monkeypatch.setenv("SMTP_USERNAME", "someone")
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="SMTP_USERNAME and SMTP_PASSWORD"):
        AppTestingConfig().validate()


def test_the_account_settings_have_their_documented_defaults(production_env):
    for name in ("SITE_URL", "VERIFY_TOKEN_HOURS", "RESET_TOKEN_MINUTES",
                 "ACCOUNT_TOKEN_RETENTION_DAYS", "RATELIMIT_RESEND", "RATELIMIT_RESET"):
        production_env.delenv(name, raising=False)
    config = ProductionConfig()
    config.validate()
    assert (config.SITE_URL, config.VERIFY_TOKEN_HOURS, config.RESET_TOKEN_MINUTES,
            config.ACCOUNT_TOKEN_RETENTION_DAYS) == ("https://thedreamerscave.club", 24, 60, 7)
    assert config.RATELIMIT_RESEND == config.RATELIMIT_RESET == "5 per minute;20 per hour"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SITE_URL", "thedreamerscave.club", "SITE_URL"),
    ("VERIFY_TOKEN_HOURS", "0", "VERIFY_TOKEN_HOURS"),
    ("RESET_TOKEN_MINUTES", "-5", "RESET_TOKEN_MINUTES"),
    ("ACCOUNT_TOKEN_RETENTION_DAYS", "0", "ACCOUNT_TOKEN_RETENTION_DAYS"),
    ("ACCOUNT_TOKEN_RETENTION_DAYS", "a week", "ACCOUNT_TOKEN_RETENTION_DAYS"),
])
def test_unusable_account_settings_are_named(production_env, name, value, message):
    production_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        ProductionConfig().validate()
