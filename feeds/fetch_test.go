package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const tinyRSS = `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>`

func TestFetchConditionalGET(t *testing.T) {
	noLeaks(t)
	const etag, lastMod = `"v1"`, "Mon, 02 Jan 2026 15:04:05 GMT"
	var gotUA, gotINM, gotIMS string
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		gotUA, gotINM, gotIMS = r.UserAgent(), r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if gotINM == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		_, _ = io.WriteString(w, tinyRSS)
	})
	f := NewFetcher(FetchOptions{AllowPrivate: true, UserAgent: UserAgent("1.2.3", "https://news.example")})
	defer f.CloseIdleConnections()

	res, err := f.Fetch(context.Background(), Source{URL: srv.URL + "/feed"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != FetchOK || string(res.Body) != tinyRSS || res.ETag != etag ||
		res.LastModified != lastMod || res.MaxAge != time.Hour {
		t.Errorf("first fetch = %+v", res)
	}
	if gotUA != "Tidings/1.2.3 (+https://news.example)" || gotINM != "" || gotIMS != "" {
		t.Errorf("first request: UA %q, If-None-Match %q, If-Modified-Since %q", gotUA, gotINM, gotIMS)
	}

	res, err = f.Fetch(context.Background(), Source{URL: srv.URL + "/feed", ETag: etag, LastModified: lastMod})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != FetchNotModified || len(res.Body) != 0 || res.MaxAge != time.Hour {
		t.Errorf("second fetch = %+v", res)
	}
	if gotINM != etag || gotIMS != lastMod {
		t.Errorf("conditional headers %q, %q not sent", gotINM, gotIMS)
	}
}

func gzipped(t testing.TB, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetchGzip(t *testing.T) {
	noLeaks(t)
	packed := gzipped(t, []byte(tinyRSS))
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("Accept-Encoding = %q, want gzip", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(packed)
	})
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()
	res, err := f.Fetch(context.Background(), Source{URL: srv.URL})
	if err != nil || string(res.Body) != tinyRSS {
		t.Fatalf("Fetch = %q, %v", res.Body, err)
	}
}

func TestFetchFailures(t *testing.T) {
	noLeaks(t)
	big := bytes.Repeat([]byte("a"), 64<<10)
	bomb := gzipped(t, make([]byte, 2<<20))
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/404":
			http.NotFound(w, r)
		case "/429":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/503":
			w.Header().Set("Date", "Mon, 02 Jan 2026 15:00:00 GMT")
			w.Header().Set("Retry-After", "Mon, 02 Jan 2026 16:00:00 GMT")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://example.org/feed", http.StatusFound)
		case "/big-declared":
			w.Header().Set("Content-Length", fmt.Sprint(2<<20))
			_, _ = w.Write(big) // the client must give up before reading it all
		case "/big-streamed":
			for range 32 {
				if _, err := w.Write(big); err != nil {
					return
				}
			}
		case "/bomb":
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		}
	})
	f := NewFetcher(FetchOptions{AllowPrivate: true, MaxBytes: 1 << 20})
	defer f.CloseIdleConnections()
	for _, tc := range []struct {
		path, reason string
		retry        time.Duration
	}{
		{"/500", "HTTP 500 Internal Server Error", 0},
		{"/404", "HTTP 404 Not Found", 0},
		{"/429", "HTTP 429 Too Many Requests (retry after 2m0s)", 2 * time.Minute},
		{"/503", "HTTP 503 Service Unavailable (retry after 1h0m0s)", time.Hour},
		{"/loop", "too many redirects", 0},
		{"/to-ftp", "request failed: redirect to a ftp: URL", 0},
		{"/big-declared", "feed larger than 1 MiB", 0},
		{"/big-streamed", "feed larger than 1 MiB", 0},
		{"/bomb", "feed larger than 1 MiB", 0},
	} {
		_, err := f.Fetch(context.Background(), Source{URL: srv.URL + tc.path})
		if r := reasonOf(t, err); r != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.path, r, tc.reason)
		}
		if fe := err.(*FeedError); fe.RetryAfter != tc.retry {
			t.Errorf("%s: RetryAfter %v, want %v", tc.path, fe.RetryAfter, tc.retry)
		}
	}
	_, err := f.Fetch(context.Background(), Source{URL: "file:///etc/passwd"})
	if r := reasonOf(t, err); r != "not an http(s) URL" {
		t.Errorf("file URL: reason %q", r)
	}
}

