package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/store/redistest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		// Run as the tidings binary, for tests that kill a real process.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	redistest.Main(m)
}

// tidings runs one command line in-process and returns its exit code and output.
func tidings(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpVersionAndUsage(t *testing.T) {
	ctx := context.Background()
	if code, out, _ := tidings(t, ctx, "help"); code != 0 || !strings.Contains(out, "feeds") || !strings.Contains(out, "poll") {
		t.Errorf("help: code %d, output %q", code, out)
	}
	if code, out, _ := tidings(t, ctx, "feeds", "--help"); code != 0 || !strings.Contains(out, "import") {
		t.Errorf("feeds --help: code %d, output %q", code, out)
	}
	if code, out, _ := tidings(t, ctx, "version"); code != 0 || !strings.HasPrefix(out, "tidings ") {
		t.Errorf("version: code %d, output %q", code, out)
	}
	if code, _, errOut := tidings(t, ctx, "poll", "-h"); code != 0 || !strings.Contains(errOut, "-once") || !strings.Contains(errOut, "TIDINGS_") {
		t.Errorf("poll -h: code %d, output %q", code, errOut)
	}
	if code, _, errOut := tidings(t, ctx, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d, output %q", code, errOut)
	}
	if code, _, errOut := tidings(t, ctx, "feeds"); code != 2 || !strings.Contains(errOut, "import") {
		t.Errorf("feeds without subcommand: code %d, output %q", code, errOut)
	}
	if code, _, _ := tidings(t, ctx, "poll", "--bogus"); code != 2 {
		t.Errorf("unknown flag: code %d, want 2", code)
	}
	if code, _, errOut := tidings(t, ctx, "poll", "--all", "--store", "sqlite:"+filepath.Join(t.TempDir(), "x.db")); code != 2 || !strings.Contains(errOut, "--all goes with --once") {
		t.Errorf("--all without --once: code %d, output %q", code, errOut)
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	t.Setenv("TIDINGS_STORE", "sqlite:"+db)
	ctx := context.Background()
	if code, out, errOut := tidings(t, ctx, "feeds", "add", "https://example.org/feed.xml"); code != 0 {
		t.Fatalf("feeds add: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("TIDINGS_STORE was not used: %v", err)
	}
	t.Setenv("TIDINGS_POLL_INTERVAL", "soon")
	if code, _, errOut := tidings(t, ctx, "feeds", "list"); code != 2 || !strings.Contains(errOut, "TIDINGS_POLL_INTERVAL") {
		t.Errorf("bad env value: code %d, output %q", code, errOut)
	}
}

func TestFeedsCommands(t *testing.T) {
	ctx := context.Background()
	st := "--store=sqlite:" + filepath.Join(t.TempDir(), "feeds.db")
	code, out, _ := tidings(t, ctx, "feeds", "add", "HTTPS://Example.ORG/feed.xml?utm_source=x", "--on-topic", st)
	if code != 0 || !strings.Contains(out, "added feed #1 https://example.org/feed.xml") {
		t.Fatalf("feeds add: %d %q", code, out)
	}
	if code, out, _ = tidings(t, ctx, "feeds", "add", "https://example.org/feed.xml", st); code != 0 || !strings.Contains(out, "already there") {
		t.Errorf("duplicate add: %d %q", code, out)
	}
	if code, _, errOut := tidings(t, ctx, "feeds", "add", "javascript:alert(1)", st); code != 1 || !strings.Contains(errOut, "not a feed URL") {
		t.Errorf("bad URL: %d %q", code, errOut)
	}
	list := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(list, []byte("# my feeds\nhttps://a.example/rss\n\nnot a url\nhttps://b.example/atom.xml\n"), 0o600)
	if code, out, _ = tidings(t, ctx, "feeds", "import", list, st); code != 0 || !strings.Contains(out, "2 added") || !strings.Contains(out, "1 skipped") {
		t.Errorf("import: %d %q", code, out)
	}
	if code, out, _ = tidings(t, ctx, "feeds", "list", st); code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "ok,on-topic") && !strings.Contains(out, "new") {
		t.Errorf("list: %d %q", code, out)
	}
	code, out, _ = tidings(t, ctx, "feeds", "export", st)
	if code != 0 || !strings.Contains(out, `xmlUrl="https://b.example/atom.xml"`) || !strings.Contains(out, "<opml") {
		t.Errorf("export: %d %q", code, out)
	}
	if code, out, _ = tidings(t, ctx, "feeds", "remove", "2", st); code != 0 || !strings.Contains(out, "removed feed #2") {
		t.Errorf("remove: %d %q", code, out)
	}
	if code, _, errOut := tidings(t, ctx, "feeds", "remove", "2", st); code != 1 || !strings.Contains(errOut, "no feed #2") {
		t.Errorf("remove again: %d %q", code, errOut)
	}
	if code, _, _ := tidings(t, ctx, "feeds", "remove", "two", st); code != 2 {
		t.Errorf("remove with a bad ID: %d, want 2", code)
	}
}

// TestNewcomerFlow is the "done when", on every store: feeds in three
// formats served from loopback are imported and polled once, and the home page
// lists every privacy story once and no off-topic story.
func TestNewcomerFlow(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"sqlite":        func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "tidings.db") },
		"redis":         func(t *testing.T) string { return redistest.Server(t) },
		"redis-cluster": func(t *testing.T) string { return redistest.Cluster(t) },
	}
	for _, name := range []string{"sqlite", "redis", "redis-cluster"} {
		t.Run(name, func(t *testing.T) { newcomerFlow(t, stores[name](t)) })
	}
}

