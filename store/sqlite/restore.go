package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// What `tidings export` and `tidings import` need beyond the domain
// contracts (see package store/transfer): a few reads that no page makes,
// and writes that keep the IDs they are given. Each Restore method keeps a
// record whose ID (or week) is stored already as it is, so that an import
// cut short can be run again; a record whose ID is free but whose unique
// key (a source's URL, a story's dedupe key, a subscriber's blind index)
// is held by another ID is an error. AUTOINCREMENT keeps the counters above
// every ID inserted, so new records never take an imported ID.

// counterTables are the tables whose AUTOINCREMENT counters IDCounters
// reports, under the counter names store/transfer uses.
var counterTables = map[string]bool{"sources": true, "stories": true, "subscribers": true, "comments": true}

// deliveryPage is how many delivery records EachDelivery reads at a time.
const deliveryPage = 1000

// EachDelivery calls fn with every delivery record of week, a page at a time,
// by ascending subscriber ID.
func (s *Store) EachDelivery(ctx context.Context, week string, fn func([]newsletter.Delivery) error) error {
	after := int64(-1 << 63)
	for {
		page, err := s.deliveryPage(ctx, week, after)
		if err != nil {
			return fmt.Errorf("sqlite: deliveries of %s: %w", week, err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < deliveryPage {
			return nil
		}
		after = page[len(page)-1].SubscriberID
	}
}

func (s *Store) deliveryPage(ctx context.Context, week string, after int64) ([]newsletter.Delivery, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE week = ? AND subscriber_id > ? ORDER BY subscriber_id LIMIT ?`, week, after, deliveryPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []newsletter.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// OnceMarks lists the one-time steps recorded by MarkOnce, by name.
func (s *Store) OnceMarks(ctx context.Context) ([]string, error) {
	var out []string
	err := eachRow(ctx, s.read, `SELECT name FROM once_marks ORDER BY name`, nil, func(r *sql.Rows) error {
		var name string
		err := r.Scan(&name)
		out = append(out, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: once marks: %w", err)
	}
	return out, nil
}

// IDCounters reports the highest ID ever handed out for sources, stories,
// subscribers and comments (deleted ones included); a kind that never had
// one is missing.
func (s *Store) IDCounters(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := eachRow(ctx, s.read, `SELECT name, seq FROM sqlite_sequence`, nil, func(r *sql.Rows) error {
		var name string
		var seq int64
		if err := r.Scan(&name, &seq); err != nil {
			return err
		}
		if counterTables[name] && seq > 0 {
			out[name] = seq
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: ID counters: %w", err)
	}
	return out, nil
}

// RaiseIDCounters makes the next ID of each named kind greater than the
// given value; a counter already higher stays.
func (s *Store) RaiseIDCounters(ctx context.Context, counters map[string]int64) error {
	for name := range counters {
		if !counterTables[name] {
			return fmt.Errorf("sqlite: raise ID counters: unknown counter %q", name)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for name, v := range counters {
			var seq int64
			err := tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, name).Scan(&seq)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, name, v)
			case err == nil && seq < v:
				_, err = tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = ?`, v, name)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: raise ID counters: %w", err)
	}
	return nil
}

// IsEmpty reports whether the store holds no source, story, subscriber,
// issue or comment.
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	var some bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sources)
		OR EXISTS (SELECT 1 FROM stories) OR EXISTS (SELECT 1 FROM subscribers)
		OR EXISTS (SELECT 1 FROM issues) OR EXISTS (SELECT 1 FROM comments)`).Scan(&some)
	if err != nil {
		return false, fmt.Errorf("sqlite: is empty: %w", err)
	}
	return !some, nil
}

// RestoreSources stores sources with their IDs, in one transaction.
func (s *Store) RestoreSources(ctx context.Context, srcs []feeds.Source) error {
	err := s.restoreEach(ctx, len(srcs), `INSERT INTO sources (id, url, title, site_url, on_topic,
		paused, etag, last_modified, last_polled_at, next_poll_at, last_error, error_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, func(i int) []any {
		src := srcs[i]
		return []any{src.ID, src.URL, src.Title, src.SiteURL, src.OnTopic, src.Paused, src.ETag,
			src.LastModified, formatTime(src.LastPolledAt), formatTime(src.NextPollAt), src.LastError,
			src.ErrorCount, formatTime(src.CreatedAt)}
	})
	if err != nil {
		return fmt.Errorf("sqlite: restore sources: %w", err)
	}
	return nil
}

