"""The app holds the database connections its processes can use, no more, at rest and
under load, well inside the server's max_connections."""

from ops import Traffic, role_defaults

# Connections of the app's own database user; the query itself runs as root.
APP_CONNECTIONS = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                   "WHERE USER = '{user}'")


def app_connections(vps, user: str) -> int:
    return int(vps.run(f"{vps.database.client} -N -B -e \"{APP_CONNECTIONS.format(user=user)}\"").strip())


def pool_budget(vps) -> int:
    """What the deployed processes may hold: one pool per gunicorn worker and per Celery
    process (the worker's children and beat), each of DB_POOL_SIZE connections."""
    env = vps.run("grep -E '^DB_POOL_SIZE=' /srv/tdc/shared/.env").strip()
    pool_size = int(env.split("=", 1)[1].strip("'"))
    workers = int(vps.run("systemctl show -p Environment --value tdc-gunicorn").split(
        "GUNICORN_WORKERS=", 1)[1].split()[0])
    celery = int(vps.run("pgrep -c -f 'celery -A app.tasks worker'").strip())
    return pool_size * (workers + celery + 1)


def test_the_app_holds_one_connection_per_thread_at_rest_and_under_load(site, vps, token):
    user = role_defaults("mysql")["mysql_app_user"]
    budget = pool_budget(vps)
    max_connections = int(vps.run(f"{vps.database.client} -N -B -e 'SELECT @@max_connections'").strip())
    assert budget * 2 < max_connections, f"pools of {budget} leave no room in {max_connections}"

    at_rest = app_connections(vps, user)
    with Traffic(vps, token, paths=("/api/v1/locations?per_page=3", "/api/v1/events"),
                 max_seconds=8) as traffic:
        under_load = max(app_connections(vps, user) for _ in range(5))
    traffic.assert_none_lost()
    print(f"\napp connections: {at_rest} at rest, {under_load} under load; pools {budget}, "
          f"max_connections {max_connections}")
    assert at_rest <= budget, f"{at_rest} connections at rest, pools allow {budget}"
    assert under_load <= budget, f"{under_load} connections under load, pools allow {budget}"
