"""Admins manage members: list, change role, deactivate; the last admin stays."""

import pytest

pytestmark = pytest.mark.usefixtures("clean_tables")


def token_for(client, user):
    response = client.post("/api/v1/auth/login",
                           json={"email": user["email"], "password": user["password"]})
    return {"Authorization": f"Bearer {response.get_json()['data']['access_token']}"}


def test_user_list_needs_a_token(client):
    response = client.get("/api/v1/admin/users")
    assert response.status_code == 401
    assert response.get_json()["success"] is False


@pytest.mark.parametrize("role", ["user", "staff"])
def test_user_list_needs_the_admin_role(client, auth_headers, role):
    response = client.get("/api/v1/admin/users", headers=auth_headers(role))
    assert response.status_code == 403
    assert response.get_json() == {"success": False, "error": "This needs the admin role"}


def test_admin_lists_members_paginated(client, auth_headers, make_user):
    headers = auth_headers("admin")
    for _ in range(3):
        make_user()
    response = client.get("/api/v1/admin/users?per_page=2&page=2", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["meta"]["pagination"] == {"page": 2, "per_page": 2, "total": 4, "pages": 2}
    assert len(body["data"]) == 2
    assert all("password_hash" not in user for user in body["data"])


def test_admin_changes_a_role(client, auth_headers, make_user):
    headers = auth_headers("admin")
    member = make_user()
    response = client.patch(f"/api/v1/admin/users/{member['id']}", json={"role": "staff"},
                            headers=headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["role"] == "staff"
    # The new role takes effect on the member's next request.
    staff_headers = token_for(client, member)
    assert client.get("/api/v1/admin/users", headers=staff_headers).status_code == 403


def test_admin_deactivates_a_member(client, auth_headers, make_user):
    headers = auth_headers("admin")
    member = make_user()
    member_headers = token_for(client, member)
    response = client.patch(f"/api/v1/admin/users/{member['id']}", json={"is_active": False},
                            headers=headers)
    assert response.get_json()["data"]["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=member_headers).status_code == 401


@pytest.mark.parametrize("change", [{"role": "staff"}, {"role": "user"}, {"is_active": False}])
def test_the_last_admin_cannot_be_removed(client, make_user, change):
    admin = make_user(role="admin")
    headers = token_for(client, admin)
    response = client.patch(f"/api/v1/admin/users/{admin['id']}", json=change, headers=headers)
    assert response.status_code == 409
    assert "last active admin" in response.get_json()["error"]
    me = client.get("/api/v1/auth/me", headers=headers).get_json()["data"]
    assert me["role"] == "admin" and me["is_active"] is True


def test_an_admin_can_step_down_when_another_remains(client, make_user):
    first, second = make_user(role="admin"), make_user(role="admin")
    headers = token_for(client, first)
    response = client.patch(f"/api/v1/admin/users/{first['id']}", json={"role": "user"},
                            headers=headers)
    assert response.status_code == 200
    # Now `second` is the last one.
    second_headers = token_for(client, second)
    refused = client.patch(f"/api/v1/admin/users/{second['id']}", json={"is_active": False},
                           headers=second_headers)
    assert refused.status_code == 409


@pytest.mark.parametrize(("body", "field"), [
    ({"role": "superuser"}, "role"),
    ({"is_active": "no"}, "is_active"),
    ({"email": "new@example.com"}, "email"),
    ({"role": None, "password": "x"}, "password"),
])
def test_bad_changes_are_refused_with_field_errors(client, auth_headers, make_user, body, field):
    headers = auth_headers("admin")
    member = make_user()
    response = client.patch(f"/api/v1/admin/users/{member['id']}", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_unknown_user_is_404(client, auth_headers):
    headers = auth_headers("admin")
    assert client.patch("/api/v1/admin/users/999999", json={"role": "staff"},
                        headers=headers).status_code == 404
    assert client.get("/api/v1/admin/users/999999", headers=headers).status_code == 404
