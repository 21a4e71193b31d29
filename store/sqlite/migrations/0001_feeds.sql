-- Sources and stories (feeds.Store).
-- Times are UTC text in one fixed-width layout, 2006-01-02T15:04:05.000000000Z,
-- so that text order is time order; the zero time is 0001-01-01T00:00:00.000000000Z.

-- AUTOINCREMENT: an ID is never reused, since stories keep naming removed sources.
CREATE TABLE sources (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    url            TEXT    NOT NULL UNIQUE,
    title          TEXT    NOT NULL DEFAULT '',
    site_url       TEXT    NOT NULL DEFAULT '',
    on_topic       INTEGER NOT NULL DEFAULT 0,
    paused         INTEGER NOT NULL DEFAULT 0,
    etag           TEXT    NOT NULL DEFAULT '',
    last_modified  TEXT    NOT NULL DEFAULT '',
    last_polled_at TEXT    NOT NULL,
    next_poll_at   TEXT    NOT NULL,
    last_error     TEXT    NOT NULL DEFAULT '',
    error_count    INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL
);

-- The poller asks for unpaused sources that are due.
CREATE INDEX sources_due ON sources (paused, next_poll_at);

-- A story keeps its source_id after the source is removed: no foreign key.
CREATE TABLE stories (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id     INTEGER NOT NULL,
    guid          TEXT    NOT NULL DEFAULT '',
    url           TEXT    NOT NULL DEFAULT '',
    title         TEXT    NOT NULL DEFAULT '',
    summary       TEXT    NOT NULL DEFAULT '',
    content       TEXT    NOT NULL DEFAULT '',
    author        TEXT    NOT NULL DEFAULT '',
    published_at  TEXT    NOT NULL,
    first_seen_at TEXT    NOT NULL,
    relevance     REAL    NOT NULL DEFAULT 0,
    visible       INTEGER NOT NULL DEFAULT 0,
    cluster_id    INTEGER NOT NULL DEFAULT 0,
    -- JSON array of {"id":…,"score":…}, most similar first; read whole, never queried.
    similar       TEXT    NOT NULL DEFAULT '[]'
);

-- Every list is newest first; each index serves one page of the site.
CREATE INDEX stories_published ON stories (published_at DESC, id DESC);
CREATE INDEX stories_visible   ON stories (visible, published_at DESC, id DESC);
CREATE INDEX stories_source    ON stories (source_id, published_at DESC, id DESC);
CREATE INDEX stories_cluster   ON stories (cluster_id, published_at DESC, id DESC);

-- Topic pages filter by tag through the primary key.
CREATE TABLE story_tags (
    tag      TEXT    NOT NULL,
    story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, story_id)
) WITHOUT ROWID;

CREATE INDEX story_tags_story ON story_tags (story_id);

-- Dedupe: each of a story's keys (feeds.Story.DedupeKeys) names at most one story.
CREATE TABLE story_keys (
    key      TEXT    PRIMARY KEY,
    story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE
) WITHOUT ROWID;

-- One-time steps already done (feeds.Store.MarkOnce).
CREATE TABLE once_marks (
    name    TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
) WITHOUT ROWID;
