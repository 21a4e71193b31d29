package views_test

import (
	"net/url"
	"strings"
	"testing"
)

func TestSearchPage(t *testing.T) {
	n := newNewsroom(t)
	get := func(q string) (int, string) {
		t.Helper()
		resp, body := fetch(t, n.ts.URL+"/search?q="+url.QueryEscape(q))
		return resp.StatusCode, body
	}

	resp, body := fetch(t, n.ts.URL+"/search")
	if resp.StatusCode != 200 || !strings.Contains(body, `<input id="q" name="q" type="search"`) {
		t.Errorf("/search without a query: %d", resp.StatusCode)
	}

	code, body := get("whatsapp")
	if code != 200 {
		t.Fatalf("search whatsapp: %d", code)
	}
	for _, want := range []string{"<mark>WhatsApp</mark> Boss Clashes", `value="whatsapp"`, "stories match"} {
		if !strings.Contains(body, want) {
			t.Errorf("search whatsapp lacks %q", want)
		}
	}
	// Words in summaries are found too, and the last word matches as a prefix.
	if code, body = get("metada"); code != 200 || !strings.Contains(body, "Why Message <mark>Metadata</mark>") {
		t.Errorf("prefix search: %d", code)
	}
	if code, body = get("earnings"); code != 200 || strings.Contains(body, "Quarterly Earnings") {
		t.Errorf("a hidden story is found: %d", code)
	}

	// Queries that cannot be run: a 400 with a reason and the text kept.
	for _, q := range []string{"the of and", strings.Repeat("privacy ", 40), "bad\x01control"} {
		code, body := get(q)
		if code != 400 || !strings.Contains(body, `class="form-error"`) {
			t.Errorf("search %q: %d, want 400 with a message", q, code)
		}
		if !strings.Contains(body, `value="`) {
			t.Errorf("search %q: the form does not show the text again", q)
		}
	}
	// Hostile text stays text.
	code, body = get(`"><script>alert(1)</script> breach`)
	if code >= 500 || strings.Contains(body, "<script>alert(1)") {
		t.Errorf("hostile query: %d, raw markup in page", code)
	}
	// Compressed once, like every rendered page.
	if resp, body := fetch(t, n.ts.URL+"/search?q=whatsapp", "Accept-Encoding", "gzip"); resp.StatusCode != 200 ||
		resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, "<mark>WhatsApp</mark>") {
		t.Errorf("gzipped search: %d %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if resp, _ := fetch(t, n.ts.URL+"/search?q=whatsapp&page=9"); resp.StatusCode != 404 {
		t.Errorf("a page past the results: %d, want 404", resp.StatusCode)
	}
}
