"""The admin audit trail: a row for every admin and staff write, listed for admins only."""

import logging

import pytest

from app.utils.db import fetch_all
from tests.club import assert_error_envelope, count_rows, seed_the_locations
from tests.logs import captured_logs

pytestmark = pytest.mark.usefixtures("clean_tables")

AUDIT = "/api/v1/admin/audit"
EVENT = {
    "slug": "fado-night", "title": "Fado night", "description": "Guitars and saudade.",
    "event_type": "concert", "location": "arquipelago",
    "starts_at": "2099-05-01T21:00:00+01:00", "ends_at": "2099-05-01T23:30:00+01:00",
}
LOCATION = {"slug": "rooftop", "name": "The Rooftop", "capacity": 80}


@pytest.fixture
def member(app, make_user):
    """member(role) -> (id, headers with a bearer token of a new member of that role)."""
    from app.services.tokens import issue_token

    def make(role: str = "user") -> tuple[int, dict[str, str]]:
        user = make_user(role=role)
        with app.app_context():
            token, _ = issue_token(user["id"])
        return user["id"], {"Authorization": f"Bearer {token}"}

    seed_the_locations(app)
    return make


def trail(client, headers, query=""):
    response = client.get(AUDIT + query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def write(client, method, path, headers, request_id, **kwargs):
    response = getattr(client, method)(path, headers={**headers, "X-Request-ID": request_id},
                                       **kwargs)
    assert response.status_code < 300, response.get_json()
    return response


def test_every_kind_of_write_is_recorded(client, member):
    admin_id, admin = member("admin")
    staff_id, staff = member("staff")
    user_id, _ = member("user")
    steps = [
        (staff, "post", "/api/v1/admin/events", {"json": EVENT}),
        (staff, "patch", "/api/v1/admin/events/fado-night", {"json": {"title": "Fado!"}}),
        (staff, "post", "/api/v1/admin/events/fado-night/publish", {}),
        (staff, "post", "/api/v1/admin/events/fado-night/unpublish", {}),
        (staff, "delete", "/api/v1/admin/events/fado-night", {}),
        (admin, "post", "/api/v1/admin/locations", {"json": LOCATION}),
        (admin, "put", "/api/v1/admin/locations/rooftop", {"json": {**LOCATION, "capacity": 90}}),
        (admin, "delete", "/api/v1/admin/locations/rooftop", {}),
        (admin, "patch", f"/api/v1/admin/users/{user_id}", {"json": {"role": "staff"}}),
        (admin, "patch", f"/api/v1/admin/users/{user_id}", {"json": {"is_active": False}}),
        (admin, "patch", f"/api/v1/admin/users/{user_id}", {"json": {"is_active": True}}),
    ]
    for n, (headers, method, path, kwargs) in enumerate(steps):
        write(client, method, path, headers, f"audit-step-{n}", **kwargs)

    entries = trail(client, admin, "?per_page=100")["data"]
    # Newest first: the steps in reverse.
    assert [entry["request_id"] for entry in entries] == [
        f"audit-step-{n}" for n in reversed(range(len(steps)))]
    rows = list(reversed(entries))
    assert [(r["actor_id"], r["action"], r["target_type"]) for r in rows] == [
        (staff_id, "event.create", "event"), (staff_id, "event.update", "event"),
        (staff_id, "event.publish", "event"), (staff_id, "event.unpublish", "event"),
        (staff_id, "event.delete", "event"),
        (admin_id, "location.create", "location"), (admin_id, "location.update", "location"),
        (admin_id, "location.deactivate", "location"),
        (admin_id, "user.role_change", "user"), (admin_id, "user.deactivate", "user"),
        (admin_id, "user.reactivate", "user"),
    ]
    event_id = rows[0]["target_id"]
    assert {r["target_id"] for r in rows[:5]} == {event_id}
    assert rows[0]["changes"]["slug"] == "fado-night"
    assert rows[0]["changes"]["location"] == "arquipelago"
    assert rows[0]["changes"]["starts_at"] == "2099-05-01T20:00:00Z"
    assert rows[1]["changes"] == {"title": ["Fado night", "Fado!"]}
    assert rows[2]["changes"] == {"is_published": [False, True]}
    assert rows[3]["changes"] == {"is_published": [True, False]}
    assert rows[4]["changes"] == {"slug": "fado-night", "title": "Fado!"}
    assert rows[5]["changes"]["capacity"] == 80
    assert rows[6]["changes"] == {"capacity": [80, 90]}
    assert rows[7]["changes"] == {"slug": "rooftop", "is_active": [True, False]}
    assert rows[8]["target_id"] == user_id
    assert rows[8]["changes"] == {"role": ["user", "staff"]}
    assert rows[9]["changes"] == {"is_active": [True, False]}
    assert rows[10]["changes"] == {"is_active": [False, True]}
    assert all(r["created_at"].endswith("Z") for r in rows)


def test_a_refused_write_leaves_no_row(client, app, member):
    _, admin = member("admin")
    assert trail(client, admin)["data"] == []
    # The last admin cannot be demoted: 409, and nothing recorded.
    last = client.get("/api/v1/auth/me", headers=admin).get_json()["data"]["id"]
    refused = client.patch(f"/api/v1/admin/users/{last}", json={"role": "user"}, headers=admin)
    assert_error_envelope(refused, 409)
    taken = client.post("/api/v1/admin/locations", json={**LOCATION, "slug": "arquipelago"},
                        headers=admin)
    assert_error_envelope(taken, 409)
    assert count_rows(app, "admin_audit") == 0


def test_the_change_and_its_row_commit_together(client, app, member, monkeypatch):
    """A failure writing the row rolls the change back."""
    _, staff = member("staff")
    from app.services import audit

    def broken(*_args, **_kwargs):
        raise RuntimeError("the audit insert failed")

    monkeypatch.setattr(audit, "record", broken)
    response = client.post("/api/v1/admin/events", json=EVENT, headers=staff)
    assert_error_envelope(response, 500)
    assert count_rows(app, "events") == 0


def test_only_admins_read_the_trail(client, member):
    assert_error_envelope(client.get(AUDIT), 401)
    for role in ("user", "staff"):
        _, headers = member(role)
        response = client.get(AUDIT, headers=headers)
        assert_error_envelope(response, 403)


def test_the_trail_is_paginated_and_filtered(client, app, member):
    admin_id, admin = member("admin")
    staff_id, staff = member("staff")
    for n in range(3):
        write(client, "post", "/api/v1/admin/locations", admin, f"loc-{n}",
              json={**LOCATION, "slug": f"room-{n}"})
    write(client, "post", "/api/v1/admin/events", staff, "ev-0", json=EVENT)

    page = trail(client, admin, "?per_page=2&page=2")
    assert page["meta"]["pagination"] == {"page": 2, "per_page": 2, "total": 4, "pages": 2}
    assert [e["request_id"] for e in page["data"]] == ["loc-1", "loc-0"]

    by_staff = trail(client, admin, f"?actor_id={staff_id}")["data"]
    assert [e["request_id"] for e in by_staff] == ["ev-0"]
    locations = trail(client, admin, "?target_type=location")["data"]
    assert [e["request_id"] for e in locations] == ["loc-2", "loc-1", "loc-0"]
    one = trail(client, admin, f"?target_type=location&target_id={locations[1]['target_id']}")
    assert [e["request_id"] for e in one["data"]] == ["loc-1"]
    assert trail(client, admin, f"?actor_id={admin_id}&target_type=event")["data"] == []
    assert trail(client, admin, "?actor_id=999999999")["meta"]["pagination"]["total"] == 0


@pytest.mark.parametrize(("query", "field"), [
    ("?actor_id=0", "actor_id"), ("?actor_id=abc", "actor_id"), ("?actor_id=-1", "actor_id"),
    ("?actor_id=1.5", "actor_id"), ("?actor_id=1000000000", "actor_id"),
    ("?target_id=", "target_id"), ("?target_type=venue", "target_type"),
    ("?target_type=USER", "target_type"), ("?page=0", "page"),
])
def test_bad_filters_are_400_naming_the_parameter(client, member, query, field):
    _, admin = member("admin")
    assert_error_envelope(client.get(AUDIT + query, headers=admin), 400, field)


def test_the_request_log_line_names_the_member(client, member):
    admin_id, admin = member("admin")
    logger = logging.getLogger("tdc.request")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with captured_logs("tdc.request") as records:
            client.get(AUDIT, headers=admin)
            client.get("/api/v1/health")
            client.get(AUDIT, headers={"Authorization": "Bearer not.a.token"})
    finally:
        logger.setLevel(level)
    fields = [record.fields for record in records]
    assert [f.get("user_id") for f in fields] == [admin_id, None, None]
    assert [f["status"] for f in fields] == [200, 200, 401]


def test_the_rows_are_in_the_table(app, client, member):
    _, staff = member("staff")
    response = write(client, "post", "/api/v1/admin/events", staff, "stored-1", json=EVENT)
    with app.app_context():
        [row] = fetch_all("SELECT action, target_id, request_id FROM admin_audit")
    assert row == {"action": "event.create", "target_id": response.get_json()["data"]["id"],
                   "request_id": "stored-1"}
