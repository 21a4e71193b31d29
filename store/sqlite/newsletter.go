package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidings/tidings/newsletter"
)

var _ newsletter.Store = (*Store)(nil)

const subscriberColumns = `id, blind_index, sealed, status, created_at, confirmed_at,
	unsubscribed_at, confirm_mail_at, consent_at, consent_page, consent_ip, hard_failures`

// AddSubscriber stores sub unless a subscriber has its Index, in which case
// that one is returned with created false: AddSubscribers with one element.
func (s *Store) AddSubscriber(ctx context.Context, sub newsletter.Subscriber) (newsletter.Subscriber, bool, error) {
	res, err := s.AddSubscribers(ctx, []newsletter.Subscriber{sub})
	if err != nil {
		return newsletter.Subscriber{}, false, err
	}
	return res[0].Subscriber, res[0].Created, nil
}

// AddSubscribers stores each of subs unless a subscriber has its Index, in
// one IMMEDIATE transaction, so concurrent sign-ups of one address create one
// row. A zero CreatedAt becomes now. The insert yields to an existing Index
// (ON CONFLICT DO NOTHING) and the holder is read instead. A new row is not
// read back: RETURNING would make an import three times slower.
func (s *Store) AddSubscribers(ctx context.Context, subs []newsletter.Subscriber) ([]newsletter.AddedSubscriber, error) {
	now := time.Now()
	for i, sub := range subs {
		if sub.Index == "" {
			return nil, fmt.Errorf("sqlite: add subscriber %d of %d: empty blind index", i+1, len(subs))
		}
		if !sub.Status.Valid() {
			return nil, fmt.Errorf("sqlite: add subscriber %d of %d: invalid status %q", i+1, len(subs), sub.Status)
		}
	}
	if len(subs) == 0 {
		return nil, nil
	}
	var out []newsletter.AddedSubscriber
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		insert, err := tx.PrepareContext(ctx, `INSERT INTO subscribers (blind_index, sealed, status,
			created_at, confirmed_at, unsubscribed_at, confirm_mail_at, consent_at, consent_page,
			consent_ip, hard_failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (blind_index) DO NOTHING`)
		if err != nil {
			return err
		}
		defer insert.Close()
		find, err := tx.PrepareContext(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE blind_index = ?`)
		if err != nil {
			return err
		}
		defer find.Close()
		out = make([]newsletter.AddedSubscriber, len(subs))
		first := make(map[string]int, len(subs)) // Index → its first element
		for i, sub := range subs {
			if j, ok := first[sub.Index]; ok {
				out[i].Subscriber = out[j].Subscriber
				continue
			}
			first[sub.Index] = i
			if sub.CreatedAt.IsZero() {
				sub.CreatedAt = now
			}
			res, err := insert.ExecContext(ctx,
				sub.Index, sealedBytes(sub.Sealed), string(sub.Status), formatTime(sub.CreatedAt),
				formatTime(sub.ConfirmedAt), formatTime(sub.UnsubscribedAt), formatTime(sub.ConfirmMailAt),
				formatTime(sub.ConsentAt), sub.ConsentPage, sub.ConsentIP, sub.HardFailures)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				if sub.ID, err = res.LastInsertId(); err != nil {
					return err
				}
				out[i] = newsletter.AddedSubscriber{Subscriber: subscriberAsStored(sub), Created: true}
				continue
			}
			if out[i].Subscriber, err = scanSubscriber(find.QueryRowContext(ctx, sub.Index)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: add subscribers: %w", err)
	}
	return out, nil
}

// subscriberAsStored is a just-inserted subscriber as a read would return it:
// times in UTC, an empty address as an empty slice.
func subscriberAsStored(sub newsletter.Subscriber) newsletter.Subscriber {
	for _, t := range []*time.Time{&sub.CreatedAt, &sub.ConfirmedAt, &sub.UnsubscribedAt, &sub.ConfirmMailAt, &sub.ConsentAt} {
		*t = t.UTC()
	}
	sub.Sealed = sealedBytes(sub.Sealed)
	return sub
}

// sealedBytes keeps a nil address from being stored as NULL.
func sealedBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Subscriber returns the subscriber with the given ID or ErrNotFound.
func (s *Store) Subscriber(ctx context.Context, id int64) (newsletter.Subscriber, error) {
	sub, err := scanSubscriber(s.read.QueryRowContext(ctx,
		`SELECT `+subscriberColumns+` FROM subscribers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return newsletter.Subscriber{}, fmt.Errorf("sqlite: subscriber %d: %w", id, err)
	}
	return sub, nil
}

// SubscribersByID reads the subscribers with the given IDs in one query, the
// IDs passed as one JSON array.
func (s *Store) SubscribersByID(ctx context.Context, ids []int64) (map[int64]newsletter.Subscriber, error) {
	out := make(map[int64]newsletter.Subscriber, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list, _ := json.Marshal(ids) // []int64 always marshals
	byID, err := s.stmts.get(ctx, s.read, `SELECT `+subscriberColumns+` FROM subscribers
		WHERE id IN (SELECT value FROM json_each(?))`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscribers by ID: %w", err)
	}
	rows, err := byID.QueryContext(ctx, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscribers by ID: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: subscribers by ID: %w", err)
		}
		out[sub.ID] = sub
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: subscribers by ID: %w", err)
	}
	return out, nil
}

// SubscriberByIndex returns the subscriber with the given blind index or
// ErrNotFound.
func (s *Store) SubscriberByIndex(ctx context.Context, index string) (newsletter.Subscriber, error) {
	sub, err := scanSubscriber(s.read.QueryRowContext(ctx,
		`SELECT `+subscriberColumns+` FROM subscribers WHERE blind_index = ?`, index))
	if errors.Is(err, sql.ErrNoRows) {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return newsletter.Subscriber{}, fmt.Errorf("sqlite: subscriber by index: %w", err)
	}
	return sub, nil
}

