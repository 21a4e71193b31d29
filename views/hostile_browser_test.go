package views_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/mmcdole/gofeed"
	xhtml "golang.org/x/net/html"

	"github.com/tidings/tidings/feeds"
)

// What the hostile feeds test checks (the site is built in
// hostile_fixture_test.go): every page, admin page and mail made from the
// corpus is inert, by reading its HTML and by opening it in Chromium.

var (
	scriptTag = regexp.MustCompile(`(?i)<\s*script`)
	// urlAttrs are the attributes a browser follows or loads.
	urlAttrs = map[string]bool{
		"href": true, "src": true, "action": true, "formaction": true, "data": true, "poster": true,
		"background": true, "cite": true, "ping": true, "srcset": true, "xlink:href": true, "manifest": true,
		"codebase": true, "longdesc": true, "lowsrc": true, "dynsrc": true, "icon": true, "usemap": true, "archive": true,
	}
	// activeElements run or load something by being there.
	activeElements = map[string]bool{
		"script": true, "iframe": true, "frame": true, "frameset": true, "object": true, "embed": true,
		"applet": true, "base": true, "portal": true, "noscript": true, "template": true,
	}
	activeCSS = []string{"javascript:", "vbscript:", "expression(", "-moz-binding", "behavior:", "@import"}
	// urlSchemeCut takes what browsers ignore out of a URL before its scheme.
	urlSchemeCut = strings.NewReplacer("\t", "", "\n", "", "\r", "", " ", "", "\x00", "")
)

// checkInertHTML fails unless body (a page, a mail or a fragment) holds no
// script, no event handler, no active element, no link or load to a
// non-http(s) URL, no refresh to one and no active CSS. Occurrences of
// "javascript:" and the like in the text are shown as text and allowed.
func checkInertHTML(t *testing.T, what, body string) {
	t.Helper()
	// The only script elements the site writes are JSON-LD data blocks,
	// which browsers never run (checked below).
	if raw := strings.ReplaceAll(body, jsonLDOpen, ""); scriptTag.MatchString(raw) {
		t.Errorf("%s: a <script tag: %s", what, around(raw, scriptTag.FindStringIndex(raw)[0]))
	}
	for _, m := range tagPattern.FindAllStringSubmatch(body, -1) {
		if eventAttr.MatchString(quotedValue.ReplaceAllString(m[2], `""`)) {
			t.Errorf("%s: an event handler: %s", what, m[0])
		}
	}
	if strings.Contains(body, "root:x:0:0") {
		t.Errorf("%s: the contents of /etc/passwd", what)
	}
	doc, err := xhtml.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for n := range doc.Descendants() {
		if n.Type != xhtml.ElementNode {
			continue
		}
		switch {
		case n.Data == "script":
			checkJSONLD(t, what, n)
		case activeElements[n.Data]:
			t.Errorf("%s: a <%s> element", what, n.Data)
		case n.Data == "style" && n.FirstChild != nil:
			checkCSS(t, what, "<style>", n.FirstChild.Data)
		case n.Data == "meta" && strings.EqualFold(attrOf(n, "http-equiv"), "refresh") &&
			strings.Contains(strings.ToLower(attrOf(n, "content")), "url"):
			t.Errorf("%s: a meta refresh to %q", what, attrOf(n, "content"))
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			if a.Namespace != "" {
				key = a.Namespace + ":" + key
			}
			switch {
			case strings.HasPrefix(key, "on"), key == "srcdoc":
				t.Errorf("%s: <%s %s=%q>", what, n.Data, a.Key, a.Val)
			case key == "style":
				checkCSS(t, what, "style="+a.Val, a.Val)
			case urlAttrs[key] || strings.HasSuffix(key, ":href"):
				u := strings.ToLower(urlSchemeCut.Replace(strings.TrimSpace(a.Val)))
				scheme, _, found := strings.Cut(u, ":")
				if found && !strings.ContainsAny(scheme, "/?#") &&
					scheme != "http" && scheme != "https" && scheme != "mailto" {
					t.Errorf("%s: <%s %s=%q>", what, n.Data, a.Key, a.Val)
				}
				if strings.Contains(u, "/xss-hit") {
					t.Errorf("%s: <%s %s=%q> loads a payload's marker", what, n.Data, a.Key, a.Val)
				}
			}
		}
	}
}

// jsonLDOpen opens the structured data of a page, the one script element the
// site writes; browsers do not run it.
const jsonLDOpen = `<script type="application/ld+json">`

// quotedValue is a quoted attribute value, whose text cannot be markup.
var quotedValue = regexp.MustCompile(`"[^"]*"|'[^']*'`)

