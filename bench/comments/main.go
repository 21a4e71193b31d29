// Command comments measures the discussion under a story: reading a story
// page of 200 threaded comments with wrk, next to the ceiling measured in the
// same run (a bare Echo handler returning the page's bytes from memory), and
// posting comments through the real form route, from wrk and, below the
// HTTP layer, through comments.Service.Submit alone. See bench/README.md.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/views"
)

// config is what the flags set.
type config struct {
	storeURL, mode, wrk, duration, cpuprofile, moderator string
	conns, comments, workers                             int
	serviceFor                                           time.Duration
	header                                               bool
}

func main() {
	var c config
	flag.StringVar(&c.storeURL, "store", "", "store URL, of an empty store (default: a fresh SQLite file in a temp dir)")
	flag.StringVar(&c.mode, "mode", "read", "read: the story page under wrk; post: comment submissions")
	flag.StringVar(&c.wrk, "wrk", "wrk", "the wrk binary")
	flag.StringVar(&c.duration, "d", "10s", "wrk duration")
	flag.IntVar(&c.conns, "c", 64, "wrk connections")
	flag.IntVar(&c.comments, "comments", 200, "approved comments under the story")
	flag.IntVar(&c.workers, "workers", 8, "goroutines calling comments.Service.Submit (post mode)")
	flag.DurationVar(&c.serviceFor, "service-d", 5*time.Second, "how long to call Service.Submit (post mode; 0: skip)")
	flag.StringVar(&c.moderator, "moderator", "", "moderator address, mailed (to an outbox dir) about each held comment; empty: none, as tidings serve by default")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured phase to this file")
	flag.BoolVar(&c.header, "header", false, "print the table header first")
	flag.Parse()
	if c.mode != "read" && c.mode != "post" {
		log.Fatalf("-mode %q: want read or post", c.mode)
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

func run(c config) error {
	ctx := context.Background()
	f, err := newFixture(ctx, c)
	if err != nil {
		return err
	}
	defer f.close()
	if c.cpuprofile != "" {
		out, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if c.mode == "read" {
		return f.benchRead(c)
	}
	return f.benchPost(ctx, c)
}

// fixture is the real site over a store holding a story with a discussion.
type fixture struct {
	kind     string // sqlite or redis
	st       store.Store
	svc      *comments.Service
	srv      *views.Server
	site     string   // the site's origin
	counted  *counter // the site's handler, counting answers
	story    string   // URL of the story page
	storyID  int64
	seeded   []int64 // IDs of the approved comments
	depths   [comments.MaxDepth + 1]int
	cpu      cpuMeter
	closers  []func()
	returned []commenter // commenters with approved comments
}

func (f *fixture) close() {
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
}

func newFixture(ctx context.Context, c config) (f *fixture, err error) {
	f = &fixture{kind: "sqlite", returned: commenters[:min(c.comments, len(commenters))], cpu: newCPUMeter(c.storeURL)}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	dir, err := os.MkdirTemp("", "tidings-comments-")
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, func() { os.RemoveAll(dir) })
	storeURL := c.storeURL
	if storeURL == "" {
		storeURL = "sqlite:" + filepath.Join(dir, "bench.db")
	} else {
		f.kind, _, _ = strings.Cut(storeURL, ":")
	}
	if f.st, err = store.Open(ctx, storeURL); err != nil {
		return nil, err
	}
	f.closers = append(f.closers, func() { f.st.Close() })
	ids, err := fillStories(ctx, f.st, 40)
	if err != nil {
		return nil, fmt.Errorf("filling the store: %w", err)
	}
	f.storyID = ids[len(ids)-1]

	master := make([]byte, 32)
	rand.Read(master)
	keys, err := secrets.New(master)
	if err != nil {
		return nil, err
	}
	tr, err := mail.Open("", filepath.Join(dir, "outbox"), mail.Options{}) // as tidings serve without --smtp
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, func() { tr.Close() })
	opts := comments.Options{Store: f.st, Stories: f.st, Keys: keys, Mail: tr, BaseURL: "https://news.example.org", Moderator: c.moderator}

	// The thread is written by a service whose clock steps through the last
	// three days; the site gets its own, on the real clock.
	clock := &seedClock{t: time.Now().Add(-72 * time.Hour)}
	seedOpts := opts
	seedOpts.Now, seedOpts.Moderator = clock.Now, ""
	seeder, err := comments.NewService(seedOpts)
	if err != nil {
		return nil, err
	}
	if f.seeded, f.depths, err = seedThread(ctx, seeder, clock, f.storyID, c.comments); err != nil {
		return nil, fmt.Errorf("seeding the thread: %w", err)
	}
	if f.svc, err = comments.NewService(opts); err != nil {
		return nil, err
	}
	f.srv, err = views.New(views.Options{
		Stories: f.st, Ready: f.st.Ping, BaseURL: "https://news.example.org",
		Forms: keys, Comments: f.svc, TrustProxy: true,
	})
	if err != nil {
		return nil, err
	}
	f.counted = &counter{h: f.srv.Handler()}
	site, stop, err := serve(f.counted)
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, stop)
	f.site = site
	// The canonical story URL, after the redirect from /stories/ID.
	resp, err := http.Get(fmt.Sprintf("%s/stories/%d", site, f.storyID))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	f.story = resp.Request.URL.String()
	return f, nil
}

