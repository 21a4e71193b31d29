package redis

import (
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
)

// Sessions and failure records carry Redis TTLs: a session's runs to its
// ExpiresAt (measured from LastSeen, the service's clock) and is renewed on
// use; a client's failures expire keep after the last one.
func TestAdminTTLs(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC) // long past: only the difference counts
		sess := admin.Session{ID: "ab12", CreatedAt: at, LastSeen: at, ExpiresAt: at.Add(2 * time.Hour), Password: "fp"}
		if err := s.AddAdminSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		ttl := func(key string) time.Duration {
			t.Helper()
			d, err := s.c.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		if d := ttl(s.k.adminSession("ab12")); d <= time.Hour || d > 2*time.Hour {
			t.Errorf("a new session's TTL is %v, want just under 2h", d)
		}
		if err := s.TouchAdminSession(ctx, "ab12", at.Add(time.Hour), at.Add(4*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if d := ttl(s.k.adminSession("ab12")); d <= 2*time.Hour || d > 3*time.Hour {
			t.Errorf("a touched session's TTL is %v, want just under 3h", d)
		}
		if err := s.AddLoginFailure(ctx, "c0ffee", at, admin.FailureWindow); err != nil {
			t.Fatal(err)
		}
		if d := ttl(s.k.adminFailures("c0ffee")); d <= 0 || d > admin.FailureWindow {
			t.Errorf("the failures' TTL is %v, want at most %v", d, admin.FailureWindow)
		}
		if err := s.DeleteAdminSession(ctx, "ab12"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.c.Exists(ctx, s.k.adminSession("ab12")).Result(); err != nil || n != 0 {
			t.Errorf("a deleted session's key exists: %d %v", n, err)
		}
	})
}
