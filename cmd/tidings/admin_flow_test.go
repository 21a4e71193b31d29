package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAdminNewcomerFlow is the admin pages' "done when" on SQLite, through
// the real binary's commands and HTTP: set a password, log in, add a feed by
// its site's address, moderate a held comment, compose, preview and send a
// digest with its progress page, and export the subscribers.
func TestAdminNewcomerFlow(t *testing.T) {
	ctx := context.Background()
	t.Setenv("TIDINGS_SECRET_KEY", "")
	t.Setenv(passwordHashEnv, "")
	// A news site whose home page names its feed in a <link rel="alternate">.
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			io.WriteString(w, `<!doctype html><html><head><title>Desk</title><link rel="alternate" type="application/rss+xml" title="News" href="/news/feed.xml"></head><body>Hello</body></html>`)
		case "/news/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			io.WriteString(w, freshFeed(time.Now().UTC()))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)
	data := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	flags := []string{"--store", "sqlite:" + filepath.Join(data, "a.db"), "--data", data, "--base-url", base, "--allow-private-feeds"}
	if code, out, errOut := tidingsIn(t, "a long admin passphrase\n", append([]string{"admin", "password"}, flags...)...); code != 0 {
		t.Fatalf("admin password: %d %s %s", code, out, errOut)
	}
	// Feeds are added below, through the admin page: none built in.
	list := filepath.Join(data, "none.txt")
	os.WriteFile(list, nil, 0o600)
	startServe(t, addr, append([]string{"--no-poll", "--no-digest", "--trust-proxy", "--cache-max-age", "1s", "--feeds", list}, flags...))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	send := func(path string, form url.Values, want int) string {
		t.Helper()
		var resp *http.Response
		var err error
		if form == nil {
			resp, err = browser.Get(base + path)
		} else {
			resp, err = browser.PostForm(base+path, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d\n%s", path, resp.StatusCode, want, b)
		}
		return string(b)
	}
	// csrfOf is the form token every admin page carries.
	csrfOf := func(page string) url.Values {
		t.Helper()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no form token on the page")
		}
		return url.Values{"csrf": {m[1]}}
	}

	// Log in.
	login := send("/admin/login", nil, http.StatusOK)
	form := csrfOf(login)
	form.Set("password", "a long admin passphrase")
	if dash := send("/admin/login", form, http.StatusOK); !strings.Contains(dash, "Dashboard") {
		t.Fatalf("after logging in: %s", excerpt(dash, "<main"))
	}

	// Add a feed by the site's address: its feed is found and added.
	feedsPage := send("/admin/feeds", nil, http.StatusOK)
	form = csrfOf(feedsPage)
	form.Set("url", site.URL+"/")
	form.Set("ontopic", "1")
	if page := send("/admin/feeds/add", form, http.StatusOK); !strings.Contains(page, site.URL+"/news/feed.xml") {
		t.Fatalf("the feed found on the site is not listed: %s", excerpt(page, "<main"))
	}
	if code, out, errOut := tidings(t, ctx, append([]string{"poll", "--once"}, flags...)...); code != 0 || !strings.Contains(out, "3 new") {
		t.Fatalf("poll: %d %s %s", code, out, errOut)
	}

	// A held comment, approved in the queue, is then on the story page.
	story := regexp.MustCompile(`href="(/stories/\d+/[^"]+)"`).FindStringSubmatch(waitFor(t, base+"/", "Privacy Weekly Desk"))
	action := regexp.MustCompile(`^/stories/\d+`).FindString(story[1]) + "/comments"
	hidden := formFields(t, get(t, base+story[1], http.StatusOK), action)
	time.Sleep(3100 * time.Millisecond) // past the form's 3-second rule
	reader := &commenter{name: "First Reader", email: "first.reader@example.org", ip: "203.0.113.70"}
	reader.post(t, base+action, hidden, "", "Held until a moderator looks.", http.StatusSeeOther)
	queue := send("/admin/comments", nil, http.StatusOK)
	if !strings.Contains(queue, "first.reader@example.org") {
		t.Errorf("the queue does not show the commenter's address to the admin")
	}
	id := regexp.MustCompile(`value="approve:(\d+)"`).FindStringSubmatch(queue)
	if id == nil {
		t.Fatalf("no held comment in the queue: %s", excerpt(queue, "<main"))
	}
	form = csrfOf(queue)
	form.Set("one", "approve:"+id[1])
	send("/admin/comments", form, http.StatusOK)
	if page := get(t, base+story[1], http.StatusOK); !strings.Contains(page, "Held until a moderator looks.") || strings.Contains(page, "first.reader@") {
		t.Errorf("the approved comment is not on the story page, or its address is")
	}

	// Three subscribers; compose, preview and send the digest.
	csvFile := filepath.Join(data, "subs.csv")
	os.WriteFile(csvFile, []byte("email\nann@example.org\nbob@example.org\ncy@example.org\n"), 0o600)
	if code, out, errOut := tidings(t, ctx, append([]string{"subscribers", "import", csvFile}, flags...)...); code != 0 {
		t.Fatalf("subscribers import: %d %s %s", code, out, errOut)
	}
	digests := send("/admin/digests", nil, http.StatusOK)
	form = csrfOf(digests)
	digests = send("/admin/digests/compose", form, http.StatusOK)
	preview := regexp.MustCompile(`href="(/admin/digests/preview/[^"]+)"`).FindStringSubmatch(digests)
	if preview == nil {
		t.Fatalf("no preview link after composing: %s", excerpt(digests, "<main"))
	}
	if p := send(preview[1], nil, http.StatusOK); !strings.Contains(p, "Privacy Weekly Desk") {
		t.Errorf("the preview lacks the week's stories")
	}
	week := regexp.MustCompile(`name="week" value="([^"]+)"`).FindStringSubmatch(digests)
	form = csrfOf(digests)
	form.Set("week", week[1])
	progress := send("/admin/digests/send", form, http.StatusOK)
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(progress, `http-equiv="refresh"`) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		progress = send("/admin/digests", nil, http.StatusOK)
	}
	if n := len(readOutbox(t, filepath.Join(data, "outbox"))); n != 3 {
		t.Errorf("%d digests in the outbox, want 3", n)
	}

	// Export the subscribers as CSV.
	rows, err := csv.NewReader(strings.NewReader(send("/admin/subscribers/export.csv", nil, http.StatusOK))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rows)
	if len(rows) != 4 || !strings.Contains(got, "bob@example.org") || !strings.Contains(got, "confirmed") {
		t.Errorf("the export: %v", rows)
	}
}
