"""MariaDB and Redis between hosts: TLS only, the server verified by the internal CA and
its address, plain text refused, and the app's Redis user kept from what would wipe,
reconfigure or stall the server. Each check runs on every web host with the app's own
drivers (its release's venv) and its own credentials (its .env)."""

import json

import pytest

# On a web host: the release's Python, the app's settings read from its .env.
APP_PYTHON = "/srv/tdc/current/venv/bin/python"
PRELUDE = """
import json, ssl, socket
from urllib.parse import urlsplit, parse_qs
from dotenv import dotenv_values
env = dotenv_values("/srv/tdc/shared/.env")
redis_url = urlsplit(env["REDIS_URL"])
query = {k: v[-1] for k, v in parse_qs(redis_url.query).items()}
DB = dict(host=env["DB_HOST"], port=int(env["DB_PORT"]), user=env["DB_USER"],
          password=env["DB_PASSWORD"], database=env["DB_NAME"], connection_timeout=5)
REDIS = dict(host=redis_url.hostname, port=redis_url.port, username=redis_url.username,
             password=redis_url.password, socket_timeout=5, socket_connect_timeout=5)
CA = env["DB_SSL_CA"]
def outcome(call):
    try:
        return {"ok": True, "value": call()}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
"""


def on_host(host, body: str) -> dict:
    """Run BODY (after PRELUDE) with the app's Python on HOST; it prints one JSON line."""
    script = PRELUDE + body
    out = host.vps.run(f"{APP_PYTHON} - <<'PYTHON'\n{script}\nPYTHON", timeout=60)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def web_hosts(cluster):
    hosts = [host for host in cluster.group("web") if "db" not in host.groups]
    assert hosts, "the cluster has no web host apart from the db host"
    return hosts


def test_the_app_settings_name_the_db_host_by_tls(cluster, web_hosts):
    db = cluster.group("db")[0]
    for host in web_hosts:
        result = on_host(host, 'print(json.dumps({"db": DB["host"], "redis": redis_url.scheme + "://" + REDIS["host"], '
                               '"ca": CA, "reqs": query.get("ssl_cert_reqs")}))')
        assert result == {"db": db.private_address, "redis": f"rediss://{db.private_address}",
                          "ca": "/etc/ssl/tdc-internal-ca.pem", "reqs": "required"}, host.name


def test_web_hosts_reach_both_by_tls_that_verifies_the_server(web_hosts):
    body = """
import mysql.connector, redis
def db():
    cnx = mysql.connector.connect(**DB, ssl_ca=CA, ssl_verify_cert=True, ssl_verify_identity=True)
    cur = cnx.cursor()
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
    version = cur.fetchone()[1]
    cur.execute("SELECT CURRENT_USER()")
    return [version, cur.fetchone()[0]]
def rds():
    client = redis.Redis(**REDIS, ssl=True, ssl_cert_reqs="required", ssl_ca_certs=CA)
    return client.ping()
# The system's CAs do not know the internal CA: a client that verifies refuses the server.
def db_other_ca():
    mysql.connector.connect(**DB, ssl_ca="/etc/ssl/certs/ca-certificates.crt",
                            ssl_verify_cert=True, ssl_verify_identity=True)
def redis_other_ca():
    redis.Redis(**REDIS, ssl=True, ssl_cert_reqs="required",
                ssl_ca_certs="/etc/ssl/certs/ca-certificates.crt").ping()
print(json.dumps({"db": outcome(db), "redis": outcome(rds), "db_other_ca": outcome(db_other_ca),
                  "redis_other_ca": outcome(redis_other_ca)}))
"""
    for host in web_hosts:
        result = on_host(host, body)
        assert result["db"]["ok"], (host.name, result["db"])
        version, user = result["db"]["value"]
        assert version.startswith("TLSv1."), (host.name, version)
        assert user == f"tdc@{host.private_address}", (host.name, user)
        assert result["redis"] == {"ok": True, "value": True}, (host.name, result["redis"])
        for name in ("db_other_ca", "redis_other_ca"):
            assert not result[name]["ok"], (host.name, name, result[name])
            assert "certificate verify failed" in result[name]["error"].lower() or \
                "certificate" in result[name]["error"].lower(), (host.name, name, result[name])


def test_plain_text_from_a_web_host_is_refused(web_hosts):
    body = """
import mysql.connector, redis
def db_plain():
    mysql.connector.connect(**DB, ssl_disabled=True)
def redis_plain():
    return redis.Redis(**REDIS).ping()
print(json.dumps({"db": outcome(db_plain), "redis": outcome(redis_plain)}))
"""
    for host in web_hosts:
        result = on_host(host, body)
        assert not result["db"]["ok"], (host.name, result)
        # require_secure_transport (3159), or the REQUIRE SSL account's refusal (1045).
        assert "insecure transport" in result["db"]["error"] or "Access denied" in result["db"]["error"], \
            (host.name, result["db"])
        assert not result["redis"]["ok"], (host.name, result)


def test_the_apps_redis_user_cannot_wipe_reconfigure_or_scan(web_hosts):
    # Each command is queued inside a transaction that is then discarded, so that even a
    # permitted one would change nothing: the ACL refuses a command as it is queued.
    body = """
import redis
client = redis.Redis(**REDIS, ssl=True, ssl_cert_reqs="required", ssl_ca_certs=CA)
def queued(*args):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("MULTI"); conn.read_response()
        conn.send_command(*args)
        try:
            return conn.read_response()
        finally:
            conn.send_command("DISCARD"); conn.read_response()
    finally:
        client.connection_pool.release(conn)
print(json.dumps({name: outcome(lambda args=args: queued(*args))
                  for name, args in {"FLUSHALL": ["FLUSHALL"], "CONFIG": ["CONFIG", "GET", "port"],
                                     "DEBUG": ["DEBUG", "SLEEP", "0"], "KEYS": ["KEYS", "*"]}.items()}))
"""
    for host in web_hosts:
        result = on_host(host, body)
        for command, answer in result.items():
            assert not answer["ok"], (host.name, command, answer)
            # The ACL's refusal; DEBUG meets the server's own first (enable-debug-command no).
            refusals = ("NoPermissionError", "NOPERM") + (("DEBUG command not allowed",) if command == "DEBUG" else ())
            assert any(refusal in answer["error"] for refusal in refusals), (host.name, command, answer)
