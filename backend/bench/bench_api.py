"""`make bench-api`: req/s and latency of GET /api/v1/health and GET /api/v1/locations.

A benchmark, not a test. It starts its own MariaDB and Redis in a temporary directory,
migrates and seeds the database, serves the app with gunicorn as production does
(`-c gunicorn.conf.py wsgi:app`, sync workers, production config, MariaDB over its unix
socket) and drives the endpoints with wrk in turn, over several short rounds, so that
other load on the machine weighs on both alike. The goal: the location list, which reads
the database, serves at least 0.8 of the rate of the health check, which touches
nothing. Also reported: the CPU each request cost gunicorn and MariaDB, and, for
reference, the rate of a route that runs only `SELECT 1` on a pooled connection
(bench_wsgi.py): the ceiling for any endpoint that reads the database once. Results are
printed and written to bench-results/api.txt at the repository root.

Run from anywhere with the backend's virtualenv: `.venv/bin/python backend/bench/bench_api.py`.
Everything it starts listens on 127.0.0.1 or a unix socket only and is stopped when it ends.
"""

# It runs the local servers and tools it names, never user input, and its only SQL
# holds a password it generated itself (hex).
# ruff: noqa: S603, S607, S608

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent
REPO = BACKEND.parent
RESULTS = REPO / "bench-results" / "api.txt"
BIN = Path(sys.executable).parent
GOAL = 0.8
# select-1 (bench_wsgi.py) is a reference, not a goal: one round trip and no rows.
ENDPOINTS = [("health", "/api/v1/health"), ("select-1", "/bench/select-1"),
             ("locations", "/api/v1/locations")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"bench-api: {what} did not come up within {timeout:g} s")


