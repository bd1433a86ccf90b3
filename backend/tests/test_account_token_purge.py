"""Spent and expired link tokens are purged once older than the retention; live ones stay."""

from datetime import timedelta

import pytest

from app.services import account_tokens
from app.services.users import utc_now
from app.tasks.maintenance import purge_account_tokens
from app.utils.db import execute, fetch_all

pytestmark = pytest.mark.usefixtures("clean_tables")

RETENTION_DAYS = 7  # the default, which the tests' config keeps


def _token(user_id: int, name: str, expires_days: float, used_days: float | None,
           created_days: float = 40) -> None:
    """A row named NAME (its hash) expiring EXPIRES_DAYS from now (negative: ago), spent
    USED_DAYS ago (None: never), made CREATED_DAYS ago."""
    now = utc_now().replace(microsecond=0)
    used_at = None if used_days is None else now - timedelta(days=used_days)
    execute("INSERT INTO account_tokens (user_id, purpose, token_hash, expires_at, used_at, "
            "created_at) VALUES (%s, 'reset', %s, %s, %s, %s)",
            (user_id, name.ljust(64, "0"), now + timedelta(days=expires_days), used_at,
             now - timedelta(days=created_days)))


def _remaining() -> set[str]:
    return {row["token_hash"].rstrip("0") for row in
            fetch_all("SELECT token_hash FROM account_tokens")}


@pytest.fixture
def tokens_of_every_kind(app, make_user):
    """Tokens either side of the retention; the names of those a purge keeps."""
    user_id = make_user()["id"]
    with app.app_context():
        # Spent long ago: one also long expired, one whose (long) lifetime runs on.
        _token(user_id, "usedlongago", expires_days=-9, used_days=9.5)
        _token(user_id, "usedlongagostillvalid", expires_days=30, used_days=8)
        # Expired long ago, never used.
        _token(user_id, "expiredlongago", expires_days=-8, used_days=None)
        # Spent or expired within the retention: kept.
        _token(user_id, "usedrecently", expires_days=-1, used_days=6)
        _token(user_id, "expiredrecently", expires_days=-6, used_days=None)
        # Live, however old: kept.
        _token(user_id, "liveold", expires_days=1, used_days=None, created_days=60)
        _token(user_id, "livenew", expires_days=1, used_days=None, created_days=0)
    return {"usedrecently", "expiredrecently", "liveold", "livenew"}


def test_the_task_purges_only_tokens_spent_or_expired_before_the_retention(
        app, tokens_of_every_kind):
    assert app.config["ACCOUNT_TOKEN_RETENTION_DAYS"] == RETENTION_DAYS
    with app.app_context():
        assert purge_account_tokens.apply().get() == {"purged": 3}
        assert _remaining() == tokens_of_every_kind
        # Nothing more to do on the next run.
        assert purge_account_tokens.apply().get() == {"purged": 0}
        assert _remaining() == tokens_of_every_kind


def test_the_cli_purges_the_same_tokens(app, tokens_of_every_kind):
    result = app.test_cli_runner().invoke(args=["users", "purge-tokens"])
    assert result.exit_code == 0, result.output
    assert "purged 3 link tokens" in result.output
    assert f"more than {RETENTION_DAYS} days ago" in result.output
    with app.app_context():
        assert _remaining() == tokens_of_every_kind


def test_a_purge_larger_than_a_batch_deletes_every_batch(app, make_user, monkeypatch):
    monkeypatch.setattr(account_tokens, "PURGE_BATCH", 2)
    user_id = make_user()["id"]
    with app.app_context():
        for number in range(5):
            _token(user_id, f"spent{number}", expires_days=-20, used_days=20)
        for number in range(3):
            _token(user_id, f"expired{number}", expires_days=-20, used_days=None)
        _token(user_id, "live", expires_days=1, used_days=None)
        assert account_tokens.purge(timedelta(days=RETENTION_DAYS)) == 8
        assert _remaining() == {"live"}


def test_a_spent_token_is_gone_not_unknown_until_it_is_purged(client, app, make_user):
    """What the retention is for: a late click on a used link hears 410, and only once
    the row is purged the 404 of a token never seen."""
    user = make_user()
    with app.app_context():
        _, token = account_tokens.create(user["id"], "reset")
        account_tokens.use(token, "reset")
        assert account_tokens.purge(timedelta(days=RETENTION_DAYS)) == 0
    body = {"token": token, "password": "a fresh long passphrase"}
    assert client.post("/api/v1/auth/reset", json=body).status_code == 410
    with app.app_context():
        execute("UPDATE account_tokens SET used_at = used_at - INTERVAL %s DAY",
                (RETENTION_DAYS + 1,))
        assert account_tokens.purge(timedelta(days=RETENTION_DAYS)) == 1
    assert client.post("/api/v1/auth/reset", json=body).status_code == 404


def test_beat_purges_the_link_tokens_daily(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    entries = [entry for entry in schedule.values()
               if entry["task"] == "tdc.purge_account_tokens"]
    assert [entry["schedule"] for entry in entries] == [24 * 60 * 60]
    assert "tdc.purge_account_tokens" in app.extensions["celery"].tasks


def test_the_purge_reads_the_used_and_expiry_indexes(app):
    """Each delete is a range on an index, not a scan of the table."""
    with app.app_context():
        indexes = {row["Column_name"] for row in fetch_all("SHOW INDEX FROM account_tokens")
                   if row["Seq_in_index"] == 1}
    assert {"used_at", "expires_at"} <= indexes
