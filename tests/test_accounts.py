"""The account flows of the deployed site, through nginx, with the links of the mails the
stand-in relay received: sign-up and verification, a taken address, reset by mail,
password change and logging out everywhere, a relay outage during a sign-up."""

import pytest
from ops import (
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    link_token,
    login,
    new_member,
    post_within_limits,
    register_member,
    relay_mails,
    vps_sh,
    wait_for,
    worker_journal,
)


def me(site, vps, token):
    return site.get(vps.url("/api/v1/auth/me"), timeout=15,
                    headers={"Authorization": f"Bearer {token}"})


def post(site, vps, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return site.post(vps.url(f"/api/v1/auth/{path}"), json=body, headers=headers, timeout=15)


def sign_up(vps, member):
    answer = post_within_limits(vps, "/api/v1/auth/register", member)
    assert answer.status_code == 202, answer.text
    return answer


def mail_of(address, subject, seconds=60):
    assert wait_for(lambda: relay_mails(address, subject), seconds, 0.2), \
        f"no mail {subject!r} for {address} at the relay"
    return relay_mails(address, subject)[-1]


@pytest.fixture
def relay_outage():
    """relay_outage(True) stops the relay, (False) starts it; started after the test."""
    yield lambda down: vps_sh("relay-stop" if down else "relay-start")
    vps_sh("relay-start")


def test_sign_up_verify_by_the_mails_link_then_log_in(site, vps):
    member = new_member("acct")
    sign_up(vps, member)
    mail = mail_of(member["email"], VERIFY_SUBJECT)
    token = link_token(mail, "verify")
    credentials = {"email": member["email"], "password": member["password"]}
    unverified = post(site, vps, "login", credentials)
    assert unverified.status_code == 403, unverified.text
    assert "not verified" in unverified.json()["error"]

    verified = post(site, vps, "verify", {"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["email"] == member["email"]
    assert me(site, vps, login(vps, member["email"], member["password"])).status_code == 200
    again = post(site, vps, "verify", {"token": token})
    assert again.status_code == 410, again.text


def test_a_taken_address_is_answered_alike_and_its_owner_told(site, vps):
    owner = register_member(vps, new_member("acct"))
    fresh = sign_up(vps, new_member("acct"))
    taken = sign_up(vps, {**new_member("acct"), "email": owner["email"]})
    assert taken.json() == fresh.json()
    notice = mail_of(owner["email"], "Someone tried to sign up with your address")
    assert link_token(notice, "reset")


def test_reset_by_mail_refuses_the_old_token_and_takes_the_new_password(site, vps):
    member = register_member(vps, new_member("acct"))
    old_token = login(vps, member["email"], member["password"])
    answer = post_within_limits(vps, "/api/v1/auth/reset-request", {"email": member["email"]})
    assert answer.status_code == 202, answer.text
    token = link_token(mail_of(member["email"], RESET_SUBJECT), "reset")

    new_password = "violet lantern under moss"
    reset = post(site, vps, "reset", {"token": token, "password": new_password})
    assert reset.status_code == 200, reset.text
    assert me(site, vps, old_token).status_code == 401
    assert post(site, vps, "login", {"email": member["email"],
                                     "password": member["password"]}).status_code == 401
    assert me(site, vps, login(vps, member["email"], new_password)).status_code == 200


def test_password_change_and_logout_all(site, vps):
    member = register_member(vps, new_member("acct"))
    this = login(vps, member["email"], member["password"])
    other = login(vps, member["email"], member["password"])
    weak = post(site, vps, "password", {"current_password": member["password"],
                                        "password": "password12345"}, token=this)
    assert weak.status_code == 422 and "password" in weak.json()["errors"], weak.text
    changed = post(site, vps, "password", {"current_password": member["password"],
                                           "password": "a quieter river stone"}, token=this)
    assert changed.status_code == 200, changed.text
    fresh = changed.json()["data"]["access_token"]
    assert [me(site, vps, token).status_code for token in (this, other, fresh)] == [401, 401, 200]

    assert post(site, vps, "logout-all", {}, token=fresh).status_code == 204
    assert me(site, vps, fresh).status_code == 401


def test_a_verification_mail_queued_while_the_relay_is_down_arrives_after(vps, relay_outage):
    member = new_member("acct")
    since = vps.run("date '+%Y-%m-%d %H:%M:%S'").strip()
    relay_outage(True)
    sign_up(vps, member)
    assert wait_for(lambda: worker_journal(vps, "mail_retry kind=verify ", since=f"'{since}'"),
                    60), "no retry while the relay was down"
    assert relay_mails(member["email"], VERIFY_SUBJECT) == []
    relay_outage(False)
    mail = mail_of(member["email"], VERIFY_SUBJECT, seconds=90)
    verified = post(vps.session(), vps, "verify", {"token": link_token(mail, "verify")})
    assert verified.status_code == 200, verified.text
    user_id = verified.json()["data"]["id"]
    retried = worker_journal(vps, f"mail_retry kind=verify user_id={user_id} ",
                             since=f"'{since}'")
    assert retried and "ConnectionRefusedError" in retried[0]
    assert len(relay_mails(member["email"], VERIFY_SUBJECT)) == 1
