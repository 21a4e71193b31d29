package views_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/feeds"
)

func TestHomeLinksToStories(t *testing.T) {
	n := newNewsroom(t)
	body := n.page(t, "/")
	story := storyItemHTML(t, body, n.ids["whatsapp"])
	for _, w := range []string{
		fmt.Sprintf(`<h2><a href="`+whatsappPath+`">WhatsApp Boss Clashes`, n.ids["whatsapp"]),
		fmt.Sprintf(`<a href="/sources/%d">Byteline</a>`, n.srcs["Byteline"]),
		fmt.Sprintf(`<a href="`+whatsappPath+`#comments">0 comments</a>`, n.ids["whatsapp"]),
		`<a class="original" href="https://byteline.example/2026/11/whatsapp-musk" rel="noopener noreferrer">source`,
		`<a href="/topics/encryption">encryption</a>`,
		"Also covered by", ">Night Watch</a>", ">Rights Wire</a>",
	} {
		if !strings.Contains(story, w) {
			t.Errorf("home's WhatsApp item lacks %q:\n%s", w, story)
		}
	}
	// A cluster is shown once: the followers are only named under the leader.
	if strings.Contains(body, "Trade Barbs") || strings.Contains(body, "Quarterly Earnings") {
		t.Error("home lists a cluster follower or a hidden story")
	}
	if strings.Count(body, `class="story"`) != 6 {
		t.Errorf("home lists %d stories, want 6", strings.Count(body, `class="story"`))
	}
	checkNewsletter(t, body)
}

// storyItemHTML returns the home page's list item for one story.
func storyItemHTML(t *testing.T, body string, id int64) string {
	t.Helper()
	i := strings.Index(body, fmt.Sprintf(`id="story-%d"`, id))
	if i < 0 {
		t.Fatalf("story %d is not listed", id)
	}
	return body[i : i+strings.Index(body[i:], "</li>\n")]
}

func TestTopicPages(t *testing.T) {
	n := newNewsroom(t)
	body := n.page(t, "/topics/messaging")
	for _, w := range []string{"<h1>Stories about messaging</h1>", "WhatsApp Boss Clashes", "Signal and WhatsApp Defend",
		"Why Message Metadata", `href="/topics/messaging/feed.xml"`, `<link rel="canonical" href="` + testBase + `/topics/messaging">`} {
		if !strings.Contains(body, w) {
			t.Errorf("topic page lacks %q", w)
		}
	}
	if strings.Contains(body, "Trade Barbs") || strings.Contains(body, "Ad Trackers") {
		t.Error("topic page lists a follower or a story of another topic")
	}
	// A known topic without stories is an empty page; anything else is a 404.
	if body := n.page(t, "/topics/vpn"); !strings.Contains(body, "No stories on this topic yet.") {
		t.Error("empty known topic")
	}
	for _, p := range []string{"/topics/no-such-topic", "/topics/Messaging", "/topics/%3Cscript%3E", "/topics/-x",
		"/topics/" + strings.Repeat("a", 41), "/topics/messaging?page=2", "/topics/messaging?page=x"} {
		if resp, body := fetch(t, n.ts.URL+p); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "nothing here") {
			t.Errorf("%s: %d, want a friendly 404", p, resp.StatusCode)
		}
	}
}

func TestSourcePages(t *testing.T) {
	n := newNewsroom(t)
	body := n.page(t, fmt.Sprintf("/sources/%d", n.srcs["Night Watch"]))
	// Every visible story of the source, its cluster followers too.
	for _, w := range []string{"<h1>Stories from Night Watch</h1>", "Musk and WhatsApp Chief Trade Barbs", "Why Message Metadata",
		`<a href="https://nightwatch.example/" rel="noopener noreferrer">`} {
		if !strings.Contains(body, w) {
			t.Errorf("source page lacks %q", w)
		}
	}
	if strings.Contains(body, "WhatsApp Boss Clashes") {
		t.Error("source page lists another source's story")
	}
	for _, p := range []string{"/sources/999", "/sources/0", "/sources/abc", "/sources/-1", "/sources/1?page=2", "/sources/1?page=0"} {
		if resp, body := fetch(t, n.ts.URL+p); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "nothing here") {
			t.Errorf("%s: %d, want a friendly 404", p, resp.StatusCode)
		}
	}
}

func TestListPagination(t *testing.T) {
	ts, st := site(t, 31, nil)
	srcs, err := st.Sources(t.Context(), feeds.SourceFilter{})
	if err != nil || len(srcs) != 1 {
		t.Fatal(srcs, err)
	}
	src := fmt.Sprintf("/sources/%d", srcs[0].ID)
	for _, c := range []struct {
		path  string
		count int
		next  string
	}{
		{"/topics/encryption", 30, `href="/topics/encryption?page=2"`},
		{"/topics/encryption?page=2", 1, `href="/topics/encryption"`}, // back to page 1, without ?page=1
		{src, 30, `href="` + src + `?page=2"`},
		{src + "?page=2", 2, `rel="prev" href="` + src + `"`}, // the follower is listed on its source's page
	} {
		resp, body := fetch(t, ts.URL+c.path)
		if resp.StatusCode != http.StatusOK || strings.Count(body, `class="story"`) != c.count || !strings.Contains(body, c.next) {
			t.Errorf("%s: %d, %d stories, link %s: %v", c.path, resp.StatusCode, strings.Count(body, `class="story"`), c.next, strings.Contains(body, c.next))
		}
	}
	for _, p := range []string{"/topics/encryption?page=3", src + "?page=3", "/?page=100001"} {
		if resp, _ := fetch(t, ts.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}
