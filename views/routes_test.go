package views_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestEveryRoute walks every reader route on the SQLite store and checks
// what holds for all of them: the status, the security headers, no tracking
// parameter, no script and nothing loaded from another origin.
func TestEveryRoute(t *testing.T) {
	n := newNewsroom(t)
	html := []string{
		"/", "/?page=1",
		fmt.Sprintf(whatsappPath, n.ids["whatsapp"]),
		fmt.Sprintf("/stories/%d/ad-trackers-found-in-health-apps", n.ids["tracked"]),
		"/topics/messaging", "/topics/tracking", "/topics/vpn",
		fmt.Sprintf("/sources/%d", n.srcs["Byteline"]),
		fmt.Sprintf("/sources/%d", n.srcs["Rights Wire"]),
	}
	other := []string{
		"/feed.xml", "/atom.xml", "/feed.json", "/topics/tracking/feed.xml", "/topics/tracking/atom.xml",
		"/topics/tracking/feed.json", "/sitemap.xml", "/robots.txt",
	}
	for _, p := range append(html, other...) {
		resp, body := fetch(t, n.ts.URL+p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
			continue
		}
		checkSecurityHeaders(t, p, resp)
		if strings.Contains(body, "utm_") {
			t.Errorf("%s carries a utm_ parameter", p)
		}
	}
	for _, p := range html {
		_, body := fetch(t, n.ts.URL+p)
		checkSelfContained(t, p, body)
		for _, w := range []string{`<a class="skip" href="#main">`, `<main id="main"`, "<header", "<footer", `<html lang="en">`, `<link rel="canonical" href="` + testBase} {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", p, w)
			}
		}
	}
	// The tracked story was stored with utm_ parameters; they never show.
	body := n.page(t, fmt.Sprintf("/stories/%d/ad-trackers-found-in-health-apps", n.ids["tracked"]))
	if !strings.Contains(body, `href="https://byteline.example/trackers?id=7"`) {
		t.Error("the original link lost its real parameter")
	}
}

// TestBadInputIsNever500 throws junk at every route with a parameter.
func TestBadInputIsNever500(t *testing.T) {
	n := newNewsroom(t)
	for _, p := range []string{
		"/?page=", "/?page=%00", "/?page=1e9", "/?page=-0", "/?page=2&page=3", "/?page=" + strings.Repeat("9", 400),
		"/stories/%ff", "/stories/1/%ff%fe", "/stories/1/" + strings.Repeat("a", 5000), "/stories/1/a/b",
		"/topics/%ff", "/topics/a/b/c", "/topics/%3Cscript%3E/feed.xml", "/topics/" + strings.Repeat("x", 5000),
		"/sources/%ff", "/sources/1/2", "/sources/" + strings.Repeat("1", 100), "/feed.xml?tag=%00",
		"/stories/1?utm_source=x", "/static/style.css", "/static/../../etc/passwd",
	} {
		resp, body := fetch(t, n.ts.URL+p)
		if resp.StatusCode >= 500 {
			t.Errorf("%s: %d\n%s", p, resp.StatusCode, body)
		}
		if resp.StatusCode == http.StatusOK && strings.Contains(body, "utm_") {
			t.Errorf("%s: echoed a utm_ parameter", p)
		}
	}
}

// TestEveryTemplateRenders renders each page template through its route:
// home, list (topic and source), story and error.
func TestEveryTemplateRenders(t *testing.T) {
	n := newNewsroom(t)
	for p, marker := range map[string]string{
		"/":                 "<h1>Latest privacy stories</h1>",
		"/topics/messaging": "<h1>Stories about messaging</h1>",
		fmt.Sprintf("/sources/%d", n.srcs["Night Watch"]): "<h1>Stories from Night Watch</h1>",
		fmt.Sprintf(whatsappPath, n.ids["whatsapp"]):      `<article class="story-page">`,
		"/nowhere": "<h1>Not Found</h1>",
	} {
		_, body := fetch(t, n.ts.URL+p)
		if !strings.Contains(body, marker) || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
			t.Errorf("%s: no %q, or the page is cut short", p, marker)
		}
	}
	_, body := fetch(t, n.ts.URL+"/nowhere")
	if !strings.Contains(body, `<meta name="robots" content="noindex">`) {
		t.Error("the error page can be indexed")
	}
}

func checkSecurityHeaders(t *testing.T, path string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, w := range []string{"default-src 'self'", "script-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, w) {
			t.Errorf("%s: CSP %q lacks %s", path, csp, w)
		}
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: Referrer-Policy %q, X-Content-Type-Options %q", path,
			resp.Header.Get("Referrer-Policy"), resp.Header.Get("X-Content-Type-Options"))
	}
}

var (
	// loads finds attributes that make a browser fetch something.
	loads      = regexp.MustCompile(`(?i)<(?:img|script|iframe|link|source|video|audio|embed|object)\b[^>]*\b(?:src|href|data|srcset)="([^"]*)"`)
	styleAttrs = regexp.MustCompile(`(?i)\sstyle=|<style`)
)

// checkSelfContained checks that a page loads nothing from another origin and
// runs no script: links to other sites are fine, fetching from them is not.
func checkSelfContained(t *testing.T, path, body string) {
	t.Helper()
	for _, m := range loads.FindAllStringSubmatch(body, -1) {
		tag := strings.ToLower(m[0])
		if strings.HasPrefix(tag, "<link") && (strings.Contains(tag, `rel="canonical"`) || strings.Contains(tag, `rel="alternate"`)) {
			continue // not fetched by the page
		}
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("%s loads %q", path, m[0])
		}
	}
	if strings.Contains(body, "<script") && !strings.Contains(body, `<script type="application/ld+json">`) {
		t.Errorf("%s has a script", path)
	}
	if styleAttrs.MatchString(body) {
		t.Errorf("%s has inline style, which the CSP blocks", path)
	}
}
