-- The admin audit trail: one row per admin or staff write (a member's role or active
-- flag, an event or venue created, changed, published or deleted), written in the same
-- transaction as the change. Rows are only ever added; the newest come first by id.

CREATE TABLE admin_audit (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    -- who: the member whose token made the change (NULL once that account is deleted)
    actor_id     BIGINT UNSIGNED NULL,
    -- what: e.g. 'user.role_change', 'event.publish', 'location.deactivate'
    action       VARCHAR(32)     NOT NULL,
    target_type  ENUM('user', 'event', 'location') NOT NULL,
    -- no foreign key: a deleted event keeps its rows
    target_id    BIGINT UNSIGNED NOT NULL,
    -- compact JSON: {"field": [before, after]} for a change, the fields for a creation,
    -- what identified it for a deletion
    changes      JSON            NOT NULL,
    -- the request's X-Request-ID, as on its log line (NULL outside a request)
    request_id   VARCHAR(128)    NULL,
    created_at   DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    KEY ix_admin_audit_actor (actor_id, id),
    KEY ix_admin_audit_target (target_type, target_id, id),
    CONSTRAINT fk_admin_audit_actor FOREIGN KEY (actor_id) REFERENCES users (id)
        ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
