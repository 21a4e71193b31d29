package newsletter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// nlFixture is a newsletter service on a real store, mailing through a real
// SMTP conversation with an in-process server, on a clock tests can move.
type nlFixture struct {
	svc    *newsletter.Service
	st     store.Store
	sink   *mailtest.Server
	keys   *secrets.Keys
	offset atomic.Int64 // added to the real time
	url    string
}

func (f *nlFixture) now() time.Time          { return time.Now().Add(time.Duration(f.offset.Load())).UTC() }
func (f *nlFixture) advance(d time.Duration) { f.offset.Add(int64(d)) }
func (f *nlFixture) sendOpts() newsletter.SendOptions {
	return newsletter.SendOptions{Lease: 2 * time.Second, RetryBase: 20 * time.Millisecond}
}

// stores lists the stores every service test runs on.
func stores(t *testing.T) map[string]string {
	return map[string]string{
		"sqlite":  "sqlite:" + filepath.Join(t.TempDir(), "nl.db"),
		"redis":   redistest.Server(t),
		"cluster": redistest.Cluster(t),
	}
}

func newNLFixture(t *testing.T, storeURL string, reject func(from, to string) error) *nlFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := secrets.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	sink := mailtest.NewServer(t, mailtest.ServerOptions{Reject: reject})
	tr, err := mail.Open(sink.URL()+"?tls=none", "", mail.Options{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	f := &nlFixture{st: st, sink: sink, keys: keys, url: storeURL}
	f.svc, err = newsletter.NewService(newsletter.Options{
		Store: st, Stories: st, Keys: keys, Mail: tr,
		SiteName: "Tidings", BaseURL: "https://news.example.org", From: "Tidings <digest@news.example.org>",
		Now: f.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seedStories stores a few visible stories of the past days.
func (f *nlFixture) seedStories(t *testing.T, titles ...string) {
	t.Helper()
	ctx := context.Background()
	src, err := f.st.AddSource(ctx, feeds.Source{URL: "https://eff.example.org/feed.xml", Title: "Digital Rights Desk", OnTopic: true})
	if err != nil && !errors.Is(err, feeds.ErrExists) {
		t.Fatal(err)
	}
	var sts []feeds.Story
	for i, title := range titles {
		at := f.now().Add(-time.Duration(i+1) * 6 * time.Hour)
		sts = append(sts, feeds.Story{
			SourceID: src.ID, GUID: "g-" + title, URL: "https://eff.example.org/" + url.PathEscape(title),
			Title: title, Summary: "What happened and why it matters for privacy.",
			PublishedAt: at, FirstSeenAt: at, Relevance: 0.9, Tags: []string{"encryption"}, Visible: true,
		})
	}
	if _, err := f.st.AddStories(ctx, sts); err != nil {
		t.Fatal(err)
	}
}

// lastTo returns the newest message sent to addr.
func (f *nlFixture) lastTo(t *testing.T, addr string) mailtest.Received {
	t.Helper()
	msgs := f.sink.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, addr) {
			return msgs[i]
		}
	}
	t.Fatalf("no message to %s among %d", addr, len(msgs))
	return mailtest.Received{}
}

// parts decodes a multipart/alternative message into its text and HTML.
func parts(t *testing.T, m mailtest.Received) (text, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(m.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p) // NextPart undoes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	if text == "" || html == "" {
		t.Fatalf("message lacks a text or an HTML part")
	}
	return text, html
}

var tokenRE = regexp.MustCompile(`https://news\.example\.org/(subscribe/confirm|unsubscribe)\?token=([A-Za-z0-9_.-]+)`)

// linkToken finds the token of the first link to path in s.
func linkToken(t *testing.T, s, path string) string {
	t.Helper()
	for _, m := range tokenRE.FindAllStringSubmatch(s, -1) {
		if m[1] == path {
			return m[2]
		}
	}
	t.Fatalf("no %s link in %q", path, s)
	return ""
}

func TestSubscribeConfirmSendUnsubscribe(t *testing.T) {
	for name, u := range stores(t) {
		t.Run(name, func(t *testing.T) { subscribeFlow(t, u) })
	}
}

func subscribeFlow(t *testing.T, storeURL string) {
	ctx := context.Background()
	f := newNLFixture(t, storeURL, nil)
	f.seedStories(t, "Court Rules Phone Searches Need a Warrant", "Messenger Ships End-to-End Encryption by Default")
	const typed = " Reader.One@Example.ORG "
	const addr = "Reader.One@example.org"

	// Sign-up: one confirmation mail whose only outside text is the address.
	if err := f.svc.Subscribe(ctx, typed, "/stories/1/x", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if n := f.sink.CountTo(addr); n != 1 {
		t.Fatalf("%d confirmation mails, want 1", n)
	}
	conf := f.lastTo(t, addr)
	if id := conf.Header.Get("Message-Id"); !strings.HasSuffix(id, "@news.example.org>") {
		t.Errorf("Message-ID %q", id)
	}
	text, html := parts(t, conf)
	token := linkToken(t, text, "subscribe/confirm")
	if linkToken(t, html, "subscribe/confirm") != token {
		t.Error("the text and HTML parts carry different confirmation links")
	}
	if !strings.Contains(text, addr) {
		t.Errorf("the confirmation mail does not say which address: %q", text)
	}

	// Asking again (any case, any spacing) within ten minutes sends nothing
	// and says nothing different; after ten minutes, one more mail.
	if err := f.svc.Subscribe(ctx, "reader.one@EXAMPLE.org", "/", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if n := f.sink.Count(); n != 1 {
		t.Errorf("a second sign-up within 10 minutes sent mail: %d messages", n)
	}
	f.advance(11 * time.Minute)
	if err := f.svc.Subscribe(ctx, addr, "/", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if n := f.sink.CountTo(addr); n != 2 {
		t.Errorf("after 10 minutes: %d confirmation mails, want 2", n)
	}

	// Bad tokens; GET-side check changes nothing.
	for _, bad := range []string{"", "x", token + "x", strings.Replace(token, "A", "B", 1)} {
		if err := f.svc.Confirm(ctx, bad); bad != token && !errors.Is(err, newsletter.ErrBadToken) {
			t.Errorf("Confirm(%q) = %v, want ErrBadToken", bad, err)
		}
	}
	if err := f.svc.CheckConfirm(ctx, token); err != nil {
		t.Fatalf("CheckConfirm: %v", err)
	}
	if c, _ := f.svc.Counts(ctx); c[newsletter.Confirmed] != 0 || c[newsletter.Pending] != 1 {
		t.Fatalf("after CheckConfirm: %v, want one pending", c)
	}
	if err := f.svc.Confirm(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Confirm(ctx, token); err != nil {
		t.Errorf("confirming twice: %v", err)
	}
	if c, _ := f.svc.Counts(ctx); c[newsletter.Confirmed] != 1 {
		t.Fatalf("after Confirm: %v", c)
	}
	sub, err := f.st.SubscriberByIndex(ctx, f.keys.BlindIndex(newsletter.IndexForm(addr)))
	if err != nil {
		t.Fatal(err)
	}
	if sub.ConsentAt.IsZero() || sub.ConsentPage != "/" || sub.ConsentIP == "" || strings.Contains(sub.ConsentIP, "198.51") {
		t.Errorf("consent record %v / %q / %q", sub.ConsentAt, sub.ConsentPage, sub.ConsentIP)
	}

	// The digest.
	before := f.sink.Count()
	rep, err := f.svc.Send(ctx, "", f.sendOpts())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 1 || rep.Pending != 0 || f.sink.Count() != before+1 {
		t.Fatalf("send: %+v, %d new messages", rep, f.sink.Count()-before)
	}
	dig := f.lastTo(t, addr)
	unsub := dig.Header.Get("List-Unsubscribe")
	if !strings.HasPrefix(unsub, "<https://news.example.org/unsubscribe?token=") ||
		dig.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe %q, -Post %q", unsub, dig.Header.Get("List-Unsubscribe-Post"))
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(dig.Header.Get("Subject")); !strings.Contains(subj, "Court Rules Phone Searches") && !strings.Contains(subj, "Messenger Ships") {
		t.Errorf("subject %q names no headline", subj)
	}
	text, html = parts(t, dig)
	for _, body := range []string{text, html} {
		if !strings.Contains(body, "Messenger Ships End-to-End Encryption by Default") || strings.Contains(body, newsletter.UnsubscribePlaceholder) {
			t.Errorf("digest body lacks a story or keeps the placeholder: %q", body)
		}
		if got := linkToken(t, body, "unsubscribe"); !strings.Contains(unsub, got) {
			t.Errorf("the body's unsubscribe link differs from List-Unsubscribe")
		}
	}
	if strings.Contains(html, "<img") {
		t.Error("the digest has an image (a tracking pixel?)")
	}

	// A second send sends nothing; the archive shows the issue.
	rep, err = f.svc.Send(ctx, "", f.sendOpts())
	if err != nil || rep.Sent != 1 || f.sink.Count() != before+1 {
		t.Errorf("second send: %+v %v, %d new messages", rep, err, f.sink.Count()-before)
	}
	issues, err := f.svc.Issues(ctx)
	if err != nil || len(issues) != 1 || issues[0].SentAt.IsZero() {
		t.Fatalf("archive: %v %v", issues, err)
	}

	// Unsubscribe with the link's token: at once, twice harmlessly.
	u, _ := url.Parse(strings.Trim(unsub, "<>"))
	if err := f.svc.CheckUnsubscribe(ctx, u.Query().Get("token")); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Confirm(ctx, u.Query().Get("token")); !errors.Is(err, newsletter.ErrBadToken) {
		t.Errorf("an unsubscribe token confirmed: %v", err)
	}
	for range 2 {
		if err := f.svc.Unsubscribe(ctx, u.Query().Get("token")); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := f.svc.Counts(ctx); c[newsletter.Unsubscribed] != 1 || c[newsletter.Confirmed] != 0 {
		t.Errorf("after unsubscribing: %v", c)
	}

	// The confirmation link expires after 48 hours.
	if err := f.svc.Subscribe(ctx, "late@example.org", "/", "198.51.100.8"); err != nil {
		t.Fatal(err)
	}
	late, _ := parts(t, f.lastTo(t, "late@example.org"))
	f.advance(49 * time.Hour)
	if err := f.svc.Confirm(ctx, linkToken(t, late, "subscribe/confirm")); !errors.Is(err, newsletter.ErrTokenExpired) {
		t.Errorf("a 49-hour-old link: %v, want ErrTokenExpired", err)
	}
	// ... and the unconfirmed sign-up is erased after a week.
	f.advance(6 * 24 * time.Hour)
	if n, err := f.svc.PurgePending(ctx); err != nil || n != 1 {
		t.Errorf("PurgePending = %d, %v; want 1", n, err)
	}

	assertNoPlainAddress(t, f, []string{addr, "late@example.org"})
}

func TestSubscribeRefusesBadAddresses(t *testing.T) {
	f := newNLFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "bad.db"), nil)
	for _, bad := range []string{"", "no-at-sign", "a@b.org\r\nBcc: victim@example.org", "Bob <bob@example.org>",
		"bob@example.org, eve@example.org", strings.Repeat("a", 250) + "@example.org", "bob\u200b@example.org"} {
		err := f.svc.Subscribe(context.Background(), bad, "/", "192.0.2.1")
		var ae *newsletter.AddressError
		if !errors.As(err, &ae) || ae.Reason == "" {
			t.Errorf("Subscribe(%q) = %v, want an *AddressError", bad, err)
		}
	}
	if f.sink.Count() != 0 {
		t.Errorf("bad addresses got %d mails", f.sink.Count())
	}
	if c, _ := f.svc.Counts(context.Background()); c[newsletter.Pending] != 0 {
		t.Errorf("bad addresses were stored: %v", c)
	}
}

// TestSubscribeAfterFailedMail: when the confirmation mail could not be
// sent, asking again sends it at once instead of after ConfirmMailInterval.
func TestSubscribeAfterFailedMail(t *testing.T) {
	var refused atomic.Int32
	reject := func(from, to string) error {
		if refused.Add(1) == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}
	f := newNLFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "retry-confirm.db"), reject)
	ctx := context.Background()
	if err := f.svc.Subscribe(ctx, "later@example.org", "/", "192.0.2.7"); !errors.Is(err, newsletter.ErrMailFailed) {
		t.Fatalf("first sign-up with the mail refused: %v, want ErrMailFailed", err)
	}
	if err := f.svc.Subscribe(ctx, "later@example.org", "/", "192.0.2.7"); err != nil {
		t.Fatalf("asking again: %v", err)
	}
	if n := f.sink.CountTo("later@example.org"); n != 1 {
		t.Errorf("%d confirmation mails after asking again, want 1", n)
	}
	if err := f.svc.Subscribe(ctx, "later@example.org", "/", "192.0.2.7"); err != nil || f.sink.CountTo("later@example.org") != 1 {
		t.Errorf("a third sign-up within the interval: %v, %d mails, want still 1", err, f.sink.CountTo("later@example.org"))
	}
}

// TestSubscribeLimitsClients: one client (here an IPv6 /64 rotating its
// last bits) gets DefaultSignupsPerHour sign-ups an hour; the next is
// refused before anything is stored or mailed, while other clients go on.
func TestSubscribeLimitsClients(t *testing.T) {
	f := newNLFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "limit.db"), nil)
	ctx := context.Background()
	subscribe := func(i int, ip string) error {
		return f.svc.Subscribe(ctx, fmt.Sprintf("stranger%d@example.org", i), "/", ip)
	}
	for i := range newsletter.DefaultSignupsPerHour {
		if err := subscribe(i, fmt.Sprintf("2001:db8:7:7::%x", i+1)); err != nil {
			t.Fatalf("sign-up %d: %v", i+1, err)
		}
	}
	if err := subscribe(100, "2001:db8:7:7:ffff::1"); !errors.Is(err, newsletter.ErrTooManySignups) {
		t.Fatalf("sign-up past the limit: %v, want ErrTooManySignups", err)
	}
	if err := subscribe(101, "::ffff:192.0.2.9"); err != nil {
		t.Fatalf("another client: %v", err)
	}
	want := newsletter.DefaultSignupsPerHour + 1
	if n := f.sink.Count(); n != want {
		t.Errorf("%d confirmation mails, want %d", n, want)
	}
	if c, _ := f.svc.Counts(ctx); c[newsletter.Pending] != want {
		t.Errorf("%d pending sign-ups stored, want %d", c[newsletter.Pending], want)
	}
	f.advance(time.Hour)
	if err := subscribe(102, "2001:db8:7:7::1"); err != nil {
		t.Errorf("an hour later: %v", err)
	}
}

