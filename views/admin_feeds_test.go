package views_test

import (
	"bytes"
	"context"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/views"
)

// feedSite is a few sites on loopback: one links to its feed, one offers
// two, one offers none, and the feeds themselves.
func feedSite(t *testing.T) *httptest.Server {
	t.Helper()
	page := func(links string) string {
		return `<!doctype html><html><head><title>A site</title>` + links + `</head><body><p>Posts</p></body></html>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/site/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page(`<link rel="alternate" type="application/rss+xml" title="Loopback Wire" href="../feed.xml">`)))
	})
	mux.HandleFunc("/multi/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page(`<link rel="alternate" type="application/rss+xml" title="Posts" href="/feed.xml">` +
			`<link rel="alternate" type="application/atom+xml" title="Comments" href="/atom.xml">`)))
	})
	mux.HandleFunc("/plain/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page(`<link rel="icon" href="/favicon.ico">`)))
	})
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback Wire</title></channel></rss>`))
	})
	mux.HandleFunc("/atom.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		_, _ = w.Write([]byte(`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Loopback Comments</title></feed>`))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// newFeedsAdminSite is the admin site with feed discovery through a real
// Fetcher; allowPrivate lets it reach the loopback sites.
func newFeedsAdminSite(t *testing.T, allowPrivate bool) *adminSite {
	t.Helper()
	as := newAdminSite(t, "http://localhost:8080")
	f := feeds.NewFetcher(feeds.FetchOptions{AllowPrivate: allowPrivate})
	t.Cleanup(f.CloseIdleConnections)
	as.serve(t, views.Options{
		Stories: as.sq, BaseURL: "http://localhost:8080", Forms: as.keys, Comments: as.svc, Admin: as.admin,
		TrustProxy: true, Discover: f.Discover, PollSoon: func() { as.pokes.Add(1) },
	})
	return as
}

// sourceCount counts the stored sources.
func (as *adminSite) sourceCount(t *testing.T) int {
	t.Helper()
	srcs, err := as.sq.Sources(context.Background(), feeds.SourceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(srcs)
}

// sourceAt returns the stored source with a URL; it fails the test if none.
func (as *adminSite) sourceAt(t *testing.T, u string) feeds.Source {
	t.Helper()
	srcs, err := as.sq.Sources(context.Background(), feeds.SourceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		if s.URL == u {
			return s
		}
	}
	t.Fatalf("no source %s among %d", u, len(srcs))
	return feeds.Source{}
}

// follow GETs the page a 303 leads to and returns its flash message.
func (a *adminClient) follow(t *testing.T, resp *http.Response, body string) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%d, want 303:\n%s", resp.StatusCode, body)
	}
	resp, body = a.get(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", resp.Request.URL, resp.StatusCode)
	}
	_, rest, ok := strings.Cut(body, `<p class="notice" role="status">`)
	if !ok {
		t.Fatalf("no flash message after the redirect:\n%s", body)
	}
	msg, _, _ := strings.Cut(rest, "</p>")
	return html.UnescapeString(msg)
}

// upload posts a file (field file) with a form token as multipart.
func (a *adminClient) upload(t *testing.T, path, name, content string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", a.as.keys.FormToken(time.Now()))
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(content))
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, body := post(t, a.as.ts.URL+path, mw.FormDataContentType(), buf.String(), a.header()...)
	a.keep(resp)
	return resp, body
}

