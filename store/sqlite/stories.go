package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings/tidings/feeds"
)

// storyColumns reads a story with its tags (as a JSON array) in one row.
const storyColumns = `s.id, s.source_id, s.guid, s.url, s.title, s.summary, s.content, s.author,
	s.published_at, s.first_seen_at, s.relevance, s.visible, s.cluster_id, s.similar,
	(SELECT json_group_array(tag) FROM story_tags WHERE story_id = s.id)`

// AddStory stores st unless a story already holds one of its dedupe keys, in
// which case that story is returned with created false. It runs in one
// IMMEDIATE transaction, so concurrent calls with a shared key create one story.
func (s *Store) AddStory(ctx context.Context, st feeds.Story) (feeds.Story, bool, error) {
	added, err := s.AddStories(ctx, []feeds.Story{st})
	if err != nil {
		return feeds.Story{}, false, err
	}
	return added[0].Story, added[0].Created, nil
}

// AddStories stores each story as AddStory does, all in one transaction.
func (s *Store) AddStories(ctx context.Context, sts []feeds.Story) ([]feeds.Added, error) {
	out := make([]feeds.Added, len(sts))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w, err := prepareStoryWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		for i, st := range sts {
			a, err := w.add(ctx, tx, st)
			if err != nil {
				return fmt.Errorf("add story %q: %w", st.URL, err)
			}
			out[i] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}

// storyWriter holds the statements that store stories, prepared once per
// transaction rather than once per story.
type storyWriter struct {
	lookup, insert, tag, key *sql.Stmt
}

func prepareStoryWriter(ctx context.Context, tx *sql.Tx) (*storyWriter, error) {
	w := &storyWriter{}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.lookup, `SELECT story_id FROM story_keys WHERE key = ?`},
		{&w.insert, `INSERT INTO stories (source_id, guid, url, title, summary, content, author,
			published_at, first_seen_at, relevance, visible, cluster_id, similar)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.tag, `INSERT INTO story_tags (tag, story_id) VALUES (?, ?)`},
		{&w.key, `INSERT INTO story_keys (key, story_id) VALUES (?, ?)`},
	} {
		stmt, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.stmt = stmt
	}
	return w, nil
}

func (w *storyWriter) close() {
	for _, s := range []*sql.Stmt{w.lookup, w.insert, w.tag, w.key} {
		if s != nil {
			s.Close()
		}
	}
}

// add stores st unless one of its keys is taken, and returns the story as a
// read would: tags normalised, times in UTC, empty lists nil.
func (w *storyWriter) add(ctx context.Context, tx *sql.Tx, st feeds.Story) (feeds.Added, error) {
	st.Tags = feeds.NormaliseTags(st.Tags)
	similar, err := json.Marshal(st.Similar)
	if err != nil {
		return feeds.Added{}, err
	}
	// Keys are tried in DedupeKeys order, so the URL's owner wins.
	keys := st.DedupeKeys()
	for _, k := range keys {
		var id int64
		err := w.lookup.QueryRowContext(ctx, k).Scan(&id)
		if err == nil {
			old, err := storyByID(ctx, tx, id)
			return feeds.Added{Story: old}, err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return feeds.Added{}, err
		}
	}
	res, err := w.insert.ExecContext(ctx, st.SourceID, st.GUID, st.URL, st.Title, st.Summary,
		st.Content, st.Author, formatTime(st.PublishedAt), formatTime(st.FirstSeenAt),
		st.Relevance, st.Visible, st.ClusterID, string(similar))
	if err != nil {
		return feeds.Added{}, err
	}
	if st.ID, err = res.LastInsertId(); err != nil {
		return feeds.Added{}, err
	}
	for _, tag := range st.Tags {
		if _, err := w.tag.ExecContext(ctx, tag, st.ID); err != nil {
			return feeds.Added{}, err
		}
	}
	for _, k := range keys {
		if _, err := w.key.ExecContext(ctx, k, st.ID); err != nil {
			return feeds.Added{}, err
		}
	}
	st.PublishedAt, st.FirstSeenAt = st.PublishedAt.UTC(), st.FirstSeenAt.UTC()
	if len(st.Tags) == 0 {
		st.Tags = nil
	}
	if len(st.Similar) == 0 {
		st.Similar = nil
	}
	return feeds.Added{Story: st, Created: true}, nil
}

// Story returns the story with the given ID or ErrNotFound.
func (s *Store) Story(ctx context.Context, id int64) (feeds.Story, error) {
	st, err := storyByID(ctx, s.read, id)
	if errors.Is(err, sql.ErrNoRows) {
		return feeds.Story{}, fmt.Errorf("sqlite: story %d: %w", id, feeds.ErrNotFound)
	}
	if err != nil {
		return feeds.Story{}, fmt.Errorf("sqlite: story %d: %w", id, err)
	}
	return st, nil
}

func storyByID(ctx context.Context, q querier, id int64) (feeds.Story, error) {
	return scanStory(q.QueryRowContext(ctx, `SELECT `+storyColumns+` FROM stories s WHERE s.id = ?`, id))
}

// Stories lists the stories matching f, newest first.
func (s *Store) Stories(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error) {
	from, args := storyQuery(f)
	q := `SELECT ` + storyColumns + from + ` ORDER BY s.published_at DESC, s.id DESC`
	if f.Limit > 0 || f.Offset > 0 {
		limit := -1
		if f.Limit > 0 {
			limit = f.Limit
		}
		q += ` LIMIT ? OFFSET ?`
		args = append(args, limit, max(f.Offset, 0))
	}
	out, err := scanAll(scanStory)(s.read.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: stories: %w", err)
	}
	return out, nil
}

// CountStories counts the stories matching f, ignoring Limit and Offset.
func (s *Store) CountStories(ctx context.Context, f feeds.StoryFilter) (int, error) {
	from, args := storyQuery(f)
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*)`+from, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count stories: %w", err)
	}
	return n, nil
}