// checkJSONLD fails unless the script element n is JSON-LD holding valid
// JSON and nothing that could end the element early.
func checkJSONLD(t *testing.T, what string, n *xhtml.Node) {
	t.Helper()
	if len(n.Attr) != 1 || n.Attr[0].Key != "type" || n.Attr[0].Val != "application/ld+json" {
		t.Errorf("%s: a <script> element with %v", what, n.Attr)
		return
	}
	var text string
	if n.FirstChild != nil {
		text = n.FirstChild.Data
	}
	if !json.Valid([]byte(text)) || strings.ContainsAny(text, "<>") {
		t.Errorf("%s: JSON-LD that is not inert JSON: %s", what, text)
	}
}

// attrOf is n's attribute key, or "".
func attrOf(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func checkCSS(t *testing.T, what, where, css string) {
	t.Helper()
	lower := strings.ToLower(urlSchemeCut.Replace(css))
	for _, bad := range activeCSS {
		if strings.Contains(lower, bad) {
			t.Errorf("%s: %q in %s", what, bad, where)
		}
	}
}

func around(s string, i int) string { return s[max(0, i-80):min(len(s), i+80)] }

// checkInertFeed parses one of the site's own feeds and checks the HTML
// each item carries (readers render it) and its links.
func checkInertFeed(t *testing.T, what, body string) {
	t.Helper()
	feed, err := gofeed.NewParser().ParseString(body)
	if err != nil {
		t.Fatalf("%s does not parse: %v", what, err)
	}
	if len(feed.Items) == 0 {
		t.Errorf("%s has no items", what)
	}
	for _, it := range feed.Items {
		checkInertHTML(t, what+" item "+it.Link, "<body>"+it.Description+it.Content+"</body>")
		for _, l := range append([]string{it.Link}, it.Links...) {
			if !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
				t.Errorf("%s: an item links to %q", what, l)
			}
		}
	}
}

