package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
)

// TestStoreOutage is issue 7's store outage: Redis is stopped under read and
// write load and started again. While it is down, pages in the page cache
// are still served (200, even after they went stale: the cache here lives
// 1 s); every other page is a friendly 503; a comment or a sign-up sent is
// refused with 503, a "try again" message and everything typed kept; no
// request hangs or gets a 500. Once Redis is back, the site answers by
// itself, and the store holds every comment and subscriber the site
// accepted, once and whole, and of those it refused at most whole ones
// (when only the reply was lost).
//
// The outage lasts 3 s by default, so that CI runs it;
// TIDINGS_OUTAGE_SECONDS=10 gives the 10 s. TIDINGS_OUTAGE_MODE=freeze
// hangs the server (SIGSTOP) instead of stopping it: connections stay open
// and nothing answers, and on SIGCONT it runs what it was sent meanwhile.
func TestStoreOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps a server under load for about 10 s")
	}
	outage := 3 * time.Second
	if v := os.Getenv("TIDINGS_OUTAGE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TIDINGS_OUTAGE_SECONDS=%q: want a whole number of seconds", v)
		}
		outage = time.Duration(n) * time.Second
	}
	down, up := (*redistest.Restartable).Stop, (*redistest.Restartable).Start
	if os.Getenv("TIDINGS_OUTAGE_MODE") == "freeze" {
		down, up = (*redistest.Restartable).Freeze, (*redistest.Restartable).Thaw
	}
	srv := redistest.NewRestartable(t)
	storeURL := srv.URL()
	ctx := context.Background()
	_, addr, base, flags := seededSite(t, storeURL)
	// Cached pages go stale after 1 s, well inside the outage: only the
	// cache's "stale rather than an error" can keep them served.
	startServe(t, addr, append([]string{"--no-poll", "--no-digest", "--trust-proxy", "--cache-max-age", "1s"}, flags...))

	home := get(t, base+"/", http.StatusOK)
	link := regexp.MustCompile(`href="(/stories/(\d+)/[^"]+)"`).FindStringSubmatch(home)
	if link == nil {
		t.Fatal("no story link on the home page")
	}
	storyPage, storyID := link[1], link[2]
	action := "/stories/" + storyID + "/comments"
	commentForm := formFields(t, get(t, base+storyPage, http.StatusOK), action)
	signupForm := formFields(t, home, "/subscribe")
	time.Sleep(3100 * time.Millisecond) // the comment form's 3-second rule

	l := &outageLoad{
		base:        base,
		cached:      []string{"/", storyPage, "/feed.xml"},
		uncached:    []string{"/search?q=encryption", "/search?q=surveillance"},
		action:      action,
		commentForm: commentForm,
		signupForm:  signupForm,
		client:      &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		stop:        make(chan struct{}),
		storyMarker: "Leave a Reply",
	}
	for _, p := range append(slices.Clone(l.cached), l.uncached...) {
		get(t, base+p, http.StatusOK) // every cached page is in the cache before the outage
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { l.read(w) })
	}
	for w := range 2 {
		wg.Go(func() { l.write(w) })
	}

	time.Sleep(1500 * time.Millisecond) // load on a healthy site first
	stopAt := time.Now()
	down(srv, t)
	downAt := time.Now()
	time.Sleep(outage)
	startAt := time.Now()
	up(srv, t)
	upAt := time.Now()
	time.Sleep(3 * time.Second) // load on the recovered site
	close(l.stop)
	wg.Wait()

	rs := l.results()
	var sum outageSummary
	for _, r := range rs {
		sum.add(r, stopAt, downAt, startAt, upAt)
	}
	for _, f := range sum.failures {
		t.Error(f)
	}
	t.Logf("outage of %v (Redis stopped in %v, started again in %v): %d requests",
		outage, downAt.Sub(stopAt).Round(time.Millisecond), upAt.Sub(startAt).Round(time.Millisecond), len(rs))
	t.Logf("during the outage: cached pages %d×200; other pages %d×503; comments %d×503; sign-ups %d×503; slowest answer %v",
		sum.cachedOK, sum.uncached503, sum.comment503, sum.signup503, sum.slowestDuring.Round(time.Millisecond))
	t.Logf("slowest answer over the whole run: %v; status counts %v", sum.slowest.Round(time.Millisecond), sum.codes)
	if sum.cachedOK == 0 || sum.uncached503 == 0 || sum.comment503 == 0 || sum.signup503 == 0 {
		t.Errorf("the load did not cover every kind of request during the outage: %+v", sum)
	}
	// The issue promises answers within 1 s; 2 s leaves room for a loaded
	// machine, and the log shows the real figure.
	if sum.slowest > 2*time.Second {
		t.Errorf("the slowest answer took %v", sum.slowest)
	}
	// Recovery: from Redis answering again to the first page that needs the
	// store, and the first comment, answered normally.
	for name, first := range map[string]time.Time{"page from the store": sum.firstPageBack, "comment": sum.firstCommentBack, "sign-up": sum.firstSignupBack} {
		if first.IsZero() {
			t.Errorf("no %s was answered normally after Redis came back", name)
			continue
		}
		t.Logf("first %s answered normally %v after Redis answered again (%v after it was started)",
			name, first.Sub(upAt).Round(time.Millisecond), first.Sub(startAt).Round(time.Millisecond))
		if first.Sub(upAt) > 5*time.Second { // 2 s promised; generous for a loaded machine
			t.Errorf("the site took %v to serve a %s after Redis came back", first.Sub(upAt), name)
		}
	}
	if sum.failedAfter > 0 {
		t.Errorf("%d requests sent more than 2 s after Redis came back were not answered normally", sum.failedAfter)
	}

	lost := checkStoredComments(t, ctx, storeURL, storyID, rs)
	lost += checkStoredSignups(t, ctx, flags, rs)
	t.Logf("lost: %d accepted comments or sign-ups missing or damaged in the store", lost)
}

