package redistest_test

import (
	"context"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/store/redistest"
)

// TestRestartableKeepsData stops a server of the test's own, finds it
// refusing connections, and starts it again on the same port with the key
// written before.
func TestRestartableKeepsData(t *testing.T) {
	r := redistest.NewRestartable(t)
	opts, err := goredis.ParseURL(strings.Split(r.URL(), "?")[0])
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries = -1
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "kept", "across a restart", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a stopped server answered PING: %v", err)
	}
	r.Start(t)
	if v, err := c.Get(ctx, "kept").Result(); err != nil || v != "across a restart" {
		t.Fatalf("after the restart: %q, %v", v, err)
	}
}
