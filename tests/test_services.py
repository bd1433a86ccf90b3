"""The systemd units and the data stores on the VPS."""

import re
import shlex

import pytest
from ops import REDIS_CLI_AS_APP, app_env, role_defaults

# DATABASE stands for the distribution's database server (ops.DATABASE_SERVERS).
DATABASE = "the database server"
UNITS = ["tdc-gunicorn.socket", "tdc-gunicorn.service", "tdc-celery-worker.service",
         "tdc-celery-beat.service", "tdc-app-metrics.service", "nginx.service", DATABASE, "redis-server.service",
         "prometheus.service", "prometheus-alertmanager.service",
         "prometheus-node-exporter.service", "prometheus-mysqld-exporter.service",
         "prometheus-redis-exporter.service", "prometheus-nginx-exporter.service",
         "prometheus-blackbox-exporter.service"]
# The monitoring's daemons (ss names a process by its first 15 characters) and the app's
# metrics listeners (tdc-app-metrics: python), all on loopback only.
MONITORING_DAEMONS = {"prometheus", "prometheus-aler", "prometheus-node", "prometheus-mysq",
                      "prometheus-redi", "prometheus-ngin", "prometheus-blac", "python"}


@pytest.mark.parametrize("unit", UNITS)
def test_unit_is_active_and_enabled(vps, unit):
    unit = vps.database.unit if unit == DATABASE else unit
    assert vps.run(f"systemctl is-active {unit}", check=False).strip() == "active"
    assert vps.run(f"systemctl is-enabled {unit}", check=False).strip() == "enabled"


@pytest.mark.parametrize("unit", ["tdc-gunicorn.service", "tdc-celery-worker.service",
                                  "tdc-celery-beat.service"])
def test_app_units_run_as_the_app_user_and_restart_on_failure(vps, unit):
    props = dict(line.split("=", 1) for line in vps.run(
        f"systemctl show {unit} -p User -p Restart -p MainPID").splitlines())
    assert props["User"] == "tdc"
    assert props["Restart"] in {"on-failure", "always"}
    owner = vps.run(f"ps -o user= -p {props['MainPID']}").strip()
    assert owner == "tdc"


def test_gunicorn_is_notify_type_behind_its_socket(vps):
    assert vps.run("systemctl show tdc-gunicorn.service -p Type --value").strip() == "notify"
    listen = vps.run("systemctl show tdc-gunicorn.socket -p Listen --value")
    assert "/run/" in listen


def listening(vps) -> list[tuple[str, str]]:
    """(local address, process) of every listening TCP socket on the VPS."""
    rows = []
    for line in vps.run("ss -Hltnp").splitlines():
        fields = line.split()
        rows.append((fields[3], fields[-1] if len(fields) > 5 else ""))
    return rows


def daemon(proc: str) -> str:
    return re.search(r'users:\(\("([^"]+)"', proc).group(1)


def test_only_the_stacks_own_daemons_listen(vps):
    """No package brought a daemon of its own (a mail server, say) that takes connections."""
    daemons = {daemon(proc) for _, proc in listening(vps)}
    assert daemons <= {"sshd", "nginx", vps.database.daemon, "redis-server",
                       *MONITORING_DAEMONS}, daemons


def test_the_monitoring_and_the_app_s_metrics_listen_on_loopback_only(vps):
    sockets = [(addr, daemon(proc)) for addr, proc in listening(vps)
               if daemon(proc) in MONITORING_DAEMONS]
    assert {name for _, name in sockets} == MONITORING_DAEMONS, sockets
    assert [s for s in sockets if s[0].rsplit(":", 1)[0] != "127.0.0.1"] == [], sockets