@contextmanager
def process(args: list[str], log: Path, **kwargs) -> Iterator[subprocess.Popen]:
    """Run a server process for the duration of the block, then stop it (SIGTERM)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def mariadb(state: Path) -> Iterator[tuple[Path, str, int]]:
    """A throwaway MariaDB with database `tdc` and user `tdc`; yields (socket, password, pid).

    The app reaches it over its unix socket, as the deployed app does.
    """
    # mariadbd runs as the mysql user: it must reach the state directory and own its own.
    home = state / "mariadb"
    datadir, sock = home / "data", home / "mysqld.sock"
    datadir.mkdir(parents=True)
    state.chmod(0o755)
    for path in (home, datadir):
        shutil.chown(path, "mysql", "mysql")
    subprocess.run(["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={datadir}",
                    "--auth-root-authentication-method=socket", "--skip-test-db"],
                   check=True, capture_output=True)
    password = secrets.token_hex(16)
    args = ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
            "--skip-networking", "--user=mysql", "--skip-log-bin",
            f"--pid-file={home / 'mariadbd.pid'}", f"--log-error={home / 'mariadb.err'}"]
    with process(args, state / "mariadb.log") as server:
        root = ["mariadb", "--no-defaults", f"--socket={sock}", "-uroot"]
        wait_until(lambda: subprocess.run([*root, "-e", "SELECT 1"],
                                          capture_output=True).returncode == 0, "MariaDB")
        subprocess.run(root, check=True, input=(
            "CREATE DATABASE tdc CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;"
            f"CREATE USER 'tdc'@'localhost' IDENTIFIED BY '{password}';"
            "GRANT ALL PRIVILEGES ON tdc.* TO 'tdc'@'localhost';").encode())
        yield sock, password, server.pid


@contextmanager
def redis(state: Path) -> Iterator[int]:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(state),
            "--save", "", "--appendonly", "no"]
    with process(args, state / "redis.log"):
        wait_until(lambda: _connects(port), "Redis")
        yield port


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback URL)
            return response.status == 200
    except OSError:
        return False


def app_env(db_socket: Path, db_password: str, redis_port: int) -> dict[str, str]:
    """Production settings with secrets made for this run."""
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    return {
        **os.environ,
        "TDC_ENV_FILE": os.devnull,
        "FLASK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "DB_UNIX_SOCKET": str(db_socket), "DB_NAME": "tdc", "DB_USER": "tdc",
        "DB_PASSWORD": db_password,
        "REDIS_URL": redis_url,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of `pid` and every process under it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # it ended meanwhile
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def wrk(url: str, seconds: int, connections: int, threads: int,
        watched: dict[str, int]) -> dict[str, float]:
    """Drive `url` with wrk; return its requests, seconds, p50/p99 latency in ms and the
    CPU seconds each `watched` process tree (name -> pid) spent meanwhile."""
    before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--latency", url], check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"bench-api: errors while loading {url}:\n{out}")
    requests, elapsed = re.search(r"(\d+) requests in ([\d.]+)s", out).groups()
    return {"requests": int(requests), "seconds": float(elapsed),
            "p50": _latency(out, "50%"), "p99": _latency(out, "99%"),
            **{f"cpu_{name}": cpu_seconds(pid) - before[name] for name, pid in watched.items()}}


def combine(rounds: list[dict[str, float]]) -> dict[str, float]:
    """One endpoint's figures over its rounds: overall req/s and CPU ms per request,
    median latencies."""
    requests = sum(r["requests"] for r in rounds)
    combined = {"rps": requests / sum(r["seconds"] for r in rounds),
                "p50": statistics.median(r["p50"] for r in rounds),
                "p99": statistics.median(r["p99"] for r in rounds)}
    for key in (k for k in rounds[0] if k.startswith("cpu_")):
        combined[key] = sum(r[key] for r in rounds) * 1000 / requests
    return combined


def _latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def report(results: dict[str, dict[str, float]], settings: str) -> tuple[str, bool]:
    ratio = results["locations"]["rps"] / results["health"]["rps"]
    passed = ratio >= GOAL
    lines = [f"bench-api  {settings}",
             f"{'endpoint':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
             f"{'CPU ms/req: app':>18}{'db':>6}"]
    for name, path in ENDPOINTS:
        r = results[name]
        lines.append(f"{path:<22}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
                     f"{r['cpu_app']:>18.2f}{r['cpu_db']:>6.2f}")
    lines.append(f"ratio locations/health: {ratio:.3f} (goal >= {GOAL}) "
                 f"{'PASS' if passed else 'FAIL'}")
    ceiling = results["select-1"]["rps"] / results["health"]["rps"]
    lines.append(f"ratio select-1/health: {ceiling:.3f} (reference: one query, no rows)")
    return "\n".join(lines) + "\n", passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=2, help="load per endpoint and round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds taking the endpoints in turn, so that a change in the "
                        "machine's other load touches both alike")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: gunicorn.conf.py's, 2 x cores + 1)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench-api: wrk is missing; install it with scripts/apt-ensure wrk")

    with tempfile.TemporaryDirectory(prefix="tdc-bench-") as tmp:
        state = Path(tmp)
        with mariadb(state) as (db_socket, db_password, db_pid), redis(state) as redis_port:
            env = app_env(db_socket, db_password, redis_port)
            for command in (["db", "upgrade"], ["db", "seed"]):
                subprocess.run([BIN / "flask", "--app", "wsgi", *command], cwd=BACKEND, env=env,
                               check=True, capture_output=True)
            port = free_port()
            env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
            env["GUNICORN_THREADS"] = "1"  # sync workers
            if args.workers:
                env["GUNICORN_WORKERS"] = str(args.workers)
            base = f"http://127.0.0.1:{port}"
            # The app's request log goes where journald would take it in production: a file.
            # bench_wsgi:app is wsgi:app plus the select-1 route.
            env["PYTHONPATH"] = str(Path(__file__).resolve().parent)
            gunicorn = [BIN / "gunicorn", "-c", "gunicorn.conf.py", "bench_wsgi:app"]
            with process(gunicorn, state / "gunicorn.log", cwd=BACKEND, env=env) as server:
                wait_until(lambda: _answers(base + "/api/v1/health"), "gunicorn")
                watched = {"app": server.pid, "db": db_pid}
                for _, path in ENDPOINTS:  # warm every worker and its pooled connections
                    wrk(base + path, 2, args.connections, args.threads, watched)
                rounds: dict[str, list[dict[str, float]]] = {name: [] for name, _ in ENDPOINTS}
                for _ in range(args.rounds):
                    for name, path in ENDPOINTS:
                        rounds[name].append(wrk(base + path, args.seconds, args.connections,
                                                args.threads, watched))
                results = {name: combine(runs) for name, runs in rounds.items()}
                workers = env.get("GUNICORN_WORKERS", "default")
    settings = (f"(gunicorn sync workers: {workers}, wrk -t{args.threads} "
                f"-c{args.connections}, {args.rounds} rounds of {args.seconds} s per endpoint, "
                f"{os.cpu_count()} cores)")
    text, passed = report(results, settings)
    print(text, end="")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
