-- Revoked access tokens (logout). Redis answers the per-request check; this table keeps
-- revocations through a Redis data loss until the tokens expire anyway.

CREATE TABLE revoked_tokens (
    jti         CHAR(32)        NOT NULL PRIMARY KEY,
    user_id     BIGINT UNSIGNED NOT NULL,
    expires_at  DATETIME        NOT NULL,
    revoked_at  DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    KEY ix_revoked_tokens_expires (expires_at),
    CONSTRAINT fk_revoked_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
