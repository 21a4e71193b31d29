-- Full-text search over the titles and summaries of visible stories
-- (feeds.Store.Search).
--
-- The index does not hold the raw text but the terms feeds.IndexTerms makes of
-- it (lower-cased, folded, common words dropped) joined by spaces: this
-- package registers that function on every connection as tidings_search_text.
-- So the index, the queries (built from feeds.ParseSearch) and the Redis store
-- agree on what a word is. The 'ascii' tokenizer then splits at the spaces
-- only, since every non-ASCII character is a word character to it.
--
-- Contentless: the text lives in stories, and contentless_delete lets the
-- triggers remove a story's row. The rowid is the story's ID. Only visible
-- stories have a row. prefix='2 3' keeps short prefix queries cheap.
CREATE VIRTUAL TABLE story_search USING fts5 (
    title,
    summary,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
    prefix = '2 3'
);

CREATE TRIGGER story_search_insert AFTER INSERT ON stories
WHEN new.visible = 1
BEGIN
    INSERT INTO story_search (rowid, title, summary)
    VALUES (new.id, tidings_search_text(new.title), tidings_search_text(new.summary));
END;

CREATE TRIGGER story_search_delete AFTER DELETE ON stories
WHEN old.visible = 1
BEGIN
    DELETE FROM story_search WHERE rowid = old.id;
END;

-- Deleting a rowid that has no row is a no-op, so this needs no WHEN.
CREATE TRIGGER story_search_update AFTER UPDATE OF id, title, summary, visible ON stories
BEGIN
    DELETE FROM story_search WHERE rowid = old.id;
    INSERT INTO story_search (rowid, title, summary)
    SELECT new.id, tidings_search_text(new.title), tidings_search_text(new.summary)
    WHERE new.visible = 1;
END;

-- Ranking sorts the matches by score, then by publication time: this index
-- gives the time without reading the story rows, which hold the content.
CREATE INDEX stories_search_order ON stories (id, published_at);

-- Stories stored before this migration.
INSERT INTO story_search (rowid, title, summary)
SELECT id, tidings_search_text(title), tidings_search_text(summary)
FROM stories WHERE visible = 1;
