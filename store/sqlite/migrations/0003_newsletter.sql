-- Subscribers, issues, deliveries and leases (newsletter.Store).
-- Times are UTC text in the fixed-width layout of 0001_feeds.sql; the zero
-- time is 0001-01-01T00:00:00.000000000Z.

-- No address in plain text: sealed is AES-GCM ciphertext, blind_index a keyed
-- hash of the normalised address. AUTOINCREMENT: an erased subscriber's ID is
-- never handed to someone else.
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    blind_index     TEXT    NOT NULL UNIQUE,
    sealed          BLOB    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')),
    created_at      TEXT    NOT NULL,
    confirmed_at    TEXT    NOT NULL,
    unsubscribed_at TEXT    NOT NULL,
    confirm_mail_at TEXT    NOT NULL,
    consent_at      TEXT    NOT NULL,
    consent_page    TEXT    NOT NULL DEFAULT '',
    consent_ip      TEXT    NOT NULL DEFAULT '',
    hard_failures   INTEGER NOT NULL DEFAULT 0
);

-- A send streams the confirmed subscribers by ID; the counts group by status.
CREATE INDEX subscribers_status ON subscribers (status, id);

-- One issue per ISO week; the archive lists them by week, newest first.
CREATE TABLE issues (
    id              INTEGER PRIMARY KEY,
    week            TEXT    NOT NULL UNIQUE,
    composed_at     TEXT    NOT NULL,
    since           TEXT    NOT NULL,
    until           TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    -- JSON array of story IDs in the order shown; read whole, never queried.
    story_ids       TEXT    NOT NULL DEFAULT '[]',
    html            TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    send_started_at TEXT    NOT NULL,
    planned_through INTEGER NOT NULL DEFAULT 0,
    planned         INTEGER NOT NULL DEFAULT 0,
    sent_at         TEXT    NOT NULL
);

-- One row per issue owed to a subscriber. No foreign key to subscribers: the
-- sender plans the IDs it listed, and one erased meanwhile is skipped later.
-- Erasing a subscriber deletes its rows week by week through the primary key.
CREATE TABLE deliveries (
    week          TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',
    not_before    TEXT    NOT NULL,
    owner         TEXT    NOT NULL DEFAULT '',
    sent_at       TEXT    NOT NULL,
    PRIMARY KEY (week, subscriber_id)
) WITHOUT ROWID;

-- Claims walk the pending deliveries of a week by subscriber ID. Partial, so
-- the rows already done leave it and a send late in its run does not step
-- over them; not_before is in it, so the walk needs no table look-up.
CREATE INDEX deliveries_claimable ON deliveries (week, subscriber_id, not_before)
WHERE state = 'pending';

-- How many deliveries each week has in each state, kept by the triggers
-- below, so that a send's progress costs one look-up, not a count of a
-- million rows.
CREATE TABLE delivery_counts (
    week  TEXT    NOT NULL,
    state TEXT    NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (week, state)
) WITHOUT ROWID;

CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
BEGIN
    INSERT INTO delivery_counts (week, state, n) VALUES (new.week, new.state, 1)
    ON CONFLICT (week, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE delivery_counts SET n = n - 1 WHERE week = old.week AND state = old.state;
END;

CREATE TRIGGER deliveries_count_update AFTER UPDATE OF week, state ON deliveries
WHEN old.week <> new.week OR old.state <> new.state
BEGIN
    UPDATE delivery_counts SET n = n - 1 WHERE week = old.week AND state = old.state;
    INSERT INTO delivery_counts (week, state, n) VALUES (new.week, new.state, 1)
    ON CONFLICT (week, state) DO UPDATE SET n = n + 1;
END;

-- Named leases (newsletter.LeaseStore): held by owner until expires_at.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
