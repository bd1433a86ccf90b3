"""Configuration classes, chosen by FLASK_ENV and read from the environment.

A `.env` file next to `wsgi.py` (or the file named by TDC_ENV_FILE) is loaded first;
variables already set in the environment win over it.
"""

import os
from pathlib import Path

from dotenv import load_dotenv
from limits import parse_many

from app.utils.redis_tls import redis_tls_options

BACKEND_DIR = Path(__file__).resolve().parent.parent

DEFAULT_CORS_ORIGINS = (
    "http://localhost:5173",
    "http://localhost:3000",
    "https://thedreamerscave.club",
    "https://www.thedreamerscave.club",
)

# Values that show a secret was copied from an example instead of generated.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "example",
                       "replace-me", "insecure", "dev-secret", "not-a-secret", "xxxx")
MIN_SECRET_LENGTH = 32

# How the app talks to its mail relay: STARTTLS on the submission port, implicit TLS, or
# (development and tests only) plain SMTP. The port follows unless SMTP_PORT says otherwise.
SMTP_SECURITY_PORTS = {"starttls": 587, "tls": 465, "plain": 25}
MIN_SMTP_PASSWORD_LENGTH = 8

# Every rate limit the app reads (README, "Rate limits", says what each counts).
RATE_LIMIT_SETTINGS = ("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT", "RATELIMIT_REGISTER",
                       "RATELIMIT_REGISTER_ACCOUNT", "RATELIMIT_RESEND",
                       "RATELIMIT_RESEND_ACCOUNT", "RATELIMIT_RESET", "RATELIMIT_RESET_ACCOUNT")


