package views_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	tmail "github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// The hostile feed corpus (feeds/testdata/hostile, see its README.md) is
// served on loopback, polled by the real poller into a SQLite file and
// shown by the real site, newsletter and admin pages. Nothing a browser
// would run may reach a page, a mail or an admin page: the HTML is checked
// element by element, and Chromium opens every page twice, once under the
// site's Content-Security-Policy with a report endpoint that must stay
// silent, once with the policy off and window.__xss that must stay unset.

const hostileDir = "../feeds/testdata/hostile"

// hostileTypes are the Content-Types the corpus server sends, by file
// extension, or by name for the files whose trick is in the header.
var hostileTypes = map[string]string{
	".rss": "application/rss+xml", ".atom": "application/atom+xml", ".rdf": "application/rdf+xml",
	".json": "application/feed+json", ".html": "text/html; charset=utf-8",
	"charset-header.rss": "application/rss+xml; charset=shift_jis",
	"utf16-lie.rss":      "application/xml; charset=windows-1252",
}

// generatedFeeds are the corpus files too large to keep in the repository.
func generatedFeeds() map[string][]byte {
	const mb = 1 << 20
	huge := strings.Repeat("Zebracorp privacy huge ", mb/23)
	big := huge[:len(huge)/8] // 128 KiB
	bigRSS := `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>` + big +
		`</title><link>https://huge.example/</link><description>huge</description><item><title>` + huge +
		`</title><link>https://huge.example/1</link><author>` + big + `</author><description>` + big +
		`&lt;script&gt;window.__xss=1&lt;/script&gt;</description></item></channel></rss>`

	const depth = 10000
	deepXML := strings.Repeat("<deep:n>", depth) + "&lt;script&gt;window.__xss=1&lt;/script&gt;" + strings.Repeat("</deep:n>", depth)
	deepHTML := strings.Repeat("<div>", depth) + "<img src=x onerror=window.__xss=1>" + strings.Repeat("</div>", depth)
	deepRSS := `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:deep="urn:deep"><channel>` +
		`<title>Deep Feed</title><link>https://deep.example/</link><description>deep</description><item>` +
		`<title>Zebracorp privacy deep nesting</title><link>https://deep.example/1</link>` + deepXML +
		`<description><![CDATA[Zebracorp ` + deepHTML + `]]></description></item></channel></rss>`
	deepJSON := `{"version":"https://jsonfeed.org/version/1.1","title":"Deep JSON","_deep":` +
		strings.Repeat(`{"a":[`, depth) + `"x"` + strings.Repeat(`]}`, depth) +
		`,"items":[{"id":"1","url":"https://deep-json.example/1","title":"Zebracorp privacy deep json"}]}`
	return map[string][]byte{
		"huge-fields.rss": []byte(bigRSS), "deep-nesting.rss": []byte(deepRSS), "deep-nesting.json": []byte(deepJSON),
	}
}

// hostileSite is the site over the ingested corpus, every service real,
// behind a wrapper that adds a report-uri to every Content-Security-Policy
// and records what the browser reports or requests.
type hostileSite struct {
	ts      *httptest.Server
	corpus  string // the corpus server's URL
	sq      *sqlite.Store
	as      *adminSite // for adminClient
	files   []string   // corpus file names, sorted
	sources map[string]int64
	poll    feeds.Summary
	week    string
	mails   []hostileMail
	full    string   // HTML of an issue of every visible story (Compose)
	pages   []string // the public HTML pages
	feeds   []string // the site's feeds, sitemap and a comment feed
	admin   []string

	mu      sync.Mutex
	reports []string // CSP reports
	hits    []string // requests to /xss-hit
	bad     []string // 5xx answers, and HTML pages without a script-free CSP
}

// hostileMail is one message from the outboxes, decoded.
type hostileMail struct {
	file       string
	header     mail.Header
	html, text string
}

