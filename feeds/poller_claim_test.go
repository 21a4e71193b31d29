package feeds_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/sqlite"
)

// Two pollers on one database file (two processes, in effect) polling at the
// same moment fetch each due source once between them, and a second round
// fetches nothing until the sources fall due again.
func TestTwoPollersPollEachSourceOnce(t *testing.T) {
	checkLeaks(t)
	const sources = 30
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := make([]*sqlite.Store, 2)
	for i := range stores {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stores[i] = st
	}
	body := fixture(t, "rss20.xml")
	var (
		mu    sync.Mutex
		count = map[string]int{}
	)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count[r.URL.Path]++
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // a request takes a while, as on the network
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write(body)
	})
	for i := range sources {
		addSource(t, stores[0], fmt.Sprintf("%s/feed/%d", srv.URL, i))
	}
	clk := newClock()
	pollers := []*feeds.Poller{
		newPoller(stores[0], clk, feeds.PollerOptions{AllowPrivate: true, Workers: 2, PerHost: 4}),
		newPoller(stores[1], clk, feeds.PollerOptions{AllowPrivate: true, Workers: 2, PerHost: 4}),
	}
	round := func() int {
		var wg sync.WaitGroup
		polled := make([]int, len(pollers))
		for i, p := range pollers {
			wg.Go(func() {
				sum, err := p.PollOnce(context.Background(), false, nil)
				if err != nil {
					t.Error(err)
				}
				polled[i] = sum.Polled + len(sum.Failed)
			})
		}
		wg.Wait()
		t.Logf("polled by each poller: %v", polled)
		return polled[0] + polled[1]
	}
	if n := round(); n != sources {
		t.Errorf("the pollers polled %d sources between them, want %d", n, sources)
	}
	mu.Lock()
	for i := range sources {
		if n := count[fmt.Sprintf("/feed/%d", i)]; n != 1 {
			t.Errorf("feed %d fetched %d times, want once", i, n)
		}
	}
	mu.Unlock()
	if n := round(); n != 0 || srv.requests.Load() != sources {
		t.Errorf("a second round polled %d sources (%d requests in all); none is due", n, srv.requests.Load())
	}
	clk.Advance(3 * time.Hour) // past the feed's <ttl>
	if n := round(); n != sources || srv.requests.Load() != 2*sources {
		t.Errorf("a round after the interval polled %d sources (%d requests in all), want %d (%d)",
			n, srv.requests.Load(), sources, 2*sources)
	}
}

// A round that is cancelled hands back the claims of the sources it did not
// poll, so that they are due again at once rather than after the lease.
func TestCancelledRoundHandsBackClaims(t *testing.T) {
	checkLeaks(t)
	store := openStore(t)
	started := make(chan struct{}, 1)
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		drip(w, r)
	})
	for i := range 6 {
		addSource(t, store, fmt.Sprintf("%s/feed/%d", slow.URL, i))
	}
	clk := newClock()
	p := newPoller(store, clk, feeds.PollerOptions{AllowPrivate: true, Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	if _, err := p.PollOnce(ctx, false, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	due, err := store.Sources(context.Background(), feeds.SourceFilter{DueBy: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 6 {
		t.Errorf("%d of 6 sources due after a cancelled round, want all: their claims were not handed back", len(due))
	}
	for _, s := range due {
		if !s.NextPollAt.IsZero() || !s.LastPolledAt.IsZero() {
			t.Errorf("source %d after a cancelled round: next poll %v, last %v; want both as before", s.ID, s.NextPollAt, s.LastPolledAt)
		}
	}
}
