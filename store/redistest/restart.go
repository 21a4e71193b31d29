package redistest

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Restartable is a redis-server of one test's own, which the test may stop
// and start again on the same port with the same data, as an operator
// restarting Redis would: for tests of what a site does while its store is
// down. The shared server of Server cannot be used for that.
type Restartable struct {
	port int
	p    *proc // nil while stopped
}

// NewRestartable starts a server of the test's own on a free loopback port;
// it is stopped when the test ends. It skips the test like Server does
// when redis-server is missing.
func NewRestartable(t testing.TB) *Restartable {
	t.Helper()
	need(t, "redis")
	mu.Lock()
	defer mu.Unlock()
	var last error
	for range 5 { // a port found free may be taken before the server binds it
		port, err := freePort(false)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if last = launch(port); last != nil {
			continue
		}
		p := procs[len(procs)-1]
		r := &Restartable{port: port, p: &p}
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			if r.p != nil {
				_ = r.p.cmd.Process.Kill()
				<-r.p.exited
				r.p = nil
			}
		})
		return r
	}
	t.Fatalf("redistest: start redis-server: %v", last)
	return nil
}

// URL is the server's URL with a fresh key prefix, like Server's.
func (r *Restartable) URL() string {
	return "redis://" + addrOf(r.port) + "/0?prefix=" + url.QueryEscape(newPrefix())
}

// Stop shuts the server down as an operator would (SHUTDOWN SAVE: the data
// is written to its directory first) and waits until it has exited, so
// that connections are refused from then on.
func (r *Restartable) Stop(t testing.TB) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if r.p == nil {
		t.Fatal("redistest: Stop of a server that is not running")
	}
	c := goredis.NewClient(&goredis.Options{Addr: addrOf(r.port), MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The server closes the connection instead of answering: no error to
	// look at. Whether it went is told by its exit.
	_ = c.ShutdownSave(ctx).Err()
	select {
	case <-r.p.exited:
	case <-ctx.Done():
		_ = r.p.cmd.Process.Kill()
		<-r.p.exited
		t.Fatalf("redistest: redis-server on port %d did not shut down within 10 s", r.port)
	}
	r.p = nil
}

// Start starts the stopped server again on its port, from the data it
// saved, and returns once it answers PING.
func (r *Restartable) Start(t testing.TB) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if r.p != nil {
		t.Fatal("redistest: Start of a server that is running")
	}
	if err := launch(r.port); err != nil {
		t.Fatalf("redistest: restart redis-server: %v", err)
	}
	p := procs[len(procs)-1]
	r.p = &p
}

// String names the server for messages.
func (r *Restartable) String() string { return fmt.Sprintf("redis-server on %s", addrOf(r.port)) }