def test_the_app_s_metrics_are_served_by_their_own_unit_not_by_a_process_that_forks(vps):
    """gunicorn's master and the Celery worker's main process fork their workers: neither
    listens (a listener thread could hold a lock across a fork), tdc-app-metrics does."""
    app = role_defaults("app")
    ports = {str(app[name]) for name in ("app_metrics_port", "app_worker_metrics_port")}
    owners = {address.rsplit(":", 1)[1]: re.search(r"pid=(\d+)", proc).group(1)
              for address, proc in listening(vps)}
    main_pids = {unit: vps.run(f"systemctl show -p MainPID --value {unit}").strip()
                 for unit in ("tdc-app-metrics", "tdc-gunicorn", "tdc-celery-worker")}
    assert {owners.get(port) for port in ports} == {main_pids["tdc-app-metrics"]}, owners
    assert not {main_pids["tdc-gunicorn"], main_pids["tdc-celery-worker"]} & set(owners.values())
    # Its own user, not the app's: it may read the counts but not the app's .env.
    assert vps.run(f"ps -o user= -p {main_pids['tdc-app-metrics']}").strip() != "tdc"


@pytest.mark.parametrize(("process", "port"), [(DATABASE, "3306"), ("redis-server", "6379")])
def test_data_stores_listen_on_loopback_only(vps, process, port):
    process = vps.database.daemon if process == DATABASE else process
    sockets = [addr for addr, proc in listening(vps) if process in proc]
    assert sockets, f"{process} is not listening"
    for address in sockets:
        host = address.rsplit(":", 1)[0]
        assert host in {"127.0.0.1", "[::1]"}, f"{process} listens on {address}"


def test_redis_requires_a_password(vps):
    answer = vps.run("redis-cli -h 127.0.0.1 ping", check=False)
    assert "NOAUTH" in answer or "Authentication required" in answer


def test_redis_is_capped_and_never_evicts_the_broker_s_tasks(vps):
    info = vps.run(f"{REDIS_CLI_AS_APP} INFO memory")
    memory = dict(line.split(":", 1) for line in info.split() if ":" in line)
    wanted = role_defaults("redis")
    assert memory["maxmemory_human"].lower() == wanted["redis_maxmemory"].replace("mb", ".00m")
    assert memory["maxmemory_policy"] == wanted["redis_maxmemory_policy"] == "noeviction"


def test_mysql_has_no_anonymous_users_nor_test_database(vps):
    mysql = vps.database.client
    users = vps.run(f"{mysql} -N -e \"SELECT CONCAT(User,'@',Host) FROM mysql.user\"").split()
    assert not [u for u in users if u.startswith("@")]
    assert "test" not in vps.run(f"{mysql} -N -e 'SHOW DATABASES'").split()


def as_app_user(vps, sql: str) -> str:
    """Run SQL on the app's database as the API's own user (its .env credentials); the
    output, with the server's refusal when it refuses."""
    login = (f"MYSQL_PWD={app_env('DB_PASSWORD')} {vps.database.client} -N -B -u {app_env('DB_USER')} "
             f"{app_env('DB_NAME')}")
    return vps.run(f"{login} -e {shlex.quote(sql)} 2>&1", check=False)


def test_the_api_user_writes_rows_but_cannot_change_the_schema(vps):
    assert as_app_user(vps, "SELECT COUNT(*) > 0 FROM locations").strip() == "1"
    assert as_app_user(vps, "UPDATE locations SET name = name WHERE id = 0").strip() == ""
    for statement in ("CREATE TABLE drift_probe (id INT)", "ALTER TABLE locations ADD x INT",
                      "DROP TABLE revoked_tokens"):
        assert "command denied" in as_app_user(vps, statement), statement


def test_env_file_is_private_to_the_app_user(vps):
    stat = vps.run("stat -L -c '%a %U' /srv/tdc/current/.env").split()
    assert stat == ["600", "tdc"]


def test_current_points_at_a_release(vps):
    target = vps.run("readlink -f /srv/tdc/current").strip()
    assert target.startswith("/srv/tdc/releases/")
    assert vps.run(f"test -x {target}/venv/bin/gunicorn && echo ok").strip() == "ok"