// storyQuery builds the FROM and WHERE clauses for f.
func storyQuery(f feeds.StoryFilter) (string, []any) {
	from := ` FROM stories s`
	var where []string
	var args []any
	if f.Tag != "" {
		// CROSS JOIN fixes the loop order: the tag's rows through the
		// story_tags primary key first, so a rare tag never walks every story.
		from = ` FROM story_tags t CROSS JOIN stories s ON s.id = t.story_id`
		where = append(where, `t.tag = ?`)
		args = append(args, f.Tag)
	}
	if f.VisibleOnly {
		where = append(where, `s.visible = 1`)
	}
	if f.LeadersOnly {
		where = append(where, `s.cluster_id = 0`)
	}
	if f.SourceID != 0 {
		where = append(where, `s.source_id = ?`)
		args = append(args, f.SourceID)
	}
	if f.ClusterID != 0 {
		where = append(where, `s.cluster_id = ?`)
		args = append(args, f.ClusterID)
	}
	if f.ClusterIDs != nil {
		ids, _ := json.Marshal(f.ClusterIDs) // []int64 always marshals
		where = append(where, `s.cluster_id IN (SELECT value FROM json_each(?))`)
		args = append(args, string(ids))
	}
	if f.IDs != nil {
		// One JSON parameter instead of one per ID: no limit on the list's length.
		ids, _ := json.Marshal(f.IDs) // []int64 always marshals
		where = append(where, `s.id IN (SELECT value FROM json_each(?))`)
		args = append(args, string(ids))
	}
	if !f.Since.IsZero() {
		where = append(where, `s.published_at >= ?`)
		args = append(args, formatTime(f.Since))
	}
	if len(where) > 0 {
		from += ` WHERE ` + strings.Join(where, ` AND `)
	}
	return from, args
}

// SetSimilar replaces a story's Similar list.
func (s *Store) SetSimilar(ctx context.Context, id int64, similar []feeds.Related) error {
	b, err := json.Marshal(similar)
	if err != nil {
		return fmt.Errorf("sqlite: set similar of %d: %w", id, err)
	}
	res, err := s.write.ExecContext(ctx, `UPDATE stories SET similar = ? WHERE id = ?`, string(b), id)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: set similar of %d: %w", id, err)
	}
	return nil
}

// SetSimilarMany replaces several Similar lists in one transaction; IDs that
// are not stored are skipped.
func (s *Store) SetSimilarMany(ctx context.Context, lists map[int64][]feeds.Related) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for id, similar := range lists {
			b, err := json.Marshal(similar)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE stories SET similar = ? WHERE id = ?`, string(b), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: set similar lists: %w", err)
	}
	return nil
}

func scanStory(r scanner) (feeds.Story, error) {
	var st feeds.Story
	var published, seen, similar, tags string
	err := r.Scan(&st.ID, &st.SourceID, &st.GUID, &st.URL, &st.Title, &st.Summary, &st.Content,
		&st.Author, &published, &seen, &st.Relevance, &st.Visible, &st.ClusterID, &similar, &tags)
	if err != nil {
		return feeds.Story{}, err
	}
	if st.PublishedAt, err = parseTime(published); err != nil {
		return feeds.Story{}, err
	}
	if st.FirstSeenAt, err = parseTime(seen); err != nil {
		return feeds.Story{}, err
	}
	if err := json.Unmarshal([]byte(tags), &st.Tags); err != nil {
		return feeds.Story{}, fmt.Errorf("stored tags of story %d: %w", st.ID, err)
	}
	st.Tags = feeds.NormaliseTags(st.Tags)
	if err := json.Unmarshal([]byte(similar), &st.Similar); err != nil {
		return feeds.Story{}, fmt.Errorf("stored similar of story %d: %w", st.ID, err)
	}
	if len(st.Similar) == 0 {
		st.Similar = nil
	}
	return st, nil
}
