package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidings/tidings/newsletter"
)

const issueColumns = `week, composed_at, since, until, subject, story_ids, html, text,
	send_started_at, planned_through, planned, sent_at`

// SaveIssue stores is unless its week has an issue, in which case that one
// is returned with created false. One IMMEDIATE transaction, so two processes
// composing the same week keep one issue.
func (s *Store) SaveIssue(ctx context.Context, is newsletter.Issue) (newsletter.Issue, bool, error) {
	if is.Week == "" {
		return newsletter.Issue{}, false, errors.New("sqlite: save issue: empty week")
	}
	storyIDs, err := json.Marshal(is.StoryIDs)
	if err != nil {
		return newsletter.Issue{}, false, fmt.Errorf("sqlite: save issue %s: %w", is.Week, err)
	}
	var out newsletter.Issue
	created := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := issueByWeek(ctx, tx, is.Week)
		if err == nil {
			out = old
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO issues (`+issueColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			is.Week, formatTime(is.ComposedAt), formatTime(is.Since), formatTime(is.Until), is.Subject,
			string(storyIDs), is.HTML, is.Text, formatTime(is.SendStartedAt), is.PlannedThrough,
			is.Planned, formatTime(is.SentAt)); err != nil {
			return err
		}
		out, err = issueByWeek(ctx, tx, is.Week)
		created = err == nil
		return err
	})
	if err != nil {
		return newsletter.Issue{}, false, fmt.Errorf("sqlite: save issue %s: %w", is.Week, err)
	}
	return out, created, nil
}

func issueByWeek(ctx context.Context, q querier, week string) (newsletter.Issue, error) {
	return scanIssue(q.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE week = ?`, week))
}

// Issue returns the issue of the given week or ErrNotFound.
func (s *Store) Issue(ctx context.Context, week string) (newsletter.Issue, error) {
	is, err := issueByWeek(ctx, s.read, week)
	if errors.Is(err, sql.ErrNoRows) {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return newsletter.Issue{}, fmt.Errorf("sqlite: issue %s: %w", week, err)
	}
	return is, nil
}

// Issues lists the issues matching f, newest week first.
func (s *Store) Issues(ctx context.Context, f newsletter.IssueFilter) ([]newsletter.Issue, error) {
	q := `SELECT ` + issueColumns + ` FROM issues`
	var args []any
	if f.SentOnly {
		q += ` WHERE send_started_at <> ?`
		args = append(args, formatTime(time.Time{}))
	}
	q += ` ORDER BY week DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	out, err := scanAll(scanIssue)(s.read.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: issues: %w", err)
	}
	return out, nil
}

// UpdateIssueSend overwrites the send state of a stored issue.
func (s *Store) UpdateIssueSend(ctx context.Context, is newsletter.Issue) error {
	res, err := s.write.ExecContext(ctx, `UPDATE issues SET send_started_at = ?,
		planned_through = ?, planned = ?, sent_at = ? WHERE week = ?`,
		formatTime(is.SendStartedAt), is.PlannedThrough, is.Planned, formatTime(is.SentAt), is.Week)
	if err == nil {
		err = oneNewsletterRow(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update send of issue %s: %w", is.Week, err)
	}
	return nil
}

// planChunk is how many IDs one INSERT of PlanDeliveries carries, as one
// JSON array parameter.
const planChunk = 500

// PlanDeliveries adds a pending delivery of the week's issue for each
// subscriber ID that has none, in one transaction, and returns how many.
func (s *Store) PlanDeliveries(ctx context.Context, week string, subscriberIDs []int64) (int, error) {
	ids := slices.Sorted(slices.Values(subscriberIDs)) // appends in key order
	if len(ids) > 0 && ids[0] <= 0 {
		return 0, fmt.Errorf("sqlite: plan deliveries of %s: subscriber ID %d", week, ids[0])
	}
	zero := formatTime(time.Time{})
	var added int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM issues WHERE week = ?`, week).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("issue: %w", newsletter.ErrNotFound)
		}
		if err != nil || len(ids) == 0 {
			return err
		}
		// WHERE true: without it, SQLite would read ON CONFLICT as a join.
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries
			(week, subscriber_id, state, attempts, last_error, not_before, owner, sent_at)
			SELECT ?, value, 'pending', 0, '', ?, '', ? FROM json_each(?) WHERE true
			ON CONFLICT (week, subscriber_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for chunk := range slices.Chunk(ids, planChunk) {
			list, _ := json.Marshal(chunk) // []int64 always marshals
			res, err := stmt.ExecContext(ctx, week, zero, zero, string(list))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: plan deliveries of %s: %w", week, err)
	}
	return int(added), nil
}

const deliveryColumns = `week, subscriber_id, state, attempts, last_error, not_before, owner, sent_at`

