package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/store/redistest"
)

// TestSeveralProcesses runs two real `tidings serve` processes on one store,
// as a site that outgrew one machine does, with 50 feeds and 500 confirmed
// subscribers: every feed is fetched once in the poll interval (counted at
// the feed server), the digest reaches every subscriber once (counted at the
// SMTP sink), and a comment approved from the shell, or published on one
// process, shows on the other within two seconds, long before the page
// cache's own 30 s run out. On one Redis, on a Redis Cluster, and on one
// SQLite file shared by two processes of one machine.
func TestSeveralProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers per store")
	}
	t.Run("redis", func(t *testing.T) { severalProcesses(t, redistest.Server(t)) })
	t.Run("cluster", func(t *testing.T) { severalProcesses(t, redistest.Cluster(t)) })
	t.Run("sqlite", func(t *testing.T) {
		severalProcesses(t, "sqlite:"+filepath.Join(t.TempDir(), "shared.db"))
	})
}

const (
	severalFeeds       = 50
	severalSubscribers = 500
	// visibleWithin is how soon a change made elsewhere must show on a
	// process: well inside the page cache's 30 s, so only an announcement
	// between the processes can make it.
	visibleWithin = 2 * time.Second
)

// feedCounter serves severalFeeds feeds at /feed/N and counts the requests
// for each. It holds the first gateAt requests until all of them have
// arrived: each process sends two at once (two per host), so both processes
// are polling at the same moment, whichever started first.
type feedCounter struct {
	*httptest.Server
	mu       sync.Mutex
	fetches  map[string]int
	arrivals int
	gate     chan struct{}
}

const gateAt = 4

func newFeedCounter(t *testing.T) *feedCounter {
	fc := &feedCounter{fetches: map[string]int{}, gate: make(chan struct{})}
	headlines := []string{
		"Regulator fines data broker for selling location data without consent",
		"Messaging app turns on end-to-end encryption for group calls",
		"Police expand facial recognition surveillance at train stations",
	}
	fc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/feed/"))
		if err != nil || n < 0 || n >= severalFeeds {
			http.NotFound(w, r)
			return
		}
		fc.mu.Lock()
		fc.fetches[r.URL.Path]++
		fc.arrivals++
		held := fc.arrivals <= gateAt
		if fc.arrivals == gateAt {
			close(fc.gate)
		}
		fc.mu.Unlock()
		if held {
			select {
			case <-fc.gate:
			case <-time.After(20 * time.Second): // one process only: the counts tell
			}
		}
		now := time.Now().UTC()
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Desk %d</title><link>https://desk%d.example.org/</link>`, n, n)
		h := headlines[n%len(headlines)]
		fmt.Fprintf(w, `<item><title>%s, desk %d reports</title><link>https://desk%d.example.org/news/1</link><guid>desk%d-1</guid><description>Privacy groups say the case shows how personal data is tracked and sold; desk %d has the details.</description><pubDate>%s</pubDate></item>`,
			h, n, n, n, n, now.Add(-time.Duration(n+1)*time.Hour).Format(time.RFC1123Z))
		io.WriteString(w, `</channel></rss>`)
	}))
	t.Cleanup(fc.Close)
	return fc
}

// fetched returns how many feeds were fetched at all, and the counts.
func (fc *feedCounter) fetched() (int, map[string]int) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	out := make(map[string]int, len(fc.fetches))
	for k, v := range fc.fetches {
		out[k] = v
	}
	return len(out), out
}

