package views_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	tmail "github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// newsroom is a site on a real SQLite file holding a small, realistic set of
// stories: a WhatsApp story with Similar Posts, a cluster covered by three
// outlets, a hidden story, and stories carrying hostile titles and links.
type newsroom struct {
	ts  *httptest.Server
	srv *views.Server
	st  feeds.Store
	// comments is the real comment service, when the store keeps comments;
	// keys sign its tokens and the site's forms.
	comments *comments.Service
	keys     *secrets.Keys
	// ids names the stories by a short key.
	ids  map[string]int64
	srcs map[string]int64
}

// hostile is a title and summary that try to run script in every context.
const (
	hostileTitle   = `Breach at </script><script>alert(1)</script> "Acme" <img src=x onerror=alert(2)>`
	hostileSummary = `Leaked records <script>alert(3)</script> and <img src=x onerror="alert(4)"> ' " & </title>`
)

const testBase = "https://news.example.org"

func newNewsroom(t *testing.T) *newsroom {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newNewsroomOn(t, st)
}

// newNewsroomOn fills an empty store with the newsroom's sources and stories
// and serves the site over it.
func newNewsroomOn(t *testing.T, st feeds.Store) *newsroom {
	t.Helper()
	n := fillNewsroom(t, st)
	opts := views.Options{Stories: st, BaseURL: testBase + "/"}
	if cs, ok := st.(comments.Store); ok {
		n.keys, n.comments, _ = commentService(t, comments.Options{Store: cs, Stories: st})
		opts.Forms, opts.Comments = n.keys, n.comments
	}
	n.serve(t, opts)
	return n
}

// fillNewsroom puts the newsroom's sources and stories in an empty store.
func fillNewsroom(t *testing.T, st feeds.Store) *newsroom {
	t.Helper()
	ctx := context.Background()
	n := &newsroom{st: st, ids: map[string]int64{}, srcs: map[string]int64{}}
	for _, s := range []feeds.Source{
		{URL: "https://byteline.example/feed.xml", Title: "Byteline", SiteURL: "https://byteline.example/"},
		{URL: "https://nightwatch.example/atom.xml", Title: "Night Watch", SiteURL: "https://nightwatch.example/"},
		{URL: "https://rightswire.example/feed.json", Title: "Rights Wire"},
	} {
		got, err := st.AddSource(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		n.srcs[s.Title] = got.ID
	}
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	hour := 0
	add := func(key, src, title, summary, url string, visible bool, tags []string, cluster string) {
		t.Helper()
		hour++
		s, created, err := st.AddStory(ctx, feeds.Story{
			SourceID: n.srcs[src], URL: url, GUID: "test:" + key, Title: title, Summary: summary,
			Author: "Staff", PublishedAt: base.Add(time.Duration(hour) * time.Hour), FirstSeenAt: base,
			Relevance: 0.8, Visible: visible, Tags: tags, ClusterID: n.ids[cluster],
		})
		if err != nil || !created {
			t.Fatalf("adding %s: %v %v", key, created, err)
		}
		n.ids[key] = s.ID
	}
	add("metadata", "Night Watch", "Why Message Metadata Still Reveals Who You Talk To",
		"Even with end-to-end encryption, metadata about who messages whom and when can be retained and handed over.",
		"https://nightwatch.example/2026/metadata", true, []string{"messaging", "metadata"}, "")
	add("e2ee", "Rights Wire", "Signal and WhatsApp Defend End-to-End Encryption Against Scanning Plans",
		"Messaging apps warned that client-side scanning would break the encryption their users rely on.",
		"https://rightswire.example/e2ee", true, []string{"encryption", "messaging"}, "")
	add("hidden", "Byteline", "Quarterly Earnings Beat Expectations",
		"A chip maker reported strong results.", "https://byteline.example/earnings", false, nil, "")
	add("whatsapp", "Byteline", "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims",
		"The head of WhatsApp rejected claims that the app exports user data every night, pointing to its end-to-end encryption.",
		"https://byteline.example/2026/11/whatsapp-musk", true, []string{"encryption", "messaging"}, "")
	add("whatsapp-nw", "Night Watch", "Musk and WhatsApp Chief Trade Barbs Over Privacy",
		"A public spat over what WhatsApp does with its users' data.",
		"https://nightwatch.example/2026/whatsapp-musk", true, []string{"messaging"}, "whatsapp")
	add("whatsapp-rw", "Rights Wire", "WhatsApp Responds to Musk's Data Claims",
		"WhatsApp says messages stay encrypted.", "https://rightswire.example/whatsapp", true, []string{"messaging"}, "whatsapp")
	add("hostile", "Rights Wire", hostileTitle, hostileSummary,
		"https://rightswire.example/breach", true, []string{"data-breach"}, "")
	add("tracked", "Byteline", "Ad Trackers Found in Health Apps",
		"Researchers found tracking code sharing data with advertisers.",
		"https://byteline.example/trackers?utm_source=rss&utm_medium=feed&id=7", true, []string{"health-data", "tracking"}, "")
	add("jslink", "Night Watch", "A Story Whose Link Is Not a Web Address",
		"The feed gave this story a script link.", "javascript:alert(5)", true, []string{"tracking"}, "")
	if err := st.SetSimilar(ctx, n.ids["whatsapp"], []feeds.Related{
		{ID: n.ids["e2ee"], Score: 0.61}, {ID: n.ids["hidden"], Score: 0.5},
		{ID: n.ids["metadata"], Score: 0.44}, {ID: 999999, Score: 0.3},
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// serve starts the site over the newsroom's store with opts.
func (n *newsroom) serve(t *testing.T, opts views.Options) {
	t.Helper()
	srv, err := views.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	n.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(n.ts.Close)
}

// commentService is the real comment service on o (Store and Stories set),
// with real keys and mails written to an outbox directory, whose path it
// returns.
func commentService(t testing.TB, o comments.Options) (*secrets.Keys, *comments.Service, string) {
	t.Helper()
	keys, err := secrets.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(t.TempDir(), "outbox")
	tr, err := tmail.Open("", outbox, tmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	o.Keys, o.Mail, o.BaseURL, o.Moderator = keys, tr, testBase, "moderator@news.example.org"
	svc, err := comments.NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	return keys, svc, outbox
}

// noRedirects is a client that reports redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fetch sends a GET with the given headers and returns the response and its
// body, gunzipped when the server gzipped it.
func fetch(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// Setting Accept-Encoding ourselves stops the transport from gunzipping,
	// so the test sees what the server sent.
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("%s: bad gzip: %v", url, err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: reading: %v", url, err)
	}
	return resp, string(b)
}

// page fetches a page that must answer 200.
func (n *newsroom) page(t *testing.T, path string) string {
	t.Helper()
	resp, body := fetch(t, n.ts.URL+path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	return body
}
