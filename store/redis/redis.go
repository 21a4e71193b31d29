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

// Client settings chosen so that a server that is down, restarting or hung
// fails a request within about a second — the site then answers 503 "try
// again in a moment" (see unavailable.go) — while a busy but healthy one,
// whose commands take a few milliseconds, never comes near them.
const (
	// dialTimeout bounds one connection attempt. A stopped server refuses at
	// once; this is for one that is hung or unreachable. Loopback and LAN
	// connects take well under a millisecond.
	dialTimeout = 500 * time.Millisecond
	// dialerRetries is one attempt per dial: the command's own retry below
	// dials again, and more attempts would only stretch a failure. After
	// PoolSize failed dials go-redis stops dialing for each command and
	// probes the server once a second, so a site under load fails fast
	// during an outage and is back within about a second of the server.
	dialerRetries = 1
	// ioTimeout bounds writing a command and reading its reply: our slowest
	// commands (a search script, a chunk of 500 subscribers) take a few
	// milliseconds; 500 ms means the server is hung or the network is gone.
	ioTimeout = 500 * time.Millisecond
	// poolTimeout bounds the wait for a free connection when all PoolSize
	// are busy (default 10 per CPU). go-redis's default is ReadTimeout + 1 s;
	// a request that has waited half a second for one is better answered
	// "try again" than queued while the site falls behind.
	poolTimeout = 500 * time.Millisecond
	// maxRetries: a command that failed on the network (a stale pooled
	// connection after a server restart, a reset) is sent once more.
	// go-redis retries after a read timeout or a lost reply too, when the
	// first send may already have run, so every write of this store must be
	// safe to repeat, and is: AddComment's script is keyed by the call's
	// token, AddSubscriber writes under IDs chosen before the script runs and
	// finds its own write on a resend, MarkOnce compares its random mark,
	// updates overwrite whole records, a resent claim (feeds, deliveries)
	// takes other items while those taken first return when their lease
	// ends, and an INCR that hands out IDs leaves at worst a gap. A script
	// that appends or counts without such a key must not be added. Worst
	// case on a hung server: about 2 × ioTimeout plus a few milliseconds of
	// backoff per command; a stopped one refuses at once.
	maxRetries = 1
	// maxRetryBackoff caps the pause before that retry (go-redis's default
	// is 512 ms); the first pause is a few milliseconds either way.
	maxRetryBackoff = 100 * time.Millisecond
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
	s.c.AddHook(unavailableHook{})
	if _, cluster := s.c.(*goredis.ClusterClient); !cluster {
		s.c.AddHook(&breakerHook{})
	}
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
		DialTimeout:     dialTimeout,
		DialerRetries:   dialerRetries,
		ReadTimeout:     ioTimeout,
		WriteTimeout:    ioTimeout,
		PoolTimeout:     poolTimeout,
		MaxRetries:      maxRetries,
		MaxRetryBackoff: maxRetryBackoff,
		// Without it go-redis ignores the request's deadline on reads and
		// writes, and a hung server holds a page for ioTimeout whatever
		// the caller allows.
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