// outageLoad sends reads and writes until stop is closed and records every
// answer.
type outageLoad struct {
	base                    string
	cached, uncached        []string
	action                  string
	commentForm, signupForm url.Values
	client                  *http.Client
	stop                    chan struct{}
	storyMarker             string

	seq     atomic.Int64 // numbers the writes: each body, name, address and client address is unique
	mu      sync.Mutex
	records []outageRecord
}

// outageRecord is one request and its answer.
type outageRecord struct {
	kind       string // "cached", "uncached", "comment" or "signup"
	what       string // path, or the comment's body, or the address
	start, end time.Time
	code       int    // 0: no answer
	problem    string // what was wrong with the answer's body, if anything
	n          int64  // the write's number
}

// pace is the pause between one worker's requests: some hundred requests a
// second in all, which the 2-core machine serves with room to spare.
const pace = 20 * time.Millisecond

func (l *outageLoad) read(w int) {
	for i := w; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(pace):
		}
		kind, paths := "cached", l.cached
		if i%3 == 2 {
			kind, paths = "uncached", l.uncached
		}
		p := paths[i%len(paths)]
		r := outageRecord{kind: kind, what: p, start: time.Now()}
		resp, err := l.client.Get(l.base + p)
		r.end = time.Now()
		if err != nil {
			r.problem = err.Error()
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.code = resp.StatusCode
			page := string(body)
			switch {
			case r.code == http.StatusOK && p == l.cached[1] && !strings.Contains(page, l.storyMarker):
				r.problem = "the story page lacks " + l.storyMarker
			case r.code == http.StatusServiceUnavailable && !strings.Contains(page, "cannot reach its store"):
				r.problem = "the 503 page does not say what is wrong: " + excerpt(page, "<main")
			case r.code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "":
				r.problem = "a 503 without Retry-After"
			}
		}
		l.record(r)
	}
}

func (l *outageLoad) write(w int) {
	for i := w; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(pace):
		}
		n := l.seq.Add(1)
		if i%2 == 0 {
			l.record(l.comment(n))
		} else {
			l.record(l.signup(n))
		}
	}
}

// outageComment is the text of comment n; outageAuthor its author.
func outageComment(n int64) string {
	return fmt.Sprintf("Outage test comment number %d, sent while Redis may be down.", n)
}
func outageAuthor(n int64) string  { return fmt.Sprintf("Reader %d", n) }
func outageAddress(n int64) string { return fmt.Sprintf("outage.reader.%d@example.org", n) }

