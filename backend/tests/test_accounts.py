"""Sign-up without enumeration, verification, password reset and change, logging out
everywhere: the tokens' rules and their failure paths."""

import re
import statistics
import time

import pytest

from app.services import account_tokens, users
from app.tasks.account_mail import send_verification_email
from app.utils.db import execute, fetch_one
from tests.club import assert_error_envelope
from tests.waits import wait_for

pytestmark = pytest.mark.usefixtures("clean_tables")

PASSWORD = "correct horse battery"
NEW_PASSWORD = "violet lantern under moss"
TOKEN_IN_LINK = re.compile(r"https://thedreamerscave\.club/account/(verify|reset)#token=([\w-]+)")


def post(client, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/api/v1/auth/{path}", json=body, headers=headers)


def register(client, email="luna@example.com", username="luna", password=PASSWORD):
    return post(client, "register", {"email": email, "username": username,
                                     "password": password})


def login(client, email, password=PASSWORD):
    return post(client, "login", {"email": email, "password": password})


def me(client, token):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def access_token(client, email, password=PASSWORD):
    answer = login(client, email, password)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"]["access_token"]


def mails_to(relay, address, subject, since=0):
    """The relay's mails to ADDRESS with SUBJECT, of those after the first SINCE (the
    relay keeps the whole session's)."""
    return [m for m in relay.messages[since:]
            if m["to"] == [address] and f"Subject: {subject}" in m["body"]]


def mail_after(relay, since, address, subject):
    """The one such mail the relay got after its first SINCE, waiting for it."""
    assert wait_for(lambda: mails_to(relay, address, subject, since)), f"no {subject!r}"
    [mail] = mails_to(relay, address, subject, since)
    return mail


def link_of(mail):
    """(purpose, token) of the one link in a mail."""
    [found] = TOKEN_IN_LINK.findall(mail["body"])
    return found


@pytest.fixture
def unverified(app, clean_tables):
    """A member who signed up and has not followed the link yet."""
    with app.app_context():
        user = users.create_user("nova@example.com", "nova", PASSWORD, verified=False)
    return user


@pytest.fixture
def new_token(app):
    """new_token(user_id, purpose) -> a live token's value, as a mail would carry it."""
    def make(user_id, purpose):
        with app.app_context():
            return account_tokens.create(user_id, purpose)[1]

    return make


@pytest.fixture
def no_limits(app, monkeypatch):
    """Rate limits far away, for tests that repeat a limited request."""
    for name in ("RATELIMIT_REGISTER", "RATELIMIT_RESEND", "RATELIMIT_RESET"):
        for setting in (name, f"{name}_ACCOUNT"):
            monkeypatch.setitem(app.config, setting, "1000 per minute")


def expire(app, token):
    with app.app_context():
        execute("UPDATE account_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
                "WHERE token_hash = %s", (account_tokens.digest(token),))


# --- sign-up -------------------------------------------------------------------------


def test_sign_up_verify_then_log_in_through_the_mails(client, celery_worker, relay):
    since = len(relay.messages)
    assert register(client).status_code == 202
    mail = mail_after(relay, since, "luna@example.com", "Confirm your e-mail address")
    purpose, token = link_of(mail)
    assert purpose == "verify"
    refused = login(client, "luna@example.com")
    assert_error_envelope(refused, 403)
    assert "not verified" in refused.get_json()["error"]

    verified = post(client, "verify", {"token": token})
    assert verified.status_code == 200
    assert verified.get_json()["data"]["email_verified_at"] is not None
    assert me(client, access_token(client, "luna@example.com")).status_code == 200
    # The welcome mail follows the verification, once.
    mail_after(relay, since, "luna@example.com", "Welcome to The Dreamer's Cave")


def test_unverified_is_said_only_after_the_right_password(client, unverified):
    wrong = login(client, "nova@example.com", "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert login(client, "nova@example.com").status_code == 403


def test_a_taken_address_gets_the_same_answer_and_its_owner_a_notice(client, make_user,
                                                                     celery_worker, relay):
    owner = make_user(email="sol@example.com")
    since = len(relay.messages)
    new = register(client, email="luna@example.com", username="luna")
    taken = register(client, email="SOL@example.com", username="someone")
    assert new.status_code == taken.status_code == 202
    assert new.get_json() == taken.get_json()
    notice = mail_after(relay, since, owner["email"], "Someone tried to sign up")
    purpose, token = link_of(notice)
    assert purpose == "reset"
    # The link is a working reset link: the owner who forgot the password gets back in.
    assert post(client, "reset", {"token": token, "password": NEW_PASSWORD}).status_code == 200
    assert login(client, owner["email"], NEW_PASSWORD).status_code == 200
    assert login(client, owner["email"]).status_code == 401


def test_sign_up_takes_as_long_for_a_taken_address_as_for_a_new_one(client, make_user,
                                                                    no_limits):
    """Both paths hash the password with argon2: the time tells nothing."""
    make_user(email="taken@example.com")
    times = {"new": [], "taken": []}
    for number in range(6):
        for kind in times:
            email = f"new{number}@example.com" if kind == "new" else "taken@example.com"
            started = time.perf_counter()
            answer = register(client, email=email, username=f"{kind}{number}")
            times[kind].append(time.perf_counter() - started)
            assert answer.status_code == 202
    new, taken = statistics.median(times["new"]), statistics.median(times["taken"])
    assert new / 3 < taken < new * 3, (new, taken)


@pytest.mark.parametrize(("password", "why"), [
    ("password1234", "too common"), ("qwertyuiop123", "too common"),
    ("dreamerscave", "too common"), ("luna@example.com", "e-mail address or username"),
    ("lunalunaluna", "too common"),
])
def test_common_or_personal_passwords_are_refused_on_register(client, app, password, why):
    answer = register(client, password=password)
    body = assert_error_envelope(answer, 422, "password")
    assert why in body["errors"]["password"][0]
    with app.app_context():
        assert users.get_login_record("luna@example.com") is None


def test_a_password_equal_to_the_username_is_refused(client):
    answer = register(client, username="moonlit_river_42", password="moonlit_river_42")
    body = assert_error_envelope(answer, 422, "password")
    assert "username" in body["errors"]["password"][0]


# --- verification tokens -------------------------------------------------------------


def test_a_verification_token_works_once(client, unverified, new_token):
    token = new_token(unverified["id"], "verify")
    assert post(client, "verify", {"token": token}).status_code == 200
    assert_error_envelope(post(client, "verify", {"token": token}), 410)


def test_an_expired_verification_token_is_gone(client, app, unverified, new_token):
    token = new_token(unverified["id"], "verify")
    expire(app, token)
    assert_error_envelope(post(client, "verify", {"token": token}), 410)
    assert login(client, "nova@example.com").status_code == 403


def test_a_token_of_another_purpose_is_unknown(client, unverified, new_token):
    reset_token = new_token(unverified["id"], "reset")
    assert_error_envelope(post(client, "verify", {"token": reset_token}), 404)
    verify_token = new_token(unverified["id"], "verify")
    answer = post(client, "reset", {"token": verify_token, "password": NEW_PASSWORD})
    assert_error_envelope(answer, 404)
    # Neither was spent by the wrong route.
    assert post(client, "verify", {"token": verify_token}).status_code == 200


@pytest.mark.parametrize("token", ["", "short", "x" * 200, "has spaces in it and is long enough",
                                   "bad/chars+in=this=token=which=is=long=enough=1"])
def test_a_malformed_token_is_a_422(client, token):
    assert_error_envelope(post(client, "verify", {"token": token}), 422, "token")


def test_an_unknown_token_is_a_404(client):
    assert_error_envelope(post(client, "verify", {"token": "A" * 43}), 404)


def test_tokens_are_stored_hashed_only(app, unverified, new_token):
    token = new_token(unverified["id"], "verify")
    with app.app_context():
        row = fetch_one("SELECT token_hash FROM account_tokens WHERE user_id = %s",
                        (unverified["id"],))
    assert row["token_hash"] == account_tokens.digest(token) != token
    assert len(token) >= 43


def test_a_verification_mail_of_a_spent_token_is_not_sent(app, client, unverified, relay):
    with app.app_context():
        token_id, token = account_tokens.create(unverified["id"], "verify")
    assert post(client, "verify", {"token": token}).status_code == 200
    before = len(relay.messages)
    with app.app_context():
        outcome = send_verification_email.apply(args=(unverified["id"], token_id, token)).get()
    assert outcome.startswith("skipped")
    assert len(relay.messages) == before


def test_a_task_whose_token_row_names_another_token_or_member_mails_nothing(app, unverified,
                                                                        make_user, relay):
    """A task queued before a restore (ids reused) finds a row that is not its token's."""
    other = make_user()
    before = len(relay.messages)
    with app.app_context():
        token_id, token = account_tokens.create(unverified["id"], "verify")
        stale = [send_verification_email.apply(args=args).get()
                 for args in ((unverified["id"], token_id, "B" * 43),
                              (other["id"], token_id, token))]
    assert all(outcome.startswith("skipped") for outcome in stale), stale
    assert len(relay.messages) == before


def test_a_verification_task_run_twice_mails_once(app, unverified, relay):
    since = len(relay.messages)
    with app.app_context():
        token_id, token = account_tokens.create(unverified["id"], "verify")
        outcomes = [send_verification_email.apply(args=(unverified["id"], token_id, token)).get()
                    for _ in range(2)]
    assert outcomes == ["sent", "skipped: sent already"]
    assert len(mails_to(relay, "nova@example.com", "Confirm your e-mail address", since)) == 1


# --- resend --------------------------------------------------------------------------


def open_tokens(app, user_id, purpose):
    with app.app_context():
        return fetch_one("SELECT COUNT(*) AS n FROM account_tokens WHERE user_id = %s AND "
                         "purpose = %s AND used_at IS NULL", (user_id, purpose))["n"]


def queued_look_ups(app):
    """The look-ups waiting in the broker's default queue."""
    return app.extensions["celery"].connection_for_write().default_channel.client.llen("celery")


def test_resend_answers_alike_and_mails_only_an_unverified_account(client, app, unverified,
                                                                   make_user, no_limits,
                                                                   celery_worker, relay):
    verified = make_user()
    since = len(relay.messages)
    answers = [post(client, "verify/resend", {"email": email})
               for email in ("NOVA@example.com", verified["email"], "nobody@example.com",
                             "not even an address")]
    assert {answer.status_code for answer in answers} == {202}
    assert len({str(answer.get_json()) for answer in answers}) == 1
    mail_after(relay, since, "nova@example.com", "Confirm your e-mail address")
    assert open_tokens(app, unverified["id"], "verify") == 1
    assert open_tokens(app, verified["id"], "verify") == 0
    assert not mails_to(relay, verified["email"], "Confirm your e-mail address", since)


def test_resend_is_rate_limited(client):
    statuses = [post(client, "verify/resend", {"email": f"r{i}@example.com"}).status_code
                for i in range(6)]
    assert statuses == [202] * 5 + [429]


# --- password reset --------------------------------------------------------------------


def test_reset_request_answers_alike_and_mails_only_an_active_account(client, app, make_user,
                                                                      no_limits, celery_worker,
                                                                      relay):
    active, inactive = make_user(), make_user(is_active=False)
    since = len(relay.messages)
    answers = [post(client, "reset-request", {"email": email})
               for email in (active["email"], inactive["email"], "nobody@example.com")]
    assert {answer.status_code for answer in answers} == {202}
    assert len({str(answer.get_json()) for answer in answers}) == 1
    mail_after(relay, since, active["email"], "Set a new password")
    assert open_tokens(app, active["id"], "reset") == 1
    assert open_tokens(app, inactive["id"], "reset") == 0
    assert not mails_to(relay, inactive["email"], "Set a new password", since)


@pytest.mark.parametrize("path", ["verify/resend", "reset-request"])
def test_the_request_only_queues_the_address_whatever_it_names(client, app, unverified,
                                                               no_limits, path):
    """No look-up while the member waits (no worker runs here): the answer takes the same
    time for an address with an account as for one without."""
    celery = app.extensions["celery"]
    celery.control.purge()
    try:
        for email in (unverified["email"], "nobody@example.com"):
            assert post(client, path, {"email": email}).status_code == 202
        assert queued_look_ups(app) == 2
        assert open_tokens(app, unverified["id"], "verify") == 0
        assert open_tokens(app, unverified["id"], "reset") == 0
    finally:
        celery.control.purge()  # no later test's worker mails these


def test_reset_request_is_rate_limited(client):
    statuses = [post(client, "reset-request", {"email": f"r{i}@example.com"}).status_code
                for i in range(6)]
    assert statuses == [202] * 5 + [429]


def test_reset_by_mail_revokes_every_token_and_retires_the_other_links(client, app, make_user,
                                                                      celery_worker, relay,
                                                                      new_token):
    member = make_user()
    sessions = [access_token(client, member["email"]) for _ in range(2)]
    older_link = new_token(member["id"], "reset")
    since = len(relay.messages)
    assert post(client, "reset-request", {"email": member["email"]}).status_code == 202
    mail = mail_after(relay, since, member["email"], "Set a new password")
    purpose, token = link_of(mail)
    assert purpose == "reset"

    assert post(client, "reset", {"token": token, "password": NEW_PASSWORD}).status_code == 200
    assert [me(client, session).status_code for session in sessions] == [401, 401]
    assert login(client, member["email"]).status_code == 401
    assert me(client, access_token(client, member["email"], NEW_PASSWORD)).status_code == 200
    again = post(client, "reset", {"token": token, "password": "another fine passphrase"})
    assert_error_envelope(again, 410)
    older = post(client, "reset", {"token": older_link, "password": "another fine passphrase"})
    assert_error_envelope(older, 410)


def test_an_expired_reset_token_is_gone(client, app, make_user, new_token):
    member = make_user()
    token = new_token(member["id"], "reset")
    expire(app, token)
    assert_error_envelope(post(client, "reset", {"token": token, "password": NEW_PASSWORD}), 410)
    assert login(client, member["email"]).status_code == 200


def test_a_refused_reset_password_leaves_the_token_usable(client, make_user, new_token):
    member = make_user()
    token = new_token(member["id"], "reset")
    weak = post(client, "reset", {"token": token, "password": "password12345"})
    assert_error_envelope(weak, 422, "password")
    mine = post(client, "reset", {"token": token, "password": member["email"]})
    assert_error_envelope(mine, 422, "password")
    assert post(client, "reset", {"token": token, "password": NEW_PASSWORD}).status_code == 200


def test_a_deactivation_retires_the_links_mailed_before_it(client, app, make_user, new_token,
                                                          unverified):
    """As with access tokens: neither the deactivated account nor, once reactivated, the
    links it had work; a mail of them still queued is moot (is_usable)."""
    from app.models.user import UserUpdateInput

    member = make_user()
    reset_link = new_token(member["id"], "reset")
    verify_link = new_token(unverified["id"], "verify")
    with app.app_context():
        for user_id in (member["id"], unverified["id"]):
            users.update_user(user_id, UserUpdateInput(is_active=False))
        users.update_user(member["id"], UserUpdateInput(is_active=True))
        assert open_tokens(app, member["id"], "reset") == 0
    refused = post(client, "reset", {"token": reset_link, "password": NEW_PASSWORD})
    assert_error_envelope(refused, 410)
    assert login(client, member["email"]).status_code == 200
    assert_error_envelope(post(client, "verify", {"token": verify_link}), 410)
    with app.app_context():
        assert users.get_user(unverified["id"])["email_verified_at"] is None


def test_a_reset_verifies_the_address_it_came_to(client, unverified, new_token):
    token = new_token(unverified["id"], "reset")
    assert post(client, "reset", {"token": token, "password": NEW_PASSWORD}).status_code == 200
    assert login(client, "nova@example.com", NEW_PASSWORD).status_code == 200


# --- password change and logging out everywhere --------------------------------------


def test_password_change_keeps_this_session_and_cuts_off_the_others(client, make_user):
    member = make_user()
    this, other = access_token(client, member["email"]), access_token(client, member["email"])
    answer = post(client, "password", {"current_password": PASSWORD, "password": NEW_PASSWORD},
                  token=this)
    assert answer.status_code == 200
    fresh = answer.get_json()["data"]["access_token"]
    assert me(client, fresh).status_code == 200
    assert me(client, this).status_code == me(client, other).status_code == 401
    assert login(client, member["email"]).status_code == 401
    assert login(client, member["email"], NEW_PASSWORD).status_code == 200


def test_password_change_needs_the_current_password(client, make_user):
    member = make_user()
    token = access_token(client, member["email"])
    answer = post(client, "password", {"current_password": "not the password",
                                       "password": NEW_PASSWORD}, token=token)
    body = assert_error_envelope(answer, 403)
    assert body["error"] == "The current password is wrong"
    assert me(client, token).status_code == 200
    assert login(client, member["email"]).status_code == 200


def test_password_change_refuses_a_common_password(client, make_user):
    member = make_user()
    token = access_token(client, member["email"])
    answer = post(client, "password", {"current_password": PASSWORD,
                                       "password": "iloveyou12345"}, token=token)
    assert_error_envelope(answer, 422, "password")
    assert me(client, token).status_code == 200


def test_password_change_and_logout_all_need_a_token(client):
    assert post(client, "password", {"current_password": PASSWORD,
                                     "password": NEW_PASSWORD}).status_code == 401
    assert post(client, "logout-all", {}).status_code == 401


def test_logout_all_cuts_off_every_token_of_the_account_only(client, make_user):
    member, someone = make_user(), make_user()
    sessions = [access_token(client, member["email"]) for _ in range(2)]
    theirs = access_token(client, someone["email"])
    answer = client.post("/api/v1/auth/logout-all",
                         headers={"Authorization": f"Bearer {sessions[0]}"})
    assert answer.status_code == 204
    assert [me(client, session).status_code for session in sessions] == [401, 401]
    assert me(client, theirs).status_code == 200
    assert me(client, access_token(client, member["email"])).status_code == 200