func newcomerFlow(t *testing.T, storeURL string) {
	feedSrv := httptest.NewServer(http.FileServer(http.Dir("testdata/feeds")))
	t.Cleanup(feedSrv.Close)
	list := filepath.Join(t.TempDir(), "feeds.txt")
	var urls string
	for _, f := range []string{"byteline.rss", "nightwatch.atom", "rightswire.json"} {
		urls += feedSrv.URL + "/" + f + "\n"
	}
	os.WriteFile(list, []byte(urls), 0o600)

	ctx := context.Background()
	flags := []string{"--store", storeURL, "--allow-private-feeds", "--data", t.TempDir()}
	if code, out, errOut := tidings(t, ctx, append([]string{"feeds", "import", list}, flags...)...); code != 0 || !strings.Contains(out, "3 added") {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	// One feed at a time, so the order stories arrive in — which shapes the
	// Similar Posts worked out on arrival — is the same on every run.
	code, out, errOut := tidings(t, ctx, append([]string{"poll", "--once", "--poll-workers", "1"}, flags...)...)
	if code != 0 || !strings.Contains(out, "polled 3 feeds") || !strings.Contains(out, "0 failed") {
		t.Fatalf("poll --once: %d %q %q", code, out, errOut)
	}
	// A second poll finds nothing new.
	if code, out, _ = tidings(t, ctx, append([]string{"poll", "--once", "--all"}, flags...)...); code != 0 || !strings.Contains(out, "0 new stories") {
		t.Errorf("second poll: %d %q", code, out)
	}

	pages := serveAndGet(t, append([]string{"--no-poll"}, flags...), "/", "/topics/messaging", "/feed.xml",
		"/atom.xml", "/feed.json", "/sitemap.xml", "/robots.txt", "/search?q=insurance")
	home := pages["/"]
	for path, want := range map[string]string{
		"/topics/messaging":   "Signal adds usernames",
		"/feed.xml":           "Hospital group data breach",
		"/atom.xml":           "Spyware vendor",
		"/feed.json":          "Police facial recognition",
		"/sitemap.xml":        "/stories/",
		"/robots.txt":         "Sitemap:",
		"/search?q=insurance": "<mark>insurance</mark>", // a word only in a summary
	} {
		if !strings.Contains(pages[path], want) {
			t.Errorf("GET %s lacks %q", path, want)
		}
		for _, bad := range []string{"utm_", "<script>alert", "gaming handheld"} {
			if strings.Contains(pages[path], bad) {
				t.Errorf("GET %s shows %q", path, bad)
			}
		}
	}
	privacy := []string{
		"Signal adds usernames so people can chat without sharing phone numbers",
		"Regulator fines ad-tech firm €40 million over cookie tracking without consent",
		"Hospital group data breach exposes records of two million patients",
		"Spyware vendor&#39;s exploit chain targeted journalists&#39; phones",
		"Police facial recognition vans expand to three more cities",
		"End-to-end encrypted backups arrive for Android phones",
		"WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims",
		"Why message metadata still reveals who you talk to",
	}
	offTopic := []string{"gaming handheld", "Chipmaker reports", "carmaker recalls", "moon lander"}
	for _, title := range privacy {
		if n := strings.Count(home, ">"+title+"</a></h2>"); n != 1 {
			t.Errorf("home page lists %q %d times, want once", title, n)
		}
	}
	for _, title := range offTopic {
		if strings.Contains(home, title) {
			t.Errorf("home page shows off-topic story %q", title)
		}
	}
	for _, bad := range []string{"utm_", "fbclid", "<script", "javascript:", "tracker.example"} {
		if strings.Contains(home, bad) {
			t.Errorf("home page contains %q", bad)
		}
	}

	// The seed story's page, reached from the home page, lists the related
	// messaging, metadata and encryption stories under Similar Posts.
	link := regexp.MustCompile(`<a href="(/stories/\d+/[^"]+)">WhatsApp Boss Clashes`).FindStringSubmatch(home)
	if link == nil {
		t.Fatal("no link to the WhatsApp story on the home page")
	}
	page := serveAndGet(t, append([]string{"--no-poll"}, flags...), link[1])[link[1]]
	_, similar, ok := strings.Cut(page, "Similar Posts")
	if !ok {
		t.Fatalf("the WhatsApp story page has no Similar Posts: %s", page)
	}
	similar, _, _ = strings.Cut(similar, "</section>")
	related := 0
	for _, title := range []string{"Why message metadata still reveals", "Signal adds usernames", "End-to-end encrypted backups"} {
		if strings.Contains(similar, title) {
			related++
		}
	}
	if related < 2 {
		t.Errorf("Similar Posts of the WhatsApp story list %d of the 3 related stories: %s", related, similar)
	}
	for _, unrelated := range []string{"Hospital group", "Police facial recognition"} {
		if strings.Contains(similar, unrelated) {
			t.Errorf("Similar Posts of the WhatsApp story list %q", unrelated)
		}
	}
}

// serveAndGet runs `tidings` with flags only (so serve, the default command)
// on a free port, fetches each path (expecting 200) and stops it.
func serveAndGet(t *testing.T, flags []string, paths ...string) map[string]string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"--addr", addr, "--no-digest"}, flags...), strings.NewReader(""), io.Discard, &errOut)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d: %s", code, errOut.String())
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pages := make(map[string]string, len(paths))
	for _, path := range paths {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		pages[path] = string(body)
	}
	return pages
}
