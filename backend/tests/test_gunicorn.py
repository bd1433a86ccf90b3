"""gunicorn with the repository's gunicorn.conf.py: its own refusals in the JSON envelope."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent


def wsgi_app(environ, start_response):
    """What gunicorn serves in these tests: the refusals never reach it."""
    body = b'{"success": true, "data": null}\n'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module", params=["sync", "gthread"])
def gunicorn(request):
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1",
           "GUNICORN_THREADS": "1" if request.param == "sync" else "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
         "tests.test_gunicorn:wsgi_app"], cwd=BACKEND, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def exchange(port: int, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status.encode(), headers, body


HOST = b"Host: thedreamerscave.club\r\nConnection: close\r\n"


@pytest.mark.parametrize(("request_bytes", "status", "error"), [
    # What nginx passes and gunicorn refuses (each seen through nginx as an HTML page).
    (b"GET /api/v1/health HTTP/1.1\r\n" + HOST + b"X-A: a\x01b\r\n\r\n", 400, "Bad request"),
    (b"GET /api/v1/\xc3\xb3pera HTTP/1.1\r\n" + HOST + b"\r\n", 400, "Bad request"),
    (b"GET /api/v1/x?" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414,
     "Request URI too long"),
    (b"GET /api/v1/health HTTP/1.1\r\n" + HOST
     + b"".join(b"X-P%d: a\r\n" % i for i in range(110)) + b"\r\n", 431,
     "Request headers too large"),
])
def test_refusals_are_the_json_envelope(gunicorn, request_bytes, status, error):
    line, headers, body = exchange(gunicorn, request_bytes)
    assert line.startswith(b"HTTP/1.1 %d " % status), line
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body) == {"success": False, "error": error}


def test_a_good_request_still_reaches_the_app(gunicorn):
    line, _, body = exchange(gunicorn, b"GET /api/v1/health HTTP/1.1\r\n" + HOST + b"\r\n")
    assert line.startswith(b"HTTP/1.1 200 ")
    assert json.loads(body) == {"success": True, "data": None}
