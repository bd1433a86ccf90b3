-- Verified sign-ups and password resets. A member may log in once its address is
-- verified; the accounts that exist already (the first admin, seeded and earlier members)
-- count as verified, new sign-ups start unverified.
ALTER TABLE users
    ADD COLUMN email_verified_at DATETIME NULL AFTER tokens_valid_after;

UPDATE users SET email_verified_at = created_at;

-- The single-use tokens of the verification and reset links: only the SHA-256 of the
-- token is kept (a leaked table opens no account), each expires, and used_at marks it
-- spent (or retired: a reset retires the account's other reset tokens).
CREATE TABLE account_tokens (
    id         BIGINT UNSIGNED           NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    BIGINT UNSIGNED           NOT NULL,
    purpose    ENUM('verify', 'reset')   NOT NULL,
    token_hash CHAR(64)                  NOT NULL,
    expires_at DATETIME                  NOT NULL,
    used_at    DATETIME                  NULL,
    created_at DATETIME                  NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE KEY ux_account_tokens_hash (token_hash),
    KEY ix_account_tokens_user (user_id, purpose),
    KEY ix_account_tokens_expires (expires_at),
    CONSTRAINT fk_account_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
