"""TLS to a database and a Redis on another host: the settings that ask for it, and the
refusal, at startup, of one that would not verify the server."""

import ssl

import pytest

from app.config import ConfigError
from app.config import TestingConfig as AppTestingConfig
from app.tasks import celery_settings
from app.utils.db import connection_settings


@pytest.fixture
def ca_file(tmp_path):
    # Only its existence is checked here; the TLS handshake is the clients' own.
    path = tmp_path / "internal-ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("TDC_ENV_FILE", "/nonexistent")
    for name in ("DB_SSL_CA", "DB_UNIX_SOCKET", "REDIS_URL", "CELERY_BROKER_URL",
                 "CELERY_RESULT_BACKEND", "RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def config() -> AppTestingConfig:
    cfg = AppTestingConfig()
    cfg.validate()
    return cfg


def rediss(ca: str, query: str = "") -> str:
    return f"rediss://tdc:secret@169.254.80.20:6379/0?ssl_cert_reqs=required&ssl_ca_certs={ca}{query}"


def test_a_database_with_a_ca_is_reached_by_tls_verifying_its_name(env, ca_file):
    env.setenv("DB_HOST", "169.254.80.20")
    env.setenv("DB_SSL_CA", ca_file)
    settings = connection_settings(vars(config()))
    assert settings["host"] == "169.254.80.20"
    assert "unix_socket" not in settings
    assert settings["ssl_ca"] == ca_file
    assert settings["ssl_verify_cert"] is True
    assert settings["ssl_verify_identity"] is True
    assert settings["ssl_disabled"] is False


def test_a_database_without_a_ca_is_reached_as_before(env):
    env.setenv("DB_UNIX_SOCKET", "/run/mysqld/mysqld.sock")
    settings = connection_settings(vars(config()))
    assert settings["unix_socket"] == "/run/mysqld/mysqld.sock"
    assert not any(name.startswith("ssl") for name in settings)


@pytest.mark.parametrize(("settings", "message"), [
    ({"DB_SSL_CA": "/nonexistent/ca.pem"}, "DB_SSL_CA names no file: /nonexistent/ca.pem"),
    ({"DB_SSL_CA": "{ca}", "DB_UNIX_SOCKET": "/run/mysqld/mysqld.sock"},
     "DB_SSL_CA is for TCP to DB_HOST: unset DB_UNIX_SOCKET"),
])
def test_an_unusable_database_tls_setting_stops_the_start(env, ca_file, settings, message):
    for name, value in settings.items():
        env.setenv(name, value.format(ca=ca_file))
    with pytest.raises(ConfigError, match=message):
        config()


def test_a_rediss_url_gives_celery_verifying_tls_options(env, ca_file):
    env.setenv("REDIS_URL", rediss(ca_file))
    celery = celery_settings(vars(config()))
    expected = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": ca_file,
                "ssl_check_hostname": True}
    assert celery["broker_use_ssl"] == expected
    assert celery["redis_backend_use_ssl"] == expected


def test_a_redis_url_gives_celery_no_tls(env):
    env.setenv("REDIS_URL", "redis://tdc:secret@127.0.0.1:6379/0")
    celery = celery_settings(vars(config()))
    assert celery["broker_use_ssl"] is None
    assert celery["redis_backend_use_ssl"] is None


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:6379/0", "REDIS_URL must be a redis://, rediss:// or unix:// URL, got http://"),
    ("127.0.0.1:6379", "REDIS_URL must be a redis://, rediss:// or unix:// URL"),
    ("rediss://tdc:secret@169.254.80.20:6379/0?ssl_ca_certs={ca}",
     "REDIS_URL must verify the server's certificate: add ssl_cert_reqs=required"),
    ("rediss://tdc:secret@169.254.80.20:6379/0?ssl_cert_reqs=none&ssl_ca_certs={ca}",
     "REDIS_URL must verify the server's certificate"),
    ("rediss://tdc:secret@169.254.80.20:6379/0?ssl_cert_reqs=optional&ssl_ca_certs={ca}",
     "REDIS_URL must verify the server's certificate"),
    ("rediss://tdc:secret@169.254.80.20:6379/0?ssl_cert_reqs=required",
     "REDIS_URL must name the CA that verifies the server: add ssl_ca_certs="),
    ("rediss://tdc:secret@169.254.80.20:6379/0?ssl_cert_reqs=required&ssl_ca_certs=/nonexistent.pem",
     "REDIS_URL names a CA file that does not exist: ssl_ca_certs=/nonexistent.pem"),
    ("rediss://tdc:secret@169.254.80.20:6379/0?ssl_cert_reqs=required&ssl_ca_certs={ca}"
     "&ssl_check_hostname=false", "REDIS_URL must verify the server's name"),
    ("rediss:///0?ssl_cert_reqs=required&ssl_ca_certs={ca}", "REDIS_URL names no host"),
])
def test_a_redis_url_that_would_not_verify_the_server_stops_the_start(env, ca_file, url, message):
    env.setenv("REDIS_URL", url.format(ca=ca_file))
    with pytest.raises(ConfigError, match=message):
        config()


@pytest.mark.parametrize("name", ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                                  "RATELIMIT_STORAGE_URI"])
def test_each_redis_setting_is_checked_and_named(env, ca_file, name):
    env.setenv("REDIS_URL", rediss(ca_file))
    env.setenv(name, f"rediss://tdc:secret@169.254.80.20:6379/0?ssl_ca_certs={ca_file}")
    with pytest.raises(ConfigError, match=f"{name} must verify the server's certificate"):
        config()


def test_the_rate_limits_may_count_elsewhere_than_in_redis(env):
    env.setenv("RATELIMIT_STORAGE_URI", "memory://")
    assert config().RATELIMIT_STORAGE_URI == "memory://"