var articleRe = regexp.MustCompile(`<article id="comment-\d+"`)

// benchRead runs wrk against the ceiling and the story page.
func (f *fixture) benchRead(c config) error {
	page, err := fetch(f.story)
	if err != nil {
		return err
	}
	if n := len(articleRe.FindAll(page, -1)); n != c.comments {
		return fmt.Errorf("the story page shows %d comments, want %d", n, c.comments)
	}
	// A page rendered afresh, as after a comment is published (median of 21).
	var renders []time.Duration
	for range 21 {
		f.srv.Invalidate()
		t0 := time.Now()
		if _, err := fetch(f.story); err != nil {
			return err
		}
		renders = append(renders, time.Since(t0))
	}
	sort.Slice(renders, func(i, j int) bool { return renders[i] < renders[j] })

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/", func(c echo.Context) error { return c.Blob(http.StatusOK, "text/html; charset=utf-8", page) })
	ceiling, stopCeiling, err := serve(e)
	if err != nil {
		return err
	}
	defer stopCeiling()

	if c.header {
		fmt.Println("| store | page | bytes | req/s | p99 | % of ceiling | CPU/req | CPU ratio | notes |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
	}
	// The ceiling is measured before and after the page, and their mean
	// taken, since other work on a shared machine shifts both.
	ceil1, err := f.wrkCPU(c, ceiling+"/")
	if err != nil {
		return err
	}
	load1 := loadNote()
	body, err := fetch(f.story) // warm the page cache
	if err != nil {
		return err
	}
	r, err := f.wrkCPU(c, f.story)
	if err != nil {
		return err
	}
	load2 := loadNote()
	ceil2, err := f.wrkCPU(c, ceiling+"/")
	if err != nil {
		return err
	}
	ceil := wrkResult{rps: (ceil1.rps + ceil2.rps) / 2, p99: ceil1.p99 + ", " + ceil2.p99, cpuPerReq: (ceil1.cpuPerReq + ceil2.cpuPerReq) / 2}
	fmt.Printf("| %s | ceiling: Echo, the same bytes from memory | %d | %.0f | %s | 100%% | %.0f µs | 100%% | %s |\n",
		f.kind, len(page), ceil.rps, ceil.p99, ceil.cpuPerReq, join(fmt.Sprintf("mean of %.0f before and %.0f after the page", ceil1.rps, ceil2.rps),
			ceil1.notes(), ceil2.notes(), load1+" / "+loadNote()))
	fmt.Printf("| %s | story, %d comments | %d | %.0f | %s | %.0f%% | %.0f µs | %.0f%% | %s |\n",
		f.kind, c.comments, len(body), r.rps, r.p99, 100*r.rps/ceil.rps, r.cpuPerReq, 100*ceil.cpuPerReq/r.cpuPerReq,
		join(r.notes(), load2, fmt.Sprintf("%d top-level, %d replies, %d replies to replies", f.depths[1], f.depths[2], f.depths[3]),
			fmt.Sprintf("rendered afresh: %.1f ms (median of 21)", ms(renders[len(renders)/2]))))
	return nil
}

// counter is the site's handler, counting the 303s it answers to POSTs
// (accepted comments) and the requests in flight.
type counter struct {
	h        http.Handler
	accepted atomic.Int64
	inflight atomic.Int64
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		c.h.ServeHTTP(w, r)
		return
	}
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	sw := &statusWriter{ResponseWriter: w}
	c.h.ServeHTTP(sw, r)
	if sw.code == http.StatusSeeOther {
		c.accepted.Add(1)
	}
}

