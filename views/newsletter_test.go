package views_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	tmail "github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// letterSite is the site with the real newsletter service on a SQLite file,
// real keys, confirmation mails written to an outbox directory, and a clock
// the test can move (the only fake).
type letterSite struct {
	ts     *httptest.Server
	srv    *views.Server
	svc    *newsletter.Service
	st     *sqlite.Store
	keys   *secrets.Keys
	outbox string
	logs   *lockedBuffer
	clock  *clock
	story  string // the path of a story page
}

func newLetterSite(t *testing.T) *letterSite {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, err := st.AddSource(ctx, feeds.Source{URL: "https://byteline.example/feed.xml", Title: "Byteline"})
	if err != nil {
		t.Fatal(err)
	}
	story, _, err := st.AddStory(ctx, feeds.Story{
		SourceID: src.ID, URL: "https://byteline.example/2026/11/whatsapp-musk", GUID: "w",
		Title: "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims", Summary: "A spat over data.",
		PublishedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), FirstSeenAt: time.Now(), Visible: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ls := &letterSite{st: st, keys: keys, outbox: filepath.Join(dir, "outbox"), logs: &lockedBuffer{}, clock: &clock{}}
	logger := slog.New(slog.NewTextHandler(ls.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr, err := tmail.Open("", ls.outbox, tmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ls.svc, err = newsletter.NewService(newsletter.Options{
		Store: st, Stories: st, Keys: keys, Mail: tr, BaseURL: testBase, Logger: logger, Now: ls.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := views.New(views.Options{Stories: st, BaseURL: testBase, Logger: logger, Newsletter: ls.svc, Forms: keys})
	if err != nil {
		t.Fatal(err)
	}
	ls.srv, ls.ts = srv, httptest.NewServer(srv.Handler())
	t.Cleanup(ls.ts.Close)
	ls.story = "/stories/" + strconv.FormatInt(story.ID, 10) + "/whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims"
	return ls
}

// clock is the service's clock: the real time unless set.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// lockedBuffer collects log lines from concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// submit posts form f from the site, with extra fields.
func (ls *letterSite) submit(t *testing.T, f htmlForm, extra ...string) (*http.Response, string) {
	t.Helper()
	v := url.Values{}
	for k, vs := range f.Fields {
		v[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return post(t, ls.ts.URL+f.Action, formType, v.Encode())
}

// subscribe signs addr up through the box on the page at path.
func (ls *letterSite) subscribe(t *testing.T, path, addr string) (*http.Response, string) {
	t.Helper()
	_, body := fetch(t, ls.ts.URL+path)
	return ls.submit(t, onlyForm(t, body), "email", addr)
}

// subscriber returns the stored subscriber of addr.
func (ls *letterSite) subscriber(t *testing.T, addr string) newsletter.Subscriber {
	t.Helper()
	norm, err := newsletter.NormaliseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ls.st.SubscriberByIndex(context.Background(), ls.keys.BlindIndex(newsletter.IndexForm(norm)))
	if err != nil {
		t.Fatalf("subscriber %s: %v", addr, err)
	}
	return sub
}

var confirmLink = regexp.MustCompile(`/subscribe/confirm\?token=[A-Za-z0-9_.\-]+`)

// confirmPath reads the confirmation link of the newest mail to addr in
// the outbox and returns its path and query.
func (ls *letterSite) confirmPath(t *testing.T, addr string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(ls.outbox, "*.eml"))
	slices.Sort(files)
	slices.Reverse(files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(strings.ToLower(msg.Header.Get("To")), strings.ToLower(addr)) {
			continue
		}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			text, _ := io.ReadAll(part) // quoted-printable is decoded by NextPart
			if l := confirmLink.FindString(string(text)); l != "" {
				return l
			}
		}
	}
	t.Fatalf("no confirmation mail to %s in the outbox", addr)
	return ""
}

// unsubscribePath is the unsubscribe link the service puts in digests to addr.
func (ls *letterSite) unsubscribePath(t *testing.T, addr string) string {
	t.Helper()
	return strings.TrimPrefix(ls.svc.UnsubscribeURL(ls.subscriber(t, addr).ID), testBase)
}

// checkNoStore checks that a personal page may be kept by no cache and sets
// nothing in the browser.
func checkNoStore(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Location") != "" {
		t.Errorf("%s: Cache-Control %q, Set-Cookie %q, Location %q", what,
			resp.Header.Get("Cache-Control"), resp.Header.Get("Set-Cookie"), resp.Header.Get("Location"))
	}
}

// checkNoAddress fails if the address shows anywhere in a response.
func checkNoAddress(t *testing.T, what, addr string, resp *http.Response, body string) {
	t.Helper()
	low, lowBody := strings.ToLower(addr), strings.ToLower(body)
	if strings.Contains(lowBody, low) || strings.Contains(lowBody, strings.ToLower(url.QueryEscape(addr))) {
		t.Errorf("%s shows the address in its body", what)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			if strings.Contains(strings.ToLower(v), low) {
				t.Errorf("%s shows the address in header %s", what, k)
			}
		}
	}
}

func TestSubscribe(t *testing.T) {
	ls := newLetterSite(t)
	const addr = "Reader.One@Example.org"

	resp, first := ls.subscribe(t, ls.story, addr)
	if resp.StatusCode != http.StatusOK || !strings.Contains(first, "<h1>Check your inbox</h1>") ||
		!strings.Contains(first, "If this address can receive mail, a confirmation link is on its way to it.") {
		t.Fatalf("subscribe: %d\n%s", resp.StatusCode, first)
	}
	checkNoStore(t, "POST /subscribe", resp)
	checkNoAddress(t, "POST /subscribe", addr, resp, first)
	sub := ls.subscriber(t, addr)
	if sub.Status != newsletter.Pending || sub.ConsentPage != ls.story {
		t.Errorf("after sign-up: status %s, consent page %q, want pending from %s", sub.Status, sub.ConsentPage, ls.story)
	}
	ls.confirmPath(t, addr) // a confirmation mail was sent

	// A known address gets the very same answer: no enumeration.
	if _, again := ls.subscribe(t, "/", addr); again != first {
		t.Errorf("a known address gets another answer:\n%s\n---\n%s", first, again)
	}
	confirmed := "confirmed.reader@example.org"
	ls.subscribe(t, "/", confirmed)
	ls.submit(t, onlyForm(t, ls.page(t, ls.confirmPath(t, confirmed))))
	if _, body := ls.subscribe(t, "/", confirmed); body != first {
		t.Errorf("a confirmed address gets another answer:\n%s", body)
	}

	// The sign-up page of its own, for links that say "subscribe again".
	body := ls.page(t, "/subscribe")
	if f := onlyForm(t, body); f.Action != "/subscribe" || f.Fields.Get("page") != "/subscribe" {
		t.Errorf("/subscribe form: %+v", f)
	}
	if strings.Contains(ls.logs.String(), "xample.org") {
		t.Errorf("an address reached the log:\n%s", ls.logs.String())
	}
}

func (ls *letterSite) page(t *testing.T, path string) string {
	t.Helper()
	resp, body := fetch(t, ls.ts.URL+path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	return body
}

// TestSubscribeBadInput sends what a form should not: each gets a clear 4xx
// page, never a 500, and a refused address is shown again only in the form.
func TestSubscribeBadInput(t *testing.T) {
	ls := newLetterSite(t)
	box := onlyForm(t, ls.page(t, "/"))
	csrf := box.Fields.Get("csrf")
	form := func(kv ...string) string {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, contentType, body string
		code                    int
		want                    string
	}{
		{"not an address", formType, form("email", "no-at-sign.example.org", "page", "/"), 400, `value="no-at-sign.example.org"`},
		{"empty", formType, form("email", "  ", "page", "/"), 400, "Please enter your email address."},
		{"missing field", formType, form("page", "/"), 400, "Please enter your email address."},
		{"over 1 KB", formType, form("email", strings.Repeat("a", 1100)+"@example.org"), 400, "far too long"},
		{"over 254 bytes", formType, form("email", strings.Repeat("a", 300)+"@example.org"), 400, `aria-invalid="true"`},
		{"markup", formType, form("email", `"><script>alert(1)</script>@x.org`), 400, `value="&#34;&gt;&lt;script&gt;`},
	} {
		resp, body := post(t, ls.ts.URL+"/subscribe", tc.contentType, tc.body)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, resp.StatusCode, tc.code, tc.want, body)
		}
		if resp.StatusCode == 400 {
			checkNoStore(t, tc.name, resp)
			if f := onlyForm(t, body); f.Action != "/subscribe" || f.Fields.Get("csrf") == "" {
				t.Errorf("%s: the form shown again is not a sign-up form: %+v", tc.name, f)
			}
		}
	}
	// The refused address is in its own form only, never in the page it
	// came from, nor in any URL.
	resp, body := post(t, ls.ts.URL+"/subscribe", formType, form("email", "typo@@example.org", "page", "//evil.example/x"))
	if resp.StatusCode != 400 || strings.Count(body, "typo@@example.org") != 1 || onlyForm(t, body).Fields.Get("page") != "/" {
		t.Errorf("refused address: %d, shown %d times, page %q", resp.StatusCode,
			strings.Count(body, "typo@@example.org"), onlyForm(t, body).Fields.Get("page"))
	}
	if _, err := ls.st.SubscriberByIndex(context.Background(), ls.keys.BlindIndex("a@example.org")); err == nil {
		t.Error("a refused request stored a subscriber")
	}
}

// TestSubscribeFailures: a store or mail server down gives a clear page and
// a log line, neither holding the address.
func TestSubscribeFailures(t *testing.T) {
	ls := newLetterSite(t)
	const addr = "down.reader@example.org"
	box := onlyForm(t, ls.page(t, "/"))

	// The outbox directory replaced by a file: the mail cannot be written.
	if err := os.RemoveAll(ls.outbox); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ls.outbox, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, body := ls.submit(t, box, "email", addr)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "could not be sent just now") {
		t.Errorf("mail down: %d\n%s", resp.StatusCode, body)
	}
	checkNoAddress(t, "mail down", addr, resp, body)

	ls.st.Close()
	resp, body = ls.submit(t, box, "email", addr)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "Something went wrong") {
		t.Errorf("store down: %d\n%s", resp.StatusCode, body)
	}
	checkNoAddress(t, "store down", addr, resp, body)
	logs := ls.logs.String()
	if !strings.Contains(logs, "request failed") || strings.Contains(logs, "down.reader") {
		t.Errorf("log lines:\n%s", logs)
	}
}

// tokenOf is the token query parameter of a link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// follow GETs a link twice and HEADs it, as mail scanners do, and returns
// the page.
func (ls *letterSite) follow(t *testing.T, link, heading string) string {
	t.Helper()
	var body string
	for range 2 {
		var resp *http.Response
		resp, body = fetch(t, ls.ts.URL+link)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>"+heading+"</h1>") {
			t.Fatalf("GET %s: %d, want 200 with %q\n%s", link, resp.StatusCode, heading, body)
		}
		checkNoStore(t, "GET "+link, resp)
	}
	resp, err := http.Head(ls.ts.URL + link)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD %s: %v %v", link, resp, err)
	}
	return body
}