func severalProcesses(t *testing.T, storeURL string) {
	ctx := context.Background()
	t.Setenv("TIDINGS_SECRET_KEY", "c2V2ZXJhbCBwcm9jZXNzZXMgc2hhcmUgdGhpcyBrZXksIDMyKyBieXRlcw")
	feedSrv := newFeedCounter(t)
	sink := mailtest.NewServer(t, mailtest.ServerOptions{Discard: true})
	addrA, addrB := freeAddr(t), freeAddr(t)
	baseA, baseB := "http://"+addrA, "http://"+addrB
	dataA, dataB := t.TempDir(), t.TempDir()
	shell := []string{"--store", storeURL, "--data", dataA, "--base-url", baseA, "--allow-private-feeds"}

	var list, csv strings.Builder
	for i := range severalFeeds {
		fmt.Fprintf(&list, "%s/feed/%d\n", feedSrv.URL, i)
	}
	csv.WriteString("email\n")
	for i := range severalSubscribers {
		fmt.Fprintf(&csv, "reader%03d@example.org\n", i)
	}
	listFile, csvFile := filepath.Join(dataA, "feeds.txt"), filepath.Join(dataA, "subs.csv")
	os.WriteFile(listFile, []byte(list.String()), 0o600)
	os.WriteFile(csvFile, []byte(csv.String()), 0o600)
	if code, out, errOut := tidings(t, ctx, append([]string{"feeds", "import", listFile}, shell...)...); code != 0 || !strings.Contains(out, fmt.Sprintf("%d added", severalFeeds)) {
		t.Fatalf("feeds import: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := tidings(t, ctx, append([]string{"subscribers", "import", csvFile}, shell...)...); code != 0 {
		t.Fatalf("subscribers import: %d %s %s", code, out, errOut)
	}

	// A schedule whose moment has just passed: each process's first look at
	// it finds this week's digest due, at the same moment.
	due := time.Now().UTC().Add(-time.Minute)
	schedule := fmt.Sprintf("%s %02d:%02d UTC", due.Weekday().String()[:3], due.Hour(), due.Minute())
	serveFlags := func(addr, data string) []string {
		return []string{"serve", "--addr", addr, "--store", storeURL, "--data", data, "--base-url", baseA,
			"--allow-private-feeds", "--trust-proxy", "--poll-interval", "1h",
			"--smtp", sink.URL() + "?tls=none", "--smtp-rate", "0", "--digest-schedule", schedule}
	}
	readyA := startChild(t, "A", serveFlags(addrA, dataA))
	readyB := startChild(t, "B", serveFlags(addrB, dataB))
	readyA(addrA)
	readyB(addrB)

	// Every feed is fetched, and every subscriber gets the digest.
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := feedSrv.fetched(); n < severalFeeds; n, _ = feedSrv.fetched() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d feeds were fetched", n, severalFeeds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sink.WaitCount(severalSubscribers, 30*time.Second) {
		t.Fatalf("the digest reached %d of %d subscribers", sink.Count(), severalSubscribers)
	}

	// A story both processes show.
	storyRE := regexp.MustCompile(`href="(/stories/\d+/[^"]+)"`)
	var story []string
	for deadline := time.Now().Add(10 * time.Second); story == nil; {
		story = storyRE.FindStringSubmatch(get(t, baseB+"/", http.StatusOK))
		if story == nil && time.Now().After(deadline) {
			t.Fatal("B's home page never listed a story")
		}
		time.Sleep(50 * time.Millisecond)
	}
	action := regexp.MustCompile(`^/stories/\d+`).FindString(story[1]) + "/comments"
	form := formFields(t, get(t, baseA+story[1], http.StatusOK), action)
	time.Sleep(3100 * time.Millisecond) // the form's 3-second rule

	// A first comment, posted on A, is held; approved from the shell, it
	// shows on B, whose copy of the page was cached before.
	alice := &commenter{name: "Alice Several", email: "alice.several@example.net", ip: "203.0.113.21"}
	alice.post(t, baseA+action, form, "", "Held on A, approved from the shell.", http.StatusSeeOther)
	if page := get(t, baseB+story[1], http.StatusOK); strings.Contains(page, "Held on A") {
		t.Fatal("B shows a held comment")
	}
	moderate(t, ctx, shell, "approve", pendingID(t, ctx, shell, "Held on A"))
	showsWithin(t, baseB+story[1], "Held on A, approved from the shell.")

	// Her next comment is published at once on A, and shows on B as soon.
	get(t, baseB+story[1], http.StatusOK) // cached on B again
	alice.ip = "203.0.113.22"             // a client may comment once in 15 s
	alice.post(t, baseA+action, form, "", "Published on A at once.", http.StatusSeeOther)
	showsWithin(t, baseB+story[1], "Published on A at once.")

	// One interval (1 h) is the whole test: each feed was fetched once.
	n, fetches := feedSrv.fetched()
	for i := range severalFeeds {
		if got := fetches[fmt.Sprintf("/feed/%d", i)]; got != 1 {
			t.Errorf("feed %d was fetched %d times in one poll interval, want once", i, got)
		}
	}
	if n != severalFeeds {
		t.Errorf("%d feeds fetched, want %d", n, severalFeeds)
	}
	for i := range severalSubscribers {
		addr := fmt.Sprintf("reader%03d@example.org", i)
		if got := sink.CountTo(addr); got != 1 {
			t.Errorf("%s received the digest %d times, want once", addr, got)
		}
	}
	if sink.Count() != severalSubscribers {
		t.Errorf("the sink received %d messages, want %d", sink.Count(), severalSubscribers)
	}
}

// showsWithin reads page until it holds text, failing after visibleWithin.
func showsWithin(t *testing.T, page, text string) {
	t.Helper()
	start := time.Now()
	for {
		if strings.Contains(get(t, page, http.StatusOK), text) {
			t.Logf("%q showed after %v", text, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > visibleWithin {
			t.Fatalf("%s did not show %q within %v", page, text, visibleWithin)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// startChild runs the test binary as `tidings` with args until the test
// ends, and then stops it as an operator would (SIGINT) and requires a clean
// exit: a data race found in it, for one, fails the test. The returned
// function waits until the process answers on addr.
func startChild(t *testing.T, name string, args []string) (ready func(addr string)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("process %s: %v\n%s", name, err, out.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("process %s did not stop on SIGINT\n%s", name, out.String())
		}
	})
	return func(addr string) {
		t.Helper()
		waitReady(t, name, addr, exited, &out)
	}
}

func waitReady(t *testing.T, name, addr string, exited chan error, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("process %s exited at start: %v\n%s", name, err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s did not become ready: %v\n%s", name, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer a child process's output can be copied into
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
