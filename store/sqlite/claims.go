package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tidings/tidings/feeds"
)

// ClaimDue takes up to limit due sources, earliest due first, and moves
// their next poll to now+lease, in one IMMEDIATE transaction: a second
// process's claim waits for the write lock and then finds them not due.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]feeds.Source, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	var out []feeds.Source
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sourceColumns+` FROM sources
			WHERE paused = 0 AND next_poll_at <= ? ORDER BY next_poll_at, id LIMIT ?`,
			formatTime(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			src, err := scanSource(rows)
			if err != nil {
				return err
			}
			out = append(out, src)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		until := formatTime(now.Add(lease))
		for _, src := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE sources SET next_poll_at = ? WHERE id = ?`, until, src.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due sources: %w", err)
	}
	return out, nil
}
