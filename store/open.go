// Package store opens the store named by the --store setting: SQLite, one
// Redis server or a Redis Cluster. The stores themselves live in store/sqlite
// and store/redis.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redis"
	"github.com/tidings/tidings/store/sqlite"
)

// Store is everything the site keeps, whichever store keeps it.
type Store interface {
	feeds.Store
	newsletter.Store
	comments.Store
	admin.Store
	// PublishChange and SubscribeChanges carry "stored content changed"
	// between the processes sharing the store (views.Changes), so that each
	// drops its cached pages at once.
	PublishChange(ctx context.Context) error
	SubscribeChanges(ctx context.Context, changed func()) error
	// Ping checks that the store is reachable (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Accepted lists the forms Open understands, for help texts and errors.
const Accepted = "sqlite:PATH, redis://[user:pass@]host:port/db, rediss://[user:pass@]host:port/db " +
	"or redis-cluster://host:port,host:port,…"

// Open opens the store named by rawURL, one of:
//
//	sqlite:PATH                             a file, created with its directory
//	redis://[user:pass@]host:port[/db]      one Redis server
//	rediss://[user:pass@]host:port[/db]     the same over TLS
//	redis-cluster://host:port,host:port,…   a Redis Cluster
//
// Redis URLs accept ?prefix=P to start every key with P (default "tidings:").
func Open(ctx context.Context, rawURL string) (Store, error) {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("store: %q names no store; use %s", rawURL, Accepted)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		// sqlite:///abs/path is read as /abs/path, like a file URL.
		rest = strings.TrimPrefix(rest, "//")
		if rest == "" {
			return nil, errors.New("store: sqlite: needs a file path, e.g. sqlite:./data/tidings.db")
		}
		s, err := sqlite.Open(ctx, rest)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "redis", "rediss", "redis-cluster":
		s, err := redis.Open(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("store: unknown store %q; use %s", scheme+":", Accepted)
}
