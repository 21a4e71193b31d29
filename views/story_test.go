package views_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

const whatsappPath = "/stories/%d/whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims"

func TestStoryPage(t *testing.T) {
	n := newNewsroom(t)
	canonical := fmt.Sprintf(whatsappPath, n.ids["whatsapp"])

	// A missing or wrong slug is redirected, once, to the canonical URL; a
	// query string (tracking parameters) is not carried along.
	for _, p := range []string{
		fmt.Sprintf("/stories/%d", n.ids["whatsapp"]),
		fmt.Sprintf("/stories/%d/old-title", n.ids["whatsapp"]),
		fmt.Sprintf("/stories/%d/old-title?utm_source=x", n.ids["whatsapp"]),
		canonical + "-",
	} {
		resp, _ := fetch(t, n.ts.URL+p)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != canonical {
			t.Errorf("%s: %d to %q, want 301 to %s", p, resp.StatusCode, resp.Header.Get("Location"), canonical)
		}
	}
	body := n.page(t, canonical)
	wants := []string{
		"<h1>WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims</h1>",
		fmt.Sprintf(`<a href="/sources/%d">Byteline</a>`, n.srcs["Byteline"]),
		`<time datetime="2026-11-20T13:00:00Z">20 Nov 2026</time>`,
		`<a href="/topics/encryption">encryption</a>`, `<a href="/topics/messaging">messaging</a>`,
		"The head of WhatsApp rejected claims that the app exports user data every night",
		`<a href="https://byteline.example/2026/11/whatsapp-musk" rel="noopener noreferrer">Read the full story at Byteline</a>`,
		`<h2 id="also-title">Also covered by</h2>`, "Night Watch: Musk and WhatsApp Chief Trade Barbs Over Privacy",
		"Rights Wire: WhatsApp Responds to Musk",
		`<h2 id="similar-title">Similar Posts</h2>`,
		`<h2 id="comments-title">Comments</h2>`, "No comments yet.",
		`<link rel="canonical" href="` + testBase + canonical + `">`,
		`<meta property="og:type" content="article">`,
		`<meta property="og:title" content="WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims">`,
		`<meta name="twitter:card" content="summary">`,
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("story page lacks %q", w)
		}
	}
	checkNewsletter(t, body)

	// Similar Posts keep the relater's order and drop hidden and vanished stories.
	similar := section(t, body, "similar-title")
	e2ee := strings.Index(similar, "Signal and WhatsApp Defend")
	meta := strings.Index(similar, "Why Message Metadata Still Reveals")
	if e2ee < 0 || meta < e2ee || strings.Count(similar, "<li>") != 2 || strings.Contains(similar, "Quarterly Earnings") {
		t.Errorf("Similar Posts: %s", similar)
	}

	// schema.org NewsArticle data that parses back.
	var ld map[string]any
	if err := json.Unmarshal([]byte(jsonLD(t, body)), &ld); err != nil {
		t.Fatalf("JSON-LD: %v", err)
	}
	if ld["@type"] != "NewsArticle" || ld["headline"] != "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims" ||
		ld["url"] != testBase+canonical || ld["datePublished"] != "2026-11-20T13:00:00Z" {
		t.Errorf("JSON-LD: %v", ld)
	}

	// A follower's page lists its leader and the other follower, not itself.
	follower := n.page(t, fmt.Sprintf("/stories/%d/musk-and-whatsapp-chief-trade-barbs-over-privacy", n.ids["whatsapp-nw"]))
	also := section(t, follower, "also-title")
	if !strings.Contains(also, "Byteline: WhatsApp Boss Clashes") || !strings.Contains(also, "Rights Wire: WhatsApp Responds") ||
		strings.Contains(also, "Trade Barbs") {
		t.Errorf("follower's Also covered by: %s", also)
	}
	// A story with neither cluster nor similar stories has no empty sections.
	lone := n.page(t, fmt.Sprintf("/stories/%d/why-message-metadata-still-reveals-who-you-talk-to", n.ids["metadata"]))
	if strings.Contains(lone, "also-title") || strings.Contains(lone, "similar-title") || !strings.Contains(lone, "No comments yet.") {
		t.Error("a lone story shows empty sections or lacks the comments place")
	}
}