# The settings that name a Redis server (redis://, or rediss:// with TLS).
REDIS_URL_SETTINGS = ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                      "RATELIMIT_STORAGE_URI")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names it."""


def load_env_file() -> None:
    """Load the .env file into os.environ without overriding what is already set."""
    path = os.environ.get("TDC_ENV_FILE") or str(BACKEND_DIR / ".env")
    if os.path.isfile(path):
        load_dotenv(path, override=False)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _env_list(name: str, default: tuple[str, ...]) -> list[str]:
    raw = _env(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


class BaseConfig:
    """Settings shared by every environment; read when the class is instantiated."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    # The relay is named by the environment; only development may fall back to a local,
    # plain SMTP server (see DevelopmentConfig).
    DEFAULT_SMTP_HOST: str | None = None
    DEFAULT_SMTP_SECURITY = "starttls"
    ALLOWED_SMTP_SECURITY = ("starttls", "tls")

    def __init__(self) -> None:
        load_env_file()
        self.SECRET_KEY = _env("SECRET_KEY")
        self.JWT_SECRET_KEY = _env("JWT_SECRET_KEY")
        self.JWT_ACCESS_TOKEN_MINUTES = _env_int("JWT_ACCESS_TOKEN_MINUTES", 60)

        self.DB_HOST = _env("DB_HOST", "127.0.0.1")
        self.DB_PORT = _env_int("DB_PORT", 3306)
        self.DB_NAME = _env("DB_NAME", "tdc")
        self.DB_USER = _env("DB_USER", "tdc")
        self.DB_PASSWORD = _env("DB_PASSWORD", "")
        self.DB_UNIX_SOCKET = _env("DB_UNIX_SOCKET")
        # The CA that verifies the server over TCP (a database on another host): TLS with
        # the certificate and the server's name (DB_HOST) verified. Unset: no TLS.
        self.DB_SSL_CA = _env("DB_SSL_CA")
        self.DB_POOL_SIZE = _env_int("DB_POOL_SIZE", 10)
        # Seconds a request waits for a pooled connection before answering 503.
        self.DB_POOL_TIMEOUT = float(_env("DB_POOL_TIMEOUT", "3"))
        self.DB_CONNECT_TIMEOUT = _env_int("DB_CONNECT_TIMEOUT", 5)

        # rediss:// (TLS) with ssl_cert_reqs=required and ssl_ca_certs=<CA file>, or redis://.
        self.REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.CELERY_BROKER_URL = _env("CELERY_BROKER_URL", self.REDIS_URL)
        self.CELERY_RESULT_BACKEND = _env("CELERY_RESULT_BACKEND", self.REDIS_URL)
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", self.REDIS_URL)
        # Rate limits (flask-limiter's notation; ";" joins several), shared by all workers
        # through Redis. "Per client" is per IPv4 address or IPv6 /64, as nginx counts;
        # "per account" is per e-mail named in the body, registered or not.
        # Login attempts per client.
        self.RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "10 per minute")
        # Failed logins per account, from any address; the account then answers 429 until
        # the window ends, and a successful login clears the count.
        self.RATELIMIT_LOGIN_ACCOUNT = _env("RATELIMIT_LOGIN_ACCOUNT", "20 per 15 minutes")
        # Sign-ups per client, and per e-mail (each may send a mail to that address).
        self.RATELIMIT_REGISTER = _env("RATELIMIT_REGISTER", "5 per minute;30 per hour")
        self.RATELIMIT_REGISTER_ACCOUNT = _env("RATELIMIT_REGISTER_ACCOUNT", "3 per hour")
        # Verification mails asked for again, per client and per e-mail.
        self.RATELIMIT_RESEND = _env("RATELIMIT_RESEND", "5 per minute;20 per hour")
        self.RATELIMIT_RESEND_ACCOUNT = _env("RATELIMIT_RESEND_ACCOUNT", "3 per hour")
        # Password-reset mails asked for, per client and per e-mail.
        self.RATELIMIT_RESET = _env("RATELIMIT_RESET", "5 per minute;20 per hour")
        self.RATELIMIT_RESET_ACCOUNT = _env("RATELIMIT_RESET_ACCOUNT", "3 per hour")

        # The site the mails' links point at (/account/verify, /account/reset), no slash.
        self.SITE_URL = (_env("SITE_URL", "https://thedreamerscave.club") or "").rstrip("/")
        # How long the link of a verification and of a password-reset mail works.
        self.VERIFY_TOKEN_HOURS = _env_int("VERIFY_TOKEN_HOURS", 24)
        self.RESET_TOKEN_MINUTES = _env_int("RESET_TOKEN_MINUTES", 60)
        # Days a spent or expired link token is kept (a late click hears "used or
        # expired", not "unknown") before the daily purge deletes it.
        self.ACCOUNT_TOKEN_RETENTION_DAYS = _env_int("ACCOUNT_TOKEN_RETENTION_DAYS", 7)

        self.CORS_ORIGINS = _env_list("CORS_ORIGINS", DEFAULT_CORS_ORIGINS)
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
        # Peers whose X-Forwarded-* headers are believed: nginx on the unix socket or loopback.
        self.TRUSTED_PROXIES = _env_list("TRUSTED_PROXIES", ("unix", "127.0.0.1", "::1"))
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")
        # Seconds each process reuses one readiness result (0: check on every request).
        self.READINESS_CACHE_SECONDS = float(_env("READINESS_CACHE_SECONDS", "2"))

        # Outgoing mail: an authenticated submission relay (a transactional-mail provider).
        self.SMTP_SECURITY = (_env("SMTP_SECURITY", self.DEFAULT_SMTP_SECURITY) or "").lower()
        self.SMTP_HOST = _env("SMTP_HOST", self.DEFAULT_SMTP_HOST)
        self.SMTP_PORT = _env_int("SMTP_PORT", SMTP_SECURITY_PORTS.get(self.SMTP_SECURITY, 587))
        self.SMTP_USERNAME = _env("SMTP_USERNAME")
        self.SMTP_PASSWORD = _env("SMTP_PASSWORD")
        # The CA bundle that verifies the relay's certificate (unset: the system's store).
        self.SMTP_CA_FILE = _env("SMTP_CA_FILE")
        # Seconds each connect, command and answer may take.
        self.SMTP_TIMEOUT = float(_env("SMTP_TIMEOUT", "20"))
        self.MAIL_FROM = _env("MAIL_FROM", "The Dreamer's Cave <no-reply@thedreamerscave.club>")
        # Transient failures (4xx, connection errors) retry this often, the delay doubling
        # from MAIL_RETRY_DELAY up to MAIL_RETRY_DELAY_MAX seconds (about 2.5 hours in all
        # by default). The cap stays below the broker's visibility timeout (an hour).
        self.MAIL_RETRY_LIMIT = _env_int("MAIL_RETRY_LIMIT", 10)
        self.MAIL_RETRY_DELAY = float(_env("MAIL_RETRY_DELAY", "30"))
        self.MAIL_RETRY_DELAY_MAX = float(_env("MAIL_RETRY_DELAY_MAX", "1800"))

    def validate(self) -> None:
        """Refuse settings that cannot work; production adds its secret checks."""
        if self.DB_POOL_SIZE < 1:
            raise ConfigError("DB_POOL_SIZE must be at least 1")
        if not self.SITE_URL.startswith(("https://", "http://")):
            raise ConfigError(f"SITE_URL must be the site's https:// address, "
                              f"got {self.SITE_URL!r}")
        if self.VERIFY_TOKEN_HOURS < 1 or self.RESET_TOKEN_MINUTES < 1:
            raise ConfigError("VERIFY_TOKEN_HOURS and RESET_TOKEN_MINUTES must be at least 1")
        if self.ACCOUNT_TOKEN_RETENTION_DAYS < 1:
            raise ConfigError("ACCOUNT_TOKEN_RETENTION_DAYS must be at least 1, got "
                              f"{self.ACCOUNT_TOKEN_RETENTION_DAYS}")
        self.validate_rate_limits()
        self.validate_mail()
        self.validate_tls()

    def validate_rate_limits(self) -> None:
        """Refuse a limit flask-limiter could not parse (it would ignore it, unlimited)."""
        for name in RATE_LIMIT_SETTINGS:
            value = getattr(self, name)
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"{name} is not a rate limit such as '10 per minute', "
                                  f"got {value!r}") from None

    def validate_tls(self) -> None:
        """Refuse a TLS setting that would not verify the database or Redis."""
        if self.DB_SSL_CA:
            if self.DB_UNIX_SOCKET:
                raise ConfigError("DB_SSL_CA is for TCP to DB_HOST: unset DB_UNIX_SOCKET, "
                                  "or DB_SSL_CA for the local socket")
            if not os.path.isfile(self.DB_SSL_CA):
                raise ConfigError(f"DB_SSL_CA names no file: {self.DB_SSL_CA}")
        for name in REDIS_URL_SETTINGS:
            value = getattr(self, name) or ""
            if name == "RATELIMIT_STORAGE_URI" and not value.startswith("redis"):
                continue  # another flask-limiter storage (memory://): not Redis
            try:
                redis_tls_options(value)
            except ValueError as exc:
                raise ConfigError(f"{name} {exc}") from None

    def validate_mail(self) -> None:
        """Refuse a relay the app could not send through safely."""
        if self.SMTP_SECURITY not in self.ALLOWED_SMTP_SECURITY:
            allowed = ", ".join(self.ALLOWED_SMTP_SECURITY)
            raise ConfigError(f"SMTP_SECURITY must be one of {allowed} in {self.ENV_NAME}, "
                              f"got {self.SMTP_SECURITY!r}")
        if not 0 < self.SMTP_PORT < 65536:
            raise ConfigError(f"SMTP_PORT must be a TCP port, got {self.SMTP_PORT}")
        if bool(self.SMTP_USERNAME) != bool(self.SMTP_PASSWORD):
            raise ConfigError("SMTP_USERNAME and SMTP_PASSWORD are set together or not at all")
        if self.SMTP_CA_FILE and not os.path.isfile(self.SMTP_CA_FILE):
            raise ConfigError(f"SMTP_CA_FILE names no file: {self.SMTP_CA_FILE}")
        if self.MAIL_RETRY_LIMIT < 0 or self.MAIL_RETRY_DELAY <= 0:
            raise ConfigError("MAIL_RETRY_LIMIT must be >= 0 and MAIL_RETRY_DELAY > 0")


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = True
    # `make run` has no relay: a local SMTP server on localhost:25 may take the mail.
    DEFAULT_SMTP_HOST = "localhost"
    DEFAULT_SMTP_SECURITY = "plain"
    ALLOWED_SMTP_SECURITY = ("starttls", "tls", "plain")

    def __init__(self) -> None:
        super().__init__()
        # Development may run without generated secrets; production never does.
        self.SECRET_KEY = self.SECRET_KEY or "development-only-secret-key-not-for-production"
        self.JWT_SECRET_KEY = self.JWT_SECRET_KEY or "development-only-jwt-key-not-for-production"


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    DEBUG = False
    TESTING = True


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def validate(self) -> None:
        super().validate()
        for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
            check_secret(name, getattr(self, name), MIN_SECRET_LENGTH)
        check_secret("DB_PASSWORD", self.DB_PASSWORD, 1)
        if self.SECRET_KEY == self.JWT_SECRET_KEY:
            raise ConfigError("JWT_SECRET_KEY must differ from SECRET_KEY")

    def validate_mail(self) -> None:
        # Production sends only through an authenticated relay over TLS.
        for name in ("SMTP_HOST", "SMTP_USERNAME", "MAIL_FROM"):
            check_setting(name, getattr(self, name))
        check_secret("SMTP_PASSWORD", self.SMTP_PASSWORD, MIN_SMTP_PASSWORD_LENGTH)
        super().validate_mail()


def check_secret(name: str, value: str | None, min_length: int) -> None:
    """Raise ConfigError naming `name` when the secret is missing, short or a placeholder."""
    if not value:
        raise ConfigError(f"{name} is not set: generate one (e.g. `openssl rand -hex 32`)")
    if len(value) < min_length:
        raise ConfigError(f"{name} is too short ({len(value)} characters, at least "
                          f"{min_length} required)")
    lowered = value.lower()
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        raise ConfigError(f"{name} is a placeholder value: set a generated secret")


def check_setting(name: str, value: str | None) -> None:
    """Raise ConfigError naming `name` when the setting is missing or an example's value."""
    if not value:
        raise ConfigError(f"{name} is not set: name the mail relay's (see README)")
    lowered = value.lower()
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        raise ConfigError(f"{name} is a placeholder value: set the relay's real one")


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def get_config() -> type[BaseConfig]:
    """Return the configuration class named by FLASK_ENV (production when unset)."""
    load_env_file()
    name = os.environ.get("FLASK_ENV", "production").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"FLASK_ENV must be one of {', '.join(CONFIGS)}, got {name!r}") from None
