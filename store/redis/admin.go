package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/admin"
)

var _ admin.Store = (*Store)(nil)

// AdminPassword returns the stored password hash, or admin.ErrNoPassword.
func (s *Store) AdminPassword(ctx context.Context) (string, error) {
	hash, err := s.c.Get(ctx, s.k.adminPassword()).Result()
	if errors.Is(err, goredis.Nil) {
		err = admin.ErrNoPassword
	}
	if err != nil {
		return "", fmt.Errorf("redis: admin password: %w", err)
	}
	return hash, nil
}

// SetAdminPassword stores the password hash, replacing any other.
func (s *Store) SetAdminPassword(ctx context.Context, hash string) error {
	if err := s.c.Set(ctx, s.k.adminPassword(), hash, 0).Err(); err != nil {
		return fmt.Errorf("redis: set admin password: %w", err)
	}
	return nil
}

// sessionTTL is how long Redis keeps a session after it is added or
// touched: until ExpiresAt on the service's clock, measured from LastSeen,
// so that the two machines' clocks need not agree. At least 1 ms: PEXPIRE
// with 0 would erase the key at once.
func sessionTTL(seen, expires time.Time) time.Duration {
	return max(expires.Sub(seen), time.Millisecond)
}

// AddAdminSession stores a session as one hash with a TTL, in one
// transaction, replacing one with the same ID.
func (s *Store) AddAdminSession(ctx context.Context, sess admin.Session) error {
	key := s.k.adminSession(sess.ID)
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, "created", formatTime(sess.CreatedAt), "seen", formatTime(sess.LastSeen),
			"expires", formatTime(sess.ExpiresAt), "password", sess.Password)
		p.PExpire(ctx, key, sessionTTL(sess.LastSeen, sess.ExpiresAt))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: add admin session: %w", err)
	}
	return nil
}

// AdminSession returns the session with that ID, or admin.ErrNotFound.
func (s *Store) AdminSession(ctx context.Context, id string) (admin.Session, error) {
	m, err := s.c.HGetAll(ctx, s.k.adminSession(id)).Result()
	if err == nil && len(m) == 0 {
		err = admin.ErrNotFound
	}
	sess := admin.Session{ID: id, Password: m["password"]}
	if err == nil {
		sess.CreatedAt, err = parseTime(m["created"])
	}
	if err == nil {
		sess.LastSeen, err = parseTime(m["seen"])
	}
	if err == nil {
		sess.ExpiresAt, err = parseTime(m["expires"])
	}
	if err != nil {
		return admin.Session{}, fmt.Errorf("redis: admin session: %w", err)
	}
	return sess, nil
}

// touchSessionScript renews an existing session. KEYS: the session hash.
// ARGV: seen, expires, TTL in milliseconds. Returns 0 when it is absent.
var touchSessionScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'seen', ARGV[1], 'expires', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// TouchAdminSession sets a session's LastSeen and ExpiresAt and renews its
// TTL.
func (s *Store) TouchAdminSession(ctx context.Context, id string, seen, expires time.Time) error {
	found, err := touchSessionScript.Run(ctx, s.c, []string{s.k.adminSession(id)},
		formatTime(seen), formatTime(expires), sessionTTL(seen, expires).Milliseconds()).Int()
	if err == nil && found == 0 {
		err = admin.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: touch admin session: %w", err)
	}
	return nil
}

// DeleteAdminSession erases a session, if it exists.
func (s *Store) DeleteAdminSession(ctx context.Context, id string) error {
	if err := s.c.Del(ctx, s.k.adminSession(id)).Err(); err != nil {
		return fmt.Errorf("redis: delete admin session: %w", err)
	}
	return nil
}

// AddLoginFailure adds a failure to the client's set, drops those older
// than at−keep, and lets the set expire keep after this failure, in one
// transaction. The member's random part keeps two failures at one instant
// apart and makes a resent transaction add nothing twice.
func (s *Store) AddLoginFailure(ctx context.Context, client string, at time.Time, keep time.Duration) error {
	key := s.k.adminFailures(client)
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZAdd(ctx, key, goredis.Z{Member: formatTime(at) + "|" + newToken()})
		p.ZRemRangeByLex(ctx, key, "-", "("+formatTime(at.Add(-keep)))
		p.PExpire(ctx, key, max(keep, time.Millisecond))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: add login failure: %w", err)
	}
	return nil
}

// LoginFailures counts the client's failures at or after since: one
// ZLEXCOUNT, exact to the nanosecond.
func (s *Store) LoginFailures(ctx context.Context, client string, since time.Time) (int, error) {
	n, err := s.c.ZLexCount(ctx, s.k.adminFailures(client), "["+formatTime(since), "+").Result()
	if err != nil {
		return 0, fmt.Errorf("redis: count login failures: %w", err)
	}
	return int(n), nil
}

// ClearLoginFailures forgets the client's failures.
func (s *Store) ClearLoginFailures(ctx context.Context, client string) error {
	if err := s.c.Del(ctx, s.k.adminFailures(client)).Err(); err != nil {
		return fmt.Errorf("redis: clear login failures: %w", err)
	}
	return nil
}