func TestFetchFollowsFiveRedirects(t *testing.T) {
	noLeaks(t)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/hop/%d", &n); err == nil && n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusMovedPermanently)
			return
		}
		serveRSS(w, r)
	})
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()
	res, err := f.Fetch(context.Background(), Source{URL: srv.URL + "/hop/5"})
	if err != nil || !strings.HasSuffix(res.URL, "/hop/0") {
		t.Fatalf("5 redirects: %+v, %v", res, err)
	}
	_, err = f.Fetch(context.Background(), Source{URL: srv.URL + "/hop/6"})
	if r := reasonOf(t, err); r != "too many redirects" {
		t.Errorf("6 redirects: reason %q", r)
	}
}

func TestFetchTimesOut(t *testing.T) {
	noLeaks(t)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		// Headers at once, then a byte a second: only the whole-request
		// timeout can end this.
		w.Header().Set("Content-Type", "application/rss+xml")
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
	f := NewFetcher(FetchOptions{AllowPrivate: true, Timeout: 1500 * time.Millisecond})
	defer f.CloseIdleConnections()
	start := time.Now()
	_, err := f.Fetch(context.Background(), Source{URL: srv.URL})
	if r := reasonOf(t, err); r != "timed out after 1.5s" {
		t.Errorf("reason %q", r)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestFetchCancelledIsNotAFeedError(t *testing.T) {
	noLeaks(t)
	started := make(chan struct{}, 1)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := f.Fetch(ctx, Source{URL: srv.URL})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestFetchConnectionRefused(t *testing.T) {
	noLeaks(t)
	srv := newCountingServer(t, serveRSS)
	addr := srv.URL
	srv.Close()
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()
	_, err := f.Fetch(context.Background(), Source{URL: addr})
	if r := reasonOf(t, err); r != "connection refused" {
		t.Errorf("reason %q", r)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value, date string
		want        time.Duration
	}{
		{"", "", 0},
		{"120", "", 2 * time.Minute},
		{" 7200 ", "", 2 * time.Hour},
		{"-5", "", 0},
		{"soon", "", 0},
		{"99999999999", "", maxRetryAfter},
		{"Fri, 02 Jan 2026 15:30:00 GMT", "", 30 * time.Minute},
		{"Fri, 02 Jan 2026 15:30:00 GMT", "Fri, 02 Jan 2026 15:20:00 GMT", 10 * time.Minute},
		{"Fri, 02 Jan 2026 14:00:00 GMT", "", 0},
		{"Fri, 02 Jan 2027 14:00:00 GMT", "", maxRetryAfter},
	} {
		if got := retryAfter(tc.value, tc.date, now); got != tc.want {
			t.Errorf("retryAfter(%q, %q) = %v, want %v", tc.value, tc.date, got, tc.want)
		}
	}
}

func TestMaxAge(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=3600, must-revalidate", time.Hour},
		{`Max-Age="60"`, time.Minute},
		{"max-age=600, no-cache", 0},
		{"no-store", 0},
		{"max-age=abc", 0},
		{"max-age=-1", 0},
		{"s-maxage=600", 0},
	} {
		if got := maxAge(tc.header); got != tc.want {
			t.Errorf("maxAge(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestByteSizeAndUserAgent(t *testing.T) {
	for n, want := range map[int64]string{10 << 20: "10 MiB", 1 << 20: "1 MiB", 512 << 10: "512 KiB", 1000: "1000 bytes"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got := UserAgent("", ""); got != "Tidings/dev" {
		t.Errorf("UserAgent = %q", got)
	}
}