func TestStoryNotFound(t *testing.T) {
	n := newNewsroom(t)
	for _, p := range []string{
		fmt.Sprintf("/stories/%d", n.ids["hidden"]),
		fmt.Sprintf("/stories/%d/quarterly-earnings-beat-expectations", n.ids["hidden"]),
		"/stories/999999", "/stories/999999/some-slug", "/stories/0", "/stories/-1", "/stories/abc",
		"/stories/1e3", "/stories/99999999999999999999999", "/stories/%00", "/stories/1%2F2",
		"/stories/0x1", "/stories/+1", "/stories/", "/stories",
	} {
		resp, body := fetch(t, n.ts.URL+p)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "nothing here") {
			t.Errorf("%s: %d, want a friendly 404", p, resp.StatusCode)
		}
	}
}

func TestHostileContentIsInert(t *testing.T) {
	n := newNewsroom(t)
	resp, _ := fetch(t, n.ts.URL+fmt.Sprintf("/stories/%d", n.ids["hostile"]))
	storyURL := resp.Header.Get("Location")
	if !strings.HasPrefix(storyURL, "/stories/") || strings.ContainsAny(storyURL, "<>\"' ") {
		t.Fatalf("hostile story's URL: %q", storyURL)
	}
	pages := []string{storyURL, "/", "/topics/data-breach", fmt.Sprintf("/sources/%d", n.srcs["Rights Wire"])}
	for _, p := range pages {
		body := n.page(t, p)
		if !strings.Contains(body, "Breach at &lt;/script&gt;&lt;script&gt;alert(1)") {
			t.Errorf("%s does not show the hostile title escaped", p)
		}
		// onerror=alert survives only as text inside escaped markup, never
		// as an attribute: no element it could belong to reaches the page.
		for _, bad := range []string{"<script>", "</script><script", "<img", `onerror="`, "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q unescaped", p, bad)
			}
		}
		scripts := strings.Count(strings.ToLower(body), "<script")
		want := 0
		if p == storyURL {
			want = 1 // the JSON-LD data block, and only it
		}
		if scripts != want {
			t.Errorf("%s has %d <script elements, want %d", p, scripts, want)
		}
	}
	// The data block keeps the title whole, and a parser gets it back intact.
	body := n.page(t, storyURL)
	block := jsonLD(t, body)
	if strings.Contains(strings.ToLower(block), "</script") || strings.Contains(block, "<") {
		t.Errorf("JSON-LD can end its script element: %s", block)
	}
	var ld struct{ Headline, Description string }
	if err := json.Unmarshal([]byte(block), &ld); err != nil || ld.Headline != hostileTitle || ld.Description != hostileSummary {
		t.Errorf("JSON-LD round trip: %+v %v", ld, err)
	}
	// A story whose link is not http(s) gets no link to it at all.
	resp, _ = fetch(t, n.ts.URL+fmt.Sprintf("/stories/%d", n.ids["jslink"]))
	js := n.page(t, resp.Header.Get("Location"))
	if strings.Contains(js, "javascript") || strings.Contains(js, "Read the full story") {
		t.Error("a javascript: story link reached the page")
	}
}

// checkNewsletter checks the newsletter box: its words and a labelled email
// field posting to /subscribe.
func checkNewsletter(t *testing.T, body string) {
	t.Helper()
	for _, w := range []string{
		"Sign up to receive awesome content in your inbox, every week. We don't spam!",
		`<form method="post" action="/subscribe">`,
		`<label for="newsletter-email">`,
		`<input id="newsletter-email" type="email" name="email"`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("newsletter box lacks %q", w)
		}
	}
}

// section returns the <section> whose heading has the given id.
func section(t *testing.T, body, headingID string) string {
	t.Helper()
	i := strings.Index(body, `id="`+headingID+`"`)
	if i < 0 {
		t.Fatalf("no section %s", headingID)
	}
	end := strings.Index(body[i:], "</section>")
	return body[i : i+end]
}

var ldPattern = regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`)

// jsonLD returns the page's one JSON-LD data block.
func jsonLD(t *testing.T, body string) string {
	t.Helper()
	m := ldPattern.FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("%d JSON-LD blocks, want 1", len(m))
	}
	return m[0][1]
}