// checkBadLink checks a 400 page for a link that does not work.
func checkBadLink(t *testing.T, what string, resp *http.Response, body, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
		t.Errorf("%s: %d, want 400 with %q\n%s", what, resp.StatusCode, want, body)
	}
}

func TestConfirm(t *testing.T) {
	ls := newLetterSite(t)
	const addr = "confirm.me@example.org"
	ls.subscribe(t, "/", addr)
	link := ls.confirmPath(t, addr)
	token := tokenOf(t, link)

	// Following the link shows a button and changes nothing.
	body := ls.follow(t, link, "Confirm your subscription")
	if st := ls.subscriber(t, addr).Status; st != newsletter.Pending {
		t.Fatalf("GET of the confirmation link made the subscriber %s", st)
	}
	f := onlyForm(t, body)
	if f.Action != "/subscribe/confirm" || f.Fields.Get("token") != token || f.Fields.Get("csrf") == "" ||
		!strings.Contains(body, `<button type="submit">Confirm subscription</button>`) {
		t.Fatalf("confirm button: %+v\n%s", f, body)
	}
	resp, done := ls.submit(t, f)
	if resp.StatusCode != http.StatusOK || !strings.Contains(done, "<h1>You’re subscribed</h1>") {
		t.Fatalf("POST confirm: %d\n%s", resp.StatusCode, done)
	}
	checkNoStore(t, "POST /subscribe/confirm", resp)
	if st := ls.subscriber(t, addr).Status; st != newsletter.Confirmed {
		t.Fatalf("after confirming: %s", st)
	}
	// Again, and with the token in the URL instead of the form: harmless.
	if resp, again := ls.submit(t, f); resp.StatusCode != http.StatusOK || again != done {
		t.Errorf("confirming twice: %d", resp.StatusCode)
	}
	csrf := url.Values{"csrf": {f.Fields.Get("csrf")}}.Encode()
	if resp, again := post(t, ls.ts.URL+link, formType, csrf); resp.StatusCode != http.StatusOK || again != done {
		t.Errorf("token in the URL: %d", resp.StatusCode)
	}

	bad := map[string]string{
		"forged":            link[:len(link)-3] + "AAA",
		"cut short":         link[:len(link)/2],
		"missing":           "/subscribe/confirm",
		"empty":             "/subscribe/confirm?token=",
		"unsubscribe token": "/subscribe/confirm?token=" + tokenOf(t, ls.unsubscribePath(t, addr)),
		"huge":              "/subscribe/confirm?token=" + strings.Repeat("A", 5000),
		"junk":              "/subscribe/confirm?token=%00%ff%3Cscript%3E",
	}
	for name, l := range bad {
		resp, body := fetch(t, ls.ts.URL+l)
		checkBadLink(t, "GET "+name, resp, body, "This confirmation link is incomplete or damaged")
		if f := onlyForm(t, body); f.Action != "/subscribe" {
			t.Errorf("GET %s: the page offers no sign-up form", name)
		}
		resp, body = post(t, ls.ts.URL+l, formType, csrf)
		checkBadLink(t, "POST "+name, resp, body, "This confirmation link is incomplete or damaged")
	}

	// A link older than 48 hours: signed up with the clock 49 hours back.
	ls.clock.Set(time.Now().Add(-49 * time.Hour))
	ls.subscribe(t, "/", "late@example.org")
	ls.clock.Set(time.Time{})
	late := ls.confirmPath(t, "late@example.org")
	resp, body = fetch(t, ls.ts.URL+late)
	checkBadLink(t, "expired GET", resp, body, "<h1>This link has expired</h1>")
	resp, body = post(t, ls.ts.URL+late, formType, csrf)
	checkBadLink(t, "expired POST", resp, body, "Confirmation links work for 48 hours")
	if st := ls.subscriber(t, "late@example.org").Status; st != newsletter.Pending {
		t.Errorf("an expired link made the subscriber %s", st)
	}
	// No page shows a subscriber's address, nor any feed.
	for _, p := range []string{"/", ls.story, "/subscribe", "/newsletter", link, ls.unsubscribePath(t, addr), "/feed.xml", "/feed.json", "/sitemap.xml"} {
		resp, body := fetch(t, ls.ts.URL+p)
		checkNoAddress(t, p, addr, resp, body)
	}
}

