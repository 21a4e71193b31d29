// Package redis stores Tidings' data in Redis through go-redis v9, on one
// server or on a Redis Cluster, with the same code: every operation that must
// be atomic touches keys of one hash tag only (see keys.go for the layout).
package redis

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// DefaultPrefix starts every key unless the URL's ?prefix= says otherwise.
const DefaultPrefix = "tidings:"

// Timeouts chosen so that a server that is down or hung fails a request in
// about a second instead of hanging a page.
const (
	dialTimeout = 500 * time.Millisecond
	ioTimeout   = 500 * time.Millisecond
	// maxRetries is small; every write is written to be safe to repeat.
	maxRetries = 1
)

// Store implements feeds.Store on Redis or a Redis Cluster.
type Store struct {
	c goredis.UniversalClient
	k keys
	// scanChunk is how many members an intersection walks per step; tests
	// make it tiny to exercise the stepping.
	scanChunk int
	// id tells this Store's change announcements from others' (changes.go).
	id string
}

var _ feeds.Store = (*Store)(nil)

// Open connects to the server or cluster named by rawURL and checks that it
// answers. Accepted forms:
//
//	redis://[user:pass@]host:port[/db][?prefix=P]
//	rediss://[user:pass@]host:port[/db][?prefix=P]        (TLS)
//	redis-cluster://[user:pass@]host:port,host:port,…[?prefix=P]
//
// P (default "tidings:") starts every key, so several sites or test runs can
// share one server.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	opts, prefix, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{c: goredis.NewUniversalClient(opts), k: keys{p: prefix}, scanChunk: 500, id: newToken()}
	if err := s.Ping(ctx); err != nil {
		s.c.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the server (or, on a cluster, one node) answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	return s.c.Close()
}

// parseURL reads one of the forms Open accepts into client options and the
// key prefix. Passwords never appear in its errors.
func parseURL(rawURL string) (*goredis.UniversalOptions, string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, "", errors.New("redis: URL must look like redis://host:port/db, rediss://host:port/db or redis-cluster://host:port,host:port")
	}
	scheme = strings.ToLower(scheme)
	opts := &goredis.UniversalOptions{
		DialTimeout:           dialTimeout,
		DialerRetries:         1,
		ReadTimeout:           ioTimeout,
		WriteTimeout:          ioTimeout,
		MaxRetries:            maxRetries,
		ContextTimeoutEnabled: true,
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	// The last @ ends the user info, so an unescaped @ in a password stays in it.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo, hosts := rest[:at], rest[at+1:]
		u, err := url.Parse("redis://" + userinfo + "@x")
		if err != nil || u.User == nil {
			return nil, "", fmt.Errorf("redis: %s URL: bad user:password part", scheme)
		}
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
		rest = hosts
	}
	hosts, path, _ := strings.Cut(rest, "/")

	switch scheme {
	case "redis", "rediss":
		if path != "" {
			db, err := strconv.Atoi(path)
			if err != nil || db < 0 {
				return nil, "", fmt.Errorf("redis: %s URL: database %q is not a number", scheme, path)
			}
			opts.DB = db
		}
		if strings.Contains(hosts, ",") {
			return nil, "", fmt.Errorf("redis: %s URL names several hosts; use redis-cluster:// for a cluster", scheme)
		}
		if scheme == "rediss" {
			host, _, _ := net.SplitHostPort(withPort(hosts))
			opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	case "redis-cluster":
		if path != "" {
			return nil, "", errors.New("redis: redis-cluster URL: a cluster has no database number")
		}
		opts.IsClusterMode = true
	default:
		return nil, "", fmt.Errorf("redis: unknown URL scheme %q (want redis, rediss or redis-cluster)", scheme)
	}

	for _, h := range strings.Split(hosts, ",") {
		addr := withPort(h)
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, "", fmt.Errorf("redis: %s URL: bad address %q, want host:port", scheme, h)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, "", fmt.Errorf("redis: %s URL: bad port in %q", scheme, h)
		}
		opts.Addrs = append(opts.Addrs, addr)
	}

	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("redis: %s URL: bad query: %w", scheme, err)
	}
	prefix := DefaultPrefix
	for name, vals := range q {
		if name != "prefix" {
			return nil, "", fmt.Errorf("redis: %s URL: unknown option %q (only prefix is accepted)", scheme, name)
		}
		prefix = vals[len(vals)-1]
	}
	return opts, prefix, nil
}

// withPort adds Redis's default port to a host that has none.
func withPort(h string) string {
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") {
		return "[" + h + "]:6379" // a bare IPv6 address
	}
	return net.JoinHostPort(h, "6379")
}

// markOnceScript sets name once. The caller's random token makes a retried
// call (reply lost, command resent) still report that it was first.
var markOnceScript = goredis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
if v == ARGV[2] then return 1 end
return 0
`)

// MarkOnce records the one-time step name and reports whether this call was
// the first to do so.
func (s *Store) MarkOnce(ctx context.Context, name string) (bool, error) {
	mark := formatTime(time.Now()) + " " + newToken()
	first, err := markOnceScript.Run(ctx, s.c, []string{s.k.once()}, name, mark).Int()
	if err != nil {
		return false, fmt.Errorf("redis: mark once %q: %w", name, err)
	}
	return first == 1, nil
}

// newToken returns a random string that tells one call apart from all others.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