// ClaimDeliveries claims up to n due pending deliveries of week in one
// statement: the subquery picks them through the partial index of pending
// rows, the update marks them, RETURNING hands them back.
func (s *Store) ClaimDeliveries(ctx context.Context, week, owner string, n int, now time.Time, lease time.Duration) ([]newsletter.Delivery, error) {
	if owner == "" {
		return nil, fmt.Errorf("sqlite: claim deliveries of %s: empty owner", week)
	}
	if lease < 0 {
		return nil, fmt.Errorf("sqlite: claim deliveries of %s: negative lease %v", week, lease)
	}
	if n <= 0 {
		return nil, nil
	}
	claim, err := s.stmts.get(ctx, s.write, `UPDATE deliveries SET owner = ?, not_before = ?
		WHERE week = ? AND subscriber_id IN (
			SELECT subscriber_id FROM deliveries
			WHERE week = ? AND state = 'pending' AND not_before <= ?
			ORDER BY subscriber_id LIMIT ?)
		RETURNING `+deliveryColumns)
	var out []newsletter.Delivery
	if err == nil {
		out, err = scanAll(scanDelivery)(claim.QueryContext(ctx,
			owner, formatTime(now.Add(lease)), week, week, formatTime(now), n))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim deliveries of %s: %w", week, err)
	}
	// RETURNING promises no order.
	slices.SortFunc(out, func(a, b newsletter.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
	return out, nil
}

// FinishDeliveries records the outcomes of claimed deliveries and clears
// their owners, in one transaction: one commit for the lot is what makes a
// send fast. Absent ones are listed in an error wrapping ErrNotFound after
// the present ones are committed.
func (s *Store) FinishDeliveries(ctx context.Context, ds []newsletter.Delivery) error {
	for _, d := range ds {
		if !d.State.Valid() {
			return fmt.Errorf("sqlite: finish delivery %s/%d: invalid state %q", d.Week, d.SubscriberID, d.State)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	var absent []newsletter.Delivery
	finish, err := s.stmts.get(ctx, s.write, `UPDATE deliveries SET state = ?, attempts = ?,
		last_error = ?, not_before = ?, owner = '', sent_at = ? WHERE week = ? AND subscriber_id = ?`)
	if err != nil {
		return fmt.Errorf("sqlite: finish deliveries: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, finish)
		absent = absent[:0]
		for _, d := range ds {
			res, err := stmt.ExecContext(ctx, string(d.State), d.Attempts, d.LastError,
				formatTime(d.NotBefore), formatTime(d.SentAt), d.Week, d.SubscriberID)
			if err == nil {
				err = oneNewsletterRow(res)
			}
			if errors.Is(err, newsletter.ErrNotFound) {
				absent = append(absent, d)
			} else if err != nil {
				return fmt.Errorf("%s/%d: %w", d.Week, d.SubscriberID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish deliveries: %w", err)
	}
	if len(absent) > 0 {
		return fmt.Errorf("sqlite: finish deliveries: %s: %w", namedDeliveries(absent), newsletter.ErrNotFound)
	}
	return nil
}

// namedDeliveries names deliveries in an error message, the first few of
// them.
func namedDeliveries(ds []newsletter.Delivery) string {
	const most = 10
	var b strings.Builder
	for i, d := range ds[:min(len(ds), most)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s/%d", d.Week, d.SubscriberID)
	}
	if len(ds) > most {
		fmt.Fprintf(&b, " and %d more", len(ds)-most)
	}
	return b.String()
}

// Delivery returns one delivery record or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, week string, subscriberID int64) (newsletter.Delivery, error) {
	d, err := scanDelivery(s.read.QueryRowContext(ctx, `SELECT `+deliveryColumns+
		` FROM deliveries WHERE week = ? AND subscriber_id = ?`, week, subscriberID))
	if errors.Is(err, sql.ErrNoRows) {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return newsletter.Delivery{}, fmt.Errorf("sqlite: delivery %s/%d: %w", week, subscriberID, err)
	}
	return d, nil
}

// CountDeliveries counts the week's deliveries by state, as the triggers of
// 0003_newsletter.sql keep them.
func (s *Store) CountDeliveries(ctx context.Context, week string) (newsletter.DeliveryCounts, error) {
	var c newsletter.DeliveryCounts
	rows, err := s.read.QueryContext(ctx,
		`SELECT state, n FROM delivery_counts WHERE week = ?`, week)
	if err != nil {
		return c, fmt.Errorf("sqlite: count deliveries of %s: %w", week, err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return c, fmt.Errorf("sqlite: count deliveries of %s: %w", week, err)
		}
		switch newsletter.DeliveryState(state) {
		case newsletter.DeliveryPending:
			c.Pending = n
		case newsletter.DeliverySent:
			c.Sent = n
		case newsletter.DeliveryFailed:
			c.Failed = n
		case newsletter.DeliverySkipped:
			c.Skipped = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("sqlite: count deliveries of %s: %w", week, err)
	}
	return c, nil
}

func scanIssue(r scanner) (newsletter.Issue, error) {
	var is newsletter.Issue
	var composed, since, until, storyIDs, started, sent string
	err := r.Scan(&is.Week, &composed, &since, &until, &is.Subject, &storyIDs, &is.HTML, &is.Text,
		&started, &is.PlannedThrough, &is.Planned, &sent)
	if err != nil {
		return newsletter.Issue{}, err
	}
	for _, t := range []struct {
		dst *time.Time
		src string
	}{
		{&is.ComposedAt, composed}, {&is.Since, since}, {&is.Until, until},
		{&is.SendStartedAt, started}, {&is.SentAt, sent},
	} {
		if *t.dst, err = parseTime(t.src); err != nil {
			return newsletter.Issue{}, err
		}
	}
	if err := json.Unmarshal([]byte(storyIDs), &is.StoryIDs); err != nil {
		return newsletter.Issue{}, fmt.Errorf("stored story IDs of issue %s: %w", is.Week, err)
	}
	if len(is.StoryIDs) == 0 {
		is.StoryIDs = nil
	}
	return is, nil
}

func scanDelivery(r scanner) (newsletter.Delivery, error) {
	var d newsletter.Delivery
	var state, notBefore, sent string
	err := r.Scan(&d.Week, &d.SubscriberID, &state, &d.Attempts, &d.LastError, &notBefore, &d.Owner, &sent)
	if err != nil {
		return newsletter.Delivery{}, err
	}
	d.State = newsletter.DeliveryState(state)
	if d.NotBefore, err = parseTime(notBefore); err != nil {
		return newsletter.Delivery{}, err
	}
	if d.SentAt, err = parseTime(sent); err != nil {
		return newsletter.Delivery{}, err
	}
	return d, nil
}