// comment posts comment n from a client address of its own (the site
// trusts X-Forwarded-For here), so the rate limit never applies.
func (l *outageLoad) comment(n int64) outageRecord {
	form := cloneValues(l.commentForm)
	form.Set("author", outageAuthor(n))
	form.Set("email", fmt.Sprintf("commenter.%d@example.net", n))
	form.Set("comment", outageComment(n))
	r := outageRecord{kind: "comment", what: outageComment(n), n: n}
	page, code, err := l.post(l.action, form, fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), &r)
	if err != nil {
		r.problem = err.Error()
		return r
	}
	r.code = code
	if code == http.StatusServiceUnavailable {
		for _, want := range []string{"try again in a moment", ">" + outageComment(n) + "</textarea>", `value="` + outageAuthor(n) + `"`, `value="commenter.` + strconv.FormatInt(n, 10) + `@example.net"`} {
			if !strings.Contains(html.UnescapeString(page), want) && !strings.Contains(page, want) {
				r.problem = fmt.Sprintf("the refused comment form lacks %q: %s", want, excerpt(page, "<main"))
				break
			}
		}
	}
	return r
}

// signup subscribes address n, from a client address of its own, so the
// hourly sign-up limit never applies.
func (l *outageLoad) signup(n int64) outageRecord {
	form := cloneValues(l.signupForm)
	form.Set("email", outageAddress(n))
	r := outageRecord{kind: "signup", what: outageAddress(n), n: n}
	page, code, err := l.post("/subscribe", form, fmt.Sprintf("172.16.%d.%d", n>>8&255, n&255), &r)
	if err != nil {
		r.problem = err.Error()
		return r
	}
	r.code = code
	if code == http.StatusServiceUnavailable {
		for _, want := range []string{"try again in a moment", `value="` + outageAddress(n) + `"`} {
			if !strings.Contains(page, want) {
				r.problem = fmt.Sprintf("the refused sign-up form lacks %q: %s", want, excerpt(page, "<main"))
				break
			}
		}
	}
	return r
}

