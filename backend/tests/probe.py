"""An app with extra routes that exercise the db helpers and error handlers."""

from flask import Flask, abort, jsonify, request, url_for

from app import create_app
from app.utils.db import fetch_one
from app.utils.request_body import json_body
from app.utils.responses import success


def create_probe_app(config) -> Flask:
    app = create_app(config)

    @app.get("/api/v1/_probe/db")
    def probe_db():
        return success(fetch_one("SELECT 41 + 1 AS answer"))

    @app.get("/api/v1/_probe/connection-id")
    def probe_connection_id():
        return success(fetch_one("SELECT CONNECTION_ID() AS id")["id"])

    @app.get("/api/v1/_probe/db-error")
    def probe_db_error():
        return success(fetch_one("SELECT no_such_column FROM locations"))

    @app.get("/api/v1/_probe/boom")
    def probe_boom():
        raise RuntimeError("secret internals")

    @app.get("/api/v1/_probe/abort/<int:code>")
    def probe_abort(code: int):
        abort(code)

    @app.post("/api/v1/_probe/echo")
    def probe_echo():
        return success(json_body())

    @app.get("/api/v1/_probe/urls")
    def probe_urls():
        return success({"host": request.host, "root": request.root_url,
                        "liveness": url_for("api.health.liveness", _external=True)})

    @app.get("/api/v1/_probe/html")
    def probe_plain():
        return jsonify(ok=True)

    return app