// UpdateSubscriber overwrites every field of a stored subscriber but ID,
// Index and CreatedAt.
func (s *Store) UpdateSubscriber(ctx context.Context, sub newsletter.Subscriber) error {
	if !sub.Status.Valid() {
		return fmt.Errorf("sqlite: update subscriber %d: invalid status %q", sub.ID, sub.Status)
	}
	res, err := s.write.ExecContext(ctx, `UPDATE subscribers SET sealed = ?, status = ?,
		confirmed_at = ?, unsubscribed_at = ?, confirm_mail_at = ?, consent_at = ?,
		consent_page = ?, consent_ip = ?, hard_failures = ? WHERE id = ?`,
		sealedBytes(sub.Sealed), string(sub.Status), formatTime(sub.ConfirmedAt),
		formatTime(sub.UnsubscribedAt), formatTime(sub.ConfirmMailAt), formatTime(sub.ConsentAt),
		sub.ConsentPage, sub.ConsentIP, sub.HardFailures, sub.ID)
	if err == nil {
		err = oneNewsletterRow(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update subscriber %d: %w", sub.ID, err)
	}
	return nil
}

// Subscribers lists the subscribers matching f by ascending ID, through the
// primary key or the (status, id) index, so paging by AfterID stays cheap.
func (s *Store) Subscribers(ctx context.Context, f newsletter.SubscriberFilter) ([]newsletter.Subscriber, error) {
	q := `SELECT ` + subscriberColumns + ` FROM subscribers WHERE id > ?`
	args := []any{f.AfterID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	out, err := scanAll(scanSubscriber)(s.read.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscribers: %w", err)
	}
	return out, nil
}

// CountSubscribers counts the subscribers of each status; every status has
// an entry, zero or not.
func (s *Store) CountSubscribers(ctx context.Context) (map[newsletter.Status]int, error) {
	out := map[newsletter.Status]int{
		newsletter.Pending: 0, newsletter.Confirmed: 0, newsletter.Unsubscribed: 0, newsletter.Bounced: 0,
	}
	rows, err := s.read.QueryContext(ctx, `SELECT status, count(*) FROM subscribers GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count subscribers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count subscribers: %w", err)
		}
		out[newsletter.Status(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count subscribers: %w", err)
	}
	return out, nil
}

// eraseDeliveries deletes the deliveries of the subscribers that subscriberIDs
// (an SQL expression) selects, in every week. It walks the weeks, which are
// few, through the deliveries' primary key instead of scanning the table.
const eraseDeliveries = `DELETE FROM deliveries
	WHERE week IN (SELECT week FROM issues) AND subscriber_id IN `

// DeleteSubscriber erases a subscriber and its deliveries in one transaction.
func (s *Store) DeleteSubscriber(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, eraseDeliveries+`(?)`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM subscribers WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return oneNewsletterRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete subscriber %d: %w", id, err)
	}
	return nil
}

// DeletePending erases the subscribers still pending that were created
// before the given instant, and their deliveries if they have any.
func (s *Store) DeletePending(ctx context.Context, before time.Time) (int, error) {
	const pending = `SELECT id FROM subscribers WHERE status = 'pending' AND created_at < ?`
	cutoff := formatTime(before)
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, eraseDeliveries+`(`+pending+`)`, cutoff); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM subscribers WHERE status = 'pending' AND created_at < ?`, cutoff)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete pending subscribers: %w", err)
	}
	return int(n), nil
}

// AcquireLease takes or renews the lease name for owner until now+ttl, in one
// statement: the upsert writes only when the lease is free, expired or
// already owner's.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if name == "" || owner == "" {
		return false, fmt.Errorf("sqlite: acquire lease %q for %q: empty name or owner", name, owner)
	}
	if ttl <= 0 {
		return false, fmt.Errorf("sqlite: acquire lease %q: ttl %v is not positive", name, ttl)
	}
	now := time.Now()
	res, err := s.write.ExecContext(ctx, `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`,
		name, owner, formatTime(now.Add(ttl)), formatTime(now))
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %q: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives up the lease name if owner holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if _, err := s.write.ExecContext(ctx,
		`DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner); err != nil {
		return fmt.Errorf("sqlite: release lease %q: %w", name, err)
	}
	return nil
}

// oneNewsletterRow turns "no row changed" into newsletter.ErrNotFound.
func oneNewsletterRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return newsletter.ErrNotFound
	}
	return nil
}

func scanSubscriber(r scanner) (newsletter.Subscriber, error) {
	var sub newsletter.Subscriber
	var status, created, confirmed, unsubscribed, confirmMail, consent string
	err := r.Scan(&sub.ID, &sub.Index, &sub.Sealed, &status, &created, &confirmed, &unsubscribed,
		&confirmMail, &consent, &sub.ConsentPage, &sub.ConsentIP, &sub.HardFailures)
	if err != nil {
		return newsletter.Subscriber{}, err
	}
	sub.Status = newsletter.Status(status)
	for _, t := range []struct {
		dst *time.Time
		src string
	}{
		{&sub.CreatedAt, created}, {&sub.ConfirmedAt, confirmed}, {&sub.UnsubscribedAt, unsubscribed},
		{&sub.ConfirmMailAt, confirmMail}, {&sub.ConsentAt, consent},
	} {
		if *t.dst, err = parseTime(t.src); err != nil {
			return newsletter.Subscriber{}, err
		}
	}
	return sub, nil
}