// checkAll fetches every page (the admin pages logged in) and checks it,
// then the mails.
func (h *hostileSite) checkAll(t *testing.T) {
	t.Helper()
	a := h.as.client()
	a.mustLogin(t)
	get := func(p string, admin bool) string {
		t.Helper()
		var resp *http.Response
		var body string
		if admin {
			resp, body = a.get(t, p)
		} else {
			resp, body = fetch(t, h.ts.URL+p)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		return body
	}
	for _, p := range h.pages {
		checkInertHTML(t, p, get(p, false))
	}
	for _, p := range h.feeds {
		body := get(p, false)
		if p != "/sitemap.xml" {
			checkInertFeed(t, p, body)
		}
		if scriptTag.MatchString(body) {
			t.Errorf("%s: a <script tag", p)
		}
	}
	for _, p := range h.admin {
		checkInertHTML(t, p, get(p, true))
	}
	// The admin page's feed discovery, given the HTML page that announces
	// script "feeds".
	_, body := a.post(t, "/admin/feeds/add", "url", h.corpus+"/not-a-feed.html?again")
	checkInertHTML(t, "POST /admin/feeds/add", body)

	if len(h.mails) < 2 {
		t.Fatalf("%d mails in the outboxes, want the digest and a moderator's", len(h.mails))
	}
	for _, m := range h.mails {
		checkInertHTML(t, "mail "+m.file, m.html)
		for _, k := range []string{"Bcc", "Cc", "Reply-To"} {
			if v := m.header.Get(k); v != "" {
				t.Errorf("mail %s: a %s header %q", m.file, k, v)
			}
		}
		if strings.ContainsAny(m.header.Get("Subject"), "\r\n<>") {
			t.Errorf("mail %s: subject %q", m.file, m.header.Get("Subject"))
		}
	}
	checkInertHTML(t, "the issue of every story", h.full)
	if bad := h.take(&h.bad); len(bad) > 0 {
		t.Errorf("bad answers:\n%s", strings.Join(bad, "\n"))
	}
}

// TestHostileFeeds: the corpus is polled without a crash, the broken feeds
// are recorded as failures, and every page, admin page and mail made from
// it is inert (no browser needed).
func TestHostileFeeds(t *testing.T) {
	h := newHostileSite(t)
	ctx := context.Background()
	if len(h.poll.Failed)+h.poll.Polled != len(h.files) {
		t.Errorf("%d polled + %d failed, want %d", h.poll.Polled, len(h.poll.Failed), len(h.files))
	}
	for _, name := range h.files {
		src, err := h.sq.Source(ctx, h.sources[name])
		if err != nil {
			t.Fatal(err)
		}
		stories, err := h.sq.Stories(ctx, feeds.StoryFilter{SourceID: src.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		outcome := fmt.Sprintf("%d stories", len(stories))
		if src.LastError != "" {
			outcome = "refused: " + src.LastError
		}
		t.Logf("| %s | %s | %d chars of title |", name, outcome, len(src.Title))
	}
	h.checkAll(t)
}

// browse opens every page in tab and fails when window.__xss is set.
func (h *hostileSite) browse(t *testing.T, tab context.Context, paths []string) {
	t.Helper()
	for _, p := range paths {
		resp, err := chromedp.Run(tab, chromedp.NavigateResponse(h.ts.URL+p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if resp.Status != http.StatusOK {
			t.Errorf("%s: %d in the browser", p, resp.Status)
		}
		// Let timers, autofocus and load handlers fire; then look.
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](
			`new Promise(r => setTimeout(r, 150))`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		if set, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__xss !== undefined`)); err != nil || set {
			t.Errorf("%s: window.__xss is set (%v)", p, err)
		}
	}
}

// browserAdmin logs tab in as the administrator.
func (h *hostileSite) browserAdmin(t *testing.T, tab context.Context) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(h.ts.URL+"/admin/login")); err != nil {
		t.Fatal(err)
	}
	if loc := browserLogin(t, tab, adminPassword); loc != h.ts.URL+"/admin/" {
		t.Fatalf("the login led to %s", loc)
	}
}

// TestBrowserHostileFeeds opens every page, admin page and the digest's
// HTML in Chromium: first under the site's policy, whose report endpoint
// must stay silent; then, in a second browser, with the policy bypassed,
// so that only the cleaning and escaping stand between a payload and
// window.__xss. No request may reach /xss-hit. (The site's feeds are
// checked by TestHostileFeeds, not here: they are not HTML, and Chromium's
// XML viewer styles itself inline, against the site's policy.)
func TestBrowserHostileFeeds(t *testing.T) {
	h := newHostileSite(t)
	mails := []string{"/mail/issue.html", "/mail/full.html", "/mail/issue-bare.html", "/mail/full-bare.html"}

	start := time.Now()
	tab := browser(t, h.ts.URL)
	h.browse(t, tab, h.pages)
	h.browserAdmin(t, tab)
	h.browse(t, tab, h.admin)
	h.browse(t, tab, mails)
	t.Logf("%d pages under the policy in %v", len(h.pages)+len(h.admin)+len(mails), time.Since(start).Round(time.Millisecond))

	// The endpoint works: a planted handler, blocked by the policy, is
	// reported. Reports are sent in order, so once this one has come,
	// any earlier one has too.
	if err := chromedp.Do(tab, chromedp.Navigate(h.ts.URL+"/?planted=1"),
		chromedp.Evaluate[chromedp.Void](`document.body.insertAdjacentHTML("beforeend", '<img src="/xss-hit?planted" onerror="window.__xss=1">')`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !slices.ContainsFunc(h.take(&h.reports), func(r string) bool { return strings.Contains(r, "planted") }) {
		if time.Now().After(deadline) {
			t.Fatal("the planted violation was never reported: the endpoint proves nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range h.take(&h.reports) {
		if !strings.Contains(r, "planted") {
			t.Errorf("CSP report: %s", r)
		}
	}

	// Without the policy.
	start = time.Now()
	bare := browser(t, h.ts.URL)
	if _, err := chromedp.Call(bare, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	h.browse(t, bare, h.pages)
	h.browserAdmin(t, bare)
	h.browse(t, bare, h.admin)
	h.browse(t, bare, mails)
	t.Logf("%d pages without the policy in %v", len(h.pages)+len(h.admin)+len(mails), time.Since(start).Round(time.Millisecond))
	// The check can fail: with the policy off, planted markup runs.
	if err := chromedp.Do(bare, chromedp.Navigate(h.ts.URL+"/?planted=2"),
		chromedp.Evaluate[chromedp.Void](`document.body.insertAdjacentHTML("beforeend", '<img src="/planted" onerror="window.__xss=1">')`),
		chromedp.Evaluate[chromedp.Void](`new Promise(r => setTimeout(r, 300))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	if set, err := chromedp.Run(bare, chromedp.Evaluate[bool](`window.__xss === 1`)); err != nil || !set {
		t.Errorf("planted markup did not run with the policy off, so that pass proves nothing (%v)", err)
	}

	for _, hit := range h.take(&h.hits) {
		if hit != "/xss-hit?planted" {
			t.Errorf("a payload's marker was requested: %s", hit)
		}
	}
	if bad := h.take(&h.bad); len(bad) > 0 {
		t.Errorf("bad answers:\n%s", strings.Join(bad, "\n"))
	}
}