// TestSendRetriesAndBounces: a 4xx is retried until accepted; a 5xx fails
// that recipient, and three in a row (three weekly issues) make it bounced,
// after which it is skipped.
func TestSendRetriesAndBounces(t *testing.T) {
	var soft atomic.Int32
	reject := func(from, to string) error {
		switch to {
		case "soft@example.org":
			if soft.Add(1) <= 2 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}
		case "hard@example.org":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	f := newNLFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "retry.db"), reject)
	f.seedStories(t, "Regulator Fines Data Broker")
	ctx := context.Background()
	csv := "soft@example.org\nhard@example.org\nfine@example.org\n"
	if rep, err := f.svc.Import(ctx, strings.NewReader(csv), func(int, error) {}); err != nil || rep.Added != 3 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	for week := range 4 {
		rep, err := f.svc.Send(ctx, "", f.sendOpts())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("week %d: %+v", week, rep)
		switch week {
		case 0:
			if rep.Sent != 2 || rep.Failed != 1 {
				t.Errorf("first week: %+v, want 2 sent (one after two 4xx) and 1 failed", rep)
			}
			d, err := f.st.Delivery(ctx, rep.Week, subID(t, f, "soft@example.org"))
			if err != nil || d.Attempts != 3 || d.State != newsletter.DeliverySent {
				t.Errorf("the retried delivery: %+v %v", d, err)
			}
		case 2:
			if rep.Bounced != 1 {
				t.Errorf("third week: %+v, want the hard-failing address bounced", rep)
			}
		case 3:
			if rep.Planned != 2 || rep.Failed != 0 {
				t.Errorf("fourth week: %+v, want the bounced address left out", rep)
			}
		}
		f.advance(7 * 24 * time.Hour)
		f.seedStories(t, fmt.Sprintf("Week %d: Another Privacy Story", week))
	}
	if n := f.sink.CountTo("hard@example.org"); n != 0 {
		t.Errorf("the sink accepted %d messages for a rejected address", n)
	}
}

