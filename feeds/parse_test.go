package feeds

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "poller", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFeedFormats(t *testing.T) {
	for _, tc := range []struct {
		file, feedType, title, firstItem string
		ttl                              time.Duration
	}{
		{"rss091.xml", "rss", "Old School Privacy", "Why we still use PGP for email encryption", 0},
		{"rss092.xml", "rss", "Ninety-Two", "Browser blocks third-party cookies by default", 0},
		{"rss10.rdf", "rss", "RDF Privacy Digest", "Independent audit finds VPN keeps no logs", 0},
		{"rss20.xml", "rss", "Privacy Wire", "Messaging app adds end-to-end encryption to group calls", 90 * time.Minute},
		{"atom.xml", "atom", "Atom Privacy Log", "Spyware vendor sanctioned after phones of journalists hacked", 0},
		{"feed.json", "json", "JSON Privacy Notes", "Phone maker turns on encrypted backups for everyone", 0},
		{"latin1.xml", "rss", "Café Privacité", "Réseau chiffré pour la vie privée", 0},
		{"badutf8.xml", "rss", "Broken Byte", "Caf\uFFFD owners warned about Wi-Fi tracking and privacy", 0},
	} {
		feed, err := ParseFeed(readFixture(t, tc.file), "", nil)
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if feed.FeedType != tc.feedType || feed.Title != tc.title || len(feed.Items) == 0 ||
			feed.Items[0].Title != tc.firstItem || FeedTTL(feed) != tc.ttl {
			t.Errorf("%s: type %q title %q items %d ttl %v", tc.file, feed.FeedType, feed.Title, len(feed.Items), FeedTTL(feed))
			if len(feed.Items) > 0 {
				t.Errorf("%s: first item %q", tc.file, feed.Items[0].Title)
			}
		}
	}
}

func TestParseFeedCharsetFromContentType(t *testing.T) {
	// No XML declaration; the HTTP header says windows-1252.
	body := []byte("<rss version=\"2.0\"><channel><title>Fen\xeatre</title><item><title>\x93Quoted\x94</title><link>https://x.example/a</link></item></channel></rss>")
	feed, err := ParseFeed(body, "application/rss+xml; charset=windows-1252", nil)
	if err != nil {
		t.Fatal(err)
	}
	if feed.Title != "Fenêtre" || feed.Items[0].Title != "“Quoted”" {
		t.Errorf("title %q, item %q", feed.Title, feed.Items[0].Title)
	}
	// A UTF-8 header on Latin-1 bytes: repaired, not rejected.
	feed, err = ParseFeed(body, "text/xml; charset=utf-8", nil)
	if err != nil || !utf8.ValidString(feed.Title) || !strings.Contains(feed.Title, "\uFFFD") {
		t.Errorf("repair: %v, %q", err, feed.Title)
	}
}

func TestParseFeedTTL(t *testing.T) {
	for ttl, want := range map[string]time.Duration{
		"60": time.Hour, " 15 ": 15 * time.Minute, "0": 0, "-3": 0, "soon": 0, "99999999": 7 * 24 * time.Hour,
	} {
		body := `<rss version="2.0"><channel><title>T</title><ttl>` + ttl + `</ttl></channel></rss>`
		feed, err := ParseFeed([]byte(body), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := FeedTTL(feed); got != want {
			t.Errorf("ttl %q: %v, want %v", ttl, got, want)
		}
	}
	if FeedTTL(nil) != 0 {
		t.Error("FeedTTL(nil) != 0")
	}
}

func TestParseFeedErrors(t *testing.T) {
	base, _ := url.Parse("https://wire.example/")
	for _, tc := range []struct {
		name, body, contentType, reason string
	}{
		{"empty", "", "", "empty body"},
		{"blank", " \r\n\t ", "application/rss+xml", "empty body"},
		{"malformed", string(readFixture(t, "malformed.xml")), "", "malformed feed: XML syntax error on line 7: unexpected EOF"},
		{"html with link", string(readFixture(t, "page.html")), "text/html", "not a feed (HTML page; it links to the feed https://wire.example/feed.xml)"},
		{"html sniffed", "<html><body>Hello</body></html>", "", "not a feed (HTML page)"},
		{"html javascript link", `<html><head><link rel="alternate" type="application/rss+xml" href="javascript:alert(1)"></head></html>`, "", "not a feed (HTML page)"},
		{"html long link first", `<html><head><link rel="alternate" type="application/rss+xml" href="/` + strings.Repeat("x", 300) + `.xml">` +
			`<link rel="alternate" type="application/atom+xml" href="/atom.xml"></head></html>`, "", "not a feed (HTML page; it links to the feed https://wire.example/atom.xml)"},
		{"other xml", `<?xml version="1.0"?><svg/>`, "", "not a feed (unrecognised format)"},
		{"plain text", "hello world", "text/plain", "not a feed (unrecognised format)"},
	} {
		_, err := ParseFeed([]byte(tc.body), tc.contentType, base)
		var fe *FeedError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v is not a *FeedError", tc.name, err)
			continue
		}
		if fe.Reason != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, fe.Reason, tc.reason)
		}
	}
}

func FuzzParseFeed(f *testing.F) {
	for _, name := range []string{"rss20.xml", "atom.xml", "feed.json", "rss10.rdf", "latin1.xml", "badutf8.xml", "page.html", "malformed.xml"} {
		f.Add(readFixture(f, name), "")
	}
	f.Add([]byte("<rss><channel><ttl>5</ttl></channel></rss>"), "text/xml; charset=iso-8859-1")
	// gofeed v1.4.2 panics on these; ParseFeed must return a FeedError.
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[null]}`), "application/feed+json")
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","title":"t","authors":[null],"items":[{"id":"1","authors":[null]}]}`), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		feed, err := ParseFeed(body, contentType, nil)
		if err != nil {
			var fe *FeedError
			if !errors.As(err, &fe) || fe.Reason == "" || strings.ContainsAny(fe.Reason, "\r\n") {
				t.Fatalf("error %v is not a one-line *FeedError", err)
			}
			return
		}
		if feed == nil {
			t.Fatal("nil feed without an error")
		}
		_ = FeedTTL(feed)
	})
}
