package main

// The parts of TestServeSurvivesKills (serve_crash_test.go) that act on the
// server from outside: the feeds it polls, the process itself, the readers
// commenting and signing up, and the operator at the admin pages.

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/mail/mailtest"
)

// growingFeeds serves crashFeeds RSS feeds at /feed/N that gain an item every
// itemEvery, and remembers how many items of each it has served.
type growingFeeds struct {
	*httptest.Server
	start  time.Time
	mu     sync.Mutex
	served [crashFeeds]int
}

var crashHeadlines = []string{
	"regulator fines data broker over location tracking",
	"messaging app extends end-to-end encryption",
	"police widen facial recognition surveillance",
	"hospital breach exposes patient records",
}

func newGrowingFeeds(t *testing.T) *growingFeeds {
	g := &growingFeeds{start: time.Now()}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		feed, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/feed/"))
		if err != nil || feed < 0 || feed >= crashFeeds {
			http.NotFound(w, r)
			return
		}
		n := min(crashFeedItems, 1+int(time.Since(g.start)/itemEvery))
		g.mu.Lock()
		g.served[feed] = max(g.served[feed], n)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Crash desk %d</title><link>https://desk%d.example.org/</link>`, feed, feed)
		for i := n - 1; i >= 0; i-- {
			published := g.start.Add(time.Duration(i)*itemEvery - time.Hour)
			fmt.Fprintf(w, `<item><title>Desk %d report %d: %s</title><link>%s</link><guid>desk%d-report-%d</guid><description>Report %d of desk %d on how personal data is tracked, sold and kept.</description><pubDate>%s</pubDate></item>`,
				feed, i, crashHeadlines[(feed+i)%len(crashHeadlines)], itemURL(feed, i), feed, i, i, feed, published.Format(time.RFC1123Z))
		}
		io.WriteString(w, `</channel></rss>`)
	}))
	t.Cleanup(g.Close)
	return g
}

func itemURL(feed, i int) string { return fmt.Sprintf("https://desk%d.example.org/news/%d", feed, i) }

func (g *growingFeeds) servedItems() [crashFeeds]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.served
}

// serveProc is a `tidings serve` child process that the test kills with
// SIGKILL and starts again on the same address.
type serveProc struct {
	t      *testing.T
	addr   string
	args   []string
	starts int
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
}

func (p *serveProc) start() {
	p.t.Helper()
	p.starts++
	p.cmd = exec.Command(os.Args[0], p.args...)
	p.cmd.Env = append(os.Environ(), childEnv+"=1")
	p.out = &syncBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(p.cmd, p.exited)
	waitReady(p.t, fmt.Sprintf("serve (start %d)", p.starts), p.addr, p.exited, p.out)
}

// kill sends SIGKILL and requires that the process was running until then.
func (p *serveProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill: %v\n%s", err, p.out.String())
	}
	err := <-p.exited
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		p.t.Fatalf("serve ended before the kill: %v\n%s", err, p.out.String())
	}
	p.cmd = nil
}

// stop asks the process to stop (SIGINT) and requires a clean exit.
func (p *serveProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Errorf("serve: %v\n%s", err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("serve did not stop on SIGINT\n%s", p.out.String())
	}
	p.cmd = nil
}

