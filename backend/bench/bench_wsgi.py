"""The production app with one more route, for `make bench-api` only.

GET /bench/select-1 runs `SELECT 1` on a pooled connection and answers it in the
envelope: the least any endpoint that reads the database once can do, so its rate is the
ceiling for the location list's.
"""

from app.utils.db import fetch_one
from app.utils.responses import success
from wsgi import app


@app.get("/bench/select-1")
def select_one():
    return success(fetch_one("SELECT 1 AS one"))
