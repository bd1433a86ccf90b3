-- Members and venues. Times are UTC (the app sets the session time zone to +00:00).

CREATE TABLE users (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email          VARCHAR(254)    NOT NULL,
    username       VARCHAR(32)     NOT NULL,
    password_hash  VARCHAR(255)    NOT NULL,
    role           ENUM('user', 'staff', 'admin') NOT NULL DEFAULT 'user',
    is_active      BOOLEAN         NOT NULL DEFAULT TRUE,
    last_login_at  DATETIME        NULL,
    created_at     DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY uq_users_email (email),
    UNIQUE KEY uq_users_username (username),
    KEY ix_users_role (role)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE locations (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug             VARCHAR(64)     NOT NULL,
    name             VARCHAR(100)    NOT NULL,
    description      TEXT            NULL,
    capacity         INT UNSIGNED    NULL,
    sort_order       INT             NOT NULL DEFAULT 0,
    is_active        BOOLEAN         NOT NULL DEFAULT TRUE,
    mood_category    VARCHAR(40)     NULL,
    theme_primary    CHAR(7)         NULL,
    theme_secondary  CHAR(7)         NULL,
    theme_accent     CHAR(7)         NULL,
    created_at       DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY uq_locations_slug (slug),
    KEY ix_locations_active_order (is_active, sort_order)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
