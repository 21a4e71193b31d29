package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tidings/tidings/admin"
)

var _ admin.Store = (*Store)(nil)

// AdminPassword returns the stored password hash, or admin.ErrNoPassword.
func (s *Store) AdminPassword(ctx context.Context) (string, error) {
	var hash string
	err := s.read.QueryRowContext(ctx, `SELECT hash FROM admin_password WHERE id = 1`).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlite: admin password: %w", admin.ErrNoPassword)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: admin password: %w", err)
	}
	return hash, nil
}

// SetAdminPassword stores the password hash, replacing any other.
func (s *Store) SetAdminPassword(ctx context.Context, hash string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO admin_password (id, hash, set_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at`,
		hash, formatTime(time.Now()))
	if err != nil {
		return fmt.Errorf("sqlite: set admin password: %w", err)
	}
	return nil
}

// AddAdminSession stores a session and erases those that ended before its
// LastSeen, in one transaction.
func (s *Store) AddAdminSession(ctx context.Context, sess admin.Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at < ?`,
			formatTime(sess.LastSeen)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO admin_sessions
			(id, created_at, last_seen, expires_at, password) VALUES (?, ?, ?, ?, ?)`,
			sess.ID, formatTime(sess.CreatedAt), formatTime(sess.LastSeen), formatTime(sess.ExpiresAt), sess.Password)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: add admin session: %w", err)
	}
	return nil
}

// AdminSession returns the session with that ID, or admin.ErrNotFound.
func (s *Store) AdminSession(ctx context.Context, id string) (admin.Session, error) {
	sess := admin.Session{ID: id}
	var created, seen, expires string
	err := s.read.QueryRowContext(ctx, `SELECT created_at, last_seen, expires_at, password
		FROM admin_sessions WHERE id = ?`, id).Scan(&created, &seen, &expires, &sess.Password)
	if errors.Is(err, sql.ErrNoRows) {
		err = admin.ErrNotFound
	}
	if err == nil {
		sess.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		sess.LastSeen, err = parseTime(seen)
	}
	if err == nil {
		sess.ExpiresAt, err = parseTime(expires)
	}
	if err != nil {
		return admin.Session{}, fmt.Errorf("sqlite: admin session: %w", err)
	}
	return sess, nil
}

// TouchAdminSession sets a session's LastSeen and ExpiresAt.
func (s *Store) TouchAdminSession(ctx context.Context, id string, seen, expires time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE admin_sessions SET last_seen = ?, expires_at = ? WHERE id = ?`,
		formatTime(seen), formatTime(expires), id)
	if err != nil {
		return fmt.Errorf("sqlite: touch admin session: %w", err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = admin.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: touch admin session: %w", err)
	}
	return nil
}

// DeleteAdminSession erases a session, if it exists.
func (s *Store) DeleteAdminSession(ctx context.Context, id string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM admin_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete admin session: %w", err)
	}
	return nil
}

// AddLoginFailure records a failed login and erases everybody's failures
// older than at−keep, in one transaction.
func (s *Store) AddLoginFailure(ctx context.Context, client string, at time.Time, keep time.Duration) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_login_failures WHERE at < ?`,
			formatTime(at.Add(-keep))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_login_failures (client, at) VALUES (?, ?)`,
			client, formatTime(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: add login failure: %w", err)
	}
	return nil
}

// LoginFailures counts the client's failed logins at or after since.
func (s *Store) LoginFailures(ctx context.Context, client string, since time.Time) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM admin_login_failures WHERE client = ? AND at >= ?`,
		client, formatTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count login failures: %w", err)
	}
	return n, nil
}

// ClearLoginFailures forgets the client's failed logins.
func (s *Store) ClearLoginFailures(ctx context.Context, client string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM admin_login_failures WHERE client = ?`, client); err != nil {
		return fmt.Errorf("sqlite: clear login failures: %w", err)
	}
	return nil
}
