package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/store/redistest"
)

// TestNewsletterNewcomerFlow is the newsletter's "done when", on SQLite and
// on Redis: subscribe on the home page, confirm by the mailed link and its
// button, receive the digest with the week's privacy stories, unsubscribe
// with one click; a second send sends nothing; a bad address gets a 400 and
// the form again.
func TestNewsletterNewcomerFlow(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { newsletterFlow(t, "sqlite:"+filepath.Join(t.TempDir(), "nl.db")) })
	t.Run("redis", func(t *testing.T) { newsletterFlow(t, redistest.Server(t)) })
}

// freshFeed is an RSS feed whose stories are from the last days, so that they
// belong to this week's issue whenever the test runs.
func freshFeed(now time.Time) string {
	items := []struct{ title, desc string }{
		{"Messaging app turns on end-to-end encryption for group calls", "The change protects group calls from eavesdropping by the provider, security researchers say."},
		{"Data broker fined for selling location data without consent", "The regulator said the broker sold precise location histories of millions of people."},
		{"Police expand facial recognition surveillance at train stations", "Civil liberties groups warn that biometric surveillance chills protest and free movement."},
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Privacy Weekly Desk</title><link>https://desk.example.org/</link>`)
	for i, it := range items {
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://desk.example.org/news/%d</link><guid>desk-%d</guid><description>%s</description><pubDate>%s</pubDate></item>`,
			it.title, i, i, it.desc, now.Add(-time.Duration(i+1)*20*time.Hour).Format(time.RFC1123Z))
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

// seededSite prepares a site on storeURL for `serve`: a loopback feed of
// three fresh privacy stories, added and polled once. It returns the data
// directory, the address serve should listen on, the site's base URL and
// the flags every command of the site takes.
func seededSite(t *testing.T, storeURL string) (data, addr, base string, flags []string) {
	t.Helper()
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, freshFeed(time.Now().UTC()))
	}))
	t.Cleanup(feed.Close)
	data = t.TempDir()
	addr = freeAddr(t)
	base = "http://" + addr
	flags = []string{"--store", storeURL, "--data", data, "--base-url", base, "--allow-private-feeds"}
	t.Setenv("TIDINGS_SECRET_KEY", "")
	ctx := context.Background()
	if code, out, errOut := tidings(t, ctx, append([]string{"feeds", "add", feed.URL + "/feed.xml", "--on-topic"}, flags...)...); code != 0 {
		t.Fatalf("feeds add: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := tidings(t, ctx, append([]string{"poll", "--once"}, flags...)...); code != 0 || !strings.Contains(out, "3 new") {
		t.Fatalf("poll: %d %s %s", code, out, errOut)
	}
	return data, addr, base, flags
}