func (p *serveProc) cleanup() {
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// crashClient is the readers' HTTP client: a new connection for each
// request, so that one cut off by a kill fails rather than being sent again
// on another connection, and no redirects followed.
var crashClient = &http.Client{
	Timeout:       20 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// crashDo sends one request from client address ip (the site runs with
// --trust-proxy) and returns the answer's status and body.
func crashDo(method, u string, form url.Values, ip string) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := crashClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// commentPoster posts comments all along, each from its own client address
// so the rate limit lets them through, and keeps what each post got.
type commentPoster struct {
	action string
	form   url.Values

	mu       sync.Mutex
	answered map[string]bool // 303: posted
	cut      map[string]bool // no answer: a kill cut it off
	down     map[string]bool // connection refused: never reached the server
	refused  map[string]int  // any other answer, by text
}

func (p *commentPoster) run(stop <-chan struct{}) {
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		text := fmt.Sprintf("Crash comment %05d: who keeps these logs, and for how long?", n)
		f := cloneValues(p.form)
		f.Set("author", "Crash Reader")
		f.Set("email", "crash.reader@example.org")
		f.Set("comment", text)
		code, _, err := crashDo(http.MethodPost, p.action, f, fmt.Sprintf("198.%d.%d.%d", 18+n/62500, n/250%250, n%250+1))
		p.mu.Lock()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			p.down[text] = true
		case err != nil:
			p.cut[text] = true
		case code == http.StatusSeeOther:
			p.answered[text] = true
		default:
			p.refused[text] = code
		}
		p.mu.Unlock()
		if err != nil {
			time.Sleep(50 * time.Millisecond) // the server is being started again
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (p *commentPoster) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.answered)
}

// signups are readers signing up on the home page, each from their own
// address, then confirming by the link mailed to them. A request a kill cut
// off is sent again once the server is back, as a person would.
type signups struct {
	base string
	form url.Values
	sink *mailtest.Server

	mu        sync.Mutex
	answered  []string // "check your inbox"
	confirmed []string // and confirmed by the mailed link
	noMail    []string // answered, but no confirmation mail came
	failures  []string // unexpected answers
}

var confirmLinkRE = regexp.MustCompile(`http://[^\s"<>]+/subscribe/confirm\?token=[A-Za-z0-9_.\-]+`)

func (s *signups) run(stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		addr := fmt.Sprintf("web%03d@example.org", n)
		ip := fmt.Sprintf("198.19.%d.%d", n/250%250, n%250+1)
		f := cloneValues(s.form)
		f.Set("email", addr)
		if code, body := s.untilAnswered(http.MethodPost, s.base+"/subscribe", f, ip); code != http.StatusOK {
			s.fail("%s: POST /subscribe: %d %s", addr, code, body)
			continue
		}
		s.record(&s.answered, addr)
		link := s.confirmLink(addr, 5*time.Second)
		if link == "" {
			s.record(&s.noMail, addr)
			continue
		}
		code, page := s.untilAnswered(http.MethodGet, link, nil, ip)
		var m []string
		for _, f := range formRE.FindAllStringSubmatch(page, -1) {
			if strings.Contains(f[2], "Confirm subscription") {
				m = f
			}
		}
		if code != http.StatusOK || m == nil {
			s.fail("%s: the confirmation link: %d %s", addr, code, page)
			continue
		}
		if code, body := s.untilAnswered(http.MethodPost, s.base+html.UnescapeString(m[1]), hiddenFields(m[2]), ip); code != http.StatusOK {
			s.fail("%s: confirming: %d %s", addr, code, body)
			continue
		}
		s.record(&s.confirmed, addr)
	}
}

// untilAnswered sends a request again until the server answers it (or 60 s
// pass: the status is then 0).
func (s *signups) untilAnswered(method, u string, form url.Values, ip string) (int, string) {
	deadline := time.Now().Add(time.Minute)
	for {
		code, body, err := crashDo(method, u, form, ip)
		if err == nil || time.Now().After(deadline) {
			return code, body
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// confirmLink waits for the confirmation mail to addr and returns its link.
func (s *signups) confirmLink(addr string, wait time.Duration) string {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range s.sink.Messages() {
			if m.To != addr {
				continue
			}
			_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
			if err != nil {
				continue
			}
			mr := multipart.NewReader(bytes.NewReader(m.Body), params["boundary"])
			for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
				b, _ := io.ReadAll(p) // quoted-printable is decoded by the reader
				if link := confirmLinkRE.FindString(string(b)); link != "" {
					return link
				}
			}
		}
	}
	return ""
}

func (s *signups) record(list *[]string, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, addr)
}

func (s *signups) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, fmt.Sprintf(format, args...))
}

func (s *signups) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.answered)
}

// crashAdmin is the operator at the admin pages, signed in.
type crashAdmin struct {
	t      *testing.T
	base   string
	client *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newCrashAdmin(t *testing.T, base, password string) *crashAdmin {
	jar, _ := cookiejar.New(nil)
	a := &crashAdmin{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	form := a.csrf(a.do("/admin/login", nil))
	form.Set("password", password)
	if page := a.do("/admin/login", form); !strings.Contains(page, "Dashboard") {
		t.Fatalf("after logging in: %s", excerpt(page, "<main"))
	}
	return a
}

// compose composes this week's issue and returns its week.
func (a *crashAdmin) compose() string {
	page := a.do("/admin/digests/compose", a.csrf(a.do("/admin/digests", nil)))
	m := regexp.MustCompile(`name="week" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		a.t.Fatalf("no week on the digests page: %s", excerpt(page, "<main"))
	}
	return m[1]
}

// send presses "send" for week's issue.
func (a *crashAdmin) send(week string) {
	form := a.csrf(a.do("/admin/digests", nil))
	form.Set("week", week)
	a.do("/admin/digests/send", form)
}

func (a *crashAdmin) do(path string, form url.Values) string {
	a.t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = a.client.Get(a.base + path)
	} else {
		resp, err = a.client.PostForm(a.base+path, form)
	}
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("admin %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

func (a *crashAdmin) csrf(page string) url.Values {
	a.t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		a.t.Fatalf("no form token on the page: %s", excerpt(page, "<main"))
	}
	return url.Values{"csrf": {html.UnescapeString(m[1])}}
}

// waitForStory waits until the home page links a story and returns its path.
func waitForStory(t *testing.T, base string) string {
	t.Helper()
	re := regexp.MustCompile(`href="(/stories/\d+/[^"]+)"`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if m := re.FindStringSubmatch(get(t, base+"/", http.StatusOK)); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatal("the home page never listed a story")
		}
	}
}
