package newsletter_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

const hostileTitle = `Breach</a><script>alert("x")</script> & "more" <!--`

// renderFixture stores a week of ordinary and hostile stories and composes
// its issue.
func renderFixture(t *testing.T) (*fixture, newsletter.Issue) {
	t.Helper()
	fx := newFixture(t, 4)
	ctx := t.Context()
	for _, src := range []feeds.Source{
		{URL: "https://evil.example/feed", Title: "<b>Evil</b> \"Source\"\r\nBcc: x"},
		{URL: "https://feeds.untitled.example/rss", SiteURL: "https://www.untitled.example/"},
	} {
		s, err := fx.store.AddSource(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		fx.sources = append(fx.sources, s)
	}
	for _, sp := range []spec{
		{key: "whatsapp", source: 0, rel: 0.95, age: 8 * hour,
			title:   "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims",
			url:     "https://outlet0.example/2026/11/whatsapp-musk?utm_source=rss&id=7",
			summary: "The head of WhatsApp said the messenger cannot read your chats; Musk disagreed in public. " + strings.Repeat("Details follow at length. ", 12),
			tags:    []string{"messaging", "encryption"}},
		{key: "hostile", source: 4, rel: 0.9, age: 9 * hour, title: hostileTitle,
			summary: `<img src=x onerror=alert(1)> a summary with <b>tags</b> and a "quote"`,
			tags:    []string{"<script>", "surveillance"}},
		{key: "js", source: 1, rel: 0.85, age: 10 * hour, url: "javascript:alert(1)",
			title: "tidings-unsubscribe-url and TIDINGS-UNSUBSCRIBE-URL in a title"},
		{key: "leak", source: 2, rel: 0.8, age: 11 * hour,
			url:   "https://evil.example/?next=" + newsletter.UnsubscribePlaceholder,
			title: "Click here\r\nBcc: someone@example.org \u202egnp.exe", summary: "Tabs\tand\x00nulls\x1b[31m and\u2028separators"},
		{key: "long", source: 3, rel: 0.75, age: 12 * hour, title: strings.Repeat("Überwachung", 20)},
		{key: "untitled-source", source: 5, rel: 0.7, age: 13 * hour, title: "Story from a feed without a title"},
	} {
		fx.add(t, sp)
	}
	is, err := newsletter.Compose(ctx, fx.store, now, newsletter.ComposeOptions{BaseURL: baseURL, SiteName: "Tidings"})
	if err != nil {
		t.Fatal(err)
	}
	if len(is.StoryIDs) != 6 {
		t.Fatalf("%d stories, want 6", len(is.StoryIDs))
	}
	return fx, is
}

func TestRenderHTML(t *testing.T) {
	fx, is := renderFixture(t)
	originals := []string{"https://outlet0.example/2026/11/whatsapp-musk?id=7"}
	for _, k := range []string{"hostile", "long", "untitled-source"} {
		st, err := fx.store.Story(t.Context(), fx.ids[k])
		if err != nil {
			t.Fatal(err)
		}
		originals = append(originals, st.URL)
	}
	links := checkHTML(t, is, originals)

	id := fx.ids["whatsapp"]
	page := fmt.Sprintf("%s/stories/%d/whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims", baseURL, id)
	for _, want := range []string{page, originals[0], baseURL + "/topics/encryption", baseURL + "/newsletter/2026-W48",
		fmt.Sprintf("%s/stories/%d", baseURL, fx.ids["js"])} {
		if !slices.Contains(links, want) {
			t.Errorf("no link to %s in %q", want, links)
		}
	}
	for _, want := range []string{"Outlet 0 · 25 Nov 2026", "untitled.example · 24 Nov 2026", "Week 48, 2026", "18 Nov – 25 Nov 2026",
		"The head of WhatsApp said", "Read it in your browser", ">Unsubscribe</a>", "because you subscribed"} {
		if !strings.Contains(is.HTML, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"utm_source", "javascript:", "evil.example/?next", "\u202e", "\x1b", "<b>", "Bcc: x\r"} {
		if strings.Contains(is.HTML, bad) {
			t.Errorf("HTML holds %q", bad)
		}
	}
}

func TestRenderHostileTitleStaysText(t *testing.T) {
	_, is := renderFixture(t)
	doc, err := html.Parse(strings.NewReader(is.HTML))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "h2" {
			titles = append(titles, textOf(n))
		}
	}
	if !slices.Contains(titles, hostileTitle) {
		t.Errorf("the hostile title did not survive as text; titles: %q", titles)
	}
	if !strings.Contains(is.Text, hostileTitle) {
		t.Error("the text body does not show the hostile title as written")
	}
	if !strings.Contains(is.Subject, "WhatsApp Boss") {
		t.Errorf("subject %q", is.Subject)
	}
}

// checkHTML checks that the issue's HTML is one complete, email-safe
// document whose every link goes to the site, an original article or the
// unsubscribe placeholder, and returns the links.
func checkHTML(t *testing.T, is newsletter.Issue, originals []string) []string {
	t.Helper()
	lower := strings.ToLower(is.HTML)
	for _, bad := range []string{"<img", "<script", "<iframe", "<form", "<link", "url(", "@import", "http://"} {
		if strings.Contains(lower, bad) {
			t.Errorf("HTML holds %q", bad)
		}
	}
	if !strings.HasPrefix(is.HTML, "<!DOCTYPE html>") {
		t.Error("HTML is not a complete document")
	}
	if n := strings.Count(is.HTML, newsletter.UnsubscribePlaceholder); n != 1 {
		t.Errorf("the unsubscribe placeholder appears %d times in the HTML, want 1", n)
	}
	doc, err := html.Parse(strings.NewReader(is.HTML))
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	var colorScheme, viewport, unsubscribe bool
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "img", "script", "iframe", "object", "embed", "form", "input", "link", "base", "svg", "video", "audio":
			t.Errorf("HTML has a <%s> element", n.Data)
		case "style":
			if n.Parent == nil || n.Parent.Data != "head" {
				t.Error("a <style> block outside <head>")
			}
		case "meta":
			colorScheme = colorScheme || attr(n, "name") == "color-scheme" && attr(n, "content") == "light dark"
			viewport = viewport || attr(n, "name") == "viewport"
		case "a":
			href := attr(n, "href")
			links = append(links, href)
			switch {
			case href == newsletter.UnsubscribePlaceholder:
				unsubscribe = textOf(n) == "Unsubscribe"
			case strings.HasPrefix(href, baseURL+"/"), slices.Contains(originals, href):
			default:
				t.Errorf("link to %q", href)
			}
		}
		for _, a := range n.Attr {
			if a.Key == "src" || strings.HasPrefix(a.Key, "on") || a.Key == "background" {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	}
	if !colorScheme || !viewport {
		t.Errorf("meta color-scheme %v, viewport %v", colorScheme, viewport)
	}
	if !unsubscribe {
		t.Error("no Unsubscribe link to the placeholder")
	}
	if !strings.Contains(is.HTML, "max-width:600px") {
		t.Error("the body is not held to 600px")
	}
	return links
}

func TestRenderText(t *testing.T) {
	fx, is := renderFixture(t)
	checkText(t, is)
	for _, want := range []string{
		"Tidings — weekly digest\nWeek 48, 2026 · 18 Nov – 25 Nov 2026\n",
		"1. WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims\nOutlet 0 · 25 Nov 2026\n",
		fmt.Sprintf("\nRead on Tidings:\n%s/stories/%d/whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims\nOriginal article:\nhttps://outlet0.example/2026/11/whatsapp-musk?id=7\n", baseURL, fx.ids["whatsapp"]),
		"\nTopics: encryption, messaging\n",
		"\nRead it in your browser:\n" + baseURL + "/newsletter/2026-W48\n",
		"\nTabs and nulls [31m and separators\n",
	} {
		if !strings.Contains(is.Text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	for _, bad := range []string{"utm_source", "javascript:", "evil.example/?next", "\u202e", "\r", "\x00"} {
		if strings.Contains(is.Text, bad) {
			t.Errorf("text holds %q", bad)
		}
	}
}

// checkText checks the plain-text body: lines fit in 72 characters unless
// they hold one URL, and the unsubscribe placeholder stands alone after
// "Unsubscribe:".
func checkText(t *testing.T, is newsletter.Issue) {
	t.Helper()
	if !utf8.ValidString(is.Text) {
		t.Error("text is not UTF-8")
	}
	lines := strings.Split(is.Text, "\n")
	for i, line := range lines {
		isURL := strings.HasPrefix(line, "https://") && !strings.ContainsAny(line, " \t")
		if n := utf8.RuneCountInString(line); n > 72 && !isURL {
			t.Errorf("line %d has %d characters: %q", i+1, n, line)
		}
		if line != strings.TrimRight(line, " ") {
			t.Errorf("line %d ends in spaces: %q", i+1, line)
		}
		if strings.Contains(line, baseURL) && !isURL {
			t.Errorf("line %d holds a URL among words: %q", i+1, line)
		}
		for _, r := range line {
			if r < ' ' || r == 0x7f {
				t.Errorf("line %d holds control character %U", i+1, r)
			}
		}
	}
	if n := strings.Count(is.Text, newsletter.UnsubscribePlaceholder); n != 1 {
		t.Errorf("the unsubscribe placeholder appears %d times in the text, want 1", n)
	}
	if !strings.Contains(is.Text, "\nUnsubscribe:\n"+newsletter.UnsubscribePlaceholder+"\n") {
		t.Error("the placeholder does not stand on its own line after Unsubscribe:")
	}
}

func TestSubject(t *testing.T) {
	for _, c := range []struct {
		site, title string
		check       func(t *testing.T, subject string)
	}{
		{"Tidings", "EU fines data broker", func(t *testing.T, s string) {
			if s != "Tidings — 25 Nov 2026: EU fines data broker" {
				t.Errorf("subject %q", s)
			}
		}},
		{"Priv\r\nBcc: x@example.org", "Line\r\nbreaks\tin a\x00title", func(t *testing.T, s string) {
			if s != "Priv Bcc: x@example.org — 25 Nov 2026: Line breaks in a title" {
				t.Errorf("subject %q", s)
			}
		}},
		{"Tidings", strings.Repeat("Regulators fine the data broker again ", 8), func(t *testing.T, s string) {
			full := "Tidings — 25 Nov 2026: " + strings.TrimSpace(strings.Repeat("Regulators fine the data broker again ", 8))
			cut := strings.TrimSuffix(s, "…")
			if utf8.RuneCountInString(s) > 150 || cut == s || !strings.HasPrefix(full, cut) || full[len(cut)] != ' ' {
				t.Errorf("subject %q (%d characters) is not cut at a word under 150", s, utf8.RuneCountInString(s))
			}
			if utf8.RuneCountInString(s) < 120 {
				t.Errorf("subject %q cut too short", s)
			}
		}},
		{"Tidings", strings.Repeat("ü", 400), func(t *testing.T, s string) {
			if utf8.RuneCountInString(s) != 150 || !utf8.ValidString(s) || !strings.HasSuffix(s, "ü…") {
				t.Errorf("subject %q", s)
			}
		}},
	} {
		fx := newFixture(t, 1)
		fx.add(t, spec{key: "top", rel: 0.9, age: hour, title: c.title})
		is, err := newsletter.Compose(t.Context(), fx.store, now, newsletter.ComposeOptions{SiteName: c.site, BaseURL: baseURL})
		if err != nil {
			t.Fatal(err)
		}
		c.check(t, is.Subject)
	}
}

func TestWebHTML(t *testing.T) {
	_, is := renderFixture(t)
	subscribe := baseURL + "/#newsletter-title"
	web := newsletter.WebHTML(is, subscribe)
	if strings.Contains(web, newsletter.UnsubscribePlaceholder) || strings.Contains(web, "Unsubscribe") ||
		strings.Contains(web, "because you subscribed") {
		t.Error("the web page keeps the mail's unsubscribe footer")
	}
	doc, err := html.Parse(strings.NewReader(web))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" && attr(n, "href") == subscribe && textOf(n) == "Subscribe" {
			found = true
		}
	}
	if !found {
		t.Error("no Subscribe link to the subscribe form")
	}
	if !strings.Contains(web, "WhatsApp Boss Clashes") || !strings.HasPrefix(web, "<!DOCTYPE html>") {
		t.Error("the web page lost the issue")
	}
	if got := newsletter.WebHTML(is, "javascript:alert(1)"); strings.Contains(got, "javascript:") {
		t.Error("a javascript: subscribe URL reached the page")
	}

	// An issue without the footer markers still loses its placeholder.
	old := newsletter.Issue{HTML: `<p><a href="` + newsletter.UnsubscribePlaceholder + `">x</a></p>`}
	for in, want := range map[string]string{
		`https://n.example/?a=1&b="2"`: `<a href="https://n.example/?a=1&amp;b=&#34;2&#34;">`,
		"javascript:alert(1)":          `<a href="#">`,
	} {
		if got := newsletter.WebHTML(old, in); !strings.Contains(got, want) {
			t.Errorf("WebHTML(old issue, %q) = %q, want %q in it", in, got, want)
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}