func TestUnsubscribe(t *testing.T) {
	ls := newLetterSite(t)
	addrs := []string{"leaving@example.org", "one.click@example.org"}
	for _, a := range addrs {
		ls.subscribe(t, "/", a)
		ls.submit(t, onlyForm(t, ls.page(t, ls.confirmPath(t, a))))
	}
	link := ls.unsubscribePath(t, addrs[0])
	body := ls.follow(t, link, "Unsubscribe from the digest?")
	if st := ls.subscriber(t, addrs[0]).Status; st != newsletter.Confirmed {
		t.Fatalf("GET of the unsubscribe link made the subscriber %s", st)
	}
	f := onlyForm(t, body)
	if f.Action != link || !strings.Contains(body, `<button type="submit">Unsubscribe</button>`) {
		t.Fatalf("unsubscribe button: %+v", f)
	}
	resp, done := ls.submit(t, f)
	if resp.StatusCode != http.StatusOK || !strings.Contains(done, "<h1>You’re unsubscribed</h1>") {
		t.Fatalf("POST unsubscribe: %d\n%s", resp.StatusCode, done)
	}
	checkNoStore(t, "POST /unsubscribe", resp)
	if st := ls.subscriber(t, addrs[0]).Status; st != newsletter.Unsubscribed {
		t.Fatalf("after unsubscribing: %s", st)
	}

	// RFC 8058 one-click: a mail provider's POST with no cookie, no form
	// token and no browser headers; answered 200, never a redirect, and
	// harmless when repeated, in either form encoding.
	oneClick := ls.ts.URL + ls.unsubscribePath(t, addrs[1])
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("List-Unsubscribe", "One-Click")
	_ = mw.Close()
	for i, req := range []struct{ contentType, body string }{
		{formType, "List-Unsubscribe=One-Click"},
		{formType, "List-Unsubscribe=One-Click"},
		{mw.FormDataContentType(), mp.String()},
	} {
		resp, body := post(t, oneClick, req.contentType, req.body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You’re unsubscribed") {
			t.Errorf("one-click POST %d: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
		if st := ls.subscriber(t, addrs[1]).Status; st != newsletter.Unsubscribed {
			t.Fatalf("after one-click POST %d: %s", i, st)
		}
	}
	if resp, _ := post(t, oneClick, formType, "List-Unsubscribe=One-Click&x="+strings.Repeat("x", 1<<20)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("one-click POST of 1 MB: %d, want 413", resp.StatusCode)
	}

	for name, l := range map[string]string{
		"forged":        link[:len(link)-3] + "AAA",
		"missing":       "/unsubscribe",
		"confirm token": "/unsubscribe?token=" + tokenOf(t, ls.confirmPath(t, addrs[0])),
		"huge":          "/unsubscribe?token=" + strings.Repeat("A", 5000),
	} {
		resp, body := fetch(t, ls.ts.URL+l)
		checkBadLink(t, "GET "+name, resp, body, "This unsubscribe link is incomplete or damaged")
		resp, body = post(t, ls.ts.URL+l, formType, "List-Unsubscribe=One-Click")
		checkBadLink(t, "POST "+name, resp, body, "This unsubscribe link is incomplete or damaged")
	}
}

func TestArchive(t *testing.T) {
	ls := newLetterSite(t)
	ctx := context.Background()
	composed := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for i, week := range []string{"2026-W47", "2026-W48", "2026-W49"} {
		at := composed.AddDate(0, 0, 7*(i-1))
		is, _, err := ls.st.SaveIssue(ctx, newsletter.Issue{
			Week: week, ComposedAt: at, Since: at.AddDate(0, 0, -7), Until: at, Subject: "Tidings digest " + week,
			HTML: `<!DOCTYPE html><html><head><style>p{color:#123}</style></head><body style="margin:0"><p>Issue ` + week +
				`</p><a href="` + newsletter.UnsubscribePlaceholder + `">Unsubscribe</a></body></html>`,
			Text: "Issue " + week,
		})
		if err != nil {
			t.Fatal(err)
		}
		if week != "2026-W49" { // W49 is composed but not sent: not public
			is.SendStartedAt = at.Add(time.Hour)
			if err := ls.st.UpdateIssueSend(ctx, is); err != nil {
				t.Fatal(err)
			}
		}
	}
	resp, archive := fetch(t, ls.ts.URL+"/newsletter")
	checkSecurityHeaders(t, "/newsletter", resp)
	checkSelfContained(t, "/newsletter", archive)
	w48 := strings.Index(archive, `<a href="/newsletter/2026-W48">Tidings digest 2026-W48</a>`)
	w47 := strings.Index(archive, `<a href="/newsletter/2026-W47">Tidings digest 2026-W47</a>`)
	if resp.StatusCode != http.StatusOK || w48 < 0 || w47 < w48 || strings.Contains(archive, "W49") ||
		!strings.Contains(archive, `<time datetime="2026-11-23T09:00:00Z">23 Nov 2026</time>`) {
		t.Errorf("archive: %d\n%s", resp.StatusCode, archive)
	}
	if f := onlyForm(t, archive); f.Action != "/subscribe" || f.Fields.Get("page") != "/newsletter" {
		t.Errorf("archive sign-up form: %+v", f)
	}

	resp, issue := fetch(t, ls.ts.URL+"/newsletter/2026-W48")
	if resp.StatusCode != http.StatusOK || !strings.Contains(issue, "<p>Issue 2026-W48</p>") ||
		strings.Contains(issue, newsletter.UnsubscribePlaceholder) {
		t.Fatalf("issue page: %d\n%s", resp.StatusCode, issue)
	}
	checkSecurityHeaders(t, "/newsletter/2026-W48", resp) // scripts still 'none'
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'unsafe-inline';") {
		t.Errorf("issue CSP %q does not allow its inline styles", csp)
	}
	if resp, _ := fetch(t, ls.ts.URL+"/newsletter/2026-W48", "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("issue revalidation: %d, want 304", resp.StatusCode)
	}
	if resp, _ := fetch(t, ls.ts.URL+"/newsletter/2026-w48"); resp.StatusCode != http.StatusMovedPermanently ||
		resp.Header.Get("Location") != "/newsletter/2026-W48" {
		t.Errorf("lower-case week: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{
		"/newsletter/2026-W49", "/newsletter/2026-W01", "/newsletter/2026-W54", "/newsletter/2026-W00",
		"/newsletter/junk", "/newsletter/%00", "/newsletter/" + strings.Repeat("9", 5000), "/newsletter/2026-W48/x",
	} {
		resp, body := fetch(t, ls.ts.URL+p)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "nothing here") {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
		if strings.Contains(resp.Header.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("%s: the error page allows inline style", p)
		}
	}
}