// RestoreStories stores stories with their IDs, tags, dedupe keys, cluster
// links and Similar lists, in one transaction; the search triggers index
// the visible ones.
func (s *Store) RestoreStories(ctx context.Context, sts []feeds.Story) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w, err := prepareStoryWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		insert, err := tx.PrepareContext(ctx, `INSERT INTO stories (id, source_id, guid, url, title,
			summary, content, author, published_at, first_seen_at, relevance, visible, cluster_id, similar)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer insert.Close()
		for _, st := range sts {
			similar, err := json.Marshal(st.Similar)
			if err != nil {
				return err
			}
			res, err := insert.ExecContext(ctx, st.ID, st.SourceID, st.GUID, st.URL, st.Title,
				st.Summary, st.Content, st.Author, formatTime(st.PublishedAt), formatTime(st.FirstSeenAt),
				st.Relevance, st.Visible, st.ClusterID, string(similar))
			if err != nil {
				return fmt.Errorf("story %d: %w", st.ID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("story %d: %w", st.ID, err)
			}
			if n == 0 {
				continue // restored already
			}
			for _, tag := range feeds.NormaliseTags(st.Tags) {
				if _, err := w.tag.ExecContext(ctx, tag, st.ID); err != nil {
					return fmt.Errorf("story %d: tag %q: %w", st.ID, tag, err)
				}
			}
			for _, k := range st.DedupeKeys() {
				var owner int64
				if err := w.lookup.QueryRowContext(ctx, k).Scan(&owner); err == nil {
					return fmt.Errorf("story %d: its key %q is held by story %d", st.ID, k, owner)
				}
				if _, err := w.key.ExecContext(ctx, k, st.ID); err != nil {
					return fmt.Errorf("story %d: key %q: %w", st.ID, k, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: restore stories: %w", err)
	}
	return nil
}

// RestoreSubscribers stores subscribers with their IDs, sealed addresses,
// blind indexes and consent records as given, in one transaction.
func (s *Store) RestoreSubscribers(ctx context.Context, subs []newsletter.Subscriber) error {
	for _, sub := range subs {
		if sub.Index == "" || !sub.Status.Valid() {
			return fmt.Errorf("sqlite: restore subscriber %d: empty blind index or invalid status %q", sub.ID, sub.Status)
		}
	}
	err := s.restoreEach(ctx, len(subs), `INSERT INTO subscribers (id, blind_index, sealed, status,
		created_at, confirmed_at, unsubscribed_at, confirm_mail_at, consent_at, consent_page,
		consent_ip, hard_failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, func(i int) []any {
		sub := subs[i]
		return []any{sub.ID, sub.Index, sealedBytes(sub.Sealed), string(sub.Status),
			formatTime(sub.CreatedAt), formatTime(sub.ConfirmedAt), formatTime(sub.UnsubscribedAt),
			formatTime(sub.ConfirmMailAt), formatTime(sub.ConsentAt), sub.ConsentPage, sub.ConsentIP,
			sub.HardFailures}
	})
	if err != nil {
		return fmt.Errorf("sqlite: restore subscribers: %w", err)
	}
	return nil
}

// RestoreIssue stores an issue with its send state, unless its week has one.
func (s *Store) RestoreIssue(ctx context.Context, is newsletter.Issue) error {
	if is.Week == "" {
		return errors.New("sqlite: restore issue: empty week")
	}
	storyIDs, err := json.Marshal(is.StoryIDs)
	if err == nil {
		_, err = s.write.ExecContext(ctx, `INSERT INTO issues (`+issueColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (week) DO NOTHING`,
			is.Week, formatTime(is.ComposedAt), formatTime(is.Since), formatTime(is.Until), is.Subject,
			string(storyIDs), is.HTML, is.Text, formatTime(is.SendStartedAt), is.PlannedThrough,
			is.Planned, formatTime(is.SentAt))
	}
	if err != nil {
		return fmt.Errorf("sqlite: restore issue %s: %w", is.Week, err)
	}
	return nil
}

// RestoreDeliveries stores delivery records as given (state, attempts,
// owner, times), in one transaction; the triggers count them.
func (s *Store) RestoreDeliveries(ctx context.Context, ds []newsletter.Delivery) error {
	err := s.restoreEach(ctx, len(ds), `INSERT INTO deliveries (`+deliveryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (week, subscriber_id) DO NOTHING`, func(i int) []any {
		d := ds[i]
		return []any{d.Week, d.SubscriberID, string(d.State), d.Attempts, d.LastError,
			formatTime(d.NotBefore), d.Owner, formatTime(d.SentAt)}
	})
	if err != nil {
		return fmt.Errorf("sqlite: restore deliveries: %w", err)
	}
	return nil
}

// RestoreComments stores comments with their IDs, parents, statuses and
// sealed addresses as given, in one transaction.
func (s *Store) RestoreComments(ctx context.Context, cs []comments.Comment) error {
	for _, c := range cs {
		if err := c.CheckStorable(); err != nil {
			return fmt.Errorf("sqlite: restore comment %d: %w", c.ID, err)
		}
	}
	err := s.restoreEach(ctx, len(cs), `INSERT INTO comments (`+commentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, func(i int) []any {
		c := cs[i]
		return []any{c.ID, c.StoryID, c.ParentID, c.Depth, c.Author, c.Website, c.Body,
			c.EmailIndex, sealedBytes(c.EmailSealed), string(c.Status), c.Reason, c.IPHash,
			c.NotifyReplies, formatTime(c.CreatedAt), formatTime(c.ModeratedAt)}
	})
	if err != nil {
		return fmt.Errorf("sqlite: restore comments: %w", err)
	}
	return nil
}

// restoreEach runs one prepared statement n times, with the arguments
// args(i), in one transaction.
func (s *Store) restoreEach(ctx context.Context, n int, query string, args func(i int) []any) error {
	if n == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			a := args(i)
			if _, err := stmt.ExecContext(ctx, a...); err != nil {
				return fmt.Errorf("record %v: %w", a[0], err)
			}
		}
		return nil
	})
}

// eachRow runs a query and calls fn on each row.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