// Without a session the feeds pages send to the login and every POST is
// refused with 401, changing nothing; with a session, a POST without a
// form token is refused too.
func TestAdminFeedsNeedSession(t *testing.T) {
	as := newFeedsAdminSite(t, true)
	site := feedSite(t)
	anon := as.client()
	for path, want := range map[string]string{
		"/admin/feeds":        "/admin/login?next=%2Fadmin%2Ffeeds",
		"/admin/feeds/export": "/admin/login?next=%2Fadmin%2Ffeeds%2Fexport",
	} {
		resp, _ := anon.get(t, path)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("GET %s without a session: %d to %q, want %s", path, resp.StatusCode, loc, want)
		}
	}
	byteline := strconv.FormatInt(as.srcs["Byteline"], 10)
	for path, fields := range map[string][]string{
		"/admin/feeds":     {"one", "remove:" + byteline},
		"/admin/feeds/add": {"url", site.URL + "/feed.xml"},
	} {
		resp, body := anon.post(t, path, fields...)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "You are not logged in") {
			t.Errorf("POST %s without a session: %d\n%s", path, resp.StatusCode, body)
		}
		checkPrivate(t, "POST "+path, resp, body)
	}
	if resp, body := anon.upload(t, "/admin/feeds/import", "feeds.txt", site.URL+"/atom.xml\n"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an import without a session: %d\n%s", resp.StatusCode, body)
	}
	admin := as.client()
	admin.mustLogin(t)
	resp, body := admin.postRaw(t, "/admin/feeds", url.Values{"one": {"remove:" + byteline}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a POST without a form token: %d\n%s", resp.StatusCode, body)
	}
	if n := as.sourceCount(t); n != 3 {
		t.Errorf("%d sources after refused requests, want the 3 there were", n)
	}
}

