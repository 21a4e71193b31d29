// Package admin owns the site's one administrator: the password (argon2id),
// the sessions a login opens, and the limit on failed logins, with the
// storage contract every store implements for them.
//
// A session is known to the browser by a random token and to the store only
// by a hash of it, so a dump of the store opens no session. Failed logins are
// recorded under a keyed hash of the client's address, never the address.
package admin

import (
	"context"
	"errors"
	"time"
)

// Errors of the package. Stores return ErrNotFound and ErrNoPassword
// (wrapped); the service adds the others.
var (
	// ErrNotFound means no session has the given token (or ID).
	ErrNotFound = errors.New("admin: no such session")
	// ErrExpired means the session was open too long, idle too long, or
	// opened under a password that has changed since; it is gone.
	ErrExpired = errors.New("admin: the session has ended; log in again")
	// ErrNoPassword means no admin password is set: neither in the store
	// nor in TIDINGS_ADMIN_PASSWORD_HASH.
	ErrNoPassword = errors.New("admin: no admin password is set; set one with 'tidings admin password'")
	// ErrBadPassword means the password given at login is not the admin's.
	ErrBadPassword = errors.New("admin: wrong password")
	// ErrThrottled means the client failed to log in MaxFailures times
	// within FailureWindow; it is refused, even with the right password,
	// until the oldest of those failures is older than the window.
	ErrThrottled = errors.New("admin: too many failed logins; try again later")
	// ErrWeakPassword means a new password is too short or too long.
	ErrWeakPassword = errors.New("admin: the password must have at least 12 characters (and at most 1024 bytes)")
	// ErrBadHash means a password hash is not an argon2id PHC string this
	// package accepts.
	ErrBadHash = errors.New("admin: not an argon2id password hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)")
)

// Limits on logins and sessions.
const (
	// MaxFailures is how many failed logins one client may have within
	// FailureWindow.
	MaxFailures = 10
	// FailureWindow is the span over which failed logins are counted.
	FailureWindow = 15 * time.Minute
	// DefaultIdleTimeout ends a session not used for this long.
	DefaultIdleTimeout = 2 * time.Hour
	// DefaultAbsoluteTimeout ends a session this long after the login,
	// however busy it is.
	DefaultAbsoluteTimeout = 24 * time.Hour
	// MinPasswordLen is the least number of characters of a new password,
	// MaxPasswordBytes the most bytes any password may have.
	MinPasswordLen   = 12
	MaxPasswordBytes = 1024
)

// Session is one logged-in browser.
type Session struct {
	// ID is the hex SHA-256 of the session token. The token (256 random
	// bits) is given to the browser once and stored nowhere.
	ID        string
	CreatedAt time.Time // the login, UTC
	LastSeen  time.Time // the last request that used it, UTC
	// ExpiresAt is when it ends unless used again: the earlier of LastSeen
	// plus the idle timeout and CreatedAt plus the absolute timeout.
	ExpiresAt time.Time
	// Password is a fingerprint of the password hash in force at the login:
	// a session opened under another password is refused.
	Password string
}

// Store keeps the admin password hash, the sessions and the failed logins.
// Times are the service's clock; a store keeps them in UTC, to the
// nanosecond.
type Store interface {
	// AdminPassword returns the stored password hash (a PHC string), or
	// ErrNoPassword when none was ever set.
	AdminPassword(ctx context.Context) (string, error)
	// SetAdminPassword stores a password hash, replacing any other.
	SetAdminPassword(ctx context.Context, hash string) error

	// AddAdminSession stores a session (replacing one with the same ID).
	// The store may forget it once ExpiresAt−LastSeen has passed without a
	// TouchAdminSession (Redis by a TTL; SQLite erases sessions whose
	// ExpiresAt is before the LastSeen of a session being added).
	AddAdminSession(ctx context.Context, s Session) error
	// AdminSession returns the session with that ID, or ErrNotFound.
	AdminSession(ctx context.Context, id string) (Session, error)
	// TouchAdminSession sets a stored session's LastSeen and ExpiresAt,
	// renewing how long the store keeps it. ErrNotFound if absent.
	TouchAdminSession(ctx context.Context, id string, seen, expires time.Time) error
	// DeleteAdminSession erases a session; erasing an absent one is not an
	// error.
	DeleteAdminSession(ctx context.Context, id string) error

	// AddLoginFailure records a failed login by client (a keyed hash of its
	// address) at at. Records older than at−keep may be forgotten from then
	// on.
	AddLoginFailure(ctx context.Context, client string, at time.Time, keep time.Duration) error
	// LoginFailures counts the failed logins by client at or after since.
	LoginFailures(ctx context.Context, client string, since time.Time) (int, error)
	// ClearLoginFailures forgets every failed login by client.
	ClearLoginFailures(ctx context.Context, client string) error
}
