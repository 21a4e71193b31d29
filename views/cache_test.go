package views_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// cachedRoutes are routes of every kind the page cache serves.
func cachedRoutes(n *newsroom) []string {
	return []string{
		"/", fmt.Sprintf(whatsappPath, n.ids["whatsapp"]), "/topics/messaging",
		fmt.Sprintf("/sources/%d", n.srcs["Byteline"]), "/feed.xml", "/atom.xml", "/feed.json",
		"/topics/messaging/feed.json", "/sitemap.xml", "/robots.txt",
	}
}

func TestConditionalRequests(t *testing.T) {
	n := newNewsroom(t)
	for _, p := range cachedRoutes(n) {
		resp, body := fetch(t, n.ts.URL+p)
		etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		if etag == "" || lm == "" || body == "" {
			t.Fatalf("%s: ETag %q, Last-Modified %q", p, etag, lm)
		}
		for _, h := range [][]string{
			{"If-None-Match", etag},
			{"If-None-Match", `"other", W/` + etag},
			{"If-Modified-Since", lm},
		} {
			resp, body := fetch(t, n.ts.URL+p, h...)
			if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != etag {
				t.Errorf("%s with %s: %d (%d bytes), want 304", p, h, resp.StatusCode, len(body))
			}
		}
		for _, h := range [][]string{
			{"If-None-Match", `"stale"`},
			{"If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"},
			{"If-None-Match", `"stale"`, "If-Modified-Since", lm}, // If-None-Match wins
		} {
			if resp, _ := fetch(t, n.ts.URL+p, h...); resp.StatusCode != http.StatusOK {
				t.Errorf("%s with %s: %d, want 200", p, h, resp.StatusCode)
			}
		}
	}
}

func TestGzip(t *testing.T) {
	n := newNewsroom(t)
	for _, p := range cachedRoutes(n) {
		_, plain := fetch(t, n.ts.URL+p)
		resp, unzipped := fetch(t, n.ts.URL+p, "Accept-Encoding", "gzip, deflate, br")
		if resp.Header.Get("Content-Encoding") != "gzip" || unzipped != plain {
			t.Errorf("%s: Content-Encoding %q, same body: %v", p, resp.Header.Get("Content-Encoding"), unzipped == plain)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Vary %q", p, resp.Header.Get("Vary"))
		}
		// The gzipped copy has its own validator, and either one answers 304.
		if resp2, _ := fetch(t, n.ts.URL+p, "Accept-Encoding", "gzip", "If-None-Match", resp.Header.Get("ETag")); resp2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: gzip ETag: %d", p, resp2.StatusCode)
		}
		if resp, _ := fetch(t, n.ts.URL+p, "Accept-Encoding", "gzip;q=0, identity"); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: gzipped though refused", p)
		}
	}
	// Pages outside the cache, error pages too, are compressed by render.
	resp, body := fetch(t, n.ts.URL+"/no/such/page", "Accept-Encoding", "gzip")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, "nothing here") {
		t.Errorf("404 page: %d %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
}

func TestHead(t *testing.T) {
	n := newNewsroom(t)
	resp, err := http.Head(n.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD /: %d", resp.StatusCode)
	}
}

func TestInvalidate(t *testing.T) {
	n := newNewsroom(t)
	before := n.page(t, "/")
	if _, _, err := n.st.AddStory(context.Background(), feeds.Story{
		SourceID: n.srcs["Byteline"], URL: "https://byteline.example/new", GUID: "test:new",
		Title: "Regulator Fines Data Broker", PublishedAt: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
		FirstSeenAt: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Visible: true, Tags: []string{"regulation"},
	}); err != nil {
		t.Fatal(err)
	}
	if got := n.page(t, "/"); got != before {
		t.Fatal("the cached home page changed before Invalidate")
	}
	n.srv.Invalidate()
	after := n.page(t, "/")
	if !strings.Contains(after, "Regulator Fines Data Broker") {
		t.Error("Invalidate did not bring the new story to the home page")
	}
	if body := n.page(t, "/feed.xml"); !strings.Contains(body, "Regulator Fines Data Broker") {
		t.Error("Invalidate did not reach the feed")
	}
}
