"""The Flask application factory."""

from flask import Flask

from app.config import BaseConfig, get_config


def create_app(config_class: type[BaseConfig] | BaseConfig | None = None) -> Flask:
    # No static route: nginx serves the site's files, Flask only the API.
    app = Flask(__name__, static_folder=None)

    # Load configuration (FLASK_ENV picks the class) and refuse unsafe settings.
    if config_class is None:
        config_class = get_config()
    config = config_class() if isinstance(config_class, type) else config_class
    config.validate()
    app.config.from_object(config)

    # Request bodies parsed strictly (a bad one is a 400, never a 500), answers in field order.
    from app.utils.json_provider import StrictJSONProvider

    app.json = StrictJSONProvider(app)
    app.json.sort_keys = False

    # Logging: one JSON line per request, with its request id.
    from app.utils.request_log import configure_logging, init_request_logging

    configure_logging(app)
    init_request_logging(app)

    # Prometheus metrics: each request counted and timed by route and status.
    from app.utils.metrics import init_metrics

    init_metrics(app)

    # Trust X-Forwarded-* from exactly one proxy hop, and only from nginx's addresses.
    from app.utils.proxy import TrustedProxyFix

    app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["TRUSTED_PROXIES"])

    # CORS for the club's own front ends only.
    from app.utils.cors import init_cors

    init_cors(app)

    # Writes must carry a JSON object (or nothing).
    from app.utils.request_body import check_json_body

    app.before_request(check_json_body)

    # Database pool, Redis client and Celery, all connecting lazily.
    from app.tasks import init_celery
    from app.utils.db import init_pool
    from app.utils.redis_client import init_redis

    with app.app_context():
        init_pool(app)
    init_redis(app)
    init_celery(app)

    # Bearer-token users (Flask-Login) and per-client rate limits in Redis.
    from app.services.tokens import authenticate
    from app.utils.auth import init_auth
    from app.utils.rate_limit import init_rate_limit

    init_auth(app, authenticate)
    init_rate_limit(app)

    # Register blueprints
    from app.routes.api import register_api_routes

    register_api_routes(app)

    # Register error handlers
    from app.utils.errors import register_error_handlers

    register_error_handlers(app)

    # Operator commands (flask --app wsgi db|users|mail ...)
    from app.cli import register_cli
    from app.cli_mail import register_mail_cli
    from app.cli_users import register_users_cli

    register_cli(app)
    register_users_cli(app)
    register_mail_cli(app)

    return app
