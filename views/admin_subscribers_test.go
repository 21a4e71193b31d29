package views_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/feeds"
	tmail "github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// letterAdminSite is the newsroom on SQLite with the real newsletter
// service delivering over SMTP to an in-process server, and the admin
// pages. The sink's RCPT hook waits at gate while it is closed, so a test
// can hold a send midway.
type letterAdminSite struct {
	*adminSite
	nl   *newsletter.Service
	sink *mailtest.Server
	next time.Time // what NextDigest answers

	gateMu sync.Mutex
	gate   chan struct{} // nil: open
}

func newLetterAdminSite(t *testing.T) *letterAdminSite {
	t.Helper()
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	ls := &letterAdminSite{adminSite: &adminSite{sq: sq, clock: &aheadClock{}}}
	ls.newsroom = fillNewsroom(t, sq)
	// A story of this week, so that the issue has something in it.
	src, err := sq.AddSource(ctx, feeds.Source{URL: "https://fresh.example/feed.xml", Title: "Fresh Wire"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sq.AddStory(ctx, feeds.Story{
		SourceID: src.ID, URL: "https://fresh.example/face-scans", GUID: "fresh", Title: "Regulator Fines Retailer Over Face Scans at the Door",
		Summary: "Shoppers were scanned without being told.", PublishedAt: time.Now().Add(-2 * time.Hour), FirstSeenAt: time.Now().Add(-time.Hour),
		Relevance: 0.9, Visible: true, Tags: []string{"biometrics"},
	}); err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ls.keys = keys
	ls.sink = mailtest.NewServer(t, mailtest.ServerOptions{Reject: func(_, _ string) error {
		ls.gateMu.Lock()
		g := ls.gate
		ls.gateMu.Unlock()
		if g != nil {
			<-g
		}
		return nil
	}})
	tr, err := tmail.Open(ls.sink.URL()+"?tls=none", "", tmail.Options{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ls.nl, err = newsletter.NewService(newsletter.Options{Store: sq, Stories: sq, Keys: keys, Mail: tr, BaseURL: testBase})
	if err != nil {
		t.Fatal(err)
	}
	ls.admin, err = admin.NewService(admin.Options{Store: sq, Keys: keys, Now: ls.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.admin.SetPassword(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	ls.next = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	ls.serve(t, views.Options{
		Stories: sq, BaseURL: testBase, Forms: keys, Newsletter: ls.nl, Admin: ls.admin, TrustProxy: true,
		NextDigest: func(time.Time) time.Time { return ls.next },
		DigestSend: newsletter.SendOptions{Workers: 2, Lease: 10 * time.Second},
	})
	return ls
}

// closeGate holds every RCPT until the returned function opens it again.
func (ls *letterAdminSite) closeGate() (open func()) {
	g := make(chan struct{})
	ls.gateMu.Lock()
	ls.gate = g
	ls.gateMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			ls.gateMu.Lock()
			ls.gate = nil
			ls.gateMu.Unlock()
			close(g)
		})
	}
}

// confirmed adds addrs as confirmed subscribers, as `subscribers import`.
func (ls *letterAdminSite) confirmed(t *testing.T, addrs ...string) {
	t.Helper()
	rep, err := ls.nl.Import(context.Background(), strings.NewReader(strings.Join(addrs, "\n")), func(line int, err error) {
		t.Errorf("import line %d: %v", line, err)
	})
	if err != nil || rep.Added != len(addrs) {
		t.Fatalf("import: %+v %v", rep, err)
	}
}

// checkKept fails unless the page shows value again in a field.
func checkKept(t *testing.T, what, body, value string) {
	t.Helper()
	if !strings.Contains(body, `value="`+value+`"`) {
		t.Errorf("%s: the page does not show %q again", what, value)
	}
}

func TestAdminSubscribers(t *testing.T) {
	ls := newLetterAdminSite(t)
	ls.confirmed(t, "ada@example.org", "Grace.Hopper@Example.org")
	if err := ls.nl.Subscribe(context.Background(), "pending.person@example.net", "/", "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	a := ls.client()
	a.mustLogin(t)

	resp, body := a.get(t, "/admin/subscribers")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/subscribers: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "GET /admin/subscribers", resp, body)
	for _, want := range []string{
		"<dt>Confirmed</dt><dd>2</dd>", "<dt>Awaiting confirmation</dt><dd>1</dd>",
		"<dt>Unsubscribed</dt><dd>0</dd>", "<dt>All addresses</dt><dd>3</dd>",
		`href="/admin/subscribers" aria-current="page"`, `href="/admin/digests"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the subscribers page lacks %q", want)
		}
	}
	for _, addr := range []string{"ada@example.org", "Grace.Hopper", "pending.person"} {
		if strings.Contains(body, addr) {
			t.Errorf("the subscribers page lists %s", addr)
		}
	}

	// Look-up, in any case; the address goes in the body, not the URL.
	resp, body = a.post(t, "/admin/subscribers/lookup", "email", "grace.hopper@example.ORG")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<dd class="subscriber-status">confirmed</dd>`) ||
		!strings.Contains(body, "Signed up") || strings.Contains(body, "not confirmed") {
		t.Errorf("look-up of a confirmed address: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "POST lookup", resp, body)
	resp, body = a.post(t, "/admin/subscribers/lookup", "email", "Pending.Person@example.net")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<dd class="subscriber-status">pending</dd>`) || !strings.Contains(body, "not confirmed") {
		t.Errorf("look-up of a pending address: %d\n%s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		typed string
		code  int
		msg   string
	}{
		{"", http.StatusBadRequest, "Enter the address to look for."},
		{"not-an-address", http.StatusBadRequest, "That address has no @."},
		{"nobody@example.org", http.StatusNotFound, "No subscriber has that address."},
		{"<script>@x", http.StatusBadRequest, "without a name or angle brackets"},
	} {
		resp, body := a.post(t, "/admin/subscribers/lookup", "email", tc.typed)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("look-up of %q: %d, want %d with %q\n%s", tc.typed, resp.StatusCode, tc.code, tc.msg, body)
		}
		if tc.typed != "" && !strings.Contains(tc.typed, "<") {
			checkKept(t, "look-up of "+tc.typed, body, tc.typed)
		}
		if strings.Contains(body, "<script>@x") {
			t.Error("the typed address is not escaped")
		}
	}

	// Erasure needs the address twice.
	for _, tc := range []struct {
		email, again string
		code         int
		msg          string
	}{
		{"", "", http.StatusBadRequest, "Enter the address to erase."},
		{"ada@example.org", "", http.StatusBadRequest, "Type the address a second time"},
		{"ada@example.org", "ada@example.com", http.StatusBadRequest, "The two addresses differ."},
		{"ada at example.org", "ada at example.org", http.StatusBadRequest, "An email address cannot contain spaces."},
		{"nobody@example.org", "nobody@example.org", http.StatusNotFound, "No subscriber has that address."},
	} {
		resp, body := a.post(t, "/admin/subscribers/remove", "email", tc.email, "confirm", tc.again)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("erasing %q/%q: %d, want %d with %q\n%s", tc.email, tc.again, resp.StatusCode, tc.code, tc.msg, body)
		}
		if tc.email != "" {
			checkKept(t, "erasing "+tc.email, body, tc.email)
		}
		if tc.again != "" {
			checkKept(t, "erasing "+tc.email, body, tc.again)
		}
	}
	if _, err := ls.nl.Lookup(context.Background(), "ada@example.org"); err != nil {
		t.Fatalf("a refused erasure erased: %v", err)
	}
	resp, body = a.post(t, "/admin/subscribers/remove", "email", "ADA@example.org", "confirm", "ada@example.org")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/subscribers?done=removed" {
		t.Fatalf("erasing: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, err := ls.nl.Lookup(context.Background(), "ada@example.org"); err == nil {
		t.Error("the subscriber is still stored after the erasure")
	}
	_, body = a.get(t, resp.Header.Get("Location"))
	if !strings.Contains(body, "The subscriber was erased") || !strings.Contains(body, "<dt>Confirmed</dt><dd>1</dd>") {
		t.Errorf("after the erasure, the page says:\n%s", body)
	}

	// The export: the CLI's CSV, as a download nobody caches.
	resp, body = a.get(t, "/admin/subscribers/export.csv")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "export", resp, "")
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="tidings-subscribers-`) {
		t.Errorf("export Content-Disposition %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("export Content-Type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != "email,status,created_at,confirmed_at" ||
		rows[1][0] != "Grace.Hopper@example.org" || rows[1][1] != "confirmed" || rows[2][1] != "pending" || rows[2][3] != "" {
		t.Errorf("export:\n%s", body)
	}
}

// Without a session the subscriber pages refuse, and nothing is erased;
// with one, a POST without its form token is refused too.
func TestAdminSubscribersNeedSession(t *testing.T) {
	ls := newLetterAdminSite(t)
	ls.confirmed(t, "ada@example.org")
	anon := ls.client()
	for _, path := range []string{"/admin/subscribers", "/admin/subscribers/export.csv", "/admin/digests", "/admin/digests/preview/2026-W49"} {
		resp, body := anon.get(t, path)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login") || strings.Contains(body, "ada@") {
			t.Errorf("GET %s without a session: %d to %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, path := range []string{"/admin/subscribers/lookup", "/admin/subscribers/remove", "/admin/digests/compose", "/admin/digests/test", "/admin/digests/send"} {
		resp, body := anon.post(t, path, "email", "ada@example.org", "confirm", "ada@example.org", "week", "2026-W49")
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "confirmed") {
			t.Errorf("POST %s without a session: %d\n%s", path, resp.StatusCode, body)
		}
	}
	a := ls.client()
	a.mustLogin(t)
	resp, _ := a.postRaw(t, "/admin/subscribers/remove", map[string][]string{"email": {"ada@example.org"}, "confirm": {"ada@example.org"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an erasure without a form token: %d, want 403", resp.StatusCode)
	}
	if _, err := ls.nl.Lookup(context.Background(), "ada@example.org"); err != nil {
		t.Errorf("a refused erasure erased: %v", err)
	}
	if got := ls.sink.Count(); got != 0 {
		t.Errorf("refused requests sent %d mails", got)
	}
}
