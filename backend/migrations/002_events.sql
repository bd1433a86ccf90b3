-- Events held at the venues. starts_at/ends_at are UTC (the API converts zoned input).

CREATE TABLE events (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug          VARCHAR(64)     NOT NULL,
    title         VARCHAR(200)    NOT NULL,
    description   TEXT            NULL,
    event_type    VARCHAR(32)     NOT NULL,
    location_id   BIGINT UNSIGNED NOT NULL,
    starts_at     DATETIME        NOT NULL,
    ends_at       DATETIME        NOT NULL,
    is_published  BOOLEAN         NOT NULL DEFAULT FALSE,
    created_by    BIGINT UNSIGNED NULL,
    created_at    DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY uq_events_slug (slug),
    -- The public list: published, still running or upcoming, by start time.
    KEY ix_events_published_starts (is_published, starts_at),
    -- A venue's programme.
    KEY ix_events_location_starts (location_id, starts_at),
    -- Venues are deactivated, never deleted, so their events keep their place.
    CONSTRAINT fk_events_location FOREIGN KEY (location_id) REFERENCES locations (id)
        ON DELETE RESTRICT,
    -- An event outlives the account of the staff member who created it.
    CONSTRAINT fk_events_created_by FOREIGN KEY (created_by) REFERENCES users (id)
        ON DELETE SET NULL,
    CONSTRAINT ck_events_ends_after_start CHECK (ends_at > starts_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
