"""CORS for the club's own front ends, with `Vary: Origin` on every answer it covers."""

import re

from flask import Flask, Response, request
from flask_cors import CORS

CORS_PATHS = r"/api/*"


def init_cors(app: Flask) -> None:
    # flask-cors' own vary_header adds Vary only to answers that carry CORS headers, so a
    # cache (nginx's microcache) could serve an answer to a request without Origin to a
    # cross-origin caller: Vary is added to every answer here instead.
    CORS(app, resources={CORS_PATHS: {"origins": app.config["CORS_ORIGINS"]}},
         methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
         allow_headers=["Authorization", "Content-Type"], expose_headers=["X-Request-ID"],
         max_age=600, always_send=False, vary_header=False)
    app.after_request(vary_on_origin)


def vary_on_origin(response: Response) -> Response:
    """Say that an answer under CORS_PATHS depends on Origin, whether or not one was sent."""
    if re.match(CORS_PATHS, request.path):
        response.vary.add("Origin")
    return response
