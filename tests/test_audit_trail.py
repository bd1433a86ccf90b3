"""The admin audit trail through nginx: an admin's write is listed, with its request id,
and the request's log line names the admin."""

import json
import uuid

from ops import ADMIN_EMAIL, admin_token, member_token


def test_admin_writes_appear_in_the_audit_trail(site, vps):
    headers = {"Authorization": f"Bearer {admin_token(vps)}"}
    admin = site.get(vps.url("/api/v1/auth/me"), headers=headers, timeout=15).json()["data"]
    assert admin["email"] == ADMIN_EMAIL
    tag = uuid.uuid4().hex[:12]
    # A venue and an event of this test's own, gone again after: the club's programme and
    # venues stay as they were (a location is deactivated, an event deleted).
    location = {"slug": f"audit-{tag}", "name": "Audited room"}
    event = {"slug": f"audit-{tag}", "title": "Audited", "event_type": "concert",
             "location": location["slug"], "starts_at": "2099-01-01T20:00:00Z",
             "ends_at": "2099-01-01T22:00:00Z"}
    steps = [("post", "/api/v1/admin/locations", location, 201),
             ("post", "/api/v1/admin/events", event, 201),
             ("delete", f"/api/v1/admin/events/{event['slug']}", None, 204),
             ("delete", f"/api/v1/admin/locations/{location['slug']}", None, 204)]
    answers = []
    for n, (method, path, body, status) in enumerate(steps):
        answer = site.request(method, vps.url(path), json=body, timeout=15,
                              headers={**headers, "X-Request-ID": f"audit-{tag}-{n}"})
        assert answer.status_code == status, answer.text
        answers.append(answer)
    location_id = answers[0].json()["data"]["id"]
    event_id = answers[1].json()["data"]["id"]

    listed = site.get(vps.url(f"/api/v1/admin/audit?actor_id={admin['id']}&per_page=4"),
                      headers=headers, timeout=15)
    assert listed.status_code == 200, listed.text
    entries = listed.json()["data"]
    assert [(e["action"], e["target_type"], e["target_id"], e["request_id"])
            for e in entries] == [
        ("location.deactivate", "location", location_id, f"audit-{tag}-3"),
        ("event.delete", "event", event_id, f"audit-{tag}-2"),
        ("event.create", "event", event_id, f"audit-{tag}-1"),
        ("location.create", "location", location_id, f"audit-{tag}-0"),
    ]
    assert {e["actor_id"] for e in entries} == {admin["id"]}
    assert entries[2]["changes"]["slug"] == event["slug"]
    assert entries[0]["changes"] == {"slug": location["slug"], "is_active": [True, False]}

    # The write's request log line names the admin.
    lines = vps.run(f"journalctl -u tdc-gunicorn -o cat --no-pager --grep audit-{tag}-1")
    logged = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
    assert [entry.get("user_id") for entry in logged if entry.get("path")] == [admin["id"]]


def test_staff_may_not_read_the_audit_trail(site, vps):
    admin = {"Authorization": f"Bearer {admin_token(vps)}"}
    member = {"Authorization": f"Bearer {member_token(vps, 'audit')}"}
    member_id = site.get(vps.url("/api/v1/auth/me"), headers=member, timeout=15).json()["data"]["id"]
    promoted = site.patch(vps.url(f"/api/v1/admin/users/{member_id}"), json={"role": "staff"},
                          headers=admin, timeout=15)
    assert promoted.status_code == 200, promoted.text
    answer = site.get(vps.url("/api/v1/admin/audit"), headers=member, timeout=15)
    assert answer.status_code == 403
    assert answer.json() == {"success": False, "error": "This needs the admin role"}
    # The promotion itself is in the trail.
    [entry] = site.get(vps.url(f"/api/v1/admin/audit?target_type=user&target_id={member_id}"),
                       headers=admin, timeout=15).json()["data"]
    assert (entry["action"], entry["changes"]) == ("user.role_change", {"role": ["user", "staff"]})