func newsletterFlow(t *testing.T, storeURL string) {
	ctx := context.Background()
	data, addr, base, flags := seededSite(t, storeURL)
	startServe(t, addr, append([]string{"--no-poll", "--no-digest"}, flags...))
	outbox := filepath.Join(data, "outbox")

	// The home page's newsletter box, with its CSRF token.
	home := get(t, base+"/", http.StatusOK)
	form := formFields(t, home, "/subscribe")

	// A bad address: 400, the form again with what was typed.
	form.Set("email", "not an address@")
	body := post(t, base+"/subscribe", form, http.StatusBadRequest)
	if !strings.Contains(body, html.EscapeString("not an address@")) || !strings.Contains(body, `name="email"`) {
		t.Errorf("the 400 page does not show the form with the typed address: %s", body)
	}

	// A good one: "check your inbox" and one confirmation mail.
	const reader = "new.reader@example.org"
	form.Set("email", reader)
	if body := post(t, base+"/subscribe", form, http.StatusOK); !strings.Contains(strings.ToLower(body), "inbox") {
		t.Errorf("the sign-up answer does not say to check the inbox: %s", body)
	}
	mails := readOutbox(t, outbox)
	if len(mails) != 1 {
		t.Fatalf("%d mails in the outbox after signing up, want 1", len(mails))
	}
	text, _ := mailParts(t, mails[0])
	confirm := regexp.MustCompile(regexp.QuoteMeta(base) + `/subscribe/confirm\?token=[A-Za-z0-9_.-]+`).FindString(text)
	if confirm == "" {
		t.Fatalf("no confirmation link in %q", text)
	}

	// Opening the link changes nothing; its button confirms.
	page := get(t, confirm, http.StatusOK)
	if status := subscriberStatus(t, ctx, flags, reader); status != "pending" {
		t.Errorf("after opening the link the subscriber is %q, want pending", status)
	}
	action, fields := buttonForm(t, page, "Confirm subscription")
	post(t, base+action, fields, http.StatusOK)
	if status := subscriberStatus(t, ctx, flags, reader); status != "confirmed" {
		t.Fatalf("after the button the subscriber is %q, want confirmed", status)
	}

	// The digest.
	code, out, errOut := tidings(t, ctx, append([]string{"digest", "send"}, flags...)...)
	if code != 0 || !strings.Contains(out, "sent 1,") {
		t.Fatalf("digest send: %d %s %s", code, out, errOut)
	}
	mails = readOutbox(t, outbox)
	if len(mails) != 2 {
		t.Fatalf("%d mails in the outbox after the send, want 2", len(mails))
	}
	digest := mails[1]
	text, htmlPart := mailParts(t, digest)
	// All three stories are of this week and from one source, of which an
	// issue takes two.
	shown := 0
	for _, title := range []string{"Messaging app turns on end-to-end encryption", "Data broker fined", "Police expand facial recognition"} {
		if strings.Contains(text, title) && strings.Contains(htmlPart, title) {
			shown++
		}
	}
	if shown != 2 {
		t.Errorf("the digest shows %d of the week's 3 stories from one source, want 2: %s", shown, text)
	}
	unsub := strings.Trim(digest.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, base+"/unsubscribe?token=") || digest.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q", digest.Header.Get("List-Unsubscribe"))
	}

	// One-click unsubscribe, as a mail program makes it: no cookie, no token.
	resp, err := http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("one-click unsubscribe: %d, want 200", resp.StatusCode)
	}
	if status := subscriberStatus(t, ctx, flags, reader); status != "unsubscribed" {
		t.Errorf("after one click the subscriber is %q", status)
	}

	// A second send sends nothing.
	if code, out, _ := tidings(t, ctx, append([]string{"digest", "send"}, flags...)...); code != 0 || !strings.Contains(out, "still owed 0") {
		t.Errorf("second send: %d %s", code, out)
	}
	if n := len(readOutbox(t, outbox)); n != 2 {
		t.Errorf("a second send wrote %d more mails", n-2)
	}

	// The archive shows the issue, and no page shows the address.
	week := regexp.MustCompile(`\d{4}-W\d\d`).FindString(get(t, base+"/newsletter", http.StatusOK))
	issue := get(t, base+"/newsletter/"+week, http.StatusOK)
	if week == "" || !strings.Contains(issue, "Privacy Weekly Desk") {
		t.Errorf("the archive does not show the issue %q", week)
	}
	for _, p := range []string{"/", "/newsletter", "/newsletter/" + week, "/feed.xml"} {
		if strings.Contains(strings.ToLower(get(t, base+p, http.StatusOK)), reader) {
			t.Errorf("%s shows the subscriber's address", p)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `tidings serve` on addr until the test ends.
func startServe(t *testing.T, addr string, flags []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"--addr", addr}, flags...), strings.NewReader(""), io.Discard, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d: %s", code, errOut.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready: %v %s", err, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, u string, want int) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("GET %s: %d, want %d", u, resp.StatusCode, want)
	}
	return string(b)
}

func post(t *testing.T, u string, form url.Values, want int) string {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("POST %s: %d, want %d: %s", u, resp.StatusCode, want, b)
	}
	return string(b)
}

var (
	formRE   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
	attrRE   = regexp.MustCompile(`(name|value)="([^"]*)"`)
)

// formFields returns the hidden fields of the page's form posting to action.
func formFields(t *testing.T, page, action string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if html.UnescapeString(m[1]) == action {
			return hiddenFields(m[2])
		}
	}
	t.Fatalf("no form posting to %s", action)
	return nil
}

// buttonForm returns the action and hidden fields of the form whose button
// says label.
func buttonForm(t *testing.T, page, label string) (string, url.Values) {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[2], label) {
			return html.UnescapeString(m[1]), hiddenFields(m[2])
		}
	}
	t.Fatalf("no form with a %q button in %s", label, page)
	return "", nil
}

func hiddenFields(form string) url.Values {
	v := url.Values{}
	for _, in := range hiddenRE.FindAllString(form, -1) {
		var name, value string
		for _, a := range attrRE.FindAllStringSubmatch(in, -1) {
			if a[1] == "name" {
				name = html.UnescapeString(a[2])
			} else {
				value = html.UnescapeString(a[2])
			}
		}
		v.Set(name, value)
	}
	return v
}

// readOutbox parses every .eml file of the outbox, oldest first.
func readOutbox(t *testing.T, dir string) []*netmail.Message {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	slices.Sort(names)
	var msgs []*netmail.Message
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := netmail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// mailParts decodes a multipart/alternative mail into text and HTML.
func mailParts(t *testing.T, m *netmail.Message) (text, htmlPart string) {
	t.Helper()
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			htmlPart = string(b)
		} else {
			text = string(b)
		}
	}
	return text, htmlPart
}

// subscriberStatus is the status `subscribers list` prints for addr.
func subscriberStatus(t *testing.T, ctx context.Context, flags []string, addr string) string {
	t.Helper()
	code, out, errOut := tidings(t, ctx, append([]string{"subscribers", "list"}, flags...)...)
	if code != 0 {
		t.Fatalf("subscribers list: %d %s", code, errOut)
	}
	for line := range strings.Lines(out) {
		if a, status, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && strings.EqualFold(a, addr) {
			return status
		}
	}
	return ""
}
