package views_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// parseFeed fetches one of the site's feeds and parses it with gofeed.
func parseFeed(t *testing.T, n *newsroom, path, wantType, wantContentType string) (*gofeed.Feed, string) {
	t.Helper()
	resp, body := fetch(t, n.ts.URL+path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantContentType) {
		t.Errorf("%s: Content-Type %q, want %s", path, ct, wantContentType)
	}
	f, err := gofeed.NewParser().ParseString(body)
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", path, err, body)
	}
	if f.FeedType != wantType {
		t.Errorf("%s: a %s feed, want %s", path, f.FeedType, wantType)
	}
	return f, body
}

func TestSiteFeeds(t *testing.T) {
	n := newNewsroom(t)
	wantTitles := []string{
		"A Story Whose Link Is Not a Web Address", "Ad Trackers Found in Health Apps", hostileTitle,
		"WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims",
		"Signal and WhatsApp Defend End-to-End Encryption Against Scanning Plans",
		"Why Message Metadata Still Reveals Who You Talk To",
	}
	whatsapp := testBase + fmt.Sprintf(whatsappPath, n.ids["whatsapp"])
	original := "https://byteline.example/2026/11/whatsapp-musk"
	for _, c := range []struct{ path, typ, ct, version string }{
		{"/feed.xml", "rss", "application/rss+xml", "2.0"},
		{"/atom.xml", "atom", "application/atom+xml", "1.0"},
		{"/feed.json", "json", "application/feed+json", "1.1"},
	} {
		f, body := parseFeed(t, n, c.path, c.typ, c.ct)
		if !strings.HasSuffix(f.FeedVersion, c.version) { // gofeed gives JSON Feed's as its URL
			t.Errorf("%s: version %q, want %s", c.path, f.FeedVersion, c.version)
		}
		var titles []string
		for _, it := range f.Items {
			titles = append(titles, it.Title)
		}
		if !slices.Equal(titles, wantTitles) {
			t.Errorf("%s: items %q\nwant %q", c.path, titles, wantTitles)
		}
		it := f.Items[3]
		if it.Link != whatsapp {
			t.Errorf("%s: item link %q, want the story page %s", c.path, it.Link, whatsapp)
		}
		if !slices.Contains(it.Categories, "messaging") && !slices.Contains(it.Categories, "encryption") {
			t.Errorf("%s: item tags %q", c.path, it.Categories)
		}
		// The original article travels with the item.
		if !slices.Contains(it.Links, original) && !strings.Contains(it.Description, original) {
			t.Errorf("%s: item does not carry the original URL: %+v", c.path, it)
		}
		if it.PublishedParsed == nil || it.PublishedParsed.Format("2006-01-02T15") != "2026-11-20T13" {
			t.Errorf("%s: published %v", c.path, it.PublishedParsed)
		}
		if strings.Contains(body, "utm_") || strings.Contains(body, "javascript:") || strings.Contains(body, "<script") {
			t.Errorf("%s carries a tracking parameter, a script link or a script", c.path)
		}
	}
	// JSON Feed names the original as external_url, as the spec intends.
	_, body := fetch(t, n.ts.URL+"/feed.json")
	var jf struct {
		Items []struct {
			URL         string `json:"url"`
			ExternalURL string `json:"external_url"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &jf); err != nil || jf.Items[3].URL != whatsapp || jf.Items[3].ExternalURL != original {
		t.Errorf("JSON Feed item 4: %+v %v", jf.Items, err)
	}
}

func TestTopicFeeds(t *testing.T) {
	n := newNewsroom(t)
	for _, c := range []struct{ file, typ, ct string }{
		{"feed.xml", "rss", "application/rss+xml"},
		{"atom.xml", "atom", "application/atom+xml"},
		{"feed.json", "json", "application/feed+json"},
	} {
		f, _ := parseFeed(t, n, "/topics/encryption/"+c.file, c.typ, c.ct)
		if len(f.Items) != 2 || !strings.Contains(f.Title, "encryption") {
			t.Errorf("encryption %s: %q with %d items", c.file, f.Title, len(f.Items))
		}
		for _, p := range []string{"/topics/no-such-topic/", "/topics/BAD/"} {
			if resp, _ := fetch(t, n.ts.URL+p+c.file); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s%s: %d, want 404", p, c.file, resp.StatusCode)
			}
		}
		if f, _ := parseFeed(t, n, "/topics/vpn/"+c.file, c.typ, c.ct); len(f.Items) != 0 {
			t.Errorf("empty topic's %s has items", c.file)
		}
	}
}

func TestFeedHoldsFifty(t *testing.T) {
	ts, _ := site(t, 60, nil)
	_, body := fetch(t, ts.URL+"/feed.xml")
	f, err := gofeed.NewParser().ParseString(body)
	if err != nil || len(f.Items) != 50 || f.Items[0].Title != "Visible story 060" {
		t.Fatalf("feed of 60 stories: %v", err)
	}
}

func TestSitemapAndRobots(t *testing.T) {
	n := newNewsroom(t)
	resp, body := fetch(t, n.ts.URL+"/sitemap.xml")
	var sm struct {
		URLs []struct {
			Loc string `xml:"loc"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal([]byte(body), &sm); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sitemap: %d %v", resp.StatusCode, err)
	}
	var locs []string
	for _, u := range sm.URLs {
		locs = append(locs, u.Loc)
	}
	for _, want := range []string{
		testBase + "/", testBase + "/topics/messaging", testBase + "/topics/data-breach",
		testBase + fmt.Sprintf(whatsappPath, n.ids["whatsapp"]),
		testBase + fmt.Sprintf("/stories/%d/musk-and-whatsapp-chief-trade-barbs-over-privacy", n.ids["whatsapp-nw"]),
	} {
		if !slices.Contains(locs, want) {
			t.Errorf("sitemap lacks %s", want)
		}
	}
	if slices.Contains(locs, testBase+"/topics/vpn") || strings.Contains(body, "quarterly-earnings") {
		t.Error("sitemap lists an empty topic or a hidden story")
	}
	resp, body = fetch(t, n.ts.URL+"/robots.txt")
	for _, w := range []string{"User-agent: *", "Allow: /", "Disallow: /admin/", "Sitemap: " + testBase + "/sitemap.xml"} {
		if !strings.Contains(body, w) {
			t.Errorf("robots.txt lacks %q:\n%s", w, body)
		}
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("robots.txt: %s", resp.Header.Get("Content-Type"))
	}
}
