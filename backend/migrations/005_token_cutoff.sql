-- A per-account cut-off: access tokens issued before it are refused. Moved forward by a
-- password change or reset, "log out everywhere", a deactivation, and by a restore
-- (`flask users cut-off-tokens --all`), since a restored id may name another member.
-- Rows that exist keep every token they have; new rows take their creation time.

ALTER TABLE users
    ADD COLUMN tokens_valid_after DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00' AFTER is_active;

ALTER TABLE users
    MODIFY COLUMN tokens_valid_after DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6);