// The page lists every source with its status, last error, story count
// and polls; it is private.
func TestAdminFeedsPage(t *testing.T) {
	as := newFeedsAdminSite(t, true)
	ctx := context.Background()
	failing, err := as.sq.Source(ctx, as.srcs["Night Watch"])
	if err != nil {
		t.Fatal(err)
	}
	polled := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	failing.LastPolledAt, failing.LastError, failing.ErrorCount = polled, "HTTP 503 Service Unavailable", 2
	failing.NextPollAt = time.Now().Add(48 * time.Hour).UTC()
	paused, err := as.sq.Source(ctx, as.srcs["Rights Wire"])
	if err != nil {
		t.Fatal(err)
	}
	paused.Paused, paused.OnTopic = true, true
	for _, s := range []feeds.Source{failing, paused} {
		if err := as.sq.UpdateSource(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	a := as.client()
	a.mustLogin(t)
	resp, body := a.get(t, "/admin/feeds")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/feeds: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "GET /admin/feeds", resp, body)
	if !strings.Contains(body, `<a href="/admin/feeds" aria-current="page">Feeds</a>`) {
		t.Error("the nav does not mark Feeds as the current page")
	}
	entry := func(id int64) string {
		_, rest, ok := strings.Cut(body, `id="source-`+strconv.FormatInt(id, 10)+`"`)
		if !ok {
			t.Fatalf("source %d is not listed:\n%s", id, body)
		}
		e, _, _ := strings.Cut(rest, "</li>")
		return e
	}
	for _, tc := range []struct {
		name string
		want []string
		not  []string
	}{
		{"Byteline", []string{"Byteline", "https://byteline.example/feed.xml", "ok, not polled yet", "<dt>Stories</dt><dd><a href=\"/sources/" + strconv.FormatInt(as.srcs["Byteline"], 10) + "\">3<",
			"<dt>Last poll</dt><dd>never", "in the next round", "those about privacy", `value="ontopic:`, `value="pause:`, `value="poll:`, `value="remove:`}, []string{"Last error"}},
		{"Night Watch", []string{"failing (2 polls in a row)", "HTTP 503 Service Unavailable", "30 Nov 2026, 08:00 UTC", ">3<"}, []string{"in the next round"}},
		{"Rights Wire", []string{"<dd class=\"source-status\">paused</dd>", "none while paused", "all: on-topic", `value="offtopic:`, `value="resume:`}, []string{`value="poll:`, `value="pause:`}},
	} {
		e := entry(as.srcs[tc.name])
		for _, w := range tc.want {
			if !strings.Contains(e, w) {
				t.Errorf("%s: the entry lacks %q:\n%s", tc.name, w, e)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(e, w) {
				t.Errorf("%s: the entry has %q:\n%s", tc.name, w, e)
			}
		}
	}
}

// Adding by a site's address adds the feed its page links to; by a feed's
// address, that feed; a site offering several shows the choice; a feed
// already there is refused with the form kept.
func TestAdminFeedsAdd(t *testing.T) {
	as := newFeedsAdminSite(t, true)
	site := feedSite(t)
	a := as.client()
	a.mustLogin(t)

	resp, body := a.post(t, "/admin/feeds/add", "url", site.URL+"/site/")
	flash := a.follow(t, resp, body)
	src := as.sourceAt(t, site.URL+"/feed.xml")
	if src.SiteURL != site.URL+"/site/" || src.OnTopic || src.Paused {
		t.Errorf("the source added by its site: %+v", src)
	}
	if want := "Feed #" + strconv.FormatInt(src.ID, 10) + " (" + site.URL + "/feed.xml) added. It is polled in a moment"; !strings.HasPrefix(flash, want) {
		t.Errorf("flash %q, want %q…", flash, want)
	}
	if n := as.pokes.Load(); n != 1 {
		t.Errorf("adding a feed woke the poller %d times, want 1", n)
	}

	// The same site again, or its feed: already there.
	for _, typed := range []string{site.URL + "/site/", site.URL + "/feed.xml#x"} {
		resp, body = a.post(t, "/admin/feeds/add", "url", typed)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "That feed is already a source: feed #"+strconv.FormatInt(src.ID, 10)) {
			t.Errorf("adding %s again: %d\n%s", typed, resp.StatusCode, body)
		}
		if !strings.Contains(body, `value="`+html.EscapeString(typed)+`"`) {
			t.Errorf("adding %s again: the form does not keep what was typed", typed)
		}
	}

	// Several feeds: a choice, nothing added; then the one chosen.
	n := as.sourceCount(t)
	resp, body = a.post(t, "/admin/feeds/add", "url", site.URL+"/multi/", "ontopic", "1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "This site offers several feeds") {
		t.Fatalf("a site with two feeds: %d\n%s", resp.StatusCode, body)
	}
	for _, w := range []string{`name="url" value="` + site.URL + `/feed.xml">Add Posts</button>`,
		`name="url" value="` + site.URL + `/atom.xml">Add Comments</button>`, `<input type="hidden" name="ontopic" value="1">`} {
		if !strings.Contains(body, w) {
			t.Errorf("the choice lacks %q", w)
		}
	}
	if as.sourceCount(t) != n {
		t.Error("a site offering two feeds had one added before the choice")
	}
	resp, body = a.post(t, "/admin/feeds/add", "url", site.URL+"/atom.xml", "ontopic", "1")
	a.follow(t, resp, body)
	if src := as.sourceAt(t, site.URL+"/atom.xml"); !src.OnTopic || src.Title != "Loopback Comments" {
		t.Errorf("the feed chosen: %+v", src)
	}
}

// Bad addresses get the form again, what was typed and why, with a 4xx.
func TestAdminFeedsAddRefusals(t *testing.T) {
	as := newFeedsAdminSite(t, true)
	site := feedSite(t)
	a := as.client()
	a.mustLogin(t)
	for _, tc := range []struct {
		typed string
		code  int
		msg   string
	}{
		{"", 400, "Enter the address of a feed, or of a site"},
		{"   ", 400, "Enter the address of a feed, or of a site"},
		{"javascript:alert(1)", 400, "That is not a web address"},
		{`"><script>alert(1)</script>`, 400, "That is not a web address"},
		{"ftp://example.org/feed", 400, "That is not a web address"},
		{"http://exa mple.org/", 400, "That is not a web address"},
		{site.URL + "/plain/", 422, "No feed was found there: it is a web page that links to no feed"},
		{site.URL + "/missing", 422, "That address could not be read as a feed: HTTP 404 Not Found."},
	} {
		resp, body := a.post(t, "/admin/feeds/add", "url", tc.typed)
		if resp.StatusCode != tc.code || !strings.Contains(html.UnescapeString(body), tc.msg) {
			t.Errorf("adding %q: %d, want %d with %q\n%s", tc.typed, resp.StatusCode, tc.code, tc.msg, body)
			continue
		}
		if !strings.Contains(body, `aria-invalid="true" aria-describedby="add-error"`) ||
			!strings.Contains(body, `value="`+html.EscapeString(strings.TrimSpace(tc.typed))+`"`) {
			t.Errorf("adding %q: the form is not shown again with what was typed:\n%s", tc.typed, body)
		}
		if strings.Contains(body, "<script>alert(1)") {
			t.Errorf("adding %q: the page carries the script", tc.typed)
		}
	}
	if n := as.sourceCount(t); n != 3 {
		t.Errorf("%d sources after refusals, want 3", n)
	}
}

// Without --allow-private-feeds, discovery from the admin page goes through
// the poller's guard and refuses a loopback site.
func TestAdminFeedsAddRefusesPrivate(t *testing.T) {
	as := newFeedsAdminSite(t, false)
	site := feedSite(t)
	a := as.client()
	a.mustLogin(t)
	resp, body := a.post(t, "/admin/feeds/add", "url", site.URL+"/site/")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "is private; use --allow-private-feeds") {
		t.Errorf("a loopback site: %d\n%s", resp.StatusCode, body)
	}
	if n := as.sourceCount(t); n != 3 {
		t.Errorf("%d sources, want 3", n)
	}
}

