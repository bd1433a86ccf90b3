"""The db host (MariaDB and Redis) restarts under a client loop through the edge: while
it is down the API answers 503 in its JSON envelope, and it serves again soon after the
host is back. Disruptive: it reboots a host."""

import time

import pytest
from ops import Traffic

# From the reboot's order to the first 200 through the edge again.
BACK_WITHIN = 150


def ready(session, vps) -> bool:
    """A member's venue list answers (past the microcache: the database itself)."""
    try:
        return session.get(vps.url("/api/v1/locations"), timeout=10).status_code == 200
    except Exception:  # noqa: BLE001 - any failure is "not yet"
        return False


@pytest.mark.disruptive
def test_the_db_host_restarted_answers_503_meanwhile_and_serves_again(cluster, site, vps, token):
    [db] = cluster.group("db")
    member = vps.session()
    member.headers["Authorization"] = f"Bearer {token}"
    with Traffic(vps, token, max_seconds=BACK_WITHIN + 30, max_rate=20) as traffic:
        time.sleep(3)
        ordered = time.monotonic()
        db.vps.run("systemctl reboot", check=False, timeout=30)
        # Down first: the API must notice the restart.
        deadline = ordered + 60
        while time.monotonic() < deadline and ready(member, vps):
            time.sleep(0.5)
        went_down = time.monotonic() - ordered
        while time.monotonic() < ordered + BACK_WITHIN and not ready(member, vps):
            time.sleep(1)
        back_after = time.monotonic() - ordered
        time.sleep(3)
    print(f"down after {went_down:.1f} s, back after {back_after:.1f} s; {dict(traffic.statuses)}")
    assert went_down < 60, "the site kept answering 200 with its database host rebooting"
    assert back_after < BACK_WITHIN, f"not back within {BACK_WITHIN} s"
    assert traffic.errors == [], traffic.errors[:5]
    assert set(traffic.refusals) == {(503, True)}, traffic.refusals
    assert traffic.statuses[200] > 0
    answer = member.get(vps.url("/api/v1/locations"), timeout=10)
    assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
