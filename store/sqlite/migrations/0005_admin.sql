-- The administrator (admin.Store): the password hash, the sessions, and the
-- failed logins. Times are UTC text in the fixed-width layout of
-- 0001_feeds.sql.

-- One row at most: the argon2id hash of the admin password (a PHC string).
CREATE TABLE admin_password (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    hash   TEXT NOT NULL,
    set_at TEXT NOT NULL
);

-- Sessions by the SHA-256 of their token; the token is never stored.
CREATE TABLE admin_sessions (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    password   TEXT NOT NULL
) WITHOUT ROWID;

-- Adding a session erases the ended ones.
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- Failed logins by a keyed hash of the client's address, one row each.
CREATE TABLE admin_login_failures (
    client TEXT NOT NULL,
    at     TEXT NOT NULL
);

-- Counting a client's recent failures; erasing the old ones of everybody.
CREATE INDEX admin_login_failures_client ON admin_login_failures (client, at);
CREATE INDEX admin_login_failures_at ON admin_login_failures (at);