// post sends form to path from client address ip, timing it into r.
func (l *outageLoad) post(path string, form url.Values, ip string, r *outageRecord) (string, int, error) {
	req, _ := http.NewRequest(http.MethodPost, l.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	r.start = time.Now()
	resp, err := l.client.Do(req)
	r.end = time.Now()
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp.StatusCode, nil
}

func (l *outageLoad) record(r outageRecord) {
	l.mu.Lock()
	l.records = append(l.records, r)
	l.mu.Unlock()
}

func (l *outageLoad) results() []outageRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// outageSummary sorts the answers by phase: before the outage, during it
// (sent after Redis had exited and answered before it was started again),
// at its edges, and after it.
type outageSummary struct {
	failures                                     []string
	codes                                        map[int]int
	cachedOK, uncached503, comment503, signup503 int
	slowest, slowestDuring                       time.Duration
	firstPageBack, firstCommentBack              time.Time
	firstSignupBack                              time.Time
	failedAfter                                  int
}

// okCode is the answer of a request on a healthy site.
var okCode = map[string]int{"cached": http.StatusOK, "uncached": http.StatusOK, "comment": http.StatusSeeOther, "signup": http.StatusOK}

func (s *outageSummary) add(r outageRecord, stopAt, downAt, startAt, upAt time.Time) {
	if s.codes == nil {
		s.codes = map[int]int{}
	}
	s.codes[r.code]++
	took := r.end.Sub(r.start)
	s.slowest = max(s.slowest, took)
	fail := func(format string, args ...any) {
		if len(s.failures) < 20 {
			s.failures = append(s.failures, fmt.Sprintf("%s %q at %v: ", r.kind, r.what, r.start.Format("15:04:05.000"))+fmt.Sprintf(format, args...))
		}
	}
	if r.code == 0 {
		fail("no answer: %s", r.problem)
		return
	}
	if r.code != okCode[r.kind] && r.code != http.StatusServiceUnavailable {
		fail("status %d", r.code)
	}
	if r.problem != "" {
		fail("%s", r.problem)
	}
	switch {
	case r.end.Before(stopAt): // before the outage: all is well
		if r.code != okCode[r.kind] {
			fail("status %d before the outage", r.code)
		}
	case r.start.After(downAt) && r.end.Before(startAt): // during it
		s.slowestDuring = max(s.slowestDuring, took)
		switch {
		case r.kind == "cached" && r.code == http.StatusOK:
			s.cachedOK++
		case r.kind == "cached":
			fail("a cached page answered %d during the outage", r.code)
		case r.code != http.StatusServiceUnavailable:
			fail("status %d during the outage, want 503", r.code)
		case r.kind == "uncached":
			s.uncached503++
		case r.kind == "comment":
			s.comment503++
		case r.kind == "signup":
			s.signup503++
		}
	case r.start.After(upAt): // after it
		if r.code == okCode[r.kind] {
			first := map[string]*time.Time{"uncached": &s.firstPageBack, "comment": &s.firstCommentBack, "signup": &s.firstSignupBack}[r.kind]
			if first != nil && (first.IsZero() || r.end.Before(*first)) {
				*first = r.end
			}
		} else if r.start.After(upAt.Add(2 * time.Second)) {
			s.failedAfter++
			fail("status %d %v after Redis came back", r.code, r.start.Sub(upAt).Round(time.Millisecond))
		}
	}
}

// checkStoredComments compares the comments under the story with the posts:
// each accepted one is stored once and whole; a refused one is stored at
// most once, and whole. It returns how many accepted ones are missing or
// damaged.
func checkStoredComments(t *testing.T, ctx context.Context, storeURL, storyID string, rs []outageRecord) int {
	t.Helper()
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, _ := strconv.ParseInt(storyID, 10, 64)
	stored, err := st.Comments(ctx, comments.Filter{StoryID: id})
	if err != nil {
		t.Fatal(err)
	}
	byBody := map[string][]comments.Comment{}
	for _, c := range stored {
		byBody[c.Body] = append(byBody[c.Body], c)
	}
	accepted, refused, refusedStored, lost := 0, 0, 0, 0
	sent := map[string]bool{}
	for _, r := range rs {
		if r.kind != "comment" {
			continue
		}
		sent[r.what] = true
		got := byBody[r.what]
		for _, c := range got {
			if c.Author != outageAuthor(r.n) || c.EmailIndex == "" || len(c.EmailSealed) == 0 || c.IPHash == "" || c.CreatedAt.IsZero() || c.Status == "" {
				t.Errorf("comment %d is stored incomplete: %+v", c.ID, c)
			}
		}
		switch {
		case r.code == http.StatusSeeOther:
			accepted++
			if len(got) != 1 {
				lost++
				t.Errorf("accepted comment %q is stored %d times", r.what, len(got))
			}
		default:
			refused++
			if len(got) > 1 {
				t.Errorf("refused comment %q is stored %d times", r.what, len(got))
			}
			if len(got) > 0 {
				refusedStored++
			}
		}
	}
	for body := range byBody {
		if !sent[body] {
			t.Errorf("the store holds a comment nobody sent: %q", body)
		}
	}
	t.Logf("comments: %d accepted, %d refused (%d of them stored all the same, whole), %d stored", accepted, refused, refusedStored, len(stored))
	return lost
}

// checkStoredSignups does the same for the sign-ups, through `subscribers
// list` (the addresses are encrypted at rest).
func checkStoredSignups(t *testing.T, ctx context.Context, flags []string, rs []outageRecord) int {
	t.Helper()
	code, out, errOut := tidings(t, ctx, append([]string{"subscribers", "list"}, flags...)...)
	if code != 0 {
		t.Fatalf("subscribers list: %d %s", code, errOut)
	}
	listed := map[string][]string{} // address → statuses
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		addr, status, _ := strings.Cut(line, "\t")
		listed[addr] = append(listed[addr], status)
	}
	accepted, refused, refusedStored, lost := 0, 0, 0, 0
	sent := map[string]bool{}
	for _, r := range rs {
		if r.kind != "signup" {
			continue
		}
		sent[r.what] = true
		got := listed[r.what]
		for _, st := range got {
			if st != "pending" {
				t.Errorf("subscriber %s is %q, want pending", r.what, st)
			}
		}
		if r.code == http.StatusOK {
			accepted++
			if len(got) != 1 {
				lost++
				t.Errorf("accepted sign-up %s is stored %d times", r.what, len(got))
			}
			continue
		}
		refused++
		if len(got) > 1 {
			t.Errorf("refused sign-up %s is stored %d times", r.what, len(got))
		}
		if len(got) > 0 {
			refusedStored++
		}
	}
	for addr := range listed {
		if !sent[addr] {
			t.Errorf("the store holds a subscriber nobody signed up: %q", addr)
		}
	}
	t.Logf("sign-ups: %d accepted, %d refused (%d of them stored all the same, whole), %d stored", accepted, refused, refusedStored, len(listed))
	return lost
}
