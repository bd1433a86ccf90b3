-- Outgoing mail, one row per message key (e.g. 'welcome:42'): written right after the
-- relay accepted the mail ('sent') or after it finally failed ('failed'), and read
-- before every send, so that a task run twice (a redelivery after a killed worker or a
-- lost acknowledgement) sends its mail once. The failed rows are what readiness counts.

CREATE TABLE mail_deliveries (
    message_key VARCHAR(191)           NOT NULL PRIMARY KEY,
    kind        VARCHAR(32)            NOT NULL,
    user_id     BIGINT UNSIGNED        NULL,
    status      ENUM('sent', 'failed') NOT NULL,
    attempts    SMALLINT UNSIGNED      NOT NULL,
    -- the relay's answer to the data (its queue id), or why the mail failed
    detail      VARCHAR(255)           NOT NULL DEFAULT '',
    created_at  DATETIME               NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  DATETIME               NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY ix_mail_deliveries_status (status),
    CONSTRAINT fk_mail_deliveries_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
