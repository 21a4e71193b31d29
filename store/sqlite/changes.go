package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// Change announcements between processes sharing the file (views.Changes).
// SQLite has no messages, so the announcement is a counter that listeners
// read every changePoll: the header field PRAGMA user_version, which nothing
// else uses, costs no schema, and is read from the file's first page.

// changePoll is how often SubscribeChanges reads the counter: a change made
// by another process shows within about this long.
const changePoll = 500 * time.Millisecond

// nextChange is the counter's value after n; it wraps within the field's 31
// positive bits and never returns to 0.
func nextChange(n int64) int64 { return n%math.MaxInt32 + 1 }

// PublishChange tells every other process using the file that stored content
// changed: it increments the counter in one IMMEDIATE transaction, so
// concurrent announcements from several processes each count.
func (s *Store) PublishChange(ctx context.Context) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, nextChange(n)))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: publish change: %w", err)
	}
	s.ownChange.Store(nextChange(n))
	return nil
}

// SubscribeChanges reads the counter every changePoll and calls changed when
// another Store moved it, until ctx ends; then it returns nil. A move that
// is this Store's own latest announcement alone is skipped.
func (s *Store) SubscribeChanges(ctx context.Context, changed func()) error {
	seen, err := s.changeCounter(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	tick := time.NewTicker(changePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		n, err := s.changeCounter(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n == seen {
			continue
		}
		own := n == nextChange(seen) && n == s.ownChange.Load()
		seen = n
		if !own {
			changed()
		}
	}
}

func (s *Store) changeCounter(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: read the change counter: %w", err)
	}
	return n, nil
}
