package feeds_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/sqlite"
)

// checkLeaks fails t if goroutines started during the test still run after
// it and its cleanups. Call it first, so that its cleanup runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// clock is the fake clock the poller reads; only tests move it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tidings.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var quiet = slog.New(slog.DiscardHandler)

func newPoller(store feeds.Store, clk *clock, opts feeds.PollerOptions) *feeds.Poller {
	opts.Now = clk.Now
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	return feeds.NewPoller(store, feeds.NewClassifier(), feeds.NewRelater(1000), opts)
}

func addSource(t testing.TB, store feeds.Store, url string) feeds.Source {
	t.Helper()
	src, err := store.AddSource(context.Background(), feeds.Source{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func source(t testing.TB, store feeds.Store, id int64) feeds.Source {
	t.Helper()
	src, err := store.Source(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func storiesOf(t testing.TB, store feeds.Store, sourceID int64) []feeds.Story {
	t.Helper()
	sts, err := store.Stories(context.Background(), feeds.StoryFilter{SourceID: sourceID})
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "poller", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// feedServer serves body with the given Content-Type and counts requests
// and connections.
type feedServer struct {
	*httptest.Server
	requests, conns atomic.Int64
}

func serve(t testing.TB, h http.HandlerFunc) *feedServer {
	t.Helper()
	fs := &feedServer{}
	fs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.requests.Add(1)
		h(w, r)
	}))
	fs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			fs.conns.Add(1)
		}
	}
	fs.Start()
	t.Cleanup(fs.Close)
	return fs
}

func serveBytes(t testing.TB, contentType string, body []byte) *feedServer {
	return serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}

func addr(s *feedServer) string { return s.Listener.Addr().String() }

func gzipOf(t testing.TB, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPollFailures runs one broken feed beside a healthy one, and checks that
// each round ends with a clear reason on the broken source, the healthy one
// untouched, and nothing left running.
func TestPollFailures(t *testing.T) {
	zeros := make([]byte, 1<<20)
	bomb := gzipOf(t, bytes.Repeat(zeros, 20)) // ~20 KB on the wire, 20 MiB unpacked
	type setup struct {
		bad  *feedServer
		opts *feeds.PollerOptions
		good *feedServer
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		reason  string
		wait    time.Duration // until the next poll of the broken source
		prepare func(t *testing.T, s setup) string
		check   func(t *testing.T, s setup)
	}{
		{name: "malformed XML", reason: "malformed feed: XML syntax error on line 7: unexpected EOF",
			handler: bytesHandler("application/rss+xml", fixture(t, "malformed.xml"))},
		{name: "HTML page", reason: "not a feed (HTML page; it links to the feed http://127.0.0.1:PORT/feed.xml)",
			handler: bytesHandler("text/html; charset=utf-8", fixture(t, "page.html"))},
		{name: "empty body", reason: "empty body", handler: bytesHandler("application/rss+xml", nil)},
		{name: "50 MB body", reason: "feed larger than 10 MiB", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			for range 50 {
				if _, err := w.Write(zeros); err != nil {
					return // the poller hung up, as it should
				}
			}
		}},
		{name: "gzip bomb", reason: "feed larger than 10 MiB", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		}},
		{name: "redirect loop", reason: "too many redirects", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}},
		{name: "drip", reason: "timed out after 1.5s", handler: drip,
			prepare: func(_ *testing.T, s setup) string { s.opts.Fetch.Timeout = 1500 * time.Millisecond; return "" }},
		{name: "HTTP 500", reason: "HTTP 500 Internal Server Error", handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "oops", http.StatusInternalServerError)
		}},
		{name: "HTTP 429 with Retry-After", reason: "HTTP 429 Too Many Requests (retry after 2h0m0s)",
			wait: 2 * time.Hour, handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "7200")
				w.WriteHeader(http.StatusTooManyRequests)
			}},
		{name: "loopback without allow-private", reason: "address 127.0.0.1 is private; use --allow-private-feeds",
			handler: bytesHandler("application/rss+xml", fixture(t, "rss20.xml")),
			prepare: func(_ *testing.T, s setup) string {
				s.opts.AllowPrivate = false
				feeds.AllowDialForTest(&s.opts.Fetch, addr(s.good)) // the healthy feed stands in for a public one
				return ""
			},
			check: func(t *testing.T, s setup) {
				if r, c := s.bad.requests.Load(), s.bad.conns.Load(); r != 0 || c != 0 {
					t.Errorf("%d requests and %d connections reached the private server", r, c)
				}
			}},
		{name: "redirect to a private address", reason: "address 127.0.0.1 is private; use --allow-private-feeds",
			handler: bytesHandler("application/rss+xml", fixture(t, "rss20.xml")),
			prepare: func(t *testing.T, s setup) string {
				s.opts.AllowPrivate = false
				private := s.bad
				public := serve(t, func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, private.URL+"/feed", http.StatusMovedPermanently)
				})
				feeds.AllowDialForTest(&s.opts.Fetch, addr(s.good), addr(public))
				return public.URL + "/feed"
			},
			check: func(t *testing.T, s setup) {
				if c := s.bad.conns.Load(); c != 0 {
					t.Errorf("%d connections reached the private server", c)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			ctx := context.Background()
			store := openStore(t)
			clk := newClock()
			s := setup{
				good: serveBytes(t, "application/rss+xml", fixture(t, "rss20.xml")),
				bad:  serve(t, tc.handler),
				opts: &feeds.PollerOptions{AllowPrivate: true},
			}
			badURL := s.bad.URL + "/feed"
			if tc.prepare != nil {
				if u := tc.prepare(t, s); u != "" {
					badURL = u
				}
			}
			good := addSource(t, store, s.good.URL+"/feed")
			bad := addSource(t, store, badURL)
			p := newPoller(store, clk, *s.opts)

			sum, err := p.PollOnce(ctx, false, nil)
			if err != nil {
				t.Fatalf("PollOnce: %v", err)
			}
			reason := strings.ReplaceAll(tc.reason, "PORT", s.bad.URL[strings.LastIndex(s.bad.URL, ":")+1:])
			if sum.Polled != 1 || len(sum.Failed) != 1 || sum.Failed[0].SourceID != bad.ID ||
				sum.Failed[0].Reason != reason || sum.Failed[0].URL != badURL {
				t.Errorf("summary = %+v, want one failure %q", sum, reason)
			}

			b := source(t, store, bad.ID)
			wait := max(tc.wait, feeds.DefaultPollInterval)
			if b.LastError != reason || b.ErrorCount != 1 || !b.NextPollAt.Equal(clk.Now().Add(wait)) ||
				!b.LastPolledAt.Equal(clk.Now()) {
				t.Errorf("broken source: error %q (%d), next poll %v, want %q, %v",
					b.LastError, b.ErrorCount, b.NextPollAt, reason, clk.Now().Add(wait))
			}
			g := source(t, store, good.ID)
			if g.LastError != "" || g.ErrorCount != 0 || g.Title != "Privacy Wire" ||
				g.SiteURL != "https://wire.example/" || !g.NextPollAt.Equal(clk.Now().Add(90*time.Minute)) {
				t.Errorf("healthy source = %+v", g)
			}
			if n := len(storiesOf(t, store, good.ID)); n != 3 {
				t.Errorf("healthy source has %d stories, want 3", n)
			}
			if n := len(storiesOf(t, store, bad.ID)); n != 0 {
				t.Errorf("broken source has %d stories", n)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func bytesHandler(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

// drip sends headers at once and then one byte a second, for ever.
func drip(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/rss+xml")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if _, err := io.WriteString(w, " "); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func TestPollConditionalGET(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	store := openStore(t)
	clk := newClock()
	body := fixture(t, "rss20.xml")
	var conditional atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"rev-7"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"rev-7"`)
		w.Header().Set("Last-Modified", "Fri, 09 Jan 2026 08:00:00 GMT")
		_, _ = w.Write(body)
	})
	src := addSource(t, store, srv.URL+"/feed.xml")
	p := newPoller(store, clk, feeds.PollerOptions{AllowPrivate: true})

	sum, err := p.PollOnce(ctx, false, nil)
	if err != nil || sum.Polled != 1 || sum.NewStories != 3 || sum.Items != 3 || sum.NotModified != 0 {
		t.Fatalf("first poll: %+v, %v", sum, err)
	}
	s := source(t, store, src.ID)
	if s.ETag != `"rev-7"` || s.LastModified != "Fri, 09 Jan 2026 08:00:00 GMT" {
		t.Errorf("validators not kept: %+v", s)
	}

	// Not due yet: nothing is fetched.
	sum, err = p.PollOnce(ctx, false, nil)
	if err != nil || sum.Polled != 0 || srv.requests.Load() != 1 {
		t.Fatalf("poll before due: %+v, %v, %d requests", sum, err, srv.requests.Load())
	}

	clk.Advance(90 * time.Minute) // the feed's <ttl>
	sum, err = p.PollOnce(ctx, false, nil)
	if err != nil || sum.Polled != 1 || sum.NotModified != 1 || sum.NewStories != 0 || conditional.Load() != 1 {
		t.Fatalf("conditional poll: %+v, %v, %d conditional requests", sum, err, conditional.Load())
	}
	s = source(t, store, src.ID)
	if s.ETag != `"rev-7"` || !s.NextPollAt.Equal(clk.Now().Add(90*time.Minute)) {
		t.Errorf("after 304: ETag %q, next poll %v; want the ttl kept", s.ETag, s.NextPollAt)
	}
}

func TestPollRepairsInvalidUTF8(t *testing.T) {
	checkLeaks(t)
	store := openStore(t)
	srv := serveBytes(t, "application/rss+xml", fixture(t, "badutf8.xml"))
	src := addSource(t, store, srv.URL)
	p := newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	if _, err := p.PollOnce(context.Background(), true, nil); err != nil {
		t.Fatal(err)
	}
	sts := storiesOf(t, store, src.ID)
	if len(sts) != 1 || sts[0].Title != "Caf\uFFFD owners warned about Wi-Fi tracking and privacy" {
		t.Fatalf("stories = %+v", sts)
	}
	if s := source(t, store, src.ID); s.LastError != "" {
		t.Errorf("LastError = %q", s.LastError)
	}
}