// settle waits until no POST is in flight (wrk stops with requests
// outstanding, which the server still finishes).
func (c *counter) settle() {
	for c.inflight.Load() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serve serves h on a free loopback port and returns its origin.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// fetch GETs url without compression and returns the body of a 200 answer.
func fetch(url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity") // as wrk sends no Accept-Encoding
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return b, nil
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps      float64
	requests int
	p99      string
	non2xx   int
	errors   string
	out      string
	// cpuPerReq is this process's CPU time per request, in µs (wrkCPU).
	cpuPerReq float64
}

// wrkCPU is runWrk without a script, measuring this process's CPU time
// per request too.
func (f *fixture) wrkCPU(c config, url string) (wrkResult, error) {
	self0, redis0 := f.cpu.read()
	r, err := runWrk(c.wrk, url, c.duration, c.conns, "")
	if err != nil {
		return r, err
	}
	r.cpuPerReq, _ = f.cpu.since(self0, redis0).per(r.requests)
	return r, nil
}

func (r wrkResult) notes() string {
	var n []string
	if r.non2xx > 0 {
		n = append(n, fmt.Sprintf("%d non-2xx/3xx answers", r.non2xx))
	}
	if r.errors != "" {
		n = append(n, r.errors)
	}
	return strings.Join(n, "; ")
}

var (
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reqsRe   = regexp.MustCompile(`(\d+) requests in `)
	p99Re    = regexp.MustCompile(`\s99%\s+([0-9.]+[a-z]+)`)
	non2xxRe = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	errRe    = regexp.MustCompile(`Socket errors:[^\n]*`)
)

// runWrk runs wrk -t2 -cN -dD --latency on url, with a Lua script when
// script is not empty, and reads its summary.
func runWrk(wrk, url, duration string, conns int, script string) (wrkResult, error) {
	args := []string{"-t2", "-c" + strconv.Itoa(conns), "-d" + duration, "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", url, err, out)
	}
	r := wrkResult{out: string(out)}
	m := rpsRe.FindSubmatch(out)
	p := p99Re.FindSubmatch(out)
	if m == nil || p == nil {
		return r, fmt.Errorf("wrk %s: unreadable output:\n%s", url, out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	r.p99 = string(p[1])
	if m := reqsRe.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(string(m[1]))
	}
	if m := non2xxRe.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(string(m[1]))
	}
	if m := errRe.Find(out); m != nil {
		r.errors = string(m)
	}
	return r, nil
}

// loadNote is the one-minute load average, as a note.
func loadNote() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return "load " + strings.Fields(string(b))[0]
}

func join(notes ...string) string {
	var n []string
	for _, s := range notes {
		if s != "" {
			n = append(n, s)
		}
	}
	return strings.Join(n, "; ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var errNoForm = errors.New("the story page has no comment form")
