"""The admin audit trail through nginx: an admin's write is listed, with its request id,
and the request's log line names the admin."""

import json
import uuid

from ops import ADMIN_EMAIL, admin_token, member_token


def test_an_admin_write_appears_in_the_audit_trail(site, vps):
    headers = {"Authorization": f"Bearer {admin_token(vps)}"}
    admin = site.get(vps.url("/api/v1/auth/me"), headers=headers, timeout=15).json()["data"]
    assert admin["email"] == ADMIN_EMAIL
    tag = uuid.uuid4().hex[:12]
    event = {"slug": f"audit-{tag}", "title": "Audited", "event_type": "concert",
             "location": "jazz-club", "starts_at": "2099-01-01T20:00:00Z",
             "ends_at": "2099-01-01T22:00:00Z"}
    created = site.post(vps.url("/api/v1/admin/events"), json=event, timeout=15,
                        headers={**headers, "X-Request-ID": f"audit-create-{tag}"})
    assert created.status_code == 201, created.text
    # Unpublished, and gone again: the club's programme stays as it was.
    deleted = site.delete(vps.url(f"/api/v1/admin/events/{event['slug']}"), timeout=15,
                          headers={**headers, "X-Request-ID": f"audit-delete-{tag}"})
    assert deleted.status_code == 204

    listed = site.get(vps.url("/api/v1/admin/audit?target_type=event&per_page=2"),
                      headers=headers, timeout=15)
    assert listed.status_code == 200, listed.text
    entries = listed.json()["data"]
    event_id = created.json()["data"]["id"]
    assert [(e["action"], e["target_id"], e["actor_id"], e["request_id"]) for e in entries] == [
        ("event.delete", event_id, admin["id"], f"audit-delete-{tag}"),
        ("event.create", event_id, admin["id"], f"audit-create-{tag}"),
    ]
    assert entries[1]["changes"]["slug"] == event["slug"]

    lines = vps.run(f"journalctl -u tdc-gunicorn -o cat --no-pager --grep audit-create-{tag}")
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
