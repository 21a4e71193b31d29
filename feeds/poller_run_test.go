package feeds_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/feeds"
)

func TestPollBackoffAndRecovery(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	store := openStore(t)
	clk := newClock()
	var healthy atomic.Bool
	body := fixture(t, "rss20.xml")
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write(body)
	})
	src := addSource(t, store, srv.URL)
	p := newPoller(store, clk, feeds.PollerOptions{AllowPrivate: true, MaxBackoff: 3 * time.Hour})

	for i, want := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 3 * time.Hour} {
		sum, err := p.PollOnce(ctx, false, nil)
		if err == nil || len(sum.Failed) != 1 {
			t.Fatalf("round %d: %+v, %v; want every source failed", i+1, sum, err)
		}
		s := source(t, store, src.ID)
		if s.ErrorCount != i+1 || s.LastError != "HTTP 502 Bad Gateway" || !s.NextPollAt.Equal(clk.Now().Add(want)) {
			t.Fatalf("round %d: count %d, error %q, next in %v; want next in %v",
				i+1, s.ErrorCount, s.LastError, s.NextPollAt.Sub(clk.Now()), want)
		}
		clk.Advance(want - time.Second)
		if sum, _ := p.PollOnce(ctx, false, nil); sum.Polled+len(sum.Failed) != 0 {
			t.Fatalf("round %d: polled before the back-off ended", i+1)
		}
		clk.Advance(time.Second)
	}

	healthy.Store(true)
	if _, err := p.PollOnce(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	if s := source(t, store, src.ID); s.ErrorCount != 0 || s.LastError != "" {
		t.Errorf("after recovery: count %d, error %q", s.ErrorCount, s.LastError)
	}
}

func TestPollOnceErrorOnlyWhenNothingPolled(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	store := openStore(t)
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	if sum, err := p.PollOnce(ctx, true, nil); err != nil || sum.Polled != 0 {
		t.Fatalf("no sources: %+v, %v", sum, err)
	}
	broken := serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	addSource(t, store, broken.URL+"/a")
	addSource(t, store, broken.URL+"/b")
	sum, err := p.PollOnce(ctx, true, nil)
	if err == nil || len(sum.Failed) != 2 || sum.Failed[0].Reason != "HTTP 404 Not Found" {
		t.Fatalf("all failing: %+v, %v", sum, err)
	}
	good := serveBytes(t, "application/atom+xml", fixture(t, "atom.xml"))
	addSource(t, store, good.URL)
	sum, err = p.PollOnce(ctx, true, nil)
	if err != nil || sum.Polled != 1 || len(sum.Failed) != 2 || sum.NewStories != 1 {
		t.Fatalf("one healthy: %+v, %v", sum, err)
	}
}

func TestPollSkipsPausedAndReportsProgress(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	store := openStore(t)
	srv := serveBytes(t, "application/json", fixture(t, "feed.json"))
	for i := range 5 {
		src := addSource(t, store, fmt.Sprintf("%s/feed/%d", srv.URL, i))
		if i == 4 {
			src.Paused = true
			if err := store.UpdateSource(ctx, src); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true, Workers: 3})
	var calls []int
	sum, err := p.PollOnce(ctx, true, func(done, total int) {
		if total != 4 {
			t.Errorf("total = %d, want 4", total)
		}
		calls = append(calls, done)
	})
	if err != nil || sum.Polled != 4 || sum.Items != 4 || sum.NewStories != 1 {
		t.Fatalf("summary %+v, %v", sum, err) // one story: the four copies share a URL
	}
	if fmt.Sprint(calls) != "[1 2 3 4]" {
		t.Errorf("progress calls %v", calls)
	}
	if srv.requests.Load() != 4 {
		t.Errorf("%d requests; the paused source must not be fetched", srv.requests.Load())
	}
}

