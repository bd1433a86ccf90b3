"""Faults the site survives: a killed gunicorn worker or master, a killed Celery worker,
a restart of Redis or MariaDB. After each, readiness is back within the bound the case
states, requests succeed again, and a task queued around the fault runs once it is back."""

import shlex
import time
import uuid

import pytest
from ops import (
    REDIS_CLI_AS_APP,
    WELCOME_SUBJECT,
    new_member,
    queue_welcome,
    register_member,
    relay_mails,
    role_defaults,
    wait_for,
)

pytestmark = pytest.mark.disruptive

# A welcome mail is sent once: forgetting its record lets the next task send it again.
FORGET_WELCOME = "mariadb {database} -e {statement}"


def main_pid(vps, unit: str) -> str:
    return vps.run(f"systemctl show -p MainPID --value {unit}").strip()


# (name, command on the VPS, seconds until readiness must be back, queue the task first)
FAULTS = [
    ("gunicorn worker killed",
     "kill -9 $(pgrep -P $(systemctl show -p MainPID --value tdc-gunicorn) | head -n 1)",
     15, True),
    ("gunicorn master killed", "kill -9 $(systemctl show -p MainPID --value tdc-gunicorn)",
     30, True),
    # Killed first, the task queued while it is down.
    ("celery worker killed", "kill -9 $(systemctl show -p MainPID --value tdc-celery-worker)",
     45, False),
    ("redis restarted", "systemctl restart redis-server", 45, True),
    ("mariadb restarted", "systemctl restart mariadb", 60, True),
]


@pytest.fixture(scope="module")
def member_id(site, vps):
    member = register_member(vps, new_member())
    return member["id"], member["email"]


@pytest.mark.parametrize(("name", "command", "bound", "queue_first"), FAULTS,
                         ids=[fault[0] for fault in FAULTS])
def test_the_site_recovers(site, vps, member_id, token, name, command, bound, queue_first):
    user_id, email = member_id

    def mails() -> int:
        return len(relay_mails(email, WELCOME_SUBJECT))

    assert wait_for(lambda: mails() > 0, 60), "the registration's welcome mail never came"
    sent_before = mails()
    forget = f"DELETE FROM mail_deliveries WHERE message_key = 'welcome:{int(user_id)}'"
    vps.run(FORGET_WELCOME.format(database=role_defaults("mysql")["mysql_app_database"],
                                  statement=shlex.quote(forget)))
    if queue_first:
        queue_welcome(vps, user_id)
    started = time.monotonic()
    vps.run(command)
    if not queue_first:
        queue_welcome(vps, user_id)

    vps.wait_until_ready(seconds=bound)
    recovered = time.monotonic() - started
    # With a token: past the microcache, so each answer comes from gunicorn and MariaDB.
    client = vps.session()
    client.headers["Authorization"] = f"Bearer {token}"
    answers = [client.get(vps.url(path), timeout=15)
               for path in ("/api/v1/locations", "/api/v1/events") * 15]
    statuses = [(answer.status_code, answer.headers.get("X-Cache-Status")) for answer in answers]
    assert statuses == [(200, "BYPASS")] * len(answers), f"{name}: after recovery {statuses}"
    assert wait_for(lambda: mails() > sent_before, 60), \
        f"{name}: the task queued around the fault never ran (ready after {recovered:.1f} s)"


def test_a_redis_restart_keeps_what_its_transactions_wrote(site, vps):
    """Redis replays its AOF as the default user, which may log in nowhere but must be
    allowed the file's commands: a transaction's writes (a counter and its expiry, as the
    rate limiter keeps them) come back after a restart."""
    key = f"tdc:e2e:aof:{uuid.uuid4().hex[:8]}"
    vps.run(f"printf 'MULTI\\nINCR {key}\\nEXPIRE {key} 600\\nEXEC\\n' | {REDIS_CLI_AS_APP}")
    vps.run("systemctl restart redis-server")
    vps.wait_until_ready(seconds=45)
    ttl = int(vps.run(f"{REDIS_CLI_AS_APP} TTL {key}").strip())
    vps.run(f"{REDIS_CLI_AS_APP} DEL {key}")
    assert 0 < ttl <= 600, f"after the restart the key's TTL is {ttl} (-2: lost, -1: no expiry)"
