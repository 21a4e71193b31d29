package views_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestReaderRoutesOnEveryStore walks every reader route over the same
// newsroom kept in SQLite, one Redis server and a Redis Cluster.
func TestReaderRoutesOnEveryStore(t *testing.T) {
	stores := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "x.db") }},
		{"redis", func(t *testing.T) string { return redistest.Server(t) }},
		{"redis-cluster", func(t *testing.T) string { return redistest.Cluster(t) }},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), sc.url(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			readerRoutes(t, newNewsroomOn(t, feeds.Store(st)))
		})
	}
}

func readerRoutes(t *testing.T, n *newsroom) {
	byteline := strconv.FormatInt(n.srcs["Byteline"], 10)
	for path, want := range map[string]string{
		"/":                          "WhatsApp Boss Clashes with Elon Musk",
		"/?page=1":                   "Why Message Metadata",
		"/topics/messaging":          "Why Message Metadata Still Reveals",
		"/sources/" + byteline:       "Ad Trackers Found in Health Apps",
		"/feed.xml":                  "<rss",
		"/atom.xml":                  "<feed",
		"/feed.json":                 "jsonfeed.org/version/1.1",
		"/topics/messaging/feed.xml": "Why Message Metadata",
		"/sitemap.xml":               "<urlset",
		"/robots.txt":                "Sitemap:",
		"/search?q=whatsapp":         "<mark>WhatsApp</mark> Boss Clashes",
		"/search?q=retained":         "Why Message Metadata", // a word only in a summary
	} {
		resp, body := fetch(t, n.ts.URL+path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 with %q", path, resp.StatusCode, want)
		}
		for _, bad := range []string{"utm_", "<script>alert", "Quarterly Earnings"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s shows %q", path, bad)
			}
		}
	}
	// The story page, through its canonical slug URL.
	resp, _ := fetch(t, n.ts.URL+"/stories/"+strconv.FormatInt(n.ids["whatsapp"], 10))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusMovedPermanently || loc == "" {
		t.Fatalf("story without slug: %d %q", resp.StatusCode, loc)
	}
	resp, body := fetch(t, n.ts.URL+loc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", loc, resp.StatusCode)
	}
	_, similar, _ := strings.Cut(body, "Similar Posts")
	for _, want := range []string{"Signal and WhatsApp Defend", "Why Message Metadata"} {
		if !strings.Contains(similar, want) {
			t.Errorf("story page: Similar Posts lacks %q", want)
		}
	}
	for _, want := range []string{"Also covered by", "Musk and WhatsApp Chief Trade Barbs", `rel="noopener noreferrer"`} {
		if !strings.Contains(body, want) {
			t.Errorf("story page lacks %q", want)
		}
	}
	for _, path := range []string{"/stories/999999", "/topics/no-such-topic", "/sources/999999", "/?page=99"} {
		if resp, _ := fetch(t, n.ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}