func TestPollPerHostLimit(t *testing.T) {
	checkLeaks(t)
	store := openStore(t)
	var (
		mu             sync.Mutex
		inFlight, peak int
		arrivals       int
		arrived        = sync.NewCond(&mu)
	)
	body := fixture(t, "rss091.xml")
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		inFlight++
		arrivals++
		peak = max(peak, inFlight)
		arrived.Broadcast()
		// Hold the request until a second one is in flight (unless it is the
		// last, or a while has passed), so the test sees the limit rather than
		// a lucky schedule.
		deadline := time.AfterFunc(2*time.Second, func() { mu.Lock(); arrived.Broadcast(); mu.Unlock() })
		start := time.Now()
		for inFlight < 2 && arrivals < 6 && time.Since(start) < 2*time.Second {
			arrived.Wait()
		}
		deadline.Stop()
		mu.Unlock()
		_, _ = w.Write(body)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	for i := range 6 {
		addSource(t, store, fmt.Sprintf("%s/f%d", srv.URL, i))
	}
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true, Workers: 8, PerHost: 2})
	sum, err := p.PollOnce(context.Background(), true, nil)
	if err != nil || sum.Polled != 6 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if peak != 2 {
		t.Errorf("peak of %d requests at once to one host, want 2", peak)
	}
}

func TestPollMetrics(t *testing.T) {
	checkLeaks(t)
	store := openStore(t)
	reg := prometheus.NewRegistry()
	m := feeds.NewMetrics(reg)
	if again := feeds.NewMetrics(reg); again == nil {
		t.Fatal("registering twice failed")
	}
	good := serveBytes(t, "application/rss+xml", fixture(t, "rss20.xml"))
	bad := serveBytes(t, "text/html", []byte("<html><body>nope</body></html>"))
	addSource(t, store, good.URL)
	addSource(t, store, bad.URL)
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true, Metrics: m})
	if _, err := p.PollOnce(context.Background(), true, nil); err != nil {
		t.Fatal(err)
	}
	got := gather(t, reg)
	for series, want := range map[string]float64{
		`tidings_feed_fetches_total{result="ok"}`:           1,
		`tidings_feed_fetches_total{result="not_modified"}`: 0,
		`tidings_feed_fetches_total{result="error"}`:        1,
		`tidings_stories_ingested_total`:                    3,
		`tidings_sources_failing`:                           1,
		`tidings_feed_fetch_duration_seconds_count`:         2,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}

// gather reads every metric of reg into "name{label="value"}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			if len(m.GetLabel()) > 0 {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestPollRunStopsOnCancel(t *testing.T) {
	checkLeaks(t)
	store := openStore(t)
	srv := serveBytes(t, "application/rss+xml", fixture(t, "rss20.xml"))
	slow := serve(t, drip) // a request in flight when Run is cancelled
	src := addSource(t, store, srv.URL)
	slowSrc := addSource(t, store, slow.URL)
	p := feeds.NewPoller(store, feeds.NewClassifier(), feeds.NewRelater(100),
		feeds.PollerOptions{AllowPrivate: true, Logger: quiet})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, func() bool {
		return !source(t, store, src.ID).LastPolledAt.IsZero() && slow.requests.Load() == 1
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if s := source(t, store, slowSrc.ID); s.LastError != "" || s.ErrorCount != 0 {
		t.Errorf("a cancelled poll was recorded as a failure: %q", s.LastError)
	}
}

// waitFor polls cond until it holds, failing after ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const hostileRSS = `<?xml version="1.0"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://hostile.example/</link>
<item><title>Script link about privacy</title><link>javascript:alert(document.cookie)</link><guid>h1</guid></item>
<item><title>Data link about surveillance</title><link>data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==</link><guid>h2</guid></item>
<item><title>Mixed case scheme about encryption</title><link>JaVaScRiPt:alert(1)</link><guid>h3</guid></item>
<item><title>A real story about encryption</title><link>https://hostile.example/real</link><guid>h4</guid></item>
</channel></rss>`

const hostileAtom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="javascript:alert(1)//">
<title>Based</title><id>urn:x:based</id><updated>2026-01-08T07:00:00Z</updated>
<entry><title>Relative link under a script base, on privacy</title><link href="story/1"/><id>urn:x:b1</id><updated>2026-01-08T07:00:00Z</updated></entry>
<entry xml:base="data:text/html,"><title>Data base on tracking</title><link href="x"/><id>urn:x:b2</id><updated>2026-01-08T07:00:00Z</updated></entry>
<entry><title>Absolute link on surveillance</title><link href="https://based.example/ok"/><id>urn:x:b3</id><updated>2026-01-08T07:00:00Z</updated></entry>
</feed>`