// Each source's buttons act on it and say so; an unknown source or button
// gets the page again with a 4xx.
func TestAdminFeedsActions(t *testing.T) {
	as := newFeedsAdminSite(t, true)
	a := as.client()
	a.mustLogin(t)
	ctx := context.Background()
	id := as.srcs["Byteline"]
	ids := strconv.FormatInt(id, 10)
	stored := func() feeds.Source {
		t.Helper()
		s, err := as.sq.Source(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	later := stored()
	later.NextPollAt = time.Now().Add(time.Hour).UTC()
	if err := as.sq.UpdateSource(ctx, later); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action, flash string
		check         func(feeds.Source) bool
	}{
		{"ontopic", "is marked wholly on-topic", func(s feeds.Source) bool { return s.OnTopic }},
		{"offtopic", "is no longer marked on-topic", func(s feeds.Source) bool { return !s.OnTopic }},
		{"poll", "is due now: it is polled in a moment", func(s feeds.Source) bool { return !s.NextPollAt.After(time.Now()) }},
		{"pause", "is paused: it is not polled until you resume it.", func(s feeds.Source) bool { return s.Paused }},
		{"resume", "is resumed", func(s feeds.Source) bool { return !s.Paused }},
	} {
		resp, body := a.post(t, "/admin/feeds", "one", tc.action+":"+ids)
		flash := a.follow(t, resp, body)
		if want := "Feed #" + ids + " (Byteline) " + tc.flash; !strings.HasPrefix(flash, want) {
			t.Errorf("%s: flash %q, want %q…", tc.action, flash, want)
		}
		if s := stored(); !tc.check(s) {
			t.Errorf("%s: the source is %+v", tc.action, s)
		}
	}
	// "poll now" and "resume" woke the poller.
	if n := as.pokes.Load(); n != 2 {
		t.Errorf("the poller was woken %d times by poll now and resume, want 2", n)
	}
	// Now due: ClaimDue hands it to the next round.
	claimed, err := as.sq.ClaimDue(ctx, time.Now().UTC(), time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !containsSource(claimed, id) {
		t.Errorf("after poll now, the next round does not claim the source: %+v", claimed)
	}

	// Poll now on a paused source: refused.
	a.post(t, "/admin/feeds", "one", "pause:"+ids)
	if resp, body := a.post(t, "/admin/feeds", "one", "poll:"+ids); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "is paused, so it is not polled. Resume it first.") {
		t.Errorf("poll now on a paused source: %d\n%s", resp.StatusCode, body)
	}

	// Bad buttons and unknown sources.
	for _, tc := range []struct {
		one  string
		code int
		msg  string
	}{
		{"remove:999999", 404, "There is no feed #999999"},
		{"pause:999999", 404, "There is no feed #999999"},
		{"explode:" + ids, 400, "The feed form could not be understood"},
		{"remove:-1", 400, "The feed form could not be understood"},
		{"remove:abc", 400, "The feed form could not be understood"},
		{"", 400, "The feed form could not be understood"},
	} {
		resp, body := a.post(t, "/admin/feeds", "one", tc.one)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) || !strings.Contains(body, `id="source-`+ids+`"`) {
			t.Errorf("one=%q: %d, want %d with %q and the page\n%s", tc.one, resp.StatusCode, tc.code, tc.msg, body)
		}
	}

	// Remove: the source goes, its stories stay.
	before, err := as.sq.CountStories(ctx, feeds.StoryFilter{SourceID: id})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := a.post(t, "/admin/feeds", "one", "remove:"+ids)
	if flash := a.follow(t, resp, body); flash != "Feed #"+ids+" removed. Its stories stay on the site." {
		t.Errorf("remove: flash %q", flash)
	}
	if _, err := as.sq.Source(ctx, id); err == nil {
		t.Error("the removed source is still stored")
	}
	if after, err := as.sq.CountStories(ctx, feeds.StoryFilter{SourceID: id}); err != nil || after != before || before == 0 {
		t.Errorf("stories of the removed source: %d before, %d after (%v)", before, after, err)
	}
	if resp, _ := a.get(t, as.story); resp.StatusCode != http.StatusOK {
		t.Errorf("a story of the removed source: %d", resp.StatusCode)
	}
}

