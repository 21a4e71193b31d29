package views_test

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/views"
)

// post sends a form POST (body as given) with the given headers, following
// no redirect, and returns the response and its body.
func post(t *testing.T, target, contentType, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const formType = "application/x-www-form-urlencoded"

// htmlForm is a POST form found in a page: its action and hidden fields.
type htmlForm struct {
	Action string
	Fields url.Values
}

var (
	formPattern  = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputPattern = regexp.MustCompile(`<input\b[^>]*>`)
)

func attr(tag, name string) (string, bool) {
	m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// postForms returns every form with method="post" in body.
func postForms(body string) []htmlForm {
	var out []htmlForm
	for _, m := range formPattern.FindAllStringSubmatch(body, -1) {
		if method, _ := attr(m[1], "method"); method != "post" {
			continue
		}
		f := htmlForm{Fields: url.Values{}}
		f.Action, _ = attr(m[1], "action")
		for _, in := range inputPattern.FindAllString(m[2], -1) {
			if typ, _ := attr(in, "type"); typ == "hidden" {
				name, _ := attr(in, "name")
				value, _ := attr(in, "value")
				f.Fields.Add(name, value)
			}
		}
		out = append(out, f)
	}
	return out
}

// onlyForm returns the one POST form of a page.
func onlyForm(t *testing.T, body string) htmlForm {
	t.Helper()
	forms := postForms(body)
	if len(forms) != 1 {
		t.Fatalf("%d POST forms in the page, want 1:\n%s", len(forms), body)
	}
	return forms[0]
}

// signUp is the body of a sign-up POST with the given form token.
func signUp(csrf, addr string) string {
	return url.Values{"csrf": {csrf}, "email": {addr}, "page": {"/"}}.Encode()
}

// TestCrossOriginPosts: a browser POST from another origin is refused on
// every guarded route, and changes nothing; same-origin and non-browser
// POSTs pass.
func TestCrossOriginPosts(t *testing.T) {
	ls := newLetterSite(t)
	const addr = "cross.origin@example.org"
	csrf := onlyForm(t, ls.page(t, "/")).Fields.Get("csrf")
	ls.subscribe(t, "/", addr)
	confirm := ls.confirmPath(t, addr)
	for _, tc := range []struct {
		name   string
		header []string
		code   int
	}{
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://news.example.net"}, 403},
		{"foreign Origin, old browser", []string{"Origin", "https://evil.example"}, 403},
		{"opaque Origin", []string{"Origin", "null"}, 403},
		{"same-origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", ls.ts.URL}, 200},
		{"Origin matching Host", []string{"Origin", ls.ts.URL}, 200},
		{"the public origin, behind a proxy", []string{"Origin", testBase}, 200},
		{"address bar", []string{"Sec-Fetch-Site", "none"}, 200},
		{"no browser headers", nil, 200},
	} {
		resp, body := post(t, ls.ts.URL+"/subscribe", formType, signUp(csrf, "someone@example.org"), tc.header...)
		if resp.StatusCode != tc.code {
			t.Errorf("%s: POST /subscribe %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
		if tc.code == 403 && !strings.Contains(body, "This form was sent from another site") {
			t.Errorf("%s: the refusal does not say why:\n%s", tc.name, body)
		}
		if tc.code != 403 {
			continue
		}
		resp, _ = post(t, ls.ts.URL+confirm, formType, url.Values{"csrf": {csrf}}.Encode(), tc.header...)
		if resp.StatusCode != 403 {
			t.Errorf("%s: POST /subscribe/confirm %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if st := ls.subscriber(t, addr).Status; st != newsletter.Pending {
		t.Errorf("a cross-origin POST made the subscriber %s", st)
	}
}

// TestFormTokens: a POST whose csrf field is missing, forged, expired or
// someone else's is refused with a page saying what to do; nothing changes.
func TestFormTokens(t *testing.T) {
	ls := newLetterSite(t)
	now := time.Now()
	other, err := secrets.New(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	valid := ls.keys.FormToken(now)
	sec, sig, _ := strings.Cut(valid, ".")
	for name, csrf := range map[string]string{
		"missing":                "",
		"forged":                 "1700000000.bm90IGEgcmVhbCBzaWduYXR1cmU",
		"another site's key":     other.FormToken(now),
		"25 hours old":           ls.keys.FormToken(now.Add(-25 * time.Hour)),
		"an hour in the future":  ls.keys.FormToken(now.Add(time.Hour)),
		"time changed":           sec + "1." + sig,
		"signature only":         sig,
		"absurdly long":          strings.Repeat("1", 5000) + "." + sig,
		"valid token, repeated ": valid + "," + valid,
	} {
		resp, body := post(t, ls.ts.URL+"/subscribe", formType, signUp(csrf, "token.test@example.org"))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form has expired; reload the page and try again.") {
			t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
		}
		checkNoAddress(t, name, "token.test@example.org", resp, body)
	}
	// The token counts only in the body, not in the URL.
	if resp, _ := post(t, ls.ts.URL+"/subscribe?csrf="+url.QueryEscape(valid), formType, "email=token.test%40example.org"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a token in the URL: %d, want 403", resp.StatusCode)
	}
	norm, _ := newsletter.NormaliseAddress("token.test@example.org")
	if _, err := ls.st.SubscriberByIndex(t.Context(), ls.keys.BlindIndex(newsletter.IndexForm(norm))); err == nil {
		t.Error("a refused POST stored a subscriber")
	}
	// A day-old page still works; so does a multipart form.
	if resp, body := post(t, ls.ts.URL+"/subscribe", formType, signUp(ls.keys.FormToken(now.Add(-23*time.Hour)), "old.page@example.org")); resp.StatusCode != 200 {
		t.Errorf("a 23-hour-old form: %d\n%s", resp.StatusCode, body)
	}
	var mp bytes.Buffer
	mw := multipartWriter(&mp, map[string]string{"csrf": valid, "email": "multipart@example.org"})
	if resp, body := post(t, ls.ts.URL+"/subscribe", mw, mp.String()); resp.StatusCode != 200 {
		t.Errorf("a multipart form: %d\n%s", resp.StatusCode, body)
	}

	// Confirming needs a token too: a link alone changes nothing.
	ls.subscribe(t, "/", "needs.token@example.org")
	if resp, _ := post(t, ls.ts.URL+ls.confirmPath(t, "needs.token@example.org"), formType, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("confirm without a form token: %d, want 403", resp.StatusCode)
	}
	if st := ls.subscriber(t, "needs.token@example.org").Status; st != newsletter.Pending {
		t.Errorf("a POST without a form token made the subscriber %s", st)
	}
}

// multipartWriter writes fields as multipart/form-data into buf and returns
// its content type.
func multipartWriter(buf *bytes.Buffer, fields map[string]string) string {
	mw := multipart.NewWriter(buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	return mw.FormDataContentType()
}

// TestBadBodies: what no form sends gets a clear 4xx, never a 500.
func TestBadBodies(t *testing.T) {
	ls := newLetterSite(t)
	csrf := onlyForm(t, ls.page(t, "/")).Fields.Get("csrf")
	ok := signUp(csrf, "a@example.org")
	for _, tc := range []struct {
		name, contentType, body string
		code                    int
		want                    string
	}{
		{"json", "application/json", `{"email":"a@example.org"}`, 415, "only takes forms"},
		{"plain text", "text/plain", ok, 415, "only takes forms"},
		{"no content type", "", ok, 415, "only takes forms"},
		{"broken content type", "application/x-www-form-urlencoded; =", ok, 415, "only takes forms"},
		{"multipart without boundary", "multipart/form-data", ok, 400, "could not be read"},
		{"bad escape", formType, ok + "&x=%zz", 400, "could not be read"},
		{"1 MB", formType, ok + "&junk=" + strings.Repeat("x", 1<<20), 413, "too large"},
		{"just over 64 KB", formType, ok + "&junk=" + strings.Repeat("x", 64<<10), 413, "too large"},
	} {
		resp, body := post(t, ls.ts.URL+"/subscribe", tc.contentType, tc.body)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, resp.StatusCode, tc.code, tc.want, body)
		}
	}
	// A body of unknown length is cut at 64 KB too.
	req, _ := http.NewRequest(http.MethodPost, ls.ts.URL+"/subscribe",
		io.MultiReader(strings.NewReader(ok+"&junk="), strings.NewReader(strings.Repeat("x", 100<<10))))
	req.Header.Set("Content-Type", formType)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked 100 KB body: %d, want 413", resp.StatusCode)
	}
	// Routes that take no POST answer as before: 404 or 405, not 403.
	for path, code := range map[string]int{"/nowhere": 404, "/": 405, "/newsletter": 405} {
		if resp, _ := post(t, ls.ts.URL+path, "text/plain", "x"); resp.StatusCode != code {
			t.Errorf("POST %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

// TestTokenKeepsPagesCacheable: the token in a cached page changes once a
// formTokenStep, not at each rendering, so an unchanged page keeps its
// validators and browsers keep getting 304s.
func TestTokenKeepsPagesCacheable(t *testing.T) {
	ls := newLetterSite(t)
	for _, p := range []string{"/", ls.story, "/newsletter", "/subscribe"} {
		before := time.Now()
		resp, body := fetch(t, ls.ts.URL+p)
		ls.srv.Invalidate()
		again, body2 := fetch(t, ls.ts.URL+p, "If-None-Match", resp.Header.Get("ETag"))
		if before.Truncate(time.Hour) != time.Now().Truncate(time.Hour) {
			t.Skip("the hour turned during the test; the token changed as it should")
		}
		if again.StatusCode != http.StatusNotModified || body2 != "" || !strings.Contains(body, `name="csrf"`) {
			t.Errorf("%s rendered again: %d, want 304", p, again.StatusCode)
		}
	}
}

// TestEveryFormCarriesAToken renders every page with a form and checks that
// each POST form carries one current csrf token and posts to this site.
func TestEveryFormCarriesAToken(t *testing.T) {
	ls := newLetterSite(t)
	ls.subscribe(t, "/", "forms@example.org")
	confirm := ls.confirmPath(t, "forms@example.org")
	pages := map[string]string{}
	for _, p := range []string{"/", ls.story, "/subscribe", "/newsletter", confirm, "/subscribe/confirm?token=bad"} {
		_, pages["GET "+p] = fetch(t, ls.ts.URL+p)
	}
	ls.submit(t, onlyForm(t, pages["GET "+confirm]))
	unsubscribe := ls.unsubscribePath(t, "forms@example.org")
	_, pages["GET "+unsubscribe] = fetch(t, ls.ts.URL+unsubscribe)
	_, pages["refused address"] = ls.subscribe(t, "/", "not an address")
	_, pages["unsubscribed"] = post(t, ls.ts.URL+unsubscribe, formType, "")
	for name, body := range pages {
		forms := postForms(body)
		if len(forms) == 0 {
			t.Errorf("%s: no form", name)
		}
		for _, f := range forms {
			if !strings.HasPrefix(f.Action, "/") || strings.HasPrefix(f.Action, "//") {
				t.Errorf("%s: a form posts to %q", name, f.Action)
			}
			tokens := f.Fields["csrf"]
			if len(tokens) != 1 {
				t.Errorf("%s: form to %s has %d csrf fields", name, f.Action, len(tokens))
				continue
			}
			if _, err := ls.keys.CheckFormToken(tokens[0], time.Now(), 24*time.Hour); err != nil {
				t.Errorf("%s: form to %s: token %q: %v", name, f.Action, tokens[0], err)
			}
		}
	}
}

// TestNewsletterOff: a site built without a newsletter keeps its sign-up
// box, and every newsletter route says clearly that it is not available.
func TestNewsletterOff(t *testing.T) {
	ts, st := site(t, 1, nil)
	for _, r := range []struct{ method, path, want string }{
		{"GET", "/newsletter", "The newsletter is not available"},
		{"GET", "/newsletter/2026-W48", "The newsletter is not available"},
		{"GET", "/subscribe/confirm?token=x", "The newsletter is not available"},
		{"GET", "/unsubscribe?token=x", "The newsletter is not available"},
		{"POST", "/unsubscribe?token=x", "The newsletter is not available"},
		{"POST", "/subscribe", "cannot take forms right now"},
		{"POST", "/subscribe/confirm", "cannot take forms right now"},
	} {
		var resp *http.Response
		var body string
		if r.method == "GET" {
			resp, body = fetch(t, ts.URL+r.path)
		} else {
			resp, body = post(t, ts.URL+r.path, formType, "email=a%40example.org")
		}
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, r.want) {
			t.Errorf("%s %s: %d, want 503 with %q", r.method, r.path, resp.StatusCode, r.want)
		}
	}
	_, home := fetch(t, ts.URL+"/")
	checkNewsletter(t, home)
	if strings.Contains(home, `name="csrf"`) {
		t.Error("a site without form tokens renders an empty csrf field")
	}
	if _, err := views.New(views.Options{Stories: st, Newsletter: &newsletter.Service{}}); err == nil {
		t.Error("New accepted a newsletter without form tokens")
	}
}

// TestBrowserSubscribes signs up and confirms in Chromium, whose real
// Origin and Sec-Fetch-Site headers must pass the form guard.
func TestBrowserSubscribes(t *testing.T) {
	ls := newLetterSite(t)
	tab := browser(t, ls.ts.URL)
	const addr = "browser.reader@example.org"
	if err := chromedp.Do(tab, chromedp.Navigate(ls.ts.URL+ls.story),
		chromedp.SendKeys(chromedp.ID("newsletter-email"), addr)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(".newsletter button")))); err != nil {
		t.Fatal(err)
	}
	h1, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1")))
	loc, _ := chromedp.Run(tab, chromedp.Location())
	if err != nil || h1 != "Check your inbox" || loc != ls.ts.URL+"/subscribe" {
		t.Fatalf("after subscribing: h1 %q at %s (%v)", h1, loc, err)
	}
	if sub := ls.subscriber(t, addr); sub.ConsentPage != ls.story {
		t.Errorf("consent page %q, want %s", sub.ConsentPage, ls.story)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(ls.ts.URL+ls.confirmPath(t, addr))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS("form.action button")))); err != nil {
		t.Fatal(err)
	}
	if h1, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1"))); err != nil || h1 != "You’re subscribed" {
		t.Errorf("after confirming: h1 %q (%v)", h1, err)
	}
	if st := ls.subscriber(t, addr).Status; st != newsletter.Confirmed {
		t.Errorf("after confirming in the browser: %s", st)
	}
}