func TestPollNeverStoresNonHTTPURLs(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	store := openStore(t)
	rss := serveBytes(t, "application/rss+xml", []byte(hostileRSS))
	atom := serveBytes(t, "application/atom+xml", []byte(hostileAtom))
	addSource(t, store, rss.URL)
	addSource(t, store, atom.URL)
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	if _, err := p.PollOnce(ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	sts, err := store.Stories(ctx, feeds.StoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) == 0 {
		t.Fatal("no stories at all; the real links should have made some")
	}
	for _, st := range sts {
		u, err := url.Parse(st.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Errorf("story %q has URL %q", st.Title, st.URL)
		}
		if strings.Contains(strings.ToLower(st.Content), "javascript:") {
			t.Errorf("story %q content keeps a script link: %q", st.Title, st.Content)
		}
	}
}

// relatedFeed is a feed of stories about one event, told by one outlet.
func relatedFeed(outlet string, titles ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<rss version="2.0"><channel><title>%s</title><link>https://%s.example/</link>`, outlet, outlet)
	for i, title := range titles {
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://%s.example/%d</link><pubDate>%s</pubDate>`+
			`<description>%s. Privacy campaigners said the encryption backdoor would weaken security for everyone and enable mass surveillance.</description></item>`,
			title, outlet, i, time.Date(2026, 1, 5+i, 9, 0, 0, 0, time.UTC).Format(time.RFC1123Z), title)
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String())
}

// TestPollSimilarPostsBothWays checks that an early story gains the later
// stories that list it among their Similar Posts, while its list has room.
func TestPollSimilarPostsBothWays(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	store := openStore(t)
	first := serveBytes(t, "application/rss+xml", relatedFeed("first",
		"Lawmakers push encryption backdoor for messaging apps"))
	second := serveBytes(t, "application/rss+xml", relatedFeed("second",
		"Encryption backdoor plan for messaging apps faces backlash",
		"Messaging apps threaten to leave over encryption backdoor law"))
	addSource(t, store, first.URL)
	addSource(t, store, second.URL)
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	if _, err := p.PollOnce(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	sts, err := store.Stories(ctx, feeds.StoryFilter{})
	if err != nil || len(sts) != 3 {
		t.Fatalf("stories: %d, %v", len(sts), err)
	}
	byID := make(map[int64]feeds.Story)
	for _, st := range sts {
		byID[st.ID] = st
	}
	// Stories on one event are related either as Similar Posts or, when they
	// cluster, as "also covered by" (cluster mates are not listed as similar).
	links := 0
	for _, st := range sts {
		if st.ClusterID != 0 {
			links++
		}
		for _, r := range st.Similar {
			links++
			other := byID[r.ID]
			found := false
			for _, back := range other.Similar {
				found = found || back.ID == st.ID
			}
			if !found && len(other.Similar) < 5 {
				t.Errorf("story %d lists %d as similar, but not the other way round", st.ID, r.ID)
			}
		}
	}
	if links == 0 {
		t.Error("no Similar Posts at all among three stories on one event")
	}
	// A later poll with a fresh Relater, warmed from the store, still relates.
	third := serveBytes(t, "application/rss+xml", relatedFeed("third",
		"Encryption backdoor law for messaging apps passes committee"))
	c := addSource(t, store, third.URL)
	p2 := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	if err := p2.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.PollOnce(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	newest := storiesOf(t, store, c.ID)
	if len(newest) != 1 || len(newest[0].Similar) == 0 && newest[0].ClusterID == 0 {
		t.Errorf("story after Warm is related to nothing: %+v", newest)
	}
}

func TestPollCancelledRoundRecordsNothing(t *testing.T) {
	checkLeaks(t)
	store := openStore(t)
	started := make(chan struct{}, 1)
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		drip(w, r)
	})
	src := addSource(t, store, slow.URL)
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := p.PollOnce(ctx, true, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if s := source(t, store, src.ID); s.LastError != "" || !s.LastPolledAt.IsZero() {
		t.Errorf("cancelled poll recorded: %+v", s)
	}
}
