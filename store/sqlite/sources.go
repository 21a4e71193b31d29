package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tidings/tidings/feeds"
)

const sourceColumns = `id, url, title, site_url, on_topic, paused, etag, last_modified,
	last_polled_at, next_poll_at, last_error, error_count, created_at`

// AddSource stores a new source, or returns ErrExists and the source already
// stored under the same URL.
func (s *Store) AddSource(ctx context.Context, src feeds.Source) (feeds.Source, error) {
	if src.CreatedAt.IsZero() {
		src.CreatedAt = time.Now()
	}
	var out feeds.Source
	var exists bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanSource(tx.QueryRowContext(ctx,
			`SELECT `+sourceColumns+` FROM sources WHERE url = ?`, src.URL))
		if err == nil {
			out, exists = old, true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sources (url, title, site_url, on_topic, paused,
			etag, last_modified, last_polled_at, next_poll_at, last_error, error_count, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			src.URL, src.Title, src.SiteURL, src.OnTopic, src.Paused, src.ETag, src.LastModified,
			formatTime(src.LastPolledAt), formatTime(src.NextPollAt), src.LastError, src.ErrorCount,
			formatTime(src.CreatedAt))
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		out, err = scanSource(tx.QueryRowContext(ctx,
			`SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return feeds.Source{}, fmt.Errorf("sqlite: add source %q: %w", src.URL, err)
	}
	if exists {
		return out, fmt.Errorf("sqlite: add source %q: %w", src.URL, feeds.ErrExists)
	}
	return out, nil
}

// Source returns the source with the given ID or ErrNotFound.
func (s *Store) Source(ctx context.Context, id int64) (feeds.Source, error) {
	src, err := scanSource(s.read.QueryRowContext(ctx,
		`SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return feeds.Source{}, fmt.Errorf("sqlite: source %d: %w", id, feeds.ErrNotFound)
	}
	if err != nil {
		return feeds.Source{}, fmt.Errorf("sqlite: source %d: %w", id, err)
	}
	return src, nil
}

// Sources lists the sources matching f by ascending ID.
func (s *Store) Sources(ctx context.Context, f feeds.SourceFilter) ([]feeds.Source, error) {
	q := `SELECT ` + sourceColumns + ` FROM sources`
	var args []any
	if !f.DueBy.IsZero() {
		q += ` WHERE paused = 0 AND next_poll_at <= ?`
		args = append(args, formatTime(f.DueBy))
	}
	q += ` ORDER BY id`
	out, err := scanAll(scanSource)(s.read.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: sources: %w", err)
	}
	return out, nil
}

// UpdateSource overwrites every field of a stored source but ID and CreatedAt.
// Moving it to a URL another source has yields ErrExists.
func (s *Store) UpdateSource(ctx context.Context, src feeds.Source) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE url = ? AND id <> ?`,
			src.URL, src.ID).Scan(&other)
		if err == nil {
			return fmt.Errorf("url taken by source %d: %w", other, feeds.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sources SET url = ?, title = ?, site_url = ?,
			on_topic = ?, paused = ?, etag = ?, last_modified = ?, last_polled_at = ?,
			next_poll_at = ?, last_error = ?, error_count = ? WHERE id = ?`,
			src.URL, src.Title, src.SiteURL, src.OnTopic, src.Paused, src.ETag, src.LastModified,
			formatTime(src.LastPolledAt), formatTime(src.NextPollAt), src.LastError, src.ErrorCount,
			src.ID)
		if err != nil {
			return err
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update source %d: %w", src.ID, err)
	}
	return nil
}

// RemoveSource deletes a source and keeps its stories.
func (s *Store) RemoveSource(ctx context.Context, id int64) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM sources WHERE id = ?`, id)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: remove source %d: %w", id, err)
	}
	return nil
}

// oneRow turns "no row changed" into ErrNotFound.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return feeds.ErrNotFound
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.

func scanSource(r scanner) (feeds.Source, error) {
	var src feeds.Source
	var polled, next, created string
	err := r.Scan(&src.ID, &src.URL, &src.Title, &src.SiteURL, &src.OnTopic, &src.Paused,
		&src.ETag, &src.LastModified, &polled, &next, &src.LastError, &src.ErrorCount, &created)
	if err != nil {
		return feeds.Source{}, err
	}
	if src.LastPolledAt, err = parseTime(polled); err != nil {
		return feeds.Source{}, err
	}
	if src.NextPollAt, err = parseTime(next); err != nil {
		return feeds.Source{}, err
	}
	if src.CreatedAt, err = parseTime(created); err != nil {
		return feeds.Source{}, err
	}
	return src, nil
}