func containsSource(srcs []feeds.Source, id int64) bool {
	for _, s := range srcs {
		if s.ID == id {
			return true
		}
	}
	return false
}

// Import reads an uploaded OPML (or URL list) as `feeds import` does;
// export downloads what `feeds export` writes.
func TestAdminFeedsImportExport(t *testing.T) {
	as := newFeedsAdminSite(t, true)
	a := as.client()
	a.mustLogin(t)

	const opml = `<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>
<outline text="Tech"><outline type="rss" text="New" xmlUrl="https://new.example/feed.xml"/>
<outline type="rss" text="Byteline" xmlUrl="https://byteline.example/feed.xml"/></outline></body></opml>`
	resp, body := a.upload(t, "/admin/feeds/import", "mine.opml", opml)
	if flash := a.follow(t, resp, body); flash != "Import done: 1 feed added, 1 already there." {
		t.Errorf("import flash %q", flash)
	}
	as.sourceAt(t, "https://new.example/feed.xml")

	// Bad entries are listed beside what was imported.
	resp, body = a.upload(t, "/admin/feeds/import", "list.txt", "https://other.example/rss\njavascript:alert(1)\n")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Import done: 1 feed added, 0 already there, 1 entry skipped") ||
		!strings.Contains(body, "Line 2 “javascript:alert(1)”") {
		t.Errorf("a list with a bad entry: %d\n%s", resp.StatusCode, body)
	}
	n := as.sourceCount(t)

	// Files that give nothing: the form again, 4xx.
	for _, tc := range []struct {
		name, content, msg string
		code               int
	}{
		{"rss.xml", `<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>`, "That file could not be read: source list is XML but not OPML (root element &lt;rss&gt;).", 400},
		{"broken.opml", `<opml><body><outline xmlUrl="https://x.example/f"`, "That file holds no usable feed address.", 400},
		{"empty.opml", "", "That file holds no usable feed address.", 400},
		{"bad.txt", "not a url\nftp://x.example/\n", "That file holds no usable feed address.", 400},
		{"huge.opml", strings.Repeat("https://x.example/feed\n", 4000), "too large", 413},
	} {
		resp, body := a.upload(t, "/admin/feeds/import", tc.name, tc.content)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("importing %s: %d, want %d with %q\n%s", tc.name, resp.StatusCode, tc.code, tc.msg, body)
		}
	}
	if resp, body := a.post(t, "/admin/feeds/import"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choose an OPML file") {
		t.Errorf("an import without a file: %d\n%s", resp.StatusCode, body)
	}
	if got := as.sourceCount(t); got != n {
		t.Errorf("%d sources after refused imports, want %d", got, n)
	}

	resp, body = a.get(t, "/admin/feeds/export")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/x-opml") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	checkPrivate(t, "export", resp, "")
	urls, err := feeds.ParseSourceList(strings.NewReader(body))
	if err != nil || len(urls) != n {
		t.Fatalf("the export holds %d feeds (%v), want %d:\n%s", len(urls), err, n, body)
	}
	for _, u := range []string{"https://new.example/feed.xml", "https://other.example/rss", "https://rightswire.example/feed.json"} {
		if !strings.Contains(body, `xmlUrl="`+u+`"`) {
			t.Errorf("the export lacks %s", u)
		}
	}
}
