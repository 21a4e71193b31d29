package feeds

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sitePage is a blog's home page announcing three feeds in its head (one of
// them twice, one relative to a <base>), with links that announce none.
const sitePage = `<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Wire</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Wire — all posts" href="/feed.xml?utm_source=head">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" hreflang="de" href="/de/">
<link rel="Alternate Home" type="Application/Atom+XML" title="Atom" href="atom.xml">
<link rel="alternate" type="application/rss+xml" title="again" href="/feed.xml">
<base href="/comments/">
<link rel="alternate" type="application/feed+json" title="Comments" href="feed.json">
</head><body>
<link rel="alternate" type="application/rss+xml" href="/body-feed.xml">
<p>Hello</p>
</body></html>`

// siteServer serves sitePage at /blog/, its feeds, a page without feeds, and
// a text file.
func siteServer(t *testing.T) *countingServer {
	t.Helper()
	return newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/blog/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(sitePage))
		case "/feed.xml":
			serveRSS(w, r)
		case "/plain/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<html><head><title>No feeds</title><link rel="icon" href="/i.png"></head><body>Hi</body></html>`))
		case "/notes.txt":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("just some words"))
		case "/broken.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>x</ti`))
		default:
			http.NotFound(w, r)
		}
	})
}

func TestDiscoverSitePage(t *testing.T) {
	noLeaks(t)
	srv := siteServer(t)
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()

	got, err := f.Discover(context.Background(), srv.URL+"/blog/")
	if err != nil {
		t.Fatal(err)
	}
	want := []FoundFeed{
		{URL: srv.URL + "/feed.xml", Title: "Wire — all posts", Type: "rss"},
		{URL: srv.URL + "/blog/atom.xml", Title: "Atom", Type: "atom"},
		{URL: srv.URL + "/comments/feed.json", Title: "Comments", Type: "json"},
	}
	if len(got) != len(want) {
		t.Fatalf("found %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("feed %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDiscoverFeedItself(t *testing.T) {
	noLeaks(t)
	srv := siteServer(t)
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()

	got, err := f.Discover(context.Background(), "  "+srv.URL+"/feed.xml#top ")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].URL != srv.URL+"/feed.xml" || got[0].Title != "T" {
		t.Errorf("a feed URL found %+v", got)
	}
}

func TestDiscoverFindsNothing(t *testing.T) {
	noLeaks(t)
	srv := siteServer(t)
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()

	for _, tc := range []struct {
		path, reason string
		noFeed       bool
	}{
		{"/plain/", "a web page that links to no feed", true},
		{"/notes.txt", "neither a feed nor a web page that links to one", true},
		{"/broken.xml", "malformed feed", false},
		{"/missing", "HTTP 404 Not Found", false},
	} {
		got, err := f.Discover(context.Background(), srv.URL+tc.path)
		if err == nil {
			t.Errorf("%s: found %+v, want an error", tc.path, got)
			continue
		}
		if r := reasonOf(t, err); !strings.Contains(r, tc.reason) {
			t.Errorf("%s: reason %q, want %q", tc.path, r, tc.reason)
		}
		if errors.Is(err, ErrNoFeed) != tc.noFeed {
			t.Errorf("%s: errors.Is(err, ErrNoFeed) = %v", tc.path, !tc.noFeed)
		}
	}
}

// A URL that is not http(s) is refused before anything is fetched.
func TestDiscoverRefusesOtherSchemes(t *testing.T) {
	f := NewFetcher(FetchOptions{})
	defer f.CloseIdleConnections()
	for _, raw := range []string{"", "javascript:alert(1)", "file:///etc/passwd", "ftp://example.org/feed", "http://"} {
		if got, err := f.Discover(context.Background(), raw); err == nil || reasonOf(t, err) != "not an http(s) URL" {
			t.Errorf("Discover(%q) = %+v, %v", raw, got, err)
		}
	}
}

// Without AllowPrivate, discovery goes through the same guard as polling:
// a loopback address is refused before a connection is made.
func TestDiscoverRefusesLoopback(t *testing.T) {
	noLeaks(t)
	srv := siteServer(t)
	f := NewFetcher(FetchOptions{})
	defer f.CloseIdleConnections()
	_, err := f.Discover(context.Background(), srv.URL+"/blog/")
	if err == nil || !strings.Contains(reasonOf(t, err), "is private") {
		t.Fatalf("Discover of a loopback page: %v", err)
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback server", n)
	}

	// The poller's Discover uses the poller's fetcher and its setting.
	refusing := NewPoller(nil, NewClassifier(), NewRelater(10), PollerOptions{})
	if _, err := refusing.Discover(context.Background(), srv.URL+"/feed.xml"); err == nil {
		t.Error("a poller without AllowPrivate discovered a loopback feed")
	}
	allowing := NewPoller(nil, NewClassifier(), NewRelater(10), PollerOptions{AllowPrivate: true})
	got, err := allowing.Discover(context.Background(), srv.URL+"/feed.xml")
	if err != nil || len(got) != 1 {
		t.Errorf("a poller with AllowPrivate: %+v, %v", got, err)
	}
	allowing.fetcher.CloseIdleConnections()
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections reached the loopback server, want 1 (the allowed poller's)", n)
	}
}

// A page over the fetcher's size cap is refused, not read without bound.
func TestDiscoverSizeCap(t *testing.T) {
	noLeaks(t)
	srv := siteServer(t)
	f := NewFetcher(FetchOptions{AllowPrivate: true, MaxBytes: 256})
	defer f.CloseIdleConnections()
	if _, err := f.Discover(context.Background(), srv.URL+"/blog/"); err == nil || !strings.Contains(reasonOf(t, err), "larger than 256 bytes") {
		t.Errorf("a page over the cap: %v", err)
	}
}

func FuzzDiscoverFeeds(f *testing.F) {
	f.Add(sitePage)
	f.Add(`<link rel=alternate type=application/rss+xml href=//x.example/f>`)
	f.Add(`<base href="javascript:x"><link rel="alternate" type="application/atom+xml" href="a">`)
	base, _ := url.Parse("https://wire.example/blog/")
	f.Fuzz(func(t *testing.T, page string) {
		found := discoverFeeds([]byte(page), base, maxFoundFeeds)
		if len(found) > maxFoundFeeds {
			t.Fatalf("%d feeds", len(found))
		}
		for _, ff := range found {
			if c, err := CanonicalURL(ff.URL, nil); err != nil || c != ff.URL {
				t.Fatalf("found %q: not canonical (%q, %v)", ff.URL, c, err)
			}
		}
	})
}
