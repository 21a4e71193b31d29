-- Comments under stories (comments.Store).
-- Times are UTC text in the fixed-width layout of 0001_feeds.sql; the zero
-- time is 0001-01-01T00:00:00.000000000Z.

-- No address in plain text: email_sealed is AES-GCM ciphertext, email_index
-- a keyed hash of the lower-cased address. AUTOINCREMENT: a deleted
-- comment's ID is never handed to another (replies keep naming it, and a
-- link to #comment-ID must not come to point elsewhere). No foreign keys:
-- a reply outlives its deleted parent, and the comments contract does not
-- look stories up.
CREATE TABLE comments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    story_id       INTEGER NOT NULL,
    parent_id      INTEGER NOT NULL DEFAULT 0,
    depth          INTEGER NOT NULL,
    author         TEXT    NOT NULL,
    website        TEXT    NOT NULL DEFAULT '',
    body           TEXT    NOT NULL,
    email_index    TEXT    NOT NULL,
    email_sealed   BLOB    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'spam', 'rejected')),
    reason         TEXT    NOT NULL DEFAULT '',
    ip_hash        TEXT    NOT NULL DEFAULT '',
    notify_replies INTEGER NOT NULL DEFAULT 0 CHECK (notify_replies IN (0, 1)),
    created_at     TEXT    NOT NULL,
    moderated_at   TEXT    NOT NULL
);

-- A story's page lists its approved comments by ID; CountApproved counts
-- them per story.
CREATE INDEX comments_story ON comments (story_id, status, id);

-- The moderation queue lists the pending comments by ID.
CREATE INDEX comments_status ON comments (status, id);

-- The rate limit counts a client's recent comments. Partial: an erased hash
-- leaves the index, so ForgetIPs walks only the comments that still have one.
CREATE INDEX comments_ip ON comments (ip_hash, created_at) WHERE ip_hash <> '';

-- A returning commenter: an approved comment with that name and address.
CREATE INDEX comments_returning ON comments (email_index, author, status);
