package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings/ratelimit"
	"github.com/tidings/tidings/secrets"
)

// Options are what the admin service needs from the rest of the program.
type Options struct {
	Store Store
	// Keys hashes client addresses for the failed-login records.
	Keys *secrets.Keys
	// PasswordHash, when set (from TIDINGS_ADMIN_PASSWORD_HASH), is the
	// admin password's hash; it wins over the one in the store.
	PasswordHash string
	// IdleTimeout ends a session unused this long; default 2 h.
	// AbsoluteTimeout ends it this long after the login; default 24 h.
	IdleTimeout, AbsoluteTimeout time.Duration
	// Now is the clock; default time.Now. Tests set it.
	Now    func() time.Time
	Logger *slog.Logger
}

// maxHashing bounds the argon2id computations running at once in this
// process: each takes 19 MiB, and a flood of logins must not take the
// memory of the machine.
const maxHashing = 4

// tokenBytes is the size of a session token: 256 random bits.
const tokenBytes = 32

// Service logs the administrator in and out and checks their sessions. It is
// safe for concurrent use.
type Service struct {
	o       Options
	hashing chan struct{}
	clients clientLocks
}

// NewService checks o and returns the service. A PasswordHash that is not a
// usable argon2id hash is an error, so a typo shows at start.
func NewService(o Options) (*Service, error) {
	if o.Store == nil || o.Keys == nil {
		return nil, errors.New("admin: Store and Keys are required")
	}
	o.PasswordHash = strings.TrimSpace(o.PasswordHash)
	if o.PasswordHash != "" {
		if err := CheckHash(o.PasswordHash); err != nil {
			return nil, fmt.Errorf("admin: TIDINGS_ADMIN_PASSWORD_HASH: %w (make one with 'tidings admin hash')", err)
		}
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.AbsoluteTimeout <= 0 {
		o.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, hashing: make(chan struct{}, maxHashing), clients: clientLocks{m: map[string]*clientLock{}}}, nil
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

// PasswordFromEnv reports whether the password comes from
// TIDINGS_ADMIN_PASSWORD_HASH, so that one set in the store has no effect.
func (s *Service) PasswordFromEnv() bool { return s.o.PasswordHash != "" }

// SetPassword hashes password and stores the hash. A password of fewer than
// MinPasswordLen characters is refused with ErrWeakPassword. Every session
// opened under the old password ends.
func (s *Service) SetPassword(ctx context.Context, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := s.o.Store.SetAdminPassword(ctx, hash); err != nil {
		return fmt.Errorf("admin: storing the password: %w", err)
	}
	return nil
}

// passwordHash is the hash in force: the one from the environment, else the
// stored one; ErrNoPassword when neither is set.
func (s *Service) passwordHash(ctx context.Context) (string, error) {
	if s.o.PasswordHash != "" {
		return s.o.PasswordHash, nil
	}
	hash, err := s.o.Store.AdminPassword(ctx)
	if err != nil {
		return "", fmt.Errorf("admin: reading the password: %w", err)
	}
	return hash, nil
}

// Login checks password for a client at ip and opens a new session: a fresh
// random token, which is all the browser gets (each login rotates it; the
// caller ends the session the browser had before). Errors: ErrThrottled when
// the client failed MaxFailures times within FailureWindow (checked first,
// so the right password does not help), ErrNoPassword, ErrBadPassword.
func (s *Service) Login(ctx context.Context, password, ip string) (token string, err error) {
	client := s.o.Keys.HashIP(ratelimit.ClientKey(ip))
	// One attempt at a time per client, so that parallel guesses cannot all
	// pass the count below before any failure is recorded.
	unlock, err := s.clients.lock(ctx, client)
	if err != nil {
		return "", err
	}
	defer unlock()
	now := s.now()
	n, err := s.o.Store.LoginFailures(ctx, client, now.Add(-FailureWindow))
	if err != nil {
		return "", fmt.Errorf("admin: counting failed logins: %w", err)
	}
	if n >= MaxFailures {
		s.o.Logger.Warn("admin login refused: too many failures", "client", client)
		return "", ErrThrottled
	}
	hash, err := s.passwordHash(ctx)
	if err != nil {
		return "", err
	}
	ok, err := s.verify(ctx, password, hash)
	if err != nil {
		return "", err
	}
	if !ok {
		if err := s.o.Store.AddLoginFailure(ctx, client, now, FailureWindow); err != nil {
			return "", fmt.Errorf("admin: recording a failed login: %w", err)
		}
		s.o.Logger.Info("admin login failed", "client", client, "failures", n+1)
		return "", ErrBadPassword
	}
	if err := s.o.Store.ClearLoginFailures(ctx, client); err != nil {
		return "", fmt.Errorf("admin: clearing failed logins: %w", err)
	}
	raw := make([]byte, tokenBytes)
	rand.Read(raw) // never fails (crypto/rand aborts the program instead)
	token = base64.RawURLEncoding.EncodeToString(raw)
	sess := Session{ID: sessionID(token), CreatedAt: now, LastSeen: now, Password: fingerprint(hash)}
	sess.ExpiresAt = s.expiry(sess)
	if err := s.o.Store.AddAdminSession(ctx, sess); err != nil {
		return "", fmt.Errorf("admin: storing the session: %w", err)
	}
	s.o.Logger.Info("admin logged in", "client", client)
	return token, nil
}

// verify runs argon2id, at most maxHashing at once.
func (s *Service) verify(ctx context.Context, password, hash string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	ok, err := VerifyPassword(password, hash)
	if err != nil {
		return false, fmt.Errorf("admin: the stored password hash: %w", err)
	}
	return ok, nil
}

// expiry is when sess ends unless used again.
func (s *Service) expiry(sess Session) time.Time {
	return minTime(sess.LastSeen.Add(s.o.IdleTimeout), sess.CreatedAt.Add(s.o.AbsoluteTimeout))
}

// Check returns the session a browser's token opens, after marking it used.
// A session idle longer than IdleTimeout, older than AbsoluteTimeout, or
// opened under a password since changed is erased and gives ErrExpired; an
// unknown or malformed token gives ErrNotFound.
func (s *Service) Check(ctx context.Context, token string) (Session, error) {
	if !validToken(token) {
		return Session{}, ErrNotFound
	}
	id := sessionID(token)
	sess, err := s.o.Store.AdminSession(ctx, id)
	if err != nil {
		return Session{}, fmt.Errorf("admin: session: %w", err)
	}
	now := s.now()
	ended := !now.Before(sess.LastSeen.Add(s.o.IdleTimeout)) || !now.Before(sess.CreatedAt.Add(s.o.AbsoluteTimeout))
	if !ended {
		hash, err := s.passwordHash(ctx)
		switch {
		case errors.Is(err, ErrNoPassword):
			ended = true
		case err != nil:
			return Session{}, err
		default:
			ended = sess.Password != fingerprint(hash)
		}
	}
	if ended {
		if err := s.o.Store.DeleteAdminSession(ctx, id); err != nil {
			return Session{}, fmt.Errorf("admin: erasing an ended session: %w", err)
		}
		return Session{}, ErrExpired
	}
	sess.LastSeen = now
	sess.ExpiresAt = s.expiry(sess)
	if err := s.o.Store.TouchAdminSession(ctx, id, sess.LastSeen, sess.ExpiresAt); err != nil {
		return Session{}, fmt.Errorf("admin: session: %w", err)
	}
	return sess, nil
}

// Logout ends the session of token. Ending an unknown one is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !validToken(token) {
		return nil
	}
	if err := s.o.Store.DeleteAdminSession(ctx, sessionID(token)); err != nil {
		return fmt.Errorf("admin: logout: %w", err)
	}
	return nil
}

// sessionID is the name of a session in the store: the hex SHA-256 of its
// token. A token is 256 random bits, so an unkeyed hash is enough to make a
// stolen store dump useless for opening sessions.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validToken reports whether token looks like one Login makes, so junk from
// a cookie never reaches the store.
func validToken(token string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil && len(b) == tokenBytes
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// clientLocks serialises the login attempts of each client.
type clientLocks struct {
	mu sync.Mutex
	m  map[string]*clientLock
}

type clientLock struct {
	ch      chan struct{} // holds one token while a login runs
	waiters int           // goroutines holding or waiting for ch
}

// lock waits until no other login of client runs (or ctx ends) and returns
// the function that lets the next one go.
func (l *clientLocks) lock(ctx context.Context, client string) (func(), error) {
	l.mu.Lock()
	cl := l.m[client]
	if cl == nil {
		cl = &clientLock{ch: make(chan struct{}, 1)}
		l.m[client] = cl
	}
	cl.waiters++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if cl.waiters--; cl.waiters == 0 {
			delete(l.m, client)
		}
		l.mu.Unlock()
	}
	select {
	case cl.ch <- struct{}{}:
		return func() { <-cl.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
