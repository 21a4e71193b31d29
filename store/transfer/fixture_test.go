package transfer_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/transfer"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// clock is the time of every service in these tests: fixed, so that the
// issue's week and the comments' times are the same wherever they are read.
var clock = time.Now().UTC().Truncate(time.Second)

func now() time.Time { return clock }

// testKeys is the one secret key every site of these tests shares, as the
// sites before and after a move must.
var testKeys = func() *secrets.Keys {
	k, err := secrets.New(bytes.Repeat([]byte("t"), 32))
	if err != nil {
		panic(err)
	}
	return k
}()

// site is a store with the services a running site has on it; mail goes to
// an outbox directory.
type site struct {
	st     store.Store
	nl     *newsletter.Service
	cm     *comments.Service
	outbox string
}

func newSite(t *testing.T, storeURL string) *site {
	t.Helper()
	st, err := store.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &site{st: st, outbox: t.TempDir()}
	tr, err := mail.Open("", s.outbox, mail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	s.nl, err = newsletter.NewService(newsletter.Options{Store: st, Stories: st, Keys: testKeys, Mail: tr,
		BaseURL: "https://news.example.org", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s.cm, err = comments.NewService(comments.Options{Store: st, Stories: st, Keys: testKeys, Mail: tr,
		BaseURL: "https://news.example.org", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *site) dumper(t *testing.T) transfer.Dumper {
	d, ok := s.st.(transfer.Dumper)
	if !ok {
		t.Fatalf("%T is no transfer.Dumper", s.st)
	}
	return d
}

func (s *site) restorer(t *testing.T) transfer.Restorer {
	r, ok := s.st.(transfer.Restorer)
	if !ok {
		t.Fatalf("%T is no transfer.Restorer", s.st)
	}
	return r
}

// mailed counts the messages in the site's outbox.
func (s *site) mailed(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(s.outbox)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// The addresses of the fixture: none may appear in an export.
var (
	subscriberAddrs = []string{"reader.one@example.org", "Reader.Two@Example.NET", "third.reader@example.com",
		"fourth+tag@example.org", "fifth.person@mail.example", "sixth.late@example.org", "pending.person@example.org",
		"erased.person@example.org"}
	commenterAddrs = map[string]string{"Ann": "ann.commenter@example.org", "Bob": "bob.replies@example.net",
		"Carol": "carol.links@example.com", "Dave": "dave.bot@spam.example", "Eve": "eve.rejected@example.org",
		"Frank": "frank.deleted@example.org"}
)

// feedServer serves two RSS feeds made of the labelled headlines in
// testdata, dated in the days before clock; the second repeats a few of the
// first's privacy headlines, so that stories cluster across sources.
func feedServer(t *testing.T) *httptest.Server {
	t.Helper()
	f, err := os.Open("testdata/headlines.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type row struct {
		onTopic, title, summary string
		at                      time.Time
	}
	var rows []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if strings.HasPrefix(sc.Text(), "#") || len(cols) != 5 {
			continue
		}
		at := clock.Add(-time.Duration(len(rows)+1) * 97 * time.Minute)
		rows = append(rows, row{cols[0], cols[3], cols[4], at})
	}
	if len(rows) < 100 {
		t.Fatalf("only %d headlines in testdata", len(rows))
	}
	rss := func(host string, rows []row) string {
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>https://%s/</link>`, host, host)
		for i, r := range rows {
			fmt.Fprintf(&b, `<item><title>%s</title><link>https://%s/%d</link><guid>%s-%d</guid><pubDate>%s</pubDate><description>%s</description></item>`,
				html.EscapeString(r.title), host, i, host, i, r.at.Format(time.RFC1123Z), html.EscapeString(r.summary))
		}
		return b.String() + `</channel></rss>`
	}
	// The second outlet reports six of the first's privacy stories too,
	// half an hour later.
	var echo []row
	for _, r := range rows[:60] {
		if r.onTopic == "1" && len(echo) < 6 {
			r.at = r.at.Add(30 * time.Minute)
			echo = append(echo, r)
		}
	}
	a, b := rss("wire.example", rows[:70]), rss("echo.example", append(echo, rows[70:]...))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		switch r.URL.Path {
		case "/a.xml":
			fmt.Fprint(w, a)
		case "/b.xml":
			fmt.Fprint(w, b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// build fills a site through the real services: two polled feeds; eight
// subscribers (imported, signed up, unsubscribed, erased) and a sent issue;
// comments approved, replied to, held, rejected, marked spam and deleted;
// the admin password and a one-time mark.
func build(t *testing.T, s *site) {
	t.Helper()
	ctx := t.Context()
	srv := feedServer(t)
	if _, err := s.st.MarkOnce(ctx, "default-sources"); err != nil {
		t.Fatal(err)
	}
	p := feeds.NewPoller(s.st, feeds.NewClassifier(), feeds.NewRelater(5000), feeds.PollerOptions{
		AllowPrivate: true, Now: now, Logger: slog.New(slog.DiscardHandler),
	})
	// The second outlet is polled after the first, so its copies of the
	// first's stories join their clusters.
	for _, feed := range []struct {
		paths  []string
		stored int
	}{{[]string{"/a.xml", "/gone.xml"}, 70}, {[]string{"/b.xml"}, 56}} {
		for _, path := range feed.paths {
			if _, err := s.st.AddSource(ctx, feeds.Source{URL: srv.URL + path, OnTopic: path == "/gone.xml"}); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := p.PollOnce(ctx, false, nil)
		if err != nil || sum.NewStories != feed.stored || len(sum.Failed) != len(feed.paths)-1 {
			t.Fatalf("poll of %v: %+v, %v", feed.paths, sum, err)
		}
	}

	// Subscribers.
	csv := strings.Join(subscriberAddrs[:5], "\n") + "\n" + subscriberAddrs[7] + "\n"
	if _, err := s.nl.Import(ctx, strings.NewReader(csv), func(line int, err error) { t.Errorf("import line %d: %v", line, err) }); err != nil {
		t.Fatal(err)
	}
	if err := s.nl.Subscribe(ctx, subscriberAddrs[6], "/stories/1", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	unsubscribe(t, s, subscriberAddrs[2])
	if err := s.nl.Remove(ctx, subscriberAddrs[7]); err != nil {
		t.Fatal(err)
	}
	rep, err := s.nl.Send(ctx, "", newsletter.SendOptions{})
	if err != nil || rep.Sent != 4 {
		t.Fatalf("send: %+v, %v", rep, err)
	}
	if _, err := s.nl.Import(ctx, strings.NewReader(subscriberAddrs[5]+"\n"), nil); err != nil {
		t.Fatal(err)
	}

	// Comments under the newest visible story.
	home, err := s.st.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Limit: 2})
	if err != nil || len(home) < 2 {
		t.Fatalf("home: %d stories, %v", len(home), err)
	}
	story, other := home[0].ID, home[1].ID
	ip := 0
	submit := func(author string, parent int64, body, honeypot string, onStory int64) comments.Comment {
		t.Helper()
		ip++
		c, err := s.cm.Submit(ctx, comments.Submission{StoryID: onStory, ParentID: parent, Author: author,
			Email: commenterAddrs[author], Body: body, Notify: author == "Ann", Honeypot: honeypot,
			FormTime: clock.Add(-time.Minute), IP: fmt.Sprintf("203.0.113.%d", ip)})
		if err != nil {
			t.Fatalf("comment by %s: %v", author, err)
		}
		return c
	}
	approve := func(c comments.Comment) {
		t.Helper()
		if _, err := s.cm.Approve(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	ann := submit("Ann", 0, "End-to-end encryption is the point here.\n\nSee the spec.", "", story)
	approve(ann)
	bob := submit("Bob", ann.ID, "Metadata still leaks, though.", "", story)
	approve(bob)
	if again := submit("Ann", bob.ID, "True: who talks to whom is visible.", "", story); again.Status != comments.Approved {
		t.Fatalf("a returning commenter was held: %+v", again)
	}
	submit("Carol", 0, "Read https://a.example/x and https://b.example/y", "", story)
	submit("Dave", 0, "cheap pills", "http://spam.example", story)
	if _, err := s.cm.Reject(ctx, submit("Eve", 0, "off topic rant", "", other).ID); err != nil {
		t.Fatal(err)
	}
	frank := submit("Frank", 0, "I will regret this.", "", other)
	approve(frank)
	if err := s.cm.Delete(ctx, frank.ID); err != nil {
		t.Fatal(err)
	}

	ap, ok := s.st.(interface {
		SetAdminPassword(context.Context, string) error
	})
	if !ok {
		t.Fatalf("%T keeps no admin password", s.st)
	}
	hash, err := admin.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.SetAdminPassword(ctx, hash); err != nil {
		t.Fatal(err)
	}
}

// unsubscribe follows the unsubscribe link of the subscriber with addr.
func unsubscribe(t *testing.T, s *site, addr string) {
	t.Helper()
	ctx := t.Context()
	sub, err := s.st.SubscriberByIndex(ctx, testKeys.BlindIndex(newsletter.IndexForm(strings.ToLower(addr))))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s.nl.UnsubscribeURL(sub.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.nl.Unsubscribe(ctx, u.Query().Get("token")); err != nil {
		t.Fatal(err)
	}
}
