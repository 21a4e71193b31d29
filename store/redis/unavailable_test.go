package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redis"
	"github.com/tidings/tidings/store/redistest"
)

// TestStoppedServerIsUnavailable stops the server under an open store:
// reads, pipelines and scripted writes fail at once with
// feeds.ErrUnavailable (what the site turns into a 503), a missing record
// is still "not found" while it runs, and the same store works again soon
// after the server is back, without being reopened.
func TestStoppedServerIsUnavailable(t *testing.T) {
	srv := redistest.NewRestartable(t)
	ctx := context.Background()
	st, err := redis.Open(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Story(ctx, 42); !errors.Is(err, feeds.ErrNotFound) || errors.Is(err, feeds.ErrUnavailable) {
		t.Fatalf("a missing story with the server up: %v", err)
	}

	srv.Stop(t)
	calls := map[string]func() error{
		"Story": func() error { _, err := st.Story(ctx, 1); return err },
		"Stories": func() error {
			_, err := st.Stories(ctx, feeds.StoryFilter{Limit: 10})
			return err
		},
		"AddComment": func() error {
			_, err := st.AddComment(ctx, comments.Comment{StoryID: 1, Depth: 1, Author: "A", Body: "b", Status: comments.Pending})
			return err
		},
		"AddSubscriber": func() error {
			_, _, err := st.AddSubscriber(ctx, newsletter.Subscriber{Index: "i", Sealed: []byte("s"), Status: newsletter.Pending})
			return err
		},
		"Ping": func() error { return st.Ping(ctx) },
	}
	var slowest time.Duration
	for range 3 { // the first calls dial; later ones meet go-redis's dial breaker
		for name, call := range calls {
			start := time.Now()
			err := call()
			slowest = max(slowest, time.Since(start))
			if !errors.Is(err, feeds.ErrUnavailable) {
				t.Errorf("%s with the server stopped: %v, want feeds.ErrUnavailable", name, err)
			}
		}
	}
	t.Logf("slowest failed call: %v", slowest)
	if slowest > 2*time.Second { // 1 s promised; generous for a loaded machine
		t.Errorf("a call took %v to fail with the server stopped", slowest)
	}

	srv.Start(t)
	back := time.Now()
	for st.Ping(ctx) != nil {
		if time.Since(back) > 10*time.Second {
			t.Fatal("the store did not recover within 10 s of the server's return")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("recovered %v after the server answered again", time.Since(back))
	if _, err := st.Stories(ctx, feeds.StoryFilter{Limit: 10}); err != nil {
		t.Errorf("Stories after the restart: %v", err)
	}
}

// TestHungServerFailsFast freezes the server (SIGSTOP: connections stay
// open, nothing answers): the first call waits out the timeouts, the next
// ones fail at once with feeds.ErrUnavailable (the breaker), and the store
// answers again soon after the server runs again.
func TestHungServerFailsFast(t *testing.T) {
	srv := redistest.NewRestartable(t)
	ctx := context.Background()
	st, err := redis.Open(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv.Freeze(t)
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			srv.Thaw(t)
		}
	})
	start := time.Now()
	if _, err := st.Stories(ctx, feeds.StoryFilter{Limit: 10}); !errors.Is(err, feeds.ErrUnavailable) {
		t.Fatalf("first call to a hung server: %v, want feeds.ErrUnavailable", err)
	}
	first := time.Since(start)
	fast := 0
	for range 20 {
		start := time.Now()
		if _, err := st.Story(ctx, 1); !errors.Is(err, feeds.ErrUnavailable) {
			t.Errorf("a call to a hung server: %v, want feeds.ErrUnavailable", err)
		}
		if time.Since(start) < 100*time.Millisecond {
			fast++
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("first call failed after %v; then %d of 20 calls failed within 100 ms", first, fast)
	// A probe every 250 ms waits out the timeouts (~1 s); the calls between
	// probes must not wait: 20 calls meet 2 probes at most.
	if fast < 18 {
		t.Errorf("only %d of 20 calls to a hung server failed at once", fast)
	}

	srv.Thaw(t)
	thawed = true
	back := time.Now()
	for st.Ping(ctx) != nil {
		if time.Since(back) > 10*time.Second {
			t.Fatal("the store did not answer within 10 s of the server running again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("answering again %v after the server ran again", time.Since(back))
}