func newHostileSite(t *testing.T) *hostileSite {
	t.Helper()
	ctx := context.Background()
	h := &hostileSite{sources: map[string]int64{}}
	h.corpus, h.files = serveCorpus(t)
	var err error
	h.sq, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.sq.Close() })
	for _, name := range h.files {
		src, err := h.sq.AddSource(ctx, feeds.Source{URL: h.corpus + "/" + name, OnTopic: true})
		if err != nil {
			t.Fatal(err)
		}
		h.sources[name] = src.ID
	}
	quiet := slog.New(slog.DiscardHandler)
	poller := feeds.NewPoller(h.sq, feeds.NewClassifier(), feeds.NewRelater(5000), feeds.PollerOptions{
		AllowPrivate: true, Logger: quiet, Workers: 4,
	})
	start := time.Now()
	h.poll, err = poller.PollOnce(ctx, true, nil)
	if err != nil {
		t.Fatalf("polling the corpus: %v", err)
	}
	t.Logf("polled %d files in %v: %d new stories, %d failed", len(h.files), time.Since(start).Round(time.Millisecond),
		h.poll.NewStories, len(h.poll.Failed))

	keys, cs, commentOutbox := commentService(t, comments.Options{Store: h.sq, Stories: h.sq})
	letterOutbox := filepath.Join(t.TempDir(), "outbox")
	tr, err := tmail.Open("", letterOutbox, tmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	nl, err := newsletter.NewService(newsletter.Options{Store: h.sq, Stories: h.sq, Keys: keys, Mail: tr, BaseURL: testBase, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := admin.NewService(admin.Options{Store: h.sq, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.SetPassword(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	srv, err := views.New(views.Options{
		Stories: h.sq, BaseURL: testBase, Logger: quiet, Forms: keys, Comments: cs, Newsletter: nl, Admin: adm,
		TrustProxy: true, Discover: poller.Discover,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.ts = httptest.NewServer(h.wrap(srv.Handler()))
	t.Cleanup(h.ts.Close)
	h.as = &adminSite{newsroom: &newsroom{ts: h.ts, srv: srv, st: h.sq, keys: keys}}

	stories, err := h.sq.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, Limit: 1000})
	if err != nil || len(stories) < 20 {
		t.Fatalf("%d visible stories from the corpus (%v)", len(stories), err)
	}
	// A comment held for moderation and one approved, under stories with
	// hostile titles, so that the queue and the comment feed show them.
	slices.SortStableFunc(stories, func(a, b feeds.Story) int {
		return strings.Count(b.Title, "<") - strings.Count(a.Title, "<")
	})
	for i, st := range stories[:2] {
		c, err := cs.Submit(ctx, comments.Submission{
			StoryID: st.ID, Author: "Reader", Email: fmt.Sprintf("reader%d@example.org", i),
			Body: "About this story.", FormTime: time.Now().Add(-time.Minute), IP: fmt.Sprintf("192.0.2.%d", i+1),
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := cs.Approve(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
	}

	// This week's issue, composed and sent through the service to one
	// subscriber, so that it is in the archive and in the outbox.
	if _, err := nl.Import(ctx, strings.NewReader("subscriber@example.org\n"), nil); err != nil {
		t.Fatal(err)
	}
	is, err := nl.IssueFor(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	h.week = is.Week
	if rep, err := nl.Send(ctx, h.week, newsletter.SendOptions{}); err != nil {
		t.Fatalf("sending the issue: %+v %v", rep, err)
	}
	// The issue holds ten stories; an issue of every story checks the
	// renderer on the whole corpus.
	full, err := newsletter.Compose(ctx, h.sq, time.Now(), newsletter.ComposeOptions{BaseURL: testBase, Count: 100, PerSource: 100})
	if err != nil {
		t.Fatal(err)
	}
	h.full = full.HTML
	h.mails = readMails(t, commentOutbox, letterOutbox)

	h.pages = []string{"/", "/search?q=zebracorp", "/search?q=script", "/newsletter", "/newsletter/" + h.week}
	h.feeds = []string{"/feed.xml", "/atom.xml", "/feed.json", "/sitemap.xml", fmt.Sprintf("/stories/%d/comments.xml", stories[1].ID)}
	tags := map[string]bool{}
	for _, st := range stories {
		h.pages = append(h.pages, h.storyPath(t, st.ID))
		for _, tag := range st.Tags {
			tags[tag] = true
		}
	}
	for tag := range tags {
		h.pages = append(h.pages, "/topics/"+tag)
	}
	for _, name := range h.files {
		h.pages = append(h.pages, fmt.Sprintf("/sources/%d", h.sources[name]))
	}
	h.admin = []string{"/admin/", "/admin/feeds", "/admin/comments", "/admin/digests",
		"/admin/digests/preview/" + h.week, "/admin/subscribers"}
	return h
}

// serveCorpus serves the corpus on loopback and returns its URL and the
// file names, sorted.
func serveCorpus(t *testing.T) (string, []string) {
	t.Helper()
	files := generatedFeeds()
	entries, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(hostileDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	names := slices.Sorted(maps.Keys(files))
	corpus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		b, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		ct := hostileTypes[name]
		if ct == "" {
			ct = hostileTypes[path.Ext(name)]
		}
		w.Header().Set("Content-Type", ct)
		w.Write(b)
	}))
	t.Cleanup(corpus.Close)
	return corpus.URL, names
}

// storyPath is where /stories/ID leads.
func (h *hostileSite) storyPath(t *testing.T, id int64) string {
	t.Helper()
	p := fmt.Sprintf("/stories/%d", id)
	resp, _ := fetch(t, h.ts.URL+p)
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, "/") {
		return loc
	}
	return p
}

// wrap serves the site with "; report-uri /csp-report" added to every
// policy, plus /csp-report, /xss-hit (the marker of the payloads' loads)
// and the HTML of the mails under /mail/.
func (h *hostileSite) wrap(site http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/csp-report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		h.record(&h.reports, string(b))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/xss-hit", func(w http.ResponseWriter, r *http.Request) {
		h.record(&h.hits, r.URL.String())
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /mail/{name}", func(w http.ResponseWriter, r *http.Request) {
		body, csp := h.mailPage(r.PathValue("name"))
		if body == "" {
			http.NotFound(w, r)
			return
		}
		if csp != "" {
			w.Header().Set("Content-Security-Policy", csp+"; report-uri /csp-report")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site.ServeHTTP(&reportingWriter{ResponseWriter: w, h: h, path: r.URL.RequestURI()}, r)
	}))
	return mux
}

// mailPage is the HTML of a mail page and the policy to serve it under:
// issue.html and full.html under the archive's policy, the -bare ones
// under none.
func (h *hostileSite) mailPage(name string) (body, csp string) {
	// The archive's policy: inline styles, no script.
	const issueCSP = "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	switch strings.TrimSuffix(name, "-bare.html") {
	case "issue", "issue.html":
		for _, m := range h.mails {
			if m.header.Get("List-Unsubscribe") != "" {
				body = m.html
			}
		}
	case "full", "full.html":
		body = h.full
	}
	if !strings.HasSuffix(name, "-bare.html") {
		csp = issueCSP
	}
	return body, csp
}

func (h *hostileSite) record(list *[]string, s string) {
	h.mu.Lock()
	*list = append(*list, s)
	h.mu.Unlock()
}

// take returns a copy of list.
func (h *hostileSite) take(list *[]string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*list)
}

// reportingWriter adds the report endpoint to the site's policy and notes
// 5xx answers and HTML pages served without a script-free policy.
type reportingWriter struct {
	http.ResponseWriter
	h     *hostileSite
	path  string
	wrote bool
}

func (w *reportingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		hd := w.Header()
		csp := hd.Get("Content-Security-Policy")
		if csp != "" {
			hd.Set("Content-Security-Policy", csp+"; report-uri /csp-report")
		}
		if code >= 500 {
			w.h.record(&w.h.bad, fmt.Sprintf("%s: %d", w.path, code))
		}
		if strings.HasPrefix(hd.Get("Content-Type"), "text/html") && !strings.Contains(csp, "script-src 'none'") {
			w.h.record(&w.h.bad, fmt.Sprintf("%s: HTML with the policy %q", w.path, csp))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *reportingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *reportingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readMails decodes every message in the outbox directories.
func readMails(t *testing.T, dirs ...string) []hostileMail {
	t.Helper()
	var out []hostileMail
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			m := hostileMail{file: filepath.Base(f), header: msg.Header}
			mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || !strings.HasPrefix(mt, "multipart/") {
				t.Fatalf("%s: Content-Type %q (%v)", f, msg.Header.Get("Content-Type"), err)
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			for {
				part, err := mr.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(part) // quoted-printable is decoded by NextPart
				if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
					b, _ = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
				}
				if strings.HasPrefix(part.Header.Get("Content-Type"), "text/html") {
					m.html = string(b)
				} else {
					m.text = string(b)
				}
			}
			out = append(out, m)
		}
	}
	return out
}