func subID(t *testing.T, f *nlFixture, addr string) int64 {
	t.Helper()
	sub, err := f.st.SubscriberByIndex(context.Background(), f.keys.BlindIndex(newsletter.IndexForm(addr)))
	if err != nil {
		t.Fatal(err)
	}
	return sub.ID
}

// TestSendStopsOnSetupError: when the mail server refuses us (here: it wants
// a login we do not give), the send stops with an error, and nobody is
// counted as failed or bounced.
func TestSendStopsOnSetupError(t *testing.T) {
	ctx := context.Background()
	f := newNLFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "setup.db"), nil)
	f.seedStories(t, "Spyware Vendor Sanctioned")
	if _, err := f.svc.Import(ctx, strings.NewReader("a@example.org\nb@example.org\n"), func(int, error) {}); err != nil {
		t.Fatal(err)
	}
	locked := mailtest.NewServer(t, mailtest.ServerOptions{Auth: &mailtest.Credentials{User: "u", Pass: "p"}, AllowInsecureAuth: true})
	tr, err := mail.Open(locked.URL()+"?tls=none", "", mail.Options{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	svc, err := newsletter.NewService(newsletter.Options{Store: f.st, Stories: f.st, Keys: f.keys, Mail: tr,
		BaseURL: "https://news.example.org", Now: f.now})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Send(ctx, "", f.sendOpts())
	if err == nil || rep.Failed != 0 || rep.Sent != 0 || rep.Pending != 2 {
		t.Fatalf("send through a server that refuses us: %+v, %v; want an error and 2 still owed", rep, err)
	}
	if c, _ := svc.Counts(ctx); c[newsletter.Confirmed] != 2 {
		t.Errorf("subscribers after the failed send: %v", c)
	}
	// With the right server, the same send goes on and completes.
	rep, err = f.svc.Send(ctx, rep.Week, f.sendOpts())
	if err != nil || rep.Sent != 2 {
		t.Errorf("resumed send: %+v, %v", rep, err)
	}
}
