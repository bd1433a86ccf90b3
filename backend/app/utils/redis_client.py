"""The app's Redis client (revoked tokens, rate limits and readiness share it)."""

import redis
from flask import Flask, current_app

EXTENSION_KEY = "tdc_redis"


def init_redis(app: Flask) -> None:
    # Connects lazily; short timeouts so a dead Redis fails a request fast, not slowly.
    app.extensions[EXTENSION_KEY] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2,
        health_check_interval=30, decode_responses=True)


def get_redis() -> redis.Redis:
    return current_app.extensions[EXTENSION_KEY]
